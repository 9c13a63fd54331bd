//! Embedded adapters for running on one machine: a directory as the object
//! store (atomic writes) and one SQLite file holding the Security Control
//! Library and the service request tracking tables.

mod dir_store;
mod sqlite;

pub use dir_store::DirStore;
pub use sqlite::SqliteDb;
