//! Several processes on one directory store: each sees the others' writes, none loses any, and
//! what they ingest concurrently through `Engine` equals a replay of all the evidence.
//!
//! Children are this test binary re-executed (`MASTERY_MP_ROLE` names the child's test function,
//! which does nothing when the variable is unset). Nothing here asserts on time.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use mastery_core::mastery::{CalculationMethod, MasteryConfig};
use mastery_core::store::{Appended, StateValue};
use mastery_core::streak::StreakPolicy;
use mastery_core::{
    AccessContext, CourseId, Engine, Evidence, EvidenceKind, EvidenceSource, MasteryError, MemoryStore, Principal,
    Score, StateKey, Store, UserId,
};
use serde_json::json;

const ROLE: &str = "MASTERY_MP_ROLE";
const DIR: &str = "MASTERY_MP_DIR";
const LANE: &str = "MASTERY_MP_LANE";

/// The stream: records for `LEARNERS` learners × 5 competencies, one an hour per learner.
const RECORDS: u64 = 8_000;
const LEARNERS: u64 = 60;
const PROCESSES: u64 = 2;
const BATCH: usize = 100;

fn service() -> AccessContext {
    AccessContext::new(Principal::service("t1", "svc"))
}

fn record(i: u64) -> Evidence {
    let base = mastery_core::time::parse_instant("2026-01-05T08:00:00Z", "t").unwrap();
    let step = i / LEARNERS;
    Evidence {
        id: format!("e{i}").into(),
        learner: format!("learner-{}", i % LEARNERS).into(),
        course: Some("algebra-1".into()),
        competencies: vec![format!("skill-{}", step % 5).into()],
        activity: None,
        kind: EvidenceKind::Response,
        score: Some(Score { scaled: Some(((i * 7919) % 101) as f64 / 100.0), ..Score::default() }),
        success: None,
        completion: None,
        duration_seconds: Some(600.0),
        occurred_at: Some(base + chrono::Duration::hours(step as i64)),
        sequence: None,
        source: EvidenceSource::Host,
    }
}

/// What process `lane` sends: every learner's records of alternate hours (so both processes
/// write every learner all the time), in time order, except every 20th record, which the other
/// process sends (so it may arrive late), and every 50th, which both send.
fn lane(lane: u64) -> Vec<Evidence> {
    (0..RECORDS)
        .filter(|i| {
            let owner = (i / LEARNERS) % PROCESSES;
            let sender = if i % 20 == 7 { (owner + 1) % PROCESSES } else { owner };
            sender == lane || i % 50 == 3
        })
        .map(record)
        .collect()
}

fn engine(store: MemoryStore) -> Engine<MemoryStore> {
    let badge = |id: &str, rule: serde_json::Value| {
        serde_json::from_value(json!({"id": format!("https://school.example/{id}"), "name": id,
            "description": id, "criteria": id, "rule": rule}))
        .unwrap()
    };
    // Rules that hold or not whatever order records arrive in (a count, the longest streak). A
    // mastery rule is left out: a late low score can undo a mastery the earlier records showed
    // for a while, and the award stays, so which learners earn it depends on arrival order.
    let achievements = vec![
        badge("practice", json!({"rule": "evidence_count", "min": 30, "competency": "skill-1"})),
        badge("week", json!({"rule": "streak", "periods": 5})),
    ];
    let config = MasteryConfig { method: CalculationMethod::DecayingAverage { rate: 65 }, ..MasteryConfig::default() };
    Engine::with_config(store, config)
        .with_streaks(StreakPolicy::default())
        .unwrap()
        .with_awards(achievements, None)
        .unwrap()
}

