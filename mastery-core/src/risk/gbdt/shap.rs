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
//!
//! A leaf's contributions depend on the row only through which of its `d` path features the
//! row follows (Fast TreeSHAP v2, Yang 2021): `2^d` patterns. For leaves with `d` up to
//! [`TABLE_MAX_WIDTH`] (within a per-model budget) every pattern's `C(p)` is computed once by
//! the same quadrature and kept; for leaves up to [`PER_ELEMENT_MAX_WIDTH`] every pattern's `d`
//! contributions themselves, side by side, so a row then costs per leaf `d` bit tests and `d`
//! adjacent table reads. Rows are explained in blocks of [`BLOCK`] held column by column: each
//! step (a node's comparison, an element's test, a table read) runs down a block of rows in a
//! tight loop, tree after tree, so a tree's tables are read from cache by thousands of rows,
//! the block's columns stream through in order, and the loops need no branches.

use std::ops::Range;

use super::tree::Tree;

/// The distinct features on one leaf's path.
#[derive(Debug, Clone)]
struct Element {
    feature: u32,
    /// The share of training rows (by cover) that the path's splits on this feature keep.
    zero: f64,
    /// `(1 − zero) / zero`, for the tabled contributions.
    ratio: f64,
    /// The splits on this feature, as bit tests on the row's directions (see [`Directions`]).
    tests: Range<u32>,
}

/// Bits `mask` of word `word` of a row's directions must equal `want`.
#[derive(Debug, Clone, Copy)]
struct Test {
    word: u32,
    mask: Word,
    want: Word,
}

/// Directions are kept 32 nodes to a word (a 31-leaf tree fits one), so the loops over a
/// block run four rows to a 128-bit vector.
type Word = u32;
const WORD_BITS: usize = Word::BITS as usize;

#[derive(Debug, Clone)]
struct Leaf {
    value: f64,
    elements: Range<u32>,
    /// Where this leaf's table starts in [`TreePaths::table`], if tabled (see
    /// [`TreePaths::tabulate`]).
    table: Option<Table>,
}

/// A leaf's tabled contributions, at an offset into [`TreePaths::table`].
#[derive(Debug, Clone, Copy)]
enum Table {
    /// `d × 2^d` values: element `j`'s contribution for pattern `p` at `p × d + j`, so a row
    /// costs one read (next to the others) and one addition per element.
    PerElement(u32),
    /// `2^d` values `C(p)`, from which each element's contribution is derived per row.
    Shared(u32),
}

/// Leaves with more distinct path features than this are integrated per row.
const TABLE_MAX_WIDTH: usize = 14;
/// Leaves with at most this many distinct path features get a [`Table::PerElement`] when the
/// budget allows, after every tabled leaf has its [`Table::Shared`].
const PER_ELEMENT_MAX_WIDTH: usize = 7;
/// At most this many tabled values per model (8 bytes each: 32 MiB).
const TABLE_BUDGET: usize = 1 << 22;
/// Rows explained together in [`ShapTables::rows`], tree by tree: enough that each tree's
/// tables are read many times while in cache (the block's columns stream through in order).
pub(crate) const BLOCK: usize = 4_096;

