//! Evidence from an Arrow table (pyarrow, Polars, pandas, DuckDB) for `Engine.ingest`: one row per
//! record, read column by column with no per-row Python objects.
//!
//! Columns, by the names of the evidence fields (`pandas.json_normalize` of evidence dicts gives
//! them): `id`, `learner` (required); `course`, `competencies` (a list of strings, or one string),
//! `activity`, `kind` (default `response`), `source` (default `host`), `score.scaled` (or
//! `score_scaled`, or `score`), `score.raw`, `score.min`, `score.max`, `success`, `completion`,
//! `duration_seconds`, `occurred_at` (a timestamp, or RFC 3339 text) and `sequence`. A column of
//! the wrong type fails the call; a row with a missing id or learner, or an unreadable time, is
//! rejected by its index and the others go on.

use arrow_array::cast::AsArray;
use arrow_array::types::TimestampMillisecondType;
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, TimeUnit};
use mastery_core as core;

use core::{Evidence, EvidenceKind, EvidenceSource, Rejection, Score};

type CoreResult<T> = Result<T, core::MasteryError>;

/// Records with their row index in the table, and the rows refused.
pub type Rows = (Vec<(usize, Evidence)>, Vec<Rejection>);

fn bad(field: &str, reason: impl Into<String>) -> core::MasteryError {
    core::MasteryError::InvalidInput { field: field.into(), reason: reason.into() }
}

/// The first of `names` the batch has.
fn find<'a>(batch: &'a RecordBatch, names: &[&str]) -> Option<(&'a ArrayRef, String)> {
    names.iter().find_map(|n| batch.column_by_name(n).map(|c| (c, (*n).to_owned())))
}

fn cast(array: &ArrayRef, to: &DataType, name: &str) -> CoreResult<ArrayRef> {
    arrow_cast::cast(array, to).map_err(|_| bad(name, format!("cannot be read as {to} (it is {})", array.data_type())))
}

/// Text, or what reads as text without formatting (integer ids, dictionary-encoded text).
fn is_textual(data_type: &DataType) -> bool {
    match data_type {
        DataType::Dictionary(_, values) => is_textual(values),
        t => matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null) || t.is_integer(),
    }
}

/// A column read as optional text per row.
fn texts(batch: &RecordBatch, names: &[&str]) -> CoreResult<Option<Vec<Option<String>>>> {
    let Some((array, name)) = find(batch, names) else { return Ok(None) };
    if !is_textual(array.data_type()) {
        return Err(bad(&name, format!("must be text (it is {})", array.data_type())));
    }
    let array = cast(array, &DataType::Utf8, &name)?;
    Ok(Some(array.as_string::<i32>().iter().map(|s| s.map(str::to_owned)).collect()))
}

fn floats(batch: &RecordBatch, names: &[&str]) -> CoreResult<Option<Vec<Option<f64>>>> {
    let Some((array, name)) = find(batch, names) else { return Ok(None) };
    let array = cast(array, &DataType::Float64, &name)?;
    let values = array.as_primitive::<arrow_array::types::Float64Type>();
    Ok(Some(values.iter().map(|v| v.filter(|v| !v.is_nan())).collect()))
}

fn bools(batch: &RecordBatch, name: &str) -> CoreResult<Option<Vec<Option<bool>>>> {
    let Some((array, name)) = find(batch, &[name]) else { return Ok(None) };
    let array = cast(array, &DataType::Boolean, &name)?;
    Ok(Some(array.as_boolean().iter().collect()))
}

fn ints(batch: &RecordBatch, name: &str) -> CoreResult<Option<Vec<Option<i64>>>> {
    let Some((array, name)) = find(batch, &[name]) else { return Ok(None) };
    let array = cast(array, &DataType::Int64, &name)?;
    Ok(Some(array.as_primitive::<arrow_array::types::Int64Type>().iter().collect()))
}

/// `competencies`: a list of strings per row, or one string.
fn competencies(batch: &RecordBatch) -> CoreResult<Vec<Vec<core::CompetencyId>>> {
    let Some(array) = batch.column_by_name("competencies") else { return Ok(vec![Vec::new(); batch.num_rows()]) };
    let list = match array.data_type() {
        DataType::List(_) | DataType::LargeList(_) | DataType::ListView(_) | DataType::FixedSizeList(_, _) => cast(
            array,
            &DataType::List(arrow_schema::Field::new_list_field(DataType::Utf8, true).into()),
            "competencies",
        )?,
        _ => {
            let one = cast(array, &DataType::Utf8, "competencies")?;
            return Ok(one.as_string::<i32>().iter().map(|s| s.map(|s| vec![s.into()]).unwrap_or_default()).collect());
        }
    };
    let list = list.as_list::<i32>();
    Ok((0..list.len())
        .map(|row| {
            if list.is_null(row) {
                return Vec::new();
            }
            let items = list.value(row);
            items.as_string::<i32>().iter().flatten().map(core::CompetencyId::from).collect()
        })
        .collect())
}

