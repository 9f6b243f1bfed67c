//! What a Data Integrity proof actually covers: the RDF a credential expands to, not its JSON.
//!
//! Two gaps open between them. JSON-LD silently drops a property its contexts do not define, so
//! such a property could be added or changed after signing; and the same RDF can be written as
//! many JSON shapes (a full IRI as the key, a typed value object), so a checker that reads
//! `validUntil` from the JSON could be shown a different shape of the same signed statements.
//! [`unsigned_property`] closes the first (issuance and verification refuse such documents) and
//! [`SignedFacts`] the second (verification refuses a document whose JSON and RDF disagree on
//! anything a check reads).

use std::collections::{BTreeMap, BTreeSet};

use oxrdf::{NamedOrBlankNode, Quad, Term};
use serde_json::Value;

use super::integrity::to_quads;
use super::status::entry_index;
use crate::error::Result;
use crate::json::one_or_many;
use crate::time::parse_instant;

const CRED: &str = "https://www.w3.org/2018/credentials#";
const RDF_TYPE: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type";
const STATUS_INDEX: [&str; 2] =
    ["https://www.w3.org/ns/credentials/status#statusListIndex", "https://w3id.org/vc/status-list#statusListIndex"];
const STATUS_LIST: [&str; 2] = [
    "https://www.w3.org/ns/credentials/status#statusListCredential",
    "https://w3id.org/vc/status-list#statusListCredential",
];
const ACHIEVEMENT: &str = "https://purl.imsglobal.org/spec/vc/ob/vocab.html#achievement";
const PROBE: &str = "urn:mastery-probe:";

/// The JSON path of the first value that contributes nothing to the document's RDF (and so would
/// not be covered by a Data Integrity proof), if any. `proof` and `@context` are not examined.
///
/// Every leaf value is replaced by a unique marker IRI and the document is expanded once: a
/// marker missing from the quads is a dropped value. `type` values stay, since they select
/// type-scoped contexts (and a changed type changes the RDF anyway).
pub(crate) fn unsigned_property(document: &Value) -> Result<Option<String>> {
    let mut probe = document.clone();
    if let Some(map) = probe.as_object_mut() {
        map.remove("proof");
    }
    let mut paths = Vec::new();
    mark(&mut probe, String::new(), &mut paths);
    if paths.is_empty() {
        return Ok(None);
    }
    let mut seen = vec![false; paths.len()];
    let mut note = |text: &str| {
        for (at, _) in text.match_indices(PROBE) {
            let digits: String = text[at + PROBE.len()..].chars().take_while(char::is_ascii_digit).collect();
            if let Some(slot) = digits.parse::<usize>().ok().and_then(|i| seen.get_mut(i)) {
                *slot = true;
            }
        }
    };
    for quad in to_quads(&probe)? {
        if let NamedOrBlankNode::NamedNode(n) = &quad.subject {
            note(n.as_str());
        }
        match &quad.object {
            Term::NamedNode(n) => note(n.as_str()),
            Term::Literal(l) => note(l.value()),
            Term::BlankNode(_) => {}
        }
    }
    Ok(seen.iter().position(|s| !s).map(|i| paths.swap_remove(i)))
}

fn mark(value: &mut Value, path: String, paths: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                // Contexts, types and a literal's language or direction shape the RDF rather than
                // add to it; every other key (`@index` and unknown `@` keys included) must.
                let skip = matches!(key.as_str(), "@context" | "type" | "@type" | "@language" | "@direction");
                if !skip {
                    mark(child, crate::json::join(&path, key), paths);
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                mark(item, format!("{path}[{i}]"), paths);
            }
        }
        Value::Null => {}
        leaf => {
            *leaf = Value::String(format!("{PROBE}{}", paths.len()));
            paths.push(path);
        }
    }
}

/// What the checks read, taken from one side (the signed RDF or the JSON).
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct SignedFacts {
    pub issuer: BTreeSet<String>,
    /// Instants in epoch milliseconds: `validFrom` (or VC 1.1's `issuanceDate`).
    pub valid_from: BTreeSet<i64>,
    /// `validUntil` (or VC 1.1's `expirationDate`).
    pub valid_until: BTreeSet<i64>,
    /// Status entries: (list credential URL, index).
    pub status: BTreeSet<(String, u64)>,
    pub subject: BTreeSet<String>,
    pub achievement: BTreeSet<String>,
}

impl SignedFacts {
    /// The facts of the document's RDF: the statements a Data Integrity proof covers.
    pub fn from_rdf(document: &Value) -> Result<std::result::Result<Self, String>> {
        let mut unsigned = document.clone();
        if let Some(map) = unsigned.as_object_mut() {
            map.remove("proof");
        }
        let quads = to_quads(&unsigned)?;
        Ok(Self::from_quads(&quads))
    }

