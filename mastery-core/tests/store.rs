//! The in-memory store passes the conformance suite, survives a crash and replays to the same state.

#![allow(clippy::unwrap_used)]

use mastery_core::store::conformance;
use mastery_core::store::StateValue;
use mastery_core::{
    AccessContext, Engine, Evidence, EvidenceKind, EvidenceSource, MemoryStore, Principal, StateKey, Store,
};
use proptest::prelude::*;
use serde_json::json;

fn evidence(id: &str, learner: &str) -> Evidence {
    Evidence {
        id: id.into(),
        learner: learner.into(),
        course: Some("c1".into()),
        competencies: vec!["k".into()],
        activity: None,
        kind: EvidenceKind::Response,
        score: None,
        success: Some(true),
        completion: None,
        duration_seconds: None,
        occurred_at: None,
        sequence: None,
        source: EvidenceSource::Host,
    }
}

fn service() -> AccessContext {
    AccessContext::new(Principal::service("t1", "svc"))
}

mastery_core::conformance_tests!(memory_conformance, MemoryStore::new());

mastery_core::conformance_tests!(durable_conformance, {
    let dir = tempfile::tempdir()?;
    MemoryStore::open(dir.path()).map(|store| (store, dir)).map_err(std::io::Error::other)
});

#[test]
fn memory_store_passes_the_conformance_suite() {
    assert_eq!(conformance::run(&MemoryStore::new).unwrap(), conformance::CHECKS.len());
}

#[test]
fn durable_memory_store_passes_the_conformance_suite() {
    let root = tempfile::tempdir().unwrap();
    let counter = std::cell::Cell::new(0);
    let fresh = || {
        counter.set(counter.get() + 1);
        MemoryStore::open(root.path().join(counter.get().to_string())).unwrap()
    };
    assert_eq!(conformance::run(&fresh).unwrap(), conformance::CHECKS.len());
}

#[test]
fn reopening_replays_acknowledged_writes_and_drops_a_torn_record() {
    let dir = tempfile::tempdir().unwrap();
    let key = StateKey { learner: "amy".into(), course: None, namespace: "m".into(), name: "k".into() };
    let journal = dir.path().join("journal.log");
    {
        let store = MemoryStore::open(dir.path()).unwrap();
        store.append_evidence(&service(), &evidence("e1", "amy")).unwrap();
        store.snapshot().unwrap();
        store.append_evidence(&service(), &evidence("e2", "amy")).unwrap();
        store.put_state(&service(), &key, &StateValue::Json(json!({"p": 0.9}))).unwrap();
        let before = std::fs::metadata(&journal).unwrap().len();
        store.append_evidence(&service(), &evidence("e3", "amy")).unwrap();
        // The process dies here, in the middle of writing the third record.
        drop(store);
        let bytes = std::fs::read(&journal).unwrap();
        std::fs::write(&journal, &bytes[..before as usize + 20]).unwrap();
    }
    let store = MemoryStore::open(dir.path()).unwrap();
    let ids: Vec<String> =
        store.learner_evidence(&service(), &"amy".into()).unwrap().iter().map(|e| e.id.as_str().into()).collect();
    assert_eq!(ids, ["e1", "e2"]);
    assert_eq!(store.get_state(&service(), &key).unwrap(), Some(StateValue::Json(json!({"p": 0.9}))));
    // The torn tail was cut, so new writes land right after the last whole record.
    store.append_evidence(&service(), &evidence("e3", "amy")).unwrap();
    drop(store);
    assert_eq!(MemoryStore::open(dir.path()).unwrap().learner_evidence(&service(), &"amy".into()).unwrap().len(), 3);
}

#[test]
fn a_corrupt_journal_in_the_middle_is_an_error_not_silent_loss() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("journal.log"), "garbage\n{\"also\": \"garbage\"}\n").unwrap();
    let err = MemoryStore::open(dir.path()).unwrap_err();
    assert_eq!(
        (err.code(), err.to_string().as_str()),
        ("store_error", "store failure: journal record at byte 0 fails its checksum")
    );
}

