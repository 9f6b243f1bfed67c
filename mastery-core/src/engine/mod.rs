//! The one stateful facade: a store plus the rules that turn evidence into state.
//!
//! `ingest` checks the access policy, reads the stored records the batch touches with one
//! [`Store::get_states`] call, computes each learner's new mastery record of every competency a
//! record bears on, and hands the evidence and those records to the store in one atomic
//! [`Store::apply`] call (which writes nothing if any record is stored already). Records are bounded
//! ([`MasteryRecord`]: about 200 bytes whatever the history): newer evidence is folded in O(1),
//! late evidence rebuilds the record from the stored evidence. Ingests for one learner are
//! serialised within the process. Reads (learner and class states) come from stored records,
//! never from replaying the log; [`Engine::replay`] recomputes from the log, and equals them.
//! The engine checks the access policy before every store call it makes for a caller, so a
//! host's store may rely on its database's row-level security instead of repeating the policy.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use chrono::FixedOffset;
use serde::{Deserialize, Serialize};

use crate::access::{authorize_course, authorize_learner, trusted_in, AccessContext, Operation};
use crate::error::{MasteryError, Result};
use crate::evidence::{Evidence, Rejection};
use crate::ids::{CourseId, TenantId, UserId};
use crate::mastery::{CompetencyState, MasteryConfig, MasteryRecord, MasteryView, Observation};
use crate::risk::ActivityRecord;
use crate::store::{Appended, SmolStr, StateKey, StateValue, Store};
use crate::streak::{offset_of, Placed, StreakPolicy, StreakRecord};

mod asynchronous;
mod awards;
mod dashboards;
mod risk;
mod spare;
mod streaks;

pub use asynchronous::{AsyncEngine, AsyncStore, SnapshotStore, ASYNC_STORE_METHODS};
pub use dashboards::{ClassDashboard, ClassDashboardOptions, LearnerDashboard};
use spare::{Spare, SpareTable};

const NAMESPACE: &str = "mastery";
/// The namespace (and record name) of a learner's streak in a course.
const STREAK: &str = "streak";
/// The namespace of a learner's risk feature state in a course, and its record name.
const RISK: &str = "risk";
const ACTIVITY: &str = "activity";
/// The record name of a learner's last recorded risk band in a course (namespace [`RISK`]).
const PREDICTION: &str = "prediction";

/// One mastery change: who (in which tenant), what, before, after, and which evidence moved it.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct MasteryChange {
    /// The tenant of the caller that ingested the evidence.
    #[serde(default)]
    pub tenant: TenantId,
    pub learner: UserId,
    pub course: Option<CourseId>,
    pub competency: String,
    pub evidence: String,
    pub score_before: Option<f64>,
    pub score_after: Option<f64>,
    pub p_known_before: Option<f64>,
    pub p_known_after: Option<f64>,
    pub mastered_after: bool,
    /// Evidence records now counted for this competency (the state's history).
    #[serde(default)]
    pub evidence_count: usize,
    /// When the evidence happened, if it says.
    #[serde(default)]
    pub at: Option<crate::time::Instant>,
}

/// Learner and evidence ids stay out of logs.
impl std::fmt::Debug for MasteryChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MasteryChange")
            .field("tenant", &self.tenant)
            .field("course", &self.course)
            .field("competency", &self.competency)
            .field("score_after", &self.score_after)
            .field("mastered_after", &self.mastered_after)
            .finish_non_exhaustive()
    }
}

/// Where the engine records mastery changes (the host's audit log).
pub trait ChangeLog {
    fn record(&self, change: &MasteryChange);
}

/// A shared log (the host keeps one handle, the engine another).
impl<T: ChangeLog + ?Sized> ChangeLog for std::sync::Arc<T> {
    fn record(&self, change: &MasteryChange) {
        (**self).record(change);
    }
}

/// Keeps changes in memory (tests, small hosts).
#[derive(Default)]
pub struct MemoryChangeLog(pub std::sync::Mutex<Vec<MasteryChange>>);

impl std::fmt::Debug for MemoryChangeLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.0.lock().map_or(0, |c| c.len());
        write!(f, "MemoryChangeLog({n} changes)")
    }
}

impl ChangeLog for MemoryChangeLog {
    fn record(&self, change: &MasteryChange) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push(change.clone());
    }
}

/// What one `ingest` call did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct IngestOutcome {
    /// Records stored for the first time.
    pub new: usize,
    /// Records whose idempotency key was already stored (they change nothing).
    pub duplicates: usize,
    /// Records refused (by the policy or the store), by their index in the batch.
    pub rejected: Vec<Rejection>,
    /// Mastery changes the new records caused.
    pub changes: usize,
    /// Achievements the new records earned (engines with awards).
    #[serde(default)]
    pub awarded: usize,
}

/// How many stripes serialise concurrent ingests (by tenant and learner). A batch locks the
/// stripes of its learners, so two batches of 50 learners each must rarely share one: with 64
/// stripes they nearly always did, and concurrent batches ran one at a time. 4,096 (32 KiB of
/// mutexes) leaves two such batches disjoint more often than not.
const LEARNER_LOCKS: usize = 4_096;

/// The learner × course × competency records an ingest batch touches, numbered, then (when the
/// engine keeps streaks) the learner × course streaks, then (when it scores risk) the learner ×
/// course activity records.
struct Slots {
    keys: Vec<StateKey>,
    /// The slot of each (admitted record, competency), record after record.
    of_record: Vec<usize>,
    /// The first streak slot (every slot before it is a mastery record).
    streaks_from: usize,
    /// The streak slot of each admitted record that counts as activity (empty without streaks).
    streak_of_record: Vec<Option<usize>>,
    /// The first activity slot (every slot from it on is an activity record).
    activity_from: usize,
    /// The activity slot of each admitted record (empty unless the engine scores risk).
    activity_of_record: Vec<Option<usize>>,
    /// The stored record of each slot, read before the batch.
    stored: Vec<Option<StateValue>>,
}

