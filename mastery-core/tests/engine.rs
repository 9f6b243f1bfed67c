//! Incremental ingestion equals replay from scratch, whatever the order and duplicates.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use mastery_core::mastery::{BktParams, CalculationMethod, MasteryConfig, MasteryRecord, ProficiencyScale, SkillModel};
use mastery_core::streak::{Goal, RepairPolicy, StreakPolicy, StreakStatus};
use mastery_core::time::parse_instant;
use mastery_core::{
    AccessContext, Engine, Evidence, EvidenceKind, EvidenceSource, MemoryChangeLog, MemoryStore, Principal, Score,
};
use proptest::prelude::*;

fn config() -> MasteryConfig {
    let skill = SkillModel {
        params: BktParams {
            prior: 0.2,
            priors: vec![],
            learns: vec![0.15],
            forgets: vec![0.02],
            guesses: vec![0.2],
            slips: vec![0.1],
        },
        learn_classes: BTreeMap::new(),
        gs_classes: BTreeMap::new(),
        prior_groups: BTreeMap::new(),
        log_likelihood: 0.0,
    };
    MasteryConfig {
        method: CalculationMethod::DecayingAverage { rate: 65 },
        scale: ProficiencyScale::canvas_default(),
        order: Default::default(),
        bkt: BTreeMap::from([("fractions".to_owned(), skill)]),
    }
}

fn event(id: u8, learner: u8, competency: u8, minute: u8, score: u8) -> Evidence {
    Evidence {
        id: format!("e{id}").into(),
        learner: format!("l{learner}").into(),
        course: Some("c1".into()),
        competencies: vec![["fractions", "decimals"][competency as usize].into()],
        activity: None,
        kind: EvidenceKind::Response,
        score: Some(Score { scaled: Some(f64::from(score) / 4.0), ..Score::default() }),
        success: None,
        completion: None,
        duration_seconds: None,
        occurred_at: Some(parse_instant(&format!("2026-03-08T10:{minute:02}:00-05:00"), "t").unwrap()),
        sequence: None,
        source: EvidenceSource::Host,
    }
}

/// What a stored record and a replayed history must agree on, exactly.
type Summary =
    (Option<f64>, bool, Option<mastery_core::mastery::KnowledgeState>, Option<mastery_core::time::Instant>, usize);

fn of_record(r: &MasteryRecord) -> Summary {
    (r.score, r.mastered, r.knowledge, r.last_evidence, r.evidence_count() as usize)
}

fn of_state(s: &mastery_core::mastery::CompetencyState) -> Summary {
    (s.score, s.mastered, s.knowledge, s.last_evidence, s.history.len())
}

