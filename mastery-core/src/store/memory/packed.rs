//! The evidence log's records, packed into bytes: about 70 for a typical record against 280 for
//! an [`Evidence`] and its competency list (a fresh store's ingest is largely the first touch of
//! the memory its log grows into), and appended without allocating.
//!
//! Layout: the tenant's number and the id first (a duplicate check reads only those), then a
//! byte of flags for the optional fields, the learner, course, competencies and activity, and the
//! numbers as stored bits. Strings are a LEB128 length and their bytes; numbers little-endian;
//! an instant is its UTC date and time and its offset, so every instant comes back exactly.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Timelike};

use crate::evidence::{Evidence, EvidenceKind, EvidenceSource, Score};

const COURSE: u16 = 1;
const ACTIVITY: u16 = 1 << 1;
const SCORE: u16 = 1 << 2;
const SCALED: u16 = 1 << 3;
const RAW: u16 = 1 << 4;
const MIN: u16 = 1 << 5;
const MAX: u16 = 1 << 6;
const SUCCESS: u16 = 1 << 7;
const SUCCEEDED: u16 = 1 << 8;
const COMPLETION: u16 = 1 << 9;
const COMPLETED: u16 = 1 << 10;
const DURATION: u16 = 1 << 11;
const OCCURRED: u16 = 1 << 12;
const SEQUENCE: u16 = 1 << 13;

fn kind_code(kind: EvidenceKind) -> u8 {
    match kind {
        EvidenceKind::Response => 0,
        EvidenceKind::Assessment => 1,
        EvidenceKind::Attempt => 2,
        EvidenceKind::Submission => 3,
        EvidenceKind::Completion => 4,
        EvidenceKind::Mastery => 5,
        EvidenceKind::View => 6,
        EvidenceKind::Navigation => 7,
        EvidenceKind::Session => 8,
        EvidenceKind::Other => 9,
    }
}

/// Every kind, at its code.
const KINDS: [EvidenceKind; 10] = [
    EvidenceKind::Response,
    EvidenceKind::Assessment,
    EvidenceKind::Attempt,
    EvidenceKind::Submission,
    EvidenceKind::Completion,
    EvidenceKind::Mastery,
    EvidenceKind::View,
    EvidenceKind::Navigation,
    EvidenceKind::Session,
    EvidenceKind::Other,
];

fn source_code(source: EvidenceSource) -> u8 {
    match source {
        EvidenceSource::Xapi => 0,
        EvidenceSource::Caliper => 1,
        EvidenceSource::Csv => 2,
        EvidenceSource::Host => 3,
    }
}

/// Every source, at its code.
const SOURCES: [EvidenceSource; 4] =
    [EvidenceSource::Xapi, EvidenceSource::Caliper, EvidenceSource::Csv, EvidenceSource::Host];

fn put_length(out: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_length(out, s.len());
    out.extend_from_slice(s.as_bytes());
}

fn put_f64(out: &mut Vec<u8>, value: Option<f64>) {
    if let Some(value) = value {
        out.extend_from_slice(&value.to_le_bytes());
    }
}

fn flag(on: bool, bit: u16) -> u16 {
    if on {
        bit
    } else {
        0
    }
}

