//! The embedded default store: in memory, optionally durable.
//!
//! Durable mode keeps a directory with `snapshot.bin`, `journal.log` and `LOCK`:
//!
//! - Several stores, in one process or several, may open one directory and write concurrently.
//!   Each call locks `LOCK` (an OS file lock: exclusive to write, shared to read) for its own
//!   duration only, and first catches up: it replays the journal frames other stores appended
//!   since it last read (frames carry consecutive sequence numbers, so replay is idempotent), so
//!   every store sees every other's acknowledged writes. `LOCK` holds a generation number that
//!   each compaction bumps; a store that sees it change reads its old journal to the end (it
//!   ends where the new snapshot begins), reloads the snapshot only when it missed more than one
//!   compaction, and follows the new journal.
//! - Lost updates between processes: [`Store::read_version`] gives the read point and
//!   [`Store::apply_since`] refuses a batch with [`MasteryError::StoreConflict`] (writing nothing)
//!   when a learner it touches was written after that point; the engine reads again and retries,
//!   and after repeated conflicts holds other writers off ([`Store::hold_writes`]) for one batch.
//! - Every acknowledged write is one checksummed frame (see `frame.rs`) appended to the journal
//!   and synced before the call returns. A frame carries a sequence number and all the changes of
//!   the call ([`Store::record`] puts evidence and its states in one frame), so a crash keeps all
//!   of it or none.
//! - [`MemoryStore::snapshot`] writes the whole state as checksummed frames to a temporary file,
//!   syncs it, renames it over the old snapshot, syncs the directory, bumps the generation and
//!   only then replaces the journal with an empty one (a rename, so other stores can still read
//!   the old one to its end). The store does this by itself when the journal grows past
//!   [`MemoryStore::with_compaction_threshold`] (4 MiB by default) and past the last snapshot, so
//!   the journal stays bounded and compaction costs O(1) per byte written. A snapshot is written
//!   in 1 MiB chunks (compaction needs no second copy of the state in memory), and the evidence
//!   frames of the previous snapshot, checked, are copied rather than encoded again: evidence
//!   never changes once logged, so a compaction encodes only the states and newer evidence.
//! - Reopening loads the snapshot and replays the journal frames newer than it. A frame cut short
//!   by the end of the journal (a crash mid-write, never acknowledged) is dropped, and truncated
//!   by the next store that holds the exclusive lock (a reader leaves it for the writers);
//!   any other frame that fails its checksum, a gap or repeat in the sequence numbers, or a bad
//!   snapshot is a `store_error` naming the byte offset. Nothing altered is accepted and nothing
//!   is silently dropped.
//!
//! A directory written by an earlier version (`snapshot.json` + `journal.jsonl`) is converted
//! into a snapshot on first open.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::frame::{self, Frame};
use super::{Appended, StateKey, StateValue, Store};
use crate::access::{authorize_course, authorize_learner, authorize_learners, AccessContext, Operation};
use crate::error::{MasteryError, Result};
use crate::evidence::Evidence;
use crate::ids::{CourseId, TenantId, UserId};
use state::State;

mod packed;
mod state;

const JOURNAL_FILE: &str = "journal.log";
const JOURNAL_TMP: &str = "journal.log.tmp";
const SNAPSHOT_FILE: &str = "snapshot.bin";
const SNAPSHOT_TMP: &str = "snapshot.bin.tmp";
const LOCK_FILE: &str = "LOCK";
const LEGACY_SNAPSHOT: &str = "snapshot.json";
const LEGACY_JOURNAL: &str = "journal.jsonl";
const SNAPSHOT_VERSION: u32 = 1;

/// The journal size past which a durable store compacts itself (when it is also larger than the
/// last snapshot).
pub const DEFAULT_COMPACTION_THRESHOLD: u64 = 4 << 20;

/// In-memory store enforcing the access policy in process; durable when opened on a directory.
///
/// Its `Debug` output shows counts only, never evidence or state.
#[derive(Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    state: State,
    journal: Option<Journal>,
}

struct Journal {
    dir: PathBuf,
    file: File,
    /// Bytes of whole frames in the journal that this store has read or written.
    len: u64,
    /// The sequence number of the last of them.
    last: Option<u64>,
    /// `LOCK`, locked per call; it holds the journal generation.
    lock: File,
    /// The generation of `file` (bumped by every compaction, by any store).
    generation: u64,
    /// Engine batches holding the exclusive lock ([`Store::hold_writes`]); while nonzero, calls
    /// of this store neither lock nor unlock.
    held: usize,
    /// Size of the last snapshot written or read.
    snapshot_len: u64,
    /// Where that snapshot holds its evidence, when known.
    snapshot_evidence: Option<EvidenceSection>,
    compaction_threshold: u64,
    /// Set when a write failed in a way that leaves the file in doubt; the store then refuses
    /// writes until reopened (which checks the file).
    broken: bool,
    /// The buffer the last frame was encoded in, kept for the next.
    frame: Vec<u8>,
}

/// Up to which capacity a journal keeps its frame buffer (a huge batch's is dropped).
const KEPT_FRAME_CAPACITY: usize = 16 << 20;

