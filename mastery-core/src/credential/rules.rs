//! Award rules: data a host stores, evaluated against what is known about one learner.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::framework::Framework;

/// What the rules can see of one learner.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LearnerFacts {
    /// Competency → score on the scale's points (the calculation method's result).
    pub scores: BTreeMap<String, f64>,
    /// Competencies counted as mastered.
    pub mastered: BTreeSet<String>,
    /// The current streak (periods).
    pub streak: u32,
    /// Evidence records per competency.
    pub evidence: BTreeMap<String, u32>,
}

/// When an achievement is earned. Nested freely; hosts keep rules as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum AwardRule {
    /// The competency is mastered, or (with `min_points`) its score reaches them.
    Mastery {
        competency: String,
        #[serde(default)]
        min_points: Option<f64>,
    },
    All {
        rules: Vec<AwardRule>,
    },
    Any {
        rules: Vec<AwardRule>,
    },
    KOfN {
        k: usize,
        rules: Vec<AwardRule>,
    },
    /// Every assessable competency below `root` in the framework is mastered.
    SubtreeMastered {
        root: String,
    },
    /// A streak of at least `periods`.
    Streak {
        periods: u32,
    },
    /// At least `min` pieces of evidence (for one competency, or in all).
    EvidenceCount {
        min: u32,
        #[serde(default)]
        competency: Option<String>,
    },
}

impl AwardRule {
    /// Whether the learner has earned it. `framework` resolves subtree rules (none: not earned).
    pub fn holds(&self, facts: &LearnerFacts, framework: Option<&Framework>) -> bool {
        match self {
            Self::Mastery { competency, min_points } => match min_points {
                Some(p) => facts.scores.get(competency).is_some_and(|s| s >= p),
                None => facts.mastered.contains(competency),
            },
            Self::All { rules } => rules.iter().all(|r| r.holds(facts, framework)),
            Self::Any { rules } => rules.iter().any(|r| r.holds(facts, framework)),
            Self::KOfN { k, rules } => rules.iter().filter(|r| r.holds(facts, framework)).count() >= *k,
            Self::SubtreeMastered { root } => framework.is_some_and(|f| {
                let leaves: Vec<_> =
                    f.descendants(root).unwrap_or_default().into_iter().filter(|c| f.is_leaf(&c.identifier)).collect();
                !leaves.is_empty() && leaves.iter().all(|c| facts.mastered.contains(&c.identifier))
            }),
            Self::Streak { periods } => facts.streak >= *periods,
            Self::EvidenceCount { min, competency } => match competency {
                Some(c) => facts.evidence.get(c).copied().unwrap_or(0) >= *min,
                None => facts.evidence.values().sum::<u32>() >= *min,
            },
        }
    }

    /// How far the learner is towards the rule, 0..=1 (1 exactly when it holds): the share of
    /// mastered competencies, streak periods or evidence reached, combined through the nesting
    /// (the best of `any`, the best `k` of `k_of_n`).
    pub fn progress(&self, facts: &LearnerFacts, framework: Option<&Framework>) -> f64 {
        if self.holds(facts, framework) {
            return 1.0;
        }
        let ratio = |have: f64, need: f64| if need <= 0.0 { 1.0 } else { (have / need).clamp(0.0, 1.0) };
        let progress = match self {
            Self::Mastery { competency, min_points } => match min_points {
                Some(p) => ratio(facts.scores.get(competency).copied().unwrap_or(0.0), *p),
                None => 0.0,
            },
            Self::All { rules } => {
                rules.iter().map(|r| r.progress(facts, framework)).sum::<f64>() / rules.len().max(1) as f64
            }
            Self::Any { rules } => rules.iter().map(|r| r.progress(facts, framework)).fold(0.0, f64::max),
            Self::KOfN { k, rules } => {
                let mut each: Vec<f64> = rules.iter().map(|r| r.progress(facts, framework)).collect();
                each.sort_by(|a, b| b.total_cmp(a));
                each.iter().take(*k).sum::<f64>() / (*k).max(1) as f64
            }
            Self::SubtreeMastered { root } => framework.map_or(0.0, |f| {
                let leaves: Vec<_> =
                    f.descendants(root).unwrap_or_default().into_iter().filter(|c| f.is_leaf(&c.identifier)).collect();
                let done = leaves.iter().filter(|c| facts.mastered.contains(&c.identifier)).count();
                ratio(done as f64, leaves.len() as f64)
            }),
            Self::Streak { periods } => ratio(f64::from(facts.streak), f64::from(*periods)),
            Self::EvidenceCount { min, competency } => {
                let have = match competency {
                    Some(c) => facts.evidence.get(c).copied().unwrap_or(0),
                    None => facts.evidence.values().sum::<u32>(),
                };
                ratio(f64::from(have), f64::from(*min))
            }
        };
        // Not yet earned is never shown as complete.
        progress.min(0.99)
    }

    /// The competencies whose change can make the rule hold (subtrees expanded through
    /// `framework`); `streak` tells whether a streak change can. The engine indexes rules by these.
    pub fn depends_on(&self, framework: Option<&Framework>, competencies: &mut BTreeSet<String>, streak: &mut bool) {
        match self {
            Self::Mastery { competency, .. } => {
                competencies.insert(competency.clone());
            }
            Self::All { rules } | Self::Any { rules } | Self::KOfN { rules, .. } => {
                rules.iter().for_each(|r| r.depends_on(framework, competencies, streak))
            }
            Self::SubtreeMastered { root } => {
                if let Some(f) = framework {
                    competencies
                        .extend(f.descendants(root).unwrap_or_default().into_iter().map(|c| c.identifier.clone()));
                }
            }
            Self::Streak { .. } => *streak = true,
            Self::EvidenceCount { competency: Some(c), .. } => {
                competencies.insert(c.clone());
            }
            // Any evidence can move a total count.
            Self::EvidenceCount { competency: None, .. } => {
                competencies.insert("*".into());
            }
        }
    }
}
