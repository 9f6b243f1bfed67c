//! The async engine over an async store: the same outcomes and stored state as the synchronous
//! engine, no lost update between concurrent tasks, and no panic inside a tokio runtime.

#![allow(clippy::unwrap_used)]

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use mastery_core::engine::{AsyncEngine, AsyncStore, ClassDashboardOptions, SnapshotStore};
use mastery_core::risk::{activity_features, RiskModelFile, ENGINE_FEATURES};
use mastery_core::store::{Appended, StateKey, StateValue};
use mastery_core::streak::StreakPolicy;
use mastery_core::time::parse_instant;
use mastery_core::{
    AccessContext, CourseId, Engine, Evidence, EvidenceKind, EvidenceSource, MasteryError, MemoryStore, Principal,
    Score, Store, UserId,
};

/// Returns `Pending` once (waking itself), as a network round trip would.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

/// The memory store behind async methods that each yield before answering; counts round trips.
#[derive(Default)]
struct AsyncMemory {
    inner: MemoryStore,
    calls: AtomicUsize,
}

impl AsyncMemory {
    async fn call<T>(&self, f: impl FnOnce(&MemoryStore) -> Result<T, MasteryError>) -> Result<T, MasteryError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        YieldOnce(false).await;
        f(&self.inner)
    }
}

impl AsyncStore for AsyncMemory {
    type Error = MasteryError;

    fn get_states(
        &self,
        ctx: &AccessContext,
        keys: &[StateKey],
    ) -> impl Future<Output = Result<Vec<Option<StateValue>>, MasteryError>> + Send {
        self.call(move |s| s.get_states(ctx, keys))
    }

    fn learner_evidence(
        &self,
        ctx: &AccessContext,
        learner: &UserId,
    ) -> impl Future<Output = Result<Vec<Evidence>, MasteryError>> + Send {
        self.call(move |s| s.learner_evidence(ctx, learner))
    }

    fn learner_states(
        &self,
        ctx: &AccessContext,
        learner: &UserId,
        namespace: &str,
    ) -> impl Future<Output = Result<Vec<(StateKey, StateValue)>, MasteryError>> + Send {
        self.call(move |s| s.learner_states(ctx, learner, namespace))
    }

    fn course_states(
        &self,
        ctx: &AccessContext,
        course: &CourseId,
        namespace: &str,
    ) -> impl Future<Output = Result<Vec<(StateKey, StateValue)>, MasteryError>> + Send {
        self.call(move |s| s.course_states(ctx, course, namespace))
    }

    fn apply(
        &self,
        ctx: &AccessContext,
        evidence: &[&Evidence],
        states: &[(StateKey, StateValue)],
    ) -> impl Future<Output = Result<Vec<Appended>, MasteryError>> + Send {
        self.call(move |s| s.apply(ctx, evidence, states))
    }

    fn put_state(
        &self,
        ctx: &AccessContext,
        key: &StateKey,
        value: &StateValue,
    ) -> impl Future<Output = Result<(), MasteryError>> + Send {
        self.call(move |s| s.put_state(ctx, key, value))
    }
}

fn service() -> AccessContext {
    AccessContext::new(Principal::service("t1", "svc"))
}

fn record(i: u32, learner: u32) -> Evidence {
    // Times go back and forth, so some records arrive late; competencies alternate.
    let minute = (i * 37) % 600;
    Evidence {
        id: format!("e{i}").into(),
        learner: format!("l{learner}").into(),
        course: Some("c1".into()),
        competencies: vec![["fractions", "decimals"][(i % 2) as usize].into()],
        activity: None,
        kind: EvidenceKind::Response,
        score: Some(Score { scaled: Some(f64::from(i % 5) / 4.0), ..Score::default() }),
        success: None,
        completion: None,
        duration_seconds: Some(f64::from(i % 7) * 60.0),
        occurred_at: Some(
            parse_instant("2026-03-01T08:00:00Z", "t").unwrap() + chrono::Duration::minutes(minute.into()),
        ),
        sequence: None,
        source: EvidenceSource::Host,
    }
}

fn model() -> RiskModelFile {
    let features: Vec<_> =
        activity_features().into_iter().filter(|f| ENGINE_FEATURES.contains(&f.name.as_str())).collect();
    let width = features.len();
    let x: Vec<f64> = (0..100 * width).map(|i| ((i * 7919) % 13) as f64).collect();
    let y: Vec<f64> = (0..100).map(|i| f64::from(u8::from(i % 3 == 0))).collect();
    let x = ndarray::ArrayView2::from_shape((100, width), &x).unwrap();
    RiskModelFile::train_logistic("v1", features, x, &y, 1.0).unwrap()
}

fn achievements() -> Vec<mastery_core::credential::Achievement> {
    serde_json::from_value(serde_json::json!([
        {"id": "https://b.example/f", "name": "F", "description": "F", "criteria": "F",
         "rule": {"rule": "mastery", "competency": "fractions"}},
        {"id": "https://b.example/s", "name": "S", "description": "S", "criteria": "S",
         "rule": {"rule": "streak", "periods": 1}}
    ]))
    .unwrap()
}

