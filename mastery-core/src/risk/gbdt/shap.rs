//! TreeSHAP leaf by leaf, with the path of every leaf prepared once per model.
//!
//! A leaf adds to the SHAP value of each feature `i` on its path (Lundberg, Erion & Lee 2018)
//!
//! `value × (o_i − z_i) × Σ_S |S|! (d − 1 − |S|)! / d! × Π_{j∈S} o_j × Π_{j∉S, j≠i} z_j`
//!
//! where the path's `d` distinct features each have a zero fraction `z_j` (the share of training
//! rows that follow the path's splits on that feature) and a one fraction `o_j` (1 when the row
//! follows them all, else 0); `S` runs over the subsets of the other features. As
//! `k! (d − 1 − k)! / d! = ∫₀¹ tᵏ (1 − t)^(d−1−k) dt`, the sum is the integral of a polynomial
//! of degree `d − 1`, `∫₀¹ Π_{j≠i} (z_j (1 − t) + o_j t) dt`, which Gauss–Legendre quadrature
//! with `⌈d / 2⌉` points gives exactly (up to rounding). So a row costs, per leaf, one test per
//! feature and `O(d²/2)` multiplications, with no division, recursion or allocation; the
//! recursive algorithm ([`Tree::shap`]) costs `O(d²)` with divisions and path copies.
//! The paths depend only on the model, so they are built once and kept with it.

use std::ops::Range;

use super::tree::Tree;

/// The distinct features on one leaf's path.
#[derive(Debug, Clone)]
struct Element {
    feature: u32,
    /// The share of training rows (by cover) that the path's splits on this feature keep.
    zero: f64,
    /// The splits on this feature, as bit tests on the row's directions (see [`Directions`]).
    tests: Range<u32>,
}

/// Bits `mask` of word `word` of a row's directions must equal `want`.
#[derive(Debug, Clone, Copy)]
struct Test {
    word: u32,
    mask: u64,
    want: u64,
}

#[derive(Debug, Clone)]
struct Leaf {
    value: f64,
    elements: Range<u32>,
}

/// One tree's leaves with their paths.
#[derive(Debug, Clone, Default)]
struct TreePaths {
    internal: usize,
    leaves: Vec<Leaf>,
    elements: Vec<Element>,
    tests: Vec<Test>,
}

/// Every tree's paths, the quadrature rules they need and the base value.
#[derive(Debug, Clone)]
pub(crate) struct ShapTables {
    trees: Vec<TreePaths>,
    /// `gauss[q]`: the `q`-point Gauss–Legendre rule on [0, 1] as (node, weight) pairs.
    gauss: Vec<Vec<(f64, f64)>>,
    /// `init_score` plus every tree's expected value (the last SHAP column).
    base: f64,
    widest: usize,
    most_nodes: usize,
}

impl ShapTables {
    pub(crate) fn new(init_score: f64, trees: &[Tree]) -> Self {
        let paths: Vec<TreePaths> = trees.iter().map(TreePaths::new).collect();
        let widest = paths
            .iter()
            .flat_map(|p| p.leaves.iter().map(|l| (l.elements.end - l.elements.start) as usize))
            .max()
            .unwrap_or(0);
        let gauss = (0..=widest.div_ceil(2)).map(gauss_legendre).collect();
        let mut base = init_score;
        for t in trees {
            base += t.expected_value();
        }
        let most_nodes = trees.iter().map(|t| t.feature.len()).max().unwrap_or(0);
        Self { trees: paths, gauss, base, widest, most_nodes }
    }

    /// The SHAP values of one row (one per feature, then the base value) into `phi`, which must
    /// have `features + 1` zeros.
    pub(crate) fn row(&self, row: &[f64], trees: &[Tree], phi: &mut [f64]) {
        let mut directions = vec![0u64; self.most_nodes.div_ceil(64)];
        let mut scratch = vec![0.0; 4 * self.widest + 1];
        for (tree, paths) in trees.iter().zip(&self.trees) {
            paths.add(tree, row, phi, &self.gauss, &mut directions, &mut scratch);
        }
        if let Some(last) = phi.last_mut() {
            *last = self.base;
        }
    }
}

impl TreePaths {
    fn new(tree: &Tree) -> Self {
        let mut out = Self { internal: tree.feature.len(), ..Self::default() };
        if tree.feature.is_empty() {
            return out;
        }
        let mut path = Vec::new();
        out.walk(tree, 0, &mut path);
        out
    }

