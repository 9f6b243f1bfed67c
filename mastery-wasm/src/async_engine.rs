//! The engine over a store written in JS whose methods return promises (IndexedDB, the host's
//! own HTTP API, ...): `new AsyncEngine(store, options)`, every method returning a promise.
//!
//! It is the core's `AsyncEngine`: the synchronous engine's rules run over what was fetched, the
//! store is asked for what they lacked (all of a batch's state keys in one `get_states`), and
//! they run again until they need nothing more. Ingests of one learner wait for each other
//! (async locks), so concurrent calls lose nothing; a store that calls `ingest` from inside its
//! own methods waits for itself, so it must not.
//!
//! The async store protocol is six methods, each `(ctx, ...) => value | Promise<value>`:
//! `get_states`, `learner_evidence`, `learner_states`, `course_states`, `apply`, `put_state`,
//! with the meaning and shapes of the synchronous store's. A method that throws, rejects or
//! answers the wrong shape is a `MasteryError` with code `store_error`; the rest of the batch
//! is refused by index as with `Engine`, and the engine keeps working. Bad arguments reject the
//! returned promise with `invalid_input` (they are never thrown synchronously).
//!
//! The core's `AsyncStore` asks for futures that are `Send` (Rust hosts run them on
//! multi-threaded executors); a JS promise is not. wasm32-unknown-unknown has one thread, so
//! each future is wrapped in `send_wrapper::SendWrapper`, which checks that at run time.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use js_sys::Promise;
use mastery_core as core;
use mastery_core::engine::{SnapshotStore, ASYNC_STORE_METHODS};
use mastery_core::store::StateValue;
use mastery_core::{AccessContext, Appended, CourseId, Evidence, MasteryError, StateKey, UserId};
use send_wrapper::SendWrapper;
use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{future_to_promise, JsFuture};

use crate::convert::{data, opt_text, optional, text, to_js};
use crate::engine::{context, decode, js, store_error, top_of, EngineOptions, Registered};
use crate::error::to_js as err;

/// A store call in flight: the JS method was called, its promise is awaited.
type Call<T> = SendWrapper<Pin<Box<dyn Future<Output = Result<T, MasteryError>>>>>;

/// A `core::AsyncStore` whose methods call a JS object's methods and await what they return.
#[derive(Debug)]
struct JsAsyncStore {
    object: Registered,
}

impl JsAsyncStore {
    /// Calls `method(ctx, ...args)` now; the future settles its answer as `T`, checked by `check`.
    fn call<T: DeserializeOwned + 'static>(
        &self,
        method: &'static str,
        ctx: &AccessContext,
        args: Result<Vec<JsValue>, MasteryError>,
        check: impl FnOnce(&T) -> Result<(), MasteryError> + 'static,
    ) -> Call<T> {
        let returned = args.and_then(|args| self.object.invoke(method, ctx, &args));
        SendWrapper::new(Box::pin(async move {
            // `resolve` takes a value or a promise (or any thenable) alike.
            let settled = JsFuture::from(Promise::resolve(&returned?))
                .await
                .map_err(|_| store_error(format!("the store's `{method}` rejected")))?;
            let answer: T = decode(method, &settled)?;
            check(&answer)?;
            Ok(answer)
        }))
    }
}

fn none<T>(_: &T) -> Result<(), MasteryError> {
    Ok(())
}

impl core::engine::AsyncStore for JsAsyncStore {
    type Error = MasteryError;

    fn get_states(
        &self,
        ctx: &AccessContext,
        keys: &[StateKey],
    ) -> impl Future<Output = Result<Vec<Option<StateValue>>, MasteryError>> + Send {
        let count = keys.len();
        self.call("get_states", ctx, js(keys).map(|k| vec![k]), move |values: &Vec<Option<StateValue>>| {
            match values.len() == count {
                true => Ok(()),
                false => Err(store_error("`get_states` returned a count other than the key count")),
            }
        })
    }

