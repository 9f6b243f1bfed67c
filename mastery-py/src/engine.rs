//! `mastery.Engine`: the stateful facade over the embedded store, a durable directory, or a store
//! written in Python (any object with the `mastery.MasteryStore` methods).
//!
//! Every engine call runs with the GIL released, so other Python threads keep working and a
//! Python store re-acquires it for each of its calls (an engine call that holds a learner lock
//! never waits for the GIL while another thread holds the GIL and waits for that lock).

use mastery_core as core;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};
use serde::de::DeserializeOwned;
use serde::Serialize;

use core::store::{StateValue, STORE_METHODS};
use core::{AccessContext, Appended, CourseId, DynStore, Evidence, MemoryStore, Principal, StateKey, Store, UserId};

use crate::convert::{data, opt_text, text, to_python};
use crate::error::{guard, invalid, IntoPyResult};

type Arg<'py> = Bound<'py, PyAny>;
type R<T> = Result<T, core::MasteryError>;

/// How state values cross into a Python store: as data (nested dicts, the default) or, when the
/// store declares `value_format = "json"`, as one compact JSON string per value (a store that only
/// keeps values, as most databases do in a JSON column, then never pays for nested dicts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueFormat {
    Data,
    Json,
}

impl ValueFormat {
    /// The store's `value_format` attribute: absent, `None` or `"data"`, or `"json"`.
    fn of(obj: &Arg<'_>) -> PyResult<Self> {
        let py = obj.py();
        let Ok(attr) = obj.getattr(pyo3::intern!(py, "value_format")) else {
            return Ok(Self::Data);
        };
        if attr.is_none() {
            return Ok(Self::Data);
        }
        match attr.cast::<PyString>().ok().and_then(|s| s.to_cow().ok()).as_deref() {
            Some("data") => Ok(Self::Data),
            Some("json") => Ok(Self::Json),
            _ => Err(invalid(py, "store", "value_format must be \"json\", \"data\" or absent")),
        }
    }
}

/// A store written in Python: each call takes the GIL, passes plain data (serde → Python) and
/// reads the result with the binding's safe readers. An exception, or a result of the wrong
/// shape, is `MasteryError::Store` (nothing is acknowledged unless `apply` returned).
pub struct PyStore {
    obj: Py<PyAny>,
    /// Whether the object has the optional `get_states` (one call per batch instead of one per key).
    batched_reads: bool,
    /// How state values cross (the store's `value_format`).
    values: ValueFormat,
    /// Whether the object versions its writes (`read_version` and `apply_since`), so engines in
    /// other processes over the same data cannot lose each other's updates.
    versioned: bool,
    /// Whether it has `hold_writes` and `release_writes`.
    holds: bool,
}

/// A Python failure inside a store method, in library terms: the method, the exception's class
/// and its message.
pub(crate) fn failure(py: Python<'_>, method: &str, error: PyErr) -> core::MasteryError {
    if error.is_instance_of::<crate::error::StoreConflict>(py) {
        return core::MasteryError::StoreConflict;
    }
    let kind = error.get_type(py).name().map(|n| n.to_string()).unwrap_or_else(|_| "Exception".into());
    let message = error.value(py).str().map(|s| s.to_string()).unwrap_or_default();
    let reason = if message.is_empty() {
        format!("store.{method} raised {kind}")
    } else {
        format!("store.{method} raised {kind}: {message}")
    };
    core::MasteryError::Store { reason }
}

/// One argument as plain Python data, serialised straight into Python objects (`pythonize`).
fn arg<'py, T: Serialize + ?Sized>(py: Python<'py>, value: &T) -> PyResult<Arg<'py>> {
    pythonize::pythonize(py, value).map_err(PyErr::from)
}

/// The Python strings of one store call: a batch's state keys and evidence records repeat their
/// field names, namespaces, courses, competencies and learners, so each distinct text becomes one
/// Python string (shared by every dict that holds it) instead of one per use.
struct Strings<'a, 'py> {
    py: Python<'py>,
    made: rustc_hash::FxHashMap<&'a str, Bound<'py, PyString>>,
}

impl<'a, 'py> Strings<'a, 'py> {
    fn new(py: Python<'py>) -> Self {
        Self::with_capacity(py, 0)
    }

    fn with_capacity(py: Python<'py>, capacity: usize) -> Self {
        Self { py, made: rustc_hash::FxHashMap::with_capacity_and_hasher(capacity, Default::default()) }
    }