/// One computation of a batch: the records to store, the changes, the refusals.
struct Computed {
    states: Vec<(StateKey, StateValue)>,
    changes: Vec<MasteryChange>,
    /// Mastery records moved.
    changed: usize,
    refused: Vec<(usize, MasteryError)>,
    /// Achievements awarded.
    awarded: usize,
}

/// A [`Store::hold_writes`] released on drop (also when a computation fails).
struct WriteHold<'a, S: Store> {
    store: &'a S,
    ctx: &'a AccessContext,
}

impl<'a, S: Store> WriteHold<'a, S> {
    fn take(store: &'a S, ctx: &'a AccessContext) -> Result<Option<Self>> {
        Ok(store.hold_writes(ctx).map_err(Into::into)?.then_some(Self { store, ctx }))
    }
}

impl<S: Store> Drop for WriteHold<'_, S> {
    fn drop(&mut self) {
        // A failed release leaves the lock to the store's own error handling: nothing to report to.
        let _ = self.store.release_writes(self.ctx);
    }
}

/// What a computed batch did, counted once the store takes it.
struct Done {
    changes: Vec<MasteryChange>,
    changed: usize,
    awarded: usize,
}

/// The batch's records the policy lets the caller write; the others are refused into
/// `outcome`. The policy runs before the store is touched; a host store's RLS is the second wall.
fn admit(ctx: &AccessContext, batch: &[Evidence], outcome: &mut IngestOutcome) -> Vec<usize> {
    if trusted_in(ctx, ctx.tenant()) {
        return (0..batch.len()).collect();
    }
    let mut admitted = Vec::with_capacity(batch.len());
    for (index, evidence) in batch.iter().enumerate() {
        match authorize_learner(ctx, Operation::Write, ctx.tenant(), &evidence.learner, evidence.course.as_ref()) {
            Ok(()) => admitted.push(index),
            Err(error) => outcome.rejected.push(Rejection::new(index, &error)),
        }
    }
    admitted
}

/// The lock stripe of a learner id hashed by the engine's hasher.
fn stripe_of_hash(hash: u64) -> usize {
    (hash % LEARNER_LOCKS as u64) as usize
}

/// A batch that failed as a whole (the store, a conflict that would not end): every admitted
/// record is refused with the error.
fn refuse_on_error(result: Result<()>, admitted: &[usize], outcome: &mut IngestOutcome) {
    if let Err(error) = result {
        outcome.rejected.extend(admitted.iter().map(|&i| Rejection::new(i, &error)));
        outcome.rejected.sort_by_key(|r| r.index);
    }
}

/// Store + mastery rules + change log.
pub struct Engine<S> {
    store: S,
    config: MasteryConfig,
    logs: Vec<Box<dyn ChangeLog + Send + Sync>>,
    learner_locks: Vec<Mutex<()>>,
    /// Emptied vectors of earlier batches, kept for the next ones.
    spare_states: Spare<(StateKey, StateValue)>,
    spare_records: Spare<Option<MasteryRecord>>,
    spare_keys: Spare<StateKey>,
    spare_stored: Spare<Option<StateValue>>,
    spare_hashes: Spare<u64>,
    /// Index tables of a batch: its records by learner and id, its slots by key (hash, index).
    spare_seen: SpareTable<(u64, usize)>,
    spare_numbers: SpareTable<(u64, usize)>,
    /// Hashes the batch's ids for those tables and the lock stripes (seeded per engine).
    hasher: foldhash::fast::RandomState,
    streaks: Option<StreakPolicy>,
    awards: Option<crate::credential::AwardRules>,
    risk: Option<risk::RiskScoring>,
    framework: Option<std::sync::Arc<crate::framework::Framework>>,
}

impl<S: std::fmt::Debug> std::fmt::Debug for Engine<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("store", &self.store).field("config", &self.config).finish_non_exhaustive()
    }
}

/// A stored mastery state as a record. JSON states are read too: a record a host serialised, or
/// a whole-history state written before records were bounded (rebuilt from its history).
fn read_record(competency: &str, value: StateValue, config: &MasteryConfig) -> Result<MasteryRecord> {
    let unreadable = || MasteryError::Store { reason: "stored mastery record is unreadable".into() };
    let mut record = match value {
        StateValue::Mastery(record) => record,
        StateValue::Streak(_) | StateValue::Awards(_) | StateValue::Activity(_) | StateValue::Prediction(_) => {
            return Err(MasteryError::Store { reason: "a mastery key holds another component's record".into() })
        }
        StateValue::Json(value) => match serde_json::from_value::<MasteryRecord>(value.clone()) {
            Ok(record) => record,
            Err(_) => {
                let legacy: CompetencyState = serde_json::from_value(value).map_err(|_| unreadable())?;
                MasteryRecord::rebuild(competency, legacy.history, config)?
            }
        },
    };
    record.competency = competency.into();
    Ok(record)
}

/// [`read_record`] of a borrowed value: a typed record is copied once, not twice.
fn read_record_ref(competency: &SmolStr, value: &StateValue, config: &MasteryConfig) -> Result<MasteryRecord> {
    match value {
        StateValue::Mastery(record) => {
            let mut record = record.clone();
            record.competency = competency.clone();
            Ok(record)
        }
        other => read_record(competency, other.clone(), config),
    }
}

/// A stored activity record (typed, or JSON a host store serialised).
fn read_activity(value: StateValue) -> Result<ActivityRecord> {
    match value {
        StateValue::Activity(record) => Ok(record),
        StateValue::Json(value) => serde_json::from_value(value)
            .map_err(|_| MasteryError::Store { reason: "stored activity record is unreadable".into() }),
        _ => Err(MasteryError::Store { reason: "an activity key holds another component's record".into() }),
    }
}

fn activity_key(learner: &UserId, course: Option<&CourseId>) -> StateKey {
    risk_key(learner, course, ACTIVITY)
}

/// Where a learner's last recorded risk band in a course lives.
fn prediction_key(learner: &UserId, course: &CourseId) -> StateKey {
    risk_key(learner, Some(course), PREDICTION)
}

