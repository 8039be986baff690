//! The fused driver for element-wise losses.
//!
//! One pass over `pred`, `target` (and `weight`) computes the per-element loss, its derivative
//! with respect to `pred`, and the block partials of the reduction ([`crate::reduce`]). With
//! `reduction="mean"` the gradient is scaled by `1/n` (or `1/sum(weight)`, summed in a short
//! pre-pass over the weights that also validates them) so no second pass over the output is needed.

use crate::error::{invalid, LossError};
use crate::par;
use crate::reduce::{self, ExactSum, Reduction, BLOCK, LANES};
use crate::simd::{self, Kernel, Real};

/// An element-wise loss `l(p, t)` with its derivative `dl/dp`.
pub trait Pointwise<T: Real>: Copy + Send + Sync {
    /// Transcendental per-element work: worth threads at smaller sizes.
    const HEAVY: bool = false;
    /// Whether `target_ok` must be checked.
    const CHECKS_TARGET: bool = false;

    /// The loss of one element. Must be `#[inline(always)]` and branch-free.
    fn value(&self, p: T, t: T) -> T;
    /// The loss and `d loss / d p` of one element, from shared intermediates.
    fn value_grad(&self, p: T, t: T) -> (T, T);
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
}

/// Something to do with a concrete [`Pointwise`] kernel (the driver call of a binding).
pub trait Visit<T: Real> {
    type Output;
    fn visit<L: Pointwise<T>>(self, loss: L) -> Self::Output;
}

/// A loss configuration that picks its concrete kernel type at run time (e.g. one type per
/// option combination, so the hot loop never branches on an option). A loss that is its own
/// kernel implements it with [`specialize_as_itself!`].
pub trait Specialize<T: Real> {
    fn specialize<V: Visit<T>>(self, visitor: V) -> V::Output;
}

/// `impl Specialize` for losses that are their own kernel.
#[macro_export]
macro_rules! specialize_as_itself {
    ($($ty:ty),* $(,)?) => {
        $(impl<T: $crate::simd::Real> $crate::loss::Specialize<T> for $ty {
            fn specialize<V: $crate::loss::Visit<T>>(self, visitor: V) -> V::Output {
                visitor.visit(self)
            }
        })*
    };
}

/// The inputs of [`evaluate_ext`].
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a, T> {
    pub pred: &'a [T],
    pub target: &'a [T],
    /// Per-column factors (used only by losses with `COLUMNS`); element `i` gets
    /// `cols[i % cols.len()]`.
    pub cols: Option<&'a [T]>,
    pub weight: Option<&'a [T]>,
}

/// Blocks per parallel piece below which threads do not pay (measured with `losscore bench`).
const GRAIN_LIGHT: usize = 4; // 32 Ki elements: memory-bound kernels
const GRAIN_HEAVY: usize = 1; // 8 Ki elements: exp/log kernels

/// Evaluates `loss` over the slices.
///
/// * `Reduction::None`: `loss_out` (same length) receives `w*l`; the return value is NaN.
/// * `Sum` / `Mean`: returns `sum(w*l)` or `sum(w*l)/sum(w)` (`/n` unweighted); `loss_out` must be
///   `None`.
/// * `grad_out`, when given, receives `w * dl/dp` scaled like the reduction.
/// * `prevalidate`: check targets in a separate pass before anything is written (set it when the
///   outputs belong to the caller, so that an invalid target leaves them untouched).
#[allow(clippy::too_many_arguments)]
pub fn evaluate<T: Real, L: Pointwise<T>>(
    loss: L,
    pred: &[T],
    target: &[T],
    weight: Option<&[T]>,
    reduction: Reduction,
    loss_out: Option<&mut [T]>,
    grad_out: Option<&mut [T]>,
    prevalidate: bool,
) -> Result<f64, LossError> {
    if reduction == Reduction::BatchMean {
        return Err(invalid(
            "reduction",
            "'batchmean' is only defined for kl_div",
        ));
    }
    let inputs = Inputs {
        pred,
        target,
        cols: None,
        weight,
    };
    evaluate_ext(loss, inputs, reduction, 0, loss_out, grad_out, prevalidate)
}

