//! A [`Store`] over PostgreSQL with row-level security, on the blocking `postgres` driver and an
//! r2d2 pool.
//!
//! Every call is one transaction that first sets the caller's identity from the
//! [`AccessContext`] (`set_config('mastery.tenant', …, true)` and friends, local to the
//! transaction), so the policies of `migrations/0001_schema.sql` filter every row the service
//! reads or writes. The store *also* runs the core's policy in code before it queries: the
//! conformance suite (and every caller) expects a refusal to be an `access_denied` error, while RLS
//! can only hide rows (an empty success) or fail an insert. So the code decides "refused or not"
//! and gives the library's error; RLS is the second wall that holds even if that code is wrong
//! (the `rls_alone` test runs raw SQL as the app role with the code's checks out of the way).
//!
//! The driver blocks: call this store from a thread that may block (`tokio::task::spawn_blocking`),
//! never from inside an async task.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use mastery_core::access::{authorize_course, authorize_learner, AccessContext, Operation, Role};
use mastery_core::store::{Appended, StateKey, StateValue, Store};
use mastery_core::{CourseId, Evidence, MasteryError, UserId};
use postgres::error::SqlState;
use postgres::{NoTls, Transaction};
use r2d2_postgres::PostgresConnectionManager;
use serde_json::Value;

use crate::durable::AwardRules;

type Result<T> = std::result::Result<T, MasteryError>;
type Pool = r2d2::Pool<PostgresConnectionManager<NoTls>>;

/// The SQL migrations, in order, applied by [`migrate`] as the owner role.
pub const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_schema", include_str!("../migrations/0001_schema.sql")),
    ("0002_events", include_str!("../migrations/0002_events.sql")),
];

/// The row-level-security store.
#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    /// Awards decided in the ingest's transaction, and the mastery log (none: neither).
    rules: Option<std::sync::Arc<AwardRules>>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.pool.state();
        f.debug_struct("PgStore").field("connections", &state.connections).finish_non_exhaustive()
    }
}

/// A database failure in library terms; never the driver's message (it may quote a value).
pub(crate) fn db_error(e: &postgres::Error) -> MasteryError {
    match e.code() {
        Some(code) if *code == SqlState::INSUFFICIENT_PRIVILEGE => {
            MasteryError::AccessDenied { action: "write (refused by row-level security)".into() }
        }
        Some(code) => MasteryError::Store { reason: format!("database error {}", code.code()) },
        None => MasteryError::Store { reason: "database unavailable".into() },
    }
}

fn pool_error(_: r2d2::Error) -> MasteryError {
    MasteryError::Store { reason: "no database connection available".into() }
}

fn decode<T: serde::de::DeserializeOwned>(value: Value) -> Result<T> {
    serde_json::from_value(value).map_err(|_| MasteryError::Store { reason: "a stored record is unreadable".into() })
}

fn encode<T: serde::Serialize>(value: &T) -> Result<Value> {
    serde_json::to_value(value).map_err(|_| MasteryError::Store { reason: "a record cannot be encoded".into() })
}

/// The identity settings of `ctx`: tenant, user, roles, taught courses, enrolled courses.
pub fn identity(ctx: &AccessContext) -> [String; 5] {
    let p = &ctx.principal;
    let mut roles = Vec::new();
    let mut taught: Vec<&str> = Vec::new();
    for role in &p.roles {
        match role {
            Role::Learner => roles.push("learner"),
            Role::Admin => roles.push("admin"),
            Role::Service => roles.push("service"),
            Role::Instructor { courses } => {
                roles.push("instructor");
                taught.extend(courses.iter().map(CourseId::as_str));
            }
        }
    }
    let enrolled: Vec<&str> = p.enrolled.iter().map(CourseId::as_str).collect();
    [
        p.tenant.as_str().to_owned(),
        p.user.as_str().to_owned(),
        roles.join(","),
        serde_json::to_string(&taught).unwrap_or_else(|_| "[]".into()),
        serde_json::to_string(&enrolled).unwrap_or_else(|_| "[]".into()),
    ]
}

