//! The HTTP API, in process: the access matrix (routes × callers, no leaks), hostile bodies,
//! concurrent overlapping ingests, the credential round trip and the OpenAPI document.
//!
//! On the embedded store by default; with `--features pg-tests` (tests/pg.sh) on a fresh
//! PostgreSQL database per test, as the RLS app role.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use lms_service::api::{router, Service};
use lms_service::auth::mint;
use lms_service::catalog::Catalog;
use lms_service::AnyStore;
use mastery_core::access::Principal;
use mastery_core::store::Store;
use serde_json::{json, Value};
use tower::ServiceExt;

const SECRET: &[u8] = b"test-secret";
const AMY: &str = "mbox:mailto:amy@example.org";
const BOB: &str = "mbox:mailto:bob@example.org";

#[cfg(feature = "pg-tests")]
fn store() -> (AnyStore, Box<dyn std::any::Any + Send>) {
    let (store, db) = common::fresh_store().unwrap();
    (AnyStore::Postgres(store), Box::new(db))
}

#[cfg(not(feature = "pg-tests"))]
fn store() -> (AnyStore, Box<dyn std::any::Any + Send>) {
    (AnyStore::Memory(mastery_core::MemoryStore::new()), Box::new(()))
}

struct Parts {
    router: Router,
    service: Arc<Service>,
}

/// The service under test. Setting up and tearing down a PostgreSQL database, and dropping the
/// blocking driver's connections, must not run on an async worker: both happen in `block_in_place`.
struct App {
    parts: Option<Parts>,
    guard: Option<Box<dyn std::any::Any + Send>>,
}

impl std::ops::Deref for App {
    type Target = Parts;
    fn deref(&self) -> &Parts {
        self.parts.as_ref().unwrap()
    }
}

impl Drop for App {
    fn drop(&mut self) {
        let (parts, guard) = (self.parts.take(), self.guard.take());
        tokio::task::block_in_place(move || drop((parts, guard)));
    }
}

fn app() -> App {
    tokio::task::block_in_place(|| {
        let (store, guard) = store();
        let started = mastery_core::time::parse_instant("2026-01-01T00:00:00Z", "t").unwrap();
        let service = Arc::new(
            Service::new(store, Catalog::demo().unwrap(), SECRET.to_vec(), &[7; 32], "lms.example", started).unwrap(),
        );
        App { parts: Some(Parts { router: router(service.clone()), service }), guard: Some(guard) }
    })
}

/// Blocking store reads from a test body.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(f)
}

fn far_future() -> u64 {
    4_000_000_000
}

fn token(p: &Principal) -> String {
    mint(SECRET, p, far_future())
}

fn enc(id: &str) -> String {
    id.replace(':', "%3A").replace('@', "%40").replace('|', "%7C")
}

async fn call(
    router: &Router,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<(&str, String)>,
) -> (StatusCode, Value, String) {
    let mut req = Request::builder().method(method).uri(path);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let req = match body {
        Some((ct, text)) => req.header("content-type", ct).body(Body::from(text)).unwrap(),
        None => req.body(Body::empty()).unwrap(),
    };
    let res = router.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null), text)
}

fn statement(n: usize, mbox: &str, quiz: usize, course: &str, success: bool) -> Value {
    json!({
        "id": format!("00000000-0000-4000-8000-{n:012}"),
        "actor": {"mbox": format!("mailto:{mbox}")},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/answered"},
        "object": {"id": format!("https://lms.example/quiz/{quiz}")},
        "result": {"success": success, "score": {"scaled": if success { 1.0 } else { 0.0 }}},
        "context": {"contextActivities": {"grouping": [{"id": format!("https://lms.example/courses/{course}")}]}},
        "timestamp": format!("2026-03-{:02}T09:{:02}:00Z", 1 + n % 28, n % 60),
    })
}