/// [`evaluate`] with per-column factors and `Reduction::BatchMean` (`sum(w*l) / batch`, the
/// gradient scaled by `1/batch`). `batch` is only read for `BatchMean`.
pub fn evaluate_ext<T: Real, L: Pointwise<T>>(
    loss: L,
    inputs: Inputs<'_, T>,
    reduction: Reduction,
    batch: usize,
    loss_out: Option<&mut [T]>,
    grad_out: Option<&mut [T]>,
    prevalidate: bool,
) -> Result<f64, LossError> {
    let Inputs {
        pred,
        target,
        cols,
        weight,
    } = inputs;
    let n = pred.len();
    check_len("target", target.len(), n)?;
    if let Some(w) = weight {
        check_len("weight", w.len(), n)?;
    }
    if let Some(g) = grad_out.as_deref() {
        check_len("out", g.len(), n)?;
    }
    let cols = match cols {
        Some(c) if L::COLUMNS => {
            if c.is_empty() || (n > 0 && n % c.len() != 0) {
                return Err(invalid(
                    "pos_weight",
                    format!("{} column factors do not tile {n} elements", c.len()),
                ));
            }
            c
        }
        _ => &[],
    };
    if L::COLUMNS && cols.is_empty() {
        return Err(invalid("pos_weight", "column factors are required"));
    }
    if let Some(i) = cols.iter().position(|&x| x < T::ZERO) {
        return Err(LossError::InvalidWeight {
            name: "pos_weight",
            index: i,
            value: cols[i].to_f64(),
        });
    }
    match (reduction, loss_out.as_deref()) {
        (Reduction::None, Some(l)) => check_len("loss_out", l.len(), n)?,
        (Reduction::None, None) => {
            return Err(invalid("loss_out", "required with reduction='none'"))
        }
        (_, Some(_)) => return Err(invalid("loss_out", "only used with reduction='none'")),
        (_, None) => {}
    }
    let weight_total = match weight {
        Some(w) => Some(validate_weights(w)?),
        None => None,
    };
    if (L::CHECKS_TARGET || L::CHECKS_PRED) && prevalidate {
        check_targets(&loss, pred, target)?;
    }
    let scale = match reduction {
        Reduction::Mean => match weight_total {
            Some(total) => 1.0 / total,
            None => 1.0 / n as f64,
        },
        Reduction::BatchMean => 1.0 / batch as f64,
        _ => 1.0,
    };
    let mut partials = vec![0.0f64; reduce::n_blocks(n)];
    let mode = Mode {
        weighted: weight.is_some(),
        grad: grad_out.is_some(),
        per_element: reduction == Reduction::None,
    };
    let any_bad = run(
        &loss,
        Slices {
            pred,
            target,
            cols,
            offset: 0,
            weight,
            loss_out,
            grad_out,
            partials: &mut partials,
        },
        mode,
        T::from_f64(scale),
    );
    if (L::CHECKS_TARGET || L::CHECKS_PRED) && any_bad {
        check_targets(&loss, pred, target)?;
    }
    Ok(match reduction {
        Reduction::None => f64::NAN,
        Reduction::Sum => reduce::exact_sum(&partials),
        Reduction::Mean => {
            let denominator = weight_total.unwrap_or(n as f64);
            reduce::exact_sum(&partials) / denominator
        }
        Reduction::BatchMean => reduce::exact_sum(&partials) / batch as f64,
    })
}

/// The block partials of `sum(w*l)` and, when weighted, of `sum(w)`: the pieces a chunked
/// evaluation combines exactly. Chunks must start at multiples of [`BLOCK`].
pub fn block_partials<T: Real, L: Pointwise<T>>(
    loss: L,
    pred: &[T],
    target: &[T],
    weight: Option<&[T]>,
) -> Result<(Vec<f64>, Option<Vec<f64>>), LossError> {
    let inputs = Inputs {
        pred,
        target,
        cols: None,
        weight,
    };
    block_partials_ext(loss, inputs)
}