/// Sets the caller's identity for the rest of the transaction.
pub fn set_identity(tx: &mut Transaction<'_>, ctx: &AccessContext) -> std::result::Result<(), postgres::Error> {
    let [tenant, user, roles, courses, enrolled] = identity(ctx);
    tx.execute(
        "SELECT set_config('mastery.tenant', $1, true), set_config('mastery.user', $2, true), \
         set_config('mastery.roles', $3, true), set_config('mastery.courses', $4, true), \
         set_config('mastery.enrolled', $5, true)",
        &[&tenant, &user, &roles, &courses, &enrolled],
    )?;
    Ok(())
}

/// Applies the migrations not applied yet, each in its own transaction, under an advisory lock
/// (several service instances may start at once). Connect as the owner role.
pub fn migrate(client: &mut postgres::Client) -> Result<()> {
    let run = |client: &mut postgres::Client| -> std::result::Result<(), postgres::Error> {
        client.batch_execute(
            "SELECT pg_advisory_lock(7262); \
             CREATE TABLE IF NOT EXISTS schema_migrations (version text PRIMARY KEY, \
             applied_at timestamptz NOT NULL DEFAULT now())",
        )?;
        for (version, sql) in MIGRATIONS {
            let mut tx = client.transaction()?;
            if tx.query_opt("SELECT 1 FROM schema_migrations WHERE version = $1", &[version])?.is_none() {
                tx.batch_execute(sql)?;
                tx.execute("INSERT INTO schema_migrations (version) VALUES ($1)", &[version])?;
            }
            tx.commit()?;
        }
        client.batch_execute("SELECT pg_advisory_unlock(7262)")
    };
    run(client).map_err(|e| db_error(&e))
}

/// Evidence and state rows as the statements take them.
struct EvidenceRows {
    learners: Vec<String>,
    courses: Vec<Option<String>>,
    ids: Vec<String>,
    bodies: Vec<Value>,
}

impl EvidenceRows {
    fn new(evidence: &[&Evidence]) -> Result<Self> {
        Ok(Self {
            learners: evidence.iter().map(|e| e.learner.as_str().to_owned()).collect(),
            courses: evidence.iter().map(|e| e.course.as_ref().map(|c| c.as_str().to_owned())).collect(),
            ids: evidence.iter().map(|e| e.id.as_str().to_owned()).collect(),
            bodies: evidence.iter().map(|e| encode(*e)).collect::<Result<_>>()?,
        })
    }
}

const INSERT_EVIDENCE: &str = "INSERT INTO evidence (tenant, learner, course, id, body) \
     SELECT $1, l, c, i, b FROM unnest($2::text[], $3::text[], $4::text[], $5::jsonb[]) \
     WITH ORDINALITY AS u(l, c, i, b, n) ORDER BY n \
     ON CONFLICT ON CONSTRAINT evidence_key DO NOTHING RETURNING learner, id";

const UPSERT_STATES: &str = "INSERT INTO state (tenant, learner, course, namespace, name, value) \
     SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::jsonb[]) \
     ON CONFLICT ON CONSTRAINT state_key DO UPDATE SET value = EXCLUDED.value";

fn state_row(row: &postgres::Row) -> Result<(StateKey, StateValue)> {
    let key = StateKey {
        learner: UserId::new(row.get::<_, String>(0)),
        course: row.get::<_, Option<String>>(1).map(CourseId::new),
        namespace: row.get::<_, &str>(2).into(),
        name: row.get::<_, &str>(3).into(),
    };
    Ok((key, decode(row.get(4))?))
}

/// States read ahead for one ingest on this thread: the batch's learners, and (after the first
/// read) every state of theirs the caller may see, in one query instead of one per key.
struct ReadAhead {
    caller: [String; 5],
    learners: Vec<String>,
    /// The namespace read, and its states.
    states: Option<(String, HashMap<StateKey, Value>)>,
}

