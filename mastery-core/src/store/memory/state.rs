//! The embedded store's in-memory indexes: the evidence log in append order, and per tenant and
//! learner the evidence ids, the positions of the learner's evidence in the log and the
//! learner's state records. A learner's reads and writes touch only that learner's entry; a
//! course's states come from an index of the learners who have state in it.

use std::collections::BTreeSet;

use super::packed;
use super::{Change, ChangeRef};
use crate::evidence::Evidence;
use crate::ids::{CourseId, EvidenceId, TenantId, UserId};
use crate::store::Appended;
use crate::store::{SmolStr, StateKey, StateValue};

/// foldhash: seeded per process, several times faster than SipHash on short ids.
type FastMap<K, V> = hashbrown::HashMap<K, V, foldhash::fast::RandomState>;

/// The largest log chunk's capacity in bytes: the log grows by whole chunks (the first small, for
/// a small store), so appending never moves stored records.
const CHUNK_BYTES: usize = 1 << 20;
const FIRST_CHUNK_BYTES: usize = 1 << 14;

/// The next chunk of a list kept in chunks that never move (the log's bytes, a tenant's state
/// records): twice the last chunk's capacity, from `first` up to `largest`, and at least `needed`.
fn next_chunk<T>(chunks: &[Vec<T>], first: usize, largest: usize, needed: usize) -> Vec<T> {
    let previous = chunks.last().map_or(0, Vec::capacity);
    Vec::with_capacity((2 * previous).clamp(first, largest).max(needed))
}

#[derive(Default)]
pub(super) struct State {
    /// Sequence number of the last write applied.
    pub(super) seq: u64,
    log: Log,
    tenants: FastMap<TenantId, Tenant>,
}

/// The evidence log in append order: records packed into bytes (see [`packed`]), each naming its
/// tenant by number (the tenants in order of their first record) rather than by id.
#[derive(Default)]
struct Log {
    chunks: Vec<Vec<u8>>,
    /// Where each record starts: its chunk and the offset in it.
    starts: Vec<(u32, u32)>,
    tenants: Vec<TenantId>,
    tenant_numbers: FastMap<TenantId, usize>,
    /// A record being packed (reused: appending allocates only whole chunks).
    packing: Vec<u8>,
}

impl Log {
    /// The number entries of `tenant` carry (one lookup per write, not per record).
    fn tenant_number(&mut self, tenant: &TenantId) -> usize {
        if let Some(&number) = self.tenant_numbers.get(tenant) {
            return number;
        }
        let number = self.tenants.len();
        self.tenants.push(tenant.clone());
        self.tenant_numbers.insert(tenant.clone(), number);
        number
    }

    fn len(&self) -> usize {
        self.starts.len()
    }

    /// Appends a record of tenant `number`; returns its position.
    fn push(&mut self, number: usize, e: &Evidence) -> usize {
        self.packing.clear();
        packed::pack(number, e, &mut self.packing);
        let size = self.packing.len();
        if self.chunks.last().is_none_or(|chunk| chunk.capacity() - chunk.len() < size) {
            self.chunks.push(next_chunk(&self.chunks, FIRST_CHUNK_BYTES, CHUNK_BYTES, size));
        }
        let last = self.chunks.len() - 1;
        let chunk = &mut self.chunks[last];
        // Chunks and offsets fit 32 bits: a log of 2^32 chunks or a chunk of 4 GiB is not kept in memory.
        self.starts.push((last as u32, chunk.len() as u32));
        chunk.extend_from_slice(&self.packing);
        self.len() - 1
    }

    fn bytes(&self, position: usize) -> &[u8] {
        let (chunk, offset) = self.starts[position];
        &self.chunks[chunk as usize][offset as usize..]
    }

    fn id(&self, position: usize) -> &str {
        packed::id(self.bytes(position))
    }

    /// The record at `position` and its tenant's number.
    fn get(&self, position: usize) -> (usize, Evidence) {
        packed::unpack(self.bytes(position))
    }
}

