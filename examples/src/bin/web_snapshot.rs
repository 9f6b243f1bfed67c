//! The offline snapshot of the web example (`examples/web`): the demo's real data (OULAD's
//! AAA-2013J results mapped onto CCSS ratio standards, OULAD clicks for the streak) turned into
//! the view models the three pages show, a learner's awards and a signed credential.
//!
//! `cargo run -p mastery-examples --bin web_snapshot` (writes examples/web/src/snapshot.json)

use std::collections::BTreeMap;
use std::error::Error;
use std::fs;
use std::path::{Path, PathBuf};

use mastery_core::credential::*;
use mastery_core::dashboard::*;
use mastery_core::mastery::{class_summary, frontier, Standing};
use mastery_core::{
    parse_oulad_assessments, AccessContext, Engine, EvidenceMapping, Framework, MemoryStore, Principal,
};
use serde_json::{json, Value};

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/data")
}

fn read(path: &str) -> Result<String, Box<dyn Error>> {
    Ok(fs::read_to_string(data().join(path))?)
}

const PLAN: [(&str, &str); 6] = [
    ("1752", "CCSS.Math.Content.6.RP.A.1"),
    ("1753", "CCSS.Math.Content.6.RP.A.2"),
    ("1754", "CCSS.Math.Content.6.RP.A.3a"),
    ("1755", "CCSS.Math.Content.6.RP.A.3b"),
    ("1756", "CCSS.Math.Content.7.RP.A.1"),
    ("1757", "CCSS.Math.Content.7.RP.A.2a"),
];