async fn ingest(app: &App, who: &Principal, statements: Vec<Value>) -> Value {
    let (status, body, text) = call(
        &app.router,
        "POST",
        "/api/mastery/statements",
        Some(&token(who)),
        Some(("application/json", Value::Array(statements).to_string())),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    body
}

fn service_t1() -> Principal {
    Principal::service("t1", "lrs-sync")
}

/// Amy in maths-101 (quiz 1 mastered, so she holds a credential), Bob in maths-102.
async fn seed(app: &App) -> String {
    let mut batch: Vec<Value> = (0..4).map(|n| statement(n, "amy@example.org", 1, "maths-101", true)).collect();
    batch.extend((4..8).map(|n| statement(n, "bob@example.org", 2, "maths-102", true)));
    let out = ingest(app, &service_t1(), batch).await;
    assert_eq!(out["new"], 8, "{out}");
    let (status, gallery, text) = call(
        &app.router,
        "GET",
        &format!("/api/credentials/learners/{}/badges", enc(AMY)),
        Some(&token(&service_t1())),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    gallery
        .as_array()
        .unwrap()
        .iter()
        .find(|item| item["status"] == "earned")
        .and_then(|item| item["credential_id"].as_str())
        .expect("amy earned a badge")
        .to_owned()
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Who {
    NoToken,
    Expired,
    LearnerSelf,
    OtherLearner,
    InstructorOfCourse,
    InstructorOfOther,
    AdminOfTenant,
    AdminOfOtherTenant,
    Service,
}

const EVERYONE: [Who; 9] = [
    Who::NoToken,
    Who::Expired,
    Who::LearnerSelf,
    Who::OtherLearner,
    Who::InstructorOfCourse,
    Who::InstructorOfOther,
    Who::AdminOfTenant,
    Who::AdminOfOtherTenant,
    Who::Service,
];

fn bearer(who: Who) -> Option<String> {
    let p = match who {
        Who::NoToken => return None,
        Who::Expired => return Some(mint(SECRET, &Principal::admin("t1", "root"), 1_000_000_000)),
        Who::LearnerSelf => Principal::enrolled_learner("t1", AMY, vec!["maths-101".into()]),
        Who::OtherLearner => Principal::enrolled_learner("t1", BOB, vec!["maths-102".into()]),
        Who::InstructorOfCourse => Principal::instructor("t1", "tia", vec!["maths-101".into()]),
        Who::InstructorOfOther => Principal::instructor("t1", "tom", vec!["maths-102".into()]),
        Who::AdminOfTenant => Principal::admin("t1", "root"),
        Who::AdminOfOtherTenant => Principal::admin("t2", "root"),
        Who::Service => service_t1(),
    };
    Some(token(&p))
}

/// Every route the service has, as (method, path template) — the OpenAPI test checks the document
/// lists exactly these.
const ROUTES: [(&str, &str); 14] = [
    ("post", "/api/mastery/statements"),
    ("get", "/api/mastery/learners/{learner}/courses/{course}/states"),
    ("get", "/api/mastery/learners/{learner}/courses/{course}/dashboard"),
    ("get", "/api/mastery/courses/{course}/dashboard"),
    ("get", "/api/credentials/learners/{learner}/badges"),
    ("get", "/api/credentials/{id}"),
    ("get", "/api/credentials/{id}/jwt"),
    ("post", "/api/credentials/verify"),
    ("post", "/api/credentials/{id}/revoke"),
    ("get", "/api/credentials/status/{form}"),
    ("get", "/.well-known/did.json"),
    ("get", "/api/risk/courses/{course}/alerts"),
    ("get", "/api/openapi.json"),
    ("get", "/api/events/learners/{learner}"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_matrix_leaks_nothing() {
    let empty = app();
    let app = app();
    let credential = seed(&app).await;
    let (_, cred_json, _) =
        call(&app.router, "GET", &format!("/api/credentials/{credential}"), bearer(Who::Service).as_deref(), None)
            .await;
    use Who::*;
    // An admin of t2 reads t2's records under the same ids: allowed, and empty (checked against
    // an empty service below).
    let staff = [InstructorOfCourse, AdminOfTenant, AdminOfOtherTenant, Service];
    let amy_readers = [LearnerSelf, InstructorOfCourse, AdminOfTenant, AdminOfOtherTenant, Service];
    let authenticated =
        [LearnerSelf, OtherLearner, InstructorOfCourse, InstructorOfOther, AdminOfTenant, AdminOfOtherTenant, Service];
    type Case = (&'static str, String, Option<(&'static str, String)>, Vec<Who>, StatusCode);
    let amy = enc(AMY);
    let cases: Vec<Case> = vec![
        (
            "GET",
            format!("/api/mastery/learners/{amy}/courses/maths-101/states"),
            None,
            amy_readers.to_vec(),
            StatusCode::FORBIDDEN,
        ),
        (
            "GET",
            format!("/api/mastery/learners/{amy}/courses/maths-101/dashboard"),
            None,
            amy_readers.to_vec(),
            StatusCode::FORBIDDEN,
        ),
        ("GET", "/api/mastery/courses/maths-101/dashboard".into(), None, staff.to_vec(), StatusCode::FORBIDDEN),
        (
            "GET",
            format!("/api/credentials/learners/{amy}/badges"),
            None,
            vec![LearnerSelf, AdminOfTenant, AdminOfOtherTenant, Service],
            StatusCode::FORBIDDEN,
        ),
        (
            "GET",
            format!("/api/credentials/{credential}"),
            None,
            vec![LearnerSelf, InstructorOfCourse, AdminOfTenant, Service],
            StatusCode::NOT_FOUND,
        ),
        (
            "GET",
            format!("/api/credentials/{credential}/jwt"),
            None,
            vec![LearnerSelf, InstructorOfCourse, AdminOfTenant, Service],
            StatusCode::NOT_FOUND,
        ),
        ("GET", "/api/risk/courses/maths-101/alerts".into(), None, staff.to_vec(), StatusCode::FORBIDDEN),
        (
            "POST",
            "/api/credentials/verify".into(),
            Some(("application/json", cred_json.to_string())),
            authenticated.to_vec(),
            StatusCode::FORBIDDEN,
        ),
        // Posting a statement about amy: everyone authenticated gets 200; the policy rejects the
        // record per record for those who may not write it (checked below).
        (
            "POST",
            "/api/mastery/statements".into(),
            Some(("application/json", statement(900, "amy@example.org", 1, "maths-101", true).to_string())),
            authenticated.to_vec(),
            StatusCode::FORBIDDEN,
        ),
    ];
    let amy_secret_bits = ["amy@example.org", "p_known", "credential_id", "score"];
    let mut checked = 0;
    for (method, path, body, allowed, denied_status) in &cases {
        for who in EVERYONE {
            let (status, json, text) = call(&app.router, method, path, bearer(who).as_deref(), body.clone()).await;
            if who == AdminOfOtherTenant && status == StatusCode::OK && *method == "GET" {
                // Their own tenant's records of the same ids: exactly what an empty service shows.
                let (_, fresh, fresh_text) =
                    call(&empty.router, method, path, bearer(who).as_deref(), body.clone()).await;
                assert_eq!(json, fresh, "{method} {path} showed another tenant's records: {text} vs {fresh_text}");
            }
            if matches!(who, NoToken | Expired) {
                assert_eq!(status, StatusCode::UNAUTHORIZED, "{who:?} {method} {path}: {text}");
                assert_eq!(json["code"], "unauthenticated");
            } else if allowed.contains(&who) {
                assert_eq!(status, StatusCode::OK, "{who:?} {method} {path}: {text}");
            } else {
                assert_eq!(status, *denied_status, "{who:?} {method} {path}: {text}");
            }
            if status != StatusCode::OK {
                assert!(json["code"].is_string() && json["message"].is_string(), "{text}");
                for bit in amy_secret_bits {
                    assert!(!text.contains(bit), "{who:?} {method} {path} leaked {bit}: {text}");
                }
            }
            checked += 1;
        }
    }
    assert_eq!(checked, cases.len() * EVERYONE.len());

    // The statement about amy was stored only for those who may write her maths-101 records
    // (amy, the course's instructor, the tenant's admin and service; the other tenant's admin
    // stored it in their own tenant) — everybody else got a per-record access_denied.
    for who in [OtherLearner, InstructorOfOther] {
        let other = statement(901, "amy@example.org", 1, "maths-101", true).to_string();
        let (_, out, _) = call(
            &app.router,
            "POST",
            "/api/mastery/statements",
            bearer(who).as_deref(),
            Some(("application/json", other)),
        )
        .await;
        assert_eq!(
            (out["new"].as_u64(), out["rejected"][0]["code"].as_str()),
            (Some(0), Some("access_denied")),
            "{who:?}"
        );
    }
    let svc = mastery_core::AccessContext::new(service_t1());
    let stored = blocking(|| app.service.engine.store().learner_evidence(&svc, &AMY.into()).unwrap());
    assert_eq!(stored.len(), 5, "4 seeded + statement 900 once");

    // Revocation: only the tenant's admin; the other tenant's admin is told it does not exist.
    let revoke = |who| {
        let router = app.router.clone();
        let path = format!("/api/credentials/{credential}/revoke");
        async move {
            call(
                &router,
                "POST",
                &path,
                bearer(who).as_deref(),
                Some(("application/json", r#"{"reason": "test"}"#.into())),
            )
            .await
            .0
        }
    };
    for (who, expected) in [
        (NoToken, StatusCode::UNAUTHORIZED),
        (Expired, StatusCode::UNAUTHORIZED),
        (LearnerSelf, StatusCode::FORBIDDEN),
        (OtherLearner, StatusCode::FORBIDDEN),
        (InstructorOfCourse, StatusCode::FORBIDDEN),
        (InstructorOfOther, StatusCode::FORBIDDEN),
        (Service, StatusCode::FORBIDDEN),
        (AdminOfOtherTenant, StatusCode::NOT_FOUND),
        (AdminOfTenant, StatusCode::OK),
    ] {
        assert_eq!(revoke(who).await, expected, "revoke as {who:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_sign_verify_and_revoke() {
    let app = app();
    let credential = seed(&app).await;
    let amy = bearer(Who::LearnerSelf);
    let (status, doc, text) =
        call(&app.router, "GET", &format!("/api/credentials/{credential}"), amy.as_deref(), None).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert_eq!(doc["issuer"]["id"], "did:web:lms.example");
    assert!(!text.contains("amy@example.org"), "the learner is a salted hash in the credential");
    let (_, jwt, jwt_text) =
        call(&app.router, "GET", &format!("/api/credentials/{credential}/jwt"), amy.as_deref(), None).await;
    assert!(jwt.is_null() && jwt_text.split('.').count() == 3, "{jwt_text}");
    let verify = |ct: &'static str, body: String| {
        let router = app.router.clone();
        let amy = amy.clone();
        async move { call(&router, "POST", "/api/credentials/verify", amy.as_deref(), Some((ct, body))).await.1 }
    };
    let ok = verify("application/json", doc.to_string()).await;
    assert_eq!(ok["valid"], true, "{ok}");
    let ok = verify("application/jwt", jwt_text.clone()).await;
    assert_eq!(ok["valid"], true, "{ok}");
    let mut tampered = doc.clone();
    tampered["credentialSubject"]["achievement"]["name"] = json!("Something else");
    assert_eq!(verify("application/json", tampered.to_string()).await["valid"], false);

    let (status, did, _) = call(&app.router, "GET", "/.well-known/did.json", None, None).await;
    assert_eq!((status, did["id"].as_str()), (StatusCode::OK, Some("did:web:lms.example")));

    let admin = bearer(Who::AdminOfTenant);
    let (status, _, text) = call(
        &app.router,
        "POST",
        &format!("/api/credentials/{credential}/revoke"),
        admin.as_deref(),
        Some(("application/json", r#"{"reason": "issued in error"}"#.into())),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    for (ct, body) in [("application/json", doc.to_string()), ("application/jwt", jwt_text)] {
        let out = verify(ct, body).await;
        assert_eq!(out["valid"], false, "{out}");
        let status_check = out["checks"].as_array().unwrap().iter().find(|c| c["name"] == "status").unwrap().clone();
        assert_eq!(status_check["passed"], false, "{out}");
    }
    let (_, gallery, _) =
        call(&app.router, "GET", &format!("/api/credentials/learners/{}/badges", enc(AMY)), amy.as_deref(), None).await;
    assert!(gallery.as_array().unwrap().iter().any(|g| g["status"] == "revoked"), "{gallery}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_bodies_get_a_4xx_with_the_error_code() {
    let app = app();
    let svc = bearer(Who::Service);
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let deep_object = format!("{}1{}", r#"{"a":"#.repeat(50_000), "}".repeat(50_000));
    let huge =
        format!("[{}]", vec![statement(1, "amy@example.org", 1, "maths-101", true).to_string(); 30_000].join(","));
    assert!(huge.len() > 10 << 20, "{} bytes", huge.len());
    type Hostile = (&'static str, &'static str, Option<(&'static str, String)>, StatusCode, &'static str);
    let cases: Vec<Hostile> = vec![
        (
            "POST",
            "/api/mastery/statements",
            Some(("application/json", "{not json".into())),
            StatusCode::BAD_REQUEST,
            "parse_error",
        ),
        (
            "POST",
            "/api/mastery/statements",
            Some(("application/json", "".into())),
            StatusCode::BAD_REQUEST,
            "parse_error",
        ),
        (
            "POST",
            "/api/mastery/statements",
            Some(("text/xml", "<a/>".into())),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        ("POST", "/api/mastery/statements", None, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
        (
            "POST",
            "/api/mastery/statements",
            Some(("application/json", huge)),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
        (
            "POST",
            "/api/mastery/statements",
            Some(("application/json", deep.clone())),
            StatusCode::BAD_REQUEST,
            "invalid_input",
        ),
        (
            "POST",
            "/api/mastery/statements",
            Some(("application/json", deep_object.clone())),
            StatusCode::BAD_REQUEST,
            "invalid_input",
        ),
        ("POST", "/api/credentials/verify", Some(("application/json", deep)), StatusCode::BAD_REQUEST, "invalid_input"),
        (
            "POST",
            "/api/credentials/verify",
            Some(("application/json", deep_object)),
            StatusCode::BAD_REQUEST,
            "invalid_input",
        ),
        (
            "POST",
            "/api/credentials/verify",
            Some(("application/jwt", "a.b".into())),
            StatusCode::BAD_REQUEST,
            "parse_error",
        ),
        (
            "POST",
            "/api/credentials/urn:uuid:x/revoke",
            Some(("application/json", "[".into())),
            StatusCode::BAD_REQUEST,
            "parse_error",
        ),
        ("GET", "/api/nothing/here", None, StatusCode::NOT_FOUND, "not_found"),
        ("DELETE", "/api/mastery/statements", None, StatusCode::METHOD_NOT_ALLOWED, "invalid_input"),
    ];
    for (method, path, body, expected, code) in cases {
        let sent: String = body.as_ref().map(|(_, b)| b.chars().take(40).collect()).unwrap_or_default();
        let (status, json, text) = call(&app.router, method, path, svc.as_deref(), body).await;
        let shown: String = text.chars().take(200).collect();
        assert_eq!((status, json["code"].as_str()), (expected, Some(code)), "{method} {path} {sent:?}: {shown}");
        assert!(json["message"].is_string());
    }
    // A JSON value that is no statement is a per-record rejection, as is one bad statement in a
    // batch: the rest are stored, the bad one is named.
    let (status, out, _) =
        call(&app.router, "POST", "/api/mastery/statements", svc.as_deref(), Some(("application/json", "42".into())))
            .await;
    assert_eq!((status, out["rejected"][0]["code"].as_str()), (StatusCode::OK, Some("invalid_input")), "{out}");
    // A batch with one bad statement: the rest are stored, the bad one is named.
    let batch = json!([statement(1, "amy@example.org", 1, "maths-101", true), {"verb": {"id": "x"}}, statement(2, "amy@example.org", 1, "maths-101", true)]);
    let (status, out, _) = call(
        &app.router,
        "POST",
        "/api/mastery/statements",
        svc.as_deref(),
        Some(("application/json", batch.to_string())),
    )
    .await;
    assert_eq!(
        (status, out["new"].as_u64(), out["rejected"][0]["index"].as_u64()),
        (StatusCode::OK, Some(2), Some(1)),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_overlapping_batches_store_every_record_once() {
    const CLIENTS: usize = 50;
    const DISTINCT: usize = 200;
    let app = app();
    let svc = bearer(Who::Service).unwrap();
    let learners = ["amy@example.org", "bob@example.org", "cy@example.org", "dee@example.org"];
    let mut tasks = Vec::new();
    for client in 0..CLIENTS {
        let router = app.router.clone();
        let svc = svc.clone();
        tasks.push(tokio::spawn(async move {
            // Each client posts 50 statements of the 200, overlapping its neighbours, with a
            // duplicate inside the batch too.
            let mut batch: Vec<Value> = (0..50)
                .map(|k| (client * 10 + k) % DISTINCT)
                .map(|n| statement(n, learners[n % learners.len()], 1 + n % 6, "maths-101", n % 3 != 0))
                .collect();
            batch.push(batch[0].clone());
            let (status, out, text) = call(
                &router,
                "POST",
                "/api/mastery/statements",
                Some(&svc),
                Some(("application/json", Value::Array(batch).to_string())),
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{text}");
            assert_eq!(out["rejected"].as_array().map(Vec::len), Some(0), "{out}");
            (out["new"].as_u64().unwrap(), out["duplicates"].as_u64().unwrap())
        }));
    }
    let (mut new, mut duplicates) = (0, 0);
    for t in tasks {
        let (n, d) = t.await.unwrap();
        new += n;
        duplicates += d;
    }
    let covered: std::collections::BTreeSet<usize> =
        (0..CLIENTS).flat_map(|c| (0..50).map(move |k| (c * 10 + k) % DISTINCT)).collect();
    assert_eq!(new as usize, covered.len(), "each distinct statement is new exactly once");
    assert_eq!((new + duplicates) as usize, CLIENTS * 51);
    let ctx = mastery_core::AccessContext::new(service_t1());
    let stored = blocking(|| {
        let mut stored = 0;
        for l in learners {
            let evidence =
                app.service.engine.store().learner_evidence(&ctx, &format!("mbox:mailto:{l}").as_str().into()).unwrap();
            let ids: std::collections::BTreeSet<_> = evidence.iter().map(|e| e.id.as_str().to_owned()).collect();
            assert_eq!(ids.len(), evidence.len(), "a record stored twice");
            stored += evidence.len();
            // The stored mastery equals a replay of the stored log (nothing lost between writers).
            let replay = app.service.engine.replay(&ctx, &format!("mbox:mailto:{l}").as_str().into()).unwrap();
            for ((course, competency), state) in replay {
                let record = app
                    .service
                    .engine
                    .mastery(&ctx, &format!("mbox:mailto:{l}").as_str().into(), course.as_ref(), &competency)
                    .unwrap()
                    .unwrap();
                assert_eq!(record.score, state.score, "{competency}");
            }
        }
        stored
    });
    assert_eq!(stored, covered.len());
    // Every badge awarded once and announced once: each learner's stream carries one
    // `credential.awarded` per earned badge, and a second stream none.
    let mut announced_total = 0;
    for l in learners {
        let learner = format!("mbox:mailto:{l}");
        let (status, gallery, _) =
            call(&app.router, "GET", &format!("/api/credentials/learners/{}/badges", enc(&learner)), Some(&svc), None)
                .await;
        assert_eq!(status, StatusCode::OK);
        let earned: std::collections::BTreeSet<String> = gallery
            .as_array()
            .unwrap()
            .iter()
            .filter(|g| g["status"] == "earned")
            .map(|g| g["credential_id"].as_str().unwrap().to_owned())
            .collect();
        let announced = stream(&app, &learner, &svc).await;
        let awarded: Vec<String> = announced
            .iter()
            .filter(|(kind, _)| kind == "credential.awarded")
            .map(|(_, data)| data["credential_id"].as_str().unwrap().to_owned())
            .collect();
        let distinct: std::collections::BTreeSet<String> = awarded.iter().cloned().collect();
        assert_eq!(distinct.len(), awarded.len(), "a badge announced twice");
        assert_eq!(distinct, earned, "announced and earned badges differ");
        assert!(announced.iter().any(|(kind, _)| kind == "mastery.changed"));
        announced_total += awarded.len();
        let again = stream(&app, &learner, &svc).await;
        assert!(again.is_empty(), "events delivered twice: {again:?}");
    }
    assert!(announced_total > 0, "the batches earn badges");
}

/// A learner's event stream for one second: (event kind, data).
async fn stream(app: &App, learner: &str, token: &str) -> Vec<(String, Value)> {
    let (status, _, text) =
        call(&app.router, "GET", &format!("/api/events/learners/{}?timeout=1", enc(learner)), Some(token), None).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let mut events = Vec::new();
    let mut kind = String::new();
    for line in text.lines() {
        if let Some(k) = line.strip_prefix("event: ") {
            kind = k.to_owned();
        } else if let Some(d) = line.strip_prefix("data: ") {
            events.push((kind.clone(), serde_json::from_str(d).unwrap()));
        }
    }
    events
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn risk_list_gives_reasons_in_words_to_the_course_only() {
    let app = app();
    seed(&app).await;
    let path = "/api/risk/courses/maths-101/alerts";
    for who in [Who::LearnerSelf, Who::InstructorOfOther] {
        let (status, _, text) = call(&app.router, "GET", path, bearer(who).as_deref(), None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{who:?}: {text}");
        assert!(!text.contains("amy"), "{text}");
    }
    let (status, out, text) = call(&app.router, "GET", path, bearer(Who::InstructorOfCourse).as_deref(), None).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(out["model"].as_str().unwrap().starts_with("risk-logistic"), "{out}");
    let protected = ["gender", "age", "disability", "deprivation", "region", "education"];
    for alert in out["alerts"].as_array().unwrap() {
        assert_eq!(alert["learner"], AMY, "only the course's learners: {alert}");
        for reason in alert["reasons"].as_array().unwrap() {
            let words = reason["text"].as_str().unwrap();
            assert!(words.contains(' ') && !protected.iter().any(|p| words.contains(p)), "{words}");
        }
    }
    // The retraining job's step runs on the tenant's outcomes and says why it did (not) retrain.
    let decision = blocking(|| app.service.retrain(&["t1".to_owned()])).unwrap();
    let version = app.service.risk.state.read().unwrap().model.model_version.clone();
    assert_eq!(version.ends_with("-own-1"), decision.retrain, "{decision:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_stream_is_the_learners_own() {
    let app = app();
    seed(&app).await;
    let amy = bearer(Who::LearnerSelf).unwrap();
    let path = format!("/api/events/learners/{}?timeout=1", enc(AMY));
    for (who, expected) in [
        (Who::NoToken, StatusCode::UNAUTHORIZED),
        (Who::OtherLearner, StatusCode::FORBIDDEN),
        (Who::InstructorOfOther, StatusCode::FORBIDDEN),
    ] {
        let (status, _, text) = call(&app.router, "GET", &path, bearer(who).as_deref(), None).await;
        assert_eq!(status, expected, "{who:?}: {text}");
        assert!(!text.contains("credential_id"), "{who:?}: {text}");
    }
    let bad = format!("/api/events/learners/{}?timeout=0", enc(AMY));
    let (status, body, _) = call(&app.router, "GET", &bad, Some(&amy), None).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_input")));
    // Another tenant's admin reads their own tenant's (empty) stream of that name.
    assert!(stream(&app, AMY, &bearer(Who::AdminOfOtherTenant).unwrap()).await.is_empty());
    let events = stream(&app, AMY, &amy).await;
    assert_eq!(events.iter().filter(|(k, _)| k == "credential.awarded").count(), 1, "{events:?}");
    assert!(stream(&app, AMY, &amy).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_lists_every_route() {
    let app = app();
    let (status, doc, _) = call(&app.router, "GET", "/api/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{}", doc["openapi"]);
    let paths = doc["paths"].as_object().unwrap();
    let mut listed = 0;
    for (method, path) in ROUTES {
        assert!(paths.get(path).and_then(|p| p.get(method)).is_some(), "{method} {path} is not in the document");
        listed += 1;
    }
    let operations: usize = paths.values().map(|p| p.as_object().unwrap().len()).sum();
    assert_eq!(operations, listed, "the document lists a route the test does not know");
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
}
