//! Element-wise classification losses (binary / margin / divergence), PyTorch semantics.
//!
//! With `x` the prediction, `t` the target, `e = exp(-|x|)` (never overflows), the softplus
//! `sp(x) = max(x, 0) + ln_1p(e)` and `s = sigmoid(x)`, `sc = 1 - s` both taken from `e` without
//! cancellation (`1/(1+e)` and `e/(1+e)` picked by the sign of `x`):
//!
//! | loss | `l(x, t)` | `dl/dx` | `d^2l/dx^2` |
//! |---|---|---|---|
//! | [`Bce`] | `-(t max(ln x, -100) + (1-t) max(ln(1-x), -100))` | `(x - t) / max(x (1-x), 1e-12)` | `((x-t)^2 + t(1-t)) / (x(1-x))^2` (`1e12` where floored) |
//! | [`BceLogits`] | `(1-t) sp(x) + t sp(-x)` | `(1-t) s - t sc` | `s sc` |
//! | [`BceLogitsPosWeight`] | `(1-t) sp(x) + pw t sp(-x)` | `(1-t) s - pw t sc` | `((1-t) + pw t) s sc` |
//! | [`Smoothed`] (`label_smoothing = eps`) | either of the two at `t (1 - eps) + eps/2` | | |
//! | [`SigmoidFocal`] | `a_t ce q^g`, `q = (1-t) s + t sc` | `a_t q^g (dce + g ce dq/q)` | see [`SigmoidFocal`] |
//! | [`SoftMargin`] | `sp(-t x)` | `-t sigmoid(-t x)` | `t^2 s sc` at `-t x` |
//! | [`Hinge`] | `max(0, m - t x)` | `-t` where `m - t x > 0` | `0` |
//! | [`SquaredHinge`] | `max(0, m - t x)^2` | `-2 t max(0, m - t x)` | `2 t^2` where `m - t x > 0` |
//! | [`KlDiv`] | `t (ln t - x)` (`exp(t) (t - x)` with log targets), 0 where `t = 0` | `-t` / `-exp(t)` | `0` |
//!
//! Second derivatives: `hinge` is piecewise linear (0 wherever defined; the kink `t x = m` is
//! reported as 0) and `kl_div` is linear in `x` (exactly 0). `squared_hinge` jumps from `2 t^2`
//! to 0 at `t x = m`; the outside value (0) is reported there, as its gradient is 0 there.
//! `binary_cross_entropy`'s second derivative is that of its gradient, `1e12` where the
//! gradient's floor `x (1-x) >= 1e-12` is active.
//!
//! `(1-t) sp(x) + t sp(-x)` equals PyTorch's `max(x,0) - x t + ln_1p(e)` but each product is
//! skipped (taken as 0) when its coefficient is exactly 0, so `x = +-inf` gives the limit (0 or
//! inf), never `0 * inf = nan`.

use super::drive::{drive, Loss, Request};
use super::pointwise::{Elementwise, Pointwise};
use super::regression::nan_or_zero;
use crate::error::{finite, invalid, LossError};
use crate::reduce::Partials;
use crate::simd::Real;

/// `e = exp(-|x|)`, `ln_1p(e)`, `sigmoid(x)`, `1 - sigmoid(x)` from one exponential.
#[inline(always)]
fn logistic<T: Real>(x: T) -> (T, T, T, T) {
    let e = (-x.abs()).exp();
    let lp = e.ln_1p();
    let d = T::ONE / (T::ONE + e);
    let ed = e * d;
    let nonneg = x >= T::ZERO;
    (e, lp, T::select(nonneg, d, ed), T::select(nonneg, ed, d))
}

/// `c * v`, or 0 when `c == 0` (the limit when `v` is infinite).
#[inline(always)]
fn times<T: Real>(c: T, v: T) -> T {
    T::select(c == T::ZERO, T::ZERO, c * v)
}

fn margin_ok(margin: f64) -> Result<(), LossError> {
    finite("margin", margin)?;
    if margin < 0.0 {
        return Err(invalid(
            "margin",
            format!("must be non-negative, got {margin}"),
        ));
    }
    Ok(())
}

/// `t` in `[0, 1]`; NaN passes (it propagates to the result instead).
#[inline(always)]
fn unit<T: Real>(t: T) -> bool {
    !(t < T::ZERO || t > T::ONE)
}

