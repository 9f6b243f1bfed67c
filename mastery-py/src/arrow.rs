//! Arrow tables in and out through the Arrow PyCapsule interface (`__arrow_c_stream__` /
//! `__arrow_c_array__`), read with `pyo3-arrow`: pyarrow, Polars, pandas (2.2+), DuckDB results.
//! Columns are read in place (no per-row Python objects); results are returned as Arrow tables
//! whose buffers are the core's own vectors (no copy on the way out).

use std::sync::Arc;

use arrow_array::builder::make_view;
use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{Array, ArrayRef, Float64Array, GenericStringArray, OffsetSizeTrait, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use mastery_core as core;
use pyo3::prelude::*;
use pyo3_arrow::input::AnyRecordBatch;
use pyo3_arrow::{PyChunkedArray, PyTable};
use rustc_hash::FxHashMap;

use crate::error::invalid;

type Arg<'py> = Bound<'py, PyAny>;
type CoreResult<T> = Result<T, core::MasteryError>;

fn bad(field: &str, reason: impl Into<String>) -> core::MasteryError {
    core::MasteryError::InvalidInput { field: field.into(), reason: reason.into() }
}

/// Every record batch of an Arrow table-like object (zero-copy: the batches share its buffers).
pub fn batches(object: &Arg<'_>, field: &str) -> PyResult<Vec<RecordBatch>> {
    if let Some(batches) = polars_columns(object) {
        return Ok(batches);
    }
    let py = object.py();
    let any: AnyRecordBatch = object.extract().map_err(|_| {
        invalid(
            py,
            field,
            "must be a table with the Arrow PyCapsule interface (__arrow_c_stream__ or __arrow_c_array__): \
             a pyarrow Table, a Polars or pandas DataFrame, a DuckDB result",
        )
    })?;
    let reader = any.into_reader().map_err(|_| invalid(py, field, "cannot open its Arrow stream"))?;
    reader.collect::<Result<Vec<_>, _>>().map_err(|_| invalid(py, field, "its Arrow stream failed while being read"))
}

/// A Polars DataFrame read column by column, or None for anything else (or if that fails:
/// the frame's own stream is then read). A frame of several chunks (e.g. read from parquet
/// row groups) first copies every column into one chunk when exported as a whole, which took
/// 0.05 s for 2 million rows; each Series exports its chunks as they are.
fn polars_columns(object: &Arg<'_>) -> Option<Vec<RecordBatch>> {
    let class = object.get_type();
    let module: String = class.module().ok()?.extract().ok()?;
    let name: String = class.name().ok()?.extract().ok()?;
    if !module.starts_with("polars") || name != "DataFrame" {
        return None;
    }
    let mut fields = Vec::new();
    let mut columns = Vec::new();
    for series in object.call_method0("get_columns").ok()?.try_iter().ok()? {
        let series = series.ok()?;
        let name: String = series.getattr("name").ok()?.extract().ok()?;
        let (chunks, field) = series.extract::<PyChunkedArray>().ok()?.into_inner();
        fields.push(field.as_ref().clone().with_name(name));
        columns.push(chunks);
    }
    aligned_batches(Arc::new(Schema::new(fields)), &columns)
}

/// Columns of chunks (each column the same number of rows) as record batches, cut where any
/// column's chunk ends (slices, not copies).
fn aligned_batches(schema: Arc<Schema>, columns: &[Vec<ArrayRef>]) -> Option<Vec<RecordBatch>> {
    let mut ends: Vec<usize> = columns
        .iter()
        .flat_map(|chunks| {
            chunks.iter().scan(0, |end, c| {
                *end += c.len();
                Some(*end)
            })
        })
        .collect();
    ends.sort_unstable();
    ends.dedup();
    // Per column: the chunk being read and the row where it starts.
    let mut at = vec![(0usize, 0usize); columns.len()];
    let mut start = 0;
    let mut batches = Vec::with_capacity(ends.len());
    for end in ends {
        let mut arrays = Vec::with_capacity(columns.len());
        for (chunks, (chunk, chunk_start)) in columns.iter().zip(&mut at) {
            while *chunk_start + chunks.get(*chunk)?.len() <= start {
                *chunk_start += chunks[*chunk].len();
                *chunk += 1;
            }
            arrays.push(chunks.get(*chunk)?.slice(start - *chunk_start, end - start));
        }
        batches.push(RecordBatch::try_new(schema.clone(), arrays).ok()?);
        start = end;
    }
    Some(batches)
}

fn column<'a>(batch: &'a RecordBatch, name: &str) -> CoreResult<&'a ArrayRef> {
    batch.column_by_name(name).ok_or_else(|| bad(name, "no such column in the table"))
}

