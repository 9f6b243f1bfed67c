//! A fairness audit of risk scores: per group of a protected attribute (gender, age band,
//! deprivation band, ...), how well the scores rank, how often the alert fires, how often it
//! errs each way and whether the scores are calibrated, with the gap between the best and the
//! worst group for each. The figures are Fairlearn's `MetricFrame` ones (`by_group` and
//! `difference()`) for `count`, scikit-learn's `roc_auc_score`, `selection_rate`,
//! `false_positive_rate`, `false_negative_rate` and the means of the scores and the labels.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{MasteryError, Result};

/// One group's figures. A rate with no row to count over (an AUC for a group with one class,
/// a false-positive rate with no negatives) is `None`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupFairness {
    pub group: String,
    pub count: u64,
    pub auc: Option<f64>,
    /// Share of the group at or above the alert threshold.
    pub selection_rate: f64,
    pub false_positive_rate: Option<f64>,
    pub false_negative_rate: Option<f64>,
    /// Calibration: the mean score against the share actually at risk.
    pub mean_score: f64,
    pub base_rate: f64,
}

/// Max − min over the groups where the figure is defined (`None` when fewer than one is).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FairnessGaps {
    pub auc: Option<f64>,
    pub selection_rate: f64,
    pub false_positive_rate: Option<f64>,
    pub false_negative_rate: Option<f64>,
    pub mean_score: f64,
    pub base_rate: f64,
    /// Of `mean_score − base_rate` (how much more one group is over-scored than another).
    pub calibration: f64,
}

/// The audit: groups in sorted order, and the gaps between them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FairnessReport {
    pub threshold: f64,
    pub groups: Vec<GroupFairness>,
    pub gaps: FairnessGaps,
}

/// Audits `scores` (P(at risk)) against `labels` (1 = at risk) per group (`groups[i]` is row
/// `i`'s group); a row is alerted when its score is at or above `threshold`.
pub fn fairness_report(scores: &[f64], labels: &[f64], groups: &[String], threshold: f64) -> Result<FairnessReport> {
    if scores.is_empty() {
        return Err(MasteryError::invalid("scores", "needs at least one row"));
    }
    if labels.len() != scores.len() || groups.len() != scores.len() {
        return Err(MasteryError::invalid("labels", "scores, labels and groups must have one entry per row"));
    }
    if scores.iter().any(|s| !s.is_finite()) {
        return Err(MasteryError::invalid("scores", "must be finite numbers"));
    }
    if labels.iter().any(|v| *v != 0.0 && *v != 1.0) {
        return Err(MasteryError::invalid("labels", "must be 0 or 1"));
    }
    if !threshold.is_finite() {
        return Err(MasteryError::invalid("threshold", "must be a finite number"));
    }
    let mut rows: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, g) in groups.iter().enumerate() {
        rows.entry(g.as_str()).or_default().push(i);
    }
    let groups: Vec<GroupFairness> = rows
        .into_iter()
        .map(|(group, rows)| {
            let (s, y): (Vec<f64>, Vec<f64>) = rows.iter().map(|&i| (scores[i], labels[i])).unzip();
            group_figures(group, &s, &y, threshold)
        })
        .collect();
    let gap = |f: &dyn Fn(&GroupFairness) -> Option<f64>| {
        let values: Vec<f64> = groups.iter().filter_map(f).collect();
        let max = values.iter().copied().reduce(f64::max)?;
        let min = values.iter().copied().reduce(f64::min)?;
        Some(max - min)
    };
    let gaps = FairnessGaps {
        auc: gap(&|g| g.auc),
        selection_rate: gap(&|g| Some(g.selection_rate)).unwrap_or(0.0),
        false_positive_rate: gap(&|g| g.false_positive_rate),
        false_negative_rate: gap(&|g| g.false_negative_rate),
        mean_score: gap(&|g| Some(g.mean_score)).unwrap_or(0.0),
        base_rate: gap(&|g| Some(g.base_rate)).unwrap_or(0.0),
        calibration: gap(&|g| Some(g.mean_score - g.base_rate)).unwrap_or(0.0),
    };
    Ok(FairnessReport { threshold, groups, gaps })
}

fn group_figures(group: &str, scores: &[f64], labels: &[f64], threshold: f64) -> GroupFairness {
    let n = scores.len() as f64;
    let (mut tp, mut fp, mut positives) = (0.0, 0.0, 0.0);
    for (s, y) in scores.iter().zip(labels) {
        let alerted = *s >= threshold;
        positives += y;
        if alerted && *y == 1.0 {
            tp += 1.0;
        } else if alerted {
            fp += 1.0;
        }
    }
    let negatives = n - positives;
    let selected = tp + fp;
    GroupFairness {
        group: group.to_owned(),
        count: scores.len() as u64,
        auc: rank_auc(scores, labels),
        selection_rate: selected / n,
        false_positive_rate: (negatives > 0.0).then(|| fp / negatives),
        false_negative_rate: (positives > 0.0).then(|| (positives - tp) / positives),
        mean_score: scores.iter().sum::<f64>() / n,
        base_rate: positives / n,
    }
}

/// The ROC AUC as the Mann-Whitney statistic (ties count one half, as scikit-learn's
/// trapezoids do); `None` with one class.
fn rank_auc(scores: &[f64], labels: &[f64]) -> Option<f64> {
    let positives = labels.iter().filter(|y| **y == 1.0).count();
    let negatives = labels.len() - positives;
    if positives == 0 || negatives == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|a, b| scores[*a].total_cmp(&scores[*b]));
    // Sum of the positives' (average) ranks.
    let (mut rank_sum, mut i) = (0.0, 0);
    while i < order.len() {
        let mut j = i;
        while j < order.len() && scores[order[j]] == scores[order[i]] {
            j += 1;
        }
        let average = (i + j + 1) as f64 / 2.0; // ranks i+1..=j
        rank_sum += average * order[i..j].iter().filter(|&&k| labels[k] == 1.0).count() as f64;
        i = j;
    }
    let (p, q) = (positives as f64, negatives as f64);
    Some((rank_sum - p * (p + 1.0) / 2.0) / (p * q))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_counts_ties_as_half() {
        assert_eq!(rank_auc(&[0.1, 0.4, 0.35, 0.8], &[0.0, 0.0, 1.0, 1.0]), Some(0.75));
        assert_eq!(rank_auc(&[0.5, 0.5], &[0.0, 1.0]), Some(0.5));
        assert_eq!(rank_auc(&[0.5, 0.5], &[1.0, 1.0]), None);
    }

    #[test]
    fn groups_rates_and_gaps() {
        let groups: Vec<String> = ["a", "a", "a", "b", "b", "b"].iter().map(|s| s.to_string()).collect();
        let r =
            fairness_report(&[0.9, 0.2, 0.6, 0.7, 0.1, 0.3], &[1.0, 0.0, 0.0, 0.0, 0.0, 1.0], &groups, 0.5).unwrap();
        let (a, b) = (&r.groups[0], &r.groups[1]);
        assert_eq!((a.group.as_str(), a.count, a.selection_rate), ("a", 3, 2.0 / 3.0));
        assert_eq!((a.false_positive_rate, a.false_negative_rate), (Some(0.5), Some(0.0)));
        assert_eq!((b.false_positive_rate, b.false_negative_rate), (Some(0.5), Some(1.0)));
        assert_eq!(r.gaps.false_negative_rate, Some(1.0));
        assert!((r.gaps.selection_rate - 1.0 / 3.0).abs() < 1e-15);
        assert!(fairness_report(&[0.1], &[2.0], &groups[..1], 0.5).is_err());
    }
}
