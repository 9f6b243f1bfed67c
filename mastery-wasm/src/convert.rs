//! Serde data ↔ plain JS values. Maps become plain objects; ids and instants stay strings.
//!
//! Arguments are read here, not by wasm-bindgen's glue: a value of the wrong type, a cyclic
//! object, an object nested 10,000 deep, a getter that throws or a non-finite number becomes a
//! `MasteryError` (`code: "invalid_input"`, `field`: the argument), never a stack overflow (a
//! `RangeError`, or an `unreachable` trap that kills the instance).

use js_sys::{Array, Float64Array, Reflect, Uint8Array};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Number, Value};
use wasm_bindgen::{JsCast, JsValue};

use crate::error::{internal, invalid};

/// Nesting limit of data crossing into Rust: the core's JSON nesting limit (serde_json's).
pub const MAX_DEPTH: usize = 128;
/// Values one argument may hold, so shared sub-objects cannot multiply past it.
pub const MAX_NODES: usize = 10_000_000;

pub fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsValue> {
    value.serialize(&serde_wasm_bindgen::Serializer::json_compatible()).map_err(internal)
}

/// `undefined` or `null` gives the type's default (the BKT model's rows and options use this;
/// everything else names its argument).
pub fn from_js<T: DeserializeOwned + Default>(value: JsValue) -> Result<T, JsValue> {
    data_or_default(&value, "argument")
}

/// An optional data argument: `undefined` or `null` gives the type's default.
pub fn data_or_default<T: DeserializeOwned + Default>(value: &JsValue, field: &str) -> Result<T, JsValue> {
    if value.is_undefined() || value.is_null() {
        return Ok(T::default());
    }
    data(value, field)
}

/// An optional argument given as `Option<JsValue>` by wasm-bindgen.
pub fn optional<T: DeserializeOwned + Default>(value: Option<JsValue>, field: &str) -> Result<T, JsValue> {
    data_or_default(&value.unwrap_or(JsValue::UNDEFINED), field)
}

/// A required data argument read into a core type.
pub fn data<T: DeserializeOwned>(value: &JsValue, field: &str) -> Result<T, JsValue> {
    let json = self::value(value, field)?;
    serde_json::from_value(json).map_err(|e| invalid(field, shape(&e.to_string())))
}

/// JSON text (a string) or data, as a JSON value.
pub fn json_arg(value: &JsValue, field: &str) -> Result<Value, JsValue> {
    match value.as_string() {
        Some(text) => serde_json::from_str(&text).map_err(|e| invalid(field, format!("not JSON: {e}"))),
        None => self::value(value, field),
    }
}

/// Any JS data → a JSON value, refusing cycles, nesting past [`MAX_DEPTH`], non-finite numbers
/// and values JSON has no form for (functions, symbols, BigInt, Map, ...).
pub fn value(value: &JsValue, field: &str) -> Result<Value, JsValue> {
    let mut reader = Reader { path: Vec::new(), nodes: 0 };
    reader.read(value, 0).map_err(|reason| invalid(field, reason))
}

struct Reader {
    path: Vec<JsValue>,
    nodes: usize,
}

impl Reader {
    fn read(&mut self, js: &JsValue, depth: usize) -> Result<Value, String> {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(format!("holds more than {MAX_NODES} values"));
        }
        if js.is_null() || js.is_undefined() {
            return Ok(Value::Null);
        }
        if let Some(b) = js.as_bool() {
            return Ok(Value::Bool(b));
        }
        if let Some(x) = js.as_f64() {
            return number(x).ok_or_else(|| "holds a number that is not finite".to_owned());
        }
        if let Some(s) = js.as_string() {
            return Ok(Value::String(s));
        }
        if !js.is_object() || js.is_function() {
            return Err("holds a value JSON cannot represent".into());
        }
        if js.is_instance_of::<Float64Array>() || js.is_instance_of::<Uint8Array>() {
            let items: Vec<f64> = match js.dyn_ref::<Float64Array>() {
                Some(a) => a.to_vec(),
                None => js.unchecked_ref::<Uint8Array>().to_vec().into_iter().map(f64::from).collect(),
            };
            self.nodes += items.len();
            return items
                .into_iter()
                .map(|x| number(x).ok_or_else(|| "holds a number that is not finite".into()))
                .collect();
        }
        if depth >= MAX_DEPTH {
            return Err(format!("is nested deeper than {MAX_DEPTH} levels"));
        }
        if self.path.iter().any(|p| p == js) {
            return Err("contains itself (a reference cycle)".into());
        }
        self.path.push(js.clone());
        let out = if Array::is_array(js) {
            let array: &Array = js.unchecked_ref();
            let mut items = Vec::with_capacity(array.length().min(1 << 20) as usize);
            for i in 0..array.length() {
                let item = Reflect::get_u32(js, i).map_err(|_| "has an item that cannot be read".to_owned())?;
                items.push(self.read(&item, depth + 1)?);
            }
            Value::Array(items)
        } else {
            let keys = Reflect::own_keys(js).map_err(|_| "has keys that cannot be read".to_owned())?;
            let mut map = Map::new();
            for key in keys.iter() {
                let Some(name) = key.as_string() else { continue }; // symbol keys are not data
                let item = Reflect::get(js, &key).map_err(|_| "has a property that cannot be read".to_owned())?;
                if item.is_undefined() {
                    continue; // as JSON.stringify does
                }
                map.insert(name, self.read(&item, depth + 1)?);
            }
            Value::Object(map)
        };
        self.path.pop();
        Ok(out)
    }
}

