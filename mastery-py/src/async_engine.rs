//! The core of `mastery.AsyncEngine`: the core's `AsyncEngine` over a store written in Python
//! whose methods may be coroutines (an asyncpg pool, SQLAlchemy's `AsyncSession`, an HTTP client).
//!
//! The engine's futures run here; the awaiting happens in Python. `AsyncEngineCore.start(op, ...)`
//! gives a [`Call`]; Python's driver (`mastery/engine.py`) polls it: the call either finishes, asks
//! for one store method (its name and arguments as plain data), or waits for a lock another call
//! holds (then it is woken through the callable the driver passed). The driver awaits the store
//! method and hands its answer (or exception) back with `answer` / `fail`.
//!
//! Each store request goes to the call being polled: a thread-local names it for the length of
//! one poll, so concurrent calls on one event loop never see each other's answers.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Wake, Waker};

use mastery_core as core;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use core::engine::{AsyncEngine, AsyncStore, SnapshotStore, ASYNC_STORE_METHODS};
use core::store::StateValue;
use core::{AccessContext, Appended, CourseId, Evidence, MasteryError, Principal, StateKey, UserId};

use crate::convert::{count, data, opt_text, text, to_python};
use crate::engine::{failure, feature_rows, Rules};
use crate::error::{guard, invalid, IntoPyResult};

