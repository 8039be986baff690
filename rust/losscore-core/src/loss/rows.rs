//! Losses over a class axis: `x` is `rows x classes` (row-major, class axis last), one target
//! per row (a class index) or one per element (class probabilities), run by the shared
//! [`drive`](super::drive).
//!
//! Rows are cut into blocks of [`rows_per_block`] rows at fixed offsets (about [`BLOCK`] values,
//! a multiple of 16 rows). A loss implements [`RowLoss::group`], the math of up to [`GROUP`]
//! rows; [`Rows`] does the rest once: per-row weights and gradient factors, per-row outputs and
//! the fixed-lane block sums. A short pre-pass over the class indices validates them (before
//! anything is written, when the outputs are the caller's) and yields the "mean" denominators
//! `sum(w_n class_weight[y_n])` over the rows that are not ignored, block by block.

use super::drive::{self, Block, Blocks, Inputs, Request, Target};
use super::pointwise::floor_hess;
use crate::error::LossError;
use crate::reduce::{self, Reduction, BLOCK, LANES};
use crate::simd::Real;

/// Rows handed to [`RowLoss::group`] at a time.
pub const GROUP: usize = 16;

/// A loss over rows of class values.
pub trait RowLoss<T: Real>: Copy + Sync {
    /// Whether "mean" over class indices divides by `sum(w_n class_weight[y_n])` over the rows
    /// that are not ignored (PyTorch's `nll_loss`/`cross_entropy`) instead of `sum(w_n)`.
    const CLASS_WEIGHTED_MEAN: bool;
    /// The loss's name, for messages.
    const NAME: &'static str;
    fn classes(&self) -> usize;
    fn class_weight(&self) -> Option<&[T]>;
    fn ignore_index(&self) -> Option<i64>;
    /// Whether probability targets are accepted.
    fn accepts_prob(&self) -> bool;
    /// Whether class-index targets are accepted (losses whose targets are values of the
    /// logits' shape refuse them).
    fn accepts_index(&self) -> bool {
        true
    }
    /// Up to [`GROUP`] rows `x` with their `labels`: sets `loss[r]` (unweighted) and `live[r]`
    /// (false for an ignored row or an out-of-range label: the row counts 0), and, when `grad`
    /// is given, writes `k[r] * d l_r / d x` into its rows (zeros where not live). Returns
    /// whether an out-of-range label was met. When `hess` is given (always with `grad`), writes
    /// `k[r] * d^2 l_r / d x_j^2` (the diagonal; zeros where not live). Must be
    /// `#[inline(always)]`.
    fn group(&self, rows: GroupRows<'_, T>) -> bool;
}

/// The arguments of [`RowLoss::group`].
#[derive(Debug)]
pub struct GroupRows<'a, T> {
    /// `n * classes` values (`n <= GROUP` rows).
    pub x: &'a [T],
    pub labels: Target<'a, T>,
    /// Gradient factor of each row (`scale * w_n`).
    pub k: &'a [T; GROUP],
    pub loss: &'a mut [T; GROUP],
    pub live: &'a mut [bool; GROUP],
    pub grad: Option<&'a mut [T]>,
    /// The Hessian diagonal (only given with `grad`).
    pub hess: Option<&'a mut [T]>,
    /// Whether `loss` is read (false: derivatives only; a loss may then skip the value's math,
    /// e.g. the log of the exponential sum, as long as `live` and the derivatives are the same).
    pub value: bool,
}

/// Rows per reduction block for `classes` classes (a fixed function of `classes` only).
pub fn rows_per_block(classes: usize) -> usize {
    ((BLOCK / classes.max(1)) / 16 * 16).max(16)
}

/// Whether `y` is a valid class index.
#[inline(always)]
pub fn in_range(y: i64, classes: usize) -> bool {
    (y as u64) < classes as u64
}

/// A row loss as the driver's block kernel.
#[derive(Debug, Clone, Copy)]
pub struct Rows<L>(pub L);

