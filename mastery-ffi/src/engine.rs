//! The stateful engine for apps: the embedded store (in memory or a durable directory), or a
//! store the host writes in Kotlin, Swift or Python ([`HostStore`], e.g. over SQLite).
//!
//! The principal is the core's JSON (`{"tenant", "user", "roles": [{"role": "learner"}, ...],
//! "enrolled": [...]}`), as in the fixtures; evidence batches are JSON arrays of evidence records.
//! The engine checks the access policy before every store call, so a host store needs no
//! policy of its own.

use std::collections::HashMap;
use std::sync::Arc;

use mastery_core as core;
use mastery_core::mastery::MasteryView as CoreView;
use mastery_core::store::StateValue;
use mastery_core::{AccessContext, Appended, DynStore, StateKey};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::convert::Rejection;
use crate::error::{guard, MasteryError};

type Result<T> = std::result::Result<T, MasteryError>;

/// A store written in the host's language. Every argument and result is JSON, with the names
/// and meanings of the core's `Store` trait:
///
/// - `ctx`: `{"principal": {...}}` (the caller, for a database's row-level security);
/// - an evidence record: the core's evidence JSON (`id`, `learner`, `course`, ...); evidence ids
///   are unique per (tenant, learner);
/// - a state key: `{"learner", "course" (absent outside a course), "namespace", "name"}`;
/// - a state value: `{"mastery": {...}}` or `{"json": ...}`, kept as it is;
/// - a state entry: `{"key": key, "value": value}`.
///
/// Throwing any exception fails the call with `MasteryError.Store` (an `AccessDenied` thrown by
/// the host stays `AccessDenied`).
#[uniffi::export(with_foreign)]
pub trait HostStore: Send + Sync {
    /// Applies one ingest batch atomically: when none of `evidence` (a JSON array) is stored yet,
    /// appends all of it and writes every state entry of `states` (a JSON array) as one unit;
    /// otherwise writes nothing. Returns a JSON array with `"new"` or `"duplicate"` per record.
    fn apply(&self, ctx: String, evidence: String, states: String) -> Result<String>;
    /// A JSON array of booleans: which of `evidence` (a JSON array) are already stored.
    fn known_evidence(&self, ctx: String, evidence: String) -> Result<String>;
    /// Stores one evidence record once; returns `"new"` or `"duplicate"` (a JSON string).
    fn append_evidence(&self, ctx: String, evidence: String) -> Result<String>;
    /// A JSON array of one learner's evidence, in the order it was appended.
    fn learner_evidence(&self, ctx: String, learner: String) -> Result<String>;
    /// A JSON array of a course's evidence, in the order it was appended.
    fn course_evidence(&self, ctx: String, course: String) -> Result<String>;
    /// The state value at `key` (JSON), or `null`.
    fn get_state(&self, ctx: String, key: String) -> Result<String>;
    /// Writes a state value (last write wins).
    fn put_state(&self, ctx: String, key: String, value: String) -> Result<()>;
    /// A JSON array of state entries: one learner's states of one namespace.
    fn learner_states(&self, ctx: String, learner: String, namespace: String) -> Result<String>;
    /// A JSON array of state entries: a course's states of one namespace, for every learner.
    fn course_states(&self, ctx: String, course: String, namespace: String) -> Result<String>;
}

/// Optional versioned writes for a [`HostStore`] that engines in several processes share (app
/// and sync service over one database): without them their writes are last-write-wins. Pass it
/// with the store to `Engine::with_versioned_store` (usually the same object implements both).
#[uniffi::export(with_foreign)]
pub trait HostVersions: Send + Sync {
    /// The store's read point, which the engine takes before a batch's reads.
    fn read_version(&self, ctx: String) -> Result<u64>;
    /// `HostStore::apply`, unless another writer changed a learner of the batch after `since` (a
    /// `read_version`): then it writes nothing and returns `null`, and the engine reads again.
    /// Duplicates are reported first, as by `apply`.
    fn apply_since(&self, ctx: String, since: u64, evidence: String, states: String) -> Result<Option<String>>;
    /// Holds other writers off until `release_writes` (the engine asks after two conflicts in one
    /// batch); returns whether it did.
    fn hold_writes(&self, ctx: String) -> Result<bool>;
    /// Ends `hold_writes`.
    fn release_writes(&self, ctx: String) -> Result<()>;
}

