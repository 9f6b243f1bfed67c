//! The HTTP API: `/api/mastery/*`, `/api/credentials/*`, `/api/risk/*`, the issuer's did:web
//! document and the OpenAPI document generated from these handlers.
//!
//! Every store call runs on tokio's blocking pool (`spawn_blocking`): the store may be the
//! blocking PostgreSQL driver, which must never run inside an async task.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, OnceLock};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Path, Query, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use mastery_core::access::{authorize_course, authorize_learner, AccessContext, Operation, Principal, Role};
use mastery_core::credential::{
    achievement_credential, badge_gallery, did_web_document, keys_from_document, sign_data_integrity, sign_vc_jwt,
    status_list_credential, verify_credential, Award, CredentialIssuer, CredentialLedger, GalleryQuery, IssuerKey,
    IssuerProfile, LearnerFacts, NotificationKind, StatusEntry, StatusList, VerifyOptions,
};
use mastery_core::dashboard::{class_heatmap, progress_over_time, ring_chart, Label, RingMetric, TimeWindow};
use mastery_core::mastery::{class_summary, frontier, MasteryRecord};
use mastery_core::risk::{PredictionRecord, RetrainDecision, RiskBands};
use mastery_core::store::Store;
use mastery_core::time::Instant;
use mastery_core::{parse_xapi, CourseId, Engine, MasteryError, TenantId, UserId};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Caller;
use crate::cache::DashboardCache;
use crate::catalog::Catalog;
use crate::durable::{AwardRules, Event};
use crate::error::{ApiError, ErrorBody};
use crate::pg::with_read_ahead;
use crate::risk::Risk;
use crate::store::AnyStore;

/// Request bodies above this are refused with 413 before they are read.
pub const BODY_LIMIT: usize = 4 << 20;
/// JSON bodies nested deeper than this are refused before any parser sees them.
pub const MAX_DEPTH: usize = 64;
/// Bits of each status list (the Bitstring Status List minimum, 16 KiB).
const STATUS_BITS: usize = 131_072;

/// The version of the mastery rules logged with every mastery change.
pub const MASTERY_MODEL_VERSION: &str = concat!("mastery-core ", env!("CARGO_PKG_VERSION"), " decaying-average-0.65");

/// Shared service state.
pub type AppState = Arc<Service>;

/// Where an awarded credential lives, found by its id (filled from the issuer's outbox).
#[derive(Clone)]
struct AwardRef {
    credential_id: String,
    tenant: TenantId,
    learner: String,
    course: Option<CourseId>,
    achievement: String,
    version: u32,
    awarded_at: Instant,
    status_index: u64,
}

#[derive(Default)]
struct Credentials {
    by_id: BTreeMap<String, AwardRef>,
    revoked: BTreeSet<u64>,
    next_index: u64,
    /// The embedded store's event queues, per tenant and learner (PostgreSQL: the outbox table).
    events: BTreeMap<(String, String), std::collections::VecDeque<Event>>,
    next_event: i64,
}

/// The engine, the credential issuer and the keys.
pub struct Service {
    pub engine: Engine<AnyStore>,
    pub issuer: Arc<CredentialIssuer>,
    pub catalog: Catalog,
    pub jwt_secret: Vec<u8>,
    key: IssuerKey,
    /// `did:web:{host}`: the issuer of credentials in JSON (Data Integrity proofs).
    did_web: String,
    /// `https://{host}`.
    base_url: String,
    credentials: Mutex<Credentials>,
    dashboards: DashboardCache,
    /// The deployed at-risk model (the retraining job swaps it).
    pub risk: Risk,
    /// Each learner's last risk band per tenant and course (hysteresis).
    bands: Mutex<BTreeMap<(String, String, String), String>>,
}

impl Credentials {
    fn queue(&mut self, tenant: &str, learner: &str, kind: &str, body: Value) {
        self.next_event += 1;
        let event = Event { id: self.next_event, kind: kind.to_owned(), body };
        self.events.entry((tenant.to_owned(), learner.to_owned())).or_default().push_back(event);
    }
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service").field("engine", &self.engine).field("did", &self.did_web).finish_non_exhaustive()
    }
}

