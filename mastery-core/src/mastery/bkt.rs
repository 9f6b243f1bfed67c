//! Bayesian Knowledge Tracing with pyBKT's semantics: the standard model plus `forgets`,
//! `multilearn` (learn/forget per template), `multigs` (guess/slip per template); EM with seeded
//! restarts and bounds; prediction; and an O(1) online update.
//!
//! Conventions (as pyBKT): the transition into attempt t uses the learn class of attempt t-1;
//! guess and slip use the attempt's own class; `state` is P(known) *before* the attempt is
//! observed and `correct` = P(known)(1 - slip) + (1 - P(known)) guess.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::ops::ControlFlow;

use serde::{Deserialize, Serialize};

use super::metrics::{evaluate, Evaluation};
use super::rng::SplitMix64;
use crate::error::{MasteryError, Result};
use crate::progress::{self, OnProgress, Progress, Stage};
use replay::{Predictions, Replay};

mod lanes;
mod replay;

/// One skill's parameters. Learn/forget have one entry per learn class, guess/slip per guess-slip class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BktParams {
    /// P(known) before the first attempt (for learners of a prior group the model has not seen,
    /// when `priors` is used).
    #[serde(deserialize_with = "null_as_nan::one")]
    pub prior: f64,
    /// `multiprior`: P(known) before the first attempt, per prior group (see `prior_groups`).
    #[serde(default, skip_serializing_if = "Vec::is_empty", deserialize_with = "null_as_nan::many")]
    pub priors: Vec<f64>,
    #[serde(deserialize_with = "null_as_nan::many")]
    pub learns: Vec<f64>,
    #[serde(deserialize_with = "null_as_nan::many")]
    pub forgets: Vec<f64>,
    #[serde(deserialize_with = "null_as_nan::many")]
    pub guesses: Vec<f64>,
    #[serde(deserialize_with = "null_as_nan::many")]
    pub slips: Vec<f64>,
}

/// JSON writes NaN as `null`; reading it back gives NaN, which validation then refuses with a
/// typed error naming `params` (rather than a bare deserialisation failure).
mod null_as_nan {
    use serde::{Deserialize, Deserializer};

    pub fn one<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
    }

    pub fn many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
        Ok(Vec::<Option<f64>>::deserialize(d)?.into_iter().map(|x| x.unwrap_or(f64::NAN)).collect())
    }
}

impl BktParams {
    fn validate(&self) -> Result<()> {
        let probabilities = std::iter::once(&self.prior)
            .chain(&self.priors)
            .chain(&self.learns)
            .chain(&self.forgets)
            .chain(&self.guesses)
            .chain(&self.slips);
        if probabilities.clone().any(|p| !p.is_finite() || !(0.0..=1.0).contains(p)) {
            return Err(MasteryError::invalid("params", "every parameter must be a finite probability in [0, 1]"));
        }
        if self.learns.is_empty() || self.learns.len() != self.forgets.len() {
            return Err(MasteryError::invalid("params.learns", "need one learn and one forget per learn class"));
        }
        if self.guesses.is_empty() || self.guesses.len() != self.slips.len() {
            return Err(MasteryError::invalid("params.guesses", "need one guess and one slip per guess class"));
        }
        Ok(())
    }
}

/// What to fit and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BktOptions {
    /// Fit a forget probability (knowledge can be lost between attempts).
    pub forgets: bool,
    /// One learn (and forget) rate per template.
    pub multilearn: bool,
    /// One guess and slip per template.
    pub multigs: bool,
    /// One prior per prior group (each learner's group is the `prior_group` of their first row;
    /// pyBKT groups by the first answer's correctness by default).
    pub multiprior: bool,
    /// Random restarts; the fit with the highest log-likelihood wins.
    pub num_fits: usize,
    pub max_iter: usize,
    /// Stop when the log-likelihood changes by at most this much (pyBKT's rule; pyBKT's own
    /// default tolerance is 1e-3).
    pub tol: f64,
    pub seed: u64,
    /// Caps that keep fits from degenerating (guess or slip above 0.5 inverts the model).
    pub max_guess: Option<f64>,
    pub max_slip: Option<f64>,
    /// Where EM's random restarts are drawn from.
    pub starts: BktStarts,
}

/// The distribution of EM's random restarts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BktStarts {
    /// Away from the edges: prior in [0.05, 0.95], learn in [0.02, 0.4], guess and slip in [0.01, 0.3].
    #[default]
    Mastery,
    /// pyBKT's: prior in [0, 1], learn in [0, 0.4], guess in [0, 0.4], slip in [0, 0.3], forget in [0, 1].
    PyBkt,
}

/// Upper bounds on counts a caller passes: beyond them a call would run for days, not fail.
const MAX_FITS: usize = 1_000;
const MAX_ITER: usize = 100_000;
const MAX_FOLDS: usize = 1_000;

impl BktOptions {
    /// pyBKT's defaults: no caps on guess and slip, tolerance 1e-3, pyBKT's restart distribution
    /// (the core's own default keeps its caps of 0.3).
    pub fn pybkt() -> Self {
        Self { max_guess: None, max_slip: None, tol: 1e-3, starts: BktStarts::PyBkt, ..Self::default() }
    }

    fn validate(&self) -> Result<()> {
        if self.num_fits == 0 || self.num_fits > MAX_FITS {
            return Err(MasteryError::invalid("num_fits", format!("must be between 1 and {MAX_FITS}")));
        }
        if self.max_iter == 0 || self.max_iter > MAX_ITER {
            return Err(MasteryError::invalid("max_iter", format!("must be between 1 and {MAX_ITER}")));
        }
        let cap_ok = |c: Option<f64>| c.is_none_or(|c| c.is_finite() && (0.0..=1.0).contains(&c));
        if !cap_ok(self.max_guess) || !cap_ok(self.max_slip) {
            return Err(MasteryError::invalid("max_guess", "caps must be probabilities in [0, 1]"));
        }
        if self.tol.is_nan() {
            return Err(MasteryError::invalid("tol", "is not a number"));
        }
        Ok(())
    }
}

impl Default for BktOptions {
    fn default() -> Self {
        Self {
            forgets: false,
            multilearn: false,
            multigs: false,
            multiprior: false,
            num_fits: 5,
            max_iter: 100,
            tol: 0.005,
            seed: 42,
            max_guess: Some(0.3),
            max_slip: Some(0.3),
            starts: BktStarts::Mastery,
        }
    }
}

/// One observed answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    pub learner: String,
    pub skill: String,
    pub correct: bool,
    /// Position in the learner's history; rows without one keep their input order.
    #[serde(default)]
    pub order: Option<i64>,
    /// The item template (for `multilearn` / `multigs`).
    #[serde(default)]
    pub template: Option<String>,
    /// The prior group (for `multiprior`); a learner's first row decides.
    #[serde(default)]
    pub prior_group: Option<String>,
}

/// Responses in columns, with learners, skills and templates as indexes into name lists: the
/// compact form fitting and prediction work on (and what bindings build from DataFrame codes).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResponseTable {
    pub learner: Vec<u32>,
    pub skill: Vec<u32>,
    pub correct: Vec<bool>,
    /// Position in the learner's history; without it rows keep their input order.
    #[serde(default)]
    pub order: Option<Vec<i64>>,
    /// Template index per row (for `multilearn` / `multigs`).
    #[serde(default)]
    pub template: Option<Vec<u32>>,
    /// Prior-group index per row (for `multiprior`).
    #[serde(default)]
    pub prior_group: Option<Vec<u32>>,
    pub skill_names: Vec<String>,
    #[serde(default)]
    pub template_names: Vec<String>,
    #[serde(default)]
    pub prior_group_names: Vec<String>,
}

