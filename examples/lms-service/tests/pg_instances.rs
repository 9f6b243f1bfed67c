//! Service instances on one PostgreSQL database: each with its own connection pool and engine,
//! as separate processes would be (they share no lock but the database's), ingesting the same
//! learners at once. What they store equals a replay of all the evidence, and every badge is
//! awarded once. Nothing here asserts on time.
#![cfg(feature = "pg-tests")]
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use common::TestDb;
use lms_service::PgStore;
use mastery_core::access::{AccessContext, Principal};
use mastery_core::mastery::{CalculationMethod, MasteryConfig};
use mastery_core::store::{Appended, StateKey, StateValue, Store};
use mastery_core::streak::StreakPolicy;
use mastery_core::{
    CourseId, Engine, Evidence, EvidenceKind, EvidenceSource, MasteryError, MemoryStore, Score, UserId,
};
use serde_json::json;

const RECORDS: u64 = 2_400;
const LEARNERS: u64 = 4;
/// Writers: two instances with two request threads each.
const INSTANCES: usize = 2;
const THREADS: u64 = 2;
const BATCH: usize = 25;

fn service() -> AccessContext {
    AccessContext::new(Principal::service("t1", "svc"))
}

/// The stream: records for `LEARNERS` learners × 5 competencies, one an hour per learner.
fn record(i: u64) -> Evidence {
    let base = mastery_core::time::parse_instant("2026-01-05T08:00:00Z", "t").unwrap();
    let step = i / LEARNERS;
    Evidence {
        id: format!("e{i}").into(),
        learner: format!("learner-{}", i % LEARNERS).into(),
        course: Some("algebra-1".into()),
        // Eight hours in a row practise one skill: the writers, each a few hours apart, update the
        // same mastery records at the same time.
        competencies: vec![format!("skill-{}", step / 8 % 5).into()],
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

/// What writer `lane` sends: every learner's records of every `WRITERS`-th hour (so all writers
/// write every learner all the time), in time order, except every 20th record, which the next
/// writer sends (so it may arrive late), and every 50th, which all send.
fn lane(lane: u64) -> Vec<Evidence> {
    let writers = INSTANCES as u64 * THREADS;
    (0..RECORDS)
        .filter(|i| {
            let owner = (i / LEARNERS) % writers;
            let sender = if i % 20 == 7 { (owner + 1) % writers } else { owner };
            sender == lane || i % 50 == 3
        })
        .map(record)
        .collect()
}

/// An engine that awards on rules whose outcome does not depend on arrival order (a count, the
/// longest streak), as `mastery-core/tests/store_multiprocess.rs` does for the directory store.
fn engine<S: Store>(store: S) -> Engine<S> {
    let badge = |id: &str, rule: serde_json::Value| {
        serde_json::from_value(json!({"id": format!("https://school.example/{id}"), "name": id,
            "description": id, "criteria": id, "rule": rule}))
        .unwrap()
    };
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

/// Award times and the order awards were earned in depend on which record completed a rule as
/// records arrived: compared without times, as sets. The rest must be equal.
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
            items.sort_by_cached_key(|v| v.to_string());
        }
        _ => {}
    }
    value
}

#[test]
fn instances_ingesting_the_same_learners_at_once_equal_a_replay_and_award_once() {
    let db = TestDb::create().unwrap();
    let ctx = service();
    let engines: Vec<_> = (0..INSTANCES).map(|_| engine(db.store().unwrap())).collect();
    std::thread::scope(|scope| {
        for (writer, engine) in (0..).zip(engines.iter().flat_map(|e| std::iter::repeat_n(e, THREADS as usize))) {
            let ctx = &ctx;
            scope.spawn(move || {
                for (i, batch) in lane(writer).chunks(BATCH).enumerate() {
                    let outcome = engine.ingest(ctx, batch);
                    assert!(outcome.rejected.is_empty(), "writer {writer}: {:?}", outcome.rejected);
                    // Every tenth batch is sent again, as a client retrying would.
                    if i % 10 == 0 {
                        let again = engine.ingest(ctx, batch);
                        assert_eq!((again.new, again.rejected.len()), (0, 0), "writer {writer}");
                    }
                }
            });
        }
    });

    let stored = &engines[0];
    let replayed = engine(MemoryStore::new());
    let all: Vec<Evidence> = (0..RECORDS).map(record).collect();
    for chunk in all.chunks(500) {
        assert_eq!(replayed.ingest(&ctx, chunk).new, chunk.len());
    }
    let mut awards = 0;
    for learner in 0..LEARNERS {
        let id: UserId = format!("learner-{learner}").into();
        let ids = |store: &dyn Fn() -> Vec<Evidence>| -> BTreeSet<String> {
            let evidence = store();
            let ids: BTreeSet<String> = evidence.iter().map(|e| e.id.as_str().to_owned()).collect();
            assert_eq!(ids.len(), evidence.len(), "a record stored twice");
            ids
        };
        assert_eq!(
            ids(&|| stored.store().learner_evidence(&ctx, &id).unwrap()),
            ids(&|| replayed.store().learner_evidence(&ctx, &id).unwrap())
        );
        for namespace in ["mastery", "streak", "credential"] {
            let mut a = serde_json::to_value(stored.store().learner_states(&ctx, &id, namespace).unwrap()).unwrap();
            let mut b = serde_json::to_value(replayed.store().learner_states(&ctx, &id, namespace).unwrap()).unwrap();
            if namespace == "credential" {
                (a, b) = (without_award_times(a), without_award_times(b));
            }
            assert_eq!(a, b, "{namespace} state of learner {learner} differs from a replay");
        }
        // Each badge once, and announced once in the outbox.
        let made = stored.awards(&ctx, &id, Some(&"algebra-1".into())).unwrap();
        let kinds: BTreeSet<_> = made.iter().map(|a| (a.achievement.clone(), a.version)).collect();
        assert_eq!(kinds.len(), made.len(), "learner {learner}: a badge awarded twice");
        awards += made.len();
    }
    assert!(awards >= LEARNERS as usize, "the rules awarded something to compare ({awards} awards)");
    let outbox = stored.outbox(&ctx, &"algebra-1".into()).unwrap();
    assert_eq!(outbox.len(), awards, "every award announced once");
}

