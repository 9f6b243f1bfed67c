//! Progress callbacks and cancellation of BKT EM, cross-validation and booster rounds.
#![allow(clippy::unwrap_used)]

use std::ops::ControlFlow;
use std::sync::Mutex;

use mastery_core::mastery::{BktModel, BktOptions, Response, ResponseTable};
use mastery_core::progress::{Progress, Stage};
use mastery_core::risk::{synthetic_risk_data, Gbdt, GbdtParams};
use mastery_core::MasteryError;

fn responses() -> Vec<Response> {
    let mut rows = Vec::new();
    for learner in 0..40 {
        for skill in ["a", "b", "c"] {
            for t in 0..8 {
                let correct = (learner * 7 + t * 3) % 5 > 1 || t > 5;
                rows.push(Response {
                    learner: format!("u{learner}"),
                    skill: skill.into(),
                    correct,
                    order: None,
                    template: None,
                    prior_group: None,
                });
            }
        }
    }
    rows
}

#[test]
fn bkt_fit_reports_every_restart_and_matches_the_plain_fit() {
    let table = ResponseTable::from_rows(&responses());
    let options = BktOptions { num_fits: 2, ..BktOptions::default() };
    let seen = Mutex::new(Vec::new());
    let on = |p: Progress| {
        seen.lock().unwrap().push(p);
        ControlFlow::Continue(())
    };
    let with = BktModel::fit_table_with(&table, &options, &on).unwrap();
    let plain = BktModel::fit_table(&table, &options).unwrap();
    assert_eq!(with.to_json(), plain.to_json());
    let seen = seen.into_inner().unwrap();
    assert!(seen.iter().all(|p| p.stage == Stage::BktFit && p.total == 6));
    assert_eq!(seen.first().unwrap().done, 0);
    assert_eq!(seen.last().unwrap().done, 6);
    assert!(seen.windows(2).all(|w| w[0].done <= w[1].done));
}

#[test]
fn bkt_fit_and_crossvalidation_stop_when_asked() {
    let table = ResponseTable::from_rows(&responses());
    let options = BktOptions::default();
    let calls = Mutex::new(0usize);
    let stop_at_third = |_: Progress| {
        let mut c = calls.lock().unwrap();
        *c += 1;
        if *c >= 3 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    };
    let err = BktModel::fit_table_with(&table, &options, &stop_at_third).unwrap_err();
    assert_eq!(err, MasteryError::Cancelled);
    assert_eq!(err.code(), "cancelled");
    assert_eq!(*calls.lock().unwrap(), 3);
    let folds = Mutex::new(Vec::new());
    let stop_after_fold = |p: Progress| {
        folds.lock().unwrap().push(p.done);
        if p.stage == Stage::CrossValidation && p.done >= 1 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    };
    let err = BktModel::crossvalidate_table_with(&table, &options, 3, &stop_after_fold).unwrap_err();
    assert_eq!(err, MasteryError::Cancelled);
    assert_eq!(folds.into_inner().unwrap().last(), Some(&1));
}

#[test]
fn booster_reports_rounds_and_stops_when_asked() {
    let (x, y) = synthetic_risk_data(2000, 7).unwrap();
    let params = GbdtParams { n_estimators: 20, num_threads: 1, ..GbdtParams::default() };
    let rounds = Mutex::new(Vec::new());
    let on = |p: Progress| {
        assert_eq!(p.stage, Stage::BoosterRounds);
        rounds.lock().unwrap().push(p.done);
        ControlFlow::Continue(())
    };
    let model = Gbdt::fit_with(x.view(), &y, &params, None, &on).unwrap();
    let plain = Gbdt::fit(x.view(), &y, &params, None).unwrap();
    assert_eq!(model, plain);
    assert_eq!(rounds.into_inner().unwrap(), (0..=20).collect::<Vec<_>>());
    let stop = |p: Progress| if p.done >= 5 { ControlFlow::Break(()) } else { ControlFlow::Continue(()) };
    assert_eq!(Gbdt::fit_with(x.view(), &y, &params, None, &stop).unwrap_err(), MasteryError::Cancelled);
}
