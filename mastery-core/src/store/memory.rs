//! The embedded default store: in memory, optionally durable.
//!
//! Durable mode keeps a directory with `snapshot.json` and `journal.jsonl`. Every acknowledged
//! write is appended to the journal and synced before the call returns. [`MemoryStore::snapshot`]
//! writes the whole state to a temporary file, syncs it, renames it over the old snapshot and
//! only then empties the journal. Reopening loads the snapshot and replays the journal entries
//! newer than it; a torn last line (a crash mid-write, never acknowledged) is dropped.

use std::collections::{BTreeMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Appended, StateKey, Store};
use crate::access::{authorize_course, authorize_learner, AccessContext, Operation};
use crate::error::{MasteryError, Result};
use crate::evidence::Evidence;
use crate::ids::{CourseId, EvidenceId, TenantId, UserId};

/// In-memory store enforcing the access policy in process.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<State>,
    journal: Option<Mutex<Journal>>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    /// Sequence number of the last write applied.
    seq: u64,
    evidence: Vec<(TenantId, Evidence)>,
    states: BTreeMap<String, (TenantId, StateKey, Value)>,
    #[serde(skip)]
    keys: HashSet<(TenantId, EvidenceId)>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    seq: u64,
    tenant: TenantId,
    #[serde(flatten)]
    write: Change,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Change {
    Evidence(Evidence),
    State { key: StateKey, value: Value },
}

#[derive(Debug)]
struct Journal {
    dir: PathBuf,
    file: File,
}

fn io(e: std::io::Error) -> MasteryError {
    MasteryError::Store { reason: e.kind().to_string() }
}

fn state_slot(tenant: &TenantId, key: &StateKey) -> String {
    serde_json::to_string(&(tenant, key)).unwrap_or_default()
}

impl State {
    fn apply(&mut self, seq: u64, tenant: TenantId, write: Change) -> Appended {
        self.seq = self.seq.max(seq);
        match write {
            Change::Evidence(e) => {
                if self.keys.insert((tenant.clone(), e.id.clone())) {
                    self.evidence.push((tenant, e));
                    Appended::New
                } else {
                    Appended::Duplicate
                }
            }
            Change::State { key, value } => {
                self.states.insert(state_slot(&tenant, &key), (tenant, key, value));
                Appended::New
            }
        }
    }
}

impl MemoryStore {
    /// A store that lives only in memory.
    pub fn new() -> Self {
        Self::default()
    }

    /// Opens (or creates) a durable store in `dir`, replaying what an earlier process acknowledged.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref().to_path_buf();
        fs::create_dir_all(&dir).map_err(io)?;
        let mut state: State = match fs::read(dir.join("snapshot.json")) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|_| MasteryError::Store { reason: "snapshot is corrupt".into() })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => State::default(),
            Err(e) => return Err(io(e)),
        };
        state.keys = state.evidence.iter().map(|(t, e)| (t.clone(), e.id.clone())).collect();
        let journal_path = dir.join("journal.jsonl");
        let mut valid_len = 0u64;
        if let Ok(file) = File::open(&journal_path) {
            let mut lines = BufReader::new(file).lines().peekable();
            while let Some(line) = lines.next() {
                let line = line.map_err(io)?;
                match serde_json::from_str::<Entry>(&line) {
                    Ok(entry) => {
                        if entry.seq > state.seq {
                            state.apply(entry.seq, entry.tenant, entry.write);
                        }
                        valid_len += line.len() as u64 + 1;
                    }
                    // A torn final line was never acknowledged: drop it.
                    Err(_) if lines.peek().is_none() => break,
                    Err(_) => return Err(MasteryError::Store { reason: "journal is corrupt".into() }),
                }
            }
        }
        let file = OpenOptions::new().create(true).append(true).open(&journal_path).map_err(io)?;
        file.set_len(valid_len).map_err(io)?;
        Ok(Self { state: Mutex::new(state), journal: Some(Mutex::new(Journal { dir, file })) })
    }

    /// Writes the whole state atomically and empties the journal (durable stores only).
    pub fn snapshot(&self) -> Result<()> {
        let Some(journal) = &self.journal else { return Ok(()) };
        let state = self.lock();
        let journal = journal.lock().map_err(|_| poisoned())?;
        let bytes = serde_json::to_vec(&*state).map_err(|e| MasteryError::Store { reason: e.to_string() })?;
        let tmp = journal.dir.join("snapshot.json.tmp");
        let mut file = File::create(&tmp).map_err(io)?;
        file.write_all(&bytes).map_err(io)?;
        file.sync_all().map_err(io)?;
        fs::rename(&tmp, journal.dir.join("snapshot.json")).map_err(io)?;
        if let Ok(dir) = File::open(&journal.dir) {
            let _ = dir.sync_all(); // Not supported on every platform; the rename is still atomic.
        }
        journal.file.set_len(0).map_err(io)?;
        journal.file.sync_all().map_err(io)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave `State` half-written: `apply` does not panic.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self, tenant: &TenantId, write: Change) -> Result<Appended> {
        let mut state = self.lock();
        if let Change::Evidence(e) = &write {
            if state.keys.contains(&(tenant.clone(), e.id.clone())) {
                return Ok(Appended::Duplicate);
            }
        }
        let seq = state.seq + 1;
        if let Some(journal) = &self.journal {
            let entry = Entry { seq, tenant: tenant.clone(), write: write.clone() };
            let mut line = serde_json::to_vec(&entry).map_err(|e| MasteryError::Store { reason: e.to_string() })?;
            line.push(b'\n');
            let mut journal = journal.lock().map_err(|_| poisoned())?;
            journal.file.write_all(&line).map_err(io)?;
            journal.file.sync_data().map_err(io)?;
        }
        Ok(state.apply(seq, tenant.clone(), write))
    }
}

