//! `mhe bench`: the time of energy + gradient against one `N x d x N` matmul on the same device.

use std::time::Instant;

use burn::tensor::{Device, Distribution, Tensor};
use burn_mhe::{BudgetSource, EnergyConfig, EnergyPath, HypersphericalEnergy, MemoryBudget};
use clap::Args;

use crate::allocator::{keeps_freed_memory, release_freed_memory};
use crate::cli_error::CliError;
use crate::device::{DeviceChoice, check_fits};
use crate::step_bench::{measure_breakdown, measure_step};

/// The sizes the issue tracker asked for: common conv layers, wide layers and a large classifier.
const DEFAULT_SIZES: &str = "64x27,64x576,256x2304,1024x4608,4096x4096,65536x256";

/// Options of `mhe bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Backend to measure.
    #[arg(long, value_enum, default_value_t = DeviceChoice::Cpu)]
    pub device: DeviceChoice,
    /// Comma-separated layer sizes `NxD`.
    #[arg(long, default_value = DEFAULT_SIZES)]
    pub sizes: String,
    /// Timed repetitions per measurement (the median is reported), after one warm-up.
    #[arg(long, default_value_t = 5)]
    pub repeats: usize,
    /// Memory budget of the pair matrices in MiB: layers over it run in blocks of rows
    /// [default: a quarter of the device's memory where it reports it, else its largest
    /// buffer, at least 256].
    #[arg(long)]
    pub memory_budget_mib: Option<f64>,
    /// Print one JSON object per line instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Instead: the regularizer's share of a training step of a 10-layer CNN (batch 64), and
    /// the step's time by kind of layer.
    #[arg(long)]
    pub training_step: bool,
}

/// One measured size.
#[derive(Debug, serde::Serialize)]
struct Row {
    n: usize,
    d: usize,
    /// [`EnergyPath`]: `buffers` (float32 on `flex`, one `N x N` matrix within the memory
    /// budget), `dense` (tensor operations, pair matrices within the budget), else `blocked`.
    variant: &'static str,
    energy_grad_ms: f64,
    matmul_ms: f64,
    ratio: f64,
    /// Memory added during energy + gradient: peak resident set on CPU backends, the
    /// allocator's reserve on GPU backends.
    peak_mib: f64,
    /// The processor's architecture and vector extensions (see [`cpu_features`]).
    cpu: String,
    /// Whether freed memory is kept for reuse (see `allocator`): the times depend on it.
    keeps_freed_memory: bool,
    /// The memory budget the energy kept to, and where it came from.
    memory_budget: MemoryBudget,
}

/// The architecture and the vector extensions the CPU kernels can use, e.g.
/// `x86_64 sse4.2 avx2 fma avx512f`: figures from machines with and without AVX-512 differ.
fn cpu_features() -> String {
    #[allow(unused_mut)] // nothing is added on other architectures
    let mut names = vec![std::env::consts::ARCH];
    #[cfg(target_arch = "x86_64")]
    {
        let detected = [
            ("sse4.2", std::arch::is_x86_feature_detected!("sse4.2")),
            ("avx2", std::arch::is_x86_feature_detected!("avx2")),
            ("fma", std::arch::is_x86_feature_detected!("fma")),
            ("avx512f", std::arch::is_x86_feature_detected!("avx512f")),
        ];
        names.extend(detected.iter().filter(|(_, on)| *on).map(|(name, _)| *name));
    }
    #[cfg(target_arch = "aarch64")]
    if std::arch::is_aarch64_feature_detected!("neon") {
        names.push("neon");
    }
    names.join(" ")
}

fn parse_sizes(sizes: &str) -> Result<Vec<(usize, usize)>, CliError> {
    sizes
        .split(',')
        .map(|size| {
            let parsed = size
                .trim()
                .split_once('x')
                .and_then(|(n, d)| Some((n.parse().ok()?, d.parse().ok()?)));
            match parsed {
                Some((n, d)) if n > 0 && d > 0 => Ok((n, d)),
                _ => Err(CliError::Usage(format!(
                    "--sizes: `{size}` is not NxD with N, D > 0"
                ))),
            }
        })
        .collect()
}

