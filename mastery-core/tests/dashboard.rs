//! Dashboards: view models from real states, SVG that parses and explains itself, the policy.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use mastery_core::dashboard::*;
use mastery_core::mastery::ProficiencyScale;
use mastery_core::streak::{evaluate_streak, Activity, StreakPolicy};
use mastery_core::time::parse_instant;
use mastery_core::{
    AccessContext, Engine, Evidence, EvidenceKind, EvidenceSource, Framework, MemoryStore, Principal, Score,
};

fn framework() -> Framework {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/data/case/opensalt_what_standards_could_be_20c5134f.json"
    ))
    .unwrap();
    Framework::from_case_json(&text).unwrap()
}

fn evidence(id: usize, learner: &str, competency: &str, day: u32, score: f64) -> Evidence {
    Evidence {
        id: format!("e{id}").into(),
        learner: learner.into(),
        course: Some("c1".into()),
        competencies: vec![competency.into()],
        activity: None,
        kind: EvidenceKind::Assessment,
        score: Some(Score { scaled: Some(score), ..Score::default() }),
        success: None,
        completion: None,
        duration_seconds: None,
        occurred_at: Some(parse_instant(&format!("2026-03-{day:02}T10:00:00-05:00"), "t").unwrap()),
        sequence: None,
        source: EvidenceSource::Host,
    }
}

/// Parses as XML, is an accessible image, and has a title and a description.
fn check_svg(svg: &str, title_contains: &str) {
    let doc = roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("not XML: {e}\n{svg}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    assert_eq!(root.attribute("role"), Some("img"));
    assert!(root.attribute("viewBox").is_some());
    let first = |name: &str| {
        root.children().find(|n| n.tag_name().name() == name).and_then(|n| n.text()).unwrap_or_default().to_owned()
    };
    assert!(first("title").contains(title_contains), "{}", first("title"));
    assert!(!first("desc").is_empty());
    assert!(!svg.contains("<script") && !svg.contains("@font-face") && !svg.contains("href=\"http"));
}

#[test]
fn learner_and_instructor_dashboards() {
    let f = framework();
    let ids: Vec<String> = f.items().iter().map(|c| c.identifier.clone()).collect();
    let leaves: Vec<&String> = ids.iter().filter(|id| f.children(id).unwrap().is_empty()).collect();
    let engine = Engine::new(MemoryStore::new());
    let svc = AccessContext::new(Principal::service("t", "svc"));
    let mut batch = Vec::new();
    for (i, leaf) in leaves.iter().enumerate() {
        batch.push(evidence(i, "amy", leaf, 2 + (i % 20) as u32, if i % 3 == 0 { 0.4 } else { 0.95 }));
        batch.push(evidence(1000 + i, "bob", leaf, 3 + (i % 20) as u32, 0.8));
    }
    assert!(engine.ingest(&svc, &batch).rejected.is_empty());

    let amy = AccessContext::new(Principal::learner("t", "amy"));
    let states = engine.learner_states(&amy, &"amy".into(), Some(&"c1".into())).unwrap();
    assert_eq!(states.len(), leaves.len());
    let standings = engine.standings(&states);
    let chart = ring_chart(&f, &standings, None, RingMetric::ShareMastered, &engine.config().scale).unwrap();
    assert_eq!(chart.rings.len(), 2);
    assert!(chart.rings.iter().all(|r| r.value > 0.0 && r.value < 1.0 && r.total > 0));
    check_svg(&render_ring_chart(&chart), "What Standards Could Be");

    let labels: BTreeMap<String, String> =
        f.items().iter().map(|c| (c.identifier.clone(), c.human_coding_scheme.clone().unwrap_or_default())).collect();
    let histories = engine.learner_histories(&amy, &"amy".into(), Some(&"c1".into())).unwrap();
    let progress = progress_over_time(&histories, &labels, TimeWindow::default(), engine.config());
    assert!(progress.series.iter().all(|s| !s.points.is_empty()));
    check_svg(&render_progress(&progress), "Progress");
    let weeks = competency_weeks_heatmap(&histories, &labels, TimeWindow::default(), engine.config());
    assert_eq!(weeks.rows.len(), states.len());
    check_svg(&render_heatmap(&weeks), "Mastery by week");

    // A learner cannot open the class view; the instructor can.
    assert_eq!(engine.class_states(&amy, &"c1".into()).unwrap_err().code(), "access_denied");
    let tia = AccessContext::new(Principal::instructor("t", "tia", vec!["c1".into()]));
    let class = engine.class_states(&tia, &"c1".into()).unwrap();
    assert_eq!(class.len(), 2);
    let values: BTreeMap<String, BTreeMap<String, f64>> = class
        .iter()
        .map(|(l, s)| (l.clone(), engine.standings(s).into_iter().map(|(k, v)| (k, v.value)).collect()))
        .collect();
    let columns: Vec<Label> = leaves.iter().map(|id| Label { id: (*id).clone(), label: labels[*id].clone() }).collect();
    let heat = class_heatmap(&values, &columns, &engine.config().scale);
    assert_eq!((heat.rows.len(), heat.columns.len()), (2, leaves.len()));
    check_svg(&render_heatmap(&heat), "Class mastery");
    // Bob reading Amy's states is refused, not empty.
    let bob = AccessContext::new(Principal::learner("t", "bob"));
    assert_eq!(engine.learner_states(&bob, &"amy".into(), None).unwrap_err().code(), "access_denied");
}

#[test]
fn streak_tracker_and_activity_calendar() {
    let acts: Vec<Activity> = [1, 2, 3, 5, 6, 9]
        .iter()
        .map(|d| Activity {
            at: parse_instant(&format!("2026-03-{d:02}T20:00:00-05:00"), "t").unwrap(),
            zone: "America/New_York".into(),
            minutes: 10.0,
            points: 1.0,
        })
        .collect();
    let policy = StreakPolicy { initial_freezes: 1, ..StreakPolicy::default() };
    let now = parse_instant("2026-03-10T12:00:00-04:00", "t").unwrap();
    let report = evaluate_streak(&acts, &policy, now, "America/New_York").unwrap();
    let tracker = streak_tracker(&report, now.date_naive(), 4).unwrap();
    assert_eq!(tracker.weeks.len(), 4);
    assert!(tracker.weeks.iter().all(|w| w.len() == 7));
    check_svg(&render_streak_tracker(&tracker), "Streak");
    let calendar = activity_calendar(&report, None);
    check_svg(&render_heatmap(&calendar), "Activity calendar");
    // Hostile labels are escaped.
    let chart =
        RingChart { title: "<script>alert(1)</script> & co".into(), metric: RingMetric::MeanValue, rings: vec![] };
    check_svg(&render_ring_chart(&chart), "<script>");
    let scale = ProficiencyScale::khan_ladder();
    assert_eq!(scale.ratings.len(), 4);
}
