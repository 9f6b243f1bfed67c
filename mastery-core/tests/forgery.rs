//! Forged credentials never verify. Each forgery is built here from a genuinely signed credential,
//! checked, and kept as a fixture case (`fixtures/cases/credential/forgery_*.json`) that every
//! runtime's suite runs. `MASTERY_BLESS=1` rewrites the cases; otherwise they must be unchanged.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use mastery_core::credential::*;
use mastery_core::time::{parse_instant, Instant};
use serde_json::{json, Value};

const NOW: &str = "2026-06-01T00:00:00Z";
const LIST_URL: &str = "https://badges.example.edu/status/1";

fn t(text: &str) -> Instant {
    parse_instant(text, "t").unwrap()
}

fn issuer_key() -> IssuerKey {
    IssuerKey::from_seed(&[7; 32]).unwrap()
}

fn attacker_key() -> IssuerKey {
    IssuerKey::from_seed(&[66; 32]).unwrap()
}

fn unsigned_credential(key: &IssuerKey, valid_until: &str) -> Value {
    let achievement = Achievement {
        id: "https://badges.example.edu/achievements/ratios".into(),
        version: 1,
        name: "Ratios".into(),
        description: "Reasons with ratios".into(),
        criteria: "Master the competency".into(),
        image: None,
        achievement_type: AchievementType::Badge,
        alignments: vec![],
        valid_days: None,
        rule: AwardRule::Mastery { competency: "ratios".into(), min_points: None },
    };
    let issuer = IssuerProfile { id: key.did(), name: "Example University".into(), url: None };
    let status = StatusEntry { status_list_credential: LIST_URL.into(), index: 7 };
    let mut c = achievement_credential(
        "urn:uuid:0b8e1d2c-6f4e-4a55-9c1d-2f3a4b5c6d7e",
        &achievement,
        &issuer,
        "learner-1",
        "salt",
        t("2026-01-10T12:00:00Z"),
        &[],
        Some(&status),
    );
    c["validUntil"] = json!(valid_until);
    c
}

fn signed(credential: &Value, key: &IssuerKey) -> Value {
    sign_data_integrity(credential, key, None, t("2026-01-10T12:00:00Z")).unwrap()
}

fn status_list(issuer: &IssuerKey, revoked: bool) -> Value {
    let mut list = StatusList::default();
    list.set(7, revoked).unwrap();
    status_list_credential(LIST_URL, &issuer.did(), &list, "revocation", t("2026-01-01T00:00:00Z"))
}

fn options(lists: Option<Value>) -> Value {
    let mut o = json!({"now": NOW});
    if let Some(list) = lists {
        o["status_lists"] = json!({ LIST_URL: list });
    }
    o
}

struct Case {
    name: &'static str,
    description: &'static str,
    text: String,
    options: Value,
    /// The check that must fail (`None`: the control case, which must verify).
    fails: Option<&'static str>,
}

fn verify(case: &Case) -> Verification {
    let options: VerifyOptions = serde_json::from_value(case.options.clone()).unwrap();
    verify_credential(&case.text, &options).unwrap()
}