thread_local! {
    static READ_AHEAD: RefCell<Option<ReadAhead>> = const { RefCell::new(None) };
}

/// Runs `f` (one engine ingest, on this thread) with the states of `learners` read in one query
/// at its first `get_state`. That read happens inside the engine's per-learner locks, so it sees
/// what a read per key would; the read-ahead ends with `f`.
pub fn with_read_ahead<T>(ctx: &AccessContext, learners: Vec<String>, f: impl FnOnce() -> T) -> T {
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            READ_AHEAD.with(|r| r.borrow_mut().take());
        }
    }
    READ_AHEAD.with(|r| *r.borrow_mut() = Some(ReadAhead { caller: identity(ctx), learners, states: None }));
    let _reset = Reset;
    f()
}

impl PgStore {
    /// A pool of at most `max_connections` connections as `config` (the app role).
    pub fn connect(config: postgres::Config, max_connections: u32) -> Result<Self> {
        let manager = PostgresConnectionManager::new(config, NoTls);
        let pool = r2d2::Pool::builder()
            .max_size(max_connections)
            .min_idle(Some(0))
            .connection_timeout(std::time::Duration::from_secs(30))
            .build(manager)
            .map_err(pool_error)?;
        Ok(Self { pool, rules: None })
    }

    /// The same store, awarding `rules`' achievements and logging mastery changes in every
    /// ingest's transaction (see [`crate::durable`]).
    pub fn with_awards(mut self, rules: AwardRules) -> Self {
        self.rules = Some(std::sync::Arc::new(rules));
        self
    }

