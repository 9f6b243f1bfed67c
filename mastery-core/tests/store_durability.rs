//! The durable store keeps its promises: processes share a directory, acknowledged writes survive
//! kill -9, evidence and its states are never split, every altered byte is refused, torn tails
//! are dropped, and compaction keeps the journal bounded.
//!
//! Multi-process tests re-execute this test binary as a child (`CHILD_ROLE` names the child's
//! test function, which does nothing when the variable is unset). Nothing here asserts on time.

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use mastery_core::store::StateValue;
use mastery_core::{
    AccessContext, Evidence, EvidenceKind, EvidenceSource, MasteryError, MemoryStore, Principal, StateKey, Store,
};
use serde_json::{json, Value};

const ROLE: &str = "MASTERY_STORE_CHILD_ROLE";
const DIR: &str = "MASTERY_STORE_CHILD_DIR";
/// A learner id with multi-byte UTF-8, so torn writes land inside characters.
const LEARNER: &str = "Zoë-学生";

fn service() -> AccessContext {
    AccessContext::new(Principal::service("t1", "svc"))
}

fn evidence(id: &str) -> Evidence {
    Evidence {
        id: id.into(),
        learner: LEARNER.into(),
        course: Some("c1".into()),
        competencies: vec!["k".into()],
        activity: Some("https://example.edu/ä/1".into()),
        kind: EvidenceKind::Response,
        score: None,
        success: Some(true),
        completion: None,
        duration_seconds: Some(12.5),
        occurred_at: None,
        sequence: None,
        source: EvidenceSource::Host,
    }
}

fn key(name: &str) -> StateKey {
    StateKey { learner: LEARNER.into(), course: Some("c1".into()), namespace: "test".into(), name: name.into() }
}

/// The evidence id and the state written with it by child writers.
fn nth(i: usize) -> (Evidence, StateKey, StateValue) {
    let id = format!("e{i}-学");
    let value = json!({"evidence": id, "n": i, "note": "ü".repeat(i % 7)});
    (evidence(&id), key(&format!("s{i}")), StateValue::Json(value))
}

fn is_store_error<T>(r: &Result<T, MasteryError>) -> bool {
    matches!(r, Err(e) if e.code() == "store_error")
}

/// Spawns this test binary running only `role`, with stdout piped.
fn spawn_child(role: &str, dir: &Path, stdin: bool) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([role, "--exact", "--nocapture", "--test-threads=1"])
        .env(ROLE, role)
        .env(DIR, dir)
        .stdin(if stdin { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

/// The directory when this process is the child playing `role`.
fn child_dir(role: &str) -> Option<PathBuf> {
    (std::env::var(ROLE).ok()? == role).then(|| PathBuf::from(std::env::var_os(DIR).unwrap()))
}

/// Prints one protocol line; a leading newline keeps it apart from the test harness's output.
fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "\n@{line}").unwrap();
    out.flush().unwrap();
}

/// Protocol lines the child printed.
fn said(line: &str) -> Option<&str> {
    line.split_once('@').map(|(_, rest)| rest.trim_end())
}

// ---------------------------------------------------------------------------------------------
// Lock

#[test]
fn a_second_open_shares_the_directory_with_the_first_store() {
    let dir = tempfile::tempdir().unwrap();
    let first = MemoryStore::open(dir.path()).unwrap();
    let second = MemoryStore::open(dir.path()).unwrap();
    first.append_evidence(&service(), &evidence("one")).unwrap();
    assert_eq!(second.append_evidence(&service(), &evidence("one")).unwrap(), mastery_core::Appended::Duplicate);
    second.append_evidence(&service(), &evidence("two")).unwrap();
    let ids = |store: &MemoryStore| -> Vec<String> {
        store.learner_evidence(&service(), &LEARNER.into()).unwrap().iter().map(|e| e.id.as_str().into()).collect()
    };
    assert_eq!(ids(&first), ["one", "two"]);
    assert_eq!(ids(&second), ids(&first));
    drop((first, second));
    assert_eq!(ids(&MemoryStore::open(dir.path()).unwrap()), ["one", "two"]);
}

