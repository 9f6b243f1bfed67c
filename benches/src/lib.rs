//! Deterministic input generators shared by the benchmarks.

use mastery_core::mastery::Response;
use serde_json::json;

/// SplitMix64: the same stream on every platform.
struct Rng(u64);

impl Rng {
    fn unit(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A BKT response log simulated from known parameters: `skills` × `learners` × `attempts` rows,
/// ordered by learner, then skill, then attempt (`order_id` is the global row number).
/// Each skill has its own truth: prior 0.1-0.5, learn 0.05-0.3, guess 0.1-0.3, slip 0.05-0.2.
pub fn bkt_log(skills: usize, learners: usize, attempts: usize, seed: u64) -> Vec<Response> {
    let mut rng = Rng(seed);
    let truth: Vec<[f64; 4]> = (0..skills)
        .map(|_| [0.1 + 0.4 * rng.unit(), 0.05 + 0.25 * rng.unit(), 0.1 + 0.2 * rng.unit(), 0.05 + 0.15 * rng.unit()])
        .collect();
    let mut rows = Vec::with_capacity(skills * learners * attempts);
    for learner in 0..learners {
        for (skill, &[prior, learn, guess, slip]) in truth.iter().enumerate() {
            let mut known = rng.unit() < prior;
            for _ in 0..attempts {
                let correct = if known { rng.unit() >= slip } else { rng.unit() < guess };
                rows.push(Response {
                    learner: format!("learner{learner}"),
                    skill: format!("skill{skill}"),
                    correct,
                    order: Some(rows.len() as i64),
                    template: None,
                    prior_group: None,
                });
                known = known || rng.unit() < learn;
            }
        }
    }
    rows
}

/// The log as pyBKT's CSV (`order_id,user_id,skill_name,correct`).
pub fn bkt_csv(rows: &[Response]) -> String {
    let mut out = String::from("order_id,user_id,skill_name,correct\n");
    for r in rows {
        out.push_str(&format!("{},{},{},{}\n", r.order.unwrap_or_default(), r.learner, r.skill, u8::from(r.correct)));
    }
    out
}

/// `n` xAPI statements from `learners` learners over `activities` activities; no randomness,
/// so every run measures the same bytes.
pub fn xapi_batch(n: usize, learners: usize, activities: usize) -> String {
    let statements: Vec<_> = (0..n)
        .map(|i| {
            json!({
                "id": format!("{:08x}-0000-4000-8000-{:012x}", i, i),
                "actor": {"account": {"homePage": "https://lms.example.edu", "name": format!("learner-{}", i % learners)}},
                "verb": {"id": "http://adlnet.gov/expapi/verbs/answered"},
                "object": {"id": format!("https://lms.example.edu/items/{}", i % activities)},
                "result": {"score": {"scaled": (i % 10) as f64 / 10.0}, "success": i % 3 != 0, "duration": "PT1M30S"},
                "context": {"contextActivities": {"parent": [{"id": format!("https://lms.example.edu/units/{}", i % 20)}]}},
                "timestamp": format!("2026-03-{:02}T{:02}:15:00-05:00", 1 + i % 28, i % 24),
            })
        })
        .collect();
    serde_json::Value::Array(statements).to_string()
}

/// The same batch as one Caliper envelope of AssessmentItemEvents.
pub fn caliper_envelope(n: usize, learners: usize) -> String {
    let events: Vec<_> = (0..n)
        .map(|i| {
            json!({
                "@context": "http://purl.imsglobal.org/ctx/caliper/v1p2",
                "id": format!("urn:uuid:{:08x}-0000-4000-8000-{:012x}", i, i),
                "type": "AssessmentItemEvent",
                "profile": "AssessmentProfile",
                "actor": {"id": format!("https://example.edu/users/{}", i % learners), "type": "Person"},
                "action": "Completed",
                "object": {"id": format!("https://example.edu/assess/1/items/{}", i % 50), "type": "AssessmentItem",
                           "isPartOf": {"id": "https://example.edu/assess/1", "type": "Assessment"}},
                "generated": {"id": format!("https://example.edu/responses/{i}"), "type": "FillinBlankResponse",
                              "values": ["a", "b"]},
                "eventTime": "2016-11-15T10:15:12.000Z",
                "group": {"id": "https://example.edu/sections/1", "type": "CourseSection"}
            })
        })
        .collect();
    json!({"sensor": "https://example.edu/sensors/1", "sendTime": "2016-11-15T11:05:01.000Z",
           "dataVersion": "http://purl.imsglobal.org/ctx/caliper/v1p2", "data": events})
    .to_string()
}

/// A CASE package with `items` items: each a child of the document, or (with `two_parents`,
/// from the third on) of the two items before it, a DAG with very many paths of many depths.
pub fn case_package(items: usize, two_parents: bool) -> String {
    let link = |n: usize, child: &str, parent: &str| {
        serde_json::json!({"identifier": format!("a{n}"), "associationType": "isChildOf",
            "originNodeURI": {"identifier": child}, "destinationNodeURI": {"identifier": parent}})
    };
    let mut cf_items = Vec::with_capacity(items);
    let mut links = Vec::with_capacity(items * 2);
    for i in 0..items {
        let id = format!("i{i}");
        cf_items.push(serde_json::json!({"identifier": id, "fullStatement": format!("item {i}")}));
        if !two_parents || i < 2 {
            links.push(link(links.len(), &id, "doc"));
        } else {
            links.push(link(links.len(), &id, &format!("i{}", i - 1)));
            links.push(link(links.len(), &id, &format!("i{}", i - 2)));
        }
    }
    serde_json::json!({"CFDocument": {"identifier": "doc", "title": "hostile"}, "CFItems": cf_items,
        "CFAssociations": links})
    .to_string()
}
