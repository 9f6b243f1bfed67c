//! Learning streaks on the learner's own calendar.
//!
//! Activity counts on the local date of the zone the learner was in when it happened. The learner's
//! zone history is read from their activities (a zone holds from one activity to the next, and the
//! current zone holds until now), so a day is one calendar date whatever its length (23 or 25 hours
//! at DST changes), a westward flight never counts a date twice, and a date an eastward flight skips
//! was never lived and cannot break a streak. Every date gets an explained state.

mod calendar;
mod record;

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, TimeZone, Weekday};
use serde::{Deserialize, Serialize};

use crate::error::{MasteryError, Result};
use crate::time::{parse_zone, Instant};

pub use calendar::lived_dates;
pub(crate) use record::offset_of;
pub use record::{StreakRecord, StreakStatus, Tally, Totals};

/// One piece of learning activity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Activity {
    pub at: Instant,
    /// IANA zone the learner was in (`America/New_York`).
    pub zone: String,
    #[serde(default)]
    pub minutes: f64,
    #[serde(default)]
    pub points: f64,
}

/// What a day (or week) needs to count: every threshold set here must be reached.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Goal {
    pub min_events: u32,
    pub min_minutes: f64,
    pub min_points: f64,
}

impl Default for Goal {
    fn default() -> Self {
        Self { min_events: 1, min_minutes: 0.0, min_points: 0.0 }
    }
}

/// Daily streaks, or weekly ones (weeks start on `week_start`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "period", rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum Period {
    #[default]
    Daily,
    Weekly {
        week_start: Weekday,
    },
}

/// Automatic repair: at most `max_repairs` missed periods within any `window` consecutive periods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepairPolicy {
    pub max_repairs: u32,
    pub window: u32,
}

/// The rules of a streak.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StreakPolicy {
    pub goal: Goal,
    pub period: Period,
    /// Days that neither extend nor break a daily streak (e.g. weekends).
    pub rest_days: Vec<Weekday>,
    /// Freezes the learner starts with.
    pub initial_freezes: u32,
    /// The most freezes the learner can hold.
    pub max_freezes: u32,
    /// One freeze earned per this many periods met in a row (0 = never).
    pub earn_freeze_every: u32,
    pub repair: Option<RepairPolicy>,
}

impl Default for StreakPolicy {
    fn default() -> Self {
        Self {
            goal: Goal::default(),
            period: Period::Daily,
            rest_days: Vec::new(),
            initial_freezes: 0,
            max_freezes: 2,
            earn_freeze_every: 0,
            repair: None,
        }
    }
}

/// Why a date (or week) has the state it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum DayState {
    /// The goal was reached.
    Met,
    /// Missed, covered by a freeze from the learner's stock.
    Frozen,
    /// Missed, repaired automatically by the repair policy.
    Repaired,
    /// A rest day: neither extends nor breaks the streak.
    Rest,
    /// Missed: the streak broke here.
    Missed,
    /// Today (or this week), goal not reached yet: nothing is decided.
    PendingToday,
    /// A date the learner never lived, skipped by a time-zone change (an eastward flight).
    NotLived,
}

/// One date of the learner's calendar.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Day {
    pub date: NaiveDate,
    pub state: DayState,
    pub events: u32,
    pub minutes: f64,
    pub points: f64,
    /// The streak length at the end of this date.
    pub streak: u32,
    pub freezes_left: u32,
}

/// The streak and the explained calendar it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreakReport {
    /// Periods met in the current unbroken run.
    pub current: u32,
    pub longest: u32,
    pub freezes_left: u32,
    pub freezes_used: u32,
    pub freezes_earned: u32,
    /// Every date from the first activity to today, in order.
    pub days: Vec<Day>,
    /// The period the goal is counted over.
    pub period: Period,
}

/// Evaluates the streak from the full activity history, as of `now` in the learner's current zone.
/// A pure function: the same history always gives the same report.
pub fn evaluate_streak(
    activities: &[Activity],
    policy: &StreakPolicy,
    now: Instant,
    current_zone: &str,
) -> Result<StreakReport> {
    check_policy(policy)?;
    let mut placed = Vec::with_capacity(activities.len());
    for (i, a) in activities.iter().enumerate() {
        let zone = parse_zone(&a.zone)
            .map_err(|_| MasteryError::invalid(format!("activities[{i}].zone"), "not an IANA zone name"))?;
        if !(a.minutes.is_finite() && a.points.is_finite()) {
            return Err(MasteryError::invalid(format!("activities[{i}].minutes"), "must be finite"));
        }
        placed.push(Placed { at: a.at, zone, minutes: a.minutes, points: a.points });
    }
    evaluate_placed(&placed, policy, now, parse_zone(current_zone)?)
}

/// One activity on the calendar of the zone the learner was in (an IANA zone, or the fixed
/// offset an evidence record carries).
#[derive(Debug, Clone, Copy)]
pub struct Placed<Z> {
    pub at: Instant,
    pub zone: Z,
    pub minutes: f64,
    pub points: f64,
}

/// The checks on a policy that [`evaluate_streak`] and the engine share.
pub(crate) fn check_policy(policy: &StreakPolicy) -> Result<()> {
    if policy.initial_freezes > policy.max_freezes {
        return Err(MasteryError::invalid("initial_freezes", "must not exceed max_freezes"));
    }
    if policy.repair.is_some_and(|r| r.window == 0) {
        return Err(MasteryError::invalid("repair.window", "must be at least 1"));
    }
    let goal = &policy.goal;
    if !(goal.min_minutes.is_finite() && goal.min_points.is_finite()) {
        return Err(MasteryError::invalid("goal", "thresholds must be finite"));
    }
    Ok(())
}