/// Appends `e` of tenant number `tenant` to `out`.
pub(super) fn pack(tenant: usize, e: &Evidence, out: &mut Vec<u8>) {
    // Destructured whole: a new field of `Evidence` fails to compile here until it is packed.
    let Evidence {
        id,
        learner,
        course,
        competencies,
        activity,
        kind,
        score,
        success,
        completion,
        duration_seconds,
        occurred_at,
        sequence,
        source,
    } = e;
    let Score { scaled, raw, min, max } = score.clone().unwrap_or_default();
    let flags = flag(course.is_some(), COURSE)
        | flag(activity.is_some(), ACTIVITY)
        | flag(score.is_some(), SCORE)
        | flag(scaled.is_some(), SCALED)
        | flag(raw.is_some(), RAW)
        | flag(min.is_some(), MIN)
        | flag(max.is_some(), MAX)
        | flag(success.is_some(), SUCCESS)
        | flag(*success == Some(true), SUCCEEDED)
        | flag(completion.is_some(), COMPLETION)
        | flag(*completion == Some(true), COMPLETED)
        | flag(duration_seconds.is_some(), DURATION)
        | flag(occurred_at.is_some(), OCCURRED)
        | flag(sequence.is_some(), SEQUENCE);
    put_length(out, tenant);
    put_str(out, id.as_str());
    out.extend_from_slice(&flags.to_le_bytes());
    out.push(kind_code(*kind));
    out.push(source_code(*source));
    put_str(out, learner.as_str());
    if let Some(course) = course {
        put_str(out, course.as_str());
    }
    put_length(out, competencies.len());
    for competency in competencies {
        put_str(out, competency.as_str());
    }
    if let Some(activity) = activity {
        put_str(out, activity);
    }
    for value in [scaled, raw, min, max, *duration_seconds] {
        put_f64(out, value);
    }
    if let Some(at) = occurred_at {
        let utc = at.naive_utc();
        out.extend_from_slice(&utc.date().num_days_from_ce().to_le_bytes());
        out.extend_from_slice(&utc.time().num_seconds_from_midnight().to_le_bytes());
        out.extend_from_slice(&utc.time().nanosecond().to_le_bytes());
        out.extend_from_slice(&at.offset().local_minus_utc().to_le_bytes());
    }
    if let Some(sequence) = sequence {
        out.extend_from_slice(&sequence.to_le_bytes());
    }
}

/// Reads what [`pack`] wrote, front to back.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let (head, rest) = self.0.split_first_chunk::<N>().expect("a packed record is whole");
        self.0 = rest;
        *head
    }

    fn length(&mut self) -> usize {
        let mut n = 0usize;
        let mut shift = 0;
        loop {
            let [byte] = self.bytes::<1>();
            n |= usize::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return n;
            }
            shift += 7;
        }
    }

    fn str(&mut self) -> &'a str {
        let len = self.length();
        let (text, rest) = self.0.split_at(len);
        self.0 = rest;
        std::str::from_utf8(text).expect("packed from a str")
    }

    fn f64_if(&mut self, flags: u16, bit: u16) -> Option<f64> {
        (flags & bit != 0).then(|| f64::from_le_bytes(self.bytes()))
    }

    fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.bytes())
    }

    fn i32(&mut self) -> i32 {
        i32::from_le_bytes(self.bytes())
    }
}

/// The tenant number of a packed record.
pub(super) fn tenant(bytes: &[u8]) -> usize {
    Reader(bytes).length()
}

/// The id of a packed record (read past the tenant number, nothing after it).
pub(super) fn id(bytes: &[u8]) -> &str {
    let mut r = Reader(bytes);
    r.length();
    r.str()
}

