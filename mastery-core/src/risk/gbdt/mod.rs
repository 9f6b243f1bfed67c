//! A gradient-boosted tree classifier (binary log loss) in the style of LightGBM: histogram
//! bins, leaf-wise growth, native missing values with a learned default direction, monotone
//! constraints, L2, row and feature subsampling, class weights and early stopping. The same seed
//! gives the same model on every platform; prediction uses portable `libm` arithmetic so scores
//! are bit-identical in Rust, Python, WASM and on phones.

mod bins;
mod grow;
mod shap;
mod tree;

use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};

pub use tree::Tree;

use crate::error::{MasteryError, Result};
use crate::mastery::rng::SplitMix64;
use crate::progress::{self, OnProgress, Progress, Stage};
use bins::{BinMapper, BinnedMatrix};

/// Training parameters, with LightGBM's names and defaults where they mean the same.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GbdtParams {
    pub n_estimators: usize,
    pub learning_rate: f64,
    pub num_leaves: usize,
    /// Unlimited when `usize::MAX` (LightGBM's -1).
    pub max_depth: usize,
    pub max_bin: usize,
    pub min_data_in_leaf: usize,
    pub min_sum_hessian_in_leaf: f64,
    pub lambda_l2: f64,
    pub min_gain_to_split: f64,
    /// Share of rows each tree sees (drawn anew per tree).
    pub bagging_fraction: f64,
    /// Share of features each tree may split on.
    pub feature_fraction: f64,
    /// Per feature: +1 risk may only rise with the value, -1 only fall, 0 free.
    pub monotone_constraints: Vec<i8>,
    /// Weight of the positive class (LightGBM's `scale_pos_weight`).
    pub scale_pos_weight: f64,
    /// Stop when the validation metric has not improved for this many rounds (0: never), and
    /// keep the trees up to the best round.
    pub early_stopping_rounds: usize,
    /// With `early_stopping_rounds` and no validation set given: the share of the training rows
    /// held out to stop on, drawn per class (stratified) from `seed`; the trees learn from the
    /// other rows. 0: no hold-out (early stopping then needs a validation set).
    pub validation_fraction: f64,
    /// What early stopping watches on the validation rows.
    pub early_stopping_metric: StoppingMetric,
    pub seed: u64,
    /// Training threads with the `parallel` feature (0: one per core); ignored without it. Each
    /// fit runs on its own pool of this size. The model is the same whatever the number.
    pub num_threads: usize,
}

impl Default for GbdtParams {
    fn default() -> Self {
        Self {
            n_estimators: 100,
            learning_rate: 0.1,
            num_leaves: 31,
            max_depth: usize::MAX,
            max_bin: 255,
            min_data_in_leaf: 20,
            min_sum_hessian_in_leaf: 1e-3,
            lambda_l2: 0.0,
            min_gain_to_split: 0.0,
            bagging_fraction: 1.0,
            feature_fraction: 1.0,
            monotone_constraints: Vec::new(),
            scale_pos_weight: 1.0,
            early_stopping_rounds: 0,
            validation_fraction: 0.0,
            early_stopping_metric: StoppingMetric::LogLoss,
            seed: 0,
            num_threads: 1,
        }
    }
}

/// The validation metric early stopping watches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StoppingMetric {
    /// Binary log loss (lower is better), LightGBM's and scikit-learn's default.
    #[default]
    LogLoss,
    /// ROC AUC (higher is better).
    Auc,
}

impl StoppingMetric {
    /// The metric of margins against labels, signed so that lower is better.
    fn loss(self, margins: &[f64], y: &[f64]) -> f64 {
        match self {
            Self::LogLoss => log_loss(margins, y),
            Self::Auc => -auc_of_margins(margins, y),
        }
    }

    /// The metric as reported (AUC positive again).
    fn reported(self, loss: f64) -> f64 {
        match self {
            Self::LogLoss => loss,
            Self::Auc => -loss,
        }
    }
}