impl<L> Rows<L> {
    /// Whether "mean" divides by `sum(w_n class_weight[y_n])` over the rows that count.
    fn class_weighted_mean<T: Real>(&self) -> bool
    where
        L: RowLoss<T>,
    {
        L::CLASS_WEIGHTED_MEAN
            && (self.0.class_weight().is_some() || self.0.ignore_index().is_some())
    }
}

impl<T: Real, L: RowLoss<T>> Blocks<T> for Rows<L> {
    fn width(&self) -> usize {
        self.0.classes()
    }
    fn per_block(&self) -> usize {
        rows_per_block(self.0.classes())
    }
    fn grain(&self) -> usize {
        1
    }

    fn check(&self, inputs: &Inputs<'_, T>, reduction: Reduction) -> Result<(), LossError> {
        if reduction == Reduction::BatchMean {
            return Err(crate::error::invalid(
                "reduction",
                "'batchmean' is only defined for kl_div",
            ));
        }
        if let Target::Units(_) | Target::Absent = inputs.target {
            return Err(crate::error::invalid(
                "target",
                "expected class indices or class probabilities",
            ));
        }
        if let Target::Index(_) = inputs.target {
            if !self.0.accepts_index() {
                return Err(crate::error::invalid(
                    "target",
                    format!(
                        "{} takes values of the logits' shape, not class indices",
                        L::NAME
                    ),
                ));
            }
        }
        if let Target::Values(_) = inputs.target {
            if !self.0.accepts_prob() && self.0.ignore_index().is_some() {
                return Err(crate::error::invalid(
                    "ignore_index",
                    "not supported with probability targets",
                ));
            }
            if !self.0.accepts_prob() {
                return Err(crate::error::invalid(
                    "target",
                    format!("{} takes class indices, not probabilities", L::NAME),
                ));
            }
        }
        Ok(())
    }

    fn prepass(
        &self,
        inputs: &Inputs<'_, T>,
        validate: bool,
    ) -> Result<Option<Vec<f64>>, LossError> {
        let weighted_mean = self.class_weighted_mean();
        match inputs.target {
            Target::Index(y) if validate || weighted_mean => {
                let d = label_partials(&self.0, y, inputs.weight)?;
                Ok(weighted_mean.then_some(d))
            }
            _ => Ok(None),
        }
    }

    fn find_bad(&self, inputs: &Inputs<'_, T>) -> Result<(), LossError> {
        match inputs.target {
            Target::Index(y) => label_partials(&self.0, y, inputs.weight).map(|_| ()),
            _ => Ok(()),
        }
    }

    fn unit_denominators(&self, inputs: &Inputs<'_, T>) -> Result<Option<Vec<f64>>, LossError> {
        match inputs.target {
            Target::Index(y) if self.class_weighted_mean() => {
                let mut terms = Vec::with_capacity(y.len());
                label_terms(&self.0, y, inputs.weight, 0, &mut terms)?;
                Ok(Some(terms))
            }
            _ => Ok(inputs
                .weight
                .map(|w| w.iter().map(|v| v.to_f64()).collect())),
        }
    }

    fn objective_mode(&self) -> bool {
        true
    }

    #[inline(always)]
    fn block(&self, blk: Block<'_, T>) -> (f64, bool) {
        // One instance with the Hessian and one without: the value and gradient paths stay
        // as they are without it. Derivatives only (`D`, always with the gradient): two more.
        match (blk.hess.is_some(), blk.derivatives_only) {
            (true, false) => block_rows::<T, L, true, false>(&self.0, blk),
            (false, false) => block_rows::<T, L, false, false>(&self.0, blk),
            (true, true) => block_rows::<T, L, true, true>(&self.0, blk),
            (false, true) => block_rows::<T, L, false, true>(&self.0, blk),
        }
    }
}

