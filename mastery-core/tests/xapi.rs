//! xAPI: the specification's statements are read, the conformance suite's broken ones refused.

#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::PathBuf;

use mastery_core::{parse_xapi, EvidenceKind, EvidenceMapping};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/data/xapi")
}

fn read(path: &str) -> String {
    fs::read_to_string(dir().join(path)).unwrap()
}

#[test]
fn every_statement_of_the_specification_is_accepted() {
    let mut n = 0;
    for entry in fs::read_dir(dir().join("spec_examples")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        // L1950 is the specification's example of a Person object (verb as a bare string, lists
        // of names): shaped like a statement but not one. It is refused below.
        if !name.ends_with("_statement.json") || name.contains("L1950") {
            continue;
        }
        let report = parse_xapi(&fs::read_to_string(&path).unwrap(), &EvidenceMapping::default()).unwrap();
        assert!(report.rejected.is_empty(), "{name}: {:?}", report.rejected);
        assert!(!report.accepted.is_empty());
        n += 1;
    }
    assert_eq!(n, 11);
    let person =
        parse_xapi(&read("spec_examples/xAPI-Communication_L1950_statement.json"), &EvidenceMapping::default());
    assert_eq!(person.unwrap().rejected[0].field.as_deref(), Some("actor.objectType"));
}

#[test]
fn the_specifications_non_json_example_is_a_parse_error() {
    let err = parse_xapi(&read("spec_examples/xAPI-Data_L2121_notjson.json"), &EvidenceMapping::default()).unwrap_err();
    assert_eq!(err.code(), "parse_error");
}

#[test]
fn conformance_templates_missing_parts_are_refused_by_field() {
    let cases = [
        ("no_actor.json", "actor"),
        ("no_verb.json", "verb"),
        ("no_object.json", "object"),
        ("actor.json", "actor"),
        ("object_substatement.json", "object.actor"),
        ("object_statementref_no_id.json", "object.id"),
        ("object_activity.json", "object.id"),
    ];
    for (file, field) in cases {
        let report =
            parse_xapi(&read(&format!("conformance_v2_0/statements/{file}")), &EvidenceMapping::default()).unwrap();
        assert!(report.accepted.is_empty(), "{file}");
        assert_eq!(report.rejected[0].field.as_deref(), Some(field), "{file}: {:?}", report.rejected);
    }
    // Two `actor` keys in one object: refused, not "last one wins".
    let dup = parse_xapi(&read("conformance_v2_0/statements/multiple_actor.json"), &EvidenceMapping::default());
    assert_eq!(dup.unwrap_err().code(), "parse_error");
}

#[test]
fn complete_conformance_templates_are_accepted() {
    for file in [
        "default.json",
        "voiding.json",
        "unicode.json",
        "object_substatement_default.json",
        "context.json",
        "result.json",
    ] {
        let report =
            parse_xapi(&read(&format!("conformance_v2_0/statements/{file}")), &EvidenceMapping::default()).unwrap();
        assert!(report.rejected.is_empty(), "{file}: {:?}", report.rejected);
    }
}

#[test]
fn a_batch_keeps_its_good_statements() {
    let good = read("conformance_v2_0/statements/default.json");
    let batch =
        format!("[{good}, {{\"verb\": 1}}, {good}, {}]", read("conformance_v2_0/statements/multiple_actor.json"));
    let report = parse_xapi(&batch, &EvidenceMapping::default()).unwrap();
    assert_eq!(report.accepted.len(), 2);
    let indexes: Vec<usize> = report.rejected.iter().map(|r| r.index).collect();
    assert_eq!(indexes, [1, 3]);
    assert!(report.rejected.iter().all(|r| !r.reason.contains("xapi@adlnet.gov")));
}

#[test]
fn mapping_scores_and_time_zones() {
    let mut mapping = EvidenceMapping::default();
    mapping.competencies.insert("http://example.com/course/unit-1".into(), vec!["fractions".into()]);
    mapping.courses.insert("http://example.com/course".into(), "course-1".into());
    let statement = r#"{
      "id": "7CCD3322-E1A5-411A-A67D-6A735C76F119",
      "actor": {"account": {"homePage": "https://lms.example.com", "name": "1625378"}},
      "verb": {"id": "http://adlnet.gov/expapi/verbs/scored"},
      "object": {"id": "http://example.com/quiz/7"},
      "result": {"score": {"raw": 7, "min": 0, "max": 10}, "duration": "PT4M30S"},
      "context": {"contextActivities": {"parent": {"id": "http://example.com/course/unit-1"},
                                         "grouping": [{"id": "http://example.com/course"}]}},
      "timestamp": "2026-11-01T01:30:00-04:00"
    }"#;
    let e = &parse_xapi(statement, &mapping).unwrap().accepted[0];
    assert_eq!(e.id.as_str(), "xapi:7ccd3322-e1a5-411a-a67d-6a735c76f119");
    assert_eq!(e.learner.as_str(), "account:https://lms.example.com|1625378");
    assert_eq!(e.competencies, vec!["fractions".into()]);
    assert_eq!(e.course, Some("course-1".into()));
    assert_eq!(e.kind, EvidenceKind::Assessment);
    assert_eq!(e.normalized_score(), Some(0.7));
    assert_eq!(e.duration_seconds, Some(270.0));
    assert_eq!(e.occurred_at.unwrap().to_rfc3339(), "2026-11-01T01:30:00-04:00");
}
