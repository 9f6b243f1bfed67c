//! OULAD's real tables and pyBKT logs.

#![allow(clippy::unwrap_used)]

use std::fs;
use std::io::Read;
use std::path::PathBuf;

use mastery_core::{parse_oulad_assessments, parse_oulad_vle, parse_pybkt_csv, EvidenceKind, EvidenceMapping};

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/data/oulad").join(name)
}

#[test]
fn every_oulad_assessment_result_is_read() {
    let assessments = fs::read_to_string(data("assessments.csv")).unwrap();
    let mut results = String::new();
    flate2::read::GzDecoder::new(fs::File::open(data("studentAssessment.csv.gz")).unwrap())
        .read_to_string(&mut results)
        .unwrap();
    let (table, report) = parse_oulad_assessments(&assessments, &results, &EvidenceMapping::default()).unwrap();
    // Row counts and missing values as documented with the dataset.
    assert_eq!(table.len(), 206);
    assert_eq!(table.iter().filter(|a| a.date.is_none()).count(), 11);
    assert_eq!(report.accepted.len(), 173_912);
    assert!(report.rejected.is_empty());
    assert_eq!(report.accepted.iter().filter(|e| e.score.is_none()).count(), 173);
    let mean = report.accepted.iter().filter_map(|e| e.score.as_ref()?.raw).sum::<f64>() / (173_912.0 - 173.0);
    assert!((mean - 75.80).abs() < 0.01, "{mean}");
    let first = &report.accepted[0];
    assert_eq!((first.learner.as_str(), first.course.as_ref().unwrap().as_str()), ("11391", "AAA-2013J"));
    // Day 18 of a presentation that starts in October 2013.
    assert_eq!(first.occurred_at.unwrap().date_naive().to_string(), "2013-10-19");
}

#[test]
fn oulad_clicks_become_view_evidence() {
    let report =
        parse_oulad_vle(&fs::read_to_string(data("studentVle_sample_AAA2013J_first5000.csv")).unwrap()).unwrap();
    assert_eq!(report.accepted.len(), 5000);
    assert!(report
        .accepted
        .iter()
        .all(|e| e.kind == EvidenceKind::View && e.score.as_ref().unwrap().raw.unwrap() >= 1.0));
    assert_eq!(report.accepted[0].sequence, Some(-2));
}

#[test]
fn oulad_rows_with_unknown_assessments_are_rejected_alone() {
    let assessments = "\"code_module\",\"code_presentation\",\"id_assessment\",\"assessment_type\",\"date\",\"weight\"\n\"AAA\",\"2013J\",\"1\",\"TMA\",\"19\",\"10\"\n";
    let results = "\"id_assessment\",\"id_student\",\"date_submitted\",\"is_banked\",\"score\"\r\n\"1\",\"7\",\"18\",\"0\",\"78\"\r\n\"2\",\"7\",\"18\",\"0\",\"78\"\r\n\"1\",\"8\",\"18\",\"0\",\"178\"\r\n";
    let (_, report) = parse_oulad_assessments(assessments, results, &EvidenceMapping::default()).unwrap();
    assert_eq!(report.accepted.len(), 1);
    let fields: Vec<_> = report.rejected.iter().map(|r| (r.index, r.field.clone().unwrap())).collect();
    assert_eq!(fields, [(1, "id_assessment".to_owned()), (2, "score".to_owned())]);
}

#[test]
fn pybkt_reference_logs_are_read() {
    let log = "user_id,skill_name,order_id,template_id,correct\nstudent0,skill,0,t,0\nstudent0,skill,1,t,1\n";
    let report = parse_pybkt_csv(log).unwrap();
    assert_eq!(report.accepted.len(), 2);
    assert_eq!(report.accepted[1].normalized_score(), Some(1.0));
}
