//! The standard model's E-step over lane groups: [`LANES`] sequences of equal length side by
//! side in SIMD vectors, the instruction set picked at run time by `pulp` (AVX2 or SSE on
//! x86-64, NEON on ARM, scalar in WASM). Only additions, multiplications and one division per
//! sequence, never a fused multiply-add, so every build gives the same bits.
//!
//! The forward pass is unnormalised (no division per attempt, which left each step waiting on
//! it): a lane's masses are rescaled by an exact power of two when they fall below
//! [`RESCALE_BELOW`], and the backward pass multiplies by the same powers, so `alpha * beta`
//! is the lane's final mass times the smoothed posterior all along the sequence. Counts are
//! divided by that mass once per sequence.

use pulp::bytemuck::Zeroable;
use pulp::{Simd, WithSimd};

use super::{Kernel, LaneGroup, Sequences, Totals, LANES, TINY};

/// Below this, a lane's forward mass is rescaled (every twenty attempts or so at typical
/// emissions).
const RESCALE_BELOW: f64 = 5.421010862427522e-20; // 2^-64
/// A lane whose forward mass falls below this (an emission under 2^-436 in one attempt) is
/// redone in log space: past it, `TINY * mass` would leave `f64`'s normal range.
const MASS_FLOOR: f64 = 3.054936363499605e-151; // 2^-500

/// Per attempt and lane: forward masses (unknown, known), then P(answer | state) (unknown,
/// known), both times the lane's rescaling so far.
pub(super) type Step = [[f64; LANES]; 4];

/// One E-step of the standard model over every lane group, run through [`pulp::Arch::dispatch`].
pub(super) struct LaneStep<'a> {
    pub k: &'a Kernel,
    pub s: &'a Sequences,
    pub totals: &'a mut Totals,
    pub buffer: &'a mut Vec<Step>,
    /// Sequences that left the fast range, for the log-space E-step.
    pub exact: &'a mut Vec<usize>,
}

impl WithSimd for LaneStep<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) {
        let forgets = self.k.t[1][0] != 0.0;
        for group in &self.s.groups {
            if forgets {
                group_step::<S, true>(simd, self.k, self.s, group, self.totals, self.buffer, self.exact);
            } else {
                group_step::<S, false>(simd, self.k, self.s, group, self.totals, self.buffer, self.exact);
            }
        }
    }
}

/// `LANES` values as vectors of `S` (`LANES` is a multiple of every width).
#[inline(always)]
fn vectors<S: Simd>(x: &[f64; LANES]) -> &[S::f64s] {
    S::as_simd_f64s(x).0
}

#[inline(always)]
fn load<S: Simd>(x: &[f64; LANES]) -> [S::f64s; LANES] {
    let mut out = [S::f64s::zeroed(); LANES];
    let v = vectors::<S>(x);
    out[..v.len()].copy_from_slice(v);
    out
}

#[inline(always)]
fn store<S: Simd>(x: &[S::f64s; LANES]) -> [f64; LANES] {
    let mut out = [0.0; LANES];
    let v = S::as_mut_simd_f64s(&mut out).0;
    let n = v.len();
    v.copy_from_slice(&x[..n]);
    out
}