fn has_column(batches: &[RecordBatch], name: &str) -> bool {
    batches.first().is_some_and(|b| b.schema().index_of(name).is_ok())
}

fn cast(array: &ArrayRef, to: &DataType, name: &str) -> CoreResult<ArrayRef> {
    arrow_cast::cast(array, to).map_err(|_| bad(name, format!("cannot be read as {to} (it is {})", array.data_type())))
}

fn no_nulls(array: &dyn Array, name: &str) -> CoreResult<()> {
    if array.null_count() > 0 {
        return Err(bad(name, "has missing values"));
    }
    Ok(())
}

/// Codes in first-appearance order (as `pandas.factorize`) and the names they stand for.
///
/// Strings of up to 12 bytes (most ids) are keyed by their Arrow view: length and bytes in one
/// `u128`, exact, read as it is from a string-view column (Polars) and built by [`inline_view`]
/// from any other. One integer compare per row (the previous row's, then a direct-mapped cache),
/// and a hash lookup only on a cache miss, instead of hashing and comparing bytes.
struct Factorizer {
    short: FxHashMap<u128, u32>,
    /// A direct-mapped cache of views in front of `short`, [`RECENT`] slots (`EMPTY` when
    /// unused): a few instructions per row where the map's hash and probe took about sixty.
    recent: Box<[(u128, u32)]>,
    long: FxHashMap<Box<str>, u32>,
    ints: FxHashMap<i64, u32>,
    names: Vec<String>,
    codes: Vec<u32>,
    /// The previous row's view and code, and the previous long string's code: logs often
    /// repeat a value on consecutive rows, and one comparison is cheaper than a hash lookup.
    last_short: Option<(u128, u32)>,
    last_long: Option<u32>,
    last_int: Option<(i64, u32)>,
}

/// The longest string an Arrow view holds inline.
const INLINE: usize = 12;
/// Slots of [`Factorizer::recent`]: room for the skills of a course, in a few KB.
const RECENT: usize = 1024;
/// Not an inline view (its length field is over [`INLINE`]).
const EMPTY: u128 = u128::MAX;

impl Default for Factorizer {
    fn default() -> Self {
        Self {
            short: FxHashMap::default(),
            recent: vec![(EMPTY, 0); RECENT].into_boxed_slice(),
            long: FxHashMap::default(),
            ints: FxHashMap::default(),
            names: Vec::new(),
            codes: Vec::new(),
            last_short: None,
            last_long: None,
            last_int: None,
        }
    }
}

impl Factorizer {
    fn string(&mut self, s: &str) -> u32 {
        if s.len() <= INLINE {
            self.short(inline_view(s.as_bytes()), || s)
        } else {
            self.long(s)
        }
    }

