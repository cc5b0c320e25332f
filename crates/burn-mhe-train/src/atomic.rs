//! Files that are whole or absent: what a run folder needs so that an interruption never
//! leaves a half-written configuration, history record, prediction or result behind.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::error::TrainError;

/// Writes `contents` to `path` through a temporary file, so `path` is whole or absent.
pub fn write_atomically(path: &Path, contents: &str) -> Result<(), TrainError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(TrainError::io(parent))?;
    }
    let partial = partial_path(path);
    std::fs::write(&partial, contents)
        .and_then(|()| publish(&partial, path))
        .map_err(TrainError::io(path))
}

/// Where a file is written before [`publish`] moves it to `path`: its name with `.partial`
/// appended, so that no two files of a folder share one.
pub fn partial_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    path.with_file_name(name)
}

/// Moves the finished file `partial` to `path`: its contents flushed to disk first, the
/// rename then flushed in the folder, so that after a crash `path` holds the old file or the
/// new one, whole.
pub fn publish(partial: &Path, path: &Path) -> std::io::Result<()> {
    File::open(partial)?.sync_all()?;
    std::fs::rename(partial, path)?;
    // A folder opened read-only can be synced on Unix; elsewhere the rename stands alone.
    match path.parent() {
        Some(folder) if cfg!(unix) => {
            let folder = if folder.as_os_str().is_empty() {
                Path::new(".")
            } else {
                folder
            };
            File::open(folder)?.sync_all()
        }
        _ => Ok(()),
    }
}