/// Binary cross-entropy on probabilities (`binary_cross_entropy`), logs clamped at -100.
#[derive(Debug, Clone, Copy, Default)]
pub struct Bce;

impl<T: Real> Pointwise<T> for Bce {
    const HEAVY: bool = true;
    const CHECKS_TARGET: bool = true;
    const CHECKS_PRED: bool = true;

    #[inline(always)]
    fn value(&self, p: T, t: T) -> T {
        let floor = T::from_f64(-100.0);
        let lp = p.ln().max_nan(floor);
        let lq = (-p).ln_1p().max_nan(floor);
        // 0 - x, not -x: a zero sum of signed zeros (p = t = 0, p = t = 1) gives +0.
        T::ZERO - (t * lp + (T::ONE - t) * lq)
    }
    #[inline(always)]
    fn value_grad(&self, p: T, t: T) -> (T, T) {
        // PyTorch's gradient: the 1e-12 floor keeps it finite at p = 0 and p = 1.
        let den = (p * (T::ONE - p)).max_nan(T::from_f64(1e-12));
        (self.value(p, t), (p - t) / den)
    }
    #[inline(always)]
    fn value_grad_hess(&self, p: T, t: T) -> (T, T, T) {
        let floor = T::from_f64(1e-12);
        let pq = p * (T::ONE - p);
        let den = pq.max_nan(floor);
        let d = p - t;
        // d/dp of (p - t)/(p (1-p)) = ((p-t)^2 + t(1-t)) / (p(1-p))^2; 1/floor where floored.
        let h = T::select(
            pq < floor,
            T::ONE / floor,
            (d * d + t * (T::ONE - t)) / (den * den),
        );
        (self.value(p, t), d / den, h)
    }
    #[inline(always)]
    fn target_ok(&self, t: T) -> bool {
        unit(t)
    }
    fn target_rule(&self) -> &'static str {
        "binary_cross_entropy targets must be in [0, 1]"
    }
    #[inline(always)]
    fn pred_ok(&self, p: T) -> bool {
        unit(p)
    }
    fn pred_rule(&self) -> &'static str {
        "binary_cross_entropy probabilities must be in [0, 1]"
    }
    fn pred_name(&self) -> &'static str {
        "prob"
    }
}

/// Binary cross-entropy on logits (`binary_cross_entropy_with_logits`) without `pos_weight`.
#[derive(Debug, Clone, Copy, Default)]
pub struct BceLogits;

impl<T: Real> Pointwise<T> for BceLogits {
    const HEAVY: bool = true;

    #[inline(always)]
    fn value(&self, x: T, t: T) -> T {
        let lp = (-x.abs()).exp().ln_1p();
        let a = T::ONE - t;
        times(a, x.max_nan(T::ZERO)) + times(t, (-x).max_nan(T::ZERO)) + lp
    }
    #[inline(always)]
    fn value_grad(&self, x: T, t: T) -> (T, T) {
        let (_, lp, s, sc) = logistic(x);
        let a = T::ONE - t;
        let l = times(a, x.max_nan(T::ZERO)) + times(t, (-x).max_nan(T::ZERO)) + lp;
        // sigmoid(x) - t without cancellation when t is 0 or 1.
        (l, a * s - t * sc)
    }
    #[inline(always)]
    fn value_grad_hess(&self, x: T, t: T) -> (T, T, T) {
        let (_, lp, s, sc) = logistic(x);
        let a = T::ONE - t;
        let l = times(a, x.max_nan(T::ZERO)) + times(t, (-x).max_nan(T::ZERO)) + lp;
        (l, a * s - t * sc, s * sc)
    }
}

/// `binary_cross_entropy_with_logits`'s options (`label_smoothing`, checked); [`Loss::run`]
/// picks one kernel per combination with `pos_weight` (column factors in the inputs), so the
/// plain kernel is [`BceLogits`] itself.
#[derive(Debug, Clone, Copy)]
pub struct BceWithLogits<T> {
    smoothing: Option<Smoothing<T>>,
}