/// Integers stay integers (so they read as `u32`, `u64`, ...), other numbers are floats.
fn number(x: f64) -> Option<Value> {
    if !x.is_finite() {
        return None;
    }
    if x.fract() == 0.0 && x.abs() < 9_007_199_254_740_992.0 {
        return Some(Value::from(x as i64));
    }
    Number::from_f64(x).map(Value::Number)
}

/// A serde message without the offending value (it may be a learner id).
pub fn shape(message: &str) -> String {
    mastery_core::error::redact(message)
}

/// A string argument.
pub fn text(value: &JsValue, field: &str) -> Result<String, JsValue> {
    value.as_string().ok_or_else(|| invalid(field, "must be a string"))
}

/// An optional string argument (`null`/`undefined` → none).
pub fn opt_text(value: Option<JsValue>, field: &str) -> Result<Option<String>, JsValue> {
    match value {
        Some(v) if !(v.is_null() || v.is_undefined()) => text(&v, field).map(Some),
        _ => Ok(None),
    }
}

/// A finite number.
pub fn number_arg(value: &JsValue, field: &str) -> Result<f64, JsValue> {
    match value.as_f64() {
        Some(x) if x.is_finite() => Ok(x),
        Some(_) => Err(invalid(field, "must be a finite number")),
        None => Err(invalid(field, "must be a number")),
    }
}

/// A non-negative safe integer.
pub fn count(value: &JsValue, field: &str) -> Result<usize, JsValue> {
    match value.as_f64() {
        Some(x) if x >= 0.0 && x.fract() == 0.0 && x < 9_007_199_254_740_992.0 => {
            usize::try_from(x as u64).map_err(|_| invalid(field, "is too large"))
        }
        _ => Err(invalid(field, "must be a non-negative integer")),
    }
}

/// An optional boolean (`null`/`undefined` → false).
pub fn flag(value: Option<JsValue>, field: &str) -> Result<bool, JsValue> {
    match value {
        Some(v) if !(v.is_null() || v.is_undefined()) => {
            v.as_bool().ok_or_else(|| invalid(field, "must be true or false"))
        }
        _ => Ok(false),
    }
}

/// A `Uint8Array` (a Node `Buffer` is one).
pub fn bytes(value: &JsValue, field: &str) -> Result<Vec<u8>, JsValue> {
    value.dyn_ref::<Uint8Array>().map(Uint8Array::to_vec).ok_or_else(|| invalid(field, "must be a Uint8Array"))
}

/// An array (or `Float64Array`) of numbers; `missing` allows NaN (a missing value).
pub fn numbers(value: &JsValue, field: &str, missing: bool) -> Result<Vec<f64>, JsValue> {
    let values: Vec<f64> = if let Some(a) = value.dyn_ref::<Float64Array>() {
        a.to_vec()
    } else if Array::is_array(value) {
        let array: &Array = value.unchecked_ref();
        let mut out = Vec::with_capacity(array.length().min(1 << 20) as usize);
        for i in 0..array.length() {
            let item = Reflect::get_u32(value, i).map_err(|_| invalid(field, "has an item that cannot be read"))?;
            out.push(item.as_f64().ok_or_else(|| invalid(field, "must hold numbers only"))?);
        }
        out
    } else {
        return Err(invalid(field, "must be an array of numbers"));
    };
    if values.iter().any(|x| x.is_infinite() || (x.is_nan() && !missing)) {
        return Err(invalid(field, "must hold finite numbers only"));
    }
    Ok(values)
}

/// An optional array of strings.
pub fn opt_strings(value: Option<JsValue>, field: &str) -> Result<Option<Vec<String>>, JsValue> {
    match value {
        Some(v) if !(v.is_null() || v.is_undefined()) => data(&v, field).map(Some),
        _ => Ok(None),
    }
}
