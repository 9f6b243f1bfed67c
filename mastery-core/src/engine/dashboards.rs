//! The dashboards as single engine reads, under the access policy: a learner's (records, rings,
//! gaps, next competencies, streak, badges, progress) and a class's (heatmap, summaries, least
//! proficient, at-risk list with reasons). Everything but a learner's progress over time comes
//! from stored state; progress reads that one learner's evidence.
#![warn(missing_docs)]

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Engine, NAMESPACE};
use crate::access::{authorize_course, authorize_learner, AccessContext, Operation};
use crate::credential::GalleryItem;
use crate::dashboard::{
    progress_over_time, ring_chart, Heatmap, Label, ProgressView, RingChart, RingMetric, TimeWindow,
};
use crate::error::Result;
use crate::framework::Framework;
use crate::ids::{CourseId, UserId};
use crate::mastery::{frontier, least_proficient, summarize, CompetencySummary, MasteryView, Recommendation};
use crate::risk::Alert;
use crate::store::Store;
use crate::streak::StreakStatus;
use crate::time::Instant;

/// A learner's dashboard of one course. Parts the engine was not set up for are empty: rings
/// and next competencies need a framework, the streak a streak policy, badges achievements.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LearnerDashboard {
    /// Every competency with a record, by competency.
    pub records: Vec<MasteryView>,
    /// One ring per area of the framework (mean value).
    pub rings: Option<RingChart>,
    /// Competencies assessed and not mastered, weakest first.
    pub gaps: Vec<MasteryView>,
    /// What to work on next: unmastered competencies whose prerequisites are mastered.
    pub next: Vec<Recommendation>,
    /// The learner's streak in the course (engines with a streak policy).
    pub streak: Option<StreakStatus>,
    /// The badge gallery: earned, in progress (how far), expired, revoked (engines with awards).
    pub badges: Vec<GalleryItem>,
    /// Each competency's value over time (from the learner's evidence).
    pub progress: ProgressView,
}

/// What a class dashboard shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
pub struct ClassDashboardOptions {
    /// The heatmap's columns, in order (default: the framework's assessable competencies, or
    /// every competency with a record in the course).
    pub competencies: Option<Vec<Label>>,
    /// How many least proficient competencies to list.
    pub least_proficient: usize,
    /// Reasons per alert.
    pub reasons: usize,
}

impl Default for ClassDashboardOptions {
    fn default() -> Self {
        Self { competencies: None, least_proficient: 5, reasons: 3 }
    }
}

/// A class's dashboard. `at_risk` is there when the engine scores risk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ClassDashboard {
    /// Learners with a mastery record in the course.
    pub learners: usize,
    /// Learners × competencies, values 0..1.
    pub heatmap: Heatmap,
    /// Per competency: mean, median, distribution over the scale, share mastered.
    pub summaries: Vec<CompetencySummary>,
    /// The summaries with the lowest class mean.
    pub least_proficient: Vec<CompetencySummary>,
    /// Learners at risk, highest score first, with reasons (engines with a risk model).
    pub at_risk: Option<Vec<Alert>>,
}

fn label(framework: Option<&Framework>, id: &str) -> String {
    framework.and_then(|f| f.item(id)).and_then(|c| c.human_coding_scheme.clone()).unwrap_or_else(|| id.to_owned())
}

impl<S: Store> Engine<S> {
    /// Sets the competency framework the dashboards draw rings, next competencies and labels from.
    pub fn with_framework(mut self, framework: Framework) -> Self {
        self.framework = Some(std::sync::Arc::new(framework));
        self
    }

    fn dashboard_framework(&self) -> Option<&Framework> {
        self.framework.as_deref().or_else(|| self.awards.as_ref().and_then(|rules| rules.framework()))
    }

