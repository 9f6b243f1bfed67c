//! The engine over an async store (tokio-postgres, sqlx, IndexedDB through JS promises, ...):
//! no call blocks the executor, and nothing needs a runtime of its own.
//!
//! [`AsyncEngine`] shares the synchronous engine's logic instead of repeating it. Each call runs
//! the synchronous code over a *snapshot*: a [`Store`] that answers from what was fetched so far
//! and notes what it lacks. The async side fetches what was noted (one round trip per kind of
//! read, all the batch's keys at once) and runs the code again, until it needs nothing more;
//! then it writes. An ingest batch typically runs its computation two or three times (the
//! stored records, then late evidence or the award rules' reads), which costs CPU, never a
//! blocked thread. Ingests for one learner are serialised by async locks (held across the
//! awaits), so concurrent tasks lose nothing, as threads do not with [`Engine`].
#![warn(missing_docs)]

use std::cell::RefCell;
use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::future::Future;

use super::{admit, refuse_on_error, Computed, Done, Engine, IngestOutcome, LEARNER_LOCKS};
use crate::access::AccessContext;
use crate::error::{MasteryError, Result};
use crate::evidence::Evidence;
use crate::ids::{CourseId, UserId};
use crate::store::{Appended, StateKey, StateValue, Store};

/// The storage a host provides through an async driver: the reads and writes the engine makes,
/// as futures. The contract is [`Store`]'s (the engine checks the access policy before every
/// call; `apply` is atomic and names stored duplicates).
pub trait AsyncStore: Send + Sync {
    /// The backend's error; it must say what it means in library terms.
    type Error: Into<MasteryError> + std::fmt::Debug;

    /// One answer per key, in order.
    fn get_states(
        &self,
        ctx: &AccessContext,
        keys: &[StateKey],
    ) -> impl Future<Output = std::result::Result<Vec<Option<StateValue>>, Self::Error>> + Send;

    /// One learner's evidence in the order it was appended.
    fn learner_evidence(
        &self,
        ctx: &AccessContext,
        learner: &UserId,
    ) -> impl Future<Output = std::result::Result<Vec<Evidence>, Self::Error>> + Send;

    /// One learner's state records of one namespace, in key order.
    fn learner_states(
        &self,
        ctx: &AccessContext,
        learner: &UserId,
        namespace: &str,
    ) -> impl Future<Output = std::result::Result<Vec<(StateKey, StateValue)>, Self::Error>> + Send;

    /// A course's state records of one namespace, for every learner.
    fn course_states(
        &self,
        ctx: &AccessContext,
        course: &CourseId,
        namespace: &str,
    ) -> impl Future<Output = std::result::Result<Vec<(StateKey, StateValue)>, Self::Error>> + Send;

    /// [`Store::apply`]: the batch's evidence and states as one commit, or nothing and the
    /// duplicates named.
    fn apply(
        &self,
        ctx: &AccessContext,
        evidence: &[&Evidence],
        states: &[(StateKey, StateValue)],
    ) -> impl Future<Output = std::result::Result<Vec<Appended>, Self::Error>> + Send;

    /// Writes derived state (last write wins).
    fn put_state(
        &self,
        ctx: &AccessContext,
        key: &StateKey,
        value: &StateValue,
    ) -> impl Future<Output = std::result::Result<(), Self::Error>> + Send;
}

/// The methods of [`AsyncStore`] by name: what a store written in JS (returning promises) must
/// provide.
pub const ASYNC_STORE_METHODS: [&str; 6] =
    ["get_states", "learner_evidence", "learner_states", "course_states", "apply", "put_state"];

/// A read the snapshot could not answer.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Need {
    State(StateKey),
    LearnerEvidence(UserId),
    LearnerStates(UserId, String),
    CourseStates(CourseId, String),
}

/// What one call has fetched, what it still needs, and the one write it may make.
#[derive(Default)]
struct Snapshot {
    states: HashMap<StateKey, Option<StateValue>>,
    learner_evidence: HashMap<UserId, Vec<Evidence>>,
    learner_states: HashMap<(UserId, String), Vec<(StateKey, StateValue)>>,
    course_states: HashMap<(CourseId, String), Vec<(StateKey, StateValue)>>,
    needs: Vec<Need>,
    /// The one write the code asked for, and whether the async side has made it.
    write: Option<Write>,
    written: bool,
}

/// A write a snapshot call asks for: one state, or a commit of states without evidence.
#[derive(Debug, Clone, PartialEq)]
enum Write {
    Put(Box<(StateKey, StateValue)>),
    States(Vec<(StateKey, StateValue)>),
}

