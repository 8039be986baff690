//! Element-wise losses: `l_i = l(pred_i, target_i)`, run by the shared [`drive`](super::drive).
//!
//! One pass over `pred`, `target` (and `weight`) computes the per-element loss, its first (and,
//! when asked, second) derivative with respect to `pred`, and the block partials of the
//! reduction. The second derivative is scaled like the gradient (`w * scale`). Where a loss is
//! piecewise linear its second derivative is 0 wherever it is defined; at a kink (a point where
//! the gradient jumps) it is reported as 0 as well. A loss implements
//! [`Pointwise`] (its per-element math) and [`Loss`] through [`elementwise_loss!`] (or by hand,
//! when it picks one kernel type per option combination).

use super::drive::{self, Block, Blocks, Inputs, Loss, Request, Target};
use super::scan;
use crate::error::{invalid, LossError};
use crate::reduce::{self, Partials, Reduction, BLOCK, LANES};
use crate::simd::Real;

/// An element-wise loss `l(p, t)` with its derivative `dl/dp`.
pub trait Pointwise<T: Real>: Copy + Send + Sync {
    /// Transcendental per-element work: worth threads at smaller sizes.
    const HEAVY: bool = false;
    /// Whether `target_ok` must be checked.
    const CHECKS_TARGET: bool = false;
    /// Whether `Reduction::BatchMean` (`sum / shape[0]`) is defined for this loss.
    const BATCHMEAN: bool = false;

    /// The loss of one element. Must be `#[inline(always)]` and branch-free.
    fn value(&self, p: T, t: T) -> T;
    /// The loss and `d loss / d p` of one element, from shared intermediates.
    fn value_grad(&self, p: T, t: T) -> (T, T);
    /// The loss, `d loss / d p` and `d^2 loss / d p^2` of one element (the closed form; 0 where
    /// the loss is linear in `p`), from shared intermediates. The value and gradient must be
    /// bitwise those of [`Pointwise::value_grad`].
    fn value_grad_hess(&self, p: T, t: T) -> (T, T, T);
    /// Whether a target value is allowed (only called when `CHECKS_TARGET`).
    #[inline(always)]
    fn target_ok(&self, _t: T) -> bool {
        true
    }
    /// What an allowed target is, for the error message.
    fn target_rule(&self) -> &'static str {
        ""
    }

    /// Whether `pred_ok` must be checked (e.g. probabilities in [0, 1]).
    const CHECKS_PRED: bool = false;
    /// Whether a prediction value is allowed (only called when `CHECKS_PRED`).
    #[inline(always)]
    fn pred_ok(&self, _p: T) -> bool {
        true
    }
    /// What an allowed prediction is, for the error message.
    fn pred_rule(&self) -> &'static str {
        ""
    }
    /// The name of the first argument, for the error message.
    fn pred_name(&self) -> &'static str {
        "pred"
    }

    /// Whether the loss takes a per-column factor `c` (e.g. `pos_weight`): element `i` gets
    /// `cols[i % cols.len()]` and the `*_col` methods are called instead.
    const COLUMNS: bool = false;
    /// The loss of one element with its column factor.
    #[inline(always)]
    fn value_col(&self, p: T, t: T, _c: T) -> T {
        self.value(p, t)
    }
    /// The loss and derivative of one element with its column factor.
    #[inline(always)]
    fn value_grad_col(&self, p: T, t: T, _c: T) -> (T, T) {
        self.value_grad(p, t)
    }
    /// The loss and first and second derivatives of one element with its column factor.
    #[inline(always)]
    fn value_grad_hess_col(&self, p: T, t: T, _c: T) -> (T, T, T) {
        self.value_grad_hess(p, t)
    }
}

/// `impl Loss` for element-wise losses that are their own kernel.
#[macro_export]
macro_rules! elementwise_loss {
    ($($ty:ty),* $(,)?) => {
        $crate::loss_through!($crate::loss::pointwise::Elementwise, $($ty),*);
    };
}

