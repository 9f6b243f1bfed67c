//! Mastery estimation: Bayesian Knowledge Tracing and the metrics to judge it.

pub mod bkt;
pub mod metrics;
mod rng;

pub use bkt::{BktModel, BktOptions, BktParams, KnowledgeState, Prediction, Response, SkillModel};
pub use metrics::{auc, evaluate, Evaluation};
