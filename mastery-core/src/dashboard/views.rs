//! View models for dashboards: ring chart, streak tracker, heatmaps, progress over time.

use std::collections::BTreeMap;

use chrono::{Datelike, Days, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};
use smol_str::SmolStr;

use crate::error::{MasteryError, Result};
use crate::framework::Framework;
use crate::mastery::{CompetencyState, MasteryConfig, ProficiencyScale, Standing};
use crate::streak::{DayState, StreakReport};
use crate::time::Instant;

/// An id with its display label (and a link a UI can follow).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Label {
    pub id: String,
    pub label: String,
}

/// What a ring's value means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum RingMetric {
    /// Share of the area's assessable competencies mastered.
    #[default]
    ShareMastered,
    /// Mean 0..1 value over the area's assessable competencies (missing counts 0).
    MeanValue,
}

/// One ring: a competency area (a framework subtree).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Ring {
    pub competency: String,
    pub label: String,
    /// 0..1.
    pub value: f64,
    pub mastered: usize,
    pub total: usize,
    /// From the proficiency scale, for the value.
    pub color: String,
    pub rating: String,
    /// The competency's CASE URI, when it has one.
    pub link: Option<String>,
}

/// Concentric rings, innermost first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RingChart {
    pub title: String,
    pub metric: RingMetric,
    pub rings: Vec<Ring>,
}

fn label_of(framework: &Framework, id: &str) -> String {
    framework.item(id).map_or_else(
        || framework.title().to_owned(),
        |c| match &c.human_coding_scheme {
            Some(code) => format!("{code} {}", c.full_statement),
            None => c.full_statement.clone(),
        },
    )
}

/// A ring per area (default: the framework's top-level competencies), over the assessable
/// competencies (leaves) below each. Colours come from `scale` on a 0..1 value (the value times
/// the scale's top points).
pub fn ring_chart(
    framework: &Framework,
    standings: &BTreeMap<String, Standing>,
    areas: Option<&[String]>,
    metric: RingMetric,
    scale: &ProficiencyScale,
) -> Result<RingChart> {
    let default_areas: Vec<String>;
    let areas = match areas {
        Some(a) => a,
        None => {
            default_areas = framework.children(framework.identifier())?.iter().map(|c| c.identifier.clone()).collect();
            &default_areas
        }
    };
    let top = scale.ratings.first().map_or(1.0, |r| r.points);
    let mut rings = Vec::with_capacity(areas.len());
    for area in areas {
        let mut leaves: Vec<&str> = framework
            .descendants(area)?
            .into_iter()
            .filter(|c| framework.is_leaf(&c.identifier))
            .map(|c| c.identifier.as_str())
            .collect();
        if leaves.is_empty() {
            leaves.push(area.as_str());
        }
        let standing = |id: &str| standings.get(id).copied().unwrap_or(Standing { value: 0.0, mastered: false });
        let mastered = leaves.iter().filter(|id| standing(id).mastered).count();
        let value = match metric {
            RingMetric::ShareMastered => mastered as f64 / leaves.len() as f64,
            RingMetric::MeanValue => leaves.iter().map(|id| standing(id).value).sum::<f64>() / leaves.len() as f64,
        };
        let rating = scale.rating_for(value * top);
        rings.push(Ring {
            competency: area.clone(),
            label: label_of(framework, area),
            value,
            mastered,
            total: leaves.len(),
            color: rating.color.clone(),
            rating: rating.description.clone(),
            link: framework.item(area).and_then(|c| c.uri.clone()),
        });
    }
    Ok(RingChart { title: framework.title().to_owned(), metric, rings })
}

/// One date of the streak tracker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackerDay {
    pub date: NaiveDate,
    /// `None` for dates before the learner's first activity.
    pub state: Option<DayState>,
    pub events: u32,
}

/// Current and longest streak, freezes left, and the last weeks as a calendar (Monday first).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreakTracker {
    pub current: u32,
    pub longest: u32,
    pub freezes_left: u32,
    /// `weeks[w][d]`: week `w` (oldest first), weekday `d` (Monday = 0).
    pub weeks: Vec<Vec<TrackerDay>>,
}

