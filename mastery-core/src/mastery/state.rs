//! A learner's state on one competency, kept incrementally and equal to a replay from scratch.
//!
//! The state is a function of the *set* of evidence seen: observations are kept in
//! (time, sequence, id) order, a duplicate id changes nothing, and an observation that arrives
//! out of order makes the state recompute from its history. The newest observation is applied
//! in O(1).

use serde::{Deserialize, Serialize};

use super::bkt::{KnowledgeState, SkillModel};
use super::methods::{CalculationMethod, EvidenceOrder};
use super::scale::ProficiencyScale;
use crate::error::Result;
use crate::time::Instant;

/// One scored observation of a competency.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    /// The evidence's id (a `SmolStr`: cloned per observation on the ingest path without
    /// allocating).
    pub evidence: smol_str::SmolStr,
    /// 0..1.
    pub score: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<Instant>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
}

/// Evidence ids often embed the learner's id: they stay out of logs.
impl std::fmt::Debug for Observation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Observation").field("score", &self.score).field("at", &self.at).finish_non_exhaustive()
    }
}

impl Observation {
    fn key(&self) -> (i64, i64, &str) {
        (self.at.map_or(i64::MIN, |t| t.timestamp_millis()), self.sequence.unwrap_or(i64::MIN), &self.evidence)
    }
}

/// How the engine turns observations into mastery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MasteryConfig {
    pub method: CalculationMethod,
    pub scale: ProficiencyScale,
    #[serde(default)]
    pub order: EvidenceOrder,
    /// Fitted BKT skills by competency id; competencies without one get no P(known).
    #[serde(default)]
    pub bkt: std::collections::BTreeMap<String, SkillModel>,
}

impl Default for MasteryConfig {
    fn default() -> Self {
        Self {
            method: CalculationMethod::default(),
            scale: ProficiencyScale::canvas_default(),
            order: EvidenceOrder::Assessed,
            bkt: Default::default(),
        }
    }
}

/// A learner's mastery of one competency. Only `competency` and `history` are needed to read
/// one back; the rest is derived.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompetencyState {
    pub competency: String,
    /// The calculation method's result on the scale's points, over the history in time order.
    #[serde(default)]
    pub score: Option<f64>,
    #[serde(default)]
    pub rating: Option<String>,
    #[serde(default)]
    pub mastered: bool,
    /// BKT's P(known) after the last observation, when the competency has a fitted skill.
    #[serde(default)]
    pub knowledge: Option<KnowledgeState>,
    #[serde(default)]
    pub last_evidence: Option<Instant>,
    #[serde(default)]
    pub history: Vec<Observation>,
}

impl CompetencyState {
    pub fn new(competency: &str) -> Self {
        Self {
            competency: competency.to_owned(),
            score: None,
            rating: None,
            mastered: false,
            knowledge: None,
            last_evidence: None,
            history: Vec::new(),
        }
    }

    /// Adds an observation. Returns false (and changes nothing) for an id already seen.
    pub fn observe(&mut self, observation: Observation, config: &MasteryConfig) -> Result<bool> {
        if self.history.iter().any(|o| o.evidence == observation.evidence) {
            return Ok(false);
        }
        let newest = self.history.last().is_none_or(|last| last.key() < observation.key());
        let position = self.history.partition_point(|o| o.key() < observation.key());
        self.history.insert(position, observation);
        let skill = config.bkt.get(&self.competency);
        match (skill, newest, self.knowledge.as_mut()) {
            (Some(skill), true, Some(state)) => {
                let last = &self.history[self.history.len() - 1];
                skill.update(state, last.score >= 0.5, last.template.as_deref());
            }
            _ => self.knowledge = skill.map(|s| replay_knowledge(s, &self.history)),
        }
        self.recompute_score(config)?;
        Ok(true)
    }

    fn recompute_score(&mut self, config: &MasteryConfig) -> Result<()> {
        let top = config.scale.ratings.first().map_or(1.0, |r| r.points);
        let scores: Vec<f64> = self.history.iter().map(|o| o.score * top).collect();
        self.score = config.method.calculate_ordered(&scores, config.scale.mastery_points())?;
        self.rating = self.score.map(|s| config.scale.rating_for(s).description.clone());
        self.mastered = self.score.is_some_and(|s| config.scale.is_mastered(s));
        self.last_evidence = self.history.iter().filter_map(|o| o.at).max();
        Ok(())
    }
}

fn replay_knowledge(skill: &SkillModel, history: &[Observation]) -> KnowledgeState {
    let mut state = skill.initial_state();
    for o in history {
        skill.update(&mut state, o.score >= 0.5, o.template.as_deref());
    }
    state
}