type Arg<'py> = Bound<'py, PyAny>;
type R<T> = Result<T, MasteryError>;
/// A finished call's answer, converted to Python with its own type (so NaN stays NaN).
type Answer = Box<dyn FnOnce(Python<'_>) -> PyResult<Py<PyAny>> + Send>;
type Running = Pin<Box<dyn Future<Output = R<Answer>> + Send>>;

/// One store request and its answer, between a call's futures and the Python driver.
#[derive(Default)]
struct Exchange {
    asked: Option<(&'static str, Vec<Value>)>,
    answer: Option<R<Value>>,
}

thread_local! {
    /// The exchange of the call being polled on this thread.
    static POLLING: RefCell<Option<Arc<Mutex<Exchange>>>> = const { RefCell::new(None) };
}

fn lock(exchange: &Mutex<Exchange>) -> std::sync::MutexGuard<'_, Exchange> {
    exchange.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A store method asked of the driver: pending until its answer is handed back.
struct Ask {
    request: Option<(&'static str, Vec<Value>)>,
    exchange: Option<Arc<Mutex<Exchange>>>,
}

impl Future for Ask {
    type Output = R<Value>;

    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<R<Value>> {
        if let Some(exchange) = &self.exchange {
            return match lock(exchange).answer.take() {
                Some(answer) => Poll::Ready(answer),
                None => Poll::Pending,
            };
        }
        let Some(exchange) = POLLING.with(|p| p.borrow().clone()) else {
            return Poll::Ready(Err(MasteryError::Internal { reason: "a store call outside an engine call".into() }));
        };
        lock(&exchange).asked = self.request.take();
        self.exchange = Some(exchange);
        Poll::Pending
    }
}

/// The store as the driver sees it: requests by name with plain-data arguments.
pub struct PyAsyncStore;

fn plain<T: Serialize + ?Sized>(value: &T) -> R<Value> {
    serde_json::to_value(value).map_err(|_| MasteryError::Internal { reason: "a store argument is not data".into() })
}

impl PyAsyncStore {
    /// Asks `method(ctx, ...args)`; the answer read as `T`, checked by `check`.
    fn ask<T: DeserializeOwned>(
        method: &'static str,
        ctx: &AccessContext,
        args: R<Vec<Value>>,
        check: impl FnOnce(&T) -> R<()> + Send,
    ) -> impl Future<Output = R<T>> + Send {
        let request = plain(ctx).and_then(|ctx| {
            let mut all = vec![ctx];
            all.extend(args?);
            Ok(all)
        });
        async move {
            let answer = Ask { request: Some((method, request?)), exchange: None }.await?;
            let answer: T = serde_json::from_value(answer).map_err(|e| MasteryError::Store {
                reason: format!(
                    "store.{method} returned a value of the wrong shape: {}",
                    crate::convert::shape(&e.to_string())
                ),
            })?;
            check(&answer)?;
            Ok(answer)
        }
    }
}

fn counted<T>(method: &'static str, expected: usize) -> impl FnOnce(&Vec<T>) -> R<()> + Send {
    move |items| match items.len() == expected {
        true => Ok(()),
        false => Err(MasteryError::Store {
            reason: format!("store.{method} returned {} items for {expected} requested", items.len()),
        }),
    }
}

fn any<T>(_: &T) -> R<()> {
    Ok(())
}

impl AsyncStore for PyAsyncStore {
    type Error = MasteryError;

    fn get_states(
        &self,
        ctx: &AccessContext,
        keys: &[StateKey],
    ) -> impl Future<Output = R<Vec<Option<StateValue>>>> + Send {
        Self::ask("get_states", ctx, plain(keys).map(|k| vec![k]), counted("get_states", keys.len()))
    }

    fn learner_evidence(&self, ctx: &AccessContext, learner: &UserId) -> impl Future<Output = R<Vec<Evidence>>> + Send {
        Self::ask("learner_evidence", ctx, plain(learner).map(|l| vec![l]), any)
    }

    fn learner_states(
        &self,
        ctx: &AccessContext,
        learner: &UserId,
        namespace: &str,
    ) -> impl Future<Output = R<Vec<(StateKey, StateValue)>>> + Send {
        Self::ask("learner_states", ctx, plain(learner).map(|l| vec![l, Value::from(namespace)]), any)
    }

    fn course_states(
        &self,
        ctx: &AccessContext,
        course: &CourseId,
        namespace: &str,
    ) -> impl Future<Output = R<Vec<(StateKey, StateValue)>>> + Send {
        Self::ask("course_states", ctx, plain(course).map(|c| vec![c, Value::from(namespace)]), any)
    }

    fn apply(
        &self,
        ctx: &AccessContext,
        evidence: &[&Evidence],
        states: &[(StateKey, StateValue)],
    ) -> impl Future<Output = R<Vec<Appended>>> + Send {
        let args = plain(evidence).and_then(|e| Ok(vec![e, plain(states)?]));
        Self::ask("apply", ctx, args, counted("apply", evidence.len()))
    }

    fn put_state(&self, ctx: &AccessContext, key: &StateKey, value: &StateValue) -> impl Future<Output = R<()>> + Send {
        let args = plain(key).and_then(|k| Ok(vec![k, plain(value)?]));
        let asked = Self::ask::<Value>("put_state", ctx, args, any);
        async move { asked.await.map(drop) }
    }
}

/// Wakes the driver through the callable it passed (e.g. `loop.call_soon_threadsafe(event.set)`).
struct Wakeup(Py<PyAny>);

impl Wake for Wakeup {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // A failing wake-up leaves the driver waiting; it has nothing to report to.
        Python::attach(|py| drop(self.0.call0(py)));
    }
}

/// One engine call in flight (see the module docs).
#[pyclass(module = "mastery._mastery", frozen)]
pub struct Call {
    running: Mutex<Option<Running>>,
    exchange: Arc<Mutex<Exchange>>,
}

#[pymethods]
impl Call {
    /// Runs the call until it finishes (`("done", answer)`), asks for a store method
    /// (`("ask", method, args)`) or waits for another call (`("wait",)`; `wake()` is called when
    /// it may go on). Raises `MasteryError` when the call failed.
    fn poll<'py>(&self, py: Python<'py>, wake: Py<PyAny>) -> PyResult<Bound<'py, PyTuple>> {
        guard(py, || {
            let mut slot = self.running.lock().unwrap_or_else(PoisonError::into_inner);
            let Some(running) = slot.as_mut() else {
                return Err(invalid(py, "call", "has finished"));
            };
            let waker = Waker::from(Arc::new(Wakeup(wake)));
            POLLING.with(|p| *p.borrow_mut() = Some(Arc::clone(&self.exchange)));
            let polled = running.as_mut().poll(&mut Context::from_waker(&waker));
            POLLING.with(|p| p.borrow_mut().take());
            match polled {
                Poll::Ready(answer) => {
                    *slot = None;
                    let answer = answer.py_err(py)?(py)?;
                    PyTuple::new(py, [pyo3::intern!(py, "done").clone().into_any().unbind(), answer])
                }
                Poll::Pending => match lock(&self.exchange).asked.take() {
                    Some((method, args)) => {
                        let args: Vec<Bound<'py, PyAny>> =
                            args.iter().map(|a| to_python(py, a)).collect::<PyResult<_>>()?;
                        let items: Vec<Bound<'py, PyAny>> = vec![
                            pyo3::intern!(py, "ask").clone().into_any(),
                            method.into_pyobject(py)?.into_any(),
                            PyTuple::new(py, args)?.into_any(),
                        ];
                        PyTuple::new(py, items)
                    }
                    None => PyTuple::new(py, [pyo3::intern!(py, "wait")]),
                },
            }
        })
    }

    /// Hands the store method's answer to the call.
    fn answer(&self, py: Python<'_>, method: &str, value: &Arg<'_>) -> PyResult<()> {
        guard(py, || {
            let answer = data::<Value>(value, &format!("store.{method}")).map_err(|_| MasteryError::Store {
                reason: format!("store.{method} returned a value that is not data"),
            });
            lock(&self.exchange).answer = Some(answer);
            Ok(())
        })
    }

    /// Hands the store method's exception to the call: a `store_error` naming the method and
    /// the exception's class and message.
    fn fail(&self, py: Python<'_>, method: &str, error: &Arg<'_>) -> PyResult<()> {
        guard(py, || {
            let failed = failure(py, method, PyErr::from_value(error.clone()));
            lock(&self.exchange).answer = Some(Err(failed));
            Ok(())
        })
    }
}

