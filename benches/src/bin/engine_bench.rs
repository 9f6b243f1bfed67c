//! The engine's figures, one thread:
//! `cargo run --release -p mastery-benches --bin engine-bench`
//!
//! - ingest throughput through `Engine` into the memory store and the directory store
//!   (single-competency records, batches of 1,000), and into the memory store with streaks,
//!   awards and risk features on;
//! - the cost of one more observation after 10, 1,000 and 100,000 earlier ones of the same
//!   learner × competency, and the stored record's size;
//! - the class heatmap and the whole class dashboard (500 learners × 200 competencies: heatmap,
//!   summaries, least proficient, at-risk list with reasons) and a whole learner dashboard
//!   (records, rings, gaps, next competencies, streak, badges, progress), from stored state.
//!
//! Prints one JSON object. With `--features mimalloc` the binary uses mimalloc as its global
//! allocator (a host's choice: allocation and first touch of new pages are a large part of
//! ingest on a fresh store); the ingest figures name the allocator.

use std::hint::black_box;
use std::time::Instant as Clock;

use mastery_core::dashboard::Label;
use mastery_core::engine::ClassDashboardOptions;
use mastery_core::framework::Framework;
use mastery_core::mastery::{CalculationMethod, MasteryConfig};
use mastery_core::risk::{activity_features, RiskModelFile};
use mastery_core::{
    AccessContext, CourseId, Engine, Evidence, EvidenceKind, EvidenceSource, MemoryStore, Principal, Score, StateKey,
    Store,
};
use serde_json::json;

#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The global allocator this binary was built with, as the ingest figures report it.
const ALLOCATOR: &str = if cfg!(feature = "mimalloc") { "mimalloc" } else { "system" };

fn service() -> AccessContext {
    AccessContext::new(Principal::service("district", "importer"))
}

fn record(id: u64, learner: u64, competency: u64, minute: i64) -> Evidence {
    let base = mastery_core::time::parse_instant("2026-01-05T08:00:00Z", "t").expect("constant");
    Evidence {
        id: format!("e{id}").into(),
        learner: format!("learner-{learner}").into(),
        course: Some("algebra-1".into()),
        competencies: vec![format!("skill-{competency}").into()],
        activity: None,
        kind: EvidenceKind::Response,
        score: Some(Score { scaled: Some(((id * 7919) % 101) as f64 / 100.0), ..Score::default() }),
        success: None,
        completion: None,
        duration_seconds: None,
        occurred_at: Some(base + chrono::Duration::minutes(minute)),
        sequence: None,
        source: EvidenceSource::Host,
    }
}

fn seconds(f: impl FnOnce()) -> f64 {
    let t = Clock::now();
    f();
    t.elapsed().as_secs_f64()
}

/// Records/s ingesting `n` records for `learners` learners × 20 competencies in batches of 1,000.
fn throughput<S: Store>(engine: &Engine<S>, n: u64, learners: u64) -> f64 {
    // Built batch by batch: no list of all the records is freed before the clock starts (glibc
    // would then tidy up its free lists inside the first timed allocations).
    let record_at = |i: u64| record(i, i % learners, (i / learners) % 20, (i / learners) as i64);
    let batch: Vec<Vec<Evidence>> =
        (0..n).step_by(1_000).map(|start| (start..(start + 1_000).min(n)).map(record_at).collect()).collect();
    let ctx = service();
    let s = seconds(|| {
        for chunk in &batch {
            let outcome = engine.ingest(&ctx, chunk);
            assert_eq!(outcome.new, chunk.len(), "{:?}", outcome.rejected.first());
        }
    });
    n as f64 / s
}