/// One acknowledged write: every change of one call.
#[derive(Serialize, Deserialize)]
struct Entry {
    seq: u64,
    tenant: TenantId,
    changes: Vec<Change>,
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Change {
    Evidence(Evidence),
    State { key: StateKey, value: StateValue },
}

/// A change as a write borrows it (serialised exactly as [`Change`]): the store copies each
/// record once, into its place.
#[derive(Clone, Copy, Serialize)]
#[serde(rename_all = "snake_case")]
enum ChangeRef<'a> {
    Evidence(&'a Evidence),
    State { key: &'a StateKey, value: &'a StateValue },
}

/// The changes of one write as it borrows them: a list, or a batch's evidence then its states
/// (no list of the batch is built). Serialised as one list either way.
#[derive(Clone, Copy)]
enum Changes<'a> {
    List(&'a [ChangeRef<'a>]),
    Batch(&'a [&'a Evidence], &'a [(StateKey, StateValue)]),
}

impl<'a> Changes<'a> {
    fn iter(self) -> impl Iterator<Item = ChangeRef<'a>> {
        let (list, evidence, states) = match self {
            Self::List(list) => (list, &[][..], &[][..]),
            Self::Batch(evidence, states) => (&[][..], evidence, states),
        };
        let evidence = evidence.iter().map(|e| ChangeRef::Evidence(e));
        let states = states.iter().map(|(key, value)| ChangeRef::State { key, value });
        list.iter().copied().chain(evidence).chain(states)
    }
}

impl Changes<'_> {
    /// Applies the changes to `state` as write `seq` of `tenant`.
    fn apply(self, state: &mut State, seq: u64, tenant: &TenantId) {
        match self {
            Self::List(list) => state.apply_refs(seq, tenant, list),
            Self::Batch(evidence, states) => state.apply_batch(seq, tenant, evidence, states),
        }
    }
}

impl Serialize for Changes<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

/// An [`Entry`] as a write borrows it.
#[derive(Serialize)]
struct EntryRef<'a> {
    seq: u64,
    tenant: &'a TenantId,
    changes: Changes<'a>,
}

/// The first frame of a snapshot.
#[derive(Serialize, Deserialize)]
struct SnapshotHead {
    version: u32,
    seq: u64,
    evidence: u64,
    states: u64,
}

#[derive(Serialize, Deserialize)]
struct SnapshotEvidence {
    tenant: TenantId,
    evidence: Evidence,
}

#[derive(Serialize, Deserialize)]
struct SnapshotState {
    tenant: TenantId,
    key: StateKey,
    value: StateValue,
}

/// A [`SnapshotEvidence`] as a snapshot borrows it.
#[derive(Serialize)]
struct SnapshotEvidenceRef<'a> {
    tenant: &'a TenantId,
    evidence: &'a Evidence,
}

/// A [`SnapshotState`] as a snapshot borrows it.
#[derive(Serialize)]
struct SnapshotStateRef<'a> {
    tenant: &'a TenantId,
    key: StateKey,
    value: &'a StateValue,
}

fn io(e: std::io::Error) -> MasteryError {
    MasteryError::Store { reason: e.kind().to_string() }
}

fn store_error(reason: impl Into<String>) -> MasteryError {
    MasteryError::Store { reason: reason.into() }
}

/// Appends `value` as JSON to `out`.
fn write_json<T: Serialize>(value: &T, out: &mut Vec<u8>) -> Result<()> {
    // Never include serde's message: it may quote a learner id.
    serde_json::to_writer(out, value).map_err(|_| store_error("a record cannot be encoded"))
}

/// Where a snapshot file holds its evidence: the frames of the log's first `count` records,
/// ending at byte `end`, after the head frame `head`. Logged evidence never changes, so the next
/// snapshot copies these frames instead of encoding the records again (compaction then encodes
/// the states and the evidence logged since, not the whole log).
struct EvidenceSection {
    head: Vec<u8>,
    count: usize,
    end: u64,
}

/// A snapshot being written: frames are encoded into a buffer handed to the file every
/// [`SNAPSHOT_CHUNK`] bytes, so compaction holds one chunk in memory, not the snapshot.
struct SnapshotWriter {
    file: File,
    buffer: Vec<u8>,
    /// Bytes handed to the file.
    flushed: u64,
}

/// How many bytes of a snapshot are encoded before they are written.
const SNAPSHOT_CHUNK: usize = 1 << 20;

impl SnapshotWriter {
    fn frame<T: Serialize>(&mut self, value: &T) -> Result<()> {
        frame::encode_with(frame::SNAPSHOT, &mut self.buffer, |out| write_json(value, out))?;
        self.flush_if_full()
    }

    fn flush_if_full(&mut self) -> Result<()> {
        if self.buffer.len() < SNAPSHOT_CHUNK {
            return Ok(());
        }
        self.flush()
    }

    fn flush(&mut self) -> Result<()> {
        self.file.write_all(&self.buffer).map_err(io)?;
        self.flushed += self.buffer.len() as u64;
        self.buffer.clear();
        Ok(())
    }

    fn position(&self) -> u64 {
        self.flushed + self.buffer.len() as u64
    }

    /// Drops what was written after `position`.
    fn rewind(&mut self, position: u64) -> Result<()> {
        if position >= self.flushed {
            self.buffer.truncate((position - self.flushed) as usize);
            return Ok(());
        }
        self.buffer.clear();
        self.file.set_len(position).map_err(io)?;
        self.file.seek(SeekFrom::Start(position)).map_err(io)?;
        self.flushed = position;
        Ok(())
    }

    /// Copies `section`'s frames from the snapshot in `dir`, each checked: the file must begin
    /// with the same head frame (same sequence number and counts) and hold `count` intact
    /// frames where the section says. False (nothing copied) when the file is another one (a
    /// store died between replacing the snapshot and bumping the generation) or unreadable:
    /// the caller then encodes the evidence.
    fn copy_evidence(&mut self, section: &EvidenceSection, dir: &Path) -> Result<bool> {
        let start = self.position();
        let copied = self.try_copy_evidence(section, dir).unwrap_or(false)
            && self.position() - start + section.head.len() as u64 == section.end;
        if !copied {
            self.rewind(start)?;
        }
        Ok(copied)
    }