/// Convenience for Rust callers and tests: [`drive::evaluate`] of an element-wise loss.
#[allow(clippy::too_many_arguments)]
pub fn evaluate<T: Real, L: Loss<T>>(
    loss: L,
    pred: &[T],
    target: &[T],
    weight: Option<&[T]>,
    reduction: Reduction,
    loss_out: Option<&mut [T]>,
    grad_out: Option<&mut [T]>,
    prevalidate: bool,
) -> Result<f64, LossError> {
    let inputs = Inputs::elementwise(pred, target).weight(weight);
    let req = Request::value(inputs, reduction)
        .loss_out(loss_out)
        .grad_out(grad_out)
        .prevalidate(prevalidate);
    drive::evaluate(&loss, req)
}

/// The block partials of an element-wise loss (for chunked evaluation).
pub fn partials<T: Real, L: Loss<T>>(
    loss: L,
    inputs: Inputs<'_, T>,
) -> Result<Partials, LossError> {
    loss.run(Request::value(inputs, Reduction::Sum))
}

/// Blocks per parallel piece below which threads do not pay. `benchmarks/parallel_threshold.py`
/// on a busy 2-core AMD EPYC (Zen 4, load 6-11) found no crossover below 2^18 elements for any
/// family, but splitting early cost at most 4% there (the caller claims the helpers' pieces when
/// they wake late), so the grains stay at the idle-machine values.
const GRAIN_LIGHT: usize = 4; // 32 Ki elements: memory-bound kernels
const GRAIN_HEAVY: usize = 1; // 8 Ki elements: exp/log kernels

/// An element-wise loss as the driver's block kernel.
#[derive(Debug, Clone, Copy)]
pub struct Elementwise<L>(pub L);

impl<T: Real, L: Pointwise<T>> Blocks<T> for Elementwise<L> {
    fn width(&self) -> usize {
        1
    }
    fn per_block(&self) -> usize {
        BLOCK
    }
    fn grain(&self) -> usize {
        if L::HEAVY {
            GRAIN_HEAVY
        } else {
            GRAIN_LIGHT
        }
    }

    fn check(&self, inputs: &Inputs<'_, T>, reduction: Reduction) -> Result<(), LossError> {
        if reduction == Reduction::BatchMean && !L::BATCHMEAN {
            return Err(invalid(
                "reduction",
                "'batchmean' is only defined for kl_div",
            ));
        }
        if !matches!(inputs.target, Target::Values(_)) {
            return Err(invalid(
                "target",
                "expected values of the first argument's shape",
            ));
        }
        let n = inputs.units;
        match inputs.cols {
            Some(c) if L::COLUMNS => {
                if c.is_empty() || (n > 0 && n % c.len() != 0) {
                    return Err(invalid(
                        "pos_weight",
                        format!("{} column factors do not tile {n} elements", c.len()),
                    ));
                }
                drive::check_weights("pos_weight", c)
            }
            None if L::COLUMNS => Err(invalid("pos_weight", "column factors are required")),
            _ => Ok(()),
        }
    }

    fn prepass(
        &self,
        inputs: &Inputs<'_, T>,
        validate: bool,
    ) -> Result<Option<Vec<f64>>, LossError> {
        if validate {
            self.find_bad(inputs)?;
        }
        Ok(None)
    }

    fn find_bad(&self, inputs: &Inputs<'_, T>) -> Result<(), LossError> {
        match inputs.target {
            Target::Values(t) if L::CHECKS_TARGET || L::CHECKS_PRED => {
                check_targets(&self.0, inputs.x, t)
            }
            _ => Ok(()),
        }
    }

    fn objective_mode(&self) -> bool {
        true
    }