impl<T: Real> BceWithLogits<T> {
    pub fn new(label_smoothing: f64) -> Result<Self, LossError> {
        if !(0.0..=1.0).contains(&label_smoothing) {
            return Err(invalid(
                "label_smoothing",
                format!("must be in [0, 1], got {label_smoothing}"),
            ));
        }
        let smoothing = (label_smoothing > 0.0).then(|| Smoothing {
            keep: T::from_f64(1.0 - label_smoothing),
            half_eps: T::from_f64(0.5 * label_smoothing),
        });
        Ok(BceWithLogits { smoothing })
    }
}

impl<T: Real> Loss<T> for BceWithLogits<T> {
    fn run(&self, req: Request<'_, T>) -> Result<Partials, LossError> {
        match (self.smoothing, req.inputs.cols.is_some()) {
            (None, _) => BceLogits.run(req),
            (Some(s), false) => drive(&Elementwise(Smoothed(BceLogits, s)), req),
            (Some(s), true) => drive(&Elementwise(Smoothed(BceLogitsPosWeight, s)), req),
        }
    }
}

/// Label smoothing of a binary target: `t (1 - eps) + eps/2` (optax / keras).
#[derive(Debug, Clone, Copy)]
pub struct Smoothing<T> {
    keep: T,
    half_eps: T,
}

impl<T: Real> Smoothing<T> {
    #[inline(always)]
    fn apply(&self, t: T) -> T {
        t * self.keep + self.half_eps
    }
}

/// A binary loss of the smoothed target: value, gradient and Hessian are the kernel's at
/// `t (1 - eps) + eps/2` (the target is a constant, so nothing else changes).
#[derive(Debug, Clone, Copy)]
pub struct Smoothed<K, T>(pub K, pub Smoothing<T>);

impl<T: Real, K: Pointwise<T>> Pointwise<T> for Smoothed<K, T> {
    const HEAVY: bool = K::HEAVY;
    const COLUMNS: bool = K::COLUMNS;

    #[inline(always)]
    fn value(&self, x: T, t: T) -> T {
        self.0.value(x, self.1.apply(t))
    }
    #[inline(always)]
    fn value_grad(&self, x: T, t: T) -> (T, T) {
        self.0.value_grad(x, self.1.apply(t))
    }
    #[inline(always)]
    fn value_grad_hess(&self, x: T, t: T) -> (T, T, T) {
        self.0.value_grad_hess(x, self.1.apply(t))
    }
    #[inline(always)]
    fn value_col(&self, x: T, t: T, c: T) -> T {
        self.0.value_col(x, self.1.apply(t), c)
    }
    #[inline(always)]
    fn value_grad_col(&self, x: T, t: T, c: T) -> (T, T) {
        self.0.value_grad_col(x, self.1.apply(t), c)
    }
    #[inline(always)]
    fn value_grad_hess_col(&self, x: T, t: T, c: T) -> (T, T, T) {
        self.0.value_grad_hess_col(x, self.1.apply(t), c)
    }
}

/// With `pos_weight` (column factors in the inputs) the loss runs as [`BceLogitsPosWeight`].
impl<T: Real> Loss<T> for BceLogits {
    fn run(&self, req: Request<'_, T>) -> Result<Partials, LossError> {
        match req.inputs.cols {
            Some(_) => drive(&Elementwise(BceLogitsPosWeight), req),
            None => drive(&Elementwise(BceLogits), req),
        }
    }
}

/// Binary cross-entropy on logits with a per-column `pos_weight` (the column factor).
#[derive(Debug, Clone, Copy, Default)]
pub struct BceLogitsPosWeight;

impl<T: Real> Pointwise<T> for BceLogitsPosWeight {
    const HEAVY: bool = true;
    const COLUMNS: bool = true;

