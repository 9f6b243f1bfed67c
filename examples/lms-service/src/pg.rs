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
//! Several service instances may share one database: the store versions each learner × course
//! (`migrations/0003_versions.sql`), so an engine's write over records another instance changed
//! since the engine read them is refused and computed again ([`Store::apply_since`]).
//!
//! The driver blocks: call this store from a thread that may block (`tokio::task::spawn_blocking`),
//! never from inside an async task.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::ThreadId;

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
    ("0003_versions", include_str!("../migrations/0003_versions.sql")),
];

/// The advisory lock (with the tenant's hash) that every write takes shared and
/// [`Store::hold_writes`] takes exclusive.
const WRITE_LOCK: i32 = 7263;

/// The row-level-security store.
#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    /// For the dedicated session of a [`Store::hold_writes`].
    config: postgres::Config,
    /// Awards decided in the ingest's transaction, and the mastery log (none: neither).
    rules: Option<Arc<AwardRules>>,
    /// The snapshots [`Store::read_version`] handed out.
    snapshots: Arc<Mutex<Snapshots>>,
    /// Sessions holding the tenant's write lock, by the thread that holds it: that thread's
    /// calls run on it until [`Store::release_writes`].
    held: Arc<Mutex<HashMap<ThreadId, postgres::Client>>>,
}

/// The database snapshots handed out as read points, by number, the newest [`Snapshots::KEPT`]
/// (a read point may be written at more than once); an aged-out read point is a conflict (the
/// engine reads again).
#[derive(Default)]
struct Snapshots {
    next: u64,
    recent: VecDeque<(u64, String)>,
}

impl Snapshots {
    const KEPT: usize = 4096;

    fn keep(&mut self, snapshot: String) -> u64 {
        self.next += 1;
        if self.recent.len() == Self::KEPT {
            self.recent.pop_front();
        }
        self.recent.push_back((self.next, snapshot));
        self.next
    }

    fn get(&self, point: u64) -> Option<String> {
        // Newest first: the engine writes soon after it reads.
        self.recent.iter().rev().find(|(p, _)| *p == point).map(|(_, snapshot)| snapshot.clone())
    }
}

/// What a write requires of the learners it touches.
enum Condition {
    /// Nothing: the last writer wins.
    Always,
    /// That each learner × course was last written by a transaction visible in this snapshot
    /// (`None`: a read point no longer known, which conflicts).
    SeenIn(Option<String>),
}

/// The learner × course pairs a write touches, sorted (every writer locks their versions in
/// this order, so two writers cannot deadlock), as the version statements take them.
struct Touched<'a> {
    learners: Vec<&'a str>,
    courses: Vec<Option<&'a str>>,
}

