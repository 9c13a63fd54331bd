//! Documents kept parsed between the stages of one process. The embedded
//! runner runs every stage of a request in one process, and the IAM and report
//! stages each parsed the documentation stage's file again (1.7 MB of JSON for
//! ec2, a twentieth of `--service all`). A document is kept with the bytes
//! written to the store and found by its type and those exact bytes, so what
//! a reader gets back is what the bytes it read say, whichever run or store
//! wrote them; on AWS, where each stage is its own invocation, nothing is
//! found and the reader parses as before.

use std::any::{Any, TypeId};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// How many documents are kept: the runs in flight at once on a small
/// machine (two per core); the oldest goes first. A miss only costs a parse.
const KEEP: usize = 8;

type Entry = (Vec<u8>, TypeId, Arc<dyn Any + Send + Sync>);

/// The newest documents, at most [`KEEP`].
struct Kept(VecDeque<Entry>);

impl Kept {
    fn insert<T: Any + Send + Sync>(&mut self, bytes: Vec<u8>, value: Arc<T>) -> Option<Entry> {
        let type_id = TypeId::of::<T>();
        self.0.retain(|(b, t, _)| !(*t == type_id && *b == bytes));
        let evicted = if self.0.len() == KEEP {
            self.0.pop_front()
        } else {
            None
        };
        self.0.push_back((bytes, type_id, value));
        evicted
    }

    fn find<T: Any + Send + Sync>(&self, bytes: &[u8]) -> Option<Arc<T>> {
        // Comparing the bytes (a memcmp) costs a tenth of hashing them.
        let (_, _, value) = self
            .0
            .iter()
            .find(|(b, t, _)| *t == TypeId::of::<T>() && b.as_slice() == bytes)?;
        value.clone().downcast::<T>().ok()
    }
}

static KEPT: Mutex<Kept> = Mutex::new(Kept(VecDeque::new()));

/// Keep `value`, the parsed form of `bytes`.
pub fn keep<T: Any + Send + Sync>(bytes: Vec<u8>, value: Arc<T>) {
    // A poisoned lock only means another thread panicked mid-update; the
    // cache is then skipped, never trusted half-written.
    let evicted = match KEPT.lock() {
        Ok(mut kept) => kept.insert(bytes, value),
        Err(_) => return,
    };
    // Freed outside the lock.
    drop(evicted);
}

/// The kept value of type `T` parsed from exactly `bytes`, if any.
pub fn kept<T: Any + Send + Sync>(bytes: &[u8]) -> Option<Arc<T>> {
    KEPT.lock().ok()?.find(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_found_by_its_bytes_and_type_only() {
        let mut kept = Kept(VecDeque::new());
        let bytes = br#"{"kept": "a value"}"#;
        kept.insert(bytes.to_vec(), Arc::new(String::from("parsed")));
        assert_eq!(
            kept.find::<String>(bytes).as_deref().map(String::as_str),
            Some("parsed")
        );
        // Other bytes (of the same length too), or another type for the same
        // bytes: not found.
        assert!(kept.find::<String>(br#"{"kept": "b value"}"#).is_none());
        assert!(kept.find::<String>(b"other bytes").is_none());
        assert!(kept.find::<u32>(bytes).is_none());
    }

    #[test]
    fn only_the_newest_are_kept() {
        let mut kept = Kept(VecDeque::new());
        let first = b"the first document";
        kept.insert(first.to_vec(), Arc::new(0_usize));
        for index in 1..KEEP {
            kept.insert(format!("document {index}").into_bytes(), Arc::new(index));
        }
        assert_eq!(kept.find::<usize>(first).as_deref(), Some(&0));
        let evicted = kept.insert(b"one more".to_vec(), Arc::new(KEEP));
        assert!(evicted.is_some());
        assert!(kept.find::<usize>(first).is_none());
        assert_eq!(kept.0.len(), KEEP);
    }
}