fn main() -> Result<(), Box<dyn Error>> {
    let framework = Framework::from_case_json(&read("case/opensalt_what_standards_could_be_20c5134f.json")?)?;
    let code = |c: &str| framework.find_by_code(c).map(|i| i.identifier.clone()).ok_or("code missing");
    let mut mapping = EvidenceMapping::default();
    for (assessment, standard) in PLAN {
        mapping.competencies.insert(format!("oulad:assessment:{assessment}"), vec![code(standard)?.into()]);
    }
    let mut results = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::GzDecoder::new(fs::File::open(data().join("oulad/studentAssessment.csv.gz"))?),
        &mut results,
    )?;
    let (_, report) = parse_oulad_assessments(&read("oulad/assessments.csv")?, &results, &mapping)?;
    let class: Vec<_> = report.accepted.into_iter().filter(|e| !e.competencies.is_empty()).collect();
    let engine = Engine::new(MemoryStore::new());
    let importer = AccessContext::new(Principal::service("open-university", "importer"));
    engine.ingest(&importer, &class);
    let course: mastery_core::CourseId = "AAA-2013J".into();
    let scale = engine.config().scale.clone();
    let tutor = AccessContext::new(Principal::instructor("open-university", "tutor-1", vec![course.clone()]));
    let class_states = engine.class_states(&tutor, &course)?;
    let standings: BTreeMap<String, BTreeMap<String, Standing>> =
        class_states.iter().map(|(l, s)| (l.clone(), engine.standings(s))).collect();
    let standards: Vec<String> = PLAN.iter().map(|(_, s)| code(s)).collect::<Result<_, _>>()?;
    let short = |id: &str| framework.item(id).and_then(|c| c.human_coding_scheme.clone()).unwrap_or_default();
    let labels: BTreeMap<String, String> =
        framework.items().iter().map(|c| (c.identifier.clone(), short(&c.identifier))).collect();
    let competencies: Vec<Value> = standards
        .iter()
        .map(|id| {
            let c = framework.item(id).expect("planned standard");
            let area = framework.ancestors(id).ok().and_then(|a| a.last().map(|x| x.identifier.clone()));
            json!({"id": id, "code": short(id), "statement": c.full_statement, "area": area})
        })
        .collect();
    let areas: Vec<Value> = framework
        .children(framework.identifier())?
        .iter()
        .map(|c| json!({"id": c.identifier, "code": c.human_coding_scheme, "statement": c.full_statement}))
        .collect();

    // Awards: the ledger over every learner's standings, as in the demo.
    let achievements = achievements(&framework)?;
    let index = RuleIndex::new(&achievements, Some(&framework));
    let mut ledger = CredentialLedger::new();
    let awarded = mastery_core::time::parse_instant("2013-12-20T12:00:00Z", "now")?;
    let facts_of = |s: &BTreeMap<String, Standing>| LearnerFacts {
        mastered: s.iter().filter(|(_, s)| s.mastered).map(|(c, _)| c.clone()).collect(),
        ..LearnerFacts::default()
    };
    for (learner, standing) in &standings {
        let changed: Vec<String> = standing.keys().cloned().collect();
        let scope = AwardScope::new("open-university", learner.as_str(), Some(course.clone()));
        ledger.evaluate(
            &scope,
            &facts_of(standing),
            &achievements,
            Some(&framework),
            Some(&index.affected(&changed, false)),
            awarded,
        );
    }
    // The learner shown: the most badges while some standard is still in progress.
    let tenant: mastery_core::TenantId = "open-university".into();
    let learner = standings
        .iter()
        .filter(|(_, s)| standards.iter().any(|c| !s.get(c).is_some_and(|x| x.mastered)))
        .max_by_key(|(l, _)| (ledger.awards_of(&tenant, l).len(), std::cmp::Reverse((*l).clone())))
        .map(|(l, _)| l.clone())
        .ok_or("no learner")?;
    let mine: Vec<Award> = ledger.awards_of(&tenant, &learner).into_iter().cloned().collect();
    // One earned badge revoked (a re-graded assessment), so the gallery shows every state.
    let mut awards = mine.clone();
    if let Some(a) = awards.iter_mut().rev().find(|a| a.achievement.contains("6.RP.A.2")) {
        a.revoked = Some("The assessment was re-graded".into());
    }
    let facts = facts_of(&standings[&learner]);

    // A signed credential for the learner's first standing award, in both proof formats.
    let award = mine.iter().find(|a| a.achievement.contains("6.RP.A.3a")).or(mine.first()).ok_or("no award")?;
    let achievement = achievements.iter().find(|a| a.id == award.achievement).ok_or("achievement")?;
    let key = IssuerKey::from_seed(&[42; 32])?;
    let issuer = IssuerProfile {
        id: key.did(),
        name: "Example Open University".into(),
        url: Some("https://example.edu".into()),
    };
    let credential = achievement_credential(
        &award.credential_id,
        achievement,
        &issuer,
        &learner,
        "demo-salt",
        award.awarded_at,
        &[],
        None,
    );
    let signed = sign_data_integrity(&credential, &key, None, award.awarded_at)?;
    let jwt = sign_vc_jwt(&credential, &key)?;

    // The learner's dashboard.
    let me = AccessContext::new(Principal::learner("open-university", learner.clone()));
    let states = engine.learner_states(&me, &learner.as_str().into(), Some(&course))?;
    let mine_standings = engine.standings(&states);
    let rings = ring_chart(&framework, &mine_standings, None, RingMetric::MeanValue, &scale)?;
    let histories = engine.learner_histories(&me, &learner.as_str().into(), Some(&course))?;
    let progress = progress_over_time(&histories, &labels, TimeWindow::default(), engine.config());
    let weeks = competency_weeks_heatmap(&histories, &labels, TimeWindow::default(), engine.config())
        .with_statements(&framework);
    let next = frontier(&framework, &mine_standings);

    // The streak, from OULAD's click log (the first clicker of the sample), as in the demo.
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
    let tracker = streak_tracker(&streak, now.date_naive(), 6)?;
    let calendar = activity_calendar(&streak, None);

    // The class.
    let values: BTreeMap<String, BTreeMap<String, f64>> = standings
        .iter()
        .map(|(l, s)| (format!("Student {l}"), s.iter().map(|(c, v)| (c.clone(), v.value)).collect()))
        .collect();
    let columns: Vec<Label> = standards.iter().map(|id| Label { id: id.clone(), label: short(id) }).collect();
    let heat = class_heatmap(&values, &columns, &scale).with_statements(&framework);
    let scores: BTreeMap<String, BTreeMap<String, f64>> = class_states
        .iter()
        .map(|(l, s)| (l.clone(), s.iter().filter_map(|r| Some((r.competency.to_string(), r.score?))).collect()))
        .collect();
    let summaries = class_summary(&scores, &scale, Some(&standards));
    let at_risk = at_risk(&class_states, &standings, &standards, &short);

    let snapshot = json!({
        "generated_from": "fixtures/data: OULAD AAA-2013J assessments and clicks, CASE 'What Standards Could Be', by examples/src/bin/web_snapshot.rs",
        "course": {"id": course, "title": "AAA-2013J (OULAD), ratio standards"},
        "learner": {"id": learner, "name": "Ada Learner"},
        "framework": {"title": framework.title(), "areas": areas, "competencies": competencies},
        "scale": scale,
        "labels": labels,
        "progress": {"histories": histories, "view": progress, "weeks": weeks},
        "rings": rings,
        "next": next,
        "streak": {"tracker": tracker, "calendar": calendar, "current": streak.current, "longest": streak.longest},
        "class": {"learners": standings.len(), "heatmap": heat, "summaries": summaries, "at_risk": at_risk},
        "achievements": {
            "list": achievements, "awards": awards, "facts": facts, "now": "2014-03-01T12:00:00Z",
            "credential": signed, "jwt": jwt, "issuer": key.did(),
            "verify_url": "https://example.edu/verify"
        },
    });
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("web/src/snapshot.json");
    fs::write(&out, serde_json::to_string(&snapshot)? + "\n")?;
    println!("wrote {} ({} learners, learner {learner}: {} awards)", out.display(), standings.len(), awards.len());
    Ok(())
}