#[derive(Serialize, Deserialize)]
struct Entry {
    key: StateKey,
    value: StateValue,
}

/// The core `Store` over a host store: serialises arguments, parses results. A host exception or
/// an unreadable result is a store error, never a panic.
struct Adapter {
    store: Arc<dyn HostStore>,
    versions: Option<Arc<dyn HostVersions>>,
}

type CoreResult<T> = std::result::Result<T, core::MasteryError>;

fn store_error(reason: &str) -> core::MasteryError {
    core::MasteryError::Store { reason: reason.into() }
}

fn host_error(e: MasteryError) -> core::MasteryError {
    match e {
        MasteryError::AccessDenied { .. } => {
            core::MasteryError::AccessDenied { action: "the host store refused".into() }
        }
        _ => store_error("the host store failed"),
    }
}

fn to_json<T: Serialize + ?Sized>(value: &T) -> CoreResult<String> {
    serde_json::to_string(value).map_err(|_| store_error("cannot serialise for the host store"))
}

fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> CoreResult<T> {
    serde_json::from_str(text).map_err(|_| store_error("the host store returned unreadable JSON"))
}

impl Adapter {
    fn new(store: Arc<dyn HostStore>) -> Self {
        Self { store, versions: None }
    }

    /// Calls the host; a panic in the call (or a host result uniffi cannot lift) is a store error.
    fn call<T>(&self, body: impl FnOnce(&dyn HostStore) -> Result<T>) -> CoreResult<T> {
        Self::guarded(|| body(&*self.store))
    }

    fn guarded<T>(body: impl FnOnce() -> Result<T>) -> CoreResult<T> {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)) {
            Ok(result) => result.map_err(host_error),
            Err(_) => Err(store_error("the host store failed")),
        }
    }

    /// `apply`'s arguments as the host takes them: context, evidence and state entries as JSON.
    fn batch_json(
        ctx: &AccessContext,
        evidence: &[&core::Evidence],
        states: &[(StateKey, StateValue)],
    ) -> CoreResult<(String, String, String)> {
        let entries: Vec<Value> = states.iter().map(|(k, v)| serde_json::json!({ "key": k, "value": v })).collect();
        Ok((to_json(ctx)?, to_json(evidence)?, to_json(&entries)?))
    }

    fn flags(text: &str, expected: usize) -> CoreResult<Vec<Appended>> {
        let flags: Vec<Appended> = from_json(text)?;
        if flags.len() != expected {
            return Err(store_error("the host store returned the wrong number of flags"));
        }
        Ok(flags)
    }

    fn entries(text: &str) -> CoreResult<Vec<(StateKey, StateValue)>> {
        Ok(from_json::<Vec<Entry>>(text)?.into_iter().map(|e| (e.key, e.value)).collect())
    }
}

impl core::Store for Adapter {
    type Error = core::MasteryError;

    fn append_evidence(&self, ctx: &AccessContext, evidence: &core::Evidence) -> CoreResult<Appended> {
        let (ctx, evidence) = (to_json(ctx)?, to_json(evidence)?);
        from_json(&self.call(|h| h.append_evidence(ctx, evidence))?)
    }

    fn apply(
        &self,
        ctx: &AccessContext,
        evidence: &[&core::Evidence],
        states: &[(StateKey, StateValue)],
    ) -> CoreResult<Vec<Appended>> {
        let (ctx, evidence_json, states) = Self::batch_json(ctx, evidence, states)?;
        Self::flags(&self.call(|h| h.apply(ctx, evidence_json, states))?, evidence.len())
    }

    fn read_version(&self, ctx: &AccessContext) -> CoreResult<Option<u64>> {
        let Some(versions) = &self.versions else { return Ok(None) };
        let ctx = to_json(ctx)?;
        Self::guarded(|| versions.read_version(ctx)).map(Some)
    }