/// [`block_partials`] for losses with column factors (`cols` tile the chunk from its start).
pub fn block_partials_ext<T: Real, L: Pointwise<T>>(
    loss: L,
    inputs: Inputs<'_, T>,
) -> Result<(Vec<f64>, Option<Vec<f64>>), LossError> {
    let Inputs {
        pred,
        target,
        cols,
        weight,
    } = inputs;
    let n = pred.len();
    check_len("target", target.len(), n)?;
    let cols = match cols {
        Some(c) if L::COLUMNS && !c.is_empty() && n % c.len() == 0 => c,
        _ if L::COLUMNS => return Err(invalid("pos_weight", "column factors must tile the data")),
        _ => &[],
    };
    let weight_partials = match weight {
        Some(w) => {
            check_len("weight", w.len(), n)?;
            check_weights(w)?;
            Some(w.chunks(BLOCK).map(weight_block_sum).collect())
        }
        None => None,
    };
    let mut partials = vec![0.0f64; reduce::n_blocks(n)];
    let mode = Mode {
        weighted: weight.is_some(),
        grad: false,
        per_element: false,
    };
    let any_bad = run(
        &loss,
        Slices {
            pred,
            target,
            cols,
            offset: 0,
            weight,
            loss_out: None,
            grad_out: None,
            partials: &mut partials,
        },
        mode,
        T::ONE,
    );
    if (L::CHECKS_TARGET || L::CHECKS_PRED) && any_bad {
        check_targets(&loss, pred, target)?;
    }
    Ok((partials, weight_partials))
}

fn check_len(name: &'static str, got: usize, want: usize) -> Result<(), LossError> {
    if got != want {
        return Err(LossError::ShapeMismatch {
            left: "pred",
            left_shape: vec![want],
            right: name,
            right_shape: vec![got],
        });
    }
    Ok(())
}

fn check_weights<T: Real>(w: &[T]) -> Result<(), LossError> {
    // `!(x >= 0)` would also reject NaN; NaN weights propagate like NaN data instead.
    if let Some(i) = w.iter().position(|&x| x < T::ZERO) {
        return Err(LossError::InvalidWeight {
            name: "weight",
            index: i,
            value: w[i].to_f64(),
        });
    }
    Ok(())
}

/// Validates the weights and returns their exact total.
fn validate_weights<T: Real>(w: &[T]) -> Result<f64, LossError> {
    check_weights(w)?;
    let mut total = ExactSum::new();
    for block in w.chunks(BLOCK) {
        total.add(weight_block_sum(block));
    }
    Ok(total.value())
}

fn weight_block_sum<T: Real>(block: &[T]) -> f64 {
    let mut acc = [0.0f64; LANES];
    for (k, &x) in block.iter().enumerate() {
        acc[k % LANES] += x.to_f64();
    }
    reduce::sum_lanes(&acc)
}

/// Reports the first flat position whose target (or prediction) is not allowed.
fn check_targets<T: Real, L: Pointwise<T>>(
    loss: &L,
    pred: &[T],
    target: &[T],
) -> Result<(), LossError> {
    for (i, (&p, &t)) in pred.iter().zip(target).enumerate() {
        if L::CHECKS_PRED && !loss.pred_ok(p) {
            return Err(LossError::InvalidTarget {
                index: i,
                message: format!("{}, got {:?}", loss.pred_rule(), p),
            });
        }
        if L::CHECKS_TARGET && !loss.target_ok(t) {
            return Err(LossError::InvalidTarget {
                index: i,
                message: format!("{}, got {:?}", loss.target_rule(), t),
            });
        }
    }
    Ok(())
}

#[derive(Clone, Copy)]
struct Mode {
    weighted: bool,
    grad: bool,
    per_element: bool,
}

struct Slices<'a, T> {
    pred: &'a [T],
    target: &'a [T],
    /// Column factors (empty unless `L::COLUMNS`) and the global index of `pred[0]`.
    cols: &'a [T],
    offset: usize,
    weight: Option<&'a [T]>,
    loss_out: Option<&'a mut [T]>,
    grad_out: Option<&'a mut [T]>,
    partials: &'a mut [f64],
}

