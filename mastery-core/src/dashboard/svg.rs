//! Accessible, deterministic SVG: `role="img"`, `<title>` and `<desc>`, text labels, a
//! colour-blind-safe palette, a `viewBox` so it scales, no external fonts or scripts.

use std::fmt::Write;

use super::views::{Heatmap, ProgressView, RingChart, StreakTracker};
use crate::streak::DayState;

/// Okabe-Ito: distinguishable with every common colour-vision deficiency.
pub const PALETTE: [&str; 8] = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"];

/// Light to dark blue (ColorBrewer "Blues"), for counts.
pub(crate) const SEQUENTIAL: [&str; 4] = ["#c6dbef", "#6baed6", "#2171b5", "#08306b"];

pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

fn open(out: &mut String, id: &str, width: f64, height: f64, title: &str, desc: &str) {
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" role="img" aria-labelledby="{id}-title {id}-desc" font-family="sans-serif"><title id="{id}-title">{}</title><desc id="{id}-desc">{}</desc>"#,
        escape(title),
        escape(desc)
    );
}

/// Concentric rings, innermost first; each arc's length is its value, with a text label.
pub fn render_ring_chart(chart: &RingChart) -> String {
    let n = chart.rings.len().max(1) as f64;
    let (width, height) = (760.0, 360.0);
    let (cx, cy, stroke) = (180.0, 180.0, (150.0 / n).clamp(6.0, 24.0));
    let desc: Vec<String> =
        chart.rings.iter().map(|r| format!("{}: {:.0}% ({})", r.label, r.value * 100.0, r.rating)).collect();
    let summary = if desc.is_empty() { "No competency areas to show.".to_owned() } else { desc.join("; ") };
    let mut out = String::new();
    open(&mut out, "rings", width, height, &chart.title, &summary);
    for (i, ring) in chart.rings.iter().enumerate() {
        let r = 30.0 + (i as f64 + 0.5) * (150.0 / n);
        let circumference = std::f64::consts::TAU * r;
        let shown = (ring.value.clamp(0.0, 1.0) * circumference * 100.0).round() / 100.0;
        let _ = write!(
            out,
            r##"<g><title>{}</title><circle cx="{cx}" cy="{cy}" r="{r:.2}" fill="none" stroke="#e6e6e6" stroke-width="{stroke:.2}"/><circle cx="{cx}" cy="{cy}" r="{r:.2}" fill="none" stroke="{}" stroke-width="{stroke:.2}" stroke-dasharray="{shown:.2} {circumference:.2}" transform="rotate(-90 {cx} {cy})"/></g>"##,
            escape(&desc[i]),
            escape(&ring.color),
        );
        let y = 30.0 + i as f64 * (300.0 / n);
        let _ = write!(
            out,
            r#"<rect x="380" y="{:.2}" width="12" height="12" fill="{}"/><text x="398" y="{:.2}" font-size="12">{}</text>"#,
            y,
            escape(&ring.color),
            y + 10.0,
            escape(&truncate(&desc[i], 52))
        );
    }
    out.push_str("</svg>");
    out
}

fn plural(n: u32, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        format!("{}…", text.chars().take(max - 1).collect::<String>())
    }
}

fn state_style(state: Option<DayState>) -> (&'static str, &'static str) {
    match state {
        Some(DayState::Met) => (PALETTE[2], "met"),
        Some(DayState::Frozen) => (PALETTE[4], "frozen"),
        Some(DayState::Repaired) => (PALETTE[1], "repaired"),
        Some(DayState::Rest) => ("#bbbbbb", "rest day"),
        Some(DayState::Missed) => (PALETTE[5], "missed"),
        Some(DayState::PendingToday) => ("#ffffff", "today, pending"),
        Some(DayState::NotLived) => ("#dddddd", "skipped by a time-zone change"),
        None => ("#f4f4f4", "no data"),
    }
}

/// Current/longest streak, freezes left, and a week-by-week calendar with a legend.
pub fn render_streak_tracker(tracker: &StreakTracker) -> String {
    let cell = 18.0;
    let width = (40.0 + tracker.weeks.len() as f64 * (cell + 4.0) + 160.0).max(360.0);
    let height = 40.0 + 7.0 * (cell + 4.0) + 40.0;
    let title = format!("Streak: {} (longest {})", tracker.current, tracker.longest);
    let freezes = plural(tracker.freezes_left, "freeze", "freezes");
    let desc = format!(
        "Current streak {}, longest {}, {freezes} left; the last {} weeks, one square per day.",
        tracker.current,
        tracker.longest,
        tracker.weeks.len()
    );
    let mut out = String::new();
    open(&mut out, "streak", width, height, &title, &desc);
    let _ = write!(
        out,
        r#"<text x="10" y="22" font-size="14">{}</text>"#,
        escape(&format!("{title}, {} freezes left", tracker.freezes_left))
    );
    for (d, name) in ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].iter().enumerate() {
        let _ =
            write!(out, r#"<text x="4" y="{:.1}" font-size="9">{name}</text>"#, 40.0 + d as f64 * (cell + 4.0) + 13.0);
    }
    for (w, week) in tracker.weeks.iter().enumerate() {
        for (d, day) in week.iter().enumerate() {
            let (color, word) = state_style(day.state);
            let _ = write!(
                out,
                r##"<rect x="{:.1}" y="{:.1}" width="{cell}" height="{cell}" rx="3" fill="{color}" stroke="#999999" stroke-width="0.5"><title>{}: {word}, {} activities</title></rect>"##,
                30.0 + w as f64 * (cell + 4.0),
                40.0 + d as f64 * (cell + 4.0),
                day.date,
                day.events
            );
        }
    }
    let legend_x = 40.0 + tracker.weeks.len() as f64 * (cell + 4.0);
    for (i, state) in
        [DayState::Met, DayState::Frozen, DayState::Repaired, DayState::Rest, DayState::Missed, DayState::PendingToday]
            .iter()
            .enumerate()
    {
        let (color, word) = state_style(Some(*state));
        let y = 40.0 + i as f64 * 18.0;
        let _ = write!(
            out,
            r##"<rect x="{legend_x:.1}" y="{y:.1}" width="12" height="12" fill="{color}" stroke="#999999" stroke-width="0.5"/><text x="{:.1}" y="{:.1}" font-size="11">{word}</text>"##,
            legend_x + 18.0,
            y + 10.0
        );
    }
    out.push_str("</svg>");
    out
}

