//! Dashboard views for a class of 500 learners x 200 competencies.
//! `cargo bench -p mastery-benches --bench dashboard`

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use mastery_core::dashboard::{class_heatmap, render_heatmap, ring_chart, Label, RingMetric};
use mastery_core::mastery::{class_summary, least_proficient, ProficiencyScale, Standing};
use mastery_core::Framework;
use serde_json::json;

/// A framework of 10 areas x 20 competencies.
fn framework() -> Framework {
    let node = |n: &str| json!({"title": n, "identifier": n, "uri": format!("https://x.example/{n}")});
    let mut items = Vec::new();
    let mut links = Vec::new();
    for a in 0..10 {
        let area = format!("area{a}");
        items.push(json!({"identifier": area, "fullStatement": area, "uri": "https://x.example/a", "lastChangeDateTime": "2024-01-01T00:00:00Z"}));
        links.push(json!({"identifier": format!("l{a}"), "associationType": "isChildOf", "uri": "https://x.example/l", "originNodeURI": node(&area), "destinationNodeURI": node("doc"), "lastChangeDateTime": "2024-01-01T00:00:00Z"}));
        for c in 0..20 {
            let id = format!("c{a}-{c}");
            items.push(json!({"identifier": id, "fullStatement": id, "uri": "https://x.example/c", "lastChangeDateTime": "2024-01-01T00:00:00Z"}));
            links.push(json!({"identifier": format!("l{a}-{c}"), "associationType": "isChildOf", "uri": "https://x.example/l", "originNodeURI": node(&id), "destinationNodeURI": node(&area), "lastChangeDateTime": "2024-01-01T00:00:00Z"}));
        }
    }
    let doc = json!({"identifier": "doc", "uri": "https://x.example/doc", "creator": "c", "title": "t", "lastChangeDateTime": "2024-01-01T00:00:00Z"});
    Framework::from_case_json(&json!({"CFDocument": doc, "CFItems": items, "CFAssociations": links}).to_string())
        .expect("framework")
}

fn views(c: &mut Criterion) {
    let f = framework();
    let competencies: Vec<String> = (0..10).flat_map(|a| (0..20).map(move |c| format!("c{a}-{c}"))).collect();
    let values: BTreeMap<String, BTreeMap<String, f64>> = (0..500)
        .map(|l| {
            (
                format!("learner{l:03}"),
                competencies
                    .iter()
                    .enumerate()
                    .map(|(i, c)| (c.clone(), ((l * 7 + i * 13) % 100) as f64 / 100.0))
                    .collect(),
            )
        })
        .collect();
    let scale = ProficiencyScale::canvas_default();
    let labels: Vec<Label> = competencies.iter().map(|c| Label { id: c.clone(), label: c.clone() }).collect();
    // What the host (or the engine) already holds: scores on the scale and standings per learner.
    let points: BTreeMap<String, BTreeMap<String, f64>> =
        values.iter().map(|(l, m)| (l.clone(), m.iter().map(|(c, v)| (c.clone(), v * 4.0)).collect())).collect();
    let standings: Vec<BTreeMap<String, Standing>> = values
        .values()
        .map(|m| m.iter().map(|(c, v)| (c.clone(), Standing { value: *v, mastered: *v >= 0.75 })).collect())
        .collect();
    // Instructor views (heatmap, per-competency distribution, least proficient) and every
    // learner's ring chart.
    c.bench_function("class_views_500_learners_x_200_competencies", |b| {
        b.iter(|| {
            let heat = class_heatmap(black_box(&values), &labels, &scale);
            let summary = class_summary(&points, &scale, None);
            let weakest = least_proficient(&summary, 10);
            let rings: Vec<_> = standings
                .iter()
                .map(|s| ring_chart(&f, s, None, RingMetric::ShareMastered, &scale).expect("rings"))
                .collect();
            black_box((heat, weakest, rings))
        })
    });
    let heat = class_heatmap(&values, &labels, &scale);
    c.bench_function("render_class_heatmap_svg_500x200", |b| b.iter(|| render_heatmap(black_box(&heat))));
}

criterion_group!(benches, views);
criterion_main!(benches);