impl ResponseTable {
    /// Interns names; learner codes follow first appearance.
    pub fn from_rows(rows: &[Response]) -> Self {
        fn code<'a>(names: &mut HashMap<&'a str, u32>, name: &'a str) -> u32 {
            let next = names.len() as u32;
            *names.entry(name).or_insert(next)
        }
        let (mut learners, mut skills, mut templates) = (HashMap::new(), HashMap::new(), HashMap::new());
        let mut groups = HashMap::new();
        let mut table = Self::default();
        let any_order = rows.iter().any(|r| r.order.is_some());
        let any_template = rows.iter().any(|r| r.template.is_some());
        let any_group = rows.iter().any(|r| r.prior_group.is_some());
        for r in rows {
            table.learner.push(code(&mut learners, &r.learner));
            table.skill.push(code(&mut skills, &r.skill));
            table.correct.push(r.correct);
            if any_order {
                table.order.get_or_insert_with(Vec::new).push(r.order.unwrap_or(i64::MIN));
            }
            if any_template {
                let t = r.template.as_deref().unwrap_or("");
                table.template.get_or_insert_with(Vec::new).push(code(&mut templates, t));
            }
            if any_group {
                let g = r.prior_group.as_deref().unwrap_or("");
                table.prior_group.get_or_insert_with(Vec::new).push(code(&mut groups, g));
            }
        }
        table.skill_names = names(skills);
        table.template_names = names(templates);
        table.prior_group_names = names(groups);
        table
    }

    pub fn len(&self) -> usize {
        self.correct.len()
    }

    pub fn is_empty(&self) -> bool {
        self.correct.is_empty()
    }

    fn validate(&self) -> Result<()> {
        let n = self.len();
        if self.learner.len() != n
            || self.skill.len() != n
            || self.order.as_ref().is_some_and(|o| o.len() != n)
            || self.template.as_ref().is_some_and(|t| t.len() != n)
            || self.prior_group.as_ref().is_some_and(|t| t.len() != n)
        {
            return Err(MasteryError::invalid("columns", "must all have the same length"));
        }
        // Codes index per-learner arrays: bounded by the number of rows, not by their value.
        // The largest code, not `any` (a reduction LLVM vectorises; this runs on every call).
        let largest = |codes: &[u32]| codes.iter().copied().fold(0, u32::max) as usize;
        if !self.learner.is_empty() && largest(&self.learner) >= n {
            return Err(MasteryError::invalid("user_id", "learner codes must be below the number of rows"));
        }
        if !self.skill.is_empty() && largest(&self.skill) >= self.skill_names.len() {
            return Err(MasteryError::invalid("skill_name", "code without a name"));
        }
        if self.template.as_ref().is_some_and(|t| t.iter().any(|&x| x as usize >= self.template_names.len())) {
            return Err(MasteryError::invalid("template_id", "code without a name"));
        }
        if self.prior_group.as_ref().is_some_and(|t| t.iter().any(|&x| x as usize >= self.prior_group_names.len())) {
            return Err(MasteryError::invalid("prior_group", "code without a name"));
        }
        if self.skill_names.iter().any(String::is_empty) {
            return Err(MasteryError::invalid("skill_name", "is empty"));
        }
        Ok(())
    }

    /// The rows for which `keep` holds, with the same name lists; learners are renumbered in
    /// order of first appearance (codes stay below the number of rows).
    pub fn select(&self, keep: impl Fn(usize) -> bool) -> Self {
        let rows: Vec<usize> = (0..self.len()).filter(|&r| keep(r)).collect();
        let pick = |v: &Vec<u32>| rows.iter().map(|&r| v[r]).collect::<Vec<u32>>();
        Self {
            learner: renumber(&pick(&self.learner)),
            skill: pick(&self.skill),
            correct: rows.iter().map(|&r| self.correct[r]).collect(),
            order: self.order.as_ref().map(|o| rows.iter().map(|&r| o[r]).collect()),
            template: self.template.as_ref().map(pick),
            prior_group: self.prior_group.as_ref().map(pick),
            skill_names: self.skill_names.clone(),
            template_names: self.template_names.clone(),
            prior_group_names: self.prior_group_names.clone(),
        }
    }

    fn prior_group_of(&self, row: usize) -> Option<&str> {
        self.prior_group.as_ref().map(|t| self.prior_group_names[t[row] as usize].as_str())
    }

    /// Where each history (a learner's rows of one skill) starts, then the number of rows, when
    /// every history is one run of consecutive rows already in order (as in logs sorted by
    /// learner); `None` otherwise.
    fn histories_in_place(&self) -> Option<Vec<usize>> {
        let n = self.len();
        // Slices of exactly `n` rows: the loop below indexes them without bounds checks.
        let (skill, learner, order) = (&self.skill[..n], &self.learner[..n], self.order.as_deref());
        let learners = learner.iter().copied().fold(0, u32::max) as usize + 1;
        let key = |i: usize| skill[i] as usize * learners + learner[i] as usize;
        // No (skill, learner) pair may start two runs: checked on a bitmap of the pairs when it
        // is small (at most a byte per row), else on the runs' keys, sorted.
        let pairs = self.skill_names.len().saturating_mul(learners);
        let mut seen = vec![0u64; if pairs <= 8 * n { pairs.div_ceil(64) } else { 0 }];
        let mut starts = Vec::new();
        for i in 0..n {
            if i == 0 || skill[i] != skill[i - 1] || learner[i] != learner[i - 1] {
                if let Some(word) = seen.get_mut(key(i) / 64) {
                    let bit = 1 << (key(i) % 64);
                    if *word & bit != 0 {
                        return None;
                    }
                    *word |= bit;
                }
                starts.push(i);
            } else if order.is_some_and(|o| o[i] < o[i - 1]) {
                return None;
            }
        }
        if seen.is_empty() {
            let mut keys: Vec<usize> = starts.iter().map(|&i| key(i)).collect();
            keys.sort_unstable();
            if keys.windows(2).any(|k| k[0] == k[1]) {
                return None;
            }
        }
        starts.push(n);
        Some(starts)
    }

    /// Row indexes grouped by skill, then learner, each learner's rows in order.
    fn grouped(&self) -> Grouped {
        let learners = self.learner.iter().max().map_or(0, |&m| m as usize + 1);
        match self.histories_in_place() {
            Some(runs) => self.grouped_runs(&runs, learners),
            None => self.grouped_by_sort(learners),
        }
    }

    /// [`ResponseTable::grouped`] by sorting the rows.
    fn grouped_by_sort(&self, learners: usize) -> Grouped {
        let skills = self.skill_names.len();
        // Rows by (skill, learner, input order): one counting sort on the pair when its buckets
        // are few, else two stable ones; either way no comparison sort over all rows.
        let (mut rows, mut starts) = match skills.checked_mul(learners).filter(|&b| b <= 4 * self.len().max(1024)) {
            Some(buckets) => {
                counting_sort(buckets, self.len(), |r| self.skill[r] as usize * learners + self.learner[r] as usize)
            }
            None => {
                let (by_learner, _) = counting_sort(learners, self.len(), |r| self.learner[r] as usize);
                let (rows, _) =
                    counting_sort(skills, by_learner.len(), |k| self.skill[by_learner[k] as usize] as usize);
                let rows: Vec<u32> = rows.into_iter().map(|k| by_learner[k as usize]).collect();
                let mut starts = vec![0];
                starts.extend((1..rows.len()).filter(|&k| {
                    let (a, b) = (rows[k - 1] as usize, rows[k] as usize);
                    (self.skill[a], self.learner[a]) != (self.skill[b], self.learner[b])
                }));
                starts.push(rows.len());
                (rows, starts)
            }
        };
        starts.dedup();
        if let Some(order) = self.order.as_ref().filter(|o| !o.windows(2).all(|w| w[0] <= w[1])) {
            // Stable: ties keep their input order.
            for w in starts.windows(2) {
                rows[w[0]..w[1]].sort_by_key(|&i| order[i as usize]);
            }
        }
        let mut skills: Vec<(u32, usize)> = Vec::new();
        for (k, &start) in starts[..starts.len().saturating_sub(1)].iter().enumerate() {
            let skill = self.skill[rows[start] as usize];
            if skills.last().is_none_or(|&(s, _)| s != skill) {
                skills.push((skill, k));
            }
        }
        Grouped { rows, starts, skills }
    }
}

impl ResponseTable {
    /// [`ResponseTable::grouped`] when every history is already one run in order (`starts`
    /// from [`ResponseTable::histories_in_place`]): the runs are sorted, not the rows, and
    /// the rows copied out run by run. The same order as the counting sort gives.
    fn grouped_runs(&self, starts: &[usize], learners: usize) -> Grouped {
        let key = |run: usize| self.skill[starts[run]] as usize * learners + self.learner[starts[run]] as usize;
        let count = starts.len() - 1;
        let runs: Vec<usize> = match self.skill_names.len().checked_mul(learners).filter(|&b| b <= 4 * count.max(1024))
        {
            Some(buckets) => counting_sort(buckets, count, key).0.into_iter().map(|run| run as usize).collect(),
            None => {
                let mut keyed: Vec<(usize, usize)> = (0..count).map(|run| (key(run), run)).collect();
                keyed.sort_unstable();
                keyed.into_iter().map(|(_, run)| run).collect()
            }
        };
        let (mut rows, mut bounds) = (Vec::with_capacity(self.len()), Vec::with_capacity(starts.len()));
        let mut skills: Vec<(u32, usize)> = Vec::new();
        for (k, &run) in runs.iter().enumerate() {
            let skill = self.skill[starts[run]];
            if skills.last().is_none_or(|&(s, _)| s != skill) {
                skills.push((skill, k));
            }
            bounds.push(rows.len());
            rows.extend(starts[run] as u32..starts[run + 1] as u32);
        }
        bounds.push(rows.len());
        Grouped { rows, starts: bounds, skills }
    }
}

