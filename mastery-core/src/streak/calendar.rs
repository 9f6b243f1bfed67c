//! Which calendar dates a learner lived, from their zone history.

use std::collections::BTreeSet;

use chrono::{NaiveDate, TimeZone};

use crate::time::Instant;

/// Dates lived from the first activity to `now`. Each activity's zone holds from that activity
/// to the next one (the last one's until `now`, when the learner is in `current`); every local
/// date a span touches is lived. Dates a zone change jumps over (an eastward flight) are not.
/// Zones are IANA zones (`chrono_tz::Tz`) or the fixed offsets evidence records carry.
pub fn lived_dates<Z: TimeZone + Copy>(activities: &[(Instant, Z)], now: Instant, current: Z) -> BTreeSet<NaiveDate> {
    let mut points: Vec<(Instant, Z)> = activities.iter().copied().filter(|(t, _)| *t <= now).collect();
    points.sort_by_key(|(t, _)| *t);
    points.push((now, current));
    let mut lived = BTreeSet::new();
    for pair in points.windows(2) {
        let ((start, zone), (end, _)) = (pair[0], pair[1]);
        // The span ends just before the next point: arriving at midnight does not live that date here.
        let last = if end > start { end - chrono::Duration::seconds(1) } else { end };
        let (from, to) = (start.with_timezone(&zone).date_naive(), last.with_timezone(&zone).date_naive());
        lived.extend(from.iter_days().take_while(|d| *d <= to));
    }
    lived.insert(now.with_timezone(&current).date_naive());
    lived
}
