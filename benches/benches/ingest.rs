//! Parser throughput: xAPI, Caliper, pyBKT CSV and CASE import.
//! `cargo bench -p mastery-benches --bench ingest`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use mastery_benches::{caliper_envelope, case_package, xapi_batch};
use mastery_core::{parse_caliper, parse_pybkt_csv, parse_xapi, EvidenceMapping, Framework};

fn ingest(c: &mut Criterion) {
    let mut group = c.benchmark_group("ingest");
    let n = 10_000;
    let mut mapping = EvidenceMapping::default();
    for u in 0..20 {
        mapping.competencies.insert(format!("https://lms.example.edu/units/{u}"), vec![format!("skill-{u}").into()]);
    }
    let xapi = xapi_batch(n, 500, 200);
    group.throughput(Throughput::Elements(n as u64));
    group.bench_function("xapi_10k_statements", |b| b.iter(|| parse_xapi(black_box(&xapi), &mapping)));
    let caliper = caliper_envelope(n, 500);
    group.bench_function("caliper_10k_events", |b| b.iter(|| parse_caliper(black_box(&caliper), &mapping)));
    let csv: String = std::iter::once("order_id,user_id,skill_name,correct".to_owned())
        .chain((0..n).map(|i| format!("{i},u{},skill-{},{}", i % 500, i % 50, i % 2)))
        .collect::<Vec<_>>()
        .join("\n");
    group.bench_function("pybkt_csv_10k_rows", |b| b.iter(|| parse_pybkt_csv(black_box(&csv))));
    group.finish();

    let ccss = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/data/case/opensalt_ccss_math_cfs_sample_2016draft.json"
    ))
    .expect("fixture");
    c.bench_function("case_import_ccss_703_items", |b| b.iter(|| Framework::from_case_json(black_box(&ccss))));

    // The security review's graphs: each was quadratic or worse (40 s and 5.7 s) before.
    let mut group = c.benchmark_group("case_hostile");
    group.sample_size(10);
    let dag = Framework::from_case_json(&case_package(8_000, true)).expect("generated package");
    group.bench_function("summary_8000_items_two_parents", |b| b.iter(|| black_box(&dag).summary()));
    group.bench_function("topological_order_8000_items_two_parents", |b| {
        b.iter(|| black_box(&dag).topological_order().len())
    });
    let flat = case_package(100_000, false);
    group.bench_function("import_100000_flat_children", |b| b.iter(|| Framework::from_case_json(black_box(&flat))));
    let flat = Framework::from_case_json(&flat).expect("generated package");
    group.bench_function("summary_100000_flat_children", |b| b.iter(|| black_box(&flat).summary()));
    group.finish();
}

criterion_group!(benches, ingest);
criterion_main!(benches);