    fn apply_since(
        &self,
        ctx: &AccessContext,
        since: u64,
        evidence: &[&core::Evidence],
        states: &[(StateKey, StateValue)],
    ) -> CoreResult<Vec<Appended>> {
        let Some(versions) = &self.versions else { return self.apply(ctx, evidence, states) };
        let (ctx, evidence_json, states) = Self::batch_json(ctx, evidence, states)?;
        match Self::guarded(|| versions.apply_since(ctx, since, evidence_json, states))? {
            Some(flags) => Self::flags(&flags, evidence.len()),
            None => Err(core::MasteryError::StoreConflict),
        }
    }

    fn hold_writes(&self, ctx: &AccessContext) -> CoreResult<bool> {
        let Some(versions) = &self.versions else { return Ok(false) };
        let ctx = to_json(ctx)?;
        Self::guarded(|| versions.hold_writes(ctx))
    }

    fn release_writes(&self, ctx: &AccessContext) -> CoreResult<()> {
        let Some(versions) = &self.versions else { return Ok(()) };
        let ctx = to_json(ctx)?;
        Self::guarded(|| versions.release_writes(ctx))
    }

    fn known_evidence(&self, ctx: &AccessContext, evidence: &[&core::Evidence]) -> CoreResult<Vec<bool>> {
        let (ctx, evidence_json) = (to_json(ctx)?, to_json(evidence)?);
        let known: Vec<bool> = from_json(&self.call(|h| h.known_evidence(ctx, evidence_json))?)?;
        if known.len() != evidence.len() {
            return Err(store_error("the host store returned the wrong number of flags"));
        }
        Ok(known)
    }

    fn learner_evidence(&self, ctx: &AccessContext, learner: &core::UserId) -> CoreResult<Vec<core::Evidence>> {
        let ctx = to_json(ctx)?;
        from_json(&self.call(|h| h.learner_evidence(ctx, learner.as_str().to_owned()))?)
    }

    fn course_evidence(&self, ctx: &AccessContext, course: &core::CourseId) -> CoreResult<Vec<core::Evidence>> {
        let ctx = to_json(ctx)?;
        from_json(&self.call(|h| h.course_evidence(ctx, course.as_str().to_owned()))?)
    }

    fn get_state(&self, ctx: &AccessContext, key: &StateKey) -> CoreResult<Option<StateValue>> {
        let (ctx, key) = (to_json(ctx)?, to_json(key)?);
        from_json(&self.call(|h| h.get_state(ctx, key))?)
    }

    fn put_state(&self, ctx: &AccessContext, key: &StateKey, value: &StateValue) -> CoreResult<()> {
        let (ctx, key, value) = (to_json(ctx)?, to_json(key)?, to_json(value)?);
        self.call(|h| h.put_state(ctx, key, value))
    }

    fn learner_states(
        &self,
        ctx: &AccessContext,
        learner: &core::UserId,
        namespace: &str,
    ) -> CoreResult<Vec<(StateKey, StateValue)>> {
        let ctx = to_json(ctx)?;
        Self::entries(&self.call(|h| h.learner_states(ctx, learner.as_str().to_owned(), namespace.to_owned()))?)
    }

    fn course_states(
        &self,
        ctx: &AccessContext,
        course: &core::CourseId,
        namespace: &str,
    ) -> CoreResult<Vec<(StateKey, StateValue)>> {
        let ctx = to_json(ctx)?;
        Self::entries(&self.call(|h| h.course_states(ctx, course.as_str().to_owned(), namespace.to_owned()))?)
    }
}

/// What one `ingest` call did.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct IngestOutcome {
    /// Records stored for the first time.
    pub new: u64,
    /// Records already stored (or repeated in the batch): they change nothing.
    pub duplicates: u64,
    /// Records refused (by the policy or the store), by their index in the batch.
    pub rejected: Vec<Rejection>,
    /// Mastery changes the new records caused.
    pub changes: u64,
    /// Achievements the new records earned (engines with achievements).
    pub awarded: u64,
}

impl From<core::IngestOutcome> for IngestOutcome {
    fn from(o: core::IngestOutcome) -> Self {
        Self {
            new: o.new as u64,
            duplicates: o.duplicates as u64,
            rejected: o
                .rejected
                .into_iter()
                .map(|x| Rejection { index: x.index as u64, code: x.code, field: x.field, reason: x.reason })
                .collect(),
            changes: o.changes as u64,
            awarded: o.awarded as u64,
        }
    }
}

