//! The risk feature state the engine keeps per learner × course as evidence arrives: bounded
//! (counters, sums and a few times, whatever the history's length) and equal, whatever the
//! arrival order, to folding the learner's evidence in time order.
//!
//! Records without a time change only integer counters (exact in any order). Timed records fold
//! in when they are newer than every timed record counted (by time, then id); an earlier one
//! makes the engine rebuild the state from the learner's stored evidence in the course. Days are
//! local dates in the offset each record was recorded with, as for streaks.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use smol_str::SmolStr;

use crate::evidence::Evidence;
use crate::mastery::MasteryRecord;
use crate::time::Instant;

use super::features::FeatureSpec;

const MS_PER_DAY: f64 = 86_400_000.0;

/// What a learner did in a course, as far as the at-risk features need it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ActivityRecord {
    /// Records counted.
    #[serde(rename = "n")]
    pub events: u32,
    /// Records with a score.
    #[serde(rename = "ns")]
    pub scored: u32,
    /// Sum and minimum of the scores, in millionths of the 0..1 score (integers: exact in any order).
    #[serde(rename = "ss")]
    score_micros: i64,
    #[serde(rename = "sm", default, skip_serializing_if = "Option::is_none")]
    min_score_micros: Option<i64>,
    /// Records with a duration, and the durations' sum in milliseconds.
    #[serde(rename = "nd")]
    with_duration: u32,
    #[serde(rename = "d")]
    duration_ms: u64,
    /// The newest timed record counted: (ms since the epoch, evidence id), what "newer" means.
    #[serde(rename = "z", default, skip_serializing_if = "Option::is_none")]
    newest: Option<(i64, SmolStr)>,
    /// When the latest activity, and the latest scored one, happened.
    #[serde(rename = "la", default, skip_serializing_if = "Option::is_none")]
    pub last_at: Option<Instant>,
    #[serde(rename = "ls", default, skip_serializing_if = "Option::is_none")]
    pub last_scored_at: Option<Instant>,
    /// Distinct local dates with activity, the latest one, and the run of consecutive dates
    /// ending on it.
    #[serde(rename = "ad")]
    pub active_days: u32,
    #[serde(rename = "ld", default, skip_serializing_if = "Option::is_none")]
    last_day: Option<NaiveDate>,
    #[serde(rename = "r")]
    run: u32,
    /// Least-squares sums of timed scores (0..100) against days since the first timed score.
    #[serde(rename = "t", default, skip_serializing_if = "Option::is_none")]
    trend: Option<TrendSums>,
}

/// Sums for a least-squares slope, over days since `origin_ms`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct TrendSums {
    origin_ms: i64,
    n: u32,
    sum_d: f64,
    sum_dd: f64,
    sum_s: f64,
    sum_ds: f64,
}

fn micros(score: f64) -> i64 {
    (score * 1e6).round() as i64
}

impl ActivityRecord {
    /// Whether `e` can be folded in: it has no time, or it is newer (by time, then id) than
    /// every timed record counted. Otherwise the state must be rebuilt ([`ActivityRecord::rebuild`]).
    pub fn accepts(&self, e: &Evidence) -> bool {
        match (e.occurred_at, &self.newest) {
            (None, _) | (_, None) => true,
            (Some(at), Some((ms, id))) => (at.timestamp_millis(), e.id.as_str()) > (*ms, id.as_str()),
        }
    }

    /// Folds in one record (see [`ActivityRecord::accepts`]).
    pub fn push(&mut self, e: &Evidence) {
        debug_assert!(self.accepts(e));
        self.events += 1;
        let score = e.normalized_score().filter(|s| s.is_finite());
        if let Some(score) = score {
            self.scored += 1;
            self.score_micros += micros(score);
            self.min_score_micros = Some(self.min_score_micros.map_or(micros(score), |m| m.min(micros(score))));
        }
        if let Some(seconds) = e.duration_seconds.filter(|d| d.is_finite() && *d >= 0.0) {
            self.with_duration += 1;
            self.duration_ms += (seconds * 1000.0).round() as u64;
        }
        let Some(at) = e.occurred_at else { return };
        let ms = at.timestamp_millis();
        self.newest = Some((ms, e.id.as_smol_str().clone()));
        self.last_at = Some(at);
        let day = at.date_naive();
        match self.last_day {
            None => (self.active_days, self.run) = (1, 1),
            Some(last) if day > last => {
                self.active_days += 1;
                self.run = if last.succ_opt() == Some(day) { self.run + 1 } else { 1 };
            }
            // The same date, or an earlier one in another offset (a flight west across the date
            // line): not counted again.
            Some(_) => {}
        }
        self.last_day = Some(self.last_day.map_or(day, |last| last.max(day)));
        if let Some(score) = score {
            self.last_scored_at = Some(at);
            let trend = self.trend.get_or_insert(TrendSums {
                origin_ms: ms,
                n: 0,
                sum_d: 0.0,
                sum_dd: 0.0,
                sum_s: 0.0,
                sum_ds: 0.0,
            });
            let (d, s) = ((ms - trend.origin_ms) as f64 / MS_PER_DAY, 100.0 * score);
            trend.n += 1;
            trend.sum_d += d;
            trend.sum_dd += d * d;
            trend.sum_s += s;
            trend.sum_ds += d * s;
        }
    }

