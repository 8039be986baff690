//! The fused driver for losses over a class axis: `x` is `rows x classes` (row-major, class axis
//! last), one target per row (a class index) or one per element (class probabilities).
//!
//! Rows are cut into blocks of [`rows_per_block`] rows at fixed offsets (about [`BLOCK`] values,
//! a multiple of 16 rows), each block's `sum(w_n l_n)` is accumulated in float64 lanes, and the
//! block partials are combined exactly, so results are bitwise the same for any thread count.
//! A short pre-pass over the class indices validates them (before anything is written, when the
//! outputs are the caller's) and sums the "mean" denominator `sum(w_n class_weight[y_n])` over
//! the samples that are not ignored, so the gradient is scaled in the same single pass.

use crate::error::{invalid, LossError};
use crate::par;
use crate::reduce::{self, ExactSum, Reduction, BLOCK, LANES};
use crate::simd::{self, Kernel, Real};

/// The targets of a row loss.
#[derive(Debug, Clone, Copy)]
pub enum Labels<'a, T> {
    /// One class index per row.
    Index(&'a [i64]),
    /// One probability per element (same layout as `x`).
    Prob(&'a [T]),
}

impl<'a, T> Labels<'a, T> {
    fn rows(self, lo: usize, hi: usize, classes: usize) -> Labels<'a, T> {
        match self {
            Labels::Index(y) => Labels::Index(&y[lo..hi]),
            Labels::Prob(t) => Labels::Prob(&t[lo * classes..hi * classes]),
        }
    }
}

/// One block of rows handed to [`RowLoss::block`].
#[derive(Debug)]
pub struct RowBlock<'a, T> {
    /// `rows * classes` values.
    pub x: &'a [T],
    pub classes: usize,
    pub labels: Labels<'a, T>,
    /// Per-row (sample) weights.
    pub weight: Option<&'a [T]>,
    /// Per-row `w_n l_n` (reduction "none").
    pub loss_out: Option<&'a mut [T]>,
    /// `w_n * scale * d l_n / d x`, same layout as `x`.
    pub grad: Option<&'a mut [T]>,
    pub scale: T,
}