    fn get(&mut self, text: &'a str) -> Bound<'py, PyString> {
        let py = self.py;
        self.made.entry(text).or_insert_with(|| PyString::new(py, text)).clone()
    }

    /// A key as the protocol passes it: `{"learner", "course", "namespace", "name"}`, `course`
    /// absent outside any course (what serde makes of a `StateKey`).
    fn key(&mut self, key: &'a StateKey) -> PyResult<Bound<'py, PyDict>> {
        let py = self.py;
        let dict = PyDict::new(py);
        dict.set_item(pyo3::intern!(py, "learner"), self.get(key.learner.as_str()))?;
        if let Some(course) = &key.course {
            dict.set_item(pyo3::intern!(py, "course"), self.get(course.as_str()))?;
        }
        dict.set_item(pyo3::intern!(py, "namespace"), self.get(key.namespace.as_str()))?;
        dict.set_item(pyo3::intern!(py, "name"), self.get(key.name.as_str()))?;
        Ok(dict)
    }

    /// Plain data (what serde makes of a record) as Python objects, every text through the cache.
    fn data(&mut self, value: &'a serde_json::Value) -> PyResult<Arg<'py>> {
        use serde_json::Value;
        let py = self.py;
        Ok(match value {
            Value::Null => py.None().into_bound(py),
            Value::Bool(b) => pyo3::types::PyBool::new(py, *b).to_owned().into_any(),
            Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
                (Some(i), _, _) => i.into_pyobject(py)?.into_any(),
                (None, Some(u), _) => u.into_pyobject(py)?.into_any(),
                (None, None, Some(f)) => pyo3::types::PyFloat::new(py, f).into_any(),
                _ => py.None().into_bound(py),
            },
            Value::String(s) => self.get(s).into_any(),
            Value::Array(items) => {
                let list = PyList::empty(py);
                for item in items {
                    list.append(self.data(item)?)?;
                }
                list.into_any()
            }
            Value::Object(map) => {
                let dict = PyDict::new(py);
                for (k, v) in map {
                    let v = match v {
                        // Ids do not repeat: not worth a cache entry.
                        Value::String(id) if k == "id" => PyString::new(py, id).into_any(),
                        v => self.data(v)?,
                    };
                    dict.set_item(self.get(k), v)?;
                }
                dict.into_any()
            }
        })
    }

    fn keys(&mut self, keys: &'a [StateKey]) -> PyResult<Arg<'py>> {
        let list = PyList::empty(self.py);
        for key in keys {
            list.append(self.key(key)?)?;
        }
        Ok(list.into_any())
    }
}

impl PyStore {
    /// Calls `method` with the GIL held and reads its result as `T`.
    fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        args: impl for<'py> FnOnce(Python<'py>) -> PyResult<Vec<Arg<'py>>>,
    ) -> R<T> {
        self.invoke(method, args, |result| data(result, &format!("store.{method}")))
    }

    /// Calls `method` with the GIL held; `read` reads its result.
    fn invoke<T>(
        &self,
        method: &str,
        args: impl for<'py> FnOnce(Python<'py>) -> PyResult<Vec<Arg<'py>>>,
        read: impl for<'py> FnOnce(&Arg<'py>) -> PyResult<T>,
    ) -> R<T> {
        Python::attach(|py| {
            let run = || -> PyResult<T> {
                let args = PyTuple::new(py, args(py)?)?;
                let result = self.obj.bind(py).call_method1(method, args)?;
                read(&result)
            };
            run().map_err(|e| failure(py, method, e))
        })
    }

    /// `invoke` for methods that answer one item per record.
    fn per_record<T>(
        &self,
        method: &str,
        expected: usize,
        args: impl for<'py> FnOnce(Python<'py>) -> PyResult<Vec<Arg<'py>>>,
        read: impl for<'py> FnOnce(&Arg<'py>) -> PyResult<Vec<T>>,
    ) -> R<Vec<T>> {
        let out: Vec<T> = self.invoke(method, args, read)?;
        if out.len() != expected {
            return Err(core::MasteryError::Store {
                reason: format!("store.{method} returned {} items for {expected} requested", out.len()),
            });
        }
        Ok(out)
    }

    /// A state value for the store: data, or JSON text when the store asked for it.
    fn value<'py>(&self, py: Python<'py>, value: &StateValue, buffer: &mut Vec<u8>) -> PyResult<Arg<'py>> {
        match self.values {
            ValueFormat::Data => arg(py, value),
            ValueFormat::Json => Ok(json_text(py, value, buffer)?.into_any()),
        }
    }

    /// `[[key, value], ...]`, as `apply` takes its states.
    fn entries<'py>(&self, py: Python<'py>, states: &[(StateKey, StateValue)]) -> PyResult<Arg<'py>> {
        let mut strings = Strings::with_capacity(py, 16 + states.len());
        let mut buffer = Vec::new();
        let list = PyList::empty(py);
        for (key, value) in states {
            let key = strings.key(key)?.into_any();
            let value = self.value(py, value, &mut buffer)?;
            list.append(PyList::new(py, [key, value])?)?;
        }
        Ok(list.into_any())
    }

    /// A state value from the store. With `value_format = "json"` it is JSON text (data is read
    /// too, for a value the store did not get from the engine).
    fn read_value(&self, item: &Arg<'_>, method: &str) -> PyResult<StateValue> {
        if self.values == ValueFormat::Json {
            if let Ok(s) = item.cast::<PyString>() {
                return from_json_text(s, &format!("store.{method}"));
            }
        }
        data(item, &format!("store.{method}"))
    }

    /// The items of a list (or tuple) result.
    fn items<'py>(result: &Arg<'py>, method: &str) -> PyResult<Vec<Arg<'py>>> {
        if let Ok(list) = result.cast::<PyList>() {
            return Ok((0..list.len()).filter_map(|i| list.get_item(i).ok()).collect());
        }
        if let Ok(tuple) = result.cast::<PyTuple>() {
            return Ok(tuple.iter().collect());
        }
        Err(invalid(result.py(), &format!("store.{method}"), "must be a list"))
    }

    /// `get_state`'s and `get_states`' answers.
    fn read_values(&self, result: &Arg<'_>, method: &str) -> PyResult<Vec<Option<StateValue>>> {
        if self.values == ValueFormat::Data {
            return data(result, &format!("store.{method}"));
        }
        Self::items(result, method)?
            .iter()
            .map(|item| if item.is_none() { Ok(None) } else { self.read_value(item, method).map(Some) })
            .collect()
    }

    /// `learner_states`' and `course_states`' answers: `[key, value]` pairs.
    fn read_entries(&self, result: &Arg<'_>, method: &str) -> PyResult<Vec<(StateKey, StateValue)>> {
        if self.values == ValueFormat::Data {
            return data(result, &format!("store.{method}"));
        }
        Self::items(result, method)?
            .iter()
            .map(|pair| {
                let pair = Self::items(pair, method)?;
                let [key, value] = pair.as_slice() else {
                    return Err(invalid(result.py(), &format!("store.{method}"), "must hold [key, value] pairs"));
                };
                Ok((data(key, &format!("store.{method}"))?, self.read_value(value, method)?))
            })
            .collect()
    }
}

/// Evidence records for the store, a dict each: what serde makes of them, with the texts a batch
/// repeats (field names, learners, courses, competencies, kinds) made once per call. A store with
/// `value_format = "json"` gets `{"id", "learner", "course", "json"}` instead: the fields it
/// indexes by and the whole record as JSON text. That dict holds only strings, so CPython's
/// collector never tracks it (a nested `score` dict or `competencies` list would make every
/// stored record one more object each full collection walks).
fn evidence_list<'py>(py: Python<'py>, evidence: &[&Evidence], format: ValueFormat) -> PyResult<Arg<'py>> {
    if format == ValueFormat::Json {
        let mut strings = Strings::with_capacity(py, 16 + evidence.len());
        let mut buffer = Vec::new();
        let list = PyList::empty(py);
        for &record in evidence {
            list.append(evidence_row(py, record, &mut strings, &mut buffer)?)?;
        }
        return Ok(list.into_any());
    }
    let values = evidence
        .iter()
        .map(serde_json::to_value)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| crate::error::internal(py, e))?;
    let mut strings = Strings::with_capacity(py, 64 + values.len());
    let list = PyList::empty(py);
    for value in &values {
        list.append(strings.data(value)?)?;
    }
    Ok(list.into_any())
}

/// `value` as compact JSON text (serde_json into `buffer`, reused between calls).
fn json_text<'py>(py: Python<'py>, value: &impl Serialize, buffer: &mut Vec<u8>) -> PyResult<Bound<'py, PyString>> {
    buffer.clear();
    serde_json::to_writer(&mut *buffer, value).map_err(|e| crate::error::internal(py, e))?;
    let text = std::str::from_utf8(buffer).map_err(|e| crate::error::internal(py, e))?;
    Ok(PyString::new(py, text))
}

/// A value a store gave back as JSON text; bad text is `invalid_input` on `field`.
fn from_json_text<T: DeserializeOwned>(text: &Bound<'_, PyString>, field: &str) -> PyResult<T> {
    let py = text.py();
    let text = text.to_cow().map_err(|_| invalid(py, field, "is not valid Unicode text"))?;
    serde_json::from_str(&text).map_err(|e| invalid(py, field, crate::convert::shape(&e.to_string())))
}

/// One record as a `value_format = "json"` store gets it (see [`evidence_list`]).
fn evidence_row<'a, 'py>(
    py: Python<'py>,
    record: &'a Evidence,
    strings: &mut Strings<'a, 'py>,
    buffer: &mut Vec<u8>,
) -> PyResult<Arg<'py>> {
    let text = json_text(py, record, buffer)?;
    let dict = PyDict::new(py);
    dict.set_item(pyo3::intern!(py, "id"), PyString::new(py, record.id.as_str()))?;
    dict.set_item(pyo3::intern!(py, "learner"), strings.get(record.learner.as_str()))?;
    if let Some(course) = &record.course {
        dict.set_item(pyo3::intern!(py, "course"), strings.get(course.as_str()))?;
    }
    dict.set_item(pyo3::intern!(py, "json"), text)?;
    Ok(dict.into_any())
}

/// Evidence from the store: records as data, or (from a `value_format = "json"` store) the dicts
/// it was given, read from their `json` text, or the JSON text alone.
fn read_evidence(result: &Arg<'_>, method: &str, format: ValueFormat) -> PyResult<Vec<Evidence>> {
    let field = format!("store.{method}");
    if format == ValueFormat::Data {
        return data(result, &field);
    }
    let json = pyo3::intern!(result.py(), "json");
    PyStore::items(result, method)?
        .iter()
        .map(|item| {
            let text = match item.cast::<PyDict>() {
                Ok(dict) => dict.get_item(json)?,
                Err(_) => Some(item.clone()),
            };
            match text.as_ref().and_then(|t| t.cast::<PyString>().ok()) {
                Some(text) => from_json_text(text, &field),
                None => data(item, &field),
            }
        })
        .collect()
}