impl GbdtParams {
    fn validate(&self, features: usize) -> Result<()> {
        let bad = |field: &str, why: &str| Err(MasteryError::invalid(field.to_owned(), why.to_owned()));
        if self.n_estimators == 0 {
            return bad("n_estimators", "must be at least 1");
        }
        if !(self.learning_rate > 0.0 && self.learning_rate.is_finite()) {
            return bad("learning_rate", "must be positive");
        }
        if self.num_leaves < 2 {
            return bad("num_leaves", "must be at least 2");
        }
        if !(2..=255).contains(&self.max_bin) {
            return bad("max_bin", "must be between 2 and 255");
        }
        if self.max_depth == 0 {
            return bad("max_depth", "must be at least 1");
        }
        if self.min_data_in_leaf == 0 {
            return bad("min_data_in_leaf", "must be at least 1");
        }
        for (field, v) in [("bagging_fraction", self.bagging_fraction), ("feature_fraction", self.feature_fraction)] {
            if !(v > 0.0 && v <= 1.0) {
                return bad(field, "must be in (0, 1]");
            }
        }
        if !(self.lambda_l2 >= 0.0 && self.scale_pos_weight > 0.0 && self.min_sum_hessian_in_leaf >= 0.0) {
            return bad("lambda_l2", "lambda_l2 and min_sum_hessian_in_leaf must be >= 0, scale_pos_weight > 0");
        }
        if !(0.0..1.0).contains(&self.validation_fraction) {
            return bad("validation_fraction", "must be in [0, 1)");
        }
        if !self.monotone_constraints.is_empty()
            && (self.monotone_constraints.len() != features
                || self.monotone_constraints.iter().any(|c| !(-1..=1).contains(c)))
        {
            return bad("monotone_constraints", "must hold -1, 0 or 1 for every feature");
        }
        Ok(())
    }
}

/// A trained booster: the sum of its trees' outputs plus `init_score` is the log-odds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gbdt {
    pub features: usize,
    pub init_score: f64,
    pub trees: Vec<Tree>,
    /// When early stopping ran: the number of rounds up to the best validation metric (the
    /// trees after it are dropped, so it is also the number of trees).
    #[serde(default)]
    pub best_iteration: Option<usize>,
    /// The validation metric at the best iteration (log loss or AUC, as the params said; absent
    /// in files from before it was recorded and when early stopping did not run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub best_score: Option<f64>,
    /// The leaf paths TreeSHAP walks, built at the first explanation.
    #[serde(skip)]
    shap: ShapCache,
}

/// [`shap::ShapTables`] for the trees they were built from (equal whatever it holds: it is
/// derived from the model).
#[derive(Debug, Clone, Default)]
struct ShapCache(std::sync::OnceLock<(Fingerprint, shap::ShapTables)>);

/// Rows per parallel chunk of [`Gbdt::shap_rows`].
#[cfg(feature = "parallel")]
const SHAP_CHUNK: usize = shap::BLOCK;

/// Tells whether the public fields changed since the tables were built.
type Fingerprint = (usize, u64, usize);

impl PartialEq for ShapCache {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// A validation set for early stopping.
#[derive(Debug, Clone, Copy)]
pub struct Validation<'a> {
    pub x: ArrayView2<'a, f64>,
    pub y: &'a [f64],
}

pub(crate) fn sigmoid(margin: f64) -> f64 {
    1.0 / (1.0 + libm::exp(-margin))
}

fn check_labels(y: &[f64], rows: usize) -> Result<()> {
    if y.len() != rows {
        return Err(MasteryError::invalid("y", "must have one label per row"));
    }
    if y.iter().any(|v| *v != 0.0 && *v != 1.0) {
        return Err(MasteryError::invalid("y", "labels must be 0 or 1"));
    }
    Ok(())
}

/// Binary log loss of margins against labels.
fn log_loss(margins: &[f64], y: &[f64]) -> f64 {
    let eps = 1e-15;
    let total: f64 = margins
        .iter()
        .zip(y)
        .map(|(m, t)| {
            let p = sigmoid(*m).clamp(eps, 1.0 - eps);
            -(t * libm::log(p) + (1.0 - t) * libm::log(1.0 - p))
        })
        .sum();
    total / y.len().max(1) as f64
}

