//! Gradient clipping (`torch.nn.utils.clip_grad_norm_` / `clip_grad_value_`).
//!
//! The total norm is the norm of all gradients together: `(sum |g|^p)^(1/p)`, `max |g|` for
//! `p = inf`, `min |g|` for `p = -inf`, and for `p = 0` the number of arrays holding a non-zero
//! value (PyTorch takes the 0-"norm" of the per-array norms). Sums run in float64 over fixed
//! blocks of [`BLOCK`] elements per array, in [`LANES`] lanes, and the block partials are added
//! exactly, so the norm is bitwise independent of the thread count. Gradients are then scaled by
//! `min(max_norm / (total + 1e-6), 1)` (NaN when the norm is NaN, as PyTorch).

use crate::error::{invalid, LossError};
use crate::par;
use crate::reduce::{self, ExactSum, BLOCK, LANES};
use crate::simd::{self, Isa, Kernel, Real};

use super::nan_max;

/// The order of the norm.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum NormType {
    /// Count of arrays with a non-zero element.
    Zero,
    /// `(sum |g|^p)^(1/p)`, `p > 0` finite.
    P(f64),
    /// `max |g|`.
    Inf,
    /// `min |g|`.
    NegInf,
}

impl NormType {
    /// `0`, a positive number, `inf` or `-inf`.
    pub fn from_f64(p: f64) -> Result<NormType, LossError> {
        if p == 0.0 {
            Ok(NormType::Zero)
        } else if p == f64::INFINITY {
            Ok(NormType::Inf)
        } else if p == f64::NEG_INFINITY {
            Ok(NormType::NegInf)
        } else if p > 0.0 {
            Ok(NormType::P(p))
        } else {
            Err(invalid(
                "norm_type",
                format!("must be 0, a positive number, inf or -inf, got {p}"),
            ))
        }
    }
}

/// The total norm of several lists of gradients (one per dtype), accumulated exactly.
#[derive(Debug, Clone)]
pub struct NormAccumulator {
    kind: NormType,
    sum: ExactSum,
    /// Running max (`Inf`) or min (`NegInf`) of `|g|`; `None` before the first element.
    extreme: Option<f64>,
}

impl NormAccumulator {
    pub fn new(norm_type: f64) -> Result<Self, LossError> {
        Ok(NormAccumulator {
            kind: NormType::from_f64(norm_type)?,
            sum: ExactSum::new(),
            extreme: None,
        })
    }

    /// Adds the gradients `grads`.
    pub fn add<T: Real>(&mut self, grads: &[&[T]]) {
        self.add_isa(simd::active(), grads)
    }

    fn add_isa<T: Real>(&mut self, isa: Isa, grads: &[&[T]]) {
        if self.kind == NormType::Zero {
            for g in grads {
                if g.iter().any(|&x| x != T::ZERO) {
                    self.sum.add(1.0);
                }
            }
            return;
        }
        let blocks: Vec<&[T]> = grads.iter().flat_map(|g| g.chunks(BLOCK)).collect();
        if blocks.is_empty() {
            return;
        }
        let mut partials = vec![0.0f64; blocks.len()];
        let pieces = par::pieces(blocks.len(), 4);
        let per = blocks.len().div_ceil(pieces);
        let tasks: Vec<(&[&[T]], &mut [f64])> =
            blocks.chunks(per).zip(partials.chunks_mut(per)).collect();
        let kind = self.kind;
        par::for_each(tasks, |(b, out)| {
            simd::dispatch(
                isa,
                NormBlocks {
                    kind,
                    blocks: b,
                    out,
                },
            )
        });
        match self.kind {
            NormType::Inf => {
                for &x in &partials {
                    self.extreme = Some(self.extreme.map_or(x, |e| nan_max(e, x)));
                }
            }
            NormType::NegInf => {
                for &x in &partials {
                    self.extreme = Some(self.extreme.map_or(x, |e| nan_min(e, x)));
                }
            }
            _ => partials.iter().for_each(|&x| self.sum.add(x)),
        }
    }

    /// The total norm (0 when there are no elements).
    pub fn total(&self) -> f64 {
        match self.kind {
            NormType::Zero => self.sum.value(),
            NormType::P(p) => {
                let s = self.sum.value();
                if p == 1.0 {
                    s
                } else if p == 2.0 {
                    s.sqrt()
                } else {
                    s.powf(1.0 / p)
                }
            }
            NormType::Inf | NormType::NegInf => self.extreme.unwrap_or(0.0),
        }
    }
}