fn cases() -> Vec<Case> {
    let key = issuer_key();
    let good = signed(&unsigned_credential(&key, "2027-01-10T12:00:00Z"), &key);
    let expired = signed(&unsigned_credential(&key, "2026-03-01T00:00:00Z"), &key);
    let clear_list = signed(&status_list(&key, false), &key);
    let revoked_list = signed(&status_list(&key, true), &key);
    let text = |v: &Value| serde_json::to_string_pretty(v).unwrap();
    let mut cases = vec![
        Case {
            name: "control_genuine",
            description: "Control: the genuine credential with its issuer's signed status list verifies.",
            text: text(&good),
            options: options(Some(clear_list.clone())),
            fails: None,
        },
        Case {
            name: "control_expired",
            description: "Control: the genuine expired credential fails validity.",
            text: text(&expired),
            options: options(None),
            fails: Some("validity"),
        },
    ];

    // Expiry moved to shapes a JSON reader does not see, with the RDF (and so the signature) unchanged.
    let mut full_iri = expired.clone();
    let until = full_iri.as_object_mut().unwrap().remove("validUntil").unwrap();
    full_iri["https://www.w3.org/2018/credentials#validUntil"] =
        json!({"@value": until, "@type": "http://www.w3.org/2001/XMLSchema#dateTime"});
    cases.push(Case {
        name: "expiry_as_full_iri",
        description: "An expired credential whose validUntil is moved to its full IRI key as a typed value: same RDF, so the signature holds, but the JSON no longer says what was signed.",
        text: text(&full_iri),
        options: options(None),
        fails: Some("signature"),
    });
    let mut aliased = expired.clone();
    let until = aliased.as_object_mut().unwrap().remove("validUntil").unwrap();
    aliased["@context"].as_array_mut().unwrap().push(json!({"until": {
        "@id": "https://www.w3.org/2018/credentials#validUntil",
        "@type": "http://www.w3.org/2001/XMLSchema#dateTime"}}));
    aliased["until"] = until;
    cases.push(Case {
        name: "expiry_under_an_alias",
        description: "An expired credential whose validUntil is renamed through an inline context alias.",
        text: text(&aliased),
        options: options(None),
        fails: Some("signature"),
    });

    // Status entries reshaped so a JSON reader finds no index (and so no revocation).
    let mut hidden_index = good.clone();
    let entry = hidden_index["credentialStatus"].as_object_mut().unwrap();
    let index = entry.remove("statusListIndex").unwrap();
    entry.insert("https://www.w3.org/ns/credentials/status#statusListIndex".into(), index);
    cases.push(Case {
        name: "status_index_as_full_iri",
        description: "A revoked credential whose statusListIndex is moved to its full IRI key: the signed RDF still names the revoked index.",
        text: text(&hidden_index),
        options: options(Some(revoked_list.clone())),
        fails: Some("signature"),
    });
    let mut hidden_list = good.clone();
    let entry = hidden_list["credentialStatus"].as_object_mut().unwrap();
    let url = entry.remove("statusListCredential").unwrap();
    entry.insert("https://www.w3.org/ns/credentials/status#statusListCredential".into(), json!({"@id": url}));
    cases.push(Case {
        name: "status_list_as_full_iri",
        description: "A revoked credential whose statusListCredential is moved to its full IRI key.",
        text: text(&hidden_list),
        options: options(Some(revoked_list.clone())),
        fails: Some("signature"),
    });

    // Properties added after signing.
    let mut honors = good.clone();
    honors["credentialSubject"]["honors"] = json!("summa cum laude");
    cases.push(Case {
        name: "added_term_after_signing",
        description: "A property no OB context defines (honors) added after signing: the W3C VC 2.0 context's @vocab signs every term, so the signature fails.",
        text: text(&honors),
        options: options(None),
        fails: Some("signature"),
    });
    let mut level = good.clone();
    level["credentialSubject"]["achievement"]["level"] = json!("advanced");
    cases.push(Case {
        name: "added_achievement_level_after_signing",
        description: "An achievement level added after signing.",
        text: text(&level),
        options: options(None),
        fails: Some("signature"),
    });
    let mut keyword = good.clone();
    keyword["credentialSubject"]["@honors"] = json!("summa cum laude");
    cases.push(Case {
        name: "added_ignored_keyword",
        description: "An @-key JSON-LD ignores (so no signature covers it) added after signing: refused as unsigned.",
        text: text(&keyword),
        options: options(None),
        fails: Some("signature"),
    });
    let mut index_key = good.clone();
    index_key["credentialSubject"]["@index"] = json!("first in class");
    cases.push(Case {
        name: "added_index_keyword",
        description: "An @index value (never part of the RDF) added after signing: refused as unsigned.",
        text: text(&index_key),
        options: options(None),
        fails: Some("signature"),
    });

    // Status lists that are not the issuer's.
    cases.push(Case {
        name: "control_revoked_by_own_list",
        description: "Control: the issuer's own signed list revokes the credential.",
        text: text(&good),
        options: options(Some(revoked_list.clone())),
        fails: Some("status"),
    });
    cases.push(Case {
        name: "status_list_unsigned",
        description: "An unsigned status list with the bit cleared is not the issuer's list.",
        text: text(&good),
        options: options(Some(status_list(&key, false))),
        fails: Some("status"),
    });
    let attacker = attacker_key();
    cases.push(Case {
        name: "status_list_other_issuer",
        description:
            "A status list signed by another issuer (its own key, its own name) is not the credential issuer's list.",
        text: text(&good),
        options: options(Some(signed(&status_list(&attacker, false), &attacker))),
        fails: Some("status"),
    });
    let mut renamed = signed(&status_list(&attacker, false), &attacker);
    renamed["issuer"] = json!(key.did());
    cases.push(Case {
        name: "status_list_renamed_issuer",
        description: "A list signed by another key, then relabelled with the credential's issuer: its proof fails.",
        text: text(&good),
        options: options(Some(renamed)),
        fails: Some("status"),
    });

    // VC-JWT credentials and their status lists.
    let jwt = sign_vc_jwt(&unsigned_credential(&key, "2027-01-10T12:00:00Z"), &key).unwrap();
    cases.push(Case {
        name: "jwt_control_list_as_jwt",
        description: "Control: a VC-JWT credential with its issuer's status list, itself a VC-JWT.",
        text: jwt.clone(),
        options: options(Some(json!(sign_vc_jwt(&status_list(&key, false), &key).unwrap()))),
        fails: None,
    });
    cases.push(Case {
        name: "jwt_status_list_unsigned",
        description: "A VC-JWT credential shown an unsigned status list with the bit cleared.",
        text: jwt.clone(),
        options: options(Some(status_list(&key, false))),
        fails: Some("status"),
    });
    cases.push(Case {
        name: "jwt_status_list_other_issuer",
        description: "A VC-JWT credential shown a status list VC-JWT of another issuer.",
        text: jwt,
        options: options(Some(json!(sign_vc_jwt(&status_list(&attacker, false), &attacker).unwrap()))),
        fails: Some("status"),
    });
    cases
}

