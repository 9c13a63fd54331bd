//! Documents kept parsed between the stages of one process. The embedded
//! runner runs every stage of a request in one process, and the IAM and report
//! stages each parsed the documentation stage's file again (1.7 MB of JSON for
//! ec2, a twentieth of `--service all`). A document is kept under the sha256
//! of the bytes written to the store and its type, so what a reader gets back
//! is exactly what the bytes it read say, whichever run or store wrote them;
//! on AWS, where each stage is its own invocation, nothing is found and the
//! reader parses as before.

use sha2::{Digest, Sha256};
use std::any::{Any, TypeId};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// How many documents are kept: the runs in flight at once on a small
/// machine (two per core); the oldest goes first. A miss only costs a parse.
const KEEP: usize = 8;

type Entry = ([u8; 32], TypeId, Arc<dyn Any + Send + Sync>);

/// The newest documents, at most [`KEEP`].
struct Kept(VecDeque<Entry>);

impl Kept {
    fn insert<T: Any + Send + Sync>(&mut self, digest: [u8; 32], value: Arc<T>) {
        let type_id = TypeId::of::<T>();
        self.0.retain(|(d, t, _)| !(*d == digest && *t == type_id));
        if self.0.len() == KEEP {
            self.0.pop_front();
        }
        self.0.push_back((digest, type_id, value));
    }

    fn find<T: Any + Send + Sync>(&self, digest: &[u8; 32]) -> Option<Arc<T>> {
        let (_, _, value) = self
            .0
            .iter()
            .find(|(d, t, _)| d == digest && *t == TypeId::of::<T>())?;
        value.clone().downcast::<T>().ok()
    }
}

static KEPT: Mutex<Kept> = Mutex::new(Kept(VecDeque::new()));

/// The digest documents are kept under.
pub fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Keep `value`, the parsed form of bytes with sha256 `digest`.
pub fn keep<T: Any + Send + Sync>(digest: [u8; 32], value: Arc<T>) {
    // A poisoned lock only means another thread panicked mid-update; the
    // cache is then skipped, never trusted half-written.
    if let Ok(mut kept) = KEPT.lock() {
        kept.insert(digest, value);
    }
}

/// The kept value of type `T` for bytes with sha256 `digest`, if any.
pub fn kept<T: Any + Send + Sync>(digest: &[u8; 32]) -> Option<Arc<T>> {
    KEPT.lock().ok()?.find(digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_found_by_its_bytes_and_type_only() {
        let mut kept = Kept(VecDeque::new());
        let bytes = br#"{"kept": "a value"}"#;
        kept.insert(digest(bytes), Arc::new(String::from("parsed")));
        assert_eq!(
            kept.find::<String>(&digest(bytes))
                .as_deref()
                .map(String::as_str),
            Some("parsed")
        );
        // Other bytes, or another type for the same bytes: not found.
        assert!(kept.find::<String>(&digest(b"other bytes")).is_none());
        assert!(kept.find::<u32>(&digest(bytes)).is_none());
    }

    #[test]
    fn only_the_newest_are_kept() {
        let mut kept = Kept(VecDeque::new());
        let first = digest(b"the first document");
        kept.insert(first, Arc::new(0_usize));
        for index in 1..KEEP {
            kept.insert(
                digest(format!("document {index}").as_bytes()),
                Arc::new(index),
            );
        }
        assert_eq!(kept.find::<usize>(&first).as_deref(), Some(&0));
        kept.insert(digest(b"one more"), Arc::new(KEEP));
        assert!(kept.find::<usize>(&first).is_none());
        assert_eq!(kept.0.len(), KEEP);
    }
}