impl std::fmt::Debug for Call {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Call")
    }
}

/// The engine's rules and the async store: what `mastery.AsyncEngine` drives.
#[pyclass(module = "mastery._mastery", frozen)]
pub struct AsyncEngineCore {
    inner: Arc<AsyncEngine<PyAsyncStore>>,
}

/// The synchronous engine's rules, which the async engine runs over what it fetched.
type EngineRules = core::Engine<SnapshotStore>;

impl std::fmt::Debug for AsyncEngineCore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AsyncEngineCore")
    }
}

/// A running read or write over the engine, its answer converted with its own type.
fn running<T: Serialize + Send + 'static>(future: impl Future<Output = R<T>> + Send + 'static) -> Running {
    Box::pin(async move {
        let answer = future.await?;
        Ok(Box::new(move |py: Python<'_>| to_python(py, &answer).map(Bound::unbind)) as Answer)
    })
}

/// A running read: `read` over the engine's rules, fetching what it lacks.
fn reading<T: Serialize + Send + 'static>(
    engine: &Arc<AsyncEngine<PyAsyncStore>>,
    ctx: AccessContext,
    read: impl Fn(&EngineRules, &AccessContext) -> core::Result<T> + Send + Sync + 'static,
) -> Running {
    let engine = Arc::clone(engine);
    running(async move { engine.read(&ctx, |rules| read(rules, &ctx)).await })
}

fn arg<'py>(args: &Bound<'py, PyDict>, name: &str) -> PyResult<Option<Bound<'py, PyAny>>> {
    Ok(args.get_item(name)?.filter(|a| !a.is_none()))
}

fn required<'py>(args: &Bound<'py, PyDict>, name: &str) -> PyResult<Bound<'py, PyAny>> {
    arg(args, name)?.ok_or_else(|| invalid(args.py(), name, "is required"))
}

#[pymethods]
impl AsyncEngineCore {
    #[new]
    #[pyo3(signature = (store, streaks=None, achievements=None, framework=None, risk_model=None, risk_bands=None))]
    fn new(
        py: Python<'_>,
        store: &Arg<'_>,
        streaks: Option<&Arg<'_>>,
        achievements: Option<&Arg<'_>>,
        framework: Option<&Arg<'_>>,
        risk_model: Option<&Arg<'_>>,
        risk_bands: Option<&Arg<'_>>,
    ) -> PyResult<Self> {
        guard(py, || {
            for name in ASYNC_STORE_METHODS {
                if !store.getattr(name).map(|m| m.is_callable()).unwrap_or(false) {
                    return Err(invalid(py, "store", format!("has no method {name} (see mastery.AsyncMasteryStore)")));
                }
            }
            let rules = Rules::read(py, streaks, achievements, framework, risk_model, risk_bands)?;
            let rules = rules.apply(py, core::Engine::new(SnapshotStore))?;
            Ok(Self { inner: Arc::new(AsyncEngine::new(rules, PyAsyncStore)) })
        })
    }