impl<'a, T> Slices<'a, T> {
    /// Splits off the first `blocks` blocks.
    fn split(self, blocks: usize) -> (Slices<'a, T>, Slices<'a, T>) {
        let at = (blocks * BLOCK).min(self.pred.len());
        let (p0, p1) = self.pred.split_at(at);
        let (t0, t1) = self.target.split_at(at);
        let (w0, w1) = match self.weight {
            Some(w) => {
                let (a, b) = w.split_at(at);
                (Some(a), Some(b))
            }
            None => (None, None),
        };
        let (l0, l1) = match self.loss_out {
            Some(l) => {
                let (a, b) = l.split_at_mut(at);
                (Some(a), Some(b))
            }
            None => (None, None),
        };
        let (g0, g1) = match self.grad_out {
            Some(g) => {
                let (a, b) = g.split_at_mut(at);
                (Some(a), Some(b))
            }
            None => (None, None),
        };
        let (s0, s1) = self.partials.split_at_mut(blocks.min(self.partials.len()));
        (
            Slices {
                pred: p0,
                target: t0,
                cols: self.cols,
                offset: self.offset,
                weight: w0,
                loss_out: l0,
                grad_out: g0,
                partials: s0,
            },
            Slices {
                pred: p1,
                target: t1,
                cols: self.cols,
                offset: self.offset + at,
                weight: w1,
                loss_out: l1,
                grad_out: g1,
                partials: s1,
            },
        )
    }
}

/// Splits the work at block boundaries, runs the pieces (in parallel when large), and reports
/// whether any target failed `target_ok`.
fn run<T: Real, L: Pointwise<T>>(loss: &L, slices: Slices<'_, T>, mode: Mode, scale: T) -> bool {
    let blocks = slices.partials.len();
    let grain = if L::HEAVY { GRAIN_HEAVY } else { GRAIN_LIGHT };
    let pieces = par::pieces(blocks, grain);
    let isa = simd::active();
    let mut tasks = Vec::with_capacity(pieces);
    let mut rest = slices;
    for k in 0..pieces {
        let take = blocks * (k + 1) / pieces - blocks * k / pieces;
        let (head, tail) = rest.split(take);
        tasks.push(head);
        rest = tail;
    }
    let bad = std::sync::atomic::AtomicBool::new(false);
    par::for_each(tasks, |task| {
        let found = simd::dispatch(
            isa,
            PieceKernel {
                loss,
                slices: task,
                mode,
                scale,
            },
        );
        if found {
            bad.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    });
    bad.into_inner()
}

struct PieceKernel<'a, 'b, T, L> {
    loss: &'b L,
    slices: Slices<'a, T>,
    mode: Mode,
    scale: T,
}

impl<T: Real, L: Pointwise<T>> Kernel for PieceKernel<'_, '_, T, L> {
    type Output = bool;

    #[inline(always)]
    fn run(self) -> bool {
        let Mode {
            weighted,
            grad,
            per_element,
        } = self.mode;
        // Monomorphize the hot loop for each combination so no option is tested per element.
        match (weighted, grad, per_element) {
            (false, false, false) => piece::<T, L, false, false, false>(self),
            (false, false, true) => piece::<T, L, false, false, true>(self),
            (false, true, false) => piece::<T, L, false, true, false>(self),
            (false, true, true) => piece::<T, L, false, true, true>(self),
            (true, false, false) => piece::<T, L, true, false, false>(self),
            (true, false, true) => piece::<T, L, true, false, true>(self),
            (true, true, false) => piece::<T, L, true, true, false>(self),
            (true, true, true) => piece::<T, L, true, true, true>(self),
        }
    }
}

/// One piece: a run of whole blocks (the last may be short).
#[inline(always)]
fn piece<T: Real, L: Pointwise<T>, const W: bool, const G: bool, const E: bool>(
    k: PieceKernel<'_, '_, T, L>,
) -> bool {
    let PieceKernel {
        loss,
        slices,
        scale,
        ..
    } = k;
    let Slices {
        pred,
        target,
        cols,
        offset,
        weight,
        loss_out,
        grad_out,
        partials,
    } = slices;
    let weight = weight.unwrap_or(&[]);
    let loss_out = loss_out.unwrap_or(&mut []);
    let grad_out = grad_out.unwrap_or(&mut []);
    let mut bad = false;
    for (b, partial) in partials.iter_mut().enumerate() {
        let lo = b * BLOCK;
        let hi = (lo + BLOCK).min(pred.len());
        if L::COLUMNS {
            let (sum, block_bad) = block_cols::<T, L, W, G, E>(
                loss,
                &pred[lo..hi],
                &target[lo..hi],
                cols,
                (offset + lo) % cols.len().max(1),
                if W { &weight[lo..hi] } else { &[] },
                if E { &mut loss_out[lo..hi] } else { &mut [] },
                if G { &mut grad_out[lo..hi] } else { &mut [] },
                scale,
            );
            *partial = sum;
            bad |= block_bad;
            continue;
        }
        let (sum, block_bad) = block::<T, L, W, G, E>(
            loss,
            &pred[lo..hi],
            &target[lo..hi],
            if W { &weight[lo..hi] } else { &[] },
            if E { &mut loss_out[lo..hi] } else { &mut [] },
            if G { &mut grad_out[lo..hi] } else { &mut [] },
            scale,
        );
        *partial = sum;
        bad |= block_bad;
    }
    bad
}

/// Elements per sub-chunk: the element loop writes their `w*l` terms to an L1-resident buffer.
const SUB: usize = 256;

/// One block: element `k` goes to lane `k % LANES`; lanes are added in a fixed tree.
///
/// Two simple loops per sub-chunk vectorize far better than one fused loop: the element loop
/// (transcendentals, outputs) works in `T` only, so LLVM vectorizes it at full width; the lane
/// loop then widens the buffered `w*l` terms into the f64 lanes.
#[inline(always)]
fn block<T: Real, L: Pointwise<T>, const W: bool, const G: bool, const E: bool>(
    loss: &L,
    p: &[T],
    t: &[T],
    w: &[T],
    l_out: &mut [T],
    g_out: &mut [T],
    scale: T,
) -> (f64, bool) {
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
        let terms = &mut terms[..m];
        for i in 0..m {
            let wi = if W { ws[i] } else { T::ONE };
            let (l, g, b) = element::<T, L, W, G>(loss, ps[i], ts[i], wi, scale);
            if E {
                ls[i] = l;
            } else {
                terms[i] = l;
            }
            if G {
                gs[i] = g;
            }
            bad |= b;
        }
        if !E {
            // `start` is a multiple of SUB (a multiple of LANES): term i goes to lane i % LANES.
            let mut chunks = terms.chunks_exact(LANES);
            for c in &mut chunks {
                for j in 0..LANES {
                    acc[j] += c[j].to_f64();
                }
            }
            for (j, &a) in chunks.remainder().iter().enumerate() {
                acc[j] += a.to_f64();
            }
        }
        start += m;
    }
    (reduce::sum_lanes(&acc), bad)
}