/// Instance A's store, through which instance B ingests `pending` between A's reads and A's
/// write: the race of two instances, made to happen every time.
struct Overtaken {
    store: PgStore,
    other: Engine<PgStore>,
    /// Batches B ingests, one before each of A's writes.
    pending: Mutex<Vec<Vec<Evidence>>>,
    conflicts: AtomicUsize,
}

impl Overtaken {
    fn let_the_other_in(&self, ctx: &AccessContext) {
        let next = self.pending.lock().unwrap().pop();
        if let Some(batch) = next {
            assert_eq!(self.other.ingest(ctx, &batch).new, batch.len());
        }
    }
}

impl Store for Overtaken {
    type Error = MasteryError;

    fn apply_since(
        &self,
        ctx: &AccessContext,
        since: u64,
        evidence: &[&Evidence],
        states: &[(StateKey, StateValue)],
    ) -> Result<Vec<Appended>, MasteryError> {
        self.let_the_other_in(ctx);
        let applied = self.store.apply_since(ctx, since, evidence, states);
        if applied == Err(MasteryError::StoreConflict) {
            self.conflicts.fetch_add(1, Ordering::SeqCst);
        }
        applied
    }
    fn apply(
        &self,
        ctx: &AccessContext,
        evidence: &[&Evidence],
        states: &[(StateKey, StateValue)],
    ) -> Result<Vec<Appended>, MasteryError> {
        self.let_the_other_in(ctx);
        self.store.apply(ctx, evidence, states)
    }
    fn read_version(&self, ctx: &AccessContext) -> Result<Option<u64>, MasteryError> {
        self.store.read_version(ctx)
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

/// Instance B writes a learner's mastery between instance A's read and A's write: A's write is
/// refused, and A reads again and keeps B's record (a last-writer-wins store would lose it,
/// and with it the badge B's record earned).
#[test]
fn an_instance_overtaken_between_read_and_write_reads_again() {
    let db = TestDb::create().unwrap();
    let ctx = service();
    let at = |hour: u64| {
        let mut e = record(hour * LEARNERS);
        e.competencies = vec!["skill-1".into()];
        e
    };
    let a = Overtaken {
        store: db.store().unwrap(),
        other: engine(db.store().unwrap()),
        pending: Mutex::new(Vec::new()),
        conflicts: AtomicUsize::new(0),
    };
    let a = engine(a);
    let first: Vec<Evidence> = (0..28).map(at).collect();
    assert_eq!(a.ingest(&ctx, &first).new, first.len());
    // B's record is older than A's next one: A, reading again, simply adds its own after it.
    *a.store().pending.lock().unwrap() = vec![vec![at(28)]];
    assert_eq!(a.ingest(&ctx, &[at(29)]).new, 1);
    assert_eq!(a.store().conflicts.load(Ordering::SeqCst), 1, "A's first write is refused");
    // Overtaken twice: A holds the other writers off (`hold_writes`) and writes on its third try.
    *a.store().pending.lock().unwrap() = vec![vec![at(31)], vec![at(30)]];
    assert_eq!(a.ingest(&ctx, &[at(32)]).new, 1);
    assert_eq!(a.store().conflicts.load(Ordering::SeqCst), 3);

    let replayed = engine(MemoryStore::new());
    let all: Vec<Evidence> = (0..33).map(at).collect();
    assert_eq!(replayed.ingest(&ctx, &all).new, all.len());
    let learner = at(0).learner;
    let states = |store: &dyn Fn() -> Vec<(StateKey, StateValue)>| serde_json::to_value(store()).unwrap();
    assert_eq!(
        states(&|| a.store().learner_states(&ctx, &learner, "mastery").unwrap()),
        states(&|| replayed.store().learner_states(&ctx, &learner, "mastery").unwrap()),
    );
    // Thirty records of skill-1: the practice badge, once.
    let course: CourseId = "algebra-1".into();
    let badges: Vec<String> =
        a.awards(&ctx, &learner, Some(&course)).unwrap().into_iter().map(|a| a.achievement).collect();
    assert_eq!(badges, vec!["https://school.example/practice".to_owned()]);
    assert_eq!(a.outbox(&ctx, &course).unwrap().len(), 1);
}

/// While one instance holds the tenant's writes (`hold_writes`, after repeated conflicts), another
/// instance's write waits for it; the holder's own calls go through.
#[test]
fn a_write_hold_keeps_other_instances_waiting_until_released() {
    let db = TestDb::create().unwrap();
    let ctx = service();
    let (a, b) = (db.store().unwrap(), db.store().unwrap());
    let key = |learner: &str| StateKey {
        learner: learner.into(),
        course: Some("algebra-1".into()),
        namespace: "test".into(),
        name: "v".into(),
    };
    assert!(a.hold_writes(&ctx).unwrap());
    let written = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        let waiting = scope.spawn(|| {
            b.put_state(&ctx, &key("amy"), &StateValue::Json(json!("b"))).unwrap();
            written.store(true, Ordering::SeqCst);
        });
        a.put_state(&ctx, &key("amy"), &StateValue::Json(json!("a"))).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(300));
        assert!(!written.load(Ordering::SeqCst), "B wrote while A held the writes");
        a.release_writes(&ctx).unwrap();
        waiting.join().unwrap();
    });
    assert_eq!(a.get_state(&ctx, &key("amy")).unwrap(), Some(StateValue::Json(json!("b"))));
}