/// ROC AUC of margins against labels 0/1 (ties count half); 0.5 when a class is absent.
fn auc_of_margins(margins: &[f64], y: &[f64]) -> f64 {
    let mut order: Vec<usize> = (0..margins.len()).collect();
    order.sort_by(|a, b| margins[*a].total_cmp(&margins[*b]));
    let (mut rank_sum, mut i) = (0.0, 0);
    while i < order.len() {
        // Rows with equal margins share the mean of their ranks (1-based).
        let mut j = i;
        while j + 1 < order.len() && margins[order[j + 1]] == margins[order[i]] {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        rank_sum += order[i..=j].iter().filter(|r| y[**r] == 1.0).count() as f64 * rank;
        i = j + 1;
    }
    let pos = y.iter().filter(|t| **t == 1.0).count() as f64;
    let neg = y.len() as f64 - pos;
    if pos == 0.0 || neg == 0.0 {
        return 0.5;
    }
    (rank_sum - pos * (pos + 1.0) / 2.0) / (pos * neg)
}

/// The rows held out for early stopping: `fraction` of each class (rounded, at least one row
/// of a class with two or more rows, never all of them), drawn from `seed`. Returns the training
/// and the held-out row indices, each in ascending order. The same labels, fraction and seed
/// give the same split on every platform.
pub fn holdout_split(y: &[f64], fraction: f64, seed: u64) -> Result<(Vec<usize>, Vec<usize>)> {
    if !(fraction > 0.0 && fraction < 1.0) {
        return Err(MasteryError::invalid("validation_fraction", "must be in (0, 1) to hold rows out"));
    }
    // Its own stream ("holdout"), so bagging draws the same numbers with or without a hold-out.
    let mut rng = SplitMix64::new(seed ^ 0x0068_6f6c_646f_7574);
    let (mut train, mut held) = (Vec::new(), Vec::new());
    for class in [0.0, 1.0] {
        let mut rows: Vec<usize> = (0..y.len()).filter(|r| y[*r] == class).collect();
        let n = rows.len();
        let k = if n < 2 { 0 } else { ((n as f64 * fraction).round() as usize).clamp(1, n - 1) };
        // The first k rows of a Fisher-Yates shuffle.
        for i in 0..k {
            let j = i + (rng.next_u64() % (n - i) as u64) as usize;
            rows.swap(i, j);
        }
        held.extend_from_slice(&rows[..k]);
        train.extend_from_slice(&rows[k..]);
    }
    if held.is_empty() {
        return Err(MasteryError::invalid("validation_fraction", "leaves no rows to validate on"));
    }
    train.sort_unstable();
    held.sort_unstable();
    Ok((train, held))
}

/// Each row's log-loss gradient and hessian, weighted, as packed levels of `scale`, from its odds
/// against (`exp(-margin)`, so `p = 1 / (1 + odds)`) (on the thread pool with the `parallel`
/// feature: each row on its own, so the values do not depend on the threads).
fn gradients(
    levels: &mut [i64],
    scale: grow::Scale,
    odds_against: &[f64],
    y: &[f64],
    weight: &(impl Fn(f64) -> f64 + Sync),
) {
    let one = |level: &mut i64, odds: f64, t: f64| {
        let (p, w) = (1.0 / (1.0 + odds), weight(t));
        *level = scale.pack((p - t) * w, p * (1.0 - p) * w);
    };
    #[cfg(feature = "parallel")]
    if rayon::current_num_threads() > 1 {
        use rayon::prelude::*;
        levels
            .par_chunks_mut(16_384)
            .zip(odds_against.par_chunks(16_384))
            .zip(y.par_chunks(16_384))
            .for_each(|((l, o), y)| l.iter_mut().zip(o).zip(y).for_each(|((l, o), t)| one(l, *o, *t)));
        return;
    }
    levels.iter_mut().zip(odds_against).zip(y).for_each(|((l, o), t)| one(l, *o, *t));
}

/// Multiplies each row's odds against by its leaf's factor (per row, so on the thread pool with
/// the `parallel` feature the values do not depend on the threads).
fn update_odds(odds_against: &mut [f64], leaf_of: &[u32], factor: &[f64]) {
    let one = |odds: &mut f64, leaf: &u32| *odds *= factor[*leaf as usize];
    #[cfg(feature = "parallel")]
    if rayon::current_num_threads() > 1 {
        use rayon::prelude::*;
        odds_against
            .par_chunks_mut(16_384)
            .zip(leaf_of.par_chunks(16_384))
            .for_each(|(o, l)| o.iter_mut().zip(l).for_each(|(o, l)| one(o, l)));
        return;
    }
    odds_against.iter_mut().zip(leaf_of).for_each(|(o, l)| one(o, l));
}

/// Runs `work` on a thread pool of `threads` threads (0: one per core) with the `parallel`
/// feature, so the caller's `num_threads` holds whatever rayon's global pool is; on this thread
/// without it.
fn in_pool<R: Send>(threads: usize, work: impl FnOnce() -> R + Send) -> Result<R> {
    #[cfg(feature = "parallel")]
    {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("mastery-gbdt-{i}"))
            .build()
            .map_err(|e| MasteryError::invalid("num_threads", format!("cannot start the training threads: {e}")))?;
        Ok(pool.install(work))
    }
    #[cfg(not(feature = "parallel"))]
    {
        let _ = threads;
        Ok(work())
    }
}

