//! At-risk prediction: the booster learns, explains additively, is deterministic and respects
//! monotone constraints.

#![allow(clippy::unwrap_used)]

use mastery_core::risk::*;
use ndarray::s;

fn auc(p: &[f64], y: &[f64]) -> f64 {
    let mut idx: Vec<usize> = (0..p.len()).collect();
    idx.sort_by(|a, b| p[*a].total_cmp(&p[*b]));
    let (mut rank_sum, pos) = (0.0, y.iter().sum::<f64>());
    for (rank, i) in idx.iter().enumerate() {
        if y[*i] == 1.0 {
            rank_sum += (rank + 1) as f64;
        }
    }
    (rank_sum - pos * (pos + 1.0) / 2.0) / (pos * (y.len() as f64 - pos))
}

#[test]
fn learns_explains_and_is_deterministic() {
    let (x, y) = synthetic_risk_data(12_000, 7);
    let (train, test) = (x.slice(s![..10_000, ..]), x.slice(s![10_000.., ..]));
    let params =
        GbdtParams { n_estimators: 60, bagging_fraction: 0.8, feature_fraction: 0.8, seed: 3, ..GbdtParams::default() };
    let model = Gbdt::fit(train, &y[..10_000], &params, None).unwrap();
    let p = model.predict_proba(test).unwrap();
    let score = auc(&p, &y[10_000..]);
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
    let (x, y) = synthetic_risk_data(3_000, 11);
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

#[test]
fn monotone_constraints_hold_and_missing_values_learn_a_direction() {
    let (x, y) = synthetic_risk_data(8_000, 5);
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
    let (x, y) = synthetic_risk_data(6_000, 9);
    let params =
        GbdtParams { n_estimators: 400, learning_rate: 0.3, early_stopping_rounds: 10, ..GbdtParams::default() };
    let validation = Validation { x: x.slice(s![5_000.., ..]), y: &y[5_000..] };
    let model = Gbdt::fit(x.slice(s![..5_000, ..]), &y[..5_000], &params, Some(validation)).unwrap();
    let best = model.best_iteration.unwrap();
    assert!(best < 400 && model.trees.len() == best, "{best} of {}", model.trees.len());
}