impl Service {
    /// `public_host` is the host (and port, as `host%3Aport`) the did:web names.
    pub fn new(
        store: AnyStore,
        catalog: Catalog,
        jwt_secret: Vec<u8>,
        issuer_seed: &[u8; 32],
        public_host: &str,
        started: Instant,
    ) -> Result<Self, MasteryError> {
        let issuer = Arc::new(CredentialIssuer::new(
            catalog.achievements.clone(),
            Some(catalog.framework.clone()),
            CredentialLedger::new(),
            started,
        ));
        // On PostgreSQL awards are decided in the ingest's transaction (crate::durable); the
        // embedded store keeps them in the issuer's ledger, in the process.
        let engine = match store {
            AnyStore::Postgres(pg) => Engine::new(AnyStore::Postgres(pg.with_awards(AwardRules {
                achievements: catalog.achievements.clone(),
                framework: Some(catalog.framework.clone()),
                model_version: MASTERY_MODEL_VERSION.to_owned(),
            }))),
            memory => Engine::new(memory).with_change_log(issuer.clone()),
        };
        let did_web = format!("did:web:{public_host}");
        mastery_core::credential::did_web_url(&did_web)?;
        Ok(Self {
            engine,
            issuer,
            catalog,
            jwt_secret,
            key: IssuerKey::from_seed(issuer_seed)?,
            base_url: format!("https://{}", public_host.replace("%3A", ":")),
            did_web,
            credentials: Mutex::new(Credentials::default()),
            dashboards: DashboardCache::default(),
            risk: Risk::synthetic()?,
            bands: Mutex::new(BTreeMap::new()),
        })
    }

    fn credentials(&self) -> std::sync::MutexGuard<'_, Credentials> {
        self.credentials.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Delivers the issuer's outbox into the credential index (each award gets a status index).
    fn deliver_outbox(&self) {
        let pending = self.issuer.with_ledger(|ledger| {
            let pending = ledger.pending(usize::MAX);
            ledger.acknowledge(&pending.iter().map(|n| n.id).collect::<Vec<_>>());
            pending
        });
        let mut credentials = self.credentials();
        for n in pending.into_iter().filter(|n| n.kind == NotificationKind::Awarded) {
            let awarded_at = self
                .issuer
                .with_ledger(|l| l.award(&n.tenant, &n.learner, &n.achievement, n.version).map(|a| a.awarded_at));
            let Some(awarded_at) = awarded_at else { continue };
            let index = credentials.next_index;
            credentials.next_index += 1;
            let body = serde_json::json!({"credential_id": n.credential_id, "achievement": n.achievement,
                                          "version": n.version, "course": n.course});
            credentials.queue(n.tenant.as_str(), &n.learner, "credential.awarded", body);
            credentials.by_id.entry(n.credential_id.clone()).or_insert(AwardRef {
                credential_id: n.credential_id.clone(),
                tenant: n.tenant,
                learner: n.learner,
                course: n.course,
                achievement: n.achievement,
                version: n.version,
                awarded_at,
                status_index: index,
            });
        }
    }

    fn did_document(&self) -> Result<Value, MasteryError> {
        let mut doc = did_web_document(&self.did_web, &self.key)?;
        // VC-JWTs name the issuer by the same key's did:key (the core signs VC-JWTs with did:key).
        doc["alsoKnownAs"] = serde_json::json!([self.key.did()]);
        Ok(doc)
    }

    fn status_url(&self, form: &str) -> String {
        format!("{}/api/credentials/status/{form}", self.base_url)
    }

    /// The status list, signed by the issuer in one of its two names: `web` (Data Integrity,
    /// did:web) or `key` (VC-JWT, did:key).
    fn status_list(&self, form: &str, now: Instant) -> Result<Value, MasteryError> {
        let revoked: Vec<u64> = match self.engine.store() {
            AnyStore::Postgres(pg) => pg.revoked_indexes()?,
            AnyStore::Memory(_) => self.credentials().revoked.iter().copied().collect(),
        };
        // At least the minimum size, and large enough for every revoked index (never wrapped).
        let needed = revoked.iter().max().map_or(0, |&i| usize::try_from(i).unwrap_or(usize::MAX).saturating_add(1));
        let mut list = StatusList::new(STATUS_BITS.max(needed.next_multiple_of(STATUS_BITS)));
        for index in revoked {
            list.set(index, true)?;
        }
        match form {
            "web" => {
                let unsigned = status_list_credential(&self.status_url(form), &self.did_web, &list, "revocation", now);
                sign_data_integrity(&unsigned, &self.key, Some(&format!("{}#key-1", self.did_web)), now)
            }
            "key" => {
                let unsigned =
                    status_list_credential(&self.status_url(form), &self.key.did(), &list, "revocation", now);
                Ok(Value::String(sign_vc_jwt(&unsigned, &self.key)?))
            }
            _ => Err(MasteryError::NotFound { what: "status list" }),
        }
    }

    /// The credential of an award the caller may read; `not_found` otherwise (existence does not leak).
    fn visible_award(&self, ctx: &AccessContext, id: &str) -> Result<AwardRef, ApiError> {
        let award = match self.engine.store() {
            AnyStore::Postgres(pg) => pg.award_by_id(ctx, id)?.map(|(a, status_index)| AwardRef {
                credential_id: a.credential_id,
                tenant: a.tenant,
                learner: a.learner,
                course: a.course,
                achievement: a.achievement,
                version: a.version,
                awarded_at: a.awarded_at,
                status_index,
            }),
            AnyStore::Memory(_) => self.credentials().by_id.get(id).cloned(),
        }
        .ok_or_else(|| ApiError::not_found("credential"))?;
        let learner = UserId::new(award.learner.as_str());
        if &award.tenant != ctx.tenant()
            || authorize_learner(ctx, Operation::Read, &award.tenant, &learner, award.course.as_ref()).is_err()
        {
            return Err(ApiError::not_found("credential"));
        }
        Ok(award)
    }

