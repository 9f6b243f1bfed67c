//! BKT: EM fit, batch prediction and online updates on a simulated log.
//! `cargo bench -p mastery-benches --bench bkt` (the 2-million-row comparison with pyBKT is
//! `benches/bkt_vs_pybkt.sh`).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use mastery_benches::bkt_log;
use mastery_core::mastery::{BktModel, BktOptions, ResponseTable};

fn bkt(c: &mut Criterion) {
    let rows = bkt_log(10, 1_000, 20, 7); // 200,000 rows
    let table = ResponseTable::from_rows(&rows);
    let options = BktOptions { num_fits: 1, max_guess: None, max_slip: None, ..BktOptions::default() };
    let mut group = c.benchmark_group("bkt");
    group.sample_size(10);
    group.throughput(Throughput::Elements(rows.len() as u64));
    group.bench_function("fit_200k_rows_1_restart", |b| b.iter(|| BktModel::fit_table(black_box(&table), &options)));
    let model = BktModel::fit_table(&table, &options).expect("fit");
    group.bench_function("predict_200k_rows", |b| b.iter(|| model.predict_table(black_box(&table))));
    group.finish();

    let skill = model.skill("skill0").expect("skill");
    c.bench_function("online_update", |b| {
        let mut state = skill.initial_state();
        let mut i = 0u32;
        b.iter(|| {
            i = i.wrapping_add(1);
            skill.update(black_box(&mut state), !i.is_multiple_of(3), None);
        })
    });
}

criterion_group!(benches, bkt);
criterion_main!(benches);
