//! Runs every language-neutral case in `fixtures/cases` against the core (the bindings run the
//! same files). See `fixtures/README.md` for the format and the matching rule.

#![allow(clippy::unwrap_used)]

mod scenario;

use std::fs;
use std::path::{Path, PathBuf};

use mastery_core::credential::{
    achievement_credential, canonicalize, certificate_pdf, certificate_svg, sign_data_integrity, sign_vc_jwt,
    unbake_png, verify_credential, verify_vc_jwt, BadgeVersion, Certificate, CertificateTemplate, IssuerKey,
    StatusEntry, VerifyOptions,
};
use mastery_core::dashboard::{
    class_heatmap, progress_over_time, render_ring_chart, ring_chart, streak_tracker, Label,
};
use mastery_core::mastery::{
    class_summary, frontier, roll_up, BktModel, BktOptions, CalculationMethod, EvidenceOrder, ProficiencyScale,
    ProficiencyScaleInput, Response, RollupRule, ScoredEvidence,
};
use mastery_core::mastery::{CompetencyState, MasteryConfig};
use mastery_core::streak::{evaluate_streak, Activity, StreakPolicy, StreakReport};
use mastery_core::time::{parse_instant, parse_zone};
use mastery_core::{
    parse_caliper, parse_pybkt_csv, parse_xapi, validate_caliper, EvidenceMapping, Framework, MasteryError,
};
use serde_json::{json, Value};
use std::collections::BTreeMap;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

fn cases(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            cases(&path, out);
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
}

fn text(input: &Value) -> String {
    match (input.get("text"), input.get("file")) {
        (Some(Value::String(t)), _) => t.clone(),
        (_, Some(Value::String(f))) => fs::read_to_string(root().join(f)).unwrap(),
        _ => panic!("case input needs `text` or `file`"),
    }
}

fn mapping(input: &Value) -> EvidenceMapping {
    input.get("mapping").map(|m| serde_json::from_value(m.clone()).unwrap()).unwrap_or_default()
}

fn from<T: serde::de::DeserializeOwned>(value: &Value) -> T {
    serde_json::from_value(value.clone()).unwrap()
}

/// `"canvas"`, `"khan"`, or a scale object (validated).
fn scale(value: &Value) -> Result<ProficiencyScale, MasteryError> {
    match value.as_str() {
        Some(name) => ProficiencyScale::named(name),
        None => ProficiencyScale::from_input(from::<ProficiencyScaleInput>(value)),
    }
}

fn streak_report(input: &Value) -> Result<StreakReport, MasteryError> {
    let activities: Vec<Activity> = from(&input["activities"]);
    let policy: StreakPolicy = from(&input["policy"]);
    let now = parse_instant(input["now"].as_str().unwrap(), "now")?;
    evaluate_streak(&activities, &policy, now, input["current_zone"].as_str().unwrap())
}

fn to_json<T: serde::Serialize>(value: T) -> Value {
    serde_json::to_value(value).unwrap()
}

