//! # mastery-core
//!
//! Track what each learner has mastered and act on it. This crate is the pure-Rust core that the
//! Python, WASM and mobile (uniffi) bindings wrap.
//!
//! ```
//! use mastery_core::{parse_xapi, EvidenceMapping, Framework};
//!
//! let framework = Framework::from_case_json(r#"{
//!   "CFDocument": {"identifier": "doc", "uri": "https://x/doc", "creator": "c", "title": "Maths",
//!                  "lastChangeDateTime": "2024-01-01T00:00:00Z"},
//!   "CFItems": [{"identifier": "frac", "fullStatement": "Fractions", "humanCodingScheme": "M.1",
//!                "uri": "https://x/frac", "lastChangeDateTime": "2024-01-01T00:00:00Z"}],
//!   "CFAssociations": []
//! }"#)?;
//! assert_eq!(framework.find_by_code("M.1").map(|c| c.identifier.as_str()), Some("frac"));
//!
//! let mut mapping = EvidenceMapping::default();
//! mapping.competencies.insert("https://x/quiz/1".into(), vec!["frac".into()]);
//! let report = parse_xapi(r#"{"actor": {"mbox": "mailto:amy@example.org"},
//!     "verb": {"id": "http://adlnet.gov/expapi/verbs/answered"},
//!     "object": {"id": "https://x/quiz/1"},
//!     "result": {"success": true}, "timestamp": "2026-03-08T09:00:00-05:00"}"#, &mapping)?;
//! assert_eq!(report.accepted[0].competencies[0].as_str(), "frac");
//! # Ok::<(), mastery_core::MasteryError>(())
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used))]
#![warn(missing_debug_implementations)]

pub mod access;
pub mod credential;
pub mod dashboard;
pub mod engine;
pub mod error;
pub mod evidence;
pub mod framework;
pub mod ids;
mod json;
pub mod mastery;
pub mod progress;
pub mod risk;
pub mod store;
pub mod streak;
pub mod time;

/// The README's Rust examples run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;

pub use access::{AccessContext, Operation, Principal, Role};
pub use engine::{ChangeLog, Engine, IngestOutcome, MasteryChange, MemoryChangeLog};
pub use error::{MasteryError, Result};
pub use evidence::{
    parse_caliper, parse_oulad_assessments, parse_oulad_vle, parse_pybkt_csv, parse_xapi, validate_caliper, Evidence,
    EvidenceKind, EvidenceMapping, EvidenceSource, IngestReport, Rejection, Score,
};
pub use framework::{Association, AssociationType, Competency, Framework, FrameworkSummary};
pub use ids::{CompetencyId, CourseId, EvidenceId, TenantId, UserId};
pub use store::{Appended, DynStore, ErasedStore, MemoryStore, StateKey, Store};
