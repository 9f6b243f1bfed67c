//! Plain Python data read straight into a serde type, with no JSON value in between: the fast
//! path of [`crate::convert::data`].
//!
//! It reads what the JSON path reads, in the same way, as a `serde_json::Value` would present
//! it to the type (`None`, `bool`, `int` in 64 bits, finite `float`, `str`, exact `dict` with
//! `str` keys, exact `list` and `tuple`). It gives up on anything else and on any error, and the
//! caller then takes the JSON path, whose answers and error messages stay the reference. So a
//! value it does read is the value the JSON path gives; it only skips building the JSON value
//! (a `String` per key and per text, a map per dict) and Python's `dict.items()` copies.

use std::cell::{Cell, RefCell};
use std::fmt;

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde::de::value::StrDeserializer;
use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, Visitor};

use crate::convert::{MAX_DEPTH, MAX_NODES};

/// `object` read as `T`, or `None` when the JSON path must read it (see the module docs).
pub fn read<T: DeserializeOwned>(object: &Bound<'_, PyAny>) -> Option<T> {
    // Half the JSON path's budget: an argument near its limit takes the JSON path and gets its
    // answer, whatever small differences there are in what counts as one value.
    let walk = Walk { nodes_left: Cell::new(MAX_NODES / 2), path: RefCell::new(Vec::new()) };
    T::deserialize(Data { object, depth: 0, walk: &walk }).ok()
}

/// Why the fast path gave up: never shown, the JSON path answers instead.
#[derive(Debug)]
struct GiveUp;

impl fmt::Display for GiveUp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not read on the fast path")
    }
}

impl std::error::Error for GiveUp {}

impl de::Error for GiveUp {
    fn custom<T: fmt::Display>(_: T) -> Self {
        GiveUp
    }
}

/// What one read shares: the values it may still read and the containers it is inside.
struct Walk {
    nodes_left: Cell<usize>,
    path: RefCell<Vec<usize>>,
}

impl Walk {
    fn count(&self) -> Result<(), GiveUp> {
        let left = self.nodes_left.get().checked_sub(1).ok_or(GiveUp)?;
        self.nodes_left.set(left);
        Ok(())
    }

    /// Enters a container (refusing cycles and nesting past the JSON path's limit).
    fn enter(&self, object: &Bound<'_, PyAny>, depth: usize) -> Result<(), GiveUp> {
        let id = object.as_ptr() as usize;
        let mut path = self.path.borrow_mut();
        if depth >= MAX_DEPTH || path.contains(&id) {
            return Err(GiveUp);
        }
        path.push(id);
        Ok(())
    }

    fn leave(&self) {
        self.path.borrow_mut().pop();
    }
}

/// One value being read.
struct Data<'a, 'py> {
    object: &'a Bound<'py, PyAny>,
    depth: usize,
    walk: &'a Walk,
}

impl<'de> de::Deserializer<'de> for Data<'_, '_> {
    type Error = GiveUp;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GiveUp> {
        self.walk.count()?;
        let object = self.object;
        if object.is_none() {
            visitor.visit_unit()
        } else if let Ok(b) = object.cast::<PyBool>() {
            visitor.visit_bool(b.is_true())
        } else if object.is_instance_of::<PyInt>() {
            // As a JSON number: non-negative integers as u64, negative ones as i64.
            match (object.extract::<i64>(), object.extract::<u64>()) {
                (Ok(i), _) if i < 0 => visitor.visit_i64(i),
                (Ok(i), _) => visitor.visit_u64(i as u64),
                (Err(_), Ok(u)) => visitor.visit_u64(u),
                _ => Err(GiveUp),
            }
        } else if let Ok(f) = object.cast::<PyFloat>() {
            let x = f.value();
            if x.is_finite() {
                visitor.visit_f64(x)
            } else {
                Err(GiveUp)
            }
        } else if let Ok(s) = object.cast::<PyString>() {
            visitor.visit_str(&s.to_cow().map_err(|_| GiveUp)?)
        } else if object.is_exact_instance_of::<PyDict>() {
            let dict = object.cast::<PyDict>().map_err(|_| GiveUp)?;
            self.walk.enter(object, self.depth)?;
            let entries = Entries { items: dict.iter(), value: None, depth: self.depth + 1, walk: self.walk };
            let value = visitor.visit_map(entries)?;
            self.walk.leave();
            Ok(value)
        } else if object.is_exact_instance_of::<PyList>() || object.is_exact_instance_of::<PyTuple>() {
            self.walk.enter(object, self.depth)?;
            let items = Items { sequence: object, at: 0, depth: self.depth + 1, walk: self.walk };
            let value = visitor.visit_seq(items)?;
            self.walk.leave();
            Ok(value)
        } else {
            Err(GiveUp)
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GiveUp> {
        if self.object.is_none() {
            self.walk.count()?;
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, GiveUp> {
        // A unit variant by name; a variant with data takes the JSON path.
        self.walk.count()?;
        let name = self.object.cast::<PyString>().map_err(|_| GiveUp)?;
        let name = name.to_cow().map_err(|_| GiveUp)?;
        visitor.visit_enum(IntoDeserializer::<GiveUp>::into_deserializer(&*name))
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _name: &'static str, visitor: V) -> Result<V::Value, GiveUp> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GiveUp> {
        // Not read by the type, but the JSON path reads it all and refuses what is not data.
        let used = crate::convert::check_data(self.object, self.depth, self.walk.nodes_left.get()).ok_or(GiveUp)?;
        self.walk.nodes_left.set(self.walk.nodes_left.get() - used);
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf unit
        unit_struct seq tuple tuple_struct map struct identifier
    }
}

/// A dict's entries, in its order.
struct Entries<'a, 'py> {
    items: pyo3::types::iter::BoundDictIterator<'py>,
    value: Option<Bound<'py, PyAny>>,
    depth: usize,
    walk: &'a Walk,
}

impl<'de> de::MapAccess<'de> for Entries<'_, '_> {
    type Error = GiveUp;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, GiveUp> {
        let Some((key, value)) = self.items.next() else { return Ok(None) };
        self.value = Some(value);
        let key = key.cast_into::<PyString>().map_err(|_| GiveUp)?;
        let key = key.to_cow().map_err(|_| GiveUp)?;
        seed.deserialize(StrDeserializer::<GiveUp>::new(&key)).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, GiveUp> {
        let value = self.value.take().ok_or(GiveUp)?;
        seed.deserialize(Data { object: &value, depth: self.depth, walk: self.walk })
    }
}

/// A list's or tuple's items, by index.
struct Items<'a, 'py> {
    sequence: &'a Bound<'py, PyAny>,
    at: usize,
    depth: usize,
    walk: &'a Walk,
}

impl<'de> de::SeqAccess<'de> for Items<'_, '_> {
    type Error = GiveUp;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, GiveUp> {
        let item = if let Ok(list) = self.sequence.cast::<PyList>() {
            list.get_item(self.at).ok()
        } else {
            self.sequence.cast::<PyTuple>().ok().and_then(|t| t.get_item(self.at).ok())
        };
        let Some(item) = item else { return Ok(None) };
        self.at += 1;
        seed.deserialize(Data { object: &item, depth: self.depth, walk: self.walk }).map(Some)
    }
}