/// The tenant number and record [`pack`] wrote at the start of `bytes`.
pub(super) fn unpack(bytes: &[u8]) -> (usize, Evidence) {
    let mut r = Reader(bytes);
    let tenant = r.length();
    let id = r.str().into();
    let flags = u16::from_le_bytes(r.bytes());
    let [kind] = r.bytes::<1>();
    let [source] = r.bytes::<1>();
    let learner = r.str().into();
    let course = (flags & COURSE != 0).then(|| r.str().into());
    let competencies = (0..r.length()).map(|_| r.str().into()).collect();
    let activity = (flags & ACTIVITY != 0).then(|| r.str().to_owned());
    let scaled = r.f64_if(flags, SCALED);
    let raw = r.f64_if(flags, RAW);
    let min = r.f64_if(flags, MIN);
    let max = r.f64_if(flags, MAX);
    let duration_seconds = r.f64_if(flags, DURATION);
    let occurred_at = (flags & OCCURRED != 0).then(|| {
        let date = NaiveDate::from_num_days_from_ce_opt(r.i32()).expect("packed from a date");
        let (seconds, nanos) = (r.u32(), r.u32());
        let time = NaiveTime::from_num_seconds_from_midnight_opt(seconds, nanos).expect("packed from a time");
        let offset = FixedOffset::east_opt(r.i32()).expect("packed from an offset");
        DateTime::from_naive_utc_and_offset(NaiveDateTime::new(date, time), offset)
    });
    let sequence = (flags & SEQUENCE != 0).then(|| i64::from_le_bytes(r.bytes()));
    let evidence = Evidence {
        id,
        learner,
        course,
        competencies,
        activity,
        kind: KINDS[usize::from(kind)],
        score: (flags & SCORE != 0).then_some(Score { scaled, raw, min, max }),
        success: (flags & SUCCESS != 0).then_some(flags & SUCCEEDED != 0),
        completion: (flags & COMPLETION != 0).then_some(flags & COMPLETED != 0),
        duration_seconds,
        occurred_at,
        sequence,
        source: SOURCES[usize::from(source)],
    };
    (tenant, evidence)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn every_kind_and_source_comes_back() {
        for kind in KINDS {
            assert_eq!(KINDS[usize::from(kind_code(kind))], kind);
        }
        for source in SOURCES {
            assert_eq!(SOURCES[usize::from(source_code(source))], source);
        }
    }

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![".{0,30}", "[a-z]{100,300}"]
    }

    fn number() -> impl Strategy<Value = Option<f64>> {
        prop::option::of(prop_oneof![any::<f64>(), Just(-0.0), Just(f64::NAN)])
    }

    prop_compose! {
        fn instant()(days in 0..3_000_000i32, seconds in 0..86_400u32, nanos in 0..1_000_000_000u32,
                     leap in any::<bool>(), offset in -86_399..86_400i32) -> Option<chrono::DateTime<FixedOffset>> {
            let date = NaiveDate::from_num_days_from_ce_opt(days)?;
            // A leap second is the last second of a minute with its nanoseconds past 10^9.
            let (seconds, nanos) = if leap { (seconds / 60 * 60 + 59, nanos + 1_000_000_000) } else { (seconds, nanos) };
            let time = NaiveTime::from_num_seconds_from_midnight_opt(seconds, nanos)?;
            Some(DateTime::from_naive_utc_and_offset(NaiveDateTime::new(date, time), FixedOffset::east_opt(offset)?))
        }
    }

    prop_compose! {
        fn evidence()(id in text(), learner in text(), course in prop::option::of(text()),
                      competencies in prop::collection::vec(text(), 0..4), activity in prop::option::of(text()),
                      kind in 0..KINDS.len(), source in 0..SOURCES.len(),
                      score in prop::option::of((number(), number(), number(), number())),
                      success in prop::option::of(any::<bool>()), completion in prop::option::of(any::<bool>()),
                      duration_seconds in number(), occurred_at in prop::option::of(instant()),
                      sequence in prop::option::of(any::<i64>())) -> Evidence {
            Evidence {
                id: id.into(),
                learner: learner.into(),
                course: course.map(Into::into),
                competencies: competencies.into_iter().map(Into::into).collect(),
                activity,
                kind: KINDS[kind],
                score: score.map(|(scaled, raw, min, max)| Score { scaled, raw, min, max }),
                success,
                completion,
                duration_seconds,
                occurred_at: occurred_at.flatten(),
                sequence,
                source: SOURCES[source],
            }
        }
    }

    /// Bit for bit (a NaN score compares by its bits).
    fn same(a: &Evidence, b: &Evidence) -> bool {
        let bits = |e: &Evidence| {
            let score = e.score.clone().map(|s| [s.scaled, s.raw, s.min, s.max].map(|v| v.map(f64::to_bits)));
            (score, e.duration_seconds.map(f64::to_bits))
        };
        let plain = |e: &Evidence| Evidence { score: None, duration_seconds: None, ..e.clone() };
        plain(a) == plain(b)
            && bits(a) == bits(b)
            && a.occurred_at.map(|t| t.offset().local_minus_utc())
                == b.occurred_at.map(|t| t.offset().local_minus_utc())
    }

    proptest! {
        #[test]
        fn a_packed_record_comes_back_exactly(records in prop::collection::vec((0..100_000usize, evidence()), 1..6)) {
            let mut bytes = Vec::new();
            let mut starts = Vec::new();
            for (tenant, e) in &records {
                starts.push(bytes.len());
                pack(*tenant, e, &mut bytes);
            }
            for ((tenant, e), start) in records.iter().zip(starts) {
                let (number, back) = unpack(&bytes[start..]);
                prop_assert_eq!(number, *tenant);
                prop_assert!(same(&back, e), "{:?} came back as {:?}", e, back);
                prop_assert_eq!(super::tenant(&bytes[start..]), *tenant);
                prop_assert_eq!(id(&bytes[start..]), e.id.as_str());
            }
        }
    }
}