    #[inline(always)]
    fn block(&self, blk: Block<'_, T>) -> (f64, bool) {
        // Monomorphize the hot loop for each combination so no option is tested per element.
        // The Hessian comes only with the gradient (checked by the driver); derivatives only
        // (`D`) only with the gradient and without per-element losses.
        match (
            blk.weight.is_some(),
            blk.grad.is_some(),
            blk.hess.is_some(),
            blk.loss_out.is_some(),
            blk.derivatives_only,
        ) {
            (false, false, _, false, _) => {
                block_of::<T, L, false, false, false, false, false>(&self.0, blk)
            }
            (false, false, _, true, _) => {
                block_of::<T, L, false, false, false, true, false>(&self.0, blk)
            }
            (false, true, false, false, false) => {
                block_of::<T, L, false, true, false, false, false>(&self.0, blk)
            }
            (false, true, false, true, _) => {
                block_of::<T, L, false, true, false, true, false>(&self.0, blk)
            }
            (false, true, true, false, false) => {
                block_of::<T, L, false, true, true, false, false>(&self.0, blk)
            }
            (false, true, true, true, _) => {
                block_of::<T, L, false, true, true, true, false>(&self.0, blk)
            }
            (true, false, _, false, _) => {
                block_of::<T, L, true, false, false, false, false>(&self.0, blk)
            }
            (true, false, _, true, _) => {
                block_of::<T, L, true, false, false, true, false>(&self.0, blk)
            }
            (true, true, false, false, false) => {
                block_of::<T, L, true, true, false, false, false>(&self.0, blk)
            }
            (true, true, false, true, _) => {
                block_of::<T, L, true, true, false, true, false>(&self.0, blk)
            }
            (true, true, true, false, false) => {
                block_of::<T, L, true, true, true, false, false>(&self.0, blk)
            }
            (true, true, true, true, _) => {
                block_of::<T, L, true, true, true, true, false>(&self.0, blk)
            }
            (false, true, false, false, true) => {
                block_of::<T, L, false, true, false, false, true>(&self.0, blk)
            }
            (false, true, true, false, true) => {
                block_of::<T, L, false, true, true, false, true>(&self.0, blk)
            }
            (true, true, false, false, true) => {
                block_of::<T, L, true, true, false, false, true>(&self.0, blk)
            }
            (true, true, true, false, true) => {
                block_of::<T, L, true, true, true, false, true>(&self.0, blk)
            }
        }
    }
}

/// Reports the first flat position whose target (or prediction) is not allowed: a vectorized
/// scan finds the first span holding one, and only that span is searched for the message.
fn check_targets<T: Real, L: Pointwise<T>>(
    loss: &L,
    pred: &[T],
    target: &[T],
) -> Result<(), LossError> {
    let check = DomainCheck { loss, pred, target };
    let Some(from) = scan::first_rejected_span(&check, pred.len()) else {
        return Ok(());
    };
    for (i, (&p, &t)) in pred.iter().zip(target).enumerate().skip(from) {
        if L::CHECKS_PRED && !loss.pred_ok(p) {
            return Err(LossError::InvalidTarget {
                name: loss.pred_name(),
                index: i,
                message: format!("{}, got {:?}", loss.pred_rule(), p),
            });
        }
        if L::CHECKS_TARGET && !loss.target_ok(t) {
            return Err(LossError::InvalidTarget {
                name: "target",
                index: i,
                message: format!("{}, got {:?}", loss.target_rule(), t),
            });
        }
    }
    Ok(())
}

/// A loss's prediction and target domains as a [`scan::RangeCheck`].
struct DomainCheck<'a, T, L> {
    loss: &'a L,
    pred: &'a [T],
    target: &'a [T],
}

impl<T: Real, L: Pointwise<T>> scan::RangeCheck for DomainCheck<'_, T, L> {
    #[inline(always)]
    fn any_rejected(&self, range: std::ops::Range<usize>) -> bool {
        let (ps, ts) = (&self.pred[range.clone()], &self.target[range]);
        let mut any = false;
        for (&p, &t) in ps.iter().zip(ts) {
            if L::CHECKS_PRED {
                any |= !self.loss.pred_ok(p);
            }
            if L::CHECKS_TARGET {
                any |= !self.loss.target_ok(t);
            }
        }
        any
    }
}

/// One block with its options fixed at compile time.
#[inline(always)]
fn block_of<
    T: Real,
    L: Pointwise<T>,
    const W: bool,
    const G: bool,
    const H: bool,
    const E: bool,
    const D: bool,