/// One block of rows; `H`: whether the Hessian diagonal is written; `D`: derivatives only (no
/// loss value read or summed).
#[inline(always)]
fn block_rows<T: Real, L: RowLoss<T>, const H: bool, const D: bool>(
    kernel: &L,
    blk: Block<'_, T>,
) -> (f64, bool) {
    let Block {
        x,
        target,
        weight,
        mut loss_out,
        mut grad,
        hess,
        scale,
        hess_floor,
        ..
    } = blk;
    let mut hess = if H { hess } else { None };
    let c_n = kernel.classes();
    let rows = match target {
        Target::Index(y) => y.len(),
        Target::Values(t) => t.len().checked_div(c_n).unwrap_or(0),
        Target::Units(_) | Target::Absent => 0, // refused by `check`
    };
    let mut acc = [0.0f64; LANES];
    let mut bad = false;
    let mut r0 = 0;
    while r0 < rows {
        let nr = (rows - r0).min(GROUP);
        let mut k = [scale; GROUP];
        if let Some(w) = weight {
            for r in 0..nr {
                k[r] = scale * w[r0 + r];
            }
        }
        let mut loss = [T::ZERO; GROUP];
        let mut live = [false; GROUP];
        let labels = target.range(r0, r0 + nr, c_n);
        bad |= kernel.group(GroupRows {
            x: &x[r0 * c_n..(r0 + nr) * c_n],
            labels,
            k: &k,
            loss: &mut loss,
            live: &mut live,
            grad: grad
                .as_deref_mut()
                .map(|g| &mut g[r0 * c_n..(r0 + nr) * c_n]),
            hess: hess
                .as_deref_mut()
                .map(|h| &mut h[r0 * c_n..(r0 + nr) * c_n]),
            value: !D,
        });
        if let (true, Some(f), Some(h)) = (H, hess_floor, hess.as_deref_mut()) {
            // `h = max(h, floor * w_n)` over the group's rows (still in L1), NaN in `h` kept;
            // unweighted as one flat loop (rows of few classes do not vectorize one by one).
            let group = &mut h[r0 * c_n..(r0 + nr) * c_n];
            match weight {
                Some(w) => {
                    for (row, &wr) in group.chunks_exact_mut(c_n.max(1)).zip(&w[r0..r0 + nr]) {
                        floor_hess::<T, false>(row, &[], f * wr);
                    }
                }
                None => floor_hess::<T, false>(group, &[], f),
            }
        }
        if D {
            r0 += nr;
            continue;
        }
        for r in 0..nr {
            let n = r0 + r;
            let wl = match (live[r], weight) {
                (false, _) => T::ZERO,
                (true, Some(w)) => w[n] * loss[r],
                (true, None) => loss[r],
            };
            match loss_out.as_deref_mut() {
                Some(lo) => lo[n] = wl,
                // r0 is a multiple of GROUP = LANES: row n goes to lane n % LANES.
                None => acc[r] += wl.to_f64(),
            }
        }
        r0 += nr;
    }
    (reduce::sum_lanes(&acc), bad)
}

/// Convenience for Rust callers and tests: [`drive::evaluate`] of a row loss.
#[allow(clippy::too_many_arguments)]
pub fn evaluate_rows<T: Real, L: RowLoss<T>>(
    loss: &L,
    x: &[T],
    rows: usize,
    labels: Target<'_, T>,
    weight: Option<&[T]>,
    reduction: Reduction,
    loss_out: Option<&mut [T]>,
    grad_out: Option<&mut [T]>,
    prevalidate: bool,
) -> Result<f64, LossError> {
    let inputs = Inputs::rows(x, rows, labels).weight(weight);
    let req = Request::value(inputs, reduction)
        .loss_out(loss_out)
        .grad_out(grad_out)
        .prevalidate(prevalidate);
    let value = drive::drive(&Rows(*loss), req)?.finish(reduction);
    Ok(value)
}