/// Child: opens the store, says LOCKED, writes 1,000 records acknowledging each, says DONE and
/// keeps the store open until its stdin has a line.
#[test]
fn child_lock_writer() {
    let Some(dir) = child_dir("child_lock_writer") else { return };
    let store = MemoryStore::open(dir).unwrap();
    say("LOCKED");
    for i in 0..1000 {
        store.append_evidence(&service(), &evidence(&format!("w{i}"))).unwrap();
        say(&format!("ACK w{i}"));
    }
    say("DONE");
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).unwrap();
}

#[test]
fn another_process_reads_what_a_child_acknowledged_while_it_writes_1000_records() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = spawn_child("child_lock_writer", dir.path(), true);
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let (mut acked, mut looks) = (BTreeSet::new(), 0);
    let parent = MemoryStore::open(dir.path()).unwrap();
    for line in stdout.lines() {
        let line = line.unwrap();
        let Some(msg) = said(&line) else { continue };
        if let Some(id) = msg.strip_prefix("ACK ") {
            acked.insert(id.to_owned());
        }
        if msg == "LOCKED" || (msg.starts_with("ACK") && acked.len() % 100 == 99) || msg == "DONE" {
            // The parent's open store and a fresh one both see every acknowledged write.
            for store in [&parent, &MemoryStore::open(dir.path()).unwrap()] {
                let seen: BTreeSet<String> = store
                    .learner_evidence(&service(), &LEARNER.into())
                    .unwrap()
                    .iter()
                    .map(|e| e.id.as_str().into())
                    .collect();
                assert!(acked.is_subset(&seen), "the parent missed an acknowledged write");
            }
            looks += 1;
        }
        if msg == "DONE" {
            writeln!(child.stdin.take().unwrap()).unwrap();
        }
    }
    assert!(child.wait().unwrap().success());
    let store = MemoryStore::open(dir.path()).unwrap();
    let stored: BTreeSet<String> =
        store.learner_evidence(&service(), &LEARNER.into()).unwrap().iter().map(|e| e.id.as_str().into()).collect();
    let lost = acked.difference(&stored).count();
    println!("shared: 2 processes, {} acknowledged, {lost} lost, parent looked {looks} times", acked.len());
    assert_eq!((acked.len(), lost, stored.len()), (1000, 0, 1000));
    assert_eq!(looks, 12);
}

