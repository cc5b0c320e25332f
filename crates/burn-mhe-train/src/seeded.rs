//! Reproducible initial weights when several models are built at once.

use std::sync::Mutex;

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::{Device, Tensor};

/// The module `init` builds on `device` from `seed`, with every initial value drawn before this
/// returns.
///
/// A device's random generator is shared by every thread of the process, and burn draws a
/// parameter's initial values lazily, at its first use: two models built and first used at the
/// same time (tests, sweeps, servers) take each other's draws, and the same seed gives other
/// weights. Here seeding, building and drawing happen under one process-wide lock.
///
/// ```
/// use burn::nn::LinearConfig;
/// use burn::tensor::Device;
/// use burn_mhe_train::{init_seeded, weights_digest};
///
/// let device = Device::flex();
/// let build = |seed| init_seeded(&device, seed, |device| LinearConfig::new(3, 2).init(device));
/// assert_eq!(weights_digest(&build(1)), weights_digest(&build(1)));
/// assert_ne!(weights_digest(&build(1)), weights_digest(&build(2)));
/// ```
pub fn init_seeded<M: Module>(device: &Device, seed: u64, init: impl FnOnce(&Device) -> M) -> M {
    static INIT: Mutex<()> = Mutex::new(());
    let _only_one = INIT.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    device.seed(seed);
    let module = init(device);
    module.visit(&mut InitializeNow);
    module
}

/// Draws the initial values of every lazily initialized float parameter it visits.
struct InitializeNow;

impl ModuleVisitor for InitializeNow {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        param.val();
    }
}