    /// The state of a learner's records in one course, folded in time order (records without a
    /// time first); a record given twice (the same id) counts once.
    pub fn rebuild<'e>(records: impl IntoIterator<Item = &'e Evidence>) -> Self {
        let mut records: Vec<&Evidence> = records.into_iter().collect();
        records.sort_by(|a, b| {
            let key = |e: &'e Evidence| (e.occurred_at.map(|t| t.timestamp_millis()), e.id.as_str());
            key(a).cmp(&key(b))
        });
        records.dedup_by(|a, b| a.id == b.id);
        let mut state = Self::default();
        for e in records {
            state.push(e);
        }
        state
    }

    /// The value of one feature of [`super::activity_features`] at `at`, with the learner's
    /// stored mastery records in the course; `NaN` where the engine does not know it (clicks,
    /// due dates, weights) or the history says nothing yet.
    pub fn feature(&self, name: &str, at: Instant, mastery: &[MasteryRecord]) -> f64 {
        let nan = f64::NAN;
        let days_since = |t: Option<Instant>| {
            t.map_or(nan, |t| ((at.timestamp_millis() - t.timestamp_millis()) as f64 / MS_PER_DAY).floor().max(0.0))
        };
        let mean_score = (self.scored > 0).then(|| 100.0 * self.score_micros as f64 / 1e6 / f64::from(self.scored));
        match name {
            "active_days" => f64::from(self.active_days),
            "events" => f64::from(self.events),
            "minutes_on_task" if self.with_duration > 0 => self.duration_ms as f64 / 60_000.0,
            "days_since_last_activity" => days_since(self.last_at),
            "current_streak" => match self.last_day {
                // Still running when its last date is today or yesterday (in `at`'s offset).
                Some(last) if at.date_naive().pred_opt().is_some_and(|yesterday| last >= yesterday) => {
                    f64::from(self.run)
                }
                Some(_) => 0.0,
                None => nan,
            },
            "grade_mean" => mean_score.unwrap_or(nan),
            "grade_min" => self.min_score_micros.map_or(nan, |m| 100.0 * m as f64 / 1e6),
            "grade_trend" => self.trend.as_ref().map_or(nan, TrendSums::slope_per_week),
            "days_since_last_submission" => days_since(self.last_scored_at),
            "competencies_mastered" if !mastery.is_empty() => mastery.iter().filter(|r| r.mastered).count() as f64,
            "mean_p_known" => {
                let known: Vec<f64> = mastery.iter().filter_map(|r| r.knowledge.map(|k| k.p_known)).collect();
                if known.is_empty() {
                    nan
                } else {
                    known.iter().sum::<f64>() / known.len() as f64
                }
            }
            _ => nan,
        }
    }

    /// One row of features in `features`' order.
    pub fn row(&self, features: &[FeatureSpec], at: Instant, mastery: &[MasteryRecord]) -> Vec<f64> {
        features.iter().map(|f| self.feature(&f.name, at, mastery)).collect()
    }
}

/// The features an engine computes from stored state (the others are missing, `NaN`).
pub const ENGINE_FEATURES: [&str; 10] = [
    "active_days",
    "events",
    "minutes_on_task",
    "days_since_last_activity",
    "current_streak",
    "grade_mean",
    "grade_min",
    "grade_trend",
    "days_since_last_submission",
    "competencies_mastered",
];

