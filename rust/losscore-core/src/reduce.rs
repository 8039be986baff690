//! Deterministic reductions.
//!
//! Data are cut into blocks of [`BLOCK`] elements at fixed global offsets. Each block is reduced
//! in [`LANES`] float64 lanes (a fixed order, vectorizable), the lanes are added in a fixed tree,
//! and the block partials are combined *exactly* ([`ExactSum`], correctly rounded like Python's
//! `math.fsum`). The result therefore depends only on the block partials: it is bitwise the same
//! for any thread count and for any split of the data at block boundaries (chunked evaluation).

use crate::error::{invalid, LossError};
use crate::simd::Real;

/// Elements per reduction block. Chunked evaluation must split data at multiples of this.
pub const BLOCK: usize = 8192;
/// Independent accumulators per block (16 f32 = one AVX-512 register).
pub const LANES: usize = 16;

/// How a loss reduces its per-element values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reduction {
    /// Per-element (per-sample) values.
    None,
    /// Sum of the (weighted) values.
    Sum,
    /// Sum divided by the count (or by the sum of weights).
    Mean,
    /// Sum divided by the batch size (the leading dimension); `kl_div` only.
    BatchMean,
}

impl Reduction {
    /// Parses `"none" | "sum" | "mean"` (and `"batchmean"` where `allow_batchmean`).
    pub fn from_name(name: &str, allow_batchmean: bool) -> Result<Reduction, LossError> {
        match name {
            "none" => Ok(Reduction::None),
            "sum" => Ok(Reduction::Sum),
            "mean" => Ok(Reduction::Mean),
            "batchmean" if allow_batchmean => Ok(Reduction::BatchMean),
            other => {
                let allowed = if allow_batchmean {
                    "'mean', 'sum', 'none' or 'batchmean'"
                } else {
                    "'mean', 'sum' or 'none'"
                };
                Err(invalid(
                    "reduction",
                    format!("expected {allowed}, got {other:?}"),
                ))
            }
        }
    }
}

/// Adds the lanes in a fixed pairwise tree.
#[inline(always)]
pub fn sum_lanes(acc: &[f64; LANES]) -> f64 {
    let mut a = *acc;
    let mut width = LANES / 2;
    while width > 0 {
        for i in 0..width {
            a[i] += a[i + width];
        }
        width /= 2;
    }
    a[0]
}

/// Number of blocks covering `n` elements.
#[inline]
pub fn n_blocks(n: usize) -> usize {
    n.div_ceil(BLOCK)
}

/// Correctly rounded sum of a stream of f64 (Shewchuk's algorithm, as `math.fsum`).
///
/// Invariant: `partials` are non-overlapping, increasing in magnitude, and their exact sum is the
/// exact sum of every finite value added so far.
#[derive(Debug, Default, Clone)]
pub struct ExactSum {
    partials: Vec<f64>,
    /// Sum of the non-finite inputs (inf, -inf, NaN), kept apart as fsum does.
    special: f64,
    has_special: bool,
    /// A running total of finite inputs left the f64 range; see [`exact_sum`].
    overflowed: bool,
}

impl ExactSum {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, x: f64) {
        if !x.is_finite() {
            self.special += x;
            self.has_special = true;
            return;
        }
        let mut x = x;
        let mut kept = 0;
        for j in 0..self.partials.len() {
            let mut y = self.partials[j];
            if x.abs() < y.abs() {
                std::mem::swap(&mut x, &mut y);
            }
            let hi = x + y;
            if !hi.is_finite() {
                // The partials can no longer represent the sum exactly.
                self.overflowed = true;
                self.special += hi;
                self.has_special = true;
                return;
            }
            let lo = y - (hi - x);
            if lo != 0.0 {
                self.partials[kept] = lo;
                kept += 1;
            }
            x = hi;
        }
        self.partials.truncate(kept);
        self.partials.push(x);
    }

    /// The sum rounded once (round-half-even).
    pub fn value(&self) -> f64 {
        if self.has_special {
            // One NaN bit pattern whatever produced it (SIMD and scalar code differ in sign).
            return if self.special.is_nan() {
                f64::NAN
            } else {
                self.special
            };
        }
        let p = &self.partials;
        let mut n = p.len();
        if n == 0 {
            return 0.0;
        }
        n -= 1;
        let mut hi = p[n];
        let mut lo = 0.0;
        while n > 0 {
            let x = hi;
            n -= 1;
            let y = p[n];
            hi = x + y;
            let yr = hi - x;
            lo = y - yr;
            if lo != 0.0 {
                break;
            }
        }
        // Correct a half-way case that the top two partials rounded the wrong way.
        if n > 0 && ((lo < 0.0 && p[n - 1] < 0.0) || (lo > 0.0 && p[n - 1] > 0.0)) {
            let y = lo * 2.0;
            let x = hi + y;
            let yr = x - hi;
            if y == yr {
                hi = x;
            }
        }
        hi
    }
}

/// Correctly rounded sum of `values`.
///
/// If a running total of finite values overflows, the values are summed again scaled by 1/4
/// (exact for all but subnormal inputs, which cannot matter at that magnitude) and the result
/// scaled back: `[1e308, 1e308, -1e308]` sums to `1e308`, not NaN.
pub fn exact_sum(values: &[f64]) -> f64 {
    let mut s = ExactSum::new();
    for &v in values {
        s.add(v);
    }
    if s.overflowed && values.iter().all(|v| v.is_finite()) {
        let mut scaled = ExactSum::new();
        for &v in values {
            scaled.add(v * 0.25);
        }
        return scaled.value() * 4.0;
    }
    s.value()
}

