//! Keeping freed memory in the process.
//!
//! burn gives every tensor a fresh buffer. glibc hands buffers above its mmap threshold back to
//! the kernel as soon as they are freed, so the next one of the same size starts as untouched
//! pages and pays a page fault per 4 KiB on first write: for `mhe bench` that was half the time
//! of a 256 x 2304 energy (docs/benchmarks.md). Raising the mmap threshold to its maximum
//! (32 MiB on 64-bit) and never trimming the heap lets freed buffers be reused; the resident set
//! stays at its peak instead of shrinking between operations.
//!
//! Other programs get the same effect without code:
//! `GLIBC_TUNABLES=glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=2147483647`.

use std::sync::atomic::{AtomicBool, Ordering};

/// Whether glibc accepted the settings of [`keep_freed_memory`].
static KEPT: AtomicBool = AtomicBool::new(false);

/// Whether this process keeps freed memory for reuse (what `mhe bench` reports beside its
/// figures, which depend on it).
pub fn keeps_freed_memory() -> bool {
    KEPT.load(Ordering::Relaxed)
}

/// The largest mmap threshold glibc accepts on 64-bit targets.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD_MAX: i32 = 32 << 20;

#[cfg(all(target_os = "linux", target_env = "gnu"))]
unsafe extern "C" {
    fn mallopt(param: i32, value: i32) -> i32;
    fn malloc_trim(pad: usize) -> i32;
}

/// Tells glibc's allocator to keep freed memory for reuse; `true` when it accepted both
/// settings. Call it first thing in `main`, before other threads start. On other platforms it
/// does nothing and returns `false`.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn keep_freed_memory() -> bool {
    const M_TRIM_THRESHOLD: i32 = -1;
    const M_MMAP_THRESHOLD: i32 = -3;
    // SAFETY: `mallopt` only changes allocator parameters; it takes plain integers and is
    // called before any other thread allocates.
    let kept = unsafe {
        mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_MAX) == 1
            && mallopt(M_TRIM_THRESHOLD, i32::MAX) == 1
    };
    KEPT.store(kept, Ordering::Relaxed);
    kept
}

/// Tells the allocator to keep freed memory for reuse: only glibc has the settings.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn keep_freed_memory() -> bool {
    false
}

/// Gives the memory kept so far back to the kernel, so that a peak resident set measured next
/// counts what comes after (used by `mhe bench` before each energy).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn release_freed_memory() {
    // SAFETY: `malloc_trim` only returns free heap pages to the kernel.
    unsafe {
        malloc_trim(0);
    }
}

/// Gives the memory kept so far back to the kernel: nothing to do off glibc.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn release_freed_memory() {}
