//! What the engine stores per learner × course × competency: a record whose size does not grow
//! with the learner's history.
//!
//! The calculation method's running values ([`Running`]) and BKT's knowledge state advance in O(1)
//! with each observation newer than the newest seen. An observation that is not newer (it arrived
//! late, or shares the newest's time and sequence) cannot be folded in, so the engine rebuilds the
//! record from the stored evidence instead ([`MasteryRecord::rebuild`]). Either way the record
//! equals one built from the whole history in order.

use serde::{Deserialize, Serialize};
use smol_str::SmolStr;

use super::bkt::KnowledgeState;
use super::methods::Running;
use super::state::{MasteryConfig, Observation};
use crate::error::{MasteryError, Result};
use crate::time::Instant;

/// A learner's mastery of one competency, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MasteryRecord {
    /// The competency (kept in the store's key, so not serialised).
    #[serde(skip)]
    pub competency: SmolStr,
    /// The calculation method's result on the scale's points.
    #[serde(rename = "s", default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    #[serde(rename = "m", default)]
    pub mastered: bool,
    /// BKT's P(known) after the newest observation, when the competency has a fitted skill.
    #[serde(rename = "k", default, skip_serializing_if = "Option::is_none", with = "compact_knowledge")]
    pub knowledge: Option<KnowledgeState>,
    #[serde(
        rename = "t",
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::time::rfc3339_opt::serialize"
    )]
    pub last_evidence: Option<Instant>,
    #[serde(rename = "r")]
    running: Running,
    /// The newest observation's time (ms) and sequence: what "newer" is measured against. A
    /// missing one is `null` (records written before stored `i64::MIN`, which still loads; it is
    /// no JS number, so a JS host store could not be handed it).
    #[serde(rename = "z", default, skip_serializing_if = "Option::is_none")]
    newest: Option<(Option<i64>, Option<i64>)>,
}

/// Knowledge as `[p_known, log_odds, attempts, correct]`: the record is stored once per learner
/// × competency, so its keys are short (it stays under 256 bytes).
mod compact_knowledge {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use crate::mastery::bkt::KnowledgeState;

    pub fn serialize<S: Serializer>(k: &Option<KnowledgeState>, s: S) -> Result<S::Ok, S::Error> {
        k.map(|k| (k.p_known, k.log_odds, k.attempts, k.correct)).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<KnowledgeState>, D::Error> {
        let raw = Option::<(f64, f64, u32, u32)>::deserialize(d)?;
        Ok(raw.map(|(p_known, log_odds, attempts, correct)| KnowledgeState { p_known, log_odds, attempts, correct }))
    }
}

/// (time, sequence), a missing one first, as [`super::CompetencyState`] orders its history.
fn order_key(o: &Observation) -> (i64, i64) {
    (o.at.map_or(i64::MIN, |t| t.timestamp_millis()), o.sequence.unwrap_or(i64::MIN))
}

/// The stored form of an order key: no time or sequence is `None` rather than 20 digits.
fn stored_key((at, sequence): (i64, i64)) -> (Option<i64>, Option<i64>) {
    ((at != i64::MIN).then_some(at), (sequence != i64::MIN).then_some(sequence))
}

fn loaded_key((at, sequence): (Option<i64>, Option<i64>)) -> (i64, i64) {
    (at.unwrap_or(i64::MIN), sequence.unwrap_or(i64::MIN))
}

impl MasteryRecord {
    /// No evidence yet.
    pub fn new(competency: &str) -> Self {
        Self {
            competency: competency.into(),
            score: None,
            mastered: false,
            knowledge: None,
            last_evidence: None,
            running: Running::default(),
            newest: None,
        }
    }

    /// How many observations the record counts.
    pub fn evidence_count(&self) -> u32 {
        self.running.count()
    }

    /// Whether `observation` can be folded in (it is strictly newer than every one counted).
    pub fn accepts(&self, observation: &Observation) -> bool {
        self.newest.is_none_or(|newest| loaded_key(newest) < order_key(observation))
    }

    /// Folds in an observation newer than every one counted; refuses any other (rebuild instead).
    pub fn push(&mut self, observation: &Observation, config: &MasteryConfig) -> Result<()> {
        if !self.push_if_newer(observation, config)? {
            return Err(MasteryError::invalid("observation", "is not newer than the record: rebuild it"));
        }
        Ok(())
    }

