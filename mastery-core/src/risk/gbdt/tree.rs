//! One regression tree in flat arrays (LightGBM's layout): internal node `i` sends `x` left when
//! `x[feature[i]] <= threshold[i]`, a missing value the way `default_left[i]` says; a child
//! index below zero is the leaf `!child`.

use serde::{Deserialize, Serialize};

/// The deepest a tree may grow or load: the walks that explain a score recurse once per level.
pub(crate) const MAX_DEPTH: usize = 200;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Tree {
    pub feature: Vec<u32>,
    pub threshold: Vec<f64>,
    pub default_left: Vec<bool>,
    pub left: Vec<i32>,
    pub right: Vec<i32>,
    /// The loss reduction of each split (for importance).
    pub gain: Vec<f64>,
    /// Training rows through each internal node and each leaf (TreeSHAP's cover).
    pub internal_count: Vec<f64>,
    pub leaf_count: Vec<f64>,
    /// Leaf outputs, learning rate applied.
    pub leaf_value: Vec<f64>,
}

impl Tree {
    /// The leaf a row falls into.
    #[inline]
    pub fn leaf_index(&self, x: &[f64]) -> usize {
        if self.feature.is_empty() {
            return 0;
        }
        let mut node = 0usize;
        loop {
            let v = x[self.feature[node] as usize];
            let left = if v.is_nan() { self.default_left[node] } else { v <= self.threshold[node] };
            let next = if left { self.left[node] } else { self.right[node] };
            if next < 0 {
                return !next as usize;
            }
            node = next as usize;
        }
    }

    #[inline]
    pub fn predict(&self, x: &[f64]) -> f64 {
        self.leaf_value[self.leaf_index(x)]
    }

    /// Checks the structure a loaded file claims: indexes in range, one leaf more than internal
    /// nodes, every child after its parent (so no cycles), every node reached once, positive
    /// covers, and a depth the recursive walks can take.
    pub(crate) fn is_well_formed(&self, features: usize) -> bool {
        let nodes = self.feature.len();
        let leaves = self.leaf_value.len();
        let lengths_ok = leaves == nodes + 1
            && [
                self.threshold.len(),
                self.default_left.len(),
                self.left.len(),
                self.right.len(),
                self.internal_count.len(),
            ]
            .iter()
            .all(|&n| n == nodes)
            && self.leaf_count.len() == leaves;
        if !lengths_ok
            || self.feature.iter().any(|&f| f as usize >= features)
            || self.leaf_value.iter().chain(&self.threshold).any(|v| v.is_nan())
            || self.internal_count.iter().any(|c| !(c.is_finite() && *c > 0.0))
            || self.leaf_count.iter().any(|c| !(c.is_finite() && *c >= 0.0))
        {
            return false;
        }
        let (mut seen_nodes, mut seen_leaves) = (vec![false; nodes], vec![false; leaves]);
        let mut depth = vec![0usize; nodes];
        if nodes > 0 {
            seen_nodes[0] = true;
        }
        for i in 0..nodes {
            for c in [self.left[i], self.right[i]] {
                if c < 0 {
                    let leaf = !c as usize;
                    if leaf >= leaves || std::mem::replace(&mut seen_leaves[leaf], true) {
                        return false;
                    }
                } else {
                    let c = c as usize;
                    if c <= i || c >= nodes || std::mem::replace(&mut seen_nodes[c], true) {
                        return false;
                    }
                    depth[c] = depth[i] + 1;
                    if depth[c] > MAX_DEPTH {
                        return false;
                    }
                }
            }
        }
        seen_nodes.iter().all(|s| *s) && (nodes == 0 || seen_leaves.iter().all(|s| *s))
    }

    fn cover(&self, child: i32) -> f64 {
        if child < 0 {
            self.leaf_count[!child as usize]
        } else {
            self.internal_count[child as usize]
        }
    }

    /// The tree's expected output over its training rows (the SHAP base value).
    pub fn expected_value(&self) -> f64 {
        let total: f64 = self.leaf_count.iter().sum();
        if total <= 0.0 {
            return 0.0;
        }
        self.leaf_value.iter().zip(&self.leaf_count).map(|(v, c)| v * c).sum::<f64>() / total
    }

    /// Adds the exact TreeSHAP contributions of `x` to `phi` (one per feature; Lundberg, Erion &
    /// Lee 2018, Algorithm 2). They sum to `predict(x) - expected_value()`.
    pub fn shap(&self, x: &[f64], phi: &mut [f64]) {
        if self.feature.is_empty() {
            return;
        }
        // Each level of the walk keeps its path in its own segment of one buffer.
        let levels = self.depth() + 2;
        let mut buffer = vec![PathElement::default(); levels * (levels + 1) / 2];
        self.shap_recurse(0, x, phi, &mut buffer, 0, 0, 0, 1.0, 1.0, -1);
    }

