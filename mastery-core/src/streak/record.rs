//! A learner's streak as a bounded record: what the engine stores and folds each activity into.
//!
//! The record keeps the counter as of the end of the period before the latest activity's, that
//! period's totals, and the few dates the calendar needs (first, latest, last lived). An activity
//! later than every stored one is folded in O(periods since the latest); an earlier one rebuilds
//! the record from the learner's history. Reading the streak settles the periods up to today on a
//! copy. The result equals [`super::evaluate_streak`] over the whole history, with each activity in
//! the zone of the offset it was recorded with (a proptest checks it). A history whose local dates
//! go backwards in time (crossing the date line westwards) is flagged: its streak is read from
//! the history instead.

use chrono::{Datelike, Duration, FixedOffset, NaiveDate, Offset};
use serde::{Deserialize, Serialize};

use super::{goal_met, DayState, Period, Placed, StreakPolicy, StreakReport, MAX_SPAN_DAYS};
use crate::error::{MasteryError, Result};
use crate::time::Instant;

/// The streak counter between periods.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    /// Periods met in the current unbroken run.
    pub current: u32,
    pub longest: u32,
    /// Freezes left.
    pub freezes: u32,
    /// Freezes used.
    pub used: u32,
    /// Freezes earned.
    pub earned: u32,
    /// Periods met since the run (re)started, for earning freezes.
    pub run_met: u32,
    /// Period indexes of recent repairs (at most the policy's `max_repairs`).
    pub repairs: Vec<u32>,
}

impl Tally {
    /// The tally before any period.
    pub fn start(policy: &StreakPolicy) -> Self {
        Self { freezes: policy.initial_freezes, ..Self::default() }
    }

    pub(super) fn met(&mut self, policy: &StreakPolicy) -> DayState {
        self.current += 1;
        self.longest = self.longest.max(self.current);
        self.run_met += 1;
        let every = policy.earn_freeze_every;
        if every > 0 && self.run_met.is_multiple_of(every) && self.freezes < policy.max_freezes {
            self.freezes += 1;
            self.earned += 1;
        }
        DayState::Met
    }

    /// A missed period at index `index`: a freeze if one is left, else a repair if the policy
    /// allows one more in its window, else the streak breaks.
    pub(super) fn missed(&mut self, index: usize, policy: &StreakPolicy) -> DayState {
        if self.current == 0 {
            return DayState::Missed; // nothing to protect
        }
        if self.freezes > 0 {
            self.freezes -= 1;
            self.used += 1;
            return DayState::Frozen;
        }
        if let Some(repair) = policy.repair {
            self.repairs.retain(|&r| index - (r as usize) < repair.window as usize);
            if (self.repairs.len() as u32) < repair.max_repairs {
                self.repairs.push(index as u32);
                return DayState::Repaired;
            }
        }
        self.current = 0;
        self.run_met = 0;
        DayState::Missed
    }

    pub(super) fn report(&self, days: Vec<super::Day>, policy: &StreakPolicy) -> StreakReport {
        StreakReport {
            current: self.current,
            longest: self.longest,
            freezes_left: self.freezes,
            freezes_used: self.used,
            freezes_earned: self.earned,
            days,
            period: policy.period,
        }
    }
}

/// A period's activity: events, minutes, points.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    pub events: u32,
    pub minutes: f64,
    pub points: f64,
}

impl Totals {
    fn tuple(self) -> (u32, f64, f64) {
        (self.events, self.minutes, self.points)
    }
}

/// A learner's streak in one course, bounded whatever the history (about 150 bytes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreakRecord {
    /// The local date of the first activity (period indexes count from it).
    pub first: NaiveDate,
    /// The local date of the latest activity: its period is still open.
    pub open: NaiveDate,
    /// The open period's totals.
    pub open_totals: Totals,
    /// The latest activity's time, with the offset it was recorded in.
    pub last_at: Instant,
    /// The last date the spans between activities cover (each activity's offset holds until the next).
    pub lived_until: NaiveDate,
    /// The counter after every period before the open one.
    pub tally: Tally,
    /// Activities counted.
    pub events: u64,
    /// False when local dates went backwards in time: the record cannot answer, the history does.
    pub monotone: bool,
}

