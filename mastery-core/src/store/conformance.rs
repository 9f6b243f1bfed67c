//! The conformance suite any [`Store`] must pass, for hosts to run against their own backend:
//!
//! ```ignore
//! mastery_core::store::conformance::run(&|| MyPostgresStore::connect_to_empty_test_db())?;
//! ```
//!
//! `fresh` must return an empty store each time. The suite stops at the first failed check and
//! names it.

use serde_json::json;

use super::{Appended, StateKey, Store};
use crate::access::{AccessContext, Principal};
use crate::error::MasteryError;
use crate::evidence::{Evidence, EvidenceKind, EvidenceSource};
use crate::ids::{CourseId, EvidenceId, UserId};

/// A check the store failed, with what was expected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("store conformance check `{check}` failed: {detail}")]
pub struct ConformanceFailure {
    pub check: &'static str,
    pub detail: String,
}

type Check<S> = (&'static str, fn(&S) -> Result<(), String>);

/// Runs every check, each on a fresh store; returns how many passed.
pub fn run<S: Store>(fresh: &dyn Fn() -> S) -> Result<usize, ConformanceFailure> {
    let checks: Vec<Check<S>> = vec![
        ("learner_appends_and_reads_own_evidence", own_evidence),
        ("duplicate_append_counts_once", duplicates),
        ("learner_cannot_read_another_learner", other_learner),
        ("instructor_reads_only_taught_courses", instructor_scope),
        ("nobody_crosses_tenants", tenants),
        ("state_round_trips_under_policy", state),
        ("evidence_keeps_append_order", order),
    ];
    for (check, run_check) in &checks {
        run_check(&fresh()).map_err(|detail| ConformanceFailure { check, detail })?;
    }
    Ok(checks.len())
}

fn ctx(p: Principal) -> AccessContext {
    AccessContext::new(p)
}

fn sample(id: &str, learner: &str, course: &str) -> Evidence {
    Evidence {
        id: EvidenceId::new(id),
        learner: UserId::new(learner),
        course: Some(CourseId::new(course)),
        competencies: vec!["skill".into()],
        activity: Some("https://example.edu/items/1".into()),
        kind: EvidenceKind::Response,
        score: None,
        success: Some(true),
        completion: None,
        duration_seconds: None,
        occurred_at: None,
        sequence: Some(1),
        source: EvidenceSource::Host,
    }
}

fn expect_denied<T: std::fmt::Debug, E: Into<MasteryError>>(r: Result<T, E>, what: &str) -> Result<(), String> {
    match r.map_err(Into::into) {
        Err(MasteryError::AccessDenied { .. }) => Ok(()),
        other => Err(format!("{what}: expected access_denied, got {other:?}")),
    }
}

fn ok<T, E: Into<MasteryError>>(r: Result<T, E>, what: &str) -> Result<T, String> {
    r.map_err(|e| format!("{what}: {}", e.into()))
}

fn own_evidence<S: Store>(s: &S) -> Result<(), String> {
    let amy = ctx(Principal::learner("t1", "amy"));
    let e = sample("e1", "amy", "c1");
    if ok(s.append_evidence(&amy, &e), "append")? != Appended::New {
        return Err("first append was not New".into());
    }
    let got = ok(s.learner_evidence(&amy, &"amy".into()), "read")?;
    (got == vec![e]).then_some(()).ok_or_else(|| format!("read back {} records, not the one written", got.len()))
}

fn duplicates<S: Store>(s: &S) -> Result<(), String> {
    let svc = ctx(Principal::service("t1", "importer"));
    let e = sample("e1", "amy", "c1");
    ok(s.append_evidence(&svc, &e), "append")?;
    if ok(s.append_evidence(&svc, &e), "append again")? != Appended::Duplicate {
        return Err("second append of the same id was not Duplicate".into());
    }
    let n = ok(s.learner_evidence(&svc, &"amy".into()), "read")?.len();
    (n == 1).then_some(()).ok_or_else(|| format!("{n} records after a duplicate append"))
}

fn other_learner<S: Store>(s: &S) -> Result<(), String> {
    let svc = ctx(Principal::service("t1", "importer"));
    ok(s.append_evidence(&svc, &sample("e1", "amy", "c1")), "append")?;
    let bob = ctx(Principal::learner("t1", "bob"));
    expect_denied(s.learner_evidence(&bob, &"amy".into()), "bob reads amy")?;
    expect_denied(s.append_evidence(&bob, &sample("e2", "amy", "c1")), "bob writes for amy")?;
    expect_denied(s.course_evidence(&bob, &"c1".into()), "learner reads a course")
}

fn instructor_scope<S: Store>(s: &S) -> Result<(), String> {
    let svc = ctx(Principal::service("t1", "importer"));
    ok(s.append_evidence(&svc, &sample("e1", "amy", "c1")), "append c1")?;
    ok(s.append_evidence(&svc, &sample("e2", "amy", "c2")), "append c2")?;
    let tia = ctx(Principal::instructor("t1", "tia", vec!["c1".into()]));
    let course = ok(s.course_evidence(&tia, &"c1".into()), "course read")?;
    if course.len() != 1 {
        return Err(format!("instructor saw {} records of their course, expected 1", course.len()));
    }
    expect_denied(s.course_evidence(&tia, &"c2".into()), "instructor reads another course")?;
    let learner = ok(s.learner_evidence(&tia, &"amy".into()), "learner read")?;
    if learner.iter().any(|e| e.course != Some("c1".into())) || learner.len() != 1 {
        return Err("instructor saw a learner's records from a course they do not teach".into());
    }
    Ok(())
}

fn tenants<S: Store>(s: &S) -> Result<(), String> {
    ok(s.append_evidence(&ctx(Principal::service("t1", "importer")), &sample("e1", "amy", "c1")), "append")?;
    let other_admin = ctx(Principal::admin("t2", "root"));
    let seen = ok(s.learner_evidence(&other_admin, &"amy".into()), "other tenant read")?;
    if !seen.is_empty() {
        return Err("an admin of another tenant saw the records".into());
    }
    // Same id in another tenant is a different record.
    let appended = ok(s.append_evidence(&other_admin, &sample("e1", "amy", "c1")), "other tenant append")?;
    (appended == Appended::New).then_some(()).ok_or_else(|| "ids collided across tenants".into())
}

fn state<S: Store>(s: &S) -> Result<(), String> {
    let key = StateKey { learner: "amy".into(), course: Some("c1".into()), namespace: "test".into(), name: "x".into() };
    let svc = ctx(Principal::service("t1", "engine"));
    if ok(s.get_state(&svc, &key), "get empty")?.is_some() {
        return Err("a fresh store returned state".into());
    }
    ok(s.put_state(&svc, &key, &json!({"p": 0.5})), "put")?;
    ok(s.put_state(&svc, &key, &json!({"p": 0.75})), "put again")?;
    let amy = ctx(Principal::learner("t1", "amy"));
    if ok(s.get_state(&amy, &key), "owner get")? != Some(json!({"p": 0.75})) {
        return Err("state did not round-trip, or the last write did not win".into());
    }
    expect_denied(s.get_state(&ctx(Principal::learner("t1", "bob")), &key), "bob reads amy's state")?;
    expect_denied(
        s.put_state(&ctx(Principal::instructor("t1", "tia", vec!["c2".into()])), &key, &json!(1)),
        "other course writes",
    )
}

fn order<S: Store>(s: &S) -> Result<(), String> {
    let svc = ctx(Principal::service("t1", "importer"));
    let ids = ["z", "a", "m", "b"];
    for id in ids {
        ok(s.append_evidence(&svc, &sample(id, "amy", "c1")), "append")?;
    }
    let got: Vec<String> =
        ok(s.learner_evidence(&svc, &"amy".into()), "read")?.into_iter().map(|e| e.id.as_str().to_owned()).collect();
    (got == ids).then_some(()).ok_or_else(|| format!("order {got:?}"))
}
