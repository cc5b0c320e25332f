//! Checkpoints that are whole or known to be damaged. Each record is written under a temporary
//! name and flushed; its seal (size and CRC-32, `NAME-EPOCH.bpk.seal`) is written beside it;
//! then it is renamed into place. [`checkpoint_state`] holds a record to its seal before
//! anything loads it, so a truncated, emptied or overwritten file is found, not loaded.

use std::io::Read;
use std::path::{Path, PathBuf};

use burn::lr_scheduler::LrSchedulerRecord;
use burn::optim::OptimizerRecord;
use burn::store::ModuleRecord;
use burn::train::checkpoint::{Checkpoint, Checkpointer, CheckpointerError, FileCheckpointer};
use serde::{Deserialize, Serialize};

use crate::atomic::{partial_path, publish, write_atomically};
use crate::run_folder::read_json;

/// The three records burn's Learner checkpoints after every epoch.
pub const CHECKPOINT_RECORDS: [&str; 3] = ["model", "optim", "scheduler"];

/// Like burn's `FileCheckpointer` (same file names, `NAME-EPOCH.bpk`), but a crash while
/// saving never leaves a partial file under the final name, and every record has a seal that
/// [`checkpoint_state`] checks it against.
#[derive(Debug, Clone)]
pub(crate) struct AtomicFileCheckpointer {
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
pub(crate) fn checkpoint_path(directory: &Path, name: &str, epoch: usize) -> PathBuf {
    directory.join(format!("{name}-{epoch}.bpk"))
}

/// The seal of the record at `record`.
fn seal_path(record: &Path) -> PathBuf {
    record.with_extension("bpk.seal")
}

impl<R: Checkpoint> Checkpointer<R> for AtomicFileCheckpointer {
    fn save(&self, epoch: usize, record: R) -> Result<(), CheckpointerError> {
        let path = self.path(epoch);
        let partial = partial_path(&path);
        record.save(partial.clone())?;
        // The seal first: a crash before the rename leaves a seal without its record (the
        // record is missing), never a new record without its seal.
        let seal = Seal::of(&partial).map_err(CheckpointerError::IOError)?;
        let json = serde_json::to_string(&seal).expect("seals serialize");
        write_atomically(&seal_path(&path), &json)
            .map_err(|error| CheckpointerError::Unknown(error.to_string()))?;
        publish(&partial, &path).map_err(CheckpointerError::IOError)
    }

    fn restore(&self, epoch: usize) -> Result<R, CheckpointerError> {
        Checkpointer::<R>::restore(&self.files(), epoch)
    }

    fn delete(&self, epoch: usize) -> Result<(), CheckpointerError> {
        Checkpointer::<R>::delete(&self.files(), epoch)?;
        let seal = seal_path(&self.path(epoch));
        match std::fs::remove_file(seal) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                Err(CheckpointerError::IOError(error))
            }
            _ => Ok(()),
        }
    }
}

/// What was written: the size and CRC-32 of a record's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Seal {
    bytes: u64,
    crc32: u32,
}

impl Seal {
    /// The seal of the file at `path` as it is now.
    fn of(path: &Path) -> std::io::Result<Seal> {
        let mut file = std::fs::File::open(path)?;
        let mut hasher = crc32fast::Hasher::new();
        let mut buffer = vec![0u8; 1 << 16];
        let mut bytes = 0u64;
        loop {
            let read = file.read(&mut buffer)?;
            if read == 0 {
                break;
            }
            hasher.update(&buffer[..read]);
            bytes += read as u64;
        }
        Ok(Seal {
            bytes,
            crc32: hasher.finalize(),
        })
    }
}

/// Whether one epoch's checkpoint can be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckpointState {
    /// All three records are there and match their seals.
    Complete,
    /// A record was never written (training stopped before the checkpoint was saved, or it
    /// was deleted).
    Incomplete,
    /// A record is there but not as it was written.
    Damaged {
        /// The damaged record.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
}

/// The state of the checkpoint of `epoch` in `directory`: each record checked against its
/// seal, or, for a record saved without one (by an earlier version), loaded by burn.
pub(crate) fn checkpoint_state(directory: &Path, epoch: usize) -> CheckpointState {
    let mut state = CheckpointState::Complete;
    for name in CHECKPOINT_RECORDS {
        let path = checkpoint_path(directory, name, epoch);
        if !path.is_file() {
            state = CheckpointState::Incomplete;
        } else if let Err(problem) = check_record(name, &path) {
            return CheckpointState::Damaged { path, problem };
        }
    }
    state
}

/// `Ok` if the record `name` at `path` is whole; what is wrong otherwise.
fn check_record(name: &str, path: &Path) -> Result<(), String> {
    let seal_file = seal_path(path);
    if !seal_file.is_file() {
        return load_with_burn(name, path);
    }
    let sealed: Seal =
        read_json(&seal_file).map_err(|error| format!("its seal cannot be read ({error})"))?;
    let found = Seal::of(path).map_err(|e| e.to_string())?;
    if found.bytes != sealed.bytes {
        Err(format!(
            "{} bytes where {} were written",
            found.bytes, sealed.bytes
        ))
    } else if found.crc32 != sealed.crc32 {
        Err(format!(
            "its contents differ from what was written (CRC-32 {:08x}, written {:08x})",
            found.crc32, sealed.crc32
        ))
    } else {
        Ok(())
    }
}

/// Loads the record as burn's Learner would; a panic inside burn counts as damage.
fn load_with_burn(name: &str, path: &Path) -> Result<(), String> {
    let path = path.to_path_buf();
    let name = name.to_string();
    let loaded = std::panic::catch_unwind(move || match name.as_str() {
        "model" => ModuleRecord::load(path).map(drop),
        "optim" => OptimizerRecord::load(path).map(drop),
        _ => LrSchedulerRecord::load(path).map(drop),
    });
    match loaded {
        Ok(Ok(())) => Ok(()),
        Ok(Err(error)) => Err(format!("burn cannot load it ({error})")),
        Err(_) => Err("burn cannot load it (it panicked)".into()),
    }
}