fn risk_key(learner: &UserId, course: Option<&CourseId>, name: &'static str) -> StateKey {
    StateKey {
        learner: learner.clone(),
        course: course.cloned(),
        namespace: SmolStr::new_static(RISK),
        name: SmolStr::new_static(name),
    }
}

/// A stored streak record (typed, or JSON a host store serialised).
fn read_streak(value: StateValue) -> Result<StreakRecord> {
    match value {
        StateValue::Streak(record) => Ok(record),
        StateValue::Json(value) => serde_json::from_value(value)
            .map_err(|_| MasteryError::Store { reason: "stored streak record is unreadable".into() }),
        _ => Err(MasteryError::Store { reason: "a streak key holds another component's record".into() }),
    }
}

/// The activity a record counts as for streaks: on its local date in the offset it was recorded
/// with, its duration as minutes, its 0..1 score as points. Records without a time, or dated
/// before 1900, do not count.
fn streak_activity(e: &Evidence) -> Option<Placed<FixedOffset>> {
    let at = e.occurred_at?;
    if at.date_naive() < crate::streak::EARLIEST_ACTIVITY {
        return None;
    }
    let minutes = e.duration_seconds.filter(|d| d.is_finite() && *d >= 0.0).map_or(0.0, |d| d / 60.0);
    let points = e.normalized_score().filter(|p| p.is_finite()).unwrap_or(0.0);
    Some(Placed { at, zone: offset_of(at), minutes, points })
}

/// The longest streak a record holds as of its latest activity; `None` when only the history
/// can say (local dates went backwards across the date line).
fn longest(record: &StreakRecord, policy: &StreakPolicy) -> Option<u32> {
    record.status(policy, record.last_at).ok().flatten().map(|s| s.longest)
}

fn streak_key(learner: &UserId, course: Option<&CourseId>) -> StateKey {
    StateKey {
        learner: learner.clone(),
        course: course.cloned(),
        namespace: SmolStr::new_static(STREAK),
        name: SmolStr::new_static(STREAK),
    }
}

fn observation(e: &Evidence) -> Option<Observation> {
    Some(Observation {
        evidence: e.id.as_smol_str().clone(),
        score: e.normalized_score()?,
        at: e.occurred_at,
        sequence: e.sequence,
        template: e.activity.clone(),
    })
}

impl<S: Store> Engine<S> {
    /// An engine with the default mastery rules (decaying average 65 %, Canvas's scale).
    pub fn new(store: S) -> Self {
        Self::with_config(store, MasteryConfig::default())
    }

    pub fn with_config(store: S, config: MasteryConfig) -> Self {
        Self {
            store,
            config,
            logs: Vec::new(),
            learner_locks: (0..LEARNER_LOCKS).map(|_| Mutex::new(())).collect(),
            spare_states: Spare::default(),
            spare_records: Spare::default(),
            spare_keys: Spare::default(),
            spare_stored: Spare::default(),
            spare_hashes: Spare::default(),
            spare_seen: SpareTable::default(),
            spare_numbers: SpareTable::default(),
            hasher: foldhash::fast::RandomState::default(),
            streaks: None,
            awards: None,
            risk: None,
            framework: None,
        }
    }

    /// Keeps each learner's streak per course under `policy`: every ingested record with a time
    /// counts as activity on its local date (in the offset it was recorded with), its duration as
    /// minutes and its 0..1 score as points. A refused policy is an `invalid_input` error.
    pub fn with_streaks(mut self, policy: StreakPolicy) -> Result<Self> {
        crate::streak::check_policy(&policy)?;
        self.streaks = Some(policy);
        Ok(self)
    }

    /// Awards `achievements` as ingest makes their rules hold (`framework` resolves subtree
    /// rules): each learner × achievement × version once, stored with the evidence that earned it,
    /// into an outbox the host drains ([`Engine::outbox`], [`Engine::acknowledge_awards`]). Two
    /// achievements with one id and version are an `invalid_input` error.
    pub fn with_awards(
        mut self,
        achievements: Vec<crate::credential::Achievement>,
        framework: Option<crate::framework::Framework>,
    ) -> Result<Self> {
        self.awards = Some(crate::credential::AwardRules::new(achievements, framework)?);
        Ok(self)
    }

    /// The streak policy, when the engine keeps streaks.
    pub fn streak_policy(&self) -> Option<&StreakPolicy> {
        self.streaks.as_ref()
    }

    /// Routes every mastery change to `log` (in addition to any logs added before): an audit
    /// log, a [`crate::credential::CredentialIssuer`] that awards badges as mastery changes, ...
    pub fn with_change_log(mut self, log: impl ChangeLog + Send + Sync + 'static) -> Self {
        self.logs.push(Box::new(log));
        self
    }

    /// [`Engine::ingest`] of records read out of a larger batch: each carries its position there,
    /// and `refused` are the batch's records the caller could not read (a list with a malformed
    /// dict, a table with a bad row). The outcome's indices are the batch's.
    pub fn ingest_rows(
        &self,
        ctx: &AccessContext,
        rows: Vec<(usize, Evidence)>,
        refused: Vec<Rejection>,
    ) -> IngestOutcome {
        let (index, batch): (Vec<usize>, Vec<Evidence>) = rows.into_iter().unzip();
        let mut outcome = self.ingest(ctx, &batch);
        outcome.rejected.iter_mut().for_each(|r| r.index = index[r.index]);
        outcome.rejected.extend(refused);
        outcome.rejected.sort_by_key(|r| r.index);
        outcome
    }

    /// The underlying store, for reads.
    pub fn store(&self) -> &S {
        &self.store
    }

    pub fn config(&self) -> &MasteryConfig {
        &self.config
    }

