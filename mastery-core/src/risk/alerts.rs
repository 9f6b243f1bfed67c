//! Acting on scores: risk bands with hysteresis (enter a band at one score, leave it only below
//! a lower one, so alerts do not flap week to week), a retraining policy on new outcomes and
//! input drift (population stability index), and a log of every prediction.

use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};

use std::collections::BTreeMap;

use super::model::{Reason, RiskModel};
use crate::error::{MasteryError, Result};

/// A band: entered at `enter`, kept while the score stays at or above `exit`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskBand {
    pub name: String,
    pub enter: f64,
    pub exit: f64,
}

/// Bands from the highest to the lowest; a score below every band is "none".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskBands {
    pub bands: Vec<RiskBand>,
}

impl Default for RiskBands {
    fn default() -> Self {
        Self {
            bands: vec![
                RiskBand { name: "high".into(), enter: 0.7, exit: 0.6 },
                RiskBand { name: "medium".into(), enter: 0.4, exit: 0.3 },
            ],
        }
    }
}

impl RiskBands {
    pub fn new(bands: Vec<RiskBand>) -> Result<Self> {
        for (i, b) in bands.iter().enumerate() {
            if !(0.0..=1.0).contains(&b.exit) || !(b.exit..=1.0).contains(&b.enter) {
                return Err(MasteryError::invalid(format!("bands[{i}]"), "needs 0 <= exit <= enter <= 1"));
            }
            if i > 0 && b.enter > bands[i - 1].enter {
                return Err(MasteryError::invalid(format!("bands[{i}]"), "bands go from the highest to the lowest"));
            }
        }
        Ok(Self { bands })
    }

    /// The band for `score`, given the band the learner was in (none: no alert).
    pub fn classify(&self, score: f64, previous: Option<&str>) -> Option<&str> {
        let previous_rank = previous.and_then(|p| self.bands.iter().position(|b| b.name == p));
        self.bands
            .iter()
            .enumerate()
            .find(|(i, b)| score >= b.enter || (previous_rank.is_some_and(|p| p <= *i) && score >= b.exit))
            .map(|(_, b)| b.name.as_str())
    }
}

/// The band for `score` given the previous one, under `bands` (none or empty: the defaults,
/// high 0.7/0.6 and medium 0.4/0.3). What every binding's `risk_band` calls.
pub fn risk_band(score: f64, previous: Option<&str>, bands: Option<Vec<RiskBand>>) -> Result<Option<String>> {
    let bands = match bands {
        Some(list) if !list.is_empty() => RiskBands::new(list)?,
        _ => RiskBands::default(),
    };
    Ok(bands.classify(score, previous).map(str::to_owned))
}

/// An alert for an instructor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Alert {
    pub learner: String,
    pub band: String,
    pub score: f64,
    pub reasons: Vec<Reason>,
}

/// Scores every learner, places them in bands (hysteresis against `previous`, learner → band)
/// and returns the alerts, highest score first, each with its `top` reasons. Every prediction
/// goes to `log` when one is given.
#[allow(clippy::too_many_arguments)]
pub fn risk_alerts(
    model: &dyn RiskModel,
    model_version: &str,
    learners: &[(String, Vec<f64>)],
    bands: &RiskBands,
    previous: &BTreeMap<String, String>,
    top: usize,
    at: &str,
    mut log: Option<&mut dyn PredictionLog>,
) -> Result<Vec<Alert>> {
    let width = model.features().len();
    if let Some((_, row)) = learners.iter().find(|(_, row)| row.len() != width) {
        return Err(MasteryError::invalid(
            "features",
            format!("a row has {} values; the model expects {width}", row.len()),
        ));
    }
    let table = learners.iter().flat_map(|(_, row)| row.iter().copied()).collect::<Vec<f64>>();
    let x = ArrayView2::from_shape((learners.len(), width), &table)
        .map_err(|e| MasteryError::invalid("features", e.to_string()))?;
    let explanations = model.explain_many(x, top)?;
    let mut alerts = Vec::new();
    for ((learner, row), explanation) in learners.iter().zip(explanations) {
        let band = bands.classify(explanation.score, previous.get(learner).map(String::as_str)).map(str::to_owned);
        if let Some(log) = log.as_deref_mut() {
            log.record(&PredictionRecord {
                model_version: model_version.to_owned(),
                learner: learner.clone(),
                at: at.to_owned(),
                features: row.clone(),
                score: explanation.score,
                band: band.clone(),
                reasons: explanation.reasons.iter().map(|r| r.text.clone()).collect(),
            })?;
        }
        if let Some(band) = band {
            alerts.push(Alert {
                learner: learner.clone(),
                band,
                score: explanation.score,
                reasons: explanation.reasons,
            });
        }
    }
    alerts.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.learner.cmp(&b.learner)));
    Ok(alerts)
}

