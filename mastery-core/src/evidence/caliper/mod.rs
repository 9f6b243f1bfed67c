//! Caliper 1.2 events and envelopes → evidence, validated against the Caliper 1.2 JSON-LD context.
//!
//! The context (bundled, `data/caliper-v1p2.jsonld`) says which terms are types, which are actions,
//! and the datatype of every property (date-time, integer, decimal, boolean, string, duration, IRI
//! reference, list). [`validate_caliper`] checks a whole document against it and against the
//! event rules of the specification (required properties, the actions each event type allows, the
//! entity types its `object`, `generated`, `target` and `referrer` may hold).

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use serde_json::Value;

use super::{Evidence, EvidenceKind, EvidenceMapping, EvidenceSource, IngestReport, Score};
use crate::error::{MasteryError, Result};
use crate::ids::{CourseId, EvidenceId, UserId};
use crate::json::{as_obj, is_iri, join, parse_batch, parse_document, Obj};
use crate::time::{is_iso_duration, parse_duration_seconds, parse_instant};

mod rules;

const CONTEXT_IRI: &str = "http://purl.imsglobal.org/ctx/caliper/v1p2";

/// Parses a Caliper envelope, a single event, or an array of events into evidence.
/// Each event is validated on its own; an invalid one is reported by its index in `data`.
/// Entities an envelope describes (not events) are validated and otherwise skipped.
pub fn parse_caliper(text: &str, mapping: &EvidenceMapping) -> Result<IngestReport> {
    let mut report = IngestReport::default();
    let trimmed = text.trim_start();
    let records = if trimmed.starts_with('{') {
        let document = parse_document(text, "Caliper document")?;
        match document.get("data") {
            Some(_) => envelope_events(&document)?,
            None => vec![Ok(document)],
        }
    } else {
        parse_batch(text, "Caliper document")?
    };
    for (index, record) in records.into_iter().enumerate() {
        let evidence = record.and_then(|v| {
            let ty = v.get("type").and_then(Value::as_str).unwrap_or_default();
            if !ty.is_empty() && !rules::is_event(ty) && context().types.contains(ty) {
                return check_entity(&as_obj(&v, "")?, false, Some(true)).map(|()| Vec::new());
            }
            event(&v, mapping, true).map(|e| vec![e])
        });
        report.push(index, evidence);
    }
    Ok(report)
}

/// Validates any Caliper 1.2 document (envelope, event or entity) without producing evidence.
pub fn validate_caliper(text: &str) -> Result<()> {
    let document = parse_document(text, "Caliper document")?;
    if document.get("caliper_supported_versions").is_some() {
        return check_endpoint_config(&document);
    }
    if document.get("data").is_some() && document.get("sensor").is_some() {
        for record in envelope_events(&document)? {
            let record = record?;
            let item = as_obj(&record, "data")?;
            if rules::is_event(item.str("type")?.unwrap_or_default()) {
                check_event(&item, true)?;
            } else {
                check_entity(&item, true, Some(true))?;
            }
        }
        return Ok(());
    }
    let root = as_obj(&document, "")?;
    match root.str("type")? {
        Some(t) if rules::is_event(t) => check_event(&root, true),
        _ => check_entity(&root, true, Some(true)),
    }
}

/// The configuration payload an endpoint publishes (Caliper 1.2 §5).
fn check_endpoint_config(document: &Value) -> Result<()> {
    let config = as_obj(document, "")?;
    if config.get("caliper_maximum_payload_size").is_some_and(|v| !v.is_u64()) {
        return Err(MasteryError::invalid("caliper_maximum_payload_size", "must be a non-negative integer"));
    }
    match config.get("caliper_supported_versions") {
        Some(Value::Array(versions)) if versions.iter().all(|v| v.as_str().is_some_and(is_iri)) => Ok(()),
        _ => Err(MasteryError::invalid("caliper_supported_versions", "must be a list of IRIs")),
    }
}

fn envelope_events(document: &Value) -> Result<Vec<Result<Value>>> {
    let envelope = as_obj(document, "")?;
    envelope.req_str("sensor")?;
    parse_instant(envelope.req_str("sendTime")?, "sendTime")?;
    if envelope.req_str("dataVersion")? != CONTEXT_IRI {
        return Err(MasteryError::UnsupportedVersion {
            what: "Caliper",
            version: envelope.req_str("dataVersion")?.to_owned(),
        });
    }
    match envelope.get("data") {
        Some(Value::Array(items)) => Ok(items.iter().cloned().map(Ok).collect()),
        _ => Err(MasteryError::invalid("data", "must be a list")),
    }
}

