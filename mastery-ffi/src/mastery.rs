//! Mastery estimation over uniffi: BKT, calculation methods, scales, roll-ups, gaps, class views.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use mastery_core as core;

use crate::error::MasteryError;
use crate::Framework;

type Result<T> = std::result::Result<T, MasteryError>;

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct BktResponse {
    pub learner: String,
    pub skill: String,
    pub correct: bool,
    #[uniffi(default)]
    pub order: Option<i64>,
    #[uniffi(default)]
    pub template: Option<String>,
    /// The prior group (`multiprior`); a learner's first row decides.
    #[uniffi(default)]
    pub prior_group: Option<String>,
}

impl From<BktResponse> for core::mastery::Response {
    fn from(r: BktResponse) -> Self {
        Self {
            learner: r.learner,
            skill: r.skill,
            correct: r.correct,
            order: r.order,
            template: r.template,
            prior_group: r.prior_group,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, uniffi::Record)]
pub struct BktPrediction {
    pub correct: f64,
    pub state: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, uniffi::Record)]
pub struct KnowledgeState {
    pub p_known: f64,
    /// ln(P(known) / P(unknown)): the exact state (P(known) rounds to 1 after long runs).
    /// `None` (older stored states) derives it from `p_known`.
    #[uniffi(default = None)]
    pub log_odds: Option<f64>,
    pub attempts: u32,
    pub correct: u32,
}

impl From<core::mastery::KnowledgeState> for KnowledgeState {
    fn from(k: core::mastery::KnowledgeState) -> Self {
        Self { p_known: k.p_known, log_odds: Some(k.log_odds), attempts: k.attempts, correct: k.correct }
    }
}

impl From<KnowledgeState> for core::mastery::KnowledgeState {
    fn from(k: KnowledgeState) -> Self {
        match k.log_odds.filter(|l| !l.is_nan()) {
            Some(log_odds) => Self { p_known: k.p_known, log_odds, attempts: k.attempts, correct: k.correct },
            None => Self::new(k.p_known, k.attempts, k.correct),
        }
    }
}

/// Fit options; `None` fields keep the library's defaults.
#[derive(Debug, Clone, Default, PartialEq, uniffi::Record)]
pub struct BktOptions {
    #[uniffi(default)]
    pub forgets: bool,
    #[uniffi(default)]
    pub multilearn: bool,
    #[uniffi(default)]
    pub multigs: bool,
    #[uniffi(default)]
    pub multiprior: bool,
    #[uniffi(default)]
    pub num_fits: Option<u32>,
    #[uniffi(default)]
    pub seed: Option<u64>,
}

/// A fitted BKT model; load one trained in Python with `from_json`.
#[derive(Debug, uniffi::Object)]
pub struct BktModel {
    inner: core::mastery::BktModel,
}

/// How well predictions match outcomes.
#[derive(Debug, Clone, Copy, PartialEq, uniffi::Record)]
pub struct Evaluation {
    pub rmse: f64,
    pub accuracy: f64,
    pub auc: f64,
    pub rows: u64,
}

/// k-fold cross-validation by learner: per skill, an evaluation per fold.
#[uniffi::export]
pub fn bkt_crossvalidate(
    rows: Vec<BktResponse>,
    options: BktOptions,
    folds: u32,
) -> Result<HashMap<String, Vec<Evaluation>>> {
    crate::error::guard(|| {
        let rows: Vec<core::mastery::Response> = rows.into_iter().map(Into::into).collect();
        let result = core::mastery::BktModel::crossvalidate(&rows, &core_options(options), folds as usize)?;
        Ok(result
            .into_iter()
            .map(|(skill, evals)| {
                let evals = evals
                    .into_iter()
                    .map(|e| Evaluation { rmse: e.rmse, accuracy: e.accuracy, auc: e.auc, rows: e.rows as u64 })
                    .collect();
                (skill, evals)
            })
            .collect())
    })
}

fn core_options(options: BktOptions) -> core::mastery::BktOptions {
    let defaults = core::mastery::BktOptions::default();
    core::mastery::BktOptions {
        forgets: options.forgets,
        multilearn: options.multilearn,
        multigs: options.multigs,
        multiprior: options.multiprior,
        num_fits: options.num_fits.map_or(defaults.num_fits, |n| n as usize),
        seed: options.seed.unwrap_or(defaults.seed),
        ..defaults
    }
}

#[uniffi::export]
impl BktModel {
    #[uniffi::constructor]
    pub fn from_json(text: String) -> Result<Arc<Self>> {
        crate::error::guard(|| Ok(Arc::new(Self { inner: core::mastery::BktModel::from_json(&text)? })))
    }