fn poisoned() -> MasteryError {
    MasteryError::Store { reason: "journal lock poisoned".into() }
}

impl Store for MemoryStore {
    type Error = MasteryError;

    fn append_evidence(&self, ctx: &AccessContext, evidence: &Evidence) -> Result<Appended> {
        authorize_learner(ctx, Operation::Write, ctx.tenant(), &evidence.learner, evidence.course.as_ref())?;
        self.write(ctx.tenant(), Change::Evidence(evidence.clone()))
    }

    fn learner_evidence(&self, ctx: &AccessContext, learner: &UserId) -> Result<Vec<Evidence>> {
        let tenant = ctx.tenant();
        let state = self.lock();
        let mine = state.evidence.iter().filter(|(t, e)| t == tenant && &e.learner == learner);
        // An instructor may read a learner's evidence only from courses they teach.
        if authorize_learner(ctx, Operation::Read, tenant, learner, None).is_ok() {
            return Ok(mine.map(|(_, e)| e.clone()).collect());
        }
        let visible: Vec<Evidence> = mine
            .filter(|(_, e)| authorize_learner(ctx, Operation::Read, tenant, learner, e.course.as_ref()).is_ok())
            .map(|(_, e)| e.clone())
            .collect();
        if visible.is_empty() {
            authorize_learner(ctx, Operation::Read, tenant, learner, None)?;
        }
        Ok(visible)
    }

    fn course_evidence(&self, ctx: &AccessContext, course: &CourseId) -> Result<Vec<Evidence>> {
        authorize_course(ctx, Operation::Read, ctx.tenant(), course)?;
        let state = self.lock();
        Ok(state
            .evidence
            .iter()
            .filter(|(t, e)| t == ctx.tenant() && e.course.as_ref() == Some(course))
            .map(|(_, e)| e.clone())
            .collect())
    }

    fn get_state(&self, ctx: &AccessContext, key: &StateKey) -> Result<Option<Value>> {
        authorize_learner(ctx, Operation::Read, ctx.tenant(), &key.learner, key.course.as_ref())?;
        Ok(self.lock().states.get(&state_slot(ctx.tenant(), key)).map(|(_, _, v)| v.clone()))
    }

    fn put_state(&self, ctx: &AccessContext, key: &StateKey, value: &Value) -> Result<()> {
        authorize_learner(ctx, Operation::Write, ctx.tenant(), &key.learner, key.course.as_ref())?;
        self.write(ctx.tenant(), Change::State { key: key.clone(), value: value.clone() }).map(drop)
    }
}