/// [`throughput`] into `runs` fresh engines: `{best, median, runs}` records/s (this host's wall
/// clock varies by a third from one minute to the next: one run says little).
fn throughput_runs<S: Store>(mut make: impl FnMut() -> Engine<S>, n: u64, runs: usize) -> serde_json::Value {
    let mut rates: Vec<f64> = (0..runs).map(|_| throughput(&make(), n, 1_000).round()).collect();
    let all = rates.clone();
    rates.sort_by(f64::total_cmp);
    json!({ "best": rates[runs - 1], "median": rates[runs / 2], "runs": all })
}

/// [`throughput_runs`] into durable engines, each on a fresh directory removed afterwards.
fn durable_runs(n: u64, runs: usize) -> serde_json::Value {
    let mut dirs = Vec::new();
    throughput_runs(
        || {
            let dir = tempfile::tempdir().expect("a temporary directory");
            let engine = Engine::with_config(MemoryStore::open(dir.path()).expect("open"), config());
            dirs.push(dir);
            engine
        },
        n,
        runs,
    )
}

/// Mean seconds for one more observation after `history` earlier ones: the median of 21 runs of
/// 200 (4 ms in all; 5 runs took under a millisecond, so one stall of the host could decide it).
fn marginal_cost(history: u64) -> (f64, usize) {
    const RUNS: u64 = 21;
    let engine = Engine::with_config(MemoryStore::new(), config());
    let ctx = service();
    let earlier: Vec<Evidence> = (0..history).map(|i| record(i, 0, 0, i as i64)).collect();
    for chunk in earlier.chunks(10_000) {
        engine.ingest(&ctx, chunk);
    }
    let mut runs: Vec<f64> = (0..RUNS)
        .map(|run| {
            let more: Vec<Evidence> =
                (0..200).map(|j| record(history + run * 200 + j, 0, 0, (history + run * 200 + j) as i64)).collect();
            seconds(|| {
                for e in &more {
                    black_box(engine.ingest(&ctx, std::slice::from_ref(e)));
                }
            }) / 200.0
        })
        .collect();
    runs.sort_by(f64::total_cmp);
    let key = StateKey {
        learner: "learner-0".into(),
        course: Some("algebra-1".into()),
        namespace: "mastery".into(),
        name: "skill-0".into(),
    };
    let stored = engine.store().get_state(&ctx, &key).expect("read").expect("stored");
    (runs[RUNS as usize / 2], serde_json::to_vec(&stored).expect("json").len())
}

/// `threads` threads ingest `n` records for `learners` learners × 20 competencies into one
/// engine, in batches of 1,000: thread t sends the records of its own learners (learner % threads
/// == t) in time order, except every 20th record, which a neighbouring thread sends (so it may
/// arrive late), and each thread re-sends one batch in ten (duplicates). Then every stored record
/// must equal a replay of its learner's evidence, exactly.
fn stress(threads: u64, n: u64, learners: u64) -> serde_json::Value {
    let engine = std::sync::Arc::new(Engine::with_config(MemoryStore::new(), config()));
    let all: Vec<Evidence> =
        (0..n).map(|i| record(i, i % learners, (i / learners) % 20, (i / learners) as i64)).collect();
    let mut lanes: Vec<Vec<Evidence>> = vec![Vec::new(); threads as usize];
    for (i, e) in all.iter().enumerate() {
        let owner = (i as u64 % learners) % threads;
        let lane = if i % 20 == 7 { (owner + 1) % threads } else { owner };
        lanes[lane as usize].push(e.clone());
    }
    let sent: usize = lanes.iter().map(|l| l.len() + l.chunks(1_000).step_by(10).map(<[_]>::len).sum::<usize>()).sum();
    let start = Clock::now();
    let handles: Vec<_> = lanes
        .into_iter()
        .map(|lane| {
            let engine = engine.clone();
            std::thread::spawn(move || {
                let ctx = service();
                let (mut new, mut duplicates) = (0, 0);
                for (b, chunk) in lane.chunks(1_000).enumerate() {
                    let outcome = engine.ingest(&ctx, chunk);
                    assert!(outcome.rejected.is_empty(), "{:?}", outcome.rejected.first());
                    (new, duplicates) = (new + outcome.new, duplicates + outcome.duplicates);
                    if b % 10 == 0 {
                        let again = engine.ingest(&ctx, chunk);
                        (new, duplicates) = (new + again.new, duplicates + again.duplicates);
                    }
                }
                (new, duplicates)
            })
        })
        .collect();
    let (new, duplicates) = handles.into_iter().fold((0, 0), |(n, d), h| {
        let (a, b) = h.join().expect("ingest thread");
        (n + a, d + b)
    });
    let seconds = start.elapsed().as_secs_f64();
    let ctx = service();
    let (mut checked, mut mismatches) = (0, 0);
    for learner in 0..learners {
        let id = format!("learner-{learner}").into();
        for ((course, competency), state) in engine.replay(&ctx, &id).expect("replay") {
            let stored = engine.mastery(&ctx, &id, course.as_ref(), &competency).expect("read").expect("stored");
            let same = stored.score == state.score
                && stored.mastered == state.mastered
                && stored.knowledge == state.knowledge
                && stored.last_evidence == state.last_evidence
                && stored.evidence_count() as usize == state.history.len();
            checked += 1;
            mismatches += usize::from(!same);
        }
    }
    assert_eq!((new, mismatches), (n as usize, 0), "records stored once and every state equal to a replay");
    json!({
        "threads": threads, "records": n, "sent": sent, "new": new, "duplicates": duplicates,
        "seconds": seconds, "states_checked": checked, "states_differing_from_replay": mismatches,
    })
}