    /// The OB 3.0 credential of an award, issued by the did:web (JSON) or the did:key (VC-JWT).
    fn credential(&self, id: &str, award: &AwardRef, jwt: bool) -> Result<Value, MasteryError> {
        let achievement = self
            .catalog
            .achievements
            .iter()
            .find(|a| a.id == award.achievement && a.version == award.version)
            .ok_or(MasteryError::NotFound { what: "achievement" })?;
        let issuer_id = if jwt { self.key.did() } else { self.did_web.clone() };
        let issuer = IssuerProfile { id: issuer_id, name: "Example LMS".into(), url: Some(self.base_url.clone()) };
        let status = StatusEntry {
            status_list_credential: self.status_url(if jwt { "key" } else { "web" }),
            index: award.status_index,
        };
        let unsigned = achievement_credential(
            id,
            achievement,
            &issuer,
            &award.learner,
            "lms-service",
            award.awarded_at,
            &[],
            Some(&status),
        );
        if jwt {
            Ok(Value::String(sign_vc_jwt(&unsigned, &self.key)?))
        } else {
            sign_data_integrity(&unsigned, &self.key, Some(&format!("{}#key-1", self.did_web)), award.awarded_at)
        }
    }
}

fn now() -> Instant {
    chrono::Utc::now().fixed_offset()
}

/// Runs blocking store work off the async executor.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T, ApiError> + Send + 'static) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f).await.map_err(|_| ApiError::internal("a worker failed"))?
}

/// A request body: JSON (`application/json`, `*+json`) or a compact JWT (`application/jwt`,
/// `text/plain`), at most [`BODY_LIMIT`] bytes of UTF-8.
#[derive(Debug)]
pub struct Payload {
    pub text: String,
    pub json: bool,
}

impl<S: Send + Sync> FromRequest<S> for Payload {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let mime = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|v| v.trim().to_ascii_lowercase())
            .unwrap_or_default();
        let json = mime == "application/json" || mime.ends_with("+json");
        if !json && mime != "application/jwt" && mime != "text/plain" {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "the body must be application/json",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(e.status(), "payload_too_large", format!("the body is larger than {BODY_LIMIT} bytes"))
            } else {
                ApiError::new(StatusCode::BAD_REQUEST, "invalid_input", "the body could not be read")
            }
        })?;
        let text = String::from_utf8(bytes.to_vec()).map_err(|_| {
            ApiError::from(MasteryError::Parse { format: "request body", reason: "it is not UTF-8".into() })
        })?;
        if json && nesting(&text) > MAX_DEPTH {
            return Err(MasteryError::InvalidInput {
                field: "body".into(),
                reason: format!("is nested deeper than {MAX_DEPTH} levels"),
            }
            .into());
        }
        Ok(Self { text, json })
    }
}

/// The deepest nesting of arrays and objects in JSON text (strings skipped), without parsing it.
fn nesting(text: &str) -> usize {
    let (mut depth, mut deepest, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for b in text.bytes() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

impl Payload {
    fn require_json(&self) -> Result<(), ApiError> {
        if self.json {
            Ok(())
        } else {
            Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "expected application/json",
            ))
        }
    }
}

/// A record the batch refused, by its index in the posted batch.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RejectedRecord {
    pub index: usize,
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub reason: String,
}

/// What an ingest did.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct IngestResponse {
    /// Statements in the batch.
    pub received: usize,
    /// Stored for the first time.
    pub new: usize,
    /// Already stored (or repeated in the batch): nothing changed.
    pub duplicates: usize,
    /// Mastery changes the new records caused.
    pub changes: usize,
    pub rejected: Vec<RejectedRecord>,
}

/// Ingests xAPI statements (one, or an array): idempotent (a statement's `id` is its key),
/// with per-record rejections; one bad record never costs the batch.
#[utoipa::path(post, path = "/api/mastery/statements", tag = "mastery",
    request_body(content = Value, content_type = "application/json", description = "An xAPI statement or an array of them"),
    responses((status = 200, body = IngestResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 413, body = ErrorBody), (status = 415, body = ErrorBody)),
    security(("bearer" = [])))]
