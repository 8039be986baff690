//! Losses of several inputs of one layout, run by the shared [`drive`](super::drive):
//! `l_u = l(a_u, b_u[, c_u]; y_u)` per unit `u` of `width` values (one element for element-wise
//! losses such as `gaussian_nll`, one row of the last axis for `cosine_embedding` or
//! `triplet_margin`), with an optional per-unit label `y_u` ([`Target::Units`]).
//!
//! The first input is the driver's `x`, the others its `more` inputs; every input may have its
//! gradient asked for (`grad_out`, `more_grad_out`), all from the same pass. A loss implements
//! [`MultiInput::unit`], the math of one unit; [`MultiInputs`] does the rest once: weights and
//! gradient factors, per-unit outputs, the fixed-lane block sums.

use super::drive::{Block, Blocks, Inputs, Target};
use super::rows::rows_per_block;
use super::scan;
use crate::error::{invalid, LossError};
use crate::reduce::{sum_lanes, Reduction, LANES};
use crate::simd::Real;

/// The inputs of one unit, in argument order (`width` values each; unused ones empty).
pub type UnitInputs<'a, T> = [&'a [T]; 3];

/// The gradient outputs of one unit, in argument order (`None`: not asked for).
pub type UnitGrads<'a, T> = [Option<&'a mut [T]>; 3];

/// One element of an element-wise loss of several inputs: its loss, `d l / d input_k`, the
/// second derivative with respect to the first input, and whether an input is invalid.
#[derive(Debug, Clone, Copy)]
pub struct Element<T> {
    pub loss: T,
    pub grads: [T; 3],
    pub hess: T,
    pub invalid: bool,
}