/// A learner's standing on one competency, as a dashboard shows it.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct MasteryView {
    pub competency: String,
    /// On the scale's points.
    pub score: Option<f64>,
    /// The rating's description on the scale.
    pub rating: Option<String>,
    pub mastered: bool,
    /// BKT's P(known), when the competency has a fitted skill.
    pub p_known: Option<f64>,
    /// RFC 3339.
    pub last_evidence: Option<String>,
    pub evidence_count: u32,
}

impl From<CoreView> for MasteryView {
    fn from(v: CoreView) -> Self {
        let last_evidence = v.last_evidence.as_ref().and_then(|t| match serde_json::to_value(t) {
            Ok(Value::String(s)) => Some(s),
            _ => None,
        });
        Self {
            competency: v.competency,
            score: v.score,
            rating: v.rating,
            mastered: v.mastered,
            p_known: v.p_known,
            last_evidence,
            evidence_count: v.evidence_count,
        }
    }
}

/// Store + mastery rules. Every method takes the caller as the core's principal JSON.
#[derive(uniffi::Object)]
pub struct Engine {
    inner: core::Engine<DynStore>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Engine")
    }
}

fn context(principal: &str) -> Result<AccessContext> {
    let principal: core::Principal = serde_json::from_str(principal).map_err(|e| MasteryError::InvalidInput {
        field: "principal".into(),
        detail: format!("invalid principal: {}", problem(&e)),
    })?;
    Ok(AccessContext::new(principal))
}

/// What was wrong with a JSON argument, without quoting it.
fn problem(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Io => "unreadable",
        serde_json::error::Category::Syntax => "not JSON",
        serde_json::error::Category::Data => "wrong shape",
        serde_json::error::Category::Eof => "truncated",
    }
}

/// What an engine keeps and scores besides mastery (every part optional).
#[derive(Debug, Clone, Default, PartialEq, uniffi::Record)]
pub struct EngineOptions {
    /// A streak policy (`{}` for the defaults): ingest keeps each learner's streak per course.
    #[uniffi(default = None)]
    pub streak_policy_json: Option<String>,
    /// `Achievement[]`: ingest awards them.
    #[uniffi(default = None)]
    pub achievements_json: Option<String>,
    /// CASE JSON: subtree award rules, the dashboards' rings and next competencies.
    #[uniffi(default = None)]
    pub framework_json: Option<String>,
    /// A risk model file's JSON: `at_risk` and the class dashboard's alerts.
    #[uniffi(default = None)]
    pub risk_model_json: Option<String>,
    /// The alert bands, highest first (none: high 0.7/0.6, medium 0.4/0.3).
    #[uniffi(default = None)]
    pub risk_bands: Option<Vec<crate::risk::RiskBand>>,
}

/// A learner at risk, with the model's reasons in words.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct RiskAlert {
    pub learner: String,
    pub band: String,
    pub score: f64,
    pub reasons: Vec<crate::risk::RiskReason>,
}

impl From<core::risk::Alert> for RiskAlert {
    fn from(a: core::risk::Alert) -> Self {
        let reasons = a
            .reasons
            .into_iter()
            .map(|r| crate::risk::RiskReason {
                feature: r.feature,
                value: r.value,
                contribution: r.contribution,
                text: r.text,
            })
            .collect();
        Self { learner: a.learner, band: a.band, score: a.score, reasons }
    }
}

/// One learner's risk features (NaN where the engine does not know one).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct LearnerFeatures {
    pub learner: String,
    pub features: HashMap<String, f64>,
}

/// A learner's dashboard of one course. The charts are view-model JSON for `render_svg`
/// (`ring_chart`, `progress`); empty parts: the engine was not set up for them.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct LearnerDashboard {
    pub records: Vec<MasteryView>,
    /// `RingChart` JSON, with a framework.
    pub rings_json: Option<String>,
    /// Assessed and not mastered, weakest first.
    pub gaps: Vec<MasteryView>,
    pub next: Vec<crate::mastery::Recommendation>,
    pub streak: Option<crate::dashboard::StreakStatus>,
    pub badges: Vec<crate::gallery::GalleryItem>,
    /// `ProgressView` JSON.
    pub progress_json: String,
}

