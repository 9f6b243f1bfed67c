//! Calculation methods with the semantics teachers know from Canvas Outcomes.

use serde::{Deserialize, Serialize};

use crate::error::{MasteryError, Result};
use crate::time::Instant;

/// How a competency's score is computed from its scored evidence.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum CalculationMethod {
    /// Canvas's legacy "decaying average": `w` × latest + (1 − `w`) × mean of the older scores.
    /// `weight` is a percentage, 1–99 (Canvas default 65).
    WeightedAverage {
        weight: u8,
    },
    /// `d = (1 − r) × d_prev + r × score`, in order; `rate` is a percentage, 50–99 (default 65).
    DecayingAverage {
        rate: u8,
    },
    /// Drop scores below the mastery points; the mean of the rest if at least `n` remain, else no result.
    NMastery {
        n: u8,
    },
    Latest,
    Highest,
    Average,
}

impl Default for CalculationMethod {
    fn default() -> Self {
        Self::DecayingAverage { rate: 65 }
    }
}

/// One scored piece of evidence for a competency, on the scale's points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoredEvidence {
    pub score: f64,
    /// When it was submitted or assessed.
    pub assessed_at: Instant,
    /// When it was due, for hosts that order by due date.
    #[serde(default)]
    pub due_at: Option<Instant>,
}

/// Which time orders the evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceOrder {
    #[default]
    Assessed,
    /// By due date; evidence without one falls back to its assessed time.
    Due,
}

impl CalculationMethod {
    fn validate(&self) -> Result<()> {
        match *self {
            Self::WeightedAverage { weight } if !(1..=99).contains(&weight) => {
                Err(MasteryError::invalid("weight", "must be 1-99 (percent)"))
            }
            Self::DecayingAverage { rate } if !(50..=99).contains(&rate) => {
                Err(MasteryError::invalid("rate", "must be 50-99 (percent)"))
            }
            Self::NMastery { n: 0 } => Err(MasteryError::invalid("n", "must be at least 1")),
            _ => Ok(()),
        }
    }

    /// The score, rounded to 2 decimals as Canvas does; `None` when the method yields no result
    /// (no evidence, or too few scores at mastery for `n_mastery`).
    pub fn calculate(
        &self,
        evidence: &[ScoredEvidence],
        mastery_points: f64,
        order: EvidenceOrder,
    ) -> Result<Option<f64>> {
        self.validate()?;
        if evidence.iter().any(|e| !e.score.is_finite()) {
            return Err(MasteryError::invalid("score", "must be a finite number"));
        }
        let mut sorted: Vec<&ScoredEvidence> = evidence.iter().collect();
        sorted.sort_by_key(|e| match order {
            EvidenceOrder::Assessed => e.assessed_at,
            EvidenceOrder::Due => e.due_at.unwrap_or(e.assessed_at),
        });
        let scores: Vec<f64> = sorted.iter().map(|e| e.score).collect();
        self.calculate_ordered(&scores, mastery_points)
    }

    /// The same on scores already in order, oldest first.
    pub fn calculate_ordered(&self, scores: &[f64], mastery_points: f64) -> Result<Option<f64>> {
        self.validate()?;
        if scores.iter().any(|s| !s.is_finite()) {
            return Err(MasteryError::invalid("score", "must be a finite number"));
        }
        let mut running = Running::default();
        for &score in scores {
            running.push(score, *self, mastery_points);
        }
        Ok(running.value(*self))
    }
}

/// A calculation method's result kept up to date one score at a time, in O(1) space: what the
/// engine stores instead of a learner's whole history. [`CalculationMethod::calculate_ordered`]
/// is built on it, so the two agree to the bit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Running {
    #[serde(rename = "n")]
    count: u32,
    #[serde(rename = "l")]
    latest: f64,
    /// Sum of every score but the latest, added oldest first.
    #[serde(rename = "o")]
    sum_older: f64,
    /// The decaying average so far (with the method's rate).
    #[serde(rename = "d")]
    decaying: f64,
    #[serde(rename = "h")]
    highest: f64,
    /// Sum and count of the scores at or above mastery (n_mastery).
    #[serde(rename = "ks")]
    kept_sum: f64,
    #[serde(rename = "kn")]
    kept_count: u32,
}

