//! The stateful engine in JS: evidence in, mastery states out, over the embedded in-memory store
//! or a store written in JS.
//!
//! A JS store is any object with the `Store` trait's methods under the trait's (snake_case) names,
//! called synchronously: `apply`, `known_evidence`, `append_evidence`, `learner_evidence`,
//! `course_evidence`, `get_state`, `put_state`, `learner_states`, `course_states`. Every call
//! passes the context `{principal}` first; the engine has checked the access policy before it
//! calls, so the store may keep plain collections (or rely on its database's row-level security).
//! A method that throws, or returns something of the wrong shape, is a `MasteryError` with code
//! `store_error`: the call fails, the engine keeps working.
//!
//! `DynStore` must be `Send + Sync` and a `JsValue` is neither. Rather than assert it with
//! `unsafe impl` (true on wasm32-unknown-unknown, which has one thread, but unchecked), the JS
//! object stays in a thread-local table and the store holds only its index there.

use std::cell::RefCell;
use std::collections::HashMap;

use js_sys::{Function, Reflect};
use mastery_core as core;
use mastery_core::store::{StateValue, STORE_METHODS};
use mastery_core::{AccessContext, Appended, CourseId, Evidence, MasteryError, Principal, StateKey, UserId};
use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::convert::{data, opt_text, optional, text, to_js};
use crate::error::{invalid, to_js as err};

thread_local! {
    /// The JS store objects of live engines, by id (see the module docs).
    static STORES: RefCell<HashMap<u32, JsValue>> = RefCell::new(HashMap::new());
    static NEXT_ID: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// A `core::Store` whose methods call a JS object's methods.
#[derive(Debug)]
struct JsStore {
    object: Registered,
    /// Whether the object has the optional `get_states` (one call per batch instead of one per key).
    batched_reads: bool,
    /// Whether it versions its writes (`read_version` and `apply_since`): engines in other
    /// processes over the same database then cannot lose each other's updates.
    versioned: bool,
    /// Whether it has `hold_writes` and `release_writes`.
    holds: bool,
}

/// A JS store object in the table, by id: registered while its engine lives.
#[derive(Debug)]
pub(crate) struct Registered(u32);

impl Registered {
    /// Registers `object` after checking that it has every one of `methods`.
    pub(crate) fn new(object: JsValue, methods: &[&str]) -> Result<Self, JsValue> {
        if !object.is_object() && !object.is_function() {
            return Err(invalid("store", "must be an object with the store methods"));
        }
        for method in methods {
            let f = Reflect::get(&object, &JsValue::from_str(method))
                .map_err(|_| invalid("store", format!("has a `{method}` that cannot be read")))?;
            if !f.is_function() {
                return Err(invalid("store", format!("has no method `{method}`")));
            }
        }
        let id = NEXT_ID.with(|n| {
            let id = n.get();
            n.set(id.wrapping_add(1));
            id
        });
        STORES
            .with(|s| s.try_borrow_mut().map(|mut s| s.insert(id, object)).map(drop))
            .map_err(|_| crate::error::internal("the store table is busy"))?;
        Ok(Self(id))
    }

    /// Whether the object has `method`.
    fn has(&self, method: &str) -> bool {
        self.object().is_ok_and(|o| Reflect::get(&o, &JsValue::from_str(method)).is_ok_and(|f| f.is_function()))
    }

    fn object(&self) -> Result<JsValue, MasteryError> {
        STORES
            .with(|s| s.try_borrow().ok().and_then(|s| s.get(&self.0).cloned()))
            .ok_or_else(|| store_error("the store is gone"))
    }

    /// Calls `method(ctx, ...args)` on the JS object; its return value as it is.
    pub(crate) fn invoke(&self, method: &str, ctx: &AccessContext, args: &[JsValue]) -> Result<JsValue, MasteryError> {
        let object = self.object()?;
        let f = Reflect::get(&object, &JsValue::from_str(method))
            .ok()
            .and_then(|f| f.dyn_into::<Function>().ok())
            .ok_or_else(|| store_error(format!("the store has no method `{method}`")))?;
        let all = js_sys::Array::new();
        all.push(&js(ctx)?);
        args.iter().for_each(|a| {
            all.push(a);
        });
        // The store's own message may name learners; it stays out of ours (the host has it). A
        // thrown `{code: "store_conflict"}` is `apply_since`'s refusal: the engine reads again.
        f.apply(&object, &all).map_err(|thrown| {
            let code = Reflect::get(&thrown, &JsValue::from_str("code")).ok().and_then(|c| c.as_string());
            if code.as_deref() == Some("store_conflict") {
                MasteryError::StoreConflict
            } else {
                store_error(format!("the store's `{method}` threw"))
            }
        })
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        // Taken out first, so the JS value is dropped with the table not borrowed.
        let removed = STORES.with(|s| s.try_borrow_mut().ok().and_then(|mut s| s.remove(&self.0)));
        drop(removed);
    }
}

pub(crate) fn store_error(reason: impl Into<String>) -> MasteryError {
    MasteryError::Store { reason: reason.into() }
}

/// A store method's answer read as `T`.
pub(crate) fn decode<T: DeserializeOwned>(method: &str, returned: &JsValue) -> Result<T, MasteryError> {
    let value = crate::convert::value(returned, method)
        .map_err(|_| store_error(format!("`{method}` returned a value that is not data")))?;
    serde_json::from_value(value).map_err(|e| {
        store_error(format!(
            "`{method}` returned a value of the wrong shape: {}",
            crate::convert::shape(&e.to_string())
        ))
    })
}

impl JsStore {
    /// Registers `object` after checking that it has every method of the protocol.
    fn new(object: JsValue) -> Result<Self, JsValue> {
        let object = Registered::new(object, &STORE_METHODS)?;
        let batched_reads = object.has("get_states");
        let versioned = object.has("read_version") && object.has("apply_since");
        let holds = object.has("hold_writes") && object.has("release_writes");
        Ok(Self { object, batched_reads, versioned, holds })
    }

    /// Calls `method(ctx, ...args)` on the JS object and reads the result as `T`.
    fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        ctx: &AccessContext,
        args: &[JsValue],
    ) -> Result<T, MasteryError> {
        decode(method, &self.invoke(method, ctx, args)?)
    }

    fn invoke(&self, method: &str, ctx: &AccessContext, args: &[JsValue]) -> Result<JsValue, MasteryError> {
        self.object.invoke(method, ctx, args)
    }
}

