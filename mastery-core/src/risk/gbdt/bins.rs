//! Feature binning: each feature's values map to at most 255 ordered bins by quantile, and a
//! missing value (NaN) to its own bin. Bin `b` holds the values `v <= upper[b]`, so a split "bin
//! <= b" is the raw test `v <= upper[b]` at prediction time, with no bins needed.

/// The bin of a missing value (in [`BinnedMatrix::columns`]).
pub(crate) const MISSING: u8 = 255;
/// Values sampled per feature to place the bin boundaries.
const SAMPLE: usize = 200_000;
/// The fewest sampled values a bin holds (LightGBM's `min_data_in_bin`), but for the last bin
/// and for a single value that outnumbers it on its own.
pub(crate) const MIN_DATA_IN_BIN: usize = 3;

/// The upper bounds of one feature's bins (the last is +inf).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BinMapper {
    pub upper: Vec<f64>,
}

impl BinMapper {
    /// Quantile bins from a column (a deterministic stride sample when the column is long).
    pub fn fit(column: impl Iterator<Item = f64> + Clone, rows: usize, max_bin: usize) -> Self {
        let stride = rows.div_ceil(SAMPLE).max(1);
        let mut values: Vec<f64> = column.step_by(stride).filter(|v| !v.is_nan()).collect();
        // Values that compare equal by `total_cmp` are the same bits, so an unstable sort gives
        // the stable sort's order.
        values.sort_unstable_by(f64::total_cmp);
        let mut distinct: Vec<(f64, usize)> = Vec::new();
        for v in values.iter().copied() {
            match distinct.last_mut() {
                Some((last, count)) if *last == v => *count += 1,
                _ => distinct.push((v, 1)),
            }
        }
        let max_bin = max_bin.clamp(2, 255);
        let mut upper = signed_cuts(&distinct, max_bin, MIN_DATA_IN_BIN);
        upper.push(f64::INFINITY);
        Self { upper }
    }

    /// Every column's bins, from one pass over a stride sample of the rows (the same values
    /// [`BinMapper::fit`] samples from each column, read row by row, in memory order).
    pub fn fit_all(x: ndarray::ArrayView2<'_, f64>, max_bin: usize) -> Vec<Self> {
        let (rows, features) = x.dim();
        let stride = rows.div_ceil(SAMPLE).max(1);
        let mut sampled = vec![Vec::with_capacity(rows.div_ceil(stride)); features];
        for row in x.outer_iter().step_by(stride) {
            for (column, v) in sampled.iter_mut().zip(row.iter()) {
                column.push(*v);
            }
        }
        sampled.into_iter().map(|c| Self::fit(c.iter().copied(), c.len(), max_bin)).collect()
    }

    pub fn bin(&self, value: f64) -> u8 {
        if value.is_nan() {
            MISSING
        } else {
            self.upper.partition_point(|u| *u < value) as u8
        }
    }

    pub fn bins(&self) -> usize {
        self.upper.len()
    }
}

/// [`cuts`] with zero in a bin of its own: the negative values, zero and the positive values are
/// binned apart (the negatives get their share of the bins by count, zero one bin, the
/// positives the rest), so a split between signs, or at zero, is always there to be found
/// (LightGBM does the same).
fn signed_cuts(distinct: &[(f64, usize)], max_bin: usize, min_data: usize) -> Vec<f64> {
    let neg = distinct.partition_point(|d| d.0 < 0.0);
    let pos = distinct.partition_point(|d| d.0 <= 0.0);
    let (has_neg, has_zero, has_pos) = (neg > 0, pos > neg, pos < distinct.len());
    let groups = usize::from(has_neg) + usize::from(has_zero) + usize::from(has_pos);
    if groups < 2 || max_bin < 4 {
        return cuts(distinct, max_bin, min_data);
    }
    let rows = |d: &[(f64, usize)]| d.iter().map(|d| d.1).sum::<usize>();
    let mut upper = Vec::with_capacity(max_bin);
    if has_neg {
        let nonzero = rows(&distinct[..neg]) + rows(&distinct[pos..]);
        let share = rows(&distinct[..neg]) as f64 / nonzero.max(1) as f64;
        let bins = ((share * (max_bin - 1) as f64) as usize).clamp(1, max_bin + 1 - groups);
        upper.extend(cuts(&distinct[..neg], bins, min_data));
        upper.push(midpoint(distinct[neg - 1].0, distinct[neg].0));
    }
    if has_zero && has_pos {
        upper.push(midpoint(distinct[pos - 1].0, distinct[pos].0));
    }
    if has_pos {
        let bins = max_bin - upper.len();
        upper.extend(cuts(&distinct[pos..], bins, min_data));
    }
    upper
}