#[test]
fn a_directory_in_the_json_lines_format_is_converted() {
    let dir = tempfile::tempdir().unwrap();
    let key = StateKey { learner: "amy".into(), course: None, namespace: "m".into(), name: "k".into() };
    let e1 = serde_json::to_string(&evidence("e1", "amy")).unwrap();
    let e2 = serde_json::to_string(&evidence("e2", "amy")).unwrap();
    let k = serde_json::to_string(&key).unwrap();
    std::fs::write(
        dir.path().join("snapshot.json"),
        format!(r#"{{"seq": 1, "evidence": [["t1", {e1}]], "states": {{}}}}"#),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("journal.jsonl"),
        format!(
            "{{\"seq\": 1, \"tenant\": \"t1\", \"evidence\": {e1}}}\n{{\"seq\": 2, \"tenant\": \"t1\", \"evidence\": {e2}}}\n{{\"seq\": 3, \"tenant\": \"t1\", \"state\": {{\"key\": {k}, \"value\": 7}}}}\n{{\"seq\": 4, \"tenant\": \"t1\", \"evid"
        ),
    )
    .unwrap();
    for _ in 0..2 {
        let store = MemoryStore::open(dir.path()).unwrap();
        assert_eq!(
            store.learner_evidence(&service(), &"amy".into()).unwrap(),
            [evidence("e1", "amy"), evidence("e2", "amy")]
        );
        assert_eq!(store.get_state(&service(), &key).unwrap(), Some(StateValue::Json(json!(7))));
    }
    assert!(!dir.path().join("journal.jsonl").exists() && !dir.path().join("snapshot.json").exists());
}

#[test]
fn debug_shows_counts_not_evidence() {
    let store = MemoryStore::new();
    store.append_evidence(&service(), &evidence("secret-id", "Zoë")).unwrap();
    let shown = format!("{store:?}");
    assert!(shown.contains("evidence: 1") && !shown.contains("Zoë") && !shown.contains("secret-id"), "{shown}");
}

#[test]
fn engine_reports_denied_records_and_keeps_the_rest() {
    let engine = Engine::new(MemoryStore::new());
    let amy = AccessContext::new(Principal::enrolled_learner("t1", "amy", vec!["c1".into()]));
    let outcome = engine.ingest(&amy, &[evidence("e1", "amy"), evidence("e2", "bob"), evidence("e1", "amy")]);
    assert_eq!((outcome.new, outcome.duplicates), (1, 1));
    assert_eq!(outcome.rejected.len(), 1);
    assert_eq!((outcome.rejected[0].index, outcome.rejected[0].code.as_str()), (1, "access_denied"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]
    /// Whatever the writes, snapshots and reopenings, a reopened store equals the live one.
    #[test]
    fn reopened_state_equals_live_state(ops in prop::collection::vec((0u8..3, 0u8..6, 0u8..3), 1..40)) {
        let dir = tempfile::tempdir().unwrap();
        let mut store = MemoryStore::open(dir.path()).unwrap();
        let live = MemoryStore::new();
        for (op, id, learner) in ops {
            let e = evidence(&format!("e{id}"), &format!("l{learner}"));
            match op {
                0 | 1 => {
                    let a = store.append_evidence(&service(), &e).unwrap();
                    let b = live.append_evidence(&service(), &e).unwrap();
                    prop_assert_eq!(a, b);
                }
                _ => {
                    if id % 2 == 0 { store.snapshot().unwrap(); } else { drop(store); store = MemoryStore::open(dir.path()).unwrap(); }
                }
            }
        }
        drop(store);
        let reopened = MemoryStore::open(dir.path()).unwrap();
        for learner in 0..3 {
            let l = format!("l{learner}").into();
            prop_assert_eq!(reopened.learner_evidence(&service(), &l).unwrap(), live.learner_evidence(&service(), &l).unwrap());
        }
    }
}

/// A batch that repeats a stored record, or one of its own, writes nothing: its new records stay
/// unknown (no id is left taken) until a batch without the repeat stores them, in memory and on disk.
#[test]
fn a_refused_batch_leaves_no_record_behind() {
    use mastery_core::Appended::{Duplicate, New};
    let dir = tempfile::tempdir().unwrap();
    for store in [MemoryStore::new(), MemoryStore::open(dir.path()).unwrap()] {
        let ctx = service();
        let (stored, a, c) = (evidence("b", "bo"), evidence("a", "ann"), evidence("c", "cy"));
        let key = StateKey {
            learner: "ann".into(),
            course: Some("c1".into()),
            namespace: "mastery".into(),
            name: "k".into(),
        };
        let states = vec![(key.clone(), StateValue::Json(json!(1)))];
        assert_eq!(store.apply(&ctx, &[&stored], &[]).unwrap(), vec![New]);
        assert_eq!(store.apply(&ctx, &[&a, &stored], &states).unwrap(), vec![New, Duplicate]);
        assert_eq!(store.apply(&ctx, &[&c, &a, &c], &states).unwrap(), vec![New, New, Duplicate]);
        assert_eq!(store.known_evidence(&ctx, &[&a, &c, &stored]).unwrap(), vec![false, false, true]);
        assert!(store.learner_evidence(&ctx, &"ann".into()).unwrap().is_empty());
        assert_eq!(store.get_state(&ctx, &key).unwrap(), None);
        assert_eq!(store.apply(&ctx, &[&a, &c], &states).unwrap(), vec![New, New]);
        assert_eq!(store.known_evidence(&ctx, &[&a, &c]).unwrap(), vec![true, true]);
        assert_eq!(store.get_state(&ctx, &key).unwrap(), Some(StateValue::Json(json!(1))));
    }
}
