//! Class-wide views: per competency mean, median, distribution over the scale, least proficient.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::scale::ProficiencyScale;

/// One competency across a class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CompetencySummary {
    pub competency: String,
    pub learners: usize,
    pub mean: f64,
    pub median: f64,
    pub mastered_share: f64,
    /// Learners per rating, in the scale's order (highest first).
    pub levels: Vec<LevelCount>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LevelCount {
    pub description: String,
    pub color: String,
    pub count: usize,
}

/// `scores[learner][competency]` on the scale's points → one summary per competency, restricted
/// to `competencies` when given (a course's or a framework subtree's), in competency order.
pub fn class_summary(
    scores: &BTreeMap<String, BTreeMap<String, f64>>,
    scale: &ProficiencyScale,
    competencies: Option<&[String]>,
) -> Vec<CompetencySummary> {
    let mut by_competency: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for learner in scores.values() {
        for (competency, &score) in learner {
            if score.is_finite() && competencies.is_none_or(|list| list.iter().any(|c| c == competency)) {
                by_competency.entry(competency).or_default().push(score);
            }
        }
    }
    by_competency.into_iter().filter_map(|(competency, values)| summarize(competency, values, scale)).collect()
}

/// One competency's summary over its learners' finite scores (on the scale's points); `None`
/// when there are none.
pub fn summarize(competency: &str, mut values: Vec<f64>, scale: &ProficiencyScale) -> Option<CompetencySummary> {
    values.retain(|v| v.is_finite());
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    let median = if n % 2 == 1 { values[n / 2] } else { (values[n / 2 - 1] + values[n / 2]) / 2.0 };
    let mut counts = vec![0usize; scale.ratings.len()];
    let mut mastered = 0;
    for &v in &values {
        let rating = scale.rating_for(v);
        if let Some(i) = scale.ratings.iter().position(|r| std::ptr::eq(r, rating)) {
            counts[i] += 1;
        }
        mastered += usize::from(scale.is_mastered(v));
    }
    let levels = scale
        .ratings
        .iter()
        .zip(counts)
        .map(|(r, count)| LevelCount { description: r.description.clone(), color: r.color.clone(), count })
        .collect();
    Some(CompetencySummary {
        competency: competency.to_owned(),
        learners: n,
        mean: values.iter().sum::<f64>() / n as f64,
        median,
        mastered_share: mastered as f64 / n as f64,
        levels,
    })
}

/// The `k` competencies with the lowest class mean (ties by competency id).
pub fn least_proficient(summaries: &[CompetencySummary], k: usize) -> Vec<CompetencySummary> {
    let mut sorted = summaries.to_vec();
    sorted.sort_by(|a, b| a.mean.total_cmp(&b.mean).then_with(|| a.competency.cmp(&b.competency)));
    sorted.truncate(k);
    sorted
}