fn service() -> AccessContext {
    AccessContext::new(Principal::service("t1", "svc"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn incremental_equals_replay(
        spec in prop::collection::vec((0u8..2, 0u8..2, 0u8..4, 0u8..5), 1..30),
        shuffle in prop::collection::vec(any::<u16>(), 60),
        duplicates in prop::collection::vec(0usize..30, 0..10),
    ) {
        // Each id has one content; the batch repeats some and arrives shuffled.
        let events: Vec<Evidence> = spec.iter().enumerate().map(|(i, &(l, c, m, s))| event(i as u8, l, c, m, s)).collect();
        let mut arrivals: Vec<Evidence> = events.clone();
        arrivals.extend(duplicates.iter().filter_map(|&d| events.get(d).cloned()));
        let mut keyed: Vec<(u16, Evidence)> = arrivals.into_iter().enumerate().map(|(i, e)| (shuffle[i % shuffle.len()].wrapping_add(i as u16), e)).collect();
        keyed.sort_by_key(|(k, _)| *k);

        let engine = Engine::with_config(MemoryStore::new(), config());
        for (_, e) in &keyed {
            engine.ingest(&service(), std::slice::from_ref(e));
        }
        let in_order = Engine::with_config(MemoryStore::new(), config());
        in_order.ingest(&service(), &events);
        // The same shuffled arrivals in batches: duplicates within and across batches, late
        // evidence within a batch.
        let batched = Engine::with_config(MemoryStore::new(), config());
        let arrivals: Vec<Evidence> = keyed.iter().map(|(_, e)| e.clone()).collect();
        let mut stored = 0;
        for chunk in arrivals.chunks(7) {
            stored += batched.ingest(&service(), chunk).new;
        }
        prop_assert_eq!(stored, events.len());

        for learner in ["l0", "l1"] {
            let replayed = engine.replay(&service(), &learner.into()).unwrap();
            for ((course, competency), state) in &replayed {
                let stored = engine.mastery(&service(), &learner.into(), course.as_ref(), competency).unwrap().unwrap();
                prop_assert_eq!(of_record(&stored), of_state(state));
                let other = in_order.mastery(&service(), &learner.into(), course.as_ref(), competency).unwrap().unwrap();
                prop_assert_eq!(of_record(&other), of_state(state));
                let third = batched.mastery(&service(), &learner.into(), course.as_ref(), competency).unwrap().unwrap();
                prop_assert_eq!(of_record(&third), of_state(state));
            }
        }
    }
}

/// Offsets the streak proptest records activity in (hours east of UTC), the date line included.
const OFFSETS: [i32; 5] = [-12, -5, 0, 9, 14];

fn activity(id: u16, learner: u8, day: u8, hour: u8, offset: usize, score: u8) -> Evidence {
    let offset = OFFSETS[offset];
    let sign = if offset < 0 { '-' } else { '+' };
    // Seconds from the id: no two records share an instant (ties across offsets are ordered by arrival).
    let at = format!("2026-03-{:02}T{hour:02}:30:{:02}{sign}{:02}:00", day + 1, id % 60, offset.abs());
    Evidence {
        id: format!("a{id}").into(),
        learner: format!("l{learner}").into(),
        course: Some("c1".into()),
        competencies: vec!["fractions".into()],
        score: Some(Score { scaled: Some(f64::from(score) / 4.0), ..Score::default() }),
        duration_seconds: Some(f64::from(score) * 300.0),
        occurred_at: Some(parse_instant(&at, "t").unwrap()),
        ..event(0, learner, 0, 0, 0)
    }
}

fn streak_policy() -> StreakPolicy {
    StreakPolicy {
        goal: Goal { min_events: 1, min_minutes: 10.0, min_points: 0.0 },
        initial_freezes: 1,
        max_freezes: 2,
        earn_freeze_every: 3,
        repair: Some(RepairPolicy { max_repairs: 1, window: 4 }),
        ..StreakPolicy::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// The stored streak equals the evaluation of the learner's whole log, whatever the arrival
    /// order, duplicates and batching; late activity rebuilds it.
    #[test]
    fn stored_streaks_equal_the_evaluation_of_the_log(
        spec in prop::collection::vec((0u8..2, 0u8..12, 0u8..24, 0usize..OFFSETS.len(), 0u8..5), 1..40),
        shuffle in prop::collection::vec(any::<u16>(), 80),
        duplicates in prop::collection::vec(0usize..40, 0..10),
        now_day in 12u8..20,
    ) {
        let events: Vec<Evidence> =
            spec.iter().enumerate().map(|(i, &(l, d, h, o, s))| activity(i as u16, l, d, h, o, s)).collect();
        let mut arrivals: Vec<Evidence> = events.clone();
        arrivals.extend(duplicates.iter().filter_map(|&d| events.get(d).cloned()));
        let mut keyed: Vec<(u16, Evidence)> =
            arrivals.into_iter().enumerate().map(|(i, e)| (shuffle[i % shuffle.len()].wrapping_add(i as u16), e)).collect();
        keyed.sort_by_key(|(k, _)| *k);
        let arrivals: Vec<Evidence> = keyed.into_iter().map(|(_, e)| e).collect();
        let engine = || Engine::with_config(MemoryStore::new(), config()).with_streaks(streak_policy()).unwrap();
        let (one_by_one, in_order, batched) = (engine(), engine(), engine());
        for e in &arrivals {
            one_by_one.ingest(&service(), std::slice::from_ref(e));
        }
        in_order.ingest(&service(), &events);
        for chunk in arrivals.chunks(7) {
            batched.ingest(&service(), chunk);
        }
        let now = parse_instant(&format!("2026-03-{now_day:02}T12:00:00+09:00"), "t").unwrap();
        let course: mastery_core::CourseId = "c1".into();
        for learner in ["l0", "l1"] {
            let learner = learner.into();
            let count = events.iter().filter(|e| e.learner == learner).count() as u64;
            let report = one_by_one.streak_report(&service(), &learner, Some(&course), now).unwrap();
            let expected = StreakStatus::of_report(&report, count);
            for engine in [&one_by_one, &in_order, &batched] {
                prop_assert_eq!(&engine.streak(&service(), &learner, Some(&course), now).unwrap(), &expected);
            }
        }
    }
}

#[test]
fn streaks_are_read_under_the_policy_and_need_a_policy() {
    let engine = Engine::with_config(MemoryStore::new(), config()).with_streaks(streak_policy()).unwrap();
    let batch: Vec<Evidence> = (0..5).map(|d| activity(u16::from(d), 0, d, 10, 2, 4)).collect();
    assert_eq!(engine.ingest(&service(), &batch).new, 5);
    let now = parse_instant("2026-03-05T18:00:00Z", "t").unwrap();
    let course: mastery_core::CourseId = "c1".into();
    let own = AccessContext::new(Principal::learner("t1", "l0"));
    let status = engine.streak(&own, &"l0".into(), Some(&course), now).unwrap();
    assert_eq!((status.current, status.today, status.events), (5, mastery_core::streak::DayState::Met, 5));
    let teacher = AccessContext::new(Principal::instructor("t1", "tia", vec!["c1".into()]));
    assert_eq!(engine.class_streaks(&teacher, &course, now).unwrap()["l0"], status);
    let other = AccessContext::new(Principal::learner("t1", "l1"));
    let denied = engine.streak(&other, &"l0".into(), Some(&course), now).unwrap_err();
    assert_eq!(denied.code(), "access_denied");
    let elsewhere = AccessContext::new(Principal::instructor("t1", "tom", vec!["c2".into()]));
    assert_eq!(engine.class_streaks(&elsewhere, &course, now).unwrap_err().code(), "access_denied");
    let tenant = AccessContext::new(Principal::admin("t2", "root"));
    assert_eq!(engine.streak(&tenant, &"l0".into(), Some(&course), now).unwrap().events, 0);
    // An engine without a policy says so.
    let plain = Engine::with_config(MemoryStore::new(), config());
    assert_eq!(plain.streak(&service(), &"l0".into(), None, now).unwrap_err().code(), "invalid_input");
    let bad = StreakPolicy { initial_freezes: 3, max_freezes: 1, ..StreakPolicy::default() };
    assert!(Engine::new(MemoryStore::new()).with_streaks(bad).is_err());
}

#[test]
fn every_change_is_logged_once_and_duplicates_change_nothing() {
    let log = std::sync::Arc::new(MemoryChangeLog::default());
    struct Shared(std::sync::Arc<MemoryChangeLog>);
    impl mastery_core::ChangeLog for Shared {
        fn record(&self, change: &mastery_core::MasteryChange) {
            self.0.record(change)
        }
    }
    let engine = Engine::with_config(MemoryStore::new(), config()).with_change_log(Shared(log.clone()));
    let batch = [event(1, 0, 0, 1, 4), event(2, 0, 0, 2, 1), event(1, 0, 0, 1, 4)];
    let outcome = engine.ingest(&service(), &batch);
    assert_eq!((outcome.new, outcome.duplicates, outcome.changes), (2, 1, 2));
    let changes = log.0.lock().unwrap().clone();
    assert_eq!(changes.len(), 2);
    // 4 then 1 on Canvas's 0-4 scale: 4 → 0.35 × 4 + 0.65 × 1 = 2.05.
    assert_eq!(
        (changes[0].score_after, changes[1].score_before, changes[1].score_after),
        (Some(4.0), Some(4.0), Some(2.05))
    );
    assert!(changes[1].p_known_after.unwrap() < changes[0].p_known_after.unwrap());
    let state = engine.mastery(&service(), &"l0".into(), Some(&"c1".into()), "fractions").unwrap().unwrap();
    assert_eq!(
        (state.rating(engine.config()).map(|r| r.description.as_str()), state.mastered),
        (Some("Near Mastery"), false)
    );
}

mod awards {
    use super::*;
    use mastery_core::credential::{Achievement, AchievementType, AwardRule, CredentialIssuer, CredentialLedger};
    use std::sync::Arc;

    fn achievements() -> Vec<Achievement> {
        let badge = |id: &str, rule: AwardRule| Achievement {
            id: format!("https://badges.example.edu/{id}"),
            version: 1,
            name: id.into(),
            description: id.into(),
            criteria: id.into(),
            image: None,
            achievement_type: AchievementType::Badge,
            alignments: vec![],
            valid_days: None,
            rule,
        };
        let mastery = |c: &str| AwardRule::Mastery { competency: c.into(), min_points: None };
        vec![
            badge("fractions", mastery("fractions")),
            badge("both", AwardRule::All { rules: vec![mastery("fractions"), mastery("decimals")] }),
            badge("practice", AwardRule::EvidenceCount { min: 3, competency: None }),
        ]
    }

    fn issue(batch: &[Evidence], replays: usize) -> (Arc<CredentialIssuer>, Engine<MemoryStore>) {
        let t0 = parse_instant("2026-03-01T00:00:00Z", "t").unwrap();
        let issuer = Arc::new(CredentialIssuer::new(achievements(), None, CredentialLedger::new(), t0));
        let engine = Engine::with_config(MemoryStore::new(), config()).with_change_log(issuer.clone());
        for _ in 0..replays {
            engine.ingest(&service(), batch);
        }
        (issuer, engine)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        /// Exactly once, through the engine: whatever the order, duplication or replay of the
        /// events, no learner is awarded (or announced) one achievement twice, and every
        /// achievement the final state earns has been awarded.
        #[test]
        fn engine_awards_exactly_once(
            events in prop::collection::vec((0u8..3, 0u8..2, 0u8..60, 0u8..5), 1..30),
            seed in any::<u64>(),
            replays in 1usize..3,
        ) {
            let mut batch: Vec<Evidence> =
                events.iter().enumerate().map(|(i, (l, c, m, s))| event(i as u8, *l, *c, *m, *s)).collect();
            let extra: Vec<Evidence> = batch.iter().step_by(3).cloned().collect();
            batch.extend(extra);
            let mut rng = seed;
            for i in (1..batch.len()).rev() {
                rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                batch.swap(i, (rng >> 33) as usize % (i + 1));
            }
            let (issuer, engine) = issue(&batch, replays);
            let awards: Vec<(String, String)> =
                issuer.with_ledger(|l| l.pending(usize::MAX).iter().map(|n| (n.learner.clone(), n.achievement.clone())).collect());
            let mut unique = awards.clone();
            unique.sort();
            unique.dedup();
            prop_assert_eq!(unique.len(), awards.len());
            // What the final mastery state earns has been awarded.
            for learner in 0..3u8 {
                let states = engine.learner_states(&service(), &format!("l{learner}").into(), Some(&"c1".into())).unwrap();
                let mastered = |c: &str| states.iter().any(|s| s.competency == c && s.mastered);
                let has = |a: &str| awards.iter().any(|(l, x)| l == &format!("l{learner}") && x.ends_with(a));
                if mastered("fractions") { prop_assert!(has("/fractions")); }
                if mastered("fractions") && mastered("decimals") { prop_assert!(has("/both")); }
            }
        }
    }

    #[test]
    fn ingest_awards_and_announces_once_and_replay_adds_nothing() {
        // l0 answers fractions and decimals perfectly; l1 fractions poorly.
        let batch: Vec<Evidence> = vec![
            event(1, 0, 0, 1, 4),
            event(2, 0, 0, 2, 4),
            event(3, 0, 1, 3, 4),
            event(4, 0, 1, 4, 4),
            event(5, 1, 0, 5, 1),
        ];
        let (issuer, engine) = issue(&batch, 2);
        let pending = issuer.with_ledger(|l| l.pending(usize::MAX));
        let got: Vec<(&str, &str)> =
            pending.iter().map(|n| (n.learner.as_str(), n.achievement.rsplit('/').next().unwrap())).collect();
        assert_eq!(got, [("l0", "fractions"), ("l0", "both"), ("l0", "practice")]);
        // Delivered and acknowledged: a replay of the whole batch announces nothing new.
        issuer.with_ledger(|l| l.acknowledge(&pending.iter().map(|n| n.id).collect::<Vec<_>>()));
        engine.ingest(&service(), &batch);
        assert!(issuer.with_ledger(|l| l.pending(10)).is_empty());
    }

    fn awarding_engine() -> Engine<MemoryStore> {
        let mut all = achievements();
        all.push(Achievement {
            id: "https://badges.example.edu/week".into(),
            rule: AwardRule::Streak { periods: 3 },
            ..all[0].clone()
        });
        Engine::with_config(MemoryStore::new(), config())
            .with_streaks(StreakPolicy::default())
            .unwrap()
            .with_awards(all, None)
            .unwrap()
    }

    fn held(engine: &Engine<MemoryStore>, learner: u8) -> Vec<String> {
        let awards = engine.awards(&service(), &format!("l{learner}").into(), Some(&"c1".into())).unwrap();
        let mut ids: Vec<String> =
            awards.iter().map(|a| a.achievement.rsplit('/').next().unwrap().to_owned()).collect();
        ids.sort();
        ids
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        /// Awards stored by ingest: made once, whatever the order, duplication, replay and
        /// batching; the monotone rules (evidence counts, a streak reached) give the same awards
        /// in every arrival order, and every award waits once in the outbox.
        #[test]
        fn stored_awards_are_made_once_in_any_order(
            spec in prop::collection::vec((0u8..2, 0u8..6, 0u8..24, 0usize..OFFSETS.len(), 0u8..5), 1..30),
            shuffle in prop::collection::vec(any::<u16>(), 60),
            chunk in 1usize..8,
        ) {
            let events: Vec<Evidence> =
                spec.iter().enumerate().map(|(i, &(l, d, h, o, s))| activity(i as u16, l, d, h, o, s)).collect();
            let mut arrivals: Vec<Evidence> = events.iter().chain(events.iter().step_by(2)).cloned().collect();
            let mut keyed: Vec<(u16, Evidence)> =
                arrivals.drain(..).enumerate().map(|(i, e)| (shuffle[i % shuffle.len()].wrapping_add(i as u16), e)).collect();
            keyed.sort_by_key(|(k, _)| *k);
            let (in_order, shuffled) = (awarding_engine(), awarding_engine());
            in_order.ingest(&service(), &events);
            let arrivals: Vec<Evidence> = keyed.into_iter().map(|(_, e)| e).collect();
            for batch in arrivals.chunks(chunk) {
                shuffled.ingest(&service(), batch);
            }
            in_order.ingest(&service(), &events); // a replay awards nothing
            let monotone = |ids: Vec<String>| ids.into_iter().filter(|i| i == "practice" || i == "week").collect::<Vec<_>>();
            for learner in 0..2u8 {
                let (a, b) = (held(&in_order, learner), held(&shuffled, learner));
                let mut unique = b.clone();
                unique.dedup();
                prop_assert_eq!(&unique, &b);
                prop_assert_eq!(monotone(a), monotone(b));
            }
            let outbox = shuffled.outbox(&service(), &"c1".into()).unwrap();
            let stored: usize = (0..2u8).map(|l| held(&shuffled, l).len()).sum();
            prop_assert_eq!(outbox.len(), stored);
        }
    }

    /// Four threads ingest one learner's records (shuffled, with repeats) while a fifth drains the
    /// outbox: the stored streak equals the evaluation of the log, each achievement is awarded once,
    /// and every award was either acknowledged or is still in the outbox.
    #[test]
    fn concurrent_ingest_and_acknowledgement_lose_nothing() {
        let engine = Arc::new(awarding_engine());
        let events: Vec<Evidence> = (0..400u16).map(|i| activity(i, 0, (i % 12) as u8, (i % 24) as u8, 2, 4)).collect();
        let course: mastery_core::CourseId = "c1".into();
        let learner: mastery_core::UserId = "l0".into();
        let acknowledged = std::sync::Mutex::new(Vec::new());
        std::thread::scope(|scope| {
            for t in 0..4usize {
                let (engine, events) = (engine.clone(), &events);
                scope.spawn(move || {
                    let mine: Vec<Evidence> = events.iter().skip(t).step_by(3).cloned().collect();
                    for chunk in mine.chunks(9) {
                        engine.ingest(&service(), chunk);
                    }
                });
            }
            scope.spawn(|| {
                for _ in 0..50 {
                    let ids: Vec<String> =
                        engine.outbox(&service(), &course).unwrap().into_iter().map(|a| a.credential_id).collect();
                    engine.acknowledge_awards(&service(), &learner, Some(&course), &ids).unwrap();
                    acknowledged.lock().unwrap().extend(ids);
                    std::thread::yield_now();
                }
            });
        });
        let now = parse_instant("2026-03-13T12:00:00+09:00", "t").unwrap();
        let report = engine.streak_report(&service(), &learner, Some(&course), now).unwrap();
        let stored = engine.streak(&service(), &learner, Some(&course), now).unwrap();
        assert_eq!(stored, StreakStatus::of_report(&report, 400));
        assert_eq!(held(&engine, 0), ["fractions", "practice", "week"]);
        let mut delivered = acknowledged.into_inner().unwrap();
        delivered.extend(engine.outbox(&service(), &course).unwrap().into_iter().map(|a| a.credential_id));
        delivered.sort();
        delivered.dedup();
        assert_eq!(delivered.len(), 3);
    }

    #[test]
    fn awards_are_stored_with_the_evidence_and_delivered_through_the_outbox() {
        let engine = awarding_engine();
        // l0 practises fractions on three days in a row: fractions, practice and a 3-day streak.
        let batch: Vec<Evidence> = (0..3).map(|d| activity(u16::from(d), 0, d, 10, 2, 4)).collect();
        let outcome = engine.ingest(&service(), &batch);
        assert_eq!((outcome.new, outcome.awarded), (3, 3));
        assert_eq!(held(&engine, 0), ["fractions", "practice", "week"]);
        assert_eq!(engine.ingest(&service(), &batch).awarded, 0);
        let course: mastery_core::CourseId = "c1".into();
        let teacher = AccessContext::new(Principal::instructor("t1", "tia", vec!["c1".into()]));
        let outbox = engine.outbox(&teacher, &course).unwrap();
        assert_eq!(outbox.len(), 3);
        // The award time is the evidence's, so a replay elsewhere names the same credential.
        assert!(outbox.iter().all(|a| a.awarded_at == batch[2].occurred_at.unwrap()));
        let ids: Vec<String> = outbox.iter().map(|a| a.credential_id.clone()).collect();
        let learner: mastery_core::UserId = "l0".into();
        let own = AccessContext::new(Principal::learner("t1", "l0"));
        assert_eq!(engine.acknowledge_awards(&own, &learner, Some(&course), &ids).unwrap_err().code(), "access_denied");
        assert_eq!(engine.acknowledge_awards(&teacher, &learner, Some(&course), &ids[..2]).unwrap(), 2);
        assert_eq!(engine.outbox(&teacher, &course).unwrap().len(), 1);
        assert_eq!(engine.acknowledge_awards(&teacher, &learner, Some(&course), &ids).unwrap(), 1);
        assert!(engine.outbox(&teacher, &course).unwrap().is_empty());
        assert_eq!(engine.outbox(&own, &course).unwrap_err().code(), "access_denied");
        // A revocation goes back into the outbox; the learner reads their own awards and gallery.
        let achievement = "https://badges.example.edu/fractions";
        assert_eq!(engine.revoke_award(&teacher, &learner, Some(&course), achievement, "misconduct").unwrap(), 1);
        assert_eq!(engine.outbox(&teacher, &course).unwrap()[0].revoked.as_deref(), Some("misconduct"));
        let now = parse_instant("2026-03-03T20:00:00Z", "t").unwrap();
        let gallery = engine.badge_gallery(&own, &learner, Some(&course), now).unwrap();
        let status: Vec<(String, String)> = gallery
            .iter()
            .map(|g| (g.achievement.rsplit('/').next().unwrap().to_owned(), format!("{:?}", g.status)))
            .collect();
        assert_eq!(
            status,
            [("fractions", "Revoked"), ("both", "InProgress"), ("practice", "Earned"), ("week", "Earned")]
                .map(|(a, s)| (a.to_owned(), s.to_owned()))
        );
        let other = AccessContext::new(Principal::learner("t1", "l1"));
        assert_eq!(engine.awards(&other, &learner, Some(&course)).unwrap_err().code(), "access_denied");
        let plain = Engine::new(MemoryStore::new());
        assert_eq!(plain.awards(&service(), &learner, None).unwrap_err().code(), "invalid_input");
        let twice = [achievements()[0].clone(), achievements()[0].clone()];
        assert!(Engine::new(MemoryStore::new()).with_awards(twice.to_vec(), None).is_err());
    }
}

/// Nothing the engine holds prints a learner id: not its `Debug`, not its changes, states,
/// awards or outbox, not an error. Learner ids here are distinctive strings to grep for.
#[test]
fn no_learner_id_in_debug_or_errors() {
    use mastery_core::credential::{
        Achievement, AchievementType, AwardRule, AwardScope, CredentialIssuer, CredentialLedger,
    };
    use std::sync::Arc;
    let secret = "zq81secret";
    let issuer = Arc::new(CredentialIssuer::new(
        vec![Achievement {
            id: "https://badges.example.edu/a/fractions".into(),
            version: 1,
            name: "Fractions".into(),
            description: "d".into(),
            criteria: "c".into(),
            image: None,
            achievement_type: AchievementType::Badge,
            alignments: vec![],
            valid_days: Some(30),
            rule: AwardRule::Mastery { competency: "fractions".into(), min_points: None },
        }],
        None,
        CredentialLedger::new(),
        parse_instant("2026-03-08T12:00:00Z", "t").unwrap(),
    ));
    let log = Arc::new(MemoryChangeLog::default());
    let engine =
        Engine::with_config(MemoryStore::new(), config()).with_change_log(log.clone()).with_change_log(issuer.clone());
    let batch: Vec<Evidence> = (0..6)
        .map(|i| {
            let mut e = event(i, 0, 0, i, 4);
            e.learner = format!("{secret}-{i}").into();
            e.id = format!("csv:{secret}-{i}:{i}").into();
            e
        })
        .collect();
    let outcome = engine.ingest(&service(), &batch);
    assert_eq!(outcome.new, 6);
    let learner = AccessContext::new(Principal::learner("t1", format!("{secret}-0")));
    let mut printed = vec![
        format!("{engine:?}"),
        format!("{:?}", engine.store()),
        format!("{outcome:?}"),
        format!("{:?}", log.0.lock().unwrap()),
        format!("{issuer:?}"),
        format!("{:?}", engine.replay(&service(), &format!("{secret}-0").into()).unwrap()),
        format!("{:?}", engine.class_states(&service(), &"c1".into()).unwrap().values().collect::<Vec<_>>()),
        format!("{batch:?}"),
        format!("{learner:?}"),
        format!("{:?}", AwardScope::new("t1", format!("{secret}-0"), None)),
    ];
    issuer.with_ledger(|ledger| {
        printed.push(format!("{ledger:?}"));
        printed.push(format!("{:?}", ledger.pending(100)));
        printed.push(format!("{:?}", ledger.awards_of(&"t1".into(), &format!("{secret}-0"))));
        assert!(!ledger.pending(100).is_empty(), "the test should award something");
    });
    // Errors: another learner's records, an unknown award.
    let other = AccessContext::new(Principal::learner("t1", format!("{secret}-other")));
    let denied = engine.learner_states(&other, &format!("{secret}-0").into(), None).unwrap_err();
    printed.push(format!("{denied} {denied:?}"));
    let refused = engine.ingest(&other, &batch[..1]);
    printed.push(format!("{refused:?}"));
    for text in &printed {
        assert!(!text.contains(secret), "a learner id leaked: {text}");
    }
}

/// A learner writes only into courses they are enrolled in; the tenant travels with each change.
#[test]
fn learners_write_only_into_enrolled_courses_and_changes_carry_the_tenant() {
    let log = std::sync::Arc::new(MemoryChangeLog::default());
    let engine = Engine::with_config(MemoryStore::new(), config()).with_change_log(log.clone());
    let mine = event(1, 1, 0, 1, 4); // learner l1, course c1
    let outsider = AccessContext::new(Principal::learner("t1", "l1"));
    let refused = engine.ingest(&outsider, std::slice::from_ref(&mine));
    assert_eq!((refused.new, refused.rejected[0].code.as_str()), (0, "access_denied"));
    let enrolled = AccessContext::new(Principal::enrolled_learner("t1", "l1", vec!["c1".into()]));
    assert_eq!(engine.ingest(&enrolled, std::slice::from_ref(&mine)).new, 1);
    // Outside any course, a learner's own evidence is theirs to write.
    let mut free = event(2, 1, 0, 2, 4);
    free.course = None;
    assert_eq!(engine.ingest(&outsider, &[free]).new, 1);
    assert!(log.0.lock().unwrap().iter().all(|c| c.tenant.as_str() == "t1"));
}

/// Eight threads ingest overlapping batches (every record arrives four times, in different
/// orders) for the same learners: every record is stored once and every stored state equals a
/// replay of the stored log, exactly. Without per-learner serialisation, read-modify-write lost
/// about half of the updates here.
#[test]
fn concurrent_ingest_loses_nothing() {
    let engine = std::sync::Arc::new(Engine::with_config(MemoryStore::new(), config()));
    let events: Vec<Evidence> = (0..240u32)
        .map(|i| event((i % 250) as u8, (i % 3) as u8, (i % 2) as u8, (i % 60) as u8, (i % 5) as u8))
        .collect();
    // Ids repeat past 250 only; keep them unique per learner by construction above (i < 240).
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let engine = engine.clone();
            let mut mine: Vec<Evidence> = events.iter().skip(t % 2).step_by(2).cloned().collect();
            if t % 4 >= 2 {
                mine.reverse();
            }
            // Half the threads send one record at a time, half in batches of 5.
            let size = if t % 2 == 0 { 1 } else { 5 };
            std::thread::spawn(move || mine.chunks(size).map(|c| engine.ingest(&service(), c).new).sum::<usize>())
        })
        .collect();
    let stored: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(stored, events.len(), "each record is new exactly once");
    for learner in ["l0", "l1", "l2"] {
        let replayed = engine.replay(&service(), &learner.into()).unwrap();
        assert!(!replayed.is_empty());
        for ((course, competency), state) in &replayed {
            let kept = engine.mastery(&service(), &learner.into(), course.as_ref(), competency).unwrap().unwrap();
            assert_eq!(of_record(&kept), of_state(state));
        }
    }
}

/// The stored record stays small whatever the history: 2,000 observations (some arriving late)
/// of one learner × competency, and the record still serialises under 256 bytes and equals a
/// replay.
#[test]
fn stored_state_does_not_grow_with_history() {
    let engine = Engine::with_config(MemoryStore::new(), config());
    let base = parse_instant("2026-03-08T10:00:00Z", "t").unwrap();
    let mut size_after = Vec::new();
    for i in 0..2000i64 {
        let mut e = event(0, 1, 0, 0, (i % 5) as u8);
        e.id = format!("long-{i}").into();
        // Every 100th arrives an hour late (older than the newest): the record is rebuilt.
        let minutes = if i % 100 == 99 { i - 60 } else { i };
        e.occurred_at = Some(base + chrono::Duration::minutes(minutes));
        assert_eq!(engine.ingest(&service(), &[e]).new, 1);
        if [9, 999, 1999].contains(&i) {
            let key = mastery_core::StateKey {
                learner: "l1".into(),
                course: Some("c1".into()),
                namespace: "mastery".into(),
                name: "fractions".into(),
            };
            let stored = mastery_core::Store::get_state(engine.store(), &service(), &key).unwrap().unwrap();
            size_after.push(serde_json::to_vec(&stored).unwrap().len());
        }
    }
    assert!(size_after.iter().all(|&n| n <= 256), "{size_after:?}");
    let replayed = engine.replay(&service(), &"l1".into()).unwrap();
    let (_, state) = replayed.iter().next().unwrap();
    let kept = engine.mastery(&service(), &"l1".into(), Some(&"c1".into()), "fractions").unwrap().unwrap();
    assert_eq!(of_record(&kept), of_state(state));
    assert_eq!(kept.evidence_count(), 2000);
}

/// A store written before records were bounded holds whole-history JSON states: they still read.
#[test]
fn a_whole_history_state_from_an_older_store_still_reads() {
    use mastery_core::mastery::CompetencyState;
    let fresh = Engine::with_config(MemoryStore::new(), config());
    let events = [event(1, 0, 0, 1, 4), event(2, 0, 0, 2, 1)];
    fresh.ingest(&service(), &events);
    let expected = fresh.mastery(&service(), &"l0".into(), Some(&"c1".into()), "fractions").unwrap().unwrap();
    let (_, history) = fresh.replay(&service(), &"l0".into()).unwrap().into_iter().next().unwrap();
    let old = Engine::with_config(MemoryStore::new(), config());
    let key = mastery_core::StateKey {
        learner: "l0".into(),
        course: Some("c1".into()),
        namespace: "mastery".into(),
        name: "fractions".into(),
    };
    let legacy: CompetencyState = history;
    let json = serde_json::to_value(&legacy).unwrap();
    mastery_core::Store::put_state(old.store(), &service(), &key, &json.into()).unwrap();
    let read = old.mastery(&service(), &"l0".into(), Some(&"c1".into()), "fractions").unwrap().unwrap();
    assert_eq!(of_record(&read), of_record(&expected));
}

/// A record refused after an earlier record of its batch moved the same mastery record puts back
/// what that earlier record made, not the record stored before the batch.
#[test]
fn a_refused_record_puts_back_what_its_batch_made_before_it() {
    let engine = Engine::with_config(MemoryStore::new(), config()).with_streaks(streak_policy()).unwrap();
    // An unreadable stored streak: every record of l1 in c1 that counts as activity is refused.
    let streak = mastery_core::StateKey {
        learner: "l1".into(),
        course: Some("c1".into()),
        namespace: "streak".into(),
        name: "streak".into(),
    };
    let unreadable = serde_json::json!("not a streak").into();
    mastery_core::Store::put_state(engine.store(), &service(), &streak, &unreadable).unwrap();
    // Records without a time are no activity; ordered by their sequence numbers.
    let untimed = |id: u8, sequence: i64, score: u8| Evidence {
        occurred_at: None,
        sequence: Some(sequence),
        ..event(id, 1, 0, 0, score)
    };
    let timed = Evidence { sequence: Some(2), ..event(2, 1, 0, 5, 4) };
    let outcome = engine.ingest(&service(), &[untimed(1, 1, 1), timed, untimed(3, 3, 3)]);
    assert_eq!(outcome.rejected.iter().map(|r| r.index).collect::<Vec<_>>(), [1]);
    assert_eq!(outcome.new, 2);
    let stored = engine.mastery(&service(), &"l1".into(), Some(&"c1".into()), "fractions").unwrap().unwrap();
    // What the two records kept give on their own, in a fresh engine.
    let alone = Engine::with_config(MemoryStore::new(), config());
    alone.ingest(&service(), &[untimed(1, 1, 1), untimed(3, 3, 3)]);
    let expected = alone.mastery(&service(), &"l1".into(), Some(&"c1".into()), "fractions").unwrap().unwrap();
    assert_eq!(stored.evidence_count(), 2);
    assert_eq!(of_record(&stored), of_record(&expected));
}

/// The engine's class heatmap (straight from stored records) equals the one built from class
/// states and standings, and is refused to a learner and to another course's instructor.
#[test]
fn class_heatmap_from_stored_records_equals_the_views() {
    use mastery_core::dashboard::{class_heatmap, Label};
    let engine = Engine::with_config(MemoryStore::new(), config());
    let events: Vec<Evidence> = (0..40u8).map(|i| event(i, i % 7, i % 2, i % 50, i % 5)).collect();
    engine.ingest(&service(), &events);
    let tutor = AccessContext::new(Principal::instructor("t1", "tia", vec!["c1".into()]));
    // A column no record has, and columns out of name order.
    let columns: Vec<Label> = ["decimals", "fractions", "percent"]
        .iter()
        .map(|c| Label { id: (*c).into(), label: c.to_uppercase() })
        .collect();
    let states = engine.class_states(&tutor, &"c1".into()).unwrap();
    let values: BTreeMap<String, BTreeMap<String, f64>> = states
        .iter()
        .map(|(l, s)| (l.clone(), engine.standings(s).into_iter().map(|(c, v)| (c, v.value)).collect()))
        .collect();
    let expected = class_heatmap(&values, &columns, &engine.config().scale);
    let heatmap = engine.class_heatmap(&tutor, &"c1".into(), &columns).unwrap();
    assert_eq!(heatmap, expected);
    assert_eq!(heatmap.rows.len(), 7);
    assert!(heatmap.cells.iter().all(|row| row[2].value.is_none()));

    let learner = AccessContext::new(Principal::learner("t1", "l0"));
    assert_eq!(engine.class_heatmap(&learner, &"c1".into(), &columns).unwrap_err().code(), "access_denied");
    let other = AccessContext::new(Principal::instructor("t1", "tom", vec!["c2".into()]));
    assert_eq!(engine.class_heatmap(&other, &"c1".into(), &columns).unwrap_err().code(), "access_denied");
}

mod risk_and_dashboards {
    use super::*;
    use mastery_core::risk::{activity_features, ActivityRecord, RiskModelFile, ENGINE_FEATURES};

    /// A logistic model over the features the engine computes: few active days and low grades
    /// raise the risk.
    fn model() -> RiskModelFile {
        let features: Vec<_> =
            activity_features().into_iter().filter(|f| ENGINE_FEATURES.contains(&f.name.as_str())).collect();
        let width = features.len();
        let mut x = Vec::new();
        let mut y = Vec::new();
        for i in 0..200 {
            let at_risk = i % 2 == 0;
            let row: Vec<f64> = features
                .iter()
                .map(|f| match f.name.as_str() {
                    "active_days" => (if at_risk { 1.0 } else { 6.0 }) + f64::from(i % 3),
                    "grade_mean" => (if at_risk { 30.0 } else { 80.0 }) + f64::from(i % 7),
                    _ => f64::from(i % 5),
                })
                .collect();
            x.extend(row);
            y.push(f64::from(u8::from(at_risk)));
        }
        let x = ndarray::ArrayView2::from_shape((200, width), &x).unwrap();
        RiskModelFile::train_logistic("v1", features, x, &y, 1.0).unwrap()
    }

    fn bits(rows: &[(String, Vec<f64>)]) -> Vec<(String, Vec<u64>)> {
        rows.iter().map(|(l, r)| (l.clone(), r.iter().map(|v| v.to_bits()).collect())).collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// The stored activity records give the features of the whole log folded in time order,
        /// exactly, whatever the arrival order, duplicates and batching.
        #[test]
        fn stored_risk_features_equal_the_log(
            spec in prop::collection::vec((0u8..3, 0u8..12, 0u8..24, 0usize..OFFSETS.len(), 0u8..5), 1..40),
            shuffle in prop::collection::vec(any::<u16>(), 80),
            duplicates in prop::collection::vec(0usize..40, 0..10),
        ) {
            let events: Vec<Evidence> =
                spec.iter().enumerate().map(|(i, &(l, d, h, o, s))| activity(i as u16, l, d, h, o, s)).collect();
            let mut arrivals: Vec<Evidence> = events.clone();
            arrivals.extend(duplicates.iter().filter_map(|&d| events.get(d).cloned()));
            let mut keyed: Vec<(u16, Evidence)> =
                arrivals.into_iter().enumerate().map(|(i, e)| (shuffle[i % shuffle.len()].wrapping_add(i as u16), e)).collect();
            keyed.sort_by_key(|(k, _)| *k);
            let arrivals: Vec<Evidence> = keyed.into_iter().map(|(_, e)| e).collect();
            let engine = || Engine::with_config(MemoryStore::new(), config()).with_risk(model(), None).unwrap();
            let (one_by_one, in_order, batched) = (engine(), engine(), engine());
            for e in &arrivals {
                one_by_one.ingest(&service(), std::slice::from_ref(e));
            }
            in_order.ingest(&service(), &events);
            for chunk in arrivals.chunks(7) {
                batched.ingest(&service(), chunk);
            }
            let at = parse_instant("2026-03-13T12:00:00+09:00", "t").unwrap();
            let course: mastery_core::CourseId = "c1".into();
            let features = model().features;
            let mut expected = Vec::new();
            for learner in ["l0", "l1", "l2"] {
                let learner: mastery_core::UserId = learner.into();
                let log: Vec<&Evidence> = events.iter().filter(|e| e.learner == learner).collect();
                if log.is_empty() {
                    continue;
                }
                let mastery = in_order.learner_states(&service(), &learner, Some(&course)).unwrap();
                expected.push((learner.as_str().to_owned(), ActivityRecord::rebuild(log).row(&features, at, &mastery)));
            }
            for engine in [&one_by_one, &in_order, &batched] {
                let rows = engine.risk_features(&service(), &course, at).unwrap();
                prop_assert_eq!(bits(&rows), bits(&expected));
            }
        }
    }

    /// Four threads ingest three learners' records out of order, with duplicates: the stored
    /// activity records give the features of the whole log, exactly.
    #[test]
    fn concurrent_ingest_keeps_exact_risk_features() {
        let engine = std::sync::Arc::new(
            Engine::with_config(MemoryStore::new(), config())
                .with_streaks(streak_policy())
                .unwrap()
                .with_risk(model(), None)
                .unwrap(),
        );
        let events: Vec<Evidence> = (0..600u16)
            .map(|i| activity(i, (i % 3) as u8, (i * 7 % 12) as u8, (i % 24) as u8, usize::from(i % 5), (i % 5) as u8))
            .collect();
        std::thread::scope(|scope| {
            for t in 0..4usize {
                let (engine, events) = (engine.clone(), &events);
                scope.spawn(move || {
                    // Each thread sends a third of the records (so a quarter arrive twice), in chunks.
                    let mine: Vec<Evidence> = events.iter().skip(t).step_by(3).cloned().collect();
                    for chunk in mine.chunks(11) {
                        engine.ingest(&service(), chunk);
                    }
                });
            }
        });
        let at = parse_instant("2026-03-20T12:00:00Z", "t").unwrap();
        let course: mastery_core::CourseId = "c1".into();
        let features = model().features;
        let expected: Vec<(String, Vec<f64>)> = ["l0", "l1", "l2"]
            .iter()
            .map(|&l| {
                let learner: mastery_core::UserId = l.into();
                let log = events.iter().filter(|e| e.learner == learner);
                let mastery = engine.learner_states(&service(), &learner, Some(&course)).unwrap();
                (l.to_owned(), ActivityRecord::rebuild(log).row(&features, at, &mastery))
            })
            .collect();
        assert_eq!(bits(&engine.risk_features(&service(), &course, at).unwrap()), bits(&expected));
    }

    /// `record_risk` stores each learner's band; the next scoring keeps a learner in a band until
    /// the score falls below its exit, where a fresh engine (nothing recorded) drops them.
    #[test]
    fn recorded_bands_have_hysteresis() {
        use mastery_core::risk::{RiskBand, RiskBands, RiskModel};
        let course: mastery_core::CourseId = "c1".into();
        let at = parse_instant("2026-03-06T12:00:00Z", "t").unwrap();
        let tutor = AccessContext::new(Principal::instructor("t1", "tia", vec!["c1".into()]));
        let low = vec![activity(0, 0, 0, 10, 2, 0), activity(1, 0, 1, 11, 2, 1)];
        let better: Vec<Evidence> = (0..3).map(|d| activity(10 + u16::from(d), 0, 2 + d, 9, 2, 4)).collect();
        // l0's score after the low grades, then after the better ones (defaults bands: any).
        let probe = Engine::with_config(MemoryStore::new(), config()).with_risk(model(), None).unwrap();
        let score = |engine: &Engine<MemoryStore>| {
            let rows = engine.risk_features(&service(), &course, at).unwrap();
            let x = ndarray::ArrayView2::from_shape((1, rows[0].1.len()), &rows[0].1).unwrap();
            model().predict_proba(x).unwrap()[0]
        };
        probe.ingest(&service(), &low);
        let before = score(&probe);
        probe.ingest(&service(), &better);
        let after = score(&probe);
        assert!(after < before, "better grades lower the risk ({before} -> {after})");
        let bands =
            RiskBands::new(vec![RiskBand { name: "watch".into(), enter: (before + after) / 2.0, exit: after / 2.0 }])
                .unwrap();
        let engine =
            || Engine::with_config(MemoryStore::new(), config()).with_risk(model(), Some(bands.clone())).unwrap();

        let recorded = engine();
        recorded.ingest(&service(), &low);
        let alerts = recorded.record_risk(&tutor, &course, at, 2).unwrap();
        assert_eq!(alerts.iter().map(|a| (a.learner.as_str(), a.band.as_str())).collect::<Vec<_>>(), [("l0", "watch")]);
        recorded.ingest(&service(), &better);
        let fresh = engine();
        fresh.ingest(&service(), &low);
        fresh.ingest(&service(), &better);
        assert!(fresh.at_risk(&tutor, &course, at, 2).unwrap().is_empty(), "below the entry: no alert");
        let kept = recorded.at_risk(&tutor, &course, at, 2).unwrap();
        assert_eq!(kept.len(), 1, "above the exit: the recorded band holds");
        assert_eq!((kept[0].band.as_str(), kept[0].score.to_bits()), ("watch", after.to_bits()));
        // The class dashboard scores the same way; recording again keeps the band.
        let options = mastery_core::engine::ClassDashboardOptions { reasons: 2, ..Default::default() };
        let class = recorded.class_dashboard(&tutor, &course, at, &options);
        assert_eq!(class.unwrap().at_risk.unwrap(), kept);
        assert_eq!(recorded.record_risk(&tutor, &course, at, 2).unwrap().len(), 1);

        // Learners and staff of another course may not record.
        let l0 = AccessContext::new(Principal::learner("t1", "l0"));
        assert_eq!(recorded.record_risk(&l0, &course, at, 2).unwrap_err().code(), "access_denied");
        let other = AccessContext::new(Principal::instructor("t1", "tom", vec!["c2".into()]));
        assert_eq!(recorded.record_risk(&other, &course, at, 2).unwrap_err().code(), "access_denied");
    }

    #[test]
    fn dashboards_are_single_reads_under_the_policy() {
        use mastery_core::engine::ClassDashboardOptions;
        let engine = Engine::with_config(MemoryStore::new(), config())
            .with_streaks(streak_policy())
            .unwrap()
            .with_risk(model(), None)
            .unwrap();
        // l0 was active on one day and scored low; l1 on five days and scored high.
        let mut events = vec![activity(0, 0, 0, 10, 2, 0), activity(1, 0, 0, 11, 2, 1)];
        events.extend((0..5).map(|d| activity(10 + u16::from(d), 1, d, 9, 2, 4)));
        let outcome = engine.ingest(&service(), &events);
        assert_eq!(outcome.new, 7);
        let at = parse_instant("2026-03-06T12:00:00Z", "t").unwrap();
        let course: mastery_core::CourseId = "c1".into();
        let tutor = AccessContext::new(Principal::instructor("t1", "tia", vec!["c1".into()]));

        let class = engine.class_dashboard(&tutor, &course, at, &ClassDashboardOptions::default()).unwrap();
        assert_eq!(class.learners, 2);
        assert_eq!(class.heatmap.rows.len(), 2);
        // The summaries from the stored grid equal the class summary of the class's records.
        let scores: BTreeMap<String, BTreeMap<String, f64>> = engine
            .class_states(&tutor, &course)
            .unwrap()
            .into_iter()
            .map(|(l, records)| {
                (l, records.iter().filter_map(|r| Some((r.competency.to_string(), r.score?))).collect())
            })
            .collect();
        let expected = mastery_core::mastery::class_summary(&scores, &engine.config().scale, None);
        assert_eq!(class.summaries, expected);
        assert_eq!(class.summaries.len(), 1);
        let alerts = class.at_risk.unwrap();
        assert_eq!(alerts.len(), 1, "only the learner with one active day and low grades");
        assert_eq!(alerts[0].learner, "l0");
        assert!(!alerts[0].reasons.is_empty() && alerts[0].reasons.len() <= 3);

        let l0 = AccessContext::new(Principal::learner("t1", "l0"));
        let own = engine.learner_dashboard(&l0, &"l0".into(), Some(&course), at).unwrap();
        assert_eq!(own.records.len(), 1);
        assert_eq!(own.gaps.len(), 1, "a low score is a gap");
        assert_eq!(own.streak.unwrap().events, 2);
        assert_eq!(own.progress.series.len(), 1);
        assert!(own.rings.is_none() && own.next.is_empty(), "no framework: no rings");

        // Refusals: a learner reading the class or another learner, staff of another course,
        // another tenant.
        let denied = |r: mastery_core::Result<_>| r.map(|_: ()| ()).unwrap_err().code();
        let options = ClassDashboardOptions::default();
        assert_eq!(denied(engine.class_dashboard(&l0, &course, at, &options).map(drop)), "access_denied");
        assert_eq!(denied(engine.learner_dashboard(&l0, &"l1".into(), Some(&course), at).map(drop)), "access_denied");
        assert_eq!(denied(engine.at_risk(&l0, &course, at, 3).map(drop)), "access_denied");
        let other = AccessContext::new(Principal::instructor("t1", "tom", vec!["c2".into()]));
        assert_eq!(denied(engine.class_dashboard(&other, &course, at, &options).map(drop)), "access_denied");
        let foreign = AccessContext::new(Principal::instructor("t2", "tia", vec!["c1".into()]));
        assert_eq!(
            denied(engine.learner_dashboard(&foreign, &"l0".into(), Some(&course), at).map(drop)),
            "access_denied"
        );

        // An engine without a model says so; a model the engine cannot feed is refused.
        let plain = Engine::new(MemoryStore::new());
        assert_eq!(plain.at_risk(&tutor, &course, at, 3).unwrap_err().code(), "invalid_input");
        assert!(plain.class_dashboard(&tutor, &course, at, &options).unwrap().at_risk.is_none());
        let mut foreign_model = model();
        foreign_model.features.iter_mut().for_each(|f| f.name = format!("x_{}", f.name));
        assert_eq!(Engine::new(MemoryStore::new()).with_risk(foreign_model, None).unwrap_err().code(), "invalid_input");
    }
}

/// A list read one record at a time: each malformed record is refused (naming a missing field)
/// without quoting its value, and the rest go in with their positions.
#[test]
fn malformed_records_in_a_list_are_refused_by_field_and_the_rest_kept() {
    use mastery_core::evidence::evidence_from_values;
    let good = |id: &str| {
        serde_json::json!({"id": id, "learner": "amy", "course": "c1", "competencies": ["a"], "kind": "response",
            "score": {"scaled": 0.5}, "occurred_at": "2026-03-02T10:00:00Z", "source": "host"})
    };
    let mut late = good("e3");
    late["occurred_at"] = "next tuesday".into();
    let mut scaled = good("e4");
    scaled["score"]["scaled"] = "secret-amy".into();
    let values = vec![good("e0"), serde_json::json!({"id": "e1"}), good("e2"), late, scaled, serde_json::json!(7)];
    let (rows, refused) = evidence_from_values(values);
    assert_eq!(rows.iter().map(|(i, e)| (*i, e.id.as_str())).collect::<Vec<_>>(), [(0, "e0"), (2, "e2")]);
    let fields: Vec<_> = refused.iter().map(|r| (r.index, r.code.as_str(), r.field.as_deref())).collect();
    assert_eq!(
        fields,
        [
            (1, "invalid_input", Some("learner")),
            (3, "invalid_input", Some("evidence")),
            (4, "invalid_input", Some("evidence")),
            (5, "invalid_input", Some("evidence"))
        ]
    );
    assert!(refused.iter().all(|r| !r.reason.contains("secret") && !r.reason.contains("tuesday")), "{refused:?}");
}