/// A class's dashboard. The heatmap is view-model JSON for `render_svg("heatmap", ...)`.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ClassDashboard {
    pub learners: u64,
    pub heatmap_json: String,
    pub summaries: Vec<crate::mastery::CompetencySummary>,
    pub least_proficient: Vec<crate::mastery::CompetencySummary>,
    /// With a risk model.
    pub at_risk: Option<Vec<RiskAlert>>,
}

impl Engine {
    /// `streak_policy_json`: a streak policy (`{}` for the defaults) makes ingest keep streaks.
    /// `achievements_json` (`Achievement[]`) makes ingest award them.
    fn build(
        store: DynStore,
        streak_policy_json: Option<String>,
        achievements_json: Option<String>,
    ) -> Result<Arc<Self>> {
        Self::build_with(store, EngineOptions { streak_policy_json, achievements_json, ..EngineOptions::default() })
    }

    fn build_with(store: DynStore, options: EngineOptions) -> Result<Arc<Self>> {
        let EngineOptions { streak_policy_json, achievements_json, framework_json, risk_model_json, risk_bands } =
            options;
        let mut inner = core::Engine::new(store);
        let framework = framework_json.map(|text| core::framework::Framework::from_case_json(&text)).transpose()?;
        if let Some(policy) = streak_policy_json {
            let policy: core::streak::StreakPolicy =
                serde_json::from_str(&policy).map_err(|e| crate::dashboard::json_error("streak_policy", e))?;
            inner = inner.with_streaks(policy)?;
        }
        if let Some(achievements) = achievements_json {
            let achievements: Vec<core::credential::Achievement> = crate::gallery::json("achievements", &achievements)?;
            inner = inner.with_awards(achievements, framework.clone())?;
        }
        if let Some(framework) = framework {
            inner = inner.with_framework(framework);
        }
        if let Some(model) = risk_model_json {
            let bands = risk_bands
                .map(|list| {
                    let list =
                        list.into_iter().map(|b| core::risk::RiskBand { name: b.name, enter: b.enter, exit: b.exit });
                    core::risk::RiskBands::new(list.collect())
                })
                .transpose()?;
            inner = inner.with_risk(core::risk::RiskModelFile::from_json(&model)?, bands)?;
        }
        Ok(Arc::new(Self { inner }))
    }
}

#[uniffi::export]
impl Engine {
    /// An engine over the embedded in-memory store (lost when the app exits).
    /// `streak_policy_json` (a streak policy, `{}` for the defaults) makes ingest keep streaks.
    /// `achievements_json` (`Achievement[]`) makes ingest award them.
    #[uniffi::constructor(default(streak_policy_json = None, achievements_json = None))]
    pub fn new_memory(streak_policy_json: Option<String>, achievements_json: Option<String>) -> Result<Arc<Self>> {
        guard(|| Self::build(Box::new(core::MemoryStore::new()), streak_policy_json, achievements_json))
    }

    /// An engine over the embedded store kept durably in directory `path` (created if missing).
    #[uniffi::constructor(default(streak_policy_json = None, achievements_json = None))]
    pub fn open(
        path: String,
        streak_policy_json: Option<String>,
        achievements_json: Option<String>,
    ) -> Result<Arc<Self>> {
        guard(|| Self::build(Box::new(core::MemoryStore::open(&path)?), streak_policy_json, achievements_json))
    }

    /// An engine over a store the host writes (e.g. over SQLite); it needs no policy of its own.
    #[uniffi::constructor(default(streak_policy_json = None, achievements_json = None))]
    pub fn with_store(
        store: Arc<dyn HostStore>,
        streak_policy_json: Option<String>,
        achievements_json: Option<String>,
    ) -> Result<Arc<Self>> {
        guard(|| Self::build(Box::new(Adapter::new(store)), streak_policy_json, achievements_json))
    }

    /// `with_store` over a store that versions its writes (`versions`, usually the same object):
    /// engines in several processes over one database then lose none of each other's updates.
    #[uniffi::constructor(default(streak_policy_json = None, achievements_json = None))]
    pub fn with_versioned_store(
        store: Arc<dyn HostStore>,
        versions: Arc<dyn HostVersions>,
        streak_policy_json: Option<String>,
        achievements_json: Option<String>,
    ) -> Result<Arc<Self>> {
        let adapter = Adapter { store, versions: Some(versions) };
        guard(|| Self::build(Box::new(adapter), streak_policy_json, achievements_json))
    }