impl Snapshot {
    /// Notes `write` on the first run (the call is then run again once it is made); on the
    /// run after, the same write has been made.
    fn write(&mut self, write: Write) -> Result<()> {
        match &self.write {
            Some(made) if self.written && *made == write => Ok(()),
            Some(_) => Err(MasteryError::Internal { reason: "an async engine call wrote twice".into() }),
            None => {
                self.write = Some(write);
                Err(missing())
            }
        }
    }
}

thread_local! {
    /// The snapshot of the call running on this thread. It is installed only for a synchronous
    /// stretch (no await inside), so a multi-threaded executor cannot move a task in between.
    static SNAPSHOT: RefCell<Option<Snapshot>> = const { RefCell::new(None) };
}

/// The error a snapshot read returns when it lacks the data (the call is then run again).
fn missing() -> MasteryError {
    MasteryError::Store { reason: "not fetched yet".into() }
}

fn with_snapshot<T>(f: impl FnOnce(&mut Snapshot) -> Result<T>) -> Result<T> {
    SNAPSHOT.with(|s| match s.borrow_mut().as_mut() {
        Some(snapshot) => f(snapshot),
        None => Err(MasteryError::Internal { reason: "a snapshot read outside an async engine call".into() }),
    })
}

/// The synchronous engine's store inside an [`AsyncEngine`]: it answers from the call's snapshot.
#[derive(Debug, Default)]
pub struct SnapshotStore;

impl Store for SnapshotStore {
    type Error = MasteryError;

    fn append_evidence(&self, _: &AccessContext, _: &Evidence) -> Result<Appended> {
        Err(MasteryError::Internal { reason: "the async engine appends through apply".into() })
    }

    /// States without evidence (`Engine::record_risk`'s commit) are one write of the call;
    /// ingest batches the async engine applies itself.
    fn apply(
        &self,
        _: &AccessContext,
        evidence: &[&Evidence],
        states: &[(StateKey, StateValue)],
    ) -> Result<Vec<Appended>> {
        if !evidence.is_empty() {
            return Err(MasteryError::Internal { reason: "the async engine applies batches itself".into() });
        }
        with_snapshot(|s| s.write(Write::States(states.to_vec()))).map(|()| Vec::new())
    }

    fn known_evidence(&self, _: &AccessContext, _: &[&Evidence]) -> Result<Vec<bool>> {
        Err(MasteryError::Internal { reason: "the async engine has no known_evidence".into() })
    }

    fn learner_evidence(&self, _: &AccessContext, learner: &UserId) -> Result<Vec<Evidence>> {
        with_snapshot(|s| match s.learner_evidence.get(learner) {
            Some(found) => Ok(found.clone()),
            None => {
                s.needs.push(Need::LearnerEvidence(learner.clone()));
                Err(missing())
            }
        })
    }

    fn course_evidence(&self, _: &AccessContext, _: &CourseId) -> Result<Vec<Evidence>> {
        Err(MasteryError::Internal { reason: "the async engine reads no course evidence".into() })
    }

    fn get_state(&self, ctx: &AccessContext, key: &StateKey) -> Result<Option<StateValue>> {
        Ok(self.get_states(ctx, std::slice::from_ref(key))?.pop().flatten())
    }

    fn get_states(&self, _: &AccessContext, keys: &[StateKey]) -> Result<Vec<Option<StateValue>>> {
        with_snapshot(|s| {
            let lacking: Vec<Need> =
                keys.iter().filter(|k| !s.states.contains_key(*k)).map(|k| Need::State(k.clone())).collect();
            if !lacking.is_empty() {
                s.needs.extend(lacking);
                return Err(missing());
            }
            Ok(keys.iter().map(|k| s.states[k].clone()).collect())
        })
    }

    fn put_state(&self, _: &AccessContext, key: &StateKey, value: &StateValue) -> Result<()> {
        with_snapshot(|s| s.write(Write::Put(Box::new((key.clone(), value.clone())))))
    }

    fn learner_states(
        &self,
        _: &AccessContext,
        learner: &UserId,
        namespace: &str,
    ) -> Result<Vec<(StateKey, StateValue)>> {
        with_snapshot(|s| match s.learner_states.get(&(learner.clone(), namespace.to_owned())) {
            Some(found) => Ok(found.clone()),
            None => {
                s.needs.push(Need::LearnerStates(learner.clone(), namespace.to_owned()));
                Err(missing())
            }
        })
    }

    fn course_states(
        &self,
        _: &AccessContext,
        course: &CourseId,
        namespace: &str,
    ) -> Result<Vec<(StateKey, StateValue)>> {
        with_snapshot(|s| match s.course_states.get(&(course.clone(), namespace.to_owned())) {
            Some(found) => Ok(found.clone()),
            None => {
                s.needs.push(Need::CourseStates(course.clone(), namespace.to_owned()));
                Err(missing())
            }
        })
    }
}

