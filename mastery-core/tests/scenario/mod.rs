//! Scenario fixtures: a sequence of steps, each as a principal, against the engine. Run against
//! the embedded store and against `HostStore`, a store written the way a host would write one:
//! plain collections and no access checks of its own (the engine checks the policy before every
//! call; a database would add row-level security behind it). Both must give the same results.

use std::collections::BTreeMap;
use std::sync::Mutex;

use mastery_core::dashboard::Label;
use mastery_core::store::StateValue;
use mastery_core::{
    AccessContext, Appended, CourseId, DynStore, Engine, Evidence, MasteryError, MemoryStore, Principal, StateKey,
    Store, TenantId, UserId,
};
use serde_json::{json, Value};

type R<T> = Result<T, MasteryError>;

/// A host's store: everything in two collections, scoped by tenant, no policy of its own.
#[derive(Default)]
pub struct HostStore {
    evidence: Mutex<Vec<(TenantId, Evidence)>>,
    states: Mutex<BTreeMap<(TenantId, StateKey), StateValue>>,
}

impl HostStore {
    fn stored(&self, tenant: &TenantId, e: &Evidence) -> bool {
        let all = self.evidence.lock().unwrap();
        all.iter().any(|(t, x)| t == tenant && x.learner == e.learner && x.id == e.id)
    }
}

impl Store for HostStore {
    type Error = MasteryError;

    fn append_evidence(&self, ctx: &AccessContext, evidence: &Evidence) -> R<Appended> {
        Ok(self.apply(ctx, &[evidence], &[])?[0])
    }

    fn apply(
        &self,
        ctx: &AccessContext,
        evidence: &[&Evidence],
        states: &[(StateKey, StateValue)],
    ) -> R<Vec<Appended>> {
        let tenant = ctx.tenant();
        let mut flags = Vec::new();
        for (i, e) in evidence.iter().enumerate() {
            let repeated = evidence[..i].iter().any(|x| x.learner == e.learner && x.id == e.id);
            flags.push(if repeated || self.stored(tenant, e) { Appended::Duplicate } else { Appended::New });
        }
        if flags.contains(&Appended::Duplicate) {
            return Ok(flags);
        }
        self.evidence.lock().unwrap().extend(evidence.iter().map(|e| (tenant.clone(), (*e).clone())));
        let mut all = self.states.lock().unwrap();
        for (k, v) in states {
            all.insert((tenant.clone(), k.clone()), v.clone());
        }
        Ok(flags)
    }

    fn known_evidence(&self, ctx: &AccessContext, evidence: &[&Evidence]) -> R<Vec<bool>> {
        Ok(evidence.iter().map(|e| self.stored(ctx.tenant(), e)).collect())
    }

    fn learner_evidence(&self, ctx: &AccessContext, learner: &UserId) -> R<Vec<Evidence>> {
        let tenant = ctx.tenant();
        let visible: Vec<Evidence> = self
            .evidence
            .lock()
            .unwrap()
            .iter()
            .filter(|(t, e)| t == tenant && &e.learner == learner)
            .map(|(_, e)| e.clone())
            .collect();
        Ok(visible)
    }

    fn course_evidence(&self, ctx: &AccessContext, course: &CourseId) -> R<Vec<Evidence>> {
        let all = self.evidence.lock().unwrap();
        Ok(all
            .iter()
            .filter(|(t, e)| t == ctx.tenant() && e.course.as_ref() == Some(course))
            .map(|(_, e)| e.clone())
            .collect())
    }

    fn get_state(&self, ctx: &AccessContext, key: &StateKey) -> R<Option<StateValue>> {
        Ok(self.states.lock().unwrap().get(&(ctx.tenant().clone(), key.clone())).cloned())
    }

    fn put_state(&self, ctx: &AccessContext, key: &StateKey, value: &StateValue) -> R<()> {
        self.states.lock().unwrap().insert((ctx.tenant().clone(), key.clone()), value.clone());
        Ok(())
    }

    fn learner_states(&self, ctx: &AccessContext, learner: &UserId, namespace: &str) -> R<Vec<(StateKey, StateValue)>> {
        let tenant = ctx.tenant();
        let visible: Vec<(StateKey, StateValue)> = self
            .states
            .lock()
            .unwrap()
            .iter()
            .filter(|((t, k), _)| t == tenant && &k.learner == learner && k.namespace == namespace)
            .map(|((_, k), v)| (k.clone(), v.clone()))
            .collect();
        Ok(visible)
    }

    fn course_states(&self, ctx: &AccessContext, course: &CourseId, namespace: &str) -> R<Vec<(StateKey, StateValue)>> {
        let all = self.states.lock().unwrap();
        Ok(all
            .iter()
            .filter(|((t, k), _)| t == ctx.tenant() && k.course.as_ref() == Some(course) && k.namespace == namespace)
            .map(|((_, k), v)| (k.clone(), v.clone()))
            .collect())
    }
}