    /// Depth first; `path` holds (node, went left) from the root.
    fn walk(&mut self, tree: &Tree, child: i32, path: &mut Vec<(usize, bool)>) {
        if child >= 0 {
            let node = child as usize;
            for (went_left, next) in [(true, tree.left[node]), (false, tree.right[node])] {
                path.push((node, went_left));
                self.walk(tree, next, path);
                path.pop();
            }
            return;
        }
        let first = self.elements.len() as u32;
        for (k, &(node, _)) in path.iter().enumerate() {
            let feature = tree.feature[node];
            if path[..k].iter().any(|&(n, _)| tree.feature[n] == feature) {
                continue; // merged into the element of its first split
            }
            let (mut zero, tests_from) = (1.0, self.tests.len() as u32);
            for &(n, went_left) in path[k..].iter().filter(|(n, _)| tree.feature[*n] == feature) {
                let next = if went_left { tree.left[n] } else { tree.right[n] };
                let cover = if next < 0 { tree.leaf_count[!next as usize] } else { tree.internal_count[next as usize] };
                zero *= cover / tree.internal_count[n];
                let (word, bit) = ((n / 64) as u32, 1u64 << (n % 64));
                let want = if went_left { bit } else { 0 };
                match self.tests[tests_from as usize..].iter_mut().find(|t| t.word == word) {
                    Some(t) => {
                        t.mask |= bit;
                        t.want |= want;
                    }
                    None => self.tests.push(Test { word, mask: bit, want }),
                }
            }
            self.elements.push(Element { feature, zero, tests: tests_from..self.tests.len() as u32 });
        }
        let value = tree.leaf_value[!child as usize];
        self.leaves.push(Leaf { value, elements: first..self.elements.len() as u32 });
    }

    fn add(
        &self,
        tree: &Tree,
        row: &[f64],
        phi: &mut [f64],
        gauss: &[Vec<(f64, f64)>],
        directions: &mut [u64],
        scratch: &mut [f64],
    ) {
        if self.internal == 0 {
            return;
        }
        // Bit n: the row goes left at node n.
        directions.fill(0);
        for n in 0..self.internal {
            let v = row[tree.feature[n] as usize];
            let left = if v.is_nan() { tree.default_left[n] } else { v <= tree.threshold[n] };
            directions[n / 64] |= u64::from(left) << (n % 64);
        }
        for leaf in &self.leaves {
            let elements = &self.elements[leaf.elements.start as usize..leaf.elements.end as usize];
            let d = elements.len();
            let (one, rest) = scratch.split_at_mut(d);
            let (factor, rest) = rest.split_at_mut(d);
            let (prefix, rest) = rest.split_at_mut(d + 1);
            let weight = &mut rest[..d];
            for (o, e) in one.iter_mut().zip(elements) {
                let follows = self.tests[e.tests.start as usize..e.tests.end as usize]
                    .iter()
                    .all(|t| (directions[t.word as usize] ^ t.want) & t.mask == 0);
                *o = if follows { 1.0 } else { 0.0 };
            }
            weight.fill(0.0);
            prefix[0] = 1.0;
            for &(t, w) in &gauss[d.div_ceil(2)] {
                let s = 1.0 - t;
                for j in 0..d {
                    factor[j] = elements[j].zero * s + one[j] * t;
                    prefix[j + 1] = prefix[j] * factor[j];
                }
                let mut suffix = w;
                for j in (0..d).rev() {
                    weight[j] += prefix[j] * suffix;
                    suffix *= factor[j];
                }
            }
            for j in 0..d {
                phi[elements[j].feature as usize] += leaf.value * (one[j] - elements[j].zero) * weight[j];
            }
        }
    }
}

/// The `n`-point Gauss–Legendre rule on [0, 1]: exact for polynomials of degree below `2n`.
fn gauss_legendre(n: usize) -> Vec<(f64, f64)> {
    // P_n(x) and P_n'(x) by the three-term recurrence.
    let legendre = |x: f64| {
        let (mut p0, mut p1) = (1.0, x);
        for k in 2..=n {
            let k = k as f64;
            (p0, p1) = (p1, ((2.0 * k - 1.0) * x * p1 - (k - 1.0) * p0) / k);
        }
        (p1, n as f64 * (x * p1 - p0) / (x * x - 1.0))
    };
    (0..n)
        .map(|i| {
            // Newton from Tricomi's estimate of the i-th root.
            let mut x = libm::cos(std::f64::consts::PI * (i as f64 + 0.75) / (n as f64 + 0.5));
            for _ in 0..100 {
                let (p, dp) = legendre(x);
                let step = p / dp;
                x -= step;
                if step.abs() <= 1e-16 {
                    break;
                }
            }
            let (_, dp) = legendre(x);
            let weight = 2.0 / ((1.0 - x * x) * dp * dp);
            ((1.0 + x) / 2.0, weight / 2.0)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::gauss_legendre;

    #[test]
    fn gauss_legendre_integrates_polynomials_exactly() {
        for n in 1..=40 {
            let rule = gauss_legendre(n);
            assert!((rule.iter().map(|r| r.1).sum::<f64>() - 1.0).abs() < 1e-14, "{n} points");
            for degree in 0..2 * n {
                let integral: f64 = rule.iter().map(|(t, w)| w * t.powi(degree as i32)).sum();
                let exact = 1.0 / (degree as f64 + 1.0);
                assert!((integral - exact).abs() < 1e-13, "{n} points, degree {degree}: {integral} vs {exact}");
            }
        }
    }
}
