//! Growing one tree leaf-wise from gradient histograms (LightGBM's method): the leaf whose best
//! split gains most splits next; a child's histogram is built for the smaller child only and the
//! larger one's is the parent's minus it.

use super::bins::{BinnedMatrix, MISSING};
use super::tree::Tree;
use super::GbdtParams;

/// One histogram slot: the sums of gradients and hessians of its rows (16 bytes, added as one
/// vector). Row counts are not kept per slot: like LightGBM, a split estimates them from the
/// hessians, and the children get their exact counts from the partition.
type Slot = [f64; 2];

/// Sums of gradients, hessians and rows of a node.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Sums {
    pub g: f64,
    pub h: f64,
    pub n: u32,
}

impl Sums {
    fn add(&mut self, o: &Sums) {
        self.g += o.g;
        self.h += o.h;
        self.n += o.n;
    }
}

/// What a tree grower reads: the binned rows, the gradients, the per-feature bin counts and
/// monotone constraints, and which features this tree may use.
pub(crate) struct GrowInput<'a> {
    pub x: &'a BinnedMatrix,
    pub grad: &'a [[f32; 2]],
    pub bins_per_feature: &'a [usize],
    pub thresholds: &'a [Vec<f64>],
    pub monotone: &'a [i8],
    pub features: &'a [usize],
    pub params: &'a GbdtParams,
}

#[derive(Debug, Clone, Copy)]
struct Split {
    gain: f64,
    feature: usize,
    bin: u8,
    default_left: bool,
    left: Sums,
    right: Sums,
    left_value: f64,
    right_value: f64,
}

struct Leaf {
    /// Its rows: `rows[start..end]`.
    start: usize,
    end: usize,
    sums: Sums,
    /// Every feature's slots, at [`BinnedMatrix::offsets`].
    hist: Vec<Slot>,
    depth: usize,
    lower: f64,
    upper: f64,
    split: Option<Split>,
    /// Where it hangs in the tree: (parent node, is left child); none for the root.
    parent: Option<(usize, bool)>,
}

fn leaf_output(s: &Sums, lambda: f64, lower: f64, upper: f64) -> f64 {
    (-s.g / (s.h + lambda)).clamp(lower, upper)
}

/// How much the loss falls with output `w` (the optimum gives `g² / (h + λ)`).
fn score(s: &Sums, lambda: f64, w: f64) -> f64 {
    -(2.0 * s.g * w + (s.h + lambda) * w * w)
}

/// The histograms of a node: row chunks are summed on their own, then added up in order. With
/// the `parallel` feature the chunks run on the thread pool; the arithmetic is the same, so the
/// model does not depend on the thread count.
fn build_histogram(input: &GrowInput<'_>, rows: &[u32]) -> Vec<Slot> {
    // Small enough that the nodes below the first few levels still spread over the threads.
    const CHUNK: usize = 16_384;
    let merge = |parts: &mut dyn Iterator<Item = Vec<Slot>>| {
        let mut total = vec![[0.0; 2]; input.x.slots];
        for part in parts {
            for (t, p) in total.iter_mut().zip(&part) {
                t[0] += p[0];
                t[1] += p[1];
            }
        }
        total
    };
    #[cfg(feature = "parallel")]
    if rayon::current_num_threads() > 1 && rows.len() >= 2 * CHUNK {
        use rayon::prelude::*;
        let parts: Vec<Vec<Slot>> = rows.par_chunks(CHUNK).map(|c| histogram_of(input, c)).collect();
        return merge(&mut parts.into_iter());
    }
    merge(&mut rows.chunks(CHUNK).map(|c| histogram_of(input, c)))
}

const PREFETCH: usize = 32;

fn histogram_of(input: &GrowInput<'_>, rows: &[u32]) -> Vec<Slot> {
    let (nf, offsets) = (input.x.features, input.x.offsets.as_slice());
    let mut hist = vec![[0.0; 2]; input.x.slots];
    if input.features.len() == nf {
        for (k, &r) in rows.iter().enumerate() {
            // A node's rows are sparse in memory: fetch a later row's bins and gradients early.
            // (A load whose value is only kept alive, which safe Rust has instead of a prefetch.)
            if let Some(&ahead) = rows.get(k + PREFETCH) {
                let ahead = ahead as usize;
                std::hint::black_box((input.x.bins[ahead * nf], input.grad[ahead][0]));
            }
            let r = r as usize;
            let [g, h] = input.grad[r];
            let (g, h) = (f64::from(g), f64::from(h));
            for (&offset, &b) in offsets.iter().zip(input.x.row(r)) {
                let slot = &mut hist[offset + b as usize];
                slot[0] += g;
                slot[1] += h;
            }
        }
    } else {
        for &r in rows {
            let r = r as usize;
            let [g, h] = input.grad[r];
            let (g, h) = (f64::from(g), f64::from(h));
            let row = input.x.row(r);
            for &f in input.features {
                let slot = &mut hist[offsets[f] + row[f] as usize];
                slot[0] += g;
                slot[1] += h;
            }
        }
    }
    hist
}