/// The records process `process` of `processes` sends in the directory stress, by thread (lane
/// `process × threads + t`): thread t of every process sends the records of the learners with
/// `learner % threads == t`, the processes taking turns hour by hour (so every process writes
/// every learner all the time), in time order, except every 20th record, which the next lane
/// sends (so it may arrive late; from the last lane of one process to the first of the next),
/// and every 50th record, which the same thread of the next process sends as well (a duplicate
/// across processes).
fn dir_lanes(process: u64, processes: u64, threads: u64, n: u64, learners: u64) -> Vec<Vec<Evidence>> {
    let lanes = processes * threads;
    let mut mine: Vec<Vec<Evidence>> = vec![Vec::new(); threads as usize];
    for i in 0..n {
        let owner = ((i / learners) % processes) * threads + (i % learners) % threads;
        let sender = if i % 20 == 7 { (owner + 1) % lanes } else { owner };
        let mut senders = vec![sender];
        if i % 50 == 3 {
            senders.push((sender + threads) % lanes);
        }
        for lane in senders {
            if lane / threads == process {
                mine[(lane % threads) as usize].push(dir_record(i, learners));
            }
        }
    }
    mine
}

/// A record of the directory stress: like [`record`], an hour apart per learner (so streaks span
/// weeks) and with a duration.
fn dir_record(i: u64, learners: u64) -> Evidence {
    let mut e = record(i, i % learners, (i / learners) % 20, 0);
    let base = mastery_core::time::parse_instant("2026-01-05T08:00:00Z", "t").expect("constant");
    e.occurred_at = Some(base + chrono::Duration::hours((i / learners) as i64));
    e.duration_seconds = Some(600.0);
    e
}

