//! Growing one tree leaf-wise from gradient histograms (LightGBM's method): the leaf whose best
//! split gains most splits next; a child's histogram is built for the smaller child only and the
//! larger one's is the parent's minus it.
//!
//! Gradients and hessians are summed as integer levels (LightGBM 4's quantized training, here
//! with 16 and 18 bits): a row's two levels travel packed in one `i64`, so a histogram slot takes
//! one integer addition per row, the sums are exact (the subtraction too, and any order of adding
//! gives the same histogram, whatever the threads), and the split search turns them back into
//! gradients with [`Scale`].

use super::bins::{BinnedMatrix, MISSING};
use super::tree::Tree;
use super::GbdtParams;

/// The largest gradient level: a gradient of `±max_weight` (the binary log loss's bound).
const GRADIENT_LEVELS: f64 = 65_535.0;
/// The largest hessian level: a hessian of `max_weight / 4`.
const HESSIAN_LEVELS: f64 = 262_143.0;
/// Rows whose packed levels are summed before they are unpacked: at most 16,384 rows of levels
/// within the bounds above keep each half within its 32 bits (gradients within ±2³¹, hessians
/// below 2³²), so one `i64` addition adds both.
const CHUNK: usize = 16_384;
const HIGH: i64 = 1 << 32;
/// The fewest rows a thread is given (histogram chunk or partition block) with the `parallel`
/// feature: below it the hand-off costs more than the work.
#[cfg(feature = "parallel")]
const PARALLEL_MIN: usize = 4_096;

/// What one level of gradient and of hessian is worth.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scale {
    pub g: f64,
    pub h: f64,
    /// Levels per unit of gradient and of hessian (`1 / g`, `1 / h`).
    per_g: f64,
    per_h: f64,
}

impl Scale {
    /// Levels for the binary log loss with row weights up to `max_weight`: its gradient lies in
    /// `[-max_weight, max_weight]` and its hessian in `[0, max_weight / 4]`.
    pub fn for_log_loss(max_weight: f64) -> Self {
        let (g, h) = (max_weight / GRADIENT_LEVELS, max_weight / 4.0 / HESSIAN_LEVELS);
        Self { g, h, per_g: 1.0 / g, per_h: 1.0 / h }
    }

    /// A row's gradient and hessian rounded to the nearest levels (halves away from zero), packed:
    /// `gradient level × 2³² + hessian level`.
    pub fn pack(&self, g: f64, h: f64) -> i64 {
        let level = |x: f64, max: f64| {
            let q = (x.abs() + 0.5).min(max) as i64;
            if x < 0.0 {
                -q
            } else {
                q
            }
        };
        level(g * self.per_g, GRADIENT_LEVELS) * HIGH + level(h * self.per_h, HESSIAN_LEVELS)
    }
}

/// The gradient and hessian levels of a packed sum of at most [`CHUNK`] rows.
fn unpack(packed: i64) -> [i64; 2] {
    let h = packed & (HIGH - 1);
    [(packed - h) >> 32, h]
}

/// One histogram slot: the sums of the gradient and hessian levels of its rows. Row counts are
/// not kept per slot: like LightGBM, a split estimates them from the hessians, and the children
/// get their exact counts from the partition.
type Slot = [i64; 2];

/// Sums of gradient and hessian levels and the rows of a node.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Sums {
    pub g: i64,
    pub h: i64,
    pub n: u32,
}

/// What a tree grower reads: the binned rows, each row's packed levels and what a level is worth,
/// the per-feature bin counts and monotone constraints, and which features this tree may use.
pub(crate) struct GrowInput<'a> {
    pub x: &'a BinnedMatrix,
    pub levels: &'a [i64],
    pub scale: Scale,
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

/// The loss-minimising output of a node with gradient `g` and hessian `h` (0 for a node without
/// hessian), within the monotone bounds.
fn leaf_output(g: f64, h: f64, lambda: f64, lower: f64, upper: f64) -> f64 {
    if h + lambda > 0.0 {
        (-g / (h + lambda)).clamp(lower, upper)
    } else {
        0.0
    }
}

/// How much the loss falls with output `w` (the optimum gives `g² / (h + λ)`).
fn score(g: f64, h: f64, lambda: f64, w: f64) -> f64 {
    -(2.0 * g * w + (h + lambda) * w * w)
}

impl Leaf {
    fn output(&self, scale: Scale, lambda: f64) -> f64 {
        leaf_output(self.sums.g as f64 * scale.g, self.sums.h as f64 * scale.h, lambda, self.lower, self.upper)
    }
}

/// A chunk's packed sums: 256 slots for every feature, so a bin indexes its feature's slots
/// without a bounds check or an offset (a feature's missing slot is its bin count, at most 255).
type Packed = Vec<[i64; 256]>;

