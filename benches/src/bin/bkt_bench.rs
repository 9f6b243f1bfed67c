//! The Rust side of the BKT comparison, one thread:
//! `cargo run --release -p mastery-benches --bin bkt-bench -- [--write-csv PATH]`
//! Generates the 2-million-row log (50 skills × 2,000 learners × 20 attempts), optionally writes
//! it for pyBKT, then times fit (1 and 5 restarts), predict (from rows and on interned columns)
//! and online updates, as JSON. `--fit-only N [R]` and `--predict-only N` time one step alone.

use std::hint::black_box;
use std::time::Instant;

use mastery_benches::{bkt_csv, bkt_log};
use mastery_core::mastery::{BktModel, BktOptions, ResponseTable};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rows = bkt_log(50, 2_000, 20, 2026);
    if let Some(i) = args.iter().position(|a| a == "--write-csv") {
        let path = args.get(i + 1).expect("--write-csv needs a path");
        std::fs::write(path, bkt_csv(&rows)).expect("write csv");
    }
    if let Some(i) = args.iter().position(|a| a == "--predict-only") {
        // For profilers (`valgrind --tool=callgrind`, `perf record`): only `predict_columns`,
        // `N` times, on interned columns, from fixed parameters (no fit).
        let n: usize = args.get(i + 1).and_then(|n| n.parse().ok()).expect("--predict-only needs a count");
        predict_only(&rows, n);
        return;
    }
    if let Some(i) = args.iter().position(|a| a == "--fit-only") {
        // For profilers: only `fit_table` with `R` restarts, `N` times, on interned columns.
        let n: usize = args.get(i + 1).and_then(|n| n.parse().ok()).expect("--fit-only needs a count");
        let fits: usize = args.get(i + 2).and_then(|n| n.parse().ok()).unwrap_or(1);
        fit_only(&rows, n, fits);
        return;
    }
    // pyBKT's defaults except the caps, which pyBKT does not have.
    let options = |num_fits| BktOptions { num_fits, max_guess: None, max_slip: None, ..BktOptions::default() };
    let time = |f: &mut dyn FnMut()| {
        let t = Instant::now();
        f();
        t.elapsed().as_secs_f64()
    };
    let mut table = None;
    let intern = time(&mut || table = Some(ResponseTable::from_rows(&rows)));
    let table = table.expect("table");
    let fit1_table = time(&mut || {
        black_box(BktModel::fit_table(&table, &options(1)).expect("fit"));
    });
    let mut model = None;
    let fit1 = time(&mut || model = Some(BktModel::fit(&rows, &options(1)).expect("fit")));
    let fit5 = time(&mut || {
        black_box(BktModel::fit(&rows, &options(5)).expect("fit"));
    });
    let model = model.expect("fitted");
    let predict = time(&mut || {
        black_box(model.predict(&rows).expect("predict"));
    });
    let predict_table = time(&mut || {
        black_box(model.predict_columns(&table).expect("predict"));
    });
    let skill = model.skill("skill0").expect("skill");
    let mut state = skill.initial_state();
    let n = 100_000_000u64;
    let online = time(&mut || {
        for i in 0..n {
            skill.update(black_box(&mut state), !i.is_multiple_of(3), None);
        }
    });
    let p = &model.skills["skill0"].params;
    println!(
        "{}",
        serde_json::json!({
            "rows": rows.len(),
            "fit_1_s": fit1,
            "of_which_interning_s": intern,
            "fit_1_on_columns_s": fit1_table,
            "fit_5_s": fit5,
            "predict_s": predict,
            "predict_on_columns_s": predict_table,
            "online_updates_per_s": n as f64 / online,
            "state_bytes": std::mem::size_of::<mastery_core::mastery::KnowledgeState>(),
            "skill0": [p.prior, p.learns[0], p.guesses[0], p.slips[0]],
        })
    );
}

fn fit_only(rows: &[mastery_core::mastery::Response], n: usize, num_fits: usize) {
    let table = ResponseTable::from_rows(rows);
    let options = BktOptions { num_fits, max_guess: None, max_slip: None, ..BktOptions::default() };
    let t = Instant::now();
    for _ in 0..n {
        black_box(BktModel::fit_table(black_box(&table), &options).expect("fit"));
    }
    println!("{{\"fit_on_columns_s\": {}}}", t.elapsed().as_secs_f64() / n as f64);
}

fn predict_only(rows: &[mastery_core::mastery::Response], n: usize) {
    let table = ResponseTable::from_rows(rows);
    let skill = |k: usize| mastery_core::mastery::SkillModel {
        params: mastery_core::mastery::BktParams {
            prior: 0.2 + 0.005 * k as f64,
            priors: vec![],
            learns: vec![0.15],
            forgets: vec![0.0],
            guesses: vec![0.2],
            slips: vec![0.1],
        },
        learn_classes: Default::default(),
        gs_classes: Default::default(),
        prior_groups: Default::default(),
        log_likelihood: 0.0,
    };
    let skills = table.skill_names.iter().enumerate().map(|(k, name)| (name.clone(), skill(k))).collect();
    let model = BktModel { options: BktOptions::default(), skills };
    let t = Instant::now();
    for _ in 0..n {
        black_box(model.predict_columns(black_box(&table)).expect("predict"));
    }
    println!("{{\"predict_on_columns_s\": {}}}", t.elapsed().as_secs_f64() / n as f64);
}
