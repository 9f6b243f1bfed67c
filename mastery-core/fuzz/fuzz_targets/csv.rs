#![no_main]
//! Any bytes: the CSV readers (pyBKT, OULAD) return a result, never panic.
use libfuzzer_sys::fuzz_target;
use mastery_core::{parse_oulad_assessments, parse_oulad_vle, parse_pybkt_csv, EvidenceMapping};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse_pybkt_csv(text);
        let _ = parse_oulad_vle(text);
        // A blank line separates the two OULAD tables the join reads.
        let (assessments, results) = text.split_once("\n\n").unwrap_or((text, ""));
        let _ = parse_oulad_assessments(assessments, results, &EvidenceMapping::default());
    }
});
