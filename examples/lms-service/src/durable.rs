//! Durable credentials, the outbox and the logs on PostgreSQL (`migrations/0002_events.sql`).
//!
//! Awards are decided inside the ingest's own transaction: [`PgStore`] evaluates the achievement
//! rules on the mastery records the batch writes and inserts each award with `ON CONFLICT DO
//! NOTHING` on (tenant, learner, achievement, version); only an award that was new gets an outbox
//! row. Evidence, states, awards, outbox rows and the mastery log commit together or not at all,
//! so a crash can neither lose an award of committed evidence nor announce one twice.
#![warn(missing_docs)]

use std::collections::BTreeMap;

use mastery_core::access::{authorize_learner, AccessContext, Operation};
use mastery_core::credential::{Achievement, Award, AwardScope, CredentialLedger, LearnerFacts};
use mastery_core::risk::PredictionRecord;
use mastery_core::store::{StateKey, StateValue};
use mastery_core::{CourseId, Framework, MasteryError};
use postgres::Transaction;
use serde_json::{json, Value};

use crate::pg::{db_error, PgStore};

type Result<T> = std::result::Result<T, MasteryError>;

/// What the store awards, and the version of the rules logged with each mastery change.
#[derive(Debug, Clone)]
pub struct AwardRules {
    /// The achievements awarded.
    pub achievements: Vec<Achievement>,
    /// The framework their rules name.
    pub framework: Option<Framework>,
    /// Logged with every mastery state written (e.g. `mastery-core 0.1.0 / decaying-average`).
    pub model_version: String,
}

/// One outbox notification for a learner's event stream.
#[derive(Debug, Clone)]
pub struct Event {
    /// The outbox id (the SSE `id`).
    pub id: i64,
    /// `mastery.changed`, `credential.awarded` or `credential.revoked`.
    pub kind: String,
    /// The event's data.
    pub body: Value,
}

/// The mastery log's columns, as `unnest` takes them.
#[derive(Default)]
struct LogColumns<'a>(
    Vec<&'a str>,
    Vec<Option<&'a str>>,
    Vec<&'a str>,
    Vec<Option<f64>>,
    Vec<Option<f64>>,
    Vec<bool>,
    Vec<i32>,
);

/// Logs the batch's mastery states, awards what their records now earn, and queues the
/// notifications: in the ingest's transaction `tx`.
pub(crate) fn after_apply(
    tx: &mut Transaction<'_>,
    ctx: &AccessContext,
    rules: &AwardRules,
    states: &[(StateKey, StateValue)],
) -> Result<()> {
    let tenant = ctx.tenant().as_str();
    let mut log = LogColumns::default();
    let mut facts: BTreeMap<(&str, Option<&str>), LearnerFacts> = BTreeMap::new();
    for (key, value) in states {
        let StateValue::Mastery(record) = value else { continue };
        let course = key.course.as_ref().map(CourseId::as_str);
        log.0.push(key.learner.as_str());
        log.1.push(course);
        log.2.push(key.name.as_str());
        log.3.push(record.score);
        log.4.push(record.knowledge.map(|k| k.p_known));
        log.5.push(record.mastered);
        log.6.push(i32::try_from(record.evidence_count()).unwrap_or(i32::MAX));
        let f = facts.entry((key.learner.as_str(), course)).or_default();
        if let Some(score) = record.score {
            f.scores.insert(key.name.to_string(), score);
        }
        if record.mastered {
            f.mastered.insert(key.name.to_string());
        }
        f.evidence.insert(key.name.to_string(), record.evidence_count());
    }
    if log.0.is_empty() {
        return Ok(());
    }
    tx.execute(
        "INSERT INTO mastery_log (tenant, learner, course, competency, score, p_known, mastered, evidence_count, \
         model_version) SELECT $1, *, $9 FROM unnest($2::text[], $3::text[], $4::text[], $5::float8[], \
         $6::float8[], $7::bool[], $8::int4[])",
        &[&tenant, &log.0, &log.1, &log.2, &log.3, &log.4, &log.5, &log.6, &rules.model_version],
    )
    .map_err(|e| db_error(&e))?;
    // Candidate awards: every rule that holds on the records this batch wrote.
    let at = chrono::Utc::now().fixed_offset();
    let mut awards: Vec<Award> = Vec::new();
    for ((learner, course), f) in &facts {
        let scope = AwardScope::new(ctx.tenant().clone(), *learner, course.map(CourseId::new));
        let mut ledger = CredentialLedger::new();
        awards.extend(ledger.evaluate(&scope, f, &rules.achievements, rules.framework.as_ref(), None, at));
    }
    // Dashboards to refresh: one event per learner × course.
    let mut kinds = Vec::new();
    let mut bodies = Vec::new();
    let mut learners = Vec::new();
    let mut courses = Vec::new();
    for (learner, course) in facts.keys() {
        learners.push(learner.to_string());
        courses.push(course.map(str::to_owned));
        kinds.push("mastery.changed".to_owned());
        bodies.push(json!({"course": course}));
    }
    if !awards.is_empty() {
        let rows = tx
            .query(
                "INSERT INTO award (tenant, learner, course, achievement, version, credential_id, awarded_at) \
                 SELECT $1, l, c, a, v, i, $7::text::timestamptz FROM unnest($2::text[], $3::text[], $4::text[], \
                 $5::int4[], $6::text[]) AS u(l, c, a, v, i) \
                 ON CONFLICT ON CONSTRAINT award_key DO NOTHING RETURNING credential_id",
                &[
                    &tenant,
                    &awards.iter().map(|a| a.learner.as_str()).collect::<Vec<_>>(),
                    &awards.iter().map(|a| a.course.as_ref().map(CourseId::as_str)).collect::<Vec<_>>(),
                    &awards.iter().map(|a| a.achievement.as_str()).collect::<Vec<_>>(),
                    &awards.iter().map(|a| i32::try_from(a.version).unwrap_or(i32::MAX)).collect::<Vec<_>>(),
                    &awards.iter().map(|a| a.credential_id.as_str()).collect::<Vec<_>>(),
                    &at.to_rfc3339(),
                ],
            )
            .map_err(|e| db_error(&e))?;
        for row in rows {
            let id: String = row.get(0);
            let Some(a) = awards.iter().find(|a| a.credential_id == id) else { continue };
            learners.push(a.learner.clone());
            courses.push(a.course.as_ref().map(|c| c.as_str().to_owned()));
            kinds.push("credential.awarded".to_owned());
            bodies.push(json!({"credential_id": a.credential_id, "achievement": a.achievement, "version": a.version,
                               "course": a.course}));
        }
    }
    insert_events(tx, tenant, &learners, &courses, &kinds, &bodies)
}