    /// The code of an inline view (`view` as `make_view` writes it; `text` its string).
    #[inline(always)]
    fn short<'s>(&mut self, view: u128, text: impl FnOnce() -> &'s str) -> u32 {
        if let Some((_, c)) = self.last_short.filter(|&(last, _)| last == view) {
            return c;
        }
        let mixed = ((view >> 64) as u64 ^ view as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let slot = (mixed >> (64 - RECENT.trailing_zeros())) as usize;
        let c = match self.recent[slot] {
            (cached, c) if cached == view => c,
            _ => {
                let c = match self.short.get(&view) {
                    Some(&c) => c,
                    None => {
                        let c = self.names.len() as u32;
                        self.short.insert(view, c);
                        self.names.push(text().to_owned());
                        c
                    }
                };
                self.recent[slot] = (view, c);
                c
            }
        };
        self.last_short = Some((view, c));
        c
    }

    /// Every value of a string column, its bytes read straight from the offsets.
    fn strings<O: OffsetSizeTrait>(&mut self, a: &GenericStringArray<O>) {
        let bytes = a.value_data();
        for (i, w) in a.value_offsets().windows(2).enumerate() {
            let value = bytes.get(w[0].as_usize()..w[1].as_usize()).unwrap_or_default();
            let c = if value.len() <= INLINE {
                self.short(inline_view(value), || a.value(i))
            } else {
                self.long(a.value(i))
            };
            self.codes.push(c);
        }
    }

    fn long(&mut self, s: &str) -> u32 {
        if let Some(c) = self.last_long.filter(|&c| same(self.names[c as usize].as_bytes(), s.as_bytes())) {
            return c;
        }
        let c = match self.long.get(s) {
            Some(&c) => c,
            None => {
                let c = self.names.len() as u32;
                self.long.insert(s.into(), c);
                self.names.push(s.to_owned());
                c
            }
        };
        self.last_long = Some(c);
        c
    }

    fn int(&mut self, v: i64) -> u32 {
        if let Some((_, c)) = self.last_int.filter(|&(last, _)| last == v) {
            return c;
        }
        let c = self.int_code(v);
        self.last_int = Some((v, c));
        c
    }

    fn int_code(&mut self, v: i64) -> u32 {
        let next = self.names.len() as u32;
        let mut added = false;
        let c = *self.ints.entry(v).or_insert_with(|| {
            added = true;
            next
        });
        if added {
            self.names.push(v.to_string());
        }
        c
    }

    fn extend(&mut self, array: &ArrayRef, name: &str) -> CoreResult<()> {
        no_nulls(array.as_ref(), name)?;
        self.codes.reserve(array.len());
        match array.data_type() {
            // No nulls (checked above): values are read without the validity mask.
            DataType::Utf8 => self.strings(array.as_string::<i32>()),
            DataType::LargeUtf8 => self.strings(array.as_string::<i64>()),
            DataType::Utf8View => {
                let a = array.as_string_view();
                for (i, &view) in a.views().iter().enumerate() {
                    let len = view as u32 as usize;
                    let c = if len <= INLINE {
                        // The padding after the bytes is masked off: zero by the format, but
                        // a producer that left it dirty must not split a value in two.
                        let bits = 32 + 8 * len as u32;
                        self.short(view & (u128::MAX >> (128 - bits)), || a.value(i))
                    } else {
                        self.long(a.value(i))
                    };
                    self.codes.push(c);
                }
            }
            DataType::Boolean => array.as_boolean().iter().for_each(|b| {
                let c = self.string(if b.unwrap_or_default() { "True" } else { "False" });
                self.codes.push(c)
            }),
            DataType::Dictionary(_, _) => {
                // Each dictionary value is looked up once, on its first use.
                let dict = array.as_any_dictionary();
                let values = cast(dict.values(), &DataType::Utf8, name)?;
                let values = values.as_string::<i32>();
                let mut map: Vec<Option<u32>> = vec![None; values.len()];
                for k in dict.normalized_keys() {
                    let c = match map.get(k).copied().flatten() {
                        Some(c) => c,
                        None => {
                            let c = self.string(values.value(k));
                            map[k] = Some(c);
                            c
                        }
                    };
                    self.codes.push(c);
                }
            }
            t if t.is_integer() => {
                let ints = cast(array, &DataType::Int64, name)?;
                ints.as_primitive::<Int64Type>().values().iter().for_each(|&v| {
                    let c = self.int(v);
                    self.codes.push(c)
                })
            }
            t if t.is_floating() => {
                let floats = cast(array, &DataType::Float64, name)?;
                for &v in floats.as_primitive::<Float64Type>().values() {
                    let c = self.string(&format!("{v:?}"));
                    self.codes.push(c);
                }
            }
            t => return Err(bad(name, format!("has an unsupported type {t}"))),
        }
        Ok(())
    }
}

/// `make_view(bytes, 0, 0)` for up to [`INLINE`] bytes, without its call for 4 or more: two
/// overlapping loads, each shifted to its bytes' place (where they overlap, both hold the same
/// bytes).
#[inline]
fn inline_view(bytes: &[u8]) -> u128 {
    let n = bytes.len();
    let word = |at: usize| bytes.get(at..at + 8).and_then(|w| w.try_into().ok()).map_or(0, u64::from_le_bytes);
    let half = |at: usize| bytes.get(at..at + 4).and_then(|w| w.try_into().ok()).map_or(0, u32::from_le_bytes);
    let head = match n {
        8..=INLINE => u128::from(word(0)),
        4..=7 => u128::from(half(0)),
        _ => return make_view(bytes, 0, 0),
    };
    n as u128 | head << 32 | u128::from(half(n - 4)) << (32 + 8 * (n - 4))
}