/// Child: opens the directory (counting refusals: there are none since stores share it), then
/// writes 300 records.
#[test]
fn child_contender() {
    let Some(dir) = child_dir("child_contender") else { return };
    let tag = std::process::id();
    let mut refused = 0u32;
    let store = loop {
        match MemoryStore::open(&dir) {
            Ok(store) => break store,
            Err(e) if e.code() == "store_error" => {
                refused += 1;
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            Err(e) => panic!("{e}"),
        }
    };
    for i in 0..300 {
        store.append_evidence(&service(), &evidence(&format!("p{tag}-{i}"))).unwrap();
        say(&format!("ACK p{tag}-{i}"));
    }
    say(&format!("REFUSED {refused}"));
}

#[test]
fn two_processes_on_one_directory_lose_none_of_600_writes() {
    let dir = tempfile::tempdir().unwrap();
    let children: Vec<Child> = (0..2).map(|_| spawn_child("child_contender", dir.path(), false)).collect();
    let (mut acked, mut refused) = (BTreeSet::new(), 0u64);
    for mut child in children {
        for line in BufReader::new(child.stdout.take().unwrap()).lines() {
            let line = line.unwrap();
            match said(&line).map(|m| m.split_once(' ')) {
                Some(Some(("ACK", id))) => assert!(acked.insert(id.to_owned())),
                Some(Some(("REFUSED", n))) => refused += n.parse::<u64>().unwrap(),
                _ => {}
            }
        }
        assert!(child.wait().unwrap().success());
    }
    let store = MemoryStore::open(dir.path()).unwrap();
    let stored: BTreeSet<String> =
        store.learner_evidence(&service(), &LEARNER.into()).unwrap().iter().map(|e| e.id.as_str().into()).collect();
    let lost = acked.difference(&stored).count();
    println!("contention: 2 processes, {} acknowledged, {lost} lost, {refused} refused opens", acked.len());
    assert_eq!((acked.len(), lost, stored.len(), refused), (600, 0, 600, 0));
}

// ---------------------------------------------------------------------------------------------
// kill -9

/// Child: continues the sequence in the directory, writing evidence + its state with `record`
/// (and a shared `last` state), acknowledging each on stdout, until it is killed.
#[test]
fn child_killed_writer() {
    let Some(dir) = child_dir("child_killed_writer") else { return };
    // A small threshold, so kills also land in the middle of compactions.
    let store = MemoryStore::open(dir).unwrap().with_compaction_threshold(8 * 1024);
    let start = store.learner_evidence(&service(), &LEARNER.into()).unwrap().len();
    say("READY");
    for i in start..start + 100_000 {
        let (e, k, v) = nth(i);
        store.record(&service(), &e, &[(k, v), (key("last"), StateValue::Json(json!(i)))]).unwrap();
        say(&format!("ACK {i}"));
    }
}

#[test]
fn kill_9_never_loses_an_acknowledged_write_nor_splits_evidence_from_state() {
    const KILLS: usize = 60;
    let dir = tempfile::tempdir().unwrap();
    let mut acked: BTreeSet<usize> = BTreeSet::new();
    let mut unacked_but_stored = 0;
    for round in 0..KILLS {
        let mut child = spawn_child("child_killed_writer", dir.path(), false);
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let kill_after = 1 + (round * 37) % 60;
        let mut seen = 0;
        let mut line = String::new();
        while seen < kill_after {
            line.clear();
            assert_ne!(stdout.read_line(&mut line).unwrap(), 0, "the child stopped early");
            match said(&line).and_then(|m| m.strip_prefix("ACK ")) {
                Some(i) => {
                    acked.insert(i.parse().unwrap());
                    seen += 1;
                }
                None => continue,
            }
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        // Whatever the child printed before it died was acknowledged too.
        for line in stdout.lines() {
            if let Some(i) = line.ok().as_deref().and_then(said).and_then(|m| m.strip_prefix("ACK ")) {
                acked.insert(i.parse().unwrap());
            }
        }

        let store = MemoryStore::open(dir.path()).unwrap();
        let stored = store.learner_evidence(&service(), &LEARNER.into()).unwrap();
        // Writes are sequential, so what survives is a prefix; at most one write past the last
        // acknowledgement (in flight when killed) may be there.
        let max_acked = *acked.iter().next_back().unwrap();
        assert!(stored.len() > max_acked && stored.len() <= max_acked + 2, "round {round}: {} stored", stored.len());
        unacked_but_stored += stored.len() - (max_acked + 1);
        for (i, e) in stored.iter().enumerate() {
            let (want, k, v) = nth(i);
            assert_eq!(e, &want, "round {round}: record {i} differs");
            // Never split: each stored evidence has its state.
            assert_eq!(store.get_state(&service(), &k).unwrap(), Some(v), "round {round}: state {i}");
        }
        // And no state without its evidence.
        assert_eq!(store.get_state(&service(), &nth(stored.len()).1).unwrap(), None, "round {round}");
        assert_eq!(store.get_state(&service(), &key("last")).unwrap(), Some(StateValue::Json(json!(stored.len() - 1))));
        assert!(acked.iter().all(|i| *i < stored.len()));
    }
    println!(
        "kill -9: {KILLS} kills, {} acknowledged writes, 0 lost, 0 split, {unacked_but_stored} in-flight writes kept",
        acked.len()
    );
}

// ---------------------------------------------------------------------------------------------
// Byte flips, torn tails, sequence numbers

/// Everything a store holds for the test learner, as comparable values.
fn dump(store: &MemoryStore, states: usize) -> (Vec<Evidence>, BTreeMap<String, Option<StateValue>>) {
    let evidence = store.learner_evidence(&service(), &LEARNER.into()).unwrap();
    let mut state = BTreeMap::new();
    for i in 0..states {
        state.insert(format!("s{i}"), store.get_state(&service(), &nth(i).1).unwrap());
    }
    state.insert("last".into(), store.get_state(&service(), &key("last")).unwrap());
    (evidence, state)
}

/// A directory with a snapshot of the first `in_snapshot` writes and a journal of the rest.
fn build(dir: &Path, in_snapshot: usize, total: usize) {
    let store = MemoryStore::open(dir).unwrap();
    for i in 0..total {
        if i == in_snapshot {
            store.snapshot().unwrap();
        }
        let (e, k, v) = nth(i);
        if i % 3 == 0 {
            store.append_evidence(&service(), &e).unwrap();
            store.put_state(&service(), &k, &v).unwrap();
        } else {
            store.record(&service(), &e, &[(k, v), (key("last"), StateValue::Json(json!(i)))]).unwrap();
        }
    }
}

/// Frame boundaries: (start, payload start, end) of each record.
fn frames(bytes: &[u8]) -> Vec<(usize, usize, usize)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let len = u32::from_le_bytes(bytes[at + 2..at + 6].try_into().unwrap()) as usize;
        out.push((at, at + 14, at + 14 + len + 1));
        at += 14 + len + 1;
    }
    out
}