impl Gbdt {
    /// The number of threads a fit with `params` trains on (what `rayon::current_num_threads()`
    /// reports inside training; 1 without the `parallel` feature).
    #[doc(hidden)]
    pub fn training_threads(params: &GbdtParams) -> Result<usize> {
        in_pool(params.num_threads, || {
            #[cfg(feature = "parallel")]
            return rayon::current_num_threads();
            #[cfg(not(feature = "parallel"))]
            return 1;
        })
    }

    /// Trains on `x` (rows × features, NaN = missing) and labels 0/1, on `params.num_threads`
    /// threads.
    pub fn fit(
        x: ArrayView2<'_, f64>,
        y: &[f64],
        params: &GbdtParams,
        validation: Option<Validation<'_>>,
    ) -> Result<Self> {
        Self::fit_with(x, y, params, validation, &progress::silent)
    }

    /// [`Gbdt::fit`] reporting [`Stage::BoosterRounds`] progress before and after every round;
    /// the callback's `Break` stops training with [`MasteryError::Cancelled`].
    pub fn fit_with(
        x: ArrayView2<'_, f64>,
        y: &[f64],
        params: &GbdtParams,
        validation: Option<Validation<'_>>,
        on_progress: OnProgress<'_>,
    ) -> Result<Self> {
        in_pool(params.num_threads, || Self::fit_here(x, y, params, validation, on_progress))?
    }

