//! The evidence event and its ingestion from xAPI, Caliper and CSV.
//!
//! Every batch parser returns an [`IngestReport`]: the records it accepted and, for each record it
//! refused, the record's index, a stable error code, the field at fault and a reason. One bad record
//! never costs the batch its good ones.

mod caliper;
mod tabular;
mod xapi;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::MasteryError;
use crate::ids::{CompetencyId, CourseId, EvidenceId, UserId};
use crate::time::Instant;

pub use caliper::{parse_caliper, validate_caliper};
pub use tabular::{parse_oulad_assessments, parse_oulad_vle, parse_pybkt_csv, OuladAssessment};
pub use xapi::parse_xapi;

/// One observation about one learner: a response, a grade, a completion, a session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// Idempotency key: the statement or event id, or a hash of the record when it has none.
    pub id: EvidenceId,
    pub learner: UserId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub course: Option<CourseId>,
    /// Competencies this evidence bears on (from the host's mapping); may be empty.
    #[serde(default)]
    pub competencies: Vec<CompetencyId>,
    /// The activity, item or resource IRI the learner acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity: Option<String>,
    pub kind: EvidenceKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<Score>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<f64>,
    /// When it happened, with the offset it was recorded in.
    #[serde(default, skip_serializing_if = "Option::is_none", serialize_with = "crate::time::rfc3339_opt::serialize")]
    pub occurred_at: Option<Instant>,
    /// Order within a learner's log when there is no time (pyBKT's `order_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence: Option<i64>,
    pub source: EvidenceSource,
}

impl Evidence {
    /// The score on 0..=1: `scaled`, else `raw` within `min..max`, else success as 1 or 0.
    pub fn normalized_score(&self) -> Option<f64> {
        self.score.as_ref().and_then(Score::normalized).or(self.success.map(|s| if s { 1.0 } else { 0.0 }))
    }
}

/// What kind of observation the evidence is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceKind {
    /// An answer to one item (xAPI `answered`, Caliper AssessmentItem `Completed`, a pyBKT row).
    Response,
    /// A scored assessment or grade (xAPI `scored`/`passed`/`failed`, Caliper `Graded`).
    Assessment,
    /// An attempt started (xAPI `attempted`, Caliper Assessment `Started`).
    Attempt,
    /// A submission (Caliper `Submitted`).
    Submission,
    /// Work completed (xAPI `completed`).
    Completion,
    /// Declared mastery (xAPI `mastered`).
    Mastery,
    /// Content viewed or experienced.
    View,
    /// Moving through content.
    Navigation,
    /// Logging in, launching, initialising, ending a session.
    Session,
    /// Anything else; still counts as activity.
    Other,
}

/// A score as xAPI reports it; any part may be missing.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Score {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scaled: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
}

impl Score {
    /// The score on 0..=1 (a negative xAPI `scaled` clamps to 0).
    pub fn normalized(&self) -> Option<f64> {
        if let Some(scaled) = self.scaled {
            return Some(scaled.clamp(0.0, 1.0));
        }
        let raw = self.raw?;
        let (min, max) = (self.min.unwrap_or(0.0), self.max?);
        // Halved first, so `max - min` cannot overflow to infinity (raw 1e308 on -1e308..1e308);
        // anything non-finite (a host's own record) has no normalised score.
        let share = (raw / 2.0 - min / 2.0) / (max / 2.0 - min / 2.0);
        (max > min && share.is_finite()).then(|| share.clamp(0.0, 1.0))
    }
}

/// The format an evidence record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceSource {
    Xapi,
    Caliper,
    Csv,
    Host,
}

/// The host's map from its activities and verbs to competencies, courses and evidence kinds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EvidenceMapping {
    /// Activity (or context activity) IRI → the competencies it assesses.
    pub competencies: BTreeMap<String, Vec<CompetencyId>>,
    /// Verb IRI (xAPI) or action (Caliper) → kind; overrides the built-in table.
    pub kinds: BTreeMap<String, EvidenceKind>,
    /// Activity, context activity or Caliper group IRI → course.
    pub courses: BTreeMap<String, CourseId>,
    /// Used as `occurred_at` for records that carry no time at all (e.g. the host's receive time).
    pub default_time: Option<Instant>,
}

impl EvidenceMapping {
    fn competencies_for<'a>(&self, iris: impl IntoIterator<Item = &'a str>) -> Vec<CompetencyId> {
        let mut out: Vec<CompetencyId> = Vec::new();
        for iri in iris {
            for c in self.competencies.get(iri).into_iter().flatten() {
                if !out.contains(c) {
                    out.push(c.clone());
                }
            }
        }
        out
    }

    fn course_for<'a>(&self, iris: impl IntoIterator<Item = &'a str>) -> Option<CourseId> {
        iris.into_iter().find_map(|iri| self.courses.get(iri).cloned())
    }
}

/// A record a batch refused, by its position in the batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Rejection {
    pub index: usize,
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub reason: String,
}

impl Rejection {
    pub(crate) fn new(index: usize, error: &MasteryError) -> Self {
        Self {
            index,
            code: error.code().to_owned(),
            field: error.field().map(str::to_owned),
            reason: error.to_string(),
        }
    }
}

/// Evidence read one record at a time from JSON values (a binding's list of dicts or objects):
/// each record with its position in the list, and a rejection naming the field for each value
/// that is not a record, so one malformed record does not refuse the rest of its batch.
pub fn evidence_from_values(values: Vec<serde_json::Value>) -> (Vec<(usize, Evidence)>, Vec<Rejection>) {
    let mut records = Vec::with_capacity(values.len());
    let mut refused = Vec::new();
    for (index, value) in values.into_iter().enumerate() {
        match serde_json::from_value::<Evidence>(value) {
            Ok(record) => records.push((index, record)),
            Err(error) => {
                let message = crate::error::redact(&error.to_string());
                let missing = message.strip_prefix("missing field `").and_then(|rest| rest.split('`').next());
                let field = missing.unwrap_or("evidence").to_owned();
                refused.push(Rejection::new(index, &MasteryError::invalid(field, message)));
            }
        }
    }
    (records, refused)
}

/// What a batch parser accepted and refused.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct IngestReport {
    pub accepted: Vec<Evidence>,
    pub rejected: Vec<Rejection>,
}

impl IngestReport {
    fn push(&mut self, index: usize, result: Result<Vec<Evidence>, MasteryError>) {
        match result {
            Ok(evidence) => self.accepted.extend(evidence),
            Err(error) => self.rejected.push(Rejection::new(index, &error)),
        }
    }
}