    /// An engine over the embedded store in memory, or durably in `path` when given, or over
    /// `store` when given, with every option (framework, risk model, ...).
    #[uniffi::constructor(default(path = None, store = None))]
    pub fn with_options(
        options: EngineOptions,
        path: Option<String>,
        store: Option<Arc<dyn HostStore>>,
    ) -> Result<Arc<Self>> {
        guard(|| {
            let store: DynStore = match (store, path) {
                (Some(_), Some(_)) => {
                    return Err(MasteryError::InvalidInput {
                        field: "store".into(),
                        detail: "give a store or a path, not both".into(),
                    })
                }
                (Some(store), None) => Box::new(Adapter::new(store)),
                (None, Some(path)) => Box::new(core::MemoryStore::open(&path)?),
                (None, None) => Box::new(core::MemoryStore::new()),
            };
            Self::build_with(store, options)
        })
    }

    /// Stores each record of `evidence_json` (a JSON array of evidence records) once and updates
    /// mastery. Refused records (the policy, the store) are reported by index, not thrown.
    pub fn ingest(&self, principal: String, evidence_json: String) -> Result<IngestOutcome> {
        guard(|| {
            let ctx = context(&principal)?;
            let batch: Vec<core::Evidence> =
                serde_json::from_str(&evidence_json).map_err(|e| MasteryError::InvalidInput {
                    field: "evidence".into(),
                    detail: format!("invalid evidence: {}", problem(&e)),
                })?;
            Ok(self.inner.ingest(&ctx, &batch).into())
        })
    }

    /// A learner's mastery in one course (or outside any, `course` = null), sorted by competency.
    #[uniffi::method(default(course = None))]
    pub fn learner_states(
        &self,
        principal: String,
        learner: String,
        course: Option<String>,
    ) -> Result<Vec<MasteryView>> {
        guard(|| {
            let ctx = context(&principal)?;
            let course = course.map(core::CourseId::new);
            let views = self.inner.learner_views(&ctx, &core::UserId::new(learner), course.as_ref())?;
            Ok(views.into_iter().map(Into::into).collect())
        })
    }

    /// Every learner's mastery in a course: learner → views sorted by competency.
    pub fn class_states(&self, principal: String, course: String) -> Result<HashMap<String, Vec<MasteryView>>> {
        guard(|| {
            let ctx = context(&principal)?;
            let class = self.inner.class_views(&ctx, &core::CourseId::new(course))?;
            Ok(class
                .into_iter()
                .map(|(learner, views)| (learner, views.into_iter().map(Into::into).collect()))
                .collect())
        })
    }

    /// The class heatmap of a course (learners × competencies, a JSON array of `{"id", "label"}`,
    /// in that order) read straight from the stored records, as JSON (the shape of
    /// `class_heatmap_json`).
    pub fn class_heatmap_json(&self, principal: String, course: String, competencies_json: String) -> Result<String> {
        guard(|| {
            let ctx = context(&principal)?;
            let competencies: Vec<core::dashboard::Label> = serde_json::from_str(&competencies_json)
                .map_err(|e| crate::dashboard::json_error("competencies", e))?;
            let heatmap = self.inner.class_heatmap(&ctx, &core::CourseId::new(course), &competencies)?;
            Ok(crate::dashboard::to_json(&heatmap))
        })
    }

    /// A learner's mastery of one competency in a course (or outside any), or null.
    #[uniffi::method(default(course = None))]
    pub fn mastery(
        &self,
        principal: String,
        learner: String,
        competency: String,
        course: Option<String>,
    ) -> Result<Option<MasteryView>> {
        guard(|| {
            let ctx = context(&principal)?;
            let course = course.map(core::CourseId::new);
            let view = self.inner.mastery_view(&ctx, &core::UserId::new(learner), course.as_ref(), &competency)?;
            Ok(view.map(Into::into))
        })
    }