fn event(value: &Value, mapping: &EvidenceMapping, context_required: bool) -> Result<Evidence> {
    let e = as_obj(value, "")?;
    let event_type = e.req_str("type")?;
    if !rules::is_event(event_type) {
        return Err(MasteryError::invalid("type", "not a Caliper 1.2 event type"));
    }
    check_event(&e, context_required)?;
    let action = e.req_str("action")?;
    let object = e.get("object");
    // A grade is about the attempt's assignee; the actor is the grader (often a machine).
    let learner = match object.and_then(|o| o.get("assignee")) {
        Some(assignee) if event_type == "GradeEvent" => reference_id(Some(assignee), "object.assignee")?,
        _ => reference_id(e.get("actor"), "actor")?,
    };
    let activity = reference_id(object, "object")?;
    let mut related = vec![activity.clone()];
    if let Some(Value::Object(o)) = object {
        for key in ["isPartOf", "assignable"] {
            if let Ok(id) = reference_id(o.get(key), key) {
                related.push(id);
            }
        }
    }
    let group = e.get("group").map(|g| reference_id(Some(g), "group")).transpose()?;
    let course = mapping
        .course_for(related.iter().chain(group.iter()).map(String::as_str))
        .or_else(|| group.clone().map(CourseId::new));
    let generated = e.get("generated").and_then(Value::as_object);
    let score = generated.filter(|g| g.get("type").and_then(Value::as_str) == Some("Score")).map(|g| Score {
        raw: g.get("scoreGiven").and_then(Value::as_f64),
        max: g.get("maxScore").and_then(Value::as_f64),
        min: g.get("maxScore").map(|_| 0.0),
        scaled: None,
    });
    let duration_seconds = match generated.and_then(|g| g.get("duration")).and_then(Value::as_str) {
        Some(d) => Some(parse_duration_seconds(d, "generated.duration")?),
        None => None,
    };
    let kind = mapping
        .kinds
        .get(action)
        .or_else(|| mapping.kinds.get(&format!("{event_type}:{action}")))
        .copied()
        .unwrap_or_else(|| kind_of(event_type, action));
    Ok(Evidence {
        id: EvidenceId::new(format!("caliper:{}", e.req_str("id")?)),
        learner: UserId::new(learner),
        course,
        competencies: mapping.competencies_for(related.iter().map(String::as_str)),
        activity: Some(activity),
        kind,
        score,
        success: None,
        completion: (kind == EvidenceKind::Response && action == "Completed").then_some(true),
        duration_seconds,
        occurred_at: Some(parse_instant(e.req_str("eventTime")?, "eventTime")?),
        sequence: None,
        source: EvidenceSource::Caliper,
    })
}

fn kind_of(event_type: &str, action: &str) -> EvidenceKind {
    match (event_type, action) {
        ("GradeEvent", _) => EvidenceKind::Assessment,
        ("AssessmentItemEvent" | "QuestionnaireItemEvent", "Completed") => EvidenceKind::Response,
        (_, "Started" | "Restarted" | "Resumed") => EvidenceKind::Attempt,
        (_, "Submitted") => EvidenceKind::Submission,
        (_, "Completed") => EvidenceKind::Completion,
        ("ViewEvent", _) | (_, "Viewed") => EvidenceKind::View,
        ("NavigationEvent", _) => EvidenceKind::Navigation,
        ("SessionEvent" | "ToolLaunchEvent", _) => EvidenceKind::Session,
        _ => EvidenceKind::Other,
    }
}

/// The id of an entity given inline (`{"id": …}`) or by reference (a bare IRI string).
fn reference_id(value: Option<&Value>, field: &str) -> Result<String> {
    match value {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Object(o)) => match o.get("id") {
            Some(Value::String(s)) => Ok(s.clone()),
            _ => Err(MasteryError::invalid(join(field, "id"), "is required")),
        },
        _ => Err(MasteryError::invalid(field, "is required")),
    }
}

