//! The one stateful facade: a store plus the rules that turn evidence into state.
//!
//! Today the engine stores evidence idempotently under the access policy; mastery, streaks and
//! credentials hang off [`Engine::ingest`] as they land.

use serde::{Deserialize, Serialize};

use crate::access::AccessContext;
use crate::evidence::{Evidence, Rejection};
use crate::store::{Appended, Store};

/// What one `ingest` call did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IngestOutcome {
    /// Records stored for the first time.
    pub new: usize,
    /// Records whose idempotency key was already stored (they change nothing).
    pub duplicates: usize,
    /// Records refused (by the policy or the store), by their index in the batch.
    pub rejected: Vec<Rejection>,
}

/// Store + domain rules.
#[derive(Debug)]
pub struct Engine<S> {
    store: S,
}

impl<S: Store> Engine<S> {
    pub fn new(store: S) -> Self {
        Self { store }
    }

    /// The underlying store, for reads.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Stores each record once. A refused record is reported and the rest go on.
    pub fn ingest(&self, ctx: &AccessContext, batch: &[Evidence]) -> IngestOutcome {
        let mut outcome = IngestOutcome::default();
        for (index, evidence) in batch.iter().enumerate() {
            match self.store.append_evidence(ctx, evidence).map_err(Into::into) {
                Ok(Appended::New) => outcome.new += 1,
                Ok(Appended::Duplicate) => outcome.duplicates += 1,
                Err(error) => outcome.rejected.push(Rejection::new(index, &error)),
            }
        }
        outcome
    }
}