impl TrendSums {
    /// Points a week, by least squares; `NaN` with fewer than two days apart.
    fn slope_per_week(&self) -> f64 {
        let n = f64::from(self.n);
        let var = self.sum_dd - self.sum_d * self.sum_d / n;
        let cov = self.sum_ds - self.sum_d * self.sum_s / n;
        if self.n < 2 || var <= 1e-12 {
            f64::NAN
        } else {
            7.0 * cov / var
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::{EvidenceKind, EvidenceSource, Score};
    use crate::ids::{EvidenceId, UserId};
    use proptest::prelude::*;

    fn record(id: &str, at: Option<&str>, score: Option<f64>, seconds: Option<f64>) -> Evidence {
        Evidence {
            id: EvidenceId::new(id),
            learner: UserId::new("l"),
            course: None,
            competencies: vec![],
            activity: None,
            kind: EvidenceKind::Assessment,
            score: score.map(|s| Score { scaled: Some(s), raw: None, min: None, max: None }),
            success: None,
            completion: None,
            duration_seconds: seconds,
            occurred_at: at.map(|t| chrono::DateTime::parse_from_rfc3339(t).unwrap()),
            sequence: None,
            source: EvidenceSource::Host,
        }
    }

    fn at(t: &str) -> Instant {
        chrono::DateTime::parse_from_rfc3339(t).unwrap()
    }

    #[test]
    fn features_of_a_short_history() {
        let records = [
            record("a", Some("2026-03-01T10:00:00Z"), Some(0.5), Some(600.0)),
            record("b", Some("2026-03-02T10:00:00Z"), Some(0.7), None),
            record("c", Some("2026-03-03T10:00:00Z"), None, Some(300.0)),
            record("d", Some("2026-03-08T10:00:00Z"), Some(0.9), None),
            record("e", None, Some(0.1), None),
        ];
        let state = ActivityRecord::rebuild(&records);
        let f = |name| state.feature(name, at("2026-03-09T12:00:00Z"), &[]);
        assert_eq!((f("events"), f("active_days"), f("minutes_on_task")), (5.0, 4.0, 15.0));
        assert_eq!((f("days_since_last_activity"), f("current_streak")), (1.0, 1.0));
        assert!((f("grade_mean") - 55.0).abs() < 1e-9 && (f("grade_min") - 10.0).abs() < 1e-9);
        // Scores 50, 70, 90 on days 0, 1, 7: slope 40/14.3 per day... checked against the formula.
        let (d, s) = ([0.0, 1.0, 7.0], [50.0, 70.0, 90.0]);
        let (md, ms) = (d.iter().sum::<f64>() / 3.0, s.iter().sum::<f64>() / 3.0);
        let cov: f64 = d.iter().zip(&s).map(|(d, s)| (d - md) * (s - ms)).sum();
        let var: f64 = d.iter().map(|d| (d - md) * (d - md)).sum();
        assert!((f("grade_trend") - 7.0 * cov / var).abs() < 1e-9);
        assert!(f("clicks").is_nan() && f("mean_p_known").is_nan() && f("competencies_mastered").is_nan());
        // Two days later the run is over.
        assert_eq!(state.feature("current_streak", at("2026-03-10T12:00:00Z"), &[]), 0.0);
    }

    #[test]
    fn an_earlier_record_needs_a_rebuild_and_a_later_one_folds_in() {
        let mut state = ActivityRecord::default();
        state.push(&record("b", Some("2026-03-02T10:00:00Z"), Some(0.5), None));
        assert!(!state.accepts(&record("a", Some("2026-03-01T10:00:00Z"), None, None)));
        assert!(!state.accepts(&record("a", Some("2026-03-02T10:00:00Z"), None, None)));
        assert!(state.accepts(&record("c", Some("2026-03-02T10:00:00Z"), None, None)));
        assert!(state.accepts(&record("x", None, None, None)));
    }

    fn arb_record(i: usize) -> impl Strategy<Value = Evidence> {
        (
            prop::option::weighted(0.85, (0i64..40 * 24, -12i32..=14)),
            prop::option::of(0.0f64..=1.0),
            prop::option::of(0.0f64..3600.0),
        )
            .prop_map(move |(time, score, seconds)| {
                let at = time.map(|(hours, offset)| {
                    let zone = chrono::FixedOffset::east_opt(offset * 3600).unwrap();
                    (at("2026-01-01T00:00:00Z") + chrono::Duration::hours(hours)).with_timezone(&zone)
                });
                let mut e = record(&format!("e{i}"), None, score, seconds);
                e.occurred_at = at;
                e
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1_000))]

        /// Folding records as they arrive (rebuilding when one is earlier than the newest)
        /// equals rebuilding from the whole history, exactly, whatever the order.
        #[test]
        fn any_arrival_order_gives_the_time_ordered_state(
            records in (1usize..30).prop_flat_map(|n| (0..n).map(arb_record).collect::<Vec<_>>()).prop_shuffle(),
        ) {
            let mut state = ActivityRecord::default();
            for (i, e) in records.iter().enumerate() {
                if state.accepts(e) {
                    state.push(e);
                } else {
                    state = ActivityRecord::rebuild(&records[..=i]);
                }
            }
            prop_assert_eq!(&state, &ActivityRecord::rebuild(&records));
            let size = serde_json::to_vec(&state).unwrap().len();
            prop_assert!(size < 400, "{} bytes", size);
        }
    }
}