async fn ingest(
    State(s): State<AppState>,
    Caller(ctx): Caller,
    body: Payload,
) -> Result<Json<IngestResponse>, ApiError> {
    body.require_json()?;
    blocking(move || {
        let report = parse_xapi(&body.text, &s.catalog.mapping)?;
        let received = report.accepted.len() + report.rejected.len();
        let parsed_out: BTreeSet<usize> = report.rejected.iter().map(|r| r.index).collect();
        let positions: Vec<usize> = (0..received).filter(|i| !parsed_out.contains(i)).collect();
        let outcome = match s.engine.store() {
            AnyStore::Postgres(_) => {
                let learners: BTreeSet<String> =
                    report.accepted.iter().map(|e| e.learner.as_str().to_owned()).collect();
                with_read_ahead(&ctx, learners.into_iter().collect(), || s.engine.ingest(&ctx, &report.accepted))
            }
            AnyStore::Memory(_) => s.engine.ingest(&ctx, &report.accepted),
        };
        s.dashboards.invalidate(
            ctx.tenant().as_str(),
            report.accepted.iter().filter_map(|e| Some((e.learner.as_str(), e.course.as_ref()?.as_str()))),
        );
        if let AnyStore::Memory(_) = s.engine.store() {
            let touched: BTreeSet<(&str, Option<&str>)> =
                report.accepted.iter().map(|e| (e.learner.as_str(), e.course.as_ref().map(CourseId::as_str))).collect();
            if outcome.new > 0 {
                let mut credentials = s.credentials();
                for (learner, course) in touched {
                    let body = serde_json::json!({"course": course});
                    credentials.queue(ctx.tenant().as_str(), learner, "mastery.changed", body);
                }
            }
            s.deliver_outbox();
        }
        let mut rejected: Vec<RejectedRecord> = report
            .rejected
            .into_iter()
            .map(|r| RejectedRecord { index: r.index, code: r.code, field: r.field, reason: r.reason })
            .chain(outcome.rejected.into_iter().map(|r| RejectedRecord {
                index: positions.get(r.index).copied().unwrap_or(r.index),
                code: r.code,
                field: r.field,
                reason: r.reason,
            }))
            .collect();
        rejected.sort_by_key(|r| r.index);
        Ok(Json(IngestResponse {
            received,
            new: outcome.new,
            duplicates: outcome.duplicates,
            changes: outcome.changes,
            rejected,
        }))
    })
    .await
}

/// A learner's mastery records in a course and what to work on next.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LearnerStates {
    /// `MasteryRecord`s, one per competency.
    pub states: Vec<Value>,
    /// Next competencies (`Recommendation`s), best first.
    pub next: Vec<Value>,
}

fn learner_course_records(
    s: &Service,
    ctx: &AccessContext,
    learner: &UserId,
    course: &CourseId,
) -> Result<Vec<MasteryRecord>, ApiError> {
    // The course must be readable for the caller, also when it holds nothing.
    authorize_learner(ctx, Operation::Read, ctx.tenant(), learner, Some(course))?;
    Ok(s.engine.learner_states(ctx, learner, Some(course))?)
}

fn to_values<T: Serialize>(items: &[T]) -> Vec<Value> {
    items.iter().filter_map(|i| serde_json::to_value(i).ok()).collect()
}

/// A learner's mastery records in a course, and their next competencies.
#[utoipa::path(get, path = "/api/mastery/learners/{learner}/courses/{course}/states", tag = "mastery",
    params(("learner" = String, Path), ("course" = String, Path)),
    responses((status = 200, body = LearnerStates), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
async fn learner_states(
    State(s): State<AppState>,
    Caller(ctx): Caller,
    Path((learner, course)): Path<(String, String)>,
) -> Result<Json<LearnerStates>, ApiError> {
    blocking(move || {
        let (learner, course) = (UserId::new(learner), CourseId::new(course));
        let records = learner_course_records(&s, &ctx, &learner, &course)?;
        let next = frontier(&s.catalog.framework, &s.engine.standings(&records));
        Ok(Json(LearnerStates { states: to_values(&records), next: to_values(&next) }))
    })
    .await
}

/// The learner dashboard's view models.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LearnerDashboard {
    /// `RingChart`: one ring per area of the framework.
    pub rings: Value,
    /// `ProgressView`: each competency's value over time.
    pub progress: Value,
    /// Next competencies.
    pub next: Vec<Value>,
}

