//! At-risk prediction: leakage-safe features, a gradient-boosted tree classifier, TreeSHAP
//! explanations in plain words, metrics, a logistic baseline, a versioned model file, and alerts
//! with hysteresis and a retraining policy.

pub mod gbdt;

pub use gbdt::{holdout_split, Gbdt, GbdtParams, StoppingMetric, Tree, Validation};
mod synthetic;

pub use synthetic::{synthetic_risk_data, MAX_SYNTHETIC_ROWS, SYNTHETIC_FEATURES};
mod metrics;

pub use metrics::{auc, brier, calibration_curve, evaluate, log_loss, pr_auc, CalibrationBin, Evaluation};
mod activity;
mod features;
mod oulad;

pub use activity::{ActivityRecord, ENGINE_FEATURES};
pub use features::{
    activity_features, build_features, ActivityEvent, FeatureSpec, LearnerActivity, MasteryObservation, Submission,
};
pub use oulad::{oulad_risk_table, oulad_risk_table_with, OuladOptions, OuladTables, RiskTable};
mod alerts;
mod model;

pub use alerts::{
    population_stability_index, risk_alerts, risk_band, Alert, PredictionLog, PredictionRecord, RetrainDecision,
    RetrainPolicy, RiskBand, RiskBands, RiskPrediction,
};
pub use model::{
    Estimator, Explanation, Logistic, ProtectedAttributes, Reason, RiskModel, RiskModelFile, MODEL_FORMAT,
    MODEL_VERSION,
};
mod fairness;

pub use fairness::{fairness_report, FairnessGaps, FairnessReport, GroupFairness};
