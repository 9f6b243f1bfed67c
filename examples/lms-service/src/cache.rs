//! A read-model cache of rendered learner dashboards, per tenant × learner × course, dropped by
//! every ingest that touches the learner in that course (in this process).
//!
//! A read notes the entry's generation before it reads the store and caches its answer only if
//! no ingest bumped the generation meanwhile, so a dashboard computed from a state an ingest then
//! replaced is never kept. Access is checked before the cache is consulted.
#![warn(missing_docs)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use axum::body::Bytes;

/// Entries kept at most; past this, answers are not cached (never evicted: see the generations).
const MAX_ENTRIES: usize = 200_000;

type Key = (String, String, String);

/// Rendered dashboards and their generations.
#[derive(Debug, Default)]
pub struct DashboardCache {
    entries: Mutex<HashMap<Key, (u64, Option<Bytes>)>>,
    next: AtomicU64,
}

impl DashboardCache {
    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<Key, (u64, Option<Bytes>)>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The cached body, or the generation a fresh read must present to [`DashboardCache::put`].
    pub fn get(&self, tenant: &str, learner: &str, course: &str) -> Result<Bytes, u64> {
        let key = (tenant.to_owned(), learner.to_owned(), course.to_owned());
        match self.entries().get(&key) {
            Some((_, Some(body))) => Ok(body.clone()),
            Some((generation, None)) => Err(*generation),
            None => Err(0),
        }
    }

    /// Caches `body` read at `generation`, unless an ingest came in between.
    pub fn put(&self, tenant: &str, learner: &str, course: &str, generation: u64, body: Bytes) {
        let mut entries = self.entries();
        let key = (tenant.to_owned(), learner.to_owned(), course.to_owned());
        let room = entries.len() < MAX_ENTRIES;
        match entries.get_mut(&key) {
            Some(entry) if entry.0 == generation => entry.1 = Some(body),
            Some(_) => {}
            None if generation == 0 && room => {
                entries.insert(key, (0, Some(body)));
            }
            None => {}
        }
    }

    /// Drops the dashboards of these learners × courses (after their ingest committed).
    pub fn invalidate<'a>(&self, tenant: &str, keys: impl IntoIterator<Item = (&'a str, &'a str)>) {
        let mut entries = self.entries();
        for (learner, course) in keys {
            let generation = self.next.fetch_add(1, Ordering::Relaxed) + 1;
            entries.insert((tenant.to_owned(), learner.to_owned(), course.to_owned()), (generation, None));
        }
    }
}