    fn try_copy_evidence(&mut self, section: &EvidenceSection, dir: &Path) -> Result<bool> {
        let mut file =
            std::io::BufReader::with_capacity(SNAPSHOT_CHUNK, File::open(dir.join(SNAPSHOT_FILE)).map_err(io)?);
        let mut head = vec![0; section.head.len()];
        file.read_exact(&mut head).map_err(io)?;
        if head != section.head {
            return Ok(false);
        }
        for _ in 0..section.count {
            let at = self.buffer.len();
            self.buffer.resize(at + frame::HEADER_LEN, 0);
            file.read_exact(&mut self.buffer[at..]).map_err(io)?;
            let Some(len) = frame::frame_len(&self.buffer[at..], frame::SNAPSHOT) else { return Ok(false) };
            self.buffer.resize(at + len, 0);
            file.read_exact(&mut self.buffer[at + frame::HEADER_LEN..]).map_err(io)?;
            if !matches!(frame::read(&self.buffer, at, frame::SNAPSHOT), Frame::Record { .. }) {
                return Ok(false);
            }
            self.flush_if_full()?;
        }
        Ok(true)
    }
}

impl State {
    /// Writes the snapshot into `out`; returns where its evidence is. `earlier`: where the
    /// snapshot in `dir` holds the evidence frames of the log's first records (copied as they
    /// are when they check out).
    fn encode_snapshot(
        &self,
        out: &mut SnapshotWriter,
        earlier: Option<&EvidenceSection>,
        dir: &Path,
    ) -> Result<EvidenceSection> {
        let head = SnapshotHead {
            version: SNAPSHOT_VERSION,
            seq: self.seq,
            evidence: self.evidence_count() as u64,
            states: self.state_count() as u64,
        };
        out.frame(&head)?;
        let head = out.buffer.clone();
        let mut skipped = 0;
        if let Some(section) = earlier.filter(|section| section.count <= self.evidence_count()) {
            if out.copy_evidence(section, dir)? {
                skipped = section.count;
            }
        }
        for (tenant, evidence) in self.evidence_from(skipped) {
            out.frame(&SnapshotEvidenceRef { tenant, evidence: &evidence })?;
        }
        let section = EvidenceSection { head, count: self.evidence_count(), end: out.position() };
        for (tenant, key, value) in self.states() {
            out.frame(&SnapshotStateRef { tenant, key, value })?;
        }
        Ok(section)
    }

    fn decode_snapshot(bytes: &[u8]) -> Result<(Self, EvidenceSection)> {
        fn next<'a>(bytes: &'a [u8], at: &mut usize) -> Result<(usize, &'a [u8])> {
            match frame::read(bytes, *at, frame::SNAPSHOT) {
                Frame::Record { payload, end } => {
                    let start = std::mem::replace(at, end);
                    Ok((start, payload))
                }
                Frame::End | Frame::Torn => Err(store_error(format!("snapshot is cut short at byte {at}"))),
                Frame::Corrupt(what) => Err(store_error(format!("snapshot record at byte {at} {what}"))),
            }
        }
        fn parse<'a, T: Deserialize<'a>>((at, payload): (usize, &'a [u8])) -> Result<T> {
            serde_json::from_slice(payload)
                .map_err(|_| store_error(format!("snapshot record at byte {at} is unreadable")))
        }
        let mut at = 0;
        let head: SnapshotHead = parse(next(bytes, &mut at)?)?;
        if head.version != SNAPSHOT_VERSION {
            return Err(MasteryError::UnsupportedVersion { what: "store snapshot", version: head.version.to_string() });
        }
        let head_frame = bytes[..at].to_vec();
        let mut state = State::default();
        state.seq = head.seq;
        for _ in 0..head.evidence {
            let start = at;
            let record: SnapshotEvidence = parse(next(bytes, &mut at)?)?;
            if !state.apply(head.seq, &record.tenant, vec![Change::Evidence(record.evidence)]) {
                return Err(store_error(format!("snapshot record at byte {start} repeats stored evidence")));
            }
        }
        let section = EvidenceSection { head: head_frame, count: state.evidence_count(), end: at as u64 };
        for _ in 0..head.states {
            let start = at;
            let record: SnapshotState = parse(next(bytes, &mut at)?)?;
            if state.insert_state(&record.tenant, record.key, record.value).is_some() {
                return Err(store_error(format!("snapshot record at byte {start} repeats a state")));
            }
        }
        if at != bytes.len() {
            return Err(store_error(format!("snapshot has unexpected bytes at byte {at}")));
        }
        Ok((state, section))
    }
}

/// Writes the snapshot of `state` as `dir/snapshot.bin` atomically: temporary file, sync, rename,
/// sync the directory. Returns its size and where its evidence is (`earlier`: see
/// [`State::encode_snapshot`]).
fn write_snapshot(dir: &Path, state: &State, earlier: Option<&EvidenceSection>) -> Result<(u64, EvidenceSection)> {
    let tmp = dir.join(SNAPSHOT_TMP);
    let file = File::create(&tmp).map_err(io)?;
    let mut out = SnapshotWriter { file, buffer: Vec::with_capacity(SNAPSHOT_CHUNK + (64 << 10)), flushed: 0 };
    let section = state.encode_snapshot(&mut out, earlier, dir)?;
    out.flush()?;
    out.file.sync_all().map_err(io)?;
    drop(out.file);
    fs::rename(&tmp, dir.join(SNAPSHOT_FILE)).map_err(io)?;
    sync_dir(dir)?;
    Ok((out.flushed, section))
}

fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        File::open(dir).and_then(|d| d.sync_all()).map_err(io)
    }
    #[cfg(not(unix))]
    {
        // Directories cannot be opened for syncing everywhere; the rename is still atomic.
        let _ = dir;
        Ok(())
    }
}

/// Opens (creating) a file for reading and appending.
fn open_append(path: &Path) -> Result<File> {
    OpenOptions::new().read(true).append(true).create(true).open(path).map_err(io)
}

/// Removes `path` if it exists.
fn remove_if_present(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io(e)),
    }
}

/// A snapshot as read: the state, the file's size and where its evidence is.
struct LoadedSnapshot {
    state: State,
    len: u64,
    evidence: Option<EvidenceSection>,
}

/// The snapshot (an empty state when there is none).
fn read_snapshot(dir: &Path) -> Result<LoadedSnapshot> {
    match fs::read(dir.join(SNAPSHOT_FILE)) {
        Ok(bytes) => {
            let (state, section) = State::decode_snapshot(&bytes)?;
            Ok(LoadedSnapshot { state, len: bytes.len() as u64, evidence: Some(section) })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Ok(LoadedSnapshot { state: State::default(), len: 0, evidence: None })
        }
        Err(e) => Err(io(e)),
    }
}

/// The sequence number and size of the snapshot (0 and 0 when there is none).
fn snapshot_head(dir: &Path) -> Result<(u64, u64)> {
    let bytes = match fs::read(dir.join(SNAPSHOT_FILE)) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((0, 0)),
        Err(e) => return Err(io(e)),
    };
    let Frame::Record { payload, .. } = frame::read(&bytes, 0, frame::SNAPSHOT) else {
        return Err(store_error("snapshot record at byte 0 fails its checksum"));
    };
    let head: SnapshotHead =
        serde_json::from_slice(payload).map_err(|_| store_error("snapshot record at byte 0 is unreadable"))?;
    Ok((head.seq, bytes.len() as u64))
}

/// The journal generation kept in `LOCK` (0 for an empty file, as older versions left it).
fn read_generation(mut lock: &File) -> Result<u64> {
    let mut word = [0u8; 8];
    lock.seek(SeekFrom::Start(0)).map_err(io)?;
    let mut got = 0;
    while got < word.len() {
        match lock.read(&mut word[got..]).map_err(io)? {
            0 => break,
            n => got += n,
        }
    }
    Ok(if got == word.len() { u64::from_le_bytes(word) } else { 0 })
}

fn write_generation(mut lock: &File, generation: u64) -> Result<()> {
    lock.seek(SeekFrom::Start(0)).map_err(io)?;
    // Only live stores read it (a reopen reads the files themselves): no sync needed.
    lock.write_all(&generation.to_le_bytes()).map_err(io)
}

impl MemoryStore {
    /// A store that lives only in memory.
    pub fn new() -> Self {
        Self::default()
    }

    /// Opens (or creates) a durable store in `dir`, replaying what earlier and concurrent stores
    /// acknowledged. Other stores, in this process or others, may have the directory open too.
    ///
    /// Fails with `store_error` when a file fails its checksums (the message names the file and
    /// byte offset).
    pub fn open(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref().to_path_buf();
        fs::create_dir_all(&dir).map_err(io)?;
        let lock = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(dir.join(LOCK_FILE));
        let lock = lock.map_err(io)?;
        // Exclusive: migration, removing temporary files and cutting a torn tail are writes.
        lock.lock().map_err(io)?;
        let loaded = Self::load(&dir, &lock);
        let unlocked = lock.unlock().map_err(io);
        let (LoadedSnapshot { state, len: snapshot_len, evidence }, file, generation) = loaded?;
        unlocked?;
        let mut journal = Journal {
            dir,
            file,
            len: 0,
            last: None,
            lock,
            generation,
            held: 0,
            snapshot_len,
            snapshot_evidence: evidence,
            compaction_threshold: DEFAULT_COMPACTION_THRESHOLD,
            broken: false,
            frame: Vec::new(),
        };
        let mut state = state;
        journal.locked(&mut state, true, |_, _| Ok(()))?;
        Ok(Self { inner: Mutex::new(Inner { state, journal: Some(journal) }) })
    }

    /// The snapshot, the journal (not read yet) and its generation; under the exclusive lock.
    fn load(dir: &Path, lock: &File) -> Result<(LoadedSnapshot, File, u64)> {
        migrate_legacy(dir)?;
        remove_if_present(&dir.join(SNAPSHOT_TMP))?;
        remove_if_present(&dir.join(JOURNAL_TMP))?;
        let generation = read_generation(lock)?;
        let snapshot = read_snapshot(dir)?;
        let file = open_append(&dir.join(JOURNAL_FILE))?;
        Ok((snapshot, file, generation))
    }

    /// Sets the journal size past which the store compacts itself (it also waits until the
    /// journal is larger than the last snapshot). No effect on a store that lives in memory only.
    pub fn with_compaction_threshold(self, bytes: u64) -> Self {
        if let Some(journal) = &mut self.lock().journal {
            journal.compaction_threshold = bytes;
        }
        self
    }

