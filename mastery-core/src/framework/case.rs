//! CASE (1EdTech Competencies and Academic Standards Exchange) package import and export.

use serde_json::{Map, Value};

use super::{Association, AssociationType, Competency, Framework};
use crate::error::{MasteryError, Result};
use crate::json::{as_obj, parse_document};

const DOCUMENT_FIELDS: &[&str] = &[
    "identifier",
    "uri",
    "frameworkType",
    "caseVersion",
    "creator",
    "title",
    "lastChangeDateTime",
    "officialSourceURL",
    "publisher",
    "description",
    "subject",
    "subjectURI",
    "language",
    "version",
    "adoptionStatus",
    "statusStartDate",
    "statusEndDate",
    "licenseURI",
    "notes",
    "extensions",
];
const ITEM_FIELDS: &[&str] = &[
    "identifier",
    "fullStatement",
    "alternativeLabel",
    "CFItemType",
    "uri",
    "humanCodingScheme",
    "listEnumeration",
    "abbreviatedStatement",
    "conceptKeywords",
    "conceptKeywordsURI",
    "notes",
    "subject",
    "subjectURI",
    "language",
    "educationLevel",
    "CFItemTypeURI",
    "licenseURI",
    "statusStartDate",
    "statusEndDate",
    "lastChangeDateTime",
    "extensions",
];
const ASSOCIATION_FIELDS: &[&str] = &[
    "identifier",
    "associationType",
    "sequenceNumber",
    "uri",
    "originNodeURI",
    "destinationNodeURI",
    "CFAssociationGroupingURI",
    "lastChangeDateTime",
    "notes",
    "extensions",
];
const PACKAGE_FIELDS: &[&str] =
    &["CFDocument", "CFItems", "CFAssociations", "CFDefinitions", "CFRubrics", "extensions"];

pub(super) fn import(text: &str) -> Result<Framework> {
    let mut package = parse_document(text, "CASE package")?;
    // Some servers wrap the package: {"CFPackage": {...}}.
    if package.get("CFDocument").is_none() {
        if let Some(inner) = package.get_mut("CFPackage").map(Value::take) {
            package = inner;
        }
    }
    let root = as_obj(&package, "")?;
    let document = root.req_obj("CFDocument", "CFDocument")?;
    document.req_str("identifier")?;
    let mut items = list(&root, "CFItems")?.iter().enumerate().map(|(i, v)| item(v, i)).collect::<Result<Vec<_>>>()?;
    let mut associations = list(&root, "CFAssociations")?
        .iter()
        .enumerate()
        .map(|(i, v)| association(v, i))
        .collect::<Result<Vec<_>>>()?;
    // Everything is validated: the records move out of the parsed document instead of being
    // copied (half the allocations of a 100,000-item import).
    let Value::Object(mut rest) = package else { return Err(MasteryError::invalid("document", "must be an object")) };
    let mut records = |key: &str| match rest.remove(key) {
        Some(Value::Array(list)) => {
            list.into_iter().map(|v| if let Value::Object(m) = v { m } else { Map::new() }).collect()
        }
        _ => Vec::new(),
    };
    items.iter_mut().zip(records("CFItems")).for_each(|(item, record)| item.record = record);
    associations.iter_mut().zip(records("CFAssociations")).for_each(|(a, record)| a.record = record);
    let document = match rest.remove("CFDocument") {
        Some(Value::Object(document)) => document,
        _ => Map::new(),
    };
    Framework::build(document, items, associations, rest)
}

fn list<'a>(root: &crate::json::Obj<'a>, key: &str) -> Result<&'a [Value]> {
    match root.get(key) {
        None => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(MasteryError::invalid(key, "must be a list")),
    }
}

fn item(value: &Value, index: usize) -> Result<Competency> {
    let path = format!("CFItems[{index}]");
    let o = as_obj(value, &path)?;
    let text = |key: &str| -> Result<Option<String>> { Ok(o.str(key)?.map(str::to_owned)) };
    // 1.0/1.1 write CFItemType as a string; the draft also has CFItemTypeURI.title.
    let item_type = text("CFItemType")?
        .or_else(|| o.get("CFItemTypeURI").and_then(|t| t.get("title")).and_then(Value::as_str).map(str::to_owned));
    Ok(Competency {
        identifier: o.req_str("identifier")?.to_owned(),
        full_statement: text("fullStatement")?.unwrap_or_default(),
        human_coding_scheme: text("humanCodingScheme")?,
        item_type,
        uri: text("uri")?,
        record: Map::new(), // moved in by `import`
    })
}

