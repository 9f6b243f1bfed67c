#![no_main]
//! Any bytes: Caliper ingestion and validation return a result, never panic.
use libfuzzer_sys::fuzz_target;
use mastery_core::{parse_caliper, validate_caliper, EvidenceMapping};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse_caliper(text, &EvidenceMapping::default());
        let _ = validate_caliper(text);
    }
});
