//! The TypeScript declarations of the view models, generated from the Rust types (ts-rs, with
//! serde's renames): `mastery-wasm/src/generated.d.ts`, which the WASM package includes in its
//! `.d.ts`. This test fails when the file differs from the types; `UPDATE_TYPES=1 cargo test -p
//! mastery-core --features ts --test typescript` rewrites it.
#![cfg(feature = "ts")]
#![allow(clippy::unwrap_used)]

use mastery_core::credential::{BadgeStatus, GalleryItem};
use mastery_core::dashboard::{
    Heatmap, HeatmapCell, Label, LegendEntry, ProgressPoint, ProgressSeries, ProgressView, Ring, RingChart, RingMetric,
};
use mastery_core::engine::{ClassDashboard, ClassDashboardOptions, LearnerDashboard};
use mastery_core::evidence::Rejection;
use mastery_core::mastery::{CompetencySummary, LevelCount, MasteryView, Recommendation};
use mastery_core::risk::{Alert, Reason};
use mastery_core::streak::{DayState, Period, StreakStatus};
use mastery_core::IngestOutcome;
use ts_rs::{Config, TS};

fn declarations() -> String {
    // Counts cross into JS as numbers (serde-wasm-bindgen's JSON-compatible serializer).
    let cfg = Config::new().with_large_int("number");
    let decls = [
        IngestOutcome::decl(&cfg),
        Rejection::decl(&cfg),
        MasteryView::decl(&cfg),
        DayState::decl(&cfg),
        Period::decl(&cfg),
        StreakStatus::decl(&cfg),
        Label::decl(&cfg),
        RingMetric::decl(&cfg),
        Ring::decl(&cfg),
        RingChart::decl(&cfg),
        HeatmapCell::decl(&cfg),
        LegendEntry::decl(&cfg),
        Heatmap::decl(&cfg),
        ProgressPoint::decl(&cfg),
        ProgressSeries::decl(&cfg),
        ProgressView::decl(&cfg),
        Recommendation::decl(&cfg),
        BadgeStatus::decl(&cfg),
        GalleryItem::decl(&cfg),
        LevelCount::decl(&cfg),
        CompetencySummary::decl(&cfg),
        Reason::decl(&cfg),
        Alert::decl(&cfg),
        LearnerDashboard::decl(&cfg),
        ClassDashboardOptions::decl(&cfg),
        ClassDashboard::decl(&cfg),
    ];
    let mut out = String::from("// Generated from the Rust types by mastery-core/tests/typescript.rs: do not edit.\n");
    for decl in decls {
        out.push_str("export ");
        out.push_str(&decl);
        out.push('\n');
    }
    out
}

#[test]
fn generated_declarations_are_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../mastery-wasm/src/generated.d.ts");
    let generated = declarations();
    if std::env::var_os("UPDATE_TYPES").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let stored = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        stored == generated,
        "{} is out of date: run UPDATE_TYPES=1 cargo test -p mastery-core --features ts --test typescript",
        path.display()
    );
}