/// Population stability index of `actual` against `expected`, over the deciles of `expected`
/// (missing values are a bin of their own). Above 0.2 is usually read as a shift.
pub fn population_stability_index(expected: &[f64], actual: &[f64]) -> Result<f64> {
    if expected.is_empty() || actual.is_empty() {
        return Err(MasteryError::invalid("values", "both samples need values"));
    }
    let mut sorted: Vec<f64> = expected.iter().copied().filter(|v| !v.is_nan()).collect();
    sorted.sort_by(f64::total_cmp);
    let mut cuts: Vec<f64> = (1..10).filter_map(|q| sorted.get(q * sorted.len() / 10).copied()).collect();
    cuts.dedup();
    let shares = |values: &[f64]| {
        let mut counts = vec![0.0; cuts.len() + 2];
        for v in values {
            let bin = if v.is_nan() { cuts.len() + 1 } else { cuts.partition_point(|c| c <= v) };
            counts[bin] += 1.0;
        }
        counts.iter().map(|c| (c / values.len() as f64).max(1e-4)).collect::<Vec<f64>>()
    };
    let (e, a) = (shares(expected), shares(actual));
    Ok(e.iter().zip(&a).map(|(e, a)| (a - e) * libm::log(a / e)).sum())
}

/// When to retrain; the host calls [`RetrainPolicy::decide`] on its schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RetrainPolicy {
    pub min_new_outcomes: usize,
    pub max_psi: f64,
}

impl Default for RetrainPolicy {
    fn default() -> Self {
        Self { min_new_outcomes: 500, max_psi: 0.2 }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RetrainDecision {
    pub retrain: bool,
    pub reasons: Vec<String>,
}

impl RetrainPolicy {
    /// `psi` per feature name (from [`population_stability_index`] on training vs recent rows).
    pub fn decide(&self, new_outcomes: usize, psi: &[(String, f64)]) -> RetrainDecision {
        let mut reasons = Vec::new();
        if new_outcomes >= self.min_new_outcomes {
            reasons.push(format!("{new_outcomes} new labelled outcomes (threshold {})", self.min_new_outcomes));
        }
        for (feature, value) in psi {
            if *value > self.max_psi {
                reasons.push(format!("input drift in {feature}: PSI {value:.3} > {}", self.max_psi));
            }
        }
        RetrainDecision { retrain: !reasons.is_empty(), reasons }
    }
}

/// A learner's last recorded prediction in a course, kept by the engine so the next scoring
/// applies the bands' hysteresis (`band` is `None` below every band).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskPrediction {
    /// The band's name, `None` below every band.
    pub band: Option<String>,
    /// The model's probability of the adverse outcome.
    pub score: f64,
    /// When it was scored, RFC 3339.
    pub at: String,
    /// The model that scored it.
    pub model_version: String,
}

/// One logged prediction. `learner` is the host's pseudonymous key, never a name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PredictionRecord {
    pub model_version: String,
    pub learner: String,
    pub at: String,
    pub features: Vec<f64>,
    pub score: f64,
    pub band: Option<String>,
    pub reasons: Vec<String>,
}

/// Where predictions are logged (the host's table, a file, a queue).
pub trait PredictionLog {
    fn record(&mut self, prediction: &PredictionRecord) -> Result<()>;
}

/// A log in memory (tests, notebooks).
impl PredictionLog for Vec<PredictionRecord> {
    fn record(&mut self, prediction: &PredictionRecord) -> Result<()> {
        self.push(prediction.clone());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hysteresis_does_not_flap() {
        let bands = RiskBands::default();
        let mut band: Option<String> = None;
        let mut seen = Vec::new();
        for score in [0.35, 0.45, 0.72, 0.65, 0.62, 0.58, 0.35, 0.29, 0.41] {
            band = bands.classify(score, band.as_deref()).map(str::to_owned);
            seen.push(band.clone().unwrap_or_default());
        }
        assert_eq!(seen, ["", "medium", "high", "high", "high", "medium", "medium", "", "medium"]);
        assert!(RiskBands::new(vec![RiskBand { name: "x".into(), enter: 0.3, exit: 0.5 }]).is_err());
    }

    #[test]
    fn psi_sees_drift_and_policy_says_why() {
        let base: Vec<f64> = (0..1000).map(|i| f64::from(i % 100)).collect();
        let shifted: Vec<f64> = base.iter().map(|v| v + 40.0).collect();
        assert!(population_stability_index(&base, &base).unwrap() < 1e-9);
        let psi = population_stability_index(&base, &shifted).unwrap();
        assert!(psi > 0.2, "{psi}");
        let d = RetrainPolicy::default().decide(10, &[("grade_mean".into(), psi)]);
        assert!(d.retrain && d.reasons[0].contains("grade_mean"));
        assert!(!RetrainPolicy::default().decide(10, &[("grade_mean".into(), 0.01)]).retrain);
    }
}