/// Whether int64 chunks, read in sequence, never decrease.
fn non_decreasing(chunks: &[ArrayRef]) -> bool {
    let mut last = i64::MIN;
    chunks.iter().all(|a| {
        let values = a.as_primitive::<Int64Type>().values();
        let sorted = values.first().is_none_or(|&v| v >= last) && values.windows(2).all(|w| w[0] <= w[1]);
        last = values.last().copied().unwrap_or(last);
        sorted
    })
}

/// Byte equality, inlined for ids of 4 to 16 bytes (two overlapping loads each side): a call to
/// `memcmp` per row cost more than the compare.
#[inline]
fn same(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let word = |s: &[u8], at: usize| s.get(at..at + 8).and_then(|w| w.try_into().ok()).map_or(0, u64::from_le_bytes);
    let half = |s: &[u8], at: usize| s.get(at..at + 4).and_then(|w| w.try_into().ok()).map_or(0, u32::from_le_bytes);
    match n {
        8..=16 => word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8),
        4..=7 => half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4),
        _ => a == b,
    }
}

/// Which columns hold what (pyBKT's names by default).
#[derive(Debug, serde::Deserialize)]
pub struct BktColumns {
    user_id: String,
    skill_name: String,
    correct: String,
    #[serde(default)]
    order_id: Option<String>,
    #[serde(default)]
    template_id: Option<String>,
    #[serde(default)]
    prior_group: Option<String>,
}

/// An Arrow response log → the core's response table (codes interned here, in one pass).
pub fn response_table(batches: &[RecordBatch], c: &BktColumns) -> CoreResult<core::mastery::ResponseTable> {
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    let (mut learner, mut skill) = (Factorizer::default(), Factorizer::default());
    let mut template = c.template_id.as_ref().map(|_| Factorizer::default());
    let mut prior = c.prior_group.as_ref().map(|_| Factorizer::default());
    let order_name = c.order_id.as_ref().filter(|n| has_column(batches, n));
    let mut order: Option<Vec<ArrayRef>> = order_name.map(|_| Vec::new());
    let mut correct = Vec::with_capacity(rows);
    for batch in batches {
        learner.extend(column(batch, &c.user_id)?, &c.user_id)?;
        skill.extend(column(batch, &c.skill_name)?, &c.skill_name)?;
        if let (Some(f), Some(n)) = (template.as_mut(), &c.template_id) {
            f.extend(column(batch, n)?, n)?;
        }
        if let (Some(f), Some(n)) = (prior.as_mut(), &c.prior_group) {
            f.extend(column(batch, n)?, n)?;
        }
        let answers = column(batch, &c.correct)?;
        no_nulls(answers.as_ref(), &c.correct)?;
        match answers.data_type() {
            DataType::Boolean => correct.extend(answers.as_boolean().iter().map(|b| b.unwrap_or_default())),
            // The same test as below (x >= 1.0), without a float copy of the column.
            DataType::Int64 => correct.extend(answers.as_primitive::<Int64Type>().values().iter().map(|&x| x >= 1)),
            t if t.is_numeric() => {
                // As the pandas path: clipped to 0..1, then truncated.
                let v = cast(answers, &DataType::Float64, &c.correct)?;
                correct.extend(v.as_primitive::<Float64Type>().values().iter().map(|&x| x >= 1.0));
            }
            t => return Err(bad(&c.correct, format!("has an unsupported type {t}"))),
        }
        if let (Some(o), Some(n)) = (order.as_mut(), order_name) {
            let a = column(batch, n)?;
            no_nulls(a.as_ref(), n)?;
            o.push(cast(a, &DataType::Int64, n)?);
        }
    }
    // An order column already non-decreasing tells nothing the row order does not: it is left
    // out (no copy), as grouping and replay then keep the input order anyway.
    let order = order
        .filter(|o| !non_decreasing(o))
        .map(|o| o.iter().flat_map(|a| a.as_primitive::<Int64Type>().values().iter().copied()).collect::<Vec<i64>>());
    let (template, template_names) = template.map_or((None, Vec::new()), |f| (Some(f.codes), f.names));
    let (prior_group, prior_group_names) = prior.map_or((None, Vec::new()), |f| (Some(f.codes), f.names));
    Ok(core::mastery::ResponseTable {
        learner: learner.codes,
        skill: skill.codes,
        correct,
        order,
        template,
        prior_group,
        skill_names: skill.names,
        template_names,
        prior_group_names,
    })
}