    /// Stores each record once and updates mastery, as one atomic store commit for the batch. A
    /// refused record (the policy, a bad score) is reported by its index; the rest go on. Records
    /// already stored, or repeated within the batch, count as duplicates and change nothing.
    pub fn ingest(&self, ctx: &AccessContext, batch: &[Evidence]) -> IngestOutcome {
        let mut outcome = IngestOutcome::default();
        let mut admitted = admit(ctx, batch, &mut outcome);
        let hashes = self.learner_hashes(batch);
        // Ingests for the batch's learners are serialised in this process (stripes locked in
        // ascending order, so two batches cannot deadlock).
        let _guards: Vec<_> = self
            .stripes(&hashes, &admitted)
            .iter()
            .map(|&s| self.learner_locks[s].lock().unwrap_or_else(|p| p.into_inner()))
            .collect();
        self.drop_repeats(batch, &hashes, &mut admitted, &mut outcome);
        let result = self.commit(ctx, batch, &hashes, admitted.clone(), &mut outcome);
        refuse_on_error(result, &admitted, &mut outcome);
        self.spare_hashes.keep(hashes);
        outcome
    }

    /// Each record's learner id hashed once: its lock stripe, and the start of its keys' hashes
    /// in the batch's index tables.
    fn learner_hashes(&self, batch: &[Evidence]) -> Vec<u64> {
        use std::hash::BuildHasher;
        let mut hashes = self.spare_hashes.take();
        hashes.extend(batch.iter().map(|e| self.hasher.hash_one(&e.learner)));
        hashes
    }

    /// Drops records repeated within the batch (same learner and id), counted as duplicates.
    fn drop_repeats(&self, batch: &[Evidence], hashes: &[u64], admitted: &mut Vec<usize>, outcome: &mut IngestOutcome) {
        use std::hash::BuildHasher;
        let mut seen = self.spare_seen.take();
        seen.reserve(admitted.len(), |&(hash, _)| hash);
        admitted.retain(|&i| {
            let e = &batch[i];
            let hash = self.hasher.hash_one((hashes[i], &e.id));
            let same = |&(h, j): &(u64, usize)| h == hash && batch[j].id == e.id && batch[j].learner == e.learner;
            match seen.entry(hash, same, |&(h, _)| h) {
                hashbrown::hash_table::Entry::Occupied(_) => {
                    outcome.duplicates += 1;
                    false
                }
                hashbrown::hash_table::Entry::Vacant(slot) => {
                    slot.insert((hash, i));
                    true
                }
            }
        });
        self.spare_seen.keep(seen);
    }

    /// The lock stripes of the admitted records' learners, ascending, each once (a bitmap of
    /// the stripes: no sort of the batch's).
    fn stripes(&self, hashes: &[u64], admitted: &[usize]) -> Vec<usize> {
        let mut marked = [0u64; LEARNER_LOCKS / 64];
        for &i in admitted {
            let stripe = stripe_of_hash(hashes[i]);
            marked[stripe / 64] |= 1 << (stripe % 64);
        }
        let mut stripes = Vec::with_capacity(admitted.len().min(LEARNER_LOCKS));
        for (word, mut bits) in marked.into_iter().enumerate() {
            while bits != 0 {
                stripes.push(word * 64 + bits.trailing_zeros() as usize);
                bits &= bits - 1;
            }
        }
        stripes
    }

    /// After `apply`: when the store took the batch (no duplicate named), counts it into
    /// `outcome`, hands its changes to the logs and returns true; otherwise takes the records the
    /// store already holds out of `admitted` (as duplicates) for another attempt.
    fn settle(
        &self,
        flags: Vec<Appended>,
        admitted: &mut Vec<usize>,
        refused: &[(usize, MasteryError)],
        done: Done,
        outcome: &mut IngestOutcome,
    ) -> bool {
        if !flags.contains(&Appended::Duplicate) {
            outcome.rejected.extend(refused.iter().map(|(i, e)| Rejection::new(*i, e)));
            outcome.rejected.sort_by_key(|r| r.index);
            outcome.new += admitted.len();
            outcome.changes += done.changed;
            outcome.awarded += done.awarded;
            for change in &done.changes {
                self.logs.iter().for_each(|log| log.record(change));
            }
            return true;
        }
        // Stored already (sent before, or by another writer meanwhile): duplicates.
        let mut flags = flags.into_iter();
        let before = admitted.len();
        admitted.retain(|_| flags.next() != Some(Appended::Duplicate));
        outcome.duplicates += before - admitted.len();
        false
    }

    /// Computes and applies the batch; retries without records the store already holds. The
    /// store's `apply` is the duplicate check (it writes nothing when any record is stored), so
    /// a batch of new records costs two store calls: `get_states` and `apply` (plus
    /// `read_version` for a versioned store). A batch that repeats stored records is computed
    /// again without them; one that keeps meeting another writer's records gives up after four
    /// attempts.
    ///
    /// Another process may write the batch's learners between the reads and the apply (learner
    /// stripes serialise only this process): a versioned store then refuses the apply
    /// ([`MasteryError::StoreConflict`]) and the batch is read and computed again. After two
    /// conflicts the engine holds other writers off ([`Store::hold_writes`]) for the rest of the
    /// batch, so it cannot starve.
    fn commit(
        &self,
        ctx: &AccessContext,
        batch: &[Evidence],
        hashes: &[u64],
        mut admitted: Vec<usize>,
        outcome: &mut IngestOutcome,
    ) -> Result<()> {
        let mut refused = Vec::new();
        let (mut attempts, mut conflicts) = (0, 0);
        let mut hold = None;
        while attempts < 4 && conflicts < 8 {
            let since = self.store.read_version(ctx).map_err(Into::into)?;
            let Computed { states, changes, changed, refused: refusals, awarded } =
                self.compute(ctx, batch, hashes, &admitted)?;
            admitted.retain(|i| !refusals.iter().any(|(r, _)| r == i));
            refused.extend(refusals);
            if admitted.is_empty() && states.is_empty() {
                // Nothing left to store (every record refused): no write, no sync.
                self.settle(Vec::new(), &mut admitted, &refused, Done { changes, changed, awarded }, outcome);
                return Ok(());
            }
            let refs: Vec<&Evidence> = admitted.iter().map(|&i| &batch[i]).collect();
            let applied = match since {
                Some(since) => self.store.apply_since(ctx, since, &refs, &states),
                None => self.store.apply(ctx, &refs, &states),
            };
            let flags = match applied.map_err(Into::into) {
                Err(MasteryError::StoreConflict) => {
                    conflicts += 1;
                    if conflicts >= 2 && hold.is_none() {
                        hold = WriteHold::take(&self.store, ctx)?;
                    }
                    continue;
                }
                other => other?,
            };
            attempts += 1;
            self.spare_states.keep(states);
            if self.settle(flags, &mut admitted, &refused, Done { changes, changed, awarded }, outcome) {
                return Ok(());
            }
        }
        drop(hold);
        Err(MasteryError::Store { reason: "the batch kept conflicting with another writer".into() })
    }

