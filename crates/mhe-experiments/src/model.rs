//! The image classifiers of the training job: an MLP, a CNN in the paper's style, and a CNN
//! whose last hidden layer is 2-D so features and classifier neurons can be drawn in the plane.

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{AdaptiveAvgPool2d, AdaptiveAvgPool2dConfig, MaxPool2d, MaxPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

use burn_mhe_train::Classifier;

/// The shape of an [`ImageClassifier`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Architecture {
    /// `depth` fully connected ReLU layers of `256 * width` units, then the classifier.
    Mlp,
    /// Three stages of `depth` 3x3 conv + batch norm + ReLU layers with `16, 32, 64` (times
    /// `width`) channels, 2x2 max pooling between stages, global average pooling, classifier.
    Cnn,
    /// The CNN followed by a linear 2-D feature layer before the classifier.
    Cnn2d,
}

/// Configuration of an [`ImageClassifier`].
#[derive(Config, Debug, PartialEq)]
pub struct ImageClassifierConfig {
    /// The layer structure.
    pub architecture: Architecture,
    /// Multiplies the number of units or channels of every hidden layer.
    #[config(default = 1.0)]
    pub width: f64,
    /// Hidden layers (MLP) or conv layers per stage (CNN).
    #[config(default = 2)]
    pub depth: usize,
    /// Number of classes.
    #[config(default = 10)]
    pub classes: usize,
    /// Image height and width.
    #[config(default = "[28, 28]")]
    pub image: [usize; 2],
}

/// Channels of the three CNN stages at width 1.
const STAGE_CHANNELS: [usize; 3] = [16, 32, 64];
/// Units of an MLP layer at width 1.
const MLP_UNITS: usize = 256;

impl ImageClassifierConfig {
    /// An error unless width, depth, classes and image size can build a model.
    pub fn check(&self) -> Result<(), String> {
        if !(self.width.is_finite() && self.width > 0.0) {
            return Err(format!("width must be positive, got {}", self.width));
        }
        if self.depth == 0 {
            return Err("depth must be at least 1".into());
        }
        if self.classes < 2 {
            return Err(format!("classes must be at least 2, got {}", self.classes));
        }
        if self.image.contains(&0) {
            return Err(format!("image size {:?} is empty", self.image));
        }
        Ok(())
    }

    fn scaled(&self, units: usize) -> usize {
        ((units as f64 * self.width).round() as usize).max(1)
    }

    /// Builds the model on `device` (which is seeded by the caller for reproducible weights).
    pub fn init(&self, device: &Device) -> ImageClassifier {
        let [rows, cols] = self.image;
        let conv_stages = self.architecture != Architecture::Mlp;
        let mut convs = Vec::new();
        let mut features = rows * cols;
        if conv_stages {
            let mut channels = 1;
            for stage in STAGE_CHANNELS {
                let out = self.scaled(stage);
                for _ in 0..self.depth {
                    convs.push(ConvBlock::new(channels, out, device));
                    channels = out;
                }
            }
            features = channels;
        }
        let hidden: Vec<Linear> = match self.architecture {
            Architecture::Mlp => (0..self.depth)
                .map(|layer| {
                    let units = self.scaled(MLP_UNITS);
                    let input = if layer == 0 { features } else { units };
                    features = units;
                    LinearConfig::new(input, units).init(device)
                })
                .collect(),
            Architecture::Cnn => Vec::new(),
            Architecture::Cnn2d => {
                let layer = LinearConfig::new(features, 2).init(device);
                features = 2;
                vec![layer]
            }
        };
        ImageClassifier {
            convs,
            pool: MaxPool2dConfig::new([2, 2]).with_strides([2, 2]).init(),
            global_pool: AdaptiveAvgPool2dConfig::new([1, 1]).init(),
            hidden,
            classifier: LinearConfig::new(features, self.classes).init(device),
            architecture: self.architecture,
            stage_depth: self.depth,
        }
    }
}

/// 3x3 convolution (no bias), batch norm, ReLU.
#[derive(Module, Debug)]
pub(crate) struct ConvBlock {
    conv: Conv2d,
    norm: BatchNorm,
}

impl ConvBlock {
    fn new(channels_in: usize, channels_out: usize, device: &Device) -> Self {
        Self {
            conv: Conv2dConfig::new([channels_in, channels_out], [3, 3])
                .with_padding(PaddingConfig2d::Same)
                .with_bias(false)
                .init(device),
            norm: BatchNormConfig::new(channels_out).init(device),
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        relu(self.norm.forward(self.conv.forward(x)))
    }
}

/// An MLP or CNN image classifier; see [`Architecture`]. The classifier is its last `Linear`,
/// which is what [`MheRegularizer`](burn_mhe::MheRegularizer) takes as the output layer.
#[derive(Module, Debug)]
pub struct ImageClassifier {
    convs: Vec<ConvBlock>,
    pool: MaxPool2d,
    global_pool: AdaptiveAvgPool2d,
    hidden: Vec<Linear>,
    classifier: Linear,
    #[module(skip)]
    architecture: Architecture,
    #[module(skip)]
    stage_depth: usize,
}

impl ImageClassifier {
    /// The module path of the classifier layer's parameters (`classifier.weight`, ...).
    pub const CLASSIFIER_PATH: &'static str = "classifier";

