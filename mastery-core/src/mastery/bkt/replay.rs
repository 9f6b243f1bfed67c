//! Batch prediction: each learner's history replayed with the arithmetic of
//! [`SkillModel::update`] (so batch and online states are equal, bit for bit), [`LANES`]
//! histories side by side (a history is a chain of dependent steps; interleaved, independent
//! chains overlap).
//!
//! Without templates every history of a skill and prior group starts from the same state and
//! takes the same step for the same answer, so the state after a history's first answers
//! depends on those answers only. Those states are kept in a [`Memo`] of the first
//! [`MEMO_DEPTH`] answers, each computed once however many learners share that start.

use std::cell::Cell;

use super::{masses, Classes, ResponseTable, SkillModel, TINY};

/// Batch predictions by input row.
pub(super) struct Predictions {
    pub correct: Vec<f64>,
    pub state: Vec<f64>,
}

impl Predictions {
    /// Zeroed (fresh pages, not written twice): every row is written by the replay.
    pub fn new(rows: usize) -> Self {
        Self { correct: vec![0.0; rows], state: vec![0.0; rows] }
    }
}

const LANES: usize = 4;

/// Answers deep the [`Memo`] reaches: 127 states per skill and prior group (4 KB, so the memos
/// of many skills stay in cache: deeper trees were slower on logs sorted by learner, and so was
/// replaying one skill at a time to keep a deeper tree hot, which scatters the rows read).
const MEMO_DEPTH: u32 = 6;
/// Nodes of the memo's binary tree: node 1 before any answer, node `2n + answer` after node `n`.
const MEMO_NODES: usize = 2 << MEMO_DEPTH;

/// A state as a row reads it: P(known), the log-odds the next step starts from, and P(correct).
#[derive(Debug, Clone, Copy)]
struct Known {
    p_known: f64,
    log_odds: f64,
    correct: f64,
}

impl Known {
    fn of(p_known: f64, log_odds: f64, p: &StepParams) -> Self {
        let masses = masses(log_odds);
        Self { p_known, log_odds, correct: masses.0 * p.not_slip + masses.1 * p.guess }
    }
}

/// The states after the first answers of a skill's histories, per prior group: a binary tree
/// of [`MEMO_NODES`] nodes each.
struct Memo {
    /// `None` until first visited.
    nodes: Vec<Cell<Option<Known>>>,
}

/// One parameter class as the step reads it, complements computed once (the same values the
/// step computes, so the results are the same bits).
#[derive(Debug, Clone, Copy)]
struct StepParams {
    guess: f64,
    not_guess: f64,
    slip: f64,
    not_slip: f64,
    learn: f64,
    not_learn: f64,
    forget: f64,
    not_forget: f64,
    classes: Classes,
}

/// One skill's replay: its model, read once per template and prior group.
pub(super) struct Replay<'a> {
    model: &'a SkillModel,
    /// Per template code, then without a template (last).
    params: Vec<StepParams>,
    /// Per prior-group code, then without a group (last): the initial `(P(known), log-odds)`.
    initial: Vec<(f64, f64)>,
    /// Without templates (one step for every row): the shared starts of histories.
    memo: Option<Memo>,
}

impl<'a> Replay<'a> {
    pub fn new(model: &'a SkillModel, table: &ResponseTable) -> Self {
        let p = &model.params;
        let step_params = |classes: Classes| {
            let (g, c) = (classes.gs, classes.learn);
            StepParams {
                guess: p.guesses[g],
                not_guess: 1.0 - p.guesses[g],
                slip: p.slips[g],
                not_slip: 1.0 - p.slips[g],
                learn: p.learns[c],
                not_learn: 1.0 - p.learns[c],
                forget: p.forgets[c],
                not_forget: 1.0 - p.forgets[c],
                classes,
            }
        };
        let params = table
            .template_names
            .iter()
            .map(|t| Classes { gs: model.gs_class(Some(t)), learn: model.learn_class(Some(t)) })
            .chain([Classes::default()])
            .map(step_params)
            .collect();
        let initial: Vec<(f64, f64)> = table
            .prior_group_names
            .iter()
            .map(Some)
            .chain([None])
            .map(|g| model.initial_state_in(g.map(String::as_str)))
            .map(|s| (s.p_known, s.log_odds))
            .collect();
        let memo = table.template.is_none().then(|| Memo { nodes: vec![Cell::new(None); initial.len() * MEMO_NODES] });
        Self { model, params, initial, memo }
    }

