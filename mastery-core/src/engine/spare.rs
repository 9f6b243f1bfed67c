//! Vectors and tables an ingest batch fills and drops, kept emptied for the next batches.
//!
//! A batch's states (280 bytes each), the stored records it reads and the mastery records it
//! computes (176) and its keys (96) are its largest allocations, then the tables that number its
//! records. Allocated afresh per batch, they made the allocator hand the memory back to the system
//! after every batch and fault it in again for the next: about a third of the memory store's
//! ingest time, in the kernel.

use std::sync::Mutex;

/// How many containers a pool keeps (one per batch in flight is enough), and up to which capacity
/// (a huge batch's are not kept).
const KEPT: usize = 8;
const MAX_CAPACITY: usize = 16_384;

/// A container a pool can empty and measure.
pub(super) trait Emptied: Default {
    fn empty(&mut self);
    fn capacity(&self) -> usize;
    fn len(&self) -> usize;
    /// Whether emptying costs time in proportion to the capacity rather than the length.
    const CLEARED_BY_CAPACITY: bool;
}

impl<T> Emptied for Vec<T> {
    fn empty(&mut self) {
        self.clear();
    }
    fn capacity(&self) -> usize {
        Vec::capacity(self)
    }
    fn len(&self) -> usize {
        Vec::len(self)
    }
    const CLEARED_BY_CAPACITY: bool = false;
}

impl<T> Emptied for hashbrown::HashTable<T> {
    fn empty(&mut self) {
        self.clear();
    }
    fn capacity(&self) -> usize {
        hashbrown::HashTable::capacity(self)
    }
    fn len(&self) -> usize {
        hashbrown::HashTable::len(self)
    }
    const CLEARED_BY_CAPACITY: bool = true;
}

/// A table is cleared by resetting every bucket: one far larger than the batch that used it
/// (a small batch after a large one) is dropped rather than kept, or every later small batch
/// would pay for clearing it (a single-record ingest after batches of 10,000: 0.8 → 2.4 µs).
fn worth_keeping<C: Emptied>(c: &C) -> bool {
    c.capacity() <= MAX_CAPACITY && (!C::CLEARED_BY_CAPACITY || c.capacity() <= 4 * c.len().max(256))
}

/// A pool of emptied vectors (or tables).
pub(super) struct Spare<T, C = Vec<T>>(Mutex<Vec<C>>, std::marker::PhantomData<fn() -> T>);

/// A pool of emptied hash tables.
pub(super) type SpareTable<T> = Spare<T, hashbrown::HashTable<T>>;

impl<T, C> Default for Spare<T, C> {
    fn default() -> Self {
        Self(Mutex::new(Vec::new()), std::marker::PhantomData)
    }
}

impl<T, C: Emptied> Spare<T, C> {
    /// An empty container, with the capacity of an earlier batch's when one is kept.
    pub(super) fn take(&self) -> C {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).pop().unwrap_or_default()
    }

    /// Empties `c` and keeps it for a later batch (unless the pool is full, `c` is huge, or a
    /// table much larger than what it held).
    pub(super) fn keep(&self, mut c: C) {
        if !worth_keeping(&c) {
            return;
        }
        c.empty();
        let mut kept = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if kept.len() < KEPT {
            kept.push(c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(capacity: usize, len: usize) -> hashbrown::HashTable<u64> {
        let mut t = hashbrown::HashTable::with_capacity(capacity);
        for i in 0..len as u64 {
            t.insert_unique(i, i, |&v| v);
        }
        t
    }

    #[test]
    fn a_table_far_larger_than_its_batch_is_dropped_and_a_vector_is_kept() {
        let pool: SpareTable<u64> = Spare::default();
        // A single-record batch in the table of a batch of 10,000: dropped.
        pool.keep(table(10_000, 1));
        assert_eq!(pool.take().capacity(), 0);
        // A table about the size of its batch (or small anyway): kept, emptied.
        pool.keep(table(1_000, 1_000));
        let kept = pool.take();
        assert!(kept.capacity() >= 1_000 && kept.is_empty());
        pool.keep(table(200, 1));
        assert!(pool.take().capacity() >= 200);
        // Vectors are emptied in time proportional to their length: kept whatever they held.
        let vectors: Spare<u64> = Spare::default();
        let mut v = Vec::with_capacity(10_000);
        v.push(1);
        vectors.keep(v);
        assert_eq!(vectors.take().capacity(), 10_000);
    }
}