impl Running {
    /// Adds the next score (the newest so far).
    pub fn push(&mut self, score: f64, method: CalculationMethod, mastery_points: f64) {
        if self.count == 0 {
            *self = Self { count: 1, latest: score, decaying: score, highest: score, ..Self::default() };
        } else {
            self.sum_older += self.latest;
            self.latest = score;
            if let CalculationMethod::DecayingAverage { rate } = method {
                let r = f64::from(rate) / 100.0;
                self.decaying = (1.0 - r) * self.decaying + r * score;
            }
            self.highest = self.highest.max(score);
            self.count = self.count.saturating_add(1);
        }
        if score >= mastery_points {
            self.kept_sum += score;
            self.kept_count = self.kept_count.saturating_add(1);
        }
    }

    /// How many scores were pushed.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// The method's result, rounded to 2 decimals; `None` before any score, or with too few
    /// scores at mastery for `n_mastery`.
    pub fn value(&self, method: CalculationMethod) -> Option<f64> {
        if self.count == 0 {
            return None;
        }
        let value = match method {
            CalculationMethod::WeightedAverage { weight } => {
                if self.count == 1 {
                    self.latest
                } else {
                    let w = f64::from(weight) / 100.0;
                    w * self.latest + (1.0 - w) * (self.sum_older / f64::from(self.count - 1))
                }
            }
            CalculationMethod::DecayingAverage { .. } => self.decaying,
            CalculationMethod::NMastery { n } => {
                if self.kept_count < u32::from(n) {
                    return None;
                }
                self.kept_sum / f64::from(self.kept_count)
            }
            CalculationMethod::Latest => self.latest,
            CalculationMethod::Highest => self.highest,
            CalculationMethod::Average => (self.sum_older + self.latest) / f64::from(self.count),
        };
        Some(round2(value))
    }
}

/// Rounds half away from zero to 2 decimals, on the decimal value the float stands for.
pub fn round2(value: f64) -> f64 {
    let scaled = value * 100.0;
    // Nudge by a few ulps so 2.675 (stored as 2.67499999...) rounds the way a teacher expects.
    let nudged = scaled + scaled.signum() * scaled.abs() * 4.0 * f64::EPSILON;
    nudged.round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::parse_instant;

    fn ev(scores: &[f64]) -> Vec<ScoredEvidence> {
        scores
            .iter()
            .enumerate()
            .map(|(i, &score)| ScoredEvidence {
                score,
                assessed_at: parse_instant(&format!("2026-01-{:02}T10:00:00Z", i + 1), "t").unwrap(),
                due_at: None,
            })
            .collect()
    }

    #[test]
    fn canvas_examples() {
        let e = ev(&[1.0, 2.0, 3.0, 4.0]);
        let calc = |m: CalculationMethod| m.calculate(&e, 3.0, EvidenceOrder::Assessed).unwrap();
        // 0.65 × 4 + 0.35 × mean(1, 2, 3) = 2.6 + 0.7
        assert_eq!(calc(CalculationMethod::WeightedAverage { weight: 65 }), Some(3.3));
        // d: 1 → 1.65 → 2.5275 → 3.484625
        assert_eq!(calc(CalculationMethod::DecayingAverage { rate: 65 }), Some(3.48));
        assert_eq!(calc(CalculationMethod::NMastery { n: 2 }), Some(3.5));
        assert_eq!(calc(CalculationMethod::NMastery { n: 3 }), None);
        assert_eq!(calc(CalculationMethod::Latest), Some(4.0));
        assert_eq!(calc(CalculationMethod::Highest), Some(4.0));
        assert_eq!(calc(CalculationMethod::Average), Some(2.5));
        assert_eq!(CalculationMethod::Latest.calculate(&[], 3.0, EvidenceOrder::Assessed).unwrap(), None);
        assert!(CalculationMethod::DecayingAverage { rate: 40 }.calculate(&e, 3.0, EvidenceOrder::Assessed).is_err());
        assert_eq!(round2(2.675), 2.68);
        assert_eq!(round2(-1.005), -1.01);
    }

    #[test]
    fn due_date_order_changes_latest() {
        let mut e = ev(&[4.0, 1.0]);
        e[0].due_at = Some(parse_instant("2026-02-01T00:00:00Z", "t").unwrap());
        assert_eq!(CalculationMethod::Latest.calculate(&e, 3.0, EvidenceOrder::Assessed).unwrap(), Some(1.0));
        assert_eq!(CalculationMethod::Latest.calculate(&e, 3.0, EvidenceOrder::Due).unwrap(), Some(4.0));
    }
}