/// Rows grouped by skill, then learner (see [`ResponseTable::grouped`]).
struct Grouped {
    rows: Vec<u32>,
    /// Where each learner's run starts in `rows`, then `rows.len()`.
    starts: Vec<usize>,
    /// Each skill present, with the index of its first run in `starts`.
    skills: Vec<(u32, usize)>,
}

impl Grouped {
    /// Per skill: its code, its rows, and where each learner's rows start in them (then their
    /// number).
    fn iter(&self) -> impl Iterator<Item = (u32, &[u32], Vec<usize>)> {
        (0..self.skills.len()).map(|k| {
            let (skill, first) = self.skills[k];
            let last = self.skills.get(k + 1).map_or(self.starts.len() - 1, |&(_, next)| next);
            let offset = self.starts[first];
            let bounds = self.starts[first..=last].iter().map(|&b| b - offset).collect();
            (skill, &self.rows[offset..self.starts[last]], bounds)
        })
    }
}

/// Rows `0..n` stably ordered by `key(row)` (below `buckets`), and where each bucket starts
/// (`buckets + 1` offsets, empty buckets included).
fn counting_sort(buckets: usize, n: usize, key: impl Fn(usize) -> usize) -> (Vec<u32>, Vec<usize>) {
    let mut starts = vec![0usize; buckets + 1];
    for r in 0..n {
        starts[key(r) + 1] += 1;
    }
    for b in 1..starts.len() {
        starts[b] += starts[b - 1];
    }
    let mut next = starts.clone();
    let mut out = vec![0u32; n];
    for r in 0..n {
        let slot = &mut next[key(r)];
        out[*slot] = r as u32;
        *slot += 1;
    }
    (out, starts)
}

/// Codes renumbered 0, 1, ... in order of first appearance.
fn renumber(codes: &[u32]) -> Vec<u32> {
    let mut new_code = vec![u32::MAX; codes.iter().max().map_or(0, |&m| m as usize + 1)];
    let mut next = 0;
    codes
        .iter()
        .map(|&c| {
            let slot = &mut new_code[c as usize];
            if *slot == u32::MAX {
                *slot = next;
                next += 1;
            }
            *slot
        })
        .collect()
}

fn names(map: HashMap<&str, u32>) -> Vec<String> {
    let mut names = vec![String::new(); map.len()];
    for (name, code) in map {
        names[code as usize] = name.to_owned();
    }
    names
}

/// P(correct) and P(known) for one row.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    pub correct: f64,
    pub state: f64,
}

/// One learner's knowledge of one skill, updated online: 24 bytes.
///
/// The state is carried as log-odds, `ln(P(known) / P(unknown))`, which cannot saturate: after a
/// long run of right answers P(known) rounds to 1.0 in floating point, but the log-odds keep
/// the exact distance from certainty, so later wrong answers still move it (as they do in exact
/// arithmetic and in pyBKT). `p_known` is the same value as a probability, for display.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(from = "KnowledgeStateRecord")]
pub struct KnowledgeState {
    pub p_known: f64,
    /// `ln(P(known) / P(unknown))`; may be infinite when a parameter is exactly 0 or 1.
    pub log_odds: f64,
    pub attempts: u32,
    pub correct: u32,
}

/// A stored state; records written before `log_odds` existed derive it from `p_known`.
#[derive(Deserialize)]
struct KnowledgeStateRecord {
    p_known: f64,
    #[serde(default)]
    log_odds: Option<f64>,
    #[serde(default)]
    attempts: u32,
    #[serde(default)]
    correct: u32,
}

impl From<KnowledgeStateRecord> for KnowledgeState {
    fn from(r: KnowledgeStateRecord) -> Self {
        match r.log_odds.filter(|l| !l.is_nan()) {
            Some(log_odds) => Self { p_known: r.p_known, log_odds, attempts: r.attempts, correct: r.correct },
            None => Self::new(r.p_known, r.attempts, r.correct),
        }
    }
}

impl KnowledgeState {
    /// A state from a probability (P(known) = 1.0 is read as "within one rounding step of 1").
    pub fn new(p_known: f64, attempts: u32, correct: u32) -> Self {
        let p = if p_known.is_nan() { 0.5 } else { p_known.clamp(f64::MIN_POSITIVE, 1.0 - f64::EPSILON / 2.0) };
        Self { p_known, log_odds: p.ln() - (-p).ln_1p(), attempts, correct }
    }

    /// `(P(known), P(unknown))`, each to full relative precision.
    pub fn masses(&self) -> (f64, f64) {
        masses(self.log_odds)
    }
}

/// `(σ(λ), σ(-λ))` without cancellation.
#[inline]
fn masses(log_odds: f64) -> (f64, f64) {
    if log_odds >= 0.0 {
        let e = (-log_odds).exp();
        (1.0 / (1.0 + e), e / (1.0 + e))
    } else {
        let e = log_odds.exp();
        (e / (1.0 + e), 1.0 / (1.0 + e))
    }
}

/// The log-odds of a probability given as two masses.
#[inline]
fn log_odds_of(prior: f64) -> f64 {
    prior.ln() - (1.0 - prior).ln()
}

/// ln(e^a + e^b), exact for infinite arguments.
#[inline]
fn log_add(a: f64, b: f64) -> f64 {
    let (hi, lo) = if a >= b { (a, b) } else { (b, a) };
    if hi.is_infinite() {
        return hi;
    }
    hi + (lo - hi).exp().ln_1p()
}

/// Below this a probability mass is handed to the log-space path (masses are normalised, so the
/// fast path is exact above it; `f64` underflows near 1e-308).
const TINY: f64 = 1e-150;

/// A fitted skill: parameters and the template → class maps they refer to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SkillModel {
    pub params: BktParams,
    #[serde(default)]
    pub learn_classes: BTreeMap<String, usize>,
    #[serde(default)]
    pub gs_classes: BTreeMap<String, usize>,
    /// `multiprior`: prior group → index into `params.priors`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub prior_groups: BTreeMap<String, usize>,
    #[serde(default)]
    pub log_likelihood: f64,
}

impl SkillModel {
    /// Parameters are probabilities and every class a map names has its parameters.
    fn validate(&self) -> Result<()> {
        self.params.validate()?;
        if self.learn_classes.values().any(|&c| c >= self.params.learns.len()) {
            return Err(MasteryError::invalid("learn_classes", "names a class without a learn rate"));
        }
        if self.gs_classes.values().any(|&c| c >= self.params.guesses.len()) {
            return Err(MasteryError::invalid("gs_classes", "names a class without a guess and a slip"));
        }
        if self.prior_groups.values().any(|&c| c >= self.params.priors.len()) {
            return Err(MasteryError::invalid("prior_groups", "names a group without a prior"));
        }
        Ok(())
    }

    fn learn_class(&self, template: Option<&str>) -> usize {
        template.and_then(|t| self.learn_classes.get(t).copied()).unwrap_or(0)
    }

    fn gs_class(&self, template: Option<&str>) -> usize {
        template.and_then(|t| self.gs_classes.get(t).copied()).unwrap_or(0)
    }

    /// The state of a learner who has not answered yet.
    pub fn initial_state(&self) -> KnowledgeState {
        let prior = self.params.prior;
        KnowledgeState { p_known: prior, log_odds: log_odds_of(prior), attempts: 0, correct: 0 }
    }

    /// The state of a learner of a prior group (`multiprior`) who has not answered yet.
    pub fn initial_state_in(&self, prior_group: Option<&str>) -> KnowledgeState {
        let p_known = self.prior_class(prior_group).map_or(self.params.prior, |c| self.params.priors[c]);
        KnowledgeState { p_known, log_odds: log_odds_of(p_known), attempts: 0, correct: 0 }
    }

    fn prior_class(&self, prior_group: Option<&str>) -> Option<usize> {
        prior_group.and_then(|g| self.prior_groups.get(g).copied()).filter(|&c| c < self.params.priors.len())
    }

