//! Proficiency scales: rating levels with points, and exactly one mastery level.

use serde::{Deserialize, Serialize};

use crate::error::{MasteryError, Result};

/// One rating of a scale.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rating {
    pub points: f64,
    pub description: String,
    /// `#rrggbb`.
    pub color: String,
    #[serde(default)]
    pub mastery: bool,
}

/// A proficiency scale. Ratings are kept in descending points; `display_cut_points` (optional)
/// are where a dashboard draws band edges, separate from the calculation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProficiencyScale {
    pub ratings: Vec<Rating>,
    #[serde(default)]
    pub display_cut_points: Vec<f64>,
}

impl Rating {
    pub fn new(points: f64, description: &str, color: &str, mastery: bool) -> Self {
        Self { points, description: description.into(), color: color.into(), mastery }
    }
}

/// A scale as a host sends it, before [`ProficiencyScale::new`] validates it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProficiencyScaleInput {
    pub ratings: Vec<Rating>,
    #[serde(default)]
    pub display_cut_points: Vec<f64>,
}

impl ProficiencyScale {
    /// Validates and orders the ratings: at least one, distinct points, exactly one mastery level.
    pub fn new(mut ratings: Vec<Rating>, display_cut_points: Vec<f64>) -> Result<Self> {
        if ratings.is_empty() {
            return Err(MasteryError::invalid("ratings", "needs at least one rating"));
        }
        if ratings.iter().any(|r| !r.points.is_finite()) {
            return Err(MasteryError::invalid("ratings.points", "must be finite"));
        }
        if ratings.iter().filter(|r| r.mastery).count() != 1 {
            return Err(MasteryError::invalid("ratings.mastery", "exactly one rating must be the mastery level"));
        }
        if ratings.iter().any(|r| !is_hex_color(&r.color)) {
            return Err(MasteryError::invalid("ratings.color", "must be #rrggbb"));
        }
        ratings.sort_by(|a, b| b.points.total_cmp(&a.points));
        if ratings.windows(2).any(|w| w[0].points == w[1].points) {
            return Err(MasteryError::invalid("ratings.points", "must be distinct"));
        }
        Ok(Self { ratings, display_cut_points })
    }

    /// Canvas's default 5-level scale (Exceeds 4 … No Evidence 0, mastery at 3).
    pub fn canvas_default() -> Self {
        let r = Rating::new;
        Self {
            ratings: vec![
                r(4.0, "Exceeds Mastery", "#127a1b", false),
                r(3.0, "Mastery", "#0b874b", true),
                r(2.0, "Near Mastery", "#fab901", false),
                r(1.0, "Below Mastery", "#fd5d10", false),
                r(0.0, "No Evidence", "#e0061f", false),
            ],
            display_cut_points: Vec::new(),
        }
    }

    /// A Khan-style ladder on P(known) or a 0..1 score: attempted, familiar, proficient, mastered.
    pub fn khan_ladder() -> Self {
        let r = Rating::new;
        Self {
            ratings: vec![
                r(0.95, "Mastered", "#1b5e20", true),
                r(0.8, "Proficient", "#2e7d32", false),
                r(0.5, "Familiar", "#81c784", false),
                r(0.0, "Attempted", "#c8e6c9", false),
            ],
            display_cut_points: vec![0.5, 0.8, 0.95],
        }
    }

    /// A ready-made scale by name: `canvas` or `khan`.
    pub fn named(name: &str) -> Result<Self> {
        match name {
            "canvas" => Ok(Self::canvas_default()),
            "khan" => Ok(Self::khan_ladder()),
            _ => Err(MasteryError::invalid("name", "must be canvas or khan")),
        }
    }

    /// A named scale, or a scale given as data (validated).
    pub fn from_input(input: ProficiencyScaleInput) -> Result<Self> {
        Self::new(input.ratings, input.display_cut_points)
    }

    /// The points a score must reach to count as mastered.
    pub fn mastery_points(&self) -> f64 {
        self.ratings.iter().find(|r| r.mastery).map_or(f64::INFINITY, |r| r.points)
    }

    /// The highest rating whose points the score reaches (the lowest rating below all of them).
    pub fn rating_for(&self, score: f64) -> &Rating {
        self.ratings.iter().find(|r| score >= r.points).unwrap_or_else(|| &self.ratings[self.ratings.len() - 1])
    }

    pub fn is_mastered(&self, score: f64) -> bool {
        score >= self.mastery_points()
    }
}

fn is_hex_color(c: &str) -> bool {
    c.len() == 7 && c.starts_with('#') && c[1..].chars().all(|x| x.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratings_and_mastery() {
        let s = ProficiencyScale::canvas_default();
        assert_eq!(s.mastery_points(), 3.0);
        assert_eq!(s.rating_for(3.48).description, "Mastery");
        assert_eq!(s.rating_for(-1.0).description, "No Evidence");
        let k = ProficiencyScale::khan_ladder();
        assert_eq!(k.rating_for(0.9).description, "Proficient");
        assert!(k.is_mastered(0.97));
        let two_masteries = vec![
            Rating { points: 1.0, description: "a".into(), color: "#000000".into(), mastery: true },
            Rating { points: 2.0, description: "b".into(), color: "#000000".into(), mastery: true },
        ];
        assert_eq!(ProficiencyScale::new(two_masteries, vec![]).unwrap_err().field(), Some("ratings.mastery"));
    }
}
