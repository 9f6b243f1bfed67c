//! Mobile bindings (uniffi): conversion and error mapping only; the logic lives in `mastery-core`.
//! Kotlin, Swift and Python sources are generated from the built library with the pinned
//! `uniffi-bindgen` of this workspace.

mod convert;
mod credential;
mod dashboard;
mod engine;
mod error;
mod fairness;
mod gallery;
mod mastery;
mod risk;

use std::sync::Arc;

use mastery_core as core;

pub use convert::{
    Association, Competency, Evidence, EvidenceKind, EvidenceMapping, FrameworkSummary, IngestReport, Rejection, Score,
};
pub use credential::{
    achievement_credential_json, bake_png, bake_svg, issuer_did, sign_vc_jwt, unbake_png, unbake_svg, verify_vc_jwt,
    BadgeVersion, CredentialVerification, Unbaked, VerificationCheck,
};
pub use dashboard::{
    class_heatmap_json, evaluate_streak, progress_over_time_json, render_svg, ring_chart_json, streak_tracker_json,
    DayState, StreakActivity, StreakDay, StreakReport,
};
pub use engine::{Engine, HostStore, IngestOutcome, MasteryView};
pub use error::MasteryError;
pub use gallery::{badge_gallery, BadgeStatus, GalleryItem};
pub use mastery::{
    bkt_crossvalidate, calculate, class_summary, frontier, proficiency_scale, rating_for, roll_up, BktModel,
    BktOptions, BktPrediction, BktResponse, CalculationMethod, CompetencySummary, Evaluation, KnowledgeState,
    LevelCount, ProficiencyScale, Rating, Recommendation, RolledUp, RollupRule, ScoredEvidence, Standing,
};

uniffi::setup_scaffolding!();

type Result<T> = std::result::Result<T, MasteryError>;

/// A competency framework imported from CASE JSON.
#[derive(Debug, uniffi::Object)]
pub struct Framework {
    pub(crate) inner: core::Framework,
}

#[uniffi::export]
impl Framework {
    /// Imports a CASE 1.0 / 1.1 CFPackage (or the 2016 draft format).
    #[uniffi::constructor]
    pub fn from_case_json(text: String) -> Result<Arc<Self>> {
        crate::error::guard(|| Ok(Arc::new(Self { inner: core::Framework::from_case_json(&text)? })))
    }

    /// CASE 1.1 JSON; unknown fields are kept under `extensions`.
    pub fn to_case_json(&self) -> String {
        self.inner.to_case_json()
    }

    pub fn identifier(&self) -> String {
        self.inner.identifier().to_owned()
    }

    pub fn title(&self) -> String {
        self.inner.title().to_owned()
    }

    pub fn summary(&self) -> FrameworkSummary {
        self.inner.summary().into()
    }

    pub fn item(&self, identifier: String) -> Option<Competency> {
        self.inner.item(&identifier).map(Competency::from)
    }

    pub fn find_by_code(&self, code: String) -> Option<Competency> {
        self.inner.find_by_code(&code).map(Competency::from)
    }

    pub fn children(&self, identifier: String) -> Result<Vec<Competency>> {
        crate::error::guard(|| Ok(convert::competencies(self.inner.children(&identifier)?)))
    }

    pub fn ancestors(&self, identifier: String) -> Result<Vec<Competency>> {
        crate::error::guard(|| Ok(convert::competencies(self.inner.ancestors(&identifier)?)))
    }

    pub fn descendants(&self, identifier: String) -> Result<Vec<Competency>> {
        crate::error::guard(|| Ok(convert::competencies(self.inner.descendants(&identifier)?)))
    }

    pub fn prerequisites(&self, identifier: String) -> Result<Vec<Competency>> {
        crate::error::guard(|| Ok(convert::competencies(self.inner.prerequisites(&identifier)?)))
    }

    pub fn topological_order(&self) -> Vec<Competency> {
        convert::competencies(self.inner.topological_order())
    }

    pub fn associations(&self) -> Vec<Association> {
        self.inner.associations().iter().map(Association::from).collect()
    }
}

/// xAPI statement(s) → an ingest report.
#[uniffi::export(default(mapping = None))]
pub fn ingest_xapi(text: String, mapping: Option<EvidenceMapping>) -> Result<IngestReport> {
    crate::error::guard(|| {
        let mapping = mapping.unwrap_or_default().try_into()?;
        Ok(core::parse_xapi(&text, &mapping)?.into())
    })
}

/// A Caliper 1.2 envelope, event or list of events → an ingest report.
#[uniffi::export(default(mapping = None))]
pub fn ingest_caliper(text: String, mapping: Option<EvidenceMapping>) -> Result<IngestReport> {
    crate::error::guard(|| {
        let mapping = mapping.unwrap_or_default().try_into()?;
        Ok(core::parse_caliper(&text, &mapping)?.into())
    })
}

/// Validates any Caliper 1.2 document.
#[uniffi::export]
pub fn validate_caliper(text: String) -> Result<()> {
    crate::error::guard(|| Ok(core::validate_caliper(&text)?))
}

/// A pyBKT-style CSV → an ingest report.
#[uniffi::export]
pub fn ingest_pybkt_csv(text: String) -> Result<IngestReport> {
    crate::error::guard(|| Ok(core::parse_pybkt_csv(&text)?.into()))
}