    #[uniffi::constructor]
    pub fn fit(rows: Vec<BktResponse>, options: BktOptions) -> Result<Arc<Self>> {
        crate::error::guard(|| {
            let options = core_options(options);
            let rows: Vec<core::mastery::Response> = rows.into_iter().map(Into::into).collect();
            Ok(Arc::new(Self { inner: core::mastery::BktModel::fit(&rows, &options)? }))
        })
    }

    pub fn to_json(&self) -> String {
        self.inner.to_json()
    }

    pub fn skills(&self) -> Vec<String> {
        self.inner.skills.keys().cloned().collect()
    }

    pub fn predict(&self, rows: Vec<BktResponse>) -> Result<Vec<BktPrediction>> {
        crate::error::guard(|| {
            let rows: Vec<core::mastery::Response> = rows.into_iter().map(Into::into).collect();
            Ok(self
                .inner
                .predict(&rows)?
                .into_iter()
                .map(|p| BktPrediction { correct: p.correct, state: p.state })
                .collect())
        })
    }

    /// One O(1) online step; `None` is a learner's first answer.
    pub fn update(
        &self,
        skill: String,
        state: Option<KnowledgeState>,
        correct: bool,
        template: Option<String>,
    ) -> Result<KnowledgeState> {
        crate::error::guard(|| {
            let model = self.inner.skill(&skill)?;
            let mut state = state.map_or(model.initial_state(), Into::into);
            model.update(&mut state, correct, template.as_deref());
            Ok(state.into())
        })
    }