    fn fit_here(
        x: ArrayView2<'_, f64>,
        y: &[f64],
        params: &GbdtParams,
        validation: Option<Validation<'_>>,
        on_progress: OnProgress<'_>,
    ) -> Result<Self> {
        let (rows, features) = x.dim();
        if rows == 0 || features == 0 {
            return Err(MasteryError::invalid("x", "needs at least one row and one feature"));
        }
        check_labels(y, rows)?;
        params.validate(features)?;
        if x.iter().any(|v| v.is_infinite()) {
            return Err(MasteryError::invalid("x", "infinite values are not allowed (NaN means missing)"));
        }
        if let Some(v) = &validation {
            check_labels(v.y, v.x.nrows())?;
            if v.x.ncols() != features {
                return Err(MasteryError::invalid("validation", "must have the training set's features"));
            }
        }
        if validation.is_none() && params.early_stopping_rounds > 0 && params.validation_fraction > 0.0 {
            // Hold rows out and train on the rest; the bins are learnt from the training rows only.
            let (train, held) = holdout_split(y, params.validation_fraction, params.seed)?;
            let pick = |rows: &[usize]| -> Vec<f64> { rows.iter().map(|r| y[*r]).collect() };
            let (xt, yt) = (x.select(ndarray::Axis(0), &train), pick(&train));
            let (xv, yv) = (x.select(ndarray::Axis(0), &held), pick(&held));
            let inner = GbdtParams { validation_fraction: 0.0, ..params.clone() };
            return Self::fit_here(xt.view(), &yt, &inner, Some(Validation { x: xv.view(), y: &yv }), on_progress);
        }

        let mappers = BinMapper::fit_all(x, params.max_bin);
        let binned = BinnedMatrix::new(x, &mappers);
        let thresholds: Vec<Vec<f64>> = mappers.iter().map(|m| m.upper.clone()).collect();
        let bins_per_feature: Vec<usize> = mappers.iter().map(BinMapper::bins).collect();
        let monotone = if params.monotone_constraints.is_empty() {
            vec![0; features]
        } else {
            params.monotone_constraints.clone()
        };
        let weight = |t: f64| if t == 1.0 { params.scale_pos_weight } else { 1.0 };

        // Start from the weighted base rate's log-odds.
        let (pos, total) = y.iter().fold((0.0, 0.0), |(p, t), v| (p + v * weight(*v), t + weight(*v)));
        let base = (pos / total).clamp(1e-12, 1.0 - 1e-12);
        let init_score = libm::log(base / (1.0 - base));

        // Each row's odds against, `exp(-margin)`: a tree multiplies them by `exp(-leaf value)`,
        // one exponential per leaf rather than per row.
        let mut odds_against = vec![libm::exp(-init_score); rows];
        let mut leaf_of = vec![0u32; rows];
        let mut levels = vec![0i64; rows];
        let scale = grow::Scale::for_log_loss(params.scale_pos_weight.max(1.0));
        let mut val_margin = validation.map(|v| vec![init_score; v.x.nrows()]);
        let mut val_row = vec![0.0; features];
        let mut rng = SplitMix64::new(params.seed);
        let mut model = Self {
            features,
            init_score,
            trees: Vec::new(),
            best_iteration: None,
            best_score: None,
            shap: ShapCache::default(),
        };
        let (mut best_loss, mut best_round) = (f64::INFINITY, 0usize);
        let mut rows_buf: Vec<u32> = Vec::with_capacity(rows);

        let total = params.n_estimators;
        for round in 0..params.n_estimators {
            progress::report(on_progress, Progress { stage: Stage::BoosterRounds, done: round, total })?;
            gradients(&mut levels, scale, &odds_against, y, &weight);
            rows_buf.clear();
            if params.bagging_fraction < 1.0 {
                rows_buf.extend((0..rows as u32).filter(|_| rng.uniform(0.0, 1.0) < params.bagging_fraction));
            } else {
                rows_buf.extend(0..rows as u32);
            }
            let chosen: Vec<usize> = if params.feature_fraction < 1.0 {
                let k = ((features as f64 * params.feature_fraction).round() as usize).max(1);
                let mut all: Vec<usize> = (0..features).collect();
                for i in 0..k {
                    let j = i + (rng.next_u64() % (features - i) as u64) as usize;
                    all.swap(i, j);
                }
                let mut picked = all[..k].to_vec();
                picked.sort_unstable();
                picked
            } else {
                (0..features).collect()
            };
            let input = grow::GrowInput {
                x: &binned,
                levels: &levels,
                scale,
                bins_per_feature: &bins_per_feature,
                thresholds: &thresholds,
                monotone: &monotone,
                features: &chosen,
                params,
            };
            let (tree, ranges) = grow::grow(&input, &mut rows_buf);
            // Every row's leaf: from the leaves' ranges when every row is in one, else by walking.
            if rows_buf.len() == rows {
                for (k, range) in ranges.into_iter().enumerate() {
                    for &r in &rows_buf[range] {
                        leaf_of[r as usize] = k as u32;
                    }
                }
            } else {
                for (r, leaf) in leaf_of.iter_mut().enumerate() {
                    *leaf = leaf_binned(&tree, &binned, r, &mappers) as u32;
                }
            }
            let factor: Vec<f64> = tree.leaf_value.iter().map(|v| libm::exp(-v)).collect();
            update_odds(&mut odds_against, &leaf_of, &factor);
            if let (Some(v), Some(vm)) = (&validation, val_margin.as_mut()) {
                for (r, row) in v.x.outer_iter().enumerate() {
                    val_row.iter_mut().zip(row.iter()).for_each(|(d, s)| *d = *s);
                    vm[r] += tree.predict(&val_row);
                }
            }
            model.trees.push(tree);
            if let (Some(v), Some(vm)) = (&validation, &val_margin) {
                let loss = params.early_stopping_metric.loss(vm, v.y);
                if loss < best_loss {
                    (best_loss, best_round) = (loss, round);
                } else if params.early_stopping_rounds > 0 && round - best_round >= params.early_stopping_rounds {
                    break;
                }
            }
        }
        progress::report(on_progress, Progress { stage: Stage::BoosterRounds, done: model.trees.len(), total })?;
        if validation.is_some() && params.early_stopping_rounds > 0 {
            model.trees.truncate(best_round + 1);
            model.best_iteration = Some(best_round + 1);
            model.best_score = Some(params.early_stopping_metric.reported(best_loss));
        }
        Ok(model)
    }

