//! The conformance suite any [`Store`] must pass, for hosts to run against their own backend.
//!
//! Each check is a public function taking a fresh, empty store. The [`conformance_tests!`]
//! macro expands to one `#[test]` per check, given an expression that builds a fresh store:
//!
//! ```ignore
//! mastery_core::conformance_tests!(postgres, MyPostgresStore::connect_to_empty_test_db());
//! // The expression may return a `Result`, and a `(store, guard)` pair keeps `guard` (say, a
//! // temporary directory) alive until the check ends.
//! mastery_core::conformance_tests!(durable, {
//!     let dir = tempfile::tempdir()?;
//!     MemoryStore::open(dir.path()).map(|store| (store, dir)).map_err(std::io::Error::other)
//! });
//! ```
//!
//! [`run`] runs every check in one call, each on a fresh store, and stops at the first failure.

use serde_json::json;

use super::{Appended, StateKey, StateValue, Store};
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

/// The names of all checks, in the order [`run`] runs them; each is also a public function.
pub const CHECKS: [&str; 13] = [
    "learner_appends_and_reads_own_evidence",
    "duplicate_append_counts_once",
    "learner_cannot_read_another_learner",
    "instructor_reads_only_taught_courses",
    "nobody_crosses_tenants",
    "state_round_trips_under_policy",
    "evidence_keeps_append_order",
    "evidence_ids_are_scoped_per_learner",
    "record_is_all_or_nothing_on_a_denied_key",
    "concurrent_appends_lose_nothing",
    "state_listings_follow_the_policy",
    "batched_reads_answer_each_key_in_order",
    "a_versioned_apply_refuses_a_learner_written_since_its_read",
];

/// Runs every check, each on a fresh store; returns how many passed.
pub fn run<S: Store + Sync>(fresh: &dyn Fn() -> S) -> Result<usize, ConformanceFailure> {
    learner_appends_and_reads_own_evidence(&fresh())?;
    duplicate_append_counts_once(&fresh())?;
    learner_cannot_read_another_learner(&fresh())?;
    instructor_reads_only_taught_courses(&fresh())?;
    nobody_crosses_tenants(&fresh())?;
    state_round_trips_under_policy(&fresh())?;
    evidence_keeps_append_order(&fresh())?;
    evidence_ids_are_scoped_per_learner(&fresh())?;
    record_is_all_or_nothing_on_a_denied_key(&fresh())?;
    concurrent_appends_lose_nothing(&fresh())?;
    state_listings_follow_the_policy(&fresh())?;
    batched_reads_answer_each_key_in_order(&fresh())?;
    a_versioned_apply_refuses_a_learner_written_since_its_read(&fresh())?;
    Ok(CHECKS.len())
}

fn named(check: &'static str, result: Result<(), String>) -> Result<(), ConformanceFailure> {
    result.map_err(|detail| ConformanceFailure { check, detail })
}

/// A learner appends evidence and reads back exactly that.
pub fn learner_appends_and_reads_own_evidence<S: Store>(s: &S) -> Result<(), ConformanceFailure> {
    named("learner_appends_and_reads_own_evidence", own_evidence(s))
}

/// A second append of the same id for the same learner is `Duplicate` and stores nothing.
pub fn duplicate_append_counts_once<S: Store>(s: &S) -> Result<(), ConformanceFailure> {
    named("duplicate_append_counts_once", duplicates(s))
}

/// A learner can neither read nor write another learner's records, nor read a course.
pub fn learner_cannot_read_another_learner<S: Store>(s: &S) -> Result<(), ConformanceFailure> {
    named("learner_cannot_read_another_learner", other_learner(s))
}

/// An instructor sees only the courses they teach.
pub fn instructor_reads_only_taught_courses<S: Store>(s: &S) -> Result<(), ConformanceFailure> {
    named("instructor_reads_only_taught_courses", instructor_scope(s))
}

/// Nothing is visible or colliding across tenants.
pub fn nobody_crosses_tenants<S: Store>(s: &S) -> Result<(), ConformanceFailure> {
    named("nobody_crosses_tenants", tenants(s))
}

/// State round-trips, the last write wins, and the policy guards it.
pub fn state_round_trips_under_policy<S: Store>(s: &S) -> Result<(), ConformanceFailure> {
    named("state_round_trips_under_policy", state(s))
}

/// Evidence reads back in append order.
pub fn evidence_keeps_append_order<S: Store>(s: &S) -> Result<(), ConformanceFailure> {
    named("evidence_keeps_append_order", order(s))
}