    /// P(correct) on the next attempt of this template.
    pub fn predict_correct(&self, state: &KnowledgeState, template: Option<&str>) -> f64 {
        let g = self.gs_class(template);
        let (known, unknown) = state.masses();
        known * (1.0 - self.params.slips[g]) + unknown * self.params.guesses[g]
    }

    /// Observes one answer and moves to the next attempt: O(1), no allocation.
    pub fn update(&self, state: &mut KnowledgeState, correct: bool, template: Option<&str>) {
        self.update_from(state, state.masses(), correct, template);
    }

    /// [`SkillModel::update`] with the state's masses already computed.
    fn update_from(&self, state: &mut KnowledgeState, masses: (f64, f64), correct: bool, template: Option<&str>) {
        let classes = Classes { gs: self.gs_class(template), learn: self.learn_class(template) };
        (state.p_known, state.log_odds) = self.advance(state.log_odds, masses, correct, classes);
        state.attempts = state.attempts.saturating_add(1);
        state.correct = state.correct.saturating_add(u32::from(correct));
    }

    /// The step of [`SkillModel::update`]: `(P(known), log-odds)` after the answer. Batch
    /// prediction calls it too, so batch and online states are equal.
    #[inline]
    fn advance(&self, log_odds: f64, masses: (f64, f64), correct: bool, classes: Classes) -> (f64, f64) {
        let (p, g, c) = (&self.params, classes.gs, classes.learn);
        step(log_odds, masses, correct, p.guesses[g], p.slips[g], p.learns[c], p.forgets[c])
    }
}

/// An attempt's parameter classes: guess/slip, and learn/forget.
#[derive(Debug, Clone, Copy, Default)]
struct Classes {
    gs: usize,
    learn: usize,
}

/// Observes one answer, then the transition to the next attempt, on log-odds:
/// returns `(P(known), log-odds)` of the next attempt.
#[inline]
#[allow(clippy::too_many_arguments)]
fn step(
    log_odds: f64,
    current: (f64, f64),
    correct: bool,
    guess: f64,
    slip: f64,
    learn: f64,
    forget: f64,
) -> (f64, f64) {
    let (e0, e1) = if correct { (guess, 1.0 - slip) } else { (1.0 - guess, slip) };
    if log_odds.abs() < 300.0 {
        // Both masses are representable: plain arithmetic, one ln.
        let (k, u) = current;
        let (mut b1, mut b0) = (k * e1, u * e0);
        if b1 + b0 <= 0.0 {
            // An answer impossible under both states tells nothing.
            (b1, b0) = (k, u);
        }
        let known = b1 * (1.0 - forget) + b0 * learn;
        let unknown = b0 * (1.0 - learn) + b1 * forget;
        let total = known + unknown;
        if known >= TINY * total && unknown >= TINY * total {
            return (known / total, (known / unknown).ln());
        }
    }
    // Far from (or at) certainty: the same recurrence in log space.
    let mut posterior = log_odds + (e1.ln() - e0.ln());
    if posterior.is_nan() {
        posterior = log_odds;
    }
    let (lk, lu) = if posterior >= 0.0 {
        (-(-posterior).exp().ln_1p(), -posterior - (-posterior).exp().ln_1p())
    } else {
        (posterior - posterior.exp().ln_1p(), -posterior.exp().ln_1p())
    };
    let known = log_add(lk + (1.0 - forget).ln(), lu + learn.ln());
    let unknown = log_add(lu + (1.0 - learn).ln(), lk + forget.ln());
    let next = known - unknown;
    let next = if next.is_nan() { posterior } else { next };
    (masses(next).0, next)
}

/// A BKT model: one [`SkillModel`] per skill.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BktModel {
    pub options: BktOptions,
    pub skills: BTreeMap<String, SkillModel>,
}

/// Responses of one skill laid out for EM: contiguous per learner, in time order.
#[derive(Debug, Default)]
pub(crate) struct Sequences {
    obs: Vec<bool>,
    learn: Vec<u32>,
    gs: Vec<u32>,
    /// `(start, end)` of each distinct sequence.
    bounds: Vec<(usize, usize)>,
    /// Prior class of each distinct sequence (0 without `multiprior`).
    prior_class: Vec<u32>,
    /// How many learners had exactly that sequence (EM's statistics are sums over learners,
    /// so identical sequences are computed once and weighted).
    weights: Vec<f64>,
    /// Distinct sequences of equal length in groups of [`LANES`], computed side by side: the
    /// forward pass is a chain of dependent steps, and independent chains overlap.
    groups: Vec<LaneGroup>,
    /// Each group's answers, one `[f64; LANES]` (0 or 1 per lane) per attempt.
    lane_obs: Vec<[f64; LANES]>,
}

/// [`LANES`] sequences of one length; lanes from `real` on repeat lane 0 and do not count.
#[derive(Debug, Clone, Copy)]
struct LaneGroup {
    ids: [usize; LANES],
    real: usize,
    /// Where the group's answers start in `lane_obs`.
    offset: usize,
    len: usize,
}

/// Sequences per lane group: eight chains hide most of each step's latency (a division), where
/// four left the forward pass waiting on it. Totals are summed in sequence order at any width.
const LANES: usize = 8;

impl Sequences {
    fn group_by_length(&mut self) {
        let mut ids: Vec<usize> = (0..self.bounds.len()).collect();
        ids.sort_by_key(|&i| (self.bounds[i].1 - self.bounds[i].0, i));
        let length = |i: usize| self.bounds[i].1 - self.bounds[i].0;
        let (mut groups, mut lane_obs) = (Vec::new(), Vec::with_capacity(self.obs.len()));
        for run in ids.chunk_by(|&a, &b| length(a) == length(b)) {
            for chunk in run.chunks(LANES) {
                let ids: [usize; LANES] = std::array::from_fn(|j| chunk.get(j).copied().unwrap_or(chunk[0]));
                let (offset, len) = (lane_obs.len(), length(chunk[0]));
                lane_obs.extend((0..len).map(|t| ids.map(|id| f64::from(u8::from(self.obs[self.bounds[id].0 + t])))));
                groups.push(LaneGroup { ids, real: chunk.len(), offset, len });
            }
        }
        self.groups = groups;
        self.lane_obs = lane_obs;
    }
}

fn sequences(table: &ResponseTable, rows: &[u32], bounds: &[usize], model: &SkillModel) -> Sequences {
    // Per template code, its classes in this skill's model.
    let classes: Vec<(u32, u32)> = table
        .template_names
        .iter()
        .map(|t| (model.learn_class(Some(t)) as u32, model.gs_class(Some(t)) as u32))
        .collect();
    // A sequence's identity: its prior class, then each attempt's outcome and classes in one u64;
    // all keys in one arena, looked up as slices (no allocation per learner). Without templates
    // (every class 0) a history of under 64 attempts is one word instead: its answers as bits
    // under a leading 1 (cheaper to hash than a slice; the two kinds never have equal lengths).
    let mut keys: Vec<u64> = Vec::new();
    let mut runs: Vec<SequenceKey> = Vec::with_capacity(bounds.len());
    for w in bounds.windows(2) {
        let group = table.prior_group_of(rows[w[0]] as usize);
        let prior_class = group.and_then(|g| model.prior_groups.get(g).copied()).unwrap_or(0) as u32;
        let history = &rows[w[0]..w[1]];
        if table.template.is_none() && history.len() < 64 {
            let answers = history
                .iter()
                .enumerate()
                .fold(1 << history.len(), |bits, (t, &i)| bits | u64::from(table.correct[i as usize]) << t);
            runs.push(SequenceKey::Answers(prior_class, answers));
            continue;
        }
        let start = keys.len();
        keys.push(u64::from(prior_class));
        keys.extend(history.iter().map(|&i| {
            let i = i as usize;
            let (l, g) = table.template.as_ref().map_or((0, 0), |t| classes[t[i] as usize]);
            u64::from(table.correct[i]) | u64::from(l) << 1 | u64::from(g) << 32
        }));
        runs.push(SequenceKey::Arena(start, keys.len()));
    }
    let mut s = Sequences { obs: Vec::with_capacity(rows.len()), ..Sequences::default() };
    let hasher = foldhash::fast::FixedState::default();
    let mut seen: HashMap<&[u64], usize, _> = HashMap::with_hasher(hasher.clone());
    let mut seen_answers: HashMap<(u32, u64), usize, _> = HashMap::with_capacity_and_hasher(runs.len(), hasher);
    for run in runs {
        let (prior_class, first) = match run {
            SequenceKey::Answers(prior_class, answers) => {
                match seen_answers.entry((prior_class, answers)) {
                    Entry::Occupied(k) => {
                        s.weights[*k.get()] += 1.0;
                        continue;
                    }
                    Entry::Vacant(slot) => slot.insert(s.bounds.len()),
                };
                let first = s.obs.len();
                let len = 63 - answers.leading_zeros() as usize;
                s.obs.extend((0..len).map(|t| answers >> t & 1 == 1));
                s.learn.resize(s.obs.len(), 0);
                s.gs.resize(s.obs.len(), 0);
                (prior_class, first)
            }
            SequenceKey::Arena(start, end) => {
                let key = &keys[start..end];
                if let Some(&k) = seen.get(key) {
                    s.weights[k] += 1.0;
                    continue;
                }
                let first = s.obs.len();
                for &packed in &key[1..] {
                    s.obs.push(packed & 1 == 1);
                    s.learn.push(((packed >> 1) & 0x7fff_ffff) as u32);
                    s.gs.push((packed >> 32) as u32);
                }
                seen.insert(key, s.bounds.len());
                (key[0] as u32, first)
            }
        };
        s.bounds.push((first, s.obs.len()));
        s.prior_class.push(prior_class);
        s.weights.push(1.0);
    }
    s.group_by_length();
    s
}