/// The bin boundaries (all but the last, +inf) for sorted distinct values and their counts, in at
/// most `max_bin` bins of at least `min_data` values each (the last bin may hold fewer).
///
/// With few distinct values every value gets its own bin, merged with the next ones until the
/// bin holds `min_data` values. With more, a value frequent enough to fill a bin of the mean size
/// gets a bin of its own, and the other values fill bins of the mean size of what remains,
/// recomputed after every bin: a frequent value uses one bin, not the share of the bins its
/// count would have taken, so every bin is used (LightGBM's greedy binning). A fixed quota per
/// bin, skipped past by frequent values, left most bins unused: 133 of 255 for a feature of
/// 256 distinct values.
fn cuts(distinct: &[(f64, usize)], max_bin: usize, min_data: usize) -> Vec<f64> {
    let mut upper = Vec::with_capacity(max_bin);
    let min_data = min_data.max(1);
    if distinct.len() <= max_bin {
        let mut in_bin = 0;
        for pair in distinct.windows(2) {
            in_bin += pair[0].1;
            if in_bin >= min_data {
                upper.push(midpoint(pair[0].0, pair[1].0));
                in_bin = 0;
            }
        }
        return upper;
    }
    if max_bin < 2 {
        return upper;
    }
    let total: usize = distinct.iter().map(|d| d.1).sum();
    let max_bin = max_bin.min(total / min_data).max(1);
    let big_size = total as f64 / max_bin as f64;
    let big: Vec<bool> = distinct.iter().map(|d| d.1 as f64 >= big_size).collect();
    // The bins and the values left for the values that are not big.
    let mut bins_left = max_bin - big.iter().filter(|b| **b).count();
    let mut rows_left: usize = distinct.iter().zip(&big).filter(|(_, b)| !**b).map(|(d, _)| d.1).sum();
    let mut target = if bins_left == 0 { f64::INFINITY } else { rows_left as f64 / bins_left as f64 };
    let mut in_bin = 0;
    for (i, pair) in distinct.windows(2).enumerate() {
        if !big[i] {
            rows_left -= pair[0].1;
        }
        in_bin += pair[0].1;
        // A big value closes its bin, and so does a bin before a big value once half full.
        if big[i] || in_bin as f64 >= target || (big[i + 1] && in_bin as f64 >= (target / 2.0).max(1.0)) {
            upper.push(midpoint(pair[0].0, pair[1].0));
            if upper.len() + 1 >= max_bin {
                break;
            }
            in_bin = 0;
            if !big[i] {
                bins_left = bins_left.saturating_sub(1);
                target = if bins_left == 0 { f64::INFINITY } else { rows_left as f64 / bins_left as f64 };
            }
        }
    }
    upper
}

/// A threshold strictly between two values that prints and parses back exactly.
fn midpoint(low: f64, high: f64) -> f64 {
    let mid = low + (high - low) / 2.0;
    if mid >= high || mid < low {
        low
    } else {
        mid
    }
}

/// The bins of every value, twice: row-major (`bins[row * stride + feature]`, rows padded to a
/// multiple of eight bytes) for building histograms a row at a time, and column-major
/// (`columns[feature][row]`) for partitioning a node's rows by one feature. A feature's histogram has one slot per value bin and one for
/// missing values, at `offsets[feature]` in one flat histogram of `slots` slots (so features
/// with few bins keep it small); in `bins` a missing value is the feature's bin count, in
/// `columns` it is [`MISSING`].
#[derive(Debug, Clone)]
pub(crate) struct BinnedMatrix {
    pub bins: Vec<u8>,
    pub columns: Vec<Vec<u8>>,
    pub features: usize,
    /// Bytes per row in `bins`: `features` rounded up to a multiple of eight.
    pub stride: usize,
    pub offsets: Vec<usize>,
    pub slots: usize,
}