#[derive(Default)]
struct Tenant {
    learners: FastMap<UserId, Learner>,
    /// Every learner's state records, each learner finding its own through its [`States`].
    records: StateRecords,
    /// Who has state in each course, in id order (a class read visits only them).
    course_learners: FastMap<Option<CourseId>, BTreeSet<UserId>>,
}

#[derive(Default)]
struct Learner {
    /// Evidence identity: an id is unique per learner, so one learner can neither probe nor
    /// squat another's ids.
    ids: EvidenceIds,
    /// Where the learner's evidence is in the log, in append order.
    positions: Vec<usize>,
    /// Hashed rather than ordered: ingest looks records up far more often than anyone lists
    /// them, and a listing sorts a learner's few records.
    states: States,
    /// The courses the learner has state in (a handful): only a learner's first state in a
    /// course goes into the course's index.
    courses: Vec<Option<CourseId>>,
    /// Sequence number of the last write that changed this learner (a snapshot's records carry
    /// the snapshot's): what a conditional apply compares with its read point.
    seq: u64,
}

/// A learner's evidence ids, 8 bytes each: 32 bits of the id's hash and the index of its record
/// among the learner's positions. An id is compared through its record (in the log, or in the
/// write being claimed), not stored a second time; growing the table moves the 32-bit hashes
/// instead of hashing every id again.
///
/// Limit: the index is 32 bits, so one learner holds fewer than 2^32 records (a terabyte of log).
#[derive(Default)]
struct EvidenceIds {
    table: hashbrown::HashTable<(u32, u32)>,
    hasher: foldhash::fast::RandomState,
}

/// Where an id's record is read: the log, then (positions from the log's end on) the records of
/// the write being claimed, in order.
#[derive(Clone, Copy)]
struct Records<'a> {
    log: &'a Log,
    pending: &'a [&'a Evidence],
}

impl<'a> Records<'a> {
    /// The log alone (no write pending).
    fn logged(log: &'a Log) -> Self {
        Self { log, pending: &[] }
    }

    fn id(&self, position: usize) -> Option<&'a str> {
        match position.checked_sub(self.log.len()) {
            None => Some(self.log.id(position)),
            Some(k) => self.pending.get(k).map(|e| e.id.as_str()),
        }
    }
}

/// The table's hash of a 32-bit check: multiplied out over 64 bits (hashbrown takes its bucket
/// from the low bits and its tag from the top seven).
fn spread(check: u32) -> u64 {
    u64::from(check).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

impl EvidenceIds {
    fn check(&self, id: &EvidenceId) -> u32 {
        (std::hash::BuildHasher::hash_one(&self.hasher, id) >> 32) as u32
    }

    /// Whether an entry is `id` (with check `check`): the check first, then the id of its record.
    fn is<'a>(
        check: u32,
        id: &'a EvidenceId,
        positions: &'a [usize],
        records: Records<'a>,
    ) -> impl Fn(&(u32, u32)) -> bool + 'a {
        move |&(c, i)| c == check && records.id(positions[i as usize]) == Some(id.as_str())
    }

    /// Adds `id`, whose record is `positions[index]`; false when it is there already.
    fn insert(&mut self, id: &EvidenceId, index: usize, positions: &[usize], records: Records<'_>) -> bool {
        let check = self.check(id);
        match self.table.entry(spread(check), Self::is(check, id, positions, records), |&(c, _)| spread(c)) {
            hashbrown::hash_table::Entry::Occupied(_) => false,
            hashbrown::hash_table::Entry::Vacant(slot) => {
                // Truncates only past 2^32 records of one learner (see the limit above).
                slot.insert((check, index as u32));
                true
            }
        }
    }

    fn contains(&self, id: &EvidenceId, positions: &[usize], records: Records<'_>) -> bool {
        let check = self.check(id);
        self.table.find(spread(check), Self::is(check, id, positions, records)).is_some()
    }

    fn remove(&mut self, id: &EvidenceId, positions: &[usize], records: Records<'_>) {
        let check = self.check(id);
        if let Ok(found) = self.table.find_entry(spread(check), Self::is(check, id, positions, records)) {
            found.remove();
        }
    }

    fn is_empty(&self) -> bool {
        self.table.is_empty()
    }
}