/// How [`sequences`] identifies one learner's history.
enum SequenceKey {
    /// Prior class and answers as bits under a leading 1 (no templates, under 64 attempts).
    Answers(u32, u64),
    /// A range of the key arena: the prior class, then one word per attempt.
    Arena(usize, usize),
}

/// Expected counts gathered by the E-step.
#[derive(Debug, Clone)]
struct Counts {
    /// Per learn class, `[from][to]` (0 = unknown, 1 = known).
    trans: Vec<[[f64; 2]; 2]>,
    /// Per guess class, `[state][observed correct]`.
    emit: Vec<[[f64; 2]; 2]>,
    /// Per prior class, the posterior before the first attempt.
    init: Vec<[f64; 2]>,
}

/// The E-step of the standard model (one learn class, one guess class): the arithmetic of
/// [`e_step`] with [`LANES`] sequences of equal length side by side in SIMD vectors (see
/// [`lanes`]); sequences that leave the fast range are redone in log space.
fn e_step_single(p: &BktParams, s: &Sequences, counts: &mut Counts, buffer: &mut Vec<lanes::Step>) -> f64 {
    let k = Kernel::new(p);
    let mut totals = Totals { init: vec![[0.0; 2]; k.priors.len()], ..Totals::default() };
    let mut exact = Vec::new();
    pulp::Arch::new().dispatch(lanes::LaneStep { k: &k, s, totals: &mut totals, buffer, exact: &mut exact });
    counts.trans[0] = [[totals.tr[0], totals.tr[1]], [totals.tr[2], totals.tr[3]]];
    counts.emit[0] = [[totals.em[0], totals.em[1]], [totals.em[2], totals.em[3]]];
    counts.init = totals.init;
    let mut log_likelihood = totals.log_likelihood.value();
    let mut scratch = Vec::new();
    for id in exact {
        log_likelihood += e_step_exact(p, s, id, &k.priors, counts, &mut scratch);
    }
    log_likelihood
}

/// The standard model's parameters as the lane kernel uses them.
struct Kernel {
    priors: Vec<f64>,
    /// `[[unknown→unknown, unknown→known], [known→unknown, known→known]]`.
    t: [[f64; 2]; 2],
    /// P(answer | state) for a wrong and for a right answer: `[[unknown, known]; 2]`.
    e: [[f64; 2]; 2],
}

impl Kernel {
    fn new(p: &BktParams) -> Self {
        let (l, f, g, sl) = (p.learns[0], p.forgets[0], p.guesses[0], p.slips[0]);
        Self { priors: initial_priors(p), t: [[1.0 - l, l], [f, 1.0 - f]], e: [[1.0 - g, sl], [g, 1.0 - sl]] }
    }
}

/// Weighted sums of one E-step of the standard model.
#[derive(Debug, Default)]
struct Totals {
    tr: [f64; 4],
    em: [f64; 4],
    init: Vec<[f64; 2]>,
    log_likelihood: LogSum,
}

/// A sum of logarithms kept mostly as a product (mantissa and binary exponent): one `ln` per
/// E-step instead of one per sequence.
#[derive(Debug, Clone, Copy)]
struct LogSum {
    logs: f64,
    mantissa: f64,
    exponent: i64,
}

impl Default for LogSum {
    fn default() -> Self {
        Self { logs: 0.0, mantissa: 1.0, exponent: 0 }
    }
}

impl LogSum {
    /// Adds `weight * (log_part + ln(factor))`.
    #[inline]
    fn add(&mut self, log_part: f64, factor: f64, weight: f64) {
        if weight != 1.0 || !(factor.is_normal() && factor > 0.0) {
            self.logs += weight * (log_part + factor.ln());
            return;
        }
        self.logs += log_part;
        let m = self.mantissa * factor;
        // Normal, positive: split off the binary exponent (m stays in [1, 2)).
        let bits = m.to_bits();
        self.exponent += ((bits >> 52) & 0x7ff) as i64 - 1023;
        self.mantissa = f64::from_bits((bits & !(0x7ff << 52)) | (1023 << 52));
    }

    fn value(&self) -> f64 {
        self.logs + self.mantissa.ln() + self.exponent as f64 * std::f64::consts::LN_2
    }
}

/// The prior of each prior class: `priors` under `multiprior`, else the one `prior`.
fn initial_priors(p: &BktParams) -> Vec<f64> {
    if p.priors.is_empty() {
        vec![p.prior]
    } else {
        p.priors.clone()
    }
}

/// One E-step over all sequences; returns the log-likelihood under `p`.
fn e_step(p: &BktParams, s: &Sequences, counts: &mut Counts, alpha: &mut Vec<[f64; 2]>) -> f64 {
    counts.trans.iter_mut().for_each(|c| *c = [[0.0; 2]; 2]);
    counts.emit.iter_mut().for_each(|c| *c = [[0.0; 2]; 2]);
    let priors = initial_priors(p);
    counts.init = vec![[0.0; 2]; priors.len()];
    let emission = |g: usize, correct: bool| -> [f64; 2] {
        if correct {
            [p.guesses[g], 1.0 - p.slips[g]]
        } else {
            [1.0 - p.guesses[g], p.slips[g]]
        }
    };
    // Sum of ln(norm) taken as the ln of running products: one ln per sequence, not per step.
    let mut log_likelihood = 0.0;
    let mut scratch = Vec::new();
    for (id, ((&(start, end), &weight), &class)) in s.bounds.iter().zip(&s.weights).zip(&s.prior_class).enumerate() {
        let mut product = 1.0f64;
        let mut sequence_ll = 0.0;
        let mut fast = true;
        alpha.clear();
        // Forward: filtered P(state | answers so far), normalised at every step.
        let prior = priors[class as usize];
        let mut a = [1.0 - prior, prior];
        for t in start..end {
            if t > start {
                let c = s.learn[t - 1] as usize;
                let (l, f) = (p.learns[c], p.forgets[c]);
                a = [a[0] * (1.0 - l) + a[1] * f, a[0] * l + a[1] * (1.0 - f)];
            }
            let lk = emission(s.gs[t] as usize, s.obs[t]);
            a = [a[0] * lk[0], a[1] * lk[1]];
            let norm = a[0] + a[1];
            product *= norm;
            if product < 1e-250 {
                sequence_ll += product.ln();
                product = 1.0;
            }
            a = [a[0] / norm, a[1] / norm];
            fast &= a[0] >= TINY && a[1] >= TINY;
            alpha.push(a);
        }
        if !fast {
            log_likelihood += e_step_exact(p, s, id, &priors, counts, &mut scratch);
            continue;
        }
        // Backward (Rauch-Tung-Striebel form): smoothed posteriors and pair counts.
        let last = end - start - 1;
        log_likelihood += weight * (sequence_ll + product.ln());
        let mut gamma = alpha[last];
        let emit = &mut counts.emit[s.gs[end - 1] as usize];
        let o = usize::from(s.obs[end - 1]);
        emit[0][o] += weight * gamma[0];
        emit[1][o] += weight * gamma[1];
        for k in (0..last).rev() {
            let t = start + k;
            let c = s.learn[t] as usize;
            let (l, f) = (p.learns[c], p.forgets[c]);
            let transition = [[1.0 - l, l], [f, 1.0 - f]];
            let at = alpha[k];
            let predicted = [
                at[0] * transition[0][0] + at[1] * transition[1][0],
                at[0] * transition[0][1] + at[1] * transition[1][1],
            ];
            let ratio = [ratio(gamma[0], predicted[0]), ratio(gamma[1], predicted[1])];
            let mut xi = [[0.0; 2]; 2];
            for from in 0..2 {
                for to in 0..2 {
                    xi[from][to] = at[from] * transition[from][to] * ratio[to];
                }
            }
            let trans = &mut counts.trans[c];
            for from in 0..2 {
                for to in 0..2 {
                    trans[from][to] += weight * xi[from][to];
                }
            }
            gamma = [xi[0][0] + xi[0][1], xi[1][0] + xi[1][1]];
            let emit = &mut counts.emit[s.gs[t] as usize];
            let o = usize::from(s.obs[t]);
            emit[0][o] += weight * gamma[0];
            emit[1][o] += weight * gamma[1];
        }
        counts.init[class as usize][0] += weight * gamma[0];
        counts.init[class as usize][1] += weight * gamma[1];
    }
    log_likelihood
}

