//! How good a risk model is: ROC AUC (smartcore's, ties averaged), log loss, PR AUC (average
//! precision), Brier score and a calibration curve.

use serde::{Deserialize, Serialize};

use crate::error::{MasteryError, Result};

fn check(p: &[f64], y: &[f64]) -> Result<()> {
    if p.len() != y.len() || p.is_empty() {
        return Err(MasteryError::invalid("y", "needs one label per prediction, at least one"));
    }
    if y.iter().any(|v| *v != 0.0 && *v != 1.0) {
        return Err(MasteryError::invalid("y", "labels must be 0 or 1"));
    }
    if p.iter().any(|v| !(0.0..=1.0).contains(v)) {
        return Err(MasteryError::invalid("p", "probabilities must be in [0, 1]"));
    }
    Ok(())
}

fn both_classes(y: &[f64]) -> Result<()> {
    let pos = y.iter().filter(|v| **v == 1.0).count();
    if pos == 0 || pos == y.len() {
        return Err(MasteryError::invalid("y", "needs both classes"));
    }
    Ok(())
}

/// Area under the ROC curve.
pub fn auc(p: &[f64], y: &[f64]) -> Result<f64> {
    check(p, y)?;
    both_classes(y)?;
    let truth = ndarray::Array1::from(y.to_vec());
    let scores = ndarray::Array1::from(p.to_vec());
    Ok(smartcore::metrics::roc_auc_score(&truth, &scores))
}

/// Mean binary cross-entropy (probabilities clipped to [1e-15, 1 - 1e-15]).
pub fn log_loss(p: &[f64], y: &[f64]) -> Result<f64> {
    check(p, y)?;
    let total: f64 = p
        .iter()
        .zip(y)
        .map(|(p, t)| {
            let p = p.clamp(1e-15, 1.0 - 1e-15);
            -(t * libm::log(p) + (1.0 - t) * libm::log(1.0 - p))
        })
        .sum();
    Ok(total / y.len() as f64)
}

/// Mean squared error of the probabilities.
pub fn brier(p: &[f64], y: &[f64]) -> Result<f64> {
    check(p, y)?;
    Ok(p.iter().zip(y).map(|(p, t)| (p - t) * (p - t)).sum::<f64>() / y.len() as f64)
}

/// Area under the precision-recall curve as average precision (scikit-learn's definition: ties
/// enter together).
pub fn pr_auc(p: &[f64], y: &[f64]) -> Result<f64> {
    check(p, y)?;
    both_classes(y)?;
    let mut order: Vec<usize> = (0..p.len()).collect();
    order.sort_by(|a, b| p[*b].total_cmp(&p[*a]));
    let positives = y.iter().sum::<f64>();
    let (mut tp, mut fp, mut ap, mut last_recall) = (0.0, 0.0, 0.0, 0.0);
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j < order.len() && p[order[j]] == p[order[i]] {
            if y[order[j]] == 1.0 {
                tp += 1.0;
            } else {
                fp += 1.0;
            }
            j += 1;
        }
        let recall = tp / positives;
        ap += (recall - last_recall) * tp / (tp + fp);
        last_recall = recall;
        i = j;
    }
    Ok(ap)
}

/// One bin of a calibration curve.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationBin {
    pub lower: f64,
    pub upper: f64,
    pub count: usize,
    pub mean_predicted: f64,
    pub observed_rate: f64,
}

/// Predicted against observed risk in `bins` equal-width bins (empty bins left out).
pub fn calibration_curve(p: &[f64], y: &[f64], bins: usize) -> Result<Vec<CalibrationBin>> {
    check(p, y)?;
    if bins == 0 {
        return Err(MasteryError::invalid("bins", "must be at least 1"));
    }
    let mut sums = vec![(0usize, 0.0, 0.0); bins];
    for (p, t) in p.iter().zip(y) {
        let b = ((p * bins as f64) as usize).min(bins - 1);
        sums[b].0 += 1;
        sums[b].1 += p;
        sums[b].2 += t;
    }
    Ok(sums
        .iter()
        .enumerate()
        .filter(|(_, s)| s.0 > 0)
        .map(|(b, (n, sp, sy))| CalibrationBin {
            lower: b as f64 / bins as f64,
            upper: (b + 1) as f64 / bins as f64,
            count: *n,
            mean_predicted: sp / *n as f64,
            observed_rate: sy / *n as f64,
        })
        .collect())
}

/// Every metric at once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    pub auc: f64,
    pub pr_auc: f64,
    pub log_loss: f64,
    pub brier: f64,
    pub calibration: Vec<CalibrationBin>,
}

pub fn evaluate(p: &[f64], y: &[f64]) -> Result<Evaluation> {
    Ok(Evaluation {
        auc: auc(p, y)?,
        pr_auc: pr_auc(p, y)?,
        log_loss: log_loss(p, y)?,
        brier: brier(p, y)?,
        calibration: calibration_curve(p, y, 10)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        let (p, y) = ([0.1, 0.4, 0.35, 0.8], [0.0, 0.0, 1.0, 1.0]);
        assert!((auc(&p, &y).unwrap() - 0.75).abs() < 1e-12);
        // scikit-learn's average_precision_score gives 0.8333 here.
        assert!((pr_auc(&p, &y).unwrap() - 0.833_333_333_333_333_4).abs() < 1e-12);
        assert!((brier(&p, &y).unwrap() - (0.01 + 0.16 + 0.4225 + 0.04) / 4.0).abs() < 1e-12);
        assert_eq!(auc(&p, &[1.0; 4]).unwrap_err().field(), Some("y"));
        assert_eq!(calibration_curve(&p, &y, 2).unwrap().len(), 2);
    }
}
