//! Vectors an ingest batch fills and drops, kept emptied for the next batches.
//!
//! A batch's states (280 bytes each), mastery records (176) and keys (96) are its largest allocations.
//! Allocated afresh per batch, they made the allocator hand the memory back to the system after
//! every batch and fault it in again for the next: about a third of the memory store's ingest
//! time, in the kernel.

use std::sync::Mutex;

/// How many vectors a pool keeps (one per batch in flight is enough), and up to which capacity
/// (a huge batch's vectors are not kept).
const KEPT: usize = 8;
const MAX_CAPACITY: usize = 16_384;

/// A pool of emptied vectors.
pub(super) struct Spare<T>(Mutex<Vec<Vec<T>>>);

impl<T> Default for Spare<T> {
    fn default() -> Self {
        Self(Mutex::new(Vec::new()))
    }
}

impl<T> Spare<T> {
    /// An empty vector, with the capacity of an earlier batch's when one is kept.
    pub(super) fn take(&self) -> Vec<T> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).pop().unwrap_or_default()
    }

    /// Empties `v` and keeps it for a later batch (unless the pool is full or `v` is huge).
    pub(super) fn keep(&self, mut v: Vec<T>) {
        v.clear();
        let mut kept = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if kept.len() < KEPT && v.capacity() <= MAX_CAPACITY {
            kept.push(v);
        }
    }
}
