//! Credentials: OB 3.0 schema-valid, signed and verified as VC-JWT, exactly once.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use mastery_core::credential::*;
use mastery_core::time::parse_instant;
use proptest::prelude::*;
use serde_json::Value;

fn data(path: &str) -> String {
    std::fs::read_to_string(
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/data/openbadges").join(path),
    )
    .unwrap()
}

fn achievement(id: &str, competency: &str) -> Achievement {
    Achievement {
        id: format!("https://badges.example.edu/achievements/{id}"),
        version: 1,
        name: format!("Ratios {id}"),
        description: "Reasons with ratios".into(),
        criteria: "Master the competency".into(),
        image: Some("https://badges.example.edu/img/ratios.png".into()),
        achievement_type: AchievementType::Badge,
        alignments: vec![(format!("https://case.example.org/uri/{competency}"), "CCSS.Math.Content.6.RP.A.1".into())],
        valid_days: Some(365),
        rule: AwardRule::Mastery { competency: competency.into(), min_points: None },
    }
}

fn key(seed: u8) -> IssuerKey {
    IssuerKey::from_seed(&[seed; 32]).unwrap()
}

fn credential(key: &IssuerKey, status_index: u64) -> Value {
    let issuer =
        IssuerProfile { id: key.did(), name: "Example University".into(), url: Some("https://example.edu".into()) };
    let status = StatusEntry { status_list_credential: "https://example.edu/status/1".into(), index: status_index };
    achievement_credential(
        "urn:uuid:3e1b7a6c-1b2a-4c3d-9e8f-0a1b2c3d4e5f",
        &achievement("a1", "c1"),
        &issuer,
        "learner-42",
        "s4lt",
        parse_instant("2026-01-10T12:00:00Z", "t").unwrap(),
        &["https://lms.example.edu/evidence/1".into()],
        Some(&status),
    )
}