/// A badge per ratio standard (the first one valid 60 days, so it has expired by the snapshot's
/// date) and one for all of them.
fn achievements(framework: &Framework) -> Result<Vec<Achievement>, Box<dyn Error>> {
    let mut list = Vec::new();
    for (i, (_, code)) in PLAN.iter().enumerate() {
        let c = framework.find_by_code(code).ok_or("code missing")?;
        let short = code.trim_start_matches("CCSS.Math.Content.");
        list.push(Achievement {
            id: format!("https://badges.example.edu/achievements/{code}"),
            version: 1,
            name: format!("{short} mastered"),
            description: c.full_statement.clone(),
            criteria: format!("Mastery of {code} on the course's proficiency scale."),
            image: None,
            achievement_type: AchievementType::Competency,
            alignments: vec![(c.uri.clone().unwrap_or_else(|| c.identifier.to_string()), (*code).to_owned())],
            valid_days: Some(if i == 0 { 60 } else { 730 }),
            rule: AwardRule::Mastery { competency: c.identifier.to_string(), min_points: None },
        });
    }
    let all = PLAN.iter().map(|(_, code)| {
        Ok(AwardRule::Mastery {
            competency: framework.find_by_code(code).ok_or("code")?.identifier.to_string(),
            min_points: None,
        })
    });
    list.push(Achievement {
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
    Ok(list)
}

/// Learners whose mastery data says they need a look, with the reasons in words: most standards
/// below mastery, a low mean against the class median, results falling, no recent evidence.
fn at_risk(
    states: &BTreeMap<String, Vec<mastery_core::mastery::MasteryRecord>>,
    standings: &BTreeMap<String, BTreeMap<String, Standing>>,
    standards: &[String],
    short: &dyn Fn(&str) -> String,
) -> Vec<Value> {
    let mean = |s: &BTreeMap<String, Standing>| {
        standards.iter().map(|c| s.get(c).map_or(0.0, |x| x.value)).sum::<f64>() / standards.len() as f64
    };
    let mut means: Vec<f64> = standings.values().map(mean).collect();
    means.sort_by(f64::total_cmp);
    let median = means.get(means.len() / 2).copied().unwrap_or(0.0);
    let latest = states.values().flatten().filter_map(|r| r.last_evidence).max();
    let mut out: Vec<(f64, Value)> = Vec::new();
    for (learner, s) in standings {
        let m = mean(s);
        let below: Vec<String> =
            standards.iter().filter(|c| !s.get(*c).is_some_and(|x| x.mastered)).map(|c| short(c)).collect();
        let missing = standards.iter().filter(|c| !s.contains_key(*c)).count();
        let mut reasons = Vec::new();
        if below.len() * 2 > standards.len() {
            reasons.push(format!("below mastery on {} of {} ratio standards", below.len(), standards.len()));
        }
        if m < median * 0.75 {
            reasons.push(format!("mean mastery {:.0}%, against a class median of {:.0}%", m * 100.0, median * 100.0));
        }
        if missing > 0 {
            reasons.push(format!("no evidence yet for {missing} standard{}", if missing == 1 { "" } else { "s" }));
        }
        let last = states.get(learner).and_then(|r| r.iter().filter_map(|x| x.last_evidence).max());
        if let (Some(last), Some(latest)) = (last, latest) {
            let days = (latest - last).num_days();
            if days > 28 {
                reasons.push(format!("no assessed work for {days} days (since {})", last.date_naive()));
            }
        }
        if reasons.len() >= 2 {
            out.push((
                m,
                json!({"learner": format!("Student {learner}"), "mean": m, "reasons": reasons, "below": below}),
            ));
        }
    }
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    out.into_iter().take(12).map(|(_, v)| v).collect()
}