/// One process of the directory stress (`--stress-dir-child DIR P PROCESSES THREADS N LEARNERS`):
/// its threads ingest their lanes into one engine over the shared directory in batches of 1,000,
/// each re-sending one batch in ten; prints `{"new", "duplicates"}`.
fn stress_dir_child(args: &[String]) {
    let arg = |i: usize| -> u64 { args[i].parse().expect("a number") };
    let (process, processes, threads, n, learners) = (arg(1), arg(2), arg(3), arg(4), arg(5));
    let store = MemoryStore::open(&args[0]).expect("open");
    let engine = std::sync::Arc::new(engine_with_badges(store, false));
    let handles: Vec<_> = dir_lanes(process, processes, threads, n, learners)
        .into_iter()
        .map(|lane| {
            let engine = engine.clone();
            std::thread::spawn(move || {
                let ctx = service();
                let (mut new, mut duplicates) = (0, 0);
                for (b, chunk) in lane.chunks(1_000).enumerate() {
                    let outcome = engine.ingest(&ctx, chunk);
                    assert!(outcome.rejected.is_empty(), "{:?}", outcome.rejected.first());
                    (new, duplicates) = (new + outcome.new, duplicates + outcome.duplicates);
                    if b % 10 == 0 {
                        let again = engine.ingest(&ctx, chunk);
                        (new, duplicates) = (new + again.new, duplicates + again.duplicates);
                    }
                }
                (new, duplicates)
            })
        })
        .collect();
    let (new, duplicates) = handles.into_iter().fold((0, 0), |(n, d), h| {
        let (a, b) = h.join().expect("ingest thread");
        (n + a, d + b)
    });
    println!("{}", json!({"new": new, "duplicates": duplicates}));
}

/// An award's time is that of the record that completed its rule as records arrived, and awards
/// are listed in the order they were earned: both depend on arrival order (in one process as in
/// two). The rest of an award record must equal a replay's.
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