/// Records per chunk of [`StateRecords`] (the largest; a place keeps the offset in 12 bits).
const RECORDS_PER_CHUNK: usize = 1 << 12;

/// A tenant's state records in order of their first write, in chunks that never move (the first
/// small, for a small tenant): no record is copied as the store grows, and no slot is left empty
/// but the last chunk's. A record's place is its chunk and its offset in it (`chunk << 12 |
/// offset`).
///
/// Records are never removed; limit: fewer than 2^32 per tenant.
#[derive(Default)]
struct StateRecords {
    chunks: Vec<Vec<(LocalKey, StateValue)>>,
}

impl StateRecords {
    fn get(&self, place: u32) -> &(LocalKey, StateValue) {
        &self.chunks[(place >> 12) as usize][(place & 0xfff) as usize]
    }

    fn get_mut(&mut self, place: u32) -> &mut (LocalKey, StateValue) {
        &mut self.chunks[(place >> 12) as usize][(place & 0xfff) as usize]
    }

    /// Adds a record; returns its place.
    fn push(&mut self, record: (LocalKey, StateValue)) -> u32 {
        if self.chunks.last().is_none_or(|chunk| chunk.len() == chunk.capacity()) {
            self.chunks.push(next_chunk(&self.chunks, 16, RECORDS_PER_CHUNK, 1));
        }
        let last = self.chunks.len() - 1;
        let chunk = &mut self.chunks[last];
        // Truncates only past 2^20 chunks (see the limit above).
        let place = ((last as u32) << 12) | chunk.len() as u32;
        chunk.push(record);
        place
    }
}

/// A learner's state records: a table of 8-byte entries, 32 bits of the key's hash and the
/// record's place among its tenant's [`StateRecords`]. A lookup reads the learner's small table,
/// then the one record it names (a hash map of whole records compared keys inside 256-byte slots,
/// and moved all of a learner's records each time it grew).
#[derive(Default)]
struct States {
    table: hashbrown::HashTable<(u32, u32)>,
    hasher: foldhash::fast::RandomState,
}

impl States {
    fn check(&self, key: &LocalRef<'_>) -> u32 {
        (std::hash::BuildHasher::hash_one(&self.hasher, key) >> 32) as u32
    }

    /// The place of `key`'s record.
    fn find(&self, records: &StateRecords, key: &LocalRef<'_>) -> Option<u32> {
        let check = self.check(key);
        let is = |&(c, place): &(u32, u32)| c == check && key.is(&records.get(place).0);
        self.table.find(spread(check), is).map(|&(_, place)| place)
    }

    fn get<'a>(&self, records: &'a StateRecords, key: &LocalRef<'_>) -> Option<&'a StateValue> {
        self.find(records, key).map(|place| &records.get(place).1)
    }

    fn get_mut<'a>(&self, records: &'a mut StateRecords, key: &LocalRef<'_>) -> Option<&'a mut StateValue> {
        self.find(records, key).map(|place| &mut records.get_mut(place).1)
    }

    /// Adds the record of a key that is not there (see [`States::get_mut`]).
    fn insert_new(&mut self, records: &mut StateRecords, key: LocalKey, value: StateValue) {
        let check = self.check(&key.borrowed());
        let place = records.push((key, value));
        self.table.insert_unique(spread(check), (check, place), |&(c, _)| spread(c));
    }

    fn len(&self) -> usize {
        self.table.len()
    }

    fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// The learner's records, in no particular order.
    fn iter<'a>(&'a self, records: &'a StateRecords) -> impl Iterator<Item = (&'a LocalKey, &'a StateValue)> {
        self.table.iter().map(|&(_, place)| {
            let (key, value) = records.get(place);
            (key, value)
        })
    }
}

impl Learner {
    /// Takes `id` for the record at log position `position` (logged, or pending in `records`);
    /// false when the learner has it already.
    fn claim(&mut self, id: &EvidenceId, position: usize, records: Records<'_>) -> bool {
        if !self.ids.insert(id, self.positions.len(), &self.positions, records) {
            return false;
        }
        self.positions.push(position);
        true
    }

