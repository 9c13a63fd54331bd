//! A directory as an object store. A put outside `.staging/` writes a
//! temporary file in the target directory and renames it into place, so
//! readers never see half a file. An attempt writes under `.staging/`, which
//! only the attempt itself reads, each file after its put returned; so a
//! staged put writes the file in place (the temporary file and rename were a
//! fortieth of `--service all`), and a crash mid-write leaves a staging area
//! that is discarded, never published. Publishing renames the staging
//! directory onto the package's (exchanging the two atomically when a package
//! exists), so readers see the old package or the new one, never a mix.
//!
//! Durability: a file put outside `.staging/` is synced before it is renamed
//! into place. Files put under `.staging/` are not synced one by one (a sync
//! per file was most of `--service all`'s time): publishing syncs the whole
//! staging tree at once (files and directories, concurrently, so the file
//! system commits them together), then renames it and syncs the directory
//! holding the package. Publishing returns only once the package is on disk,
//! so a package recorded as done afterwards is never half there after a crash.

use async_trait::async_trait;
use gensec_core::ports::ObjectStore;
use gensec_core::{Error, InputError, Result};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

#[derive(Debug, Clone)]
pub struct DirStore {
    root: PathBuf,
}

impl DirStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file a key maps to; keys may not escape the root.
    fn path_of(&self, key: &str) -> Result<PathBuf> {
        let relative = Path::new(key);
        let safe = !key.is_empty()
            && relative
                .components()
                .all(|component| matches!(component, Component::Normal(_)));
        if !safe {
            return Err(InputError::new(
                "object key",
                "$",
                format!("{key:?} is not a relative path of plain names"),
            )
            .into());
        }
        Ok(self.root.join(relative))
    }
}

fn io_error(what: String, err: std::io::Error) -> Error {
    let retryable = matches!(
        err.kind(),
        std::io::ErrorKind::Interrupted
            | std::io::ErrorKind::WouldBlock
            | std::io::ErrorKind::TimedOut
    );
    Error::storage(what, retryable, err)
}

fn collect_files(dir: &Path, root: &Path, out: &mut Vec<String>) -> std::io::Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(err) => return Err(err),
    };
    for entry in entries {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            collect_files(&path, root, out)?;
        } else if let Ok(relative) = path.strip_prefix(root) {
            let key = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            // Temporary files of writes in progress are not objects.
            if !key
                .rsplit('/')
                .next()
                .is_some_and(|name| name.starts_with(".tmp"))
            {
                out.push(key);
            }
        }
    }
    Ok(())
}