/// `apply`'s answer: `"new"` or `"duplicate"` per record.
fn appended(result: &Arg<'_>) -> PyResult<Vec<Appended>> {
    if let Ok(list) = result.cast::<PyList>() {
        let fast: Option<Vec<Appended>> = (0..list.len())
            .map(|i| {
                let item = list.get_item(i).ok()?;
                match item.cast::<PyString>().ok()?.to_cow().ok()?.as_ref() {
                    "new" => Some(Appended::New),
                    "duplicate" => Some(Appended::Duplicate),
                    _ => None,
                }
            })
            .collect();
        if let Some(out) = fast {
            return Ok(out);
        }
    }
    data(result, "store.apply")
}

impl Store for PyStore {
    type Error = core::MasteryError;

    fn apply(
        &self,
        ctx: &AccessContext,
        evidence: &[&Evidence],
        states: &[(StateKey, StateValue)],
    ) -> R<Vec<Appended>> {
        self.per_record(
            "apply",
            evidence.len(),
            |py| Ok(vec![arg(py, ctx)?, evidence_list(py, evidence, self.values)?, self.entries(py, states)?]),
            appended,
        )
    }

    fn read_version(&self, ctx: &AccessContext) -> R<Option<u64>> {
        if !self.versioned {
            return Ok(None);
        }
        self.call("read_version", |py| Ok(vec![arg(py, ctx)?]))
    }

    fn apply_since(
        &self,
        ctx: &AccessContext,
        since: u64,
        evidence: &[&Evidence],
        states: &[(StateKey, StateValue)],
    ) -> R<Vec<Appended>> {
        if !self.versioned {
            return self.apply(ctx, evidence, states);
        }
        self.per_record(
            "apply_since",
            evidence.len(),
            |py| {
                let since = since.into_pyobject(py)?.into_any();
                Ok(vec![arg(py, ctx)?, since, evidence_list(py, evidence, self.values)?, self.entries(py, states)?])
            },
            appended,
        )
    }

    fn hold_writes(&self, ctx: &AccessContext) -> R<bool> {
        if !self.holds {
            return Ok(false);
        }
        self.invoke("hold_writes", |py| Ok(vec![arg(py, ctx)?]), |result| result.is_truthy())
    }

    fn release_writes(&self, ctx: &AccessContext) -> R<()> {
        if !self.holds {
            return Ok(());
        }
        self.invoke("release_writes", |py| Ok(vec![arg(py, ctx)?]), |_| Ok(()))
    }

    fn known_evidence(&self, ctx: &AccessContext, evidence: &[&Evidence]) -> R<Vec<bool>> {
        self.per_record(
            "known_evidence",
            evidence.len(),
            |py| Ok(vec![arg(py, ctx)?, evidence_list(py, evidence, self.values)?]),
            |result| data(result, "store.known_evidence"),
        )
    }

    fn append_evidence(&self, ctx: &AccessContext, evidence: &Evidence) -> R<Appended> {
        self.call("append_evidence", |py| {
            let record = match self.values {
                ValueFormat::Data => arg(py, evidence)?,
                ValueFormat::Json => evidence_row(py, evidence, &mut Strings::new(py), &mut Vec::new())?,
            };
            Ok(vec![arg(py, ctx)?, record])
        })
    }

    fn learner_evidence(&self, ctx: &AccessContext, learner: &UserId) -> R<Vec<Evidence>> {
        self.invoke(
            "learner_evidence",
            |py| Ok(vec![arg(py, ctx)?, arg(py, learner)?]),
            |result| read_evidence(result, "learner_evidence", self.values),
        )
    }

    fn course_evidence(&self, ctx: &AccessContext, course: &CourseId) -> R<Vec<Evidence>> {
        self.invoke(
            "course_evidence",
            |py| Ok(vec![arg(py, ctx)?, arg(py, course)?]),
            |result| read_evidence(result, "course_evidence", self.values),
        )
    }

    fn get_state(&self, ctx: &AccessContext, key: &StateKey) -> R<Option<StateValue>> {
        self.invoke(
            "get_state",
            |py| Ok(vec![arg(py, ctx)?, Strings::new(py).key(key)?.into_any()]),
            |result| {
                if result.is_none() {
                    Ok(None)
                } else {
                    self.read_value(result, "get_state").map(Some)
                }
            },
        )
    }

    fn get_states(&self, ctx: &AccessContext, keys: &[StateKey]) -> R<Vec<Option<StateValue>>> {
        if !self.batched_reads {
            return keys.iter().map(|key| self.get_state(ctx, key)).collect();
        }
        self.per_record(
            "get_states",
            keys.len(),
            |py| Ok(vec![arg(py, ctx)?, Strings::with_capacity(py, 16 + keys.len()).keys(keys)?]),
            |result| self.read_values(result, "get_states"),
        )
    }

    fn put_state(&self, ctx: &AccessContext, key: &StateKey, value: &StateValue) -> R<()> {
        // Whatever it returns is ignored.
        self.invoke(
            "put_state",
            |py| {
                let key = Strings::new(py).key(key)?.into_any();
                Ok(vec![arg(py, ctx)?, key, self.value(py, value, &mut Vec::new())?])
            },
            |_| Ok(()),
        )
    }

    fn learner_states(&self, ctx: &AccessContext, learner: &UserId, namespace: &str) -> R<Vec<(StateKey, StateValue)>> {
        self.invoke(
            "learner_states",
            |py| Ok(vec![arg(py, ctx)?, arg(py, learner)?, arg(py, namespace)?]),
            |result| self.read_entries(result, "learner_states"),
        )
    }

    fn course_states(&self, ctx: &AccessContext, course: &CourseId, namespace: &str) -> R<Vec<(StateKey, StateValue)>> {
        self.invoke(
            "course_states",
            |py| Ok(vec![arg(py, ctx)?, arg(py, course)?, arg(py, namespace)?]),
            |result| self.read_entries(result, "course_states"),
        )
    }
}

/// The stateful engine: ingest evidence as a principal, read learner and class mastery.
///
/// `Engine()` keeps everything in memory; `Engine(path=dir)` keeps it durably in a directory
/// (which other engines, in this process or others, may open and write at the same time);
/// `Engine(store=obj)` uses a store written in Python (see `mastery.MasteryStore`). The engine
/// checks the access policy before every store call it makes for a caller.
///
/// >>> import mastery
/// >>> engine = mastery.Engine()
/// >>> service = {"tenant": "t1", "user": "importer", "roles": [{"role": "service"}]}
/// >>> evidence = [{"id": "e1", "learner": "amy", "course": "c1", "competencies": ["fractions"],
/// ...              "kind": "response", "score": {"scaled": 0.9}, "source": "host"}]
/// >>> engine.ingest(service, evidence)["new"]
/// 1
/// >>> engine.mastery(service, "amy", "fractions", "c1")["rating"]
/// 'Mastery'
/// >>> tutor = {"tenant": "t1", "user": "tia", "roles": [{"role": "instructor", "courses": ["c1"]}]}
/// >>> engine.class_heatmap(tutor, "c1", [{"id": "fractions", "label": "Fractions"}])["cells"][0][0]["text"]
/// '90%'
#[pyclass(module = "mastery", frozen, subclass)]
pub struct Engine {
    inner: core::Engine<DynStore>,
}