    #[inline(always)]
    fn value(&self, x: T, t: T) -> T {
        self.value_col(x, t, T::ONE)
    }
    #[inline(always)]
    fn value_grad(&self, x: T, t: T) -> (T, T) {
        self.value_grad_col(x, t, T::ONE)
    }
    #[inline(always)]
    fn value_grad_hess(&self, x: T, t: T) -> (T, T, T) {
        self.value_grad_hess_col(x, t, T::ONE)
    }
    #[inline(always)]
    fn value_col(&self, x: T, t: T, pw: T) -> T {
        let lp = (-x.abs()).exp().ln_1p();
        let a = T::ONE - t;
        times(a, x.max_nan(T::ZERO) + lp) + times(pw * t, (-x).max_nan(T::ZERO) + lp)
    }
    #[inline(always)]
    fn value_grad_col(&self, x: T, t: T, pw: T) -> (T, T) {
        let (_, lp, s, sc) = logistic(x);
        let a = T::ONE - t;
        let pt = pw * t;
        let l = times(a, x.max_nan(T::ZERO) + lp) + times(pt, (-x).max_nan(T::ZERO) + lp);
        (l, a * s - pt * sc)
    }
    #[inline(always)]
    fn value_grad_hess_col(&self, x: T, t: T, pw: T) -> (T, T, T) {
        let (_, lp, s, sc) = logistic(x);
        let a = T::ONE - t;
        let pt = pw * t;
        let l = times(a, x.max_nan(T::ZERO) + lp) + times(pt, (-x).max_nan(T::ZERO) + lp);
        (l, a * s - pt * sc, (a + pt) * (s * sc))
    }
}

/// torchvision's `sigmoid_focal_loss`: BCE with logits times `(1 - p_t)^gamma`, times `alpha_t`
/// when `alpha >= 0`. `SQUARE` is the common `gamma = 2` with `q^2 = q * q` (no `ln`/`exp`, no
/// division by `q`); the general path uses `q^gamma = exp(gamma ln q)`.
///
/// Second derivative, with `ce' = s - t`, `ce'' = s sc`, `dq = (1-2t) s sc`, `dq' = dq (sc - s)`
/// and `r = dq/q`: `a_t q^g (s sc + 2 g ce' r + g ce r (sc - s) + g (g-1) ce r^2)`; for
/// `g = 2`, `a_t (q (q s sc + 4 dq ce' + 2 ce dq (sc - s)) + 2 ce dq^2)` (no division).
#[derive(Debug, Clone, Copy)]
pub struct SigmoidFocal<T, const SQUARE: bool = false> {
    alpha: T,
    use_alpha: bool,
    gamma: T,
}

impl<T: Real, const SQUARE: bool> SigmoidFocal<T, SQUARE> {
    pub fn new(alpha: f64, gamma: f64) -> Result<Self, LossError> {
        finite("alpha", alpha)?;
        finite("gamma", gamma)?;
        if alpha > 1.0 {
            return Err(invalid(
                "alpha",
                format!("must be in [0, 1] (or negative to disable), got {alpha}"),
            ));
        }
        if gamma < 0.0 {
            return Err(invalid(
                "gamma",
                format!("must be non-negative, got {gamma}"),
            ));
        }
        if SQUARE && gamma != 2.0 {
            return Err(invalid(
                "gamma",
                format!("the squared form needs gamma = 2, got {gamma}"),
            ));
        }
        Ok(SigmoidFocal {
            alpha: T::from_f64(alpha),
            use_alpha: alpha >= 0.0,
            gamma: T::from_f64(gamma),
        })
    }

    /// `(loss, q^gamma, ce, alpha_t, q, s, sc)` shared by value and gradient.
    #[inline(always)]
    fn parts(&self, x: T, t: T) -> [T; 7] {
        let (_, lp, s, sc) = logistic(x);
        let a = T::ONE - t;
        let ce = times(a, x.max_nan(T::ZERO)) + times(t, (-x).max_nan(T::ZERO)) + lp;
        // 1 - p_t without cancellation.
        let q = s * a + t * sc;
        let qg = if SQUARE {
            q * q
        } else {
            // q^0 = 1 even at q = 0 (0 * -inf would be nan).
            T::select(self.gamma == T::ZERO, T::ONE, (self.gamma * q.ln()).exp())
        };
        let at = if self.use_alpha {
            self.alpha * t + (T::ONE - self.alpha) * a
        } else {
            T::ONE
        };
        [at * (ce * qg), qg, ce, at, q, s, sc]
    }
}

impl<T: Real, const SQUARE: bool> Pointwise<T> for SigmoidFocal<T, SQUARE> {
    const HEAVY: bool = true;