    /// A learner's streak in one course (or outside any) as of `now` (RFC 3339 in the learner's
    /// offset), from the stored record. Needs an engine created with a streak policy.
    #[uniffi::method(default(course = None))]
    pub fn streak(
        &self,
        principal: String,
        learner: String,
        now: String,
        course: Option<String>,
    ) -> Result<crate::dashboard::StreakStatus> {
        guard(|| {
            let ctx = context(&principal)?;
            let now = core::time::parse_instant(&now, "now")?;
            let course = course.map(core::CourseId::new);
            Ok(self.inner.streak(&ctx, &core::UserId::new(learner), course.as_ref(), now)?.into())
        })
    }

    /// Every learner's streak in a course as of `now`: learner → status.
    pub fn class_streaks(
        &self,
        principal: String,
        course: String,
        now: String,
    ) -> Result<HashMap<String, crate::dashboard::StreakStatus>> {
        guard(|| {
            let ctx = context(&principal)?;
            let now = core::time::parse_instant(&now, "now")?;
            let class = self.inner.class_streaks(&ctx, &core::CourseId::new(course), now)?;
            Ok(class.into_iter().map(|(learner, status)| (learner, status.into())).collect())
        })
    }

    /// A learner's streak with its explained calendar, from the evidence the caller may read.
    #[uniffi::method(default(course = None))]
    pub fn streak_report(
        &self,
        principal: String,
        learner: String,
        now: String,
        course: Option<String>,
    ) -> Result<crate::dashboard::StreakReport> {
        guard(|| {
            let ctx = context(&principal)?;
            let now = core::time::parse_instant(&now, "now")?;
            let course = course.map(core::CourseId::new);
            Ok(self.inner.streak_report(&ctx, &core::UserId::new(learner), course.as_ref(), now)?.into())
        })
    }

    /// A learner's awards in one course (or outside any), revoked ones included. Needs an engine
    /// created with achievements.
    #[uniffi::method(default(course = None))]
    pub fn awards(
        &self,
        principal: String,
        learner: String,
        course: Option<String>,
    ) -> Result<Vec<crate::gallery::Award>> {
        guard(|| {
            let ctx = context(&principal)?;
            let course = course.map(core::CourseId::new);
            let awards = self.inner.awards(&ctx, &core::UserId::new(learner), course.as_ref())?;
            Ok(awards.into_iter().map(Into::into).collect())
        })
    }

    /// A course's awards and revocations not acknowledged yet: what the host delivers.
    pub fn outbox(&self, principal: String, course: String) -> Result<Vec<crate::gallery::Award>> {
        guard(|| {
            let ctx = context(&principal)?;
            Ok(self.inner.outbox(&ctx, &core::CourseId::new(course))?.into_iter().map(Into::into).collect())
        })
    }

    /// Takes delivered awards (by credential id) out of the outbox; returns how many it took.
    #[uniffi::method(default(course = None))]
    pub fn acknowledge_awards(
        &self,
        principal: String,
        learner: String,
        credential_ids: Vec<String>,
        course: Option<String>,
    ) -> Result<u64> {
        guard(|| {
            let ctx = context(&principal)?;
            let course = course.map(core::CourseId::new);
            let learner = core::UserId::new(learner);
            Ok(self.inner.acknowledge_awards(&ctx, &learner, course.as_ref(), &credential_ids)? as u64)
        })
    }

    /// Revokes a learner's award of an achievement with a reason (into the outbox); returns how
    /// many awards it revoked.
    #[uniffi::method(default(course = None))]
    pub fn revoke_award(
        &self,
        principal: String,
        learner: String,
        achievement: String,
        reason: String,
        course: Option<String>,
    ) -> Result<u64> {
        guard(|| {
            let ctx = context(&principal)?;
            let course = course.map(core::CourseId::new);
            let learner = core::UserId::new(learner);
            Ok(self.inner.revoke_award(&ctx, &learner, course.as_ref(), &achievement, &reason)? as u64)
        })
    }

