//! Regression losses: element-wise `l(p, t)` and `dl/dp`, PyTorch semantics.
//!
//! | loss | `l(p, t)` with `d = p - t` | `dl/dp` | `d^2l/dp^2` |
//! |---|---|---|---|
//! | [`Mse`] | `d^2` | `2d` | `2` |
//! | [`Mae`] | `\|d\|` | `sign(d)` (0 at 0) | `0` |
//! | [`Huber`] | `d^2/2` if `\|d\| < delta` else `delta (\|d\| - delta/2)` | `clamp(d, -delta, delta)` | `1` if `\|d\| < delta` else `0` |
//! | [`SmoothL1`] | `d^2/(2 beta)` if `\|d\| < beta` else `\|d\| - beta/2` | `d/beta` or `sign(d)` | `1/beta` or `0` |
//! | [`LogCosh`] | `\|d\| + log1p(exp(-2\|d\|)) - ln 2` | `tanh(d)` | `4e/(1+e)^2`, `e = exp(-2\|d\|)` |
//! | [`Pinball`] | `q max(-d, 0) + (1-q) max(d, 0)` | `-q`, `1-q` (0 at 0) | `0` |
//! | [`PoissonNll`] | `exp(p) - t p` (log input) or `p - t ln(p + eps)` | `exp(p) - t` or `1 - t/(p + eps)` | `exp(p)` or `t/(p + eps)^2` |
//!
//! Second derivatives: `mae`, `pinball` and `smooth_l1` with `beta = 0` are piecewise linear:
//! their second derivative is 0 wherever it exists; at the kink `d = 0` (where the gradient
//! jumps) it is reported as 0 too. `huber` and `smooth_l1` have a curvature jump at
//! `|d| = delta` (`beta`): the linear side's value (0) is reported there, matching the
//! gradient's branch. `log_cosh`'s `sech^2 d = 4e/(1+e)^2` has no cancellation for any `d`.
//! NaN inputs give NaN second derivatives.

use super::drive::{drive, Loss, Request};
use super::pointwise::{Elementwise, Pointwise};
use crate::error::{invalid, LossError};
use crate::reduce::Partials;
use crate::simd::Real;

/// 0, or NaN where `d` is NaN (the second derivative of a linear piece).
#[inline(always)]
pub(crate) fn nan_or_zero<T: Real>(d: T) -> T {
    T::select(d.is_nan(), d, T::ZERO)
}

fn finite(name: &'static str, v: f64) -> Result<(), LossError> {
    if v.is_finite() {
        Ok(())
    } else {
        Err(invalid(name, format!("must be finite, got {v}")))
    }
}

/// Mean squared error (`mse_loss`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Mse;

impl<T: Real> Pointwise<T> for Mse {
    #[inline(always)]
    fn value(&self, p: T, t: T) -> T {
        let d = p - t;
        d * d
    }
    #[inline(always)]
    fn value_grad(&self, p: T, t: T) -> (T, T) {
        let d = p - t;
        (d * d, d + d)
    }
    #[inline(always)]
    fn value_grad_hess(&self, p: T, t: T) -> (T, T, T) {
        let d = p - t;
        // 2, or NaN with the residual.
        (d * d, d + d, T::select(d.is_nan(), d, T::TWO))
    }
}

/// Mean absolute error (`l1_loss`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Mae;

impl<T: Real> Pointwise<T> for Mae {
    #[inline(always)]
    fn value(&self, p: T, t: T) -> T {
        (p - t).abs()
    }
    #[inline(always)]
    fn value_grad(&self, p: T, t: T) -> (T, T) {
        let d = p - t;
        (d.abs(), d.signum0())
    }
    #[inline(always)]
    fn value_grad_hess(&self, p: T, t: T) -> (T, T, T) {
        let d = p - t;
        (d.abs(), d.signum0(), nan_or_zero(d))
    }
}

/// Huber loss (`huber_loss`), quadratic below `delta`, linear above.
#[derive(Debug, Clone, Copy)]
pub struct Huber<T> {
    delta: T,
    half_delta: T,
}

