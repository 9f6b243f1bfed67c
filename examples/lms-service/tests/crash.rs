//! `kill -9` during ingest: the service binary runs as a child process on a fresh PostgreSQL
//! database; writers post batches and note which were acknowledged (200); the child is killed
//! with SIGKILL mid-run and restarted, 20 times; every acknowledged record must be stored, once,
//! and every award announced by exactly one outbox row.
//! (tests/pg.sh runs it: `--features pg-tests`.)
#![cfg(feature = "pg-tests")]
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lms_service::auth::mint;
use lms_service::client::{statement, Conn};
use mastery_core::access::{AccessContext, Principal};
use mastery_core::store::Store;

const KILLS: usize = 20;
const WRITERS: usize = 4;
const BATCH: u64 = 25;
const LEARNERS: u64 = 12;
const SECRET: &str = "crash-secret";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The app role's URL with the test database's name.
fn app_url(db: &str) -> String {
    let url = std::env::var("DATABASE_URL").unwrap();
    let (base, _) = url.rsplit_once('/').unwrap();
    format!("{base}/{db}")
}

fn start(url: &str, addr: SocketAddr) -> Child {
    let child = Command::new(env!("CARGO_BIN_EXE_lms-service"))
        .env("DATABASE_URL", url)
        .env_remove("MIGRATION_DATABASE_URL")
        .env("LMS_BIND", addr.to_string())
        .env("LMS_JWT_SECRET", SECRET)
        .env("LMS_PG_POOL", "4")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Ready when it accepts (a bound on a hang, not a timed assertion).
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "the service did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

#[test]
fn no_acknowledged_record_is_lost_across_kill_9() {
    let db = common::TestDb::create().unwrap();
    let url = app_url(&db.name);
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let token = Arc::new(mint(SECRET.as_bytes(), &Principal::service("t1", "lrs-sync"), 4_000_000_000));
    let next_id = Arc::new(AtomicU64::new(0));
    let acknowledged = Arc::new(Mutex::new(BTreeSet::new()));
    let mut refused = 0;
    for _round in 0..KILLS {
        let mut child = start(&url, addr);
        let stop = Arc::new(AtomicBool::new(false));
        let acked_batches = Arc::new(AtomicUsize::new(0));
        let writers: Vec<_> = (0..WRITERS)
            .map(|_| {
                let (token, next_id, acknowledged, stop, acked_batches) =
                    (token.clone(), next_id.clone(), acknowledged.clone(), stop.clone(), acked_batches.clone());
                std::thread::spawn(move || {
                    let mut conn = Conn::new(addr);
                    let mut errors = 0;
                    while !stop.load(Ordering::Relaxed) {
                        let first = next_id.fetch_add(BATCH, Ordering::Relaxed);
                        let batch: Vec<_> = (first..first + BATCH)
                            .map(|id| {
                                let learner = format!("k{}@example.org", id % LEARNERS);
                                statement(id, &learner, 1 + (id % 6) as usize, "maths-101", id % 3 != 0)
                            })
                            .collect();
                        let body = serde_json::to_vec(&batch).unwrap();
                        match conn.send(
                            "POST",
                            "/api/mastery/statements",
                            Some(&token),
                            Some(("application/json", &body)),
                        ) {
                            Ok(reply) if reply.status == 200 => {
                                let out: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
                                assert_eq!(out["rejected"].as_array().map(Vec::len), Some(0), "{out}");
                                acknowledged.lock().unwrap().extend(first..first + BATCH);
                                acked_batches.fetch_add(1, Ordering::Relaxed);
                            }
                            Ok(reply) => panic!("ingest answered {}: {}", reply.status, reply.body),
                            // The process is gone: this batch was not acknowledged.
                            Err(_) => {
                                errors += 1;
                                std::thread::sleep(Duration::from_millis(5));
                            }
                        }
                    }
                    errors
                })
            })
            .collect();
        // Kill once a few batches went through, so requests are in flight at the kill.
        while acked_batches.load(Ordering::Relaxed) < 2 {
            std::thread::sleep(Duration::from_millis(2));
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        stop.store(true, Ordering::Relaxed);
        for w in writers {
            refused += w.join().unwrap();
        }
    }
    // Every acknowledged record is stored, once.
    let store = db.store().unwrap();
    let ctx = AccessContext::new(Principal::service("t1", "check"));
    let mut stored = BTreeSet::new();
    for l in 0..LEARNERS {
        let evidence = store.learner_evidence(&ctx, &format!("mbox:mailto:k{l}@example.org").as_str().into()).unwrap();
        for e in evidence {
            assert!(stored.insert(e.id.as_str().to_owned()), "a record stored twice");
        }
    }
    // Awards committed with their evidence: each announced by exactly one outbox row.
    let mut awards = 0;
    for l in 0..LEARNERS {
        let learner = format!("mbox:mailto:k{l}@example.org");
        let held = store.awards_of(&ctx, &learner).unwrap();
        let events = store.drain_events(&ctx, &learner, 10_000).unwrap();
        let mut announced: Vec<String> = events
            .iter()
            .filter(|e| e.kind == "credential.awarded")
            .map(|e| e.body["credential_id"].as_str().unwrap().to_owned())
            .collect();
        announced.sort();
        let mut ids: Vec<String> = held.iter().map(|a| a.credential_id.clone()).collect();
        ids.sort();
        assert_eq!(announced, ids, "awards and their announcements differ");
        awards += held.len();
    }
    assert!(awards > 0, "the batches earn badges");
    let acknowledged = acknowledged.lock().unwrap();
    let missing: Vec<u64> = acknowledged
        .iter()
        .copied()
        .filter(|id| !stored.contains(&format!("xapi:00000000-0000-4000-8000-{id:012}")))
        .collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged records lost, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    assert!(acknowledged.len() >= KILLS * 2 * BATCH as usize);
    eprintln!(
        "{KILLS} kills: {} records acknowledged, {} stored, {refused} requests cut off",
        acknowledged.len(),
        stored.len()
    );
    drop(store);
}
