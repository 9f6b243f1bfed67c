#![no_main]
//! Any bytes as a risk model file: loading returns a model or a typed error, and a loaded model
//! scores and explains rows (values, zeros, NaN) without panicking or looping.
use libfuzzer_sys::fuzz_target;
use mastery_core::risk::{RiskModel, RiskModelFile};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(model) = RiskModelFile::from_json(text) else { return };
    let width = model.features.len();
    for fill in [0.0, 1.5, -3.0, f64::NAN] {
        let row = vec![fill; width];
        let x = ndarray::Array2::from_shape_vec((1, width), row.clone()).expect("shape");
        let _ = model.predict_proba(x.view());
        let _ = model.explain(&row, 3);
    }
});
