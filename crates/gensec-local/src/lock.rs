//! One run of a request at a time on this machine: an exclusive lock on a
//! file per request, held for the whole run, so parallel runs of one request
//! id queue instead of writing into one package.

use gensec_core::{Error, Result};
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

/// Where the lock files live, under the output root.
pub const LOCK_DIR: &str = ".locks";

/// A held request lock; released when dropped.
#[derive(Debug)]
pub struct RequestLock {
    file: File,
    path: PathBuf,
}

impl RequestLock {
    /// Wait for and take the lock of the package at `package_prefix`
    /// (`<service>/<request>/`) under `root`.
    pub fn acquire(root: &Path, package_prefix: &str) -> Result<Self> {
        let name = package_prefix.trim_end_matches('/');
        let path = root.join(LOCK_DIR).join(format!("{name}.lock"));
        let storage = |what: &str, err: std::io::Error| {
            Error::storage(format!("{what} {}", path.display()), false, err)
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|err| storage("creating the directory of", err))?;
        }
        // Lock files are never deleted: removing one while another process
        // waits on it would let two runs hold "the" lock at once.
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|err| storage("opening", err))?;
        file.lock().map_err(|err| storage("locking", err))?;
        Ok(Self { file, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for RequestLock {
    fn drop(&mut self) {
        // Closing the file releases the lock too; unlocking first is explicit.
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn holders_of_one_request_take_turns() {
        let dir = tempfile::tempdir().unwrap();
        let inside = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let root = dir.path().to_path_buf();
                let (inside, most) = (inside.clone(), most.clone());
                std::thread::spawn(move || {
                    let _lock = RequestLock::acquire(&root, "s3/REQ-1/").unwrap();
                    let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    inside.fetch_sub(1, Ordering::SeqCst);
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(most.load(Ordering::SeqCst), 1);
        // Another request is not held up by this one's lock.
        let _a = RequestLock::acquire(dir.path(), "s3/REQ-1/").unwrap();
        let _b = RequestLock::acquire(dir.path(), "s3/REQ-2/").unwrap();
    }
}