fn spawn_child(role: &str, dir: &Path, lane: u64, stdin: bool) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([role, "--exact", "--nocapture", "--test-threads=1"])
        .env(ROLE, role)
        .env(DIR, dir)
        .env(LANE, lane.to_string())
        .stdin(if stdin { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

/// The directory and lane when this process is the child playing `role`.
fn child(role: &str) -> Option<(PathBuf, u64)> {
    (std::env::var(ROLE).ok()? == role)
        .then(|| (PathBuf::from(std::env::var_os(DIR).unwrap()), std::env::var(LANE).unwrap().parse().unwrap()))
}

/// Prints one protocol line; a leading newline keeps it apart from the test harness's output.
fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "\n@{line}").unwrap();
    out.flush().unwrap();
}

fn said(line: &str) -> Option<&str> {
    line.split_once('@').map(|(_, rest)| rest.trim_end())
}

/// Lines the child said, after it exited successfully.
fn finish(mut child: Child) -> Vec<String> {
    let lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let said: Vec<String> = lines.map_while(Result::ok).filter_map(|l| said(&l).map(str::to_owned)).collect();
    assert!(child.wait().unwrap().success());
    said
}

/// An award's time is that of the record that completed its rule as records arrived, and awards
/// are listed in the order they were earned: a record that arrives late completes a rule at
/// another record than in time order (in one process as in two). The rest must be equal.
fn without_award_times(mut value: serde_json::Value) -> serde_json::Value {
    match &mut value {
        serde_json::Value::Object(map) => {
            map.remove("awarded_at");
            for v in map.values_mut() {
                *v = without_award_times(v.take());
            }
        }
        serde_json::Value::Array(items) => {
            for v in items.iter_mut() {
                *v = without_award_times(v.take());
            }
            // Awards and the outbox in the order they were earned: compared as sets.
            items.sort_by_cached_key(|v| v.to_string());
        }
        _ => {}
    }
    value
}

/// Every stored state of every learner equals the one a fresh memory store computes from all the
/// evidence in time order (award records but for award times), and the evidence is the
/// stream's, each record once.
fn assert_equals_a_replay(dir: &Path) -> usize {
    let stored = engine(MemoryStore::open(dir).unwrap());
    let replayed = engine(MemoryStore::new());
    let ctx = service();
    let all: Vec<Evidence> = (0..RECORDS).map(record).collect();
    for chunk in all.chunks(1_000) {
        assert_eq!(replayed.ingest(&ctx, chunk).new, chunk.len());
    }
    let mut checked = 0;
    for learner in 0..LEARNERS {
        let id: UserId = format!("learner-{learner}").into();
        let ids = |engine: &Engine<MemoryStore>| -> BTreeSet<String> {
            let evidence = engine.store().learner_evidence(&ctx, &id).unwrap();
            let ids: BTreeSet<String> = evidence.iter().map(|e| e.id.as_str().to_owned()).collect();
            assert_eq!(ids.len(), evidence.len(), "a record stored twice");
            ids
        };
        assert_eq!(ids(&stored), ids(&replayed));
        for namespace in ["mastery", "streak", "credential"] {
            // As JSON: a memory store keeps a mastery record's competency, a durable one leaves it to the key.
            let states = |engine: &Engine<MemoryStore>| {
                serde_json::to_value(engine.store().learner_states(&ctx, &id, namespace).unwrap()).unwrap()
            };
            let (mut a, mut b) = (states(&stored), states(&replayed));
            if namespace == "credential" {
                (a, b) = (without_award_times(a), without_award_times(b));
            }
            let records = b.as_array().unwrap().len();
            assert!(records > 0 || namespace == "credential");
            assert_eq!(a, b, "{namespace} state of learner {learner} differs from a replay");
            checked += records;
        }
    }
    checked
}