    /// The new records of every learner × course × competency (and streak) the batch touches, and
    /// the changes, in batch order; records whose observation cannot be counted are refused, by index.
    /// `hashes`: [`Engine::learner_hashes`] of the batch.
    fn compute(&self, ctx: &AccessContext, batch: &[Evidence], hashes: &[u64], admitted: &[usize]) -> Result<Computed> {
        let Slots { keys, of_record, streaks_from, streak_of_record, activity_from, activity_of_record, stored } =
            self.preload(ctx, batch, hashes, admitted)?;
        // The batch's newest record per slot, once a record of the batch has moved it.
        let mut current = self.spare_records.take();
        current.resize(streaks_from, None);
        let mut current_streaks: Vec<Option<StreakRecord>> = vec![None; activity_from - streaks_from];
        let mut current_activity: Vec<Option<ActivityRecord>> = vec![None; keys.len() - activity_from];
        let mut changes = Vec::new();
        let mut changed = 0;
        let mut refused: Vec<(usize, MasteryError)> = Vec::new();
        let mut next_slot = 0;
        // Per record: each slot it moved with its (score, P(known)) before, and what each slot
        // held before the record (put back when the record is refused).
        let mut moved = Vec::new();
        // (Boxed: a slot is mostly untouched before, and a `None` then costs no record-sized copy.)
        let mut undo: Vec<(usize, Option<Box<MasteryRecord>>)> = Vec::new();
        // Each learner's stored evidence, read once per batch however many of its records are late.
        let mut stored_evidence: HashMap<&UserId, Vec<Evidence>, foldhash::fast::RandomState> = HashMap::default();
        // What the batch moved per learner × course, when the engine awards achievements.
        let mut touched = awards::Touched::default();
        for (position, &index) in admitted.iter().enumerate() {
            let evidence = &batch[index];
            let slots = &of_record[next_slot..next_slot + evidence.competencies.len()];
            next_slot += slots.len();
            let pending =
                || admitted[..position].iter().filter(|i| !refused.iter().any(|(r, _)| r == *i)).map(|&i| &batch[i]);
            moved.clear();
            undo.clear();
            let mut step = match observation(evidence) {
                None => Ok(()),
                Some(obs) => {
                    evidence.competencies.iter().zip(slots).enumerate().try_for_each(|(k, (competency, &slot))| {
                        // A competency listed twice moves its record once, and counts twice.
                        if slots[..k].contains(&slot) {
                            let repeat = moved.iter().find(|(s, _)| *s == slot).copied();
                            moved.extend(repeat);
                            return Ok(());
                        }
                        // The record is updated in place; `undo` keeps what to put back.
                        let entry = &mut current[slot];
                        undo.push((slot, entry.clone().map(Box::new)));
                        if entry.is_none() {
                            *entry = stored[slot]
                                .as_ref()
                                .map(|v| read_record_ref(&keys[slot].name, v, &self.config))
                                .transpose()?;
                        }
                        let before = entry.as_ref().map_or((None, None), |r| (r.score, r.knowledge.map(|k| k.p_known)));
                        let newer = match entry {
                            Some(record) => record.push_if_newer(&obs, &self.config)?,
                            None => entry
                                .insert(MasteryRecord::new(competency.as_str()))
                                .push_if_newer(&obs, &self.config)?,
                        };
                        // Late (or tied) evidence: rebuild from the stored evidence, the batch's
                        // earlier records and this one.
                        if !newer {
                            let stored = self.stored_evidence(ctx, &mut stored_evidence, &evidence.learner)?;
                            *entry =
                                Some(self.rebuild(stored, evidence, competency.as_str(), obs.clone(), pending())?);
                        }
                        moved.push((slot, before));
                        Ok::<(), MasteryError>(())
                    })
                }
            };
            let (mut streak, mut streak_grew) = (None, false);
            if let (Ok(()), Some(policy), Some(slot)) =
                (&step, &self.streaks, streak_of_record.get(position).copied().flatten())
            {
                let known = match (&current_streaks[slot - streaks_from], &stored[slot]) {
                    (Some(record), _) => Ok(Some(record.clone())),
                    (None, Some(StateValue::Streak(record))) => Ok(Some(record.clone())),
                    (None, Some(value)) => read_streak(value.clone()).map(Some),
                    (None, None) => Ok(None),
                };
                let activity = streak_activity(evidence).expect("records with a streak slot count as activity");
                // Award rules read the longest streak: computed only when the engine awards.
                let awarding = self.awards.is_some();
                let longest_before =
                    known.as_ref().ok().filter(|_| awarding).and_then(|k| k.as_ref().and_then(|r| longest(r, policy)));
                let next = known.and_then(|known| match known {
                    Some(mut record) if record.accepts(activity.at) => {
                        record.push(activity.at, activity.minutes, activity.points, policy);
                        Ok(record)
                    }
                    None => Ok(StreakRecord::new(activity.at, activity.minutes, activity.points, policy)),
                    // Earlier than the latest activity: rebuild from the learner's activity in the course.
                    Some(_) => {
                        let stored = self.stored_evidence(ctx, &mut stored_evidence, &evidence.learner)?;
                        let same = |e: &&Evidence| e.learner == evidence.learner && e.course == evidence.course;
                        let mut history: Vec<_> = stored.iter().filter(same).filter_map(streak_activity).collect();
                        history.extend(pending().filter(same).filter_map(streak_activity));
                        history.push(activity);
                        Ok(StreakRecord::rebuild(history, policy).expect("a history of at least one activity"))
                    }
                });
                match next {
                    Ok(record) => {
                        // Only a change of the longest streak can earn anything.
                        if awarding {
                            let after = longest(&record, policy);
                            streak_grew = after.is_none() || after != longest_before;
                        }
                        streak = Some((slot - streaks_from, record));
                    }
                    Err(error) => step = Err(error),
                }
            }
            // The activity record is updated in place: this step runs last, and fails (reading
            // the store for a rebuild) before it changes anything.
            if let (Ok(()), Some(slot)) = (&step, activity_of_record.get(position).copied().flatten()) {
                let current = &mut current_activity[slot - activity_from];
                if current.is_none() {
                    let read = match &stored[slot] {
                        Some(StateValue::Activity(record)) => Ok(Some(record.clone())),
                        other => other.clone().map(read_activity).transpose(),
                    };
                    match read {
                        Ok(record) => *current = Some(record.unwrap_or_default()),
                        Err(error) => step = Err(error),
                    }
                }
                match current.as_mut() {
                    Some(record) if record.accepts(evidence) => record.push(evidence),
                    Some(_) => {
                        // Earlier than the newest timed record: rebuild from the learner's records in the course.
                        match self.stored_evidence(ctx, &mut stored_evidence, &evidence.learner) {
                            Ok(stored) => {
                                let same = |e: &&Evidence| e.learner == evidence.learner && e.course == evidence.course;
                                let history = stored.iter().filter(same).chain(pending().filter(same));
                                *current = Some(ActivityRecord::rebuild(history.chain([evidence])));
                            }
                            Err(error) => step = Err(error),
                        }
                    }
                    None => {}
                }
            }
            if let Err(error) = step {
                for (slot, previous) in undo.drain(..).rev() {
                    current[slot] = previous.map(|record| *record);
                }
                refused.push((index, error));
                continue;
            }
            if self.awards.is_some() {
                let grown = streak.as_ref().filter(|_| streak_grew).map(|(slot, _)| streaks_from + slot);
                touched.note(evidence, moved.iter().map(|(slot, _)| *slot), grown);
            }
            if let Some((slot, record)) = streak {
                current_streaks[slot] = Some(record);
            }
            changed += moved.len();
            // Change records only when a log will read them: not on the ingest hot path.
            if !self.logs.is_empty() {
                for &(slot, before) in &moved {
                    let record = current[slot].as_ref().expect("a moved slot holds its record");
                    changes.push(MasteryChange {
                        tenant: ctx.tenant().clone(),
                        learner: evidence.learner.clone(),
                        course: evidence.course.clone(),
                        competency: record.competency.to_string(),
                        evidence: evidence.id.as_str().to_owned(),
                        score_before: before.0,
                        score_after: record.score,
                        p_known_before: before.1,
                        p_known_after: record.knowledge.map(|k| k.p_known),
                        mastered_after: record.mastered,
                        evidence_count: record.evidence_count() as usize,
                        at: evidence.occurred_at,
                    });
                }
            }
        }
        self.spare_stored.keep(stored);
        let batch_state =
            awards::BatchState { keys: &keys, current: &current, current_streaks: &current_streaks, streaks_from };
        let (award_states, awarded) = match &self.awards {
            Some(rules) if !touched.is_empty() => self.award(ctx, rules, &touched, &batch_state)?,
            _ => (Vec::new(), 0),
        };
        let mut states = self.spare_states.take();
        states.reserve(keys.len() + award_states.len());
        let mut keys = keys;
        // Slot order: mastery records, streaks, activity records (each `current*` is as long as its run).
        let mut slots = keys.drain(..);
        let mastery = current.drain(..).zip(slots.by_ref());
        states.extend(mastery.filter_map(|(record, key)| Some((key, StateValue::Mastery(record?)))));
        let streaks = current_streaks.into_iter().zip(slots.by_ref());
        states.extend(streaks.filter_map(|(record, key)| Some((key, StateValue::Streak(record?)))));
        let activity = current_activity.into_iter().zip(slots.by_ref());
        states.extend(activity.filter_map(|(record, key)| Some((key, StateValue::Activity(record?)))));
        drop(slots);
        self.spare_records.keep(current);
        self.spare_keys.keep(keys);
        states.extend(award_states);
        Ok(Computed { states, changes, changed, refused, awarded })
    }