    fn learner_evidence(
        &self,
        ctx: &AccessContext,
        learner: &UserId,
    ) -> impl Future<Output = Result<Vec<Evidence>, MasteryError>> + Send {
        self.call("learner_evidence", ctx, js(learner).map(|l| vec![l]), none)
    }

    fn learner_states(
        &self,
        ctx: &AccessContext,
        learner: &UserId,
        namespace: &str,
    ) -> impl Future<Output = Result<Vec<(StateKey, StateValue)>, MasteryError>> + Send {
        let args = js(learner).map(|l| vec![l, JsValue::from_str(namespace)]);
        self.call("learner_states", ctx, args, none)
    }

    fn course_states(
        &self,
        ctx: &AccessContext,
        course: &CourseId,
        namespace: &str,
    ) -> impl Future<Output = Result<Vec<(StateKey, StateValue)>, MasteryError>> + Send {
        let args = js(course).map(|c| vec![c, JsValue::from_str(namespace)]);
        self.call("course_states", ctx, args, none)
    }

    fn apply(
        &self,
        ctx: &AccessContext,
        evidence: &[&Evidence],
        states: &[(StateKey, StateValue)],
    ) -> impl Future<Output = Result<Vec<Appended>, MasteryError>> + Send {
        let count = evidence.len();
        let args = js(evidence).and_then(|e| Ok(vec![e, js(states)?]));
        self.call("apply", ctx, args, move |flags: &Vec<Appended>| match flags.len() == count {
            true => Ok(()),
            false => Err(store_error("`apply` returned a flag count other than the evidence count")),
        })
    }

    fn put_state(
        &self,
        ctx: &AccessContext,
        key: &StateKey,
        value: &StateValue,
    ) -> impl Future<Output = Result<(), MasteryError>> + Send {
        let args = js(key).and_then(|k| Ok(vec![k, js(value)?]));
        let call: Call<serde_json::Value> = self.call("put_state", ctx, args, none);
        async move { call.await.map(drop) }
    }
}

/// The engine over an async JS store: `ingest` and the reads as promises.
#[wasm_bindgen]
pub struct AsyncEngine {
    inner: Rc<core::engine::AsyncEngine<JsAsyncStore>>,
}

impl std::fmt::Debug for AsyncEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncEngine").finish_non_exhaustive()
    }
}

type Rules = core::Engine<SnapshotStore>;

impl AsyncEngine {
    /// A promise of `read`'s answer over the store, its arguments read first by `parse`.
    fn read<A: 'static, T: Serialize>(
        &self,
        parse: impl FnOnce() -> Result<(AccessContext, A), JsValue> + 'static,
        read: impl Fn(&Rules, &AccessContext, &A) -> core::Result<T> + 'static,
    ) -> Promise {
        let engine = Rc::clone(&self.inner);
        future_to_promise(async move {
            let (ctx, args) = parse()?;
            // Converted inside, behind `dyn`: one copy of the fetching loop serves every read.
            let answer = |rules: &Rules| {
                let answer = read(rules, &ctx, &args)?;
                to_js(&answer).map_err(|_| MasteryError::Internal { reason: "an answer could not be converted".into() })
            };
            let answer: &dyn Fn(&Rules) -> core::Result<JsValue> = &answer;
            engine.read(&ctx, answer).await.map_err(err)
        })
    }
}