/// Learner data stays out of reprs.
impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Engine")
    }
}

/// An Arrow table-like object rather than a list of records.
fn is_arrow(object: &Arg<'_>) -> bool {
    !object.is_instance_of::<pyo3::types::PyList>()
        && (object.hasattr("__arrow_c_stream__").unwrap_or(false)
            || object.hasattr("__arrow_c_array__").unwrap_or(false))
}

fn context(principal: &Arg<'_>) -> PyResult<AccessContext> {
    data::<Principal>(principal, "principal").map(AccessContext::new)
}

/// A risk model from a `NativeRiskModel`, a fitted `RiskClassifier` (anything with `to_json`),
/// or the model file's JSON text.
fn risk_model_of(py: Python<'_>, model: &Arg<'_>) -> PyResult<core::risk::RiskModelFile> {
    if let Ok(native) = model.extract::<PyRef<'_, crate::risk::NativeRiskModel>>() {
        return Ok(native.inner.clone());
    }
    let json = match model.extract::<String>() {
        Ok(text) => text,
        Err(_) => match model.call_method0("to_json").and_then(|j| j.extract::<String>()) {
            Ok(text) => text,
            Err(_) => {
                return Err(invalid(
                    py,
                    "risk_model",
                    "must be a NativeRiskModel, a fitted RiskClassifier or model JSON",
                ))
            }
        },
    };
    core::risk::RiskModelFile::from_json(&json).py_err(py)
}

fn instant(py: Python<'_>, value: &Arg<'_>, field: &str) -> PyResult<core::time::Instant> {
    core::time::parse_instant(&text(value, field)?, field).py_err(py)
}

fn opt_course(course: Option<&Arg<'_>>) -> PyResult<Option<CourseId>> {
    Ok(opt_text(course, "course")?.map(CourseId::new))
}

/// `risk_features`' answer: one dict per learner, `learner` then each feature in the model's
/// order (NaN where unknown).
pub(crate) fn feature_rows(py: Python<'_>, names: &[String], rows: Vec<(String, Vec<f64>)>) -> PyResult<Py<PyAny>> {
    let out = PyList::empty(py);
    for (learner, row) in rows {
        let dict = PyDict::new(py);
        dict.set_item("learner", learner)?;
        for (name, value) in names.iter().zip(row) {
            dict.set_item(name, value)?;
        }
        out.append(dict)?;
    }
    Ok(out.into_any().unbind())
}

/// The engine's rules as `Engine(...)` and `AsyncEngine(...)` take them, read.
pub(crate) struct Rules {
    policy: Option<core::streak::StreakPolicy>,
    achievements: Option<Vec<core::credential::Achievement>>,
    framework: Option<core::Framework>,
    risk_model: Option<core::risk::RiskModelFile>,
    risk_bands: Option<core::risk::RiskBands>,
}

impl Rules {
    pub(crate) fn read(
        py: Python<'_>,
        streaks: Option<&Arg<'_>>,
        achievements: Option<&Arg<'_>>,
        framework: Option<&Arg<'_>>,
        risk_model: Option<&Arg<'_>>,
        risk_bands: Option<&Arg<'_>>,
    ) -> PyResult<Self> {
        fn given<'py>(a: Option<&Arg<'py>>) -> Option<Arg<'py>> {
            a.filter(|a| !a.is_none()).cloned()
        }
        let policy = given(streaks).map(|p| data::<core::streak::StreakPolicy>(&p, "streaks")).transpose()?;
        let achievements =
            given(achievements).map(|a| data::<Vec<core::credential::Achievement>>(&a, "achievements")).transpose()?;
        let framework = match given(framework) {
            Some(f) => match f.extract::<PyRef<'_, crate::Framework>>() {
                Ok(f) => Some(f.inner.clone()),
                Err(_) => return Err(invalid(py, "framework", "must be a mastery.Framework")),
            },
            None => None,
        };
        let risk_bands = match given(risk_bands) {
            Some(b) => Some(core::risk::RiskBands::new(data(&b, "risk_bands")?).py_err(py)?),
            None => None,
        };
        let risk_model = given(risk_model).map(|m| risk_model_of(py, &m)).transpose()?;
        Ok(Self { policy, achievements, framework, risk_model, risk_bands })
    }

    /// `inner` with these rules.
    pub(crate) fn apply<S: Store>(self, py: Python<'_>, inner: core::Engine<S>) -> PyResult<core::Engine<S>> {
        let mut inner = match self.policy {
            Some(policy) => inner.with_streaks(policy).py_err(py)?,
            None => inner,
        };
        if let Some(list) = self.achievements {
            inner = inner.with_awards(list, self.framework.clone()).py_err(py)?;
        }
        if let Some(framework) = self.framework {
            inner = inner.with_framework(framework);
        }
        if let Some(model) = self.risk_model {
            inner = inner.with_risk(model, self.risk_bands).py_err(py)?;
        }
        Ok(inner)
    }
}