/// Runs `f` with `snapshot` installed on this thread, and takes it back.
fn run_on<T>(snapshot: Snapshot, f: impl FnOnce() -> T) -> (T, Snapshot) {
    SNAPSHOT.with(|s| *s.borrow_mut() = Some(snapshot));
    let out = f();
    let snapshot = SNAPSHOT.with(|s| s.borrow_mut().take()).unwrap_or_default();
    (out, snapshot)
}

/// The engine over an [`AsyncStore`]: the synchronous engine's rules (mastery, streaks, awards,
/// risk features) and reads, as futures.
pub struct AsyncEngine<S> {
    rules: Engine<SnapshotStore>,
    store: S,
    learner_locks: Vec<async_lock::Mutex<()>>,
}

impl<S> std::fmt::Debug for AsyncEngine<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncEngine").finish_non_exhaustive()
    }
}

impl<S: AsyncStore> AsyncEngine<S> {
    /// `rules` is an engine built as usual over [`SnapshotStore`] (with a config, streaks,
    /// awards, a framework, a risk model); `store` is the host's async store.
    pub fn new(rules: Engine<SnapshotStore>, store: S) -> Self {
        Self { rules, store, learner_locks: (0..LEARNER_LOCKS).map(|_| async_lock::Mutex::new(())).collect() }
    }

    /// The host's store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The host's store, back.
    pub fn into_store(self) -> S {
        self.store
    }

    /// The synchronous engine's rules and configuration.
    pub fn rules(&self) -> &Engine<SnapshotStore> {
        &self.rules
    }

    /// [`Engine::ingest`], without blocking: the same outcome for the same batch.
    pub async fn ingest(&self, ctx: &AccessContext, batch: &[Evidence]) -> IngestOutcome {
        let mut outcome = IngestOutcome::default();
        let mut admitted = admit(ctx, batch, &mut outcome);
        let hashes = self.rules.learner_hashes(batch);
        let mut guards = Vec::new();
        for s in self.rules.stripes(&hashes, &admitted) {
            guards.push(self.learner_locks[s].lock().await);
        }
        self.rules.drop_repeats(batch, &hashes, &mut admitted, &mut outcome);
        let result = self.commit(ctx, batch, &hashes, admitted.clone(), &mut outcome).await;
        refuse_on_error(result, &admitted, &mut outcome);
        drop(guards);
        self.rules.spare_hashes.keep(hashes);
        outcome
    }

    /// [`Engine::ingest_rows`], without blocking: records read from the host's objects, each with
    /// its index in what the host sent, beside those refused while reading them.
    pub async fn ingest_rows(
        &self,
        ctx: &AccessContext,
        rows: Vec<(usize, Evidence)>,
        refused: Vec<crate::evidence::Rejection>,
    ) -> IngestOutcome {
        let (index, batch): (Vec<usize>, Vec<Evidence>) = rows.into_iter().unzip();
        let mut outcome = self.ingest(ctx, &batch).await;
        outcome.rejected.iter_mut().for_each(|r| r.index = index[r.index]);
        outcome.rejected.extend(refused);
        outcome.rejected.sort_by_key(|r| r.index);
        outcome
    }

    /// The synchronous engine's `commit`, with the reads fetched between runs of the computation.
    async fn commit(
        &self,
        ctx: &AccessContext,
        batch: &[Evidence],
        hashes: &[u64],
        mut admitted: Vec<usize>,
        outcome: &mut IngestOutcome,
    ) -> Result<()> {
        let mut refused = Vec::new();
        for _attempt in 0..4 {
            let Computed { states, changes, changed, refused: refusals, awarded } =
                self.fetching(ctx, |rules| rules.compute(ctx, batch, hashes, &admitted)).await?;
            admitted.retain(|i| !refusals.iter().any(|(r, _)| r == i));
            refused.extend(refusals);
            if admitted.is_empty() && states.is_empty() {
                // Nothing left to store (every record refused): no write.
                self.rules.settle(Vec::new(), &mut admitted, &refused, Done { changes, changed, awarded }, outcome);
                return Ok(());
            }
            let refs: Vec<&Evidence> = admitted.iter().map(|&i| &batch[i]).collect();
            let flags = self.store.apply(ctx, &refs, &states).await.map_err(Into::into)?;
            if self.rules.settle(flags, &mut admitted, &refused, Done { changes, changed, awarded }, outcome) {
                return Ok(());
            }
        }
        Err(MasteryError::Store { reason: "the batch kept conflicting with another writer".into() })
    }

    /// Any read of the synchronous engine, without blocking: `read` runs over a snapshot until it
    /// needs nothing more. `engine.read(|e| e.class_dashboard(&ctx, &course, at, &options)).await`.
    pub async fn read<T>(&self, ctx: &AccessContext, read: impl Fn(&Engine<SnapshotStore>) -> Result<T>) -> Result<T> {
        self.fetching(ctx, read).await
    }

