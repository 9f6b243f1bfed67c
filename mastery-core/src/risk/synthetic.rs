//! A deterministic generator of realistic at-risk data for tests, benchmarks and demos: 30
//! correlated features (engagement, grades, study activity, background, noise) with missing
//! values, and a non-linear label. The same seed gives the same table on every platform.

use ndarray::Array2;

use crate::error::{MasteryError, Result};
use crate::mastery::rng::SplitMix64;

/// Names of the generated columns.
pub const SYNTHETIC_FEATURES: [&str; 30] = [
    "active_days",
    "events",
    "clicks",
    "minutes_on_task",
    "days_since_last_activity",
    "current_streak",
    "forum_posts",
    "video_minutes",
    "sessions_per_week",
    "night_share",
    "grade_mean",
    "grade_min",
    "grade_trend",
    "weighted_score",
    "late_submissions",
    "missing_submissions",
    "resubmissions",
    "quiz_attempts",
    "mastery_gained",
    "competencies_mastered",
    "mean_p_known",
    "hint_rate",
    "prior_attempts",
    "credits",
    "age_band",
    "deprivation_band",
    "registration_day",
    "noise_1",
    "noise_2",
    "noise_3",
];

struct Normal(SplitMix64);

impl Normal {
    fn next(&mut self) -> f64 {
        // Box-Muller with portable libm.
        let u1 = self.0.uniform(f64::MIN_POSITIVE, 1.0);
        let u2 = self.0.uniform(0.0, 1.0);
        libm::sqrt(-2.0 * libm::log(u1)) * libm::cos(2.0 * std::f64::consts::PI * u2)
    }

    fn uniform(&mut self) -> f64 {
        self.0.uniform(0.0, 1.0)
    }
}

/// The most rows [`synthetic_risk_data`] makes (2.4 GB of features).
pub const MAX_SYNTHETIC_ROWS: usize = 10_000_000;

/// `rows` learners (at most [`MAX_SYNTHETIC_ROWS`]): the feature matrix (NaN = missing) and
/// labels (1 = at risk).
pub fn synthetic_risk_data(rows: usize, seed: u64) -> Result<(Array2<f64>, Vec<f64>)> {
    if rows > MAX_SYNTHETIC_ROWS {
        return Err(MasteryError::invalid("rows", "must be at most 10000000"));
    }
    let mut rng = Normal(SplitMix64::new(seed ^ 0x005E_ED0F_415C));
    let mut x = Array2::from_elem((rows, SYNTHETIC_FEATURES.len()), f64::NAN);
    let mut y = Vec::with_capacity(rows);
    for r in 0..rows {
        let engagement = rng.next();
        let ability = 0.45 * engagement + 0.89 * rng.next();
        let context = rng.next();
        let noise = |rng: &mut Normal, s: f64| s * rng.next();
        let active_days = (18.0 + 7.0 * engagement + noise(&mut rng, 3.0)).clamp(0.0, 60.0).round();
        let events = (active_days * (12.0 + noise(&mut rng, 3.0))).max(0.0).round();
        let clicks = libm::exp(4.0 + 0.7 * engagement + noise(&mut rng, 0.5)).round();
        let minutes = (active_days * (25.0 + 8.0 * engagement + noise(&mut rng, 6.0))).max(0.0);
        let days_since = (libm::exp(1.6 - 0.9 * engagement + noise(&mut rng, 0.6)) - 1.0).max(0.0).round();
        let streak =
            if days_since > 0.0 { 0.0 } else { (3.0 + 3.0 * engagement + noise(&mut rng, 2.0)).max(1.0).round() };
        let grade_mean = (68.0 + 11.0 * ability + noise(&mut rng, 6.0)).clamp(0.0, 100.0);
        let grade_min = (grade_mean - (8.0 + noise(&mut rng, 4.0)).abs() * 1.5).clamp(0.0, 100.0);
        let trend = 2.0 * ability - 1.0 * context + noise(&mut rng, 2.0);
        let missing = ((1.2 - 0.9 * engagement + noise(&mut rng, 0.7)).max(0.0)).round();
        let late = ((1.0 - 0.5 * engagement - 0.3 * ability + noise(&mut rng, 0.8)).max(0.0)).round();
        let weighted = (grade_mean * (1.0 - 0.12 * missing)).max(0.0);
        let mastery_gained = (0.3 + 0.2 * ability + 0.1 * engagement + noise(&mut rng, 0.1)).clamp(0.0, 1.0);
        let mastered = (6.0 + 3.0 * ability + 2.0 * engagement + noise(&mut rng, 1.5)).max(0.0).round();
        let p_known = crate::risk::gbdt::sigmoid(0.2 + 1.1 * ability + noise(&mut rng, 0.4));
        let prior =
            if rng.uniform() < 0.12 + 0.05 * (-ability).max(0.0) { 1.0 + (rng.uniform() * 2.0).floor() } else { 0.0 };
        let credits = [30.0, 60.0, 60.0, 90.0, 120.0, 180.0][(rng.uniform() * 6.0) as usize % 6];
        let age_band = (rng.uniform() * 3.0).floor();
        let deprivation = (5.0 + 2.5 * context + noise(&mut rng, 1.5)).clamp(0.0, 9.0).round();
        let registration = (-60.0 + 25.0 * engagement + noise(&mut rng, 30.0)).min(10.0).round();
        let row = [
            active_days,
            events,
            clicks,
            minutes,
            days_since,
            streak,
            (1.5 + 1.5 * engagement + noise(&mut rng, 1.5)).max(0.0).round(),
            (minutes * (0.3 + noise(&mut rng, 0.05))).max(0.0),
            (2.0 + engagement + noise(&mut rng, 0.8)).max(0.0),
            (0.2 + noise(&mut rng, 0.1)).clamp(0.0, 1.0),
            grade_mean,
            grade_min,
            trend,
            weighted,
            late,
            missing,
            (0.5 + noise(&mut rng, 0.7)).max(0.0).round(),
            (4.0 + 2.0 * engagement + noise(&mut rng, 2.0)).max(0.0).round(),
            mastery_gained,
            mastered,
            p_known,
            (0.3 - 0.1 * ability + noise(&mut rng, 0.1)).clamp(0.0, 1.0),
            prior,
            credits,
            age_band,
            deprivation,
            registration,
            rng.next(),
            rng.uniform(),
            (rng.uniform() * 5.0).floor(),
        ];
        // Missing values: grades before the first assessment, mastery for courses without a
        // framework, background a learner did not give.
        let mut row = row;
        if rng.uniform() < 0.08 {
            row[10..14].iter_mut().for_each(|v| *v = f64::NAN);
        }
        if rng.uniform() < 0.15 {
            row[18..22].iter_mut().for_each(|v| *v = f64::NAN);
        }
        if rng.uniform() < 0.05 {
            row[25] = f64::NAN;
        }
        x.row_mut(r).iter_mut().zip(row).for_each(|(d, s)| *d = s);

        // The label: disengagement, weak grades and their interaction, a threshold on silence,
        // and a non-linear effect of workload.
        let silent = if days_since > 10.0 { 1.1 } else { 0.0 };
        let overload = if credits >= 120.0 { 0.5 } else { 0.0 };
        let logit = -0.9 - 1.1 * engagement - 0.8 * ability
            + 0.45 * engagement * ability
            + silent
            + 0.35 * missing
            + overload
            + 0.4 * prior
            + 0.3 * libm::sin(1.5 * trend)
            + 0.25 * context;
        y.push(if rng.uniform() < crate::risk::gbdt::sigmoid(logit) { 1.0 } else { 0.0 });
    }
    Ok((x, y))
}
