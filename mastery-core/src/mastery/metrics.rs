//! Prediction quality: RMSE, accuracy and ROC AUC (ties count half, as scikit-learn does).

use serde::{Deserialize, Serialize};

use crate::error::{MasteryError, Result};

/// How well predicted probabilities match 0/1 outcomes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    pub rmse: f64,
    /// Share of rows where `p >= 0.5` agrees with the outcome.
    pub accuracy: f64,
    /// Area under the ROC curve; `NaN` when only one outcome occurs.
    pub auc: f64,
    pub rows: usize,
}

/// Evaluates predictions against outcomes of the same length.
pub fn evaluate(predicted: &[f64], outcomes: &[bool]) -> Result<Evaluation> {
    if predicted.len() != outcomes.len() {
        return Err(MasteryError::invalid("predictions", "must have one value per outcome"));
    }
    if predicted.iter().any(|p| !p.is_finite()) {
        return Err(MasteryError::invalid("predictions", "must be finite"));
    }
    let n = predicted.len();
    let squared: f64 = predicted.iter().zip(outcomes).map(|(p, &y)| (p - f64::from(u8::from(y))).powi(2)).sum();
    let correct = predicted.iter().zip(outcomes).filter(|(p, &y)| (**p >= 0.5) == y).count();
    Ok(Evaluation {
        rmse: if n == 0 { f64::NAN } else { (squared / n as f64).sqrt() },
        accuracy: if n == 0 { f64::NAN } else { correct as f64 / n as f64 },
        auc: auc(predicted, outcomes),
        rows: n,
    })
}

/// Mann-Whitney AUC with average ranks for ties.
pub fn auc(predicted: &[f64], outcomes: &[bool]) -> f64 {
    let mut order: Vec<usize> = (0..predicted.len()).collect();
    order.sort_by(|&a, &b| predicted[a].total_cmp(&predicted[b]));
    let (mut rank_sum, mut positives) = (0.0, 0usize);
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && predicted[order[j + 1]] == predicted[order[i]] {
            j += 1;
        }
        let average_rank = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            if outcomes[k] {
                rank_sum += average_rank;
                positives += 1;
            }
        }
        i = j + 1;
    }
    let negatives = predicted.len() - positives;
    if positives == 0 || negatives == 0 {
        return f64::NAN;
    }
    (rank_sum - (positives * (positives + 1)) as f64 / 2.0) / (positives * negatives) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_matches_hand_computed_values() {
        assert_eq!(auc(&[0.1, 0.4, 0.35, 0.8], &[false, false, true, true]), 0.75);
        assert_eq!(auc(&[0.5, 0.5], &[false, true]), 0.5);
        assert!(auc(&[0.5], &[true]).is_nan());
        let e = evaluate(&[1.0, 0.0], &[true, true]).unwrap();
        assert_eq!((e.rmse, e.accuracy), ((0.5f64).sqrt(), 0.5));
        assert!(evaluate(&[0.1], &[]).is_err());
    }
}
