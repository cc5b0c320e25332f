//! How much memory the energy's `N x N` intermediates may take on a device: the configured
//! budget, or one that follows the device; and, whatever the budget, no single intermediate
//! larger than the device's largest buffer.

use burn::tensor::Device;
use serde::Serialize;

/// What a device reports of its memory, in bytes (`None`: it reports nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeviceMemory {
    /// The largest single allocation it accepts.
    pub largest_buffer: Option<u64>,
    /// The memory it may be asked to hold at once.
    pub total: Option<u64>,
}

impl DeviceMemory {
    /// What `device` reports: a GPU runtime (wgpu) its largest buffer and, where its API says,
    /// its memory; the CPU backends nothing. Opens a GPU device.
    pub fn of(device: &Device) -> Self {
        #[cfg(feature = "wgpu")]
        {
            let device = device.clone().without_autodiff();
            if let burn_dispatch::DispatchDevice::Cube(cube) = device.as_dispatch() {
                let properties = cube.client().properties().memory.clone();
                return Self {
                    largest_buffer: Some(properties.max_page_size),
                    total: properties.max_memory(),
                };
            }
        }
        let _ = device;
        Self::default()
    }
}

/// Where a [`MemoryBudget`]'s bytes come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BudgetSource {
    /// [`EnergyConfig::memory_budget_mib`](crate::EnergyConfig::memory_budget_mib).
    Configured,
    /// [`DEVICE_MEMORY_SHARE`](MemoryBudget::DEVICE_MEMORY_SHARE) of the device's memory.
    DeviceMemory,
    /// The device's largest buffer (at least [`DEFAULT_MIB`](MemoryBudget::DEFAULT_MIB)): it
    /// reports no memory, and one buffer of that size is memory it surely has.
    DeviceBuffer,
    /// [`DEFAULT_MIB`](MemoryBudget::DEFAULT_MIB): the device reports neither (the CPU backends).
    Default,
}

/// The memory the energy keeps to on one device.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MemoryBudget {
    /// Bytes for the intermediates of one block pair (about ten `[B, rows, rows]` matrices).
    pub bytes: f64,
    /// Bytes one intermediate may take: [`DEVICE_BUFFER_SHARE`](Self::DEVICE_BUFFER_SHARE) of
    /// the device's largest buffer (`None`: no limit of its own).
    pub largest_buffer: Option<f64>,
    /// Where `bytes` comes from.
    pub source: BudgetSource,
}

impl MemoryBudget {
    /// Bytes in a MiB, the unit of configured budgets and of reports.
    pub const MIB: f64 = 1024.0 * 1024.0;

    /// The budget on a device that does not report its memory (the CPU backends).
    pub const DEFAULT_MIB: f64 = 256.0;

    /// The share of a device's memory that the energy's intermediates may take by default.
    pub const DEVICE_MEMORY_SHARE: f64 = 0.25;

    /// The share of a device's largest buffer that one intermediate may take.
    pub const DEVICE_BUFFER_SHARE: f64 = 0.5;

    /// The budget on a device of `memory`, `configured` MiB if given.
    pub fn new(configured: Option<f64>, memory: DeviceMemory) -> Self {
        let default = Self::DEFAULT_MIB * Self::MIB;
        let (bytes, source) = match (configured, memory.total, memory.largest_buffer) {
            (Some(mib), _, _) => (mib * Self::MIB, BudgetSource::Configured),
            (None, Some(total), _) => (
                total as f64 * Self::DEVICE_MEMORY_SHARE,
                BudgetSource::DeviceMemory,
            ),
            (None, None, Some(largest)) => {
                (default.max(largest as f64), BudgetSource::DeviceBuffer)
            }
            (None, None, None) => (default, BudgetSource::Default),
        };
        Self {
            bytes,
            largest_buffer: memory
                .largest_buffer
                .map(|largest| largest as f64 * Self::DEVICE_BUFFER_SHARE),
            source,
        }
    }

