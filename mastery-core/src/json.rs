//! Reading JSON with errors that name the field by its path (`result.score.scaled`).

use serde_json::{Map, Value};

use crate::error::{MasteryError, Result};

/// Parses JSON strictly: a key repeated within one object is an error, not "last one wins".
pub(crate) fn parse_document(text: &str, format: &'static str) -> Result<Value> {
    serde_json::from_str::<Strict>(text).map(|s| s.0).map_err(|e| MasteryError::parse(format, e))
}

/// A JSON-LD property that holds one item or a list of them (`proof`, `credentialStatus`).
pub(crate) fn one_or_many(value: Option<&Value>) -> Vec<&Value> {
    match value {
        Some(Value::Array(list)) => list.iter().collect(),
        Some(one) => vec![one],
        None => Vec::new(),
    }
}

/// The strings of a property that holds one string or a list of them (`type`, `@context`).
pub(crate) fn strings(value: Option<&Value>) -> Vec<&str> {
    one_or_many(value).into_iter().filter_map(Value::as_str).collect()
}

/// Splits a batch (a JSON array, or one record) into records parsed one by one, so a malformed
/// record costs only itself. Only a batch that is not JSON at all fails as a whole.
pub(crate) fn parse_batch(text: &str, format: &'static str) -> Result<Vec<Result<Value>>> {
    if text.trim_start().starts_with('[') {
        let raw: Vec<&serde_json::value::RawValue> =
            serde_json::from_str(text).map_err(|e| MasteryError::parse(format, e))?;
        Ok(raw.into_iter().map(|r| parse_document(r.get(), format)).collect())
    } else {
        Ok(vec![Ok(parse_document(text, format)?)])
    }
}

struct Strict(Value);

impl<'de> serde::Deserialize<'de> for Strict {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> serde::de::Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> std::result::Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> std::result::Result<Value, E> {
        Ok(v.into())
    }
    fn visit_u64<E>(self, v: u64) -> std::result::Result<Value, E> {
        Ok(v.into())
    }
    fn visit_f64<E>(self, v: f64) -> std::result::Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> std::result::Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> std::result::Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> std::result::Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Strict(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut access: A) -> std::result::Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            let Strict(value) = access.next_value()?;
            if map.insert(key.clone(), value).is_some() {
                return Err(serde::de::Error::custom(format!("duplicate key `{key}`")));
            }
        }
        Ok(Value::Object(map))
    }
}

/// A JSON object together with its path in the document.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Obj<'a> {
    pub map: &'a Map<String, Value>,
    pub path: &'a str,
}

pub(crate) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

pub(crate) fn as_obj<'a>(value: &'a Value, path: &'a str) -> Result<Obj<'a>> {
    match value {
        Value::Object(map) => Ok(Obj { map, path }),
        _ => Err(MasteryError::invalid(display(path), "must be an object")),
    }
}

fn display(path: &str) -> String {
    if path.is_empty() {
        "document".to_owned()
    } else {
        path.to_owned()
    }
}

impl<'a> Obj<'a> {
    pub fn field(&self, key: &str) -> String {
        join(self.path, key)
    }

    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    pub fn has(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    pub fn str(&self, key: &str) -> Result<Option<&'a str>> {
        match self.map.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(MasteryError::invalid(self.field(key), "must be a string")),
        }
    }

    pub fn req_str(&self, key: &str) -> Result<&'a str> {
        self.str(key)?.ok_or_else(|| MasteryError::invalid(self.field(key), "is required"))
    }

    pub fn f64(&self, key: &str) -> Result<Option<f64>> {
        match self.map.get(key) {
            None => Ok(None),
            Some(Value::Number(n)) => match n.as_f64() {
                Some(x) if x.is_finite() => Ok(Some(x)),
                _ => Err(MasteryError::invalid(self.field(key), "must be a finite number")),
            },
            Some(_) => Err(MasteryError::invalid(self.field(key), "must be a number")),
        }
    }

    pub fn bool(&self, key: &str) -> Result<Option<bool>> {
        match self.map.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(MasteryError::invalid(self.field(key), "must be true or false")),
        }
    }

    pub fn obj(&self, key: &str, path: &'a str) -> Result<Option<Obj<'a>>> {
        match self.map.get(key) {
            None => Ok(None),
            Some(v) => as_obj(v, path).map(Some),
        }
    }

    pub fn req_obj(&self, key: &str, path: &'a str) -> Result<Obj<'a>> {
        self.obj(key, path)?.ok_or_else(|| MasteryError::invalid(self.field(key), "is required"))
    }
}

/// An absolute IRI: a scheme, a colon and no whitespace (`https://…`, `urn:uuid:…`, `mailto:…`).
pub(crate) fn is_iri(text: &str) -> bool {
    let Some((scheme, rest)) = text.split_once(':') else { return false };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        && !rest.is_empty()
        && !text.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Stable hash key for records that carry no id of their own.
pub(crate) fn content_key(prefix: &str, value: &Value) -> String {
    let mut canonical = String::new();
    write_canonical(value, &mut canonical);
    format!("{prefix}:sha1:{}", sha1_smol::Sha1::from(canonical.as_bytes()).digest())
}

/// JSON with object keys sorted, whatever map type serde_json was built with.
fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(&map[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}