/// Data → JS for a store call (maps as plain objects).
pub(crate) fn js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, MasteryError> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|_| MasteryError::Internal { reason: "a store argument could not be converted".into() })
}

impl core::Store for JsStore {
    type Error = MasteryError;

    fn apply(
        &self,
        ctx: &AccessContext,
        evidence: &[&Evidence],
        states: &[(StateKey, StateValue)],
    ) -> Result<Vec<Appended>, MasteryError> {
        let flags: Vec<Appended> = self.call("apply", ctx, &[js(evidence)?, js(states)?])?;
        if flags.len() != evidence.len() {
            return Err(store_error("`apply` returned a flag count other than the evidence count"));
        }
        Ok(flags)
    }

    fn read_version(&self, ctx: &AccessContext) -> Result<Option<u64>, MasteryError> {
        if !self.versioned {
            return Ok(None);
        }
        self.call("read_version", ctx, &[])
    }

    fn apply_since(
        &self,
        ctx: &AccessContext,
        since: u64,
        evidence: &[&Evidence],
        states: &[(StateKey, StateValue)],
    ) -> Result<Vec<Appended>, MasteryError> {
        if !self.versioned {
            return self.apply(ctx, evidence, states);
        }
        let flags: Vec<Appended> = self.call("apply_since", ctx, &[js(&since)?, js(evidence)?, js(states)?])?;
        if flags.len() != evidence.len() {
            return Err(store_error("`apply_since` returned a flag count other than the evidence count"));
        }
        Ok(flags)
    }