/// `occurred_at`: a timestamp column (any unit; naive times are UTC) or RFC 3339 text.
fn times(batch: &RecordBatch) -> CoreResult<Vec<Option<CoreResult<core::time::Instant>>>> {
    let Some(array) = batch.column_by_name("occurred_at") else { return Ok(vec![None; batch.num_rows()]) };
    if let DataType::Timestamp(_, _) | DataType::Date32 | DataType::Date64 = array.data_type() {
        let millis = cast(array, &DataType::Timestamp(TimeUnit::Millisecond, None), "occurred_at")?;
        let millis = millis.as_primitive::<TimestampMillisecondType>();
        return Ok(millis
            .iter()
            .map(|ms| {
                ms.map(|ms| {
                    chrono::DateTime::from_timestamp_millis(ms)
                        .map(|t| t.fixed_offset())
                        .ok_or_else(|| bad("occurred_at", "is out of range"))
                })
            })
            .collect());
    }
    let text = cast(array, &DataType::Utf8, "occurred_at")?;
    Ok(text.as_string::<i32>().iter().map(|s| s.map(|s| core::time::parse_instant(s, "occurred_at"))).collect())
}

fn kind(text: Option<&str>) -> CoreResult<EvidenceKind> {
    let text = text.unwrap_or("response");
    serde_json::from_value(serde_json::Value::String(text.to_owned()))
        .map_err(|_| bad("kind", "is not an evidence kind"))
}

fn source(text: Option<&str>) -> CoreResult<EvidenceSource> {
    let text = text.unwrap_or("host");
    serde_json::from_value(serde_json::Value::String(text.to_owned())).map_err(|_| bad("source", "is not a source"))
}

/// The batch's records, and the rows refused (by index from `offset`).
fn read_batch(batch: &RecordBatch, offset: usize) -> CoreResult<Rows> {
    let ids = texts(batch, &["id"])?.ok_or_else(|| bad("id", "no such column in the table"))?;
    let learners = texts(batch, &["learner"])?.ok_or_else(|| bad("learner", "no such column in the table"))?;
    let courses = texts(batch, &["course"])?;
    let activities = texts(batch, &["activity"])?;
    let kinds = texts(batch, &["kind"])?;
    let sources = texts(batch, &["source"])?;
    let scaled = floats(batch, &["score.scaled", "score_scaled", "score"])?;
    let raw = floats(batch, &["score.raw", "score_raw"])?;
    let min = floats(batch, &["score.min", "score_min"])?;
    let max = floats(batch, &["score.max", "score_max"])?;
    let success = bools(batch, "success")?;
    let completion = bools(batch, "completion")?;
    let duration = floats(batch, &["duration_seconds"])?;
    let sequence = ints(batch, "sequence")?;
    let mut competencies = competencies(batch)?;
    let times = times(batch)?;
    let at = |column: &Option<Vec<Option<f64>>>, row: usize| column.as_ref().and_then(|c| c[row]);
    let text = |column: &Option<Vec<Option<String>>>, row: usize| column.as_ref().and_then(|c| c[row].clone());
    let mut records = Vec::with_capacity(batch.num_rows());
    let mut refused = Vec::new();
    for row in 0..batch.num_rows() {
        let record = (|| -> CoreResult<Evidence> {
            let id = ids[row].as_deref().ok_or_else(|| bad("id", "is missing"))?;
            let learner = learners[row].as_deref().ok_or_else(|| bad("learner", "is missing"))?;
            let score = Score { scaled: at(&scaled, row), raw: at(&raw, row), min: at(&min, row), max: at(&max, row) };
            let has_score = score.scaled.is_some() || score.raw.is_some();
            Ok(Evidence {
                id: id.into(),
                learner: learner.into(),
                course: text(&courses, row).map(core::CourseId::from),
                competencies: std::mem::take(&mut competencies[row]),
                activity: text(&activities, row),
                kind: kind(kinds.as_ref().and_then(|k| k[row].as_deref()))?,
                score: has_score.then_some(score),
                success: success.as_ref().and_then(|c| c[row]),
                completion: completion.as_ref().and_then(|c| c[row]),
                duration_seconds: at(&duration, row),
                occurred_at: times[row].clone().transpose()?,
                sequence: sequence.as_ref().and_then(|c| c[row]),
                source: source(sources.as_ref().and_then(|s| s[row].as_deref()))?,
            })
        })();
        match record {
            Ok(e) => records.push((offset + row, e)),
            Err(error) => refused.push(Rejection {
                index: offset + row,
                code: error.code().to_owned(),
                field: error.field().map(str::to_owned),
                reason: error.to_string(),
            }),
        }
    }
    Ok((records, refused))
}

/// Every batch's records with their row index in the table, and the rows refused.
pub fn evidence(batches: &[RecordBatch]) -> CoreResult<Rows> {
    let (mut records, mut refused, mut offset) = (Vec::new(), Vec::new(), 0);
    for batch in batches {
        let (r, f) = read_batch(batch, offset)?;
        records.extend(r);
        refused.extend(f);
        offset += batch.num_rows();
    }
    Ok((records, refused))
}