#[wasm_bindgen]
impl AsyncEngine {
    /// An engine over `store` (a `MasteryAsyncStore`), with `Engine`'s options (streaks,
    /// achievements, framework, riskModel, riskBands).
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "MasteryAsyncStore")] store: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "EngineOptions | null")] options: Option<JsValue>,
    ) -> Result<AsyncEngine, JsValue> {
        let options: EngineOptions = optional(options, "options")?;
        let rules = options.configure(core::Engine::new(SnapshotStore))?;
        let store = JsAsyncStore { object: Registered::new(store, &ASYNC_STORE_METHODS)? };
        Ok(Self { inner: Rc::new(core::engine::AsyncEngine::new(rules, store)) })
    }

    /// Stores each record once and updates mastery, streaks and awards (one `apply`);
    /// refusals are reported by index, as `Engine.ingest`.
    #[wasm_bindgen(unchecked_return_type = "Promise<IngestOutcome>")]
    pub fn ingest(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Principal")] principal: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Evidence[]")] evidence: JsValue,
    ) -> Promise {
        let engine = Rc::clone(&self.inner);
        future_to_promise(async move {
            let ctx = context(&principal)?;
            let values: Vec<serde_json::Value> = data(&evidence, "evidence")?;
            let (rows, refused) = core::evidence::evidence_from_values(values);
            to_js(&engine.ingest_rows(&ctx, rows, refused).await)
        })
    }

    /// A learner's mastery in one course (or outside any), sorted by competency.
    #[wasm_bindgen(js_name = learnerStates, unchecked_return_type = "Promise<MasteryView[]>")]
    pub fn learner_states(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Principal")] principal: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] learner: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "string | null")] course: Option<JsValue>,
    ) -> Promise {
        let parse = move || Ok((context(&principal)?, learner_in(&learner, course)?));
        self.read(parse, |rules, ctx, (learner, course)| rules.learner_views(ctx, learner, course.as_ref()))
    }

    /// Every learner's mastery in a course: learner → views sorted by competency.
    #[wasm_bindgen(js_name = classStates, unchecked_return_type = "Promise<Record<string, MasteryView[]>>")]
    pub fn class_states(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Principal")] principal: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] course: JsValue,
    ) -> Promise {
        let parse = move || Ok((context(&principal)?, CourseId::new(text(&course, "course")?)));
        self.read(parse, |rules, ctx, course| rules.class_views(ctx, course))
    }

    /// A learner's mastery of one competency (in a course, or outside any), or `null`.
    #[wasm_bindgen(unchecked_return_type = "Promise<MasteryView | null>")]
    pub fn mastery(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Principal")] principal: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] learner: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] competency: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "string | null")] course: Option<JsValue>,
    ) -> Promise {
        let parse = move || {
            let competency = text(&competency, "competency")?;
            Ok((context(&principal)?, (learner_in(&learner, course)?, competency)))
        };
        self.read(parse, |rules, ctx, ((learner, course), competency)| {
            rules.mastery_view(ctx, learner, course.as_ref(), competency)
        })
    }

    /// A learner's streak in one course (or outside any) as of `now`. Needs `options.streaks`.
    #[wasm_bindgen(unchecked_return_type = "Promise<StreakStatus>")]
    pub fn streak(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Principal")] principal: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] learner: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] now: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "string | null")] course: Option<JsValue>,
    ) -> Promise {
        let parse = move || Ok((context(&principal)?, (learner_in(&learner, course)?, crate::instant(&now, "now")?)));
        self.read(parse, |rules, ctx, ((learner, course), now)| rules.streak(ctx, learner, course.as_ref(), *now))
    }

    /// A learner's awards in one course (or outside any). Needs `options.achievements`.
    #[wasm_bindgen(unchecked_return_type = "Promise<Award[]>")]
    pub fn awards(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Principal")] principal: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] learner: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "string | null")] course: Option<JsValue>,
    ) -> Promise {
        let parse = move || Ok((context(&principal)?, learner_in(&learner, course)?));
        self.read(parse, |rules, ctx, (learner, course)| rules.awards(ctx, learner, course.as_ref()))
    }

    /// A course's awards and revocations not acknowledged yet.
    #[wasm_bindgen(unchecked_return_type = "Promise<Award[]>")]
    pub fn outbox(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Principal")] principal: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] course: JsValue,
    ) -> Promise {
        let parse = move || Ok((context(&principal)?, CourseId::new(text(&course, "course")?)));
        self.read(parse, |rules, ctx, course| rules.outbox(ctx, course))
    }

    /// Takes delivered awards (by credential id) out of the outbox; resolves to how many.
    #[wasm_bindgen(js_name = acknowledgeAwards, unchecked_return_type = "Promise<number>")]
    pub fn acknowledge_awards(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Principal")] principal: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] learner: JsValue,
        #[wasm_bindgen(js_name = credentialIds, unchecked_param_type = "string[]")] credential_ids: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "string | null")] course: Option<JsValue>,
    ) -> Promise {
        let engine = Rc::clone(&self.inner);
        future_to_promise(async move {
            let ctx = context(&principal)?;
            let (learner, course) = learner_in(&learner, course)?;
            let ids: Vec<String> = data(&credential_ids, "credential_ids")?;
            let taken = engine.acknowledge_awards(&ctx, &learner, course.as_ref(), &ids).await.map_err(err)?;
            Ok(JsValue::from(taken as u32))
        })
    }

    /// Revokes a learner's award of `achievement` with a reason; resolves to how many it revoked.
    #[wasm_bindgen(js_name = revokeAward, unchecked_return_type = "Promise<number>")]
    pub fn revoke_award(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Principal")] principal: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] learner: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] achievement: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] reason: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "string | null")] course: Option<JsValue>,
    ) -> Promise {
        let engine = Rc::clone(&self.inner);
        future_to_promise(async move {
            let ctx = context(&principal)?;
            let (learner, course) = learner_in(&learner, course)?;
            let achievement = text(&achievement, "achievement")?;
            let reason = text(&reason, "reason")?;
            let revoked =
                engine.revoke_award(&ctx, &learner, course.as_ref(), &achievement, &reason).await.map_err(err)?;
            Ok(JsValue::from(revoked as u32))
        })
    }

    /// The badge gallery of a learner in one course (or outside any) as of `now`.
    #[wasm_bindgen(js_name = badgeGallery, unchecked_return_type = "Promise<GalleryItem[]>")]
    pub fn badge_gallery(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Principal")] principal: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] learner: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] now: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "string | null")] course: Option<JsValue>,
    ) -> Promise {
        let parse = move || Ok((context(&principal)?, (learner_in(&learner, course)?, crate::instant(&now, "now")?)));
        self.read(parse, |rules, ctx, ((learner, course), now)| {
            rules.badge_gallery(ctx, learner, course.as_ref(), *now)
        })
    }

    /// A learner's dashboard of one course (or outside any) at `at`, as `Engine.learnerDashboard`.
    #[wasm_bindgen(js_name = learnerDashboard, unchecked_return_type = "Promise<LearnerDashboard>")]
    pub fn learner_dashboard(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Principal")] principal: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] learner: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] at: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "string | null")] course: Option<JsValue>,
    ) -> Promise {
        let parse = move || Ok((context(&principal)?, (learner_in(&learner, course)?, crate::instant(&at, "at")?)));
        self.read(parse, |rules, ctx, ((learner, course), at)| {
            rules.learner_dashboard(ctx, learner, course.as_ref(), *at)
        })
    }

    /// A class's dashboard at `at`, as `Engine.classDashboard`.
    #[wasm_bindgen(js_name = classDashboard, unchecked_return_type = "Promise<ClassDashboard>")]
    pub fn class_dashboard(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Principal")] principal: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] course: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] at: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "ClassDashboardOptions | null")] options: Option<JsValue>,
    ) -> Promise {
        let parse = move || {
            let course = CourseId::new(text(&course, "course")?);
            let options: core::engine::ClassDashboardOptions = optional(options, "options")?;
            Ok((context(&principal)?, (course, crate::instant(&at, "at")?, options)))
        };
        self.read(parse, |rules, ctx, (course, at, options)| rules.class_dashboard(ctx, course, *at, options))
    }

    /// The class's learners at risk at `at`, highest score first, each with `top` reasons.
    #[wasm_bindgen(js_name = atRisk, unchecked_return_type = "Promise<Alert[]>")]
    pub fn at_risk(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Principal")] principal: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] course: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] at: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "number | null")] top: Option<JsValue>,
    ) -> Promise {
        let parse = move || {
            let course = CourseId::new(text(&course, "course")?);
            let top = top_of(top)?;
            Ok((context(&principal)?, (course, crate::instant(&at, "at")?, top)))
        };
        self.read(parse, |rules, ctx, (course, at, top)| rules.at_risk(ctx, course, *at, *top))
    }

    /// Scores the class as `atRisk` does and records each learner's band and score (one
    /// `apply` of states), as `Engine.recordRisk`.
    #[wasm_bindgen(js_name = recordRisk, unchecked_return_type = "Promise<Alert[]>")]
    pub fn record_risk(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Principal")] principal: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] course: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] at: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "number | null")] top: Option<JsValue>,
    ) -> Promise {
        let engine = Rc::clone(&self.inner);
        future_to_promise(async move {
            let ctx = context(&principal)?;
            let course = CourseId::new(text(&course, "course")?);
            let at = crate::instant(&at, "at")?;
            let top = top_of(top)?;
            to_js(&engine.record_risk(&ctx, &course, at, top).await.map_err(err)?)
        })
    }

    /// The class heatmap of a course (learners × `competencies`), as `Engine.classHeatmap`.
    #[wasm_bindgen(js_name = classHeatmap, unchecked_return_type = "Promise<Heatmap>")]
    pub fn class_heatmap(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Principal")] principal: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] course: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Label[]")] competencies: JsValue,
    ) -> Promise {
        let parse = move || {
            let course = CourseId::new(text(&course, "course")?);
            let competencies: Vec<core::dashboard::Label> = data(&competencies, "competencies")?;
            Ok((context(&principal)?, (course, competencies)))
        };
        self.read(parse, |rules, ctx, (course, competencies)| rules.class_heatmap(ctx, course, competencies))
    }

    /// Every learner's streak in a course as of `now`: learner → status.
    #[wasm_bindgen(js_name = classStreaks, unchecked_return_type = "Promise<Record<string, StreakStatus>>")]
    pub fn class_streaks(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Principal")] principal: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] course: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] now: JsValue,
    ) -> Promise {
        let parse =
            move || Ok((context(&principal)?, (CourseId::new(text(&course, "course")?), crate::instant(&now, "now")?)));
        self.read(parse, |rules, ctx, (course, now)| rules.class_streaks(ctx, course, *now))
    }

    /// A learner's streak with its explained calendar, as `Engine.streakReport`.
    #[wasm_bindgen(js_name = streakReport, unchecked_return_type = "Promise<StreakReport>")]
    pub fn streak_report(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Principal")] principal: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] learner: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] now: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "string | null")] course: Option<JsValue>,
    ) -> Promise {
        let parse = move || Ok((context(&principal)?, (learner_in(&learner, course)?, crate::instant(&now, "now")?)));
        self.read(parse, |rules, ctx, ((learner, course), now)| {
            rules.streak_report(ctx, learner, course.as_ref(), *now)
        })
    }

    /// Every learner's risk features in a course at `at`, as `Engine.riskFeatures`.
    #[wasm_bindgen(js_name = riskFeatures, unchecked_return_type = "Promise<{ learner: string; features: Record<string, number> }[]>")]
    pub fn risk_features(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Principal")] principal: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] course: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] at: JsValue,
    ) -> Promise {
        let parse =
            move || Ok((context(&principal)?, (CourseId::new(text(&course, "course")?), crate::instant(&at, "at")?)));
        self.read(parse, |rules, ctx, (course, at)| {
            let names = rules.risk_feature_names();
            let rows = rules.risk_features(ctx, course, *at)?;
            Ok(rows
                .into_iter()
                .map(|(learner, row)| crate::engine::FeatureRow::new(learner, &names, row))
                .collect::<Vec<_>>())
        })
    }
}

/// A learner id and an optional course, as the reads take them.
fn learner_in(learner: &JsValue, course: Option<JsValue>) -> Result<(UserId, Option<CourseId>), JsValue> {
    Ok((UserId::new(text(learner, "learner")?), opt_text(course, "course")?.map(CourseId::new)))
}
