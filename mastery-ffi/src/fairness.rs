//! The fairness audit over uniffi, as typed records.

use mastery_core as core;

use crate::error::MasteryError;

/// One group's figures (`None` where there is nothing to count over).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct GroupFairness {
    pub group: String,
    pub count: u64,
    pub auc: Option<f64>,
    pub selection_rate: f64,
    pub false_positive_rate: Option<f64>,
    pub false_negative_rate: Option<f64>,
    pub mean_score: f64,
    pub base_rate: f64,
}

/// Max − min over the groups, per figure.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct FairnessGaps {
    pub auc: Option<f64>,
    pub selection_rate: f64,
    pub false_positive_rate: Option<f64>,
    pub false_negative_rate: Option<f64>,
    pub mean_score: f64,
    pub base_rate: f64,
    pub calibration: f64,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct FairnessReport {
    pub threshold: f64,
    pub groups: Vec<GroupFairness>,
    pub gaps: FairnessGaps,
}

impl From<core::risk::FairnessReport> for FairnessReport {
    fn from(r: core::risk::FairnessReport) -> Self {
        let g = r.gaps;
        Self {
            threshold: r.threshold,
            groups: r
                .groups
                .into_iter()
                .map(|g| GroupFairness {
                    group: g.group,
                    count: g.count,
                    auc: g.auc,
                    selection_rate: g.selection_rate,
                    false_positive_rate: g.false_positive_rate,
                    false_negative_rate: g.false_negative_rate,
                    mean_score: g.mean_score,
                    base_rate: g.base_rate,
                })
                .collect(),
            gaps: FairnessGaps {
                auc: g.auc,
                selection_rate: g.selection_rate,
                false_positive_rate: g.false_positive_rate,
                false_negative_rate: g.false_negative_rate,
                mean_score: g.mean_score,
                base_rate: g.base_rate,
                calibration: g.calibration,
            },
        }
    }
}

/// Per group of `groups` (one per row): count, AUC, selection rate at `threshold`,
/// false-positive and false-negative rates, mean score and base rate; and the gaps.
#[uniffi::export]
pub fn fairness_report(
    scores: Vec<f64>,
    labels: Vec<f64>,
    groups: Vec<String>,
    threshold: f64,
) -> Result<FairnessReport, MasteryError> {
    Ok(core::risk::fairness_report(&scores, &labels, &groups, threshold)?.into())
}
