#![no_main]
//! Any bytes: VC-JWT verification, JSON credential checks and PNG/SVG unbaking return results,
//! never panic.
use libfuzzer_sys::fuzz_target;
use mastery_core::credential::{unbake_png, unbake_svg, verify_credential_json, verify_vc_jwt, VerifyOptions};
use mastery_core::time::parse_instant;

fuzz_target!(|data: &[u8]| {
    let _ = unbake_png(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let options = VerifyOptions::at(parse_instant("2026-06-01T00:00:00Z", "now").expect("constant"));
        let _ = verify_vc_jwt(text, &options);
        let _ = unbake_svg(text);
        if let Ok(value) = serde_json::from_str(text) {
            let _ = verify_credential_json(&value, &options);
        }
    }
});