>(
    loss: &L,
    blk: Block<'_, T>,
) -> (f64, bool) {
    let Block {
        x,
        target,
        weight,
        loss_out,
        grad,
        hess,
        cols,
        unit0,
        scale,
        hess_floor,
        ..
    } = blk;
    let Target::Values(t) = target else {
        return (0.0, false);
    };
    let w = weight.unwrap_or(&[]);
    let l_out = loss_out.unwrap_or(&mut []);
    let g_out = grad.unwrap_or(&mut []);
    let h_out = hess.unwrap_or(&mut []);
    let outs = Outs {
        loss: l_out,
        grad: g_out,
        hess: h_out,
        floor: hess_floor,
    };
    if L::COLUMNS {
        let col0 = unit0 % cols.len().max(1);
        return block_cols::<T, L, W, G, H, E, D>(loss, x, t, cols, col0, w, outs, scale);
    }
    block::<T, L, W, G, H, E, D>(loss, x, t, w, outs, scale)
}

/// The per-element outputs of a block (empty when not asked for), with the Hessian floor.
struct Outs<'a, T> {
    loss: &'a mut [T],
    grad: &'a mut [T],
    hess: &'a mut [T],
    floor: Option<T>,
}

/// `max(h, floor)` with NaN in `h` kept and ties going to `floor` (a `-0` Hessian of a zero
/// weight becomes `+0`), as NumPy's `maximum(h, floor)`.
#[inline(always)]
pub(crate) fn floored<T: Real>(h: T, floor: T) -> T {
    T::select(h <= floor, floor, h)
}

/// `h = max(h, floor * w)` (`floor` unweighted) over one sub-chunk (see [`floored`]). A pass of
/// its own over L1-resident values, so the element loop is the same with and without it.
#[inline(always)]
pub(crate) fn floor_hess<T: Real, const W: bool>(h: &mut [T], w: &[T], floor: T) {
    if W {
        for (hi, &wi) in h.iter_mut().zip(w) {
            *hi = floored(*hi, floor * wi);
        }
    } else {
        for hi in h.iter_mut() {
            *hi = floored(*hi, floor);
        }
    }
}

/// Elements per sub-chunk: the element loop writes their `w*l` terms to an L1-resident buffer.
const SUB: usize = 256;

/// One block: element `k` goes to lane `k % LANES`; lanes are added in a fixed tree.
///
/// Two simple loops per sub-chunk vectorize far better than one fused loop: the element loop
/// (transcendentals, outputs) works in `T` only, so LLVM vectorizes it at full width; the lane
/// loop then widens the buffered `w*l` terms into the f64 lanes. Derivatives only (`D`): the
/// terms are neither buffered nor summed, so the value's math is dead code and goes away.
#[inline(always)]
fn block<
    T: Real,
    L: Pointwise<T>,
    const W: bool,
    const G: bool,
    const H: bool,
    const E: bool,
    const D: bool,
>(
    loss: &L,
    p: &[T],
    t: &[T],
    w: &[T],
    outs: Outs<'_, T>,
    scale: T,
) -> (f64, bool) {
    let Outs {
        loss: l_out,
        grad: g_out,
        hess: h_out,
        floor,
    } = outs;
    // A local copy: its fields are then plain values LLVM can hoist and unswitch on, where a
    // reference would be re-read after every store to the outputs.
    let loss = *loss;
    let loss = &loss;
    let n = p.len();
    let mut acc = [0.0f64; LANES];
    let mut terms = [T::ZERO; SUB];
    let mut bad = false;
    let mut start = 0;
    while start < n {
        let m = SUB.min(n - start);
        let ps = &p[start..start + m];
        let ts = &t[start..start + m];
        let ws: &[T] = if W { &w[start..start + m] } else { &[] };
        let ls: &mut [T] = if E {
            &mut l_out[start..start + m]
        } else {
            &mut []
        };
        let gs: &mut [T] = if G {
            &mut g_out[start..start + m]
        } else {
            &mut []
        };
        let hs: &mut [T] = if H {
            &mut h_out[start..start + m]
        } else {
            &mut []
        };
        let sub_terms = &mut terms[..m];
        for i in 0..m {
            let wi = if W { ws[i] } else { T::ONE };
            let (l, g, h, b) = element::<T, L, W, G, H>(loss, ps[i], ts[i], wi, scale);
            if E {
                ls[i] = l;
            } else if !D {
                sub_terms[i] = l;
            }
            if G {
                gs[i] = g;
            }
            if H {
                hs[i] = h;
            }
            bad |= b;
        }
        if let (true, Some(f)) = (H, floor) {
            floor_hess::<T, W>(hs, ws, f);
        }
        if !E && !D {
            // `start` is a multiple of SUB (a multiple of LANES): term i goes to lane i % LANES.
            // A partial last chunk is padded with +0, which leaves every lane's bits unchanged
            // (a lane starts at +0 and so is never -0), so the lanes take whole chunks only.
            let whole = m.div_ceil(LANES) * LANES;
            terms[m..whole].fill(T::ZERO);
            reduce::add_chunks_to_lanes(&mut acc, &terms[..whole]);
        }
        start += m;
    }
    (reduce::sum_lanes(&acc), bad)
}

