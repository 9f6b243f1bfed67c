//! `load`: a bounded load test of a running service on loopback (fixed request counts).
//!
//! Phase 1 posts `LOAD_RECORDS` xAPI statements in batches of `LOAD_BATCH` from `LOAD_WRITERS`
//! connections and prints records/s and the per-batch p50/p99. Phase 2 reads learner dashboards,
//! `LOAD_READS` requests from `LOAD_READERS` concurrent connections, and prints requests/s and
//! p50/p99. Tokens are minted with `LMS_JWT_SECRET` (as the service's). Address: `LMS_ADDR`.
//!
//! `examples/lms-service/tests/load.sh` builds the release binary and runs both on a throw-away
//! PostgreSQL.

use std::error::Error;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lms_service::auth::mint;
use lms_service::client::{statement, Conn};
use mastery_core::access::Principal;

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

/// Runs `jobs` jobs from `threads` connections; each job's latency is returned.
fn run(
    addr: SocketAddr,
    threads: usize,
    jobs: usize,
    job: impl Fn(&mut Conn, usize) -> Result<(), String> + Send + Sync + 'static,
) -> Result<(Duration, Vec<Duration>), Box<dyn Error>> {
    let next = Arc::new(AtomicUsize::new(0));
    let job = Arc::new(job);
    let started = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (next, job) = (next.clone(), job.clone());
            std::thread::spawn(move || -> Result<Vec<Duration>, String> {
                let mut conn = Conn::new(addr);
                let mut latencies = Vec::new();
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= jobs {
                        return Ok(latencies);
                    }
                    let t = Instant::now();
                    job(&mut conn, n)?;
                    latencies.push(t.elapsed());
                }
            })
        })
        .collect();
    let mut all = Vec::with_capacity(jobs);
    for h in handles {
        all.extend(h.join().map_err(|_| "a load thread panicked")??);
    }
    let elapsed = started.elapsed();
    all.sort();
    Ok((elapsed, all))
}

fn main() -> Result<(), Box<dyn Error>> {
    let addr: SocketAddr = std::env::var("LMS_ADDR").unwrap_or_else(|_| "127.0.0.1:8080".into()).parse()?;
    let secret = std::env::var("LMS_JWT_SECRET").unwrap_or_else(|_| "development-secret".into());
    let records = setting("LOAD_RECORDS", 200_000);
    let batch = setting("LOAD_BATCH", 500);
    let writers = setting("LOAD_WRITERS", 4);
    let learners = setting("LOAD_LEARNERS", 2_000);
    let reads = setting("LOAD_READS", 20_000);
    let readers = setting("LOAD_READERS", 200);
    let exp = 4_000_000_000;
    let service = Arc::new(mint(secret.as_bytes(), &Principal::service("load", "load-test"), exp));

    // Phase 1: ingest. Batch k holds records k*batch.. for `batch / 10` learners (ten each), the
    // shape of an LMS syncing a class's activity.
    let batches = records.div_ceil(batch);
    let per = (batch / 10).max(1);
    let bodies: Arc<Vec<Vec<u8>>> = Arc::new(
        (0..batches)
            .map(|k| {
                let list: Vec<_> = (0..batch)
                    .map(|i| {
                        let id = (k * batch + i) as u64;
                        let learner = (k * per + i % per) % learners;
                        statement(id, &format!("l{learner}@example.org"), 1 + i % 6, "maths-101", i % 3 != 0)
                    })
                    .collect();
                serde_json::to_vec(&list).unwrap_or_default()
            })
            .collect(),
    );
    let token = service.clone();
    let stored = Arc::new(AtomicUsize::new(0));
    let counted = stored.clone();
    let (elapsed, latencies) = run(addr, writers, batches, move |conn, n| {
        let reply = conn
            .send("POST", "/api/mastery/statements", Some(&token), Some(("application/json", &bodies[n])))
            .map_err(|e| e.to_string())?;
        if reply.status != 200 {
            return Err(format!("ingest: {} {}", reply.status, reply.body.chars().take(200).collect::<String>()));
        }
        let out: serde_json::Value = serde_json::from_str(&reply.body).map_err(|e| e.to_string())?;
        counted.fetch_add(out["new"].as_u64().unwrap_or(0) as usize, Ordering::Relaxed);
        Ok(())
    })?;
    println!(
        "ingest: {} records ({} new) in {batches} batches of {batch} from {writers} connections: {:.1} s, {:.0} records/s, batch p50 {:.1} ms, p99 {:.1} ms",
        batches * batch,
        stored.load(Ordering::Relaxed),
        elapsed.as_secs_f64(),
        (batches * batch) as f64 / elapsed.as_secs_f64(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
    );

    // Phase 2: dashboards, first each learner's once (cold: computed from the store), then
    // `reads` of random learners (a fixed sequence; warm unless an ingest intervened).
    let token = service.clone();
    let (elapsed, latencies) = run(addr, readers, learners, move |conn, n| {
        let path = format!("/api/mastery/learners/mbox%3Amailto%3Al{n}%40example.org/courses/maths-101/dashboard");
        let reply = conn.send("GET", &path, Some(&token), None).map_err(|e| e.to_string())?;
        if reply.status != 200 {
            return Err(format!("dashboard: {}", reply.status));
        }
        Ok(())
    })?;
    println!(
        "dashboard (cold, each learner once): {learners} reads from {readers} concurrent connections: {:.1} s, {:.0} reads/s, p50 {:.1} ms, p99 {:.1} ms",
        elapsed.as_secs_f64(),
        learners as f64 / elapsed.as_secs_f64(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
    );
    let token = service;
    let (elapsed, latencies) = run(addr, readers, reads, move |conn, n| {
        let learner = (n * 7919) % learners;
        let path =
            format!("/api/mastery/learners/mbox%3Amailto%3Al{learner}%40example.org/courses/maths-101/dashboard");
        let reply = conn.send("GET", &path, Some(&token), None).map_err(|e| e.to_string())?;
        if reply.status != 200 {
            return Err(format!("dashboard: {}", reply.status));
        }
        Ok(())
    })?;
    println!(
        "dashboard: {reads} reads from {readers} concurrent connections: {:.1} s, {:.0} reads/s, p50 {:.1} ms, p99 {:.1} ms",
        elapsed.as_secs_f64(),
        reads as f64 / elapsed.as_secs_f64(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
    );
    Ok(())
}