    fn from_quads(quads: &[Quad]) -> std::result::Result<Self, String> {
        let default: Vec<&Quad> = quads.iter().filter(|q| q.graph_name.is_default_graph()).collect();
        let mut objects_of: BTreeMap<String, Vec<&Term>> = BTreeMap::new();
        let mut referenced = BTreeSet::new();
        for q in &default {
            objects_of.entry(format!("{} {}", q.subject, q.predicate.as_str())).or_default().push(&q.object);
            if let Term::NamedNode(n) = &q.object {
                referenced.insert(n.to_string());
            }
            if let Term::BlankNode(b) = &q.object {
                referenced.insert(b.to_string());
            }
        }
        let vc_type = format!("{CRED}VerifiableCredential");
        let roots: Vec<String> = default
            .iter()
            .filter(|q| {
                q.predicate.as_str() == RDF_TYPE && matches!(&q.object, Term::NamedNode(n) if n.as_str() == vc_type)
            })
            .map(|q| q.subject.to_string())
            .filter(|s| !referenced.contains(s))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let [root] = roots.as_slice() else {
            return Err(format!("the signed data holds {} top-level credentials, not one", roots.len()));
        };
        let values = |node: &str, predicate: &str| -> Vec<&Term> {
            objects_of.get(&format!("{node} {predicate}")).cloned().unwrap_or_default()
        };
        let iri = |t: &Term| match t {
            Term::NamedNode(n) => Some(n.as_str().to_owned()),
            Term::Literal(l) => Some(l.value().to_owned()),
            Term::BlankNode(_) => None,
        };
        let instants = |predicates: [&str; 2]| -> std::result::Result<BTreeSet<i64>, String> {
            let mut out = BTreeSet::new();
            for p in predicates {
                for t in values(root, &format!("{CRED}{p}")) {
                    let Term::Literal(l) = t else { return Err(format!("{p} is not a date-time")) };
                    let at = parse_instant(l.value(), "date").map_err(|_| format!("{p} is not a date-time"))?;
                    out.insert(at.timestamp_millis());
                }
            }
            Ok(out)
        };
        let mut facts = Self {
            issuer: values(root, &format!("{CRED}issuer")).into_iter().filter_map(iri).collect(),
            valid_from: instants(["validFrom", "issuanceDate"])?,
            valid_until: instants(["validUntil", "expirationDate"])?,
            ..Self::default()
        };
        for entry in values(root, &format!("{CRED}credentialStatus")) {
            let node = entry.to_string();
            let index = STATUS_INDEX.iter().flat_map(|p| values(&node, p)).filter_map(iri).collect::<Vec<_>>();
            let list = STATUS_LIST.iter().flat_map(|p| values(&node, p)).filter_map(iri).collect::<Vec<_>>();
            match (index.as_slice(), list.as_slice()) {
                ([index], [list]) => {
                    let index = index.parse().map_err(|_| "statusListIndex is not a number".to_owned())?;
                    facts.status.insert((list.clone(), index));
                }
                ([], []) => {}
                _ => return Err("a status entry does not name exactly one list and index".into()),
            }
        }
        for subject in values(root, &format!("{CRED}credentialSubject")) {
            if let Some(id) = iri(subject) {
                facts.subject.insert(id);
            }
            for achievement in values(&subject.to_string(), ACHIEVEMENT) {
                facts.achievement.extend(iri(achievement));
            }
        }
        Ok(facts)
    }

    /// The same facts read from the JSON, as the checks read them.
    pub fn from_json(document: &Value) -> std::result::Result<Self, String> {
        let instant = |field: &str| -> std::result::Result<BTreeSet<i64>, String> {
            match document.get(field) {
                None | Some(Value::Null) => Ok(BTreeSet::new()),
                Some(Value::String(t)) => parse_instant(t, field)
                    .map(|t| BTreeSet::from([t.timestamp_millis()]))
                    .map_err(|_| format!("{field} is not a date-time")),
                Some(_) => Err(format!("{field} is not a date-time string")),
            }
        };
        let ids = |value: Option<&Value>| -> BTreeSet<String> {
            one_or_many(value)
                .into_iter()
                .filter_map(|v| v.as_str().or_else(|| v.get("id").and_then(Value::as_str)).map(str::to_owned))
                .collect()
        };
        let mut facts = Self {
            issuer: ids(document.get("issuer")),
            valid_from: instant("validFrom")?.into_iter().chain(instant("issuanceDate")?).collect(),
            valid_until: instant("validUntil")?.into_iter().chain(instant("expirationDate")?).collect(),
            subject: ids(document.get("credentialSubject")),
            ..Self::default()
        };
        for entry in one_or_many(document.get("credentialStatus")) {
            let list = entry.get("statusListCredential").and_then(Value::as_str);
            match (list, entry_index(entry)) {
                (Some(list), Some(index)) => {
                    facts.status.insert((list.to_owned(), index));
                }
                (None, None) => {}
                _ => return Err("a status entry does not name exactly one list and index".into()),
            }
        }
        for subject in one_or_many(document.get("credentialSubject")) {
            facts.achievement.extend(ids(subject.get("achievement")));
        }
        Ok(facts)
    }

    /// The first fact on which the JSON says something other than the signed RDF.
    pub fn disagreement(&self, json: &Self) -> Option<&'static str> {
        [
            ("issuer", self.issuer == json.issuer),
            ("validFrom", self.valid_from == json.valid_from),
            ("validUntil", self.valid_until == json.valid_until),
            ("credentialStatus", self.status == json.status),
            ("credentialSubject", self.subject == json.subject),
            ("achievement", self.achievement == json.achievement),
        ]
        .into_iter()
        .find(|(_, same)| !same)
        .map(|(name, _)| name)
    }
}

/// Why the JSON of a credential with Data Integrity proofs may not be relied on, if it may not:
/// a property outside what is signed, or JSON that says something other than the signed RDF.
pub(crate) fn json_rdf_problem(document: &Value) -> Option<String> {
    match unsigned_property(document) {
        Err(e) => return Some(format!("cannot expand the document: {e}")),
        Ok(Some(path)) => return Some(format!("{path} is not covered by the proof (no context defines it)")),
        Ok(None) => {}
    }
    let rdf = match SignedFacts::from_rdf(document) {
        Err(e) => return Some(format!("cannot expand the document: {e}")),
        Ok(Err(why)) => return Some(why),
        Ok(Ok(facts)) => facts,
    };
    let json = match SignedFacts::from_json(document) {
        Err(why) => return Some(why),
        Ok(facts) => facts,
    };
    rdf.disagreement(&json).map(|field| format!("the JSON's {field} is not what the proof signed"))
}
