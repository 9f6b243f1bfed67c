//! The PostgreSQL store: the core's conformance suite, and row-level security on its own.
#![cfg(feature = "pg-tests")]
#![allow(clippy::unwrap_used)]

mod common;

use common::{fresh_store, TestDb};
use lms_service::pg::set_identity;
use mastery_core::access::{AccessContext, Principal};
use mastery_core::store::{StateKey, StateValue, Store};
use mastery_core::{Engine, Evidence, EvidenceKind, EvidenceSource};
use serde_json::json;

mastery_core::conformance_tests!(postgres_conformance, fresh_store());

fn ctx(p: Principal) -> AccessContext {
    AccessContext::new(p)
}

fn evidence(id: &str, learner: &str, course: Option<&str>) -> Evidence {
    Evidence {
        id: id.into(),
        learner: learner.into(),
        course: course.map(Into::into),
        competencies: vec!["frac".into()],
        activity: Some("https://lms.example/quiz/1".into()),
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

/// Rows (tenant, learner, course) of both tables in every tenant, written through the store.
fn populate(store: &lms_service::PgStore) {
    for tenant in ["t1", "t2"] {
        let svc = ctx(Principal::service(tenant, "importer"));
        let engine = Engine::new(store.clone());
        let batch: Vec<Evidence> = [("amy", Some("c1")), ("amy", Some("c2")), ("amy", None), ("bob", Some("c1"))]
            .iter()
            .enumerate()
            .map(|(i, (l, c))| evidence(&format!("e{i}"), l, *c))
            .collect();
        assert_eq!(engine.ingest(&svc, &batch).new, 4);
        let key = StateKey { learner: "bob".into(), course: None, namespace: "streak".into(), name: "s".into() };
        store.put_state(&svc, &key, &StateValue::Json(json!(1))).unwrap();
    }
}

type Row = (String, String, Option<String>);

/// Everything the database returns to raw SQL under `who`'s identity, as the app role.
fn visible(db: &TestDb, who: Option<&AccessContext>) -> (Vec<Row>, Vec<Row>) {
    let mut client = db.app_config().connect(postgres::NoTls).unwrap();
    let mut tx = client.transaction().unwrap();
    if let Some(who) = who {
        set_identity(&mut tx, who).unwrap();
    }
    let rows = |tx: &mut postgres::Transaction<'_>, table: &str| -> Vec<Row> {
        tx.query(&format!("SELECT tenant, learner, course FROM {table}"), &[])
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect()
    };
    let e = rows(&mut tx, "evidence");
    let s = rows(&mut tx, "state");
    (e, s)
}

/// The core's policy is out of the way: raw SQL as the app role under each identity returns only
/// what that caller may see, and refuses writes outside it.
#[test]
fn rls_alone_returns_nothing_that_is_not_the_callers() {
    let (store, db) = fresh_store().unwrap();
    populate(&store);
    let (all_e, all_s) = {
        // What is there: a service of each tenant sees all of its tenant.
        let t1 = visible(&db, Some(&ctx(Principal::service("t1", "x"))));
        let t2 = visible(&db, Some(&ctx(Principal::service("t2", "x"))));
        ([t1.0, t2.0].concat(), [t1.1, t2.1].concat())
    };
    assert_eq!((all_e.len(), all_s.len()), (8, 10), "4 evidence, 4 mastery states and a streak per tenant");

    type Allowed = fn(&Row) -> bool;
    let cases: Vec<(&str, Option<AccessContext>, Allowed)> = vec![
        ("no identity", None, |_| false),
        ("learner amy", Some(ctx(Principal::learner("t1", "amy"))), |r| r.0 == "t1" && r.1 == "amy"),
        ("learner bob", Some(ctx(Principal::learner("t1", "bob"))), |r| r.0 == "t1" && r.1 == "bob"),
        ("instructor of c1", Some(ctx(Principal::instructor("t1", "tia", vec!["c1".into()]))), |r| {
            r.0 == "t1" && r.2.as_deref() == Some("c1")
        }),
        ("instructor of c9", Some(ctx(Principal::instructor("t1", "tom", vec!["c9".into()]))), |_| false),
        ("admin of t1", Some(ctx(Principal::admin("t1", "root"))), |r| r.0 == "t1"),
        ("admin of t2", Some(ctx(Principal::admin("t2", "root"))), |r| r.0 == "t2"),
        ("service of t1", Some(ctx(Principal::service("t1", "svc"))), |r| r.0 == "t1"),
        ("learner of t3", Some(ctx(Principal::learner("t3", "amy"))), |_| false),
    ];
    for (who, identity, allowed) in &cases {
        let (e, s) = visible(&db, identity.as_ref());
        let expect_e: Vec<&Row> = all_e.iter().filter(|r| allowed(r)).collect();
        let expect_s: Vec<&Row> = all_s.iter().filter(|r| allowed(r)).collect();
        assert!(e.iter().all(allowed), "{who}: evidence leaked");
        assert!(s.iter().all(allowed), "{who}: state leaked");
        assert_eq!((e.len(), s.len()), (expect_e.len(), expect_s.len()), "{who}: saw less than allowed");
    }

    // Writes outside the caller's rows are refused by the database itself (SQLSTATE 42501).
    let mut client = db.app_config().connect(postgres::NoTls).unwrap();
    let attempts: [(AccessContext, &str); 5] = [
        (ctx(Principal::learner("t1", "bob")), "INSERT INTO evidence (tenant, learner, course, id, body) VALUES ('t1', 'amy', NULL, 'x', '{}')"),
        (ctx(Principal::learner("t1", "amy")), "INSERT INTO evidence (tenant, learner, course, id, body) VALUES ('t2', 'amy', NULL, 'x', '{}')"),
        (ctx(Principal::learner("t1", "amy")), "INSERT INTO evidence (tenant, learner, course, id, body) VALUES ('t1', 'amy', 'c1', 'x', '{}')"),
        (ctx(Principal::instructor("t1", "tia", vec!["c1".into()])), "INSERT INTO state (tenant, learner, course, namespace, name, value) VALUES ('t1', 'amy', 'c2', 'm', 'n', '1')"),
        (ctx(Principal::admin("t2", "root")), "INSERT INTO state (tenant, learner, course, namespace, name, value) VALUES ('t1', 'amy', NULL, 'm', 'n', '1')"),
    ];
    for (who, sql) in attempts {
        let mut tx = client.transaction().unwrap();
        set_identity(&mut tx, &who).unwrap();
        let err = tx.batch_execute(sql).unwrap_err();
        assert_eq!(err.code(), Some(&postgres::error::SqlState::INSUFFICIENT_PRIVILEGE), "{sql}");
    }
    // An update outside the caller's rows touches nothing.
    let mut tx = client.transaction().unwrap();
    set_identity(&mut tx, &ctx(Principal::instructor("t1", "tia", vec!["c1".into()]))).unwrap();
    assert_eq!(tx.execute("UPDATE state SET value = '0' WHERE course IS DISTINCT FROM 'c1'", &[]).unwrap(), 0);
    drop(tx);

    // The app role can neither switch RLS off nor change the tables: it owns nothing.
    for sql in [
        "SET row_security = off; SELECT * FROM evidence",
        "ALTER TABLE evidence DISABLE ROW LEVEL SECURITY",
        "ALTER TABLE evidence NO FORCE ROW LEVEL SECURITY",
        "DROP POLICY tenant_wall ON evidence",
        "DELETE FROM evidence",
    ] {
        let mut tx = client.transaction().unwrap();
        set_identity(&mut tx, &ctx(Principal::admin("t1", "root"))).unwrap();
        assert!(tx.batch_execute(sql).is_err(), "the app role could run: {sql}");
    }
    let attrs =
        client.query_one("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user", &[]).unwrap();
    assert_eq!((attrs.get::<_, bool>(0), attrs.get::<_, bool>(1)), (false, false));
    let owned = client
        .query_one(
            "SELECT count(*) FROM pg_class WHERE relowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)",
            &[],
        )
        .unwrap();
    assert_eq!(owned.get::<_, i64>(0), 0, "the app role owns relations");
}

/// One `apply` is one transaction: a batch with a stored record writes nothing at all.
#[test]
fn apply_writes_all_or_nothing() {
    let (store, _db) = fresh_store().unwrap();
    let svc = ctx(Principal::service("t1", "importer"));
    let key =
        |n: &str| StateKey { learner: "amy".into(), course: Some("c1".into()), namespace: "m".into(), name: n.into() };
    let a = evidence("a", "amy", Some("c1"));
    let b = evidence("b", "amy", Some("c1"));
    store.apply(&svc, &[&a], &[(key("x"), StateValue::Json(json!(1)))]).unwrap();
    let flags = store.apply(&svc, &[&b, &a], &[(key("y"), StateValue::Json(json!(2)))]).unwrap();
    assert_eq!(flags, vec![mastery_core::Appended::New, mastery_core::Appended::Duplicate]);
    assert_eq!(store.learner_evidence(&svc, &"amy".into()).unwrap().len(), 1);
    assert!(store.get_state(&svc, &key("y")).unwrap().is_none());
}

/// The tables of migration 0002 sit behind the same walls: raw SQL as the app role sees only the
/// caller's awards, outbox rows and log rows; learners cannot revoke, drain another's outbox or
/// write another's rows; revoked status bits (no learner in them) are public.
#[test]
fn event_and_log_tables_keep_to_the_caller() {
    let (_store, db) = fresh_store().unwrap();
    let mut client = db.app_config().connect(postgres::NoTls).unwrap();
    let rows = [("t1", "amy", "c1"), ("t1", "bob", "c2"), ("t2", "amy", "c1")];
    for (tenant, learner, course) in rows {
        let mut tx = client.transaction().unwrap();
        set_identity(&mut tx, &ctx(Principal::service(tenant, "svc"))).unwrap();
        tx.execute(
            "INSERT INTO award (tenant, learner, course, achievement, version, credential_id, awarded_at) \
             VALUES ($1, $2, $3, 'a', 1, $2, now())",
            &[&tenant, &learner, &course],
        )
        .unwrap();
        tx.execute(
            "INSERT INTO outbox (tenant, learner, course, kind, body) VALUES ($1, $2, $3, 'k', '{}')",
            &[&tenant, &learner, &course],
        )
        .unwrap();
        tx.execute(
            "INSERT INTO mastery_log (tenant, learner, course, competency, mastered, evidence_count, model_version) \
             VALUES ($1, $2, $3, 'x', true, 1, 'v')",
            &[&tenant, &learner, &course],
        )
        .unwrap();
        tx.execute(
            "INSERT INTO prediction_log (tenant, learner, course, model_version, features, score, reasons) \
             VALUES ($1, $2, $3, 'v', '[]', 0.5, '[]')",
            &[&tenant, &learner, &course],
        )
        .unwrap();
        tx.commit().unwrap();
    }
    type Allowed = fn(&Row) -> bool;
    let cases: Vec<(&str, Option<AccessContext>, Allowed)> = vec![
        ("no identity", None, |_| false),
        ("learner amy", Some(ctx(Principal::learner("t1", "amy"))), |r| r.0 == "t1" && r.1 == "amy"),
        ("instructor of c2", Some(ctx(Principal::instructor("t1", "tia", vec!["c2".into()]))), |r| {
            r.0 == "t1" && r.2.as_deref() == Some("c2")
        }),
        ("admin of t2", Some(ctx(Principal::admin("t2", "root"))), |r| r.0 == "t2"),
    ];
    for (who, identity, allowed) in &cases {
        for table in ["award", "outbox", "mastery_log", "prediction_log"] {
            let mut tx = client.transaction().unwrap();
            if let Some(identity) = identity {
                set_identity(&mut tx, identity).unwrap();
            }
            let seen: Vec<Row> = tx
                .query(&format!("SELECT tenant, learner, course FROM {table}"), &[])
                .unwrap()
                .iter()
                .map(|r| (r.get(0), r.get(1), r.get(2)))
                .collect();
            let expected = rows
                .iter()
                .filter(|(t, l, c)| allowed(&((*t).to_owned(), (*l).to_owned(), Some((*c).to_owned()))))
                .count();
            assert!(seen.iter().all(allowed), "{who}: {table} leaked");
            assert_eq!(seen.len(), expected, "{who}: {table} saw less than allowed");
        }
    }
    // A learner can neither revoke, nor drain another's outbox, nor write another's rows.
    let amy = ctx(Principal::learner("t1", "amy"));
    let mut tx = client.transaction().unwrap();
    set_identity(&mut tx, &amy).unwrap();
    assert_eq!(tx.execute("UPDATE award SET revoked = 'x'", &[]).unwrap(), 0);
    assert_eq!(tx.execute("UPDATE outbox SET delivered_at = now() WHERE learner = 'bob'", &[]).unwrap(), 0);
    drop(tx);
    for sql in [
        "INSERT INTO outbox (tenant, learner, kind, body) VALUES ('t1', 'bob', 'k', '{}')",
        "INSERT INTO award (tenant, learner, achievement, version, credential_id, awarded_at) \
         VALUES ('t1', 'bob', 'a', 2, 'z', now())",
        "INSERT INTO revocation (tenant, status_index) VALUES ('t1', 1)",
    ] {
        let mut tx = client.transaction().unwrap();
        set_identity(&mut tx, &amy).unwrap();
        let e = tx.execute(sql, &[]).unwrap_err();
        assert_eq!(e.code(), Some(&postgres::error::SqlState::INSUFFICIENT_PRIVILEGE), "{sql}");
    }
    // An admin publishes a revoked bit; anyone reads it (the table holds no learner, no reason).
    let mut tx = client.transaction().unwrap();
    set_identity(&mut tx, &ctx(Principal::admin("t1", "root"))).unwrap();
    tx.execute("INSERT INTO revocation (tenant, status_index) VALUES ('t1', 0)", &[]).unwrap();
    tx.commit().unwrap();
    let public: i64 = client.query_one("SELECT count(*) FROM revocation", &[]).unwrap().get(0);
    assert_eq!(public, 1);
}