/// Evidence ids are unique per learner: one learner's id neither collides with nor reveals
/// another learner's record with the same id.
pub fn evidence_ids_are_scoped_per_learner<S: Store>(s: &S) -> Result<(), ConformanceFailure> {
    named("evidence_ids_are_scoped_per_learner", per_learner_ids(s))
}

/// [`Store::record`] stores evidence and states together, once; when the policy denies one state
/// key nothing at all is written.
pub fn record_is_all_or_nothing_on_a_denied_key<S: Store>(s: &S) -> Result<(), ConformanceFailure> {
    named("record_is_all_or_nothing_on_a_denied_key", record_all_or_nothing(s))
}

/// Four threads appending at once lose nothing, and a contested id is stored once.
pub fn concurrent_appends_lose_nothing<S: Store + Sync>(s: &S) -> Result<(), ConformanceFailure> {
    named("concurrent_appends_lose_nothing", concurrent(s))
}

/// A learner's and a course's state listings hold exactly the records of that learner or course
/// and namespace; an instructor sees only taught courses; other learners and tenants are refused.
pub fn state_listings_follow_the_policy<S: Store>(s: &S) -> Result<(), ConformanceFailure> {
    named("state_listings_follow_the_policy", listings(s))
}

/// `get_states` answers one state (or none) per key, in the keys' order, the same as `get_state`;
/// a key the caller may not read fails the call.
pub fn batched_reads_answer_each_key_in_order<S: Store>(s: &S) -> Result<(), ConformanceFailure> {
    named("batched_reads_answer_each_key_in_order", batched_reads(s))
}

fn batched_reads<S: Store>(s: &S) -> Result<(), String> {
    let key = |learner: &str, name: &str| StateKey {
        learner: learner.into(),
        course: Some("c1".into()),
        namespace: "test".into(),
        name: name.into(),
    };
    let svc = ctx(Principal::service("t1", "engine"));
    ok(s.put_state(&svc, &key("amy", "x"), &StateValue::Json(json!(1))), "put x")?;
    ok(s.put_state(&svc, &key("amy", "z"), &StateValue::Json(json!(3))), "put z")?;
    ok(s.put_state(&svc, &key("bob", "x"), &StateValue::Json(json!(2))), "put bob's x")?;
    let keys = [key("amy", "z"), key("amy", "y"), key("bob", "x"), key("amy", "x"), key("amy", "z")];
    let got = ok(s.get_states(&svc, &keys), "get_states")?;
    let expected: Vec<Option<StateValue>> =
        [Some(3), None, Some(2), Some(1), Some(3)].iter().map(|v| v.map(|v| StateValue::Json(json!(v)))).collect();
    if got != expected {
        return Err(format!("get_states answered {} values, not the stored ones in key order", got.len()));
    }
    if !ok(s.get_states(&svc, &[]), "get_states of no keys")?.is_empty() {
        return Err("get_states of no keys answered something".into());
    }
    expect_denied(s.get_states(&ctx(enrolled("amy")), &[key("amy", "x"), key("bob", "x")]), "amy reads bob's state")
}

/// A store that versions its records (`read_version` answers `Some`) refuses an `apply_since`
/// touching a learner written after the read point with `StoreConflict`, writing nothing, and
/// accepts one touching only other learners. A store without versions passes as it is.
pub fn a_versioned_apply_refuses_a_learner_written_since_its_read<S: Store>(s: &S) -> Result<(), ConformanceFailure> {
    named("a_versioned_apply_refuses_a_learner_written_since_its_read", versioned_apply(s))
}