/// Validates class indices (first bad flat position) and returns, per block of rows, the
/// `sum(w_n class_weight[y_n])` over the rows that are not ignored.
fn label_partials<T: Real, L: RowLoss<T>>(
    loss: &L,
    y: &[i64],
    weight: Option<&[T]>,
) -> Result<Vec<f64>, LossError> {
    let per_block = rows_per_block(loss.classes());
    let mut terms = Vec::with_capacity(per_block.min(y.len()));
    let mut out = Vec::with_capacity(y.len().div_ceil(per_block));
    for (b, chunk) in y.chunks(per_block).enumerate() {
        let lo = b * per_block;
        terms.clear();
        label_terms(
            loss,
            chunk,
            weight.map(|w| &w[lo..lo + chunk.len()]),
            lo,
            &mut terms,
        )?;
        out.push(reduce::fold(&terms));
    }
    Ok(out)
}

/// Appends each row's `w_n class_weight[y_n]` (0 for ignored rows) to `out`; the first row is
/// at flat index `first` (for the message of an out-of-range label).
fn label_terms<T: Real, L: RowLoss<T>>(
    loss: &L,
    y: &[i64],
    weight: Option<&[T]>,
    first: usize,
    out: &mut Vec<f64>,
) -> Result<(), LossError> {
    let classes = loss.classes();
    let ignore = loss.ignore_index();
    let cw = loss.class_weight();
    for (k, &label) in y.iter().enumerate() {
        if Some(label) == ignore {
            out.push(0.0);
            continue;
        }
        if !in_range(label, classes) {
            let ignored = match ignore {
                Some(v) => format!(" and is not ignore_index={v}"),
                None => String::new(),
            };
            return Err(LossError::InvalidTarget {
                name: "target",
                index: first + k,
                message: format!("class index {label} is outside [0, {classes}){ignored}"),
            });
        }
        let c = cw.map_or(1.0, |w| w[label as usize].to_f64());
        let s = weight.map_or(1.0, |w| w[k].to_f64());
        out.push(c * s);
    }
    Ok(())
}

/// Checks `class_weight` (length `classes`, non-negative) for the row losses' constructors.
pub fn check_class_weight<T: Real>(cw: Option<&[T]>, classes: usize) -> Result<(), LossError> {
    let Some(cw) = cw else { return Ok(()) };
    if cw.len() != classes {
        return Err(LossError::ShapeMismatch {
            left: "class_weight",
            left_shape: vec![cw.len()],
            right: "logits class axis",
            right_shape: vec![classes],
        });
    }
    if let Some(i) = cw.iter().position(|&x| x < T::ZERO) {
        return Err(LossError::InvalidWeight {
            name: "class_weight",
            index: i,
            value: cw[i].to_f64(),
        });
    }
    Ok(())
}

// ---- shared row helpers (all `#[inline(always)]`, fixed lane order) ----

/// The last `x.len() % 16` values as a full chunk whose other lanes hold `fill`, so the tail runs
/// through the same vector code as the body (a scalar tail of `exp` costs as much as the body for
/// rows of ~100 classes). Rows of at least 16 values reload the last 16 (overlapping the body)
/// and mask the repeated lanes: building the chunk on the stack would stall store forwarding.
/// Returns the chunk and the index of the first real tail value in it.
#[inline(always)]
fn tail_chunk<T: Real>(x: &[T], fill: T) -> ([T; LANES], usize) {
    let rem = x.len() % LANES;
    if x.len() >= LANES {
        let last: &[T; LANES] = x[x.len() - LANES..].try_into().expect("16 values");
        let skip = LANES - rem;
        let mut out = [fill; LANES];
        for j in 0..LANES {
            out[j] = T::select(j >= skip, last[j], fill);
        }
        (out, skip)
    } else {
        let mut out = [fill; LANES];
        out[..rem].copy_from_slice(&x[x.len() - rem..]);
        (out, 0)
    }
}

