//! At-risk prediction: the booster learns, explains additively, is deterministic and respects
//! monotone constraints.

#![allow(clippy::unwrap_used)]

use mastery_core::risk::*;
use ndarray::s;

#[test]
fn learns_explains_and_is_deterministic() {
    let (x, y) = synthetic_risk_data(12_000, 7).unwrap();
    let (train, test) = (x.slice(s![..10_000, ..]), x.slice(s![10_000.., ..]));
    let params =
        GbdtParams { n_estimators: 60, bagging_fraction: 0.8, feature_fraction: 0.8, seed: 3, ..GbdtParams::default() };
    let model = Gbdt::fit(train, &y[..10_000], &params, None).unwrap();
    let p = model.predict_proba(test).unwrap();
    let score = auc(&p, &y[10_000..]).unwrap();
    assert!(score > 0.75, "AUC {score}");
    // The same seed, the same model, bit for bit.
    assert_eq!(Gbdt::fit(train, &y[..10_000], &params, None).unwrap(), model);
    // SHAP values sum to the margin.
    for r in 0..200 {
        let row: Vec<f64> = test.row(r).to_vec();
        let phi = model.shap_row(&row);
        let margin = model.margin_row(&row);
        assert!((phi.iter().sum::<f64>() - margin).abs() < 1e-9, "row {r}: {} vs {margin}", phi.iter().sum::<f64>());
    }
}

/// E[tree(x) | x_S] as TreeSHAP defines it: follow x on features in S, average the children by
/// their training cover elsewhere.
fn conditional(tree: &Tree, node: i32, x: &[f64], set: u32) -> f64 {
    if node < 0 {
        return tree.leaf_value[!node as usize];
    }
    let n = node as usize;
    let f = tree.feature[n] as usize;
    let cover = |c: i32| if c < 0 { tree.leaf_count[!c as usize] } else { tree.internal_count[c as usize] };
    if set & (1 << f) != 0 {
        let left = if x[f].is_nan() { tree.default_left[n] } else { x[f] <= tree.threshold[n] };
        conditional(tree, if left { tree.left[n] } else { tree.right[n] }, x, set)
    } else {
        let (l, r) = (tree.left[n], tree.right[n]);
        (cover(l) * conditional(tree, l, x, set) + cover(r) * conditional(tree, r, x, set)) / tree.internal_count[n]
    }
}

#[test]
fn tree_shap_equals_brute_force_shapley_values() {
    let (x, y) = synthetic_risk_data(3_000, 11).unwrap();
    let x = x.slice(s![.., 8..13]).to_owned(); // five features, with missing grades
    let params = GbdtParams { n_estimators: 5, num_leaves: 12, min_data_in_leaf: 30, ..GbdtParams::default() };
    let model = Gbdt::fit(x.view(), &y, &params, None).unwrap();
    let m = 5usize;
    let factorial = |k: usize| (1..=k).product::<usize>() as f64;
    for r in [0usize, 1, 17, 400, 2999] {
        let row: Vec<f64> = x.row(r).to_vec();
        let mut exact = vec![0.0; m];
        for tree in &model.trees {
            for (i, e) in exact.iter_mut().enumerate() {
                for set in 0u32..(1 << m) {
                    if set & (1 << i) != 0 {
                        continue;
                    }
                    let k = set.count_ones() as usize;
                    let weight = factorial(k) * factorial(m - k - 1) / factorial(m);
                    *e += weight * (conditional(tree, 0, &row, set | (1 << i)) - conditional(tree, 0, &row, set));
                }
            }
        }
        let phi = model.shap_row(&row);
        for i in 0..m {
            assert!((phi[i] - exact[i]).abs() < 1e-10, "row {r} feature {i}: {} vs {}", phi[i], exact[i]);
        }
    }
}

