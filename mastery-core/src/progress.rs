//! Progress reports and cancellation for long computations (BKT EM, booster rounds,
//! cross-validation). A host passes an [`OnProgress`] callback; returning
//! [`ControlFlow::Break`] stops the computation, which then fails with
//! [`MasteryError::Cancelled`].

use std::ops::ControlFlow;

use crate::{MasteryError, Result};

/// Which computation reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Stage {
    /// BKT EM: `done` counts finished restarts over all skills (`total` = skills × restarts).
    BktFit,
    /// Booster training: `done` counts finished boosting rounds (`total` = `n_estimators`).
    BoosterRounds,
    /// Cross-validation: `done` counts finished folds.
    CrossValidation,
}

impl Stage {
    /// A stable lower-case name (`bkt_fit`, `booster_rounds`, `crossvalidation`).
    pub fn name(self) -> &'static str {
        match self {
            Self::BktFit => "bkt_fit",
            Self::BoosterRounds => "booster_rounds",
            Self::CrossValidation => "crossvalidation",
        }
    }
}

/// One report. The callback is also called between units of work with an unchanged `done`
/// (every EM iteration, for instance), so that a host can cancel promptly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// What is running.
    pub stage: Stage,
    /// Units finished so far.
    pub done: usize,
    /// Units in all.
    pub total: usize,
}

/// The progress callback: `Break(())` cancels. `Sync` because booster rounds run on a
/// training thread pool.
pub type OnProgress<'a> = &'a (dyn Fn(Progress) -> ControlFlow<()> + Sync);

/// A callback that never cancels (what the functions without `_with` pass).
pub fn silent(_: Progress) -> ControlFlow<()> {
    ControlFlow::Continue(())
}

/// Reports `progress`; `Err(Cancelled)` when the callback asks to stop.
pub(crate) fn report(on: OnProgress<'_>, progress: Progress) -> Result<()> {
    match on(progress) {
        ControlFlow::Continue(()) => Ok(()),
        ControlFlow::Break(()) => Err(MasteryError::Cancelled),
    }
}