fn check_event(e: &Obj<'_>, context_required: bool) -> Result<()> {
    let event_type = e.req_str("type")?;
    let id = e.req_str("id")?;
    if !id.starts_with("urn:uuid:") {
        return Err(MasteryError::invalid("id", "must be a urn:uuid IRI"));
    }
    for required in ["actor", "action", "object", "eventTime"] {
        if e.get(required).is_none() {
            return Err(MasteryError::invalid(required, "is required"));
        }
    }
    let action = e.req_str("action")?;
    if !rules::allows_action(event_type, action) {
        return Err(MasteryError::invalid("action", "not allowed for this event type"));
    }
    if let Some(problem) = rules::event_requirement(event_type, action, e.map) {
        return Err(MasteryError::invalid(problem, "is required for this event"));
    }
    check_entity(e, context_required, None)
}

/// Checks `@context`, `type`, `id` and every property's datatype and entity type, recursively.
/// `entity_root` is `Some` for a standalone entity (where `id` must be present).
fn check_entity(o: &Obj<'_>, context_required: bool, entity_root: Option<bool>) -> Result<()> {
    match o.map.get("@context") {
        None if context_required && entity_root.is_none() && o.path.is_empty() => {
            return Err(MasteryError::invalid(o.field("@context"), "is required"))
        }
        None => {}
        Some(context) => check_context(context, &o.field("@context"))?,
    }
    let ty = o.req_str("type")?;
    if !context().types.contains(ty) {
        return Err(MasteryError::invalid(o.field("type"), "not a Caliper 1.2 type"));
    }
    match o.str("id")? {
        Some(id) if is_iri(id) => {}
        Some(_) => return Err(MasteryError::invalid(o.field("id"), "must be an IRI")),
        None if rules::has_no_id(ty) => {}
        None => return Err(MasteryError::invalid(o.field("id"), "is required")),
    }
    for (key, value) in o.map {
        if matches!(key.as_str(), "@context" | "id" | "type") {
            continue;
        }
        let field = o.field(key);
        if key == "extensions" {
            as_obj(value, &field)?;
            continue;
        }
        if let Some(allowed) = rules::range(ty, key) {
            check_range(value, allowed, &field)?;
        }
        if let Some(datatype) =
            rules::datatype_override(ty, key).or_else(|| context().properties.get(key.as_str()).copied())
        {
            check_datatype(value, &datatype, &field, key)?;
        }
    }
    if let Some(problem) = rules::entity_requirement(ty, o.map) {
        return Err(MasteryError::invalid(o.field(problem), "is missing or not allowed"));
    }
    Ok(())
}

