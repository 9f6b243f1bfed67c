//! Features per learner at a cutoff day, leakage-safe by construction: every record is filtered
//! to `day < cutoff` before anything is computed, so nothing on or after the cutoff can move a
//! feature. What is not known stays missing (NaN), never a silent zero.

use serde::{Deserialize, Serialize};

/// One feature: its column name, the name a teacher reads, and how a high contribution to risk
/// is said in words (`{value}` is replaced by the learner's value).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureSpec {
    pub name: String,
    pub display: String,
    pub reason: String,
    /// +1: risk may only rise with the value; -1: only fall; 0: free (a monotone constraint).
    #[serde(default)]
    pub monotone: i8,
    /// A protected attribute (gender, age, disability, deprivation, region, prior education):
    /// left out of training unless the host opts in, and never given as a reason.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub protected: bool,
}

impl FeatureSpec {
    pub fn new(name: &str, display: &str, reason: &str, monotone: i8) -> Self {
        Self { name: name.into(), display: display.into(), reason: reason.into(), monotone, protected: false }
    }

    /// The same feature, marked protected.
    pub fn protected(self) -> Self {
        Self { protected: true, ..self }
    }

    /// The reason in words for a value (missing values say so).
    pub fn reason_for(&self, value: f64) -> String {
        if value.is_nan() {
            return format!("no {} yet", self.display);
        }
        // -0 reads as 0.
        let value = if value == 0.0 { 0.0 } else { value };
        let shown =
            if value.fract() == 0.0 && value.abs() < 1e15 { format!("{value:.0}") } else { format!("{value:.1}") };
        self.reason.replace("{value}", &shown)
    }
}

/// Activity on one day (days count from the course start; fractions are times of day).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActivityEvent {
    pub day: f64,
    #[serde(default)]
    pub clicks: u32,
    #[serde(default)]
    pub seconds: f64,
}

/// One assessment of the course for this learner, submitted or not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Submission {
    pub due_day: Option<f64>,
    #[serde(default)]
    pub weight: f64,
    pub submitted_day: Option<f64>,
    /// 0..=100.
    pub score: Option<f64>,
}

/// A mastery estimate at a point in time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MasteryObservation {
    pub day: f64,
    pub competency: String,
    pub p_known: f64,
    pub mastered: bool,
}

/// Everything known about one learner in one course. `events: None` means the host does not
/// track activity (its features are missing); `Some(vec![])` means it does and there was none.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LearnerActivity {
    #[serde(default)]
    pub events: Option<Vec<ActivityEvent>>,
    #[serde(default)]
    pub submissions: Vec<Submission>,
    #[serde(default)]
    pub mastery: Option<Vec<MasteryObservation>>,
}

/// The features [`build_features`] computes, in order.
pub fn activity_features() -> Vec<FeatureSpec> {
    vec![
        FeatureSpec::new("active_days", "active days", "active on only {value} days", -1),
        FeatureSpec::new("events", "learning events", "only {value} learning events", 0),
        FeatureSpec::new("clicks", "clicks", "only {value} clicks in the course", 0),
        FeatureSpec::new("minutes_on_task", "time on task", "only {value} minutes on task", 0),
        FeatureSpec::new("days_since_last_activity", "days since last activity", "no activity for {value} days", 1),
        FeatureSpec::new("current_streak", "current streak", "a streak of only {value} days", 0),
        FeatureSpec::new("grade_mean", "mean grade", "a mean grade of {value}", -1),
        FeatureSpec::new("grade_min", "lowest grade", "a lowest grade of {value}", 0),
        FeatureSpec::new("grade_trend", "grade trend", "grades changing by {value} points a week", 0),
        FeatureSpec::new("weighted_score", "weighted score so far", "a weighted score of {value} so far", -1),
        FeatureSpec::new("late_submissions", "late submissions", "{value} late submissions", 0),
        FeatureSpec::new("missing_submissions", "missing submissions", "{value} missing submissions", 1),
        FeatureSpec::new(
            "days_since_last_submission",
            "days since last submission",
            "nothing submitted for {value} days",
            0,
        ),
        FeatureSpec::new("mastery_gained", "mastery gained", "mastery gained of only {value}", 0),
        FeatureSpec::new("competencies_mastered", "competencies mastered", "only {value} competencies mastered", 0),
        FeatureSpec::new("mean_p_known", "mean P(known)", "a mean P(known) of {value}", 0),
    ]
}