    /// A learner's dashboard of one course (or outside any) at `at` (the learner's own, their
    /// course staff's, an admin's).
    pub fn learner_dashboard(
        &self,
        ctx: &AccessContext,
        learner: &UserId,
        course: Option<&CourseId>,
        at: Instant,
    ) -> Result<LearnerDashboard> {
        authorize_learner(ctx, Operation::Read, ctx.tenant(), learner, course)?;
        let records = self.learner_states(ctx, learner, course)?;
        let standings = self.standings(&records);
        let framework = self.dashboard_framework();
        let (rings, next) = match framework {
            Some(f) => (
                Some(ring_chart(f, &standings, None, RingMetric::MeanValue, &self.config.scale)?),
                frontier(f, &standings),
            ),
            None => (None, Vec::new()),
        };
        let streak = match self.streaks {
            Some(_) => Some(self.streak(ctx, learner, course, at)?),
            None => None,
        };
        // The records and streak read above serve the gallery too.
        let badges = match self.awards {
            Some(_) => self.gallery_of(ctx, learner, course, at, &records, streak.as_ref().map(|s| s.longest))?,
            None => Vec::new(),
        };
        let views = self.views(records);
        let mut gaps: Vec<MasteryView> = views.iter().filter(|v| !v.mastered && v.score.is_some()).cloned().collect();
        gaps.sort_by(|a, b| a.score.partial_cmp(&b.score).unwrap_or(std::cmp::Ordering::Equal));
        let histories = self.learner_histories(ctx, learner, course)?;
        let labels: BTreeMap<String, String> =
            histories.iter().map(|h| (h.competency.clone(), label(framework, &h.competency))).collect();
        let progress = progress_over_time(&histories, &labels, TimeWindow::default(), &self.config);
        Ok(LearnerDashboard { records: views, rings, gaps, next, streak, badges, progress })
    }

    /// A class's dashboard at `at` (instructors of the course, admins, services): one read of the
    /// course's mastery records (and of its activity records when the engine scores risk). The
    /// summaries are those of the heatmap's competencies, by competency id.
    pub fn class_dashboard(
        &self,
        ctx: &AccessContext,
        course: &CourseId,
        at: Instant,
        options: &ClassDashboardOptions,
    ) -> Result<ClassDashboard> {
        authorize_course(ctx, Operation::Read, ctx.tenant(), course)?;
        let states = self.store.course_states(ctx, course, NAMESPACE).map_err(Into::into)?;
        let framework = self.dashboard_framework();
        let columns: Vec<Label> = match (&options.competencies, framework) {
            (Some(columns), _) => columns.clone(),
            (None, Some(f)) => f
                .items()
                .iter()
                .filter(|c| f.is_leaf(&c.identifier))
                .map(|c| Label { id: c.identifier.clone(), label: label(Some(f), &c.identifier) })
                .collect(),
            (None, None) => {
                let mut ids: Vec<&str> = states.iter().map(|(key, _)| key.name.as_str()).collect();
                ids.sort_unstable();
                ids.dedup();
                ids.into_iter().map(|id| Label { id: id.to_owned(), label: id.to_owned() }).collect()
            }
        };
        let grid = self.class_grid(states, &columns)?;
        let heatmap = self.heatmap_of(&grid, &columns);
        let mut order: Vec<usize> = (0..columns.len()).collect();
        order.sort_by(|&a, &b| columns[a].id.cmp(&columns[b].id));
        order.dedup_by(|a, b| columns[*a].id == columns[*b].id);
        let summaries: Vec<CompetencySummary> = order
            .into_iter()
            .filter_map(|i| {
                let values = grid.iter().filter_map(|(_, row)| row[i]).collect();
                summarize(&columns[i].id, values, &self.config.scale)
            })
            .collect();
        let least = least_proficient(&summaries, options.least_proficient);
        let at_risk = match self.risk {
            Some(_) => Some(self.at_risk(ctx, course, at, options.reasons)?),
            None => None,
        };
        Ok(ClassDashboard { learners: grid.len(), heatmap, summaries, least_proficient: least, at_risk })
    }
}