/// The learner dashboard of one course: ring chart, progress over time, next competencies.
#[utoipa::path(get, path = "/api/mastery/learners/{learner}/courses/{course}/dashboard", tag = "mastery",
    params(("learner" = String, Path), ("course" = String, Path)),
    responses((status = 200, body = LearnerDashboard), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
async fn learner_dashboard(
    State(s): State<AppState>,
    Caller(ctx): Caller,
    Path((learner, course)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (learner, course) = (UserId::new(learner), CourseId::new(course));
    authorize_learner(&ctx, Operation::Read, ctx.tenant(), &learner, Some(&course))?;
    let tenant = ctx.tenant().as_str().to_owned();
    let generation = match s.dashboards.get(&tenant, learner.as_str(), course.as_str()) {
        Ok(body) => return Ok(json_bytes(body)),
        Err(generation) => generation,
    };
    blocking(move || {
        let records = learner_course_records(&s, &ctx, &learner, &course)?;
        let standings = s.engine.standings(&records);
        let framework = &s.catalog.framework;
        let rings = ring_chart(framework, &standings, None, RingMetric::MeanValue, &s.engine.config().scale)?;
        let histories = s.engine.learner_histories(&ctx, &learner, Some(&course))?;
        let labels: BTreeMap<String, String> = framework
            .items()
            .iter()
            .map(|c| (c.identifier.clone(), c.human_coding_scheme.clone().unwrap_or_default()))
            .collect();
        let progress = progress_over_time(&histories, &labels, TimeWindow::default(), s.engine.config());
        let dashboard = LearnerDashboard {
            rings: serde_json::to_value(rings).unwrap_or_default(),
            progress: serde_json::to_value(progress).unwrap_or_default(),
            next: to_values(&frontier(framework, &standings)),
        };
        let body = Bytes::from(serde_json::to_vec(&dashboard).unwrap_or_default());
        s.dashboards.put(&tenant, learner.as_str(), course.as_str(), generation, body.clone());
        Ok(json_bytes(body))
    })
    .await
}

fn json_bytes(body: Bytes) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// The class dashboard's view models.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ClassDashboard {
    /// Learners in the course.
    pub learners: usize,
    /// `Heatmap`: learners × competencies.
    pub heatmap: Value,
    /// `CompetencySummary` per competency: mean, median, distribution, share mastered.
    pub summaries: Vec<Value>,
}

/// The class dashboard of a course (its instructors, the tenant's admins and services).
#[utoipa::path(get, path = "/api/mastery/courses/{course}/dashboard", tag = "mastery",
    params(("course" = String, Path)),
    responses((status = 200, body = ClassDashboard), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
async fn class_dashboard(
    State(s): State<AppState>,
    Caller(ctx): Caller,
    Path(course): Path<String>,
) -> Result<Json<ClassDashboard>, ApiError> {
    blocking(move || {
        let course = CourseId::new(course);
        let class = s.engine.class_states(&ctx, &course)?;
        let scale = &s.engine.config().scale;
        let top = scale.ratings.first().map_or(1.0, |r| r.points);
        let scores: BTreeMap<String, BTreeMap<String, f64>> = class
            .iter()
            .map(|(l, rs)| (l.clone(), rs.iter().filter_map(|r| Some((r.competency.to_string(), r.score?))).collect()))
            .collect();
        let values: BTreeMap<String, BTreeMap<String, f64>> =
            scores.iter().map(|(l, by)| (l.clone(), by.iter().map(|(c, v)| (c.clone(), v / top)).collect())).collect();
        let framework = &s.catalog.framework;
        let columns: Vec<Label> = s
            .catalog
            .achievements
            .iter()
            .filter_map(|a| a.alignments.first())
            .filter_map(|(_, code)| framework.find_by_code(code))
            .map(|c| Label { id: c.identifier.clone(), label: c.human_coding_scheme.clone().unwrap_or_default() })
            .collect();
        Ok(Json(ClassDashboard {
            learners: class.len(),
            heatmap: serde_json::to_value(class_heatmap(&values, &columns, scale)).unwrap_or_default(),
            summaries: to_values(&class_summary(&scores, scale, None)),
        }))
    })
    .await
}

/// Optional course of a gallery view (an instructor sees the awards earned in their course).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct GalleryParams {
    pub course: Option<String>,
}

/// A learner's badge gallery: earned, in progress (how far), expired, revoked.
#[utoipa::path(get, path = "/api/credentials/learners/{learner}/badges", tag = "credentials",
    params(("learner" = String, Path), GalleryParams),
    responses((status = 200, body = Vec<Value>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
async fn gallery(
    State(s): State<AppState>,
    Caller(ctx): Caller,
    Path(learner): Path<String>,
    Query(params): Query<GalleryParams>,
) -> Result<Json<Vec<Value>>, ApiError> {
    blocking(move || {
        let learner = UserId::new(learner);
        let course = params.course.map(CourseId::new);
        if let Some(course) = &course {
            authorize_learner(&ctx, Operation::Read, ctx.tenant(), &learner, Some(course))?;
        }
        let states = s.engine.store().learner_states(&ctx, &learner, "mastery")?;
        let mut facts = LearnerFacts::default();
        for (key, _) in states.iter().filter(|(k, _)| course.is_none() || k.course == course) {
            if let Some(record) = s.engine.mastery(&ctx, &learner, key.course.as_ref(), &key.name)? {
                if let Some(score) = record.score {
                    facts.scores.insert(key.name.to_string(), score);
                }
                if record.mastered {
                    facts.mastered.insert(key.name.to_string());
                }
            }
        }
        let query = GalleryQuery { learner, course, now: now() };
        let items = match s.engine.store() {
            AnyStore::Postgres(pg) => {
                // The durable awards as the core's ledger (plain data).
                let awards: serde_json::Map<String, Value> = pg
                    .awards_of(&ctx, query.learner.as_str())?
                    .into_iter()
                    .map(|a| (a.credential_id.clone(), serde_json::to_value(a).unwrap_or_default()))
                    .collect();
                let ledger: CredentialLedger =
                    serde_json::from_value(serde_json::json!({"awards": awards, "outbox": {}, "next_notification": 0}))
                        .map_err(|_| ApiError::internal("a stored award is unreadable"))?;
                badge_gallery(&ctx, &ledger, &query, &facts, &s.catalog.achievements, Some(&s.catalog.framework))?
            }
            AnyStore::Memory(_) => s.issuer.with_ledger(|ledger| {
                badge_gallery(&ctx, ledger, &query, &facts, &s.catalog.achievements, Some(&s.catalog.framework))
            })?,
        };
        Ok(Json(to_values(&items)))
    })
    .await
}

/// One credential as OB 3.0 JSON with a Data Integrity proof (`eddsa-rdfc-2022`, issuer did:web).
#[utoipa::path(get, path = "/api/credentials/{id}", tag = "credentials",
    params(("id" = String, Path, description = "The credential id (urn:uuid:…)")),
    responses((status = 200, body = Value), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn credential_json(
    State(s): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    blocking(move || {
        let award = s.visible_award(&ctx, &id)?;
        Ok(Json(s.credential(&id, &award, false)?))
    })
    .await
}

/// One credential as a VC-JWT (EdDSA; issuer the did:key of the did:web's key).
#[utoipa::path(get, path = "/api/credentials/{id}/jwt", tag = "credentials",
    params(("id" = String, Path)),
    responses((status = 200, body = String, content_type = "application/jwt"), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn credential_jwt(
    State(s): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    blocking(move || {
        let award = s.visible_award(&ctx, &id)?;
        let jwt = s.credential(&id, &award, true)?;
        let text = jwt.as_str().unwrap_or_default().to_owned();
        Ok(([(header::CONTENT_TYPE, "application/jwt")], text).into_response())
    })
    .await
}

/// Verifies a posted credential (JSON with embedded proofs, or a compact VC-JWT): signature,
/// shape, validity window, revocation status (this issuer's lists) and issuer.
#[utoipa::path(post, path = "/api/credentials/verify", tag = "credentials",
    request_body(content = String, description = "A credential as JSON (application/json) or a VC-JWT (application/jwt)"),
    responses((status = 200, body = Value, description = "`Verification`: valid, and every check"),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 413, body = ErrorBody),
              (status = 415, body = ErrorBody)),
    security(("bearer" = [])))]
async fn verify(State(s): State<AppState>, Caller(_ctx): Caller, body: Payload) -> Result<Json<Value>, ApiError> {
    blocking(move || {
        let at = now();
        let mut options = VerifyOptions::at(at);
        options.keys = keys_from_document(&s.did_document()?)?;
        for form in ["web", "key"] {
            options.status_lists.insert(s.status_url(form), s.status_list(form, at)?);
        }
        let verification = verify_credential(&body.text, &options)?;
        Ok(Json(serde_json::to_value(verification).unwrap_or_default()))
    })
    .await
}

/// Why a credential is revoked.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RevokeRequest {
    pub reason: String,
}

/// Revokes a credential (the tenant's admins): its status bit is set in both status lists.
#[utoipa::path(post, path = "/api/credentials/{id}/revoke", tag = "credentials",
    params(("id" = String, Path)), request_body = RevokeRequest,
    responses((status = 200, body = Value), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 413, body = ErrorBody),
              (status = 415, body = ErrorBody)),
    security(("bearer" = [])))]