/// A loss of two or three inputs of one layout.
pub trait MultiInput<T: Real>: Copy + Send + Sync {
    /// The names of the array inputs in argument order (2 or 3), for messages.
    const INPUTS: &'static [&'static str];
    /// Whether the loss reads one label per unit ([`Target::Units`]).
    const LABEL: bool;
    /// Whether the Hessian diagonal with respect to the first input is defined.
    const HESS: bool;

    /// Element-wise (width 1, [`MultiInput::element`] defined): blocks then run in sub-chunks
    /// whose element loop vectorizes.
    const ELEMENTWISE: bool = false;

    /// Values per unit.
    fn width(&self) -> usize;
    /// Whether one element's inputs or label are invalid (`ELEMENTWISE` only), branch-free.
    #[inline(always)]
    fn rejects(&self, _inputs: [T; 3], _label: T) -> bool {
        false
    }
    /// One element from scalars (inputs in argument order, absent ones 0), branch-free; only
    /// called when `ELEMENTWISE`. Must be `#[inline(always)]`.
    #[inline(always)]
    fn element(&self, _inputs: [T; 3], _label: T) -> Element<T> {
        Element {
            loss: T::NAN,
            grads: [T::NAN; 3],
            hess: T::NAN,
            invalid: true,
        }
    }
    /// One unit: returns its (unweighted) loss and whether an input or label is invalid. When
    /// `grads[k]` is given it receives `coef * d l / d input_k`; when `hess` is given (only with
    /// `grads[0]`), `coef * d^2 l / d input_0^2` (the diagonal). Must be `#[inline(always)]`.
    /// Element-wise losses get it from [`MultiInput::element`].
    #[inline(always)]
    fn unit(
        &self,
        inputs: UnitInputs<'_, T>,
        label: T,
        coef: T,
        grads: UnitGrads<'_, T>,
        hess: Option<&mut [T]>,
    ) -> (T, bool) {
        let at = |k: usize| inputs[k].first().copied().unwrap_or(T::ZERO);
        let e = self.element([at(0), at(1), at(2)], label);
        for (g, d) in grads.into_iter().zip(e.grads) {
            if let Some(g) = g {
                g[0] = coef * d;
            }
        }
        if let Some(h) = hess {
            h[0] = coef * e.hess;
        }
        (e.loss, e.invalid)
    }
    /// The first invalid value of a unit, for the message: the argument's name, the value's
    /// position within the unit, and the rule it breaks with the value.
    fn invalid(&self, inputs: UnitInputs<'_, T>, label: T)
        -> Option<(&'static str, usize, String)>;
}

/// `impl Loss` for multi-input losses that are their own kernel.
#[macro_export]
macro_rules! multi_input_loss {
    ($($ty:ty),* $(,)?) => {
        $crate::loss_through!($crate::loss::multi_input::MultiInputs, $($ty),*);
    };
}

/// Blocks per parallel piece below which threads do not pay (per-unit work is scalar).
const GRAIN: usize = 1;

/// A multi-input loss as the driver's block kernel.
#[derive(Debug, Clone, Copy)]
pub struct MultiInputs<L>(pub L);

impl<T: Real, L: MultiInput<T>> Blocks<T> for MultiInputs<L> {
    fn width(&self) -> usize {
        self.0.width()
    }
    fn per_block(&self) -> usize {
        rows_per_block(self.0.width())
    }
    fn grain(&self) -> usize {
        GRAIN
    }

    fn check(&self, inputs: &Inputs<'_, T>, reduction: Reduction) -> Result<(), LossError> {
        if self.0.width() == 0 && inputs.units > 0 {
            return Err(invalid(
                "x",
                "the last axis is empty: there is nothing to compare",
            ));
        }
        if reduction == Reduction::BatchMean {
            return Err(invalid(
                "reduction",
                "'batchmean' is only defined for kl_div",
            ));
        }
        match inputs.target {
            Target::Units(_) if L::LABEL => {}
            Target::Absent if !L::LABEL => {}
            _ => return Err(invalid("target", "not the target this loss takes")),
        }
        for (k, m) in inputs.more.iter().enumerate() {
            if m.is_some() != (k + 1 < L::INPUTS.len()) {
                return Err(invalid(
                    "inputs",
                    format!("expected {} array inputs", L::INPUTS.len()),
                ));
            }
        }
        Ok(())
    }

    fn hessian(&self) -> bool {
        L::HESS
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
        let w = self.0.width();
        let mut from = 0;
        if L::ELEMENTWISE {
            // A branch-free scan (it vectorizes) finds the first sub-chunk holding an invalid
            // element; only that one is searched for the message.
            from = first_rejected(&self.0, inputs).unwrap_or(inputs.units);
        }
        for u in from..inputs.units {
            let (unit, label) = unit_of(inputs, u, w);
            if let Some((name, at, message)) = self.0.invalid(unit, label) {
                return Err(LossError::InvalidTarget {
                    name,
                    index: if name == "target" { u } else { u * w + at },
                    message,
                });
            }
        }
        Ok(())
    }

    #[inline(always)]
    fn block(&self, blk: Block<'_, T>) -> (f64, bool) {
        if L::ELEMENTWISE {
            return match blk.weight.is_some() {
                true => elements::<T, L, true>(&self.0, blk),
                false => elements::<T, L, false>(&self.0, blk),
            };
        }
        let w = self.0.width();
        let Block {
            x,
            target,
            more,
            weight,
            mut loss_out,
            mut grad,
            mut hess,
            more_grad: [mut g1, mut g2],
            scale,
            ..
        } = blk;
        let units = x.len().checked_div(w).unwrap_or(match target {
            Target::Units(y) => y.len(),
            _ => 0,
        });
        let empty: &[T] = &[];
        let (m1, m2) = (more[0].unwrap_or(empty), more[1].unwrap_or(empty));
        // Unit `u` of a block goes to lane `u % LANES` (blocks start at multiples of LANES), as
        // the streamed per-unit terms are folded.
        let mut acc = [0.0f64; LANES];
        let mut bad = false;
        for u in 0..units {
            let span = u * w..(u + 1) * w;
            let unit = [&x[span.clone()], part(m1, &span), part(m2, &span)];
            let label = match target {
                Target::Units(y) => y[u],
                _ => T::ZERO,
            };
            let wu = weight.map_or(T::ONE, |w| w[u]);
            let grads = [
                grad.as_deref_mut().map(|g| &mut g[span.clone()]),
                g1.as_deref_mut().map(|g| &mut g[span.clone()]),
                g2.as_deref_mut().map(|g| &mut g[span.clone()]),
            ];
            let h = hess.as_deref_mut().map(|h| &mut h[span.clone()]);
            let (l, invalid) = self.0.unit(unit, label, scale * wu, grads, h);
            bad |= invalid;
            let wl = if weight.is_some() { wu * l } else { l };
            if let Some(out) = loss_out.as_deref_mut() {
                out[u] = wl;
            }
            acc[u % LANES] += wl.to_f64();
        }
        (sum_lanes(&acc), bad)
    }
}

/// Elements per sub-chunk of [`elements`]: its buffers stay in L1.
const SUB: usize = 256;
// The validation scan hands [`Rejects`] spans of at most `SUB` elements (its zero buffer).
const _: () = assert!(scan::SPAN <= SUB);

/// Elements `span` (at most [`SUB`]) of the first input, the further inputs and the per-unit
/// labels; absent ones read as `zeros`.
#[inline(always)]
fn sub_chunk<'a, T: Real>(
    x: &'a [T],
    more: [Option<&'a [T]>; 2],
    target: &Target<'a, T>,
    span: std::ops::Range<usize>,
    zeros: &'a [T; SUB],
) -> [&'a [T]; 4] {
    let absent = &zeros[..span.len()];
    let [m1, m2] = more.map(|m| m.map_or(absent, |m| &m[span.clone()]));
    let ys = match *target {
        Target::Units(y) => &y[span.clone()],
        _ => absent,
    };
    [&x[span], m1, m2, ys]
}

/// A block of an element-wise loss: per sub-chunk, one branch-free element loop into L1
/// buffers (it vectorizes), then the outputs asked for are copied out and the weighted losses
/// added into the lanes (element `k` to lane `k % LANES`, as [`crate::reduce::fold`] does).
#[inline(always)]
fn elements<T: Real, L: MultiInput<T>, const W: bool>(loss: &L, blk: Block<'_, T>) -> (f64, bool) {
    let Block {
        x,
        target,
        more,
        weight,
        mut loss_out,
        mut grad,
        mut hess,
        more_grad: [mut g1, mut g2],
        scale,
        ..
    } = blk;
    let zeros = [T::ZERO; SUB];
    let n = x.len();
    let mut acc = [0.0f64; LANES];
    let mut bad = false;
    let mut start = 0;
    while start < n {
        let len = SUB.min(n - start);
        let span = start..start + len;
        let [xs, m1, m2, ys] = sub_chunk(x, more, &target, span.clone(), &zeros);
        let ws = match weight {
            Some(w) if W => &w[span.clone()],
            _ => &zeros[..len],
        };
        let (mut l, mut g, mut h) = ([T::ZERO; SUB], [[T::ZERO; SUB]; 3], [T::ZERO; SUB]);
        for j in 0..len {
            let e = loss.element([xs[j], m1[j], m2[j]], ys[j]);
            let (wl, coef) = if W {
                (ws[j] * e.loss, scale * ws[j])
            } else {
                (e.loss, scale)
            };
            l[j] = wl;
            g[0][j] = coef * e.grads[0];
            g[1][j] = coef * e.grads[1];
            g[2][j] = coef * e.grads[2];
            h[j] = coef * e.hess;
            bad |= e.invalid;
        }
        let outputs = [
            (grad.as_deref_mut(), &g[0]),
            (g1.as_deref_mut(), &g[1]),
            (g2.as_deref_mut(), &g[2]),
            (hess.as_deref_mut(), &h),
            (loss_out.as_deref_mut(), &l),
        ];
        for (out, buf) in outputs {
            if let Some(out) = out {
                out[span.clone()].copy_from_slice(&buf[..len]);
            }
        }
        for (k, v) in l[..len].iter().enumerate() {
            acc[k % LANES] += v.to_f64();
        }
        start += len;
    }
    (sum_lanes(&acc), bad)
}

/// The start of the first sub-chunk of [`SUB`] elements with a rejected element, if any.
fn first_rejected<T: Real, L: MultiInput<T>>(loss: &L, inputs: &Inputs<'_, T>) -> Option<usize> {
    scan::first_rejected_span(&Rejects { loss, inputs }, inputs.x.len())
}

/// An element-wise loss's domain over its inputs as a [`scan::RangeCheck`].
struct Rejects<'a, 'i, T, L> {
    loss: &'a L,
    inputs: &'a Inputs<'i, T>,
}

impl<T: Real, L: MultiInput<T>> scan::RangeCheck for Rejects<'_, '_, T, L> {
    #[inline(always)]
    fn any_rejected(&self, span: std::ops::Range<usize>) -> bool {
        let zeros = [T::ZERO; SUB];
        let len = span.len();
        let inputs = self.inputs;
        let [xs, m1, m2, ys] = sub_chunk(inputs.x, inputs.more, &inputs.target, span, &zeros);
        let mut any = false;
        for j in 0..len {
            any |= self.loss.rejects([xs[j], m1[j], m2[j]], ys[j]);
        }
        any
    }
}

/// `s[span]`, or `s` itself when it is empty (an input the loss does not have).
#[inline(always)]
fn part<'a, T>(s: &'a [T], span: &std::ops::Range<usize>) -> &'a [T] {
    if s.is_empty() {
        s
    } else {
        &s[span.clone()]
    }
}

/// The inputs and label of unit `u`.
fn unit_of<'a, T: Real>(inputs: &Inputs<'a, T>, u: usize, w: usize) -> (UnitInputs<'a, T>, T) {
    let span = u * w..(u + 1) * w;
    let at = |m: Option<&'a [T]>| m.map_or(&[][..], |m| &m[span.clone()]);
    let label = match inputs.target {
        Target::Units(y) => y[u],
        _ => T::ZERO,
    };
    (
        [
            &inputs.x[span.clone()],
            at(inputs.more[0]),
            at(inputs.more[1]),
        ],
        label,
    )
}
