//! The Rust side of the GBDT comparison, one thread:
//! `cargo run --release -p mastery-benches --bin risk-bench -- [--write DIR]`
//! Generates 1,000,000 rows of synthetic risk data (30 features, missing values, a non-linear
//! label), optionally writes them for LightGBM (`x.f64`, `y.f64`: little-endian, row-major),
//! then trains on the first 800,000 with LightGBM's settings (binary, 31 leaves, learning rate
//! 0.1, 200 rounds, 255 bins) and reports, as JSON: training time, held-out AUC, prediction of
//! 1M rows and of one row, TreeSHAP throughput and peak memory.

use std::hint::black_box;
use std::io::Write;
use std::time::Instant;

use mastery_core::risk::{auc, synthetic_risk_data, Gbdt, GbdtParams};
use ndarray::s;

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb =
        status.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok());
    kb.unwrap_or(f64::NAN) / 1024.0
}

/// CPU seconds this process has run in user mode (from `/proc/self/stat`; 0 elsewhere), so
/// a figure holds on a machine shared with other work.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_name = stat.rsplit(')').next().unwrap_or("");
    let utime = after_name.split_whitespace().nth(11).and_then(|t| t.parse::<f64>().ok()).unwrap_or(0.0);
    utime / 100.0
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--shap") {
        // TreeSHAP only: the criterion bench's model (50,000 rows, 200 trees, 31 leaves), 20,000
        // rows explained in one batch and 2,000 one by one; wall and CPU time.
        let (x, y) = synthetic_risk_data(50_000, 1).expect("rows within the limit");
        let params = GbdtParams { n_estimators: 200, num_leaves: 31, ..GbdtParams::default() };
        let model = Gbdt::fit(x.view(), &y, &params, None).expect("fit");
        black_box(model.shap_row(&x.row(0).to_vec())); // builds the tables
        let rows = x.slice(s![..20_000, ..]);
        let (t, c) = (Instant::now(), cpu_seconds());
        black_box(model.shap_rows(rows).expect("width"));
        let (batch_wall, batch_cpu) = (t.elapsed().as_secs_f64(), cpu_seconds() - c);
        let (t, c) = (Instant::now(), cpu_seconds());
        for r in 0..2_000 {
            black_box(model.shap_row(&x.row(r).to_vec()));
        }
        let (one_wall, one_cpu) = (t.elapsed().as_secs_f64(), cpu_seconds() - c);
        let fresh: Gbdt = serde_json::from_value(serde_json::to_value(&model).expect("json")).expect("json");
        let t = Instant::now();
        black_box(fresh.shap_row(&x.row(0).to_vec()));
        println!(
            "{}",
            serde_json::json!({
                "shap_batch_rows_per_s_wall": 20_000.0 / batch_wall,
                "shap_batch_rows_per_s_cpu": 20_000.0 / batch_cpu,
                "shap_one_row_rows_per_s_wall": 2_000.0 / one_wall,
                "shap_one_row_rows_per_s_cpu": 2_000.0 / one_cpu,
                "shap_tables_build_s": t.elapsed().as_secs_f64(),
            })
        );
        return;
    }
    if args.iter().any(|a| a == "--quick") {
        // Training only, 300,000 rows and 60 rounds, best of three (for tuning on a noisy machine).
        // QUICK_ROWS / QUICK_ROUNDS / QUICK_RUNS override the size (e.g. smaller under a profiler),
        // QUICK_THREADS the training threads (with the `parallel` feature).
        let env = |name: &str, default: usize| std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default);
        let (x, y) = synthetic_risk_data(env("QUICK_ROWS", 300_000), 2026).expect("rows within the limit");
        let params = GbdtParams {
            n_estimators: env("QUICK_ROUNDS", 60),
            num_threads: env("QUICK_THREADS", 1),
            ..GbdtParams::default()
        };
        let best = (0..env("QUICK_RUNS", 3))
            .map(|_| {
                let t = Instant::now();
                black_box(Gbdt::fit(x.view(), &y, &params, None).expect("fit"));
                t.elapsed().as_secs_f64()
            })
            .fold(f64::INFINITY, f64::min);
        println!("{}", serde_json::json!({ "quick_train_s": best }));
        return;
    }
    let (x, y) = synthetic_risk_data(1_000_000, 2026).expect("rows within the limit");
    if let Some(i) = args.iter().position(|a| a == "--write") {
        let dir = std::path::Path::new(args.get(i + 1).expect("--write needs a directory"));
        std::fs::create_dir_all(dir).expect("dir");
        let mut xf = std::io::BufWriter::new(std::fs::File::create(dir.join("x.f64")).expect("x"));
        for v in x.iter() {
            xf.write_all(&v.to_le_bytes()).expect("write");
        }
        let yb: Vec<u8> = y.iter().flat_map(|v| v.to_le_bytes()).collect();
        std::fs::write(dir.join("y.f64"), yb).expect("y");
    }
    let data_mb = peak_rss_mb();
    let (train, test) = (x.slice(s![..800_000, ..]), x.slice(s![800_000.., ..]));
    let params =
        GbdtParams { n_estimators: 200, num_leaves: 31, learning_rate: 0.1, max_bin: 255, ..GbdtParams::default() };
    let t = Instant::now();
    let model = Gbdt::fit(train, &y[..800_000], &params, None).expect("fit");
    let train_s = t.elapsed().as_secs_f64();
    let train_peak_mb = peak_rss_mb();
    let p = model.predict_proba(test).expect("predict");
    let held_out_auc = auc(&p, &y[800_000..]).expect("auc");
    let t = Instant::now();
    black_box(model.predict_proba(x.view()).expect("predict"));
    let predict_1m_s = t.elapsed().as_secs_f64();
    let row: Vec<f64> = x.row(123).to_vec();
    let t = Instant::now();
    for _ in 0..10_000 {
        black_box(model.margin_row(black_box(&row)));
    }
    let one_row_us = t.elapsed().as_secs_f64() / 10_000.0 * 1e6;
    let t = Instant::now();
    for r in 0..2_000 {
        black_box(model.shap_row(&x.row(r).to_vec()));
    }
    let shap_rows_per_s = 2_000.0 / t.elapsed().as_secs_f64();
    println!(
        "{}",
        serde_json::json!({
            "train_s": train_s, "held_out_auc": held_out_auc, "predict_1m_s": predict_1m_s,
            "one_row_us": one_row_us, "shap_rows_per_s": shap_rows_per_s,
            "data_peak_mb": data_mb, "train_peak_mb": train_peak_mb, "trees": model.trees.len(),
        })
    );
}
