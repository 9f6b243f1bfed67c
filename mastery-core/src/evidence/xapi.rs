//! xAPI 1.0.3 and 2.0 statements → evidence.

use serde_json::Value;

use super::{Evidence, EvidenceKind, EvidenceMapping, EvidenceSource, IngestReport, Score};
use crate::error::{MasteryError, Result};
use crate::ids::{EvidenceId, UserId};
use crate::json::{as_obj, content_key, is_iri, join, parse_batch, Obj};
use crate::time::{parse_duration_seconds, parse_instant};

/// Parses one statement or an array of statements. Fails as a whole only when the text is not JSON.
pub fn parse_xapi(text: &str, mapping: &EvidenceMapping) -> Result<IngestReport> {
    let mut report = IngestReport::default();
    for (index, record) in parse_batch(text, "xAPI statement")?.into_iter().enumerate() {
        report.push(index, record.and_then(|v| statement(&v, mapping)).map(|e| vec![e]));
    }
    Ok(report)
}

fn statement(value: &Value, mapping: &EvidenceMapping) -> Result<Evidence> {
    let s = as_obj(value, "")?;
    if let Some(version) = s.str("version")? {
        if !(version.starts_with("1.0") || version.starts_with("2.0")) {
            return Err(MasteryError::UnsupportedVersion { what: "xAPI", version: version.to_owned() });
        }
    }
    let id = match s.str("id")? {
        Some(id) if is_uuid(id) => format!("xapi:{}", id.to_ascii_lowercase()),
        Some(_) => return Err(MasteryError::invalid("id", "must be a UUID")),
        None => content_key("xapi", value),
    };
    let learner = learner(&s.req_obj("actor", "actor")?)?;
    let verb = s.req_obj("verb", "verb")?;
    let verb_id = verb.req_str("id")?;
    require_iri(verb_id, "verb.id")?;
    let activity = object(&s.req_obj("object", "object")?)?;
    let (score, success, completion, duration_seconds) = match s.obj("result", "result")? {
        Some(r) => result(&r)?,
        None => (None, None, None, None),
    };
    let context_ids = match s.obj("context", "context")? {
        Some(c) => context_activities(&c)?,
        None => Vec::new(),
    };
    let occurred_at = match (s.str("timestamp")?, s.str("stored")?) {
        (Some(t), _) => Some(parse_instant(t, "timestamp")?),
        (None, Some(t)) => Some(parse_instant(t, "stored")?),
        (None, None) => mapping.default_time,
    };
    let related = || activity.iter().map(String::as_str).chain(context_ids.iter().map(String::as_str));
    Ok(Evidence {
        id: EvidenceId::new(id),
        learner,
        course: mapping.course_for(related()),
        competencies: mapping.competencies_for(related()),
        kind: mapping.kinds.get(verb_id).copied().unwrap_or_else(|| kind_of_verb(verb_id)),
        activity,
        score,
        success,
        completion,
        duration_seconds,
        occurred_at,
        sequence: None,
        source: EvidenceSource::Xapi,
    })
}

/// The learner's key: the agent's one inverse functional identifier, prefixed by its kind.
fn learner(actor: &Obj<'_>) -> Result<UserId> {
    match actor.str("objectType")? {
        None | Some("Agent") | Some("Group") => {}
        Some(_) => return Err(MasteryError::invalid("actor.objectType", "must be Agent or Group")),
    }
    let ifi = identifier(actor)?;
    ifi.map(UserId::new)
        .ok_or_else(|| MasteryError::invalid("actor", "needs exactly one of mbox, mbox_sha1sum, openid, account"))
}

/// An agent's or identified group's IFI; `None` when it has none. Two IFIs are an error.
fn identifier(agent: &Obj<'_>) -> Result<Option<String>> {
    let mut found = Vec::new();
    if let Some(mbox) = agent.str("mbox")? {
        if !mbox.starts_with("mailto:") || mbox.len() <= 7 {
            return Err(MasteryError::invalid(agent.field("mbox"), "must be a mailto: IRI"));
        }
        found.push(format!("mbox:{mbox}"));
    }
    if let Some(sha) = agent.str("mbox_sha1sum")? {
        if sha.len() != 40 || !sha.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(MasteryError::invalid(agent.field("mbox_sha1sum"), "must be 40 hex digits"));
        }
        found.push(format!("mbox_sha1sum:{}", sha.to_ascii_lowercase()));
    }
    if let Some(openid) = agent.str("openid")? {
        require_iri(openid, &agent.field("openid"))?;
        found.push(format!("openid:{openid}"));
    }
    let account_path = agent.field("account");
    if let Some(account) = agent.obj("account", &account_path)? {
        let home = account.req_str("homePage")?;
        require_iri(home, &account.field("homePage"))?;
        found.push(format!("account:{home}|{}", account.req_str("name")?));
    }
    match found.len() {
        0 => Ok(None),
        1 => Ok(found.pop()),
        _ => Err(MasteryError::invalid(agent.path, "has more than one identifier")),
    }
}

