//! Feature binning: each feature's values map to at most 255 ordered bins by quantile, and a
//! missing value (NaN) to its own bin. Bin `b` holds the values `v <= upper[b]`, so a split "bin
//! <= b" is the raw test `v <= upper[b]` at prediction time, with no bins needed.

/// The bin of a missing value (in [`BinnedMatrix::columns`]).
pub(crate) const MISSING: u8 = 255;
/// Values sampled per feature to place the bin boundaries.
const SAMPLE: usize = 200_000;

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
        let mut upper = Vec::with_capacity(max_bin);
        if distinct.len() <= max_bin {
            for pair in distinct.windows(2) {
                upper.push(midpoint(pair[0].0, pair[1].0));
            }
        } else {
            // Equal-frequency cuts over the distinct values, never splitting one value.
            let per_bin = values.len() as f64 / max_bin as f64;
            let (mut seen, mut next_cut) = (0usize, per_bin);
            for pair in distinct.windows(2) {
                seen += pair[0].1;
                if seen as f64 >= next_cut && upper.len() + 1 < max_bin {
                    upper.push(midpoint(pair[0].0, pair[1].0));
                    while next_cut <= seen as f64 {
                        next_cut += per_bin;
                    }
                }
            }
        }
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
        let few = BinMapper::fit([1.0, 2.0, 2.0, 3.0].into_iter(), 4, 255);
        assert_eq!(few.upper, [1.5, 2.5, f64::INFINITY]);
    }
}