impl<'a> Touched<'a> {
    fn new(evidence: &[&'a Evidence], states: &'a [(StateKey, StateValue)]) -> Self {
        let pairs: BTreeSet<(&str, Option<&str>)> = evidence
            .iter()
            .map(|e| (e.learner.as_str(), e.course.as_ref().map(CourseId::as_str)))
            .chain(states.iter().map(|(k, _)| (k.learner.as_str(), k.course.as_ref().map(CourseId::as_str))))
            .collect();
        let (learners, courses) = pairs.into_iter().unzip();
        Self { learners, courses }
    }
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

/// Creates the version rows a conditional write will lock, as written by nobody (transaction 3,
/// older than every snapshot). A row another writer is creating is waited for.
const CREATE_VERSIONS: &str = "INSERT INTO learner_version (tenant, learner, course, writer) \
     SELECT $1, l, c, '3'::xid8 FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS u(l, c, n) ORDER BY n \
     ON CONFLICT ON CONSTRAINT learner_version_key DO NOTHING";

/// Locks the version rows and says whether the snapshot `$4` saw every last writer.
const SEEN_VERSIONS: &str = "SELECT coalesce(bool_and(seen), true) FROM ( \
     SELECT pg_visible_in_snapshot(v.writer, $4::text::pg_snapshot) AS seen \
     FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS u(l, c, n) \
     JOIN learner_version v ON v.tenant = $1 AND v.learner = u.l AND v.course IS NOT DISTINCT FROM u.c \
     ORDER BY u.n FOR UPDATE OF v) AS locked";

/// Records this transaction as the last writer.
const WRITE_VERSIONS: &str = "INSERT INTO learner_version (tenant, learner, course, writer) \
     SELECT $1, l, c, pg_current_xact_id() FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS u(l, c, n) \
     ORDER BY n ON CONFLICT ON CONSTRAINT learner_version_key DO UPDATE SET writer = EXCLUDED.writer";

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

/// Drops the states read ahead on this thread (the learners stay covered: the next read loads again).
fn forget_read_ahead() {
    READ_AHEAD.with(|r| {
        if let Some(a) = r.borrow_mut().as_mut() {
            a.states = None;
        }
    });
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
        let manager = PostgresConnectionManager::new(config.clone(), NoTls);
        let pool = r2d2::Pool::builder()
            .max_size(max_connections)
            .min_idle(Some(0))
            .connection_timeout(std::time::Duration::from_secs(30))
            .build(manager)
            .map_err(pool_error)?;
        Ok(Self { pool, config, rules: None, snapshots: Arc::default(), held: Arc::default() })
    }

    /// The same store, awarding `rules`' achievements and logging mastery changes in every
    /// ingest's transaction (see [`crate::durable`]).
    pub fn with_awards(mut self, rules: AwardRules) -> Self {
        self.rules = Some(Arc::new(rules));
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

    /// Runs `f` in one transaction under `ctx`'s identity; commits when it returns `Ok(Ok)`,
    /// rolls back on `Ok(Err)` (returning its value) or an error. On this thread's held session
    /// when it holds the write lock, else on a pooled one.
    fn tx<T>(
        &self,
        ctx: &AccessContext,
        f: impl FnOnce(&mut Transaction<'_>) -> Result<std::result::Result<T, T>>,
    ) -> Result<T> {
        let thread = std::thread::current().id();
        let held = self.held.lock().unwrap_or_else(PoisonError::into_inner).remove(&thread);
        if let Some(mut client) = held {
            let result = Self::tx_on(&mut client, ctx, f);
            self.held.lock().unwrap_or_else(PoisonError::into_inner).insert(thread, client);
            return result;
        }
        Self::tx_on(&mut *self.pool.get().map_err(pool_error)?, ctx, f)
    }

    fn tx_on<T>(
        client: &mut postgres::Client,
        ctx: &AccessContext,
        f: impl FnOnce(&mut Transaction<'_>) -> Result<std::result::Result<T, T>>,
    ) -> Result<T> {
        let mut tx = client.transaction().map_err(|e| db_error(&e))?;
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

    /// Writes `evidence` (all of it new, else nothing) and `states` in one transaction if
    /// `condition` holds for every learner × course they touch, and records the transaction as
    /// their last writer. Duplicates are reported before a conflict.
    fn write(
        &self,
        ctx: &AccessContext,
        condition: Condition,
        evidence: &[&Evidence],
        states: &[(StateKey, StateValue)],
    ) -> Result<Vec<Appended>> {
        let tenant = ctx.tenant().as_str();
        let touched = Touched::new(evidence, states);
        let pairs: [&(dyn postgres::types::ToSql + Sync); 3] = [&tenant, &touched.learners, &touched.courses];
        let written = self.tx(ctx, |tx| {
            let db = |e: postgres::Error| db_error(&e);
            // Shared: only a `hold_writes` excludes it.
            tx.execute("SELECT pg_advisory_xact_lock_shared($1, hashtext($2))", &[&WRITE_LOCK, &tenant]).map_err(db)?;
            // Version rows are locked first, in key order, on both paths: a writer that locked a
            // state row before a version row could deadlock with one that did the opposite.
            let seen = match &condition {
                Condition::Always => {
                    tx.execute(WRITE_VERSIONS, &pairs).map_err(db)?;
                    true
                }
                Condition::SeenIn(snapshot) => {
                    tx.execute(CREATE_VERSIONS, &pairs).map_err(db)?;
                    let seen: bool = match snapshot {
                        Some(snapshot) => {
                            tx.query_one(SEEN_VERSIONS, &[pairs[0], pairs[1], pairs[2], snapshot]).map_err(db)?.get(0)
                        }
                        None => false,
                    };
                    seen
                }
            };
            let flags = Self::insert_evidence(tx, ctx, evidence)?;
            if flags.contains(&Appended::Duplicate) {
                return Ok(Err(Ok(flags)));
            }
            if !seen {
                return Ok(Err(Err(MasteryError::StoreConflict)));
            }
            Self::upsert_states(tx, ctx, states)?;
            if let Condition::SeenIn(_) = condition {
                tx.execute(WRITE_VERSIONS, &pairs).map_err(db)?;
            }
            if let Some(rules) = &self.rules {
                crate::durable::after_apply(tx, ctx, rules, states)?;
            }
            Ok(Ok(Ok(flags)))
        })?;
        if matches!(written, Err(MasteryError::StoreConflict)) {
            // States read ahead are older than the other writer's: the next attempt reads again.
            forget_read_ahead();
        }
        written
    }

    /// The flags of a batch that repeats an id within itself (nothing is written then), or `None`.
    fn repeated_within(&self, ctx: &AccessContext, evidence: &[&Evidence]) -> Result<Option<Vec<Appended>>> {
        let mut seen = HashSet::new();
        let repeated: Vec<bool> = evidence.iter().map(|e| !seen.insert((&e.learner, &e.id))).collect();
        if !repeated.contains(&true) {
            return Ok(None);
        }
        let known = self.known_evidence(ctx, evidence)?;
        Ok(Some(
            repeated
                .iter()
                .zip(known)
                .map(|(&r, k)| if r || k { Appended::Duplicate } else { Appended::New })
                .collect(),
        ))
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
        if let Some(flags) = self.repeated_within(ctx, evidence)? {
            return Ok(flags);
        }
        self.write(ctx, Condition::Always, evidence, states)
    }

    /// A snapshot of the database: what every transaction finished before it wrote.
    fn read_version(&self, _ctx: &AccessContext) -> Result<Option<u64>> {
        let query = |client: &mut postgres::Client| -> Result<String> {
            client.query_one("SELECT pg_current_snapshot()::text", &[]).map(|row| row.get(0)).map_err(|e| db_error(&e))
        };
        let thread = std::thread::current().id();
        let held = self.held.lock().unwrap_or_else(PoisonError::into_inner).remove(&thread);
        let snapshot = match held {
            Some(mut client) => {
                let snapshot = query(&mut client);
                self.held.lock().unwrap_or_else(PoisonError::into_inner).insert(thread, client);
                snapshot?
            }
            None => query(&mut *self.pool.get().map_err(pool_error)?)?,
        };
        Ok(Some(self.snapshots.lock().unwrap_or_else(PoisonError::into_inner).keep(snapshot)))
    }

    /// Refuses the batch when another transaction wrote one of its learner × course pairs that
    /// the snapshot `since` did not see (it may have finished after the caller's reads began).
    fn apply_since(
        &self,
        ctx: &AccessContext,
        since: u64,
        evidence: &[&Evidence],
        states: &[(StateKey, StateValue)],
    ) -> Result<Vec<Appended>> {
        Self::authorize_writes(ctx, evidence, states)?;
        if let Some(flags) = self.repeated_within(ctx, evidence)? {
            return Ok(flags);
        }
        let snapshot = self.snapshots.lock().unwrap_or_else(PoisonError::into_inner).get(since);
        self.write(ctx, Condition::SeenIn(snapshot), evidence, states)
    }

    /// Takes the tenant's write lock exclusively on a session of its own, which this thread's
    /// calls use until [`Store::release_writes`]; closing the session (also on a failure) frees it.
    fn hold_writes(&self, ctx: &AccessContext) -> Result<bool> {
        let mut client = self.config.connect(NoTls).map_err(|e| db_error(&e))?;
        client
            .execute("SELECT pg_advisory_lock($1, hashtext($2))", &[&WRITE_LOCK, &ctx.tenant().as_str()])
            .map_err(|e| db_error(&e))?;
        self.held.lock().unwrap_or_else(PoisonError::into_inner).insert(std::thread::current().id(), client);
        Ok(true)
    }

    fn release_writes(&self, _ctx: &AccessContext) -> Result<()> {
        // Dropping the session ends it, and with it the lock.
        self.held.lock().unwrap_or_else(PoisonError::into_inner).remove(&std::thread::current().id());
        Ok(())
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
        let states = [(key.clone(), value.clone())];
        Self::authorize_writes(ctx, &[], &states)?;
        self.write(ctx, Condition::Always, &[], &states).map(drop)
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
