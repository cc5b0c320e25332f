//! Checkpoints written so that a file that exists is complete: each is written under a
//! temporary name, flushed to disk, then renamed into place.

use std::fs::File;
use std::path::{Path, PathBuf};

use burn::train::checkpoint::{Checkpoint, Checkpointer, CheckpointerError, FileCheckpointer};

/// The three records burn's Learner checkpoints after every epoch.
pub const CHECKPOINT_RECORDS: [&str; 3] = ["model", "optim", "scheduler"];

/// Like burn's `FileCheckpointer` (same file names, `NAME-EPOCH.bpk`), but a crash while
/// saving never leaves a partial file under the final name.
#[derive(Debug, Clone)]
pub struct AtomicFileCheckpointer {
    directory: PathBuf,
    name: String,
}

impl AtomicFileCheckpointer {
    /// Checkpoints named `name-EPOCH.bpk` in `directory` (created if missing).
    pub fn new(directory: impl AsRef<Path>, name: &str) -> Self {
        let directory = directory.as_ref().to_path_buf();
        std::fs::create_dir_all(&directory).ok();
        Self {
            directory,
            name: name.to_string(),
        }
    }

    fn files(&self) -> FileCheckpointer {
        FileCheckpointer::new(&self.directory, &self.name)
    }

    fn path(&self, epoch: usize) -> PathBuf {
        checkpoint_path(&self.directory, &self.name, epoch)
    }
}

/// Where the checkpoint `name` of `epoch` lives in `directory`.
pub fn checkpoint_path(directory: &Path, name: &str, epoch: usize) -> PathBuf {
    directory.join(format!("{name}-{epoch}.bpk"))
}

impl<R: Checkpoint> Checkpointer<R> for AtomicFileCheckpointer {
    fn save(&self, epoch: usize, record: R) -> Result<(), CheckpointerError> {
        let path = self.path(epoch);
        let partial = path.with_extension("bpk.partial");
        record.save(partial.clone())?;
        File::open(&partial)
            .and_then(|file| file.sync_all())
            .and_then(|()| std::fs::rename(&partial, &path))
            .map_err(CheckpointerError::IOError)
    }

    fn restore(&self, epoch: usize) -> Result<R, CheckpointerError> {
        Checkpointer::<R>::restore(&self.files(), epoch)
    }

    fn delete(&self, epoch: usize) -> Result<(), CheckpointerError> {
        Checkpointer::<R>::delete(&self.files(), epoch)
    }
}

/// Whether all of the Learner's records for `epoch` are in `directory`.
pub fn checkpoint_complete(directory: &Path, epoch: usize) -> bool {
    CHECKPOINT_RECORDS
        .iter()
        .all(|name| checkpoint_path(directory, name, epoch).is_file())
}
