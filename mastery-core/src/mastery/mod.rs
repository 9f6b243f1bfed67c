//! Mastery estimation: teachers' calculation methods, proficiency scales, Bayesian Knowledge
//! Tracing, decay, roll-ups along the framework, gaps and class-wide views.

pub mod bkt;
pub mod class;
pub mod decay;
pub mod methods;
pub mod metrics;
pub mod record;
pub(crate) mod rng;
pub mod rollup;
pub mod scale;
pub mod state;

pub use bkt::{
    BktModel, BktOptions, BktParams, BktStarts, KnowledgeState, Prediction, Response, ResponseTable, SkillModel,
};
pub use class::{class_summary, least_proficient, summarize, CompetencySummary, LevelCount};
pub use decay::{Decay, Freshness};
pub use methods::{CalculationMethod, EvidenceOrder, Running, ScoredEvidence};
pub use metrics::{auc, evaluate, Evaluation};
pub use record::{MasteryRecord, MasteryView};
pub use rollup::{frontier, roll_up, Recommendation, RolledUp, RollupRule, Standing};
pub use scale::{ProficiencyScale, ProficiencyScaleInput, Rating};
pub use state::{CompetencyState, MasteryConfig, Observation};