fn versioned_apply<S: Store>(s: &S) -> Result<(), String> {
    let svc = ctx(Principal::service("t1", "engine"));
    let key = |learner: &str| StateKey {
        learner: learner.into(),
        course: Some("c1".into()),
        namespace: "test".into(),
        name: "v".into(),
    };
    let Some(since) = ok(s.read_version(&svc), "read_version")? else { return Ok(()) };
    ok(s.put_state(&svc, &key("amy"), &StateValue::Json(json!("other"))), "put amy's state")?;
    let evidence = sample("e1", "amy", "c1");
    let stale = [(key("amy"), StateValue::Json(json!("stale")))];
    match s.apply_since(&svc, since, &[&evidence], &stale).map_err(Into::into) {
        Err(MasteryError::StoreConflict) => {}
        Err(e) => return Err(format!("apply_since failed with {} instead of a conflict", e.code())),
        Ok(_) => return Err("apply_since wrote over a learner written after its read point".into()),
    }
    if ok(s.known_evidence(&svc, &[&evidence]), "known_evidence")? != [false] {
        return Err("a refused apply_since stored its evidence".into());
    }
    if ok(s.get_state(&svc, &key("amy")), "get amy's state")? != Some(StateValue::Json(json!("other"))) {
        return Err("a refused apply_since changed a state".into());
    }
    let flags =
        ok(s.apply_since(&svc, since, &[], &[(key("bob"), StateValue::Json(json!(1)))]), "apply_since for bob")?;
    if !flags.is_empty() || ok(s.get_state(&svc, &key("bob")), "get bob's state")?.is_none() {
        return Err("apply_since refused or lost a learner nobody else wrote".into());
    }
    Ok(())
}

fn listings<S: Store>(s: &S) -> Result<(), String> {
    let svc = ctx(Principal::service("t1", "engine"));
    let key = |learner: &str, course: &str, namespace: &str, name: &str| StateKey {
        learner: learner.into(),
        course: Some(course.into()),
        namespace: namespace.into(),
        name: name.into(),
    };
    let writes = [
        key("amy", "c1", "mastery", "k1"),
        key("amy", "c1", "mastery", "k2"),
        key("amy", "c2", "mastery", "k1"),
        key("amy", "c1", "streak", "k1"),
        key("bob", "c1", "mastery", "k1"),
    ];
    for (i, k) in writes.iter().enumerate() {
        ok(s.put_state(&svc, k, &StateValue::Json(json!(i))), "put")?;
    }
    let names = |got: Vec<(StateKey, StateValue)>| -> Vec<String> {
        let mut v: Vec<String> = got
            .into_iter()
            .map(|(k, _)| {
                format!(
                    "{}/{}/{}",
                    k.learner.as_str(),
                    k.course.map(|c| c.as_str().to_owned()).unwrap_or_default(),
                    k.name
                )
            })
            .collect();
        v.sort();
        v
    };
    let amy = ctx(enrolled("amy"));
    let mine = names(ok(s.learner_states(&amy, &"amy".into(), "mastery"), "own listing")?);
    if mine != ["amy/c1/k1", "amy/c1/k2", "amy/c2/k1"] {
        return Err(format!("a learner's mastery listing was {mine:?}"));
    }
    let tia = ctx(Principal::instructor("t1", "tia", vec!["c2".into()]));
    let taught = names(ok(s.learner_states(&tia, &"amy".into(), "mastery"), "instructor listing")?);
    if taught != ["amy/c2/k1"] {
        return Err(format!("an instructor of c2 saw {taught:?}"));
    }
    let class = names(ok(s.course_states(&svc, &"c1".into(), "mastery"), "course listing")?);
    if class != ["amy/c1/k1", "amy/c1/k2", "bob/c1/k1"] {
        return Err(format!("course c1's mastery listing was {class:?}"));
    }
    // amy's second course lists her too.
    let second = names(ok(s.course_states(&svc, &"c2".into(), "mastery"), "course listing")?);
    if second != ["amy/c2/k1"] {
        return Err(format!("course c2's mastery listing was {second:?}"));
    }
    expect_denied(s.learner_states(&ctx(enrolled("bob")), &"amy".into(), "mastery"), "bob lists amy's states")?;
    expect_denied(s.course_states(&tia, &"c1".into(), "mastery"), "an instructor of c2 lists c1")?;
    expect_denied(s.course_states(&amy, &"c1".into(), "mastery"), "a learner lists a course")?;
    // Another tenant's admin lists their own tenant's c1: none of t1's records.
    let foreign = ok(s.course_states(&ctx(Principal::admin("t2", "root")), &"c1".into(), "mastery"), "t2 listing")?;
    if !foreign.is_empty() {
        return Err("another tenant's admin saw t1's records".into());
    }
    Ok(())
}

/// What a store factory given to [`conformance_tests!`] returns: a store, or a `(store, guard)`
/// pair whose guard must outlive the store (a temporary directory, a test database), or a
/// `Result` of either.
pub trait Fixture {
    /// The store under test.
    type Store: Store + Sync;
    /// What keeps the store's resources alive.
    type Guard;
    /// The store and its guard, or why the factory failed.
    fn into_fixture(self) -> Result<(Self::Store, Self::Guard), String>;
}