#[async_trait]
impl ObjectStore for DirStore {
    async fn put(&self, key: &str, body: Vec<u8>, _content_type: &str) -> Result<()> {
        let path = self.path_of(key)?;
        let parent = path.parent().unwrap_or(&self.root).to_path_buf();
        // A staging file is written in place and synced when its attempt is
        // published.
        let staged = key
            .strip_prefix(STAGING_DIR)
            .is_some_and(|rest| rest.starts_with('/'));
        if staged {
            let mut file = match std::fs::File::create(&path) {
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                    std::fs::create_dir_all(&parent)
                        .map_err(|err| io_error(format!("creating {}", parent.display()), err))?;
                    std::fs::File::create(&path)
                }
                made => made,
            }
            .map_err(|err| io_error(format!("creating {}", path.display()), err))?;
            return file
                .write_all(&body)
                .map_err(|err| io_error(format!("writing {}", path.display()), err));
        }
        // 0666 before the umask, like any file a program creates.
        let mut builder = tempfile::Builder::new();
        builder
            .prefix(".tmp")
            .permissions(std::fs::Permissions::from_mode(0o666));
        // The directory is made only when it is missing: most puts go to a
        // directory an earlier put made, and asking first cost two system
        // calls per file.
        let mut temp = match builder.tempfile_in(&parent) {
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(&parent)
                    .map_err(|err| io_error(format!("creating {}", parent.display()), err))?;
                builder.tempfile_in(&parent)
            }
            made => made,
        }
        .map_err(|err| {
            io_error(
                format!("creating a temporary file in {}", parent.display()),
                err,
            )
        })?;
        temp.write_all(&body)
            .and_then(|()| temp.as_file().sync_all())
            .map_err(|err| io_error(format!("writing {}", path.display()), err))?;
        temp.persist(&path)
            .map_err(|err| io_error(format!("renaming into {}", path.display()), err.error))?;
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let path = self.path_of(key)?;
        match std::fs::read(&path) {
            Ok(body) => Ok(Some(body)),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(io_error(format!("reading {}", path.display()), err)),
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>> {
        // Walk only the directory part of the prefix.
        let dir_part = prefix.rsplit_once('/').map_or("", |(dir, _)| dir);
        let start = if dir_part.is_empty() {
            self.root.clone()
        } else {
            self.path_of(dir_part)?
        };
        let mut keys = Vec::new();
        collect_files(&start, &self.root, &mut keys)
            .map_err(|err| io_error(format!("listing {}", start.display()), err))?;
        keys.retain(|key| key.starts_with(prefix));
        keys.sort();
        Ok(keys)
    }

    fn locate(&self, key: &str) -> String {
        self.root.join(key).display().to_string()
    }

    fn staging_prefix(&self, package_prefix: &str, token: &str) -> String {
        format!("{STAGING_DIR}/{package_prefix}{token}/")
    }

    async fn publish(&self, staging_prefix: &str, package_prefix: &str) -> Result<String> {
        let from = self.path_of(staging_prefix.trim_end_matches('/'))?;
        let to = self.path_of(package_prefix.trim_end_matches('/'))?;
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|err| io_error(format!("creating {}", parent.display()), err))?;
        }
        sync_tree(&from)
            .await
            .map_err(|err| io_error(format!("syncing {}", from.display()), err))?;
        match std::fs::rename(&from, &to) {
            Ok(()) => {}
            // A package is there already: swap the two, then remove the old one.
            Err(_) if to.is_dir() => {
                exchange(&from, &to).map_err(|err| {
                    io_error(
                        format!("replacing {} with {}", to.display(), from.display()),
                        err,
                    )
                })?;
                std::fs::remove_dir_all(&from).map_err(|err| {
                    io_error(
                        format!("removing the replaced package {}", from.display()),
                        err,
                    )
                })?;
            }
            Err(err) => {
                return Err(io_error(
                    format!("publishing {} as {}", from.display(), to.display()),
                    err,
                ));
            }
        }
        // The rename itself is on disk once the package's directory is.
        if let Some(parent) = to.parent() {
            sync_path(parent)
                .map_err(|err| io_error(format!("syncing {}", parent.display()), err))?;
        }
        self.prune_staging(&from);
        Ok(package_prefix.to_string())
    }

    async fn discard(&self, staging_prefix: &str) -> Result<()> {
        let dir = self.path_of(staging_prefix.trim_end_matches('/'))?;
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => {}
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => return Err(io_error(format!("removing {}", dir.display()), err)),
        }
        self.prune_staging(&dir);
        Ok(())
    }
}

/// Where attempts write before they are published, under the root.
pub const STAGING_DIR: &str = ".staging";

impl DirStore {
    /// Remove the empty directories a staging area leaves behind, up to the root.
    fn prune_staging(&self, staging_dir: &Path) {
        let top = self.root.join(STAGING_DIR);
        let mut dir = staging_dir.parent();
        while let Some(current) = dir {
            if !current.starts_with(&top) || std::fs::remove_dir(current).is_err() {
                break;
            }
            dir = current.parent();
        }
    }
}

/// How many syncs run at once when a staging tree is published.
const SYNC_THREADS: usize = 8;

/// Sync every file and directory under `dir` (and `dir` itself). The syncs
/// run on a few threads at once: the file system then commits them together
/// instead of one journal commit per file. The threads are the runtime's
/// blocking pool, kept between packages (`--service all` publishes hundreds);
/// outside a runtime the syncs run one by one.
async fn sync_tree(dir: &Path) -> std::io::Result<()> {
    let mut paths = vec![dir.to_path_buf()];
    // The directories still to list; an entry's type comes with its
    // listing, so no path is looked up twice.
    let mut directories = vec![dir.to_path_buf()];
    while let Some(current) = directories.pop() {
        for entry in std::fs::read_dir(&current)? {
            let entry = entry?;
            let path = entry.path();
            if entry.file_type()?.is_dir() {
                directories.push(path.clone());
            }
            paths.push(path);
        }
    }
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return paths.iter().try_for_each(|path| sync_path(path));
    };
    let chunk = paths.len().div_ceil(SYNC_THREADS).max(1);
    let tasks: Vec<_> = paths
        .chunks(chunk)
        .map(|chunk| {
            let chunk = chunk.to_vec();
            runtime.spawn_blocking(move || chunk.iter().try_for_each(|path| sync_path(path)))
        })
        .collect();
    for task in tasks {
        task.await
            .map_err(|_| std::io::Error::other("a sync thread panicked"))??;
    }
    Ok(())
}