    /// The memo's state at `node` of prior group `group`'s tree, computed on the first visit
    /// from the initial state (node 1) or from `parent`'s (the node's parent, visited before).
    #[inline]
    fn known(&self, memo: &Memo, group: usize, node: usize, parent: Option<Known>, p: &StepParams) -> Known {
        let cell = &memo.nodes[group * MEMO_NODES + node];
        if let Some(known) = cell.get() {
            return known;
        }
        let (p_known, log_odds) = match parent {
            Some(parent) => self.advance(parent.log_odds, masses(parent.log_odds), node % 2 == 1, p),
            None => self.initial[group],
        };
        let known = Known::of(p_known, log_odds, p);
        cell.set(Some(known));
        known
    }

    /// The step of [`SkillModel::advance`] on precomputed complements; the rare cases (near
    /// certainty, impossible answers) go to the original.
    #[inline]
    fn advance(&self, log_odds: f64, (k, u): (f64, f64), correct: bool, p: &StepParams) -> (f64, f64) {
        if log_odds.abs() < 300.0 {
            let (e0, e1) = if correct { (p.guess, p.not_slip) } else { (p.not_guess, p.slip) };
            let (b1, b0) = (k * e1, u * e0);
            if b1 + b0 > 0.0 {
                let known = b1 * p.not_forget + b0 * p.learn;
                let unknown = b0 * p.not_learn + b1 * p.forget;
                let total = known + unknown;
                if known >= TINY * total && unknown >= TINY * total {
                    return (known / total, (known / unknown).ln());
                }
            }
        }
        self.model.advance(log_odds, (k, u), correct, p.classes)
    }
}

/// One history being replayed: positions `at..end` are still to come.
#[derive(Clone, Copy)]
struct Cursor<'r> {
    replay: &'r Replay<'r>,
    at: usize,
    end: usize,
    p_known: f64,
    log_odds: f64,
    group: usize,
    /// Where the history is in its replay's memo (0 once past it, or without one).
    node: usize,
}

/// Replays `runs` (each a skill's replay and the positions `first..end` of one learner's
/// history, non-empty; `row` maps a position to its row) and writes every row's predictions.
pub(super) fn replay<'r>(
    table: &ResponseTable,
    runs: impl Iterator<Item = (&'r Replay<'r>, usize, usize)>,
    row: impl Fn(usize) -> usize,
    out: &mut Predictions,
) {
    let mut runs = runs.peekable();
    let Some(&(any, _, _)) = runs.peek() else { return };
    let (templates, groups) = (table.template.as_deref(), table.prior_group.as_deref());
    let idle = Cursor { replay: any, at: 0, end: 0, p_known: 0.0, log_odds: 0.0, group: 0, node: 0 };
    let mut lanes = [idle; LANES];
    loop {
        let mut busy = false;
        for lane in &mut lanes {
            if lane.at == lane.end {
                let Some((replay, at, end)) = runs.next() else { continue };
                let group = groups.map_or(replay.initial.len() - 1, |g| g[row(at)] as usize);
                let (p_known, log_odds) = replay.initial[group];
                let node = usize::from(replay.memo.is_some());
                *lane = Cursor { replay, at, end, p_known, log_odds, group, node };
            }
            busy = true;
            // Predicts row `i` from the lane's state, then observes its answer.
            let (i, r) = (row(lane.at), lane.replay);
            let p = &r.params[templates.map_or(r.params.len() - 1, |t| t[i] as usize)];
            if let (Some(memo), true) = (&r.memo, lane.node != 0) {
                // Within the memo: this row's state is its node's, the next is a child's.
                let here = r.known(memo, lane.group, lane.node, None, p);
                out.correct[i] = here.correct;
                out.state[i] = here.p_known;
                let child = 2 * lane.node + usize::from(table.correct[i]);
                if child < MEMO_NODES {
                    r.known(memo, lane.group, child, Some(here), p);
                    lane.node = child;
                } else {
                    let masses = masses(here.log_odds);
                    (lane.p_known, lane.log_odds) = r.advance(here.log_odds, masses, table.correct[i], p);
                    lane.node = 0;
                }
                lane.at += 1;
                continue;
            }
            let masses = masses(lane.log_odds);
            out.correct[i] = masses.0 * p.not_slip + masses.1 * p.guess;
            out.state[i] = lane.p_known;
            (lane.p_known, lane.log_odds) = r.advance(lane.log_odds, masses, table.correct[i], p);
            lane.at += 1;
        }
        if !busy {
            return;
        }
    }
}