/// The E-step of one sequence in log space (any classes): exact where a state's probability
/// leaves `f64`'s range, e.g. after hundreds of right answers in a row. Adds the sequence's
/// weighted counts and returns its weighted log-likelihood.
fn e_step_exact(
    p: &BktParams,
    s: &Sequences,
    id: usize,
    priors: &[f64],
    counts: &mut Counts,
    log_alpha: &mut Vec<[f64; 2]>,
) -> f64 {
    let ((start, end), weight, class) = (s.bounds[id], s.weights[id], s.prior_class[id] as usize);
    let log_transition = |c: usize| {
        let (l, f) = (p.learns[c], p.forgets[c]);
        [[(1.0 - l).ln(), l.ln()], [f.ln(), (1.0 - f).ln()]]
    };
    let log_emission = |t: usize| {
        let g = s.gs[t] as usize;
        if s.obs[t] {
            [p.guesses[g].ln(), (1.0 - p.slips[g]).ln()]
        } else {
            [(1.0 - p.guesses[g]).ln(), p.slips[g].ln()]
        }
    };
    let prior = priors[class];
    let mut a = [(1.0 - prior).ln(), prior.ln()];
    let mut log_likelihood = 0.0;
    log_alpha.clear();
    for t in start..end {
        if t > start {
            let lt = log_transition(s.learn[t - 1] as usize);
            a = [log_add(a[0] + lt[0][0], a[1] + lt[1][0]), log_add(a[0] + lt[0][1], a[1] + lt[1][1])];
        }
        let e = log_emission(t);
        let b = [a[0] + e[0], a[1] + e[1]];
        let norm = log_add(b[0], b[1]);
        log_likelihood += norm;
        if norm > f64::NEG_INFINITY {
            a = [b[0] - norm, b[1] - norm];
        }
        log_alpha.push(a);
    }
    let mut gamma = log_alpha[end - start - 1];
    let o = usize::from(s.obs[end - 1]);
    let emit = &mut counts.emit[s.gs[end - 1] as usize];
    emit[0][o] += weight * gamma[0].exp();
    emit[1][o] += weight * gamma[1].exp();
    for k in (0..end - start - 1).rev() {
        let t = start + k;
        let c = s.learn[t] as usize;
        let lt = log_transition(c);
        let at = log_alpha[k];
        let ratio: [f64; 2] = std::array::from_fn(|to| {
            let predicted = log_add(at[0] + lt[0][to], at[1] + lt[1][to]);
            if predicted > f64::NEG_INFINITY {
                gamma[to] - predicted
            } else {
                f64::NEG_INFINITY
            }
        });
        let xi: [[f64; 2]; 2] =
            std::array::from_fn(|from| std::array::from_fn(|to| at[from] + lt[from][to] + ratio[to]));
        let trans = &mut counts.trans[c];
        for from in 0..2 {
            for to in 0..2 {
                trans[from][to] += weight * xi[from][to].exp();
            }
        }
        gamma = [log_add(xi[0][0], xi[0][1]), log_add(xi[1][0], xi[1][1])];
        let o = usize::from(s.obs[t]);
        let emit = &mut counts.emit[s.gs[t] as usize];
        emit[0][o] += weight * gamma[0].exp();
        emit[1][o] += weight * gamma[1].exp();
    }
    counts.init[class][0] += weight * gamma[0].exp();
    counts.init[class][1] += weight * gamma[1].exp();
    weight * log_likelihood
}

#[inline]
fn ratio(numerator: f64, denominator: f64) -> f64 {
    if denominator > 0.0 {
        numerator / denominator
    } else {
        0.0
    }
}

/// pyBKT's M-step, including its rules for classes without observations.
fn m_step(p: &mut BktParams, counts: &Counts, options: &BktOptions) {
    for (c, t) in counts.trans.iter().enumerate() {
        let from_unknown = t[0][0] + t[0][1];
        p.learns[c] = if from_unknown == 0.0 { 1.0 } else { t[0][1] / from_unknown };
        let from_known = t[1][0] + t[1][1];
        p.forgets[c] = if from_known == 0.0 { 0.0 } else { t[1][0] / from_known };
    }
    for (g, e) in counts.emit.iter().enumerate() {
        let unknown = e[0][0] + e[0][1];
        p.guesses[g] = if unknown == 0.0 { 0.5 } else { e[0][1] / unknown };
        let known = e[1][0] + e[1][1];
        p.slips[g] = if known == 0.0 { 0.5 } else { e[1][0] / known };
        if let Some(cap) = options.max_guess {
            p.guesses[g] = p.guesses[g].min(cap);
        }
        if let Some(cap) = options.max_slip {
            p.slips[g] = p.slips[g].min(cap);
        }
    }
    let (known, total) = counts.init.iter().fold((0.0, 0.0), |(k, t), c| (k + c[1], t + c[0] + c[1]));
    p.prior = known / total;
    if !p.priors.is_empty() {
        for (prior, c) in p.priors.iter_mut().zip(&counts.init) {
            let total = c[0] + c[1];
            if total > 0.0 {
                *prior = c[1] / total;
            }
        }
    }
}

/// Runs EM from `start`: at most `max_iter` iterations, stopping (before the M-step) when the
/// log-likelihood moved by at most `tol`. Returns the parameters and the log-likelihood per iteration.
pub(crate) fn em(start: &BktParams, s: &Sequences, options: &BktOptions) -> (BktParams, Vec<f64>) {
    // Never cancelled: the poll always continues.
    em_with(start, s, options, &mut || ControlFlow::Continue(())).unwrap_or_else(|| (start.clone(), Vec::new()))
}

/// [`em`] with `poll` called before every iteration; `Break` stops it (`None`).
fn em_with(
    start: &BktParams,
    s: &Sequences,
    options: &BktOptions,
    poll: &mut dyn FnMut() -> ControlFlow<()>,
) -> Option<(BktParams, Vec<f64>)> {
    let mut p = start.clone();
    let mut counts = Counts {
        trans: vec![[[0.0; 2]; 2]; p.learns.len()],
        emit: vec![[[0.0; 2]; 2]; p.guesses.len()],
        init: Vec::new(),
    };
    let (mut alpha, mut buffer) = (Vec::new(), Vec::new());
    let single = p.learns.len() == 1 && p.guesses.len() == 1;
    let mut history: Vec<f64> = Vec::with_capacity(options.max_iter.min(1024));
    for i in 0..options.max_iter {
        if poll().is_break() {
            return None;
        }
        let ll = if single {
            e_step_single(&p, s, &mut counts, &mut buffer)
        } else {
            e_step(&p, s, &mut counts, &mut alpha)
        };
        history.push(ll);
        if i > 1 && (ll - history[i - 1]).abs() <= options.tol {
            break;
        }
        m_step(&mut p, &counts, options);
    }
    Some((p, history))
}