    pub fn predict_correct(
        &self,
        skill: String,
        state: Option<KnowledgeState>,
        template: Option<String>,
    ) -> Result<f64> {
        crate::error::guard(|| {
            let model = self.inner.skill(&skill)?;
            Ok(model.predict_correct(&state.map_or(model.initial_state(), Into::into), template.as_deref()))
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, uniffi::Enum)]
pub enum CalculationMethod {
    WeightedAverage { weight: u8 },
    DecayingAverage { rate: u8 },
    NMastery { n: u8 },
    Latest,
    Highest,
    Average,
}

impl From<CalculationMethod> for core::mastery::CalculationMethod {
    fn from(m: CalculationMethod) -> Self {
        match m {
            CalculationMethod::WeightedAverage { weight } => Self::WeightedAverage { weight },
            CalculationMethod::DecayingAverage { rate } => Self::DecayingAverage { rate },
            CalculationMethod::NMastery { n } => Self::NMastery { n },
            CalculationMethod::Latest => Self::Latest,
            CalculationMethod::Highest => Self::Highest,
            CalculationMethod::Average => Self::Average,
        }
    }
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ScoredEvidence {
    pub score: f64,
    /// RFC 3339.
    pub assessed_at: String,
    #[uniffi(default)]
    pub due_at: Option<String>,
}

/// A Canvas calculation method; `None` when it yields no result.
#[uniffi::export(default(order_by_due = false))]
pub fn calculate(
    method: CalculationMethod,
    evidence: Vec<ScoredEvidence>,
    mastery_points: f64,
    order_by_due: bool,
) -> Result<Option<f64>> {
    crate::error::guard(|| {
        let evidence = evidence
            .into_iter()
            .map(|e| {
                Ok(core::mastery::ScoredEvidence {
                    score: e.score,
                    assessed_at: core::time::parse_instant(&e.assessed_at, "assessed_at")?,
                    due_at: e.due_at.map(|d| core::time::parse_instant(&d, "due_at")).transpose()?,
                })
            })
            .collect::<std::result::Result<Vec<_>, core::MasteryError>>()?;
        let order =
            if order_by_due { core::mastery::EvidenceOrder::Due } else { core::mastery::EvidenceOrder::Assessed };
        Ok(core::mastery::CalculationMethod::from(method).calculate(&evidence, mastery_points, order)?)
    })
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Rating {
    pub points: f64,
    pub description: String,
    pub color: String,
    pub mastery: bool,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ProficiencyScale {
    pub ratings: Vec<Rating>,
    #[uniffi(default)]
    pub display_cut_points: Vec<f64>,
}

fn rating(r: &core::mastery::Rating) -> Rating {
    Rating { points: r.points, description: r.description.clone(), color: r.color.clone(), mastery: r.mastery }
}

fn to_core_scale(s: ProficiencyScale) -> Result<core::mastery::ProficiencyScale> {
    let ratings = s
        .ratings
        .into_iter()
        .map(|r| core::mastery::Rating {
            points: r.points,
            description: r.description,
            color: r.color,
            mastery: r.mastery,
        })
        .collect();
    Ok(core::mastery::ProficiencyScale::new(ratings, s.display_cut_points)?)
}

/// A ready-made scale: "canvas" or "khan".
#[uniffi::export]
pub fn proficiency_scale(name: String) -> Result<ProficiencyScale> {
    crate::error::guard(|| {
        let s = core::mastery::ProficiencyScale::named(&name)?;
        Ok(ProficiencyScale {
            ratings: s.ratings.iter().map(rating).collect(),
            display_cut_points: s.display_cut_points,
        })
    })
}

#[uniffi::export]
pub fn rating_for(scale: ProficiencyScale, score: f64) -> Result<Rating> {
    crate::error::guard(|| Ok(rating(to_core_scale(scale)?.rating_for(score))))
}

#[derive(Debug, Clone, Copy, PartialEq, uniffi::Record)]
pub struct Standing {
    pub value: f64,
    pub mastered: bool,
}

fn standings(map: HashMap<String, Standing>) -> BTreeMap<String, core::mastery::Standing> {
    map.into_iter().map(|(k, s)| (k, core::mastery::Standing { value: s.value, mastered: s.mastered })).collect()
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Recommendation {
    pub competency: String,
    pub human_coding_scheme: Option<String>,
    pub unblocks: u64,
    pub current_value: f64,
    pub reason: String,
}

/// The learner's next competencies: not mastered, prerequisites mastered, ranked.
#[uniffi::export]
pub fn frontier(framework: Arc<Framework>, standings_by_competency: HashMap<String, Standing>) -> Vec<Recommendation> {
    core::mastery::frontier(&framework.inner, &standings(standings_by_competency)).into_iter().map(Into::into).collect()
}

impl From<core::mastery::Recommendation> for Recommendation {
    fn from(r: core::mastery::Recommendation) -> Self {
        Self {
            competency: r.competency,
            human_coding_scheme: r.human_coding_scheme,
            unblocks: r.unblocks as u64,
            current_value: r.current_value,
            reason: r.reason,
        }
    }
}

impl From<core::mastery::CompetencySummary> for CompetencySummary {
    fn from(c: core::mastery::CompetencySummary) -> Self {
        Self {
            competency: c.competency,
            learners: c.learners as u64,
            mean: c.mean,
            median: c.median,
            mastered_share: c.mastered_share,
            levels: c
                .levels
                .into_iter()
                .map(|l| LevelCount { description: l.description, color: l.color, count: l.count as u64 })
                .collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum RollupRule {
    All,
    Points { required_points: f64, points: HashMap<String, f64>, required: Vec<String> },
    Weighted { weights: HashMap<String, f64>, threshold: f64 },
    KOfN { k: u32 },
}

impl From<RollupRule> for core::mastery::RollupRule {
    fn from(r: RollupRule) -> Self {
        match r {
            RollupRule::All => Self::All,
            RollupRule::Points { required_points, points, required } => {
                Self::Points { required_points, points: points.into_iter().collect(), required }
            }
            RollupRule::Weighted { weights, threshold } => {
                Self::Weighted { weights: weights.into_iter().collect(), threshold }
            }
            RollupRule::KOfN { k } => Self::KOfN { k: k as usize },
        }
    }
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct RolledUp {
    pub competency: String,
    pub standing: Standing,
    pub children_mastered: u64,
    pub children: u64,
}

/// Parents' standings from their children (`rules` per parent, `default_rule` otherwise).
#[uniffi::export]
pub fn roll_up(
    framework: Arc<Framework>,
    standings_by_competency: HashMap<String, Standing>,
    rules: HashMap<String, RollupRule>,
    default_rule: RollupRule,
) -> Result<HashMap<String, RolledUp>> {
    crate::error::guard(|| {
        let rules = rules.into_iter().map(|(k, r)| (k, r.into())).collect();
        let result = core::mastery::roll_up(
            &framework.inner,
            &standings(standings_by_competency),
            &rules,
            &default_rule.into(),
        )?;
        Ok(result
            .into_iter()
            .map(|(k, r)| {
                let standing = Standing { value: r.standing.value, mastered: r.standing.mastered };
                (
                    k,
                    RolledUp {
                        competency: r.competency,
                        standing,
                        children_mastered: r.children_mastered as u64,
                        children: r.children as u64,
                    },
                )
            })
            .collect())
    })
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct LevelCount {
    pub description: String,
    pub color: String,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CompetencySummary {
    pub competency: String,
    pub learners: u64,
    pub mean: f64,
    pub median: f64,
    pub mastered_share: f64,
    pub levels: Vec<LevelCount>,
}

/// Per-competency class summary: `scores[learner][competency]` on the scale's points.
#[uniffi::export]
pub fn class_summary(
    scores: HashMap<String, HashMap<String, f64>>,
    scale: ProficiencyScale,
    competencies: Option<Vec<String>>,
) -> Result<Vec<CompetencySummary>> {
    crate::error::guard(|| {
        let scores = scores.into_iter().map(|(l, m)| (l, m.into_iter().collect())).collect();
        Ok(core::mastery::class_summary(&scores, &to_core_scale(scale)?, competencies.as_deref())
            .into_iter()
            .map(Into::into)
            .collect())
    })
}