/// The block partials of `sum(x)`: one f64 per [`BLOCK`] elements, computed in parallel by the
/// same fused driver the element-wise losses use (so it streams memory at the same speed).
pub fn block_sums<T: Real>(x: &[T]) -> Vec<f64> {
    // The identity "loss" reads `x` once (the target is the same slice, already in cache).
    match crate::loss::block_partials(Identity, x, x, None) {
        Ok((partials, _)) => partials,
        Err(_) => unreachable!("identical lengths, no weights, no target checks"),
    }
}

/// Deterministic, correctly combined `sum(x)` (a streaming read: also the bandwidth probe).
pub fn sum<T: Real>(x: &[T]) -> f64 {
    exact_sum(&block_sums(x))
}

/// `l(p, t) = p`: turns the loss driver into a plain deterministic sum.
#[derive(Debug, Clone, Copy)]
struct Identity;

impl<T: Real> crate::loss::Pointwise<T> for Identity {
    #[inline(always)]
    fn value(&self, p: T, _t: T) -> T {
        p
    }
    #[inline(always)]
    fn value_grad(&self, p: T, _t: T) -> (T, T) {
        (p, T::ONE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_sum_cancels_perfectly() {
        assert_eq!(exact_sum(&[1e100, 1.0, -1e100, 1e-100]), 1.0 + 1e-100);
        assert_eq!(exact_sum(&[0.1; 10]), 1.0);
        assert_eq!(exact_sum(&[]), 0.0);
    }

    #[test]
    fn exact_sum_is_order_independent() {
        let mut v: Vec<f64> = (0..1000)
            .map(|i| ((i * 7919) % 1013) as f64 * 1.1e-3 - 0.5)
            .collect();
        v.push(1e16);
        v.push(-1e16);
        let a = exact_sum(&v);
        v.reverse();
        assert_eq!(a.to_bits(), exact_sum(&v).to_bits());
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        assert_eq!(a.to_bits(), exact_sum(&v).to_bits());
    }

    #[test]
    fn exact_sum_matches_integer_arithmetic() {
        // Integers times a power of two are exact in f64: compare with i128 arithmetic.
        let ints: Vec<i64> = (0..5000)
            .map(|i| (i * 2_654_435_761_i64) % 1_000_003 - 500_000)
            .collect();
        let scale = 2f64.powi(-30);
        let v: Vec<f64> = ints.iter().map(|&i| i as f64 * scale).collect();
        let exact: i128 = ints.iter().map(|&i| i as i128).sum();
        assert_eq!(exact_sum(&v), exact as f64 * scale);
    }

    #[test]
    fn exact_sum_special_values() {
        assert_eq!(exact_sum(&[1.0, f64::INFINITY]), f64::INFINITY);
        assert!(exact_sum(&[f64::INFINITY, f64::NEG_INFINITY]).is_nan());
        assert!(exact_sum(&[1.0, f64::NAN]).is_nan());
        assert_eq!(exact_sum(&[f64::MAX, f64::MAX]), f64::INFINITY);
        assert_eq!(exact_sum(&[1e308, 1e308, -1e308]), 1e308);
        assert_eq!(exact_sum(&[-1e308, -1e308, 1e308, 5.0]), -1e308 + 5.0);
        assert_eq!(exact_sum(&[f64::NAN]).to_bits(), f64::NAN.to_bits());
        assert_eq!(exact_sum(&[-f64::NAN]).to_bits(), f64::NAN.to_bits());
    }

    #[test]
    fn half_way_rounding_is_even() {
        // 1 + 2^-53 + 2^-105: the tiny term decides rounding up.
        let v = [1.0, 2f64.powi(-53), 2f64.powi(-105)];
        assert_eq!(exact_sum(&v), 1.0 + 2f64.powi(-52));
    }

    #[test]
    fn lanes_sum_in_a_fixed_tree() {
        let acc: [f64; LANES] = std::array::from_fn(|i| i as f64);
        assert_eq!(sum_lanes(&acc), (0..LANES).sum::<usize>() as f64);
    }

    #[test]
    fn parallel_sum_is_split_invariant_and_accurate() {
        let x: Vec<f32> = (0..3 * BLOCK + 77)
            .map(|i| ((i * 7919) % 10007) as f32 * 1e-3 - 5.0)
            .collect();
        let exact: f64 = exact_sum(&x.iter().map(|&v| v as f64).collect::<Vec<_>>());
        let total = sum(&x);
        assert!((total - exact).abs() <= 1e-12 * exact.abs().max(1.0));
        // Summing block-aligned pieces separately and combining their partials gives the same bits.
        let mut partials = block_sums(&x[..2 * BLOCK]);
        partials.extend(block_sums(&x[2 * BLOCK..]));
        assert_eq!(exact_sum(&partials).to_bits(), total.to_bits());
    }

    #[test]
    fn reduction_names() {
        assert_eq!(
            Reduction::from_name("mean", false).unwrap(),
            Reduction::Mean
        );
        assert!(Reduction::from_name("batchmean", false).is_err());
        assert_eq!(
            Reduction::from_name("batchmean", true).unwrap(),
            Reduction::BatchMean
        );
        let msg = Reduction::from_name("avg", false).unwrap_err().to_string();
        assert!(msg.contains("reduction") && msg.contains("avg"), "{msg}");
    }
}