    /// [`Engine::acknowledge_awards`], without blocking (serialised with the learner's ingests).
    pub async fn acknowledge_awards(
        &self,
        ctx: &AccessContext,
        learner: &UserId,
        course: Option<&CourseId>,
        credential_ids: &[String],
    ) -> Result<usize> {
        let _guard = self.learner_locks[self.rules.stripe_of(learner)].lock().await;
        self.writing(ctx, |rules| rules.acknowledge_awards(ctx, learner, course, credential_ids)).await
    }

    /// [`Engine::revoke_award`], without blocking (serialised with the learner's ingests).
    pub async fn revoke_award(
        &self,
        ctx: &AccessContext,
        learner: &UserId,
        course: Option<&CourseId>,
        achievement: &str,
        reason: &str,
    ) -> Result<usize> {
        let _guard = self.learner_locks[self.rules.stripe_of(learner)].lock().await;
        self.writing(ctx, |rules| rules.revoke_award(ctx, learner, course, achievement, reason)).await
    }

    /// Runs `f` over a snapshot, fetching what it lacked, until it answers without lacking
    /// anything; then its answer (or error) is the call's.
    async fn fetching<T>(&self, ctx: &AccessContext, f: impl Fn(&Engine<SnapshotStore>) -> Result<T>) -> Result<T> {
        let mut snapshot = Snapshot::default();
        loop {
            let (out, mut back) = run_on(snapshot, || f(&self.rules));
            if back.needs.is_empty() {
                return out;
            }
            self.fetch(ctx, &mut back).await?;
            snapshot = back;
        }
    }

    /// [`Engine::record_risk`], without blocking: the class scored, each learner's band and
    /// score written in one `apply` of states.
    pub async fn record_risk(
        &self,
        ctx: &AccessContext,
        course: &CourseId,
        at: crate::time::Instant,
        top: usize,
    ) -> Result<Vec<crate::risk::Alert>> {
        self.writing(ctx, |rules| rules.record_risk(ctx, course, at, top)).await
    }

    /// `fetching` for a call that ends with one write (`put_state`, or `apply` of states only): the write is made when the code
    /// asks for it, then the code runs once more to answer.
    async fn writing<T>(&self, ctx: &AccessContext, f: impl Fn(&Engine<SnapshotStore>) -> Result<T>) -> Result<T> {
        let mut snapshot = Snapshot::default();
        loop {
            let (out, mut back) = run_on(snapshot, || f(&self.rules));
            if !back.needs.is_empty() {
                self.fetch(ctx, &mut back).await?;
            } else if let (Some(write), false) = (&back.write, back.written) {
                match write {
                    Write::Put(put) => self.store.put_state(ctx, &put.0, &put.1).await.map_err(Into::into)?,
                    Write::States(states) => drop(self.store.apply(ctx, &[], states).await.map_err(Into::into)?),
                }
                back.written = true;
            } else {
                return out;
            }
            snapshot = back;
        }
    }

    /// Fetches what the snapshot lacked: every lacking state key in one `get_states` call, each
    /// learner's evidence and each listing once.
    async fn fetch(&self, ctx: &AccessContext, snapshot: &mut Snapshot) -> Result<()> {
        let mut keys = Vec::new();
        for need in std::mem::take(&mut snapshot.needs) {
            match need {
                Need::State(key) => {
                    if !snapshot.states.contains_key(&key) && !keys.contains(&key) {
                        keys.push(key);
                    }
                }
                Need::LearnerEvidence(learner) => {
                    if let Entry::Vacant(slot) = snapshot.learner_evidence.entry(learner) {
                        let found = self.store.learner_evidence(ctx, slot.key()).await.map_err(Into::into)?;
                        slot.insert(found);
                    }
                }
                Need::LearnerStates(learner, namespace) => {
                    if let Entry::Vacant(slot) = snapshot.learner_states.entry((learner, namespace)) {
                        let (learner, namespace) = slot.key();
                        let found = self.store.learner_states(ctx, learner, namespace).await.map_err(Into::into)?;
                        slot.insert(found);
                    }
                }
                Need::CourseStates(course, namespace) => {
                    if let Entry::Vacant(slot) = snapshot.course_states.entry((course, namespace)) {
                        let (course, namespace) = slot.key();
                        let found = self.store.course_states(ctx, course, namespace).await.map_err(Into::into)?;
                        slot.insert(found);
                    }
                }
            }
        }
        if !keys.is_empty() {
            let found = self.store.get_states(ctx, &keys).await.map_err(Into::into)?;
            if found.len() != keys.len() {
                return Err(MasteryError::Store {
                    reason: format!("get_states returned {} records for {} keys", found.len(), keys.len()),
                });
            }
            snapshot.states.extend(keys.into_iter().zip(found));
        }
        Ok(())
    }
}