impl<T: Real> Huber<T> {
    pub fn new(delta: f64) -> Result<Self, LossError> {
        finite("delta", delta)?;
        if delta <= 0.0 {
            return Err(invalid("delta", format!("must be positive, got {delta}")));
        }
        Ok(Huber {
            delta: T::from_f64(delta),
            half_delta: T::from_f64(0.5 * delta),
        })
    }
}

impl<T: Real> Pointwise<T> for Huber<T> {
    #[inline(always)]
    fn value(&self, p: T, t: T) -> T {
        let d = p - t;
        let a = d.abs();
        T::select(
            a < self.delta,
            T::HALF * d * d,
            self.delta * (a - self.half_delta),
        )
    }
    #[inline(always)]
    fn value_grad(&self, p: T, t: T) -> (T, T) {
        let d = p - t;
        let a = d.abs();
        let inside = a < self.delta;
        let l = T::select(inside, T::HALF * d * d, self.delta * (a - self.half_delta));
        // clamp(d, -delta, delta), NaN-propagating.
        let g = d.max_nan(-self.delta).min_nan(self.delta);
        (l, g)
    }
    #[inline(always)]
    fn value_grad_hess(&self, p: T, t: T) -> (T, T, T) {
        let (l, g) = self.value_grad(p, t);
        let d = p - t;
        let h = T::select(d.abs() < self.delta, T::ONE, nan_or_zero(d));
        (l, g, h)
    }
}

/// Smooth L1 loss (`smooth_l1_loss`); `beta = 0` is exactly the L1 loss.
#[derive(Debug, Clone, Copy)]
pub struct SmoothL1<T> {
    beta: T,
    half_beta: T,
}

impl<T: Real> SmoothL1<T> {
    pub fn new(beta: f64) -> Result<Self, LossError> {
        finite("beta", beta)?;
        if beta < 0.0 {
            return Err(invalid("beta", format!("must be non-negative, got {beta}")));
        }
        // Divide by beta rather than multiply by 1/beta: 1/beta overflows for subnormal beta.
        // With beta = 0 the quadratic branch is never selected (|d| < 0 is false).
        Ok(SmoothL1 {
            beta: T::from_f64(beta),
            half_beta: T::from_f64(0.5 * beta),
        })
    }
}

impl<T: Real> Pointwise<T> for SmoothL1<T> {
    #[inline(always)]
    fn value(&self, p: T, t: T) -> T {
        let d = p - t;
        let a = d.abs();
        T::select(
            a < self.beta,
            T::HALF * d * (d / self.beta),
            a - self.half_beta,
        )
    }
    #[inline(always)]
    fn value_grad(&self, p: T, t: T) -> (T, T) {
        let d = p - t;
        let a = d.abs();
        let inside = a < self.beta;
        let r = d / self.beta;
        let l = T::select(inside, T::HALF * d * r, a - self.half_beta);
        let g = T::select(inside, r, d.signum0());
        (l, g)
    }
    #[inline(always)]
    fn value_grad_hess(&self, p: T, t: T) -> (T, T, T) {
        let (l, g) = self.value_grad(p, t);
        let d = p - t;
        let h = T::select(d.abs() < self.beta, T::ONE / self.beta, nan_or_zero(d));
        (l, g, h)
    }
}

/// log(cosh(p - t)).
///
/// For `|d| >= 1/2`: `|d| + log1p(exp(-2|d|)) - ln 2`, which never overflows, and
/// `tanh|d| = (1 - e)/(1 + e)` with `e = exp(-2|d|) <= 1/e`. Below 1/2 that form cancels (the
/// result ~ d^2/2 is far smaller than its terms), so value and gradient come from the Taylor
/// series `log cosh x = sum c_n x^(2n)` and its derivative (16 terms for f64, 8 for f32: relative
/// error < 1e-16 and < 1e-9 at 1/2, better below).
#[derive(Debug, Clone, Copy, Default)]
pub struct LogCosh;

/// Where the series takes over from the closed form.
const LOG_COSH_SMALL: f64 = 0.5;