/// The features of one learner at `cutoff` (a course day), in [`activity_features`] order.
pub fn build_features(activity: &LearnerActivity, cutoff: f64) -> Vec<f64> {
    let nan = f64::NAN;
    let before = |day: f64| day < cutoff;
    let mut out = Vec::with_capacity(16);

    // Engagement.
    match &activity.events {
        None => out.extend([nan; 6]),
        Some(events) => {
            let seen: Vec<&ActivityEvent> = events.iter().filter(|e| before(e.day)).collect();
            let mut days: Vec<i64> = seen.iter().map(|e| e.day.floor() as i64).collect();
            days.sort_unstable();
            days.dedup();
            let last = seen.iter().map(|e| e.day).fold(f64::NEG_INFINITY, f64::max);
            // Consecutive active days ending the day before the cutoff (or on it, if the cutoff
            // falls mid-day).
            let mut streak = 0.0;
            let mut day = (cutoff - 1e-9).floor() as i64;
            if days.binary_search(&day).is_err() {
                day -= 1;
            }
            while days.binary_search(&day).is_ok() {
                streak += 1.0;
                day -= 1;
            }
            out.extend([
                days.len() as f64,
                seen.len() as f64,
                seen.iter().map(|e| f64::from(e.clicks)).sum(),
                seen.iter().map(|e| e.seconds).sum::<f64>() / 60.0,
                if seen.is_empty() { cutoff.max(0.0) } else { (cutoff - last).floor() },
                streak,
            ]);
        }
    }

    // Grades: a submission counts only once it was made before the cutoff.
    let submitted: Vec<&Submission> =
        activity.submissions.iter().filter(|s| s.submitted_day.is_some_and(before)).collect();
    let scored: Vec<(f64, f64)> = submitted.iter().filter_map(|s| Some((s.submitted_day?, s.score?))).collect();
    let due: Vec<&Submission> = activity.submissions.iter().filter(|s| s.due_day.is_some_and(before)).collect();
    let (mean, min, trend) = if scored.is_empty() {
        (nan, nan, nan)
    } else {
        let n = scored.len() as f64;
        let mean = scored.iter().map(|s| s.1).sum::<f64>() / n;
        let min = scored.iter().map(|s| s.1).fold(f64::INFINITY, f64::min);
        // Least-squares slope of score against day, per week.
        let mean_day = scored.iter().map(|s| s.0).sum::<f64>() / n;
        let var = scored.iter().map(|s| (s.0 - mean_day).powi(2)).sum::<f64>();
        let cov = scored.iter().map(|s| (s.0 - mean_day) * (s.1 - mean)).sum::<f64>();
        (mean, min, if scored.len() < 2 || var == 0.0 { nan } else { 7.0 * cov / var })
    };
    let due_weight: f64 = due.iter().map(|s| s.weight).sum();
    let earned: f64 = due
        .iter()
        .filter(|s| s.submitted_day.is_some_and(before))
        .map(|s| s.weight * s.score.unwrap_or(0.0) / 100.0)
        .sum();
    let late = submitted.iter().filter(|s| matches!((s.submitted_day, s.due_day), (Some(a), Some(d)) if a > d)).count();
    let missing = due.iter().filter(|s| !s.submitted_day.is_some_and(before)).count();
    let last_submission = submitted.iter().filter_map(|s| s.submitted_day).fold(f64::NEG_INFINITY, f64::max);
    out.extend([
        mean,
        min,
        trend,
        if due_weight > 0.0 { 100.0 * earned / due_weight } else { nan },
        if activity.submissions.is_empty() { nan } else { late as f64 },
        if activity.submissions.is_empty() { nan } else { missing as f64 },
        if submitted.is_empty() { nan } else { (cutoff - last_submission).floor() },
    ]);

    // Study activity.
    match &activity.mastery {
        None => out.extend([nan; 3]),
        Some(observations) => {
            let mut by_competency: std::collections::BTreeMap<&str, Vec<&MasteryObservation>> = Default::default();
            for o in observations.iter().filter(|o| before(o.day)) {
                by_competency.entry(o.competency.as_str()).or_default().push(o);
            }
            if by_competency.is_empty() {
                out.extend([nan; 3]);
            } else {
                let (mut gained, mut mastered, mut p) = (0.0, 0.0, 0.0);
                for list in by_competency.values_mut() {
                    list.sort_by(|a, b| a.day.total_cmp(&b.day));
                    let (first, last) = (list[0], list[list.len() - 1]);
                    gained += last.p_known - first.p_known;
                    mastered += f64::from(u8::from(last.mastered));
                    p += last.p_known;
                }
                let n = by_competency.len() as f64;
                out.extend([gained / n, mastered, p / n]);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streaks_gaps_and_missing() {
        let activity = LearnerActivity {
            events: Some(
                [1.2, 2.5, 3.1, 5.0, 6.9, 7.3]
                    .iter()
                    .map(|d| ActivityEvent { day: *d, clicks: 2, seconds: 60.0 })
                    .collect(),
            ),
            submissions: vec![
                Submission { due_day: Some(3.0), weight: 50.0, submitted_day: Some(4.0), score: Some(80.0) },
                Submission { due_day: Some(6.0), weight: 50.0, submitted_day: None, score: None },
                Submission { due_day: Some(20.0), weight: 0.0, submitted_day: Some(9.0), score: Some(10.0) },
            ],
            mastery: None,
        };
        let f = build_features(&activity, 8.0);
        assert_eq!(&f[..6], &[6.0, 6.0, 12.0, 6.0, 0.0, 3.0]);
        // One submission before the cutoff (late), one missing; the day-9 one is invisible.
        assert_eq!((f[6], f[10], f[11]), (80.0, 1.0, 1.0));
        assert_eq!(f[9], 40.0);
        assert!(f[8].is_nan() && f[13].is_nan());
        assert!(build_features(&LearnerActivity::default(), 8.0)[..10].iter().all(|v| v.is_nan()));
        assert_eq!(activity_features()[4].reason_for(12.0), "no activity for 12 days");
    }
}