/// Sync one file or directory (a directory opened read-only, as Linux allows).
fn sync_path(path: &Path) -> std::io::Result<()> {
    std::fs::File::open(path)?.sync_all()
}

/// Exchange two directories atomically (Linux `renameat2` with
/// `RENAME_EXCHANGE`); elsewhere, or on file systems without it, two renames.
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{CWD, RenameFlags, renameat_with};
        match renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE) {
            Ok(()) => return Ok(()),
            Err(err) if err != rustix::io::Errno::INVAL && err != rustix::io::Errno::NOSYS => {
                return Err(err.into());
            }
            Err(_) => {}
        }
    }
    let aside = b.with_extension("replaced");
    std::fs::rename(b, &aside)?;
    std::fs::rename(a, b)?;
    std::fs::rename(&aside, a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn keeps_the_port_contract() {
        let dir = tempfile::tempdir().unwrap();
        gensec_core::conformance::object_store(&DirStore::new(dir.path())).await;
        gensec_core::conformance::publishing(&DirStore::new(dir.path())).await;
        // Nothing of the attempts is left behind.
        assert!(!dir.path().join(STAGING_DIR).exists());
    }

    #[tokio::test]
    async fn files_follow_the_umask() {
        let dir = tempfile::tempdir().unwrap();
        let store = DirStore::new(dir.path());
        store
            .put("a/b.json", b"{}".to_vec(), "application/json")
            .await
            .unwrap();
        let mode = std::fs::metadata(dir.path().join("a/b.json"))
            .unwrap()
            .permissions()
            .mode();
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let umask = status
            .lines()
            .find_map(|line| line.strip_prefix("Umask:"))
            .map(|value| u32::from_str_radix(value.trim(), 8).unwrap())
            .unwrap();
        assert_eq!(
            mode & 0o777,
            0o666 & !umask,
            "mode {mode:o}, umask {umask:o}"
        );
    }

    #[tokio::test]
    async fn round_trips_lists_and_refuses_escapes() {
        let dir = tempfile::tempdir().unwrap();
        let store = DirStore::new(dir.path());
        store
            .put("s3/REQ-1/a.json", b"{}".to_vec(), "application/json")
            .await
            .unwrap();
        store
            .put("s3/REQ-1/sub/b.txt", b"b".to_vec(), "text/plain")
            .await
            .unwrap();
        store
            .put("s3/REQ-10/c.txt", b"c".to_vec(), "text/plain")
            .await
            .unwrap();
        assert_eq!(store.get("s3/REQ-1/a.json").await.unwrap().unwrap(), b"{}");
        assert_eq!(store.get("s3/REQ-1/missing").await.unwrap(), None);
        assert_eq!(
            store.list("s3/REQ-1/").await.unwrap(),
            vec!["s3/REQ-1/a.json", "s3/REQ-1/sub/b.txt"]
        );
        assert_eq!(
            store.list("nothing/here/").await.unwrap(),
            Vec::<String>::new()
        );
        for bad in ["../x", "/etc/passwd", "a/../../b", ""] {
            assert!(store.put(bad, vec![], "text/plain").await.is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn overwrites_atomically_without_leftovers() {
        let dir = tempfile::tempdir().unwrap();
        let store = DirStore::new(dir.path());
        store
            .put("k/x.json", b"one".to_vec(), "application/json")
            .await
            .unwrap();
        store
            .put("k/x.json", b"two".to_vec(), "application/json")
            .await
            .unwrap();
        assert_eq!(store.get("k/x.json").await.unwrap().unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(dir.path().join("k")).unwrap().collect();
        assert_eq!(names.len(), 1);
    }
}
