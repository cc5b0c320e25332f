//! Files that are whole or absent: what a run folder needs so that an interruption never
//! leaves a half-written configuration, history record, prediction or result behind.

use std::path::Path;

use crate::error::TrainError;

/// Writes `contents` to `path` through a temporary file, so `path` is whole or absent.
pub fn write_atomically(path: &Path, contents: &str) -> Result<(), TrainError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(TrainError::io(parent))?;
    }
    let partial = path.with_extension("partial");
    std::fs::write(&partial, contents)
        .and_then(|()| std::fs::File::open(&partial)?.sync_all())
        .and_then(|()| std::fs::rename(&partial, path))
        .map_err(TrainError::io(path))
}
