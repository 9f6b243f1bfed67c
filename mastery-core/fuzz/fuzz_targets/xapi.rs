#![no_main]
//! Any bytes: `parse_xapi` returns a report or a typed error, never panics.
use libfuzzer_sys::fuzz_target;
use mastery_core::{parse_xapi, EvidenceMapping};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse_xapi(text, &EvidenceMapping::default());
    }
});