    fn check_width(&self, x: &ArrayView2<'_, f64>) -> Result<()> {
        if x.ncols() != self.features {
            return Err(MasteryError::invalid(
                "x",
                format!("has {} features; the model was trained on {}", x.ncols(), self.features),
            ));
        }
        Ok(())
    }

    /// The log-odds of one row.
    pub fn margin_row(&self, row: &[f64]) -> f64 {
        let mut m = self.init_score;
        for t in &self.trees {
            m += t.predict(row);
        }
        m
    }

    /// P(at risk) per row.
    pub fn predict_proba(&self, x: ArrayView2<'_, f64>) -> Result<Vec<f64>> {
        Ok(self.margins(x)?.into_iter().map(sigmoid).collect())
    }

    /// The log-odds per row. Rows go through the trees in blocks: each tree is walked for a
    /// block of rows at once (its nodes stay in cache, and the independent walks overlap).
    pub fn margins(&self, x: ArrayView2<'_, f64>) -> Result<Vec<f64>> {
        self.check_width(&x)?;
        const BLOCK: usize = 64;
        if x.nrows() < BLOCK {
            // A few rows (one learner, an explanation): walk the trees as they are rather than
            // packing them first. The sums are the same, bit for bit.
            let mut row = vec![0.0; self.features];
            return Ok(x
                .outer_iter()
                .map(|r| {
                    row.iter_mut().zip(r.iter()).for_each(|(d, s)| *d = *s);
                    self.margin_row(&row)
                })
                .collect());
        }
        let trees: Vec<(Vec<Node>, usize)> = self.trees.iter().map(Node::flatten).collect();
        let nf = self.features;
        let mut out = Vec::with_capacity(x.nrows());
        let mut block = vec![0.0; BLOCK * nf];
        let mut margins = [0.0; BLOCK];
        let mut at = [0u32; BLOCK];
        let mut start = 0;
        while start < x.nrows() {
            let n = BLOCK.min(x.nrows() - start);
            for i in 0..n {
                let row = x.row(start + i);
                block[i * nf..(i + 1) * nf].iter_mut().zip(row.iter()).for_each(|(d, s)| *d = *s);
            }
            margins[..n].fill(self.init_score);
            for (tree, (nodes, depth)) in self.trees.iter().zip(&trees) {
                // Every row takes `depth` steps; leaves point at themselves, so no walk branches.
                at[..n].fill(0);
                for _ in 0..*depth {
                    for (i, a) in at[..n].iter_mut().enumerate() {
                        let nd = &nodes[*a as usize];
                        let v = block[i * nf + nd.feature as usize];
                        let left = (v <= nd.threshold) | (nd.default_left & v.is_nan());
                        *a = if left { nd.left } else { nd.right };
                    }
                }
                let first_leaf = tree.feature.len();
                for (m, a) in margins[..n].iter_mut().zip(&at[..n]) {
                    *m += tree.leaf_value[*a as usize - first_leaf];
                }
            }
            out.extend_from_slice(&margins[..n]);
            start += n;
        }
        Ok(out)
    }

    /// TreeSHAP contributions of one row: one per feature, then the base value; they sum to
    /// the row's log-odds.
    ///
    /// Every leaf's path is prepared once per model (see `shap.rs`); [`Tree::shap`] is the
    /// recursive algorithm, which gives the same values within rounding.
    pub fn shap_row(&self, row: &[f64]) -> Vec<f64> {
        let mut phi = vec![0.0; self.features + 1];
        self.with_shap_tables(|tables| tables.row(row, &self.trees, &mut phi));
        phi
    }

    /// TreeSHAP contributions of every row of `x`, row-major: `features + 1` values per row
    /// (the last the base value). The same values as [`Gbdt::shap_row`] row by row, computed
    /// tree by tree over blocks of rows so each tree's tables stay in cache.
    pub fn shap_rows(&self, x: ArrayView2<'_, f64>) -> Result<Vec<f64>> {
        self.check_width(&x)?;
        let x = x.as_standard_layout();
        let values = x.as_slice().unwrap_or_default();
        let (width, mut phi) = (self.features, vec![0.0; x.nrows() * (self.features + 1)]);
        self.with_shap_tables(|tables| {
            // With the `parallel` feature, chunks of rows run on the caller's thread pool; each
            // row's values do not depend on the chunking.
            #[cfg(feature = "parallel")]
            if rayon::current_num_threads() > 1 && width > 0 && x.nrows() >= 2 * SHAP_CHUNK {
                use rayon::prelude::*;
                values
                    .par_chunks(SHAP_CHUNK * width.max(1))
                    .zip(phi.par_chunks_mut(SHAP_CHUNK * (width + 1)))
                    .for_each(|(x, phi)| tables.rows(x, width, &self.trees, phi));
                return;
            }
            tables.rows(values, width, &self.trees, &mut phi)
        });
        Ok(phi)
    }