/// The version rows keep to their writers: raw SQL as the app role sees and writes only the rows
/// of learners and courses the caller may write.
#[test]
fn version_rows_keep_to_the_caller() {
    let db = TestDb::create().unwrap();
    let mut client = db.app_config().connect(postgres::NoTls).unwrap();
    for (tenant, learner, course) in [("t1", "amy", "c1"), ("t1", "bob", "c2"), ("t2", "amy", "c1")] {
        let mut tx = client.transaction().unwrap();
        lms_service::pg::set_identity(&mut tx, &AccessContext::new(Principal::service(tenant, "svc"))).unwrap();
        tx.execute(
            "INSERT INTO learner_version (tenant, learner, course, writer) VALUES ($1, $2, $3, '3')",
            &[&tenant, &learner, &course],
        )
        .unwrap();
        tx.commit().unwrap();
    }
    let seen = |client: &mut postgres::Client, who: Principal| -> Vec<(String, String, String)> {
        let mut tx = client.transaction().unwrap();
        lms_service::pg::set_identity(&mut tx, &AccessContext::new(who)).unwrap();
        let rows = tx.query("SELECT tenant, learner, course FROM learner_version ORDER BY 1, 2", &[]).unwrap();
        rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect()
    };
    let row = |t: &str, l: &str, c: &str| (t.to_owned(), l.to_owned(), c.to_owned());
    let mut bob = Principal::learner("t1", "bob");
    bob.enrolled = vec!["c2".into()];
    assert_eq!(seen(&mut client, bob.clone()), vec![row("t1", "bob", "c2")]);
    assert_eq!(seen(&mut client, Principal::instructor("t1", "tia", vec!["c1".into()])), vec![row("t1", "amy", "c1")]);
    assert_eq!(seen(&mut client, Principal::admin("t2", "root")), vec![row("t2", "amy", "c1")]);
    assert_eq!(seen(&mut client, Principal::learner("t3", "amy")), vec![]);
    // Bob can neither record a write to Amy's rows nor overwrite hers.
    let mut tx = client.transaction().unwrap();
    lms_service::pg::set_identity(&mut tx, &AccessContext::new(bob)).unwrap();
    let e = tx
        .execute("INSERT INTO learner_version (tenant, learner, course, writer) VALUES ('t1', 'amy', 'c2', '3')", &[])
        .unwrap_err();
    assert_eq!(e.code(), Some(&postgres::error::SqlState::INSUFFICIENT_PRIVILEGE));
    drop(tx);
    let mut tx = client.transaction().unwrap();
    lms_service::pg::set_identity(&mut tx, &AccessContext::new(Principal::learner("t1", "bob"))).unwrap();
    assert_eq!(tx.execute("UPDATE learner_version SET writer = '4' WHERE learner = 'amy'", &[]).unwrap(), 0);
}