impl<S: Store + Sync> Fixture for S {
    type Store = S;
    type Guard = ();
    fn into_fixture(self) -> Result<(S, ()), String> {
        Ok((self, ()))
    }
}

impl<S: Store + Sync, G> Fixture for (S, G) {
    type Store = S;
    type Guard = G;
    fn into_fixture(self) -> Result<(S, G), String> {
        Ok(self)
    }
}

impl<F: Fixture, E: std::fmt::Debug> Fixture for Result<F, E> {
    type Store = F::Store;
    type Guard = F::Guard;
    fn into_fixture(self) -> Result<(F::Store, F::Guard), String> {
        self.map_err(|e| format!("{e:?}"))?.into_fixture()
    }
}

#[doc(hidden)]
pub fn __run_check<F: Fixture>(fixture: F, check: fn(&F::Store) -> Result<(), ConformanceFailure>) {
    let (store, guard) = match fixture.into_fixture() {
        Ok(fixture) => fixture,
        Err(e) => panic!("the store factory failed: {e}"),
    };
    let result = check(&store);
    drop(store);
    drop(guard);
    if let Err(failure) = result {
        panic!("{failure}");
    }
}

/// Expands to a module `$module` with one `#[test]` per conformance check, each on a fresh store
/// built by `$factory` (an expression returning a store, a `(store, guard)` pair, or a `Result`
/// of either, in which `?` may be used; it is evaluated inside the module, which imports the
/// caller's scope).
#[macro_export]
macro_rules! conformance_tests {
    (@each $factory:expr; $($check:ident),* $(,)?) => {
        $(
            #[test]
            #[allow(clippy::redundant_closure_call)]
            fn $check() {
                // In a closure, so the factory may use `?` when it returns a `Result`.
                let fixture = (|| $factory)();
                $crate::store::conformance::__run_check(fixture, |s| $crate::store::conformance::$check(s));
            }
        )*
    };
    ($module:ident, $factory:expr $(,)?) => {
        mod $module {
            #[allow(unused_imports)]
            use super::*;
            $crate::conformance_tests!(@each $factory;
                learner_appends_and_reads_own_evidence,
                duplicate_append_counts_once,
                learner_cannot_read_another_learner,
                instructor_reads_only_taught_courses,
                nobody_crosses_tenants,
                state_round_trips_under_policy,
                evidence_keeps_append_order,
                evidence_ids_are_scoped_per_learner,
                record_is_all_or_nothing_on_a_denied_key,
                concurrent_appends_lose_nothing,
                state_listings_follow_the_policy,
                batched_reads_answer_each_key_in_order,
                a_versioned_apply_refuses_a_learner_written_since_its_read,
            );
        }
    };
}

