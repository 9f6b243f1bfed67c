//! Deterministic input generators shared by the benchmarks.

use serde_json::json;

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