/// A frame like the store writes (magic, kind, length, payload CRC32, header CRC32, payload, newline).
fn encode_frame(payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0xD7, b'J'];
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    let header_crc = crc32fast::hash(&out);
    out.extend_from_slice(&header_crc.to_le_bytes());
    out.extend_from_slice(payload);
    out.push(b'\n');
    out
}

/// Overwrites bytes in place (rewriting a file from scratch makes ext4 flush it on close, which
/// would make these loops slow).
fn poke(path: &Path, at: usize, bytes: &[u8]) {
    use std::io::{Seek, SeekFrom};
    let mut file = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    file.seek(SeekFrom::Start(at as u64)).unwrap();
    file.write_all(bytes).unwrap();
}

struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[test]
fn every_single_byte_flip_is_refused_never_accepted_or_dropped() {
    const TOTAL: usize = 12;
    let source = tempfile::tempdir().unwrap();
    build(source.path(), 5, TOTAL);
    let snapshot = std::fs::read(source.path().join("snapshot.bin")).unwrap();
    let journal = std::fs::read(source.path().join("journal.log")).unwrap();
    let original = dump(&MemoryStore::open(source.path()).unwrap(), TOTAL);
    assert_eq!(original.0.len(), TOTAL);

    let work = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join("snapshot.bin"), &snapshot).unwrap();
    std::fs::write(work.path().join("journal.log"), &journal).unwrap();
    let mut rng = SplitMix(0x5EED_F11F);
    // Every byte of both files once, then seeded random offsets up to 2,400 flips.
    let mut flips: Vec<(bool, usize)> =
        (0..snapshot.len()).map(|at| (true, at)).chain((0..journal.len()).map(|at| (false, at))).collect();
    while flips.len() < 2400 {
        let in_snapshot = rng.next() & 1 == 0;
        let len = if in_snapshot { snapshot.len() } else { journal.len() };
        flips.push((in_snapshot, (rng.next() % len as u64) as usize));
    }
    let journal_frames = frames(&journal);
    let last_frame = *journal_frames.last().unwrap();
    let (mut refused, mut identical, mut altered, mut dropped) = (0, 0, 0, 0);
    let mut classes: BTreeMap<&str, usize> = BTreeMap::new();
    for (in_snapshot, at) in &flips {
        let mask = loop {
            let m = (rng.next() & 0xFF) as u8;
            if m != 0 {
                break m;
            }
        };
        let (path, original_byte) = if *in_snapshot {
            (work.path().join("snapshot.bin"), snapshot[*at])
        } else {
            (work.path().join("journal.log"), journal[*at])
        };
        let class = if *in_snapshot {
            "snapshot"
        } else if *at >= last_frame.0 {
            "journal last record"
        } else if journal_frames.iter().any(|(start, payload, _)| (*start..*payload).contains(at)) {
            "journal header"
        } else {
            "journal payload or terminator"
        };
        *classes.entry(class).or_default() += 1;
        poke(&path, *at, &[original_byte ^ mask]);
        match MemoryStore::open(work.path()) {
            Ok(store) => {
                let got = dump(&store, TOTAL);
                if got == original {
                    identical += 1;
                } else if got.0.len() < original.0.len() || got.1.values().filter(|v| v.is_some()).count() < TOTAL + 1 {
                    dropped += 1;
                } else {
                    altered += 1;
                }
            }
            Err(e) => {
                assert_eq!(e.code(), "store_error", "{e}");
                assert!(!e.to_string().contains(LEARNER) && !e.to_string().contains('学'), "{e}");
                refused += 1;
            }
        }
        poke(&path, *at, &[original_byte]);
        assert_eq!(std::fs::metadata(work.path().join("journal.log")).unwrap().len(), journal.len() as u64);
    }
    println!(
        "byte flips: {} tried ({classes:?}), {refused} refused, {identical} identical, {altered} accepted altered, {dropped} dropped",
        flips.len()
    );
    assert!(flips.len() >= 2000);
    assert_eq!((altered, dropped, identical), (0, 0, 0));
}