fn insert_events(
    tx: &mut Transaction<'_>,
    tenant: &str,
    learners: &[String],
    courses: &[Option<String>],
    kinds: &[String],
    bodies: &[Value],
) -> Result<()> {
    tx.execute(
        "INSERT INTO outbox (tenant, learner, course, kind, body) \
         SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::jsonb[])",
        &[&tenant, &learners, &courses, &kinds, &bodies],
    )
    .map_err(|e| db_error(&e))?;
    Ok(())
}

fn award_row(row: &postgres::Row) -> Result<(Award, u64)> {
    let at: String = row.get(6);
    let award = Award {
        tenant: row.get::<_, String>(0).as_str().into(),
        learner: row.get(1),
        course: row.get::<_, Option<String>>(2).map(CourseId::new),
        achievement: row.get(3),
        version: u32::try_from(row.get::<_, i32>(4)).unwrap_or(0),
        credential_id: row.get(5),
        awarded_at: mastery_core::time::parse_instant(&at, "awarded_at")?,
        revoked: row.get(7),
    };
    Ok((award, u64::try_from(row.get::<_, i64>(8)).unwrap_or(0)))
}

const AWARD_COLUMNS: &str = "tenant, learner, course, achievement, version, credential_id, \
     to_json(awarded_at) #>> '{}', revoked, status_index";

impl PgStore {
    /// A learner's awards the caller may see (RLS filters; the caller's read right is checked).
    pub fn awards_of(&self, ctx: &AccessContext, learner: &str) -> Result<Vec<Award>> {
        let tenant = ctx.tenant().as_str().to_owned();
        let learner = learner.to_owned();
        self.read_tx(ctx, move |tx| {
            tx.query(
                &format!("SELECT {AWARD_COLUMNS} FROM award WHERE tenant = $1 AND learner = $2 ORDER BY status_index"),
                &[&tenant, &learner],
            )
            .map_err(|e| db_error(&e))?
            .iter()
            .map(|r| award_row(r).map(|(a, _)| a))
            .collect()
        })
    }

    /// The award of a credential id and its status index, if the caller may see it.
    pub fn award_by_id(&self, ctx: &AccessContext, id: &str) -> Result<Option<(Award, u64)>> {
        let tenant = ctx.tenant().as_str().to_owned();
        let found = self.read_tx(ctx, |tx| {
            tx.query_opt(
                &format!("SELECT {AWARD_COLUMNS} FROM award WHERE tenant = $1 AND credential_id = $2"),
                &[&tenant, &id],
            )
            .map_err(|e| db_error(&e))?
            .map(|r| award_row(&r))
            .transpose()
        })?;
        // The policy in code too: RLS is the second wall.
        Ok(found.filter(|(a, _)| {
            authorize_learner(ctx, Operation::Read, ctx.tenant(), &a.learner.as_str().into(), a.course.as_ref()).is_ok()
        }))
    }

