//! Streaks (typed records) and dashboards (view models as JSON in the shapes every binding shares,
//! and accessible SVG) over uniffi.

use std::sync::Arc;

use mastery_core as core;

use crate::error::MasteryError;
use crate::Framework;

type Result<T> = std::result::Result<T, MasteryError>;

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct StreakActivity {
    /// RFC 3339 with its offset.
    pub at: String,
    /// IANA zone the learner was in.
    pub zone: String,
    #[uniffi(default = 0.0)]
    pub minutes: f64,
    #[uniffi(default = 0.0)]
    pub points: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum DayState {
    Met,
    Frozen,
    Repaired,
    Rest,
    Missed,
    PendingToday,
    NotLived,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct StreakDay {
    /// `YYYY-MM-DD` on the learner's calendar.
    pub date: String,
    pub state: DayState,
    pub events: u32,
    pub minutes: f64,
    pub points: f64,
    pub streak: u32,
    pub freezes_left: u32,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct StreakReport {
    pub current: u32,
    pub longest: u32,
    pub freezes_left: u32,
    pub freezes_used: u32,
    pub freezes_earned: u32,
    pub days: Vec<StreakDay>,
}

/// A learner's streak as of now (from the engine's stored record).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct StreakStatus {
    pub current: u32,
    pub longest: u32,
    pub freezes_left: u32,
    pub freezes_used: u32,
    pub freezes_earned: u32,
    /// `Met`, or `PendingToday` while today's goal is not reached.
    pub today: DayState,
    /// `YYYY-MM-DD` of the latest activity, on the learner's calendar.
    pub last_active: Option<String>,
    pub events: u64,
}

impl From<core::streak::StreakStatus> for StreakStatus {
    fn from(s: core::streak::StreakStatus) -> Self {
        Self {
            current: s.current,
            longest: s.longest,
            freezes_left: s.freezes_left,
            freezes_used: s.freezes_used,
            freezes_earned: s.freezes_earned,
            today: state(s.today),
            last_active: s.last_active.map(|d| d.to_string()),
            events: s.events,
        }
    }
}

impl From<core::streak::StreakReport> for StreakReport {
    fn from(r: core::streak::StreakReport) -> Self {
        Self {
            current: r.current,
            longest: r.longest,
            freezes_left: r.freezes_left,
            freezes_used: r.freezes_used,
            freezes_earned: r.freezes_earned,
            days: r
                .days
                .into_iter()
                .map(|d| StreakDay {
                    date: d.date.to_string(),
                    state: state(d.state),
                    events: d.events,
                    minutes: d.minutes,
                    points: d.points,
                    streak: d.streak,
                    freezes_left: d.freezes_left,
                })
                .collect(),
        }
    }
}

fn state(s: core::streak::DayState) -> DayState {
    use core::streak::DayState as S;
    match s {
        S::Met => DayState::Met,
        S::Frozen => DayState::Frozen,
        S::Repaired => DayState::Repaired,
        S::Rest => DayState::Rest,
        S::Missed => DayState::Missed,
        S::PendingToday => DayState::PendingToday,
        S::NotLived => DayState::NotLived,
    }
}

pub(crate) fn json_error(field: &str, e: serde_json::Error) -> MasteryError {
    let reason = mastery_core::error::redact(&e.to_string());
    MasteryError::InvalidInput { field: field.into(), detail: format!("invalid {field}: {reason}") }
}

/// Evaluates a streak. `policy_json` is the StreakPolicy shape of the README (empty = defaults).
#[uniffi::export(default(policy_json = "{}"))]
pub fn evaluate_streak(
    activities: Vec<StreakActivity>,
    now: String,
    current_zone: String,
    policy_json: String,
) -> Result<StreakReport> {
    crate::error::guard(|| {
        let policy: core::streak::StreakPolicy =
            serde_json::from_str(&policy_json).map_err(|e| json_error("policy", e))?;
        let activities = activities
            .into_iter()
            .enumerate()
            .map(|(i, a)| {
                Ok(core::streak::Activity {
                    at: core::time::parse_instant(&a.at, &format!("activities[{i}].at"))?,
                    zone: a.zone,
                    minutes: a.minutes,
                    points: a.points,
                })
            })
            .collect::<std::result::Result<Vec<_>, core::MasteryError>>()?;
        let now = core::time::parse_instant(&now, "now")?;
        Ok(core::streak::evaluate_streak(&activities, &policy, now, &current_zone)?.into())
    })
}

fn scale(scale_json: &str) -> Result<core::mastery::ProficiencyScale> {
    if let Ok(named) = core::mastery::ProficiencyScale::named(scale_json) {
        return Ok(named);
    }
    let input = serde_json::from_str(scale_json).map_err(|e| json_error("scale", e))?;
    Ok(core::mastery::ProficiencyScale::from_input(input)?)
}

pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// The streak tracker view model (JSON) for the last `weeks` weeks; same inputs as `evaluate_streak`.
#[uniffi::export(default(policy_json = "{}"))]
pub fn streak_tracker_json(
    activities: Vec<StreakActivity>,
    now: String,
    current_zone: String,
    weeks: u32,
    policy_json: String,
) -> Result<String> {
    crate::error::guard(|| {
        let policy: core::streak::StreakPolicy =
            serde_json::from_str(&policy_json).map_err(|e| json_error("policy", e))?;
        let activities = activities
            .into_iter()
            .map(|a| {
                Ok(core::streak::Activity {
                    at: core::time::parse_instant(&a.at, "at")?,
                    zone: a.zone,
                    minutes: a.minutes,
                    points: a.points,
                })
            })
            .collect::<std::result::Result<Vec<_>, core::MasteryError>>()?;
        let now_at = core::time::parse_instant(&now, "now")?;
        let report = core::streak::evaluate_streak(&activities, &policy, now_at, &current_zone)?;
        let today = core::time::local_date(&now_at, core::time::parse_zone(&current_zone)?);
        Ok(to_json(&core::dashboard::streak_tracker(&report, today, weeks as usize)?))
    })
}

/// The ring chart view model (JSON). `standings_json`: `{competency: {"value", "mastered"}}`;
/// `scale_json`: "canvas", "khan" or a scale; `metric`: "share_mastered" or "mean_value".
#[uniffi::export]
pub fn ring_chart_json(
    framework: Arc<Framework>,
    standings_json: String,
    scale_json: String,
    metric: String,
    areas: Option<Vec<String>>,
) -> Result<String> {
    crate::error::guard(|| {
        let standings: std::collections::BTreeMap<String, core::mastery::Standing> =
            serde_json::from_str(&standings_json).map_err(|e| json_error("standings", e))?;
        let metric: core::dashboard::RingMetric =
            serde_json::from_value(serde_json::Value::String(metric)).map_err(|e| json_error("metric", e))?;
        let chart =
            core::dashboard::ring_chart(&framework.inner, &standings, areas.as_deref(), metric, &scale(&scale_json)?)?;
        Ok(to_json(&chart))
    })
}

/// The class heatmap view model (JSON). `values_json`: `{learner: {competency: 0..1}}`;
/// `competencies_json`: `[{"id", "label"}]`.
#[uniffi::export]
pub fn class_heatmap_json(values_json: String, competencies_json: String, scale_json: String) -> Result<String> {
    crate::error::guard(|| {
        let values: std::collections::BTreeMap<String, std::collections::BTreeMap<String, f64>> =
            serde_json::from_str(&values_json).map_err(|e| json_error("values", e))?;
        let competencies: Vec<core::dashboard::Label> =
            serde_json::from_str(&competencies_json).map_err(|e| json_error("competencies", e))?;
        Ok(to_json(&core::dashboard::class_heatmap(&values, &competencies, &scale(&scale_json)?)))
    })
}

/// Accessible SVG for a view model given as JSON; `kind`: ring_chart, streak_tracker, heatmap, progress.
#[uniffi::export]
pub fn render_svg(kind: String, view_json: String) -> Result<String> {
    crate::error::guard(|| {
        use core::dashboard as d;
        let bad = |e| json_error("view", e);
        Ok(match kind.as_str() {
            "ring_chart" => d::render_ring_chart(&serde_json::from_str(&view_json).map_err(bad)?),
            "streak_tracker" => d::render_streak_tracker(&serde_json::from_str(&view_json).map_err(bad)?),
            "heatmap" => d::render_heatmap(&serde_json::from_str(&view_json).map_err(bad)?),
            "progress" => d::render_progress(&serde_json::from_str(&view_json).map_err(bad)?),
            _ => {
                return Err(MasteryError::InvalidInput {
                    field: "kind".into(),
                    detail: "must be ring_chart, streak_tracker, heatmap or progress".into(),
                })
            }
        })
    })
}

/// Trajectories per competency (or, with `weeks`, competencies x weeks) as JSON. `states_json`:
/// `[{"competency", "history": [{"evidence", "score", "at"}]}]`; `labels_json`: `{id: name}`;
/// `window_json`: `{"from"?, "to"?}`; `method_json`: a calculation method (`{}` for the default).
#[uniffi::export(default(labels_json = "{}", window_json = "{}", method_json = "null", weeks = false))]
pub fn progress_over_time_json(
    states_json: String,
    scale_json: String,
    labels_json: String,
    window_json: String,
    method_json: String,
    weeks: bool,
) -> Result<String> {
    crate::error::guard(|| {
        let states: Vec<core::mastery::CompetencyState> =
            serde_json::from_str(&states_json).map_err(|e| json_error("states", e))?;
        let labels: std::collections::BTreeMap<String, String> =
            serde_json::from_str(&labels_json).map_err(|e| json_error("labels", e))?;
        let window: core::dashboard::TimeWindow =
            serde_json::from_str(&window_json).map_err(|e| json_error("window", e))?;
        let method: Option<core::mastery::CalculationMethod> =
            serde_json::from_str(&method_json).map_err(|e| json_error("method", e))?;
        let config = core::mastery::MasteryConfig {
            method: method.unwrap_or_default(),
            scale: scale(&scale_json)?,
            ..core::mastery::MasteryConfig::default()
        };
        Ok(if weeks {
            to_json(&core::dashboard::competency_weeks_heatmap(&states, &labels, window, &config))
        } else {
            to_json(&core::dashboard::progress_over_time(&states, &labels, window, &config))
        })
    })
}