/// Max of a row in 16 lanes (max is exact, so the order does not matter; NaN is skipped here
/// and caught by the exponential sum).
#[inline(always)]
pub fn row_max<T: Real>(x: &[T]) -> T {
    let mut acc = [-T::INFINITY; LANES];
    let mut chunks = x.chunks_exact(LANES);
    for c in &mut chunks {
        for j in 0..LANES {
            acc[j] = T::select(c[j] > acc[j], c[j], acc[j]);
        }
    }
    if !chunks.remainder().is_empty() {
        let (tail, _) = tail_chunk(x, -T::INFINITY);
        for j in 0..LANES {
            acc[j] = T::select(tail[j] > acc[j], tail[j], acc[j]);
        }
    }
    lanes_max(acc)
}

/// Adds 16 lanes in a fixed pairwise tree (16 -> 8 -> 4 -> 2 -> 1), written out step by step so
/// the lanes stay in registers (a loop over a halving width left them on the stack, where reading
/// single lanes of a just-stored vector stalls store forwarding once per row).
#[inline(always)]
pub fn lanes_sum<T: Real>(a: [T; LANES]) -> T {
    let mut b = [T::ZERO; 8];
    for i in 0..8 {
        b[i] = a[i] + a[i + 8];
    }
    let mut c = [T::ZERO; 4];
    for i in 0..4 {
        c[i] = b[i] + b[i + 4];
    }
    (c[0] + c[2]) + (c[1] + c[3])
}

/// Max of 16 lanes in the same tree shape (max is exact: any order gives the same value).
#[inline(always)]
fn lanes_max<T: Real>(a: [T; LANES]) -> T {
    let mx = |u: T, v: T| T::select(v > u, v, u);
    let mut b = [T::ZERO; 8];
    for i in 0..8 {
        b[i] = mx(a[i], a[i + 8]);
    }
    let mut c = [T::ZERO; 4];
    for i in 0..4 {
        c[i] = mx(b[i], b[i + 4]);
    }
    mx(mx(c[0], c[2]), mx(c[1], c[3]))
}

/// `sum_j exp(x_j - m)`, storing each exponential in `store` when given. Tail lanes that do not
/// hold a tail value get `-inf`, whose exponential is exactly 0, so the lane sums are unchanged.
#[inline(always)]
pub fn exp_sum<T: Real>(x: &[T], m: T, store: Option<&mut [T]>) -> T {
    let mut acc = [T::ZERO; LANES];
    let mut xc = x.chunks_exact(LANES);
    let rem = xc.remainder().len();
    match store {
        Some(out) => {
            let mut oc = out.chunks_exact_mut(LANES);
            for (c, o) in (&mut xc).zip(&mut oc) {
                for j in 0..LANES {
                    let e = (c[j] - m).exp();
                    o[j] = e;
                    acc[j] = acc[j] + e;
                }
            }
            if rem > 0 {
                let (tail, first) = tail_chunk(x, -T::INFINITY);
                let mut e = [T::ZERO; LANES];
                for j in 0..LANES {
                    e[j] = (tail[j] - m).exp();
                    acc[j] = acc[j] + e[j];
                }
                oc.into_remainder().copy_from_slice(&e[first..first + rem]);
            }
        }
        None => {
            for c in &mut xc {
                for j in 0..LANES {
                    acc[j] = acc[j] + (c[j] - m).exp();
                }
            }
            if rem > 0 {
                let (tail, _) = tail_chunk(x, -T::INFINITY);
                for j in 0..LANES {
                    acc[j] = acc[j] + (tail[j] - m).exp();
                }
            }
        }
    }
    lanes_sum(acc)
}