impl BinnedMatrix {
    pub fn new(x: ndarray::ArrayView2<'_, f64>, mappers: &[BinMapper]) -> Self {
        let (rows, features) = x.dim();
        // Row by row (memory order for a standard array), then transposed.
        let stride = features.next_multiple_of(8).max(8);
        let mut bins = vec![0u8; rows * stride];
        for (row, out) in x.outer_iter().zip(bins.chunks_exact_mut(stride)) {
            for ((b, v), m) in out.iter_mut().zip(row.iter()).zip(mappers) {
                *b = m.bin(*v);
            }
        }
        let mut columns = vec![vec![0u8; rows]; features];
        for (r, row) in bins.chunks_exact_mut(stride).enumerate() {
            for ((column, b), m) in columns.iter_mut().zip(row).zip(mappers) {
                column[r] = *b;
                if *b == MISSING {
                    *b = m.bins() as u8;
                }
            }
        }
        let mut offsets = Vec::with_capacity(features);
        let mut slots = 0;
        for m in mappers {
            offsets.push(slots);
            slots += m.bins() + 1;
        }
        Self { bins, columns, features, stride, offsets, slots }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_agree_with_thresholds() {
        let values: Vec<f64> = (0..1000).map(|i| ((i * 37) % 101) as f64 / 7.0).chain([f64::NAN]).collect();
        let m = BinMapper::fit(values.iter().copied(), values.len(), 16);
        assert!(m.bins() <= 16);
        for v in &values {
            let b = m.bin(*v);
            if v.is_nan() {
                assert_eq!(b, MISSING);
                continue;
            }
            for (i, u) in m.upper.iter().enumerate() {
                assert_eq!(*v <= *u, usize::from(b) <= i, "{v} bin {b} bound {i}");
            }
        }
        let few = BinMapper::fit([1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 3.0].into_iter(), 7, 255);
        assert_eq!(few.upper, [1.5, 2.5, f64::INFINITY]);
        // A value seen fewer than MIN_DATA_IN_BIN times shares the next value's bin.
        let rare = BinMapper::fit([1.0, 2.0, 2.0, 3.0, 3.0, 3.0, 4.0].into_iter(), 7, 255);
        assert_eq!(rare.upper, [2.5, 3.5, f64::INFINITY]);
    }

    /// The defect this pins: equal-frequency cuts at a fixed quota per bin skipped the quotas a
    /// frequent value had used up, and left more than half the bins unused (120 of 255 here,
    /// 133 of 255 for OULAD's 256-valued registration day), so splits LightGBM finds between
    /// rarer values could not be made.
    #[test]
    fn frequent_values_do_not_waste_bins() {
        // 300 distinct values: every tenth on 100 rows, the others on 5.
        let values: Vec<f64> =
            (0..300).flat_map(|i| std::iter::repeat_n(f64::from(i), if i % 10 == 0 { 100 } else { 5 })).collect();
        let m = BinMapper::fit(values.iter().copied(), values.len(), 255);
        assert_eq!(m.bins(), 255);
        // Every frequent value is alone in its bin.
        for i in (0..300).step_by(10) {
            let b = usize::from(m.bin(f64::from(i)));
            assert!(values.iter().all(|v| (usize::from(m.bin(*v)) == b) == (*v == f64::from(i))), "value {i}");
        }
        // 256 distinct values on four rows each: one pair of values shares a bin, no more.
        let column: Vec<f64> = (0..256).flat_map(|i| std::iter::repeat_n(f64::from(i), 4)).collect();
        assert_eq!(BinMapper::fit(column.iter().copied(), column.len(), 255).bins(), 255);
    }

    #[test]
    fn zero_gets_a_bin_of_its_own() {
        // Many distinct values on both sides of zero: zero is its own bin, and a split between
        // the signs is always possible.
        let values: Vec<f64> = (-600..=600).map(|i| f64::from(i) / 7.0).chain(std::iter::repeat_n(0.0, 50)).collect();
        let m = BinMapper::fit(values.iter().copied(), values.len(), 64);
        assert!(m.bins() <= 64);
        let zero = m.bin(0.0);
        assert!(m.bin(-1.0 / 7.0) < zero && m.bin(1.0 / 7.0) > zero);
        assert_eq!(m.bin(-0.0), zero);
        for max_bin in 2..8 {
            let m = BinMapper::fit(values.iter().copied(), values.len(), max_bin);
            assert!((2..=max_bin).contains(&m.bins()), "max_bin {max_bin}: {} bins", m.bins());
        }
    }
}