fn case_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../fixtures/cases/credential/forgery_{name}.json"))
}

fn fixture(case: &Case, verification: &Verification) -> Value {
    let checks: Vec<Value> = verification.checks.iter().map(|c| json!({"name": c.name, "passed": c.passed})).collect();
    json!({
        "description": case.description,
        "op": "verify_credential",
        "input": {"text": case.text, "options": case.options},
        "expected": {"valid": case.fails.is_none(), "checks": checks},
        "tolerance": 0,
    })
}

#[test]
fn no_forgery_verifies_and_every_case_is_a_fixture() {
    let bless = std::env::var_os("MASTERY_BLESS").is_some();
    for case in cases() {
        let v = verify(&case);
        let failed: Vec<&str> = v.checks.iter().filter(|c| !c.passed).map(|c| c.name.as_str()).collect();
        for c in v.checks.iter().filter(|c| !c.passed) {
            eprintln!("{}: {} failed: {}", case.name, c.name, c.detail);
        }
        match case.fails {
            None => assert!(v.valid, "{}: {:?}", case.name, v.checks),
            Some(check) => {
                assert!(!v.valid, "{}: a forgery verified", case.name);
                assert!(failed.contains(&check), "{}: expected {check} to fail: {:?}", case.name, v.checks);
            }
        }
        let expected = fixture(&case, &v);
        let path = case_path(case.name);
        if bless {
            std::fs::write(&path, serde_json::to_string_pretty(&expected).unwrap() + "\n").unwrap();
        } else {
            let stored: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            assert_eq!(stored, expected, "{}: fixture is stale (MASTERY_BLESS=1 rewrites it)", case.name);
        }
    }
}

#[test]
fn a_urn_issuer_is_not_spoken_for_by_any_did_key() {
    // The validator's credential: a `urn:` issuer, proof by a did:key. Anyone can make one.
    let doc: Value = serde_json::from_str(
        &std::fs::read_to_string(
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../fixtures/data/openbadges/ob3/validator_tests/simple-did-key-method.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let issuer = doc["issuer"]["id"].as_str().unwrap().to_owned();
    let mut options = VerifyOptions::at(t(NOW));
    options.expected_issuer = Some(issuer.clone());
    let v = verify_credential_json(&doc, &options);
    assert!(!v.valid && v.checks.iter().any(|c| c.name == "issuer" && !c.passed), "{:?}", v.checks);
    // The host vouches for the key: now it speaks for the issuer.
    let method = doc["proof"][0]["verificationMethod"].as_str().unwrap().to_owned();
    options.issuer_keys.insert(issuer, [method].into());
    assert!(verify_credential_json(&doc, &options).valid);
}

#[test]
fn issuance_refuses_properties_no_context_defines() {
    let key = issuer_key();
    let mut c = unsigned_credential(&key, "2027-01-10T12:00:00Z");
    c["credentialSubject"]["@honors"] = json!("summa cum laude");
    let err = sign_data_integrity(&c, &key, None, t("2026-01-10T12:00:00Z")).unwrap_err();
    assert_eq!((err.code(), err.field()), ("invalid_input", Some("credentialSubject.@honors")));
    // With the W3C context's @vocab, an undefined plain term is signed rather than dropped.
    let mut c = unsigned_credential(&key, "2027-01-10T12:00:00Z");
    c["credentialSubject"]["honors"] = json!("summa cum laude");
    let signed = sign_data_integrity(&c, &key, None, t("2026-01-10T12:00:00Z")).unwrap();
    assert!(verify_credential_json(&signed, &VerifyOptions::at(t(NOW))).valid);
    assert!(canonicalize(&signed).unwrap().contains("issuer-dependent#honors"));
}