fn association(value: &Value, index: usize) -> Result<Association> {
    let path = format!("CFAssociations[{index}]");
    let o = as_obj(value, &path)?;
    // 1.0/1.1: originNodeURI {identifier}; the 2016 draft also (or only) has originNodeIdentifier.
    let node = |link: &str, plain: &str| -> Result<String> {
        if let Some(id) = o.get(link).and_then(|l| l.get("identifier")).and_then(Value::as_str) {
            return Ok(id.to_owned());
        }
        o.str(plain)?.map(str::to_owned).ok_or_else(|| MasteryError::invalid(o.field(link), "is required"))
    };
    let sequence_number = match o.get("sequenceNumber") {
        None => None,
        Some(Value::Number(n)) => n.as_i64(),
        // Some exporters write "1"; read it, keep the original in the record.
        Some(Value::String(s)) => s.trim().parse().ok(),
        Some(_) => return Err(MasteryError::invalid(o.field("sequenceNumber"), "must be an integer")),
    };
    Ok(Association {
        identifier: o.req_str("identifier")?.to_owned(),
        association_type: AssociationType::parse(o.req_str("associationType")?),
        origin: node("originNodeURI", "originNodeIdentifier")?,
        destination: node("destinationNodeURI", "destinationNodeIdentifier")?,
        sequence_number,
        record: Map::new(), // moved in by `import`
    })
}

/// Keeps the fields CASE 1.1 defines and moves the others into `extensions`.
fn conform(record: &Map<String, Value>, known: &[&str]) -> Value {
    let mut out = Map::new();
    let mut extensions = match record.get("extensions") {
        Some(Value::Object(e)) => e.clone(),
        _ => Map::new(),
    };
    for (key, value) in record {
        if key == "extensions" {
            continue;
        }
        if known.contains(&key.as_str()) {
            // CASE 1.1 writes absent values by leaving them out, and sequence numbers as integers.
            match (key.as_str(), value) {
                (_, Value::Null) => {}
                ("subject" | "conceptKeywords" | "educationLevel", Value::String(one)) => {
                    out.insert(key.clone(), Value::Array(vec![Value::String(one.clone())]));
                }
                // A link without its title, identifier and uri is not a CASE 1.1 LinkURI: keep it aside.
                (k, Value::Object(link)) if k.ends_with("URI") && !is_link(link) => {
                    extensions.insert(key.clone(), value.clone());
                }
                ("sequenceNumber", Value::String(s)) if s.trim().parse::<i64>().is_ok() => {
                    out.insert(key.clone(), Value::from(s.trim().parse::<i64>().unwrap_or_default()));
                }
                _ => {
                    out.insert(key.clone(), without_nulls(value));
                }
            }
        } else {
            extensions.insert(key.clone(), value.clone());
        }
    }
    if !extensions.is_empty() {
        out.insert("extensions".to_owned(), Value::Object(extensions));
    }
    Value::Object(out)
}

fn is_link(link: &Map<String, Value>) -> bool {
    ["title", "identifier", "uri"].iter().all(|k| link.get(*k).is_some_and(Value::is_string))
}

fn without_nulls(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k.clone(), without_nulls(v))).collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_nulls).collect()),
        other => other.clone(),
    }
}

/// An association in 1.1 form that always re-imports: if its origin or destination link was not a
/// complete LinkURI (it moved to `extensions`), a complete one is rebuilt from the identifier.
fn association_record(a: &Association) -> Value {
    let mut record = conform(&a.record, ASSOCIATION_FIELDS);
    if let Value::Object(out) = &mut record {
        for (key, identifier) in [("originNodeURI", &a.origin), ("destinationNodeURI", &a.destination)] {
            if !out.contains_key(key) {
                let original = a.record.get(key);
                let text = |k: &str| original.and_then(|o| o.get(k)).and_then(Value::as_str).unwrap_or(identifier);
                let link = serde_json::json!({"title": text("title"), "identifier": identifier, "uri": text("uri")});
                out.insert(key.to_owned(), link);
            }
        }
    }
    record
}

pub(super) fn export(framework: &Framework) -> Value {
    let mut package = Map::new();
    package.insert("CFDocument".to_owned(), conform(&framework.document, DOCUMENT_FIELDS));
    package.insert(
        "CFItems".to_owned(),
        Value::Array(framework.items.iter().map(|i| conform(&i.record, ITEM_FIELDS)).collect()),
    );
    package.insert(
        "CFAssociations".to_owned(),
        Value::Array(framework.associations.iter().map(association_record).collect()),
    );
    let mut extensions = Map::new();
    for (key, value) in &framework.rest {
        if PACKAGE_FIELDS.contains(&key.as_str()) {
            package.insert(key.clone(), without_nulls(value));
        } else {
            extensions.insert(key.clone(), value.clone());
        }
    }
    if !extensions.is_empty() {
        let slot = package.entry("extensions").or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(existing) = slot {
            existing.extend(extensions);
        }
    }
    Value::Object(package)
}