#[test]
fn a_torn_last_record_at_every_byte_is_dropped_and_earlier_records_kept() {
    const TOTAL: usize = 6;
    let source = tempfile::tempdir().unwrap();
    build(source.path(), 2, TOTAL);
    let snapshot = std::fs::read(source.path().join("snapshot.bin")).unwrap();
    let journal = std::fs::read(source.path().join("journal.log")).unwrap();
    let (last_start, _, last_end) = *frames(&journal).last().unwrap();
    assert_eq!(last_end, journal.len());
    // What the store held before its last write.
    let before = tempfile::tempdir().unwrap();
    std::fs::write(before.path().join("snapshot.bin"), &snapshot).unwrap();
    std::fs::write(before.path().join("journal.log"), &journal[..last_start]).unwrap();
    let expected = dump(&MemoryStore::open(before.path()).unwrap(), TOTAL);
    assert_eq!(expected.0.len(), TOTAL - 1);
    // The last record is a `record` with multi-byte UTF-8 in its ids.
    assert!(std::str::from_utf8(&journal[last_start + 14..]).unwrap().contains(LEARNER));

    let work = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join("snapshot.bin"), &snapshot).unwrap();
    std::fs::write(work.path().join("journal.log"), &journal[..last_start]).unwrap();
    let mut cuts = 0;
    // Every cut inside the last record, including right before its terminator.
    for cut in last_start + 1..last_end {
        poke(&work.path().join("journal.log"), last_start, &journal[last_start..cut]);
        let store = MemoryStore::open(work.path()).unwrap_or_else(|e| panic!("cut at {cut}: {e}"));
        assert_eq!(dump(&store, TOTAL), expected, "cut at {cut}");
        assert_eq!(std::fs::metadata(work.path().join("journal.log")).unwrap().len(), last_start as u64);
        cuts += 1;
    }
    println!("torn tails: {cuts} cuts of a {}-byte last record, all reopened", last_end - last_start);

    // After the cut, writing goes on from a clean end.
    let store = MemoryStore::open(work.path()).unwrap();
    let (e, k, v) = nth(TOTAL - 1);
    store.record(&service(), &e, &[(k, v), (key("last"), StateValue::Json(json!(TOTAL - 1)))]).unwrap();
    drop(store);
    assert_eq!(
        MemoryStore::open(work.path()).unwrap().learner_evidence(&service(), &LEARNER.into()).unwrap().len(),
        TOTAL
    );
}

#[test]
fn a_snapshot_cut_short_or_with_trailing_bytes_is_an_error() {
    let source = tempfile::tempdir().unwrap();
    build(source.path(), 3, 4);
    let snapshot = std::fs::read(source.path().join("snapshot.bin")).unwrap();
    let work = tempfile::tempdir().unwrap();
    for cut in (1..snapshot.len()).step_by(7) {
        std::fs::write(work.path().join("snapshot.bin"), &snapshot[..cut]).unwrap();
        assert!(is_store_error(&MemoryStore::open(work.path())), "cut at {cut}");
    }
    let mut longer = snapshot.clone();
    longer.extend_from_slice(b"\n");
    std::fs::write(work.path().join("snapshot.bin"), &longer).unwrap();
    assert!(is_store_error(&MemoryStore::open(work.path())));
}