/// The streak as of now: what a learner dashboard shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct StreakStatus {
    pub current: u32,
    pub longest: u32,
    pub freezes_left: u32,
    pub freezes_used: u32,
    pub freezes_earned: u32,
    /// Today's (or this week's) state: `met`, or `pending_today` while the goal is not reached.
    pub today: DayState,
    /// The local date of the latest activity.
    pub last_active: Option<NaiveDate>,
    /// Activities counted.
    pub events: u64,
    pub period: Period,
}

impl StreakStatus {
    /// The status of a full report (today is its last period).
    pub fn of_report(report: &StreakReport, events: u64) -> Self {
        let last_active = report.days.iter().rev().find(|d| d.events > 0).map(|d| d.date);
        Self {
            current: report.current,
            longest: report.longest,
            freezes_left: report.freezes_left,
            freezes_used: report.freezes_used,
            freezes_earned: report.freezes_earned,
            today: report.days.last().map_or(DayState::PendingToday, |d| match d.state {
                DayState::Met => DayState::Met,
                _ => DayState::PendingToday,
            }),
            last_active,
            events,
            period: report.period,
        }
    }
}

/// The period a date belongs to, as an index from the first activity's period.
fn period_index(policy: &StreakPolicy, first: NaiveDate, date: NaiveDate) -> usize {
    match policy.period {
        Period::Daily => (date - first).num_days() as usize,
        Period::Weekly { week_start } => {
            let week = |d: NaiveDate| d.week(week_start).first_day();
            ((week(date) - week(first)).num_days() / 7) as usize
        }
    }
}

/// The local date of an instant in its own offset.
fn local_date(at: Instant) -> NaiveDate {
    at.date_naive()
}

impl StreakRecord {
    /// A record of one activity.
    pub fn new(at: Instant, minutes: f64, points: f64, policy: &StreakPolicy) -> Self {
        let date = local_date(at);
        Self {
            first: date,
            open: date,
            open_totals: Totals { events: 1, minutes, points },
            last_at: at,
            lived_until: date,
            tally: Tally::start(policy),
            events: 1,
            monotone: true,
        }
    }

    /// Whether an activity at `at` can be folded in: it is not earlier than the latest one.
    /// Earlier activity needs [`StreakRecord::rebuild`].
    pub fn accepts(&self, at: Instant) -> bool {
        at >= self.last_at
    }

    /// Folds in an activity no earlier than the latest one (see [`StreakRecord::accepts`]).
    pub fn push(&mut self, at: Instant, minutes: f64, points: f64, policy: &StreakPolicy) {
        debug_assert!(self.accepts(at));
        let date = local_date(at);
        // The latest activity's offset held from it until now: those dates were lived.
        let span_end = if at > self.last_at { at - Duration::seconds(1) } else { at };
        self.lived_until = self.lived_until.max(span_end.with_timezone(self.last_at.offset()).date_naive());
        self.events += 1;
        self.last_at = at;
        if !self.monotone || date < self.open {
            self.monotone = false;
            return;
        }
        let (open_period, period) =
            (period_index(policy, self.first, self.open), period_index(policy, self.first, date));
        if period > open_period {
            // Every date up to `date` is in the past once an activity on `date` happened.
            let mut tally = self.tally.clone();
            self.settle_into(policy, date, None, self.lived_until, &mut tally);
            self.tally = tally;
            self.open_totals = Totals::default();
        }
        self.open = date;
        self.open_totals.events += 1;
        self.open_totals.minutes += minutes;
        self.open_totals.points += points;
    }

