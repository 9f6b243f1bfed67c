//! Roll-ups along the framework and prerequisite-aware gaps.
//!
//! A parent's mastery comes from its children by a rule; a learner's frontier is the set of
//! competencies not yet mastered whose prerequisites are all mastered, ranked by how many
//! competencies downstream each one unblocks.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::error::{MasteryError, Result};
use crate::framework::{AssociationType, Framework};

/// A learner's standing on one competency: a 0..1 value and whether it counts as mastered.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Standing {
    pub value: f64,
    pub mastered: bool,
}

/// How a parent's mastery follows from its children.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum RollupRule {
    /// Mastered when every child is.
    All,
    /// Moodle's points rule: mastered when the mastered children's points reach `required_points`
    /// and every child in `required` is mastered. Children without points count 1.
    Points {
        required_points: f64,
        #[serde(default)]
        points: BTreeMap<String, f64>,
        #[serde(default)]
        required: Vec<String>,
    },
    /// Mastered when the weighted mean value reaches `threshold`. Children without a weight count 1.
    Weighted {
        #[serde(default)]
        weights: BTreeMap<String, f64>,
        threshold: f64,
    },
    /// Mastered when at least `k` children are.
    KOfN { k: usize },
}

/// Where a rolled-up standing came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RolledUp {
    pub competency: String,
    pub standing: Standing,
    /// Children that were mastered / that exist (0 / 0 for a leaf).
    pub children_mastered: usize,
    pub children: usize,
}

/// Standings of every competency that has evidence or children with standings, parents from
/// children (`rules` per parent, `default` otherwise). A child without a standing counts as
/// value 0, not mastered.
pub fn roll_up(
    framework: &Framework,
    leaves: &BTreeMap<String, Standing>,
    rules: &BTreeMap<String, RollupRule>,
    default: &RollupRule,
) -> Result<BTreeMap<String, RolledUp>> {
    for (id, s) in leaves {
        if !(0.0..=1.0).contains(&s.value) {
            return Err(MasteryError::invalid("standing.value", format!("must be within 0 and 1 (competency {id})")));
        }
    }
    let mut out = BTreeMap::new();
    for item in framework.items() {
        standing_of(framework, &item.identifier, leaves, rules, default, &mut out)?;
    }
    out.retain(|id, r: &mut RolledUp| r.children > 0 || leaves.contains_key(id));
    Ok(out)
}

fn standing_of(
    framework: &Framework,
    id: &str,
    leaves: &BTreeMap<String, Standing>,
    rules: &BTreeMap<String, RollupRule>,
    default: &RollupRule,
    memo: &mut BTreeMap<String, RolledUp>,
) -> Result<Standing> {
    if let Some(done) = memo.get(id) {
        return Ok(done.standing);
    }
    let children = framework.children(id)?;
    let rolled = if children.is_empty() {
        let standing = leaves.get(id).copied().unwrap_or(Standing { value: 0.0, mastered: false });
        RolledUp { competency: id.to_owned(), standing, children_mastered: 0, children: 0 }
    } else {
        let mut kids = Vec::with_capacity(children.len());
        for c in &children {
            kids.push((c.identifier.clone(), standing_of(framework, &c.identifier, leaves, rules, default, memo)?));
        }
        let mastered_count = kids.iter().filter(|(_, s)| s.mastered).count();
        let mean = kids.iter().map(|(_, s)| s.value).sum::<f64>() / kids.len() as f64;
        let standing = match rules.get(id).unwrap_or(default) {
            RollupRule::All => Standing { value: mean, mastered: mastered_count == kids.len() },
            RollupRule::KOfN { k } => Standing { value: mean, mastered: mastered_count >= *k },
            RollupRule::Points { required_points, points, required } => {
                let earned: f64 =
                    kids.iter().filter(|(_, s)| s.mastered).map(|(c, _)| points.get(c).copied().unwrap_or(1.0)).sum();
                let required_met = required.iter().all(|r| kids.iter().any(|(c, s)| c == r && s.mastered));
                Standing { value: mean, mastered: earned >= *required_points && required_met }
            }
            RollupRule::Weighted { weights, threshold } => {
                let weight = |c: &str| weights.get(c).copied().unwrap_or(1.0);
                let total: f64 = kids.iter().map(|(c, _)| weight(c)).sum();
                let value =
                    if total > 0.0 { kids.iter().map(|(c, s)| weight(c) * s.value).sum::<f64>() / total } else { 0.0 };
                Standing { value, mastered: value >= *threshold }
            }
        };
        RolledUp { competency: id.to_owned(), standing, children_mastered: mastered_count, children: kids.len() }
    };
    let standing = rolled.standing;
    memo.insert(id.to_owned(), rolled);
    Ok(standing)
}

/// A competency to work on next, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Recommendation {
    pub competency: String,
    pub human_coding_scheme: Option<String>,
    /// How many competencies (transitively through `precedes`) wait on this one.
    pub unblocks: usize,
    pub current_value: f64,
    pub reason: String,
}

/// The frontier: assessable competencies (no children) not mastered whose prerequisites are all
/// mastered, ranked by how many competencies they unblock, then by how close the learner is,
/// then by framework order.
pub fn frontier(framework: &Framework, standings: &BTreeMap<String, Standing>) -> Vec<Recommendation> {
    let mut successors: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for a in framework.associations_of(&AssociationType::Precedes) {
        successors.entry(a.origin.as_str()).or_default().push(a.destination.as_str());
    }
    let downstream = |start: &str| -> usize {
        let mut seen = BTreeSet::new();
        let mut stack = vec![start];
        while let Some(n) = stack.pop() {
            for &next in successors.get(n).into_iter().flatten() {
                if seen.insert(next) {
                    stack.push(next);
                }
            }
        }
        seen.len()
    };
    let mastered = |id: &str| standings.get(id).is_some_and(|s| s.mastered);
    let mut out: Vec<(usize, Recommendation)> = Vec::new();
    for (order, item) in framework.items().iter().enumerate() {
        if !framework.is_leaf(&item.identifier) || mastered(&item.identifier) {
            continue;
        }
        let prerequisites = framework.prerequisites(&item.identifier).unwrap_or_default();
        if !prerequisites.iter().all(|p| mastered(&p.identifier)) {
            continue;
        }
        let unblocks = downstream(&item.identifier);
        let current_value = standings.get(&item.identifier).map_or(0.0, |s| s.value);
        let prerequisites_text = match prerequisites.len() {
            0 => "no prerequisites".to_owned(),
            1 => "its prerequisite is mastered".to_owned(),
            p => format!("all {p} prerequisites mastered"),
        };
        let reason = match unblocks {
            0 => prerequisites_text,
            1 => format!("{prerequisites_text}; unblocks 1 competency"),
            n => format!("{prerequisites_text}; unblocks {n} competencies"),
        };
        out.push((
            order,
            Recommendation {
                competency: item.identifier.clone(),
                human_coding_scheme: item.human_coding_scheme.clone(),
                unblocks,
                current_value,
                reason,
            },
        ));
    }
    out.sort_by(|(oa, a), (ob, b)| {
        b.unblocks.cmp(&a.unblocks).then(b.current_value.total_cmp(&a.current_value)).then(oa.cmp(ob))
    });
    out.into_iter().map(|(_, r)| r).collect()
}