fn random_start(
    rng: &mut SplitMix64,
    learn_classes: usize,
    gs_classes: usize,
    prior_groups: usize,
    options: &BktOptions,
) -> BktParams {
    let cap = |c: Option<f64>| c.unwrap_or(0.3).min(0.3);
    if options.starts == BktStarts::PyBkt {
        // pyBKT's random_model_uni: prior U(0, 1), learn U(0, 0.4), guess U(0, 0.4), slip U(0, 0.3),
        // forget U(0, 1) when fitted (0 otherwise); kept below the caps when there are caps.
        let below = |x: f64, c: Option<f64>| c.map_or(x, |c| x.min(c));
        return BktParams {
            prior: rng.uniform(0.0, 1.0),
            priors: (0..prior_groups).map(|_| rng.uniform(0.0, 1.0)).collect(),
            learns: (0..learn_classes).map(|_| rng.uniform(0.0, 0.4)).collect(),
            forgets: (0..learn_classes).map(|_| if options.forgets { rng.uniform(0.0, 1.0) } else { 0.0 }).collect(),
            guesses: (0..gs_classes).map(|_| below(rng.uniform(0.0, 0.4), options.max_guess)).collect(),
            slips: (0..gs_classes).map(|_| below(rng.uniform(0.0, 0.3), options.max_slip)).collect(),
        };
    }
    BktParams {
        prior: rng.uniform(0.05, 0.95),
        priors: (0..prior_groups).map(|_| rng.uniform(0.05, 0.95)).collect(),
        learns: (0..learn_classes).map(|_| rng.uniform(0.02, 0.4)).collect(),
        forgets: (0..learn_classes).map(|_| if options.forgets { rng.uniform(0.0, 0.1) } else { 0.0 }).collect(),
        guesses: (0..gs_classes).map(|_| rng.uniform(0.01, cap(options.max_guess))).collect(),
        slips: (0..gs_classes).map(|_| rng.uniform(0.01, cap(options.max_slip))).collect(),
    }
}

fn classes(table: &ResponseTable, rows: &[u32], enabled: bool) -> BTreeMap<String, usize> {
    let Some(templates) = table.template.as_ref().filter(|_| enabled) else { return BTreeMap::new() };
    let mut used: Vec<&str> =
        rows.iter().map(|&i| table.template_names[templates[i as usize] as usize].as_str()).collect();
    used.sort_unstable();
    used.dedup();
    used.into_iter().enumerate().map(|(i, n)| (n.to_owned(), i)).collect()
}

/// `multiprior`: the prior groups of learners' first rows, numbered in sorted order.
fn first_row_groups(table: &ResponseTable, rows: &[u32], bounds: &[usize], enabled: bool) -> BTreeMap<String, usize> {
    if !enabled {
        return BTreeMap::new();
    }
    let mut used: Vec<&str> =
        bounds[..bounds.len() - 1].iter().filter_map(|&b| table.prior_group_of(rows[b] as usize)).collect();
    used.sort_unstable();
    used.dedup();
    used.into_iter().enumerate().map(|(i, n)| (n.to_owned(), i)).collect()
}

fn check_rows(rows: &[Response]) -> Result<()> {
    if rows.iter().any(|r| r.learner.is_empty()) {
        return Err(MasteryError::invalid("user_id", "is empty"));
    }
    if rows.iter().any(|r| r.skill.is_empty()) {
        return Err(MasteryError::invalid("skill_name", "is empty"));
    }
    Ok(())
}

impl BktModel {
    /// Fits one model per skill. Restarts are seeded per skill, so results do not depend on
    /// which other skills are in the data.
    pub fn fit(rows: &[Response], options: &BktOptions) -> Result<Self> {
        check_rows(rows)?;
        Self::fit_table(&ResponseTable::from_rows(rows), options)
    }

    /// [`BktModel::fit`] on columns.
    pub fn fit_table(table: &ResponseTable, options: &BktOptions) -> Result<Self> {
        Self::fit_table_with(table, options, &progress::silent)
    }

    /// [`BktModel::fit_table`] reporting [`Stage::BktFit`] progress (before every EM iteration,
    /// `done` counting finished restarts); the callback's `Break` stops it with
    /// [`MasteryError::Cancelled`].
    pub fn fit_table_with(table: &ResponseTable, options: &BktOptions, on_progress: OnProgress<'_>) -> Result<Self> {
        table.validate()?;
        options.validate()?;
        let mut skills = BTreeMap::new();
        let groups = table.grouped();
        let total = groups.skills.len().saturating_mul(options.num_fits);
        let mut done = 0usize;
        progress::report(on_progress, Progress { stage: Stage::BktFit, done, total })?;
        for (skill, rows, bounds) in groups.iter() {
            let name = &table.skill_names[skill as usize];
            let mut model = SkillModel {
                params: BktParams {
                    prior: 0.0,
                    priors: vec![],
                    learns: vec![],
                    forgets: vec![],
                    guesses: vec![],
                    slips: vec![],
                },
                learn_classes: classes(table, rows, options.multilearn),
                gs_classes: classes(table, rows, options.multigs),
                prior_groups: first_row_groups(table, rows, &bounds, options.multiprior),
                log_likelihood: f64::NEG_INFINITY,
            };
            let s = sequences(table, rows, &bounds, &model);
            let mut rng = SplitMix64::new(options.seed ^ fnv1a(name));
            for _ in 0..options.num_fits {
                let (learn, gs, groups) =
                    (model.learn_classes.len().max(1), model.gs_classes.len().max(1), model.prior_groups.len());
                let start = random_start(&mut rng, learn, gs, groups, options);
                let mut poll = || on_progress(Progress { stage: Stage::BktFit, done, total });
                let (params, history) = em_with(&start, &s, options, &mut poll).ok_or(MasteryError::Cancelled)?;
                done += 1;
                let ll = history.last().copied().unwrap_or(f64::NEG_INFINITY);
                if ll > model.log_likelihood || model.params.learns.is_empty() {
                    model.params = params;
                    model.log_likelihood = ll;
                }
            }
            skills.insert(name.clone(), model);
        }
        progress::report(on_progress, Progress { stage: Stage::BktFit, done, total })?;
        Ok(Self { options: options.clone(), skills })
    }

    /// Runs exactly `iterations` EM steps from given parameters (no restarts, no early stop):
    /// how pyBKT's parity tests fit.
    pub fn fit_from(
        rows: &[Response],
        start: &BTreeMap<String, SkillModel>,
        iterations: usize,
        options: &BktOptions,
    ) -> Result<Self> {
        check_rows(rows)?;
        let table = ResponseTable::from_rows(rows);
        let options = BktOptions { max_iter: iterations, tol: -1.0, ..options.clone() };
        options.validate()?;
        let mut skills = BTreeMap::new();
        for (skill, rows, bounds) in table.grouped().iter() {
            let name = &table.skill_names[skill as usize];
            let mut model = start.get(name).cloned().ok_or(MasteryError::NotFound { what: "start model for skill" })?;
            model.validate()?;
            let s = sequences(&table, rows, &bounds, &model);
            let (params, history) = em(&model.params, &s, &options);
            model.params = params;
            model.log_likelihood = history.last().copied().unwrap_or(f64::NEG_INFINITY);
            skills.insert(name.clone(), model);
        }
        Ok(Self { options, skills })
    }

    /// Log-likelihood of every EM iteration from `skill`'s parameters, over the first skill of
    /// `rows` (for convergence checks).
    pub fn log_likelihood_trace(rows: &[Response], skill: &SkillModel, iterations: usize) -> Vec<f64> {
        let options =
            BktOptions { max_iter: iterations, tol: -1.0, max_guess: None, max_slip: None, ..BktOptions::default() };
        let table = ResponseTable::from_rows(rows);
        let grouped = table.grouped();
        let Some((_, rows, bounds)) = grouped.iter().next() else { return Vec::new() };
        em(&skill.params, &sequences(&table, rows, &bounds, skill), &options).1
    }

    /// P(correct) and P(known) for every row, in input order, replaying each learner's history.
    pub fn predict(&self, rows: &[Response]) -> Result<Vec<Prediction>> {
        check_rows(rows)?;
        self.predict_table(&ResponseTable::from_rows(rows))
    }

    /// [`BktModel::predict`] on columns.
    pub fn predict_table(&self, table: &ResponseTable) -> Result<Vec<Prediction>> {
        let (correct, state) = self.predict_columns(table)?;
        Ok(correct.into_iter().zip(state).map(|(correct, state)| Prediction { correct, state }).collect())
    }

