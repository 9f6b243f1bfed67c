//! Accessible, deterministic SVG: `role="img"`, `<title>` and `<desc>`, text labels, a
//! colour-blind-safe palette, a `viewBox` so it scales, no external fonts or scripts.

use std::fmt::Write;

use super::views::{Heatmap, ProgressView, RingChart, RingMetric, StreakTracker};
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

/// A chart's id: its kind and a hash of its content, so that two charts on one page never
/// share `<title>`/`<desc>` ids (and the same chart renders the same bytes everywhere).
fn chart_id(kind: &str, parts: &[&str]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325; // FNV-1a
    for part in parts {
        for byte in part.bytes().chain([0xff]) {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{kind}-{:08x}", hash as u32)
}

/// The complete document around `body`.
fn finish(kind: &str, width: f64, height: f64, title: &str, desc: &str, body: &str) -> String {
    let id = chart_id(kind, &[title, desc, body]);
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" role="img" aria-labelledby="{id}-title {id}-desc" font-family="sans-serif" data-chart="{kind}"><title id="{id}-title">{}</title><desc id="{id}-desc">{}</desc>{body}</svg>"#,
        escape(title),
        escape(desc)
    )
}

/// Up to `lines` lines of at most `max` characters, broken at spaces (the last one ellipsised).
fn wrap(text: &str, max: usize, lines: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > max {
            out.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        out.push(line);
    }
    if out.len() > lines {
        let rest = out[lines - 1..].join(" ");
        out.truncate(lines - 1);
        out.push(truncate(&rest, max));
    }
    out.into_iter().map(|l| truncate(&l, max)).collect()
}

/// `value` as a whole percentage.
fn pct(value: f64) -> i64 {
    (value * 100.0).round() as i64
}

/// Concentric rings, innermost first; each arc's length is its value, with a key that names
/// each area, its value and how many of its competencies are mastered.
pub fn render_ring_chart(chart: &RingChart) -> String {
    let n = chart.rings.len().max(1) as f64;
    let row = 52.0;
    let (width, height) = (480.0, 370.0 + chart.rings.len() as f64 * row);
    let (cx, cy, stroke) = (240.0, 180.0, (150.0 / n).clamp(6.0, 24.0));
    let caption = |r: &super::views::Ring| match chart.metric {
        RingMetric::ShareMastered => format!("{} of {} mastered ({}%)", r.mastered, r.total, pct(r.value)),
        RingMetric::MeanValue => format!("{}% mean mastery · {} of {} mastered", pct(r.value), r.mastered, r.total),
    };
    let desc: Vec<String> = chart.rings.iter().map(|r| format!("{}: {}", r.label, caption(r))).collect();
    let summary = if desc.is_empty() { "No competency areas to show.".to_owned() } else { desc.join("; ") };
    let mut out = String::new();
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
    }
    for (i, ring) in chart.rings.iter().enumerate() {
        let y = 370.0 + i as f64 * row;
        let _ = write!(
            out,
            r##"<g><title>{}</title><rect x="10" y="{y:.2}" width="16" height="16" fill="{}"/>"##,
            escape(&desc[i]),
            escape(&ring.color)
        );
        let mut ty = y + 13.0;
        for line in wrap(&ring.label, 60, 2) {
            let _ = write!(out, r#"<text x="34" y="{ty:.2}" font-size="13">{}</text>"#, escape(&line));
            ty += 15.0;
        }
        let _ = write!(out, r##"<text x="34" y="{ty:.2}" font-size="13" fill="#444444">{}</text></g>"##, caption(ring));
    }
    finish("rings", width, height, &chart.title, &summary, &out)
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
    let _ = write!(out, r#"<text x="10" y="22" font-size="14">{}</text>"#, escape(&format!("{title}, {freezes} left")));
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
    finish("streak", width, height, &title, &desc, &out)
}

/// Labels without the dotted prefix they all share (`CCSS.Math.Content.6.RP.A.1` and
/// `CCSS.Math.Content.7.RP.A.2a` become `6.RP.A.1` and `7.RP.A.2a`).
fn short_labels(labels: &[super::views::Label]) -> Vec<String> {
    let first: Vec<&str> = labels.first().map_or_else(Vec::new, |l| l.label.split('.').collect());
    let mut shared = first.len().saturating_sub(1);
    for l in labels.iter().skip(1) {
        let parts: Vec<&str> = l.label.split('.').collect();
        shared = shared.min(parts.len().saturating_sub(1));
        shared = (0..shared).find(|&i| parts[i] != first[i]).unwrap_or(shared);
    }
    if labels.len() < 2 {
        shared = 0;
    }
    labels
        .iter()
        .map(
            |l| {
                if shared == 0 {
                    l.label.clone()
                } else {
                    l.label.split('.').skip(shared).collect::<Vec<_>>().join(".")
                }
            },
        )
        .collect()
}

/// A grid of coloured cells with row and column labels (shared prefixes dropped, full text in
/// the tooltip) and a colour key; every cell carries its text, and `data-r`/`data-c` for pages
/// that make it interactive.
pub fn render_heatmap(map: &Heatmap) -> String {
    let cell = if map.columns.len() > 60 || map.rows.len() > 100 { 8.0 } else { 20.0 };
    let (rows, columns) = (short_labels(&map.rows), short_labels(&map.columns));
    let longest =
        |labels: &[String], cap: usize| labels.iter().map(|l| l.chars().count().min(cap)).max().unwrap_or(0) as f64;
    let small = cell < 10.0;
    let left = 12.0 + longest(&rows, 24) * 6.2;
    let top = if small { 20.0 } else { 14.0 + longest(&columns, 18) * 6.0 * 0.72 };
    let grid_w = map.columns.len() as f64 * cell;
    let legend_y = top + map.rows.len() as f64 * cell + 16.0;
    let entry_w = |e: &super::views::LegendEntry| 24.0 + e.label.chars().count() as f64 * 6.5 + 12.0;
    let width = (left + grid_w + 20.0).max(320.0);
    // The key wraps onto as many lines as it needs within the chart's width.
    let mut places = Vec::with_capacity(map.legend.len());
    let (mut x, mut y) = (10.0, legend_y);
    for e in &map.legend {
        if x > 10.0 && x + entry_w(e) > width {
            (x, y) = (10.0, y + 20.0);
        }
        places.push((x, y));
        x += entry_w(e);
    }
    let height = y + if map.legend.is_empty() { 4.0 } else { 24.0 };
    let desc = format!(
        "{} rows by {} columns; each cell's text gives its value; a data table follows the chart.",
        map.rows.len(),
        map.columns.len()
    );
    let full = |l: &super::views::Label| escape(map.full_labels.get(&l.id).unwrap_or(&l.label));
    let mut out = String::new();
    if !small {
        for (c, column) in map.columns.iter().enumerate() {
            let x = left + c as f64 * cell + cell / 2.0 + 3.0;
            let _ = write!(
                out,
                r#"<text x="{x:.1}" y="{:.1}" font-size="10" transform="rotate(-45 {x:.1} {:.1})"><title>{}</title>{}</text>"#,
                top - 5.0,
                top - 5.0,
                full(column),
                escape(&truncate(&columns[c], 18))
            );
        }
    }
    for (r, row) in map.rows.iter().enumerate() {
        let y = top + r as f64 * cell;
        if !small || r % 10 == 0 {
            let _ = write!(
                out,
                r#"<text x="{:.1}" y="{:.1}" font-size="10" text-anchor="end"><title>{}</title>{}</text>"#,
                left - 4.0,
                y + cell / 2.0 + 3.5,
                full(row),
                escape(&truncate(&rows[r], 24))
            );
        }
        let row_label = full(row);
        for (c, value) in map.cells.get(r).into_iter().flatten().enumerate() {
            let column = map.columns.get(c).map(&full).unwrap_or_default();
            let evidence = value.evidence.as_ref().map(|e| format!(" (evidence {})", escape(e))).unwrap_or_default();
            let _ = write!(
                out,
                r##"<rect x="{:.1}" y="{y:.1}" width="{cell}" height="{cell}" fill="{}" stroke="#ffffff" stroke-width="1" data-r="{r}" data-c="{c}"><title>{row_label}, {column}: {}{evidence}</title></rect>"##,
                left + c as f64 * cell,
                escape(&value.color),
                escape(&value.text)
            );
        }
    }
    for (entry, (x, y)) in map.legend.iter().zip(places) {
        let _ = write!(
            out,
            r##"<rect x="{x:.1}" y="{y:.1}" width="16" height="12" fill="{}" stroke="#999999" stroke-width="0.5"/><text x="{:.1}" y="{:.1}" font-size="11">{}</text>"##,
            escape(&entry.color),
            x + 20.0,
            y + 10.0,
            escape(&entry.label)
        );
    }
    finish("heatmap", width, height, &map.title, &desc, &out)
}

/// One step line per competency over time (0..100 %): the value holds from one piece of evidence
/// to the next and to the end of the period; a dated time axis, gridlines and a legend.
pub fn render_progress(view: &ProgressView) -> String {
    let (left, top, plot_w, plot_h) = (50.0, 20.0, 520.0, 260.0);
    let legend_top = top + plot_h + 40.0;
    let (width, height) = (600.0, legend_top + view.series.len() as f64 * 20.0 + 6.0);
    let times: Vec<i64> = view.series.iter().flat_map(|s| s.points.iter().map(|p| p.at.timestamp())).collect();
    let (t0, t1) = (times.iter().min().copied().unwrap_or(0), times.iter().max().copied().unwrap_or(1));
    let span = (t1 - t0).max(1) as f64;
    let x_of = |t: i64| if t1 == t0 { left + plot_w / 2.0 } else { left + plot_w * (t - t0) as f64 / span };
    let y_of = |v: f64| top + plot_h * (1.0 - v.clamp(0.0, 1.0));
    let desc: Vec<String> = view
        .series
        .iter()
        .map(|s| match (s.points.first(), s.points.last()) {
            (Some(a), Some(p)) => format!(
                "{}: {} points from {} to {}, latest {}%",
                s.label,
                s.points.len(),
                a.at.date_naive(),
                p.at.date_naive(),
                pct(p.value)
            ),
            _ => format!("{}: no evidence in the window", s.label),
        })
        .collect();
    let summary = if desc.is_empty() { "No competencies to show.".to_owned() } else { desc.join("; ") };
    let names: Vec<super::views::Label> =
        view.series.iter().map(|s| super::views::Label { id: s.competency.clone(), label: s.label.clone() }).collect();
    let names = short_labels(&names);
    let mut out = String::new();
    for p in [0, 25, 50, 75, 100] {
        let y = y_of(f64::from(p) / 100.0);
        let _ = write!(
            out,
            r##"<line x1="{left}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#dddddd"/><text x="{:.1}" y="{:.1}" font-size="11" text-anchor="end">{p}%</text>"##,
            left + plot_w,
            left - 4.0,
            y + 4.0
        );
    }
    let _ = write!(
        out,
        r##"<line x1="{left}" y1="{top}" x2="{left}" y2="{:.1}" stroke="#555555"/><line x1="{left}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#555555"/>"##,
        top + plot_h,
        top + plot_h,
        left + plot_w,
        top + plot_h
    );
    if !times.is_empty() {
        let ticks = if t1 == t0 { 1 } else { 4 };
        for i in 0..=ticks {
            let t = if ticks == 1 && t1 == t0 { t0 } else { t0 + (t1 - t0) * i / ticks };
            let x = x_of(t);
            let date = chrono::DateTime::from_timestamp(t, 0).map(|d| d.date_naive().to_string()).unwrap_or_default();
            let anchor = match i {
                0 if ticks > 1 => "start",
                i if i == ticks && ticks > 1 => "end",
                _ => "middle",
            };
            let _ = write!(
                out,
                r##"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}" stroke="#555555"/><text x="{x:.1}" y="{:.1}" font-size="11" text-anchor="{anchor}">{date}</text>"##,
                top + plot_h,
                top + plot_h + 5.0,
                top + plot_h + 18.0
            );
        }
    }
    for (i, s) in view.series.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        let mut path = String::new();
        for (k, p) in s.points.iter().enumerate() {
            let (x, y) = (x_of(p.at.timestamp()), y_of(p.value));
            if k == 0 {
                let _ = write!(path, "M{x:.1},{y:.1}");
            } else {
                let _ = write!(path, " H{x:.1} V{y:.1}");
            }
        }
        if !s.points.is_empty() {
            let _ = write!(path, " H{:.1}", left + plot_w);
            let _ = write!(
                out,
                r#"<path fill="none" stroke="{color}" stroke-width="2.5" d="{path}"><title>{}</title></path>"#,
                escape(&desc[i])
            );
        }
        for p in &s.points {
            let _ = write!(
                out,
                r##"<circle cx="{:.1}" cy="{:.1}" r="4" fill="{color}" stroke="#ffffff"><title>{}: {}% on {} after {}</title></circle>"##,
                x_of(p.at.timestamp()),
                y_of(p.value),
                escape(&s.label),
                pct(p.value),
                p.at.date_naive(),
                escape(&p.evidence)
            );
        }
        let y = legend_top + i as f64 * 20.0;
        let latest = s.points.last().map_or_else(|| "no evidence".to_owned(), |p| format!("{}%", pct(p.value)));
        let _ = write!(
            out,
            r#"<g><title>{}</title><rect x="{left}" y="{y:.1}" width="18" height="5" fill="{color}"/><text x="{:.1}" y="{:.1}" font-size="13">{}: latest {latest}</text></g>"#,
            escape(&desc[i]),
            left + 26.0,
            y + 7.0,
            escape(&truncate(&names[i], 60))
        );
    }
    finish("progress", width, height, "Progress over time", &summary, &out)
}