    /// Gives back the id [`Learner::claim`] took last.
    fn unclaim(&mut self, id: &EvidenceId, records: Records<'_>) {
        self.ids.remove(id, &self.positions, records);
        self.positions.pop();
    }

    fn contains(&self, id: &EvidenceId, log: &Log) -> bool {
        self.ids.contains(id, &self.positions, Records::logged(log))
    }

    /// Writes a borrowed state record of this learner; true when it is the learner's first in
    /// its course (the caller indexes the course).
    fn put(&mut self, records: &mut StateRecords, key: &StateKey, value: &StateValue) -> bool {
        if let Some(slot) = self.states.get_mut(records, &local_ref(key)) {
            slot.clone_from(value);
            return false;
        }
        self.states.insert_new(records, local(key), value.clone());
        self.enter(&key.course)
    }

    /// Notes a course the learner has state in; true when it is new.
    fn enter(&mut self, course: &Option<CourseId>) -> bool {
        if self.courses.contains(course) {
            return false;
        }
        self.courses.push(course.clone());
        true
    }

    fn sorted_states<'a>(&'a self, records: &'a StateRecords) -> Vec<(&'a LocalKey, &'a StateValue)> {
        let mut states: Vec<_> = self.states.iter(records).collect();
        states.sort_unstable_by(|a, b| a.0.cmp(b.0));
        states
    }
}

/// A state key within its learner's entry (course, namespace, name): lookups compare only these.
/// Ordered as the tuple of its fields.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
struct LocalKey {
    course: Option<CourseId>,
    namespace: SmolStr,
    name: SmolStr,
}

fn local(key: &StateKey) -> LocalKey {
    LocalKey { course: key.course.clone(), namespace: key.namespace.clone(), name: key.name.clone() }
}

impl LocalKey {
    fn borrowed(&self) -> LocalRef<'_> {
        LocalRef(self.course.as_ref(), &self.namespace, &self.name)
    }
}

/// A [`LocalKey`] borrowed (from a [`StateKey`], or the key itself), so a lookup copies no ids.
/// Hashed without the namespace (a handful of constants): a lookup hashes two ids, not three.
struct LocalRef<'a>(Option<&'a CourseId>, &'a SmolStr, &'a SmolStr);

impl std::hash::Hash for LocalRef<'_> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
        self.2.hash(state);
    }
}

impl LocalRef<'_> {
    /// Whether this is `key` (the name, the likeliest to differ, first).
    fn is(&self, key: &LocalKey) -> bool {
        self.2 == &key.name && self.0 == key.course.as_ref() && self.1 == &key.namespace
    }
}

fn local_ref(key: &StateKey) -> LocalRef<'_> {
    LocalRef(key.course.as_ref(), &key.namespace, &key.name)
}

fn full(learner: &UserId, key: &LocalKey) -> StateKey {
    let LocalKey { course, namespace, name } = key;
    StateKey { learner: learner.clone(), course: course.clone(), namespace: namespace.clone(), name: name.clone() }
}

impl Tenant {
    /// Appends evidence unless its id is stored for the learner; `false` if it was.
    fn append(&mut self, log: &mut Log, tenant: usize, e: &Evidence, seq: u64) -> bool {
        let learner = self.learners.entry_ref(&e.learner).or_default();
        if !learner.claim(&e.id, log.len(), Records::logged(log)) {
            return false;
        }
        learner.seq = seq;
        log.push(tenant, e);
        true
    }

    /// Appends evidence whose id (and position) [`State::claim`] took for its learner.
    fn append_claimed(&mut self, log: &mut Log, tenant: usize, e: &Evidence, seq: u64) {
        let learner = self.learners.entry_ref(&e.learner).or_default();
        learner.seq = seq;
        log.push(tenant, e);
    }

    /// Writes a borrowed state record: the value is copied into its place, the key only when it
    /// is new.
    fn write_state(&mut self, key: &StateKey, value: &StateValue, seq: u64) {
        let learner = self.learners.entry_ref(&key.learner).or_default();
        learner.seq = seq;
        if learner.put(&mut self.records, key, value) {
            self.course_learners.entry(key.course.clone()).or_default().insert(key.learner.clone());
        }
    }