/// Forward pass of one group into `buffer`; returns each lane's logarithm of its rescalings,
/// its final mass and whether it stayed in the fast range.
#[inline(always)]
fn forward<S: Simd, const FORGETS: bool>(
    simd: S,
    k: &Kernel,
    obs: &[[f64; LANES]],
    classes: &[usize; LANES],
    buffer: &mut Vec<Step>,
) -> ([f64; LANES], [f64; LANES], [bool; LANES]) {
    let n = LANES / S::F64_LANES;
    let splat = |x: f64| simd.splat_f64s(x);
    let t = k.t.map(|row| row.map(splat));
    let e = k.e.map(|row| row.map(splat));
    let (zero, tiny, below) = (splat(0.0), splat(TINY), splat(RESCALE_BELOW));
    let prior: [f64; LANES] = std::array::from_fn(|j| k.priors[classes[j]]);
    let (mut a0, mut a1) = (load::<S>(&prior.map(|p| 1.0 - p)), load::<S>(&prior));
    let (mut low, mut lowest_mass) = ([splat(f64::INFINITY); LANES], [splat(f64::INFINITY); LANES]);
    let mut log_part = [0.0; LANES];
    buffer.clear();
    for (step, c) in obs.iter().enumerate() {
        let c = vectors::<S>(c);
        let (mut s0, mut s1, mut mass) = ([zero; LANES], [zero; LANES], [zero; LANES]);
        let mut rescale = false;
        for v in 0..n {
            if step > 0 {
                let q0 = if FORGETS {
                    simd.add_f64s(simd.mul_f64s(a0[v], t[0][0]), simd.mul_f64s(a1[v], t[1][0]))
                } else {
                    simd.mul_f64s(a0[v], t[0][0])
                };
                let q1 = if FORGETS {
                    simd.add_f64s(simd.mul_f64s(a0[v], t[0][1]), simd.mul_f64s(a1[v], t[1][1]))
                } else {
                    simd.add_f64s(simd.mul_f64s(a0[v], t[0][1]), a1[v])
                };
                (a0[v], a1[v]) = (q0, q1);
            }
            let wrong = simd.equal_f64s(c[v], zero);
            s0[v] = simd.select_f64s(wrong, e[0][0], e[1][0]);
            s1[v] = simd.select_f64s(wrong, e[0][1], e[1][1]);
            a0[v] = simd.mul_f64s(a0[v], s0[v]);
            a1[v] = simd.mul_f64s(a1[v], s1[v]);
            mass[v] = simd.add_f64s(a0[v], a1[v]);
            // Both masses at least TINY of the total (a difference's sign is exact).
            let floor = simd.mul_f64s(tiny, mass[v]);
            let least = simd.min_f64s(simd.sub_f64s(a0[v], floor), simd.sub_f64s(a1[v], floor));
            low[v] = simd.min_f64s(low[v], least);
            lowest_mass[v] = simd.min_f64s(lowest_mass[v], mass[v]);
            rescale |= simd.first_true_m64s(simd.less_than_f64s(mass[v], below)) < S::F64_LANES;
        }
        if rescale {
            let mut lanes = [store::<S>(&a0), store::<S>(&a1), store::<S>(&s0), store::<S>(&s1)];
            let mass = store::<S>(&mass);
            for j in (0..LANES).filter(|&j| mass[j] < RESCALE_BELOW) {
                // 2^-e for the mass's binary exponent e: exact, the mass back into [1, 2) (a
                // lane already bound for log space only stays finite).
                let exponent = (((mass[j].to_bits() >> 52) & 0x7ff) as i64 - 1023).max(-1000);
                let scale = f64::from_bits(((1023 - exponent) as u64) << 52);
                log_part[j] += exponent as f64 * std::f64::consts::LN_2;
                lanes.iter_mut().for_each(|x| x[j] *= scale);
            }
            buffer.push(lanes);
            (a0, a1) = (load::<S>(&lanes[0]), load::<S>(&lanes[1]));
        } else {
            buffer.push([store::<S>(&a0), store::<S>(&a1), store::<S>(&s0), store::<S>(&s1)]);
        }
    }
    let mass: [f64; LANES] = std::array::from_fn(|j| {
        let [x0, x1] = [store::<S>(&a0)[j], store::<S>(&a1)[j]];
        x0 + x1
    });
    let (low, lowest_mass) = (store::<S>(&low), store::<S>(&lowest_mass));
    // A NaN reaches the final mass.
    let fast = std::array::from_fn(|j| low[j] >= 0.0 && lowest_mass[j] >= MASS_FLOOR && !mass[j].is_nan());
    (log_part, mass, fast)
}

