//! The Open University Learning Analytics Dataset as an at-risk table: one row per student and
//! module presentation still registered at the cutoff day, with the activity features of
//! [`super::build_features`] (grades from `studentAssessment`; OULAD's click log is not bundled,
//! so engagement stays missing) and the student's background from `studentInfo` and
//! `studentRegistration`. At risk = the final result was Withdrawn or Fail.
//!
//! The protected attributes (gender, region, prior education, deprivation band, age band,
//! disability) are left out of the features unless [`OuladOptions::include_protected`] is set;
//! every row's group for each of them is in [`RiskTable::groups`] either way, for the fairness
//! audit.

use std::collections::{BTreeMap, HashMap};

use ndarray::Array2;

use super::features::{activity_features, build_features, FeatureSpec, LearnerActivity, Submission};
use crate::error::{MasteryError, Result};

/// The CSV texts of the OULAD tables this loader reads (quoted, empty = missing, CRLF or LF).
#[derive(Debug, Clone, Copy)]
pub struct OuladTables<'a> {
    pub student_info: &'a str,
    pub student_registration: &'a str,
    pub assessments: &'a str,
    pub student_assessment: &'a str,
}

/// A feature table with labels.
#[derive(Debug, Clone, PartialEq)]
pub struct RiskTable {
    pub features: Vec<FeatureSpec>,
    /// `module/presentation/student`.
    pub ids: Vec<String>,
    pub presentations: Vec<String>,
    pub x: Array2<f64>,
    pub y: Vec<f64>,
    /// Per protected attribute, each row's group as OULAD writes it ("unknown" when missing).
    pub groups: BTreeMap<String, Vec<String>>,
    /// The protected attributes left out of `features` (empty when they were included).
    pub left_out: Vec<String>,
}

/// How [`oulad_risk_table_with`] builds the table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OuladOptions {
    /// Train on the protected attributes too (off by default: an opt-in the model file records).
    pub include_protected: bool,
}

/// OULAD's protected attributes: (column in `studentInfo`, feature name).
const PROTECTED: [(usize, &str); 6] =
    [(3, "gender"), (4, "region"), (5, "highest_education"), (6, "imd_band"), (7, "age_band"), (10, "disability")];

fn reader(text: &str) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(text.as_bytes())
}

fn number(value: Option<&str>) -> f64 {
    // `inf` and `NaN` parse as floats in Rust: a non-finite cell is read as missing too.
    value
        .filter(|v| !v.is_empty() && *v != "?")
        .and_then(|v| v.parse().ok())
        .filter(|x: &f64| x.is_finite())
        .unwrap_or(f64::NAN)
}

/// Ordinal codes of OULAD's categorical background (NaN when missing or unknown).
fn ordinal(field: &str, value: &str) -> f64 {
    let table: &[&str] = match field {
        "highest_education" => &[
            "No Formal quals",
            "Lower Than A Level",
            "A Level or Equivalent",
            "HE Qualification",
            "Post Graduate Qualification",
        ],
        "imd_band" => {
            &["0-10%", "10-20", "20-30%", "30-40%", "40-50%", "50-60%", "60-70%", "70-80%", "80-90%", "90-100%"]
        }
        "age_band" => &["0-35", "35-55", "55<="],
        "gender" => &["F", "M"],
        "disability" => &["N", "Y"],
        "code_module" => &["AAA", "BBB", "CCC", "DDD", "EEE", "FFF", "GGG"],
        "region" => &[
            "East Anglian Region",
            "East Midlands Region",
            "Ireland",
            "London Region",
            "North Region",
            "North Western Region",
            "Scotland",
            "South East Region",
            "South Region",
            "South West Region",
            "Wales",
            "West Midlands Region",
            "Yorkshire Region",
        ],
        _ => &[],
    };
    let value = if value == "10-20%" { "10-20" } else { value };
    table.iter().position(|v| *v == value).map_or(f64::NAN, |i| i as f64)
}

fn background_features() -> Vec<FeatureSpec> {
    vec![
        FeatureSpec::new("module", "module", "the module (code {value}) has many withdrawals", 0),
        FeatureSpec::new("gender", "gender", "gender (code {value})", 0).protected(),
        FeatureSpec::new("region", "region", "region (code {value})", 0).protected(),
        FeatureSpec::new("highest_education", "highest education", "prior education level {value} of 4", 0).protected(),
        FeatureSpec::new("imd_band", "deprivation band", "deprivation decile {value} of 9 (0 = most deprived area)", 0)
            .protected(),
        FeatureSpec::new("age_band", "age band", "age band {value} (0: under 35)", 0).protected(),
        FeatureSpec::new("num_of_prev_attempts", "previous attempts", "{value} previous attempts at this module", 0),
        FeatureSpec::new("studied_credits", "credits studied", "studying {value} credits at once", 0),
        FeatureSpec::new("disability", "disability declared", "disability declared {value}", 0).protected(),
        FeatureSpec::new("date_registration", "registration day", "registered on day {value}", 0),
    ]
}

