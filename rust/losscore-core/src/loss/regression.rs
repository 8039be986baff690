//! Regression losses: element-wise `l(p, t)` and `dl/dp`, PyTorch semantics.
//!
//! | loss | `l(p, t)` with `d = p - t` | `dl/dp` | `d^2l/dp^2` |
//! |---|---|---|---|
//! | [`Mse`] | `d^2` | `2d` | `2` |
//! | [`Mae`] | `\|d\|` | `sign(d)` (0 at 0) | `0` |
//! | [`Huber`] | `d^2/2` if `\|d\| < delta` else `delta (\|d\| - delta/2)` | `clamp(d, -delta, delta)` | `1` if `\|d\| < delta` else `0` |
//! | [`SmoothL1`] | `d^2/(2 beta)` if `\|d\| < beta` else `\|d\| - beta/2` | `d/beta` or `sign(d)` | `1/beta` or `0` |
//! | [`LogCosh`] | `(\|d\| - ln 2) + log1p(exp(-2\|d\|))` (polynomials below 3/4) | `tanh(d)` | `4e/(1+e)^2`, `e = exp(-2\|d\|)` |
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
use crate::error::{finite, invalid, LossError};
use crate::reduce::Partials;
use crate::simd::Real;

/// 0, or NaN where `d` is NaN (the second derivative of a linear piece).
#[inline(always)]
pub(crate) fn nan_or_zero<T: Real>(d: T) -> T {
    T::select(d.is_nan(), d, T::ZERO)
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
/// For `|d| >= 3/4`: `(|d| - ln 2) + log1p(exp(-2|d|))`, which never overflows, and
/// `tanh|d| = (1 - e)/(1 + e)` with `e = exp(-2|d|)`. There `|d| - ln 2` is exact up to
/// `2 ln 2` (Sterbenz; `ln 2` is split into two floats) and both terms are non-negative, so
/// nothing cancels. Below 3/4 that form cancels (the result ~ d^2/2 is far smaller than its
/// terms), so value and gradient come from polynomials in `z = d^2`: `log cosh d = z P(z)` and
/// `tanh |d| = |d| R(z)`, Chebyshev fits on `[0, 9/16]` (13/14 terms for f64, relative error
/// < 3.3e-17; 7 for f32, < 1.8e-9).
#[derive(Debug, Clone, Copy, Default)]
pub struct LogCosh;

/// Where the polynomials take over from the closed form.
const LOG_COSH_SMALL: f64 = 0.75;

/// `ln 2 - (ln 2 rounded to f64)` and the same for f32.
#[allow(clippy::excessive_precision)]
const LN2_LO_64: f64 = 2.319_046_813_846_299_615_5e-17;
#[allow(clippy::excessive_precision)]
const LN2_LO_32: f64 = -1.904_654_299_957_767_878_5e-9;

// Coefficients (lowest degree first) from mpmath `chebyfit` at 60 digits of
// `log(cosh(sqrt z))/z` (P) and `tanh(sqrt z)/sqrt z` (R) on [0, 9/16], rounded once.
#[allow(clippy::excessive_precision)]
const LOG_COSH_P64: [f64; 13] = [
    0.499_999_999_999_999_998_922_8,
    -0.083_333_333_333_332_685_659_92,
    0.022_222_222_222_157_539_484_11,
    -0.006_746_031_743_487_132_207_489,
    0.002_186_948_801_452_644_247_217,
    -0.000_738_602_322_183_890_878_426_5,
    0.000_256_575_531_710_002_229_438_9,
    -0.000_090_962_797_813_048_566_784_76,
    0.000_032_680_472_703_225_072_709_03,
    -0.000_011_702_763_976_921_857_697_65,
    3.953_222_593_287_846_902_711e-6,
    -1.087_730_103_610_240_653_507e-6,
    1.712_980_917_330_056_092_747e-7,
];
#[allow(clippy::excessive_precision)]
const LOG_COSH_R64: [f64; 14] = [
    0.999_999_999_999_999_998_584_2,
    -0.333_333_333_333_332_346_111_7,
    0.133_333_333_333_218_920_583_4,
    -0.053_968_253_963_018_756_399_21,
    0.021_869_488_410_819_041_816_51,
    -0.008_863_233_726_722_650_104_546,
    0.003_592_111_162_609_368_338_992,
    -0.001_455_726_628_890_826_368_54,
    0.000_589_544_208_151_162_086_637_9,
    -0.000_237_584_900_135_205_517_084_7,
    0.000_093_387_783_796_223_919_420_1,
    -0.000_033_560_921_156_826_111_288_74,
    9.459_002_443_250_869_596_705e-6,
    -1.476_838_173_636_123_423_532e-6,
];
#[allow(clippy::excessive_precision)]
const LOG_COSH_P32: [f64; 7] = [
    0.499_999_999_897_475_940_720_6,
    -0.083_333_315_434_732_340_334_28,
    0.022_221_707_753_121_722_806_85,
    -0.006_740_428_441_669_264_710_179,
    0.002_157_418_491_322_029_098_493,
    -0.000_656_266_403_499_245_343_469_5,
    0.000_134_305_718_710_155_770_539_5,
];
#[allow(clippy::excessive_precision)]
const LOG_COSH_R32: [f64; 7] = [
    0.999_999_998_485_011_062_118_8,
    -0.333_333_068_774_592_068_293_1,
    0.133_325_718_350_242_073_201_7,
    -0.053_885_084_942_893_486_220_59,
    0.021_429_011_678_764_816_747_13,
    -0.007_624_102_603_183_462_615_777,
    0.001_718_626_985_027_264_305_414,
];

/// `sum c[k] z^k` by Horner.
#[inline(always)]
fn horner<T: Real>(c: &[f64], z: T) -> T {
    let mut acc = T::from_f64(c[c.len() - 1]);
    for &ck in c[..c.len() - 1].iter().rev() {
        acc = acc * z + T::from_f64(ck);
    }
    acc
}

impl LogCosh {
    /// `(|d|, log cosh d, tanh |d|)`, branch-free.
    #[inline(always)]
    fn parts<T: Real>(d: T) -> (T, T, T) {
        let a = d.abs();
        let f32_like = T::MANTISSA_DIGITS <= 24;
        // Closed form for |d| >= 3/4. e is in [0, 1] unless `a` is NaN; then `a` itself is the
        // result (a sum of two NaNs would give either one, depending on the ISA's operand order).
        let e = (-(a + a)).exp();
        let ln2_lo = T::from_f64(if f32_like { LN2_LO_32 } else { LN2_LO_64 });
        let shifted = (a - T::LN_2) - ln2_lo;
        let large_value = T::select(a.is_nan(), a, shifted + e.ln_1p_unit());
        let large_tanh = (T::ONE - e) / (T::ONE + e);
        let z = a * a;
        let (pc, rc): (&[f64], &[f64]) = if f32_like {
            (&LOG_COSH_P32, &LOG_COSH_R32)
        } else {
            (&LOG_COSH_P64, &LOG_COSH_R64)
        };
        let small = a < T::from_f64(LOG_COSH_SMALL);
        let value = T::select(small, z * horner(pc, z), large_value);
        let tanh_abs = T::select(small, a * horner(rc, z), large_tanh);
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
    /// `1 - q` and `0 - q` (so that `q = 0` and `q = 1` give +0, never -0).
    one_minus_q: T,
    neg_q: T,
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
            one_minus_q: T::from_f64(1.0 - quantile),
            neg_q: T::from_f64(0.0 - quantile),
        })
    }
}

impl<T: Real> Pointwise<T> for Pinball<T> {
    #[inline(always)]
    fn value(&self, p: T, t: T) -> T {
        // r = t - p: under-prediction (r > 0) costs q r, over-prediction costs (1 - q)(p - t)
        // (both factors >= 0, so a zero coefficient gives +0).
        let r = t - p;
        T::select(r > T::ZERO, self.q * r, self.one_minus_q * (p - t))
    }
    #[inline(always)]
    fn value_grad(&self, p: T, t: T) -> (T, T) {
        let r = t - p;
        let l = T::select(r > T::ZERO, self.q * r, self.one_minus_q * (p - t));
        let g = T::select(
            r > T::ZERO,
            self.neg_q,
            T::select(r < T::ZERO, self.one_minus_q, T::ZERO),
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