    #[inline(always)]
    fn value(&self, x: T, t: T) -> T {
        self.parts(x, t)[0]
    }
    #[inline(always)]
    fn value_grad(&self, x: T, t: T) -> (T, T) {
        let [l, qg, ce, at, q, s, sc] = self.parts(x, t);
        let a = T::ONE - t;
        let dce = a * s - t * sc;
        let one_two_t = T::ONE - T::TWO * t;
        if SQUARE {
            // d(ce q^2) = q (q dce + 2 ce dq), dq = (1 - 2t) s sc; ce * dq -> 0 when dq
            // underflows to 0 while ce is infinite (x = +-inf).
            let cdq = times(one_two_t * (s * sc), ce);
            return (l, at * (q * (q * dce + T::TWO * cdq)));
        }
        // dq/dx / q = (1 - 2t) s sc / q; q = 0 only for t in {0, 1}, where it tends to 1 - 2t.
        let r = T::select(q > T::ZERO, one_two_t * (s * sc / q), one_two_t);
        let cr = times(r, ce);
        (l, at * (qg * (dce + self.gamma * cr)))
    }
    #[inline(always)]
    fn value_grad_hess(&self, x: T, t: T) -> (T, T, T) {
        let [l, qg, ce, at, q, s, sc] = self.parts(x, t);
        let a = T::ONE - t;
        let dce = a * s - t * sc;
        let one_two_t = T::ONE - T::TWO * t;
        let ssc = s * sc;
        if SQUARE {
            let dq = one_two_t * ssc;
            let cdq = times(dq, ce);
            let g = at * (q * (q * dce + T::TWO * cdq));
            let inner = q * (q * ssc + T::from_f64(4.0) * (dq * dce) + T::TWO * (cdq * (sc - s)));
            return (l, g, at * (inner + T::TWO * (cdq * dq)));
        }
        let r = T::select(q > T::ZERO, one_two_t * (ssc / q), one_two_t);
        let cr = times(r, ce);
        let g = at * (qg * (dce + self.gamma * cr));
        let gm = self.gamma;
        let inner = ssc + T::TWO * gm * (dce * r) + gm * (cr * ((sc - s) + (gm - T::ONE) * r));
        (l, g, at * (qg * inner))
    }
}

/// `gamma = 2` (the default) runs the squared form: no `ln`/`exp` for the power.
impl<T: Real> Loss<T> for SigmoidFocal<T, false> {
    fn run(&self, req: Request<'_, T>) -> Result<Partials, LossError> {
        if self.gamma == T::TWO {
            let squared = SigmoidFocal::<T, true> {
                alpha: self.alpha,
                use_alpha: self.use_alpha,
                gamma: self.gamma,
            };
            return drive(&Elementwise(squared), req);
        }
        drive(&Elementwise(*self), req)
    }
}

/// `soft_margin_loss`: `ln(1 + exp(-t x))`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SoftMargin;

impl<T: Real> Pointwise<T> for SoftMargin {
    const HEAVY: bool = true;

    #[inline(always)]
    fn value(&self, x: T, t: T) -> T {
        let z = -(t * x);
        z.max_nan(T::ZERO) + (-z.abs()).exp().ln_1p()
    }
    #[inline(always)]
    fn value_grad(&self, x: T, t: T) -> (T, T) {
        let z = -(t * x);
        let (_, lp, s, _) = logistic(z);
        (z.max_nan(T::ZERO) + lp, -(t * s))
    }
    #[inline(always)]
    fn value_grad_hess(&self, x: T, t: T) -> (T, T, T) {
        let z = -(t * x);
        let (_, lp, s, sc) = logistic(z);
        (z.max_nan(T::ZERO) + lp, -(t * s), (t * t) * (s * sc))
    }
}

/// Hinge loss with targets in {-1, +1}: `max(0, margin - t x)`.
#[derive(Debug, Clone, Copy)]
pub struct Hinge<T> {
    margin: T,
}

impl<T: Real> Hinge<T> {
    pub fn new(margin: f64) -> Result<Self, LossError> {
        margin_ok(margin)?;
        Ok(Hinge {
            margin: T::from_f64(margin),
        })
    }
}

/// `t` is -1 or +1 (NaN passes and propagates).
#[inline(always)]
pub(crate) fn sign_label<T: Real>(t: T) -> bool {
    // `|`, not `||`: no branch, so element loops vectorize.
    (t == T::ONE) | (t == -T::ONE) | t.is_nan()
}

impl<T: Real> Pointwise<T> for Hinge<T> {
    const CHECKS_TARGET: bool = true;