/// The feature columns of a table (all of them, or `names` in that order) as float64 arrays;
/// nulls read as NaN.
pub struct Features {
    pub names: Vec<String>,
    /// Per batch, per feature.
    columns: Vec<Vec<Float64Array>>,
    pub rows: usize,
}

impl Features {
    pub fn read(batches: &[RecordBatch], names: Option<Vec<String>>) -> CoreResult<Self> {
        let names = match names {
            Some(n) => n,
            None => batches
                .first()
                .map(|b| b.schema().fields().iter().map(|f| f.name().clone()).collect())
                .unwrap_or_default(),
        };
        let mut columns = Vec::with_capacity(batches.len());
        for batch in batches {
            let mut cols = Vec::with_capacity(names.len());
            for n in &names {
                let a = column(batch, n)?;
                if !(a.data_type().is_numeric()
                    || *a.data_type() == DataType::Boolean
                    || *a.data_type() == DataType::Null)
                {
                    return Err(bad(n, format!("must be numeric (it is {})", a.data_type())));
                }
                cols.push(cast(a, &DataType::Float64, n)?.as_primitive::<Float64Type>().clone());
            }
            columns.push(cols);
        }
        let rows = batches.iter().map(RecordBatch::num_rows).sum();
        Ok(Self { names, columns, rows })
    }

    /// Calls `f` with row-major blocks of at most `block` rows (a buffer reused between blocks,
    /// so memory stays at one block whatever the table's size).
    pub fn for_blocks(
        &self,
        block: usize,
        mut f: impl FnMut(numpy::ndarray::ArrayView2<'_, f64>) -> CoreResult<()>,
    ) -> CoreResult<()> {
        let k = self.names.len();
        let mut buffer = vec![0.0; block.saturating_mul(k)];
        for cols in &self.columns {
            let len = cols.first().map_or(0, |c| c.len());
            let mut start = 0;
            while start < len {
                let n = block.min(len - start);
                for (j, col) in cols.iter().enumerate() {
                    let values = &col.values()[start..start + n];
                    let nulls = col.nulls();
                    for (r, &v) in values.iter().enumerate() {
                        let missing = nulls.is_some_and(|m| m.is_null(start + r));
                        let v = if missing { f64::NAN } else { v };
                        if v.is_infinite() {
                            return Err(bad("x", "infinite values are not allowed (NaN means missing)"));
                        }
                        buffer[r * k + j] = v;
                    }
                }
                let view = numpy::ndarray::ArrayView2::from_shape((n, k), &buffer[..n * k])
                    .map_err(|e| core::MasteryError::Internal { reason: e.to_string() })?;
                f(view)?;
                start += n;
            }
        }
        Ok(())
    }

    /// The whole table as one row-major matrix (what training needs).
    pub fn matrix(&self) -> CoreResult<numpy::ndarray::Array2<f64>> {
        let k = self.names.len();
        let mut out = Vec::with_capacity(self.rows.saturating_mul(k));
        self.for_blocks(65_536, |v| {
            out.extend(v.iter().copied());
            Ok(())
        })?;
        numpy::ndarray::Array2::from_shape_vec((self.rows, k), out)
            .map_err(|e| core::MasteryError::Internal { reason: e.to_string() })
    }
}

/// A table of float64 columns whose buffers are these vectors (moved, not copied).
pub fn float_table(columns: Vec<(&str, Vec<f64>)>) -> PyResult<PyTable> {
    let fields: Vec<Field> = columns.iter().map(|(n, _)| Field::new(*n, DataType::Float64, false)).collect();
    let schema = Arc::new(Schema::new(fields));
    let arrays: Vec<ArrayRef> = columns.into_iter().map(|(_, v)| Arc::new(Float64Array::from(v)) as ArrayRef).collect();
    let batch = RecordBatch::try_new(schema.clone(), arrays)
        .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))?;
    PyTable::try_new(vec![batch], schema)
}

/// A table from already built arrays.
pub fn table(fields: Vec<Field>, arrays: Vec<ArrayRef>) -> PyResult<PyTable> {
    let schema = Arc::new(Schema::new(fields));
    let batch = RecordBatch::try_new(schema.clone(), arrays)
        .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))?;
    PyTable::try_new(vec![batch], schema)
}