/// One tree's leaves with their paths.
#[derive(Debug, Clone, Default)]
struct TreePaths {
    internal: usize,
    leaves: Vec<Leaf>,
    elements: Vec<Element>,
    tests: Vec<Test>,
    table: Vec<f64>,
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
        let mut paths: Vec<TreePaths> = trees.iter().map(TreePaths::new).collect();
        let widest = paths
            .iter()
            .flat_map(|p| p.leaves.iter().map(|l| (l.elements.end - l.elements.start) as usize))
            .max()
            .unwrap_or(0);
        let gauss: Vec<_> = (0..=widest.div_ceil(2)).map(gauss_legendre).collect();
        let mut budget = TABLE_BUDGET;
        for p in &mut paths {
            p.plan(&mut budget, false);
        }
        for p in &mut paths {
            p.plan(&mut budget, true);
        }
        for p in &mut paths {
            p.tabulate(&gauss);
        }
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
        let mut directions = vec![0; self.most_nodes.div_ceil(WORD_BITS)];
        let mut scratch = vec![0.0; 4 * self.widest + 1];
        for (tree, paths) in trees.iter().zip(&self.trees) {
            paths.add_row(tree, row, phi, &self.gauss, &mut directions, &mut scratch);
        }
        if let Some(last) = phi.last_mut() {
            *last = self.base;
        }
    }

    /// The SHAP values of the rows of `x` (row-major, `width` values per row) into `phi`
    /// (row-major, `width + 1` per row), block by block.
    pub(crate) fn rows(&self, x: &[f64], width: usize, trees: &[Tree], phi: &mut [f64]) {
        let n = phi.len() / (width + 1);
        let stride = n.clamp(1, BLOCK);
        let mut block = Block::new(width, stride, self.most_nodes.div_ceil(WORD_BITS), 4 * self.widest + 1);
        for first in (0..n).step_by(stride) {
            let rows = stride.min(n - first);
            block.load(&x[first * width..(first + rows) * width], rows);
            for (tree, paths) in trees.iter().zip(&self.trees) {
                paths.add(tree, &mut block, &self.gauss);
            }
            for r in 0..rows {
                let out = &mut phi[(first + r) * (width + 1)..(first + r + 1) * (width + 1)];
                for (f, o) in out[..width].iter_mut().enumerate() {
                    *o = block.phi[f * stride + r];
                }
                out[width] = self.base;
            }
        }
    }
}

/// A block of rows held column by column (`stride` apart), with what the walk needs per row.
struct Block {
    rows: usize,
    stride: usize,
    /// `x[f × stride + r]`: feature `f` of row `r`.
    x: Vec<f64>,
    /// `phi[f × stride + r]`: the SHAP value of feature `f` for row `r` so far.
    phi: Vec<f64>,
    /// `directions[w × stride + r]`: bit `n % 32` of word `w = n / 32` is set when row `r`
    /// goes left at node `n` of the current tree.
    directions: Vec<Word>,
    /// Which of the current leaf's elements each row follows (bit `j`).
    bits: Vec<u32>,
    /// Nonzero when a row misses one of the current element's splits.
    miss: Vec<Word>,
    /// `−C(pattern)` of the current leaf per row.
    unfollowed: Vec<f64>,
    scratch: Vec<f64>,
}

impl Block {
    fn new(width: usize, stride: usize, words: usize, scratch: usize) -> Self {
        Self {
            rows: 0,
            stride,
            x: vec![0.0; width * stride],
            phi: vec![0.0; width * stride],
            directions: vec![0; words * stride],
            bits: vec![0; stride],
            miss: vec![0; stride],
            unfollowed: vec![0.0; stride],
            scratch: vec![0.0; scratch],
        }
    }