    /// Rows per block so that one block pair's intermediates (`[batch, rows, rows]` of
    /// `element_bytes` each) fit the budget and each fits a buffer; between 1 and `neurons`.
    pub fn block_rows(&self, batch: usize, neurons: usize, element_bytes: usize) -> usize {
        // About ten live `[batch, block, block]` float32 intermediates per block pair (the
        // budget counts float32 entries, as it always has).
        let by_budget = (self.bytes / (10 * 4 * batch) as f64).sqrt();
        let by_buffer = self.largest_buffer.map_or(f64::INFINITY, |bytes| {
            (bytes / (element_bytes * batch) as f64).sqrt()
        });
        (by_budget.min(by_buffer) as usize).clamp(1, neurons.max(1))
    }

    /// Rows of a `[rows, columns]` matrix of `element_bytes` entries that fit one buffer, at
    /// most `rows` and at least 1.
    pub fn rows_per_buffer(&self, rows: usize, columns: usize, element_bytes: usize) -> usize {
        let fit = self.largest_buffer.map_or(usize::MAX, |bytes| {
            (bytes / (columns.max(1) * element_bytes) as f64) as usize
        });
        fit.clamp(1, rows.max(1))
    }

    /// In MiB, for reports.
    pub fn mib(&self) -> f64 {
        self.bytes / Self::MIB
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIB: u64 = 1 << 30;

    #[test]
    fn the_budget_follows_the_device_unless_configured() {
        let gpu = DeviceMemory {
            largest_buffer: Some(128 << 20),
            total: Some(24 * GIB),
        };
        let budget = MemoryBudget::new(None, gpu);
        assert_eq!(budget.source, BudgetSource::DeviceMemory);
        assert_eq!(budget.bytes, 6.0 * GIB as f64);
        assert_eq!(budget.largest_buffer, Some(64.0 * MemoryBudget::MIB));
        let configured = MemoryBudget::new(Some(100.0), gpu);
        assert_eq!(configured.source, BudgetSource::Configured);
        assert_eq!(configured.mib(), 100.0);
        // Only its largest buffer reported (wgpu without the Vulkan memory query): that buffer,
        // or 256 MiB if it is smaller.
        for (largest, mib) in [(4 * GIB, 4096.0), (128 << 20, 256.0)] {
            let memory = DeviceMemory {
                largest_buffer: Some(largest),
                total: None,
            };
            let budget = MemoryBudget::new(None, memory);
            assert_eq!(budget.source, BudgetSource::DeviceBuffer);
            assert_eq!(budget.mib(), mib);
        }
        let cpu = MemoryBudget::new(None, DeviceMemory::default());
        assert_eq!(cpu.source, BudgetSource::Default);
        assert_eq!(cpu.mib(), MemoryBudget::DEFAULT_MIB);
        assert_eq!(cpu.largest_buffer, None);
    }

    #[test]
    fn blocks_fit_the_budget_and_the_largest_buffer() {
        // 256 MiB on the CPU: blocks of 2590 rows for one layer, as always.
        let cpu = MemoryBudget::new(None, DeviceMemory::default());
        assert_eq!(cpu.block_rows(1, 65536, 4), 2590);
        assert_eq!(cpu.block_rows(1, 1000, 4), 1000);
        // A device of 24 GiB with 128 MiB buffers (Mesa's lavapipe): the budget would take
        // 12,000 rows, a 64 MiB buffer takes 4096 float32 rows.
        let lavapipe = MemoryBudget::new(
            None,
            DeviceMemory {
                largest_buffer: Some(128 << 20),
                total: Some(24 * GIB),
            },
        );
        assert_eq!(lavapipe.block_rows(1, 16384, 4), 4096);
        assert_eq!(lavapipe.block_rows(4, 16384, 4), 2048);
        assert_eq!(lavapipe.block_rows(1, 16384, 8), 2896);
        assert_eq!(lavapipe.block_rows(1, 4096, 4), 4096);
        // The bench's product of 16384 rows by 16384 columns: 1024 rows per 64 MiB buffer.
        assert_eq!(lavapipe.rows_per_buffer(16384, 16384, 4), 1024);
        assert_eq!(lavapipe.rows_per_buffer(10, 16384, 4), 10);
        assert_eq!(cpu.rows_per_buffer(16384, 16384, 4), 16384);
    }
}