async fn revoke(
    State(s): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
    body: Payload,
) -> Result<Json<Value>, ApiError> {
    body.require_json()?;
    let request: RevokeRequest = serde_json::from_str(&body.text).map_err(|e| {
        // Never serde's message: it may quote a value.
        let reason = format!("not a revocation request (line {}, column {})", e.line(), e.column());
        ApiError::from(MasteryError::Parse { format: "revocation request", reason })
    })?;
    if !ctx.principal.roles.contains(&Role::Admin) {
        return Err(MasteryError::AccessDenied { action: "revoke credentials".into() }.into());
    }
    blocking(move || {
        let award = s.visible_award(&ctx, &id)?;
        let changed = match s.engine.store() {
            AnyStore::Postgres(pg) => {
                let full = Award {
                    tenant: award.tenant.clone(),
                    learner: award.learner.clone(),
                    course: award.course.clone(),
                    achievement: award.achievement.clone(),
                    version: award.version,
                    credential_id: award.credential_id.clone(),
                    awarded_at: award.awarded_at,
                    revoked: None,
                };
                pg.revoke_award(&ctx, &full, award.status_index, &request.reason)?
            }
            AnyStore::Memory(_) => {
                let changed = s.issuer.with_ledger(|l| {
                    l.revoke(&award.tenant, &award.learner, &award.achievement, award.version, &request.reason)
                })?;
                let mut credentials = s.credentials();
                credentials.revoked.insert(award.status_index);
                if changed {
                    let body = serde_json::json!({"credential_id": id, "achievement": award.achievement,
                                                  "version": award.version, "course": award.course});
                    credentials.queue(award.tenant.as_str(), &award.learner, "credential.revoked", body);
                }
                changed
            }
        };
        Ok(Json(serde_json::json!({"id": id, "revoked": true, "changed": changed})))
    })
    .await
}

