//! The `--device` option: which compiled-in burn backend runs the computation.

use burn::tensor::Device;
use burn_mhe::{DeviceMemory, MemoryBudget};
use clap::ValueEnum;

use crate::cli_error::CliError;

/// A burn backend the user can pick on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceChoice {
    /// The default CPU backend (burn's `flex`).
    Cpu,
    /// burn's `ndarray` CPU backend.
    Ndarray,
    /// The first GPU found by `wgpu` (Vulkan, Metal, DX12), or a software Vulkan driver.
    Wgpu,
    /// burn's LibTorch backend on the CPU (PyTorch's kernels), in builds made with
    /// `RUSTFLAGS="--cfg burn_mhe_libtorch"` (libtorch is then downloaded or linked by
    /// `torch-sys`; see docs/benchmarks.md).
    Libtorch,
}

impl DeviceChoice {
    /// The name `--device` takes for it (`cpu`, `ndarray`, ...).
    pub fn name(self) -> String {
        self.to_possible_value()
            .expect("every choice has a name")
            .get_name()
            .to_owned()
    }

    /// The device, or a message naming the cargo feature it needs.
    pub fn device(self) -> Result<Device, String> {
        match self {
            #[cfg(feature = "flex")]
            DeviceChoice::Cpu => Ok(Device::flex()),
            #[cfg(not(feature = "flex"))]
            DeviceChoice::Cpu => not_compiled(self, "flex"),
            // burn 0.22 deprecates ndarray in favour of flex; it stays selectable here.
            #[cfg(feature = "ndarray")]
            #[allow(deprecated)]
            DeviceChoice::Ndarray => Ok(Device::ndarray()),
            #[cfg(not(feature = "ndarray"))]
            DeviceChoice::Ndarray => not_compiled(self, "ndarray"),
            #[cfg(feature = "wgpu")]
            DeviceChoice::Wgpu => Ok(Device::wgpu(burn::tensor::DeviceKind::DefaultDevice)),
            #[cfg(not(feature = "wgpu"))]
            DeviceChoice::Wgpu => not_compiled(self, "wgpu"),
            // burn 0.22 deprecates its LibTorch backend; it stays selectable here.
            #[cfg(burn_mhe_libtorch)]
            #[allow(deprecated)]
            DeviceChoice::Libtorch => Ok(Device::libtorch()),
            #[cfg(not(burn_mhe_libtorch))]
            DeviceChoice::Libtorch => Err(
                "--device libtorch needs mhe built with RUSTFLAGS=\"--cfg burn_mhe_libtorch\" \
                 (and libtorch; see docs/benchmarks.md)"
                    .to_owned(),
            ),
        }
    }
}

/// `Ok` if `what`, a `[rows, columns]` tensor of `element_bytes` entries, fits one buffer of
/// `device`; the error to exit with otherwise (burn would panic allocating it).
pub fn check_fits(
    device: &Device,
    what: &str,
    [rows, columns]: [usize; 2],
    element_bytes: usize,
) -> Result<(), CliError> {
    let bytes = (rows * columns * element_bytes) as u64;
    match DeviceMemory::of(device).largest_buffer {
        Some(largest) if bytes > largest => Err(CliError::Usage(format!(
            "{what} ({rows} x {columns}, {:.0} MiB) does not fit the device's largest buffer \
             ({:.0} MiB)",
            bytes as f64 / MemoryBudget::MIB,
            largest as f64 / MemoryBudget::MIB
        ))),
        _ => Ok(()),
    }
}

#[cfg(not(all(feature = "flex", feature = "ndarray", feature = "wgpu")))]
fn not_compiled(choice: DeviceChoice, feature: &str) -> Result<Device, String> {
    Err(format!(
        "--device {choice:?} needs mhe built with the `{feature}` feature"
    ))
}
