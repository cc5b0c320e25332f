//! The regularizer on a model the crate has never seen: nested structs and Vecs of Linear and
//! Conv2d layers, biases and norm parameters left out, the last Linear as the output layer.

mod support;

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig};
use burn::optim::{GradientsParams, SgdConfig};
use burn::tensor::Device;
use burn_mhe::{
    EnergyConfig, LayerInfo, LayerRole, MheError, MheRegularizer, MheRegularizerConfig,
    NeuronLayout, Neurons, Objective, OutputSelector, ParamRule, PenaltyGroupConfig,
};
use support::*;

#[derive(Module, Debug)]
struct Block {
    conv: Conv2d,
    norm: BatchNorm,
}

#[derive(Module, Debug)]
struct Head {
    hidden: Linear,
    classifier: Linear,
}

#[derive(Module, Debug)]
struct UserNet {
    blocks: Vec<Block>,
    head: Head,
    mhe: MheRegularizer,
}

/// The network with the regularizer `config` builds for it as a field: a model that keeps its
/// regularizer (and poles) inside gets them after its layers.
fn user_net(device: &Device, config: &MheRegularizerConfig) -> UserNet {
    let block = |c_in, c_out| Block {
        conv: Conv2dConfig::new([c_in, c_out], [3, 3]).init(device),
        norm: BatchNormConfig::new(c_out).init(device),
    };
    let no_layers = MheRegularizerConfig::new().init(&Option::<Linear>::None);
    let mut net = UserNet {
        blocks: vec![block(1, 4), block(4, 6)],
        head: Head {
            hidden: LinearConfig::new(24, 8).init(device),
            classifier: LinearConfig::new(8, 5).init(device),
        },
        mhe: no_layers,
    };
    net.mhe = config.init(&net);
    net
}

/// The classifier's weight gradient with neurons as rows.
fn classifier_gradient(model: &UserNet, grads: &burn::tensor::Gradients) -> Vec<f64> {
    let grad = model.head.classifier.weight.grad(grads).unwrap();
    values(grad.transpose())
}

fn official() -> MheRegularizerConfig {
    MheRegularizerConfig::new()
}

#[test]
fn finds_every_layer_with_its_role_and_shape() {
    let model = user_net(&Device::flex(), &official());
    let report = model.mhe.report(&model);
    let found: Vec<_> = report
        .iter()
        .map(|layer| (layer.path.as_str(), layer.role, layer.neurons, layer.dim))
        .collect();
    assert_eq!(
        found,
        vec![
            ("blocks.0.conv.weight", LayerRole::Hidden, 4, 9),
            ("blocks.1.conv.weight", LayerRole::Hidden, 6, 36),
            ("head.hidden.weight", LayerRole::Hidden, 8, 24),
            ("head.classifier.weight", LayerRole::Output, 5, 8),
        ]
    );
}

#[test]
fn penalty_is_the_weighted_sum_of_layer_energies() {
    let model = user_net(&Device::flex(), &official());
    let energy = EnergyConfig::new().init();
    let layer_energy = |neurons| values(energy.forward(neurons))[0];
    let expected = layer_energy(model.blocks[0].conv.neurons())
        + layer_energy(model.blocks[1].conv.neurons())
        + layer_energy(model.head.hidden.neurons())
        + 10.0 * layer_energy(model.head.classifier.neurons());
    let parts = model.mhe.penalty_parts(&model);
    let output = values(parts.output.clone())[0];
    assert_close(
        output,
        10.0 * layer_energy(model.head.classifier.neurons()),
        1e-6,
        "output",
    );
    assert_close(values(parts.total())[0], expected, 1e-6, "total");
    let reported: f64 = model
        .mhe
        .report(&model)
        .iter()
        .map(|l| l.weighted_energy)
        .sum();
    assert_close(reported, expected, 1e-6, "report");
}

#[test]
fn gradients_reach_weights_but_not_biases_or_norms() {
    let device = Device::flex().autodiff();
    let model = user_net(&device, &official());
    let grads = model.mhe.penalty(&model).backward();
    assert!(model.blocks[1].conv.weight.grad(&grads).is_some());
    assert!(model.head.classifier.weight.grad(&grads).is_some());
    let bias = model.head.classifier.bias.as_ref().unwrap();
    assert!(bias.grad(&grads).is_none());
    assert!(model.blocks[0].norm.gamma.grad(&grads).is_none());
    // The classifier's gradient is 10x its layer energy's gradient.
    let alone = EnergyConfig::new().init();
    let (_, expected) = alone.value_and_grad(model.head.classifier.neurons());
    let got = classifier_gradient(&model, &grads);
    for (g, e) in got.iter().zip(values(expected)) {
        assert_close(*g, 10.0 * e, 1e-4, "classifier gradient");
    }
}

