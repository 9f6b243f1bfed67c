//! Chart-ready view models (plain serde data, the same shapes in every binding) and accessible
//! SVG renderers for them.

pub(crate) mod svg;
mod views;

pub use svg::{render_heatmap, render_progress, render_ring_chart, render_streak_tracker, PALETTE};
pub use views::{
    activity_calendar, class_heatmap, class_heatmap_from_grid, competency_weeks_heatmap, progress_over_time,
    ring_chart, streak_tracker, Heatmap, HeatmapCell, Label, LegendEntry, ProgressPoint, ProgressSeries, ProgressView,
    Ring, RingChart, RingMetric, StreakTracker, TimeWindow, TrackerDay,
};
