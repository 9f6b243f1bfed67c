//! The badge gallery as a table: every achievement for one learner, earned (by a given award or
//! because its rule now holds), in progress (and how far), expired or revoked.

use std::sync::Arc;

use arrow_array::builder::{Float64Builder, StringBuilder, UInt32Builder};
use arrow_array::ArrayRef;
use arrow_schema::{DataType, Field};
use mastery_core as core;
use pyo3::prelude::*;
use pyo3_arrow::PyTable;

use crate::arrow;
use crate::convert::{data, data_or_default, opt_text, text};
use crate::error::{guard, IntoPyResult};
use core::credential::{Achievement, Award, AwardScope, BadgeStatus, CredentialLedger, GalleryQuery};

type Arg<'py> = Bound<'py, PyAny>;

/// One learner's gallery at `now`: `achievements` (Open Badges 3.0 achievements with their award
/// rules), `facts` (`{"scores", "mastered", "streak", "evidence"}`, what the rules see), `awards`
/// already issued (dicts with `achievement`, `version`, `credential_id`, `awarded_at`,
/// `revoked`), seen as the tenant's service from `course` (an instructor's view) or from
/// everywhere. Rules that hold now count as earned at `now`. Returns a table, one row per
/// achievement in the given order.
#[pyfunction]
#[pyo3(signature = (achievements, facts, learner, now, awards=None, tenant=None, course=None))]
#[allow(clippy::too_many_arguments)]
pub fn badge_gallery(
    py: Python<'_>,
    achievements: &Arg<'_>,
    facts: &Arg<'_>,
    learner: &Arg<'_>,
    now: &Arg<'_>,
    awards: Option<&Arg<'_>>,
    tenant: Option<&Arg<'_>>,
    course: Option<&Arg<'_>>,
) -> PyResult<PyTable> {
    guard(py, || {
        let achievements: Vec<Achievement> = data(achievements, "achievements")?;
        let facts: core::credential::LearnerFacts = data(facts, "facts")?;
        let learner = text(learner, "learner")?.into_owned();
        let now = core::time::parse_instant(&text(now, "now")?, "now").py_err(py)?;
        let tenant = opt_text(tenant, "tenant")?.unwrap_or_else(|| "default".into());
        let course = opt_text(course, "course")?.map(core::CourseId::from);
        let given: Vec<serde_json::Value> = data_or_default(awards, "awards")?;
        // A ledger of the given awards (keyed by position: only reads by learner follow).
        let mut ledger_awards = serde_json::Map::new();
        for (i, a) in given.into_iter().enumerate() {
            let mut a = a;
            if let Some(o) = a.as_object_mut() {
                o.entry("tenant").or_insert_with(|| tenant.clone().into());
                o.entry("learner").or_insert_with(|| learner.clone().into());
            }
            let award: Award = serde_json::from_value(a)
                .map_err(|e| crate::error::invalid(py, "awards", crate::convert::shape(&e.to_string())))?;
            ledger_awards
                .insert(format!("given:{i}"), serde_json::to_value(award).map_err(|e| crate::error::internal(py, e))?);
        }
        let mut ledger: CredentialLedger = serde_json::from_value(serde_json::json!({
            "awards": ledger_awards, "outbox": {}, "next_notification": 0
        }))
        .map_err(|e| crate::error::internal(py, e))?;
        let scope = AwardScope::new(tenant.as_str(), learner.as_str(), course.clone());
        ledger.evaluate(&scope, &facts, &achievements, None, None, now);
        let ctx = core::AccessContext::new(core::Principal::service(tenant.as_str(), "mastery-python"));
        let query = GalleryQuery { learner: learner.as_str().into(), course, now };
        let items = core::credential::badge_gallery(&ctx, &ledger, &query, &facts, &achievements, None).py_err(py)?;
        let (mut id, mut version, mut name, mut image, mut status) = (
            StringBuilder::new(),
            UInt32Builder::new(),
            StringBuilder::new(),
            StringBuilder::new(),
            StringBuilder::new(),
        );
        let (mut progress, mut credential, mut awarded, mut until, mut reason) = (
            Float64Builder::new(),
            StringBuilder::new(),
            StringBuilder::new(),
            StringBuilder::new(),
            StringBuilder::new(),
        );
        for item in &items {
            id.append_value(&item.achievement);
            version.append_value(item.version);
            name.append_value(&item.name);
            image.append_option(item.image.as_deref());
            status.append_value(match item.status {
                BadgeStatus::Earned => "earned",
                BadgeStatus::InProgress => "in_progress",
                BadgeStatus::Expired => "expired",
                BadgeStatus::Revoked => "revoked",
            });
            progress.append_value(item.progress);
            credential.append_option(item.credential_id.as_deref());
            awarded.append_option(item.awarded_at.map(|t| t.to_rfc3339()));
            until.append_option(item.valid_until.map(|t| t.to_rfc3339()));
            reason.append_option(item.revocation_reason.as_deref());
        }
        let fields = vec![
            Field::new("achievement", DataType::Utf8, false),
            Field::new("version", DataType::UInt32, false),
            Field::new("name", DataType::Utf8, false),
            Field::new("image", DataType::Utf8, true),
            Field::new("status", DataType::Utf8, false),
            Field::new("progress", DataType::Float64, false),
            Field::new("credential_id", DataType::Utf8, true),
            Field::new("awarded_at", DataType::Utf8, true),
            Field::new("valid_until", DataType::Utf8, true),
            Field::new("revocation_reason", DataType::Utf8, true),
        ];
        let arrays: Vec<ArrayRef> = vec![
            Arc::new(id.finish()),
            Arc::new(version.finish()),
            Arc::new(name.finish()),
            Arc::new(image.finish()),
            Arc::new(status.finish()),
            Arc::new(progress.finish()),
            Arc::new(credential.finish()),
            Arc::new(awarded.finish()),
            Arc::new(until.finish()),
            Arc::new(reason.finish()),
        ];
        arrow::table(fields, arrays)
    })
}
