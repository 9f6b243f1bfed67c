//! CSV and columnar logs: pyBKT's response format and the OULAD tables.

use std::collections::HashMap;

use chrono::{Days, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use super::{Evidence, EvidenceKind, EvidenceMapping, EvidenceSource, IngestReport, Score};
use crate::error::{MasteryError, Result};
use crate::ids::{CompetencyId, CourseId, EvidenceId, UserId};

/// The most rows one `parse_pybkt_csv` call reads: a report holds one record per row, so a
/// larger log would cost memory out of all proportion to its text. Split it, or fit BKT from
/// columns (`BktModel::fit`), which takes any number of responses.
pub const MAX_CSV_ROWS: usize = 500_000;

/// Reads a pyBKT-style log: `user_id`, `skill_name`, `correct` and optionally `order_id`,
/// in any column order, with any extra columns. `correct` is 0 or 1. Rows are indexed from 0.
/// More than 500,000 rows (`MAX_CSV_ROWS`) is an `invalid_input` error on `rows`.
pub fn parse_pybkt_csv(text: &str) -> Result<IngestReport> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(text.as_bytes());
    let headers = reader.headers().map_err(|e| MasteryError::parse("CSV", e))?.clone();
    let column = |name: &str| headers.iter().position(|h| h == name);
    let required = |name: &'static str| {
        column(name).ok_or_else(|| MasteryError::invalid(name, "column is missing from the header"))
    };
    let (user, skill, correct) = (required("user_id")?, required("skill_name")?, required("correct")?);
    let order = column("order_id");
    let mut report = IngestReport::default();
    for (index, record) in reader.records().enumerate() {
        if index == MAX_CSV_ROWS {
            return Err(MasteryError::invalid("rows", "more than 500,000 in one call: split the log"));
        }
        let row = record.map_err(|e| MasteryError::parse("CSV", e)).and_then(|r| {
            let cell = |i: usize, name: &str| {
                r.get(i).filter(|v| !v.is_empty()).ok_or_else(|| MasteryError::invalid(name, "is empty"))
            };
            let (learner, skill_name) = (cell(user, "user_id")?, cell(skill, "skill_name")?);
            let outcome = match cell(correct, "correct")? {
                "1" | "1.0" => 1.0,
                "0" | "0.0" => 0.0,
                _ => return Err(MasteryError::invalid("correct", "must be 0 or 1")),
            };
            let sequence = match order.and_then(|i| r.get(i)).filter(|v| !v.is_empty()) {
                Some(v) => Some(v.parse::<i64>().map_err(|_| MasteryError::invalid("order_id", "must be an integer"))?),
                None => None,
            };
            let key = match sequence {
                Some(s) => format!("csv:{learner}:{skill_name}:{s}"),
                None => format!("csv:row:{index}"),
            };
            Ok(Evidence {
                id: EvidenceId::new(key),
                learner: UserId::new(learner),
                course: None,
                competencies: vec![CompetencyId::new(skill_name)],
                activity: None,
                kind: EvidenceKind::Response,
                score: Some(Score { scaled: Some(outcome), ..Score::default() }),
                success: Some(outcome == 1.0),
                completion: None,
                duration_seconds: None,
                occurred_at: None,
                sequence,
                source: EvidenceSource::Csv,
            })
        });
        report.push(index, row.map(|e| vec![e]));
    }
    Ok(report)
}

/// One row of OULAD's `assessments.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OuladAssessment {
    pub code_module: String,
    pub code_presentation: String,
    pub id_assessment: String,
    pub assessment_type: String,
    /// Due day, counted from the presentation's start; missing for final exams without a date.
    pub date: Option<i64>,
    pub weight: Option<f64>,
}

fn oulad_reader(text: &str) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(text.as_bytes())
}

fn optional<T: std::str::FromStr>(value: Option<&str>, field: &str) -> Result<Option<T>> {
    match value.filter(|v| !v.is_empty() && *v != "?") {
        None => Ok(None),
        Some(v) => v.parse().map(Some).map_err(|_| MasteryError::invalid(field, "is not a number")),
    }
}

/// The first day of an OULAD presentation: `2013J` starts in October 2013, `2014B` in February 2014.
/// OULAD publishes only relative days; this anchor turns them into dates.
fn presentation_start(code: &str) -> Result<NaiveDate> {
    let bad = || MasteryError::invalid("code_presentation", "must look like 2013J or 2014B");
    let (year, term) = code.split_at_checked(4).ok_or_else(bad)?;
    let year: i32 = year.parse().map_err(|_| bad())?;
    let month = match term {
        "B" => 2,
        "J" => 10,
        _ => return Err(bad()),
    };
    NaiveDate::from_ymd_opt(year, month, 1).ok_or_else(bad)
}

fn day_instant(code_presentation: &str, day: i64) -> Result<crate::time::Instant> {
    let start = presentation_start(code_presentation)?;
    let date = if day >= 0 {
        start.checked_add_days(Days::new(day.unsigned_abs()))
    } else {
        start.checked_sub_days(Days::new(day.unsigned_abs()))
    }
    .ok_or_else(|| MasteryError::invalid("date", "out of range"))?;
    let midnight = date.and_hms_opt(12, 0, 0).ok_or_else(|| MasteryError::invalid("date", "out of range"))?;
    Ok(Utc.from_utc_datetime(&midnight).fixed_offset())
}