/// One element: (`w*l`, `w*g*scale`, bad target or prediction).
#[inline(always)]
fn element<T: Real, L: Pointwise<T>, const W: bool, const G: bool>(
    loss: &L,
    p: T,
    t: T,
    w: T,
    scale: T,
) -> (T, T, bool) {
    let (l, d) = if G {
        loss.value_grad(p, t)
    } else {
        (loss.value(p, t), T::ZERO)
    };
    let bad = (L::CHECKS_TARGET && !loss.target_ok(t)) | (L::CHECKS_PRED && !loss.pred_ok(p));
    if W {
        // w * scale first: w * d can overflow where the scaled weight cannot.
        (w * l, d * (w * scale), bad)
    } else {
        (l, d * scale, bad)
    }
}

/// One block of a loss with column factors: element `k` has column `(col0 + k) % cols.len()`
/// and goes to lane `k % LANES`. A plain loop (the column counter defeats vectorization).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn block_cols<T: Real, L: Pointwise<T>, const W: bool, const G: bool, const E: bool>(
    loss: &L,
    p: &[T],
    t: &[T],
    cols: &[T],
    col0: usize,
    w: &[T],
    l_out: &mut [T],
    g_out: &mut [T],
    scale: T,
) -> (f64, bool) {
    let mut acc = [0.0f64; LANES];
    let mut bad = false;
    let mut col = col0;
    for k in 0..p.len() {
        let c = cols[col];
        col += 1;
        if col == cols.len() {
            col = 0;
        }
        let (l, d) = if G {
            loss.value_grad_col(p[k], t[k], c)
        } else {
            (loss.value_col(p[k], t[k], c), T::ZERO)
        };
        let wk = if W { w[k] } else { T::ONE };
        let l = if W { wk * l } else { l };
        if E {
            l_out[k] = l;
        } else {
            acc[k % LANES] += l.to_f64();
        }
        if G {
            g_out[k] = if W { d * (wk * scale) } else { d * scale };
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