    /// Settles the open period and the empty ones after it, up to (not including) `until`'s
    /// period, into `tally`. `today`: none when settling at ingest (every such date is past),
    /// else the reader's today, whose period stays pending. Returns today's state.
    fn settle_into(
        &self,
        policy: &StreakPolicy,
        until: NaiveDate,
        today: Option<NaiveDate>,
        lived_until: NaiveDate,
        tally: &mut Tally,
    ) -> DayState {
        let index = |d: NaiveDate| period_index(policy, self.first, d);
        let met = goal_met(&policy.goal, self.open_totals.tuple());
        let pending = |d: NaiveDate| today.is_some_and(|t| index(d) >= index(t));
        let mut today_state = DayState::PendingToday;
        match policy.period {
            Period::Daily => {
                if met {
                    tally.met(policy);
                    if Some(self.open) == today {
                        today_state = DayState::Met;
                    }
                } else if !pending(self.open) {
                    // The open date has activity, so it was lived.
                    if !policy.rest_days.contains(&self.open.weekday()) {
                        tally.missed(index(self.open), policy);
                    }
                }
                let mut date = self.open.succ_opt();
                while let Some(d) = date.filter(|d| *d < until && !pending(*d)) {
                    if tally.current == 0 {
                        break; // an empty date cannot change a broken streak
                    }
                    let lived = d <= lived_until;
                    if lived && !policy.rest_days.contains(&d.weekday()) {
                        tally.missed(index(d), policy);
                    }
                    date = d.succ_opt();
                }
            }
            Period::Weekly { .. } => {
                if met {
                    tally.met(policy);
                    if today.is_some_and(|t| index(t) == index(self.open)) {
                        today_state = DayState::Met;
                    }
                } else if !pending(self.open) {
                    tally.missed(index(self.open), policy);
                }
                let last = index(until);
                let mut week = index(self.open) + 1;
                while week < last && today.is_none_or(|t| week < index(t)) {
                    if tally.current == 0 {
                        break;
                    }
                    tally.missed(week, policy);
                    week += 1;
                }
            }
        }
        today_state
    }

    /// The streak as of `now` (its offset is the learner's zone now), or `None` when the record
    /// cannot answer and the history must: local dates went backwards, `now` is before the latest
    /// activity, or today is before its date.
    pub fn status(&self, policy: &StreakPolicy, now: Instant) -> Result<Option<StreakStatus>> {
        let today = now.date_naive();
        if !self.monotone || now < self.last_at || today < self.open {
            return Ok(None);
        }
        if (today - self.first).num_days() > MAX_SPAN_DAYS {
            return Err(MasteryError::invalid("now", "must lie within 50 years of the first activity"));
        }
        // The latest offset held until now; today was lived.
        let span_end = if now > self.last_at { now - Duration::seconds(1) } else { now };
        let lived_until = self.lived_until.max(span_end.with_timezone(self.last_at.offset()).date_naive());
        let mut tally = self.tally.clone();
        let until = today.succ_opt().unwrap_or(today);
        let today_state = self.settle_into(policy, until, Some(today), lived_until, &mut tally);
        Ok(Some(StreakStatus {
            current: tally.current,
            longest: tally.longest,
            freezes_left: tally.freezes,
            freezes_used: tally.used,
            freezes_earned: tally.earned,
            today: today_state,
            last_active: Some(self.open),
            events: self.events,
            period: policy.period,
        }))
    }

    /// The record of a whole history (any order): activities sorted by time, folded one by one.
    pub fn rebuild(mut activities: Vec<Placed<FixedOffset>>, policy: &StreakPolicy) -> Option<Self> {
        activities.sort_by_key(|a| a.at);
        let mut all = activities.into_iter();
        let first = all.next()?;
        let mut record = Self::new(first.at, first.minutes, first.points, policy);
        for a in all {
            record.push(a.at, a.minutes, a.points, policy);
        }
        Some(record)
    }
}