/// Median wall time in milliseconds of `run`, which must wait for the device itself.
fn median_ms(repeats: usize, run: &mut dyn FnMut()) -> f64 {
    run();
    let mut times: Vec<f64> = (0..repeats)
        .map(|_| {
            let start = Instant::now();
            run();
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// Memory in MiB: the device allocator's reserve on GPU backends, else the process's
/// `/proc/self/status` field (`VmRSS:` now, `VmHWM:` peak).
fn memory_mib(device: &Device, field: &str) -> f64 {
    if let Some(usage) = device.memory_pool_usage() {
        return usage.bytes_reserved as f64 / MemoryBudget::MIB;
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<f64>()
                .ok()
        })
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

fn measure(
    device: &Device,
    energy: &HypersphericalEnergy,
    n: usize,
    d: usize,
    repeats: usize,
) -> Row {
    let neurons = Tensor::<2>::random([n, d], Distribution::Normal(0.0, 1.0), device);
    let other = Tensor::<2>::random([d, n], Distribution::Normal(0.0, 1.0), device);
    // A product too large for memory (65536 x 65536 floats is 16 GiB) is timed in the same row
    // blocks as the energy: the same flops, bounded memory.
    let layer = neurons.clone().unsqueeze();
    let path = energy.path(&layer);
    let block = match path {
        EnergyPath::Blocked => energy.block_rows(&layer),
        EnergyPath::Buffers | EnergyPath::Dense | EnergyPath::Kernel => n,
    };
    // Each `[block, n]` product within the device's largest buffer.
    let budget = energy.budget(device);
    let block = budget.rows_per_buffer(block, n, 4);
    let matmul_ms = median_ms(repeats, &mut || {
        for start in (0..n).step_by(block) {
            let rows = neurons.clone().slice([start..(start + block).min(n), 0..d]);
            let product = rows.matmul(other.clone());
            product.slice([0..1, 0..1]).into_scalar::<f32>();
        }
    });
    // Freed buffers are kept for reuse (`allocator`): give them back first, then reset the
    // peak resident set (Linux: write 5 to clear_refs).
    release_freed_memory();
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let before = memory_mib(device, "VmRSS:");
    let energy_grad_ms = median_ms(repeats, &mut || {
        let (value, grad) = energy.value_and_grad(neurons.clone());
        (value + grad.slice([0..1, 0..1]).reshape([1])).into_scalar::<f32>();
    });
    let peak_mib = memory_mib(device, "VmHWM:") - before;
    Row {
        n,
        d,
        variant: match path {
            EnergyPath::Buffers => "buffers",
            EnergyPath::Dense => "dense",
            EnergyPath::Kernel => "kernel",
            EnergyPath::Blocked => "blocked",
        },
        energy_grad_ms,
        matmul_ms,
        ratio: energy_grad_ms / matmul_ms,
        peak_mib,
        cpu: cpu_features(),
        keeps_freed_memory: keeps_freed_memory(),
        memory_budget: budget,
    }
}

/// Runs `mhe bench`, printing each row as it is measured (large sizes take a while).
pub fn run(args: &BenchArgs) -> Result<String, CliError> {
    let sizes = parse_sizes(&args.sizes)?;
    if args.repeats == 0 {
        return Err(CliError::Usage("--repeats must be at least 1".into()));
    }
    let device = args.device.device().map_err(CliError::Usage)?;
    let energy = EnergyConfig::new()
        .with_memory_budget_mib(args.memory_budget_mib)
        .try_init()
        .map_err(|error| CliError::Usage(error.to_string()))?;
    if args.training_step {
        return Ok(training_step_report(&device, args.repeats, args.json));
    }
    for &(n, d) in &sizes {
        check_fits(&device, &format!("the layer {n}x{d}"), [n, d], 4)?;
    }
    if !args.json {
        println!(
            "CPU: {}; freed memory kept for reuse: {}",
            cpu_features(),
            keeps_freed_memory()
        );
        println!("{}", budget_line(&energy.budget(&device)));
        println!(
            "{:>6} {:>5} {:>8} {:>15} {:>10} {:>6} {:>9}",
            "N", "d", "variant", "energy+grad ms", "matmul ms", "ratio", "peak MiB"
        );
    }
    for (n, d) in sizes {
        let row = measure(&device, &energy, n, d, args.repeats);
        let line = if args.json {
            serde_json::to_string(&row).expect("a row serializes")
        } else {
            format!(
                "{:>6} {:>5} {:>8} {:>15.3} {:>10.3} {:>6.2} {:>9.1}",
                row.n,
                row.d,
                row.variant,
                row.energy_grad_ms,
                row.matmul_ms,
                row.ratio,
                row.peak_mib
            )
        };
        println!("{line}");
    }
    Ok(String::new())
}

/// The memory budget the energy keeps to on the device, and where it comes from.
fn budget_line(budget: &MemoryBudget) -> String {
    let source = match budget.source {
        BudgetSource::Configured => "--memory-budget-mib",
        BudgetSource::DeviceMemory => "a quarter of the device's memory",
        BudgetSource::DeviceBuffer => "the device's largest buffer, at least 256 MiB",
        BudgetSource::Default => "the device reports no memory",
    };
    let buffer = match budget.largest_buffer {
        Some(bytes) => format!("{:.0} MiB", bytes / MemoryBudget::MIB),
        None => "no limit".into(),
    };
    format!(
        "memory budget: {:.0} MiB ({source}); one intermediate at most: {buffer}",
        budget.mib()
    )
}

/// `--training-step`: the regularizer's share of the CNN's step, then the step's time by kind
/// of layer and each conv layer's, all on batches of 64.
fn training_step_report(device: &Device, repeats: usize, json: bool) -> String {
    let step = measure_step(device, 64, repeats, |run| median_ms(1, run));
    let layers = measure_breakdown(device, 64, repeats);
    if json {
        let report = serde_json::json!({ "cpu": cpu_features(), "step": step, "layers": layers });
        return report.to_string();
    }
    let total: f64 = layers.iter().map(|l| l.forward_ms + l.backward_ms).sum();
    let mut kinds: Vec<(&str, usize, f64, f64)> = Vec::new();
    for layer in &layers {
        match kinds.iter_mut().find(|kind| kind.0 == layer.kind) {
            Some(kind) => {
                kind.1 += 1;
                kind.2 += layer.forward_ms;
                kind.3 += layer.backward_ms;
            }
            None => kinds.push((layer.kind, 1, layer.forward_ms, layer.backward_ms)),
        }
    }
    let row = |name: &str, count: String, forward: f64, backward: f64| {
        let share = 100.0 * (forward + backward) / total;
        format!("{name:>14} {count:>14} {forward:>11.2} {backward:>12.2} {share:>6.1}%")
    };
    let mut lines = vec![
        format!("CPU: {}", cpu_features()),
        format!(
            "{}-layer CNN, batch {}: step {:.1} ms without MHE, {:.1} ms with MHE; the penalty \
             and its backward alone {:.2} ms, {:.1}% of the regularized step",
            step.layers,
            step.batch,
            step.step_ms,
            step.step_mhe_ms,
            step.penalty_ms,
            100.0 * step.regularizer_share
        ),
        format!(
            "{:>14} {:>14} {:>11} {:>12} {:>7}",
            "layer kind", "layers / input", "forward ms", "backward ms", "share"
        ),
    ];
    for (kind, count, forward, backward) in kinds {
        lines.push(row(kind, count.to_string(), forward, backward));
    }
    for conv in layers.iter().filter(|layer| layer.kind == "conv") {
        let [_, channels, side, _] = conv.input;
        let input = format!("{channels}x{side}x{side}");
        lines.push(row("conv", input, conv.forward_ms, conv.backward_ms));
    }
    lines.push(format!("{:>14} {:>14} {total:>24.2}", "sum", ""));
    lines.join("\n")
}
