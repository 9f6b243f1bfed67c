#![no_main]
//! JSON-LD credentials through verification: libFuzzer mutates a genuinely signed credential
//! (seed: `fixtures/cases/credential/forgery_control_genuine.json`). Verification must never
//! panic, and whatever it accepts must say what the genuine credential says: the same issuer,
//! validity window, status entry, subject and achievement. An accepted variant that says
//! anything else is a forgery, and this target fails on it.
use libfuzzer_sys::fuzz_target;
use mastery_core::credential::{verify_credential_json, VerifyOptions};
use serde_json::Value;
use std::sync::OnceLock;

const CASE: &str = include_str!("../../../fixtures/cases/credential/forgery_control_genuine.json");

struct Genuine {
    options: VerifyOptions,
    claims: Vec<Value>,
}

/// What a relying party reads from a credential.
fn claims(doc: &Value) -> Vec<Value> {
    let one = |v: &Value| match v {
        Value::Array(items) if items.len() == 1 => items[0].clone(),
        other => other.clone(),
    };
    let id = |v: &Value| match one(v) {
        Value::Object(map) => map.get("id").cloned().unwrap_or(Value::Null),
        other => other,
    };
    let subject = one(&doc["credentialSubject"]);
    let status = one(&doc["credentialStatus"]);
    vec![
        id(&doc["issuer"]),
        doc["validFrom"].clone(),
        doc["validUntil"].clone(),
        status["statusListCredential"].clone(),
        status["statusListIndex"].clone(),
        subject["id"].clone(),
        id(&subject["achievement"]),
        subject["achievement"]["name"].clone(),
    ]
}

fn genuine() -> &'static Genuine {
    static GENUINE: OnceLock<Genuine> = OnceLock::new();
    GENUINE.get_or_init(|| {
        let case: Value = serde_json::from_str(CASE).expect("fixture is JSON");
        let doc: Value =
            serde_json::from_str(case["input"]["text"].as_str().expect("text")).expect("credential is JSON");
        let options: VerifyOptions = serde_json::from_value(case["input"]["options"].clone()).expect("options");
        assert!(verify_credential_json(&doc, &options).valid, "the seed must verify");
        Genuine { options, claims: claims(&doc) }
    })
}

fuzz_target!(|data: &[u8]| {
    let genuine = genuine();
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(doc) = serde_json::from_str::<Value>(text) else { return };
    let verification = verify_credential_json(&doc, &genuine.options);
    if verification.valid {
        assert_eq!(claims(&doc), genuine.claims, "a variant that says something else verified");
    }
});