/// A loss over rows of class values.
pub trait RowLoss<T: Real>: Sync {
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
    /// Computes one block; returns `sum(w_n l_n)` and whether an out-of-range index was met
    /// (such rows count as ignored). Must be `#[inline(always)]`.
    fn block(&self, blk: RowBlock<'_, T>) -> (f64, bool);
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

/// Evaluates a row loss.
///
/// * `x`: `rows * loss.classes()` values; `labels`: `rows` indices or `x.len()` probabilities.
/// * `weight`: per-row non-negative weights.
/// * `Reduction::None`: `loss_out` (length `rows`) receives `w_n l_n`; returns NaN.
/// * `grad_out` receives `d value / d x` (per-row gradients of `w_n l_n` with "none").
/// * `prevalidate`: validate class indices before writing anything (set when an output is the
///   caller's buffer).
#[allow(clippy::too_many_arguments)]
pub fn evaluate_rows<T: Real, L: RowLoss<T>>(
    loss: &L,
    x: &[T],
    rows: usize,
    labels: Labels<'_, T>,
    weight: Option<&[T]>,
    reduction: Reduction,
    loss_out: Option<&mut [T]>,
    grad_out: Option<&mut [T]>,
    prevalidate: bool,
) -> Result<f64, LossError> {
    let classes = loss.classes();
    let mismatch = |name: &'static str, got: usize, want: usize| LossError::ShapeMismatch {
        left: "logits",
        left_shape: vec![want],
        right: name,
        right_shape: vec![got],
    };
    if x.len() != rows * classes {
        return Err(mismatch("logits", x.len(), rows * classes));
    }
    match labels {
        Labels::Index(y) if y.len() != rows => return Err(mismatch("target", y.len(), rows)),
        Labels::Prob(t) if t.len() != x.len() => return Err(mismatch("target", t.len(), x.len())),
        Labels::Prob(_) if !loss.accepts_prob() => {
            return Err(invalid(
                "target",
                format!("{} takes class indices, not probabilities", L::NAME),
            ))
        }
        _ => {}
    }
    if let Some(w) = weight {
        if w.len() != rows {
            return Err(mismatch("weight", w.len(), rows));
        }
    }
    if let Some(g) = grad_out.as_deref() {
        if g.len() != x.len() {
            return Err(mismatch("out", g.len(), x.len()));
        }
    }
    match (reduction, loss_out.as_deref()) {
        (Reduction::None, Some(l)) if l.len() != rows => {
            return Err(mismatch("loss_out", l.len(), rows))
        }
        (Reduction::None, None) => {
            return Err(invalid("loss_out", "required with reduction='none'"))
        }
        (Reduction::BatchMean, _) => {
            return Err(invalid(
                "reduction",
                "'batchmean' is only defined for kl_div",
            ))
        }
        (Reduction::Sum | Reduction::Mean, Some(_)) => {
            return Err(invalid("loss_out", "only used with reduction='none'"))
        }
        _ => {}
    }
    let weight_total = match weight {
        Some(w) => Some(validate_weights(w)?),
        None => None,
    };
    let weighted_mean =
        L::CLASS_WEIGHTED_MEAN && (loss.class_weight().is_some() || loss.ignore_index().is_some());
    let mut denominator = weight_total.unwrap_or(rows as f64);
    if let Labels::Index(y) = labels {
        let need_total = reduction == Reduction::Mean && weighted_mean;
        if prevalidate || need_total {
            let total = prepass(loss, y, weight)?;
            if need_total {
                denominator = total;
            }
        }
    }
    let scale = if reduction == Reduction::Mean {
        1.0 / denominator
    } else {
        1.0
    };
    let per_block = rows_per_block(classes);
    let blocks = rows.div_ceil(per_block);
    let mut partials = vec![0.0f64; blocks];
    let pieces = par::pieces(blocks, 1);
    let mut tasks = Vec::with_capacity(pieces);
    {
        let mut rest = Piece {
            x,
            labels,
            weight,
            loss_out,
            grad: grad_out,
            partials: &mut partials,
        };
        let mut done = 0;
        for k in 0..pieces {
            let take = blocks * (k + 1) / pieces - blocks * k / pieces;
            let at = ((done + take) * per_block).min(rows) - (done * per_block).min(rows);
            let (head, tail) = rest.split(at, take, classes);
            tasks.push(head);
            rest = tail;
            done += take;
        }
    }
    let isa = simd::active();
    let bad = std::sync::atomic::AtomicBool::new(false);
    let scale_t = T::from_f64(scale);
    par::for_each(tasks, |piece| {
        let found = simd::dispatch(
            isa,
            PieceKernel {
                loss,
                piece,
                classes,
                per_block,
                scale: scale_t,
            },
        );
        if found {
            bad.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    });
    if bad.into_inner() {
        if let Labels::Index(y) = labels {
            prepass(loss, y, weight)?;
        }
    }
    let total = reduce::exact_sum(&partials);
    Ok(match reduction {
        Reduction::None => f64::NAN,
        Reduction::Sum => total,
        _ => total / denominator,
    })
}

/// Validates class indices (first bad flat position) and returns the exact
/// `sum(w_n class_weight[y_n])` over the rows that are not ignored.
fn prepass<T: Real, L: RowLoss<T>>(
    loss: &L,
    y: &[i64],
    weight: Option<&[T]>,
) -> Result<f64, LossError> {
    let classes = loss.classes();
    let ignore = loss.ignore_index();
    let cw = loss.class_weight();
    let mut total = ExactSum::new();
    for (b, chunk) in y.chunks(BLOCK).enumerate() {
        let mut acc = [0.0f64; LANES];
        for (k, &label) in chunk.iter().enumerate() {
            let i = b * BLOCK + k;
            if Some(label) == ignore {
                continue;
            }
            if !in_range(label, classes) {
                let ignored = match ignore {
                    Some(v) => format!(" and is not ignore_index={v}"),
                    None => String::new(),
                };
                return Err(LossError::InvalidTarget {
                    index: i,
                    message: format!("class index {label} is outside [0, {classes}){ignored}"),
                });
            }
            let c = cw.map_or(1.0, |w| w[label as usize].to_f64());
            let s = weight.map_or(1.0, |w| w[i].to_f64());
            acc[k % LANES] += c * s;
        }
        total.add(reduce::sum_lanes(&acc));
    }
    Ok(total.value())
}

fn validate_weights<T: Real>(w: &[T]) -> Result<f64, LossError> {
    if let Some(i) = w.iter().position(|&x| x < T::ZERO) {
        return Err(LossError::InvalidWeight {
            name: "weight",
            index: i,
            value: w[i].to_f64(),
        });
    }
    let mut total = ExactSum::new();
    for block in w.chunks(BLOCK) {
        let mut acc = [0.0f64; LANES];
        for (k, &v) in block.iter().enumerate() {
            acc[k % LANES] += v.to_f64();
        }
        total.add(reduce::sum_lanes(&acc));
    }
    Ok(total.value())
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

struct Piece<'a, T> {
    x: &'a [T],
    labels: Labels<'a, T>,
    weight: Option<&'a [T]>,
    loss_out: Option<&'a mut [T]>,
    grad: Option<&'a mut [T]>,
    partials: &'a mut [f64],
}

type SplitMut<'a, T> = (Option<&'a mut [T]>, Option<&'a mut [T]>);

fn split_opt<T>(s: Option<&mut [T]>, at: usize) -> SplitMut<'_, T> {
    match s {
        Some(s) => {
            let (a, b) = s.split_at_mut(at);
            (Some(a), Some(b))
        }
        None => (None, None),
    }
}

impl<'a, T> Piece<'a, T> {
    /// Splits off the first `rows` rows (`blocks` blocks).
    fn split(self, rows: usize, blocks: usize, classes: usize) -> (Piece<'a, T>, Piece<'a, T>) {
        let (x0, x1) = self.x.split_at(rows * classes);
        let (l0, l1) = match self.labels {
            Labels::Index(y) => {
                let (a, b) = y.split_at(rows);
                (Labels::Index(a), Labels::Index(b))
            }
            Labels::Prob(t) => {
                let (a, b) = t.split_at(rows * classes);
                (Labels::Prob(a), Labels::Prob(b))
            }
        };
        let (w0, w1) = match self.weight {
            Some(w) => {
                let (a, b) = w.split_at(rows);
                (Some(a), Some(b))
            }
            None => (None, None),
        };
        let (o0, o1) = split_opt(self.loss_out, rows);
        let (g0, g1) = split_opt(self.grad, rows * classes);
        let (p0, p1) = self.partials.split_at_mut(blocks);
        (
            Piece {
                x: x0,
                labels: l0,
                weight: w0,
                loss_out: o0,
                grad: g0,
                partials: p0,
            },
            Piece {
                x: x1,
                labels: l1,
                weight: w1,
                loss_out: o1,
                grad: g1,
                partials: p1,
            },
        )
    }
}

struct PieceKernel<'a, 'b, T, L> {
    loss: &'b L,
    piece: Piece<'a, T>,
    classes: usize,
    per_block: usize,
    scale: T,
}

impl<T: Real, L: RowLoss<T>> Kernel for PieceKernel<'_, '_, T, L> {
    type Output = bool;

