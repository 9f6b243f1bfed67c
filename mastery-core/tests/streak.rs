//! Streaks: DST and travel keep every lived day exactly once; freezes are used once.

#![allow(clippy::unwrap_used)]

use mastery_core::streak::{evaluate_streak, Activity, DayState, RepairPolicy, StreakPolicy};
use mastery_core::time::parse_instant;
use proptest::prelude::*;

fn act(at: &str, zone: &str) -> Activity {
    Activity { at: parse_instant(at, "at").unwrap(), zone: zone.into(), minutes: 5.0, points: 1.0 }
}

fn states(r: &mastery_core::streak::StreakReport) -> Vec<(String, DayState, u32)> {
    r.days.iter().map(|d| (d.date.to_string(), d.state, d.events)).collect()
}

#[test]
fn new_york_spring_forward_and_fall_back_days_count_once() {
    let ny = "America/New_York";
    let acts = [
        act("2026-03-07T23:30:00-05:00", ny),
        act("2026-03-08T01:59:00-05:00", ny),
        act("2026-03-08T03:00:00-04:00", ny),
        act("2026-03-09T00:30:00-04:00", ny),
    ];
    let r =
        evaluate_streak(&acts, &StreakPolicy::default(), parse_instant("2026-03-09T12:00:00-04:00", "t").unwrap(), ny)
            .unwrap();
    assert_eq!(
        states(&r),
        [
            ("2026-03-07".into(), DayState::Met, 1),
            ("2026-03-08".into(), DayState::Met, 2),
            ("2026-03-09".into(), DayState::Met, 1)
        ]
    );
    assert_eq!(r.current, 3);
    // The repeated hour of 2026-11-01 is one date.
    let acts = [act("2026-11-01T01:30:00-04:00", ny), act("2026-11-01T01:30:00-05:00", ny)];
    let r =
        evaluate_streak(&acts, &StreakPolicy::default(), parse_instant("2026-11-01T20:00:00-05:00", "t").unwrap(), ny)
            .unwrap();
    assert_eq!(states(&r), [("2026-11-01".into(), DayState::Met, 2)]);
}

#[test]
fn tokyo_to_los_angeles_keeps_the_days_lived() {
    let acts = [
        act("2026-11-02T21:00:00+09:00", "Asia/Tokyo"),
        act("2026-11-03T20:00:00+09:00", "Asia/Tokyo"),
        act("2026-11-03T10:00:00-08:00", "America/Los_Angeles"),
        act("2026-11-04T09:00:00-08:00", "America/Los_Angeles"),
    ];
    let r = evaluate_streak(
        &acts,
        &StreakPolicy::default(),
        parse_instant("2026-11-04T10:00:00-08:00", "t").unwrap(),
        "America/Los_Angeles",
    )
    .unwrap();
    assert_eq!(
        states(&r),
        [
            ("2026-11-02".into(), DayState::Met, 1),
            ("2026-11-03".into(), DayState::Met, 2),
            ("2026-11-04".into(), DayState::Met, 1)
        ]
    );
    assert_eq!(r.current, 3);
}

#[test]
fn a_date_skipped_by_an_eastward_jump_is_not_lived_and_breaks_nothing() {
    let acts =
        [act("2026-06-01T23:00:00-10:00", "Pacific/Honolulu"), act("2026-06-03T00:00:00+14:00", "Pacific/Kiritimati")];
    let r = evaluate_streak(
        &acts,
        &StreakPolicy::default(),
        parse_instant("2026-06-03T09:00:00+14:00", "t").unwrap(),
        "Pacific/Kiritimati",
    )
    .unwrap();
    assert_eq!(
        states(&r),
        [
            ("2026-06-01".into(), DayState::Met, 1),
            ("2026-06-02".into(), DayState::NotLived, 0),
            ("2026-06-03".into(), DayState::Met, 1)
        ]
    );
    assert_eq!(r.current, 2);
}

#[test]
fn freezes_rest_days_repairs_and_pending_today() {
    let z = "Europe/London";
    // Met Mon 2026-03-23, Tue; missed Wed (freeze); missed Thu (repair); missed Fri (break); Sat rest; Sun today pending.
    let acts = [act("2026-03-23T10:00:00Z", z), act("2026-03-24T10:00:00Z", z)];
    let policy = StreakPolicy {
        initial_freezes: 1,
        max_freezes: 2,
        rest_days: vec![chrono::Weekday::Sat],
        repair: Some(RepairPolicy { max_repairs: 1, window: 7 }),
        ..StreakPolicy::default()
    };
    let r = evaluate_streak(&acts, &policy, parse_instant("2026-03-29T09:00:00+01:00", "t").unwrap(), z).unwrap();
    let got: Vec<DayState> = r.days.iter().map(|d| d.state).collect();
    use DayState::*;
    assert_eq!(got, [Met, Met, Frozen, Repaired, Missed, Rest, PendingToday]);
    assert_eq!((r.current, r.longest, r.freezes_left, r.freezes_used), (0, 2, 0, 1));
}