/// Whether a period's totals reach the goal.
fn goal_met(goal: &Goal, totals: (u32, f64, f64)) -> bool {
    let (events, minutes, points) = totals;
    events >= goal.min_events.max(1) && minutes >= goal.min_minutes && points >= goal.min_points
}

/// [`evaluate_streak`] over activities already placed in their zones (`current` is the zone at `now`).
pub fn evaluate_placed<Z: TimeZone + Copy>(
    placed: &[Placed<Z>],
    policy: &StreakPolicy,
    now: Instant,
    current: Z,
) -> Result<StreakReport> {
    check_span(placed, now, current)?;
    let lived = lived_dates(&placed.iter().map(|p| (p.at, p.zone)).collect::<Vec<_>>(), now, current);
    let today = now.with_timezone(&current).date_naive();
    let mut totals: BTreeMap<NaiveDate, (u32, f64, f64)> = BTreeMap::new();
    for p in placed {
        if p.at > now {
            continue; // the future does not count yet
        }
        let t = totals.entry(p.at.with_timezone(&p.zone).date_naive()).or_default();
        t.0 += 1;
        t.1 += p.minutes;
        t.2 += p.points;
    }
    let Some(&first) = totals.keys().next() else {
        return Ok(Tally::start(policy).report(Vec::new(), policy));
    };
    let last = today.max(*totals.keys().next_back().unwrap_or(&today));
    let dates: Vec<NaiveDate> = first.iter_days().take_while(|d| *d <= last).collect();
    let met = |t| goal_met(&policy.goal, t);
    match policy.period {
        Period::Daily => Ok(daily(&dates, &totals, &lived, today, policy, met)),
        Period::Weekly { week_start } => Ok(weekly(&dates, &totals, today, week_start, policy, met)),
    }
}

/// The earliest activity date a streak reads (older history is refused, not walked day by day).
pub const EARLIEST_ACTIVITY: NaiveDate = match NaiveDate::from_ymd_opt(1900, 1, 1) {
    Some(d) => d,
    None => panic!("a valid date"),
};

/// The longest calendar a streak report covers, first activity to today: 50 years of days.
pub const MAX_SPAN_DAYS: i64 = 50 * 366;

/// Refuses histories whose calendar would be absurdly long (an activity dated year 1, or a `now`
/// in year 9999): every date of the span is materialised, so it is bounded before any is.
fn check_span<Z: TimeZone + Copy>(placed: &[Placed<Z>], now: Instant, current: Z) -> Result<()> {
    let today = now.with_timezone(&current).date_naive();
    for (i, p) in placed.iter().enumerate() {
        if p.at > now {
            continue; // the future does not count, so it cannot stretch the calendar
        }
        let date = p.at.with_timezone(&p.zone).date_naive();
        if date < EARLIEST_ACTIVITY {
            return Err(MasteryError::invalid(format!("activities[{i}].at"), "must not be before 1900-01-01"));
        }
        if (today - date).num_days() > MAX_SPAN_DAYS {
            return Err(MasteryError::invalid(format!("activities[{i}].at"), "must lie within 50 years before now"));
        }
    }
    Ok(())
}

fn daily(
    dates: &[NaiveDate],
    totals: &BTreeMap<NaiveDate, (u32, f64, f64)>,
    lived: &std::collections::BTreeSet<NaiveDate>,
    today: NaiveDate,
    policy: &StreakPolicy,
    met: impl Fn((u32, f64, f64)) -> bool,
) -> StreakReport {
    let mut c = Tally::start(policy);
    let mut days = Vec::with_capacity(dates.len());
    for (index, &date) in dates.iter().enumerate() {
        let t = totals.get(&date).copied().unwrap_or_default();
        let state = if met(t) {
            c.met(policy)
        } else if date >= today {
            DayState::PendingToday
        } else if !lived.contains(&date) && t.0 == 0 {
            DayState::NotLived
        } else if policy.rest_days.contains(&date.weekday()) {
            DayState::Rest
        } else {
            c.missed(index, policy)
        };
        days.push(Day {
            date,
            state,
            events: t.0,
            minutes: t.1,
            points: t.2,
            streak: c.current,
            freezes_left: c.freezes,
        });
    }
    c.report(days, policy)
}

fn weekly(
    dates: &[NaiveDate],
    totals: &BTreeMap<NaiveDate, (u32, f64, f64)>,
    today: NaiveDate,
    week_start: Weekday,
    policy: &StreakPolicy,
    met: impl Fn((u32, f64, f64)) -> bool,
) -> StreakReport {
    let week_of = |d: NaiveDate| d.week(week_start).first_day();
    let mut c = Tally::start(policy);
    let mut days = Vec::with_capacity(dates.len());
    let mut weeks: Vec<(NaiveDate, Vec<NaiveDate>)> = Vec::new();
    for &d in dates {
        match weeks.last_mut() {
            Some((w, list)) if *w == week_of(d) => list.push(d),
            _ => weeks.push((week_of(d), vec![d])),
        }
    }
    for (index, (week, list)) in weeks.iter().enumerate() {
        let sum =
            list.iter().filter_map(|d| totals.get(d)).fold((0, 0.0, 0.0), |a, t| (a.0 + t.0, a.1 + t.1, a.2 + t.2));
        let state = if met(sum) {
            c.met(policy)
        } else if *week >= week_of(today) {
            DayState::PendingToday
        } else {
            c.missed(index, policy)
        };
        for &date in list {
            let t = totals.get(&date).copied().unwrap_or_default();
            days.push(Day {
                date,
                state,
                events: t.0,
                minutes: t.1,
                points: t.2,
                streak: c.current,
                freezes_left: c.freezes,
            });
        }
    }
    c.report(days, policy)
}