/// One element: (`w*l`, `w*g*scale`, `w*h*scale`, bad target or prediction).
#[inline(always)]
fn element<T: Real, L: Pointwise<T>, const W: bool, const G: bool, const H: bool>(
    loss: &L,
    p: T,
    t: T,
    w: T,
    scale: T,
) -> (T, T, T, bool) {
    let (l, d, d2) = if H {
        loss.value_grad_hess(p, t)
    } else if G {
        let (l, d) = loss.value_grad(p, t);
        (l, d, T::ZERO)
    } else {
        (loss.value(p, t), T::ZERO, T::ZERO)
    };
    let bad = (L::CHECKS_TARGET && !loss.target_ok(t)) | (L::CHECKS_PRED && !loss.pred_ok(p));
    if W {
        // w * scale first: w * d can overflow where the scaled weight cannot.
        let k = w * scale;
        (w * l, d * k, d2 * k, bad)
    } else {
        (l, d * scale, d2 * scale, bad)
    }
}

/// One block of a loss with column factors: element `k` has column `(col0 + k) % cols.len()`
/// and goes to lane `k % LANES`. A plain loop (the column counter defeats vectorization).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn block_cols<
    T: Real,
    L: Pointwise<T>,
    const W: bool,
    const G: bool,
    const H: bool,
    const E: bool,
    const D: bool,
>(
    loss: &L,
    p: &[T],
    t: &[T],
    cols: &[T],
    col0: usize,
    w: &[T],
    outs: Outs<'_, T>,
    scale: T,
) -> (f64, bool) {
    let Outs {
        loss: l_out,
        grad: g_out,
        hess: h_out,
        floor,
    } = outs;
    let mut acc = [0.0f64; LANES];
    let mut bad = false;
    let mut col = col0;
    for k in 0..p.len() {
        let c = cols[col];
        col += 1;
        if col == cols.len() {
            col = 0;
        }
        let (l, d, d2) = if H {
            loss.value_grad_hess_col(p[k], t[k], c)
        } else if G {
            let (l, d) = loss.value_grad_col(p[k], t[k], c);
            (l, d, T::ZERO)
        } else {
            (loss.value_col(p[k], t[k], c), T::ZERO, T::ZERO)
        };
        let wk = if W { w[k] } else { T::ONE };
        let l = if W { wk * l } else { l };
        if E {
            l_out[k] = l;
        } else if !D {
            acc[k % LANES] += l.to_f64();
        }
        let f = if W { wk * scale } else { scale };
        if G {
            g_out[k] = d * f;
        }
        if H {
            let h = d2 * f;
            h_out[k] = match floor {
                Some(fl) => floored(h, if W { fl * wk } else { fl }),
                None => h,
            };
        }
        if L::CHECKS_TARGET {
            bad |= !loss.target_ok(t[k]);
        }
        if L::CHECKS_PRED {
            bad |= !loss.pred_ok(p[k]);
        }
    }
    (reduce::sum_lanes(&acc), bad)
}