/// Child: ingests its lane through an engine in batches of 100, re-sending every tenth batch;
/// lane 0 also compacts after every fifth batch while the other process writes.
#[test]
fn child_ingester() {
    let Some((dir, lane_index)) = child("child_ingester") else { return };
    let store = MemoryStore::open(&dir).unwrap().with_compaction_threshold(32 << 10);
    let engine = engine(store);
    let ctx = service();
    let (mut new, mut duplicates) = (0, 0);
    for (b, chunk) in lane(lane_index).chunks(BATCH).enumerate() {
        let outcome = engine.ingest(&ctx, chunk);
        assert!(outcome.rejected.is_empty(), "{:?}", outcome.rejected.first());
        (new, duplicates) = (new + outcome.new, duplicates + outcome.duplicates);
        if b % 10 == 0 {
            let again = engine.ingest(&ctx, chunk);
            assert_eq!(again.new, 0);
            (new, duplicates) = (new + again.new, duplicates + again.duplicates);
        }
        if lane_index == 0 && b % 5 == 4 {
            engine.store().snapshot().unwrap();
        }
    }
    say(&format!("NEW {new}"));
    say(&format!("DUPLICATES {duplicates}"));
}

#[test]
fn two_processes_ingesting_into_one_directory_equal_a_replay() {
    let dir = tempfile::tempdir().unwrap();
    let children: Vec<Child> = (0..PROCESSES).map(|p| spawn_child("child_ingester", dir.path(), p, false)).collect();
    let mut new = 0;
    for child in children {
        for line in finish(child) {
            if let Some(n) = line.strip_prefix("NEW ") {
                new += n.parse::<u64>().unwrap();
            }
        }
    }
    // Records both processes sent count as new in exactly one of them.
    assert_eq!(new, RECORDS);
    let checked = assert_equals_a_replay(dir.path());
    println!("2 processes, {RECORDS} records, {checked} states equal to a replay");
}

/// Child: compacts the store over and over until its stdin has a line; says how many times.
#[test]
fn child_compactor() {
    let Some((dir, _)) = child("child_compactor") else { return };
    let store = MemoryStore::open(&dir).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = std::io::stdin().read_line(&mut line);
        flag.store(true, Ordering::SeqCst);
    });
    let mut compactions = 0;
    while !stop.load(Ordering::SeqCst) || compactions == 0 {
        store.snapshot().unwrap();
        compactions += 1;
    }
    say(&format!("COMPACTED {compactions}"));
}

/// Child: appends 300 records with a state each, acknowledging each.
#[test]
fn child_writer() {
    let Some((dir, _)) = child("child_writer") else { return };
    let store = MemoryStore::open(&dir).unwrap();
    let ctx = service();
    for i in 0..300u64 {
        let e = record(i);
        let key = StateKey {
            learner: e.learner.clone(),
            course: None,
            namespace: "test".into(),
            name: format!("s{i}").into(),
        };
        let value = StateValue::Json(json!({"n": i}));
        assert_eq!(store.record(&ctx, &e, &[(key, value)]).unwrap(), Appended::New);
        say(&format!("ACK e{i}"));
    }
}

#[test]
fn compaction_by_one_process_while_another_writes_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut compactor = spawn_child("child_compactor", dir.path(), 0, true);
    let acked: BTreeSet<String> = finish(spawn_child("child_writer", dir.path(), 1, false))
        .iter()
        .filter_map(|l| l.strip_prefix("ACK ").map(str::to_owned))
        .collect();
    writeln!(compactor.stdin.take().unwrap()).unwrap();
    let compactions: u64 = finish(compactor).iter().find_map(|l| l.strip_prefix("COMPACTED ")?.parse().ok()).unwrap();
    let store = MemoryStore::open(dir.path()).unwrap();
    let ctx = service();
    let mut stored = BTreeSet::new();
    for learner in 0..LEARNERS {
        let id: UserId = format!("learner-{learner}").into();
        stored.extend(store.learner_evidence(&ctx, &id).unwrap().iter().map(|e| e.id.as_str().to_owned()));
        for (key, value) in store.learner_states(&ctx, &id, "test").unwrap() {
            assert_eq!(value, StateValue::Json(json!({"n": key.name[1..].parse::<u64>().unwrap()})));
        }
    }
    println!("compaction: {} acknowledged, {} stored, {compactions} compactions", acked.len(), stored.len());
    assert_eq!(acked.len(), 300);
    assert_eq!(stored, acked);
}