/// `c_n = 4^n (4^n - 1) B_2n / (2n (2n)!)`, the Taylor coefficients of log cosh (n = 1..16),
/// written with all the digits they have (each rounds once, to the nearest f64).
#[allow(clippy::excessive_precision)]
const LOG_COSH_SERIES: [f64; 16] = [
    0.5,
    -0.083_333_333_333_333_333_33,
    0.022_222_222_222_222_222_22,
    -0.006_746_031_746_031_746_032,
    0.002_186_948_853_615_520_282,
    -0.000_738_602_960_825_183_047_4,
    0.000_256_580_574_040_891_501_2,
    -0.000_090_989_649_190_707_391_77,
    0.000_032_779_302_274_754_776_74,
    -0.000_011_956_455_712_177_624_07,
    4.405_244_525_877_022_875e-6,
    -1.636_596_828_471_534_752e-6,
    6.122_655_795_895_755_670e-7,
    -2.304_174_719_876_939_558e-7,
    8.715_903_837_635_848_514e-8,
    -3.311_646_350_032_704_485e-8,
];

impl LogCosh {
    /// `(|d|, log cosh d, tanh |d|)`, branch-free.
    #[inline(always)]
    fn parts<T: Real>(d: T) -> (T, T, T) {
        let a = d.abs();
        // Closed form for |d| >= 1/2. e is in [0, 1] unless `a` is NaN; then `a` itself is the
        // result (a sum of two NaNs would give either one, depending on the ISA's operand order).
        let e = (-(a + a)).exp();
        let large_value = T::select(a.is_nan(), a, a + e.ln_1p_unit() - T::LN_2);
        let large_tanh = (T::ONE - e) / (T::ONE + e);
        // Series for |d| < 1/2, Horner in z = d^2: value = z P(z), tanh = |d| Q(z).
        let z = a * a;
        // f32 needs 8 terms (relative error 7e-10 at 1/2), f64 all 16.
        let n = if T::MANTISSA_DIGITS <= 24 {
            8
        } else {
            LOG_COSH_SERIES.len()
        };
        let mut p = T::from_f64(LOG_COSH_SERIES[n - 1]);
        let mut q = T::from_f64(2.0 * n as f64 * LOG_COSH_SERIES[n - 1]);
        for k in (0..n - 1).rev() {
            p = p * z + T::from_f64(LOG_COSH_SERIES[k]);
            q = q * z + T::from_f64(2.0 * (k + 1) as f64 * LOG_COSH_SERIES[k]);
        }
        let small = a < T::from_f64(LOG_COSH_SMALL);
        let value = T::select(small, z * p, large_value);
        let tanh_abs = T::select(small, a * q, large_tanh);
        (a, value, tanh_abs)
    }
}

impl<T: Real> Pointwise<T> for LogCosh {
    const HEAVY: bool = true;

    #[inline(always)]
    fn value(&self, p: T, t: T) -> T {
        LogCosh::parts(p - t).1
    }
    #[inline(always)]
    fn value_grad(&self, p: T, t: T) -> (T, T) {
        let d = p - t;
        let (a, value, tanh_abs) = LogCosh::parts(d);
        // Restore the sign of d; NaN stays NaN.
        let g = T::select(d < T::ZERO, -tanh_abs, tanh_abs);
        let g = T::select(a.is_nan(), d, g);
        (value, g)
    }
    #[inline(always)]
    fn value_grad_hess(&self, p: T, t: T) -> (T, T, T) {
        let (value, g) = self.value_grad(p, t);
        // sech^2 d = 4e/(1+e)^2 with e = exp(-2|d|): no cancellation, 0 at |d| = inf.
        let e = (-((p - t).abs() * T::TWO)).exp();
        let one_e = T::ONE + e;
        (value, g, (e + e + e + e) / (one_e * one_e))
    }
}

/// Pinball (quantile) loss, scikit-learn's `mean_pinball_loss` per element.
#[derive(Debug, Clone, Copy)]
pub struct Pinball<T> {
    q: T,
    q_minus_one: T,
}

impl<T: Real> Pinball<T> {
    pub fn new(quantile: f64) -> Result<Self, LossError> {
        if !(0.0..=1.0).contains(&quantile) {
            return Err(invalid(
                "quantile",
                format!("must be in [0, 1], got {quantile}"),
            ));
        }
        Ok(Pinball {
            q: T::from_f64(quantile),
            q_minus_one: T::from_f64(quantile - 1.0),
        })
    }
}

