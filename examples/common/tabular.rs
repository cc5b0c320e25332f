//! A model that is not an image classifier: rows of a table with one categorical column
//! (embedded) and four numeric columns, classified with a label-smoothed cross-entropy. Its own
//! item, batch and batcher types; synthetic, deterministic data. Shared by
//! `examples/any_model.rs` and `tests/any_model.rs`.
#![allow(dead_code)]

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::InMemDataset;
use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::nn::{Embedding, EmbeddingConfig, Linear, LinearConfig};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Int, Tensor, TensorData};
use burn::train::{ClassificationOutput, InferenceStep, TrainOutput, TrainStep};
use burn_mhe::{LayerRole, NeuronLayout, ParamRule, PrototypeHead, SphereConfig};

/// Distinct values of the categorical column.
pub const CATEGORIES: usize = 20;
/// Numeric columns.
pub const NUMERIC: usize = 4;
/// Classes.
pub const CLASSES: usize = 5;

/// One row of the table.
#[derive(Debug, Clone)]
pub struct Row {
    pub category: usize,
    pub numeric: [f32; NUMERIC],
    pub label: usize,
}

/// `count` rows from `seed`: the class is the category's own class shifted by the signs of the
/// first two numeric columns, so both kinds of column matter.
pub fn rows(count: usize, seed: u64) -> InMemDataset<Row> {
    let mut state = seed;
    let mut uniform =
        move || (burn_mhe::split_mix64(&mut state) >> 11) as f32 / (1u64 << 53) as f32;
    let rows = (0..count)
        .map(|_| {
            let category = (uniform() * CATEGORIES as f32) as usize % CATEGORIES;
            let numeric = [(); NUMERIC].map(|()| 2.0 * uniform() - 1.0);
            let shift = usize::from(numeric[0] > 0.0) + usize::from(numeric[1] > 0.5);
            Row {
                category,
                numeric,
                label: (category * 3 + shift) % CLASSES,
            }
        })
        .collect();
    InMemDataset::new(rows)
}

/// A batch of rows.
#[derive(Debug, Clone)]
pub struct TableBatch {
    /// `[batch, 1]` category indices.
    pub categories: Tensor<2, Int>,
    /// `[batch, NUMERIC]`.
    pub numeric: Tensor<2>,
    /// `[batch]` classes.
    pub targets: Tensor<1, Int>,
}

/// Rows to [`TableBatch`]es.
#[derive(Debug, Clone, Copy)]
pub struct TableBatcher;

impl Batcher<Row, TableBatch> for TableBatcher {
    fn batch(&self, rows: Vec<Row>, device: &Device) -> TableBatch {
        let n = rows.len();
        let categories: Vec<i64> = rows.iter().map(|r| r.category as i64).collect();
        let numeric: Vec<f32> = rows.iter().flat_map(|r| r.numeric).collect();
        let targets: Vec<i64> = rows.iter().map(|r| r.label as i64).collect();
        TableBatch {
            categories: Tensor::from_data(TensorData::new(categories, [n, 1]), device),
            numeric: Tensor::from_data(TensorData::new(numeric, [n, NUMERIC]), device),
            targets: Tensor::from_data(TensorData::new(targets, [n]), device),
        }
    }
}

/// Category embedding and numeric columns, one hidden layer, a classifier.
#[derive(Module, Debug)]
pub struct TableNet {
    pub categories: Embedding,
    pub hidden: Linear,
    pub classifier: Linear,
}

impl TableNet {
    pub fn new(device: &Device) -> Self {
        let embedding = 8;
        Self {
            categories: EmbeddingConfig::new(CATEGORIES, embedding).init(device),
            hidden: LinearConfig::new(embedding + NUMERIC, 32).init(device),
            classifier: LinearConfig::new(32, CLASSES).init(device),
        }
    }

    pub fn logits(&self, batch: &TableBatch) -> Tensor<2> {
        let [n, _] = batch.numeric.dims();
        let embedded = self
            .categories
            .forward(batch.categories.clone())
            .reshape([n as i32, -1]);
        let features = Tensor::cat(vec![embedded, batch.numeric.clone()], 1);
        self.classifier.forward(relu(self.hidden.forward(features)))
    }

    /// Label-smoothed cross-entropy (smoothing 0.1).
    pub fn loss(&self, logits: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1> {
        CrossEntropyLossConfig::new()
            .with_smoothing(Some(0.1))
            .init(&logits.device())
            .forward(logits, targets)
    }
}

impl TableNet {
    /// The loss and scores of one batch, as burn's metrics read them.
    pub fn output(&self, batch: TableBatch) -> ClassificationOutput {
        let logits = self.logits(&batch);
        let loss = self.loss(logits.clone(), batch.targets.clone());
        ClassificationOutput::new(loss, logits, batch.targets)
    }
}

/// [`TableNet`]'s `CLASSES` outputs as features on the sphere, classified by fixed prototypes
/// (hyperspherical prototype networks, Mettes et al. 2019): the prototypes are `CLASSES`
/// points of least energy in `CLASSES` dimensions (a regular simplex), the loss `(1 - cos(z,
/// p_y))^2`, the scores the cosines.
#[derive(Module, Debug)]
pub struct PrototypeTableNet {
    pub net: TableNet,
    pub head: PrototypeHead,
}

impl PrototypeTableNet {
    pub fn new(device: &Device) -> Self {
        let sphere = SphereConfig::new(CLASSES, CLASSES).with_restarts(4);
        Self {
            net: TableNet::new(device),
            head: PrototypeHead::solved(&sphere, device).expect("a valid sphere problem"),
        }
    }
}

impl PrototypeTableNet {
    /// The loss and cosine scores of one batch, as burn's metrics read them.
    pub fn output(&self, batch: TableBatch) -> ClassificationOutput {
        let cosines = self.head.cosines(self.net.logits(&batch));
        let loss = self
            .head
            .loss_of_cosines(cosines.clone(), batch.targets.clone());
        ClassificationOutput::new(loss, cosines, batch.targets)
    }
}

/// burn's `TrainStep` and `InferenceStep` of a model with an `output` method: what any model
/// implements to train in burn's Learner, and all that `WithMhe` needs.
macro_rules! learner_steps {
    ($($model:ty),*) => {$(
        impl TrainStep for $model {
            type Input = TableBatch;
            type Output = ClassificationOutput;

            fn step(&self, batch: TableBatch) -> TrainOutput<ClassificationOutput> {
                let output = self.output(batch);
                TrainOutput::new(self, output.loss.backward(), output)
            }
        }

        impl InferenceStep for $model {
            type Input = TableBatch;
            type Output = ClassificationOutput;

            fn step(&self, batch: TableBatch) -> ClassificationOutput {
                self.output(batch)
            }
        }
    )*};
}

learner_steps!(TableNet, PrototypeTableNet);

/// The embedding's rows (one per category) are neurons of the hidden group too.
pub fn embedding_rule() -> ParamRule {
    ParamRule {
        path: "categories.weight".into(),
        layout: NeuronLayout::Rows,
        role: LayerRole::Hidden,
    }
}