#[inline(always)]
fn nan_min(a: f64, b: f64) -> f64 {
    let m = if a < b { a } else { b };
    if a.is_nan() {
        a
    } else {
        m
    }
}

/// `min(max_norm / (total + 1e-6), 1)`; NaN if either is NaN.
pub fn clip_coefficient(max_norm: f64, total: f64) -> f64 {
    let c = max_norm / (total + 1e-6);
    if c > 1.0 {
        1.0
    } else {
        c
    }
}

/// `max_norm` must be non-negative (inf allowed: no clipping).
pub fn check_max_norm(max_norm: f64) -> Result<(), LossError> {
    if max_norm >= 0.0 {
        Ok(())
    } else {
        Err(invalid(
            "max_norm",
            format!("must be a non-negative number, got {max_norm}"),
        ))
    }
}

/// `clip_value` must be non-negative (inf allowed: no clipping).
pub fn check_clip_value(clip_value: f64) -> Result<(), LossError> {
    if clip_value >= 0.0 {
        Ok(())
    } else {
        Err(invalid(
            "clip_value",
            format!("must be a non-negative number, got {clip_value}"),
        ))
    }
}

struct NormBlocks<'a, 'b, T> {
    kind: NormType,
    blocks: &'a [&'a [T]],
    out: &'b mut [f64],
}

impl<T: Real> Kernel for NormBlocks<'_, '_, T> {
    type Output = ();

    #[inline(always)]
    fn run(self) {
        // One monomorphized loop per order: nothing is decided per element.
        match self.kind {
            NormType::P(2.0) => sums(self.blocks, self.out, SumSquares),
            NormType::P(1.0) => sums(self.blocks, self.out, SumAbs),
            // A rare order: libm's pow (accurate), not vectorized.
            NormType::P(p) => sums(self.blocks, self.out, SumPow(p)),
            NormType::Inf => extremes(self.blocks, self.out, MaxAbs),
            NormType::NegInf => extremes(self.blocks, self.out, MinAbs),
            NormType::Zero => self.out.fill(0.0),
        }
    }
}

/// How one lane accumulates `|x|`-based terms. Methods are `#[inline(always)]` so that the
/// loops vectorize inside the ISA wrapper.
trait Accumulate: Copy {
    fn add(&self, acc: f64, x: f64) -> f64;
    /// Merges two accumulators of the same lane.
    fn merge(&self, a: f64, b: f64) -> f64 {
        a + b
    }
}

#[derive(Clone, Copy)]
struct SumSquares;
impl Accumulate for SumSquares {
    #[inline(always)]
    fn add(&self, acc: f64, x: f64) -> f64 {
        acc + x * x
    }
}

#[derive(Clone, Copy)]
struct SumAbs;
impl Accumulate for SumAbs {
    #[inline(always)]
    fn add(&self, acc: f64, x: f64) -> f64 {
        acc + x.abs()
    }
}

#[derive(Clone, Copy)]
struct SumPow(f64);
impl Accumulate for SumPow {
    #[inline(always)]
    fn add(&self, acc: f64, x: f64) -> f64 {
        acc + x.abs().powf(self.0)
    }
}

#[derive(Clone, Copy)]
struct MaxAbs;
impl Accumulate for MaxAbs {
    #[inline(always)]
    fn add(&self, acc: f64, x: f64) -> f64 {
        nan_max(acc, x.abs())
    }
    #[inline(always)]
    fn merge(&self, a: f64, b: f64) -> f64 {
        nan_max(a, b)
    }
}

#[derive(Clone, Copy)]
struct MinAbs;
impl Accumulate for MinAbs {
    #[inline(always)]
    fn add(&self, acc: f64, x: f64) -> f64 {
        nan_min(acc, x.abs())
    }
    #[inline(always)]
    fn merge(&self, a: f64, b: f64) -> f64 {
        nan_min(a, b)
    }
}

#[inline(always)]
fn sums<T: Real, A: Accumulate>(blocks: &[&[T]], out: &mut [f64], op: A) {
    for (b, o) in blocks.iter().zip(out.iter_mut()) {
        *o = reduce::sum_lanes(&lanes(b, 0.0, op));
    }
}