    fn load(&mut self, rows: &[f64], count: usize) {
        self.rows = count;
        let width = rows.len().checked_div(count).unwrap_or(0);
        for (r, row) in rows.chunks_exact(width.max(1)).take(count).enumerate() {
            for (f, v) in row.iter().enumerate() {
                self.x[f * self.stride + r] = *v;
            }
        }
        self.phi.fill(0.0);
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
                let (word, bit) = ((n / WORD_BITS) as u32, 1 << (n % WORD_BITS));
                let want = if went_left { bit } else { 0 };
                match self.tests[tests_from as usize..].iter_mut().find(|t| t.word == word) {
                    Some(t) => {
                        t.mask |= bit;
                        t.want |= want;
                    }
                    None => self.tests.push(Test { word, mask: bit, want }),
                }
            }
            let ratio = (1.0 - zero) / zero;
            self.elements.push(Element { feature, zero, ratio, tests: tests_from..self.tests.len() as u32 });
        }
        let value = tree.leaf_value[!child as usize];
        self.leaves.push(Leaf { value, elements: first..self.elements.len() as u32, table: None });
    }

    /// Chooses the leaves' tables while `budget` (in values) lasts: a [`Table::Shared`] for the
    /// leaves narrow enough, or with `per_element`, a [`Table::PerElement`] instead of the
    /// shared one for the narrowest. Offsets are set by [`TreePaths::tabulate`].
    fn plan(&mut self, budget: &mut usize, per_element: bool) {
        for leaf in &mut self.leaves {
            let elements = &self.elements[leaf.elements.start as usize..leaf.elements.end as usize];
            let d = elements.len();
            let (want, extra) = match (leaf.table, per_element) {
                (None, false) if d <= TABLE_MAX_WIDTH => (Table::Shared(0), 1 << d),
                (Some(Table::Shared(_)), true) if d <= PER_ELEMENT_MAX_WIDTH => {
                    (Table::PerElement(0), (d.max(1) - 1) << d)
                }
                _ => continue,
            };
            if extra <= *budget && elements.iter().all(|e| e.zero > 0.0 && e.ratio.is_finite()) {
                *budget -= extra;
                leaf.table = Some(want);
            }
        }
    }

    /// Fills the planned tables. For a pattern `p` (the set of elements the row follows), every
    /// element `j` the row does not follow gets the same contribution, `−C(p)`, and every
    /// element it follows gets `ratio_j × C(p − j)`, with
    ///
    /// `C(p) = value × Π_{k∉p} z_k × ∫₀¹ Π_{k∈p} (t + z_k (1 − t)) (1 − t)^(d−1−|p|) dt`
    ///
    /// (the integral form of the Shapley weights; [`integrate`] gives the same sums). A
    /// [`Table::Shared`] keeps `C` (`2^d` values; `C` of the full pattern is never read), a
    /// [`Table::PerElement`] every element's contribution, pattern by pattern (`d × 2^d`).
    fn tabulate(&mut self, gauss: &[Vec<(f64, f64)>]) {
        let mut c_of = Vec::new();
        for leaf in self.leaves.iter_mut().filter(|l| l.table.is_some()) {
            let elements = &self.elements[leaf.elements.start as usize..leaf.elements.end as usize];
            let d = elements.len();
            let at = self.table.len() as u32;
            c_of.clear();
            c_of.extend((0..1usize << d).map(|pattern| pattern_value(elements, leaf.value, pattern, gauss)));
            match &mut leaf.table {
                None => continue,
                Some(Table::Shared(offset)) => {
                    *offset = at;
                    self.table.extend_from_slice(&c_of);
                }
                Some(Table::PerElement(offset)) => {
                    *offset = at;
                    for (pattern, c) in c_of.iter().enumerate() {
                        self.table.extend(elements.iter().enumerate().map(|(j, e)| {
                            if pattern >> j & 1 == 1 {
                                e.ratio * c_of[pattern ^ 1 << j]
                            } else {
                                -c
                            }
                        }));
                    }
                }
            }
        }
    }

    fn add(&self, tree: &Tree, block: &mut Block, gauss: &[Vec<(f64, f64)>]) {
        if self.internal == 0 {
            return;
        }
        let (rows, stride) = (block.rows, block.stride);
        block.directions[..self.internal.div_ceil(WORD_BITS) * stride].fill(0);
        for n in 0..self.internal {
            let (threshold, default_left) = (tree.threshold[n], tree.default_left[n]);
            let x = &block.x[tree.feature[n] as usize * stride..][..rows];
            let word = &mut block.directions[n / WORD_BITS * stride..][..rows];
            for (d, &v) in word.iter_mut().zip(x) {
                let left = (v <= threshold) | (default_left & v.is_nan());
                *d |= Word::from(left) << (n % WORD_BITS);
            }
        }
        for leaf in &self.leaves {
            let elements = &self.elements[leaf.elements.start as usize..leaf.elements.end as usize];
            let d = elements.len();
            let Some(at) = leaf.table else {
                self.integrate_rows(leaf, elements, block, gauss);
                continue;
            };
            // The pattern (which elements each row follows), then one table read per element.
            block.bits[..rows].fill(0);
            for (j, e) in elements.iter().enumerate() {
                let bits = &mut block.bits[..rows];
                match &self.tests[e.tests.start as usize..e.tests.end as usize] {
                    [t] => {
                        let word = &block.directions[t.word as usize * stride..][..rows];
                        for (b, w) in bits.iter_mut().zip(word) {
                            *b |= u32::from((w ^ t.want) & t.mask == 0) << j;
                        }
                    }
                    tests => {
                        let miss = &mut block.miss[..rows];
                        miss.fill(0);
                        for t in tests {
                            let word = &block.directions[t.word as usize * stride..][..rows];
                            for (m, w) in miss.iter_mut().zip(word) {
                                *m |= (w ^ t.want) & t.mask;
                            }
                        }
                        for (b, m) in bits.iter_mut().zip(miss.iter()) {
                            *b |= u32::from(*m == 0) << j;
                        }
                    }
                }
            }
            let at = match at {
                Table::PerElement(at) => {
                    // One read per element and row; a row's reads are adjacent.
                    let table = &self.table[at as usize..][..d << d];
                    for b in &mut block.bits[..rows] {
                        *b *= d as u32;
                    }
                    for (j, e) in elements.iter().enumerate() {
                        let table = &table[j..][..(d << d) - d + 1];
                        let phi = &mut block.phi[e.feature as usize * stride..][..rows];
                        for (p, &b) in phi.iter_mut().zip(&block.bits[..rows]) {
                            *p += table[b as usize];
                        }
                    }
                    continue;
                }
                Table::Shared(at) => at,
            };
            let table = &self.table[at as usize..][..1 << d];
            let mask = table.len() - 1;
            // Every element a row does not follow gets −C(pattern).
            for (c, &b) in block.unfollowed[..rows].iter_mut().zip(&block.bits[..rows]) {
                *c = -table[b as usize & mask];
            }
            for (j, e) in elements.iter().enumerate() {
                let (bit, ratio) = (1u32 << j, e.ratio);
                let phi = &mut block.phi[e.feature as usize * stride..][..rows];
                for ((p, &b), &c) in phi.iter_mut().zip(&block.bits[..rows]).zip(&block.unfollowed[..rows]) {
                    // Without a branch (the patterns are unpredictable); exact, as one term is 0.
                    let follows = f64::from((b >> j) & 1);
                    *p += follows * ratio * table[(b ^ bit) as usize & mask] + (1.0 - follows) * c;
                }
            }
        }
    }

    /// [`TreePaths::add`] for one row, without the block: the same sums in the same order.
    fn add_row(
        &self,
        tree: &Tree,
        row: &[f64],
        phi: &mut [f64],
        gauss: &[Vec<(f64, f64)>],
        directions: &mut [Word],
        scratch: &mut [f64],
    ) {
        if self.internal == 0 {
            return;
        }
        directions.fill(0);
        for n in 0..self.internal {
            let v = row[tree.feature[n] as usize];
            let left = (v <= tree.threshold[n]) | (tree.default_left[n] & v.is_nan());
            directions[n / WORD_BITS] |= Word::from(left) << (n % WORD_BITS);
        }
        let follows = |e: &Element| {
            self.tests[e.tests.start as usize..e.tests.end as usize]
                .iter()
                .all(|t| (directions[t.word as usize] ^ t.want) & t.mask == 0)
        };
        for leaf in &self.leaves {
            let elements = &self.elements[leaf.elements.start as usize..leaf.elements.end as usize];
            let d = elements.len();
            let Some(at) = leaf.table else {
                let (one, rest) = scratch.split_at_mut(d);
                let (out, rest) = rest.split_at_mut(d);
                for (o, e) in one.iter_mut().zip(elements) {
                    *o = if follows(e) { 1.0 } else { 0.0 };
                }
                integrate(elements, one, leaf.value, gauss, rest, out);
                for (e, c) in elements.iter().zip(out.iter()) {
                    phi[e.feature as usize] += c;
                }
                continue;
            };
            let b = elements.iter().enumerate().fold(0u32, |b, (j, e)| b | u32::from(follows(e)) << j);
            let at = match at {
                Table::PerElement(at) => {
                    for (j, e) in elements.iter().enumerate() {
                        phi[e.feature as usize] += self.table[at as usize + b as usize * d + j];
                    }
                    continue;
                }
                Table::Shared(at) => at,
            };
            let table = &self.table[at as usize..][..1 << d];
            let c = -table[b as usize];
            for (j, e) in elements.iter().enumerate() {
                let follows = f64::from((b >> j) & 1);
                phi[e.feature as usize] += follows * e.ratio * table[(b ^ 1 << j) as usize] + (1.0 - follows) * c;
            }
        }
    }

    /// A leaf too wide to table: its integrals row by row.
    fn integrate_rows(&self, leaf: &Leaf, elements: &[Element], block: &mut Block, gauss: &[Vec<(f64, f64)>]) {
        let (rows, stride, d) = (block.rows, block.stride, elements.len());
        let (one, rest) = block.scratch.split_at_mut(d);
        let (out, rest) = rest.split_at_mut(d);
        for r in 0..rows {
            for (o, e) in one.iter_mut().zip(elements) {
                let follows = self.tests[e.tests.start as usize..e.tests.end as usize]
                    .iter()
                    .all(|t| (block.directions[t.word as usize * stride + r] ^ t.want) & t.mask == 0);
                *o = if follows { 1.0 } else { 0.0 };
            }
            integrate(elements, one, leaf.value, gauss, rest, out);
            for (e, c) in elements.iter().zip(out.iter()) {
                block.phi[e.feature as usize * stride + r] += c;
            }
        }
    }
}