    /// Writes the whole state atomically and empties the journal (durable stores only).
    pub fn snapshot(&self) -> Result<()> {
        let mut inner = self.lock();
        let Inner { state, journal } = &mut *inner;
        match journal {
            Some(journal) => journal.locked(state, true, |journal, state| journal.snapshot(state)),
            None => Ok(()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave `Inner` half-written: writes change memory
        // only after the journal has them, and `apply` does not panic.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The state for a read, caught up with what other stores on the directory wrote.
    fn read(&self) -> Result<MutexGuard<'_, Inner>> {
        let mut inner = self.lock();
        let Inner { state, journal } = &mut *inner;
        if let Some(journal) = journal {
            journal.locked(state, false, |_, _| Ok(()))?;
        }
        Ok(inner)
    }

    /// Stores the changes of one call as one journal frame. If evidence among them is stored
    /// already, nothing is written and the answer is `Duplicate`.
    fn write(&self, tenant: &TenantId, changes: &[ChangeRef<'_>]) -> Result<Appended> {
        let mut inner = self.lock();
        let Inner { state, journal } = &mut *inner;
        let evidence: Vec<&Evidence> = changes
            .iter()
            .filter_map(|c| match *c {
                ChangeRef::Evidence(e) => Some(e),
                ChangeRef::State { .. } => None,
            })
            .collect();
        let write = |state: &mut State, journal: Option<&mut Journal>| {
            let flags = state.claim(tenant, &evidence);
            if flags.contains(&Appended::Duplicate) {
                return Ok(Appended::Duplicate);
            }
            let committed = Self::commit(state, journal, tenant, Changes::List(changes));
            if committed.is_err() {
                state.release(tenant, &evidence, &flags);
            }
            committed.map(|()| Appended::New)
        };
        match journal {
            Some(journal) => journal.locked(state, true, |journal, state| write(state, Some(journal))),
            None => write(state, None),
        }
    }

    /// Writes a batch as one frame (one sync) when none of its evidence is stored yet and (with
    /// `since`) no learner it touches was written after `since`.
    fn write_batch(
        &self,
        tenant: &TenantId,
        evidence: &[&Evidence],
        states: &[(StateKey, StateValue)],
        since: Option<u64>,
    ) -> Result<Vec<Appended>> {
        let mut inner = self.lock();
        let Inner { state, journal } = &mut *inner;
        let write = |state: &mut State, journal: Option<&mut Journal>| {
            let flags = state.claim(tenant, evidence);
            if flags.contains(&Appended::Duplicate) {
                return Ok(flags);
            }
            let written = Self::write_claimed(state, journal, tenant, evidence, states, since);
            if written.is_err() {
                state.release(tenant, evidence, &flags);
            }
            written.map(|()| flags)
        };
        match journal {
            Some(journal) => journal.locked(state, true, |journal, state| write(state, Some(journal))),
            None => write(state, None),
        }
    }

    /// The rest of [`MemoryStore::write_batch`] once the evidence ids are claimed.
    fn write_claimed(
        state: &mut State,
        journal: Option<&mut Journal>,
        tenant: &TenantId,
        evidence: &[&Evidence],
        states: &[(StateKey, StateValue)],
        since: Option<u64>,
    ) -> Result<()> {
        if let Some(since) = since {
            // A batch lists a learner's records together: look each run of them up once.
            let mut previous: Option<&UserId> = None;
            for learner in evidence.iter().map(|e| &e.learner).chain(states.iter().map(|(k, _)| &k.learner)) {
                if previous != Some(learner) {
                    if state.changed_since(tenant, learner, since) {
                        return Err(MasteryError::StoreConflict);
                    }
                    previous = Some(learner);
                }
            }
        }
        Self::commit(state, journal, tenant, Changes::Batch(evidence, states))
    }

    /// Appends one frame and applies it; the durable caller holds the exclusive lock and has
    /// caught up, so the sequence number is the directory's next.
    fn commit(state: &mut State, journal: Option<&mut Journal>, tenant: &TenantId, changes: Changes<'_>) -> Result<()> {
        let seq = state.seq + 1;
        let Some(journal) = journal else {
            changes.apply(state, seq, tenant);
            return Ok(());
        };
        journal.append(seq, &EntryRef { seq, tenant, changes })?;
        changes.apply(state, seq, tenant);
        if journal.len > journal.compaction_threshold.max(journal.snapshot_len) {
            // The write is durable already; a failed compaction is retried on the next write and
            // `snapshot()` reports its error.
            let _ = journal.snapshot(state);
        }
        Ok(())
    }
}

impl Journal {
    /// Runs `f` holding `LOCK` (exclusive to write, shared to read) after catching up with what
    /// other stores wrote; releases the lock whatever `f` returns.
    fn locked<T>(
        &mut self,
        state: &mut State,
        exclusive: bool,
        f: impl FnOnce(&mut Self, &mut State) -> Result<T>,
    ) -> Result<T> {
        if self.held > 0 {
            // An engine batch of this store holds the exclusive lock already.
            self.catch_up(state, true)?;
            return f(self, state);
        }
        if exclusive { self.lock.lock() } else { self.lock.lock_shared() }.map_err(io)?;
        let result = self.catch_up(state, exclusive).and_then(|()| f(self, state));
        let unlocked = self.lock.unlock().map_err(io);
        let value = result?;
        unlocked?;
        Ok(value)
    }

    /// Brings `state` up to date with the directory (under the lock).
    fn catch_up(&mut self, state: &mut State, exclusive: bool) -> Result<()> {
        let generation = read_generation(&self.lock)?;
        if generation != self.generation {
            // Another store compacted. The journal this store reads ends where that snapshot
            // begins: read it to its end, and load the snapshot only if it is newer still (more
            // than one compaction happened meanwhile).
            self.read_on(state, false)?;
            let (snapshot_seq, snapshot_len) = snapshot_head(&self.dir)?;
            // The other store's snapshot is not read unless needed, so where its evidence is
            // stays unknown (the next compaction here encodes all of it).
            self.snapshot_evidence = None;
            if snapshot_seq > state.seq {
                let loaded = read_snapshot(&self.dir)?;
                *state = loaded.state;
                self.snapshot_evidence = loaded.evidence;
            }
            self.file = open_append(&self.dir.join(JOURNAL_FILE))?;
            self.len = 0;
            self.last = None;
            self.snapshot_len = snapshot_len;
            self.generation = generation;
        }
        self.read_on(state, exclusive)
    }

    /// Replays the frames appended to the journal after the ones this store has. A torn tail (a
    /// writer died mid-frame) is cut off under the exclusive lock and left to the writers under
    /// the shared one.
    fn read_on(&mut self, state: &mut State, exclusive: bool) -> Result<()> {
        let end = self.file.metadata().map_err(io)?.len();
        if end == self.len {
            return Ok(());
        }
        if end < self.len {
            return Err(store_error("journal is shorter than the records already read from it"));
        }
        let mut bytes = vec![0; usize::try_from(end - self.len).map_err(|_| store_error("journal is too large"))?];
        (&self.file).seek(SeekFrom::Start(self.len)).map_err(io)?;
        (&self.file).read_exact(&mut bytes).map_err(io)?;
        let whole = replay(state, &bytes, self.len, &mut self.last)?;
        self.len += whole as u64;
        if whole < bytes.len() && exclusive {
            self.file.set_len(self.len).map_err(io)?;
            self.file.sync_all().map_err(io)?;
        }
        Ok(())
    }

    /// Appends `entry` as one frame and syncs it.
    fn append(&mut self, seq: u64, entry: &EntryRef<'_>) -> Result<()> {
        // The frame is encoded in place, into the buffer of earlier writes (unless that grew huge).
        let mut bytes = std::mem::take(&mut self.frame);
        bytes.clear();
        let written = self.write_frame(seq, entry, &mut bytes);
        if bytes.capacity() <= KEPT_FRAME_CAPACITY {
            self.frame = bytes;
        }
        written
    }

    fn write_frame(&mut self, seq: u64, entry: &EntryRef<'_>, bytes: &mut Vec<u8>) -> Result<()> {
        frame::encode_with(frame::JOURNAL, bytes, |out| write_json(entry, out))?;
        if self.broken {
            return Err(store_error("an earlier write failed; reopen the store"));
        }
        if let Err(e) = self.file.write_all(bytes) {
            // Cut a partial frame off so later writes do not land behind it; if that fails too,
            // refuse writes until a reopen checks the file.
            self.broken = self.file.set_len(self.len).is_err();
            return Err(io(e));
        }
        if let Err(e) = self.file.sync_data() {
            // After a failed sync the file's state is unknown (the frame may still reach the
            // disk): refuse writes until a reopen checks the file.
            self.broken = true;
            let _ = self.file.set_len(self.len);
            return Err(io(e));
        }
        self.len += bytes.len() as u64;
        self.last = Some(seq);
        Ok(())
    }

    /// Compacts (under the exclusive lock, caught up).
    fn snapshot(&mut self, state: &State) -> Result<()> {
        if self.broken {
            return Err(store_error("an earlier write failed; reopen the store"));
        }
        let earlier = self.snapshot_evidence.take();
        let (len, evidence) = write_snapshot(&self.dir, state, earlier.as_ref())?;
        self.snapshot_len = len;
        self.snapshot_evidence = Some(evidence);
        // The generation changes before the journal does, so no store can keep appending to a
        // journal that was replaced. A failure from here on leaves the old journal, whose frames
        // the snapshot has (they are skipped by sequence number).
        let generation = self.generation + 1;
        write_generation(&self.lock, generation)?;
        let tmp = self.dir.join(JOURNAL_TMP);
        File::create(&tmp).and_then(|f| f.sync_all()).map_err(io)?;
        fs::rename(&tmp, self.dir.join(JOURNAL_FILE)).map_err(io)?;
        sync_dir(&self.dir)?;
        self.file = open_append(&self.dir.join(JOURNAL_FILE))?;
        self.len = 0;
        self.last = None;
        self.generation = generation;
        Ok(())
    }
}

/// Replays the journal `bytes` (found at byte `base` of the journal) onto `state`; frames the
/// state has already are skipped. `last` is the sequence number of the frame before `bytes`.
/// Returns the length of the whole frames (a torn final frame is not counted).
fn replay(state: &mut State, bytes: &[u8], base: u64, last: &mut Option<u64>) -> Result<usize> {
    let mut at = 0;
    loop {
        let offset = base + at as u64;
        let (payload, end) = match frame::read(bytes, at, frame::JOURNAL) {
            Frame::Record { payload, end } => (payload, end),
            Frame::End | Frame::Torn => return Ok(at),
            Frame::Corrupt(what) => return Err(store_error(format!("journal record at byte {offset} {what}"))),
        };
        let entry: Entry = serde_json::from_slice(payload)
            .map_err(|_| store_error(format!("journal record at byte {offset} is unreadable")))?;
        let expected = match *last {
            Some(prev) => prev.checked_add(1),
            // The journal may still hold frames the snapshot already has (a crash between the
            // snapshot's rename and the journal's replacement), never a gap after it.
            None if entry.seq <= state.seq.saturating_add(1) && entry.seq > 0 => Some(entry.seq),
            None => None,
        };
        if expected != Some(entry.seq) {
            return Err(store_error(format!("journal record at byte {offset} is out of sequence")));
        }
        *last = Some(entry.seq);
        if entry.seq > state.seq && !state.apply(entry.seq, &entry.tenant, entry.changes) {
            return Err(store_error(format!("journal record at byte {offset} repeats stored evidence")));
        }
        at = end;
    }
}

/// Converts a directory of the JSON-lines format into a snapshot, then removes the old files.
fn migrate_legacy(dir: &Path) -> Result<()> {
    #[derive(Deserialize)]
    struct LegacyState {
        seq: u64,
        evidence: Vec<(TenantId, Evidence)>,
        states: BTreeMap<String, (TenantId, StateKey, Value)>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum LegacyChange {
        Evidence(Evidence),
        State { key: StateKey, value: Value },
    }
    #[derive(Deserialize)]
    struct LegacyEntry {
        seq: u64,
        tenant: TenantId,
        #[serde(flatten)]
        write: LegacyChange,
    }
    let legacy_snapshot = dir.join(LEGACY_SNAPSHOT);
    let legacy_journal = dir.join(LEGACY_JOURNAL);
    if !legacy_snapshot.exists() && !legacy_journal.exists() {
        return Ok(());
    }
    // A snapshot in the new format means an earlier conversion finished writing it.
    if !dir.join(SNAPSHOT_FILE).exists() {
        let mut state = State::default();
        match fs::read(&legacy_snapshot) {
            Ok(bytes) => {
                let old: LegacyState =
                    serde_json::from_slice(&bytes).map_err(|_| store_error("legacy snapshot is corrupt"))?;
                state.seq = old.seq;
                for (tenant, e) in old.evidence {
                    state.apply(old.seq, &tenant, vec![Change::Evidence(e)]);
                }
                for (_, (tenant, key, value)) in old.states {
                    state.insert_state(&tenant, key, StateValue::Json(value));
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(e)),
        }
        match fs::read(&legacy_journal) {
            Ok(bytes) => {
                let lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
                let last = lines.len() - 1;
                for (i, line) in lines.into_iter().enumerate() {
                    match serde_json::from_slice::<LegacyEntry>(line) {
                        Ok(entry) if entry.seq > state.seq => {
                            let change = match entry.write {
                                LegacyChange::Evidence(e) => Change::Evidence(e),
                                LegacyChange::State { key, value } => {
                                    Change::State { key, value: StateValue::Json(value) }
                                }
                            };
                            state.apply(entry.seq, &entry.tenant, vec![change]);
                        }
                        Ok(_) => {}
                        // The text after the last newline was never acknowledged.
                        Err(_) if i == last => {}
                        Err(_) => return Err(store_error("legacy journal is corrupt")),
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(e)),
        }
        write_snapshot(dir, &state, None)?;
    }
    for path in [legacy_journal, legacy_snapshot] {
        match fs::remove_file(path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(e)),
        }
    }
    sync_dir(dir)
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = f.debug_struct("MemoryStore");
        match self.inner.try_lock() {
            Ok(inner) => out
                .field("durable", &inner.journal.is_some())
                .field("seq", &inner.state.seq)
                .field("evidence", &inner.state.evidence_count())
                .field("states", &inner.state.state_count()),
            Err(_) => out.field("busy", &true),
        };
        out.finish_non_exhaustive()
    }
}

/// The policy for a batch write: every record and every state's learner and course.
fn authorize_writes(ctx: &AccessContext, evidence: &[&Evidence], states: &[(StateKey, StateValue)]) -> Result<()> {
    let records = evidence.iter().map(|e| (&e.learner, e.course.as_ref()));
    let keys = states.iter().map(|(k, _)| (&k.learner, k.course.as_ref()));
    authorize_learners(ctx, Operation::Write, ctx.tenant(), records.chain(keys))
}

impl Store for MemoryStore {
    type Error = MasteryError;

    fn append_evidence(&self, ctx: &AccessContext, evidence: &Evidence) -> Result<Appended> {
        authorize_learner(ctx, Operation::Write, ctx.tenant(), &evidence.learner, evidence.course.as_ref())?;
        self.write(ctx.tenant(), &[ChangeRef::Evidence(evidence)])
    }

    fn record(&self, ctx: &AccessContext, evidence: &Evidence, states: &[(StateKey, StateValue)]) -> Result<Appended> {
        let tenant = ctx.tenant();
        authorize_learner(ctx, Operation::Write, tenant, &evidence.learner, evidence.course.as_ref())?;
        for (key, _) in states {
            authorize_learner(ctx, Operation::Write, tenant, &key.learner, key.course.as_ref())?;
        }
        let mut changes = Vec::with_capacity(states.len() + 1);
        changes.push(ChangeRef::Evidence(evidence));
        changes.extend(states.iter().map(|(key, value)| ChangeRef::State { key, value }));
        self.write(tenant, &changes)
    }

    fn apply(
        &self,
        ctx: &AccessContext,
        evidence: &[&Evidence],
        states: &[(StateKey, StateValue)],
    ) -> Result<Vec<Appended>> {
        let tenant = ctx.tenant();
        authorize_writes(ctx, evidence, states)?;
        self.write_batch(tenant, evidence, states, None)
    }

    /// The sequence number of the last write this store has seen (after catching up). `None` for
    /// a store in memory only: nothing but its own callers writes it, and the engine serialises
    /// each learner's batches itself.
    fn read_version(&self, _ctx: &AccessContext) -> Result<Option<u64>> {
        let inner = self.read()?;
        Ok(inner.journal.as_ref().map(|_| inner.state.seq))
    }

    fn apply_since(
        &self,
        ctx: &AccessContext,
        since: u64,
        evidence: &[&Evidence],
        states: &[(StateKey, StateValue)],
    ) -> Result<Vec<Appended>> {
        let tenant = ctx.tenant();
        authorize_writes(ctx, evidence, states)?;
        self.write_batch(tenant, evidence, states, Some(since))
    }

    /// Takes the directory's exclusive lock until [`Store::release_writes`] (durable stores;
    /// other calls of this store go on meanwhile, other stores on the directory wait).
    fn hold_writes(&self, _ctx: &AccessContext) -> Result<bool> {
        let mut inner = self.lock();
        let Some(journal) = &mut inner.journal else { return Ok(false) };
        if journal.held == 0 {
            journal.lock.lock().map_err(io)?;
        }
        journal.held += 1;
        Ok(true)
    }

    fn release_writes(&self, _ctx: &AccessContext) -> Result<()> {
        let mut inner = self.lock();
        let Some(journal) = &mut inner.journal else { return Ok(()) };
        if journal.held == 0 {
            return Ok(());
        }
        journal.held -= 1;
        if journal.held == 0 {
            journal.lock.unlock().map_err(io)?;
        }
        Ok(())
    }

    fn known_evidence(&self, ctx: &AccessContext, evidence: &[&Evidence]) -> Result<Vec<bool>> {
        let tenant = ctx.tenant();
        for e in evidence {
            authorize_learner(ctx, Operation::Read, tenant, &e.learner, e.course.as_ref())?;
        }
        let inner = self.read()?;
        let stored = inner.state.evidence_check(tenant);
        Ok(evidence.iter().map(|e| stored(e)).collect())
    }

    fn learner_evidence(&self, ctx: &AccessContext, learner: &UserId) -> Result<Vec<Evidence>> {
        let tenant = ctx.tenant();
        let inner = self.read()?;
        let mine = inner.state.learner_evidence(tenant, learner);
        // An instructor may read a learner's evidence only from courses they teach.
        if authorize_learner(ctx, Operation::Read, tenant, learner, None).is_ok() {
            return Ok(mine.collect());
        }
        let visible: Vec<Evidence> = mine
            .filter(|e| authorize_learner(ctx, Operation::Read, tenant, learner, e.course.as_ref()).is_ok())
            .collect();
        if visible.is_empty() {
            authorize_learner(ctx, Operation::Read, tenant, learner, None)?;
        }
        Ok(visible)
    }

    fn course_evidence(&self, ctx: &AccessContext, course: &CourseId) -> Result<Vec<Evidence>> {
        authorize_course(ctx, Operation::Read, ctx.tenant(), course)?;
        let inner = self.read()?;
        Ok(inner.state.course_evidence(ctx.tenant(), course).collect())
    }

    fn get_state(&self, ctx: &AccessContext, key: &StateKey) -> Result<Option<StateValue>> {
        authorize_learner(ctx, Operation::Read, ctx.tenant(), &key.learner, key.course.as_ref())?;
        Ok(self.read()?.state.get_state(ctx.tenant(), key).cloned())
    }

    fn get_states(&self, ctx: &AccessContext, keys: &[StateKey]) -> Result<Vec<Option<StateValue>>> {
        let mut out = Vec::with_capacity(keys.len());
        self.get_states_into(ctx, keys, &mut out)?;
        Ok(out)
    }

    fn get_states_into(&self, ctx: &AccessContext, keys: &[StateKey], out: &mut Vec<Option<StateValue>>) -> Result<()> {
        authorize_learners(ctx, Operation::Read, ctx.tenant(), keys.iter().map(|k| (&k.learner, k.course.as_ref())))?;
        let inner = self.read()?;
        let read = inner.state.state_reader(ctx.tenant());
        out.clear();
        out.extend(keys.iter().map(|key| read(key).cloned()));
        Ok(())
    }

    fn put_state(&self, ctx: &AccessContext, key: &StateKey, value: &StateValue) -> Result<()> {
        authorize_learner(ctx, Operation::Write, ctx.tenant(), &key.learner, key.course.as_ref())?;
        self.write(ctx.tenant(), &[ChangeRef::State { key, value }]).map(drop)
    }

    fn learner_states(
        &self,
        ctx: &AccessContext,
        learner: &UserId,
        namespace: &str,
    ) -> Result<Vec<(StateKey, StateValue)>> {
        let tenant = ctx.tenant();
        // Everything, or (an instructor) only the courses the caller teaches.
        let all = authorize_learner(ctx, Operation::Read, tenant, learner, None).is_ok();
        let inner = self.read()?;
        let visible: Vec<(StateKey, StateValue)> = inner
            .state
            .learner_states(tenant, learner)
            .filter(|(k, _)| k.namespace == namespace)
            .filter(|(k, _)| all || authorize_learner(ctx, Operation::Read, tenant, learner, k.course.as_ref()).is_ok())
            .map(|(k, v)| (k, v.clone()))
            .collect();
        if visible.is_empty() && !all {
            authorize_learner(ctx, Operation::Read, tenant, learner, None)?;
        }
        Ok(visible)
    }

    fn course_states(
        &self,
        ctx: &AccessContext,
        course: &CourseId,
        namespace: &str,
    ) -> Result<Vec<(StateKey, StateValue)>> {
        authorize_course(ctx, Operation::Read, ctx.tenant(), course)?;
        let inner = self.read()?;
        let mut states = Vec::with_capacity(inner.state.course_states_bound(ctx.tenant(), course));
        states.extend(
            inner
                .state
                .course_states(ctx.tenant(), course)
                .filter(|(k, _)| k.namespace == namespace)
                .map(|(k, v)| (k, v.clone())),
        );
        Ok(states)
    }
}