    /// [`MasteryRecord::push`] when the observation is newer than every one counted (true);
    /// otherwise leaves the record as it is (false). The order key is computed once.
    pub(crate) fn push_if_newer(&mut self, observation: &Observation, config: &MasteryConfig) -> Result<bool> {
        let key = order_key(observation);
        if self.newest.is_some_and(|newest| loaded_key(newest) >= key) {
            return Ok(false);
        }
        if !observation.score.is_finite() {
            return Err(MasteryError::invalid("score", "must be a finite number"));
        }
        let top = config.scale.ratings.first().map_or(1.0, |r| r.points);
        let mastery_points = config.scale.mastery_points();
        self.running.push(observation.score * top, config.method, mastery_points);
        if let Some(skill) = config.bkt.get(self.competency.as_str()) {
            let state = self.knowledge.get_or_insert_with(|| skill.initial_state());
            skill.update(state, observation.score >= 0.5, observation.template.as_deref());
        }
        self.newest = Some(stored_key(key));
        if let Some(at) = observation.at {
            self.last_evidence = Some(self.last_evidence.map_or(at, |t| t.max(at)));
        }
        self.score = self.running.value(config.method);
        // `ProficiencyScale::is_mastered`, with the mastery points found above.
        self.mastered = self.score.is_some_and(|s| s >= mastery_points);
        Ok(true)
    }

    /// The record of these observations (any order; ties keep the given order after sorting by
    /// time, sequence and evidence id, as [`super::CompetencyState`] orders its history).
    pub fn rebuild(competency: &str, mut observations: Vec<Observation>, config: &MasteryConfig) -> Result<Self> {
        observations.sort_by(|a, b| (order_key(a), &a.evidence).cmp(&(order_key(b), &b.evidence)));
        observations.dedup_by(|a, b| a.evidence == b.evidence);
        let mut record = Self::new(competency);
        for o in &observations {
            // Equal keys are in order already; fold them in without the newness check.
            record.newest = None;
            record.push(o, config)?;
        }
        Ok(record)
    }

    /// What readers see: the record with its competency, rating and counts spelled out.
    pub fn view(&self, config: &MasteryConfig) -> MasteryView {
        MasteryView {
            competency: self.competency.to_string(),
            score: self.score,
            rating: self.rating(config).map(|r| r.description.clone()),
            mastered: self.mastered,
            p_known: self.knowledge.map(|k| k.p_known),
            last_evidence: self.last_evidence,
            evidence_count: self.evidence_count(),
        }
    }

    /// The rating the score earns on the configured scale.
    pub fn rating<'a>(&self, config: &'a MasteryConfig) -> Option<&'a super::Rating> {
        self.score.map(|s| config.scale.rating_for(s))
    }
}

/// A mastery record as readers see it (dashboards, APIs, every binding).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MasteryView {
    pub competency: String,
    /// On the scale's points.
    pub score: Option<f64>,
    /// The rating's description on the scale.
    pub rating: Option<String>,
    pub mastered: bool,
    /// BKT's P(known), when the competency has a fitted skill.
    pub p_known: Option<f64>,
    pub last_evidence: Option<Instant>,
    pub evidence_count: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record of evidence without a time holds only numbers JS can represent (a JS host store
    /// is handed it as a plain object), and one written before that still loads and orders alike.
    #[test]
    fn an_untimed_record_stores_only_js_safe_numbers_and_old_records_load() {
        let config = MasteryConfig::default();
        let untimed = Observation { evidence: "e1".into(), score: 0.5, at: None, sequence: None, template: None };
        let mut record = MasteryRecord::new("fractions");
        record.push(&untimed, &config).unwrap();
        let json = serde_json::to_value(&record).unwrap();
        assert_eq!(json["z"], serde_json::json!([null, null]));
        let old: MasteryRecord =
            serde_json::from_value(serde_json::json!({"m": false, "r": json["r"], "z": [i64::MIN, null]})).unwrap();
        let later = Observation { sequence: Some(1), ..untimed.clone() };
        assert_eq!(old.accepts(&untimed), record.accepts(&untimed));
        assert!(!record.accepts(&untimed) && record.accepts(&later) && old.accepts(&later));
    }
}