#[test]
fn two_stores_on_one_directory_see_each_others_writes() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = service();
    let a = MemoryStore::open(dir.path()).unwrap().with_compaction_threshold(1);
    let b = MemoryStore::open(dir.path()).unwrap();
    let key = |i: u64| StateKey {
        learner: "amy".into(),
        course: None,
        namespace: "test".into(),
        name: format!("s{i}").into(),
    };
    for i in 0..20 {
        let (writer, reader) = if i % 2 == 0 { (&a, &b) } else { (&b, &a) };
        writer.put_state(&ctx, &key(i), &StateValue::Json(json!(i))).unwrap();
        // `a` compacts after every write: `b` follows the replaced journal.
        assert_eq!(reader.get_state(&ctx, &key(i)).unwrap(), Some(StateValue::Json(json!(i))));
    }
    assert_eq!(a.learner_states(&ctx, &"amy".into(), "test").unwrap().len(), 20);
    assert_eq!(
        b.learner_states(&ctx, &"amy".into(), "test").unwrap(),
        a.learner_states(&ctx, &"amy".into(), "test").unwrap()
    );
}

#[test]
fn an_apply_since_a_read_point_refuses_a_learner_another_store_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = service();
    let a = MemoryStore::open(dir.path()).unwrap();
    let b = MemoryStore::open(dir.path()).unwrap();
    let key =
        |learner: &str| StateKey { learner: learner.into(), course: None, namespace: "test".into(), name: "s".into() };
    let since = a.read_version(&ctx).unwrap().unwrap();
    b.put_state(&ctx, &key("amy"), &StateValue::Json(json!("b"))).unwrap();
    let conflict = a.apply_since(&ctx, since, &[], &[(key("amy"), StateValue::Json(json!("a")))]);
    assert_eq!(conflict, Err(MasteryError::StoreConflict));
    assert_eq!(conflict.unwrap_err().code(), "store_error");
    // Another learner is not in conflict; nor is the same one after a fresh read point.
    a.apply_since(&ctx, since, &[], &[(key("bob"), StateValue::Json(json!("a")))]).unwrap();
    let since = a.read_version(&ctx).unwrap().unwrap();
    a.apply_since(&ctx, since, &[], &[(key("amy"), StateValue::Json(json!("a")))]).unwrap();
    assert_eq!(b.get_state(&ctx, &key("amy")).unwrap(), Some(StateValue::Json(json!("a"))));
}

/// A directory store that lets another store on the same directory (another process, in effect)
/// ingest `pending` just before its first conditional apply: between the engine's reads and its
/// write.
struct Interposed {
    store: MemoryStore,
    other: Engine<MemoryStore>,
    pending: Mutex<Option<Vec<Evidence>>>,
    conflicts: AtomicUsize,
}

impl Store for Interposed {
    type Error = MasteryError;

