//! One trainer per folder: an advisory lock on `FOLDER/lock` that the operating system drops
//! with the process holding it (no stale marker survives a crash or a kill).

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};

use crate::error::TrainError;

/// The lock file's name in a run or sweep folder.
pub const LOCK_FILE: &str = "lock";

/// The folders this process holds, by canonical path: a second hold in the same process
/// shares the first's lock file.
static HELD: Mutex<Vec<(PathBuf, Weak<File>)>> = Mutex::new(Vec::new());

/// An exclusive hold on a folder against other processes, released when the last hold of
/// this process is dropped or the process ends. Within one process it is shared: the job
/// behind `mhe train` holds its folder from before writing `config.json` until `results.json`,
/// and [`fit`](crate::fit) inside it takes the same hold. The lock file names the holder
/// (process id and command line) for whoever finds the folder taken.
///
/// ```
/// use burn_mhe_train::{FolderLock, TrainError};
///
/// let folder = std::env::temp_dir().join("burn-mhe-doc-lock");
/// let held = FolderLock::acquire(&folder)?;
/// // The same process may take it again; another process gets `TrainError::Busy`.
/// let again = FolderLock::acquire(&folder)?;
/// let holder = std::fs::read_to_string(folder.join("lock")).unwrap();
/// assert!(holder.starts_with(&format!("process {} (", std::process::id())));
/// drop((held, again));
/// # Ok::<(), TrainError>(())
/// ```
#[derive(Debug, Clone)]
pub struct FolderLock {
    _file: Arc<File>,
}

impl FolderLock {
    /// Takes `folder` (created if missing) for this process.
    ///
    /// # Errors
    /// [`TrainError::Busy`] naming the holder if another process holds it; [`TrainError::Io`]
    /// if the lock file cannot be opened.
    pub fn acquire(folder: &Path) -> Result<Self, TrainError> {
        std::fs::create_dir_all(folder).map_err(TrainError::io(folder))?;
        let key = folder.canonicalize().map_err(TrainError::io(folder))?;
        let mut held = HELD.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        held.retain(|(_, file)| file.strong_count() > 0);
        if let Some(file) = held
            .iter()
            .find(|(path, _)| *path == key)
            .and_then(|(_, file)| file.upgrade())
        {
            return Ok(Self { _file: file });
        }
        let path = key.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(TrainError::io(&path))?;
        match file.try_lock() {
            Ok(()) => {
                name_holder(&mut file).map_err(TrainError::io(&path))?;
                let file = Arc::new(file);
                held.push((key, Arc::downgrade(&file)));
                Ok(Self { _file: file })
            }
            Err(TryLockError::WouldBlock) => Err(TrainError::Busy {
                folder: folder.to_path_buf(),
                holder: holder_of(&mut file),
            }),
            Err(TryLockError::Error(error)) => Err(TrainError::io(path)(error)),
        }
    }
}

/// Writes this process's id and command line into the held lock file.
fn name_holder(file: &mut File) -> std::io::Result<()> {
    let command: Vec<String> = std::env::args().collect();
    file.set_len(0)?;
    file.rewind()?;
    write!(
        file,
        "process {} ({})",
        std::process::id(),
        command.join(" ")
    )?;
    file.flush()
}

/// Who holds the lock, as its file says. A holder that has just taken the lock may not have
/// written its name yet: the file is read again for up to a second.
fn holder_of(file: &mut File) -> String {
    for _ in 0..100 {
        let mut text = String::new();
        if file.rewind().is_ok()
            && file.read_to_string(&mut text).is_ok()
            && !text.trim().is_empty()
        {
            return text.trim().to_string();
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    "another process".into()
}