impl<T: Real> Pointwise<T> for Pinball<T> {
    #[inline(always)]
    fn value(&self, p: T, t: T) -> T {
        // r = t - p: under-prediction (r > 0) costs q r, over-prediction costs (q - 1) r.
        let r = t - p;
        T::select(r > T::ZERO, self.q * r, self.q_minus_one * r)
    }
    #[inline(always)]
    fn value_grad(&self, p: T, t: T) -> (T, T) {
        let r = t - p;
        let l = T::select(r > T::ZERO, self.q * r, self.q_minus_one * r);
        let g = T::select(
            r > T::ZERO,
            -self.q,
            T::select(r < T::ZERO, -self.q_minus_one, T::ZERO),
        );
        // Keep NaN visible in the gradient too.
        let g = T::select(r.is_nan(), r, g);
        (l, g)
    }
    #[inline(always)]
    fn value_grad_hess(&self, p: T, t: T) -> (T, T, T) {
        let (l, g) = self.value_grad(p, t);
        (l, g, nan_or_zero(t - p))
    }
}

crate::elementwise_loss!(Mse, Mae, Huber<T>, SmoothL1<T>, LogCosh, Pinball<T>);

/// Poisson negative log-likelihood (`poisson_nll_loss`): the options, checked. Its kernels are
/// [`PoissonKernel`]s, one type per option combination so the hot loop has no branch on them;
/// its [`Loss`] impl hands the right one to the driver.
#[derive(Debug, Clone, Copy)]
pub struct PoissonNll<T> {
    log_input: bool,
    full: bool,
    eps: T,
}

impl<T: Real> PoissonNll<T> {
    pub fn new(log_input: bool, full: bool, eps: f64) -> Result<Self, LossError> {
        finite("eps", eps)?;
        if eps < 0.0 {
            return Err(invalid("eps", format!("must be non-negative, got {eps}")));
        }
        Ok(PoissonNll {
            log_input,
            full,
            eps: T::from_f64(eps),
        })
    }
}

impl<T: Real> Loss<T> for PoissonNll<T> {
    fn run(&self, req: Request<'_, T>) -> Result<Partials, LossError> {
        let eps = self.eps;
        match (self.log_input, self.full) {
            (true, false) => drive(&Elementwise(PoissonKernel::<T, true, false> { eps }), req),
            (true, true) => drive(&Elementwise(PoissonKernel::<T, true, true> { eps }), req),
            (false, false) => drive(&Elementwise(PoissonKernel::<T, false, false> { eps }), req),
            (false, true) => drive(&Elementwise(PoissonKernel::<T, false, true> { eps }), req),
        }
    }
}

/// The Poisson NLL for one option combination.
#[derive(Debug, Clone, Copy)]
pub struct PoissonKernel<T, const LOG_INPUT: bool, const FULL: bool> {
    eps: T,
}

impl<T: Real, const LOG_INPUT: bool, const FULL: bool> PoissonKernel<T, LOG_INPUT, FULL> {
    /// Stirling term `t ln t - t + ln(2 pi t)/2`, added for `t > 1` when `full`.
    #[inline(always)]
    fn stirling(t: T) -> T {
        let ln_t = t.ln();
        let half_ln_two_pi = T::from_f64(0.918_938_533_204_672_8);
        let s = t * ln_t - t + T::HALF * ln_t + half_ln_two_pi;
        T::select(t > T::ONE, s, T::ZERO)
    }
}