/// The leaf-path TreeSHAP of `shap_row` gives the recursive algorithm's values (`Tree::shap`),
/// on shallow and deep trees where features repeat along a path, with missing values.
#[test]
fn tree_shap_by_leaf_paths_equals_the_recursive_algorithm() {
    let (x, y) = synthetic_risk_data(4_000, 13).unwrap();
    for params in [
        GbdtParams { n_estimators: 20, ..GbdtParams::default() },
        GbdtParams { n_estimators: 5, num_leaves: 255, min_data_in_leaf: 2, ..GbdtParams::default() },
        GbdtParams { n_estimators: 5, num_leaves: 40, feature_fraction: 0.1, seed: 4, ..GbdtParams::default() },
    ] {
        let model = Gbdt::fit(x.view(), &y, &params, None).unwrap();
        for r in (0..4_000).step_by(97) {
            let row = x.row(r).to_vec();
            let mut expected = vec![0.0; model.features + 1];
            expected[model.features] = model.init_score;
            for t in &model.trees {
                t.shap(&row, &mut expected);
                expected[model.features] += t.expected_value();
            }
            let phi = model.shap_row(&row);
            for (i, (a, b)) in phi.iter().zip(&expected).enumerate() {
                assert!((a - b).abs() < 1e-9, "{} leaves, row {r}, feature {i}: {a} vs {b}", params.num_leaves);
            }
        }
        // The batch (tree by tree over blocks of rows) gives the same values, bit for bit.
        let batch = model.shap_rows(x.view()).unwrap();
        assert_eq!(batch.len(), x.nrows() * (model.features + 1));
        for (r, phi) in batch.chunks(model.features + 1).enumerate().step_by(7) {
            assert_eq!(phi, model.shap_row(&x.row(r).to_vec()).as_slice(), "row {r}");
        }
        // Over more than one block of rows too.
        let twice = ndarray::concatenate(ndarray::Axis(0), &[x.view(), x.view()]).unwrap();
        assert_eq!(model.shap_rows(twice.view()).unwrap(), [batch.clone(), batch].concat());
    }
}

#[test]
fn monotone_constraints_hold_and_missing_values_learn_a_direction() {
    let (x, y) = synthetic_risk_data(8_000, 5).unwrap();
    // Risk may only fall as the mean grade (column 10) rises.
    let mut monotone = vec![0i8; x.ncols()];
    monotone[10] = -1;
    let params = GbdtParams { n_estimators: 40, monotone_constraints: monotone, ..GbdtParams::default() };
    let model = Gbdt::fit(x.view(), &y, &params, None).unwrap();
    for r in 0..300 {
        let mut row: Vec<f64> = x.row(r).to_vec();
        let mut last = f64::INFINITY;
        for grade in (0..=100).step_by(5) {
            row[10] = f64::from(grade);
            let m = model.margin_row(&row);
            assert!(m <= last + 1e-12, "row {r}: risk rose at grade {grade}");
            last = m;
        }
    }
    // Rows whose grades are missing are scored (NaN follows each split's learned direction).
    let missing = (0..x.nrows()).find(|&r| x[[r, 10]].is_nan()).unwrap();
    assert!(model.margin_row(&x.row(missing).to_vec()).is_finite());
    // Bad input is a typed error, not a panic.
    assert_eq!(Gbdt::fit(x.view(), &y[..10], &params, None).unwrap_err().field(), Some("y"));
    let wrong = GbdtParams { monotone_constraints: vec![1], ..GbdtParams::default() };
    assert_eq!(Gbdt::fit(x.view(), &y, &wrong, None).unwrap_err().field(), Some("monotone_constraints"));
    assert_eq!(model.predict_proba(x.slice(s![.., ..3])).unwrap_err().field(), Some("x"));
}

#[test]
fn early_stopping_keeps_the_best_round() {
    let (x, y) = synthetic_risk_data(6_000, 9).unwrap();
    let params =
        GbdtParams { n_estimators: 400, learning_rate: 0.3, early_stopping_rounds: 10, ..GbdtParams::default() };
    let validation = Validation { x: x.slice(s![5_000.., ..]), y: &y[5_000..] };
    let model = Gbdt::fit(x.slice(s![..5_000, ..]), &y[..5_000], &params, Some(validation)).unwrap();
    let best = model.best_iteration.unwrap();
    assert!(best < 400 && model.trees.len() == best, "{best} of {}", model.trees.len());
}