/// A learner enrolled in the suite's courses (learners write only into courses they take).
fn enrolled(user: &str) -> Principal {
    Principal::enrolled_learner("t1", user, vec![CourseId::new("c1"), CourseId::new("c2")])
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
    let amy = ctx(enrolled("amy"));
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
    let bob = ctx(enrolled("bob"));
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
    ok(s.put_state(&svc, &key, &StateValue::Json(json!({"p": 0.5}))), "put")?;
    ok(s.put_state(&svc, &key, &StateValue::Json(json!({"p": 0.75}))), "put again")?;
    let amy = ctx(enrolled("amy"));
    if ok(s.get_state(&amy, &key), "owner get")? != Some(StateValue::Json(json!({"p": 0.75}))) {
        return Err("state did not round-trip, or the last write did not win".into());
    }
    expect_denied(s.get_state(&ctx(enrolled("bob")), &key), "bob reads amy's state")?;
    expect_denied(
        s.put_state(&ctx(Principal::instructor("t1", "tia", vec!["c2".into()])), &key, &StateValue::Json(json!(1))),
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

fn per_learner_ids<S: Store>(s: &S) -> Result<(), String> {
    let amy = ctx(enrolled("amy"));
    let bob = ctx(enrolled("bob"));
    let amys = sample("e1", "amy", "c1");
    let mut bobs = sample("e1", "bob", "c1");
    bobs.competencies = vec!["other".into()];
    ok(s.append_evidence(&amy, &amys), "amy appends")?;
    // Bob ingesting an id amy already used must neither learn that nor be refused.
    if ok(s.append_evidence(&bob, &bobs), "bob appends the same id")? != Appended::New {
        return Err("another learner's evidence id counted as a duplicate".into());
    }
    if ok(s.append_evidence(&bob, &bobs), "bob appends again")? != Appended::Duplicate {
        return Err("a learner's own repeated id was not a duplicate".into());
    }
    if ok(s.learner_evidence(&amy, &"amy".into()), "amy reads")? != vec![amys] {
        return Err("a learner's record changed after another learner used its id".into());
    }
    if ok(s.learner_evidence(&bob, &"bob".into()), "bob reads")? != vec![bobs] {
        return Err("a learner's record with a reused id did not read back".into());
    }
    let n = ok(s.course_evidence(&ctx(Principal::service("t1", "svc")), &"c1".into()), "course read")?.len();
    (n == 2).then_some(()).ok_or_else(|| format!("{n} course records, expected 2"))
}

fn record_all_or_nothing<S: Store>(s: &S) -> Result<(), String> {
    let svc = ctx(Principal::service("t1", "engine"));
    let key = |course: &str, name: &str| StateKey {
        learner: "amy".into(),
        course: Some(course.into()),
        namespace: "test".into(),
        name: name.into(),
    };
    let e = sample("e1", "amy", "c1");
    let states =
        [(key("c1", "a"), StateValue::Json(json!({"p": 0.5}))), (key("c1", "b"), StateValue::Json(json!({"p": 0.25})))];
    if ok(s.record(&svc, &e, &states), "record")? != Appended::New {
        return Err("first record was not New".into());
    }
    for (k, v) in &states {
        if ok(s.get_state(&svc, k), "get")?.as_ref() != Some(v) {
            return Err("a state written with its evidence did not read back".into());
        }
    }
    let again = [(key("c1", "a"), StateValue::Json(json!({"p": 0.9})))];
    if ok(s.record(&svc, &e, &again), "record again")? != Appended::Duplicate {
        return Err("recording the same evidence again was not Duplicate".into());
    }
    if ok(s.get_state(&svc, &key("c1", "a")), "get")? != Some(StateValue::Json(json!({"p": 0.5}))) {
        return Err("a duplicate record overwrote state".into());
    }
    // An instructor of c1 may write amy's c1 records but not her c2 state: nothing is written.
    let tia = ctx(Principal::instructor("t1", "tia", vec!["c1".into()]));
    let denied = [(key("c1", "c"), StateValue::Json(json!(1))), (key("c2", "d"), StateValue::Json(json!(2)))];
    expect_denied(s.record(&tia, &sample("e2", "amy", "c1"), &denied), "record with a denied key")?;
    let stored = ok(s.learner_evidence(&svc, &"amy".into()), "read")?;
    if stored.len() != 1 {
        return Err("evidence was stored although one of its states was denied".into());
    }
    for (k, _) in &denied {
        if ok(s.get_state(&svc, k), "get")?.is_some() {
            return Err("a state was stored although the record was denied".into());
        }
    }
    Ok(())
}

fn concurrent<S: Store + Sync>(s: &S) -> Result<(), String> {
    const THREADS: usize = 4;
    const EACH: usize = 50;
    let svc = ctx(Principal::service("t1", "importer"));
    let results: Vec<Result<usize, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let svc = &svc;
                scope.spawn(move || {
                    let mut new = 0;
                    for i in 0..EACH {
                        ok(s.append_evidence(svc, &sample(&format!("t{t}-{i}"), "amy", "c1")), "append")?;
                        // Every thread also races for the same id.
                        if ok(s.append_evidence(svc, &sample(&format!("shared-{i}"), "amy", "c1")), "append shared")?
                            == Appended::New
                        {
                            new += 1;
                        }
                    }
                    Ok(new)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|_| Err("a writer thread panicked".into()))).collect()
    });
    let mut shared_new = 0;
    for r in results {
        shared_new += r?;
    }
    if shared_new != EACH {
        return Err(format!("{shared_new} of {EACH} contested ids were New, expected each exactly once"));
    }
    let stored = ok(s.learner_evidence(&svc, &"amy".into()), "read")?;
    let distinct: std::collections::HashSet<_> = stored.iter().map(|e| e.id.as_str().to_owned()).collect();
    let expected = THREADS * EACH + EACH;
    if stored.len() != expected || distinct.len() != expected {
        return Err(format!(
            "{} records ({} distinct) after {expected} distinct appends",
            stored.len(),
            distinct.len()
        ));
    }
    Ok(())
}
