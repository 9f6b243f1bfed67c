//! At-risk prediction: leakage-safe features, a gradient-boosted tree classifier, TreeSHAP
//! explanations in plain words, metrics, a logistic baseline, a versioned model file, and alerts
//! with hysteresis and a retraining policy.

pub mod gbdt;

pub use gbdt::{Gbdt, GbdtParams, Tree, Validation};
mod synthetic;

pub use synthetic::{synthetic_risk_data, SYNTHETIC_FEATURES};
mod metrics;

pub use metrics::{auc, brier, calibration_curve, evaluate, log_loss, pr_auc, CalibrationBin, Evaluation};