    #[inline(always)]
    fn run(self) -> bool {
        let PieceKernel {
            loss,
            piece,
            classes,
            per_block,
            scale,
        } = self;
        let Piece {
            x,
            labels,
            weight,
            mut loss_out,
            mut grad,
            partials,
        } = piece;
        let rows = match labels {
            Labels::Index(y) => y.len(),
            Labels::Prob(t) => t.len().checked_div(classes).unwrap_or(0),
        };
        let mut bad = false;
        for (b, partial) in partials.iter_mut().enumerate() {
            let lo = b * per_block;
            let hi = (lo + per_block).min(rows);
            let blk = RowBlock {
                x: &x[lo * classes..hi * classes],
                classes,
                labels: labels.rows(lo, hi, classes),
                weight: weight.map(|w| &w[lo..hi]),
                loss_out: loss_out.as_deref_mut().map(|l| &mut l[lo..hi]),
                grad: grad
                    .as_deref_mut()
                    .map(|g| &mut g[lo * classes..hi * classes]),
                scale,
            };
            let (sum, found) = loss.block(blk);
            *partial = sum;
            bad |= found;
        }
        bad
    }
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
    let mut m = acc[0];
    for &v in &acc[1..] {
        m = T::select(v > m, v, m);
    }
    m
}

/// Adds 16 lanes in a fixed pairwise tree.
#[inline(always)]
pub fn lanes_sum<T: Real>(acc: [T; LANES]) -> T {
    let mut a = acc;
    let mut width = LANES / 2;
    while width > 0 {
        for i in 0..width {
            a[i] = a[i] + a[i + width];
        }
        width /= 2;
    }
    a[0]
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
