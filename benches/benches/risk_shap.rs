//! TreeSHAP throughput: explanations for a 200-tree, 31-leaf booster (the default parameters),
//! in rows per second. `cargo bench -p mastery-benches --bench risk_shap`
//! (run it one thread against one thread: `RAYON_NUM_THREADS=1`).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use mastery_core::risk::*;
use ndarray::s;

fn tree_shap(c: &mut Criterion) {
    let (x, y) = synthetic_risk_data(50_000, 1).expect("rows within bounds");
    let params = GbdtParams { n_estimators: 200, num_leaves: 31, ..GbdtParams::default() };
    let model = Gbdt::fit(x.view(), &y, &params, None).expect("fit");
    let rows = x.slice(s![..1_000, ..]).to_owned();
    let mut group = c.benchmark_group("tree_shap");
    group.sample_size(10);
    group.throughput(Throughput::Elements(rows.nrows() as u64));
    group.bench_function("1000_rows_200_trees_31_leaves", |b| {
        b.iter(|| rows.outer_iter().map(|r| model.shap_row(black_box(&r.to_vec()))[0]).sum::<f64>())
    });
    group.bench_function("1000_rows_200_trees_31_leaves_batch", |b| {
        b.iter(|| model.shap_rows(black_box(rows.view())).expect("width")[0])
    });
    // The recursive algorithm per tree, as `shap_row` ran it before the leaf paths were kept.
    group.bench_function("1000_rows_200_trees_31_leaves_recursive", |b| {
        b.iter(|| {
            rows.outer_iter()
                .map(|r| {
                    let row = r.to_vec();
                    let mut phi = vec![0.0; model.features + 1];
                    for t in &model.trees {
                        t.shap(black_box(&row), &mut phi);
                    }
                    phi[0]
                })
                .sum::<f64>()
        })
    });
    group.finish();
}

criterion_group!(benches, tree_shap);
criterion_main!(benches);
