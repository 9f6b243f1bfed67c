//! Caliper 1.2: every valid fixture of the specification validates and every malformed one is refused.

#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::PathBuf;

use mastery_core::{parse_caliper, validate_caliper, EvidenceKind, EvidenceMapping};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/data/caliper/v1p2")
}

fn json_files(dir: PathBuf) -> Vec<(String, String)> {
    let mut files: Vec<_> = fs::read_dir(dir)
        .expect("fixture dir")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), fs::read_to_string(&p).unwrap()))
        .collect();
    files.sort();
    files
}

#[test]
fn every_specification_fixture_validates() {
    let files = json_files(dir());
    assert_eq!(files.len(), 144);
    let failures: Vec<String> =
        files.iter().filter_map(|(name, text)| validate_caliper(text).err().map(|e| format!("{name}: {e}"))).collect();
    assert!(failures.is_empty(), "{} valid fixtures refused:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn every_malformed_fixture_is_refused_with_a_typed_error() {
    let files = json_files(dir().join("commonErrorFixtures"));
    assert_eq!(files.len(), 279);
    let accepted: Vec<&str> =
        files.iter().filter(|(_, text)| validate_caliper(text).is_ok()).map(|(n, _)| n.as_str()).collect();
    assert!(accepted.is_empty(), "{} malformed fixtures accepted:\n{}", accepted.len(), accepted.join("\n"));
    for (_, text) in &files {
        let code = validate_caliper(text).unwrap_err().code();
        assert!(["invalid_input", "parse_error", "unsupported_version"].contains(&code));
    }
}

#[test]
fn malformed_events_are_rejected_by_ingestion_too() {
    for (name, text) in json_files(dir().join("commonErrorFixtures")) {
        if !name.starts_with("caliperEvent") {
            continue;
        }
        match parse_caliper(&text, &EvidenceMapping::default()) {
            Err(_) => {}
            Ok(report) => assert!(report.accepted.is_empty() && report.rejected.len() == 1, "{name}"),
        }
    }
}

#[test]
fn events_and_envelopes_become_evidence() {
    let mut events = 0;
    for (name, text) in json_files(dir()) {
        if !(name.starts_with("caliperEvent") || name.starts_with("caliperEnvelope")) {
            continue;
        }
        let report = parse_caliper(&text, &EvidenceMapping::default()).unwrap();
        let entity_envelope = name.contains("Entity");
        assert!(entity_envelope || report.rejected.is_empty(), "{name}: {:?}", report.rejected);
        events += report.accepted.len();
    }
    assert!(events >= 52, "{events}");
    let graded = fs::read_to_string(dir().join("caliperEventGradeGraded.json")).unwrap();
    let e = &parse_caliper(&graded, &EvidenceMapping::default()).unwrap().accepted[0];
    assert_eq!(e.kind, EvidenceKind::Assessment);
    assert!(e.normalized_score().is_some());
    assert!(e.course.is_some());
}