    #[inline(always)]
    fn value(&self, x: T, t: T) -> T {
        (self.margin - t * x).max_nan(T::ZERO)
    }
    #[inline(always)]
    fn value_grad(&self, x: T, t: T) -> (T, T) {
        let z = self.margin - t * x;
        let g = T::select(z > T::ZERO, -t, T::ZERO);
        (z.max_nan(T::ZERO), T::select(z.is_nan(), z, g))
    }
    #[inline(always)]
    fn value_grad_hess(&self, x: T, t: T) -> (T, T, T) {
        let (l, g) = self.value_grad(x, t);
        (l, g, nan_or_zero(self.margin - t * x))
    }
    #[inline(always)]
    fn target_ok(&self, t: T) -> bool {
        sign_label(t)
    }
    fn target_rule(&self) -> &'static str {
        "hinge targets must be -1 or +1"
    }
}

/// Squared hinge loss with targets in {-1, +1}: `max(0, margin - t x)^2`.
#[derive(Debug, Clone, Copy)]
pub struct SquaredHinge<T> {
    margin: T,
}

impl<T: Real> SquaredHinge<T> {
    pub fn new(margin: f64) -> Result<Self, LossError> {
        margin_ok(margin)?;
        Ok(SquaredHinge {
            margin: T::from_f64(margin),
        })
    }
}

impl<T: Real> Pointwise<T> for SquaredHinge<T> {
    const CHECKS_TARGET: bool = true;

    #[inline(always)]
    fn value(&self, x: T, t: T) -> T {
        let h = (self.margin - t * x).max_nan(T::ZERO);
        h * h
    }
    #[inline(always)]
    fn value_grad(&self, x: T, t: T) -> (T, T) {
        let h = (self.margin - t * x).max_nan(T::ZERO);
        (h * h, -(T::TWO * t) * h)
    }
    #[inline(always)]
    fn value_grad_hess(&self, x: T, t: T) -> (T, T, T) {
        let z = self.margin - t * x;
        let h = z.max_nan(T::ZERO);
        let d2 = T::select(z > T::ZERO, T::TWO * (t * t), nan_or_zero(z));
        (h * h, -(T::TWO * t) * h, d2)
    }
    #[inline(always)]
    fn target_ok(&self, t: T) -> bool {
        sign_label(t)
    }
    fn target_rule(&self) -> &'static str {
        "squared_hinge targets must be -1 or +1"
    }
}

/// `kl_div` pointwise terms: `t (ln t - x)` (0 where `t = 0`), or with `log_target`
/// `exp(t) (t - x)` (0 where `exp(t) = 0`).
#[derive(Debug, Clone, Copy, Default)]
pub struct KlDiv {
    pub log_target: bool,
}

impl<T: Real> Pointwise<T> for KlDiv {
    const HEAVY: bool = true;
    const BATCHMEAN: bool = true;

    #[inline(always)]
    fn value(&self, x: T, t: T) -> T {
        self.value_grad(x, t).0
    }
    #[inline(always)]
    fn value_grad(&self, x: T, t: T) -> (T, T) {
        if self.log_target {
            let e = t.exp();
            (times(e, t - x), -e)
        } else {
            (times(t, t.ln() - x), -t)
        }
    }
    #[inline(always)]
    fn value_grad_hess(&self, x: T, t: T) -> (T, T, T) {
        let (l, g) = self.value_grad(x, t);
        (l, g, nan_or_zero(x - t))
    }
}