#[inline(always)]
fn extremes<T: Real, A: Accumulate>(blocks: &[&[T]], out: &mut [f64], op: A) {
    for (b, o) in blocks.iter().zip(out.iter_mut()) {
        // Blocks are never empty: seed every lane with the first |x|.
        let first = b[0].to_f64().abs();
        let acc = lanes(b, first, op);
        *o = acc.iter().fold(first, |a, &x| op.add(a, x));
    }
}

/// One block: element `k` goes to lane `k % LANES` of one of two accumulators (alternate
/// `LANES`-wide chunks), merged lane by lane at the end: two independent add chains per lane
/// hide the floating-point latency. Index loops over fixed-size local arrays (not slice
/// iterators) so that LLVM vectorizes them inside the ISA wrappers.
#[inline(always)]
fn lanes<T: Real, A: Accumulate>(block: &[T], seed: f64, op: A) -> [f64; LANES] {
    let mut acc = [seed; LANES];
    let mut acc2 = [seed; LANES];
    let n = block.len();
    let pairs = n - n % (2 * LANES);
    let mut i = 0;
    while i < pairs {
        let mut c = [T::ZERO; LANES];
        let mut d = [T::ZERO; LANES];
        c.copy_from_slice(&block[i..i + LANES]);
        d.copy_from_slice(&block[i + LANES..i + 2 * LANES]);
        for j in 0..LANES {
            acc[j] = op.add(acc[j], c[j].to_f64());
            acc2[j] = op.add(acc2[j], d[j].to_f64());
        }
        i += 2 * LANES;
    }
    for j in 0..LANES {
        acc[j] = op.merge(acc[j], acc2[j]);
    }
    let full = n - n % LANES;
    if pairs < full {
        let mut c = [T::ZERO; LANES];
        c.copy_from_slice(&block[pairs..full]);
        for j in 0..LANES {
            acc[j] = op.add(acc[j], c[j].to_f64());
        }
    }
    for k in full..n {
        acc[k - full] = op.add(acc[k - full], block[k].to_f64());
    }
    acc
}

/// Elements per task of the in-place passes.
const CHUNK: usize = 128 * 1024;

/// Runs `op` over every element of `grads`, in parallel chunks.
fn for_each_elem<T: Real, O: ElemOp<T>>(isa: Isa, grads: Vec<&mut [T]>, op: O) {
    let total: usize = grads.iter().map(|g| g.len()).sum();
    if par::pieces(total, CHUNK / 4) <= 1 {
        simd::dispatch(isa, ElemKernel { op, slices: grads });
        return;
    }
    let chunks: Vec<&mut [T]> = grads
        .into_iter()
        .flat_map(|g| g.chunks_mut(CHUNK))
        .collect();
    par::for_each(chunks, |c| {
        simd::dispatch(
            isa,
            ElemKernel {
                op,
                slices: vec![c],
            },
        )
    });
}

trait ElemOp<T>: Copy + Send + Sync {
    fn apply(&self, x: T) -> T;
}

#[derive(Clone, Copy)]
struct Scale<T>(T);

impl<T: Real> ElemOp<T> for Scale<T> {
    #[inline(always)]
    fn apply(&self, x: T) -> T {
        x * self.0
    }
}

/// Clamp to `[lo, hi]`; NaN stays NaN.
#[derive(Clone, Copy)]
struct Clamp<T> {
    lo: T,
    hi: T,
}

impl<T: Real> ElemOp<T> for Clamp<T> {
    #[inline(always)]
    fn apply(&self, x: T) -> T {
        let y = T::select(x > self.hi, self.hi, x);
        T::select(y < self.lo, self.lo, y)
    }
}

struct ElemKernel<'a, T, O> {
    op: O,
    slices: Vec<&'a mut [T]>,
}

impl<T: Real, O: ElemOp<T>> Kernel for ElemKernel<'_, T, O> {
    type Output = ();

    #[inline(always)]
    fn run(mut self) {
        for s in self.slices.iter_mut() {
            let n = s.len();
            let full = n - n % LANES;
            let mut i = 0;
            while i < full {
                let mut c = [T::ZERO; LANES];
                c.copy_from_slice(&s[i..i + LANES]);
                for x in c.iter_mut() {
                    *x = self.op.apply(*x);
                }
                s[i..i + LANES].copy_from_slice(&c);
                i += LANES;
            }
            for k in full..n {
                s[k] = self.op.apply(s[k]);
            }
        }
    }
}