#[test]
fn a_gap_or_repeat_or_changed_sequence_number_is_an_error() {
    let source = tempfile::tempdir().unwrap();
    build(source.path(), 0, 6);
    let journal = std::fs::read(source.path().join("journal.log")).unwrap();
    let f = frames(&journal);
    let work = tempfile::tempdir().unwrap();
    let reopen = |bytes: &[u8]| {
        std::fs::write(work.path().join("journal.log"), bytes).unwrap();
        MemoryStore::open(work.path())
    };
    assert_eq!(reopen(&journal).unwrap().learner_evidence(&service(), &LEARNER.into()).unwrap().len(), 6);
    // A whole record removed from the middle.
    let gap = [&journal[..f[2].0], &journal[f[2].2..]].concat();
    let err = reopen(&gap).unwrap_err();
    assert_eq!(err.to_string(), format!("store failure: journal record at byte {} is out of sequence", f[2].0));
    // A record repeated.
    let repeat = [&journal[..f[3].2], &journal[f[3].0..]].concat();
    assert!(is_store_error(&reopen(&repeat)));
    // Every record re-framed with a changed sequence number (valid checksums).
    for (i, (start, payload, end)) in f.iter().enumerate() {
        let mut entry: Value = serde_json::from_slice(&journal[*payload..end - 1]).unwrap();
        let seq = entry["seq"].as_u64().unwrap();
        for changed in [seq + 1, seq.saturating_sub(1), seq + 1000] {
            if changed == seq {
                continue;
            }
            entry["seq"] = json!(changed);
            let reframed =
                [&journal[..*start], &encode_frame(&serde_json::to_vec(&entry).unwrap()), &journal[*end..]].concat();
            let got = reopen(&reframed);
            // Numbers start right after the snapshot's and rise by one, so any change is caught.
            assert!(is_store_error(&got), "record {i} with seq {changed}: {:?}", got.map(|s| format!("{s:?}")));
        }
    }
}

#[test]
fn a_complete_last_record_that_fails_its_checksum_is_an_error_not_a_torn_tail() {
    let source = tempfile::tempdir().unwrap();
    build(source.path(), 0, 3);
    let mut journal = std::fs::read(source.path().join("journal.log")).unwrap();
    let (start, payload, _) = *frames(&journal).last().unwrap();
    journal[payload + 3] ^= 0x20;
    std::fs::write(source.path().join("journal.log"), &journal).unwrap();
    let err = MemoryStore::open(source.path()).unwrap_err();
    assert_eq!(err.to_string(), format!("store failure: journal record at byte {start} fails its checksum"));
}

// ---------------------------------------------------------------------------------------------
// Compaction

#[test]
fn ten_thousand_writes_keep_the_journal_under_the_compaction_bound() {
    const WRITES: usize = 10_000;
    const THRESHOLD: u64 = 256 * 1024;
    let dir = tempfile::tempdir().unwrap();
    let store = MemoryStore::open(dir.path()).unwrap().with_compaction_threshold(THRESHOLD);
    let journal = dir.path().join("journal.log");
    let snapshot = dir.path().join("snapshot.bin");
    let (mut largest, mut compactions, mut previous) = (0u64, 0, 0u64);
    // One learner × competency whose state is rewritten with every event (a bounded window).
    let history_key = key("mastery");
    for i in 0..WRITES {
        let (e, _, _) = nth(i);
        let window: Vec<usize> = (i.saturating_sub(20)..=i).collect();
        store
            .record(&service(), &e, &[(history_key.clone(), StateValue::Json(json!({"n": i, "window": window})))])
            .unwrap();
        let len = std::fs::metadata(&journal).unwrap().len();
        let snapshot_len = std::fs::metadata(&snapshot).map(|m| m.len()).unwrap_or(0);
        if len < previous {
            compactions += 1;
        }
        previous = len;
        largest = largest.max(len);
        // Past the bound the store compacts during the write that crossed it.
        assert!(len <= THRESHOLD.max(snapshot_len), "write {i}: journal {len} bytes, snapshot {snapshot_len}");
    }
    let snapshot_len = std::fs::metadata(&snapshot).unwrap().len();
    println!(
        "compaction: {WRITES} writes, largest journal {largest} bytes, {compactions} compactions, final snapshot {snapshot_len} bytes"
    );
    assert!(compactions > 0);
    drop(store);
    let reopened = MemoryStore::open(dir.path()).unwrap();
    assert_eq!(reopened.learner_evidence(&service(), &LEARNER.into()).unwrap().len(), WRITES);
    assert_eq!(
        reopened.get_state(&service(), &history_key).unwrap().unwrap().as_json().unwrap()["n"],
        json!(WRITES - 1)
    );
}