/// An instant's offset as a zone, for [`super::evaluate_placed`].
pub(crate) fn offset_of(at: Instant) -> FixedOffset {
    at.offset().fix()
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Weekday};
    use proptest::prelude::*;

    use super::*;
    use crate::streak::{evaluate_placed, Goal, RepairPolicy};

    /// Offsets learners record activity in, date line included (seconds east of UTC).
    const OFFSETS: [i32; 7] = [-12 * 3600, -10 * 3600, -5 * 3600, 0, 5 * 3600 + 1800, 13 * 3600, 14 * 3600];

    fn policies() -> impl Strategy<Value = StreakPolicy> {
        (0u32..3, 0u32..3, 0u32..4, prop::option::of((1u32..3, 1u32..5)), any::<bool>(), prop::option::of(0u8..7))
            .prop_flat_map(|p| (Just(p), 1u32..3, prop_oneof![Just(0.0), Just(10.0)]))
            .prop_map(|((initial, extra, earn, repair, weekly, rest), min_events, min_minutes)| StreakPolicy {
                goal: Goal { min_events, min_minutes, min_points: 0.0 },
                period: if weekly { Period::Weekly { week_start: Weekday::Mon } } else { Period::Daily },
                rest_days: rest.map(|d| vec![Weekday::try_from(d).unwrap()]).unwrap_or_default(),
                initial_freezes: initial,
                max_freezes: initial + extra,
                earn_freeze_every: earn,
                repair: repair.map(|(max_repairs, window)| RepairPolicy { max_repairs, window }),
            })
    }

    fn instant(minute: i64, offset: i32) -> Instant {
        let utc = chrono::Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap() + Duration::minutes(minute);
        utc.with_timezone(&FixedOffset::east_opt(offset).unwrap())
    }

    /// Activities over 40 days (minute, offset index, minutes), `now` after them.
    fn history(
        one_zone: bool,
    ) -> impl Strategy<Value = (Vec<Placed<FixedOffset>>, Instant, FixedOffset, Option<Placed<FixedOffset>>)> {
        // Dense histories (a few days) make zone jumps skip dates; sparse ones break streaks.
        let acts = (3i64..40)
            .prop_flat_map(|days| prop::collection::vec((0i64..days * 1440, 0usize..OFFSETS.len(), 0u32..3), 1..40));
        (acts, 0i64..6 * 1440, 0usize..OFFSETS.len(), 0usize..OFFSETS.len()).prop_map(
            move |(acts, after, zone_now, zone_all)| {
                let mut placed: Vec<Placed<FixedOffset>> = acts
                    .into_iter()
                    .map(|(minute, zone, m)| {
                        let offset = OFFSETS[if one_zone { zone_all } else { zone }];
                        let at = instant(minute, offset);
                        Placed { at, zone: offset_of(at), minutes: f64::from(m * 5), points: 0.0 }
                    })
                    .collect();
                placed.sort_by_key(|p| p.at);
                placed.dedup_by_key(|p| p.at);
                let last = placed.last().map_or(0, |p| (p.at - instant(0, 0)).num_minutes());
                let now_offset = OFFSETS[if one_zone { zone_all } else { zone_now }];
                let now = instant(last + after, now_offset);
                // One activity that arrives last although it happened earlier (when there is room).
                let late = placed.get(placed.len() / 2).map(|p| {
                    let at = p.at - Duration::minutes(1);
                    Placed { at, zone: p.zone, minutes: 5.0, points: 0.0 }
                });
                (placed, now, offset_of(now), late)
            },
        )
    }

    fn expected(
        placed: &[Placed<FixedOffset>],
        policy: &StreakPolicy,
        now: Instant,
        zone: FixedOffset,
    ) -> StreakStatus {
        let report = evaluate_placed(placed, policy, now, zone).unwrap();
        StreakStatus::of_report(&report, placed.len() as u64)
    }

    fn folded(placed: &[Placed<FixedOffset>], policy: &StreakPolicy) -> StreakRecord {
        let mut record = StreakRecord::new(placed[0].at, placed[0].minutes, placed[0].points, policy);
        for p in &placed[1..] {
            record.push(p.at, p.minutes, p.points, policy);
        }
        record
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        /// In one zone, the record always answers, and equals the evaluation of the whole history.
        #[test]
        fn record_equals_evaluation_in_one_zone((placed, now, zone, _) in history(true), policy in policies()) {
            let status = folded(&placed, &policy).status(&policy, now).unwrap().expect("one zone answers");
            prop_assert_eq!(status, expected(&placed, &policy, now, zone));
        }

        /// Across zones (the date line too), the record equals the evaluation whenever it answers,
        /// and declines only when local dates went backwards in time; a late activity rebuilds it.
        #[test]
        fn record_equals_evaluation_across_zones((mut placed, now, zone, late) in history(false), policy in policies()) {
            let mut record = folded(&placed, &policy);
            if let Some(late) = late.filter(|l| !record.accepts(l.at) && !placed.iter().any(|p| p.at == l.at)) {
                placed.push(late);
                record = StreakRecord::rebuild(placed.clone(), &policy).unwrap();
                placed.sort_by_key(|p| p.at);
            }
            let backwards = placed.windows(2).any(|w| w[1].at.date_naive() < w[0].at.date_naive());
            match record.status(&policy, now).unwrap() {
                Some(status) => prop_assert_eq!(status, expected(&placed, &policy, now, zone)),
                None => prop_assert!(backwards || now.date_naive() < record.open),
            }
        }
    }

    fn placed(at: Instant) -> Placed<FixedOffset> {
        Placed { at, zone: offset_of(at), minutes: 0.0, points: 0.0 }
    }

    /// Flying east over the date line skips a date the learner never lived: it cannot break the
    /// streak, in the record as in the evaluation.
    #[test]
    fn a_date_skipped_by_the_date_line_is_not_lived() {
        let policy = StreakPolicy::default();
        let west = -12 * 3600;
        // Daily at 23:00 in UTC-12 (28 February to 4 March), then 30 minutes later in UTC+14 (6 March):
        // 5 March was never lived. Read at midnight on 7 March.
        let mut history: Vec<_> = (0..5).map(|day| placed(instant((day * 24 + 11) * 60, west))).collect();
        history.push(placed(instant((4 * 24 + 11) * 60 + 30, 14 * 3600)));
        let now = instant((5 * 24 + 10) * 60, 14 * 3600);
        let status = StreakRecord::rebuild(history.clone(), &policy).unwrap().status(&policy, now).unwrap().unwrap();
        assert_eq!(status, expected(&history, &policy, now, offset_of(now)));
        assert_eq!((status.current, status.today), (6, DayState::PendingToday));
    }

    /// A weekly streak read on a Sunday keeps this week pending.
    #[test]
    fn this_week_stays_pending_on_its_last_day() {
        let policy = StreakPolicy { period: Period::Weekly { week_start: Weekday::Mon }, ..StreakPolicy::default() };
        // 1 March 2026 is a Sunday: activity on Sundays 1 and 8 March, read on Sunday 15 March.
        let history = vec![placed(instant(12 * 60, 0)), placed(instant((7 * 24 + 12) * 60, 0))];
        let now = instant((14 * 24 + 12) * 60, 0);
        let status = StreakRecord::rebuild(history.clone(), &policy).unwrap().status(&policy, now).unwrap().unwrap();
        assert_eq!(status, expected(&history, &policy, now, offset_of(now)));
        assert_eq!((status.current, status.today), (2, DayState::PendingToday));
    }

    #[test]
    fn a_record_stays_small_whatever_the_history() {
        let policy = StreakPolicy::default();
        let mut record = StreakRecord::new(instant(0, 0), 5.0, 1.0, &policy);
        for day in 1..10_000 {
            record.push(instant(day * 1440, 0), 5.0, 1.0, &policy);
        }
        assert_eq!(record.tally.current, 9_999);
        assert!(serde_json::to_vec(&record).unwrap().len() < 320);
    }
}