impl<T: Real, const LOG_INPUT: bool, const FULL: bool> Pointwise<T>
    for PoissonKernel<T, LOG_INPUT, FULL>
{
    const HEAVY: bool = true;

    #[inline(always)]
    fn value(&self, p: T, t: T) -> T {
        self.value_grad(p, t).0
    }
    #[inline(always)]
    fn value_grad(&self, p: T, t: T) -> (T, T) {
        let (l, g) = if LOG_INPUT {
            let e = p.exp();
            // t * p is 0 for t = 0 even at p = -inf (the limit of the loss there is 0).
            (e - T::select(t == T::ZERO, T::ZERO, t * p), e - t)
        } else {
            let q = p + self.eps;
            (p - t * q.ln(), T::ONE - t / q)
        };
        let l = if FULL { l + Self::stirling(t) } else { l };
        (l, g)
    }
    #[inline(always)]
    fn value_grad_hess(&self, p: T, t: T) -> (T, T, T) {
        let (l, g, h) = if LOG_INPUT {
            let e = p.exp();
            (e - t * p, e - t, e)
        } else {
            let q = p + self.eps;
            let r = t / q;
            (p - t * q.ln(), T::ONE - r, r / q)
        };
        let l = if FULL { l + Self::stirling(t) } else { l };
        (l, g, h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loss::evaluate;
    use crate::Reduction;

    fn central_diff<L: Pointwise<f64>>(loss: L, p: f64, t: f64) -> f64 {
        let h = 1e-6 * p.abs().max(1.0);
        (loss.value(p + h, t) - loss.value(p - h, t)) / (2.0 * h)
    }

    fn check_grad<L: Pointwise<f64>>(loss: L, points: &[(f64, f64)]) {
        for &(p, t) in points {
            let (l, g) = loss.value_grad(p, t);
            assert_eq!(
                l.to_bits(),
                loss.value(p, t).to_bits(),
                "value at p={p} t={t}"
            );
            let fd = central_diff(loss, p, t);
            assert!(
                (g - fd).abs() <= 1e-6 * (1.0 + fd.abs()),
                "grad at p={p} t={t}: {g} vs {fd}"
            );
        }
    }

    const POINTS: [(f64, f64); 6] = [
        (0.3, -1.2),
        (2.5, 2.0),
        (-3.0, 1.0),
        (0.1, 0.7),
        (10.0, -4.0),
        (-0.5, 0.25),
    ];

    #[test]
    fn gradients_match_finite_differences() {
        check_grad(Mse, &POINTS);
        check_grad(Mae, &POINTS);
        check_grad(Huber::<f64>::new(1.0).unwrap(), &POINTS);
        check_grad(SmoothL1::<f64>::new(0.5).unwrap(), &POINTS);
        check_grad(LogCosh, &POINTS);
        check_grad(Pinball::<f64>::new(0.3).unwrap(), &POINTS);
        check_grad(PoissonKernel::<f64, true, true> { eps: 1e-8 }, &POINTS);
        let positive: Vec<(f64, f64)> = POINTS
            .iter()
            .map(|&(p, t)| (p.abs() + 0.1, t.abs()))
            .collect();
        check_grad(PoissonKernel::<f64, false, false> { eps: 1e-8 }, &positive);
    }

    #[test]
    fn log_cosh_is_accurate_for_small_residuals() {
        // log(cosh(d)) = d^2/2 - d^4/12 + ... for small d.
        for &d in &[1e-20f64, 1e-8, 1e-4, 0.01, 0.3, 0.49, 0.51] {
            let series =
                d * d / 2.0 - d.powi(4) / 12.0 + d.powi(6) / 45.0 - 17.0 * d.powi(8) / 2520.0;
            let (v, g) = Pointwise::<f64>::value_grad(&LogCosh, d, 0.0);
            if d < 0.05 {
                assert!(
                    (v - series).abs() <= 4e-16 * series,
                    "d={d}: {v} vs {series}"
                );
            }
            assert!((g - d.tanh()).abs() <= 4e-16 * d.tanh(), "tanh at {d}: {g}");
            let v32: f32 = Pointwise::<f32>::value(&LogCosh, d as f32, 0.0);
            let d32 = d as f32 as f64;
            let exact = if d32 < 1e-3 {
                d32 * d32 / 2.0 - d32.powi(4) / 12.0
            } else {
                d32.cosh().ln()
            };
            let err = ((v32 as f64) - exact).abs();
            // Relative 4e-7, or the subnormal spacing of f32 for results below f32::MIN_POSITIVE.
            assert!(err <= 4e-7 * exact + 1e-44, "f32 d={d}: {v32} vs {exact}");
        }
    }

    #[test]
    fn smooth_l1_with_subnormal_beta_is_l1() {
        let loss = SmoothL1::<f64>::new(1e-309).unwrap();
        assert_eq!(loss.value_grad(0.0, 0.0), (0.0, 0.0));
        assert_eq!(loss.value_grad(2.0, 0.0), (2.0 - 0.5e-309, 1.0));
    }

    #[test]
    fn log_cosh_does_not_overflow() {
        let l: f32 = Pointwise::<f32>::value(&LogCosh, 1e4, 0.0);
        assert!((l - (1e4 - std::f32::consts::LN_2)).abs() <= 1e-3);
        let (_, g) = Pointwise::<f32>::value_grad(&LogCosh, -1e30, 0.0);
        assert_eq!(g, -1.0);
    }

    #[test]
    fn rejects_bad_parameters() {
        assert!(Huber::<f32>::new(0.0).is_err());
        assert!(Huber::<f32>::new(f64::NAN).is_err());
        assert!(SmoothL1::<f32>::new(-1.0).is_err());
        assert!(Pinball::<f32>::new(1.5).is_err());
        assert!(PoissonNll::<f32>::new(true, false, -1.0).is_err());
    }

    #[test]
    fn mean_matches_a_plain_sum_and_threads_do_not_change_bits() {
        let n = 100_003;
        let p: Vec<f32> = (0..n)
            .map(|i| ((i * 37) % 1001) as f32 * 0.013 - 6.0)
            .collect();
        let t: Vec<f32> = (0..n)
            .map(|i| ((i * 91) % 997) as f32 * 0.011 - 5.0)
            .collect();
        let reference: f64 = p
            .iter()
            .zip(&t)
            .map(|(&a, &b)| ((a - b) as f64).powi(2))
            .sum::<f64>()
            / n as f64;
        let mut g1 = vec![0f32; n];
        let v1 = evaluate(
            Mse,
            &p,
            &t,
            None,
            Reduction::Mean,
            None,
            Some(&mut g1),
            false,
        )
        .unwrap();
        assert!((v1 - reference).abs() <= 1e-6 * reference);
        crate::par::set_num_threads(1).unwrap();
        let mut g2 = vec![0f32; n];
        let v2 = evaluate(
            Mse,
            &p,
            &t,
            None,
            Reduction::Mean,
            None,
            Some(&mut g2),
            false,
        )
        .unwrap();
        crate::par::set_num_threads(4).unwrap();
        let v4 = evaluate(Mse, &p, &t, None, Reduction::Mean, None, None, false).unwrap();
        assert_eq!(v1.to_bits(), v2.to_bits());
        assert_eq!(v1.to_bits(), v4.to_bits());
        assert_eq!(g1, g2);
        for i in [0, 17, n - 1] {
            assert_eq!(g1[i], 2.0 * (p[i] - t[i]) * (1.0 / n as f32));
        }
    }

    #[test]
    fn every_isa_gives_the_same_bits() {
        let n = 50_000;
        let p: Vec<f64> = (0..n)
            .map(|i| ((i * 37) % 1001) as f64 * 0.013 - 6.0)
            .collect();
        let t: Vec<f64> = (0..n)
            .map(|i| ((i * 91) % 997) as f64 * 0.011 - 5.0)
            .collect();
        let w: Vec<f64> = (0..n).map(|i| (i % 7) as f64 * 0.5).collect();
        let run = || {
            let mut g = vec![0f64; n];
            let v = evaluate(
                LogCosh,
                &p,
                &t,
                Some(&w),
                Reduction::Mean,
                None,
                Some(&mut g),
                false,
            )
            .unwrap();
            (v, g)
        };
        let reference = {
            crate::simd::set_active(crate::Isa::Scalar).unwrap();
            run()
        };
        for isa in crate::simd::available() {
            crate::simd::set_active(isa).unwrap();
            let (v, g) = run();
            assert_eq!(v.to_bits(), reference.0.to_bits(), "{isa:?}");
            assert_eq!(g, reference.1, "{isa:?}");
        }
        crate::simd::set_active(crate::simd::detect()).unwrap();
    }

    #[test]
    fn negative_weight_is_rejected_before_writing() {
        let p = [1.0f64, 2.0, 3.0];
        let t = [0.0f64; 3];
        let w = [1.0, -1.0, 1.0];
        let mut g = [7.0f64; 3];
        let err = evaluate(
            Mse,
            &p,
            &t,
            Some(&w),
            Reduction::Sum,
            None,
            Some(&mut g),
            true,
        )
        .unwrap_err();
        assert!(matches!(err, LossError::InvalidWeight { index: 1, .. }));
        assert_eq!(g, [7.0; 3]);
    }
}