/// On pure noise the held-out metric stops improving within a few rounds: training stops long
/// before `n_estimators`, keeps the trees up to the best round, and that truncated model is the
/// model trained for exactly that many rounds on the same training rows (the hold-out is a
/// stratified draw from the seed, so it can be rebuilt with `holdout_split`).
#[test]
fn early_stopping_on_a_held_out_fraction_stops_on_noise_and_keeps_the_best_round() {
    let (rows, features) = (4_000, 6);
    let mut state = 0x1234_5678_u64;
    let mut next = || {
        state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let x = ndarray::Array2::from_shape_fn((rows, features), |_| next());
    let y: Vec<f64> = (0..rows).map(|_| f64::from(next() < 0.3)).collect();
    let params = GbdtParams {
        n_estimators: 300,
        early_stopping_rounds: 10,
        validation_fraction: 0.2,
        seed: 5,
        ..GbdtParams::default()
    };
    let model = Gbdt::fit(x.view(), &y, &params, None).unwrap();
    let best = model.best_iteration.unwrap();
    assert!(best < 50 && model.trees.len() == best, "stopped at {best} of 300 rounds");
    assert!(model.best_score.unwrap() > 0.0);
    // Deterministic from the seed.
    assert_eq!(Gbdt::fit(x.view(), &y, &params, None).unwrap(), model);

    // The split: stratified, disjoint, covering every row, 20% of each class.
    let (train, held) = holdout_split(&y, 0.2, 5).unwrap();
    assert_eq!(train.len() + held.len(), rows);
    let positives = |r: &[usize]| r.iter().filter(|i| y[**i] == 1.0).count();
    let all_pos = positives(&(0..rows).collect::<Vec<_>>());
    assert_eq!(positives(&held), (all_pos as f64 * 0.2).round() as usize);
    assert_eq!(held.len() - positives(&held), ((rows - all_pos) as f64 * 0.2).round() as usize);

    // The same model as `best` plain rounds on the training rows.
    let xt = x.select(ndarray::Axis(0), &train);
    let yt: Vec<f64> = train.iter().map(|r| y[*r]).collect();
    let plain = GbdtParams { n_estimators: best, early_stopping_rounds: 0, ..params.clone() };
    let exact = Gbdt::fit(xt.view(), &yt, &plain, None).unwrap();
    assert_eq!(exact.trees, model.trees);
    assert_eq!(exact.predict_proba(x.view()).unwrap(), model.predict_proba(x.view()).unwrap());

    // AUC as the metric stops too; without early stopping the fraction changes nothing.
    let by_auc = GbdtParams { early_stopping_metric: StoppingMetric::Auc, ..params.clone() };
    let m = Gbdt::fit(x.view(), &y, &by_auc, None).unwrap();
    assert!(m.best_iteration.unwrap() < 300 && m.best_score.unwrap() > 0.0 && m.best_score.unwrap() < 1.0);
    let off = GbdtParams { n_estimators: 20, early_stopping_rounds: 0, ..params.clone() };
    let full = Gbdt::fit(x.view(), &y, &off, None).unwrap();
    assert_eq!(full.trees.len(), 20);
    assert_eq!(full.best_iteration, None);
    assert_eq!(full, Gbdt::fit(x.view(), &y, &GbdtParams { validation_fraction: 0.0, ..off }, None).unwrap());
    // The fraction is checked.
    let bad = GbdtParams { validation_fraction: 1.0, ..params };
    assert_eq!(Gbdt::fit(x.view(), &y, &bad, None).unwrap_err().code(), "invalid_input");
}

/// A model file written before `best_score` existed still loads, and one with early stopping
/// keeps its best iteration through save and load.
#[test]
fn best_iteration_is_stored_in_the_model_file() {
    let (x, y) = synthetic_risk_data(3_000, 4).unwrap();
    let features: Vec<FeatureSpec> =
        SYNTHETIC_FEATURES.iter().map(|n| FeatureSpec::new(n, n, &format!("{n} = {{value}}"), 0)).collect();
    let params = GbdtParams {
        n_estimators: 400,
        learning_rate: 0.3,
        early_stopping_rounds: 5,
        validation_fraction: 0.1,
        ..GbdtParams::default()
    };
    let file = RiskModelFile::train_gbdt("es", features, x.view(), &y, &params, None).unwrap();
    let best = file.best_iteration().unwrap();
    assert!(best < 400 && file.rounds() == best);
    let back = RiskModelFile::from_json(&file.to_json()).unwrap();
    assert_eq!(back, file);
    assert_eq!(back.best_iteration(), Some(best));
    let old = std::fs::read_to_string(
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/data/risk/model_gbdt.json"),
    )
    .unwrap();
    let old = RiskModelFile::from_json(&old).unwrap();
    assert_eq!(old.best_iteration(), None);
    assert!(old.rounds() > 0);
}

fn gunzip(path: &str) -> String {
    use std::io::Read;
    let file = std::fs::File::open(
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/data/oulad").join(path),
    )
    .unwrap();
    let mut text = String::new();
    flate2::read::GzDecoder::new(file).read_to_string(&mut text).unwrap();
    text
}

fn oulad(cutoff: f64) -> (RiskTable, RiskTable) {
    let info = gunzip("studentInfo.csv.gz");
    let registration = gunzip("studentRegistration.csv.gz");
    let results = gunzip("studentAssessment.csv.gz");
    let assessments = std::fs::read_to_string(
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/data/oulad/assessments.csv"),
    )
    .unwrap();
    let tables = OuladTables {
        student_info: &info,
        student_registration: &registration,
        assessments: &assessments,
        student_assessment: &results,
    };
    let train = oulad_risk_table(tables, cutoff, |_, p| p.starts_with("2013")).unwrap();
    let test = oulad_risk_table(tables, cutoff, |_, p| p.starts_with("2014")).unwrap();
    (train, test)
}

/// OULAD, trained on the 2013 presentations and tested on 2014 at a day-60 cutoff, without click
/// data. scikit-learn's GradientBoosting reaches about 0.78 on a comparable table.
#[test]
fn oulad_day_60_auc() {
    let (train, test) = oulad(60.0);
    let monotone: Vec<i8> = train.features.iter().map(|f| f.monotone).collect();
    let params = GbdtParams {
        n_estimators: 300,
        learning_rate: 0.05,
        num_leaves: 31,
        min_data_in_leaf: 40,
        monotone_constraints: monotone,
        ..GbdtParams::default()
    };
    let model = Gbdt::fit(train.x.view(), &train.y, &params, None).unwrap();
    let p = model.predict_proba(test.x.view()).unwrap();
    let score = auc(&p, &test.y).unwrap();
    eprintln!("OULAD day 60: {} train rows, {} test rows, test AUC {score:.4}", train.y.len(), test.y.len());
    assert!(score >= 0.78, "AUC {score}");
}

/// OULAD's protected attributes stay out of training unless the host opts in; the model file
/// records the choice (old files without the record still load), and no explanation gives a
/// protected attribute as a reason even when the model was trained on it.
#[test]
fn protected_attributes_are_opt_in_recorded_and_never_a_reason() {
    let (train, _) = oulad(60.0);
    let protected = ["gender", "region", "highest_education", "imd_band", "age_band", "disability"];
    assert!(train.features.iter().all(|f| !f.protected && !protected.contains(&f.name.as_str())));
    assert_eq!(train.left_out, protected);
    assert_eq!(train.groups.keys().map(String::as_str).collect::<Vec<_>>(), {
        let mut sorted = protected.to_vec();
        sorted.sort_unstable();
        sorted
    });
    assert!(train.groups.values().all(|g| g.len() == train.y.len()));
    let params = GbdtParams { n_estimators: 40, min_data_in_leaf: 40, ..GbdtParams::default() };
    let plain = RiskModelFile::train_gbdt("plain", train.features.clone(), train.x.view(), &train.y, &params, None)
        .unwrap()
        .with_left_out(&train.left_out);
    assert!(plain.protected.used.is_empty() && plain.protected.left_out.len() == 6);

    let info = gunzip("studentInfo.csv.gz");
    let registration = gunzip("studentRegistration.csv.gz");
    let results = gunzip("studentAssessment.csv.gz");
    let assessments = std::fs::read_to_string(
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/data/oulad/assessments.csv"),
    )
    .unwrap();
    let tables = OuladTables {
        student_info: &info,
        student_registration: &registration,
        assessments: &assessments,
        student_assessment: &results,
    };
    let with = OuladOptions { include_protected: true };
    let all = oulad_risk_table_with(tables, 60.0, |_, p| p.starts_with("2013"), with).unwrap();
    assert!(all.left_out.is_empty() && all.features.len() == train.features.len() + 6);
    let model = RiskModelFile::train_gbdt("all", all.features.clone(), all.x.view(), &all.y, &params, None).unwrap();
    let mut used = model.protected.used.clone();
    used.sort_unstable();
    let mut expected = protected.to_vec();
    expected.sort_unstable();
    assert_eq!(used, expected);
    let is_protected: Vec<bool> = all.features.iter().map(|f| f.protected).collect();
    let mut protected_pushes = 0;
    for r in 0..2_000 {
        let row = all.x.row(r).to_vec();
        let e = model.explain(&row, 30).unwrap();
        protected_pushes += (0..row.len()).filter(|&i| is_protected[i] && e.contributions[i] > 0.0).count();
        assert!(e.reasons.iter().all(|reason| !protected.contains(&reason.feature.as_str())), "{:?}", e.reasons);
    }
    assert!(protected_pushes > 0, "the protected features do move scores; they are only kept out of the reasons");
    // The record round-trips, and a file from before it loads with an empty record.
    let loaded = RiskModelFile::from_json(&model.to_json()).unwrap();
    assert_eq!(loaded.protected, model.protected);
    assert!(loaded.features.iter().filter(|f| f.protected).count() == 6);
    let mut old: serde_json::Value = serde_json::from_str(&plain.to_json()).unwrap();
    old.as_object_mut().unwrap().remove("protected");
    let old = RiskModelFile::from_json(&old.to_string()).unwrap();
    assert_eq!(old.protected, ProtectedAttributes::default());
}

#[test]
fn model_files_round_trip_bit_for_bit_and_refuse_what_they_cannot_read() {
    let (x, y) = synthetic_risk_data(4_000, 21).unwrap();
    let features: Vec<FeatureSpec> =
        SYNTHETIC_FEATURES.iter().map(|n| FeatureSpec::new(n, n, &format!("{n} is {{value}}"), 0)).collect();
    let params = GbdtParams { n_estimators: 30, ..GbdtParams::default() };
    let model = RiskModelFile::train_gbdt("test-1", features.clone(), x.view(), &y, &params, None).unwrap();
    let loaded = RiskModelFile::from_json(&model.to_json()).unwrap();
    assert_eq!(loaded, model);
    let (a, b) = (model.predict_proba(x.view()).unwrap(), loaded.predict_proba(x.view()).unwrap());
    assert!(a.iter().zip(&b).all(|(a, b)| a.to_bits() == b.to_bits()));
    // Block prediction and one-row margins agree bit for bit.
    let Estimator::Gbdt(booster) = &model.estimator else { unreachable!() };
    let margins = booster.margins(x.view()).unwrap();
    for (r, m) in margins.iter().enumerate().take(500) {
        assert_eq!(m.to_bits(), booster.margin_row(&x.row(r).to_vec()).to_bits());
    }
    // Explanations add up to the score's log-odds and read as words.
    let e = model.explain(&x.row(3).to_vec(), 3).unwrap();
    assert!((e.base + e.contributions.iter().sum::<f64>() - e.margin).abs() < 1e-9);
    assert!(e.reasons.len() <= 3 && e.reasons.windows(2).all(|w| w[0].contribution >= w[1].contribution));
    assert!(e.reasons.iter().all(|r| r.contribution > 0.0 && r.text.contains(" is ")));

    let mut v: serde_json::Value = serde_json::from_str(&model.to_json()).unwrap();
    v["version"] = 99.into();
    assert_eq!(RiskModelFile::from_json(&v.to_string()).unwrap_err().code(), "unsupported_version");
    v["version"] = 1.into();
    v["features"].as_array_mut().unwrap().pop();
    assert_eq!(RiskModelFile::from_json(&v.to_string()).unwrap_err().field(), Some("features"));
    assert_eq!(model.predict_proba(x.slice(s![.., ..29])).unwrap_err().field(), Some("features"));
    assert_eq!(model.explain(&[1.0, 2.0], 3).unwrap_err().field(), Some("features"));
    let names: Vec<String> = SYNTHETIC_FEATURES.iter().rev().map(|s| s.to_string()).collect();
    assert!(model.check_feature_names(&names).is_err());
    assert_eq!(RiskModelFile::from_json("{}").unwrap_err().field(), Some("format"));
}

#[test]
fn logistic_baseline_is_interpretable_and_reasonable() {
    let (x, y) = synthetic_risk_data(6_000, 4).unwrap();
    let features: Vec<FeatureSpec> = SYNTHETIC_FEATURES.iter().map(|n| FeatureSpec::new(n, n, "{value}", 0)).collect();
    let model = RiskModelFile::train_logistic("lr-1", features, x.slice(s![..5_000, ..]), &y[..5_000], 1.0).unwrap();
    let p = model.predict_proba(x.slice(s![5_000.., ..])).unwrap();
    let score = auc(&p, &y[5_000..]).unwrap();
    assert!(score > 0.7, "AUC {score}");
    let e = model.explain(&x.row(5_001).to_vec(), 5).unwrap();
    assert!((e.base + e.contributions.iter().sum::<f64>() - e.margin).abs() < 1e-9);
    assert_eq!(RiskModelFile::from_json(&model.to_json()).unwrap(), model);
}

#[test]
fn alerts_carry_reasons_and_every_prediction_is_logged() {
    let (x, y) = synthetic_risk_data(3_000, 8).unwrap();
    let features: Vec<FeatureSpec> = SYNTHETIC_FEATURES.iter().map(|n| FeatureSpec::new(n, n, "{value}", 0)).collect();
    let model = RiskModelFile::train_gbdt(
        "m1",
        features,
        x.view(),
        &y,
        &GbdtParams { n_estimators: 20, ..GbdtParams::default() },
        None,
    )
    .unwrap();
    let learners: Vec<(String, Vec<f64>)> = (0..200).map(|r| (format!("l{r}"), x.row(r).to_vec())).collect();
    let mut log: Vec<PredictionRecord> = Vec::new();
    let alerts = risk_alerts(
        &model,
        "m1",
        &learners,
        &RiskBands::default(),
        &Default::default(),
        3,
        "2026-11-25",
        Some(&mut log),
    )
    .unwrap();
    assert_eq!(log.len(), 200);
    assert!(!alerts.is_empty() && alerts.iter().all(|a| a.score >= 0.4 && !a.reasons.is_empty()));
    assert!(alerts.windows(2).all(|w| w[0].score >= w[1].score));
}

mod leakage {
    use mastery_core::risk::*;
    use proptest::prelude::*;

    fn activity() -> impl Strategy<Value = LearnerActivity> {
        let event = (0.0f64..100.0, 0u32..50, 0.0f64..3600.0).prop_map(|(day, clicks, seconds)| ActivityEvent {
            day,
            clicks,
            seconds,
        });
        let submission = (
            prop::option::of(0.0f64..100.0),
            0.0f64..50.0,
            prop::option::of(0.0f64..100.0),
            prop::option::of(0.0f64..100.0),
        )
            .prop_map(|(due_day, weight, submitted_day, score)| Submission {
                due_day,
                weight,
                submitted_day,
                score,
            });
        let mastery = (0.0f64..100.0, 0usize..4, 0.0f64..1.0, any::<bool>()).prop_map(|(day, c, p_known, mastered)| {
            MasteryObservation { day, competency: format!("c{c}"), p_known, mastered }
        });
        (
            prop::option::of(prop::collection::vec(event, 0..30)),
            prop::collection::vec(submission, 0..8),
            prop::option::of(prop::collection::vec(mastery, 0..10)),
        )
            .prop_map(|(events, submissions, mastery)| LearnerActivity { events, submissions, mastery })
    }

    fn same(a: &[f64], b: &[f64]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
    }

    proptest! {
        /// Changing, adding or removing any record on or after the cutoff changes no feature.
        #[test]
        fn nothing_after_the_cutoff_moves_a_feature(a in activity(), cutoff in 1.0f64..100.0, shift in 0.0f64..50.0, extra in 0u32..20) {
            let before = build_features(&a, cutoff);
            let mut b = a.clone();
            if let Some(events) = b.events.as_mut() {
                events.retain(|e| e.day < cutoff || extra % 2 == 0);
                for e in events.iter_mut().filter(|e| e.day >= cutoff) { e.day += shift; e.clicks += extra; }
                events.push(ActivityEvent { day: cutoff + shift, clicks: extra, seconds: 5.0 });
            }
            for s in b.submissions.iter_mut() {
                // A submission made on or after the cutoff: its day, score and lateness may change.
                if s.submitted_day.is_none_or(|d| d >= cutoff) {
                    s.score = Some(f64::from(extra));
                    s.submitted_day = s.submitted_day.map(|d| d + shift);
                }
            }
            if let Some(m) = b.mastery.as_mut() {
                for o in m.iter_mut().filter(|o| o.day >= cutoff) { o.p_known = 1.0 - o.p_known; o.mastered = !o.mastered; }
                m.push(MasteryObservation { day: cutoff + shift, competency: "new".into(), p_known: 0.9, mastered: true });
            }
            prop_assert!(same(&before, &build_features(&b, cutoff)), "{:?} vs {:?}", before, build_features(&b, cutoff));
        }
    }
}

/// With the `parallel` feature, training runs on a pool of `num_threads` threads (not rayon's
/// global pool), and one, two or every core train the same model.
#[cfg(feature = "parallel")]
#[test]
fn num_threads_is_honoured_and_does_not_change_the_model() {
    // The global pool has two threads whatever the machine, so a fit that ignored num_threads
    // would be seen running on two.
    let _ = rayon::ThreadPoolBuilder::new().num_threads(2).build_global();
    assert_eq!(rayon::current_num_threads(), 2);
    let one = GbdtParams { n_estimators: 5, num_threads: 1, ..GbdtParams::default() };
    assert_eq!(Gbdt::training_threads(&one).unwrap(), 1);
    assert_eq!(Gbdt::training_threads(&GbdtParams { num_threads: 3, ..one.clone() }).unwrap(), 3);
    let (x, y) = synthetic_risk_data(150_000, 2).unwrap();
    let model = Gbdt::fit(x.view(), &y, &one, None).unwrap();
    for threads in [2, 3, 0] {
        let other = GbdtParams { num_threads: threads, ..one.clone() };
        assert_eq!(Gbdt::fit(x.view(), &y, &other, None).unwrap(), model, "{threads} threads");
    }
}

/// The batch explanation (as the at-risk list runs it) is the row-by-row one, exactly.
#[test]
fn explain_many_equals_explain_row_by_row() {
    let (x, y) = synthetic_risk_data(3_000, 21).unwrap();
    let features: Vec<FeatureSpec> = (0..x.ncols())
        .map(|i| FeatureSpec::new(&format!("f{i}"), &format!("feature {i}"), "high {value}", 0))
        .collect();
    let params = GbdtParams { n_estimators: 30, ..GbdtParams::default() };
    let model = RiskModelFile::train_gbdt("v1", features, x.view(), &y, &params, None).unwrap();
    let rows = x.slice(s![..700, ..]);
    let many = model.explain_many(rows, 3).unwrap();
    assert_eq!(many.len(), 700);
    for (r, e) in many.iter().enumerate() {
        // Compared as text: a missing value (NaN) given as a reason is not equal to itself.
        assert_eq!(format!("{e:?}"), format!("{:?}", model.explain(&rows.row(r).to_vec(), 3).unwrap()), "row {r}");
    }
    assert!(model.explain_many(x.slice(s![..2, ..3]), 3).is_err());
}