fn rules<S: Store>(store: S) -> Engine<S> {
    Engine::new(store)
        .with_streaks(StreakPolicy::default())
        .unwrap()
        .with_awards(achievements(), None)
        .unwrap()
        .with_risk(model(), None)
        .unwrap()
}

/// Everything a reader sees of a class.
fn view<S: Store>(engine: &Engine<S>) -> serde_json::Value {
    let at = parse_instant("2026-03-02T12:00:00Z", "t").unwrap();
    let course: CourseId = "c1".into();
    let ctx = service();
    let learners: Vec<serde_json::Value> = (0..4)
        .map(|l| {
            let learner: UserId = format!("l{l}").into();
            serde_json::json!({
                "dashboard": engine.learner_dashboard(&ctx, &learner, Some(&course), at).unwrap(),
                "awards": engine.awards(&ctx, &learner, Some(&course)).unwrap(),
            })
        })
        .collect();
    serde_json::json!({
        "class": engine.class_dashboard(&ctx, &course, at, &ClassDashboardOptions::default()).unwrap(),
        "learners": learners,
        "outbox": engine.outbox(&ctx, &course).unwrap(),
    })
}

/// What does not depend on how records were batched: records, streaks, risk features, and the
/// awards of rules that only grow (a streak reached). Award times do depend on it (an award is
/// dated by its batch's latest evidence), and so does a mastery rule: mastery reached between
/// two records and lost again is awarded only if a batch ends there.
fn settled<S: Store>(engine: &Engine<S>) -> serde_json::Value {
    let at = parse_instant("2026-03-02T12:00:00Z", "t").unwrap();
    let course: CourseId = "c1".into();
    let ctx = service();
    let learners: Vec<serde_json::Value> = (0..4)
        .map(|l| {
            let learner: UserId = format!("l{l}").into();
            let mut held: Vec<String> = engine
                .awards(&ctx, &learner, Some(&course))
                .unwrap()
                .into_iter()
                .map(|a| a.achievement)
                .filter(|a| a == "https://b.example/s")
                .collect();
            held.sort();
            serde_json::json!({
                "records": engine.learner_views(&ctx, &learner, Some(&course)).unwrap(),
                "streak": engine.streak(&ctx, &learner, Some(&course), at).unwrap(),
                "awards": held,
            })
        })
        .collect();
    let features: Vec<(String, Vec<String>)> = engine
        .risk_features(&ctx, &course, at)
        .unwrap()
        .into_iter()
        .map(|(l, row)| (l, row.iter().map(|v| format!("{v:?}")).collect()))
        .collect();
    serde_json::json!({ "learners": learners, "features": features })
}

#[test]
fn async_ingest_equals_sync_ingest() {
    let batches: Vec<Vec<Evidence>> =
        (0..12u32).map(|b| (0..25u32).map(|i| record(b * 20 + i, (b * 20 + i) % 4)).collect()).collect();
    let sync = rules(MemoryStore::new());
    let asynchronous = AsyncEngine::new(rules(SnapshotStore), AsyncMemory::default());
    for batch in &batches {
        let expected = sync.ingest(&service(), batch);
        let got = futures::executor::block_on(asynchronous.ingest(&service(), batch));
        assert_eq!(got, expected);
    }
    // What the async store holds reads the same through a synchronous engine.
    let reread = rules(std::mem::take(&mut AsyncEngine::into_store(asynchronous).inner));
    assert!(view(&reread) == view(&sync), "the async engine's stored state differs from the sync engine's");
}

#[test]
fn async_reads_equal_sync_reads_and_writes_go_through() {
    let batch: Vec<Evidence> = (0..80u32).map(|i| record(i, i % 4)).collect();
    let sync = rules(MemoryStore::new());
    sync.ingest(&service(), &batch);
    let asynchronous = AsyncEngine::new(rules(SnapshotStore), AsyncMemory::default());
    futures::executor::block_on(asynchronous.ingest(&service(), &batch));
    let at = parse_instant("2026-03-02T12:00:00Z", "t").unwrap();
    let course: CourseId = "c1".into();
    let ctx = service();
    let options = ClassDashboardOptions::default();
    let class =
        futures::executor::block_on(asynchronous.read(&ctx, |e| e.class_dashboard(&ctx, &course, at, &options)));
    assert_eq!(class.unwrap(), sync.class_dashboard(&ctx, &course, at, &options).unwrap());
    let learner: UserId = "l1".into();
    let board = futures::executor::block_on(
        asynchronous.read(&ctx, |e| e.learner_dashboard(&ctx, &learner, Some(&course), at)),
    );
    assert_eq!(board.unwrap(), sync.learner_dashboard(&ctx, &learner, Some(&course), at).unwrap());
    // The policy holds: a learner cannot read the class.
    let l0 = AccessContext::new(Principal::learner("t1", "l0"));
    let denied = futures::executor::block_on(asynchronous.read(&l0, |e| e.class_dashboard(&l0, &course, at, &options)));
    assert_eq!(denied.unwrap_err().code(), "access_denied");
    // Acknowledging awards writes through the async store.
    let ids: Vec<String> = sync
        .outbox(&ctx, &course)
        .unwrap()
        .into_iter()
        .filter(|a| a.learner == learner.as_str())
        .map(|a| a.credential_id)
        .collect();
    assert!(!ids.is_empty());
    let taken = futures::executor::block_on(asynchronous.acknowledge_awards(&ctx, &learner, Some(&course), &ids));
    assert_eq!(taken.unwrap(), sync.acknowledge_awards(&ctx, &learner, Some(&course), &ids).unwrap());
    let outbox = futures::executor::block_on(asynchronous.read(&ctx, |e| e.outbox(&ctx, &course))).unwrap();
    assert_eq!(outbox, sync.outbox(&ctx, &course).unwrap());
}