/// `exp(v - m)` and the same with the rounding error of `v - m` restored (`exp(d + err) ~
/// exp(d) (1 + err)`, `err` from TwoSum): `v - m` rounds to half an ulp of `|v - m|`, which
/// `exp` turns into a relative error of that size (8 ulp at `v - m = -20`).
///
#[inline(always)]
pub fn exp_shifted<T: Real>(v: T, m: T) -> (T, T) {
    let d = v - m;
    let e = d.exp();
    let vv = d - v;
    let err = (v - (d - vv)) + (-m - vv);
    // e = 0 (v = -inf, or far below m): the correction is 0, not 0 * nan.
    let exact = e + T::select(e == T::ZERO, T::ZERO, e * err);
    (e, exact)
}

/// `(a + b, its rounding error)` (TwoSum: exact, any order of magnitudes).
#[inline(always)]
pub fn two_sum<T: Real>(a: T, b: T) -> (T, T) {
    let s = a + b;
    let bb = s - a;
    (s, (a - (s - bb)) + (b - bb))
}

/// [`exp_sum`] and `sum_j exp(x_j - m) - 1` computed without adding the 1 (for `ln_1p`):
/// the terms at `x_j == m` (exactly 1) are counted apart, so the small terms keep their bits
/// when the sum is close to 1, each keeps the rounding error of its `x_j - m` (see
/// [`exp_shifted`]), and they are summed with compensation (TwoSum), so `s - 1` is good to
/// about an ulp. `(s, s - 1)`; `s` is bitwise [`exp_sum`]'s.
#[inline(always)]
pub fn exp_sum_minus_one<T: Real>(x: &[T], m: T, store: Option<&mut [T]>) -> (T, T) {
    let mut acc = [T::ZERO; LANES];
    let mut rest = [T::ZERO; LANES];
    let mut comp = [T::ZERO; LANES];
    let mut ones = [T::ZERO; LANES];
    let mut add = |j: usize, v: T, e: T, exact: T| {
        acc[j] = acc[j] + e;
        let top = v == m;
        let err;
        (rest[j], err) = two_sum(rest[j], T::select(top, T::ZERO, exact));
        comp[j] = comp[j] + err;
        ones[j] = ones[j] + T::select(top, T::ONE, T::ZERO);
    };
    let mut xc = x.chunks_exact(LANES);
    let rem = xc.remainder().len();
    match store {
        Some(out) => {
            let mut oc = out.chunks_exact_mut(LANES);
            for (c, o) in (&mut xc).zip(&mut oc) {
                for j in 0..LANES {
                    let (e, exact) = exp_shifted(c[j], m);
                    o[j] = e;
                    add(j, c[j], e, exact);
                }
            }
            if rem > 0 {
                let (tail, first) = tail_chunk(x, -T::INFINITY);
                let mut e = [T::ZERO; LANES];
                for j in 0..LANES {
                    let exact;
                    (e[j], exact) = exp_shifted(tail[j], m);
                    add(j, tail[j], e[j], exact);
                }
                oc.into_remainder().copy_from_slice(&e[first..first + rem]);
            }
        }
        None => {
            for c in &mut xc {
                for (j, &v) in c.iter().enumerate() {
                    let (e, exact) = exp_shifted(v, m);
                    add(j, v, e, exact);
                }
            }
            if rem > 0 {
                let (tail, _) = tail_chunk(x, -T::INFINITY);
                for (j, &v) in tail.iter().enumerate() {
                    let (e, exact) = exp_shifted(v, m);
                    add(j, v, e, exact);
                }
            }
        }
    }
    // The padding (-inf) never equals a finite shift; ones >= 1 for a finite row.
    let (mut hi, mut lo) = (T::ZERO, T::ZERO);
    for j in 0..LANES {
        let err;
        (hi, err) = two_sum(hi, rest[j]);
        lo = lo + (err + comp[j]);
    }
    (lanes_sum(acc), hi + (lo + (lanes_sum(ones) - T::ONE)))
}

/// `impl Loss` for row losses (each is its own kernel).
#[macro_export]
macro_rules! row_loss {
    ($($ty:ty),* $(,)?) => {
        $crate::loss_through!($crate::loss::rows::Rows, $($ty),*);
    };
}