    /// The learner's stored evidence, read from the store the first time a batch needs it.
    fn stored_evidence<'m, 'b>(
        &self,
        ctx: &AccessContext,
        read: &'m mut HashMap<&'b UserId, Vec<Evidence>, foldhash::fast::RandomState>,
        learner: &'b UserId,
    ) -> Result<&'m Vec<Evidence>> {
        // Two lookups instead of `entry`: the map is keyed by references into the batch.
        if !read.contains_key(learner) {
            let evidence = self.store.learner_evidence(ctx, learner).map_err(Into::into)?;
            read.insert(learner, evidence);
        }
        Ok(&read[learner])
    }

    /// Numbers every learner × course × competency the batch touches (in first-touch order), then
    /// every learner × course streak, and reads their stored records with one store call.
    fn preload(&self, ctx: &AccessContext, batch: &[Evidence], hashes: &[u64], admitted: &[usize]) -> Result<Slots> {
        let mut keys = self.spare_keys.take();
        keys.reserve(admitted.len());
        let mut of_record = Vec::with_capacity(admitted.len());
        // Slots by (hash, slot): a key is compared with the batch's key of the slot.
        let mut numbers = self.spare_numbers.take();
        numbers.reserve(admitted.len(), |&(hash, _)| hash);
        for &i in admitted {
            let evidence = &batch[i];
            for competency in &evidence.competencies {
                use std::hash::BuildHasher;
                let hash = self.hasher.hash_one((hashes[i], &evidence.course, competency.as_str()));
                let same = |&(h, slot): &(u64, usize)| {
                    let key = &keys[slot];
                    h == hash
                        && key.name.as_str() == competency.as_str()
                        && key.learner == evidence.learner
                        && key.course == evidence.course
                };
                let slot = match numbers.entry(hash, same, |&(h, _)| h) {
                    hashbrown::hash_table::Entry::Occupied(found) => found.get().1,
                    hashbrown::hash_table::Entry::Vacant(vacant) => {
                        let slot = keys.len();
                        vacant.insert((hash, slot));
                        keys.push(Self::key(evidence, competency));
                        slot
                    }
                };
                of_record.push(slot);
            }
        }
        self.spare_numbers.keep(numbers);
        let streaks_from = keys.len();
        let mut streak_of_record = Vec::new();
        if self.streaks.is_some() {
            streak_of_record.resize(admitted.len(), None);
            let mut streak_numbers: HashMap<_, usize, foldhash::fast::RandomState> = HashMap::default();
            for (position, evidence) in admitted.iter().map(|&i| &batch[i]).enumerate() {
                if streak_activity(evidence).is_none() {
                    continue;
                }
                let next = keys.len();
                let slot = *streak_numbers.entry((&evidence.learner, &evidence.course)).or_insert(next);
                if slot == next {
                    keys.push(streak_key(&evidence.learner, evidence.course.as_ref()));
                }
                streak_of_record[position] = Some(slot);
            }
        }
        let activity_from = keys.len();
        let mut activity_of_record = Vec::new();
        if self.risk.is_some() {
            activity_of_record.resize(admitted.len(), None);
            let mut numbers: HashMap<_, usize, foldhash::fast::RandomState> = HashMap::default();
            for (position, evidence) in admitted.iter().map(|&i| &batch[i]).enumerate() {
                let next = keys.len();
                let slot = *numbers.entry((&evidence.learner, &evidence.course)).or_insert(next);
                if slot == next {
                    keys.push(activity_key(&evidence.learner, evidence.course.as_ref()));
                }
                activity_of_record[position] = Some(slot);
            }
        }
        let mut stored = self.spare_stored.take();
        self.store.get_states_into(ctx, &keys, &mut stored).map_err(Into::into)?;
        if stored.len() != keys.len() {
            return Err(MasteryError::Store {
                reason: format!("get_states returned {} records for {} keys", stored.len(), keys.len()),
            });
        }
        Ok(Slots { keys, of_record, streaks_from, streak_of_record, activity_from, activity_of_record, stored })
    }

    /// The stripe that serialises ingests for the learner (a learner of the same id in another
    /// tenant shares it: that only serialises the two).
    fn stripe_of(&self, learner: &UserId) -> usize {
        use std::hash::BuildHasher;
        stripe_of_hash(self.hasher.hash_one(learner))
    }

    fn key(evidence: &Evidence, competency: &crate::ids::CompetencyId) -> StateKey {
        StateKey {
            learner: evidence.learner.clone(),
            course: evidence.course.clone(),
            namespace: SmolStr::new_static(NAMESPACE),
            // The id's own string: a long id is shared, not copied.
            name: competency.as_smol_str().clone(),
        }
    }

    /// The stored record of one learner × course × competency.
    fn load(&self, ctx: &AccessContext, key: &StateKey) -> Result<Option<MasteryRecord>> {
        self.store.get_state(ctx, key).map_err(Into::into)?.map(|v| read_record(&key.name, v, &self.config)).transpose()
    }

    /// A record rebuilt from the learner's stored evidence (`stored`) on the competency, the
    /// batch's pending records, and `late`.
    fn rebuild<'e>(
        &self,
        stored: &[Evidence],
        evidence: &Evidence,
        competency: &str,
        late: Observation,
        pending: impl Iterator<Item = &'e Evidence>,
    ) -> Result<MasteryRecord> {
        let relevant = |e: &&Evidence| {
            e.learner == evidence.learner
                && e.course == evidence.course
                && e.competencies.iter().any(|c| c.as_str() == competency)
        };
        let mut observations = vec![late];
        observations.extend(stored.iter().filter(relevant).filter_map(observation));
        observations.extend(pending.filter(relevant).filter_map(observation));
        MasteryRecord::rebuild(competency, observations, &self.config)
    }

    /// A learner's stored record on one competency (in a course, or outside any).
    pub fn mastery(
        &self,
        ctx: &AccessContext,
        learner: &UserId,
        course: Option<&CourseId>,
        competency: &str,
    ) -> Result<Option<MasteryRecord>> {
        authorize_learner(ctx, Operation::Read, ctx.tenant(), learner, course)?;
        let key = StateKey {
            learner: learner.clone(),
            course: course.cloned(),
            namespace: NAMESPACE.into(),
            name: competency.into(),
        };
        self.load(ctx, &key)
    }

    /// A learner's stored records in one course (or outside any): what a learner dashboard shows.
    /// Read from stored state, never by replaying the evidence log.
    pub fn learner_states(
        &self,
        ctx: &AccessContext,
        learner: &UserId,
        course: Option<&CourseId>,
    ) -> Result<Vec<MasteryRecord>> {
        // Asking for a course the caller may not read is a refusal, not an empty list.
        authorize_learner(ctx, Operation::Read, ctx.tenant(), learner, course)?;
        self.store
            .learner_states(ctx, learner, NAMESPACE)
            .map_err(Into::into)?
            .into_iter()
            .filter(|(key, _)| key.course.as_ref() == course)
            .map(|(key, value)| read_record(&key.name, value, &self.config))
            .collect()
    }

    /// Every learner's stored records in a course (instructors of the course, admins, services):
    /// what an instructor dashboard shows. Learner ids are keys, never logged.
    pub fn class_states(&self, ctx: &AccessContext, course: &CourseId) -> Result<BTreeMap<String, Vec<MasteryRecord>>> {
        authorize_course(ctx, Operation::Read, ctx.tenant(), course)?;
        let mut by_learner: BTreeMap<String, Vec<MasteryRecord>> = BTreeMap::new();
        for (key, value) in self.store.course_states(ctx, course, NAMESPACE).map_err(Into::into)? {
            let record = read_record(&key.name, value, &self.config)?;
            by_learner.entry(key.learner.as_str().to_owned()).or_default().push(record);
        }
        Ok(by_learner)
    }

    /// The class heatmap of a course (learners × `competencies`, in that order) straight from
    /// the stored records: one read of the course's states, no evidence log, no per-learner maps.
    pub fn class_heatmap(
        &self,
        ctx: &AccessContext,
        course: &CourseId,
        competencies: &[crate::dashboard::Label],
    ) -> Result<crate::dashboard::Heatmap> {
        authorize_course(ctx, Operation::Read, ctx.tenant(), course)?;
        let states = self.store.course_states(ctx, course, NAMESPACE).map_err(Into::into)?;
        let grid = self.class_grid(states, competencies)?;
        Ok(self.heatmap_of(&grid, competencies))
    }

    /// The course's stored scores (on the scale's points) as a grid: one row per learner, by
    /// learner id, one column per competency in `competencies`' order.
    fn class_grid(
        &self,
        states: Vec<(StateKey, StateValue)>,
        competencies: &[crate::dashboard::Label],
    ) -> Result<Vec<(UserId, Vec<Option<f64>>)>> {
        // Stores return a learner's records together (the contract does not promise it), so the
        // row is looked up only when the learner changes.
        let column: HashMap<&str, usize, foldhash::fast::RandomState> =
            competencies.iter().enumerate().map(|(i, c)| (c.id.as_str(), i)).collect();
        let mut rows: Vec<(UserId, Vec<Option<f64>>)> = Vec::new();
        let mut row_of: HashMap<UserId, usize, foldhash::fast::RandomState> = HashMap::default();
        let mut current = usize::MAX;
        for (key, value) in states {
            if rows.get(current).is_none_or(|(learner, _)| *learner != key.learner) {
                current = *row_of.entry(key.learner.clone()).or_insert_with(|| {
                    rows.push((key.learner.clone(), vec![None; competencies.len()]));
                    rows.len() - 1
                });
            }
            let Some(&at) = column.get(key.name.as_str()) else {
                continue;
            };
            rows[current].1[at] = match value {
                StateValue::Mastery(record) => record.score,
                other => read_record(&key.name, other, &self.config)?.score,
            };
        }
        rows.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(rows)
    }

    /// The heatmap of a grid of scores: values 0..1 of the scale's top points.
    fn heatmap_of(
        &self,
        grid: &[(UserId, Vec<Option<f64>>)],
        competencies: &[crate::dashboard::Label],
    ) -> crate::dashboard::Heatmap {
        let top = self.config.scale.ratings.first().map_or(1.0, |r| r.points);
        let normalized = grid.iter().map(|(learner, row)| {
            (learner.as_str().to_owned(), row.iter().map(|s| s.map(|s| (s / top).clamp(0.0, 1.0))).collect())
        });
        crate::dashboard::class_heatmap_from_grid(normalized, competencies, &self.config.scale)
    }

    /// A learner's records in one course (or outside any) as readers see them, sorted by
    /// competency: what every binding returns.
    pub fn learner_views(
        &self,
        ctx: &AccessContext,
        learner: &UserId,
        course: Option<&CourseId>,
    ) -> Result<Vec<MasteryView>> {
        Ok(self.views(self.learner_states(ctx, learner, course)?))
    }

    /// Every learner's records in a course as readers see them (learner → views by competency).
    pub fn class_views(&self, ctx: &AccessContext, course: &CourseId) -> Result<BTreeMap<String, Vec<MasteryView>>> {
        Ok(self
            .class_states(ctx, course)?
            .into_iter()
            .map(|(learner, records)| (learner, self.views(records)))
            .collect())
    }

    /// One record as readers see it.
    pub fn mastery_view(
        &self,
        ctx: &AccessContext,
        learner: &UserId,
        course: Option<&CourseId>,
        competency: &str,
    ) -> Result<Option<MasteryView>> {
        Ok(self.mastery(ctx, learner, course, competency)?.map(|r| r.view(&self.config)))
    }

    fn views(&self, records: Vec<MasteryRecord>) -> Vec<MasteryView> {
        let mut views: Vec<MasteryView> = records.iter().map(|r| r.view(&self.config)).collect();
        views.sort_by(|a, b| a.competency.cmp(&b.competency));
        views
    }

    /// Standings (0..1 value, mastered) for roll-ups, gaps and ring charts.
    pub fn standings(&self, records: &[MasteryRecord]) -> BTreeMap<String, crate::mastery::Standing> {
        let top = self.config.scale.ratings.first().map_or(1.0, |r| r.points);
        records
            .iter()
            .filter_map(|r| {
                r.score.map(|score| {
                    (
                        r.competency.to_string(),
                        crate::mastery::Standing { value: (score / top).clamp(0.0, 1.0), mastered: r.mastered },
                    )
                })
            })
            .collect()
    }

    /// A learner's competency histories in one course (or outside any), from the evidence the
    /// caller may read: what progress over time plots.
    pub fn learner_histories(
        &self,
        ctx: &AccessContext,
        learner: &UserId,
        course: Option<&CourseId>,
    ) -> Result<Vec<CompetencyState>> {
        authorize_learner(ctx, Operation::Read, ctx.tenant(), learner, course)?;
        Ok(self.replay(ctx, learner)?.into_iter().filter(|((c, _), _)| c.as_ref() == course).map(|(_, s)| s).collect())
    }

    /// Recomputes a learner's states from the stored evidence log, from scratch, without writing:
    /// `(course, competency) → state`.
    pub fn replay(
        &self,
        ctx: &AccessContext,
        learner: &UserId,
    ) -> Result<BTreeMap<(Option<CourseId>, String), CompetencyState>> {
        let mut states: BTreeMap<(Option<CourseId>, String), CompetencyState> = BTreeMap::new();
        for evidence in self.store.learner_evidence(ctx, learner).map_err(Into::into)? {
            let Some(obs) = observation(&evidence) else { continue };
            for competency in &evidence.competencies {
                states
                    .entry((evidence.course.clone(), competency.as_str().to_owned()))
                    .or_insert_with(|| CompetencyState::new(competency.as_str()))
                    .observe(obs.clone(), &self.config)?;
            }
        }
        Ok(states)
    }
}