/// The table at `cutoff` (a course day) for the presentations `keep` accepts, without the
/// protected attributes (see [`oulad_risk_table_with`]).
pub fn oulad_risk_table(tables: OuladTables<'_>, cutoff: f64, keep: impl Fn(&str, &str) -> bool) -> Result<RiskTable> {
    oulad_risk_table_with(tables, cutoff, keep, OuladOptions::default())
}

/// The table at `cutoff` for the presentations `keep` accepts, with the protected attributes
/// as features when `options` say so.
pub fn oulad_risk_table_with(
    tables: OuladTables<'_>,
    cutoff: f64,
    keep: impl Fn(&str, &str) -> bool,
    options: OuladOptions,
) -> Result<RiskTable> {
    let csv_error = |e: csv::Error| MasteryError::parse("CSV", e);
    // Assessments by presentation, and each student's submissions.
    let mut assessments: HashMap<String, (String, f64, f64)> = HashMap::new();
    let mut by_presentation: HashMap<String, Vec<String>> = HashMap::new();
    for r in reader(tables.assessments).records() {
        let r = r.map_err(csv_error)?;
        let key = format!("{}/{}", r.get(0).unwrap_or_default(), r.get(1).unwrap_or_default());
        let id = r.get(2).unwrap_or_default().to_owned();
        assessments.insert(id.clone(), (key.clone(), number(r.get(4)), number(r.get(5))));
        by_presentation.entry(key).or_default().push(id);
    }
    let mut submitted: HashMap<(String, String), (f64, f64)> = HashMap::new();
    for r in reader(tables.student_assessment).records() {
        let r = r.map_err(csv_error)?;
        let id = r.get(0).unwrap_or_default().to_owned();
        let student = r.get(1).unwrap_or_default().to_owned();
        submitted.insert((id, student), (number(r.get(2)), number(r.get(4))));
    }
    let mut registration: HashMap<String, (f64, f64)> = HashMap::new();
    for r in reader(tables.student_registration).records() {
        let r = r.map_err(csv_error)?;
        let key = format!(
            "{}/{}/{}",
            r.get(0).unwrap_or_default(),
            r.get(1).unwrap_or_default(),
            r.get(2).unwrap_or_default()
        );
        registration.insert(key, (number(r.get(3)), number(r.get(4))));
    }

    let mut features = activity_features();
    features.extend(background_features());
    let kept: Vec<bool> = features.iter().map(|f| options.include_protected || !f.protected).collect();
    let left_out: Vec<String> =
        features.iter().filter(|f| f.protected && !options.include_protected).map(|f| f.name.clone()).collect();
    let features: Vec<FeatureSpec> =
        features.into_iter().filter(|f| options.include_protected || !f.protected).collect();
    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let (mut ids, mut presentations, mut rows, mut y) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for r in reader(tables.student_info).records() {
        let r = r.map_err(csv_error)?;
        let get = |i: usize| r.get(i).unwrap_or_default();
        if !keep(get(0), get(1)) {
            continue;
        }
        let presentation = format!("{}/{}", get(0), get(1));
        let id = format!("{presentation}/{}", get(2));
        let (registered, unregistered) = registration.get(&id).copied().unwrap_or((f64::NAN, f64::NAN));
        // Already gone at the cutoff: nothing left to predict.
        if unregistered < cutoff {
            continue;
        }
        let submissions: Vec<Submission> = by_presentation
            .get(&presentation)
            .into_iter()
            .flatten()
            .filter_map(|a| {
                let (_, due, weight) = assessments.get(a)?;
                let done = submitted.get(&(a.clone(), get(2).to_owned()));
                Some(Submission {
                    due_day: (!due.is_nan()).then_some(*due),
                    weight: if weight.is_nan() { 0.0 } else { *weight },
                    submitted_day: done.map(|d| d.0).filter(|d| !d.is_nan()),
                    score: done.map(|d| d.1).filter(|s| !s.is_nan()),
                })
            })
            .collect();
        let activity = LearnerActivity { events: None, submissions, mastery: None };
        let mut row = build_features(&activity, cutoff);
        row.extend([
            ordinal("code_module", get(0)),
            ordinal("gender", get(3)),
            ordinal("region", get(4)),
            ordinal("highest_education", get(5)),
            ordinal("imd_band", get(6)),
            ordinal("age_band", get(7)),
            number(Some(get(8))),
            number(Some(get(9))),
            ordinal("disability", get(10)),
            registered,
        ]);
        let label = match get(11) {
            "Withdrawn" | "Fail" => 1.0,
            "Pass" | "Distinction" => 0.0,
            other => return Err(MasteryError::invalid("final_result", format!("unknown result {other:?}"))),
        };
        rows.extend(row.into_iter().zip(&kept).filter(|(_, k)| **k).map(|(v, _)| v));
        for (column, name) in PROTECTED {
            let value = match get(column) {
                "" | "?" => "unknown",
                v => v,
            };
            groups.entry(name.to_owned()).or_default().push(value.to_owned());
        }
        ids.push(id);
        presentations.push(presentation);
        y.push(label);
    }
    let x = Array2::from_shape_vec((y.len(), features.len()), rows)
        .map_err(|e| MasteryError::invalid("features", e.to_string()))?;
    Ok(RiskTable { features, ids, presentations, x, y, groups, left_out })
}