    /// The badge gallery of a learner in one course (or outside any) as of `now`, from stored state.
    #[uniffi::method(default(course = None))]
    pub fn badge_gallery(
        &self,
        principal: String,
        learner: String,
        now: String,
        course: Option<String>,
    ) -> Result<Vec<crate::gallery::GalleryItem>> {
        guard(|| {
            let ctx = context(&principal)?;
            let now = core::time::parse_instant(&now, "now")?;
            let course = course.map(core::CourseId::new);
            let items = self.inner.badge_gallery(&ctx, &core::UserId::new(learner), course.as_ref(), now)?;
            Ok(items.into_iter().map(Into::into).collect())
        })
    }
    /// A learner's dashboard of one course (or outside any) at `at` (RFC 3339).
    #[uniffi::method(default(course = None))]
    pub fn learner_dashboard(
        &self,
        principal: String,
        learner: String,
        at: String,
        course: Option<String>,
    ) -> Result<LearnerDashboard> {
        guard(|| {
            let ctx = context(&principal)?;
            let at = core::time::parse_instant(&at, "at")?;
            let course = course.map(core::CourseId::new);
            let d = self.inner.learner_dashboard(&ctx, &core::UserId::new(learner), course.as_ref(), at)?;
            Ok(LearnerDashboard {
                records: d.records.into_iter().map(Into::into).collect(),
                rings_json: d.rings.as_ref().map(to_json).transpose()?,
                gaps: d.gaps.into_iter().map(Into::into).collect(),
                next: d.next.into_iter().map(Into::into).collect(),
                streak: d.streak.map(Into::into),
                badges: d.badges.into_iter().map(Into::into).collect(),
                progress_json: to_json(&d.progress)?,
            })
        })
    }

    /// A class's dashboard at `at`. `options_json`: `{"competencies": [{"id", "label"}],
    /// "least_proficient": 5, "reasons": 3}` (all optional).
    #[uniffi::method(default(options_json = None))]
    pub fn class_dashboard(
        &self,
        principal: String,
        course: String,
        at: String,
        options_json: Option<String>,
    ) -> Result<ClassDashboard> {
        guard(|| {
            let ctx = context(&principal)?;
            let at = core::time::parse_instant(&at, "at")?;
            let options: core::engine::ClassDashboardOptions = match options_json {
                Some(text) => crate::gallery::json("options", &text)?,
                None => Default::default(),
            };
            let d = self.inner.class_dashboard(&ctx, &core::CourseId::new(course), at, &options)?;
            Ok(ClassDashboard {
                learners: d.learners as u64,
                heatmap_json: to_json(&d.heatmap)?,
                summaries: d.summaries.into_iter().map(Into::into).collect(),
                least_proficient: d.least_proficient.into_iter().map(Into::into).collect(),
                at_risk: d.at_risk.map(|alerts| alerts.into_iter().map(Into::into).collect()),
            })
        })
    }

    /// The class's learners at risk at `at`, highest score first, each with `top` reasons.
    #[uniffi::method(default(top = 3))]
    pub fn at_risk(&self, principal: String, course: String, at: String, top: u32) -> Result<Vec<RiskAlert>> {
        guard(|| {
            let ctx = context(&principal)?;
            let at = core::time::parse_instant(&at, "at")?;
            let alerts = self.inner.at_risk(&ctx, &core::CourseId::new(course), at, top as usize)?;
            Ok(alerts.into_iter().map(Into::into).collect())
        })
    }

    /// Scores the class as `at_risk` does and records each learner's band and score (one store
    /// commit), so later scorings keep a learner in a band until the score falls below its exit.
    /// Instructors of the course, admins and services only.
    #[uniffi::method(default(top = 3))]
    pub fn record_risk(&self, principal: String, course: String, at: String, top: u32) -> Result<Vec<RiskAlert>> {
        guard(|| {
            let ctx = context(&principal)?;
            let at = core::time::parse_instant(&at, "at")?;
            let alerts = self.inner.record_risk(&ctx, &core::CourseId::new(course), at, top as usize)?;
            Ok(alerts.into_iter().map(Into::into).collect())
        })
    }

    /// Every learner's risk features in a course at `at`, from stored state.
    pub fn risk_features(&self, principal: String, course: String, at: String) -> Result<Vec<LearnerFeatures>> {
        guard(|| {
            let ctx = context(&principal)?;
            let at = core::time::parse_instant(&at, "at")?;
            let names = self.inner.risk_feature_names();
            let rows = self.inner.risk_features(&ctx, &core::CourseId::new(course), at)?;
            Ok(rows
                .into_iter()
                .map(|(learner, row)| LearnerFeatures { learner, features: names.iter().cloned().zip(row).collect() })
                .collect())
        })
    }
}