    fn hold_writes(&self, ctx: &AccessContext) -> Result<bool, MasteryError> {
        if !self.holds {
            return Ok(false);
        }
        Ok(self.invoke("hold_writes", ctx, &[])?.is_truthy())
    }

    fn release_writes(&self, ctx: &AccessContext) -> Result<(), MasteryError> {
        if !self.holds {
            return Ok(());
        }
        self.invoke("release_writes", ctx, &[]).map(drop)
    }

    fn known_evidence(&self, ctx: &AccessContext, evidence: &[&Evidence]) -> Result<Vec<bool>, MasteryError> {
        let known: Vec<bool> = self.call("known_evidence", ctx, &[js(evidence)?])?;
        if known.len() != evidence.len() {
            return Err(store_error("`known_evidence` returned a flag count other than the evidence count"));
        }
        Ok(known)
    }

    fn append_evidence(&self, ctx: &AccessContext, evidence: &Evidence) -> Result<Appended, MasteryError> {
        self.call("append_evidence", ctx, &[js(evidence)?])
    }

    fn learner_evidence(&self, ctx: &AccessContext, learner: &UserId) -> Result<Vec<Evidence>, MasteryError> {
        self.call("learner_evidence", ctx, &[js(learner)?])
    }

    fn course_evidence(&self, ctx: &AccessContext, course: &CourseId) -> Result<Vec<Evidence>, MasteryError> {
        self.call("course_evidence", ctx, &[js(course)?])
    }

    fn get_state(&self, ctx: &AccessContext, key: &StateKey) -> Result<Option<StateValue>, MasteryError> {
        self.call("get_state", ctx, &[js(key)?])
    }

    fn get_states(&self, ctx: &AccessContext, keys: &[StateKey]) -> Result<Vec<Option<StateValue>>, MasteryError> {
        if !self.batched_reads {
            return keys.iter().map(|key| self.get_state(ctx, key)).collect();
        }
        let values: Vec<Option<StateValue>> = self.call("get_states", ctx, &[js(keys)?])?;
        if values.len() != keys.len() {
            return Err(store_error("`get_states` returned a count other than the key count"));
        }
        Ok(values)
    }

    fn put_state(&self, ctx: &AccessContext, key: &StateKey, value: &StateValue) -> Result<(), MasteryError> {
        self.invoke("put_state", ctx, &[js(key)?, js(value)?]).map(drop)
    }

    fn learner_states(
        &self,
        ctx: &AccessContext,
        learner: &UserId,
        namespace: &str,
    ) -> Result<Vec<(StateKey, StateValue)>, MasteryError> {
        self.call("learner_states", ctx, &[js(learner)?, JsValue::from_str(namespace)])
    }

    fn course_states(
        &self,
        ctx: &AccessContext,
        course: &CourseId,
        namespace: &str,
    ) -> Result<Vec<(StateKey, StateValue)>, MasteryError> {
        self.call("course_states", ctx, &[js(course)?, JsValue::from_str(namespace)])
    }
}

/// Store + mastery rules: ingest evidence as a principal, read learner and class states.
#[wasm_bindgen]
pub struct Engine {
    inner: core::Engine<core::DynStore>,
    /// Set while `ingest` runs: a JS store that calls `ingest` again from inside a store method
    /// would relock the learner's stripe, which on wasm32 is a panic (an aborted instance).
    ingesting: std::cell::Cell<bool>,
}

/// Clears `Engine::ingesting` however `ingest` returns.
struct Ingesting<'a>(&'a std::cell::Cell<bool>);

impl Drop for Ingesting<'_> {
    fn drop(&mut self) {
        self.0.set(false);
    }
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").finish_non_exhaustive()
    }
}

/// What `new Engine(store, options)` and `new AsyncEngine(store, options)` take.
#[derive(serde::Deserialize, Default)]
pub(crate) struct EngineOptions {
    #[serde(default)]
    streaks: Option<core::streak::StreakPolicy>,
    #[serde(default)]
    achievements: Option<Vec<core::credential::Achievement>>,
    /// CASE JSON text.
    #[serde(default)]
    framework: Option<String>,
    /// A risk model file's JSON text.
    #[serde(default, rename = "riskModel")]
    risk_model: Option<String>,
    #[serde(default, rename = "riskBands")]
    risk_bands: Option<Vec<core::risk::RiskBand>>,
}

