//! Embedded adapters for running on one machine: a directory as the object
//! store (atomic writes, attempts staged and published whole), a lock per
//! request, and one SQLite file holding the Security Control Library, the
//! service request tracking tables and the once-per-finding state of Security
//! Hub remediation notifications.

mod dir_store;
mod finding_state;
mod lock;
mod sqlite;

pub use dir_store::{DirStore, STAGING_DIR};
pub use lock::{LOCK_DIR, RequestLock};
pub use sqlite::SqliteDb;