fn step(engine: &Engine<DynStore>, step: &Value) -> R<Value> {
    let principal: Principal = serde_json::from_value(step["as"].clone()).unwrap();
    let ctx = AccessContext::new(principal);
    let course = step.get("course").and_then(Value::as_str).map(CourseId::new);
    let learner = step.get("learner").and_then(Value::as_str).map(UserId::new);
    Ok(match step["do"].as_str().unwrap() {
        "ingest" => {
            let batch: Vec<Evidence> = serde_json::from_value(step["evidence"].clone()).unwrap();
            serde_json::to_value(engine.ingest(&ctx, &batch)).unwrap()
        }
        "learner_states" => json!(engine.learner_views(&ctx, &learner.unwrap(), course.as_ref())?),
        "class_states" => json!(engine.class_views(&ctx, &course.unwrap())?),
        "class_heatmap" => {
            let columns: Vec<Label> = serde_json::from_value(step["competencies"].clone())
                .map_err(|e| MasteryError::InvalidInput { field: "competencies".into(), reason: e.to_string() })?;
            json!(engine.class_heatmap(&ctx, &course.unwrap(), &columns)?)
        }
        "mastery" => {
            let competency = step["competency"].as_str().unwrap();
            json!(engine.mastery_view(&ctx, &learner.unwrap(), course.as_ref(), competency)?)
        }
        "streak" => json!(engine.streak(&ctx, &learner.unwrap(), course.as_ref(), now(step)?)?),
        "class_streaks" => json!(engine.class_streaks(&ctx, &course.unwrap(), now(step)?)?),
        "streak_report" => json!(engine.streak_report(&ctx, &learner.unwrap(), course.as_ref(), now(step)?)?),
        "awards" => json!(engine.awards(&ctx, &learner.unwrap(), course.as_ref())?),
        "outbox" => json!(engine.outbox(&ctx, &course.unwrap())?),
        "acknowledge_awards" => {
            let ids: Vec<String> = serde_json::from_value(step["credential_ids"].clone()).unwrap();
            json!(engine.acknowledge_awards(&ctx, &learner.unwrap(), course.as_ref(), &ids)?)
        }
        "revoke_award" => {
            let (achievement, reason) = (step["achievement"].as_str().unwrap(), step["reason"].as_str().unwrap());
            json!(engine.revoke_award(&ctx, &learner.unwrap(), course.as_ref(), achievement, reason)?)
        }
        "badge_gallery" => json!(engine.badge_gallery(&ctx, &learner.unwrap(), course.as_ref(), now(step)?)?),
        "learner_dashboard" => json!(engine.learner_dashboard(&ctx, &learner.unwrap(), course.as_ref(), at(step)?)?),
        "class_dashboard" => {
            let options = match step.get("options") {
                Some(options) => serde_json::from_value(options.clone()).unwrap(),
                None => Default::default(),
            };
            json!(engine.class_dashboard(&ctx, &course.unwrap(), at(step)?, &options)?)
        }
        "at_risk" => {
            let top = step.get("top").and_then(Value::as_u64).unwrap_or(3) as usize;
            json!(engine.at_risk(&ctx, &course.unwrap(), at(step)?, top)?)
        }
        "record_risk" => {
            let top = step.get("top").and_then(Value::as_u64).unwrap_or(3) as usize;
            json!(engine.record_risk(&ctx, &course.unwrap(), at(step)?, top)?)
        }
        "risk_features" => {
            let names = engine.risk_feature_names();
            let rows = engine.risk_features(&ctx, &course.unwrap(), at(step)?)?;
            let rows: Vec<Value> = rows
                .into_iter()
                .map(|(learner, row)| {
                    let features: serde_json::Map<String, Value> =
                        names.iter().cloned().zip(row.into_iter().map(|v| json!(v))).collect();
                    json!({"learner": learner, "features": features})
                })
                .collect();
            json!(rows)
        }
        other => panic!("unknown scenario step {other}"),
    })
}

fn now(step: &Value) -> R<mastery_core::time::Instant> {
    mastery_core::time::parse_instant(step["now"].as_str().unwrap_or_default(), "now")
}

fn at(step: &Value) -> R<mastery_core::time::Instant> {
    mastery_core::time::parse_instant(step["at"].as_str().unwrap_or_default(), "at")
}

/// The engine a scenario asks for (`input.engine.streaks`: a streak policy;
/// `input.engine.achievements`; `input.engine.framework`: CASE JSON text;
/// `input.engine.risk_model`: a risk model file).
fn engine(store: DynStore, input: &Value) -> Engine<DynStore> {
    let engine = Engine::new(store);
    let engine = match input.pointer("/engine/streaks") {
        Some(policy) => engine.with_streaks(serde_json::from_value(policy.clone()).unwrap()).unwrap(),
        None => engine,
    };
    let framework = input
        .pointer("/engine/framework")
        .map(|text| mastery_core::framework::Framework::from_case_json(text.as_str().unwrap()).unwrap());
    let engine = match input.pointer("/engine/achievements") {
        Some(list) => engine.with_awards(serde_json::from_value(list.clone()).unwrap(), framework.clone()).unwrap(),
        None => engine,
    };
    let engine = match framework {
        Some(framework) => engine.with_framework(framework),
        None => engine,
    };
    match input.pointer("/engine/risk_model") {
        Some(model) => {
            let model = mastery_core::risk::RiskModelFile::from_json(&model.to_string()).unwrap();
            engine.with_risk(model, None).unwrap()
        }
        None => engine,
    }
}

fn run_on(store: DynStore, input: &Value) -> Vec<Value> {
    let engine = engine(store, input);
    input["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| match step(&engine, s) {
            Ok(value) => json!({ "ok": value }),
            Err(e) => json!({ "error": {"code": e.code(), "field": e.field()} }),
        })
        .collect()
}

/// The scenario's results on the embedded store, after checking that a host-written store gives
/// the very same results.
pub fn run(input: &Value) -> Value {
    let embedded = run_on(Box::new(MemoryStore::new()), input);
    let host = run_on(Box::new(HostStore::default()), input);
    assert_eq!(embedded, host, "the host store and the embedded store disagree");
    Value::Array(embedded)
}