impl EngineOptions {
    /// `inner` with the streak policy, awards, framework and risk model these options name.
    pub(crate) fn configure<S: core::Store>(self, mut inner: core::Engine<S>) -> Result<core::Engine<S>, JsValue> {
        if let Some(policy) = self.streaks {
            inner = inner.with_streaks(policy).map_err(err)?;
        }
        let framework = self.framework.map(|text| core::framework::Framework::from_case_json(&text)).transpose();
        let framework = framework.map_err(err)?;
        if let Some(achievements) = self.achievements {
            inner = inner.with_awards(achievements, framework.clone()).map_err(err)?;
        }
        if let Some(framework) = framework {
            inner = inner.with_framework(framework);
        }
        if let Some(model) = self.risk_model {
            let model = core::risk::RiskModelFile::from_json(&model).map_err(err)?;
            let bands = self.risk_bands.map(core::risk::RiskBands::new).transpose().map_err(err)?;
            inner = inner.with_risk(model, bands).map_err(err)?;
        }
        Ok(inner)
    }
}

pub(crate) fn context(principal: &JsValue) -> Result<AccessContext, JsValue> {
    Ok(AccessContext::new(data::<Principal>(principal, "principal")?))
}

#[wasm_bindgen]
impl Engine {
    /// An engine over the embedded in-memory store, or over `store` (a `MasteryStore`).
    /// `options.streaks` (a streak policy, `{}` for the defaults) makes ingest keep each
    /// learner's streak per course too; `options.achievements` makes it award them;
    /// `options.framework` (CASE JSON text) resolves subtree rules and draws the dashboards'
    /// rings; `options.riskModel` (a model file's JSON) scores classes for `atRisk`.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_optional_param_type = "MasteryStore | null")] store: Option<JsValue>,
        #[wasm_bindgen(unchecked_optional_param_type = "EngineOptions | null")] options: Option<JsValue>,
    ) -> Result<Engine, JsValue> {
        let options: EngineOptions = optional(options, "options")?;
        let store: core::DynStore = match store {
            Some(object) if !(object.is_null() || object.is_undefined()) => Box::new(JsStore::new(object)?),
            _ => Box::new(core::MemoryStore::new()),
        };
        let inner = options.configure(core::Engine::new(store))?;
        Ok(Self { inner, ingesting: std::cell::Cell::new(false) })
    }

    /// Stores each record once and updates mastery; refusals are reported by index.
    #[wasm_bindgen(unchecked_return_type = "IngestOutcome")]
    pub fn ingest(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Principal")] principal: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Evidence[]")] evidence: JsValue,
    ) -> Result<JsValue, JsValue> {
        let ctx = context(&principal)?;
        // One record at a time: a malformed object is refused by its index, the rest go on.
        let values: Vec<serde_json::Value> = data(&evidence, "evidence")?;
        if self.ingesting.replace(true) {
            return Err(err(store_error("the store called `ingest` from inside an ingest")));
        }
        let _guard = Ingesting(&self.ingesting);
        let (rows, refused) = core::evidence::evidence_from_values(values);
        to_js(&self.inner.ingest_rows(&ctx, rows, refused))
    }

    /// A learner's mastery in one course (or outside any), sorted by competency.
    #[wasm_bindgen(js_name = learnerStates, unchecked_return_type = "MasteryView[]")]
    pub fn learner_states(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Principal")] principal: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] learner: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "string | null")] course: Option<JsValue>,
    ) -> Result<JsValue, JsValue> {
        let ctx = context(&principal)?;
        let learner = UserId::new(text(&learner, "learner")?);
        let course = opt_text(course, "course")?.map(CourseId::new);
        to_js(&self.inner.learner_views(&ctx, &learner, course.as_ref()).map_err(err)?)
    }

    /// Every learner's mastery in a course: learner → views sorted by competency.
    #[wasm_bindgen(js_name = classStates, unchecked_return_type = "Record<string, MasteryView[]>")]
    pub fn class_states(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Principal")] principal: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] course: JsValue,
    ) -> Result<JsValue, JsValue> {
        let ctx = context(&principal)?;
        let course = CourseId::new(text(&course, "course")?);
        to_js(&self.inner.class_views(&ctx, &course).map_err(err)?)
    }

    /// The class heatmap of a course (learners × `competencies`, in that order) read straight
    /// from the stored records.
    #[wasm_bindgen(js_name = classHeatmap, unchecked_return_type = "Heatmap")]
    pub fn class_heatmap(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Principal")] principal: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] course: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Label[]")] competencies: JsValue,
    ) -> Result<JsValue, JsValue> {
        let ctx = context(&principal)?;
        let course = CourseId::new(text(&course, "course")?);
        let competencies: Vec<core::dashboard::Label> = data(&competencies, "competencies")?;
        to_js(&self.inner.class_heatmap(&ctx, &course, &competencies).map_err(err)?)
    }

    /// A learner's mastery of one competency (in a course, or outside any), or `null`.
    #[wasm_bindgen(unchecked_return_type = "MasteryView | null")]
    pub fn mastery(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Principal")] principal: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] learner: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] competency: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "string | null")] course: Option<JsValue>,
    ) -> Result<JsValue, JsValue> {
        let ctx = context(&principal)?;
        let learner = UserId::new(text(&learner, "learner")?);
        let competency = text(&competency, "competency")?;
        let course = opt_text(course, "course")?.map(CourseId::new);
        to_js(&self.inner.mastery_view(&ctx, &learner, course.as_ref(), &competency).map_err(err)?)
    }

    /// A learner's streak in one course (or outside any) as of `now` (ISO 8601 in the learner's
    /// offset), from the stored record. Needs `new Engine(store, { streaks })`.
    #[wasm_bindgen(unchecked_return_type = "StreakStatus")]
    pub fn streak(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Principal")] principal: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] learner: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] now: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "string | null")] course: Option<JsValue>,
    ) -> Result<JsValue, JsValue> {
        let ctx = context(&principal)?;
        let learner = UserId::new(text(&learner, "learner")?);
        let now = crate::instant(&now, "now")?;
        let course = opt_text(course, "course")?.map(CourseId::new);
        to_js(&self.inner.streak(&ctx, &learner, course.as_ref(), now).map_err(err)?)
    }

    /// Every learner's streak in a course as of `now`: learner → status.
    #[wasm_bindgen(js_name = classStreaks, unchecked_return_type = "Record<string, StreakStatus>")]
    pub fn class_streaks(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Principal")] principal: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] course: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] now: JsValue,
    ) -> Result<JsValue, JsValue> {
        let ctx = context(&principal)?;
        let course = CourseId::new(text(&course, "course")?);
        let now = crate::instant(&now, "now")?;
        to_js(&self.inner.class_streaks(&ctx, &course, now).map_err(err)?)
    }

    /// A learner's streak with its explained calendar (the shape of `evaluateStreak`), from the
    /// evidence the caller may read: what `streakTracker` draws.
    #[wasm_bindgen(js_name = streakReport, unchecked_return_type = "StreakReport")]
    pub fn streak_report(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Principal")] principal: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] learner: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] now: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "string | null")] course: Option<JsValue>,
    ) -> Result<JsValue, JsValue> {
        let ctx = context(&principal)?;
        let learner = UserId::new(text(&learner, "learner")?);
        let now = crate::instant(&now, "now")?;
        let course = opt_text(course, "course")?.map(CourseId::new);
        to_js(&self.inner.streak_report(&ctx, &learner, course.as_ref(), now).map_err(err)?)
    }

    /// A learner's awards in one course (or outside any), revoked ones included. Needs
    /// `new Engine(store, { achievements })`.
    #[wasm_bindgen(unchecked_return_type = "Award[]")]
    pub fn awards(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Principal")] principal: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] learner: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "string | null")] course: Option<JsValue>,
    ) -> Result<JsValue, JsValue> {
        let ctx = context(&principal)?;
        let learner = UserId::new(text(&learner, "learner")?);
        let course = opt_text(course, "course")?.map(CourseId::new);
        to_js(&self.inner.awards(&ctx, &learner, course.as_ref()).map_err(err)?)
    }

    /// A course's awards and revocations not acknowledged yet: what the host delivers.
    #[wasm_bindgen(unchecked_return_type = "Award[]")]
    pub fn outbox(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Principal")] principal: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] course: JsValue,
    ) -> Result<JsValue, JsValue> {
        let ctx = context(&principal)?;
        let course = CourseId::new(text(&course, "course")?);
        to_js(&self.inner.outbox(&ctx, &course).map_err(err)?)
    }

    /// Takes delivered awards (by credential id) out of the outbox; returns how many it took.
    #[wasm_bindgen(js_name = acknowledgeAwards)]
    pub fn acknowledge_awards(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Principal")] principal: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] learner: JsValue,
        #[wasm_bindgen(js_name = credentialIds, unchecked_param_type = "string[]")] credential_ids: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "string | null")] course: Option<JsValue>,
    ) -> Result<u32, JsValue> {
        let ctx = context(&principal)?;
        let learner = UserId::new(text(&learner, "learner")?);
        let ids: Vec<String> = data(&credential_ids, "credential_ids")?;
        let course = opt_text(course, "course")?.map(CourseId::new);
        let taken = self.inner.acknowledge_awards(&ctx, &learner, course.as_ref(), &ids).map_err(err)?;
        Ok(taken as u32)
    }

    /// Revokes a learner's award of `achievement` with a reason (into the outbox); returns how
    /// many awards it revoked.
    #[wasm_bindgen(js_name = revokeAward)]
    pub fn revoke_award(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Principal")] principal: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] learner: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] achievement: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] reason: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "string | null")] course: Option<JsValue>,
    ) -> Result<u32, JsValue> {
        let ctx = context(&principal)?;
        let learner = UserId::new(text(&learner, "learner")?);
        let achievement = text(&achievement, "achievement")?;
        let reason = text(&reason, "reason")?;
        let course = opt_text(course, "course")?.map(CourseId::new);
        let revoked = self.inner.revoke_award(&ctx, &learner, course.as_ref(), &achievement, &reason).map_err(err)?;
        Ok(revoked as u32)
    }

    /// The badge gallery of a learner in one course (or outside any) as of `now`, from stored state.
    #[wasm_bindgen(js_name = badgeGallery, unchecked_return_type = "GalleryItem[]")]
    pub fn badge_gallery(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Principal")] principal: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] learner: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] now: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "string | null")] course: Option<JsValue>,
    ) -> Result<JsValue, JsValue> {
        let ctx = context(&principal)?;
        let learner = UserId::new(text(&learner, "learner")?);
        let now = crate::instant(&now, "now")?;
        let course = opt_text(course, "course")?.map(CourseId::new);
        to_js(&self.inner.badge_gallery(&ctx, &learner, course.as_ref(), now).map_err(err)?)
    }
    /// A learner's dashboard of one course (or outside any) at `at`: records, rings and next
    /// competencies (with a framework), gaps, streak, badges, progress over time.
    #[wasm_bindgen(js_name = learnerDashboard, unchecked_return_type = "LearnerDashboard")]
    pub fn learner_dashboard(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Principal")] principal: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] learner: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] at: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "string | null")] course: Option<JsValue>,
    ) -> Result<JsValue, JsValue> {
        let ctx = context(&principal)?;
        let learner = UserId::new(text(&learner, "learner")?);
        let at = crate::instant(&at, "at")?;
        let course = opt_text(course, "course")?.map(CourseId::new);
        to_js(&self.inner.learner_dashboard(&ctx, &learner, course.as_ref(), at).map_err(err)?)
    }

    /// A class's dashboard at `at`: heatmap, summaries, least proficient, and the at-risk list
    /// with reasons when the engine has a risk model.
    #[wasm_bindgen(js_name = classDashboard, unchecked_return_type = "ClassDashboard")]
    pub fn class_dashboard(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Principal")] principal: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] course: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] at: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "ClassDashboardOptions | null")] options: Option<JsValue>,
    ) -> Result<JsValue, JsValue> {
        let ctx = context(&principal)?;
        let course = CourseId::new(text(&course, "course")?);
        let at = crate::instant(&at, "at")?;
        let options: core::engine::ClassDashboardOptions = optional(options, "options")?;
        to_js(&self.inner.class_dashboard(&ctx, &course, at, &options).map_err(err)?)
    }

    /// The class's learners at risk at `at`, highest score first, each with `top` reasons.
    #[wasm_bindgen(js_name = atRisk, unchecked_return_type = "Alert[]")]
    pub fn at_risk(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Principal")] principal: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] course: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] at: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "number | null")] top: Option<JsValue>,
    ) -> Result<JsValue, JsValue> {
        self.score_class(principal, course, at, top, false)
    }

    /// Scores the class as `atRisk` does and records each learner's band and score (one store
    /// commit), so later scorings keep a learner in a band until the score falls below its exit.
    /// Instructors of the course, admins and services only.
    #[wasm_bindgen(js_name = recordRisk, unchecked_return_type = "Alert[]")]
    pub fn record_risk(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Principal")] principal: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] course: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] at: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "number | null")] top: Option<JsValue>,
    ) -> Result<JsValue, JsValue> {
        self.score_class(principal, course, at, top, true)
    }

    /// Every learner's risk features in a course at `at`, from stored state: one object per
    /// learner, `{learner, features: {name: value}}`, `NaN` where the engine does not know one.
    #[wasm_bindgen(js_name = riskFeatures, unchecked_return_type = "{ learner: string; features: Record<string, number> }[]")]
    pub fn risk_features(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Principal")] principal: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] course: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] at: JsValue,
    ) -> Result<JsValue, JsValue> {
        let ctx = context(&principal)?;
        let course = CourseId::new(text(&course, "course")?);
        let at = crate::instant(&at, "at")?;
        let names = self.inner.risk_feature_names();
        let rows = self.inner.risk_features(&ctx, &course, at).map_err(err)?;
        let rows: Vec<FeatureRow> =
            rows.into_iter().map(|(learner, row)| FeatureRow::new(learner, &names, row)).collect();
        to_js(&rows)
    }
}