/// The activity IRI the statement is about, if its object is an activity.
fn object(object: &Obj<'_>) -> Result<Option<String>> {
    match object.str("objectType")?.unwrap_or("Activity") {
        "Activity" => {
            let id = object.req_str("id")?;
            require_iri(id, &object.field("id"))?;
            Ok(Some(id.to_owned()))
        }
        "Agent" | "Group" => {
            let is_group = object.str("objectType")? == Some("Group");
            if identifier(object)?.is_none() && !(is_group && object.has("member")) {
                return Err(MasteryError::invalid(object.path, "agent object needs an identifier"));
            }
            Ok(None)
        }
        "StatementRef" => {
            if !is_uuid(object.req_str("id")?) {
                return Err(MasteryError::invalid(object.field("id"), "must be a UUID"));
            }
            Ok(None)
        }
        "SubStatement" => {
            for key in ["actor", "verb", "object"] {
                if object.get(key).is_none() {
                    return Err(MasteryError::invalid(object.field(key), "is required"));
                }
            }
            let verb_path = object.field("verb");
            require_iri(object.req_obj("verb", &verb_path)?.req_str("id")?, &join(&verb_path, "id"))?;
            Ok(None)
        }
        _ => Err(MasteryError::invalid(object.field("objectType"), "unknown object type")),
    }
}

type ResultParts = (Option<Score>, Option<bool>, Option<bool>, Option<f64>);

fn result(r: &Obj<'_>) -> Result<ResultParts> {
    let score = match r.obj("score", "result.score")? {
        Some(s) => {
            let score = Score { scaled: s.f64("scaled")?, raw: s.f64("raw")?, min: s.f64("min")?, max: s.f64("max")? };
            if score.scaled.is_some_and(|x| !(-1.0..=1.0).contains(&x)) {
                return Err(MasteryError::invalid("result.score.scaled", "must be between -1 and 1"));
            }
            if let (Some(min), Some(max)) = (score.min, score.max) {
                if min >= max {
                    return Err(MasteryError::invalid("result.score.min", "must be below max"));
                }
            }
            if let Some(raw) = score.raw {
                if score.min.is_some_and(|m| raw < m) || score.max.is_some_and(|m| raw > m) {
                    return Err(MasteryError::invalid("result.score.raw", "must lie within min and max"));
                }
            }
            if score.raw.is_some() && score.max.is_some() && score.normalized().is_none() {
                return Err(MasteryError::invalid("result.score", "does not give a finite score"));
            }
            Some(score)
        }
        None => None,
    };
    let duration = r.str("duration")?.map(|d| parse_duration_seconds(d, "result.duration")).transpose()?;
    Ok((score, r.bool("success")?, r.bool("completion")?, duration))
}

/// Ids of the context activities (parent, grouping, category, other); single objects allowed (1.0.x).
fn context_activities(context: &Obj<'_>) -> Result<Vec<String>> {
    let Some(activities) = context.obj("contextActivities", "context.contextActivities")? else {
        return Ok(Vec::new());
    };
    let mut ids = Vec::new();
    for key in ["parent", "grouping", "category", "other"] {
        let path = activities.field(key);
        let list = match activities.get(key) {
            None => continue,
            Some(Value::Array(items)) => items.iter().collect(),
            Some(single) => vec![single],
        };
        for item in list {
            let id = as_obj(item, &path)?.req_str("id")?;
            require_iri(id, &join(&path, "id"))?;
            ids.push(id.to_owned());
        }
    }
    Ok(ids)
}

/// ADL's and common community verbs; a host's mapping overrides this table.
fn kind_of_verb(verb: &str) -> EvidenceKind {
    let name = verb.rsplit(['/', '#']).next().unwrap_or(verb);
    match name {
        "answered" | "responded" => EvidenceKind::Response,
        "scored" | "passed" | "failed" => EvidenceKind::Assessment,
        "attempted" => EvidenceKind::Attempt,
        "completed" | "progressed" => EvidenceKind::Completion,
        "mastered" => EvidenceKind::Mastery,
        "experienced" | "viewed" | "attended" | "watched" | "read" => EvidenceKind::View,
        "launched" | "initialized" | "terminated" | "exited" | "suspended" | "resumed" | "logged-in" | "logged-out" => {
            EvidenceKind::Session
        }
        "submitted" => EvidenceKind::Submission,
        _ => EvidenceKind::Other,
    }
}

fn require_iri(text: &str, field: &str) -> Result<()> {
    if is_iri(text) {
        Ok(())
    } else {
        Err(MasteryError::invalid(field, "must be an absolute IRI"))
    }
}

fn is_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups.iter().zip([8, 4, 4, 4, 12]).all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}
