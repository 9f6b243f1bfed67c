//! Mastery that fades: exponential decay with a half-life since the last evidence, so a state
//! can be "mastered, needs re-verification".

use serde::{Deserialize, Serialize};

use crate::error::{MasteryError, Result};
use crate::time::Instant;

/// Exponential decay of a 0..1 mastery value.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Decay {
    pub half_life_days: f64,
}

/// What the decayed value means for the learner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Freshness {
    Mastered,
    /// Was mastered at the last evidence, has decayed below the threshold since.
    NeedsReverification,
    NotMastered,
}

/// The longest half-life accepted: a hundred years.
pub const MAX_HALF_LIFE_DAYS: f64 = 36_500.0;

impl Decay {
    /// A half-life of more than zero and at most [`MAX_HALF_LIFE_DAYS`] days.
    pub fn new(half_life_days: f64) -> Result<Self> {
        if !(half_life_days.is_finite() && half_life_days > 0.0 && half_life_days <= MAX_HALF_LIFE_DAYS) {
            return Err(MasteryError::invalid("half_life_days", "must be a positive number of days, at most 36500"));
        }
        Ok(Self { half_life_days })
    }

    /// `value × 0.5^(elapsed / half-life)`; no decay before the last evidence.
    pub fn apply(&self, value: f64, last_evidence: Instant, now: Instant) -> f64 {
        let days = (now - last_evidence).num_milliseconds() as f64 / 86_400_000.0;
        let decayed = value * 0.5f64.powf(days.max(0.0) / self.half_life_days);
        // A hand-built half-life of 0 or NaN would give NaN: no decay is the honest reading.
        if decayed.is_finite() {
            decayed
        } else {
            value
        }
    }

    /// When the decayed value falls below `threshold` (none: it never was above it). A
    /// credential tied to decay takes this as its `validUntil`; new evidence moves it.
    pub fn mastered_until(&self, value: f64, last_evidence: Instant, threshold: f64) -> Option<Instant> {
        if !(value >= threshold && threshold > 0.0) {
            return None;
        }
        let days = self.half_life_days * (value / threshold).log2();
        // The struct's field is public, so a half-life `new` would refuse can still arrive here:
        // a date past the end of the calendar saturates there instead of panicking.
        let far = || chrono::DateTime::<chrono::Utc>::MAX_UTC.fixed_offset();
        let millis = days * 86_400_000.0;
        if !millis.is_finite() || millis.abs() >= i64::MAX as f64 {
            return Some(if millis < 0.0 { last_evidence } else { far() });
        }
        let step = chrono::Duration::try_milliseconds(millis as i64);
        Some(step.and_then(|s| last_evidence.checked_add_signed(s)).unwrap_or_else(far))
    }

    /// Mastered, needs re-verification, or not mastered, against `threshold`.
    pub fn freshness(&self, value: f64, last_evidence: Instant, now: Instant, threshold: f64) -> Freshness {
        match (value >= threshold, self.apply(value, last_evidence, now) >= threshold) {
            (true, true) => Freshness::Mastered,
            (true, false) => Freshness::NeedsReverification,
            _ => Freshness::NotMastered,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::parse_instant;

    #[test]
    fn one_half_life_halves() {
        let d = Decay::new(30.0).unwrap();
        let t0 = parse_instant("2026-01-01T00:00:00Z", "t").unwrap();
        let t1 = parse_instant("2026-01-31T00:00:00Z", "t").unwrap();
        assert!((d.apply(0.96, t0, t1) - 0.48).abs() < 1e-12);
        assert_eq!(d.apply(0.96, t1, t0), 0.96);
        assert_eq!(d.freshness(0.96, t0, t1, 0.95), Freshness::NeedsReverification);
        assert!(Decay::new(0.0).is_err());
        // 0.96 decays to 0.48 in one half-life, so it stays above 0.48 for exactly 30 days.
        assert_eq!(d.mastered_until(0.96, t0, 0.48), Some(t1));
        assert_eq!(d.mastered_until(0.4, t0, 0.48), None);
    }

    #[test]
    fn a_huge_half_life_is_refused_or_saturates() {
        assert!(Decay::new(1e12).is_err() && Decay::new(f64::INFINITY).is_err() && Decay::new(36_500.0).is_ok());
        let t0 = parse_instant("2026-01-01T00:00:00Z", "t").unwrap();
        for half_life_days in [1e12, 1e300, f64::INFINITY, f64::NAN] {
            let d = Decay { half_life_days };
            let until = d.mastered_until(0.99, t0, 0.5);
            assert!(until.is_some_and(|u| u >= t0) || half_life_days.is_nan(), "{half_life_days}");
            assert!(d.apply(0.9, t0, t0).is_finite());
        }
    }
}