    /// Revokes an award (tenant admins): sets the reason, publishes its status bit and queues a
    /// notification, in one transaction. `false` when it was already revoked.
    pub fn revoke_award(&self, ctx: &AccessContext, award: &Award, index: u64, reason: &str) -> Result<bool> {
        let tenant = ctx.tenant().as_str().to_owned();
        self.write_tx(ctx, |tx| {
            let changed = tx
                .execute(
                    "UPDATE award SET revoked = $3 WHERE tenant = $1 AND credential_id = $2 AND revoked IS NULL",
                    &[&tenant, &award.credential_id, &reason],
                )
                .map_err(|e| db_error(&e))?;
            if changed == 0 {
                return Ok(false);
            }
            let index = i64::try_from(index).unwrap_or(i64::MAX);
            tx.execute(
                "INSERT INTO revocation (tenant, status_index) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[&tenant, &index],
            )
            .map_err(|e| db_error(&e))?;
            let body = json!({"credential_id": award.credential_id, "achievement": award.achievement,
                              "version": award.version, "course": award.course});
            insert_events(
                tx,
                &tenant,
                std::slice::from_ref(&award.learner),
                &[award.course.as_ref().map(|c| c.as_str().to_owned())],
                &["credential.revoked".to_owned()],
                &[body],
            )?;
            Ok(true)
        })
    }

    /// Every revoked status index (public: the status lists publish them).
    pub fn revoked_indexes(&self) -> Result<Vec<u64>> {
        let nobody = AccessContext::new(mastery_core::access::Principal::learner("", ""));
        self.read_tx(&nobody, |tx| {
            Ok(tx
                .query("SELECT status_index FROM revocation", &[])
                .map_err(|e| db_error(&e))?
                .iter()
                .map(|r| u64::try_from(r.get::<_, i64>(0)).unwrap_or(0))
                .collect())
        })
    }

    /// Takes up to `max` undelivered events of `learner`, oldest first, and marks them delivered
    /// in the same transaction: concurrent streams skip rows another holds, so each is taken once.
    pub fn drain_events(&self, ctx: &AccessContext, learner: &str, max: i64) -> Result<Vec<Event>> {
        let tenant = ctx.tenant().as_str().to_owned();
        self.write_tx(ctx, |tx| {
            let rows = tx
                .query(
                    "UPDATE outbox SET delivered_at = now() WHERE (tenant, id) IN (SELECT tenant, id FROM outbox \
                     WHERE tenant = $1 AND learner = $2 AND delivered_at IS NULL ORDER BY id LIMIT $3 \
                     FOR UPDATE SKIP LOCKED) RETURNING id, kind, body",
                    &[&tenant, &learner, &max],
                )
                .map_err(|e| db_error(&e))?;
            let mut events: Vec<Event> =
                rows.iter().map(|r| Event { id: r.get(0), kind: r.get(1), body: r.get(2) }).collect();
            events.sort_by_key(|e| e.id);
            Ok(events)
        })
    }

    /// Logs served predictions of a course, each with its model version.
    pub fn log_predictions(&self, ctx: &AccessContext, course: &str, rows: &[PredictionRecord]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let tenant = ctx.tenant().as_str().to_owned();
        // NaN (a missing feature) is not JSON: logged as null.
        let features: Vec<Value> = rows
            .iter()
            .map(|r| {
                Value::Array(
                    r.features
                        .iter()
                        .map(|v| serde_json::Number::from_f64(*v).map_or(Value::Null, Value::Number))
                        .collect(),
                )
            })
            .collect();
        let reasons: Vec<Value> = rows.iter().map(|r| json!(r.reasons)).collect();
        let learners: Vec<&str> = rows.iter().map(|r| r.learner.as_str()).collect();
        let versions: Vec<&str> = rows.iter().map(|r| r.model_version.as_str()).collect();
        let scores: Vec<f64> = rows.iter().map(|r| r.score).collect();
        let bands: Vec<Option<&str>> = rows.iter().map(|r| r.band.as_deref()).collect();
        self.write_tx(ctx, |tx| {
            tx.execute(
                "INSERT INTO prediction_log (tenant, learner, course, model_version, features, score, band, reasons) \
                 SELECT $1, l, $2, m, f, s, b, r FROM unnest($3::text[], $4::text[], $5::jsonb[], $6::float8[], \
                 $7::text[], $8::jsonb[]) AS u(l, m, f, s, b, r)",
                &[&tenant, &course, &learners, &versions, &features, &scores, &bands, &reasons],
            )
            .map_err(|e| db_error(&e))?;
            Ok(())
        })
    }
}