    fn with_shap_tables(&self, explain: impl FnOnce(&shap::ShapTables)) {
        let fingerprint = self.fingerprint();
        let (built, tables) =
            self.shap.0.get_or_init(|| (fingerprint, shap::ShapTables::new(self.init_score, &self.trees)));
        if *built == fingerprint {
            explain(tables);
        } else {
            // The trees were changed after the tables were built.
            explain(&shap::ShapTables::new(self.init_score, &self.trees));
        }
    }

    fn fingerprint(&self) -> Fingerprint {
        (self.trees.len(), self.init_score.to_bits(), self.trees.iter().map(|t| t.feature.len()).sum())
    }

    /// Per feature: how many splits use it, and the loss reduction they bring.
    pub fn importance(&self) -> (Vec<u32>, Vec<f64>) {
        let mut splits = vec![0u32; self.features];
        let mut gain = vec![0.0; self.features];
        for t in &self.trees {
            for (f, g) in t.feature.iter().zip(&t.gain) {
                splits[*f as usize] += 1;
                gain[*f as usize] += g;
            }
        }
        (splits, gain)
    }

    /// Refuses a model whose trees do not fit its feature count (a corrupt or foreign file).
    pub(crate) fn check(&self) -> Result<()> {
        if !self.init_score.is_finite() || self.trees.iter().any(|t| !t.is_well_formed(self.features)) {
            return Err(MasteryError::invalid("trees", "the model's trees are malformed"));
        }
        Ok(())
    }
}

/// One node, packed for prediction: internal nodes first, then one per leaf that sends every
/// row back to itself.
#[derive(Debug, Clone, Copy)]
struct Node {
    threshold: f64,
    feature: u32,
    left: u32,
    right: u32,
    default_left: bool,
}

impl Node {
    /// The nodes and the tree's depth.
    fn flatten(tree: &Tree) -> (Vec<Node>, usize) {
        let internal = tree.feature.len();
        let index = |child: i32| if child < 0 { (internal + !child as usize) as u32 } else { child as u32 };
        let mut nodes: Vec<Node> = (0..internal)
            .map(|i| Node {
                threshold: tree.threshold[i],
                feature: tree.feature[i],
                left: index(tree.left[i]),
                right: index(tree.right[i]),
                default_left: tree.default_left[i],
            })
            .collect();
        for leaf in 0..tree.leaf_value.len() {
            let me = (internal + leaf) as u32;
            nodes.push(Node { threshold: f64::INFINITY, feature: 0, left: me, right: me, default_left: true });
        }
        fn depth(tree: &Tree, child: i32) -> usize {
            if child < 0 {
                0
            } else {
                1 + depth(tree, tree.left[child as usize]).max(depth(tree, tree.right[child as usize]))
            }
        }
        let d = if internal == 0 { 0 } else { depth(tree, 0) };
        (nodes, d)
    }
}

/// The leaf a training row falls into, walked on bins (the same leaf as the raw walk, by
/// construction: bin `b` holds the values up to the threshold of a split at `b`).
fn leaf_binned(tree: &Tree, x: &BinnedMatrix, r: usize, mappers: &[BinMapper]) -> usize {
    if tree.feature.is_empty() {
        return 0;
    }
    let mut node = 0usize;
    loop {
        let f = tree.feature[node] as usize;
        let b = x.columns[f][r];
        let left = if b == bins::MISSING {
            tree.default_left[node]
        } else {
            mappers[f].upper[b as usize] <= tree.threshold[node]
        };
        let next = if left { tree.left[node] } else { tree.right[node] };
        if next < 0 {
            return !next as usize;
        }
        node = next as usize;
    }
}