    /// Starts `op` as `principal` with `args` (the keyword arguments of the matching
    /// `mastery.Engine` method); bad arguments raise `MasteryError` here.
    fn start(&self, py: Python<'_>, op: &str, principal: &Arg<'_>, args: &Bound<'_, PyDict>) -> PyResult<Call> {
        guard(py, || {
            let ctx = AccessContext::new(data::<Principal>(principal, "principal")?);
            let engine = &self.inner;
            let learner = || -> PyResult<UserId> { Ok(UserId::new(&text(&required(args, "learner")?, "learner")?)) };
            let course = || -> PyResult<Option<CourseId>> {
                Ok(opt_text(arg(args, "course")?.as_ref(), "course")?.map(CourseId::new))
            };
            let required_course =
                || -> PyResult<CourseId> { Ok(CourseId::new(&text(&required(args, "course")?, "course")?)) };
            let instant = |name: &str| -> PyResult<core::time::Instant> {
                core::time::parse_instant(&text(&required(args, name)?, name)?, name).py_err(py)
            };
            let top = || -> PyResult<usize> { arg(args, "top")?.map_or(Ok(3), |t| count(&t, "top")) };
            let running = match op {
                "ingest" => {
                    let (rows, refused) = crate::convert::evidence_rows(&required(args, "evidence")?, "evidence")?;
                    let engine = Arc::clone(engine);
                    running(async move { Ok(engine.ingest_rows(&ctx, rows, refused).await) })
                }
                "learner_states" => {
                    let (learner, course) = (learner()?, course()?);
                    reading(engine, ctx, move |r, c| r.learner_views(c, &learner, course.as_ref()))
                }
                "class_states" => {
                    let course = required_course()?;
                    reading(engine, ctx, move |r, c| r.class_views(c, &course))
                }
                "class_heatmap" => {
                    let course = required_course()?;
                    let competencies: Vec<core::dashboard::Label> =
                        data(&required(args, "competencies")?, "competencies")?;
                    reading(engine, ctx, move |r, c| r.class_heatmap(c, &course, &competencies))
                }
                "mastery" => {
                    let (learner, course) = (learner()?, course()?);
                    let competency = text(&required(args, "competency")?, "competency")?.into_owned();
                    reading(engine, ctx, move |r, c| r.mastery_view(c, &learner, course.as_ref(), &competency))
                }
                "streak" | "streak_report" | "badge_gallery" | "learner_dashboard" => {
                    let (learner, course) = (learner()?, course()?);
                    let now = instant(if op == "learner_dashboard" { "at" } else { "now" })?;
                    match op {
                        "streak" => reading(engine, ctx, move |r, c| r.streak(c, &learner, course.as_ref(), now)),
                        "streak_report" => {
                            reading(engine, ctx, move |r, c| r.streak_report(c, &learner, course.as_ref(), now))
                        }
                        "badge_gallery" => {
                            reading(engine, ctx, move |r, c| r.badge_gallery(c, &learner, course.as_ref(), now))
                        }
                        _ => reading(engine, ctx, move |r, c| r.learner_dashboard(c, &learner, course.as_ref(), now)),
                    }
                }
                "class_streaks" => {
                    let (course, now) = (required_course()?, instant("now")?);
                    reading(engine, ctx, move |r, c| r.class_streaks(c, &course, now))
                }
                "awards" => {
                    let (learner, course) = (learner()?, course()?);
                    reading(engine, ctx, move |r, c| r.awards(c, &learner, course.as_ref()))
                }
                "outbox" => {
                    let course = required_course()?;
                    reading(engine, ctx, move |r, c| r.outbox(c, &course))
                }
                "class_dashboard" => {
                    let (course, at) = (required_course()?, instant("at")?);
                    let options: core::engine::ClassDashboardOptions =
                        crate::convert::data_or_default(arg(args, "options")?.as_ref(), "options")?;
                    reading(engine, ctx, move |r, c| r.class_dashboard(c, &course, at, &options))
                }
                "at_risk" => {
                    let (course, at, top) = (required_course()?, instant("at")?, top()?);
                    reading(engine, ctx, move |r, c| r.at_risk(c, &course, at, top))
                }
                "risk_features" => {
                    let (course, at) = (required_course()?, instant("at")?);
                    let engine = Arc::clone(engine);
                    Box::pin(async move {
                        let rows = engine.read(&ctx, |r| r.risk_features(&ctx, &course, at)).await?;
                        let names = engine.rules().risk_feature_names();
                        Ok(Box::new(move |py: Python<'_>| feature_rows(py, &names, rows)) as Answer)
                    })
                }
                "record_risk" => {
                    let (course, at, top) = (required_course()?, instant("at")?, top()?);
                    let engine = Arc::clone(engine);
                    running(async move { engine.record_risk(&ctx, &course, at, top).await })
                }
                "acknowledge_awards" => {
                    let (learner, course) = (learner()?, course()?);
                    let ids: Vec<String> = data(&required(args, "credential_ids")?, "credential_ids")?;
                    let engine = Arc::clone(engine);
                    running(async move { engine.acknowledge_awards(&ctx, &learner, course.as_ref(), &ids).await })
                }
                "revoke_award" => {
                    let (learner, course) = (learner()?, course()?);
                    let achievement = text(&required(args, "achievement")?, "achievement")?.into_owned();
                    let reason = text(&required(args, "reason")?, "reason")?.into_owned();
                    let engine = Arc::clone(engine);
                    running(
                        async move { engine.revoke_award(&ctx, &learner, course.as_ref(), &achievement, &reason).await },
                    )
                }
                _ => return Err(invalid(py, "op", format!("is not an engine operation: {op}"))),
            };
            Ok(Call { running: Mutex::new(Some(running)), exchange: Arc::default() })
        })
    }
}