fn best_split(input: &GrowInput<'_>, leaf: &Leaf) -> Option<Split> {
    let p = input.params;
    if leaf.depth >= p.max_depth.min(super::tree::MAX_DEPTH) || (leaf.sums.n as usize) < 2 * p.min_data_in_leaf {
        return None;
    }
    let lambda = p.lambda_l2;
    let parent_score = score(&leaf.sums, lambda, leaf_output(&leaf.sums, lambda, leaf.lower, leaf.upper));
    let mut best: Option<Split> = None;
    // Rows per unit of hessian in this node: a slot's row count is estimated from its hessian.
    let rows_per_hessian = f64::from(leaf.sums.n) / leaf.sums.h;
    let sums_of = |slot: &Slot| Sums { g: slot[0], h: slot[1], n: (slot[1] * rows_per_hessian).round() as u32 };
    for &f in input.features {
        let value_bins = input.bins_per_feature[f];
        let hist = &leaf.hist[input.x.offsets[f]..][..value_bins + 1];
        let missing = sums_of(&hist[value_bins]);
        let mut acc = Sums::default();
        for (b, slot) in hist.iter().enumerate().take(value_bins.saturating_sub(1)) {
            acc.g += slot[0];
            acc.h += slot[1];
            acc.n = (acc.h * rows_per_hessian).round() as u32;
            // Missing values go left, then right (once when there are none: the larger side).
            let options: &[bool] = if missing.h > 0.0 { &[true, false] } else { &[false] };
            for &default_left in options {
                let mut left = acc;
                if default_left {
                    left.add(&missing);
                }
                let right =
                    Sums { g: leaf.sums.g - left.g, h: leaf.sums.h - left.h, n: leaf.sums.n.saturating_sub(left.n) };
                if (left.n as usize) < p.min_data_in_leaf
                    || (right.n as usize) < p.min_data_in_leaf
                    || left.h < p.min_sum_hessian_in_leaf
                    || right.h < p.min_sum_hessian_in_leaf
                    || left.h <= 0.0
                    || right.h <= 0.0
                {
                    continue;
                }
                let wl = leaf_output(&left, lambda, leaf.lower, leaf.upper);
                let wr = leaf_output(&right, lambda, leaf.lower, leaf.upper);
                let monotone = input.monotone[f];
                if (monotone > 0 && wl > wr) || (monotone < 0 && wl < wr) {
                    continue;
                }
                let gain = score(&left, lambda, wl) + score(&right, lambda, wr) - parent_score;
                if gain > p.min_gain_to_split && best.is_none_or(|s| gain > s.gain) {
                    let default_left = if missing.h > 0.0 { default_left } else { left.n >= right.n };
                    best = Some(Split {
                        gain,
                        feature: f,
                        bin: b as u8,
                        default_left,
                        left,
                        right,
                        left_value: wl,
                        right_value: wr,
                    });
                }
            }
        }
    }
    best
}