/// The most weeks a streak tracker shows (ten years).
pub const MAX_TRACKER_WEEKS: usize = 520;

/// The last `weeks` weeks up to `today` from a streak report (at most 520, `MAX_TRACKER_WEEKS`).
pub fn streak_tracker(report: &StreakReport, today: NaiveDate, weeks: usize) -> Result<StreakTracker> {
    if weeks > MAX_TRACKER_WEEKS {
        return Err(MasteryError::invalid("weeks", format!("must be at most {MAX_TRACKER_WEEKS}")));
    }
    let out_of_range = || MasteryError::invalid("today", "too close to the end of the calendar");
    let by_date: BTreeMap<NaiveDate, &crate::streak::Day> = report.days.iter().map(|d| (d.date, d)).collect();
    let this_monday = today
        .checked_sub_days(Days::new(u64::from(today.weekday().num_days_from_monday())))
        .ok_or_else(out_of_range)?;
    // `weeks` ≤ 520, so these day counts fit easily; the dates themselves may not.
    let first = this_monday.checked_sub_days(Days::new(7 * weeks.saturating_sub(1) as u64)).ok_or_else(out_of_range)?;
    let mut grid = Vec::with_capacity(weeks);
    for w in 0..weeks {
        let mut row = Vec::with_capacity(7);
        for d in 0..7 {
            let date = first.checked_add_days(Days::new((w * 7 + d) as u64)).ok_or_else(out_of_range)?;
            let day = by_date.get(&date);
            row.push(TrackerDay { date, state: day.map(|x| x.state), events: day.map_or(0, |x| x.events) });
        }
        grid.push(row);
    }
    Ok(StreakTracker {
        current: report.current,
        longest: report.longest,
        freezes_left: report.freezes_left,
        weeks: grid,
    })
}

/// `90%`, or `no evidence` (short strings live inline: a class heatmap's 100,000 cells allocate
/// nothing for their texts and colours).
fn percent(value: Option<f64>) -> SmolStr {
    match value {
        Some(v) => smol_str::format_smolstr!("{}%", (v * 100.0).round() as i64),
        None => SmolStr::new_static("no evidence"),
    }
}

/// One cell of a heatmap: a 0..1 value (or none) and its colour.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct HeatmapCell {
    pub value: Option<f64>,
    pub color: SmolStr,
    /// The value in words (`90%`, `no evidence`); renderers prefix the row and column labels.
    pub text: SmolStr,
    /// The evidence behind the value (the last that moved it), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
}

/// One entry of a chart's colour key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LegendEntry {
    pub color: String,
    pub label: String,
}

/// Rows × columns of cells.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Heatmap {
    pub title: String,
    pub rows: Vec<Label>,
    pub columns: Vec<Label>,
    /// `cells[row][column]`.
    pub cells: Vec<Vec<HeatmapCell>>,
    /// The colour key, lowest first.
    #[serde(default)]
    pub legend: Vec<LegendEntry>,
    /// Row or column id → its full text (a competency's statement), shown in tooltips.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub full_labels: BTreeMap<String, String>,
}

impl Heatmap {
    /// Adds each competency's full statement (with its code) as the tooltip of its row or column.
    #[must_use]
    pub fn with_statements(mut self, framework: &Framework) -> Self {
        for label in self.rows.iter().chain(&self.columns) {
            if framework.item(&label.id).is_some() {
                self.full_labels.insert(label.id.clone(), label_of(framework, &label.id));
            }
        }
        self
    }
}

/// The scale's ratings as a colour key (lowest first), after a "no evidence" swatch.
fn scale_legend(scale: &ProficiencyScale) -> Vec<LegendEntry> {
    let mut legend = vec![LegendEntry { color: EMPTY.into(), label: "not assessed".into() }];
    legend.extend(
        scale.ratings.iter().rev().map(|r| LegendEntry { color: r.color.clone(), label: r.description.clone() }),
    );
    legend
}

const EMPTY: &str = "#eeeeee";

fn cell(value: Option<f64>, scale: &ProficiencyScale, text: SmolStr) -> HeatmapCell {
    let top = scale.ratings.first().map_or(1.0, |r| r.points);
    let color = value.map_or(SmolStr::new_static(EMPTY), |v| SmolStr::new(&scale.rating_for(v * top).color));
    HeatmapCell { value, color, text, evidence: None }
}