/// One group: forward, then backward with the forward pass's scales; adds each fast lane's
/// counts (divided by its final mass) to `totals` in sequence order, so totals do not depend on
/// the vector width.
#[inline(always)]
fn group_step<S: Simd, const FORGETS: bool>(
    simd: S,
    k: &Kernel,
    s: &Sequences,
    group: &LaneGroup,
    totals: &mut Totals,
    buffer: &mut Vec<Step>,
    exact: &mut Vec<usize>,
) {
    let n = LANES / S::F64_LANES;
    let obs = &s.lane_obs[group.offset..group.offset + group.len];
    let classes: [usize; LANES] = std::array::from_fn(|j| s.prior_class[group.ids[j]] as usize);
    let (log_part, final_mass, fast) = forward::<S, FORGETS>(simd, k, obs, &classes, buffer);
    let t = k.t.map(|row| row.map(|x| simd.splat_f64s(x)));
    let (zero, one) = (simd.splat_f64s(0.0), simd.splat_f64s(1.0));
    // Transition counts `[unknown→unknown, unknown→known, known→unknown, known→known]`, and per
    // state the sum of smoothed posteriors over right answers (over all answers it is the sum
    // of the transition counts out of that state plus the last posterior).
    let mut sx = [[zero; LANES]; 4];
    let mut right = [[zero; LANES]; 2];
    let (mut beta0, mut beta1) = ([one; LANES], [one; LANES]);
    let last = &buffer[group.len - 1];
    let (mut g0, mut g1) = (load::<S>(&last[0]), load::<S>(&last[1]));
    let (last0, last1) = (store::<S>(&g0), store::<S>(&g1));
    for step in (0..group.len).rev() {
        if step + 1 < group.len {
            let (f0, f1) = (vectors::<S>(&buffer[step][0]), vectors::<S>(&buffer[step][1]));
            let (s0, s1) = (vectors::<S>(&buffer[step + 1][2]), vectors::<S>(&buffer[step + 1][3]));
            for v in 0..n {
                let (u0, u1) = (simd.mul_f64s(s0[v], beta0[v]), simd.mul_f64s(s1[v], beta1[v]));
                let (v00, v01) = (simd.mul_f64s(t[0][0], u0), simd.mul_f64s(t[0][1], u1));
                let (x00, x01) = (simd.mul_f64s(f0[v], v00), simd.mul_f64s(f0[v], v01));
                sx[0][v] = simd.add_f64s(sx[0][v], x00);
                sx[1][v] = simd.add_f64s(sx[1][v], x01);
                beta0[v] = simd.add_f64s(v00, v01);
                g0[v] = simd.add_f64s(x00, x01);
                if FORGETS {
                    let (v10, v11) = (simd.mul_f64s(t[1][0], u0), simd.mul_f64s(t[1][1], u1));
                    let (x10, x11) = (simd.mul_f64s(f1[v], v10), simd.mul_f64s(f1[v], v11));
                    sx[2][v] = simd.add_f64s(sx[2][v], x10);
                    sx[3][v] = simd.add_f64s(sx[3][v], x11);
                    beta1[v] = simd.add_f64s(v10, v11);
                    g1[v] = simd.add_f64s(x10, x11);
                } else {
                    let x11 = simd.mul_f64s(f1[v], u1);
                    sx[3][v] = simd.add_f64s(sx[3][v], x11);
                    beta1[v] = u1;
                    g1[v] = x11;
                }
            }
        }
        let o = vectors::<S>(&obs[step]);
        for v in 0..n {
            right[0][v] = simd.add_f64s(right[0][v], simd.mul_f64s(o[v], g0[v]));
            right[1][v] = simd.add_f64s(right[1][v], simd.mul_f64s(o[v], g1[v]));
        }
    }
    let sx = sx.each_ref().map(store::<S>);
    let right = right.each_ref().map(store::<S>);
    let (g0, g1) = (store::<S>(&g0), store::<S>(&g1));
    for j in 0..group.real {
        if !fast[j] {
            exact.push(group.ids[j]);
            continue;
        }
        let weight = s.weights[group.ids[j]];
        let w = weight / final_mass[j];
        for (total, counts) in totals.tr.iter_mut().zip(&sx) {
            *total += w * counts[j];
        }
        // `em` is `[unknown wrong, unknown right, known wrong, known right]`.
        let all = [sx[0][j] + sx[1][j] + last0[j], sx[2][j] + sx[3][j] + last1[j]];
        totals.em[0] += w * (all[0] - right[0][j]);
        totals.em[1] += w * right[0][j];
        totals.em[2] += w * (all[1] - right[1][j]);
        totals.em[3] += w * right[1][j];
        totals.init[classes[j]][0] += w * g0[j];
        totals.init[classes[j]][1] += w * g1[j];
        totals.log_likelihood.add(log_part[j], final_mass[j], weight);
    }
}