/// Grows one tree over `rows` (the bagged rows; reordered in place so that leaf `k` holds
/// `rows[ranges[k]]`). Leaf values are scaled by the learning rate.
pub(crate) fn grow(input: &GrowInput<'_>, rows: &mut [u32]) -> (Tree, Vec<std::ops::Range<usize>>) {
    let p = input.params;
    let root_hist = build_histogram(input, rows);
    let mut sums = Sums { g: 0.0, h: 0.0, n: rows.len() as u32 };
    // Any one feature's slots add up to the node.
    let f0 = input.features.first().copied().unwrap_or(0);
    for slot in &root_hist[input.x.offsets[f0]..][..input.bins_per_feature[f0] + 1] {
        sums.g += slot[0];
        sums.h += slot[1];
    }
    let mut leaves = vec![Leaf {
        start: 0,
        end: rows.len(),
        sums,
        hist: root_hist,
        depth: 0,
        lower: f64::NEG_INFINITY,
        upper: f64::INFINITY,
        split: None,
        parent: None,
    }];
    leaves[0].split = best_split(input, &leaves[0]);
    let mut scratch: Vec<u32> = Vec::with_capacity(rows.len());
    let mut tree = Tree::default();

    while leaves.len() < p.num_leaves {
        let Some((i, split)) = leaves
            .iter()
            .enumerate()
            .filter_map(|(i, l)| l.split.map(|s| (i, s)))
            .max_by(|a, b| a.1.gain.total_cmp(&b.1.gain).then(b.0.cmp(&a.0)))
        else {
            break;
        };
        let leaf = leaves.swap_remove(i);
        // The new internal node replaces the leaf in its parent.
        let node = tree.feature.len();
        tree.feature.push(split.feature as u32);
        tree.threshold.push(input.thresholds[split.feature][split.bin as usize]);
        tree.default_left.push(split.default_left);
        tree.left.push(0);
        tree.right.push(0);
        tree.gain.push(split.gain);
        tree.internal_count.push(f64::from(leaf.sums.n));
        if let Some((parent, is_left)) = leaf.parent {
            if is_left {
                tree.left[parent] = node as i32;
            } else {
                tree.right[parent] = node as i32;
            }
        }
        // Partition the leaf's rows, stably: rows stay in increasing order within every leaf,
        // so histograms read memory forwards.
        let column = &input.x.columns[split.feature];
        let goes_left = |r: u32| {
            let b = column[r as usize];
            (b <= split.bin) & (b != MISSING) | (b == MISSING) & split.default_left
        };
        let slice = &mut rows[leaf.start..leaf.end];
        // Branch-free: every row is written to both sides and the side it belongs to advances.
        scratch.resize(slice.len(), 0);
        let (mut mid, mut right) = (0, 0);
        for k in 0..slice.len() {
            let r = slice[k];
            let left = usize::from(goes_left(r));
            slice[mid] = r;
            scratch[right] = r;
            mid += left;
            right += 1 - left;
        }
        slice[mid..].copy_from_slice(&scratch[..right]);
        let mid = leaf.start + mid;
        // Monotone splits bound their children on either side of the midpoint.
        let (mut left_bounds, mut right_bounds) = ((leaf.lower, leaf.upper), (leaf.lower, leaf.upper));
        let monotone = input.monotone[split.feature];
        if monotone != 0 {
            let m = (split.left_value + split.right_value) / 2.0;
            if monotone > 0 {
                left_bounds.1 = left_bounds.1.min(m);
                right_bounds.0 = right_bounds.0.max(m);
            } else {
                left_bounds.0 = left_bounds.0.max(m);
                right_bounds.1 = right_bounds.1.min(m);
            }
        }
        let (small_is_left, small_rows) = if mid - leaf.start <= leaf.end - mid {
            (true, &rows[leaf.start..mid])
        } else {
            (false, &rows[mid..leaf.end])
        };
        let small_hist = build_histogram(input, small_rows);
        let large_hist: Vec<Slot> =
            leaf.hist.iter().zip(&small_hist).map(|(p, s)| [p[0] - s[0], p[1] - s[1]]).collect();
        let (left_hist, right_hist) = if small_is_left { (small_hist, large_hist) } else { (large_hist, small_hist) };
        let depth = leaf.depth + 1;
        let mut left = Leaf {
            start: leaf.start,
            end: mid,
            sums: Sums { n: (mid - leaf.start) as u32, ..split.left },
            hist: left_hist,
            depth,
            lower: left_bounds.0,
            upper: left_bounds.1,
            split: None,
            parent: Some((node, true)),
        };
        let mut right = Leaf {
            start: mid,
            end: leaf.end,
            sums: Sums { n: (leaf.end - mid) as u32, ..split.right },
            hist: right_hist,
            depth,
            lower: right_bounds.0,
            upper: right_bounds.1,
            split: None,
            parent: Some((node, false)),
        };
        left.split = best_split(input, &left);
        right.split = best_split(input, &right);
        leaves.push(left);
        leaves.push(right);
    }

    // Number the leaves and hang them in the tree.
    leaves.sort_by_key(|l| l.start);
    let ranges = leaves.iter().map(|l| l.start..l.end).collect();
    for (k, leaf) in leaves.iter().enumerate() {
        let value = leaf_output(&leaf.sums, p.lambda_l2, leaf.lower, leaf.upper) * p.learning_rate;
        tree.leaf_value.push(value);
        tree.leaf_count.push(f64::from(leaf.sums.n));
        if let Some((parent, is_left)) = leaf.parent {
            if is_left {
                tree.left[parent] = !(k as i32);
            } else {
                tree.right[parent] = !(k as i32);
            }
        }
    }
    (tree, ranges)
}