#[test]
fn issued_credentials_validate_against_the_official_ob3_schema() {
    let schema: Value = serde_json::from_str(&data("ob3/schema/ob_v3p0_achievementcredential_schema.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let c = credential(&key(1), 7);
    let errors: Vec<String> = validator.iter_errors(&c).map(|e| format!("{e} at {}", e.instance_path())).collect();
    assert!(errors.is_empty(), "{errors:?}");
    // The learner appears only as a salted hash.
    assert!(!c.to_string().contains("learner-42"));
    // The spec's own full example validates too (the schema test is not vacuous).
    assert!(!validator.is_valid(&serde_json::json!({"type": ["VerifiableCredential"]})));
}

fn at(t: &str) -> VerifyOptions {
    VerifyOptions::at(parse_instant(t, "t").unwrap())
}

fn failed(v: &Verification) -> Vec<String> {
    v.checks.iter().filter(|c| !c.passed).map(|c| c.name.clone()).collect()
}

/// Both proof formats, signed and then checked for every way a credential can fail.
#[test]
fn sign_and_verify_and_every_failure_is_reported() {
    let k = key(1);
    let created = parse_instant("2026-01-10T12:00:00Z", "t").unwrap();
    let jwt = sign_vc_jwt(&credential(&k, 7), &k).unwrap();
    let embedded = sign_data_integrity(&credential(&k, 7), &k, None, created).unwrap().to_string();
    assert_eq!(serde_json::from_str::<Value>(&embedded).unwrap()["proof"]["cryptosuite"], "eddsa-rdfc-2022");
    for signed in [jwt.clone(), embedded.clone()] {
        let check = |options: &VerifyOptions| failed(&verify_credential(&signed, options).unwrap());
        let ok =
            verify_credential(&signed, &VerifyOptions { expected_issuer: Some(k.did()), ..at("2026-06-01T00:00:00Z") })
                .unwrap();
        assert!(ok.valid, "{:?}", ok.checks);
        assert_eq!(
            ok.checks.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
            ["signature", "schema", "validity", "status", "issuer"]
        );
        assert_eq!(check(&at("2027-02-01T00:00:00Z")), ["validity"], "expired");
        assert_eq!(check(&at("2025-01-01T00:00:00Z")), ["validity"], "not yet valid");
        let revoked = VerifyOptions { revoked_indexes: BTreeSet::from([7]), ..at("2026-06-01T00:00:00Z") };
        assert_eq!(check(&revoked), ["status"]);
        // Revoked through a published Bitstring Status List, signed by the issuer.
        let mut list = StatusList::default();
        list.set(7, true).unwrap();
        let published = status_list_credential("https://example.edu/status/1", &k.did(), &list, "revocation", created);
        let published = sign_data_integrity(&published, &k, None, created).unwrap();
        let mut listed = at("2026-06-01T00:00:00Z");
        listed.status_lists.insert("https://example.edu/status/1".into(), published.clone());
        assert_eq!(check(&listed), ["status"]);
        list.set(7, false).unwrap();
        let cleared = status_list_credential("https://example.edu/status/1", &k.did(), &list, "revocation", created);
        listed
            .status_lists
            .insert("https://example.edu/status/1".into(), sign_data_integrity(&cleared, &k, None, created).unwrap());
        assert!(check(&listed).is_empty());
        // A list whose bits were flipped after signing is refused.
        let mut forged = published;
        forged["credentialSubject"]["encodedList"] = StatusList::default().encode().into();
        listed.status_lists.insert("https://example.edu/status/1".into(), forged);
        assert_eq!(check(&listed), ["status"]);
        let wrong = VerifyOptions { expected_issuer: Some(key(2).did()), ..at("2026-06-01T00:00:00Z") };
        assert_eq!(check(&wrong), ["issuer"]);
    }

    // Tampered payloads: the signature no longer verifies.
    let parts: Vec<&str> = jwt.split('.').collect();
    use base64::Engine as _;
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut payload: Value = serde_json::from_slice(&engine.decode(parts[1]).unwrap()).unwrap();
    payload["name"] = "Something else".into();
    let tampered = format!("{}.{}.{}", parts[0], engine.encode(payload.to_string()), parts[2]);
    assert_eq!(failed(&verify_credential(&tampered, &at("2026-06-01T00:00:00Z")).unwrap()), ["signature"]);
    let mut doc: Value = serde_json::from_str(&embedded).unwrap();
    doc["credentialSubject"]["achievement"]["name"] = "Something else".into();
    assert_eq!(failed(&verify_credential_json(&doc, &at("2026-06-01T00:00:00Z"))), ["signature"]);
    // Formatting is not content: the same credential re-serialised still verifies.
    let pretty = serde_json::to_string_pretty(&serde_json::from_str::<Value>(&embedded).unwrap()).unwrap();
    assert!(verify_credential(&pretty, &at("2026-06-01T00:00:00Z")).unwrap().valid);

    // A key cannot sign a credential naming another issuer, in either format.
    assert_eq!(sign_vc_jwt(&credential(&k, 7), &key(2)).unwrap_err().field(), Some("issuer.id"));
    assert_eq!(
        sign_data_integrity(&credential(&k, 7), &key(2), None, created).unwrap_err().field(),
        Some("verificationMethod")
    );
    assert_eq!(verify_credential("not a jwt", &at("2026-06-01T00:00:00Z")).unwrap_err().code(), "parse_error");
}

/// The spec's RDFC-1.0 test vectors: canonical N-Quads of the basic credential and its proof
/// options. The vector's input is the spec's basic credential as it stood when the vector was
/// made (VC 1.1 context, OB context 3.0.3, issuer 565049 with a url), reconstructed here.
#[test]
fn canonicalisation_reproduces_the_spec_vectors() {
    let document = serde_json::json!({
        "@context": ["https://www.w3.org/2018/credentials/v1", "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"],
        "id": "http://example.com/credentials/3527",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": "https://example.edu/issuers/565049", "type": ["Profile"], "name": "Example Corp", "url": "https://www.imsglobal.org"},
        "validFrom": "2010-01-01T00:00:00Z",
        "name": "Teamwork Badge",
        "credentialSubject": {
            "id": "did:example:ebfeb1f712ebc6f1c276e12ec21",
            "type": ["AchievementSubject"],
            "achievement": {
                "id": "https://example.com/achievements/21st-century-skills/teamwork",
                "type": ["Achievement"],
                "criteria": {"narrative": "Team members are nominated for this badge by their peers and recognized upon review by Example Corp management."},
                "description": "This badge recognizes the development of the capacity to collaborate within a group environment.",
                "name": "Teamwork"
            }
        }
    });
    assert_eq!(canonicalize(&document).unwrap(), data("ob3/test_vectors_canon/obv3p0/document-canon.txt"));
    // The proof vector was made under the VC 2.0 context, which defines DataIntegrityProof.
    let proof = serde_json::json!({
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"],
        "type": "DataIntegrityProof",
        "created": "2010-01-01T19:23:24Z",
        "verificationMethod": "https://example.edu/issuers/565049#z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi",
        "cryptosuite": "eddsa-rdfc-2022",
        "proofPurpose": "assertionMethod"
    });
    assert_eq!(canonicalize(&proof).unwrap(), data("ob3/test_vectors_canon/obv3p0/proof-canon.txt"));
    // Contexts are bundled, never fetched.
    let unknown = serde_json::json!({"@context": "https://example.org/ctx.jsonld", "name": "x"});
    assert_eq!(canonicalize(&unknown).unwrap_err().code(), "parse_error");
}

#[test]
fn did_web_documents_resolve_keys_for_verification() {
    let k = key(3);
    let did = "did:web:badges.example.edu:issuers:math";
    assert_eq!(did_web_url(did).unwrap(), "https://badges.example.edu/issuers/math/did.json");
    assert_eq!(did_web_url("did:web:example.com").unwrap(), "https://example.com/.well-known/did.json");
    let document = did_web_document(did, &k).unwrap();
    let mut c = credential(&k, 1);
    c["issuer"]["id"] = did.into();
    let method = format!("{did}#key-1");
    let signed =
        sign_data_integrity(&c, &k, Some(&method), parse_instant("2026-01-10T12:00:00Z", "t").unwrap()).unwrap();
    // Without the resolved document the key is unknown; with it, the credential verifies.
    let mut options = at("2026-06-01T00:00:00Z");
    assert_eq!(failed(&verify_credential_json(&signed, &options)), ["signature"]);
    options.keys = keys_from_document(&document).unwrap();
    assert!(verify_credential_json(&signed, &options).valid);
    // A document publishing another key does not verify it.
    options.keys = keys_from_document(&did_web_document(did, &key(4)).unwrap()).unwrap();
    assert_eq!(failed(&verify_credential_json(&signed, &options)), ["signature"]);
}

#[test]
fn did_keys_round_trip_and_private_keys_never_print() {
    let k = key(9);
    assert!(k.did().starts_with("did:key:z6Mk"));
    assert_eq!(public_key_from_did_key(&k.key_id()).unwrap(), k.public_key());
    assert_eq!(did_key_from_public(&public_key_from_did_key(&k.did()).unwrap()), k.did());
    // The validator's did:key sample decodes.
    let sample = "did:key:z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi";
    assert_eq!(did_key_from_public(&public_key_from_did_key(sample).unwrap()), sample);
    let debug = format!("{k:?}");
    assert!(debug.contains("<redacted>") && !debug.contains("9, 9, 9"));
}

#[test]
fn revocation_and_outbox() {
    let mut ledger = CredentialLedger::new();
    let a = [achievement("a1", "c1")];
    let facts = LearnerFacts { mastered: ["c1".to_owned()].into(), ..Default::default() };
    let now = parse_instant("2026-01-10T12:00:00Z", "t").unwrap();
    let amy = AwardScope::new("uni", "amy", None);
    assert_eq!(ledger.evaluate(&amy, &facts, &a, None, None, now).len(), 1);
    assert!(ledger.revoke(&amy.tenant, "amy", &a[0].id, 1, "issued in error").unwrap());
    assert!(!ledger.revoke(&amy.tenant, "amy", &a[0].id, 1, "again").unwrap());
    let pending = ledger.pending(10);
    assert_eq!(
        pending.iter().map(|n| n.kind).collect::<Vec<_>>(),
        [NotificationKind::Awarded, NotificationKind::Revoked]
    );
    ledger.acknowledge(&[pending[0].id, pending[0].id]);
    assert_eq!(ledger.pending(10).len(), 1);
    // Only achievements whose rules depend on a changed competency are evaluated.
    let many = [achievement("a1", "c1"), achievement("a2", "c2")];
    assert_eq!(CredentialLedger::affected(&many, None, &["c2".into()], false), BTreeSet::from([1]));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// Whatever the order, duplication or replay of state changes, each learner earns each
    /// achievement once, and each award is announced exactly once.
    #[test]
    fn exactly_once(events in prop::collection::vec((0u8..3, 0u8..4), 1..40), replays in 1usize..3) {
        let achievements: Vec<Achievement> = (0..4).map(|c| achievement(&format!("a{c}"), &format!("c{c}"))).collect();
        let mut ledger = CredentialLedger::new();
        let now = parse_instant("2026-01-10T12:00:00Z", "t").unwrap();
        let mut facts: Vec<LearnerFacts> = vec![LearnerFacts::default(); 3];
        let mut announced = Vec::new();
        for _ in 0..replays {
            for &(learner, competency) in &events {
                facts[learner as usize].mastered.insert(format!("c{competency}"));
                let only = CredentialLedger::affected(&achievements, None, &[format!("c{competency}")], false);
                let scope = AwardScope::new("uni", format!("l{learner}"), None);
                ledger.evaluate(&scope, &facts[learner as usize], &achievements, None, Some(&only), now);
                // The host delivers some notifications now and acknowledges them.
                let batch = ledger.pending(2);
                announced.extend(batch.iter().map(|n| (n.learner.clone(), n.achievement.clone())));
                ledger.acknowledge(&batch.iter().map(|n| n.id).collect::<Vec<_>>());
            }
        }
        let rest = ledger.pending(usize::MAX);
        announced.extend(rest.iter().map(|n| (n.learner.clone(), n.achievement.clone())));
        let distinct: BTreeSet<(u8, u8)> = events.iter().copied().collect();
        prop_assert_eq!(announced.len(), distinct.len());
        let unique: BTreeSet<_> = announced.iter().cloned().collect();
        prop_assert_eq!(unique.len(), announced.len());
        for l in 0..3 {
            let held = ledger.awards_of(&"uni".into(), &format!("l{l}")).len();
            prop_assert_eq!(held, distinct.iter().filter(|(x, _)| *x == l).count());
        }
    }
}

fn bytes(path: &str) -> Vec<u8> {
    std::fs::read(std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/data/openbadges").join(path))
        .unwrap()
}

#[test]
fn the_validators_baked_badges_unbake() {
    let (v, json) = unbake_png(&bytes("ob3/validator_tests/simple-json.png")).unwrap().unwrap();
    assert_eq!(v, BadgeVersion::Ob3);
    assert!(serde_json::from_str::<Value>(&json).unwrap()["type"].to_string().contains("OpenBadgeCredential"));
    let (_, jwt) = unbake_png(&bytes("ob3/validator_tests/simple-jwt.png")).unwrap().unwrap();
    assert_eq!(jwt.split('.').count(), 3);
    let (_, json) = unbake_svg(&data("ob3/validator_tests/simple-json.svg")).unwrap().unwrap();
    assert!(serde_json::from_str::<Value>(&json).is_ok());
    let (_, jwt) = unbake_svg(&data("ob3/validator_tests/simple-jwt.svg")).unwrap().unwrap();
    assert_eq!(jwt.split('.').count(), 3);
    let (v, _) = unbake_png(&bytes("ob2/validator_tests/simple-badge.png")).unwrap().unwrap();
    assert_eq!(v, BadgeVersion::Ob2);
}

#[test]
fn bake_then_unbake_round_trips_and_replaces() {
    let k = key(3);
    let jwt = sign_vc_jwt(&credential(&k, 1), &k).unwrap();
    let png = bytes("ob3/validator_tests/simple-json.png");
    let baked = bake_png(&png, &jwt, BadgeVersion::Ob3).unwrap();
    assert_eq!(unbake_png(&baked).unwrap().unwrap(), (BadgeVersion::Ob3, jwt.clone()));
    let svg = r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><circle r="4"/></svg>"#;
    let json = credential(&k, 1).to_string();
    let baked = bake_svg(svg, &json, BadgeVersion::Ob3).unwrap();
    assert!(roxmltree::Document::parse(&baked).is_ok(), "{baked}");
    assert_eq!(unbake_svg(&baked).unwrap().unwrap().1, json);
    let rebaked = bake_svg(&baked, &jwt, BadgeVersion::Ob3).unwrap();
    assert_eq!(unbake_svg(&rebaked).unwrap().unwrap().1, jwt);
    assert_eq!(rebaked.matches("<openbadges:credential>").count(), 1);
    // A broken PNG is a typed error, not a panic.
    let mut broken = png.clone();
    broken[40] ^= 0xff;
    assert_eq!(unbake_png(&broken).unwrap_err().field(), Some("png"));
    assert!(unbake_png(b"GIF89a").is_err());
}

/// The keys a host resolves for a document's https and did:web verification methods. The
/// validator's tests mock those issuer documents; each publishes the Multikey that the method's
/// fragment names, so the mock is rebuilt from the fragment.
fn resolved_keys(doc: &Value) -> std::collections::BTreeMap<String, String> {
    let proofs = match &doc["proof"] {
        Value::Array(list) => list.clone(),
        Value::Null => vec![],
        one => vec![one.clone()],
    };
    proofs
        .iter()
        .filter_map(|p| p["verificationMethod"].as_str())
        .filter(|m| m.starts_with("https://") || m.starts_with("did:web:"))
        .filter_map(|m| Some((m.to_owned(), m.split_once('#')?.1.to_owned())))
        .collect()
}

/// The 1EdTech validator's OB 3.0 inputs (VALIDATOR_EXPECTATIONS.md) and the checks each must
/// fail here. A valid input passes every check, its signature included.
#[test]
fn validator_vectors_fail_the_checks_the_validator_fails() {
    let status_list: Value = serde_json::from_str(&data("ob3/validator_tests/bit-string-list/testlist")).unwrap();
    let cases = [
        ("simple.json", vec![]),
        ("simple-context-alias.json", vec![]),
        ("simple-did-key-method.json", vec![]),
        ("simple-did-web-method.json", vec![]),
        // VC 1.1 with the draft suite name: its signature verifies, but OB 3.0 here means VC 2.0
        // (`validFrom`), where the validator only warns.
        ("simple-eddsa-2022.json", vec!["schema", "validity"]),
        // An unknown proof type beside a good one: not verified, and not bound to the issuer.
        ("simple-multiple-proofs.json", vec!["signature", "issuer"]),
        ("simple-err-proof-method.json", vec!["signature"]),
        ("simple-err-proof-method-no-scheme.json", vec!["signature", "issuer"]),
        ("simple-err-proof-method-unknown-scheme.json", vec!["signature", "issuer"]),
        ("simple-err-proof-method-unknown-did-method.json", vec!["signature", "issuer"]),
        ("simple-err-proof-value.json", vec!["signature"]),
        ("simple-err-type.json", vec!["schema"]),
        // No VC context, and VC 1.1 issuanceDate instead of validFrom.
        ("simple-err-context.json", vec!["schema", "validity", "issuer"]),
        ("simple-err-expired.json", vec!["validity"]),
        ("simple-err-issued.json", vec!["validity"]),
        ("simple-err-issuer.json", vec!["schema", "issuer"]),
        ("simple-err-issuer-type.json", vec!["schema"]),
        ("simple-err-evidence-type.json", vec!["schema"]),
        ("simple-err-credential-subject-type.json", vec!["schema"]),
        ("simple-err-credential-subject-identifier-type.json", vec!["schema"]),
        ("simple-err-credential-subject-result-type.json", vec!["schema"]),
        ("bit-string-list/credential-status-revoked.json", vec!["status"]),
        ("bit-string-list/credential-status-revoked-blank-nodes.json", vec!["status"]),
    ];
    for (file, expected) in cases {
        let doc: Value = serde_json::from_str(&data(&format!("ob3/validator_tests/{file}"))).unwrap();
        let mut options = at("2026-06-01T00:00:00Z");
        options.keys = resolved_keys(&doc);
        options.keys.extend(resolved_keys(&status_list));
        let list_url = doc["credentialStatus"]["statusListCredential"].as_str().unwrap_or_default();
        options.status_lists.insert(list_url.into(), status_list.clone());
        if file == "simple-did-key-method.json" {
            // A `urn:` issuer publishes no keys: any did:key could claim it, so the host vouches.
            assert!(!verify_credential_json(&doc, &options).valid);
            let method = doc["proof"][0]["verificationMethod"].as_str().unwrap().to_owned();
            options.issuer_keys.insert(doc["issuer"]["id"].as_str().unwrap().into(), [method].into());
        }
        let v = verify_credential_json(&doc, &options);
        let failed = failed(&v);
        // The broken variants were edited after signing, so their signatures fail as well.
        let unexpected: Vec<&String> = failed
            .iter()
            .filter(|c| !expected.contains(&c.as_str()) && (expected.is_empty() || *c != "signature"))
            .collect();
        assert!(
            unexpected.is_empty() && expected.iter().all(|e| failed.iter().any(|c| c == e)),
            "{file}: {:?}",
            v.checks
        );
        assert_eq!(v.valid, expected.is_empty());
    }
}

#[test]
fn certificates_render_as_svg_and_pdf() {
    let k = key(1);
    let c = credential(&k, 7);
    let cert = Certificate::from_credential(&c, "Ada Lovelace & Co", "https://badges.example.edu/verify/abc").unwrap();
    assert_eq!(cert.issued_on, "2026-01-10");
    assert_eq!(cert.valid_until.as_deref(), Some("2027-01-10"));
    let template = CertificateTemplate::default();
    let svg = certificate_svg(&cert, &template).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let texts: Vec<&str> = doc.descendants().filter(|n| n.has_tag_name("text")).filter_map(|n| n.text()).collect();
    assert!(texts.contains(&"Ada Lovelace & Co") && texts.contains(&"Ratios a1"), "{texts:?}");
    // The QR code is there: many dark modules.
    assert!(doc.descendants().filter(|n| n.has_tag_name("rect")).count() > 200);
    let pdf = certificate_pdf(&cert, &template).unwrap();
    assert!(pdf.starts_with(b"%PDF-") && pdf.windows(5).any(|w| w == b"%%EOF"));
    let needle = b"(Ada Lovelace & Co)";
    assert!(pdf.windows(needle.len()).any(|w| w == needle));
    // A restyled template changes colours; a bad colour is a typed error.
    let red = CertificateTemplate { accent: "#aa0000".into(), ..CertificateTemplate::default() };
    assert!(certificate_svg(&cert, &red).unwrap().contains("#aa0000"));
    assert_eq!(
        certificate_pdf(&cert, &CertificateTemplate { text: "red".into(), ..red }).unwrap_err().field(),
        Some("text")
    );
    assert_eq!(Certificate::from_credential(&serde_json::json!({}), "A", "u").unwrap_err().code(), "invalid_input");
}

#[test]
fn gallery_shows_earned_progress_expired_and_revoked() {
    let mut ledger = CredentialLedger::new();
    let mut two = achievement("a2", "c2");
    two.rule = AwardRule::All {
        rules: vec![
            AwardRule::Mastery { competency: "c2".into(), min_points: None },
            AwardRule::Streak { periods: 10 },
        ],
    };
    let achievements = vec![achievement("a1", "c1"), two, achievement("a3", "c3")];
    let t0 = parse_instant("2026-01-10T12:00:00Z", "t").unwrap();
    let mut facts = LearnerFacts::default();
    facts.mastered.insert("c1".into());
    facts.mastered.insert("c3".into());
    facts.streak = 5;
    ledger.evaluate(&AwardScope::new("uni", "l1", None), &facts, &achievements, None, None, t0);
    ledger.revoke(&"uni".into(), "l1", &achievements[2].id, 1, "academic misconduct").unwrap();
    let me = mastery_core::AccessContext::new(mastery_core::Principal::learner("uni", "l1"));
    let query = |now: &str| GalleryQuery { learner: "l1".into(), course: None, now: parse_instant(now, "t").unwrap() };
    let gallery = badge_gallery(&me, &ledger, &query("2026-06-01T00:00:00Z"), &facts, &achievements, None).unwrap();
    let status: Vec<BadgeStatus> = gallery.iter().map(|g| g.status).collect();
    assert_eq!(status, [BadgeStatus::Earned, BadgeStatus::InProgress, BadgeStatus::Revoked]);
    // Half of a 10-day streak and no mastery yet: a quarter of the way.
    assert!((gallery[1].progress - 0.25).abs() < 1e-12, "{}", gallery[1].progress);
    assert_eq!(gallery[2].revocation_reason.as_deref(), Some("academic misconduct"));
    let later = badge_gallery(&me, &ledger, &query("2027-02-01T00:00:00Z"), &facts, &achievements, None).unwrap();
    assert_eq!(later[0].status, BadgeStatus::Expired);
    // Another learner may not look.
    let other = mastery_core::AccessContext::new(mastery_core::Principal::learner("uni", "l2"));
    let err = badge_gallery(&other, &ledger, &query("2026-06-01T00:00:00Z"), &facts, &achievements, None).unwrap_err();
    assert_eq!(err.code(), "access_denied");
}

#[test]
fn valid_until_follows_decay_and_renews() {
    let decay = mastery_core::mastery::Decay::new(30.0).unwrap();
    let c = credential(&key(1), 7);
    let t0 = parse_instant("2026-01-10T12:00:00Z", "t").unwrap();
    // 0.96 halves to 0.48 in 30 days.
    let tied = expire_with_decay(&c, &decay, 0.96, t0, 0.48);
    assert_eq!(tied["validUntil"], "2026-02-09T12:00:00Z");
    // Re-verification a month later renews it; never beyond the achievement's own validUntil.
    let renewed = expire_with_decay(&c, &decay, 0.96, parse_instant("2026-03-01T00:00:00Z", "t").unwrap(), 0.48);
    assert_eq!(renewed["validUntil"], "2026-03-31T00:00:00Z");
    let late = expire_with_decay(&c, &decay, 0.96, parse_instant("2026-12-30T00:00:00Z", "t").unwrap(), 0.48);
    assert_eq!(late["validUntil"], c["validUntil"]);
}

#[test]
fn ob2_export_and_lossless_parsing() {
    let a = achievement("a1", "c1");
    let issuer =
        IssuerProfile { id: key(1).did(), name: "Example University".into(), url: Some("https://example.edu".into()) };
    let t0 = parse_instant("2026-01-10T12:00:00Z", "t").unwrap();
    let assertion = ob2_assertion("https://example.edu/assertions/1", &a, "ada@example.edu", "email", "s4lt", t0, &[]);
    assert!(!assertion.to_string().contains("ada@example.edu"));
    assert_eq!(assertion["expires"], "2027-01-10T12:00:00Z");
    let parsed = BadgeDocument::parse(&assertion.to_string()).unwrap();
    assert_eq!((parsed.version, parsed.kind.as_deref()), (BadgeVersion::Ob2, Some("Assertion")));
    assert_eq!(ob2_badge_class(&a, &issuer).unwrap()["alignment"][0]["targetUrl"], "https://case.example.org/uri/c1");
    assert_eq!(ob2_issuer(&issuer).unwrap()["id"], "https://example.edu");
    let no_url = IssuerProfile { url: None, ..issuer };
    assert_eq!(ob2_issuer(&no_url).unwrap_err().field(), Some("issuer.url"));

    // Every strict-JSON spec example parses and keeps every field; the seven that are not JSON
    // (raw newlines in strings, trailing commas) and a bare JWS header without context are refused.
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/data/openbadges");
    let (mut parsed, mut refused) = (0, 0);
    for sub in ["ob2/examples_spec", "ob3/examples_spec"] {
        for entry in std::fs::read_dir(dir.join(sub)).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            match BadgeDocument::parse(&text) {
                Ok(doc) => {
                    assert_eq!(doc.document, serde_json::from_str::<Value>(&text).unwrap());
                    parsed += 1;
                }
                Err(e) => {
                    let not_json = serde_json::from_str::<Value>(&text).is_err();
                    assert!(not_json || e.field() == Some("@context"), "{e}");
                    refused += 1;
                }
            }
        }
    }
    assert_eq!((parsed, refused), (25, 8));
    // The validator's expired and not-yet-issued OB 2.0 assertions.
    let expired = BadgeDocument::parse(&data("ob2/validator_tests/basic-assertion-expired.json")).unwrap();
    assert!(expired.expires().unwrap() < parse_instant("2026-06-01T00:00:00Z", "t").unwrap());
    let future = BadgeDocument::parse(&data("ob2/validator_tests/basic-assertion-in-future.json")).unwrap();
    assert!(future.issued().unwrap() > parse_instant("2026-06-01T00:00:00Z", "t").unwrap());
}

#[test]
fn awards_are_readable_only_by_their_owner_instructors_and_admins() {
    use mastery_core::{AccessContext, Principal};
    let mut ledger = CredentialLedger::new();
    let mut facts = LearnerFacts::default();
    facts.mastered.insert("c1".into());
    let t0 = parse_instant("2026-01-10T12:00:00Z", "t").unwrap();
    let (tenant, course): (mastery_core::TenantId, mastery_core::CourseId) = ("uni".into(), "math-101".into());
    ledger.evaluate(
        &AwardScope::new("uni", "ada", Some(course.clone())),
        &facts,
        &[achievement("a1", "c1")],
        None,
        None,
        t0,
    );
    // An award earned in another course, and one of a namesake in another tenant.
    ledger.evaluate(
        &AwardScope::new("uni", "ada", Some("art-1".into())),
        &facts,
        &[achievement("a2", "c1")],
        None,
        None,
        t0,
    );
    ledger.evaluate(&AwardScope::new("other-uni", "ada", None), &facts, &[achievement("a3", "c1")], None, None, t0);
    let read = |p: Principal| {
        ledger.awards_for(&AccessContext::new(p), &tenant, &"ada".into(), Some(&course)).map(|a| a.len())
    };
    // The learner and the admin see both of ada's awards in this tenant, never the namesake's.
    assert_eq!(read(Principal::learner("uni", "ada")).unwrap(), 2);
    assert_eq!(read(Principal::admin("uni", "root")).unwrap(), 2);
    // The maths instructor sees only the award earned in maths.
    assert_eq!(read(Principal::instructor("uni", "tutor", vec!["math-101".into()])).unwrap(), 1);
    assert_eq!(read(Principal::learner("uni", "bob")).unwrap_err().code(), "access_denied");
    assert_eq!(read(Principal::instructor("uni", "other", vec!["art-1".into()])).unwrap_err().code(), "access_denied");
    assert_eq!(read(Principal::admin("other-uni", "root")).unwrap_err().code(), "access_denied");
}