/// A grid of coloured cells with row and column labels; every cell carries its text.
pub fn render_heatmap(map: &Heatmap) -> String {
    let cell = 16.0;
    let (left, top) = (150.0, 110.0);
    let width = left + map.columns.len() as f64 * cell + 20.0;
    let height = top + map.rows.len() as f64 * cell + 20.0;
    let desc = format!("{} rows by {} columns; each cell's text gives its value.", map.rows.len(), map.columns.len());
    let mut out = String::new();
    open(&mut out, "heatmap", width, height, &map.title, &desc);
    for (c, column) in map.columns.iter().enumerate() {
        let x = left + c as f64 * cell + cell / 2.0;
        let _ = write!(
            out,
            r#"<text x="{x:.1}" y="{:.1}" font-size="9" transform="rotate(-60 {x:.1} {:.1})">{}</text>"#,
            top - 4.0,
            top - 4.0,
            escape(&truncate(&column.label, 20))
        );
    }
    for (r, row) in map.rows.iter().enumerate() {
        let y = top + r as f64 * cell;
        let _ = write!(
            out,
            r#"<text x="{:.1}" y="{:.1}" font-size="9" text-anchor="end">{}</text>"#,
            left - 4.0,
            y + 11.0,
            escape(&truncate(&row.label, 24))
        );
        let row_label = escape(&row.label);
        for (c, value) in map.cells.get(r).into_iter().flatten().enumerate() {
            let column = map.columns.get(c).map(|l| escape(&l.label)).unwrap_or_default();
            let _ = write!(
                out,
                r##"<rect x="{:.1}" y="{y:.1}" width="{cell}" height="{cell}" fill="{}" stroke="#ffffff" stroke-width="1"><title>{row_label}, {column}: {}</title></rect>"##,
                left + c as f64 * cell,
                escape(&value.color),
                escape(&value.text)
            );
        }
    }
    out.push_str("</svg>");
    out
}

/// One line per competency over time (0..100 %), with labelled axes and a legend.
pub fn render_progress(view: &ProgressView) -> String {
    let (width, height, left, top, plot_w, plot_h) = (720.0, 360.0, 50.0, 30.0, 460.0, 280.0);
    let times: Vec<i64> = view.series.iter().flat_map(|s| s.points.iter().map(|p| p.at.timestamp())).collect();
    let (t0, t1) = (times.iter().min().copied().unwrap_or(0), times.iter().max().copied().unwrap_or(1));
    let span = (t1 - t0).max(1) as f64;
    let desc: Vec<String> = view
        .series
        .iter()
        .map(|s| match s.points.last() {
            Some(p) => format!("{}: {} points, latest {:.0}%", s.label, s.points.len(), p.value * 100.0),
            None => format!("{}: no evidence in the window", s.label),
        })
        .collect();
    let summary = if desc.is_empty() { "No competencies to show.".to_owned() } else { desc.join("; ") };
    let mut out = String::new();
    open(&mut out, "progress", width, height, "Progress over time", &summary);
    let _ = write!(
        out,
        r##"<line x1="{left}" y1="{top}" x2="{left}" y2="{:.1}" stroke="#555555"/><line x1="{left}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#555555"/>"##,
        top + plot_h,
        top + plot_h,
        left + plot_w,
        top + plot_h
    );
    for pct in [0, 50, 100] {
        let y = top + plot_h * (1.0 - f64::from(pct) / 100.0);
        let _ = write!(
            out,
            r#"<text x="{:.1}" y="{:.1}" font-size="10" text-anchor="end">{pct}%</text>"#,
            left - 4.0,
            y + 3.0
        );
    }
    for (i, s) in view.series.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        let points: Vec<String> = s
            .points
            .iter()
            .map(|p| {
                format!(
                    "{:.1},{:.1}",
                    left + plot_w * (p.at.timestamp() - t0) as f64 / span,
                    top + plot_h * (1.0 - p.value.clamp(0.0, 1.0))
                )
            })
            .collect();
        let _ = write!(
            out,
            r#"<polyline fill="none" stroke="{color}" stroke-width="2" points="{}"><title>{}</title></polyline>"#,
            points.join(" "),
            escape(&desc[i])
        );
        for (p, xy) in s.points.iter().zip(&points) {
            let (x, y) = xy.split_once(',').unwrap_or(("0", "0"));
            let _ = write!(
                out,
                r#"<circle cx="{x}" cy="{y}" r="3" fill="{color}"><title>{} {:.0}% after {}</title></circle>"#,
                p.at.date_naive(),
                p.value * 100.0,
                escape(&p.evidence)
            );
        }
        let y = top + i as f64 * 16.0;
        let _ = write!(
            out,
            r#"<rect x="{:.1}" y="{y:.1}" width="12" height="4" fill="{color}"/><text x="{:.1}" y="{:.1}" font-size="10">{}</text>"#,
            left + plot_w + 16.0,
            left + plot_w + 32.0,
            y + 5.0,
            escape(&truncate(&s.label, 28))
        );
    }
    out.push_str("</svg>");
    out
}