/// `processes` processes (this binary re-executed) × `threads` threads ingest `n` records for
/// `learners` learners into one directory store, with streaks and awards on; then every stored
/// record (mastery, streak, awards) and the evidence must equal what a fresh memory store
/// computes from all the records in time order, exactly.
fn stress_dir(processes: u64, threads: u64, n: u64, learners: u64) -> serde_json::Value {
    let dir = std::env::temp_dir().join(format!("mastery-engine-stress-dir-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let exe = std::env::current_exe().expect("this binary");
    let start = Clock::now();
    let children: Vec<_> = (0..processes)
        .map(|p| {
            let args = [p, processes, threads, n, learners].map(|a| a.to_string());
            std::process::Command::new(&exe)
                .arg("--stress-dir-child")
                .arg(&dir)
                .args(args)
                .stdout(std::process::Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    let (mut new, mut duplicates) = (0, 0);
    for child in children {
        let out = child.wait_with_output().expect("child");
        assert!(out.status.success(), "a stress process failed");
        let line: serde_json::Value = serde_json::from_slice(&out.stdout).expect("child's figures");
        new += line["new"].as_u64().expect("new");
        duplicates += line["duplicates"].as_u64().expect("duplicates");
    }
    let seconds = start.elapsed().as_secs_f64();
    let stored = engine_with_badges(MemoryStore::open(&dir).expect("open"), false);
    let replayed = engine_with_badges(MemoryStore::new(), false);
    let ctx = service();
    let all: Vec<Evidence> = (0..n).map(|i| dir_record(i, learners)).collect();
    for chunk in all.chunks(1_000) {
        assert_eq!(replayed.ingest(&ctx, chunk).new, chunk.len());
    }
    let (mut checked, mut mismatches, mut evidence) = (0, 0, 0);
    for learner in 0..learners {
        let id = format!("learner-{learner}").into();
        let ids = |engine: &Engine<MemoryStore>| {
            let mut ids: Vec<String> = engine
                .store()
                .learner_evidence(&ctx, &id)
                .expect("evidence")
                .iter()
                .map(|e| e.id.as_str().to_owned())
                .collect();
            ids.sort();
            ids
        };
        let (a, b) = (ids(&stored), ids(&replayed));
        evidence += a.len();
        mismatches += usize::from(a != b);
        for namespace in ["mastery", "streak", "credential"] {
            // As JSON: a memory store keeps a mastery record's competency, a durable one leaves it to the key.
            let states = |engine: &Engine<MemoryStore>| {
                serde_json::to_value(engine.store().learner_states(&ctx, &id, namespace).expect("states"))
                    .expect("json")
            };
            let (mut a, mut b) = (states(&stored), states(&replayed));
            if namespace == "credential" {
                (a, b) = (without_award_times(a), without_award_times(b));
            }
            checked += b.as_array().map_or(0, Vec::len);
            mismatches += usize::from(a != b);
        }
    }
    drop(stored);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        (new, evidence, mismatches),
        (n, n as usize, 0),
        "records stored once and every state equal to a replay"
    );
    json!({
        "processes": processes, "threads_per_process": threads, "records": n, "learners": learners,
        "new": new, "duplicates": duplicates, "seconds": seconds, "records_per_s": (n as f64 / seconds).round(),
        "states_checked": checked, "states_differing_from_replay": mismatches,
    })
}

/// A framework of 10 areas × 20 competencies (`skill-0` … `skill-199`), each area's competencies
/// a chain of prerequisites: what the dashboards draw rings and next competencies from.
fn framework() -> Framework {
    let item = |id: String| json!({"identifier": id, "fullStatement": id, "humanCodingScheme": id.to_uppercase()});
    let link = |i: usize, kind: &str, from: &str, to: &str| {
        json!({"identifier": format!("a{i}"), "associationType": kind,
            "originNodeURI": {"title": from, "identifier": from, "uri": from},
            "destinationNodeURI": {"title": to, "identifier": to, "uri": to}})
    };
    let (mut items, mut links) = (Vec::new(), Vec::new());
    for area in 0..10 {
        let area_id = format!("area-{area}");
        items.push(item(area_id.clone()));
        links.push(link(links.len(), "isChildOf", &area_id, "doc"));
        for k in 0..20 {
            let skill = format!("skill-{}", area * 20 + k);
            items.push(item(skill.clone()));
            links.push(link(links.len(), "isChildOf", &skill, &area_id));
            if k > 0 {
                links.push(link(links.len(), "precedes", &format!("skill-{}", area * 20 + k - 1), &skill));
            }
        }
    }
    let package = json!({"CFDocument": {"identifier": "doc", "title": "Algebra"}, "CFItems": items,
        "CFAssociations": links});
    Framework::from_case_json(&package.to_string()).expect("framework")
}

/// A logistic at-risk model over three features the engine keeps (active days, mean grade, days
/// since the last activity), fitted on a fixed synthetic table.
fn risk_model() -> RiskModelFile {
    let names = ["active_days", "grade_mean", "days_since_last_activity"];
    let features: Vec<_> = activity_features().into_iter().filter(|f| names.contains(&f.name.as_str())).collect();
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for i in 0..400u32 {
        let at_risk = i % 2 == 0;
        let jitter = f64::from(i % 7);
        for f in &features {
            x.push(match (f.name.as_str(), at_risk) {
                ("active_days", true) => 1.0 + jitter / 3.0,
                ("active_days", false) => 5.0 + jitter,
                ("grade_mean", true) => 40.0 + jitter * 3.0,
                ("grade_mean", false) => 75.0 + jitter * 3.0,
                (_, true) => 8.0 + jitter,
                (_, false) => jitter / 2.0,
            });
        }
        y.push(f64::from(u8::from(at_risk)));
    }
    let x = ndarray::ArrayView2::from_shape((400, features.len()), &x).expect("table");
    RiskModelFile::train_logistic("bench", features, x, &y, 1.0).expect("model")
}

/// Sorted seconds of `runs` reads of one class (see [`class_dashboard`]).
struct ClassTimes {
    heatmap: Vec<f64>,
    dashboard: Vec<f64>,
    /// `record_risk` of the whole class (every learner's band stored).
    record_risk: Vec<f64>,
    /// The class dashboard once bands are recorded (they are read for the hysteresis).
    dashboard_recorded: Vec<f64>,
}

/// A class of 500 learners × 200 competencies (one observation each) in an engine with streaks,
/// a framework and a risk model, and the seconds of `runs` class heatmaps, whole class
/// dashboards and risk recordings from its stored records.
fn class_dashboard(runs: usize) -> (Engine<MemoryStore>, ClassTimes) {
    let class = Engine::with_config(MemoryStore::new(), config())
        .with_streaks(mastery_core::streak::StreakPolicy::default())
        .expect("policy")
        .with_framework(framework())
        .with_risk(risk_model(), None)
        .expect("model");
    let ctx = service();
    let all: Vec<Evidence> = (0..100_000u64).map(|i| record(i, i % 500, i / 500, 0)).collect();
    for chunk in all.chunks(10_000) {
        class.ingest(&ctx, chunk);
    }
    let course: CourseId = "algebra-1".into();
    let tutor = AccessContext::new(Principal::instructor("district", "tutor", vec![course.clone()]));
    let columns: Vec<Label> = (0..200).map(|c| Label { id: format!("skill-{c}"), label: format!("S{c}") }).collect();
    let mut heatmap: Vec<f64> = (0..runs)
        .map(|_| {
            seconds(|| {
                black_box(class.class_heatmap(&tutor, &course, &columns).expect("class"));
            })
        })
        .collect();
    heatmap.sort_by(f64::total_cmp);
    let at = mastery_core::time::parse_instant("2026-03-01T12:00:00Z", "t").expect("constant");
    let options = ClassDashboardOptions { competencies: Some(columns), ..ClassDashboardOptions::default() };
    let mut whole: Vec<f64> = (0..runs)
        .map(|_| {
            seconds(|| {
                let dashboard = class.class_dashboard(&tutor, &course, at, &options).expect("class");
                assert_eq!(dashboard.learners, 500);
                assert!(dashboard.at_risk.as_ref().is_some_and(|alerts| !alerts.is_empty()));
                black_box(dashboard);
            })
        })
        .collect();
    whole.sort_by(f64::total_cmp);
    let mut record_risk: Vec<f64> = (0..runs)
        .map(|_| seconds(|| drop(black_box(class.record_risk(&tutor, &course, at, 3).expect("record")))))
        .collect();
    record_risk.sort_by(f64::total_cmp);
    let mut dashboard_recorded: Vec<f64> = (0..runs)
        .map(|_| seconds(|| drop(black_box(class.class_dashboard(&tutor, &course, at, &options).expect("class")))))
        .collect();
    dashboard_recorded.sort_by(f64::total_cmp);
    (class, ClassTimes { heatmap, dashboard: whole, record_risk, dashboard_recorded })
}

/// The sorted seconds of `runs` whole learner dashboards (a learner with 200 records) read by
/// the learner.
fn learner_dashboard(class: &Engine<MemoryStore>, runs: usize) -> Vec<f64> {
    let course: CourseId = "algebra-1".into();
    let me = AccessContext::new(Principal::learner("district", "learner-7"));
    let at = mastery_core::time::parse_instant("2026-03-01T12:00:00Z", "t").expect("constant");
    let mut learner_seconds: Vec<f64> = (0..runs)
        .map(|_| {
            seconds(|| {
                let dashboard = class.learner_dashboard(&me, &"learner-7".into(), Some(&course), at).expect("learner");
                assert!(dashboard.rings.is_some() && dashboard.streak.is_some() && dashboard.records.len() == 200);
                black_box(dashboard);
            })
        })
        .collect();
    learner_seconds.sort_by(f64::total_cmp);
    learner_seconds
}

/// An engine that also keeps streaks, awards three achievements (a mastery, an evidence count
/// and a streak rule) and keeps risk features, over the memory store.
fn full_engine() -> Engine<MemoryStore> {
    full_engine_with(true)
}

fn full_engine_with(risk: bool) -> Engine<MemoryStore> {
    let engine = engine_with_badges(MemoryStore::new(), true);
    if risk {
        engine.with_risk(risk_model(), None).expect("model")
    } else {
        engine
    }
}

/// An engine with streaks and the evidence-count and streak achievements; with the mastery one
/// when `mastery_badge`. (Whether a mastery rule ever held depends on the order records arrive
/// in: a late low score can undo a mastery shown for a while, and the award stays. The
/// directory stress leaves it out to compare awards with a replay.)
fn engine_with_badges(store: MemoryStore, mastery_badge: bool) -> Engine<MemoryStore> {
    let badge = |id: &str, rule: serde_json::Value| {
        serde_json::from_value(json!({"id": format!("https://school.example/{id}"), "name": id,
            "description": id, "criteria": id, "rule": rule}))
        .expect("achievement")
    };
    let mut achievements = vec![
        badge("practice", json!({"rule": "evidence_count", "min": 30, "competency": "skill-1"})),
        badge("week", json!({"rule": "streak", "periods": 5})),
    ];
    if mastery_badge {
        achievements.insert(0, badge("skill-0", json!({"rule": "mastery", "competency": "skill-0"})));
    }
    Engine::with_config(store, config())
        .with_streaks(mastery_core::streak::StreakPolicy::default())
        .expect("policy")
        .with_awards(achievements, None)
        .expect("achievements")
}

fn config() -> MasteryConfig {
    MasteryConfig { method: CalculationMethod::DecayingAverage { rate: 65 }, ..MasteryConfig::default() }
}

fn main() {
    // `--ingest N`: only N records into the memory store (for a profiler).
    let args: Vec<String> = std::env::args().collect();
    if let Some(n) = args.iter().position(|a| a == "--ingest").and_then(|i| args.get(i + 1)?.parse().ok()) {
        let memory = Engine::with_config(MemoryStore::new(), config());
        println!("{}", json!({ "ingest_memory_records_per_s": throughput(&memory, n, 1_000).round() }));
        return;
    }
    // `--ingest-runs N R`: N records into R fresh memory stores, then R fresh directory stores.
    if let Some(i) = args.iter().position(|a| a == "--ingest-runs") {
        let arg = |k: usize| args.get(i + k).and_then(|a| a.parse().ok()).expect("--ingest-runs N R");
        let (n, runs): (u64, u64) = (arg(1), arg(2));
        let memory = throughput_runs(|| Engine::with_config(MemoryStore::new(), config()), n, runs as usize);
        let directory = durable_runs(n, runs as usize);
        println!(
            "{}",
            json!({ "allocator": ALLOCATOR, "records": n, "ingest_memory_records_per_s": memory, "ingest_directory_records_per_s": directory })
        );
        return;
    }
    // `--ingest-full N`: the same with streaks, awards and risk features on.
    if let Some(n) = args.iter().position(|a| a == "--ingest-full").and_then(|i| args.get(i + 1)?.parse().ok()) {
        println!(
            "{}",
            json!({ "ingest_memory_streaks_awards_risk_records_per_s": throughput(&full_engine(), n, 1_000).round() })
        );
        return;
    }
    // `--ingest-dir N`: only N records into the directory store (one group commit per batch).
    if let Some(n) = args.iter().position(|a| a == "--ingest-dir").and_then(|i| args.get(i + 1)?.parse().ok()) {
        let dir = std::env::temp_dir().join(format!("mastery-engine-bench-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let durable = Engine::with_config(MemoryStore::open(&dir).expect("open"), config());
        println!("{}", json!({ "ingest_directory_records_per_s": throughput(&durable, n, 1_000).round() }));
        drop(durable);
        let _ = std::fs::remove_dir_all(&dir);
        return;
    }
    // `--ingest-no-risk N`: streaks and awards on, risk features off (what risk adds).
    if let Some(n) = args.iter().position(|a| a == "--ingest-no-risk").and_then(|i| args.get(i + 1)?.parse().ok()) {
        let engine = full_engine_with(false);
        println!("{}", json!({ "ingest_memory_streaks_awards_records_per_s": throughput(&engine, n, 1_000).round() }));
        return;
    }
    // `--class N`: only the class heatmap, class dashboard and learner dashboard, N times each.
    if let Some(n) = args.iter().position(|a| a == "--class").and_then(|i| args.get(i + 1)?.parse().ok()) {
        let (class, times) = class_dashboard(n);
        let learner = learner_dashboard(&class, n);
        println!(
            "{}",
            json!({ "class_heatmap_500x200_seconds": times.heatmap[n / 2],
                "class_dashboard_500x200_seconds": times.dashboard[n / 2],
                "record_risk_500_seconds": times.record_risk[n / 2],
                "class_dashboard_500x200_recorded_seconds": times.dashboard_recorded[n / 2],
                "learner_dashboard_seconds": learner[n / 2] })
        );
        return;
    }
    // `--stress-dir [N]`: 2 processes × 4 threads ingest N (1,000,000) records for 1,000
    // learners into one directory store; every state is compared with a replay.
    if let Some(at) = args.iter().position(|a| a == "--stress-dir") {
        let n = args.get(at + 1).and_then(|n| n.parse().ok()).unwrap_or(1_000_000);
        println!("{}", stress_dir(2, 4, n, 1_000));
        return;
    }
    if let Some(at) = args.iter().position(|a| a == "--stress-dir-child") {
        stress_dir_child(&args[at + 1..]);
        return;
    }
    // `--marginal H`: only the cost of one more observation after H earlier ones.
    if let Some(h) = args.iter().position(|a| a == "--marginal").and_then(|i| args.get(i + 1)?.parse().ok()) {
        let (cost, bytes) = marginal_cost(h);
        println!("{}", json!({"history": h, "seconds_per_observation": cost, "stored_bytes": bytes}));
        return;
    }
    // `--stress`: only the concurrency check.
    if args.iter().any(|a| a == "--stress") {
        println!("{}", stress(8, 1_000_000, 1_000));
        return;
    }
    // 200,000 records into five fresh stores, and 1,000,000 into three (each then holds ~350 MB
    // of evidence: growing it is part of the cost).
    let memory_rate = throughput_runs(|| Engine::with_config(MemoryStore::new(), config()), 200_000, 5);
    let memory_rate_1m = throughput_runs(|| Engine::with_config(MemoryStore::new(), config()), 1_000_000, 3);
    let full_rate = throughput(&full_engine(), 1_000_000, 1_000);
    // 100,000 records: enough for the journal to be compacted several times.
    let durable_rate = durable_runs(100_000, 3);

    let marginal: Vec<_> = [10u64, 1_000, 100_000]
        .iter()
        .map(|&h| {
            let (cost, bytes) = marginal_cost(h);
            json!({"history": h, "seconds_per_observation": cost, "stored_bytes": bytes})
        })
        .collect();

    let (class, class_times) = class_dashboard(5);
    let learner_seconds = learner_dashboard(&class, 5);

    println!(
        "{}",
        serde_json::to_string_pretty(&json!({
            "allocator": ALLOCATOR,
            "ingest_memory_records_per_s": memory_rate,
            "ingest_memory_1m_records_per_s": memory_rate_1m,
            "ingest_memory_streaks_awards_risk_records_per_s": full_rate.round(),
            "ingest_directory_records_per_s": durable_rate,
            "one_more_observation": marginal,
            "class_heatmap_500x200_seconds": class_times.heatmap[2],
            "class_dashboard_500x200_seconds": class_times.dashboard[2],
            "record_risk_500_seconds": class_times.record_risk[2],
            "class_dashboard_500x200_recorded_seconds": class_times.dashboard_recorded[2],
            "learner_dashboard_seconds": learner_seconds[2],
            "concurrent_8_threads": stress(8, 1_000_000, 1_000),
        }))
        .expect("json")
    );
}
