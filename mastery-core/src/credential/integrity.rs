//! Data Integrity proofs with the `eddsa-rdfc-2022` cryptosuite (VC Data Integrity EdDSA
//! Cryptosuites v1.0 §3.3): the credential and the proof options are expanded from JSON-LD to RDF
//! with bundled contexts (oxjsonld; nothing is fetched at run time), canonicalised with RDFC-1.0
//! (rdf-canon), hashed with SHA-256 and signed with Ed25519.

use std::collections::BTreeMap;

use ed25519_dalek::VerifyingKey;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::keys::{public_key_from_did_key, public_key_from_multibase, IssuerKey};
use crate::error::{MasteryError, Result};
use crate::time::Instant;

/// The JSON-LD contexts an OB 3.0 credential may name, bundled (see `contexts/README.md`).
#[cfg(not(feature = "without-jsonld"))]
const CONTEXTS: &[(&str, &str)] = &[
    // The W3C Recommendation's context: with `@vocab`, so every term is signed (contexts/README.md).
    ("https://www.w3.org/ns/credentials/v2", include_str!("contexts/credentials-v2.jsonld")),
    ("https://www.w3.org/2018/credentials/v1", include_str!("contexts/validator_2018-credentials-v1.jsonld")),
    ("https://w3id.org/security/data-integrity/v1", include_str!("contexts/validator_data-integrity-v1.jsonld")),
    ("https://purl.imsglobal.org/spec/ob/v3p0/context.json", include_str!("contexts/ob_v3p0_context.json")),
    ("https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.1.json", include_str!("contexts/ob_v3p0_context-3.0.1.json")),
    ("https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.2.json", include_str!("contexts/ob_v3p0_context-3.0.2.json")),
    ("https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json", include_str!("contexts/ob_v3p0_context-3.0.3.json")),
    (
        "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json",
        include_str!("contexts/validator_ob-v3p0-extensions.json"),
    ),
];

pub const CRYPTOSUITE: &str = "eddsa-rdfc-2022";

/// The RDFC-1.0 canonical N-Quads of a JSON-LD document. A context that is not bundled is an
/// error (no network access), as is any JSON-LD the processor refuses.
#[cfg(not(feature = "without-jsonld"))]
pub fn canonicalize(document: &Value) -> Result<String> {
    let quads: Vec<oxrdf_canon::Quad> = to_quads(document)?.into_iter().map(to_canon_quad).collect();
    rdf_canon::canonicalize_quads(&quads).map_err(|e| MasteryError::parse("RDF canonicalisation", e))
}

/// Without JSON-LD (feature `without-jsonld`), Data Integrity proofs cannot be made or checked.
#[cfg(feature = "without-jsonld")]
pub fn canonicalize(_document: &Value) -> Result<String> {
    Err(MasteryError::parse("JSON-LD", "this build leaves out JSON-LD (feature without-jsonld); use VC-JWTs"))
}

#[cfg(feature = "without-jsonld")]
pub(crate) fn to_quads(_document: &Value) -> Result<Vec<oxrdf::Quad>> {
    Err(MasteryError::parse("JSON-LD", "this build leaves out JSON-LD (feature without-jsonld); use VC-JWTs"))
}

/// The RDF quads of a JSON-LD document, expanded with the bundled contexts only.
#[cfg(not(feature = "without-jsonld"))]
pub(crate) fn to_quads(document: &Value) -> Result<Vec<oxrdf::Quad>> {
    let text = serde_json::to_vec(document).map_err(|e| MasteryError::parse("JSON-LD", e))?;
    let parser = oxjsonld::JsonLdParser::new().for_slice(&text).with_load_document_callback(|url, _| {
        let (_, body) = CONTEXTS
            .iter()
            .find(|(known, _)| *known == url)
            .ok_or_else(|| format!("context {url} is not bundled (contexts are never fetched)"))?;
        Ok(oxjsonld::JsonLdRemoteDocument { document: body.as_bytes().to_vec(), document_url: url.to_owned() })
    });
    parser.map(|quad| quad.map_err(|e| MasteryError::parse("JSON-LD", e))).collect()
}

