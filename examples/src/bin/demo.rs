//! The main job, end to end on real public data shipped in `fixtures/data`:
//! load the Common Core maths framework (CASE), ingest real OULAD assessment results, the xAPI
//! specification's statements and the Caliper 1.2 example events, store them under the access
//! policy, and read them back as an instructor and as a learner; then estimate mastery (a class's
//! mastery per competency, each learner's next competency) and fit BKT on real ASSISTments logs.
//!
//! `cargo run -p mastery-examples --bin demo`

use std::collections::BTreeMap;
use std::error::Error;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use mastery_core::mastery::{class_summary, frontier, BktModel, BktOptions, Response, Standing};
use mastery_core::{
    parse_caliper, parse_oulad_assessments, parse_xapi, AccessContext, Engine, EvidenceMapping, Framework,
    IngestReport, MemoryStore, Principal, Store,
};

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/data")
}

fn read(path: &str) -> Result<String, Box<dyn Error>> {
    Ok(fs::read_to_string(data().join(path))?)
}

fn summarize(label: &str, report: &IngestReport) {
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    for e in &report.accepted {
        *kinds.entry(format!("{:?}", e.kind).to_lowercase()).or_default() += 1;
    }
    println!("  {label}: {} accepted {kinds:?}, {} rejected", report.accepted.len(), report.rejected.len());
    for r in report.rejected.iter().take(3) {
        println!("    rejected #{}: [{}] {}", r.index, r.code, r.reason);
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    // 1. The framework.
    let framework = Framework::from_case_json(&read("case/opensalt_ccss_math_cfs_sample_2016draft.json")?)?;
    let s = framework.summary();
    println!("Framework: {} — {} competencies, {} associations, depth {}", s.title, s.items, s.associations, s.depth);
    let domains = framework.children(framework.identifier())?;
    println!(
        "  top level: {} entries, e.g. {:?}",
        domains.len(),
        domains.iter().take(3).map(|c| &c.full_statement).collect::<Vec<_>>()
    );
    let cluster = framework.find_by_code("CCSS.Math.Content.1.G.A").ok_or("cluster missing")?;
    println!(
        "  CCSS.Math.Content.1.G.A \"{}\" has {} standards",
        cluster.full_statement,
        framework.children(&cluster.identifier)?.len()
    );

    // 2. Evidence. OULAD assessments of module AAA are mapped to that cluster, as a host would map
    //    its own assessments to its framework.
    let mut assessments = String::new();
    flate2::read::GzDecoder::new(fs::File::open(data().join("oulad/studentAssessment.csv.gz"))?)
        .read_to_string(&mut assessments)?;
    let assessment_table = read("oulad/assessments.csv")?;
    let mut mapping = EvidenceMapping::default();
    for line in assessment_table.lines().skip(1).filter(|l| l.starts_with("\"AAA\"")) {
        let id = line.split(',').nth(2).unwrap_or_default().trim_matches('"');
        mapping.competencies.insert(format!("oulad:assessment:{id}"), vec![cluster.identifier.as_str().into()]);
    }
    println!("Evidence:");
    let (_, oulad) = parse_oulad_assessments(&assessment_table, &assessments, &mapping)?;
    summarize("OULAD studentAssessment", &oulad);

    let mut xapi = IngestReport::default();
    for entry in fs::read_dir(data().join("xapi/spec_examples"))? {
        let path = entry?.path();
        if path.to_string_lossy().ends_with("_statement.json") {
            let report = parse_xapi(&fs::read_to_string(&path)?, &EvidenceMapping::default())?;
            xapi.accepted.extend(report.accepted);
            xapi.rejected.extend(report.rejected);
        }
    }
    summarize("xAPI 1.0.3 specification statements", &xapi);

    let mut caliper = IngestReport::default();
    for entry in fs::read_dir(data().join("caliper/v1p2"))? {
        let path = entry?.path();
        let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
        if name.starts_with("caliperEvent") || name.starts_with("caliperEnvelope") {
            let report = parse_caliper(&fs::read_to_string(&path)?, &EvidenceMapping::default())?;
            caliper.accepted.extend(report.accepted);
            caliper.rejected.extend(report.rejected);
        }
    }
    summarize("Caliper 1.2 example events", &caliper);

    // 3. Store everything once, under the access policy; a second ingest changes nothing.
    let engine = Engine::new(MemoryStore::new());
    let importer = AccessContext::new(Principal::service("open-university", "importer"));
    let first = engine.ingest(&importer, &oulad.accepted);
    let again = engine.ingest(&importer, &oulad.accepted);
    println!("Store: {} new, then {} duplicates on re-ingest", first.new, again.duplicates);

    let course = "AAA-2013J".into();
    let teacher = AccessContext::new(Principal::instructor("open-university", "tutor-1", vec!["AAA-2013J".into()]));
    let course_evidence = engine.store().course_evidence(&teacher, &course)?;
    let learners: std::collections::BTreeSet<_> = course_evidence.iter().map(|e| e.learner.clone()).collect();
    let mean = course_evidence.iter().filter_map(|e| e.normalized_score()).sum::<f64>()
        / course_evidence.iter().filter(|e| e.normalized_score().is_some()).count().max(1) as f64;
    println!(
        "Instructor of AAA-2013J sees {} results of {} learners, mean score {:.1}%",
        course_evidence.len(),
        learners.len(),
        mean * 100.0
    );
    let other = engine.store().course_evidence(&teacher, &"BBB-2013J".into());
    println!("  ... and another course: {}", other.err().map_or("allowed?!".into(), |e| e.to_string()));
    let learner = learners.iter().next().ok_or("no learners")?;
    let own = AccessContext::new(Principal::learner("open-university", learner.clone()));
    println!("A learner sees their own {} results", engine.store().learner_evidence(&own, learner)?.len());

    mastery_demo(&assessment_table, &assessments)?;
    bkt_demo()?;
    risk_demo()
}

/// OULAD's AAA-2013J assessments mapped onto ratio standards of a small CASE framework with
/// prerequisites: mastery per competency for the class, and each learner's next competency.
fn mastery_demo(assessment_table: &str, results: &str) -> Result<(), Box<dyn Error>> {
    let framework = Framework::from_case_json(&read("case/opensalt_what_standards_could_be_20c5134f.json")?)?;
    let code = |c: &str| framework.find_by_code(c).map(|i| i.identifier.clone()).ok_or("code missing");
    let plan = [
        ("1752", "CCSS.Math.Content.6.RP.A.1"),
        ("1753", "CCSS.Math.Content.6.RP.A.2"),
        ("1754", "CCSS.Math.Content.6.RP.A.3a"),
        ("1755", "CCSS.Math.Content.6.RP.A.3b"),
        ("1756", "CCSS.Math.Content.7.RP.A.1"),
        ("1757", "CCSS.Math.Content.7.RP.A.2a"),
    ];
    let mut mapping = EvidenceMapping::default();
    for (assessment, standard) in plan {
        mapping.competencies.insert(format!("oulad:assessment:{assessment}"), vec![code(standard)?.into()]);
    }
    let (_, report) = parse_oulad_assessments(assessment_table, results, &mapping)?;
    let class: Vec<_> = report.accepted.into_iter().filter(|e| !e.competencies.is_empty()).collect();
    let engine = Engine::new(MemoryStore::new()); // decaying average 65 %, Canvas's 0-4 scale
    let importer = AccessContext::new(Principal::service("open-university", "importer"));
    let outcome = engine.ingest(&importer, &class);
    println!(
        "\nMastery (AAA-2013J assessments mapped onto CCSS ratio standards): {} results, {} mastery changes",
        outcome.new, outcome.changes
    );

    let course: mastery_core::CourseId = "AAA-2013J".into();
    let scale = &engine.config().scale;
    // Every learner's states in the course, and from them scores and standings.
    let class_states = engine.class_states(&importer, &course)?;
    let scores: BTreeMap<String, BTreeMap<String, f64>> = class_states
        .iter()
        .map(|(l, states)| {
            (l.clone(), states.iter().filter_map(|s| Some((s.competency.to_string(), s.score?))).collect())
        })
        .collect();
    let standings: BTreeMap<String, BTreeMap<String, Standing>> =
        class_states.iter().map(|(l, states)| (l.clone(), engine.standings(states))).collect();
    println!("  {:<28} {:>8} {:>6} {:>7} {:>9}", "competency", "learners", "mean", "median", "mastered");
    for summary in class_summary(&scores, scale, None) {
        let label = framework.item(&summary.competency).and_then(|c| c.human_coding_scheme.clone()).unwrap_or_default();
        println!(
            "  {:<28} {:>8} {:>6.2} {:>7.2} {:>8.0}%",
            label,
            summary.learners,
            summary.mean,
            summary.median,
            summary.mastered_share * 100.0
        );
    }
    write_dashboards(&engine, &framework, &course, &class)?;
    credentials_demo(&framework, &plan.map(|(_, standard)| standard), &standings)?;
    for (learner, standing) in standings.iter().take(5) {
        let next = frontier(&framework, standing);
        match next.first() {
            Some(r) => println!(
                "  learner {learner}: next {} ({})",
                r.human_coding_scheme.as_deref().unwrap_or(&r.competency),
                r.reason
            ),
            None => println!("  learner {learner}: every assessable competency mastered"),
        }
    }
    Ok(())
}

/// Micro-credentials from the class's mastery: a badge per ratio standard and one for all of
/// them, awarded exactly once through the rule index and the ledger; the first award signed in
/// both proof formats, verified, baked into a PNG and rendered as a PDF certificate.
fn credentials_demo(
    framework: &Framework,
    standards: &[&str],
    standings: &BTreeMap<String, BTreeMap<String, Standing>>,
) -> Result<(), Box<dyn Error>> {
    use mastery_core::credential::*;
    let item = |code: &str| framework.find_by_code(code).ok_or("code missing");
    let mut achievements = Vec::new();
    for code in standards {
        let c = item(code)?;
        achievements.push(Achievement {
            id: format!("https://badges.example.edu/achievements/{code}"),
            version: 1,
            name: format!("{code} mastered"),
            description: c.full_statement.clone(),
            criteria: format!("Mastery of {code} on the course's proficiency scale."),
            image: None,
            achievement_type: AchievementType::Competency,
            alignments: vec![(c.uri.clone().unwrap_or_else(|| c.identifier.to_string()), (*code).to_owned())],
            valid_days: Some(730),
            rule: AwardRule::Mastery { competency: c.identifier.to_string(), min_points: None },
        });
    }
    let all = standards
        .iter()
        .map(|code| Ok(AwardRule::Mastery { competency: item(code)?.identifier.to_string(), min_points: None }));
    achievements.push(Achievement {
        id: "https://badges.example.edu/achievements/ratios".into(),
        version: 1,
        name: "Ratios and Proportional Relationships".into(),
        description: "Every ratio standard of grades 6 and 7 mastered.".into(),
        criteria: "Mastery of all six ratio standards.".into(),
        image: None,
        achievement_type: AchievementType::MicroCredential,
        alignments: vec![],
        valid_days: None,
        rule: AwardRule::All { rules: all.collect::<Result<_, Box<dyn Error>>>()? },
    });
    let index = RuleIndex::new(&achievements, Some(framework));
    let mut ledger = CredentialLedger::new();
    let now = mastery_core::time::parse_instant("2013-12-20T12:00:00Z", "now")?;
    for (learner, standing) in standings {
        let facts = LearnerFacts {
            mastered: standing.iter().filter(|(_, s)| s.mastered).map(|(c, _)| c.clone()).collect(),
            ..LearnerFacts::default()
        };
        let changed: Vec<String> = standing.keys().cloned().collect();
        let scope = AwardScope::new("open-university", learner.as_str(), Some("AAA-2013J".into()));
        ledger.evaluate(&scope, &facts, &achievements, Some(framework), Some(&index.affected(&changed, false)), now);
    }
    let outbox = ledger.pending(usize::MAX);
    println!(
        "
Credentials: {} awards announced in the outbox",
        outbox.len()
    );
    for a in &achievements {
        let n = outbox.iter().filter(|n| n.achievement == a.id).count();
        println!("  {:<45} {n:>4} learners", a.name);
    }
    let Some(first) = outbox.iter().find(|n| n.achievement.ends_with("ratios")).or(outbox.first()) else {
        return Ok(());
    };
    let achievement = achievements.iter().find(|a| a.id == first.achievement).ok_or("achievement")?;
    // A demo key: a host keeps its seed in a secret store.
    let key = IssuerKey::from_seed(&[42; 32])?;
    let issuer = IssuerProfile {
        id: key.did(),
        name: "Example Open University".into(),
        url: Some("https://example.edu".into()),
    };
    let status = StatusEntry { status_list_credential: "https://example.edu/status/1".into(), index: 0 };
    let award = ledger.award(&first.tenant, &first.learner, &first.achievement, first.version).ok_or("award")?;
    let credential = achievement_credential(
        &award.credential_id,
        achievement,
        &issuer,
        &first.learner,
        "demo-salt",
        award.awarded_at,
        &[],
        Some(&status),
    );
    let embedded = sign_data_integrity(&credential, &key, None, now)?;
    let jwt = sign_vc_jwt(&credential, &key)?;
    let options = VerifyOptions { expected_issuer: Some(key.did()), ..VerifyOptions::at(now) };
    let checks = |v: Verification| {
        v.checks
            .iter()
            .map(|c| format!("{} {}", c.name, if c.passed { "ok" } else { "FAILED" }))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!("  {} for one learner:", achievement.name);
    println!("    Data Integrity (eddsa-rdfc-2022): {}", checks(verify_credential_json(&embedded, &options)));
    println!("    VC-JWT (EdDSA): {}", checks(verify_vc_jwt(&jwt, &options)?));
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("out");
    fs::create_dir_all(&out)?;
    fs::write(out.join("credential.json"), serde_json::to_string_pretty(&embedded)?)?;
    fs::write(out.join("credential.jwt"), &jwt)?;
    let png = fs::read(data().join("openbadges/ob3/validator_tests/simple-json.png"))?;
    fs::write(out.join("badge.png"), bake_png(&png, &embedded.to_string(), BadgeVersion::Ob3)?)?;
    let certificate = Certificate::from_credential(&embedded, "A. Learner", "https://example.edu/verify/ratios")?;
    fs::write(out.join("certificate.pdf"), certificate_pdf(&certificate, &CertificateTemplate::default())?)?;
    fs::write(out.join("certificate.svg"), certificate_svg(&certificate, &CertificateTemplate::default())?)?;
    println!("  wrote examples/out/credential.json, credential.jwt, badge.png (baked), certificate.pdf and .svg");
    Ok(())
}

/// A learner dashboard and an instructor dashboard as HTML pages of accessible SVG, from the
/// engine's states (read under the access policy) and OULAD's click log for the streak.
fn write_dashboards(
    engine: &Engine<MemoryStore>,
    framework: &Framework,
    course: &mastery_core::CourseId,
    class: &[mastery_core::Evidence],
) -> Result<(), Box<dyn Error>> {
    use mastery_core::dashboard::*;
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("out");
    fs::create_dir_all(&out)?;
    let labels: BTreeMap<String, String> = framework
        .items()
        .iter()
        .map(|c| (c.identifier.clone(), c.human_coding_scheme.clone().unwrap_or_default()))
        .collect();

    // The learner: their own view, under their own principal.
    let learner = class.first().ok_or("no evidence")?.learner.clone();
    let me = AccessContext::new(Principal::learner("open-university", learner.clone()));
    let states = engine.learner_states(&me, &learner, Some(course))?;
    let rings = ring_chart(framework, &engine.standings(&states), None, RingMetric::MeanValue, &engine.config().scale)?;
    let histories = engine.learner_histories(&me, &learner, Some(course))?;
    let progress = progress_over_time(&histories, &labels, TimeWindow::default(), engine.config());
    let vle = mastery_core::parse_oulad_vle(&read("oulad/studentVle_sample_AAA2013J_first5000.csv")?)?;
    let clicker = vle.accepted.first().ok_or("no clicks")?.learner.clone();
    let activities: Vec<mastery_core::streak::Activity> = vle
        .accepted
        .iter()
        .filter(|e| e.learner == clicker)
        .filter_map(|e| {
            Some(mastery_core::streak::Activity {
                at: e.occurred_at?,
                zone: "Europe/London".into(),
                minutes: 0.0,
                points: e.score.as_ref()?.raw?,
            })
        })
        .collect();
    let now = activities.iter().map(|a| a.at).max().ok_or("no activity")?;
    let policy = mastery_core::streak::StreakPolicy { initial_freezes: 1, ..Default::default() };
    let streak = mastery_core::streak::evaluate_streak(&activities, &policy, now, "Europe/London")?;
    let tracker = streak_tracker(&streak, now.date_naive(), 2)?;
    let learner_page = [
        ("Competency areas", render_ring_chart(&rings)),
        ("Progress over time", render_progress(&progress)),
        ("Learning streak (OULAD clicks, AAA-2013J)", render_streak_tracker(&tracker)),
        ("Activity calendar", render_heatmap(&activity_calendar(&streak, None))),
    ];
    fs::write(out.join("learner_dashboard.html"), page("Learner dashboard", &learner_page))?;

    // The instructor: the class, under an instructor principal of the course.
    let tutor = AccessContext::new(Principal::instructor("open-university", "tutor-1", vec![course.clone()]));
    let class_states = engine.class_states(&tutor, course)?;
    let values: BTreeMap<String, BTreeMap<String, f64>> = class_states
        .iter()
        .take(40)
        .map(|(l, s)| (l.clone(), engine.standings(s).into_iter().map(|(c, v)| (c, v.value)).collect()))
        .collect();
    let competencies: Vec<Label> = framework
        .items()
        .iter()
        .filter(|c| framework.is_leaf(&c.identifier))
        .map(|c| Label { id: c.identifier.clone(), label: labels[&c.identifier].clone() })
        .collect();
    let instructor_page = [(
        "Class mastery (first 40 learners)",
        render_heatmap(&class_heatmap(&values, &competencies, &engine.config().scale)),
    )];
    fs::write(out.join("instructor_dashboard.html"), page("Instructor dashboard", &instructor_page))?;
    println!(
        "  wrote {} and {} (streak of the first OULAD clicker: current {}, longest {})",
        out.join("learner_dashboard.html").display(),
        out.join("instructor_dashboard.html").display(),
        streak.current,
        streak.longest
    );
    Ok(())
}

fn page(title: &str, sections: &[(&str, String)]) -> String {
    let body: String = sections.iter().map(|(h, svg)| format!("<section><h2>{h}</h2>{svg}</section>\n")).collect();
    format!("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title><style>body{{font-family:sans-serif;max-width:60rem;margin:auto}}svg{{max-width:100%;height:auto}}</style></head><body><h1>{title}</h1>\n{body}</body></html>\n")
}

/// BKT with forgetting on the real ASSISTments 2009 skill-builder logs (DKT split).
fn bkt_demo() -> Result<(), Box<dyn Error>> {
    let load = |name: &str| -> Result<Vec<Response>, Box<dyn Error>> {
        let text = read(&format!("bkt/assistments2009_dkt/{name}"))?;
        let lines: Vec<&str> = text.lines().collect();
        let mut rows = Vec::new();
        for (student, chunk) in lines.chunks(3).enumerate() {
            let (Some(skills), Some(correct)) = (chunk.get(1), chunk.get(2)) else { continue };
            let cells =
                |l: &str| l.split(',').map(str::trim).filter(|x| !x.is_empty()).map(String::from).collect::<Vec<_>>();
            for (i, (skill, c)) in cells(skills).into_iter().zip(cells(correct)).enumerate() {
                rows.push(Response {
                    learner: format!("{name}:{student}"),
                    skill,
                    correct: c == "1",
                    order: Some(i as i64),
                    template: None,
                    prior_group: None,
                });
            }
        }
        Ok(rows)
    };
    let (train, test) = (load("builder_train.csv")?, load("builder_test.csv")?);
    let model = BktModel::fit(&train, &BktOptions { forgets: true, ..BktOptions::default() })?;
    let known: Vec<Response> = test.into_iter().filter(|r| model.skills.contains_key(&r.skill)).collect();
    let evaluation = model.evaluate(&known)?;
    println!(
        "\nBKT with forgetting, one model per skill, ASSISTments 2009: {} skills fitted on {} responses; test AUC {:.3}, RMSE {:.3} on {} responses",
        model.skills.len(), train.len(), evaluation.auc, evaluation.rmse, known.len()
    );
    Ok(())
}

/// At-risk prediction on OULAD: train the booster on the 2013 presentations at day 60, test on
/// 2014, and print an instructor's at-risk list for one 2014 module with reasons in words.
fn risk_demo() -> Result<(), Box<dyn Error>> {
    use mastery_core::risk::*;
    let gunzip = |path: &str| -> Result<String, Box<dyn Error>> {
        let mut text = String::new();
        flate2::read::GzDecoder::new(fs::File::open(data().join(path))?).read_to_string(&mut text)?;
        Ok(text)
    };
    let (info, registration, results) = (
        gunzip("oulad/studentInfo.csv.gz")?,
        gunzip("oulad/studentRegistration.csv.gz")?,
        gunzip("oulad/studentAssessment.csv.gz")?,
    );
    let assessments = read("oulad/assessments.csv")?;
    let tables = OuladTables {
        student_info: &info,
        student_registration: &registration,
        assessments: &assessments,
        student_assessment: &results,
    };
    let cutoff = 60.0;
    // Protected attributes (gender, region, prior education, deprivation, age, disability) stay
    // out of training by default; the second model opts in, for comparison only.
    let train = oulad_risk_table(tables, cutoff, |_, p| p.starts_with("2013"))?;
    let test = oulad_risk_table(tables, cutoff, |_, p| p.starts_with("2014"))?;
    let with = OuladOptions { include_protected: true };
    let train_all = oulad_risk_table_with(tables, cutoff, |_, p| p.starts_with("2013"), with)?;
    let test_all = oulad_risk_table_with(tables, cutoff, |_, p| p.starts_with("2014"), with)?;
    let fit = |table: &RiskTable, version: &str| {
        let params = GbdtParams {
            n_estimators: 300,
            learning_rate: 0.05,
            min_data_in_leaf: 40,
            monotone_constraints: table.features.iter().map(|f| f.monotone).collect(),
            ..GbdtParams::default()
        };
        RiskModelFile::train_gbdt(version, table.features.clone(), table.x.view(), &table.y, &params, None)
            .map(|m| m.with_left_out(&table.left_out))
    };
    let model = fit(&train, "oulad-day60-2013")?;
    let model_all = fit(&train_all, "oulad-day60-2013-protected")?;
    let p = model.predict_proba(test.x.view())?;
    let p_all = model_all.predict_proba(test_all.x.view())?;
    let e = evaluate(&p, &test.y)?;
    let e_all = evaluate(&p_all, &test_all.y)?;
    println!(
        "\nAt-risk prediction (OULAD, day {cutoff}, no click data): trained on {} learners of 2013, tested on {} of 2014: AUC {:.3}, PR AUC {:.3}, Brier {:.3} without the protected attributes; AUC {:.3}, PR AUC {:.3}, Brier {:.3} with them",
        train.y.len(),
        test.y.len(),
        e.auc,
        e.pr_auc,
        e.brier,
        e_all.auc,
        e_all.pr_auc,
        e_all.brier
    );
    // The fairness audit of both models on the 2014 learners, at the alert threshold (the
    // lowest band's entry score).
    let threshold = RiskBands::default().bands.last().map_or(0.4, |b| b.enter);
    println!(
        "  Fairness audit at the alert threshold {threshold} (without | with the protected attributes): AUC, selection rate, false-positive rate, false-negative rate, mean score / base rate"
    );
    let show = |v: Option<f64>| v.map_or_else(|| "  -  ".to_owned(), |v| format!("{v:.3}"));
    for (attribute, groups) in &test.groups {
        let a = fairness_report(&p, &test.y, groups, threshold)?;
        let b = fairness_report(&p_all, &test_all.y, &test_all.groups[attribute], threshold)?;
        println!("  {attribute}:");
        for (x, y) in a.groups.iter().zip(&b.groups) {
            println!(
                "    {:<28} {:>5}  {} {:.3} {} {} {:.3}/{:.3} | {} {:.3} {} {} {:.3}/{:.3}",
                x.group,
                x.count,
                show(x.auc),
                x.selection_rate,
                show(x.false_positive_rate),
                show(x.false_negative_rate),
                x.mean_score,
                x.base_rate,
                show(y.auc),
                y.selection_rate,
                show(y.false_positive_rate),
                show(y.false_negative_rate),
                y.mean_score,
                y.base_rate
            );
        }
        let (g, h) = (&a.gaps, &b.gaps);
        println!(
            "    {:<28} {:>5}  {} {:.3} {} {} {:.3} (calibration) | {} {:.3} {} {} {:.3}",
            "gap (max - min)",
            "",
            show(g.auc),
            g.selection_rate,
            show(g.false_positive_rate),
            show(g.false_negative_rate),
            g.calibration,
            show(h.auc),
            h.selection_rate,
            show(h.false_positive_rate),
            show(h.false_negative_rate),
            h.calibration
        );
    }
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("out");
    fs::create_dir_all(&out)?;
    fs::write(out.join("risk_model.json"), model.to_json())?;
    // The instructor of one 2014 module presentation sees the learners in a band, highest first.
    let course = "FFF/2014J";
    let learners: Vec<(String, Vec<f64>)> = (0..test.y.len())
        .filter(|&i| test.presentations[i] == course)
        .map(|i| (test.ids[i].rsplit('/').next().unwrap_or_default().to_owned(), test.x.row(i).to_vec()))
        .collect();
    let mut log: Vec<PredictionRecord> = Vec::new();
    let alerts = risk_alerts(
        &model,
        &model.model_version,
        &learners,
        &RiskBands::default(),
        &BTreeMap::new(),
        3,
        "2014-12-01",
        Some(&mut log),
    )?;
    let high = alerts.iter().filter(|a| a.band == "high").count();
    println!(
        "  {course}: {} learners scored and logged; {} alerts ({high} high, {} medium). Top five:",
        log.len(),
        alerts.len(),
        alerts.len() - high
    );
    for a in alerts.iter().take(5) {
        let reasons: Vec<&str> = a.reasons.iter().map(|r| r.text.as_str()).collect();
        println!("    learner {:>8}  {:<6} {:.2}  {}", a.learner, a.band, a.score, reasons.join("; "));
    }
    println!("  wrote examples/out/risk_model.json (loads in Python, the browser and on phones)");
    Ok(())
}
