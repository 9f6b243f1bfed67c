//! Credentials: signing and verifying 10,000 VC-JWTs and 1,000 Data Integrity proofs; rule
//! evaluation for 100,000 ingest events; a PDF certificate.
//! `cargo bench -p mastery-benches --bench credential`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use mastery_core::credential::*;
use mastery_core::time::parse_instant;

fn achievement(i: usize) -> Achievement {
    Achievement {
        id: format!("https://badges.example.edu/a/{i}"),
        version: 1,
        name: format!("Badge {i}"),
        description: "d".into(),
        criteria: "c".into(),
        image: None,
        achievement_type: AchievementType::Badge,
        alignments: vec![],
        valid_days: Some(365),
        rule: AwardRule::All {
            rules: vec![
                AwardRule::Mastery { competency: format!("c{}", i % 200), min_points: None },
                AwardRule::EvidenceCount { min: 3, competency: Some(format!("c{}", i % 200)) },
            ],
        },
    }
}

fn credentials(c: &mut Criterion) {
    let key = IssuerKey::from_seed(&[7; 32]).expect("key");
    let issuer = IssuerProfile { id: key.did(), name: "Example".into(), url: None };
    let now = parse_instant("2026-01-10T12:00:00Z", "t").expect("time");
    let docs: Vec<_> = (0..10_000)
        .map(|i| {
            let status = StatusEntry { status_list_credential: "https://example.edu/status/1".into(), index: i as u64 };
            achievement_credential(
                &format!("urn:uuid:{i:08x}-0000-4000-8000-000000000000"),
                &achievement(i),
                &issuer,
                &format!("learner{i}"),
                "salt",
                now,
                &[],
                Some(&status),
            )
        })
        .collect();
    let mut group = c.benchmark_group("credential");
    group.sample_size(10);
    group.bench_function("sign_10k_vc_jwt", |b| {
        b.iter(|| docs.iter().map(|d| sign_vc_jwt(black_box(d), &key).expect("sign").len()).sum::<usize>())
    });
    let jwts: Vec<String> = docs.iter().map(|d| sign_vc_jwt(d, &key).expect("sign")).collect();
    let options = VerifyOptions {
        expected_issuer: Some(key.did()),
        ..VerifyOptions::at(parse_instant("2026-06-01T00:00:00Z", "t").expect("t"))
    };
    group.bench_function("verify_10k_vc_jwt", |b| {
        b.iter(|| jwts.iter().filter(|j| verify_vc_jwt(black_box(j), &options).expect("verify").valid).count())
    });
    // Data Integrity: JSON-LD expansion and RDFC-1.0 of the credential and the proof options
    // dominate; 1,000 credentials (scale by 10 for the 10,000 figure).
    group.bench_function("sign_1k_eddsa_rdfc_2022", |b| {
        b.iter(|| {
            docs[..1_000]
                .iter()
                .map(|d| sign_data_integrity(black_box(d), &key, None, now).expect("sign").to_string().len())
                .sum::<usize>()
        })
    });
    let signed: Vec<_> = docs[..1_000].iter().map(|d| sign_data_integrity(d, &key, None, now).expect("sign")).collect();
    group.bench_function("verify_1k_eddsa_rdfc_2022", |b| {
        b.iter(|| signed.iter().filter(|d| verify_credential_json(black_box(d), &options).valid).count())
    });
    let cert = Certificate::from_credential(&docs[0], "Ada Lovelace", "https://example.edu/verify/1").expect("cert");
    group.bench_function("certificate_pdf", |b| {
        b.iter(|| certificate_pdf(black_box(&cert), &CertificateTemplate::default()).expect("pdf").len())
    });

    // 1,000 achievements over 200 competencies; 100,000 events for 1,000 learners, each event
    // changing one competency: only the achievements that depend on it are evaluated.
    let achievements: Vec<Achievement> = (0..1_000).map(achievement).collect();
    let index = RuleIndex::new(&achievements, None);
    group.bench_function("rules_100k_events_1000_achievements", |b| {
        b.iter(|| {
            let mut ledger = CredentialLedger::new();
            let mut facts: Vec<LearnerFacts> = vec![LearnerFacts::default(); 1_000];
            let mut awarded = 0;
            for e in 0..100_000usize {
                let (learner, competency) = (e % 1_000, format!("c{}", (e / 7) % 200));
                let f = &mut facts[learner];
                *f.evidence.entry(competency.clone()).or_default() += 1;
                if f.evidence[&competency] >= 2 {
                    f.mastered.insert(competency.clone());
                }
                let only = index.affected(std::slice::from_ref(&competency), false);
                let scope = AwardScope::new("uni", format!("l{learner}"), None);
                awarded += ledger.evaluate(&scope, f, &achievements, None, Some(&only), now).len();
            }
            black_box(awarded)
        })
    });
    group.finish();
}

criterion_group!(benches, credentials);
criterion_main!(benches);
