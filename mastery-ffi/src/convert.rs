//! uniffi records mirroring the core's plain data, and the conversions both ways.

use std::collections::HashMap;

use mastery_core as core;

use crate::error::MasteryError;

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Competency {
    pub identifier: String,
    pub full_statement: String,
    pub human_coding_scheme: Option<String>,
    pub item_type: Option<String>,
    pub uri: Option<String>,
}

impl From<&core::Competency> for Competency {
    fn from(c: &core::Competency) -> Self {
        Self {
            identifier: c.identifier.clone(),
            full_statement: c.full_statement.clone(),
            human_coding_scheme: c.human_coding_scheme.clone(),
            item_type: c.item_type.clone(),
            uri: c.uri.clone(),
        }
    }
}

pub fn competencies(list: Vec<&core::Competency>) -> Vec<Competency> {
    list.into_iter().map(Competency::from).collect()
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Association {
    pub identifier: String,
    pub association_type: String,
    pub origin: String,
    pub destination: String,
    pub sequence_number: Option<i64>,
}

impl From<&core::Association> for Association {
    fn from(a: &core::Association) -> Self {
        Self {
            identifier: a.identifier.clone(),
            association_type: a.association_type.as_str().to_owned(),
            origin: a.origin.clone(),
            destination: a.destination.clone(),
            sequence_number: a.sequence_number,
        }
    }
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct FrameworkSummary {
    pub identifier: String,
    pub title: String,
    pub items: u64,
    pub associations: u64,
    pub association_types: HashMap<String, u64>,
    pub depth: u64,
}

impl From<core::FrameworkSummary> for FrameworkSummary {
    fn from(s: core::FrameworkSummary) -> Self {
        Self {
            identifier: s.identifier,
            title: s.title,
            items: s.items as u64,
            associations: s.associations as u64,
            association_types: s.association_types.into_iter().map(|(k, v)| (k, v as u64)).collect(),
            depth: s.depth as u64,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum EvidenceKind {
    Response,
    Assessment,
    Attempt,
    Submission,
    Completion,
    Mastery,
    View,
    Navigation,
    Session,
    Other,
}

macro_rules! same_variants {
    ($a:ty, $b:ty, [$($v:ident),*]) => {
        impl From<$a> for $b {
            fn from(k: $a) -> Self {
                match k { $(<$a>::$v => <$b>::$v,)* }
            }
        }
    };
}
same_variants!(
    core::EvidenceKind,
    EvidenceKind,
    [Response, Assessment, Attempt, Submission, Completion, Mastery, View, Navigation, Session, Other]
);
same_variants!(
    EvidenceKind,
    core::EvidenceKind,
    [Response, Assessment, Attempt, Submission, Completion, Mastery, View, Navigation, Session, Other]
);

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Score {
    pub scaled: Option<f64>,
    pub raw: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Evidence {
    pub id: String,
    pub learner: String,
    pub course: Option<String>,
    pub competencies: Vec<String>,
    pub activity: Option<String>,
    pub kind: EvidenceKind,
    pub score: Option<Score>,
    pub success: Option<bool>,
    pub completion: Option<bool>,
    pub duration_seconds: Option<f64>,
    /// RFC 3339, with the offset it was recorded in.
    pub occurred_at: Option<String>,
    pub sequence: Option<i64>,
    /// `xapi`, `caliper`, `csv` or `host`.
    pub source: String,
}

/// The name serde gives a value (`"xapi"`, an RFC 3339 instant), so every binding spells it alike.
fn serde_name<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

impl From<core::Evidence> for Evidence {
    fn from(e: core::Evidence) -> Self {
        Self {
            id: e.id.as_str().to_owned(),
            learner: e.learner.as_str().to_owned(),
            course: e.course.map(|c| c.as_str().to_owned()),
            competencies: e.competencies.iter().map(|c| c.as_str().to_owned()).collect(),
            activity: e.activity,
            kind: e.kind.into(),
            score: e.score.map(|s| Score { scaled: s.scaled, raw: s.raw, min: s.min, max: s.max }),
            success: e.success,
            completion: e.completion,
            duration_seconds: e.duration_seconds,
            occurred_at: e.occurred_at.as_ref().map(serde_name),
            sequence: e.sequence,
            source: serde_name(&e.source),
        }
    }
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Rejection {
    pub index: u64,
    pub code: String,
    pub field: Option<String>,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct IngestReport {
    pub accepted: Vec<Evidence>,
    pub rejected: Vec<Rejection>,
}

impl From<core::IngestReport> for IngestReport {
    fn from(r: core::IngestReport) -> Self {
        Self {
            accepted: r.accepted.into_iter().map(Evidence::from).collect(),
            rejected: r
                .rejected
                .into_iter()
                .map(|x| Rejection { index: x.index as u64, code: x.code, field: x.field, reason: x.reason })
                .collect(),
        }
    }
}

/// The host's map from activities and verbs to competencies, kinds and courses.
#[derive(Debug, Clone, Default, PartialEq, uniffi::Record)]
pub struct EvidenceMapping {
    #[uniffi(default)]
    pub competencies: HashMap<String, Vec<String>>,
    #[uniffi(default)]
    pub kinds: HashMap<String, EvidenceKind>,
    #[uniffi(default)]
    pub courses: HashMap<String, String>,
    /// RFC 3339; used for records that carry no time.
    #[uniffi(default)]
    pub default_time: Option<String>,
}

impl TryFrom<EvidenceMapping> for core::EvidenceMapping {
    type Error = MasteryError;

    fn try_from(m: EvidenceMapping) -> Result<Self, MasteryError> {
        Ok(Self {
            competencies: m
                .competencies
                .into_iter()
                .map(|(k, v)| (k, v.into_iter().map(core::CompetencyId::new).collect()))
                .collect(),
            kinds: m.kinds.into_iter().map(|(k, v)| (k, v.into())).collect(),
            courses: m.courses.into_iter().map(|(k, v)| (k, core::CourseId::new(v))).collect(),
            default_time: m.default_time.map(|t| core::time::parse_instant(&t, "default_time")).transpose()?,
        })
    }
}