/// Writes `range` of [`nth`] into `store`, 100 to a batch (one `apply` each, with the rolling
/// `last` state).
fn write_range(store: &MemoryStore, range: std::ops::Range<usize>) {
    let all: Vec<usize> = range.collect();
    for batch in all.chunks(100) {
        let written: Vec<_> = batch.iter().map(|&i| nth(i)).collect();
        let evidence: Vec<&Evidence> = written.iter().map(|(e, _, _)| e).collect();
        let mut states: Vec<_> = written.iter().map(|(_, k, v)| (k.clone(), v.clone())).collect();
        states.push((key("last"), StateValue::Json(json!(batch.last().unwrap()))));
        store.apply(&service(), &evidence, &states).unwrap();
    }
}

/// The snapshot a store that never compacted writes for `writes` writes (everything encoded).
fn encoded_from_scratch(writes: usize) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let store = MemoryStore::open(dir.path()).unwrap();
    write_range(&store, 0..writes);
    store.snapshot().unwrap();
    std::fs::read(dir.path().join("snapshot.bin")).unwrap()
}

#[test]
fn a_compaction_copies_earlier_evidence_and_writes_the_bytes_a_full_encoding_gives() {
    // Compactions after the first copy the evidence frames of the previous snapshot instead of
    // encoding them again; the file must be byte for byte what encoding everything gives.
    let dir = tempfile::tempdir().unwrap();
    let store = MemoryStore::open(dir.path()).unwrap().with_compaction_threshold(64 * 1024);
    let snapshot = dir.path().join("snapshot.bin");
    let mut compactions = 0;
    let mut previous = Vec::new();
    for round in 0..40 {
        write_range(&store, round * 100..(round + 1) * 100);
        let now = std::fs::read(&snapshot).unwrap_or_default();
        compactions += usize::from(now != previous);
        previous = now;
    }
    assert!(compactions >= 4, "{compactions} compactions");
    store.snapshot().unwrap();
    assert!(std::fs::read(&snapshot).unwrap() == encoded_from_scratch(4_000));
    drop(store);
    let (evidence, states) = dump(&MemoryStore::open(dir.path()).unwrap(), 4_000);
    assert_eq!(evidence.len(), 4_000);
    assert_eq!(states["last"], Some(StateValue::Json(json!(3_999))));
}

#[test]
fn a_snapshot_replaced_behind_the_store_is_encoded_again_not_copied() {
    // A store that died between replacing the snapshot and bumping the generation leaves a file
    // the others do not expect: its evidence is not where they remember, so they encode it.
    let dir = tempfile::tempdir().unwrap();
    let snapshot = dir.path().join("snapshot.bin");
    // Thousands of records, so the snapshot spans several 1 MiB chunks of the writer and a
    // copy that fails late has been written in part.
    let store = MemoryStore::open(dir.path()).unwrap();
    write_range(&store, 0..3_000);
    store.snapshot().unwrap();
    let older = std::fs::read(&snapshot).unwrap();
    write_range(&store, 3_000..6_000);
    store.snapshot().unwrap();
    assert!(std::fs::read(&snapshot).unwrap() == encoded_from_scratch(6_000));
    // Another file in its place: an older snapshot, then one with a flipped byte late in its
    // evidence.
    std::fs::write(&snapshot, &older).unwrap();
    write_range(&store, 6_000..7_000);
    store.snapshot().unwrap();
    assert!(std::fs::read(&snapshot).unwrap() == encoded_from_scratch(7_000));
    let mut flipped = std::fs::read(&snapshot).unwrap();
    let late = flipped.len() / 2;
    flipped[late] ^= 0x01;
    std::fs::write(&snapshot, &flipped).unwrap();
    write_range(&store, 7_000..8_000);
    store.snapshot().unwrap();
    assert!(std::fs::read(&snapshot).unwrap() == encoded_from_scratch(8_000));
    drop(store);
    assert_eq!(dump(&MemoryStore::open(dir.path()).unwrap(), 8_000).0.len(), 8_000);
}