/// The histograms of a node: the rows are summed packed, [`CHUNK`] at a time, and each chunk's
/// sums are unpacked into the node's. With the `parallel` feature the chunks run on the thread
/// pool; integer sums do not depend on the order, so neither does the model on the threads.
fn build_histogram(input: &GrowInput<'_>, rows: &[u32]) -> Vec<Slot> {
    let slots = input.x.slots;
    let add = |total: &mut Vec<Slot>, packed: &Packed| {
        for &f in input.features {
            let bins = input.bins_per_feature[f] + 1;
            for (t, p) in total[input.x.offsets[f]..][..bins].iter_mut().zip(&packed[f][..bins]) {
                let [g, h] = unpack(*p);
                t[0] += g;
                t[1] += h;
            }
        }
    };
    let empty = || vec![[0; 256]; input.x.features];
    #[cfg(feature = "parallel")]
    if rayon::current_num_threads() > 1 && rows.len() >= 2 * PARALLEL_MIN {
        use rayon::prelude::*;
        // Nodes below the first levels are smaller than a chunk: they split across the threads
        // too (the leaves' histograms are most of the work on the threads other than the first).
        let chunk = CHUNK.min(rows.len().div_ceil(rayon::current_num_threads()).max(PARALLEL_MIN));
        return rows
            .par_chunks(chunk)
            .fold(
                || (vec![[0; 2]; slots], empty()),
                |(mut total, mut packed), chunk| {
                    packed.iter_mut().for_each(|p| p.fill(0));
                    add_rows(input, chunk, &mut packed);
                    add(&mut total, &packed);
                    (total, packed)
                },
            )
            .map(|(total, _)| total)
            .reduce_with(|mut a, b| {
                a.iter_mut().zip(&b).for_each(|(a, b)| *a = [a[0] + b[0], a[1] + b[1]]);
                a
            })
            .unwrap_or_else(|| vec![[0; 2]; slots]);
    }
    let (mut total, mut packed) = (vec![[0; 2]; slots], empty());
    for chunk in rows.chunks(CHUNK) {
        packed.iter_mut().for_each(|p| p.fill(0));
        add_rows(input, chunk, &mut packed);
        add(&mut total, &packed);
    }
    total
}

/// Rows gathered at a time before their slots are added.
const GATHER: usize = 256;

/// Adds the packed levels of (at most [`CHUNK`]) rows to their bins' slots. A node's rows are
/// sparse in memory, so their bins and levels are first gathered, a block at a time, into
/// buffers that stay in cache: the gathering loop is short, so the processor has many rows'
/// loads in flight at once (the adding loop, thirty additions per row, would wait for each row
/// in turn). Consecutive rows (the root's) are read in place.
fn add_rows(input: &GrowInput<'_>, rows: &[u32], hist: &mut Packed) {
    let (x, stride) = (input.x, input.x.stride);
    if let (Some(&first), Some(&last)) = (rows.first(), rows.last()) {
        let (first, end) = (first as usize, last as usize + 1);
        if end - first == rows.len() {
            add_block(input, &x.bins[first * stride..end * stride], &input.levels[first..end], hist);
            return;
        }
    }
    let mut bins = vec![0u8; GATHER * stride];
    let mut levels = vec![0i64; GATHER];
    for block in rows.chunks(GATHER) {
        for ((&r, to), level) in block.iter().zip(bins.chunks_exact_mut(stride)).zip(levels.iter_mut()) {
            let r = r as usize;
            // Eight bytes at a time (rows are padded to a multiple of eight).
            for (to, from) in to.chunks_exact_mut(8).zip(x.bins[r * stride..][..stride].chunks_exact(8)) {
                to.copy_from_slice(from);
            }
            *level = input.levels[r];
        }
        add_block(input, &bins[..block.len() * stride], &levels[..block.len()], hist);
    }
}

/// Adds rows laid out as in [`BinnedMatrix::bins`] (`stride` bytes each) with their levels.
fn add_block(input: &GrowInput<'_>, bins: &[u8], levels: &[i64], hist: &mut Packed) {
    let rows = bins.chunks_exact(input.x.stride).zip(levels);
    if input.features.len() == input.x.features {
        for (row, &level) in rows {
            for (slots, &b) in hist.iter_mut().zip(row) {
                slots[usize::from(b)] += level;
            }
        }
    } else {
        for (row, &level) in rows {
            for &f in input.features {
                hist[f][usize::from(row[f])] += level;
            }
        }
    }
}

/// The first `h` in `low..=high` where `pred` holds (`high + 1` if none), for a `pred` that
/// stays true once true.
fn first_true(mut low: i64, mut high: i64, pred: impl Fn(i64) -> bool) -> i64 {
    high += 1;
    while low < high {
        let mid = low + (high - low) / 2;
        if pred(mid) {
            high = mid;
        } else {
            low = mid + 1;
        }
    }
    low
}

