#![no_main]
//! Any bytes: CASE import fails cleanly or yields a framework whose queries and export work.
use libfuzzer_sys::fuzz_target;
use mastery_core::Framework;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(f) = Framework::from_case_json(text) {
            let _ = f.summary();
            let _ = f.topological_order();
            for item in f.items().iter().take(8) {
                let _ = f.ancestors(&item.identifier);
                let _ = f.prerequisites(&item.identifier);
                let _ = f.descendants(&item.identifier);
            }
            let again = Framework::from_case_json(&f.to_case_json()).expect("an export re-imports");
            assert_eq!(again.items().len(), f.items().len());
        }
    }
});