    fn depth(&self) -> usize {
        fn walk(t: &Tree, child: i32) -> usize {
            if child < 0 {
                0
            } else {
                1 + walk(t, t.left[child as usize]).max(walk(t, t.right[child as usize]))
            }
        }
        walk(self, 0)
    }

    /// This call's path lives at `buffer[start..=start + unique_depth]`; its first
    /// `unique_depth` elements are copied from the parent's segment at `parent`.
    #[allow(clippy::too_many_arguments)]
    fn shap_recurse(
        &self,
        child: i32,
        x: &[f64],
        phi: &mut [f64],
        buffer: &mut [PathElement],
        start: usize,
        parent: usize,
        unique_depth: usize,
        zero_fraction: f64,
        one_fraction: f64,
        feature: i64,
    ) {
        if unique_depth > 0 {
            buffer.copy_within(parent..parent + unique_depth, start);
        }
        let path = &mut buffer[start..=start + unique_depth];
        extend(path, unique_depth, zero_fraction, one_fraction, feature);
        if child < 0 {
            let value = self.leaf_value[!child as usize];
            for i in 1..=unique_depth {
                let e = path[i];
                phi[e.feature as usize] +=
                    unwound_sum(path, unique_depth, i) * (e.one_fraction - e.zero_fraction) * value;
            }
            return;
        }
        let node = child as usize;
        let v = x[self.feature[node] as usize];
        let goes_left = if v.is_nan() { self.default_left[node] } else { v <= self.threshold[node] };
        let (hot, cold) =
            if goes_left { (self.left[node], self.right[node]) } else { (self.right[node], self.left[node]) };
        let cover = self.internal_count[node];
        let split_feature = i64::from(self.feature[node]);
        // A feature met again on the path is undone first, then extended again below.
        let (mut incoming_zero, mut incoming_one, mut depth) = (1.0, 1.0, unique_depth);
        if let Some(k) = path[1..].iter().position(|e| e.feature == split_feature).map(|k| k + 1) {
            incoming_zero = path[k].zero_fraction;
            incoming_one = path[k].one_fraction;
            unwind(path, unique_depth, k);
            depth -= 1;
        }
        let hot_zero = self.cover(hot) / cover * incoming_zero;
        let cold_zero = self.cover(cold) / cover * incoming_zero;
        let next = start + unique_depth + 1;
        self.shap_recurse(hot, x, phi, buffer, next, start, depth + 1, hot_zero, incoming_one, split_feature);
        self.shap_recurse(cold, x, phi, buffer, next, start, depth + 1, cold_zero, 0.0, split_feature);
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct PathElement {
    feature: i64,
    zero_fraction: f64,
    one_fraction: f64,
    weight: f64,
}

fn extend(path: &mut [PathElement], unique_depth: usize, zero_fraction: f64, one_fraction: f64, feature: i64) {
    path[unique_depth] =
        PathElement { feature, zero_fraction, one_fraction, weight: if unique_depth == 0 { 1.0 } else { 0.0 } };
    let d = (unique_depth + 1) as f64;
    for i in (0..unique_depth).rev() {
        path[i + 1].weight += one_fraction * path[i].weight * (i + 1) as f64 / d;
        path[i].weight = zero_fraction * path[i].weight * (unique_depth - i) as f64 / d;
    }
}

fn unwind(path: &mut [PathElement], unique_depth: usize, index: usize) {
    let (one, zero) = (path[index].one_fraction, path[index].zero_fraction);
    let d = (unique_depth + 1) as f64;
    let mut next_one = path[unique_depth].weight;
    for i in (0..unique_depth).rev() {
        if one != 0.0 {
            let tmp = path[i].weight;
            path[i].weight = next_one * d / ((i + 1) as f64 * one);
            next_one = tmp - path[i].weight * zero * (unique_depth - i) as f64 / d;
        } else {
            path[i].weight = path[i].weight * d / (zero * (unique_depth - i) as f64);
        }
    }
    for i in index..unique_depth {
        path[i].feature = path[i + 1].feature;
        path[i].zero_fraction = path[i + 1].zero_fraction;
        path[i].one_fraction = path[i + 1].one_fraction;
    }
}

fn unwound_sum(path: &[PathElement], unique_depth: usize, index: usize) -> f64 {
    let (one, zero) = (path[index].one_fraction, path[index].zero_fraction);
    let d = (unique_depth + 1) as f64;
    let mut next_one = path[unique_depth].weight;
    let mut total = 0.0;
    for i in (0..unique_depth).rev() {
        if one != 0.0 {
            let tmp = next_one * d / ((i + 1) as f64 * one);
            total += tmp;
            next_one = path[i].weight - tmp * zero * (unique_depth - i) as f64 / d;
        } else {
            total += path[i].weight / zero / ((unique_depth - i) as f64 / d);
        }
    }
    total
}