fn best_split(input: &GrowInput<'_>, leaf: &Leaf) -> Option<Split> {
    let p = input.params;
    if leaf.depth >= p.max_depth.min(super::tree::MAX_DEPTH)
        || (leaf.sums.n as usize) < 2 * p.min_data_in_leaf
        || leaf.sums.h <= 0
    {
        return None;
    }
    let (lambda, scale, total) = (p.lambda_l2, input.scale, leaf.sums);
    let parent_score = score(total.g as f64 * scale.g, total.h as f64 * scale.h, lambda, leaf.output(scale, lambda));
    // Rows per hessian level in this node: a side's row count is estimated from its hessian
    // (rounded half up; the cast saturates).
    let rows_per_level = f64::from(total.n) / total.h as f64;
    let rows_of = |h: i64| (h as f64 * rows_per_level + 0.5) as u32;
    // A side needs `min_data_in_leaf` rows and `min_sum_hessian_in_leaf` (and some hessian):
    // both grow with the left side's hessian level, so they bound it from below and above.
    let enough = |h: i64, rows: u32| {
        rows as usize >= p.min_data_in_leaf && h > 0 && h as f64 * scale.h >= p.min_sum_hessian_in_leaf
    };
    let h_low = first_true(0, total.h, |h| enough(h, rows_of(h)));
    let h_high = first_true(0, total.h, |h| !enough(total.h - h, total.n.saturating_sub(rows_of(h)))) - 1;
    if h_low > h_high {
        return None;
    }
    // Without constraints the best outputs are `-g / (h + λ)`, and a side's score `g² / (h + λ)`.
    let free = leaf.lower == f64::NEG_INFINITY && leaf.upper == f64::INFINITY;
    let mut best: Option<Split> = None;
    for &f in input.features {
        let value_bins = input.bins_per_feature[f];
        let hist = &leaf.hist[input.x.offsets[f]..][..value_bins + 1];
        let missing = hist[value_bins];
        // Missing values go left, then right (once when there are none: the larger side).
        let options: &[bool] = if missing != [0, 0] { &[true, false] } else { &[false] };
        let monotone = input.monotone[f];
        let mut acc: Slot = [0, 0];
        for (b, slot) in hist[..value_bins.saturating_sub(1)].iter().enumerate() {
            acc = [acc[0] + slot[0], acc[1] + slot[1]];
            if acc[1] > h_high {
                break; // the left side only grows from here
            }
            for &default_left in options {
                let (g, h) = if default_left { (acc[0] + missing[0], acc[1] + missing[1]) } else { (acc[0], acc[1]) };
                if h < h_low || h > h_high {
                    continue;
                }
                let (gl, hl) = (g as f64 * scale.g, h as f64 * scale.h);
                let (gr, hr) = ((total.g - g) as f64 * scale.g, (total.h - h) as f64 * scale.h);
                let gain = if free && monotone == 0 {
                    gl * gl / (hl + lambda) + gr * gr / (hr + lambda) - parent_score
                } else {
                    let wl = leaf_output(gl, hl, lambda, leaf.lower, leaf.upper);
                    let wr = leaf_output(gr, hr, lambda, leaf.lower, leaf.upper);
                    if (monotone > 0 && wl > wr) || (monotone < 0 && wl < wr) {
                        continue;
                    }
                    score(gl, hl, lambda, wl) + score(gr, hr, lambda, wr) - parent_score
                };
                // Within a feature, a tie goes to the higher bin, as in LightGBM (which scans
                // bins downwards): between a node's rows on either side of empty bins, the cut
                // goes just below the right side's lowest value, not just above the left's
                // highest. Between features, the first keeps a tie.
                let better = |s: &Split| gain > s.gain || (gain == s.gain && s.feature == f);
                if gain > p.min_gain_to_split && best.as_ref().is_none_or(better) {
                    let n = rows_of(h);
                    let left = Sums { g, h, n };
                    let right = Sums { g: total.g - g, h: total.h - h, n: total.n.saturating_sub(n) };
                    let default_left = if missing != [0, 0] { default_left } else { left.n >= right.n };
                    best = Some(Split {
                        gain,
                        feature: f,
                        bin: b as u8,
                        default_left,
                        left,
                        right,
                        left_value: leaf_output(gl, hl, lambda, leaf.lower, leaf.upper),
                        right_value: leaf_output(gr, hr, lambda, leaf.lower, leaf.upper),
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
    let mut sums = Sums { g: 0, h: 0, n: rows.len() as u32 };
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
        let mid = leaf.start + partition(&mut rows[leaf.start..leaf.end], &mut scratch, goes_left);
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
        let mut large_hist = leaf.hist;
        large_hist.iter_mut().zip(&small_hist).for_each(|(p, s)| *p = [p[0] - s[0], p[1] - s[1]]);
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
        (left.split, right.split) = join(|| best_split(input, &left), || best_split(input, &right));
        leaves.push(left);
        leaves.push(right);
    }

    // Number the leaves and hang them in the tree.
    leaves.sort_by_key(|l| l.start);
    let ranges = leaves.iter().map(|l| l.start..l.end).collect();
    for (k, leaf) in leaves.iter().enumerate() {
        let value = leaf.output(input.scale, p.lambda_l2) * p.learning_rate;
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

/// Partitions `slice` stably (rows stay in increasing order on each side, so histograms read
/// memory forwards) into the rows `goes_left` holds for, then the others; returns how many went
/// left. With the `parallel` feature a large slice is partitioned in blocks on the thread pool,
/// then the blocks' sides are gathered in order: the same result as one pass.
fn partition(slice: &mut [u32], scratch: &mut Vec<u32>, goes_left: impl Fn(u32) -> bool + Sync) -> usize {
    scratch.resize(slice.len(), 0);
    #[cfg(feature = "parallel")]
    if rayon::current_num_threads() > 1 && slice.len() >= 4 * PARALLEL_MIN {
        use rayon::prelude::*;
        let block = (4 * CHUNK).min(slice.len().div_ceil(rayon::current_num_threads()));
        let lefts: Vec<usize> = slice
            .par_chunks_mut(block)
            .zip(scratch.par_chunks_mut(block))
            .map(|(part, spare)| partition_block(part, spare, &goes_left))
            .collect();
        let total_left: usize = lefts.iter().sum();
        // Each block's left rows go to their place before `total_left`, its right rows after.
        let (mut to_left, mut to_right) = scratch.split_at_mut(total_left);
        let mut pieces = Vec::with_capacity(lefts.len());
        for (part, &left) in slice.chunks(block).zip(&lefts) {
            let (l, rest) = std::mem::take(&mut to_left).split_at_mut(left);
            let (r, rest_right) = std::mem::take(&mut to_right).split_at_mut(part.len() - left);
            (to_left, to_right) = (rest, rest_right);
            pieces.push((part, left, l, r));
        }
        pieces.into_par_iter().for_each(|(part, left, l, r)| {
            l.copy_from_slice(&part[..left]);
            r.copy_from_slice(&part[left..]);
        });
        slice.par_chunks_mut(block).zip(scratch.par_chunks(block)).for_each(|(to, from)| to.copy_from_slice(from));
        return total_left;
    }
    partition_block(slice, scratch, &goes_left)
}

/// One pass of [`partition`] over `slice`, with `spare` (as long) for the right side.
fn partition_block(slice: &mut [u32], spare: &mut [u32], goes_left: &impl Fn(u32) -> bool) -> usize {
    // Branch-free: every row is written to both sides and the side it belongs to advances.
    let (mut mid, mut right) = (0, 0);
    for k in 0..slice.len() {
        let r = slice[k];
        let left = usize::from(goes_left(r));
        slice[mid] = r;
        spare[right] = r;
        mid += left;
        right += 1 - left;
    }
    slice[mid..].copy_from_slice(&spare[..right]);
    mid
}

/// Runs both on the thread pool with the `parallel` feature, else one after the other.
fn join<A: Send, B: Send>(a: impl FnOnce() -> A + Send, b: impl FnOnce() -> B + Send) -> (A, B) {
    #[cfg(feature = "parallel")]
    return rayon::join(a, b);
    #[cfg(not(feature = "parallel"))]
    return (a(), b());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The block-wise partition on a pool gives one pass's order, whatever the sizes.
    #[cfg(feature = "parallel")]
    #[test]
    fn parallel_partition_equals_one_pass() {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(3).build().unwrap();
        let mut seed = 7u64;
        for len in [0, 1, 4 * PARALLEL_MIN - 1, 4 * PARALLEL_MIN, 70_001, 300_000] {
            let rows: Vec<u32> = (0..len as u32).map(|r| r * 3).collect();
            let flags: Vec<bool> = (0..len * 3 + 1)
                .map(|_| {
                    seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    seed >> 62 == 0
                })
                .collect();
            let goes_left = |r: u32| flags[r as usize];
            let mut expected = rows.clone();
            let mid = partition_block(&mut expected, &mut vec![0; len], &goes_left);
            let mut got = rows.clone();
            let got_mid = pool.install(|| partition(&mut got, &mut Vec::new(), goes_left));
            assert_eq!((got_mid, &got), (mid, &expected), "{len} rows");
        }
    }
}
