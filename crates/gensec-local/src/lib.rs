//! Embedded adapters for running on one machine: a directory as the object
//! store (atomic writes, attempts staged and published whole), a lock per
//! request, and one SQLite file holding the Security Control Library, the
//! service request tracking tables and the once-per-finding state of Security
//! Hub remediation notifications. The SQLite file may be shared by several
//! processes at once.

mod dir_store;
mod finding_state;
mod lock;
mod process;
mod sqlite;

pub use dir_store::{DirStore, STAGING_DIR};
pub use lock::{LOCK_DIR, RequestLock};
pub use process::{liveness, this_process};
pub use sqlite::{BUSY_TIMEOUT, SqliteDb};