/// Multiplies every gradient by `coef` (cast to `T`). A coefficient of exactly 1 changes
/// nothing, so that pass is skipped.
pub fn scale<T: Real>(grads: Vec<&mut [T]>, coef: f64) {
    if coef == 1.0 {
        return;
    }
    for_each_elem(simd::active(), grads, Scale(T::from_f64(coef)));
}

/// Clamps every gradient to `[-clip_value, clip_value]` in place.
pub fn clamp<T: Real>(grads: Vec<&mut [T]>, clip_value: f64) -> Result<(), LossError> {
    check_clip_value(clip_value)?;
    let hi = T::from_f64(clip_value);
    for_each_elem(simd::active(), grads, Clamp { lo: -hi, hi });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(n: usize, seed: u64) -> Vec<f32> {
        let mut x = seed;
        (0..n)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((x >> 40) as f32 / (1u64 << 24) as f32) - 0.5
            })
            .collect()
    }

    #[test]
    fn norms_match_plain_sums() {
        let a = data(100_003, 1);
        let b = data(17, 2);
        let grads: Vec<&[f32]> = vec![&a, &b];
        let all: Vec<f64> = a.iter().chain(b.iter()).map(|&x| x as f64).collect();
        let cases: [(f64, f64); 5] = [
            (2.0, all.iter().map(|x| x * x).sum::<f64>().sqrt()),
            (1.0, all.iter().map(|x| x.abs()).sum()),
            (3.0, all.iter().map(|x| x.abs().powi(3)).sum::<f64>().cbrt()),
            (f64::INFINITY, all.iter().fold(0.0, |m, x| m.max(x.abs()))),
            (
                f64::NEG_INFINITY,
                all.iter().fold(f64::INFINITY, |m, x| m.min(x.abs())),
            ),
        ];
        for (p, want) in cases {
            let mut acc = NormAccumulator::new(p).unwrap();
            acc.add(&grads);
            let got = acc.total();
            assert!((got - want).abs() <= 1e-12 * want, "p={p}: {got} vs {want}");
        }
        let mut acc = NormAccumulator::new(0.0).unwrap();
        let zeros = [0.0f32; 5];
        acc.add(&[&a[..], &zeros[..], &b[..]]);
        assert_eq!(acc.total(), 2.0);
    }

    #[test]
    fn norm_is_isa_independent() {
        let a = data(50_000, 3);
        for p in [2.0, 1.0, f64::INFINITY] {
            let mut bits = Vec::new();
            for isa in simd::available() {
                let mut acc = NormAccumulator::new(p).unwrap();
                acc.add_isa(isa, &[&a[..]]);
                bits.push(acc.total().to_bits());
            }
            assert!(bits.windows(2).all(|w| w[0] == w[1]));
        }
    }

    #[test]
    fn non_finite_values_propagate() {
        let a = [1.0f64, f64::NAN, 2.0];
        for p in [2.0, f64::INFINITY, f64::NEG_INFINITY] {
            let mut acc = NormAccumulator::new(p).unwrap();
            acc.add(&[&a[..]]);
            assert!(acc.total().is_nan(), "p={p}");
        }
        let b = [1.0f64, f64::INFINITY];
        let mut acc = NormAccumulator::new(2.0).unwrap();
        acc.add(&[&b[..]]);
        assert_eq!(acc.total(), f64::INFINITY);
        assert!(clip_coefficient(1.0, f64::NAN).is_nan());
        assert_eq!(clip_coefficient(1.0, f64::INFINITY), 0.0);
        assert_eq!(clip_coefficient(10.0, 1.0), 1.0);
    }

    #[test]
    fn scale_and_clamp_in_place() {
        let mut a = [1.0f32, -2.0, 3.0, f32::NAN];
        let mut b = data(300_000, 4);
        let b0 = b.clone();
        scale(vec![&mut a[..], &mut b[..]], 0.5);
        assert_eq!(&a[..3], &[0.5, -1.0, 1.5]);
        assert!(a[3].is_nan());
        assert!(b.iter().zip(&b0).all(|(x, y)| *x == y * 0.5));
        clamp(vec![&mut a[..]], 0.75).unwrap();
        assert_eq!(&a[..3], &[0.5, -0.75, 0.75]);
        assert!(a[3].is_nan());
        assert!(clamp(vec![&mut a[..]], -1.0).is_err());
        assert!(NormType::from_f64(-1.0).is_err());
        assert!(NormType::from_f64(f64::NAN).is_err());
    }
}