#[test]
fn groups_exclusions_paths_and_rules_select_as_told() {
    let device = Device::flex();
    let config = MheRegularizerConfig::new()
        .with_hidden(None)
        .with_output_layer(OutputSelector::Path("head.hidden".into()))
        .with_exclude(vec!["blocks.1".into()]);
    let model = user_net(&device, &config);
    let paths: Vec<_> = model
        .mhe
        .report(&model)
        .into_iter()
        .map(|l| l.path)
        .collect();
    assert_eq!(paths, vec!["head.hidden.weight"]);

    let rule = ParamRule {
        path: "head.classifier.weight".into(),
        layout: NeuronLayout::Rows,
        role: LayerRole::Hidden,
    };
    let model = user_net(&device, &official());
    let mhe = MheRegularizerConfig::new()
        .with_extra(vec![rule])
        .init(&model);
    let layers = mhe.check(&model).unwrap();
    let classifier = layers
        .iter()
        .find(|l| l.path == "head.classifier.weight")
        .unwrap();
    assert_eq!(
        (classifier.role, classifier.neurons.dims()),
        (LayerRole::Hidden, [8, 5])
    );
    // With the classifier taken by the rule, the last standard Linear becomes the output.
    let hidden = layers
        .iter()
        .find(|l| l.path == "head.hidden.weight")
        .unwrap();
    assert_eq!(hidden.role, LayerRole::Output);
}

#[test]
fn a_custom_classifier_replaces_the_default_rule() {
    fn convs_only(info: &LayerInfo) -> Option<LayerRole> {
        (info.module_type == "Conv2d").then_some(LayerRole::Hidden)
    }
    let model = user_net(&Device::flex(), &official());
    let mhe = official().init(&model).with_classifier(convs_only);
    let paths: Vec<_> = mhe.layers(&model).into_iter().map(|l| l.path).collect();
    assert_eq!(paths, vec!["blocks.0.conv.weight", "blocks.1.conv.weight"]);
}

#[test]
fn misspelt_paths_and_bad_weights_are_errors() {
    let model = user_net(&Device::flex(), &official());
    let misspelt = MheRegularizerConfig::new()
        .with_output_layer(OutputSelector::Path("head.clasifier".into()))
        .init(&model);
    assert_eq!(
        misspelt.check(&model).unwrap_err(),
        MheError::UnmatchedRule {
            path: "head.clasifier".into()
        }
    );
    let negative = MheRegularizerConfig::new()
        .with_output(Some(
            PenaltyGroupConfig::new(EnergyConfig::new()).with_weight(-1.0),
        ))
        .try_init(&model);
    assert!(matches!(
        negative,
        Err(MheError::InvalidConfig {
            field: "output.weight",
            ..
        })
    ));
}

/// A model that declares its classifier before its hidden layer.
#[derive(Module, Debug)]
struct HeadFirst {
    classifier: Linear,
    hidden: Linear,
}

#[test]
fn a_head_declared_first_is_caught_by_check() {
    let device = Device::flex();
    let model = HeadFirst {
        classifier: LinearConfig::new(8, 5).init(&device),
        hidden: LinearConfig::new(24, 8).init(&device),
    };
    assert_eq!(
        official().init(&model).check(&model).unwrap_err(),
        MheError::AmbiguousOutput {
            chosen: "hidden.weight".into(),
            likely: "classifier.weight".into(),
        }
    );
    // Naming the output layer settles it.
    let named = MheRegularizerConfig::new()
        .with_output_layer(OutputSelector::Path("classifier".into()))
        .init(&model);
    let roles: Vec<(String, LayerRole)> = named
        .check(&model)
        .unwrap()
        .into_iter()
        .map(|l| (l.path, l.role))
        .collect();
    assert_eq!(
        roles,
        [
            ("classifier.weight".to_string(), LayerRole::Output),
            ("hidden.weight".to_string(), LayerRole::Hidden)
        ]
    );
    // The usual order passes, and so do layers of one width throughout (no layer is a sink).
    let usual = user_net(&device, &official());
    assert!(official().init(&usual).check(&usual).is_ok());
    let square = HeadFirst {
        classifier: LinearConfig::new(8, 8).init(&device),
        hidden: LinearConfig::new(8, 8).init(&device),
    };
    assert!(official().init(&square).check(&square).is_ok());
}

#[test]
fn report_angles_describe_the_spread() {
    let model = user_net(&Device::flex(), &official());
    for layer in model.mhe.report(&model) {
        let (min, mean) = (layer.min_angle_deg.unwrap(), layer.mean_angle_deg.unwrap());
        assert!(0.0 < min && min <= mean && mean < 180.0, "{layer:?}");
        assert!(layer.energy.is_finite());
    }
}