/// `record_risk` writes each learner's band through the async store's `apply` (states only), and
/// the next scoring reads them back: alerts and stored predictions equal the synchronous engine's.
#[test]
fn async_record_risk_equals_sync_record_risk() {
    let batch: Vec<Evidence> = (0..80u32).map(|i| record(i, i % 4)).collect();
    let sync = rules(MemoryStore::new());
    sync.ingest(&service(), &batch);
    let asynchronous = AsyncEngine::new(rules(SnapshotStore), AsyncMemory::default());
    futures::executor::block_on(asynchronous.ingest(&service(), &batch));
    let (ctx, course) = (service(), CourseId::from("c1"));
    for day in ["2026-03-02T12:00:00Z", "2026-03-09T12:00:00Z"] {
        let at = parse_instant(day, "t").unwrap();
        let recorded = futures::executor::block_on(asynchronous.record_risk(&ctx, &course, at, 3)).unwrap();
        assert_eq!(recorded, sync.record_risk(&ctx, &course, at, 3).unwrap(), "{day}");
        // In key order: a course listing promises no order.
        let listed = |store: &MemoryStore| {
            let mut states = store.course_states(&ctx, &course, "risk").unwrap();
            states.sort_by(|a, b| a.0.cmp(&b.0));
            states
        };
        let stored = listed(&asynchronous.store().inner);
        assert_eq!(stored, listed(sync.store()), "{day}");
        assert!(stored.iter().any(|(k, _)| k.name == "prediction"), "predictions were written");
    }
    // The policy holds: a learner cannot record the class's risk.
    let l0 = AccessContext::new(Principal::learner("t1", "l0"));
    let at = parse_instant("2026-03-10T12:00:00Z", "t").unwrap();
    let denied = futures::executor::block_on(asynchronous.record_risk(&l0, &course, at, 3));
    assert_eq!(denied.unwrap_err().code(), "access_denied");
}

/// Eight tasks ingest one learner's records interleaved (each store call yields, so the tasks
/// take turns): the stored state equals one engine ingesting everything.
#[test]
fn concurrent_tasks_lose_nothing() {
    let records: Vec<Evidence> = (0..400u32).map(|i| record(i, 0)).collect();
    let asynchronous = AsyncEngine::new(rules(SnapshotStore), AsyncMemory::default());
    let tasks = (0..8usize).map(|t| {
        let (engine, mine) = (&asynchronous, records.iter().skip(t).step_by(6).cloned().collect::<Vec<_>>());
        async move {
            for chunk in mine.chunks(7) {
                engine.ingest(&service(), chunk).await;
            }
        }
    });
    futures::executor::block_on(futures::future::join_all(tasks));
    let sync = rules(MemoryStore::new());
    sync.ingest(&service(), &records);
    let reread = rules(std::mem::take(&mut AsyncEngine::into_store(asynchronous).inner));
    assert!(settled(&reread) == settled(&sync), "the tasks' stored state differs from one ingest");
}

/// Inside a multi-threaded tokio runtime, from several tasks at once: no panic, nothing lost.
#[test]
fn runs_inside_a_tokio_runtime() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
    let records: Vec<Evidence> = (0..200u32).map(|i| record(i, i % 3)).collect();
    let engine = std::sync::Arc::new(AsyncEngine::new(rules(SnapshotStore), AsyncMemory::default()));
    runtime.block_on(async {
        let handles: Vec<_> = records
            .chunks(10)
            .map(|chunk| {
                let (engine, chunk) = (engine.clone(), chunk.to_vec());
                tokio::spawn(async move { engine.ingest(&service(), &chunk).await })
            })
            .collect();
        for handle in handles {
            assert!(handle.await.unwrap().rejected.is_empty());
        }
    });
    let sync = rules(MemoryStore::new());
    sync.ingest(&service(), &records);
    let engine = std::sync::Arc::into_inner(engine).unwrap();
    let reread = rules(std::mem::take(&mut AsyncEngine::into_store(engine).inner));
    assert!(settled(&reread) == settled(&sync), "the tasks' stored state differs from one ingest");
}