    /// One read transaction under `ctx`'s identity.
    pub(crate) fn read_tx<T>(
        &self,
        ctx: &AccessContext,
        f: impl FnOnce(&mut Transaction<'_>) -> Result<T>,
    ) -> Result<T> {
        self.read(ctx, f)
    }

    /// One committed transaction under `ctx`'s identity.
    pub(crate) fn write_tx<T>(
        &self,
        ctx: &AccessContext,
        f: impl FnOnce(&mut Transaction<'_>) -> Result<T>,
    ) -> Result<T> {
        self.tx(ctx, |tx| f(tx).map(Ok))
    }

    /// Runs `f` in one transaction under `ctx`'s identity; commits when it returns `Ok(Some)`,
    /// rolls back on `Ok(None)` (returning `rolled_back`) or an error.
    fn tx<T>(
        &self,
        ctx: &AccessContext,
        f: impl FnOnce(&mut Transaction<'_>) -> Result<std::result::Result<T, T>>,
    ) -> Result<T> {
        let mut conn = self.pool.get().map_err(pool_error)?;
        let mut tx = conn.transaction().map_err(|e| db_error(&e))?;
        set_identity(&mut tx, ctx).map_err(|e| db_error(&e))?;
        match f(&mut tx)? {
            Ok(value) => {
                tx.commit().map_err(|e| db_error(&e))?;
                Ok(value)
            }
            // Dropping the transaction rolls it back.
            Err(value) => Ok(value),
        }
    }

    fn read<T>(&self, ctx: &AccessContext, f: impl FnOnce(&mut Transaction<'_>) -> Result<T>) -> Result<T> {
        self.tx(ctx, |tx| f(tx).map(Ok))
    }

    fn insert_evidence(tx: &mut Transaction<'_>, ctx: &AccessContext, evidence: &[&Evidence]) -> Result<Vec<Appended>> {
        let rows = EvidenceRows::new(evidence)?;
        let inserted: HashSet<(String, String)> = tx
            .query(INSERT_EVIDENCE, &[&ctx.tenant().as_str(), &rows.learners, &rows.courses, &rows.ids, &rows.bodies])
            .map_err(|e| db_error(&e))?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        Ok(rows
            .learners
            .into_iter()
            .zip(rows.ids)
            .map(|k| if inserted.contains(&k) { Appended::New } else { Appended::Duplicate })
            .collect())
    }

    fn upsert_states(tx: &mut Transaction<'_>, ctx: &AccessContext, states: &[(StateKey, StateValue)]) -> Result<()> {
        if states.is_empty() {
            return Ok(());
        }
        // One statement cannot update a row twice: the last write of a key wins.
        let mut seen = HashSet::new();
        let mut last: Vec<&(StateKey, StateValue)> = states.iter().rev().filter(|(k, _)| seen.insert(k)).collect();
        last.reverse();
        let learners: Vec<&str> = last.iter().map(|(k, _)| k.learner.as_str()).collect();
        let courses: Vec<Option<&str>> = last.iter().map(|(k, _)| k.course.as_ref().map(CourseId::as_str)).collect();
        let namespaces: Vec<&str> = last.iter().map(|(k, _)| k.namespace.as_str()).collect();
        let names: Vec<&str> = last.iter().map(|(k, _)| k.name.as_str()).collect();
        let values: Vec<Value> = last.iter().map(|(_, v)| encode(v)).collect::<Result<_>>()?;
        tx.execute(UPSERT_STATES, &[&ctx.tenant().as_str(), &learners, &courses, &namespaces, &names, &values])
            .map_err(|e| db_error(&e))?;
        Ok(())
    }

    /// `Some(value)` when a read-ahead for this caller covers `key`'s learner.
    fn read_ahead(&self, ctx: &AccessContext, key: &StateKey) -> Result<Option<Option<Value>>> {
        let covered = READ_AHEAD.with(|r| {
            r.borrow().as_ref().is_some_and(|a| {
                a.caller == identity(ctx)
                    && a.learners.iter().any(|l| l == key.learner.as_str())
                    && a.states.as_ref().is_none_or(|(ns, _)| *ns == key.namespace)
            })
        });
        if !covered {
            return Ok(None);
        }
        let loaded = READ_AHEAD.with(|r| r.borrow().as_ref().is_some_and(|a| a.states.is_some()));
        if !loaded {
            let learners = READ_AHEAD.with(|r| r.borrow().as_ref().map(|a| a.learners.clone()).unwrap_or_default());
            let tenant = ctx.tenant();
            let rows = self.read(ctx, |tx| {
                tx.query(
                    "SELECT learner, course, namespace, name, value FROM state \
                     WHERE tenant = $1 AND learner = ANY($2) AND namespace = $3",
                    &[&tenant.as_str(), &learners, &key.namespace.as_str()],
                )
                .map_err(|e| db_error(&e))
            })?;
            let mut states = HashMap::with_capacity(rows.len());
            for row in &rows {
                let key = StateKey {
                    learner: UserId::new(row.get::<_, String>(0)),
                    course: row.get::<_, Option<String>>(1).map(CourseId::new),
                    namespace: row.get::<_, &str>(2).into(),
                    name: row.get::<_, &str>(3).into(),
                };
                states.insert(key, row.get::<_, Value>(4));
            }
            READ_AHEAD.with(|r| {
                if let Some(a) = r.borrow_mut().as_mut() {
                    a.states = Some((key.namespace.to_string(), states));
                }
            });
        }
        Ok(READ_AHEAD
            .with(|r| r.borrow().as_ref().and_then(|a| a.states.as_ref()).map(|(_, states)| states.get(key).cloned())))
    }

    fn authorize_writes(ctx: &AccessContext, evidence: &[&Evidence], states: &[(StateKey, StateValue)]) -> Result<()> {
        let tenant = ctx.tenant();
        for e in evidence {
            authorize_learner(ctx, Operation::Write, tenant, &e.learner, e.course.as_ref())?;
        }
        for (key, _) in states {
            authorize_learner(ctx, Operation::Write, tenant, &key.learner, key.course.as_ref())?;
        }
        Ok(())
    }
}

impl Store for PgStore {
    type Error = MasteryError;

    fn append_evidence(&self, ctx: &AccessContext, evidence: &Evidence) -> Result<Appended> {
        self.record(ctx, evidence, &[])
    }

    fn record(&self, ctx: &AccessContext, evidence: &Evidence, states: &[(StateKey, StateValue)]) -> Result<Appended> {
        let flags = self.apply(ctx, &[evidence], states)?;
        Ok(flags.first().copied().unwrap_or(Appended::Duplicate))
    }

    fn apply(
        &self,
        ctx: &AccessContext,
        evidence: &[&Evidence],
        states: &[(StateKey, StateValue)],
    ) -> Result<Vec<Appended>> {
        Self::authorize_writes(ctx, evidence, states)?;
        // Ids repeated within the batch: nothing is written, the repeats (and any record already
        // stored) are reported.
        let mut seen = HashSet::new();
        let repeated: Vec<bool> = evidence.iter().map(|e| !seen.insert((&e.learner, &e.id))).collect();
        if repeated.contains(&true) {
            let known = self.known_evidence(ctx, evidence)?;
            return Ok(repeated
                .iter()
                .zip(known)
                .map(|(&r, k)| if r || k { Appended::Duplicate } else { Appended::New })
                .collect());
        }
        self.tx(ctx, |tx| {
            let flags = Self::insert_evidence(tx, ctx, evidence)?;
            if flags.contains(&Appended::Duplicate) {
                return Ok(Err(flags));
            }
            Self::upsert_states(tx, ctx, states)?;
            if let Some(rules) = &self.rules {
                crate::durable::after_apply(tx, ctx, rules, states)?;
            }
            Ok(Ok(flags))
        })
    }

    fn known_evidence(&self, ctx: &AccessContext, evidence: &[&Evidence]) -> Result<Vec<bool>> {
        let tenant = ctx.tenant();
        for e in evidence {
            authorize_learner(ctx, Operation::Read, tenant, &e.learner, e.course.as_ref())?;
        }
        if evidence.is_empty() {
            return Ok(Vec::new());
        }
        let learners: Vec<&str> = evidence.iter().map(|e| e.learner.as_str()).collect();
        let ids: Vec<&str> = evidence.iter().map(|e| e.id.as_str()).collect();
        let found: HashSet<(String, String)> = self.read(ctx, |tx| {
            let rows = tx
                .query(
                    // One primary-key probe per record (LATERAL … LIMIT 1): a plain join would let the
                    // planner hash the tenant's whole evidence table.
                    "SELECT u.l, u.i FROM unnest($2::text[], $3::text[]) AS u(l, i) \
                     CROSS JOIN LATERAL (SELECT 1 FROM evidence e \
                     WHERE e.tenant = $1 AND e.learner = u.l AND e.id = u.i LIMIT 1) AS hit",
                    &[&tenant.as_str(), &learners, &ids],
                )
                .map_err(|e| db_error(&e))?;
            Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
        })?;
        Ok(evidence
            .iter()
            .map(|e| found.contains(&(e.learner.as_str().to_owned(), e.id.as_str().to_owned())))
            .collect())
    }

    fn learner_evidence(&self, ctx: &AccessContext, learner: &UserId) -> Result<Vec<Evidence>> {
        let tenant = ctx.tenant();
        // Everything, or (an instructor) what RLS lets through: the courses they teach.
        let all = authorize_learner(ctx, Operation::Read, tenant, learner, None).is_ok();
        let visible = self.read(ctx, |tx| {
            tx.query(
                "SELECT body FROM evidence WHERE tenant = $1 AND learner = $2 ORDER BY seq",
                &[&tenant.as_str(), &learner.as_str()],
            )
            .map_err(|e| db_error(&e))?
            .into_iter()
            .map(|r| decode::<Evidence>(r.get(0)))
            .collect::<Result<Vec<_>>>()
        })?;
        // Belt and braces: keep only what the core's policy also allows.
        let visible: Vec<Evidence> = visible
            .into_iter()
            .filter(|e| all || authorize_learner(ctx, Operation::Read, tenant, learner, e.course.as_ref()).is_ok())
            .collect();
        if visible.is_empty() && !all {
            authorize_learner(ctx, Operation::Read, tenant, learner, None)?;
        }
        Ok(visible)
    }

    fn course_evidence(&self, ctx: &AccessContext, course: &CourseId) -> Result<Vec<Evidence>> {
        let tenant = ctx.tenant();
        authorize_course(ctx, Operation::Read, tenant, course)?;
        self.read(ctx, |tx| {
            tx.query(
                "SELECT body FROM evidence WHERE tenant = $1 AND course = $2 ORDER BY seq",
                &[&tenant.as_str(), &course.as_str()],
            )
            .map_err(|e| db_error(&e))?
            .into_iter()
            .map(|r| decode(r.get(0)))
            .collect()
        })
    }

    fn get_state(&self, ctx: &AccessContext, key: &StateKey) -> Result<Option<StateValue>> {
        let tenant = ctx.tenant();
        authorize_learner(ctx, Operation::Read, tenant, &key.learner, key.course.as_ref())?;
        if let Some(found) = self.read_ahead(ctx, key)? {
            return found.map(decode).transpose();
        }
        let course = key.course.as_ref().map(CourseId::as_str);
        self.read(ctx, |tx| {
            tx.query_opt(
                "SELECT value FROM state WHERE tenant = $1 AND learner = $2 AND course IS NOT DISTINCT FROM $3 \
                 AND namespace = $4 AND name = $5",
                &[&tenant.as_str(), &key.learner.as_str(), &course, &key.namespace.as_str(), &key.name.as_str()],
            )
            .map_err(|e| db_error(&e))?
            .map(|r| decode(r.get(0)))
            .transpose()
        })
    }

    fn put_state(&self, ctx: &AccessContext, key: &StateKey, value: &StateValue) -> Result<()> {
        Self::authorize_writes(ctx, &[], std::slice::from_ref(&(key.clone(), value.clone())))?;
        self.tx(ctx, |tx| {
            Self::upsert_states(tx, ctx, &[(key.clone(), value.clone())])?;
            Ok(Ok(()))
        })
    }

    fn learner_states(
        &self,
        ctx: &AccessContext,
        learner: &UserId,
        namespace: &str,
    ) -> Result<Vec<(StateKey, StateValue)>> {
        let tenant = ctx.tenant();
        let all = authorize_learner(ctx, Operation::Read, tenant, learner, None).is_ok();
        let visible: Vec<(StateKey, StateValue)> = self.read(ctx, |tx| {
            tx.query(
                "SELECT learner, course, namespace, name, value FROM state \
                 WHERE tenant = $1 AND learner = $2 AND namespace = $3 ORDER BY course NULLS FIRST, name",
                &[&tenant.as_str(), &learner.as_str(), &namespace],
            )
            .map_err(|e| db_error(&e))?
            .iter()
            .map(state_row)
            .collect::<Result<Vec<_>>>()
        })?;
        let visible: Vec<_> = visible
            .into_iter()
            .filter(|(k, _)| all || authorize_learner(ctx, Operation::Read, tenant, learner, k.course.as_ref()).is_ok())
            .collect();
        if visible.is_empty() && !all {
            authorize_learner(ctx, Operation::Read, tenant, learner, None)?;
        }
        Ok(visible)
    }

    fn course_states(
        &self,
        ctx: &AccessContext,
        course: &CourseId,
        namespace: &str,
    ) -> Result<Vec<(StateKey, StateValue)>> {
        let tenant = ctx.tenant();
        authorize_course(ctx, Operation::Read, tenant, course)?;
        self.read(ctx, |tx| {
            tx.query(
                "SELECT learner, course, namespace, name, value FROM state \
                 WHERE tenant = $1 AND course = $2 AND namespace = $3 ORDER BY learner, name",
                &[&tenant.as_str(), &course.as_str(), &namespace],
            )
            .map_err(|e| db_error(&e))?
            .iter()
            .map(state_row)
            .collect()
        })
    }
}