#[test]
fn mini_batch_output_mhe_covers_the_classes_present() {
    let device = Device::flex().autodiff();
    let model = user_net(&device, &official());
    let parts = model.mhe.penalty_parts_for_classes(&model, &[4, 1, 4, 3]);
    let full = model.mhe.penalty_parts(&model);
    // Hidden layers are unaffected.
    assert_close(
        values(parts.hidden.clone())[0],
        values(full.hidden)[0],
        1e-12,
        "hidden",
    );
    // The output term is the energy of classifier neurons 1, 3 and 4 only.
    let neurons = values(model.head.classifier.neurons());
    let rows: Vec<f64> = [1, 3, 4]
        .iter()
        .flat_map(|&r| neurons[r * 8..(r + 1) * 8].to_vec())
        .collect();
    let energy = EnergyConfig::new().init();
    let expected = 10.0 * values(energy.forward(f32_matrix(&rows, 8, &Device::flex())))[0];
    assert_close(
        values(parts.output.clone())[0],
        expected,
        1e-5,
        "selected output",
    );
    // Gradients reach only the selected classifier neurons.
    let grads = parts.total().backward();
    let grad = classifier_gradient(&model, &grads);
    for (class, row) in grad.chunks(8).enumerate() {
        let touched = row.iter().any(|g| *g != 0.0);
        assert_eq!(touched, [1, 3, 4].contains(&class), "class {class}");
    }
    // One class in the batch: no pair, a zero output term, finite.
    let single = model.mhe.penalty_parts_for_classes(&model, &[2, 2, 2]);
    assert_eq!(values(single.output)[0], 0.0);
}

/// The summed per-layer objective values of `weights` under `mhe`'s poles.
fn objective_total(mhe: &MheRegularizer, weights: &UserNet) -> f64 {
    mhe.report(weights).iter().map(|layer| layer.energy).sum()
}

#[test]
fn each_group_takes_its_objective_and_weight() {
    let model = user_net(&Device::flex(), &official());
    let mma = PenaltyGroupConfig::new(EnergyConfig::new())
        .with_objective(Objective::Mma)
        .with_weight(0.5);
    let mhe = MheRegularizerConfig::new()
        .with_hidden(Some(mma))
        .with_output(None)
        .init(&model);
    let objective = Objective::Mma.init(&EnergyConfig::new());
    let layer = |neurons| values(objective.forward(neurons, None).unwrap())[0];
    let expected = layer(model.blocks[0].conv.neurons())
        + layer(model.blocks[1].conv.neurons())
        + layer(model.head.hidden.neurons());
    let parts = mhe.penalty_parts(&model);
    assert_eq!(values(parts.output.clone())[0], 0.0);
    assert_close(
        values(parts.total())[0],
        0.5 * expected,
        1e-6,
        "MMA penalty",
    );
}

#[test]
fn pole_objectives_learn_a_pole_per_layer_that_ascends_while_the_weights_descend() {
    let device = Device::flex().autodiff();
    for objective in [Objective::Mhp, Objective::Mhc] {
        let group = PenaltyGroupConfig::new(EnergyConfig::new()).with_objective(objective);
        let config = MheRegularizerConfig::new()
            .with_hidden(Some(group.clone()))
            .with_output(Some(group));
        let model = user_net(&device, &config);
        // Poles of the conv layers (1 x 3 x 3 and 4 x 3 x 3), the hidden (24) and output (8).
        assert_eq!(model.mhe.num_params(), 9 + 36 + 24 + 8);
        model.mhe.check(&model).unwrap();

        let before = objective_total(&model.mhe, &model);
        let penalty = model.mhe.penalty(&model);
        assert_close(values(penalty.clone())[0], before, 1e-6, "penalty");
        let grads = GradientsParams::from_grads(penalty.backward(), &model);
        let stepped = SgdConfig::new().init().step(0.01, model.clone(), grads);
        // New weights under the old poles: lower. Old weights under the new poles: higher.
        let descended = objective_total(&model.mhe, &stepped);
        let ascended = objective_total(&stepped.mhe, &model);
        assert!(descended < before, "{objective:?}: {descended} >= {before}");
        assert!(ascended > before, "{objective:?}: {ascended} <= {before}");

        // Poles built for another model do not fit this one.
        let other = MheRegularizerConfig::new()
            .with_hidden(Some(
                PenaltyGroupConfig::new(EnergyConfig::new()).with_objective(objective),
            ))
            .init(&model.head);
        assert!(matches!(
            other.check(&model),
            Err(MheError::InvalidConfig { field: "pole", .. })
        ));
    }
}