/// oxjsonld speaks oxrdf 0.3, rdf-canon oxrdf 0.2: the same terms, rebuilt.
#[cfg(not(feature = "without-jsonld"))]
fn to_canon_quad(q: oxrdf::Quad) -> oxrdf_canon::Quad {
    use oxrdf_canon as c;
    let named = |n: oxrdf::NamedNode| c::NamedNode::new_unchecked(n.into_string());
    let blank = |b: oxrdf::BlankNode| c::BlankNode::new_unchecked(b.into_string());
    let subject: c::Subject = match q.subject {
        oxrdf::NamedOrBlankNode::NamedNode(n) => named(n).into(),
        oxrdf::NamedOrBlankNode::BlankNode(b) => blank(b).into(),
    };
    let object: c::Term = match q.object {
        oxrdf::Term::NamedNode(n) => named(n).into(),
        oxrdf::Term::BlankNode(b) => blank(b).into(),
        oxrdf::Term::Literal(l) => match l.destruct() {
            (value, _, Some(language)) => c::Literal::new_language_tagged_literal_unchecked(value, language).into(),
            (value, Some(datatype), None) => c::Literal::new_typed_literal(value, named(datatype)).into(),
            (value, None, None) => c::Literal::new_simple_literal(value).into(),
        },
    };
    let graph = match q.graph_name {
        oxrdf::GraphName::DefaultGraph => c::GraphName::DefaultGraph,
        oxrdf::GraphName::NamedNode(n) => named(n).into(),
        oxrdf::GraphName::BlankNode(b) => blank(b).into(),
    };
    c::Quad::new(subject, named(q.predicate), object, graph)
}

/// SHA-256 of the canonical proof options, then of the canonical document (§3.3.4).
fn hash_data(document: &Value, proof: &Value) -> Result<Vec<u8>> {
    let mut unsigned = document.clone();
    if let Some(map) = unsigned.as_object_mut() {
        map.remove("proof");
    }
    let mut options = proof.clone();
    if let Some(map) = options.as_object_mut() {
        map.remove("proofValue");
        map.insert("@context".into(), document.get("@context").cloned().unwrap_or(Value::Null));
    }
    let canonical_options = canonicalize(&options)?;
    // Under a context that does not define the proof's terms, the options expand to nothing and
    // the signature would not cover them.
    if canonical_options.is_empty() {
        return Err(MasteryError::invalid("@context", "does not define the Data Integrity proof terms"));
    }
    let mut hash = Sha256::digest(canonical_options.as_bytes()).to_vec();
    hash.extend_from_slice(&Sha256::digest(canonicalize(&unsigned)?.as_bytes()));
    Ok(hash)
}

/// Adds an `eddsa-rdfc-2022` proof to a credential. The verification method defaults to the key's
/// did:key (the issuer must then be that DID); a did:web or https issuer names its own method,
/// which must belong to the issuer.
pub fn sign_data_integrity(
    credential: &Value,
    key: &IssuerKey,
    verification_method: Option<&str>,
    created: Instant,
) -> Result<Value> {
    let issuer = super::jwt::issuer_id(credential).ok_or_else(|| MasteryError::invalid("issuer.id", "is required"))?;
    let method = verification_method.map_or_else(|| key.key_id(), str::to_owned);
    if controller(&method) != issuer {
        return Err(MasteryError::invalid("verificationMethod", "must belong to the credential's issuer"));
    }
    // JSON-LD drops what no context defines: such a property would not be signed.
    if let Some(path) = super::signed::unsigned_property(credential)? {
        return Err(MasteryError::invalid(
            path,
            "is not defined by the credential's contexts, so it would not be signed",
        ));
    }
    let mut proof = json!({
        "type": "DataIntegrityProof",
        "created": created.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "verificationMethod": method,
        "cryptosuite": CRYPTOSUITE,
        "proofPurpose": "assertionMethod",
    });
    let signature = key.sign(&hash_data(credential, &proof)?);
    proof["proofValue"] = json!(format!("z{}", bs58::encode(signature).into_string()));
    let mut signed = credential.clone();
    signed["proof"] = proof;
    Ok(signed)
}

/// The DID or URL a verification method id belongs to (the part before `#`).
pub(crate) fn controller(method: &str) -> &str {
    method.split('#').next().unwrap_or_default()
}

/// The outcome of checking a credential's embedded proofs: whether all verify and cover what its
/// JSON says, and why not.
pub(crate) fn verify_proofs(credential: &Value, keys: &BTreeMap<String, String>) -> (bool, String) {
    let proofs = crate::json::one_or_many(credential.get("proof"));
    if proofs.is_empty() {
        return (false, "unsigned: no proof".into());
    }
    if let Some(why) = super::signed::json_rdf_problem(credential) {
        return (false, why);
    }
    for (i, proof) in proofs.iter().enumerate() {
        if let Err(why) = verify_proof(credential, proof, keys) {
            return (false, format!("proof {i}: {why}"));
        }
    }
    (true, format!("{} Data Integrity proof(s) verify ({CRYPTOSUITE})", proofs.len()))
}