    /// Writes a state record; returns the one it replaced.
    fn insert_state(&mut self, key: StateKey, value: StateValue, seq: u64) -> Option<StateValue> {
        let learner = self.learners.entry_ref(&key.learner).or_default();
        learner.seq = seq;
        if let Some(slot) = learner.states.get_mut(&mut self.records, &local_ref(&key)) {
            return Some(std::mem::replace(slot, value));
        }
        learner.states.insert_new(&mut self.records, local(&key), value);
        if learner.enter(&key.course) {
            self.course_learners.entry(key.course).or_default().insert(key.learner);
        }
        None
    }
}

impl State {
    /// Whether a record of `tenant` is stored, for many records (the tenant is looked up once).
    pub(super) fn evidence_check(&self, tenant: &TenantId) -> impl Fn(&Evidence) -> bool + '_ {
        let tenant = self.tenants.get(tenant);
        move |e| tenant.and_then(|t| t.learners.get(&e.learner)).is_some_and(|l| l.contains(&e.id, &self.log))
    }

    /// Takes the ids of a write's evidence for their learners, in order, with the log positions
    /// the write will give them: all `New` when none is stored or repeats within the write (the
    /// ids stay taken: apply the write, which appends exactly `evidence` to the log next, or
    /// [`State::release`] them); otherwise which are `Duplicate`, and nothing stays taken. One
    /// lookup per record does the duplicate check and the id's insertion.
    pub(super) fn claim(&mut self, tenant_id: &TenantId, evidence: &[&Evidence]) -> Vec<Appended> {
        let records = Records { log: &self.log, pending: evidence };
        let tenant = self.tenants.entry_ref(tenant_id).or_default();
        let claim = |(k, e): (usize, &&Evidence)| {
            let learner = tenant.learners.entry_ref(&e.learner).or_default();
            if learner.claim(&e.id, records.log.len() + k, records) {
                Appended::New
            } else {
                Appended::Duplicate
            }
        };
        let flags: Vec<Appended> = evidence.iter().enumerate().map(claim).collect();
        if flags.contains(&Appended::Duplicate) {
            self.release(tenant_id, evidence, &flags);
        }
        flags
    }

    /// Gives back the ids [`State::claim`] took (`flags[k]` is `New`) for a write that did not
    /// happen, latest first, and the learner entries it made.
    pub(super) fn release(&mut self, tenant_id: &TenantId, evidence: &[&Evidence], flags: &[Appended]) {
        let records = Records { log: &self.log, pending: evidence };
        let Some(tenant) = self.tenants.get_mut(tenant_id) else { return };
        for (e, _) in evidence.iter().zip(flags).rev().filter(|(_, f)| **f == Appended::New) {
            if let Some(learner) = tenant.learners.get_mut(&e.learner) {
                learner.unclaim(&e.id, records);
                if learner.ids.is_empty() && learner.positions.is_empty() && learner.states.is_empty() {
                    tenant.learners.remove(&e.learner);
                }
            }
        }
    }

    fn learner(&self, tenant: &TenantId, learner: &UserId) -> Option<&Learner> {
        self.tenants.get(tenant)?.learners.get(learner)
    }

    /// Applies the changes of one write; `false` if it holds evidence already stored.
    pub(super) fn apply(&mut self, seq: u64, tenant_id: &TenantId, changes: Vec<Change>) -> bool {
        self.seq = seq;
        let tenant = self.tenants.entry(tenant_id.clone()).or_default();
        let number = self.log.tenant_number(tenant_id);
        let mut fresh = true;
        for change in changes {
            match change {
                Change::Evidence(e) => fresh &= tenant.append(&mut self.log, number, &e, seq),
                Change::State { key, value } => {
                    tenant.insert_state(key, value, seq);
                }
            }
        }
        fresh
    }

    /// [`State::apply`] for a write that borrows its changes: each record is copied once, into
    /// its place. The caller has claimed the evidence's ids ([`State::claim`]).
    pub(super) fn apply_refs(&mut self, seq: u64, tenant_id: &TenantId, changes: &[ChangeRef<'_>]) {
        self.seq = seq;
        let tenant = self.tenants.entry(tenant_id.clone()).or_default();
        let number = self.log.tenant_number(tenant_id);
        for change in changes {
            match *change {
                ChangeRef::Evidence(e) => tenant.append_claimed(&mut self.log, number, e, seq),
                ChangeRef::State { key, value } => tenant.write_state(key, value, seq),
            }
        }
    }

    /// [`State::apply_refs`] of a batch's evidence, then its states, each learner looked up once
    /// per record: the states that follow on from the learner of the record just appended (an
    /// engine batch lists a record's states in its order) are written with it. Appending and
    /// writing state touch different parts of a learner, and the states keep their order, so
    /// the result is the same as writing all the evidence, then all the states.
    pub(super) fn apply_batch(
        &mut self,
        seq: u64,
        tenant_id: &TenantId,
        evidence: &[&Evidence],
        states: &[(StateKey, StateValue)],
    ) {
        self.seq = seq;
        let tenant = self.tenants.entry(tenant_id.clone()).or_default();
        let number = self.log.tenant_number(tenant_id);
        let mut next = 0;
        for e in evidence {
            let learner = tenant.learners.entry_ref(&e.learner).or_default();
            learner.seq = seq;
            self.log.push(number, e);
            while let Some((key, value)) = states.get(next).filter(|(key, _)| key.learner == e.learner) {
                if learner.put(&mut tenant.records, key, value) {
                    tenant.course_learners.entry(key.course.clone()).or_default().insert(key.learner.clone());
                }
                next += 1;
            }
        }
        for (key, value) in &states[next..] {
            tenant.write_state(key, value, seq);
        }
    }

    /// Writes a state record; returns the one it replaced.
    pub(super) fn insert_state(&mut self, tenant: &TenantId, key: StateKey, value: StateValue) -> Option<StateValue> {
        let seq = self.seq;
        self.tenants.entry(tenant.clone()).or_default().insert_state(key, value, seq)
    }

    /// Whether a write after `seq` changed the learner's evidence or state.
    pub(super) fn changed_since(&self, tenant: &TenantId, learner: &UserId, seq: u64) -> bool {
        self.learner(tenant, learner).is_some_and(|l| l.seq > seq)
    }

    pub(super) fn evidence_count(&self) -> usize {
        self.log.len()
    }

    pub(super) fn state_count(&self) -> usize {
        self.tenants.values().flat_map(|t| t.learners.values()).map(|l| l.states.len()).sum()
    }

    /// The records from position `first` on, in append order.
    pub(super) fn evidence_from(&self, first: usize) -> impl Iterator<Item = (&TenantId, Evidence)> {
        (first..self.log.len()).map(|p| {
            let (tenant, e) = self.log.get(p);
            (&self.log.tenants[tenant], e)
        })
    }

    /// Every state record, by tenant and key.
    pub(super) fn states(&self) -> impl Iterator<Item = (&TenantId, StateKey, &StateValue)> {
        let mut tenants: Vec<_> = self.tenants.iter().collect();
        tenants.sort_by(|a, b| a.0.cmp(b.0));
        tenants.into_iter().flat_map(|(id, tenant)| {
            let mut learners: Vec<_> = tenant.learners.iter().collect();
            learners.sort_by(|a, b| a.0.cmp(b.0));
            learners.into_iter().flat_map(move |(learner, l)| {
                l.sorted_states(&tenant.records).into_iter().map(move |(k, v)| (id, full(learner, k), v))
            })
        })
    }

    /// A course's records of `tenant` in append order (only the tenant's records are unpacked).
    pub(super) fn course_evidence<'a>(
        &'a self,
        tenant: &TenantId,
        course: &'a CourseId,
    ) -> impl Iterator<Item = Evidence> + 'a {
        let number = self.log.tenant_numbers.get(tenant).copied();
        (0..self.log.len())
            .filter(move |&p| Some(packed::tenant(self.log.bytes(p))) == number)
            .map(|p| self.log.get(p).1)
            .filter(move |e| e.course.as_ref() == Some(course))
    }

    /// One learner's evidence in append order.
    pub(super) fn learner_evidence(&self, tenant: &TenantId, learner: &UserId) -> impl Iterator<Item = Evidence> + '_ {
        let positions = self.learner(tenant, learner).map_or(&[][..], |l| &l.positions[..]);
        positions.iter().map(|&p| self.log.get(p).1)
    }

    pub(super) fn get_state(&self, tenant: &TenantId, key: &StateKey) -> Option<&StateValue> {
        self.state_reader(tenant)(key)
    }

    /// A state of `tenant` by key, for many keys (the tenant is looked up once).
    pub(super) fn state_reader<'a>(&'a self, tenant: &TenantId) -> impl Fn(&StateKey) -> Option<&'a StateValue> + 'a {
        let tenant = self.tenants.get(tenant);
        move |key| {
            let tenant = tenant?;
            tenant.learners.get(&key.learner)?.states.get(&tenant.records, &local_ref(key))
        }
    }

    /// One learner's state records in key order.
    pub(super) fn learner_states<'a>(
        &'a self,
        tenant: &TenantId,
        learner: &'a UserId,
    ) -> impl Iterator<Item = (StateKey, &'a StateValue)> {
        let tenant = self.tenants.get(tenant);
        let entry = tenant.and_then(|t| Some((t.learners.get(learner)?, &t.records)));
        entry
            .into_iter()
            .flat_map(move |(l, records)| l.sorted_states(records).into_iter().map(move |(k, v)| (full(learner, k), v)))
    }

    /// At least as many records as [`State::course_states`] yields (for a `Vec`'s capacity).
    pub(super) fn course_states_bound(&self, tenant: &TenantId, course: &CourseId) -> usize {
        let Some(tenant) = self.tenants.get(tenant) else {
            return 0;
        };
        let learners = tenant.course_learners.get(&Some(course.clone())).into_iter().flatten();
        learners.filter_map(|id| tenant.learners.get(id)).map(|l| l.states.len()).sum()
    }

    /// A course's state records (of every learner with state in it), learner by learner in id
    /// order; a learner's records in no particular order.
    pub(super) fn course_states<'a>(
        &'a self,
        tenant: &TenantId,
        course: &'a CourseId,
    ) -> impl Iterator<Item = (StateKey, &'a StateValue)> {
        let tenant = self.tenants.get(tenant);
        let learners = tenant.and_then(|t| Some((t, t.course_learners.get(&Some(course.clone()))?)));
        learners.into_iter().flat_map(move |(tenant, ids)| {
            ids.iter().filter_map(|id| Some((id, tenant.learners.get(id)?))).flat_map(move |(id, l)| {
                l.states
                    .iter(&tenant.records)
                    .filter(move |(k, _)| k.course.as_ref() == Some(course))
                    .map(move |(k, v)| (full(id, k), v))
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use std::hash::BuildHasher;

    use super::*;

    fn record(id: String, activity: Option<String>) -> Evidence {
        Evidence {
            id: id.into(),
            learner: "amy".into(),
            course: Some("algebra-1".into()),
            competencies: vec!["k1".into(), "k2".into()],
            activity,
            kind: crate::evidence::EvidenceKind::Response,
            score: None,
            success: Some(true),
            completion: None,
            duration_seconds: None,
            occurred_at: None,
            sequence: Some(7),
            source: crate::evidence::EvidenceSource::Host,
        }
    }

    #[test]
    fn the_log_gives_back_every_record_across_chunks_and_an_oversized_one() {
        let mut log = Log::default();
        let tenants = [log.tenant_number(&"district".into()), log.tenant_number(&"other".into())];
        // Small records fill several chunks; one record is larger than a whole chunk.
        let records: Vec<(usize, Evidence)> = (0..30_000)
            .map(|i| {
                let activity = (i == 12_345).then(|| "x".repeat(CHUNK_BYTES + 10));
                (tenants[i % 2], record(format!("e{i}"), activity))
            })
            .collect();
        for (k, (tenant, e)) in records.iter().enumerate() {
            assert_eq!(log.push(*tenant, e), k);
        }
        assert!(log.chunks.len() > 3, "{} chunks", log.chunks.len());
        for (position, (tenant, e)) in records.iter().enumerate() {
            assert_eq!(log.id(position), e.id.as_str());
            assert_eq!(log.get(position), (*tenant, e.clone()));
        }
        // The oversized record sits alone in a chunk of its own; every other chunk is at most
        // CHUNK_BYTES.
        let oversized: Vec<usize> = log.chunks.iter().map(Vec::len).filter(|&len| len > CHUNK_BYTES).collect();
        let mut alone = Vec::new();
        packed::pack(tenants[12_345 % 2], &records[12_345].1, &mut alone);
        assert_eq!(oversized, [alone.len()]);
    }

    #[test]
    fn a_borrowed_key_hashes_and_compares_as_the_owned_key() {
        let hasher = foldhash::fast::FixedState::default();
        for course in [None, Some(CourseId::from("algebra-1"))] {
            let key = StateKey {
                learner: "amy".into(),
                course,
                namespace: "mastery".into(),
                name: "a-competency-id-longer-than-23-bytes".into(),
            };
            let owned = local(&key);
            assert_eq!(hasher.hash_one(owned.borrowed()), hasher.hash_one(local_ref(&key)));
            assert!(local_ref(&key).is(&owned));
            let mut other = owned.clone();
            other.name = "another".into();
            assert!(!local_ref(&key).is(&other));
            // The namespace is compared though not hashed.
            let mut elsewhere = owned.clone();
            elsewhere.namespace = "streak".into();
            assert!(!local_ref(&key).is(&elsewhere));
        }
    }

    #[test]
    fn a_learners_states_are_found_by_key_across_chunks_and_apart_from_another_learners() {
        let key = |course: usize, name: usize| StateKey {
            learner: "amy".into(),
            course: (course > 0).then(|| format!("course-{course}").into()),
            namespace: if name.is_multiple_of(2) { "mastery".into() } else { "streak".into() },
            name: format!("skill-{name}").into(),
        };
        let value = |n: usize| StateValue::Json(serde_json::json!(n));
        let mut records = StateRecords::default();
        let (mut amy, mut bob) = (States::default(), States::default());
        // Enough records for chunks of every size, the largest (4,096) more than once.
        let keys: Vec<StateKey> =
            (0..3).flat_map(|c| (0..3_000).map(move |n| (c, n))).map(|(c, n)| key(c, n)).collect();
        for (n, k) in keys.iter().enumerate() {
            assert!(amy.get(&records, &local_ref(k)).is_none());
            amy.insert_new(&mut records, local(k), value(n));
            // Bob's record of every tenth key, written between Amy's.
            if n % 10 == 0 {
                bob.insert_new(&mut records, local(k), value(n + 1_000_000));
            }
        }
        assert!(records.chunks.len() > 9, "{} chunks", records.chunks.len());
        assert!(records.chunks.iter().all(|chunk| chunk.len() <= RECORDS_PER_CHUNK));
        // Updated in place, found again after every growth of the table.
        *amy.get_mut(&mut records, &local_ref(&keys[5])).expect("stored") = value(99_999);
        for (n, k) in keys.iter().enumerate() {
            let expected = if n == 5 { value(99_999) } else { value(n) };
            assert_eq!(amy.get(&records, &local_ref(k)), Some(&expected));
            let bobs = (n % 10 == 0).then(|| value(n + 1_000_000));
            assert_eq!(bob.get(&records, &local_ref(k)), bobs.as_ref());
        }
        assert_eq!((amy.len(), bob.len()), (keys.len(), keys.len() / 10));
        assert_eq!(amy.iter(&records).count(), keys.len());
        // The same name in another namespace or course, or another name, is not there.
        for missing in [key(3, 1), key(0, 3_000)] {
            assert!(amy.get(&records, &local_ref(&missing)).is_none());
        }
        let mut renamed = local(&keys[0]);
        renamed.namespace = "activity".into();
        assert!(amy.get(&records, &renamed.borrowed()).is_none());
    }
}