/// The issuer's status list: `web` (Data Integrity, did:web) or `key` (VC-JWT, did:key). Public.
#[utoipa::path(get, path = "/api/credentials/status/{form}", tag = "credentials",
    params(("form" = String, Path, description = "`web` or `key`")),
    responses((status = 200, body = Value), (status = 404, body = ErrorBody)))]
async fn status_list(State(s): State<AppState>, Path(form): Path<String>) -> Result<Response, ApiError> {
    blocking(move || match s.status_list(&form, now())? {
        Value::String(jwt) => Ok(([(header::CONTENT_TYPE, "application/jwt")], jwt).into_response()),
        doc => Ok(Json(doc).into_response()),
    })
    .await
}

/// The issuer's did:web DID document. Public.
#[utoipa::path(get, path = "/.well-known/did.json", tag = "credentials", responses((status = 200, body = Value)))]
async fn did_json(State(s): State<AppState>) -> Result<Json<Value>, ApiError> {
    Ok(Json(s.did_document()?))
}

/// The at-risk list of a course.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RiskResponse {
    /// The version of the model that scored the list (logged with every prediction).
    pub model: Option<String>,
    /// `Alert`s (learner, band, score, reasons in words), highest score first.
    pub alerts: Vec<Value>,
}

/// An instructor's at-risk list: every learner with evidence in the course is scored on activity
/// features built from that evidence up to now, placed in a band (with hysteresis against their
/// last band) and given at most three reasons in words; protected attributes are never a reason.
/// Every prediction is logged with the model version. The course's instructors, the tenant's
/// admins and services.
#[utoipa::path(get, path = "/api/risk/courses/{course}/alerts", tag = "risk",
    params(("course" = String, Path)),
    responses((status = 200, body = RiskResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
async fn risk_alerts(
    State(s): State<AppState>,
    Caller(ctx): Caller,
    Path(course): Path<String>,
) -> Result<Json<RiskResponse>, ApiError> {
    let course = CourseId::new(course);
    authorize_course(&ctx, Operation::Read, ctx.tenant(), &course)?;
    blocking(move || {
        let evidence = s.engine.store().course_evidence(&ctx, &course)?;
        let (start, activities) = crate::risk::activities(&evidence);
        let at = now();
        let cutoff = start.map_or(0.0, |start| (at - start).num_seconds() as f64 / 86_400.0);
        let rows = crate::risk::features(&activities, cutoff);
        let tenant = ctx.tenant().as_str().to_owned();
        let key = |learner: &str| (tenant.clone(), course.as_str().to_owned(), learner.to_owned());
        let previous: BTreeMap<String, String> = {
            let bands = s.bands.lock().unwrap_or_else(|p| p.into_inner());
            rows.iter().filter_map(|(l, _)| Some((l.clone(), bands.get(&key(l))?.clone()))).collect()
        };
        let state = s.risk.state.read().unwrap_or_else(|p| p.into_inner());
        let version = state.model.model_version.clone();
        let mut log: Vec<PredictionRecord> = Vec::new();
        let alerts = mastery_core::risk::risk_alerts(
            &state.model,
            &version,
            &rows,
            &RiskBands::default(),
            &previous,
            3,
            &at.to_rfc3339(),
            Some(&mut log),
        )?;
        drop(state);
        {
            let mut bands = s.bands.lock().unwrap_or_else(|p| p.into_inner());
            for p in &log {
                match &p.band {
                    Some(band) => bands.insert(key(&p.learner), band.clone()),
                    None => bands.remove(&key(&p.learner)),
                };
            }
        }
        if let AnyStore::Postgres(pg) = s.engine.store() {
            pg.log_predictions(&ctx, course.as_str(), &log)?;
        }
        Ok(Json(RiskResponse { model: Some(version), alerts: to_values(&alerts) }))
    })
    .await
}

impl Service {
    /// The retraining job's step: labels every course of `tenants` (as each tenant's service) and
    /// lets the core's `RetrainPolicy` decide whether to retrain on them.
    pub fn retrain(&self, tenants: &[String]) -> Result<RetrainDecision, MasteryError> {
        let mut table = crate::risk::Table::default();
        for tenant in tenants {
            let ctx = AccessContext::new(Principal::service(tenant.as_str(), "retraining-job"));
            for course in crate::catalog::COURSES {
                let labelled =
                    crate::risk::labelled(&self.engine.store().course_evidence(&ctx, &CourseId::new(course))?);
                table.rows.extend(labelled.rows);
                table.labels.extend(labelled.labels);
            }
        }
        self.risk.retrain(&table)
    }
}

/// How long a stream stays open, and how often it looks for new events.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct StreamParams {
    /// Seconds before the server ends the stream (the browser's `EventSource` reconnects);
    /// 1..=3600, default 300.
    pub timeout: Option<u64>,
}

/// How often a stream polls the outbox.
const EVENT_POLL: std::time::Duration = std::time::Duration::from_millis(250);

impl Service {
    /// Takes the learner's undelivered events (each is taken by one stream only).
    fn drain_events(&self, ctx: &AccessContext, learner: &UserId) -> Result<Vec<Event>, ApiError> {
        match self.engine.store() {
            AnyStore::Postgres(pg) => Ok(pg.drain_events(ctx, learner.as_str(), 100)?),
            AnyStore::Memory(_) => {
                let key = (ctx.tenant().as_str().to_owned(), learner.as_str().to_owned());
                Ok(self.credentials().events.remove(&key).map(Vec::from).unwrap_or_default())
            }
        }
    }
}

/// A learner's event stream (server-sent events): `mastery.changed` (refresh the dashboard of
/// `course`), `credential.awarded` and `credential.revoked`, each drained from the outbox once.
/// The learner themself, the tenant's admins and services.
#[utoipa::path(get, path = "/api/events/learners/{learner}", tag = "events",
    params(("learner" = String, Path), StreamParams),
    responses((status = 200, body = String, content_type = "text/event-stream",
               description = "`event: <kind>`, `id: <outbox id>`, `data: <JSON>`"),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
async fn events(
    State(s): State<AppState>,
    Caller(ctx): Caller,
    Path(learner): Path<String>,
    Query(params): Query<BTreeMap<String, String>>,
) -> Result<Response, ApiError> {
    let learner = UserId::new(learner);
    authorize_learner(&ctx, Operation::Read, ctx.tenant(), &learner, None)?;
    // Parsed here, so a bad value is the library's error, not the extractor's text.
    let seconds = params.get("timeout").map_or(Some(300), |t| t.parse::<u64>().ok()).unwrap_or(0);
    if !(1..=3600).contains(&seconds) {
        return Err(
            MasteryError::InvalidInput { field: "timeout".into(), reason: "must be 1..=3600 seconds".into() }.into()
        );
    }
    let until = tokio::time::Instant::now() + std::time::Duration::from_secs(seconds);
    let state = (s, ctx, learner, std::collections::VecDeque::<Event>::new());
    let stream = futures_util::stream::unfold(state, move |(s, ctx, learner, mut queue)| async move {
        loop {
            if let Some(e) = queue.pop_front() {
                let sse = axum::response::sse::Event::default()
                    .event(e.kind.clone())
                    .id(e.id.to_string())
                    .data(e.body.to_string());
                return Some((Ok::<_, std::convert::Infallible>(sse), (s, ctx, learner, queue)));
            }
            if tokio::time::Instant::now() >= until {
                return None;
            }
            let (s2, ctx2, learner2) = (s.clone(), ctx.clone(), learner.clone());
            match blocking(move || s2.drain_events(&ctx2, &learner2)).await {
                Ok(events) if !events.is_empty() => queue.extend(events),
                Ok(_) => tokio::time::sleep_until(until.min(tokio::time::Instant::now() + EVENT_POLL)).await,
                // The store is unavailable: end the stream; the client reconnects.
                Err(_) => return None,
            }
        }
    });
    Ok(axum::response::sse::Sse::new(stream).keep_alive(axum::response::sse::KeepAlive::default()).into_response())
}

static OPENAPI: OnceLock<String> = OnceLock::new();

/// This document. Public.
#[utoipa::path(get, path = "/api/openapi.json", tag = "meta", responses((status = 200, body = Value)))]
async fn openapi_json() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI.get().cloned().unwrap_or_default()).into_response()
}

#[derive(OpenApi)]
#[openapi(
    info(title = "mastery reference LMS service", description = "Mastery, credentials and risk over the mastery core."),
    modifiers(&BearerAuth)
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build()),
        );
    }
}

/// The routes and the OpenAPI document generated from them.
pub fn api() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(ingest))
        .routes(routes!(learner_states))
        .routes(routes!(learner_dashboard))
        .routes(routes!(class_dashboard))
        .routes(routes!(gallery))
        .routes(routes!(verify))
        .routes(routes!(status_list))
        .routes(routes!(credential_json))
        .routes(routes!(credential_jwt))
        .routes(routes!(revoke))
        .routes(routes!(did_json))
        .routes(routes!(risk_alerts))
        .routes(routes!(events))
        .routes(routes!(openapi_json))
        .split_for_parts()
}

/// The whole service as a router.
pub fn router(state: AppState) -> Router {
    let (routes, doc) = api();
    let _ = OPENAPI.set(doc.to_json().unwrap_or_default());
    routes
        .fallback(|| async { ApiError::not_found("route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "invalid_input", "method not allowed")
        })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state)
}