fn verify_proof(credential: &Value, proof: &Value, keys: &BTreeMap<String, String>) -> std::result::Result<(), String> {
    let field = |name: &str| proof.get(name).and_then(Value::as_str).unwrap_or_default();
    if field("type") != "DataIntegrityProof" {
        return Err(format!("proof type {:?} is not supported", field("type")));
    }
    // eddsa-2022 is the draft name of the same suite.
    if !matches!(field("cryptosuite"), CRYPTOSUITE | "eddsa-2022") {
        return Err(format!("cryptosuite {:?} is not supported", field("cryptosuite")));
    }
    if field("proofPurpose") != "assertionMethod" {
        return Err("proofPurpose must be assertionMethod".into());
    }
    let key = resolve_key(field("verificationMethod"), keys)?;
    let signature = field("proofValue")
        .strip_prefix('z')
        .and_then(|v| bs58::decode(v).into_vec().ok())
        .and_then(|bytes| <[u8; 64]>::try_from(bytes).ok())
        .ok_or("proofValue is not a base58btc Ed25519 signature")?;
    let hash = hash_data(credential, proof).map_err(|e| e.to_string())?;
    key.verify_strict(&hash, &ed25519_dalek::Signature::from_bytes(&signature))
        .map_err(|_| "signature does not verify".to_owned())
}

/// did:key methods resolve themselves; any other method (did:web, an issuer's https profile)
/// must be among the keys the host resolved and passed in.
fn resolve_key(method: &str, keys: &BTreeMap<String, String>) -> std::result::Result<VerifyingKey, String> {
    if let Some(multibase) = keys.get(method) {
        return public_key_from_multibase(multibase).map_err(|e| e.to_string());
    }
    if method.starts_with("did:key:") {
        return public_key_from_did_key(method).map_err(|e| e.to_string());
    }
    let scheme = method.split_once(':').map(|(s, _)| s);
    match scheme {
        None => Err("verificationMethod is not a URI".into()),
        Some("did") if !method.starts_with("did:web:") => {
            Err("verificationMethod uses an unsupported DID method".into())
        }
        Some("did" | "https" | "http") => {
            Err("no key known for the verificationMethod: resolve the issuer's document and pass its keys".into())
        }
        Some(_) => Err("verificationMethod uses an unsupported URI scheme".into()),
    }
}

/// The https URL of a did:web's DID document (did:web method §3.2.1).
pub fn did_web_url(did: &str) -> Result<String> {
    let rest = did.strip_prefix("did:web:").ok_or_else(|| MasteryError::invalid("did", "is not a did:web"))?;
    let mut parts = rest.split(':').map(|p| p.replace("%3A", ":"));
    let host = parts.next().filter(|h| !h.is_empty()).ok_or_else(|| MasteryError::invalid("did", "has no host"))?;
    let path: Vec<String> = parts.collect();
    Ok(if path.is_empty() {
        format!("https://{host}/.well-known/did.json")
    } else {
        format!("https://{host}/{}/did.json", path.join("/"))
    })
}

/// A did:web DID document publishing the key as a Multikey assertion method.
pub fn did_web_document(did: &str, key: &IssuerKey) -> Result<Value> {
    did_web_url(did)?;
    let method = format!("{did}#key-1");
    Ok(json!({
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
        "id": did,
        "verificationMethod": [{
            "id": method,
            "type": "Multikey",
            "controller": did,
            "publicKeyMultibase": key.public_multibase(),
        }],
        "assertionMethod": [method],
    }))
}

/// The assertion keys a DID document or issuer profile publishes, by method id, for
/// `VerifyOptions::keys` (Multikey and Ed25519VerificationKey2020 `publicKeyMultibase`).
pub fn keys_from_document(document: &Value) -> Result<BTreeMap<String, String>> {
    let controller_id = document.get("id").and_then(Value::as_str).unwrap_or_default();
    let mut keys = BTreeMap::new();
    for method in document.get("verificationMethod").and_then(Value::as_array).into_iter().flatten() {
        let Some(id) = method.get("id").and_then(Value::as_str) else { continue };
        let Some(multibase) = method.get("publicKeyMultibase").and_then(Value::as_str) else { continue };
        public_key_from_multibase(multibase)?;
        let id = if id.starts_with('#') { format!("{controller_id}{id}") } else { id.to_owned() };
        keys.insert(id, multibase.to_owned());
    }
    Ok(keys)
}