    fn apply_since(
        &self,
        ctx: &AccessContext,
        since: u64,
        evidence: &[&Evidence],
        states: &[(StateKey, StateValue)],
    ) -> Result<Vec<Appended>, MasteryError> {
        if let Some(batch) = self.pending.lock().unwrap().take() {
            assert_eq!(self.other.ingest(ctx, &batch).new, batch.len());
        }
        let applied = self.store.apply_since(ctx, since, evidence, states);
        if applied == Err(MasteryError::StoreConflict) {
            self.conflicts.fetch_add(1, Ordering::SeqCst);
        }
        applied
    }
    fn read_version(&self, ctx: &AccessContext) -> Result<Option<u64>, MasteryError> {
        self.store.read_version(ctx)
    }
    fn apply(
        &self,
        ctx: &AccessContext,
        evidence: &[&Evidence],
        states: &[(StateKey, StateValue)],
    ) -> Result<Vec<Appended>, MasteryError> {
        self.store.apply(ctx, evidence, states)
    }
    fn append_evidence(&self, ctx: &AccessContext, evidence: &Evidence) -> Result<Appended, MasteryError> {
        self.store.append_evidence(ctx, evidence)
    }
    fn known_evidence(&self, ctx: &AccessContext, evidence: &[&Evidence]) -> Result<Vec<bool>, MasteryError> {
        self.store.known_evidence(ctx, evidence)
    }
    fn learner_evidence(&self, ctx: &AccessContext, learner: &UserId) -> Result<Vec<Evidence>, MasteryError> {
        self.store.learner_evidence(ctx, learner)
    }
    fn course_evidence(&self, ctx: &AccessContext, course: &CourseId) -> Result<Vec<Evidence>, MasteryError> {
        self.store.course_evidence(ctx, course)
    }
    fn get_state(&self, ctx: &AccessContext, key: &StateKey) -> Result<Option<StateValue>, MasteryError> {
        self.store.get_state(ctx, key)
    }
    fn get_states(&self, ctx: &AccessContext, keys: &[StateKey]) -> Result<Vec<Option<StateValue>>, MasteryError> {
        self.store.get_states(ctx, keys)
    }
    fn put_state(&self, ctx: &AccessContext, key: &StateKey, value: &StateValue) -> Result<(), MasteryError> {
        self.store.put_state(ctx, key, value)
    }
    fn learner_states(
        &self,
        ctx: &AccessContext,
        learner: &UserId,
        namespace: &str,
    ) -> Result<Vec<(StateKey, StateValue)>, MasteryError> {
        self.store.learner_states(ctx, learner, namespace)
    }
    fn course_states(
        &self,
        ctx: &AccessContext,
        course: &CourseId,
        namespace: &str,
    ) -> Result<Vec<(StateKey, StateValue)>, MasteryError> {
        self.store.course_states(ctx, course, namespace)
    }
}

#[test]
fn a_batch_that_another_process_overtakes_is_read_and_computed_again() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = service();
    // Learner 0's records of hours 0, 5 and 10 (one competency); hour 5 comes from "another process"
    // after the engine has read the learner's records for hours 0 and 10.
    let (first, other, last) = (record(0), record(5 * LEARNERS), record(10 * LEARNERS));
    let interposed = Interposed {
        store: MemoryStore::open(dir.path()).unwrap(),
        other: engine(MemoryStore::open(dir.path()).unwrap()),
        pending: Mutex::new(Some(vec![other.clone()])),
        conflicts: AtomicUsize::new(0),
    };
    let engine_a = engine(MemoryStore::new());
    let ingesting =
        Engine::with_config(interposed, engine_a.config().clone()).with_streaks(StreakPolicy::default()).unwrap();
    let outcome = ingesting.ingest(&ctx, &[first.clone(), last.clone()]);
    assert_eq!((outcome.new, outcome.rejected.len()), (2, 0));
    let replayed = Engine::with_config(MemoryStore::new(), engine_a.config().clone())
        .with_streaks(StreakPolicy::default())
        .unwrap();
    replayed.ingest(&ctx, &[first, other, last]);
    let learner: UserId = "learner-0".into();
    for namespace in ["mastery", "streak"] {
        let states = |store: &dyn Store<Error = MasteryError>| {
            serde_json::to_value(store.learner_states(&ctx, &learner, namespace).unwrap()).unwrap()
        };
        let stored = MemoryStore::open(dir.path()).unwrap();
        assert_eq!(states(&stored), states(replayed.store()), "{namespace}");
    }
    let record = ingesting.mastery(&ctx, &learner, Some(&"algebra-1".into()), "skill-0").unwrap().unwrap();
    assert_eq!(record.evidence_count(), 3);
    assert_eq!(ingesting.store().conflicts.load(Ordering::SeqCst), 1);
}