#[test]
fn an_ingest_whose_every_record_is_refused_writes_no_frame() {
    let dir = tempfile::tempdir().unwrap();
    let engine = mastery_core::Engine::new(MemoryStore::open(dir.path()).unwrap());
    let journal = dir.path().join("journal.log");
    let before = std::fs::metadata(&journal).unwrap().len();
    // A learner may not write another learner's evidence: the whole batch is refused.
    let someone_else = AccessContext::new(Principal::learner("t1", "amy"));
    let outcome = engine.ingest(&someone_else, &[evidence("e1"), evidence("e2")]);
    assert_eq!((outcome.new, outcome.rejected.len()), (0, 2));
    assert_eq!(outcome.rejected[0].code, "access_denied");
    assert_eq!(std::fs::metadata(&journal).unwrap().len(), before);
    // A batch with one accepted record writes one frame.
    assert_eq!(engine.ingest(&service(), &[evidence("e1")]).new, 1);
    assert_eq!(frames(&std::fs::read(&journal).unwrap()).len(), 1);
}

#[test]
fn record_is_one_journal_record_and_a_duplicate_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = MemoryStore::open(dir.path()).unwrap();
    let journal = dir.path().join("journal.log");
    let (e, k, v) = nth(0);
    let states = [(k.clone(), v.clone()), (key("last"), StateValue::Json(json!(0)))];
    assert_eq!(store.record(&service(), &e, &states).unwrap(), mastery_core::Appended::New);
    let bytes = std::fs::read(&journal).unwrap();
    assert_eq!(frames(&bytes).len(), 1);
    assert_eq!(
        store.record(&service(), &e, &[(k.clone(), StateValue::Json(json!("changed")))]).unwrap(),
        mastery_core::Appended::Duplicate
    );
    assert_eq!(std::fs::read(&journal).unwrap(), bytes);
    // Denied: a learner recording evidence with another learner's state writes nothing.
    let zoe = AccessContext::new(Principal::learner("t1", LEARNER));
    let other = StateKey { learner: "someone-else".into(), ..key("x") };
    let denied = store.record(&zoe, &nth(1).0, &[(other, StateValue::Json(json!(1)))]).unwrap_err();
    assert_eq!(denied.code(), "access_denied");
    assert_eq!(std::fs::read(&journal).unwrap(), bytes);
    drop(store);
    let store = MemoryStore::open(dir.path()).unwrap();
    assert_eq!(store.learner_evidence(&service(), &LEARNER.into()).unwrap(), [e]);
    assert_eq!(store.get_state(&service(), &k).unwrap(), Some(v));
    assert_eq!(format!("{store:?}"), "MemoryStore { durable: true, seq: 1, evidence: 1, states: 2, .. }");
}

#[test]
fn a_state_that_carries_its_whole_history_still_leaves_a_bounded_journal() {
    // The reported case: 1,000 events on one learner × competency whose state record repeats the
    // full history (about 31 MB of journal without compaction), at the default threshold.
    const EVENTS: usize = 1000;
    let dir = tempfile::tempdir().unwrap();
    let store = MemoryStore::open(dir.path()).unwrap();
    let journal = dir.path().join("journal.log");
    let mastery = key("mastery");
    let (mut history, mut written, mut largest) = (Vec::new(), 0u64, 0u64);
    for i in 0..EVENTS {
        history.push(json!({"evidence": format!("e{i}-学"), "p": 0.5, "at": "2026-03-08T09:00:00-05:00"}));
        let before = std::fs::metadata(&journal).unwrap().len();
        store
            .record(&service(), &nth(i).0, &[(mastery.clone(), StateValue::Json(json!({"history": history})))])
            .unwrap();
        let after = std::fs::metadata(&journal).unwrap().len();
        written += after.saturating_sub(before);
        largest = largest.max(after);
        let snapshot_len = std::fs::metadata(dir.path().join("snapshot.bin")).map(|m| m.len()).unwrap_or(0);
        assert!(after <= mastery_core::store::DEFAULT_COMPACTION_THRESHOLD.max(snapshot_len), "event {i}: {after}");
    }
    println!(
        "whole-history states: {EVENTS} events, {written} journal bytes written, largest journal {largest} bytes (default threshold)"
    );
    drop(store);
    let store = MemoryStore::open(dir.path()).unwrap();
    assert_eq!(
        store.get_state(&service(), &mastery).unwrap().unwrap().as_json().unwrap()["history"].as_array().unwrap().len(),
        EVENTS
    );
}