fn check_context(context: &Value, field: &str) -> Result<()> {
    let known = |v: &Value| v.as_str() == Some(CONTEXT_IRI);
    let ok = match context {
        Value::String(_) => known(context),
        Value::Array(items) => items.iter().any(known) && items.iter().all(|i| i.is_object() || known(i)),
        Value::Object(inline) => {
            inline.get("caliper").and_then(Value::as_str) == Some("http://purl.imsglobal.org/caliper/")
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(MasteryError::invalid(field, "not the Caliper 1.2 context"))
    }
}

fn check_range(value: &Value, allowed: &[&str], field: &str) -> Result<()> {
    let check_one = |item: &Value| -> Result<()> {
        if let Some(ty) = item.get("type").and_then(Value::as_str) {
            if !allowed.iter().any(|a| rules::is_a(ty, a)) {
                return Err(MasteryError::invalid(field, "holds an entity of the wrong type"));
            }
        }
        Ok(())
    };
    match value {
        Value::Array(items) => items.iter().try_for_each(check_one),
        other => check_one(other),
    }
}

fn check_datatype(value: &Value, datatype: &Datatype, field: &str, key: &str) -> Result<()> {
    if datatype.list {
        let Value::Array(items) = value else {
            return Err(MasteryError::invalid(field, "must be a list"));
        };
        let item = Datatype { list: false, ..*datatype };
        return items.iter().try_for_each(|v| check_item(v, &item, field, key, true));
    }
    check_item(value, datatype, field, key, false)
}

/// One value. List members of reference type may be plain labels: the specification's own
/// examples write `"tags": ["to-read"]` and `"itemLabels": ["Strongly Disagree"]`.
fn check_item(value: &Value, datatype: &Datatype, field: &str, key: &str, in_list: bool) -> Result<()> {
    let bad = |what: &str| Err(MasteryError::invalid(field, format!("must be {what}")));
    match (datatype.kind, value) {
        (Kind::Any, _) => Ok(()),
        (Kind::DateTime, Value::String(s)) => parse_instant(s, field).map(drop),
        (Kind::DateTime, _) => bad("a date-time string"),
        (Kind::Duration, Value::String(s)) if is_iso_duration(s) => Ok(()),
        (Kind::Duration, _) => bad("an ISO 8601 duration"),
        (Kind::Integer, Value::Number(n)) if n.is_i64() || n.is_u64() => Ok(()),
        (Kind::Integer, _) => bad("an integer"),
        (Kind::NonNegativeInteger, Value::Number(n)) if n.is_u64() => Ok(()),
        (Kind::NonNegativeInteger, _) => bad("a non-negative integer"),
        // xsd:decimal is written with a fraction (`15.0`); the 1EdTech validator refuses `15`.
        (Kind::Decimal, Value::Number(n)) if n.is_f64() => Ok(()),
        (Kind::Decimal, _) => bad("a number"),
        (Kind::Boolean, Value::Bool(_)) => Ok(()),
        (Kind::Boolean, _) => bad("true or false"),
        (Kind::String, Value::String(_)) => Ok(()),
        (Kind::String, _) => bad("a string"),
        (Kind::Vocab, Value::String(s)) if rules::vocabulary_allows(key, s) => Ok(()),
        (Kind::Vocab, _) => bad("a term of the Caliper vocabulary"),
        (Kind::Reference, Value::String(s)) if is_iri(s) || (in_list && rules::is_label_list(key)) => Ok(()),
        (Kind::Reference, Value::String(_)) => bad("an IRI"),
        // Typed objects are entities; untyped ones (LTI message parameters) are opaque data.
        (Kind::Reference, Value::Object(o)) if !o.contains_key("type") && !o.contains_key("id") => Ok(()),
        (Kind::Reference, Value::Object(_)) => check_entity(&as_obj(value, field)?, false, None),
        (Kind::Reference, _) => bad("an entity or an IRI"),
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Kind {
    Any,
    DateTime,
    Duration,
    Integer,
    NonNegativeInteger,
    Decimal,
    Boolean,
    String,
    Vocab,
    Reference,
}

#[derive(Debug, Clone, Copy)]
pub(super) struct Datatype {
    pub(super) kind: Kind,
    pub(super) list: bool,
}

/// What the bundled JSON-LD context declares.
#[derive(Debug)]
struct Context {
    types: HashSet<String>,
    properties: HashMap<String, Datatype>,
}

fn context() -> &'static Context {
    static CONTEXT: OnceLock<Context> = OnceLock::new();
    CONTEXT.get_or_init(|| {
        let document: Value =
            serde_json::from_str(include_str!("../../../data/caliper-v1p2.jsonld")).unwrap_or_default();
        let mut types = HashSet::new();
        let mut properties = HashMap::new();
        if let Some(Value::Object(terms)) = document.get("@context") {
            for (term, definition) in terms {
                match definition {
                    Value::String(_) if term.starts_with(char::is_uppercase) => {
                        types.insert(term.clone());
                    }
                    Value::Object(d) => {
                        let kind = match d.get("@type").and_then(Value::as_str) {
                            Some("xsd:dateTime") => Kind::DateTime,
                            Some("xsd:duration") => Kind::Duration,
                            Some("xsd:integer" | "xsd:long") => Kind::Integer,
                            Some("xsd:nonNegativeInteger") => Kind::NonNegativeInteger,
                            Some("xsd:decimal") => Kind::Decimal,
                            Some("xsd:boolean") => Kind::Boolean,
                            Some("xsd:string") => Kind::String,
                            Some("@vocab") => Kind::Vocab,
                            Some("@id") => Kind::Reference,
                            _ => Kind::Any,
                        };
                        let list = d.get("@container").and_then(Value::as_str) == Some("@list");
                        properties.insert(term.clone(), Datatype { kind, list });
                    }
                    _ => {}
                }
            }
        }
        Context { types, properties }
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_bundled_context_loads() {
        let c = super::context();
        assert!(c.types.contains("AssessmentItemEvent") && c.types.contains("Person"));
        assert!(c.properties.len() > 100);
    }
}
