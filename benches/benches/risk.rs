//! At-risk prediction: training, batch and one-row scoring, TreeSHAP and feature building.
//! `cargo bench -p mastery-benches --bench risk` (the LightGBM comparison is
//! `benches/risk_vs_lightgbm.sh`).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use mastery_core::risk::*;
use ndarray::s;

fn risk(c: &mut Criterion) {
    let (x, y) = synthetic_risk_data(100_000, 1).expect("rows within the limit");
    let params = GbdtParams { n_estimators: 50, ..GbdtParams::default() };
    let mut group = c.benchmark_group("risk");
    group.sample_size(10);
    group.bench_function("train_100k_rows_50_trees", |b| {
        b.iter(|| Gbdt::fit(black_box(x.view()), &y, &params, None).expect("fit").trees.len())
    });
    let model = Gbdt::fit(x.view(), &y, &GbdtParams { n_estimators: 200, ..GbdtParams::default() }, None).expect("fit");
    group.bench_function("predict_100k_rows_200_trees", |b| {
        b.iter(|| model.predict_proba(black_box(x.view())).expect("predict").len())
    });
    let row = x.row(17).to_vec();
    group.bench_function("predict_one_row_200_trees", |b| b.iter(|| model.margin_row(black_box(&row))));
    let rows = x.slice(s![..100, ..]);
    group.bench_function("tree_shap_100_rows_200_trees", |b| {
        b.iter(|| rows.outer_iter().map(|r| model.shap_row(&r.to_vec())[0]).sum::<f64>())
    });
    let learners: Vec<LearnerActivity> = (0..10_000)
        .map(|i| LearnerActivity {
            events: Some(
                (0..60)
                    .map(|d| ActivityEvent { day: f64::from(d) + 0.3, clicks: (i + d) % 7, seconds: 120.0 })
                    .collect(),
            ),
            submissions: (0..6)
                .map(|k| Submission {
                    due_day: Some(f64::from(k * 15)),
                    weight: 10.0,
                    submitted_day: (k % 3 != 0).then_some(f64::from(k * 15 - 1)),
                    score: Some(f64::from(50 + k * 7)),
                })
                .collect(),
            mastery: None,
        })
        .collect();
    group.bench_function("features_10k_learners_day_60", |b| {
        b.iter(|| learners.iter().map(|l| build_features(black_box(l), 60.0)[0]).sum::<f64>())
    });
    group.finish();
}

criterion_group!(benches, risk);
criterion_main!(benches);