    /// The input of the classifier layer for images `[batch, 1, rows, cols]`: `[batch, 2]` for
    /// [`Architecture::Cnn2d`].
    pub fn features(&self, images: Tensor<4>) -> Tensor<2> {
        let [batch, _, rows, cols] = images.dims();
        if self.architecture == Architecture::Mlp {
            return self
                .hidden
                .iter()
                .fold(images.reshape([batch, rows * cols]), |x, layer| {
                    relu(layer.forward(x))
                });
        }
        let mut x = images;
        for (index, block) in self.convs.iter().enumerate() {
            x = block.forward(x);
            let stage_end = (index + 1) % self.stage_depth == 0;
            if stage_end && index + 1 < self.convs.len() {
                x = self.pool.forward(x);
            }
        }
        let channels = x.dims()[1];
        let pooled = self.global_pool.forward(x).reshape([batch, channels]);
        // Cnn2d: a linear 2-D layer, so the features are the points drawn in the plane.
        self.hidden.iter().fold(pooled, |x, layer| layer.forward(x))
    }

    /// The classifier layer's neurons (one row per class) and biases.
    pub fn classifier(&self) -> &Linear {
        &self.classifier
    }
}

impl Classifier for ImageClassifier {
    type Input = Tensor<4>;

    fn logits(&self, images: Tensor<4>) -> Tensor<2> {
        self.classifier.forward(self.features(images))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn_mhe::{LayerRole, MheRegularizerConfig};

    fn shapes(architecture: Architecture) -> Vec<(String, LayerRole, usize, usize)> {
        let device = Device::flex();
        let model = ImageClassifierConfig::new(architecture)
            .with_width(0.5)
            .with_depth(2)
            .init(&device);
        let logits = model.logits(Tensor::zeros([3, 1, 28, 28], &device));
        assert_eq!(logits.dims(), [3, 10]);
        let mhe = MheRegularizerConfig::new().init(&model);
        mhe.layers(&model)
            .into_iter()
            .map(|l| {
                let [n, d] = l.neurons.dims();
                (l.path, l.role, n, d)
            })
            .collect()
    }

    #[test]
    fn mlp_layers_are_hidden_then_output() {
        let layers = shapes(Architecture::Mlp);
        let summary: Vec<_> = layers.iter().map(|l| (l.1, l.2, l.3)).collect();
        assert_eq!(
            summary,
            [
                (LayerRole::Hidden, 128, 784),
                (LayerRole::Hidden, 128, 128),
                (LayerRole::Output, 10, 128)
            ]
        );
    }

    #[test]
    fn cnn_regularizes_every_conv_and_the_classifier() {
        let layers = shapes(Architecture::Cnn);
        let summary: Vec<_> = layers.iter().map(|l| (l.1, l.2, l.3)).collect();
        assert_eq!(
            summary,
            [
                (LayerRole::Hidden, 8, 9),
                (LayerRole::Hidden, 8, 72),
                (LayerRole::Hidden, 16, 72),
                (LayerRole::Hidden, 16, 144),
                (LayerRole::Hidden, 32, 144),
                (LayerRole::Hidden, 32, 288),
                (LayerRole::Output, 10, 32),
            ]
        );
    }

    #[test]
    fn cnn2d_has_two_dimensional_features_and_classifier_neurons() {
        let layers = shapes(Architecture::Cnn2d);
        let last = &layers[layers.len() - 2..];
        assert_eq!((last[0].2, last[0].3), (2, 32));
        assert_eq!(
            (last[1].1, last[1].2, last[1].3),
            (LayerRole::Output, 10, 2)
        );
        let device = Device::flex();
        let model = ImageClassifierConfig::new(Architecture::Cnn2d).init(&device);
        let features = model.features(Tensor::ones([4, 1, 28, 28], &device));
        assert_eq!(features.dims(), [4, 2]);
    }

    #[test]
    fn bad_sizes_are_rejected() {
        let config = ImageClassifierConfig::new(Architecture::Cnn);
        assert!(config.clone().with_width(0.0).check().is_err());
        assert!(config.clone().with_depth(0).check().is_err());
        assert!(config.clone().with_classes(1).check().is_err());
        assert!(config.check().is_ok());
    }
}