/// Joins OULAD's `assessments.csv` and `studentAssessment.csv` into assessment evidence
/// (score 0-100, course = `module-presentation`, activity = `oulad:assessment:<id>`, time = noon UTC
/// of the submission day). `mapping.competencies` keys are those activity ids.
pub fn parse_oulad_assessments(
    assessments_csv: &str,
    student_assessment_csv: &str,
    mapping: &EvidenceMapping,
) -> Result<(Vec<OuladAssessment>, IngestReport)> {
    let mut assessments = Vec::new();
    for (index, record) in oulad_reader(assessments_csv).records().enumerate() {
        let r = record.map_err(|e| MasteryError::parse("CSV", e))?;
        let get = |i: usize| r.get(i).unwrap_or_default().to_owned();
        assessments.push(OuladAssessment {
            code_module: get(0),
            code_presentation: get(1),
            id_assessment: get(2),
            assessment_type: get(3),
            date: optional(r.get(4), "date")?,
            weight: optional(r.get(5), "weight")?,
        });
        if get(2).is_empty() {
            return Err(MasteryError::invalid(format!("assessments[{index}].id_assessment"), "is empty"));
        }
    }
    let by_id: HashMap<&str, &OuladAssessment> = assessments.iter().map(|a| (a.id_assessment.as_str(), a)).collect();
    let mut report = IngestReport::default();
    for (index, record) in oulad_reader(student_assessment_csv).records().enumerate() {
        let row = record.map_err(|e| MasteryError::parse("CSV", e)).and_then(|r| {
            let id = r.get(0).unwrap_or_default();
            let assessment =
                by_id.get(id).ok_or_else(|| MasteryError::invalid("id_assessment", "unknown assessment"))?;
            let student =
                r.get(1).filter(|s| !s.is_empty()).ok_or_else(|| MasteryError::invalid("id_student", "is empty"))?;
            let day: Option<i64> = optional(r.get(2), "date_submitted")?;
            let score: Option<f64> = optional(r.get(4), "score")?;
            if score.is_some_and(|s| !s.is_finite()) {
                return Err(MasteryError::invalid("score", "must be a finite number"));
            }
            if score.is_some_and(|s| !(0.0..=100.0).contains(&s)) {
                return Err(MasteryError::invalid("score", "must lie within 0 and 100"));
            }
            let activity = format!("oulad:assessment:{id}");
            let course = format!("{}-{}", assessment.code_module, assessment.code_presentation);
            Ok(Evidence {
                id: EvidenceId::new(format!("oulad:{id}:{student}")),
                learner: UserId::new(student),
                competencies: mapping.competencies_for([activity.as_str()]),
                course: Some(mapping.course_for([activity.as_str()]).unwrap_or_else(|| CourseId::new(course))),
                activity: Some(activity),
                kind: EvidenceKind::Assessment,
                score: score.map(|raw| Score { raw: Some(raw), min: Some(0.0), max: Some(100.0), scaled: None }),
                success: None,
                completion: Some(true),
                duration_seconds: None,
                occurred_at: day.map(|d| day_instant(&assessment.code_presentation, d)).transpose()?,
                sequence: day,
                source: EvidenceSource::Csv,
            })
        });
        report.push(index, row.map(|e| vec![e]));
    }
    Ok((assessments, report))
}

/// Reads OULAD's `studentVle.csv` (module, presentation, student, site, day, clicks) into view
/// evidence, one record per row, with the click count as `score.raw`.
pub fn parse_oulad_vle(student_vle_csv: &str) -> Result<IngestReport> {
    let mut report = IngestReport::default();
    for (index, record) in oulad_reader(student_vle_csv).records().enumerate() {
        let row = record.map_err(|e| MasteryError::parse("CSV", e)).and_then(|r| {
            let get = |i: usize, name: &str| {
                r.get(i).filter(|v| !v.is_empty()).ok_or_else(|| MasteryError::invalid(name, "is empty"))
            };
            let (module, presentation, student, site) =
                (get(0, "code_module")?, get(1, "code_presentation")?, get(2, "id_student")?, get(3, "id_site")?);
            let day: i64 = get(4, "date")?.parse().map_err(|_| MasteryError::invalid("date", "must be an integer"))?;
            let clicks: f64 =
                get(5, "sum_click")?.parse().map_err(|_| MasteryError::invalid("sum_click", "is not a number"))?;
            if !clicks.is_finite() {
                return Err(MasteryError::invalid("sum_click", "must be a finite number"));
            }
            Ok(Evidence {
                id: EvidenceId::new(format!("oulad:vle:{module}-{presentation}:{student}:{site}:{day}:{index}")),
                learner: UserId::new(student),
                course: Some(CourseId::new(format!("{module}-{presentation}"))),
                competencies: Vec::new(),
                activity: Some(format!("oulad:site:{site}")),
                kind: EvidenceKind::View,
                score: Some(Score { raw: Some(clicks), ..Score::default() }),
                success: None,
                completion: None,
                duration_seconds: None,
                occurred_at: Some(day_instant(presentation, day)?),
                sequence: Some(day),
                source: EvidenceSource::Csv,
            })
        });
        report.push(index, row.map(|e| vec![e]));
    }
    Ok(report)
}