crate::elementwise_loss!(
    Bce,
    BceLogitsPosWeight,
    SoftMargin,
    Hinge<T>,
    SquaredHinge<T>,
    KlDiv
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loss::{evaluate, Inputs, Request};
    use crate::Reduction;

    fn check_grad<L: Pointwise<f64>>(loss: L, points: &[(f64, f64)]) {
        for &(p, t) in points {
            let (l, g) = loss.value_grad(p, t);
            assert!(
                (l - loss.value(p, t)).abs() <= 1e-15 * (1.0 + l.abs()),
                "value {p} {t}"
            );
            let h = 1e-6;
            let fd = (loss.value(p + h, t) - loss.value(p - h, t)) / (2.0 * h);
            assert!(
                (g - fd).abs() <= 1e-6 * (1.0 + fd.abs()),
                "grad at p={p} t={t}: {g} vs {fd}"
            );
        }
    }

    #[test]
    fn gradients_match_finite_differences() {
        let logits = [
            (0.3, 1.0),
            (-2.0, 0.0),
            (4.0, 0.3),
            (-0.7, 0.8),
            (12.0, 1.0),
        ];
        check_grad(BceLogits, &logits);
        check_grad(SigmoidFocal::<f64>::new(0.25, 2.0).unwrap(), &logits);
        check_grad(SigmoidFocal::<f64, true>::new(0.25, 2.0).unwrap(), &logits);
        check_grad(SigmoidFocal::<f64>::new(-1.0, 0.5).unwrap(), &logits);
        check_grad(SoftMargin, &[(0.3, 1.0), (-2.0, -1.0), (4.0, 1.0)]);
        check_grad(Bce, &[(0.3, 1.0), (0.9, 0.0), (0.5, 0.25)]);
        check_grad(Hinge::<f64>::new(1.0).unwrap(), &[(0.3, 1.0), (-2.0, -1.0)]);
        check_grad(
            SquaredHinge::<f64>::new(1.0).unwrap(),
            &[(0.3, 1.0), (-0.2, -1.0)],
        );
        check_grad(KlDiv { log_target: false }, &[(-1.0, 0.3), (-0.1, 0.9)]);
        check_grad(KlDiv { log_target: true }, &[(-1.0, -0.3), (-0.1, -2.0)]);
    }

    #[test]
    fn infinite_logits_give_limits() {
        let inf = f64::INFINITY;
        for (x, t, l) in [
            (inf, 1.0, 0.0),
            (-inf, 0.0, 0.0),
            (inf, 0.0, inf),
            (-inf, 1.0, inf),
        ] {
            let (v, g) = Pointwise::<f64>::value_grad(&BceLogits, x, t);
            assert_eq!(v, l, "x={x} t={t}");
            assert!(g.is_finite());
            let (v, g) = SigmoidFocal::<f64>::new(0.25, 2.0)
                .unwrap()
                .value_grad(x, t);
            assert_eq!(v, l, "focal x={x} t={t}");
            assert!(g.is_finite(), "focal grad x={x} t={t}");
        }
        let (v, g) = Pointwise::<f32>::value_grad(&BceLogits, 1e4, 0.0);
        assert_eq!((v, g), (1e4, 1.0));
    }

    #[test]
    fn pos_weight_columns_and_batchmean_only_where_defined() {
        let x = [0.5f64, -1.0, 2.0, 0.0, 1.5, -0.5];
        let t = [1.0, 0.0, 1.0, 0.5, 0.0, 1.0];
        let pw = [2.0, 3.0];
        let mut g = [0.0; 6];
        let inputs = Inputs::elementwise(&x, &t).cols(Some(&pw)).batch(3);
        let req = Request::value(inputs, Reduction::BatchMean);
        let err = crate::loss::drive::evaluate(&BceLogits, req).unwrap_err();
        assert!(err.to_string().contains("batchmean"), "{err}");
        let req = Request::value(inputs, Reduction::Sum).grad_out(Some(&mut g));
        let v = crate::loss::drive::evaluate(&BceLogits, req).unwrap() / 3.0;
        let mut want = 0.0;
        for i in 0..6 {
            let sp = |z: f64| (1.0 + z.exp()).ln();
            want += (1.0 - t[i]) * sp(x[i]) + pw[i % 2] * t[i] * sp(-x[i]);
        }
        assert!((v - want / 3.0).abs() < 1e-14);
    }

    #[test]
    fn invalid_targets_name_the_first_position() {
        let p = [0.5f64, 0.2, 1.5];
        let t = [0.0, 2.0, 1.0];
        let err = evaluate(Bce, &p, &t, None, Reduction::Sum, None, None, false).unwrap_err();
        assert!(
            matches!(err, LossError::InvalidTarget { index: 1, .. }),
            "{err}"
        );
        let h = Hinge::<f64>::new(1.0).unwrap();
        let err = evaluate(
            h,
            &p,
            &[1.0, -1.0, 0.0],
            None,
            Reduction::Sum,
            None,
            None,
            true,
        )
        .unwrap_err();
        assert!(
            matches!(err, LossError::InvalidTarget { index: 2, .. }),
            "{err}"
        );
    }
}
