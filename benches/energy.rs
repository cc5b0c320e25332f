//! `cargo bench -p burn-mhe --bench energy`: energy + gradient against one `N x d x N` matmul of
//! the same shapes, on the flex CPU backend, with criterion.
//!
//! The layer sizes are the common conv layers and two wide layers; the blocked large classifier
//! sizes (`16384x256`, `65536x256`) take seconds to minutes each and are measured by
//! `mhe bench --sizes 16384x256,65536x256` instead.

use burn::tensor::{Device, Distribution, Tensor};
use burn_mhe::EnergyConfig;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

const SIZES: [(usize, usize); 4] = [(64, 27), (64, 576), (256, 2304), (1024, 4608)];

fn energy_against_matmul(c: &mut Criterion) {
    let device = Device::flex();
    let energy = EnergyConfig::new().init();
    let mut group = c.benchmark_group("energy_grad_vs_matmul");
    group.sample_size(20);
    for (n, d) in SIZES {
        let neurons = Tensor::<2>::random([n, d], Distribution::Normal(0.0, 1.0), &device);
        let transposed = neurons.clone().transpose();
        let size = format!("{n}x{d}");
        group.bench_function(BenchmarkId::new("energy_grad", &size), |b| {
            b.iter(|| {
                let (value, grad) = energy.value_and_grad(neurons.clone());
                // Reading one value waits for the device.
                (value + grad.slice([0..1, 0..1]).reshape([1])).into_scalar::<f32>()
            })
        });
        group.bench_function(BenchmarkId::new("matmul", &size), |b| {
            b.iter(|| {
                let product = neurons.clone().matmul(transposed.clone());
                product.slice([0..1, 0..1]).into_scalar::<f32>()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, energy_against_matmul);
criterion_main!(benches);