/// `C(pattern)` of a leaf (see [`TreePaths::tabulate`]); 0 for the full pattern, never read.
fn pattern_value(elements: &[Element], value: f64, pattern: usize, gauss: &[Vec<(f64, f64)>]) -> f64 {
    let d = elements.len();
    if pattern == (1 << d) - 1 {
        return 0.0;
    }
    let rest = d as i32 - 1 - pattern.count_ones() as i32;
    let mut c = 0.0;
    for &(t, w) in &gauss[d.div_ceil(2)] {
        let s = 1.0 - t;
        let mut product = w * s.powi(rest);
        for (k, e) in elements.iter().enumerate() {
            product *= if pattern >> k & 1 == 1 { t + e.zero * s } else { e.zero };
        }
        c += product;
    }
    value * c
}

/// One leaf's contribution to each of its path features, given which of them the row follows
/// (`one`, 0 or 1 each): `value × (o_j − z_j) × ∫₀¹ Π_{k≠j} (z_k (1 − t) + o_k t) dt`.
/// `scratch` holds at least `2d + 1` values.
fn integrate(
    elements: &[Element],
    one: &[f64],
    value: f64,
    gauss: &[Vec<(f64, f64)>],
    scratch: &mut [f64],
    out: &mut [f64],
) {
    let d = elements.len();
    let (factor, rest) = scratch.split_at_mut(d);
    let prefix = &mut rest[..d + 1];
    out.fill(0.0);
    prefix[0] = 1.0;
    for &(t, w) in &gauss[d.div_ceil(2)] {
        let s = 1.0 - t;
        for j in 0..d {
            factor[j] = elements[j].zero * s + one[j] * t;
            prefix[j + 1] = prefix[j] * factor[j];
        }
        let mut suffix = w;
        for j in (0..d).rev() {
            out[j] += prefix[j] * suffix;
            suffix *= factor[j];
        }
    }
    for j in 0..d {
        out[j] *= value * (one[j] - elements[j].zero);
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
