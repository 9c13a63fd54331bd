//! Embedded adapters for running on one machine: a directory as the object
//! store (atomic writes) and one SQLite file holding the Security Control
//! Library, the service request tracking tables and the once-per-finding
//! state of Security Hub remediation notifications.

mod dir_store;
mod finding_state;
mod sqlite;

pub use dir_store::DirStore;
pub use sqlite::SqliteDb;