/// The `top` argument of `atRisk` and `recordRisk`: absent or null is 3.
pub(crate) fn top_of(top: Option<JsValue>) -> Result<usize, JsValue> {
    match top.filter(|t| !(t.is_null() || t.is_undefined())) {
        Some(t) => crate::convert::count(&t, "top"),
        None => Ok(3),
    }
}

/// One learner's risk features by name, as `riskFeatures` answers.
#[derive(Serialize)]
pub(crate) struct FeatureRow {
    learner: String,
    features: std::collections::BTreeMap<String, f64>,
}

impl FeatureRow {
    pub(crate) fn new(learner: String, names: &[String], row: Vec<f64>) -> Self {
        Self { learner, features: names.iter().cloned().zip(row).collect() }
    }
}

impl Engine {
    /// `atRisk`, or with `record` `recordRisk`: the arguments read, the class scored.
    fn score_class(
        &self,
        principal: JsValue,
        course: JsValue,
        at: JsValue,
        top: Option<JsValue>,
        record: bool,
    ) -> Result<JsValue, JsValue> {
        let ctx = context(&principal)?;
        let course = CourseId::new(text(&course, "course")?);
        let at = crate::instant(&at, "at")?;
        let top = top_of(top)?;
        let alerts = match record {
            true => self.inner.record_risk(&ctx, &course, at, top),
            false => self.inner.at_risk(&ctx, &course, at, top),
        };
        to_js(&alerts.map_err(err)?)
    }
}