/// Learners × competencies for a class: `values[learner][competency]` on 0..1, restricted to
/// `competencies` (a course's or an area's) in that order.
pub fn class_heatmap(
    values: &BTreeMap<String, BTreeMap<String, f64>>,
    competencies: &[Label],
    scale: &ProficiencyScale,
) -> Heatmap {
    let grid = values.iter().map(|(learner, by)| {
        let row = competencies.iter().map(|c| by.get(&c.id).copied()).collect();
        (learner.clone(), row)
    });
    class_heatmap_from_grid(grid, competencies, scale)
}

/// [`class_heatmap`] from rows already laid out: (learner, one value or none per competency).
pub fn class_heatmap_from_grid(
    grid: impl IntoIterator<Item = (String, Vec<Option<f64>>)>,
    competencies: &[Label],
    scale: &ProficiencyScale,
) -> Heatmap {
    let (rows, cells) = grid
        .into_iter()
        .map(|(learner, values)| {
            let row: Vec<HeatmapCell> = values.into_iter().map(|v| cell(v, scale, percent(v))).collect();
            (Label { id: learner.clone(), label: learner }, row)
        })
        .unzip();
    Heatmap {
        title: "Class mastery by competency".into(),
        rows,
        columns: competencies.to_vec(),
        cells,
        legend: scale_legend(scale),
        full_labels: BTreeMap::new(),
    }
}

/// A window of time for views; either end may be open.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct TimeWindow {
    pub from: Option<Instant>,
    pub to: Option<Instant>,
}

impl TimeWindow {
    fn contains(&self, t: &Instant) -> bool {
        self.from.is_none_or(|f| *t >= f) && self.to.is_none_or(|e| *t < e)
    }
}

/// Competencies × weeks for one learner: each week's cell is the competency's mastery value after
/// the last evidence of that week (weeks start on Monday, in UTC).
pub fn competency_weeks_heatmap(
    states: &[CompetencyState],
    labels: &BTreeMap<String, String>,
    window: TimeWindow,
    config: &MasteryConfig,
) -> Heatmap {
    let scale = &config.scale;
    let progress = progress_over_time(states, labels, window, config);
    let mut weeks: Vec<NaiveDate> =
        progress.series.iter().flat_map(|s| s.points.iter().map(|p| monday(p.at.date_naive()))).collect();
    weeks.sort();
    weeks.dedup();
    let columns: Vec<Label> =
        weeks.iter().map(|w| Label { id: w.to_string(), label: format!("week of {w}") }).collect();
    let rows: Vec<Label> =
        progress.series.iter().map(|s| Label { id: s.competency.clone(), label: s.label.clone() }).collect();
    let cells = progress
        .series
        .iter()
        .map(|s| {
            // The last point of each week, in one pass (a later point overwrites an earlier one).
            let last: BTreeMap<NaiveDate, &ProgressPoint> =
                s.points.iter().map(|p| (monday(p.at.date_naive()), p)).collect();
            weeks
                .iter()
                .map(|w| {
                    let p = last.get(w);
                    let v = p.map(|p| p.value);
                    HeatmapCell { evidence: p.map(|p| p.evidence.clone()), ..cell(v, scale, percent(v)) }
                })
                .collect()
        })
        .collect();
    Heatmap {
        title: "Mastery by week".into(),
        rows,
        columns,
        cells,
        legend: scale_legend(scale),
        full_labels: BTreeMap::new(),
    }
}

/// The Monday of `d`'s week (`d` itself at the very start of the calendar, where there is none).
fn monday(d: NaiveDate) -> NaiveDate {
    d.checked_sub_days(Days::new(u64::from(d.weekday().num_days_from_monday()))).unwrap_or(d)
}