fn run(op: &str, input: &Value) -> Result<Value, MasteryError> {
    Ok(match op {
        "scenario" => scenario::run(input),
        "case_summary" => to_json(Framework::from_case_json(&text(input))?.summary()),
        "case_import" => to_json(Framework::from_case_json(&text(input))?.summary()),
        "case_roundtrip" => {
            to_json(Framework::from_case_json(&Framework::from_case_json(&text(input))?.to_case_json())?.summary())
        }
        "case_query" => {
            let f = Framework::from_case_json(&text(input))?;
            let mut results = Vec::new();
            for q in input["queries"].as_array().unwrap() {
                let id = q.get("id").and_then(Value::as_str).unwrap_or_default();
                results.push(match q["query"].as_str().unwrap() {
                    "find_by_code" => to_json(f.find_by_code(q["code"].as_str().unwrap())),
                    "item" => to_json(f.item(id)),
                    "children" => to_json(f.children(id)?),
                    "ancestors" => to_json(f.ancestors(id)?),
                    "descendants" => to_json(f.descendants(id)?),
                    "prerequisites" => to_json(f.prerequisites(id)?),
                    "topological_order" => to_json(f.topological_order()),
                    other => panic!("unknown query {other}"),
                });
            }
            Value::Array(results)
        }
        "xapi_ingest" => to_json(parse_xapi(&text(input), &mapping(input))?),
        "caliper_ingest" => to_json(parse_caliper(&text(input), &mapping(input))?),
        "caliper_validate" => {
            validate_caliper(&text(input))?;
            Value::Null
        }
        "pybkt_csv_ingest" => to_json(parse_pybkt_csv(&text(input))?),
        "calculate" => {
            let method: CalculationMethod = from(&input["method"]);
            let evidence: Vec<ScoredEvidence> = from(&input["evidence"]);
            let order: EvidenceOrder = input.get("order").map(from).unwrap_or_default();
            to_json(method.calculate(&evidence, input["mastery_points"].as_f64().unwrap(), order)?)
        }
        "rating_for" => to_json(scale(&input["scale"])?.rating_for(input["score"].as_f64().unwrap())),
        "bkt_predict" => {
            let model = BktModel::from_json(&input["model"].to_string())?;
            to_json(model.predict(&from::<Vec<Response>>(&input["rows"]))?)
        }
        "bkt_update" => {
            let model = BktModel::from_json(&input["model"].to_string())?;
            let skill = model.skill(input["skill"].as_str().unwrap())?;
            let mut state = skill.initial_state();
            let mut states = Vec::new();
            for o in input["observations"].as_array().unwrap() {
                skill.update(&mut state, o["correct"].as_bool().unwrap(), o.get("template").and_then(Value::as_str));
                states.push(state);
            }
            to_json(states)
        }
        "bkt_load" => to_json(BktModel::from_json(&text(input))?.skills),
        "bkt_crossvalidate" => {
            let options: BktOptions = input.get("options").map(from).unwrap_or_default();
            let folds = input["folds"].as_u64().unwrap() as usize;
            to_json(BktModel::crossvalidate(&from::<Vec<Response>>(&input["rows"]), &options, folds)?)
        }
        "frontier" => {
            let f = Framework::from_case_json(&text(input))?;
            to_json(frontier(&f, &from(&input["standings"])))
        }
        "roll_up" => {
            let f = Framework::from_case_json(&text(input))?;
            let rules: BTreeMap<String, RollupRule> = input.get("rules").map(from).unwrap_or_default();
            let default: RollupRule = input.get("default").map(from).unwrap_or(RollupRule::All);
            to_json(roll_up(&f, &from(&input["standings"]), &rules, &default)?)
        }
        "class_summary" => {
            let competencies: Option<Vec<String>> = input.get("competencies").map(from);
            to_json(class_summary(&from(&input["scores"]), &scale(&input["scale"])?, competencies.as_deref()))
        }
        "streak" => to_json(streak_report(input)?),
        "streak_tracker" => {
            let report = streak_report(input)?;
            let now = parse_instant(input["now"].as_str().unwrap(), "now")?;
            let today = now.with_timezone(&parse_zone(input["current_zone"].as_str().unwrap())?).date_naive();
            to_json(streak_tracker(
                &report,
                today,
                usize::try_from(input["weeks"].as_u64().unwrap()).unwrap_or(usize::MAX),
            )?)
        }
        "ring_chart" => {
            let f = Framework::from_case_json(&text(input))?;
            let areas: Option<Vec<String>> = input.get("areas").map(from);
            to_json(ring_chart(
                &f,
                &from(&input["standings"]),
                areas.as_deref(),
                from(&input["metric"]),
                &scale(&input["scale"])?,
            )?)
        }
        "class_heatmap" => {
            let competencies: Vec<Label> = from(&input["competencies"]);
            to_json(class_heatmap(&from(&input["values"]), &competencies, &scale(&input["scale"])?))
        }
        "progress_over_time" => {
            let config = MasteryConfig {
                method: from(&input["method"]),
                scale: scale(&input["scale"])?,
                ..MasteryConfig::default()
            };
            to_json(progress_over_time(
                &from::<Vec<CompetencyState>>(&input["states"]),
                &from(&input["labels"]),
                from(&input["window"]),
                &config,
            ))
        }
        "achievement_credential" => {
            let issued_at = parse_instant(input["issued_at"].as_str().unwrap(), "issued_at")?;
            let status: Option<StatusEntry> = from(&input["status"]);
            // As every binding reads it: a bad achievement is invalid input naming the argument.
            let achievement = serde_json::from_value(input["achievement"].clone())
                .map_err(|e| MasteryError::InvalidInput { field: "achievement".into(), reason: e.to_string() })?;
            achievement_credential(
                input["credential_id"].as_str().unwrap(),
                &achievement,
                &from(&input["issuer"]),
                input["learner_identifier"].as_str().unwrap(),
                input["salt"].as_str().unwrap(),
                issued_at,
                &from::<Vec<String>>(&input["evidence_urls"]),
                status.as_ref(),
            )
        }
        "vc_sign" => {
            let seed = hex(input["seed_hex"].as_str().unwrap());
            Value::String(sign_vc_jwt(&input["credential"], &IssuerKey::from_seed(&seed)?)?)
        }
        "vc_verify" => {
            let options = VerifyOptions {
                expected_issuer: input.get("expected_issuer").and_then(Value::as_str).map(str::to_owned),
                revoked_indexes: from(&input["revoked_indexes"]),
                ..VerifyOptions::at(parse_instant(input["now"].as_str().unwrap(), "now")?)
            };
            to_json(verify_vc_jwt(input["jwt"].as_str().unwrap(), &options)?)
        }
        "unbake_png" => {
            let png = fs::read(root().join(input["file"].as_str().unwrap())).unwrap();
            match unbake_png(&png)? {
                Some((v, text)) => json!({"version": if v == BadgeVersion::Ob3 { "ob3" } else { "ob2" }, "text": text}),
                None => Value::Null,
            }
        }
        "verify_credential" => {
            let text = match input.get("credential") {
                Some(c) => c.to_string(),
                None => text(input),
            };
            to_json(verify_credential(&text, &from(&input["options"]))?)
        }
        "di_sign" => {
            let key = IssuerKey::from_seed(&hex(input["seed_hex"].as_str().unwrap()))?;
            let created = parse_instant(input["created"].as_str().unwrap(), "created")?;
            sign_data_integrity(&input["credential"], &key, input["verification_method"].as_str(), created)?
        }
        "canonicalize" => Value::String(canonicalize(&input["document"])?),
        "certificate" => {
            let cert = Certificate::from_credential(
                &input["credential"],
                input["learner_name"].as_str().unwrap(),
                input["verification_url"].as_str().unwrap(),
            )?;
            let template: CertificateTemplate = from(&input["template"]);
            let sha = |bytes: &[u8]| sha256_hex(bytes);
            json!({
                "svg_sha256": sha(certificate_svg(&cert, &template)?.as_bytes()),
                "pdf_sha256": sha(&certificate_pdf(&cert, &template)?),
            })
        }
        "risk_predict" => {
            use mastery_core::risk::RiskModel as _;
            let model = risk_model(input)?;
            let rows: Vec<Vec<f64>> = input["rows"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r.as_array().unwrap().iter().map(|v| v.as_f64().unwrap_or(f64::NAN)).collect())
                .collect();
            let width = rows[0].len();
            let x = ndarray::Array2::from_shape_vec((rows.len(), width), rows.concat()).unwrap();
            to_json(model.predict_proba(x.view())?)
        }
        "risk_explain" => {
            use mastery_core::risk::RiskModel as _;
            let model = risk_model(input)?;
            let row: Vec<f64> =
                input["row"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap_or(f64::NAN)).collect();
            to_json(model.explain(&row, input["top"].as_u64().unwrap() as usize)?)
        }
        "risk_explain_many" => {
            use mastery_core::risk::RiskModel as _;
            let model = risk_model(input)?;
            let rows: Vec<Vec<f64>> = input["rows"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r.as_array().unwrap().iter().map(|v| v.as_f64().unwrap_or(f64::NAN)).collect())
                .collect();
            let flat = rows.concat();
            let x = ndarray::ArrayView2::from_shape((rows.len(), flat.len() / rows.len().max(1)), &flat).unwrap();
            to_json(model.explain_many(x, input["top"].as_u64().unwrap() as usize)?)
        }
        "risk_band" => {
            let bands = input.get("bands").map(from);
            to_json(mastery_core::risk::risk_band(input["score"].as_f64().unwrap(), input["previous"].as_str(), bands)?)
        }
        "fairness_report" => {
            let numbers: Vec<f64> = from(&input["scores"]);
            let labels: Vec<f64> = from(&input["labels"]);
            let groups: Vec<String> = from(&input["groups"]);
            let threshold = input["threshold"].as_f64().unwrap();
            to_json(mastery_core::risk::fairness_report(&numbers, &labels, &groups, threshold)?)
        }
        "render_ring_chart" => Value::String(render_ring_chart(&from(&input["chart"]))),
        other => panic!("unknown op {other}"),
    })
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// The model file a risk case names.
fn risk_model(input: &Value) -> mastery_core::Result<mastery_core::risk::RiskModelFile> {
    mastery_core::risk::RiskModelFile::from_json(
        &fs::read_to_string(root().join(input["model"].as_str().unwrap())).unwrap(),
    )
}

/// `expected` matches when every key it names matches (extra keys in `actual` are fine), arrays
/// match element-wise with equal length, numbers within `tolerance`, and `null` matches absence.
fn matches(expected: &Value, actual: Option<&Value>, tolerance: f64, path: &str) -> Result<(), String> {
    let actual = actual.unwrap_or(&Value::Null);
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            e.iter().try_for_each(|(k, v)| matches(v, a.get(k), tolerance, &format!("{path}.{k}")))
        }
        (Value::Array(e), Value::Array(a)) if e.len() == a.len() => e
            .iter()
            .zip(a)
            .enumerate()
            .try_for_each(|(i, (e, a))| matches(e, Some(a), tolerance, &format!("{path}[{i}]"))),
        (Value::Number(e), Value::Number(a)) => {
            let (e, a) = (e.as_f64().unwrap(), a.as_f64().unwrap());
            ((e - a).abs() <= tolerance).then_some(()).ok_or_else(|| format!("{path}: expected {e}, got {a}"))
        }
        (e, a) if e == a => Ok(()),
        (e, a) => Err(format!("{path}: expected {e}, got {a}")),
    }
}

#[test]
fn every_fixture_case_passes() {
    let mut files = Vec::new();
    cases(&root().join("cases"), &mut files);
    files.sort();
    assert!(files.len() >= 20, "fixture cases missing");
    let mut failures = Vec::new();
    for file in &files {
        let case: Value = serde_json::from_str(&fs::read_to_string(file).unwrap()).unwrap();
        let tolerance = case["tolerance"].as_f64().unwrap_or(0.0);
        let outcome = run(case["op"].as_str().unwrap(), &case["input"]);
        let verdict = match (case.get("error"), outcome) {
            (Some(error), Err(e)) => matches(error, Some(&json!({"code": e.code(), "field": e.field()})), 0.0, "error"),
            (Some(_), Ok(v)) => Err(format!("expected an error, got {v}")),
            (None, Ok(v)) => matches(&case["expected"], Some(&v), tolerance, "result"),
            (None, Err(e)) => Err(format!("unexpected error {e}")),
        };
        if let Err(why) = verdict {
            failures.push(format!("{}: {why}", file.strip_prefix(root()).unwrap().display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} fixture cases failed:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}