#[pymethods]
impl Engine {
    #[new]
    #[pyo3(signature = (store=None, path=None, streaks=None, achievements=None, framework=None, risk_model=None, risk_bands=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        store: Option<&Arg<'_>>,
        path: Option<&Arg<'_>>,
        streaks: Option<&Arg<'_>>,
        achievements: Option<&Arg<'_>>,
        framework: Option<&Arg<'_>>,
        risk_model: Option<&Arg<'_>>,
        risk_bands: Option<&Arg<'_>>,
    ) -> PyResult<Self> {
        guard(py, || {
            let rules = Rules::read(py, streaks, achievements, framework, risk_model, risk_bands)?;
            let store = store.filter(|s| !s.is_none());
            let path = opt_text(path, "path")?;
            let store: DynStore = match (store, path) {
                (Some(_), Some(_)) => return Err(invalid(py, "store", "give a store or a path, not both")),
                (Some(obj), None) => {
                    for name in STORE_METHODS {
                        let callable = obj.getattr(name).map(|m| m.is_callable()).unwrap_or(false);
                        if !callable {
                            return Err(invalid(
                                py,
                                "store",
                                format!("has no method {name} (see mastery.MasteryStore)"),
                            ));
                        }
                    }
                    let has = |name: &str| obj.getattr(name).map(|m| m.is_callable()).unwrap_or(false);
                    let (batched_reads, values) = (has("get_states"), ValueFormat::of(obj)?);
                    let versioned = has("read_version") && has("apply_since");
                    let holds = has("hold_writes") && has("release_writes");
                    Box::new(PyStore { obj: obj.clone().unbind(), batched_reads, values, versioned, holds })
                }
                (None, Some(dir)) => Box::new(py.detach(|| MemoryStore::open(&dir)).py_err(py)?),
                (None, None) => Box::new(MemoryStore::new()),
            };
            let inner = rules.apply(py, core::Engine::new(store))?;
            Ok(Self { inner })
        })
    }

    /// Stores each record once and updates mastery; returns `{new, duplicates, rejected, changes}`.
    /// `evidence` is a list of evidence dicts, or an Arrow table (pyarrow, Polars, pandas, DuckDB)
    /// with one row per record (see `arrow_evidence.rs` for its columns); rows are then rejected
    /// by their index in the table.
    ///
    /// Examples
    /// --------
    /// >>> import mastery
    /// >>> svc = {"tenant": "t1", "user": "svc", "roles": [{"role": "service"}]}
    /// >>> e = {"id": "e1", "learner": "amy", "course": "c1", "competencies": ["fractions"], "kind": "response",
    /// ...      "score": {"scaled": 0.9}, "occurred_at": "2026-03-02T10:00:00Z", "source": "host"}
    /// >>> engine = mastery.Engine()
    /// >>> engine.ingest(svc, [e, e])["duplicates"]
    /// 1
    /// >>> engine.ingest(svc, [e])["duplicates"]
    /// 1
    fn ingest<'py>(&self, py: Python<'py>, principal: &Arg<'py>, evidence: &Arg<'py>) -> PyResult<Arg<'py>> {
        guard(py, || {
            let ctx = context(principal)?;
            if is_arrow(evidence) {
                let batches = crate::arrow::batches(evidence, "evidence")?;
                let outcome = py.detach(|| -> Result<core::IngestOutcome, core::MasteryError> {
                    let (rows, refused) = crate::arrow_evidence::evidence(&batches)?;
                    Ok(self.inner.ingest_rows(&ctx, rows, refused))
                });
                return to_python(py, &outcome.py_err(py)?);
            }
            // One record at a time: a malformed dict is refused by its index, the rest go on.
            let (rows, refused) = crate::convert::evidence_rows(evidence, "evidence")?;
            let outcome = py.detach(|| self.inner.ingest_rows(&ctx, rows, refused));
            to_python(py, &outcome)
        })
    }

    /// A learner's mastery views in one course (or outside any), sorted by competency.
    ///
    /// Examples
    /// --------
    /// >>> import mastery
    /// >>> svc = {"tenant": "t1", "user": "svc", "roles": [{"role": "service"}]}
    /// >>> e = {"id": "e1", "learner": "amy", "course": "c1", "competencies": ["fractions"], "kind": "response",
    /// ...      "score": {"scaled": 0.9}, "occurred_at": "2026-03-02T10:00:00Z", "source": "host"}
    /// >>> engine = mastery.Engine(streaks={})
    /// >>> engine.ingest(svc, [e])["new"]
    /// 1
    /// >>> [v["competency"] for v in engine.learner_states(svc, "amy", "c1")]
    /// ['fractions']
    #[pyo3(signature = (principal, learner, course=None))]
    fn learner_states<'py>(
        &self,
        py: Python<'py>,
        principal: &Arg<'py>,
        learner: &Arg<'py>,
        course: Option<&Arg<'py>>,
    ) -> PyResult<Arg<'py>> {
        guard(py, || {
            let ctx = context(principal)?;
            let learner = UserId::new(&text(learner, "learner")?);
            let course = opt_course(course)?;
            let views = py.detach(|| self.inner.learner_views(&ctx, &learner, course.as_ref())).py_err(py)?;
            to_python(py, &views)
        })
    }

    /// Every learner's mastery views in a course: `{learner: [view, ...]}`.
    ///
    /// Examples
    /// --------
    /// >>> import mastery
    /// >>> svc = {"tenant": "t1", "user": "svc", "roles": [{"role": "service"}]}
    /// >>> e = {"id": "e1", "learner": "amy", "course": "c1", "competencies": ["fractions"], "kind": "response",
    /// ...      "score": {"scaled": 0.9}, "occurred_at": "2026-03-02T10:00:00Z", "source": "host"}
    /// >>> engine = mastery.Engine(streaks={})
    /// >>> engine.ingest(svc, [e])["new"]
    /// 1
    /// >>> tutor = {"tenant": "t1", "user": "tia", "roles": [{"role": "instructor", "courses": ["c1"]}]}
    /// >>> list(engine.class_states(tutor, "c1"))
    /// ['amy']
    fn class_states<'py>(&self, py: Python<'py>, principal: &Arg<'py>, course: &Arg<'py>) -> PyResult<Arg<'py>> {
        guard(py, || {
            let ctx = context(principal)?;
            let course = CourseId::new(&text(course, "course")?);
            let class = py.detach(|| self.inner.class_views(&ctx, &course)).py_err(py)?;
            to_python(py, &class)
        })
    }

    /// The class heatmap of a course (learners x `competencies`, a list of `{"id", "label"}`, in
    /// that order) read straight from the stored records.
    ///
    /// Examples
    /// --------
    /// >>> import mastery
    /// >>> svc = {"tenant": "t1", "user": "svc", "roles": [{"role": "service"}]}
    /// >>> e = {"id": "e1", "learner": "amy", "course": "c1", "competencies": ["fractions"], "kind": "response",
    /// ...      "score": {"scaled": 0.9}, "occurred_at": "2026-03-02T10:00:00Z", "source": "host"}
    /// >>> engine = mastery.Engine(streaks={})
    /// >>> engine.ingest(svc, [e])["new"]
    /// 1
    /// >>> tutor = {"tenant": "t1", "user": "tia", "roles": [{"role": "instructor", "courses": ["c1"]}]}
    /// >>> engine.class_heatmap(tutor, "c1", [{"id": "fractions", "label": "Fractions"}])["rows"][0]["label"]
    /// 'amy'
    fn class_heatmap<'py>(
        &self,
        py: Python<'py>,
        principal: &Arg<'py>,
        course: &Arg<'py>,
        competencies: &Arg<'py>,
    ) -> PyResult<Arg<'py>> {
        guard(py, || {
            let ctx = context(principal)?;
            let course = CourseId::new(text(course, "course")?);
            let competencies: Vec<core::dashboard::Label> = data(competencies, "competencies")?;
            let heatmap = py.detach(|| self.inner.class_heatmap(&ctx, &course, &competencies)).py_err(py)?;
            to_python(py, &heatmap)
        })
    }

    /// A learner's mastery view of one competency (in a course, or outside any), or `None`.
    ///
    /// Examples
    /// --------
    /// >>> import mastery
    /// >>> svc = {"tenant": "t1", "user": "svc", "roles": [{"role": "service"}]}
    /// >>> e = {"id": "e1", "learner": "amy", "course": "c1", "competencies": ["fractions"], "kind": "response",
    /// ...      "score": {"scaled": 0.9}, "occurred_at": "2026-03-02T10:00:00Z", "source": "host"}
    /// >>> engine = mastery.Engine(streaks={})
    /// >>> engine.ingest(svc, [e])["new"]
    /// 1
    /// >>> engine.mastery(svc, "amy", "fractions", "c1")["evidence_count"]
    /// 1
    #[pyo3(signature = (principal, learner, competency, course=None))]
    fn mastery<'py>(
        &self,
        py: Python<'py>,
        principal: &Arg<'py>,
        learner: &Arg<'py>,
        competency: &Arg<'py>,
        course: Option<&Arg<'py>>,
    ) -> PyResult<Arg<'py>> {
        guard(py, || {
            let ctx = context(principal)?;
            let learner = UserId::new(&text(learner, "learner")?);
            let competency = text(competency, "competency")?.into_owned();
            let course = opt_course(course)?;
            let view =
                py.detach(|| self.inner.mastery_view(&ctx, &learner, course.as_ref(), &competency)).py_err(py)?;
            to_python(py, &view)
        })
    }

    /// A learner's streak in one course (or outside any) as of `now` (ISO 8601 with the
    /// learner's offset now), from the stored record: `{current, longest, freezes_left,
    /// freezes_used, freezes_earned, today, last_active, events, period}`. Needs an engine
    /// created with `streaks=` (a streak policy; `{}` for the defaults).
    ///
    /// Examples
    /// --------
    /// >>> import mastery
    /// >>> svc = {"tenant": "t1", "user": "svc", "roles": [{"role": "service"}]}
    /// >>> e = {"id": "e1", "learner": "amy", "course": "c1", "competencies": ["fractions"], "kind": "response",
    /// ...      "score": {"scaled": 0.9}, "occurred_at": "2026-03-02T10:00:00Z", "source": "host"}
    /// >>> engine = mastery.Engine(streaks={})
    /// >>> engine.ingest(svc, [e])["new"]
    /// 1
    /// >>> s = engine.streak(svc, "amy", "2026-03-02T18:00:00Z", "c1")
    /// >>> s["current"], s["today"]
    /// (1, 'met')
    #[pyo3(signature = (principal, learner, now, course=None))]
    fn streak<'py>(
        &self,
        py: Python<'py>,
        principal: &Arg<'py>,
        learner: &Arg<'py>,
        now: &Arg<'py>,
        course: Option<&Arg<'py>>,
    ) -> PyResult<Arg<'py>> {
        guard(py, || {
            let ctx = context(principal)?;
            let learner = UserId::new(&text(learner, "learner")?);
            let now = core::time::parse_instant(&text(now, "now")?, "now").py_err(py)?;
            let course = opt_course(course)?;
            let status = py.detach(|| self.inner.streak(&ctx, &learner, course.as_ref(), now)).py_err(py)?;
            to_python(py, &status)
        })
    }

    /// Every learner's streak in a course as of `now`: `{learner: status}`.
    ///
    /// Examples
    /// --------
    /// >>> import mastery
    /// >>> svc = {"tenant": "t1", "user": "svc", "roles": [{"role": "service"}]}
    /// >>> e = {"id": "e1", "learner": "amy", "course": "c1", "competencies": ["fractions"], "kind": "response",
    /// ...      "score": {"scaled": 0.9}, "occurred_at": "2026-03-02T10:00:00Z", "source": "host"}
    /// >>> engine = mastery.Engine(streaks={})
    /// >>> engine.ingest(svc, [e])["new"]
    /// 1
    /// >>> tutor = {"tenant": "t1", "user": "tia", "roles": [{"role": "instructor", "courses": ["c1"]}]}
    /// >>> engine.class_streaks(tutor, "c1", "2026-03-04T18:00:00Z")["amy"]["current"]
    /// 0
    fn class_streaks<'py>(
        &self,
        py: Python<'py>,
        principal: &Arg<'py>,
        course: &Arg<'py>,
        now: &Arg<'py>,
    ) -> PyResult<Arg<'py>> {
        guard(py, || {
            let ctx = context(principal)?;
            let course = CourseId::new(text(course, "course")?);
            let now = core::time::parse_instant(&text(now, "now")?, "now").py_err(py)?;
            let class = py.detach(|| self.inner.class_streaks(&ctx, &course, now)).py_err(py)?;
            to_python(py, &class)
        })
    }

    /// A learner's streak with its explained calendar (the shape of `evaluate_streak`), from the
    /// evidence the caller may read: what `streak_tracker` draws.
    ///
    /// Examples
    /// --------
    /// >>> import mastery
    /// >>> svc = {"tenant": "t1", "user": "svc", "roles": [{"role": "service"}]}
    /// >>> e = {"id": "e1", "learner": "amy", "course": "c1", "competencies": ["fractions"], "kind": "response",
    /// ...      "score": {"scaled": 0.9}, "occurred_at": "2026-03-02T10:00:00Z", "source": "host"}
    /// >>> engine = mastery.Engine(streaks={})
    /// >>> engine.ingest(svc, [e])["new"]
    /// 1
    /// >>> [d["state"] for d in engine.streak_report(svc, "amy", "2026-03-03T18:00:00Z", "c1")["days"]]
    /// ['met', 'pending_today']
    #[pyo3(signature = (principal, learner, now, course=None))]
    fn streak_report<'py>(
        &self,
        py: Python<'py>,
        principal: &Arg<'py>,
        learner: &Arg<'py>,
        now: &Arg<'py>,
        course: Option<&Arg<'py>>,
    ) -> PyResult<Arg<'py>> {
        guard(py, || {
            let ctx = context(principal)?;
            let learner = UserId::new(&text(learner, "learner")?);
            let now = core::time::parse_instant(&text(now, "now")?, "now").py_err(py)?;
            let course = opt_course(course)?;
            let report = py.detach(|| self.inner.streak_report(&ctx, &learner, course.as_ref(), now)).py_err(py)?;
            to_python(py, &report)
        })
    }

    /// A learner's awards in one course (or outside any), revoked ones included. Needs an
    /// engine created with `achievements=`.
    ///
    /// Examples
    /// --------
    /// >>> import mastery
    /// >>> svc = {"tenant": "t1", "user": "svc", "roles": [{"role": "service"}]}
    /// >>> e = {"id": "e1", "learner": "amy", "course": "c1", "competencies": ["fractions"], "kind": "response",
    /// ...      "score": {"scaled": 0.9}, "occurred_at": "2026-03-02T10:00:00Z", "source": "host"}
    /// >>> badge = {"id": "https://school.example/b/fractions", "name": "Fractions", "description": "d",
    /// ...          "criteria": "c", "rule": {"rule": "mastery", "competency": "fractions"}}
    /// >>> engine = mastery.Engine(streaks={}, achievements=[badge])
    /// >>> engine.ingest(svc, [e])["awarded"]
    /// 1
    /// >>> engine.awards(svc, "amy", "c1")[0]["achievement"]
    /// 'https://school.example/b/fractions'
    #[pyo3(signature = (principal, learner, course=None))]
    fn awards<'py>(
        &self,
        py: Python<'py>,
        principal: &Arg<'py>,
        learner: &Arg<'py>,
        course: Option<&Arg<'py>>,
    ) -> PyResult<Arg<'py>> {
        guard(py, || {
            let ctx = context(principal)?;
            let learner = UserId::new(&text(learner, "learner")?);
            let course = opt_course(course)?;
            let awards = py.detach(|| self.inner.awards(&ctx, &learner, course.as_ref())).py_err(py)?;
            to_python(py, &awards)
        })
    }

    /// A course's awards and revocations not acknowledged yet: what the host delivers.
    ///
    /// Examples
    /// --------
    /// >>> import mastery
    /// >>> svc = {"tenant": "t1", "user": "svc", "roles": [{"role": "service"}]}
    /// >>> e = {"id": "e1", "learner": "amy", "course": "c1", "competencies": ["fractions"], "kind": "response",
    /// ...      "score": {"scaled": 0.9}, "occurred_at": "2026-03-02T10:00:00Z", "source": "host"}
    /// >>> badge = {"id": "https://school.example/b/fractions", "name": "Fractions", "description": "d",
    /// ...          "criteria": "c", "rule": {"rule": "mastery", "competency": "fractions"}}
    /// >>> engine = mastery.Engine(streaks={}, achievements=[badge])
    /// >>> engine.ingest(svc, [e])["awarded"]
    /// 1
    /// >>> tutor = {"tenant": "t1", "user": "tia", "roles": [{"role": "instructor", "courses": ["c1"]}]}
    /// >>> len(engine.outbox(tutor, "c1"))
    /// 1
    fn outbox<'py>(&self, py: Python<'py>, principal: &Arg<'py>, course: &Arg<'py>) -> PyResult<Arg<'py>> {
        guard(py, || {
            let ctx = context(principal)?;
            let course = CourseId::new(text(course, "course")?);
            let pending = py.detach(|| self.inner.outbox(&ctx, &course)).py_err(py)?;
            to_python(py, &pending)
        })
    }

    /// Takes delivered awards (by credential id) out of the outbox; returns how many it took.
    ///
    /// Examples
    /// --------
    /// >>> import mastery
    /// >>> svc = {"tenant": "t1", "user": "svc", "roles": [{"role": "service"}]}
    /// >>> e = {"id": "e1", "learner": "amy", "course": "c1", "competencies": ["fractions"], "kind": "response",
    /// ...      "score": {"scaled": 0.9}, "occurred_at": "2026-03-02T10:00:00Z", "source": "host"}
    /// >>> badge = {"id": "https://school.example/b/fractions", "name": "Fractions", "description": "d",
    /// ...          "criteria": "c", "rule": {"rule": "mastery", "competency": "fractions"}}
    /// >>> engine = mastery.Engine(streaks={}, achievements=[badge])
    /// >>> engine.ingest(svc, [e])["awarded"]
    /// 1
    /// >>> tutor = {"tenant": "t1", "user": "tia", "roles": [{"role": "instructor", "courses": ["c1"]}]}
    /// >>> ids = [a["credential_id"] for a in engine.outbox(tutor, "c1")]
    /// >>> engine.acknowledge_awards(tutor, "amy", ids, "c1"), engine.outbox(tutor, "c1")
    /// (1, [])
    #[pyo3(signature = (principal, learner, credential_ids, course=None))]
    fn acknowledge_awards(
        &self,
        py: Python<'_>,
        principal: &Arg<'_>,
        learner: &Arg<'_>,
        credential_ids: &Arg<'_>,
        course: Option<&Arg<'_>>,
    ) -> PyResult<usize> {
        guard(py, || {
            let ctx = context(principal)?;
            let learner = UserId::new(&text(learner, "learner")?);
            let ids: Vec<String> = data(credential_ids, "credential_ids")?;
            let course = opt_course(course)?;
            py.detach(|| self.inner.acknowledge_awards(&ctx, &learner, course.as_ref(), &ids)).py_err(py)
        })
    }

    /// Revokes a learner's award of `achievement` with a reason (into the outbox); returns how
    /// many awards it revoked.
    ///
    /// Examples
    /// --------
    /// >>> import mastery
    /// >>> svc = {"tenant": "t1", "user": "svc", "roles": [{"role": "service"}]}
    /// >>> e = {"id": "e1", "learner": "amy", "course": "c1", "competencies": ["fractions"], "kind": "response",
    /// ...      "score": {"scaled": 0.9}, "occurred_at": "2026-03-02T10:00:00Z", "source": "host"}
    /// >>> badge = {"id": "https://school.example/b/fractions", "name": "Fractions", "description": "d",
    /// ...          "criteria": "c", "rule": {"rule": "mastery", "competency": "fractions"}}
    /// >>> engine = mastery.Engine(streaks={}, achievements=[badge])
    /// >>> engine.ingest(svc, [e])["awarded"]
    /// 1
    /// >>> tutor = {"tenant": "t1", "user": "tia", "roles": [{"role": "instructor", "courses": ["c1"]}]}
    /// >>> engine.revoke_award(tutor, "amy", badge["id"], "copied work", "c1")
    /// 1
    /// >>> engine.awards(svc, "amy", "c1")[0]["revoked"]
    /// 'copied work'
    #[pyo3(signature = (principal, learner, achievement, reason, course=None))]
    fn revoke_award(
        &self,
        py: Python<'_>,
        principal: &Arg<'_>,
        learner: &Arg<'_>,
        achievement: &Arg<'_>,
        reason: &Arg<'_>,
        course: Option<&Arg<'_>>,
    ) -> PyResult<usize> {
        guard(py, || {
            let ctx = context(principal)?;
            let learner = UserId::new(&text(learner, "learner")?);
            let achievement = text(achievement, "achievement")?.into_owned();
            let reason = text(reason, "reason")?.into_owned();
            let course = opt_course(course)?;
            py.detach(|| self.inner.revoke_award(&ctx, &learner, course.as_ref(), &achievement, &reason)).py_err(py)
        })
    }

    /// The badge gallery of a learner in one course (or outside any) as of `now`, from stored
    /// state: one tile per achievement (`status`, `progress`, `credential_id`, ...).
    ///
    /// Examples
    /// --------
    /// >>> import mastery
    /// >>> svc = {"tenant": "t1", "user": "svc", "roles": [{"role": "service"}]}
    /// >>> e = {"id": "e1", "learner": "amy", "course": "c1", "competencies": ["fractions"], "kind": "response",
    /// ...      "score": {"scaled": 0.9}, "occurred_at": "2026-03-02T10:00:00Z", "source": "host"}
    /// >>> badge = {"id": "https://school.example/b/fractions", "name": "Fractions", "description": "d",
    /// ...          "criteria": "c", "rule": {"rule": "mastery", "competency": "fractions"}}
    /// >>> engine = mastery.Engine(streaks={}, achievements=[badge])
    /// >>> engine.ingest(svc, [e])["awarded"]
    /// 1
    /// >>> [t["status"] for t in engine.badge_gallery(svc, "amy", "2026-03-03T00:00:00Z", "c1")]
    /// ['earned']
    #[pyo3(signature = (principal, learner, now, course=None))]
    fn badge_gallery<'py>(
        &self,
        py: Python<'py>,
        principal: &Arg<'py>,
        learner: &Arg<'py>,
        now: &Arg<'py>,
        course: Option<&Arg<'py>>,
    ) -> PyResult<Arg<'py>> {
        guard(py, || {
            let ctx = context(principal)?;
            let learner = UserId::new(&text(learner, "learner")?);
            let now = core::time::parse_instant(&text(now, "now")?, "now").py_err(py)?;
            let course = opt_course(course)?;
            let tiles = py.detach(|| self.inner.badge_gallery(&ctx, &learner, course.as_ref(), now)).py_err(py)?;
            to_python(py, &tiles)
        })
    }
    /// A learner's dashboard of one course (or outside any) at `at`: `records`, `rings` and
    /// `next` (with a framework), `gaps` (assessed, not mastered, weakest first), `streak` (with a
    /// streak policy), `badges` (with achievements) and `progress` over time.
    ///
    /// Examples
    /// --------
    /// >>> import mastery
    /// >>> svc = {"tenant": "t1", "user": "svc", "roles": [{"role": "service"}]}
    /// >>> e = {"id": "e1", "learner": "amy", "course": "c1", "competencies": ["fractions"], "kind": "response",
    /// ...      "score": {"scaled": 0.4}, "occurred_at": "2026-03-02T10:00:00Z", "source": "host"}
    /// >>> engine = mastery.Engine(streaks={})
    /// >>> engine.ingest(svc, [e])["new"]
    /// 1
    /// >>> d = engine.learner_dashboard(svc, "amy", "2026-03-02T18:00:00Z", "c1")
    /// >>> [g["competency"] for g in d["gaps"]], d["streak"]["current"]
    /// (['fractions'], 1)
    #[pyo3(signature = (principal, learner, at, course=None))]
    fn learner_dashboard<'py>(
        &self,
        py: Python<'py>,
        principal: &Arg<'py>,
        learner: &Arg<'py>,
        at: &Arg<'py>,
        course: Option<&Arg<'py>>,
    ) -> PyResult<Arg<'py>> {
        guard(py, || {
            let ctx = context(principal)?;
            let learner = UserId::new(&text(learner, "learner")?);
            let at = instant(py, at, "at")?;
            let course = opt_course(course)?;
            let view = py.detach(|| self.inner.learner_dashboard(&ctx, &learner, course.as_ref(), at)).py_err(py)?;
            to_python(py, &view)
        })
    }

    /// A class's dashboard at `at`: `learners`, `heatmap`, `summaries`, `least_proficient` and,
    /// when the engine has a risk model, `at_risk` (alerts with reasons). `options`:
    /// `{"competencies": [{"id", "label"}], "least_proficient": 5, "reasons": 3}`.
    ///
    /// Examples
    /// --------
    /// >>> import mastery
    /// >>> svc = {"tenant": "t1", "user": "svc", "roles": [{"role": "service"}]}
    /// >>> e = {"id": "e1", "learner": "amy", "course": "c1", "competencies": ["fractions"], "kind": "response",
    /// ...      "score": {"scaled": 0.9}, "occurred_at": "2026-03-02T10:00:00Z", "source": "host"}
    /// >>> engine = mastery.Engine()
    /// >>> engine.ingest(svc, [e])["new"]
    /// 1
    /// >>> tutor = {"tenant": "t1", "user": "tia", "roles": [{"role": "instructor", "courses": ["c1"]}]}
    /// >>> d = engine.class_dashboard(tutor, "c1", "2026-03-03T00:00:00Z")
    /// >>> d["learners"], d["summaries"][0]["mean"], d["at_risk"]
    /// (1, 3.6, None)
    #[pyo3(signature = (principal, course, at, options=None))]
    fn class_dashboard<'py>(
        &self,
        py: Python<'py>,
        principal: &Arg<'py>,
        course: &Arg<'py>,
        at: &Arg<'py>,
        options: Option<&Arg<'py>>,
    ) -> PyResult<Arg<'py>> {
        guard(py, || {
            let ctx = context(principal)?;
            let course = CourseId::new(text(course, "course")?);
            let at = instant(py, at, "at")?;
            let options: core::engine::ClassDashboardOptions = match options.filter(|o| !o.is_none()) {
                Some(o) => data(o, "options")?,
                None => Default::default(),
            };
            let view = py.detach(|| self.inner.class_dashboard(&ctx, &course, at, &options)).py_err(py)?;
            to_python(py, &view)
        })
    }

    /// The class's learners at risk at `at` (engines with a risk model), highest score first,
    /// each with `top` reasons in words.
    ///
    /// Examples
    /// --------
    /// >>> import mastery
    /// >>> x, y, names = mastery.synthetic_risk_data(400, 7)
    /// >>> engine = mastery.Engine(risk_model=mastery.NativeRiskModel.train_logistic(x, y, names))
    /// >>> svc = {"tenant": "t1", "user": "svc", "roles": [{"role": "service"}]}
    /// >>> e = {"id": "e1", "learner": "amy", "course": "c1", "competencies": ["fractions"], "kind": "response",
    /// ...      "score": {"scaled": 0.1}, "occurred_at": "2026-03-02T10:00:00Z", "source": "host"}
    /// >>> engine.ingest(svc, [e])["new"]
    /// 1
    /// >>> [(a["learner"], a["band"]) for a in engine.at_risk(svc, "c1", "2026-03-20T00:00:00Z")]
    /// [('amy', 'high')]
    #[pyo3(signature = (principal, course, at, top=None))]
    fn at_risk<'py>(
        &self,
        py: Python<'py>,
        principal: &Arg<'py>,
        course: &Arg<'py>,
        at: &Arg<'py>,
        top: Option<&Arg<'py>>,
    ) -> PyResult<Arg<'py>> {
        self.score_class(py, principal, course, at, top, false)
    }

    /// Scores the class at `at` as `at_risk` does and records each learner's band and score in
    /// the store (one commit), so later scorings keep a learner in a band until the score falls
    /// below the band's exit (hysteresis): what a nightly job calls before alerting instructors.
    /// Instructors of the course, admins and services only.
    ///
    /// Examples
    /// --------
    /// >>> import mastery
    /// >>> x, y, names = mastery.synthetic_risk_data(400, 7)
    /// >>> engine = mastery.Engine(risk_model=mastery.NativeRiskModel.train_logistic(x, y, names))
    /// >>> svc = {"tenant": "t1", "user": "svc", "roles": [{"role": "service"}]}
    /// >>> e = {"id": "e1", "learner": "amy", "course": "c1", "competencies": ["fractions"], "kind": "response",
    /// ...      "score": {"scaled": 0.1}, "occurred_at": "2026-03-02T10:00:00Z", "source": "host"}
    /// >>> engine.ingest(svc, [e])["new"]
    /// 1
    /// >>> [(a["learner"], a["band"]) for a in engine.record_risk(svc, "c1", "2026-03-20T00:00:00Z")]
    /// [('amy', 'high')]
    #[pyo3(signature = (principal, course, at, top=None))]
    fn record_risk<'py>(
        &self,
        py: Python<'py>,
        principal: &Arg<'py>,
        course: &Arg<'py>,
        at: &Arg<'py>,
        top: Option<&Arg<'py>>,
    ) -> PyResult<Arg<'py>> {
        self.score_class(py, principal, course, at, top, true)
    }

    /// Every learner's risk features in a course at `at`, from stored state: one dict per
    /// learner, `{"learner": ..., <feature>: value, ...}` in the model's feature order (NaN
    /// where the engine does not know a feature); `pandas.DataFrame(...)` takes it as is.
    ///
    /// Examples
    /// --------
    /// >>> import mastery
    /// >>> x, y, names = mastery.synthetic_risk_data(400, 7)
    /// >>> engine = mastery.Engine(risk_model=mastery.NativeRiskModel.train_logistic(x, y, names))
    /// >>> svc = {"tenant": "t1", "user": "svc", "roles": [{"role": "service"}]}
    /// >>> e = {"id": "e1", "learner": "amy", "course": "c1", "competencies": ["fractions"], "kind": "response",
    /// ...      "score": {"scaled": 0.5}, "occurred_at": "2026-03-02T10:00:00Z", "source": "host"}
    /// >>> engine.ingest(svc, [e])["new"]
    /// 1
    /// >>> row = engine.risk_features(svc, "c1", "2026-03-05T00:00:00Z")[0]
    /// >>> row["learner"], row["active_days"], row["days_since_last_activity"], row["grade_mean"]
    /// ('amy', 1.0, 2.0, 50.0)
    fn risk_features<'py>(
        &self,
        py: Python<'py>,
        principal: &Arg<'py>,
        course: &Arg<'py>,
        at: &Arg<'py>,
    ) -> PyResult<Arg<'py>> {
        guard(py, || {
            let ctx = context(principal)?;
            let course = CourseId::new(text(course, "course")?);
            let at = instant(py, at, "at")?;
            let rows = py.detach(|| self.inner.risk_features(&ctx, &course, at)).py_err(py)?;
            Ok(feature_rows(py, &self.inner.risk_feature_names(), rows)?.into_bound(py))
        })
    }
}

impl Engine {
    /// `at_risk`, or with `record` `record_risk`: the arguments read, the class scored.
    fn score_class<'py>(
        &self,
        py: Python<'py>,
        principal: &Arg<'py>,
        course: &Arg<'py>,
        at: &Arg<'py>,
        top: Option<&Arg<'py>>,
        record: bool,
    ) -> PyResult<Arg<'py>> {
        guard(py, || {
            let ctx = context(principal)?;
            let top = match top.filter(|t| !t.is_none()) {
                Some(t) => crate::convert::count(t, "top")?,
                None => 3,
            };
            let course = CourseId::new(text(course, "course")?);
            let at = instant(py, at, "at")?;
            let alerts = py
                .detach(|| match record {
                    true => self.inner.record_risk(&ctx, &course, at, top),
                    false => self.inner.at_risk(&ctx, &course, at, top),
                })
                .py_err(py)?;
            to_python(py, &alerts)
        })
    }
}