    /// [`BktModel::predict_table`] as two columns in input order: P(correct) and P(known).
    pub fn predict_columns(&self, table: &ResponseTable) -> Result<(Vec<f64>, Vec<f64>)> {
        table.validate()?;
        let mut out = Predictions::new(table.len());
        let replay_of = |skill: u32| -> Result<Replay<'_>> {
            let model = self
                .skills
                .get(&table.skill_names[skill as usize])
                .ok_or_else(|| MasteryError::invalid("skill_name", "no fitted model for this skill"))?;
            Ok(Replay::new(model, table))
        };
        if let Some(starts) = table.histories_in_place() {
            // Each history already lies in order in the input: replayed where it is.
            let mut replays: Vec<Option<Replay<'_>>> = (0..table.skill_names.len()).map(|_| None).collect();
            for w in starts.windows(2) {
                let skill = table.skill[w[0]];
                if replays[skill as usize].is_none() {
                    replays[skill as usize] = Some(replay_of(skill)?);
                }
            }
            let runs =
                starts.windows(2).filter_map(|w| Some((replays[table.skill[w[0]] as usize].as_ref()?, w[0], w[1])));
            replay::replay(table, runs, |at| at, &mut out);
        } else {
            for (skill, rows, bounds) in table.grouped().iter() {
                let r = replay_of(skill)?;
                replay::replay(table, bounds.windows(2).map(|w| (&r, w[0], w[1])), |at| rows[at] as usize, &mut out);
            }
        }
        Ok((out.correct, out.state))
    }

    /// RMSE, accuracy and AUC of `predict` on these rows.
    pub fn evaluate(&self, rows: &[Response]) -> Result<Evaluation> {
        let predicted: Vec<f64> = self.predict(rows)?.iter().map(|p| p.correct).collect();
        let outcomes: Vec<bool> = rows.iter().map(|r| r.correct).collect();
        evaluate(&predicted, &outcomes)
    }

    /// k-fold cross-validation over learners (each learner's rows stay in one fold): per skill,
    /// the evaluation of each fold's held-out rows by a model fitted on the other folds.
    pub fn crossvalidate(
        rows: &[Response],
        options: &BktOptions,
        folds: usize,
    ) -> Result<BTreeMap<String, Vec<Evaluation>>> {
        check_rows(rows)?;
        Self::crossvalidate_table(&ResponseTable::from_rows(rows), options, folds)
    }

    /// [`BktModel::crossvalidate`] on columns.
    pub fn crossvalidate_table(
        table: &ResponseTable,
        options: &BktOptions,
        folds: usize,
    ) -> Result<BTreeMap<String, Vec<Evaluation>>> {
        Self::crossvalidate_table_with(table, options, folds, &progress::silent)
    }

    /// [`BktModel::crossvalidate_table`] reporting [`Stage::CrossValidation`] progress (`done`
    /// counting finished folds; also called during each fold's EM); `Break` cancels.
    pub fn crossvalidate_table_with(
        table: &ResponseTable,
        options: &BktOptions,
        folds: usize,
        on_progress: OnProgress<'_>,
    ) -> Result<BTreeMap<String, Vec<Evaluation>>> {
        table.validate()?;
        if folds < 2 {
            return Err(MasteryError::invalid("folds", "must be at least 2"));
        }
        options.validate()?;
        let learners = table.learner.iter().max().map_or(0, |&m| m as usize + 1);
        let distinct = {
            let mut seen = vec![false; learners];
            table.learner.iter().for_each(|&l| seen[l as usize] = true);
            seen.iter().filter(|&&s| s).count()
        };
        if folds > distinct || folds > MAX_FOLDS {
            return Err(MasteryError::invalid(
                "folds",
                format!("must be at most the number of learners ({distinct}) and at most {MAX_FOLDS}"),
            ));
        }
        let mut order: Vec<usize> = (0..learners).collect();
        let mut rng = SplitMix64::new(options.seed);
        for i in (1..order.len()).rev() {
            order.swap(i, (rng.next_u64() % (i as u64 + 1)) as usize);
        }
        let mut fold_of = vec![0; learners];
        for (position, &learner) in order.iter().enumerate() {
            fold_of[learner] = position % folds;
        }
        let mut out: BTreeMap<String, Vec<Evaluation>> = BTreeMap::new();
        progress::report(on_progress, Progress { stage: Stage::CrossValidation, done: 0, total: folds })?;
        for k in 0..folds {
            let in_test = |row: usize| fold_of[table.learner[row] as usize] == k;
            let fold = |_: Progress| on_progress(Progress { stage: Stage::CrossValidation, done: k, total: folds });
            let model = Self::fit_table_with(&table.select(|row| !in_test(row)), options, &fold)?;
            let test = table
                .select(|row| in_test(row) && model.skills.contains_key(&table.skill_names[table.skill[row] as usize]));
            let predicted = model.predict_table(&test)?;
            let mut by_skill: BTreeMap<&str, (Vec<f64>, Vec<bool>)> = BTreeMap::new();
            for (row, p) in predicted.iter().enumerate() {
                let entry = by_skill.entry(test.skill_names[test.skill[row] as usize].as_str()).or_default();
                entry.0.push(p.correct);
                entry.1.push(test.correct[row]);
            }
            for (skill, (p, y)) in by_skill {
                out.entry(skill.to_owned()).or_default().push(evaluate(&p, &y)?);
            }
            progress::report(on_progress, Progress { stage: Stage::CrossValidation, done: k + 1, total: folds })?;
        }
        Ok(out)
    }
}

/// The model file: versioned JSON, floats round-trip exactly.
#[derive(Serialize)]
struct ModelFileRef<'a> {
    format: &'a str,
    version: u32,
    model: &'a BktModel,
}

#[derive(Deserialize)]
struct ModelFile {
    model: BktModel,
}

const FORMAT: &str = "mastery.bkt";
const VERSION: u32 = 1;

impl BktModel {
    /// Serialises the model as versioned JSON (`{"format": "mastery.bkt", "version": 1, ...}`).
    pub fn to_json(&self) -> String {
        let file = ModelFileRef { format: FORMAT, version: VERSION, model: self };
        serde_json::to_string(&file).unwrap_or_default()
    }

    /// Reads a model file; an unknown format or version is a typed error.
    pub fn from_json(text: &str) -> Result<Self> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| MasteryError::parse("BKT model file", e))?;
        if value.get("format").and_then(serde_json::Value::as_str) != Some(FORMAT) {
            return Err(MasteryError::invalid("format", "not a mastery BKT model file"));
        }
        match value.get("version").and_then(serde_json::Value::as_u64) {
            Some(v) if v == u64::from(VERSION) => {}
            other => {
                return Err(MasteryError::UnsupportedVersion {
                    what: "BKT model file",
                    version: other.map_or("missing".into(), |v| v.to_string()),
                })
            }
        }
        let file: ModelFile =
            serde_json::from_value(value).map_err(|e| MasteryError::invalid("model", e.to_string()))?;
        let model = file.model;
        for skill in model.skills.values() {
            skill.validate()?;
        }
        Ok(model)
    }

    /// The fitted skill for a competency.
    pub fn skill(&self, skill: &str) -> Result<&SkillModel> {
        self.skills.get(skill).ok_or(MasteryError::NotFound { what: "skill" })
    }
}

/// FNV-1a: a stable hash of a skill name for per-skill seeds.
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Histories already in place are grouped by sorting their runs, in the order the row sort
    /// gives: learners appear in another order in each skill, and runs have several rows.
    #[test]
    fn grouping_runs_equals_sorting_rows() {
        let history = [("l0", "b", 3), ("l1", "a", 2), ("l2", "b", 1), ("l0", "a", 4), ("l2", "a", 2), ("l1", "b", 1)];
        let rows: Vec<Response> = history
            .iter()
            .flat_map(|&(learner, skill, n)| {
                (0..n).map(move |t| Response {
                    learner: learner.into(),
                    skill: skill.into(),
                    correct: t % 2 == 0,
                    order: Some(t),
                    template: None,
                    prior_group: None,
                })
            })
            .collect();
        let same = |rows: &[Response], learners: usize| {
            let table = ResponseTable::from_rows(rows);
            let runs = table.histories_in_place().expect("in place");
            let (by_runs, by_sort) = (table.grouped_runs(&runs, learners), table.grouped_by_sort(learners));
            assert_eq!((by_runs.rows, by_runs.starts, by_runs.skills), (by_sort.rows, by_sort.starts, by_sort.skills));
        };
        same(&rows, 3);
        // More (skill, learner) pairs than a counting sort's buckets are allowed: runs sorted by key.
        let sparse: Vec<Response> = (0..200)
            .map(|i| Response {
                learner: format!("l{}", i / 2),
                skill: format!("s{}", (i / 2 * 37) % 100),
                ..rows[0].clone()
            })
            .collect();
        same(&sparse, 100);
    }
}