/// Activity per date as weeks (rows) × weekdays (columns, Monday first), coloured by events.
pub fn activity_calendar(report: &StreakReport, window_days: Option<(NaiveDate, NaiveDate)>) -> Heatmap {
    let days: Vec<&crate::streak::Day> =
        report.days.iter().filter(|d| window_days.is_none_or(|(from, to)| d.date >= from && d.date <= to)).collect();
    let max = days.iter().map(|d| d.events).max().unwrap_or(0).max(1);
    let mut weeks: BTreeMap<NaiveDate, [Option<&crate::streak::Day>; 7]> = BTreeMap::new();
    for d in &days {
        weeks.entry(monday(d.date)).or_default()[d.date.weekday().num_days_from_monday() as usize] = Some(d);
    }
    let weekdays = [Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri, Weekday::Sat, Weekday::Sun];
    let columns = weekdays.iter().map(|w| Label { id: format!("{w}"), label: format!("{w}") }).collect();
    let rows = weeks.keys().map(|w| Label { id: w.to_string(), label: format!("week of {w}") }).collect();
    let cells = weeks
        .values()
        .map(|week| {
            week.iter()
                .map(|d| match d {
                    None => HeatmapCell { value: None, color: EMPTY.into(), text: "no data".into(), evidence: None },
                    Some(d) => {
                        let v = f64::from(d.events) / f64::from(max);
                        let color = if d.events == 0 {
                            EMPTY.to_owned()
                        } else {
                            super::svg::SEQUENTIAL[((v * 4.0).ceil() as usize).clamp(1, 4) - 1].to_owned()
                        };
                        HeatmapCell {
                            value: Some(v),
                            color: color.into(),
                            text: smol_str::format_smolstr!(
                                "{}: {} activities ({})",
                                d.date,
                                d.events,
                                day_word(d.state)
                            ),
                            evidence: None,
                        }
                    }
                })
                .collect()
        })
        .collect();
    let mut legend = vec![LegendEntry { color: EMPTY.into(), label: "none".into() }];
    for (i, color) in super::svg::SEQUENTIAL.iter().enumerate() {
        let (lo, hi) = (i as f64 * f64::from(max) / 4.0, (i + 1) as f64 * f64::from(max) / 4.0);
        legend.push(LegendEntry {
            color: (*color).into(),
            label: format!("{}–{}", lo.floor() as u32 + 1, hi.ceil() as u32),
        });
    }
    Heatmap { title: "Activity calendar".into(), rows, columns, cells, legend, full_labels: BTreeMap::new() }
}

fn day_word(state: DayState) -> &'static str {
    match state {
        DayState::Met => "goal met",
        DayState::Frozen => "freeze used",
        DayState::Repaired => "repaired",
        DayState::Rest => "rest day",
        DayState::Missed => "missed",
        DayState::PendingToday => "today, pending",
        DayState::NotLived => "skipped by a time-zone change",
    }
}

/// One point of a trajectory: the value after a piece of evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ProgressPoint {
    pub at: Instant,
    /// 0..1 (the calculation method's score over the scale's top points).
    pub value: f64,
    pub evidence: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ProgressSeries {
    pub competency: String,
    pub label: String,
    pub points: Vec<ProgressPoint>,
}

/// Mastery trajectories per competency, with the evidence that moved each point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ProgressView {
    pub series: Vec<ProgressSeries>,
}

/// Each competency's score after every observation (in the state's history order) within
/// `window`, with the engine's calculation method and scale.
pub fn progress_over_time(
    states: &[CompetencyState],
    labels: &BTreeMap<String, String>,
    window: TimeWindow,
    config: &MasteryConfig,
) -> ProgressView {
    let scale = &config.scale;
    let top = scale.ratings.first().map_or(1.0, |r| r.points);
    let method = config.method;
    let series = states
        .iter()
        .map(|state| {
            let mut scores = Vec::new();
            let mut points = Vec::new();
            for o in &state.history {
                scores.push(o.score * top);
                let Some(at) = o.at else { continue };
                if !window.contains(&at) {
                    continue;
                }
                if let Ok(Some(score)) = method.calculate_ordered(&scores, scale.mastery_points()) {
                    points.push(ProgressPoint { at, value: score / top, evidence: o.evidence.to_string() });
                }
            }
            ProgressSeries {
                competency: state.competency.clone(),
                label: labels.get(&state.competency).cloned().unwrap_or_else(|| state.competency.clone()),
                points,
            }
        })
        .collect();
    ProgressView { series }
}