#[test]
fn lord_howe_half_hour_shift() {
    let z = "Australia/Lord_Howe";
    // DST starts 2026-10-04 02:00 -> 02:30 (+10:30 -> +11:00).
    let acts = [
        act("2026-10-03T23:50:00+10:30", z),
        act("2026-10-04T02:45:00+11:00", z),
        act("2026-10-04T23:59:00+11:00", z),
        act("2026-10-05T00:01:00+11:00", z),
    ];
    let r =
        evaluate_streak(&acts, &StreakPolicy::default(), parse_instant("2026-10-05T08:00:00+11:00", "t").unwrap(), z)
            .unwrap();
    assert_eq!(
        states(&r),
        [
            ("2026-10-03".into(), DayState::Met, 1),
            ("2026-10-04".into(), DayState::Met, 2),
            ("2026-10-05".into(), DayState::Met, 1)
        ]
    );
}

#[test]
fn weekly_goals_count_weeks() {
    let z = "UTC";
    let acts = [
        act("2026-01-05T10:00:00Z", z),
        act("2026-01-06T10:00:00Z", z),
        act("2026-01-13T10:00:00Z", z),
        act("2026-01-14T10:00:00Z", z),
    ];
    let policy = StreakPolicy {
        goal: mastery_core::streak::Goal { min_events: 2, ..Default::default() },
        period: mastery_core::streak::Period::Weekly { week_start: chrono::Weekday::Mon },
        ..StreakPolicy::default()
    };
    let r = evaluate_streak(&acts, &policy, parse_instant("2026-01-20T10:00:00Z", "t").unwrap(), z).unwrap();
    assert_eq!((r.current, r.longest), (2, 2));
    assert_eq!(r.days.last().unwrap().state, DayState::PendingToday);
}

#[test]
fn bad_zones_and_policies_are_typed_errors() {
    let now = parse_instant("2026-01-20T10:00:00Z", "t").unwrap();
    let err =
        evaluate_streak(&[act("2026-01-05T10:00:00Z", "Mars/Base")], &StreakPolicy::default(), now, "UTC").unwrap_err();
    assert_eq!(err.field(), Some("activities[0].zone"));
    let policy = StreakPolicy { initial_freezes: 5, max_freezes: 2, ..StreakPolicy::default() };
    assert_eq!(evaluate_streak(&[], &policy, now, "UTC").unwrap_err().field(), Some("initial_freezes"));
}

const ZONES: &[&str] = &[
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",
    "Asia/Tokyo",
    "America/Los_Angeles",
    "Pacific/Kiritimati",
    "Pacific/Honolulu",
    "Asia/Kathmandu",
    "UTC",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    /// Whatever the zones (DST, half-hour and 45-minute offsets, the date line), every activity
    /// lands on exactly one date, the calendar has no gap and no duplicate, and each freeze is
    /// used at most once.
    #[test]
    fn no_day_is_created_or_lost_and_freezes_are_used_once(
        spec in prop::collection::vec((0i64..(60 * 24 * 60), 0usize..9), 1..60),
        freezes in 0u32..3,
        earn in 0u32..4,
    ) {
        let base = parse_instant("2026-03-01T00:00:00Z", "t").unwrap();
        let acts: Vec<Activity> = spec.iter().map(|&(minutes, z)| Activity {
            at: base + chrono::Duration::minutes(minutes), zone: ZONES[z].into(), minutes: 1.0, points: 1.0,
        }).collect();
        let now = base + chrono::Duration::days(61);
        let policy = StreakPolicy { initial_freezes: freezes, max_freezes: 3, earn_freeze_every: earn, ..StreakPolicy::default() };
        let r = evaluate_streak(&acts, &policy, now, "UTC").unwrap();
        for pair in r.days.windows(2) {
            prop_assert_eq!(pair[0].date.succ_opt().unwrap(), pair[1].date);
        }
        prop_assert_eq!(r.days.iter().map(|d| d.events as usize).sum::<usize>(), acts.len());
        for a in &acts {
            let date = a.at.with_timezone(&a.zone.parse::<chrono_tz::Tz>().unwrap()).date_naive();
            let day = r.days.iter().find(|d| d.date == date).unwrap();
            prop_assert!(day.events >= 1 && day.state == DayState::Met);
        }
        let frozen = r.days.iter().filter(|d| d.state == DayState::Frozen).count() as u32;
        prop_assert_eq!(frozen, r.freezes_used);
        prop_assert_eq!(r.freezes_left + r.freezes_used, freezes + r.freezes_earned);
        prop_assert!(r.freezes_left <= 3);
    }
}
