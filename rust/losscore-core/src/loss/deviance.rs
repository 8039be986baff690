//! Tweedie deviances (scikit-learn's `mean_poisson_deviance`, `mean_gamma_deviance`,
//! `mean_tweedie_deviance`), element-wise in the prediction `mu > 0` and the target `t`:
//!
//! | loss | `l(mu, t)` | `dl/dmu` | `d^2l/dmu^2` |
//! |---|---|---|---|
//! | [`PoissonDeviance`] (power 1) | `2 (t ln(t/mu) - t + mu)`, `2 mu` at `t = 0` | `2 (mu - t)/mu` | `2 t/mu^2` |
//! | [`GammaDeviance`] (power 2) | `2 (ln(mu/t) + t/mu - 1)` | `2 (mu - t)/mu^2` | `2 (2t - mu)/mu^3` |
//! | [`TweedieKernel`] (power `p`) | `2 (max(t,0)^(2-p)/((1-p)(2-p)) - t mu^(1-p)/(1-p) + mu^(2-p)/(2-p))` | `2 mu^-p (mu - t)` | `2 mu^(-p-1) (p t + (1-p) mu)` |
//!
//! [`TweedieDeviance`] picks the kernel for its power: 0 is the squared error ([`Mse`]), 1 and 2
//! the two closed forms above, anything else (`p < 0`, `1 < p < 2`, `p > 2`) the general form;
//! `0 < p < 1` has no Tweedie distribution and is rejected, as in scikit-learn.
//!
//! Domains (scikit-learn's): every power but 0 needs `mu > 0`; targets must be `>= 0` for
//! `1 <= p < 2`, `> 0` for `p >= 2`, and are free for `p <= 0`. They are checked in the same
//! pass (NaN passes and propagates).
//!
//! Stability: the Poisson and Gamma deviances are both `phi(x) = x - ln(1 + x)` of a ratio
//! (`t phi((mu - t)/t)` and `phi((t - mu)/mu)`), which cancels near `mu = t` (the result ~
//! `x^2/2` is far smaller than its terms). For `x` in `[-1/2, 1]` (ratio in `[1/2, 2]`, where
//! `mu - t` is exact, so `x` is rounded once) it is `s (x - 2 s^2 Q(s^2))` with `s = x/(2 + x)`, `Q(z) = sum z^k/(2k+3)`: the
//! `atanh` series of `ln(1 + x)` with the cancelling first term taken out, no cancellation
//! left. `t = 0` is the `xlogy` limit (`0 ln 0 = 0`). The general power keeps scikit-learn's
//! three terms (`x^a = exp(a ln x)`); near `mu = t` their cancellation costs accuracy relative
//! to the terms' size (documented in `docs/numerics.md`).

use super::drive::{drive, Loss, Request};
use super::pointwise::{Elementwise, Pointwise};
use super::regression::Mse;
use crate::error::{invalid, LossError};
use crate::reduce::Partials;
use crate::simd::Real;

/// `Q(z) = sum_k z^k / (2k + 3)`, k = 0..16 for f64 (z <= 1/9: truncation < 1e-18 relative),
/// k = 0..7 for f32.
#[inline(always)]
fn atanh_tail<T: Real>(z: T) -> T {
    let n = if T::MANTISSA_DIGITS <= 24 { 8 } else { 17 };
    let mut q = T::from_f64(1.0 / (2 * n + 1) as f64);
    for k in (0..n - 1).rev() {
        q = q * z + T::from_f64(1.0 / (2 * k + 3) as f64);
    }
    q
}

/// `x - ln(1 + x)` for `x` in `[-1/2, 1]` without cancellation (garbage outside: mask it).
#[inline(always)]
fn x_minus_ln_1p_series<T: Real>(x: T) -> T {
    let s = x / (T::TWO + x);
    let z = s * s;
    s * (x - T::TWO * (z * atanh_tail(z)))
}

/// Whether `x` is in the series range.
#[inline(always)]
fn near_one<T: Real>(x: T) -> bool {
    x >= -T::HALF && x <= T::ONE
}

/// `mu > 0` (NaN passes and propagates).
#[inline(always)]
fn positive_or_nan<T: Real>(v: T) -> bool {
    v > T::ZERO || v.is_nan()
}

const PRED_RULE: &str = "deviance predictions must be positive";
const NON_NEGATIVE_RULE: &str =
    "targets must be non-negative (Poisson deviance, Tweedie power in [1, 2))";
const POSITIVE_RULE: &str = "targets must be positive (Gamma deviance, Tweedie power >= 2)";

/// Poisson deviance, scikit-learn's `mean_poisson_deviance` per element.
#[derive(Debug, Clone, Copy, Default)]
pub struct PoissonDeviance;

impl PoissonDeviance {
    /// Half the deviance, `t ln(t/mu) - t + mu`.
    #[inline(always)]
    fn half<T: Real>(mu: T, t: T) -> T {
        // mu - t is exact where the series is used (Sterbenz), so x has one rounding; the far
        // branch's mu/t is 1 + x (one division per element fewer).
        let x = (mu - t) / t;
        let r = x + T::ONE;
        let series = t * x_minus_ln_1p_series(x);
        // Far from mu = t: (mu - t) - t ln(mu/t), with t ln(mu/t) -> 0 where mu/t overflows
        // (t = 0 or t < mu * 2^-1024: the term is below the rounding of mu).
        let tl = T::select(r == T::INFINITY, T::ZERO, t * r.ln());
        let far = (mu - t) - tl;
        T::select(near_one(x), series, far)
    }
}

impl<T: Real> Pointwise<T> for PoissonDeviance {
    const HEAVY: bool = true;
    const CHECKS_TARGET: bool = true;
    const CHECKS_PRED: bool = true;

    #[inline(always)]
    fn value(&self, mu: T, t: T) -> T {
        T::TWO * Self::half(mu, t)
    }
    #[inline(always)]
    fn value_grad(&self, mu: T, t: T) -> (T, T) {
        let g = T::TWO * ((mu - t) / mu);
        (self.value(mu, t), g)
    }
    #[inline(always)]
    fn value_grad_hess(&self, mu: T, t: T) -> (T, T, T) {
        let (l, g) = self.value_grad(mu, t);
        (l, g, T::TWO * ((t / mu) / mu))
    }
    #[inline(always)]
    fn target_ok(&self, t: T) -> bool {
        t >= T::ZERO || t.is_nan()
    }
    fn target_rule(&self) -> &'static str {
        NON_NEGATIVE_RULE
    }
    #[inline(always)]
    fn pred_ok(&self, mu: T) -> bool {
        positive_or_nan(mu)
    }
    fn pred_rule(&self) -> &'static str {
        PRED_RULE
    }
}

/// Gamma deviance, scikit-learn's `mean_gamma_deviance` per element.
#[derive(Debug, Clone, Copy, Default)]
pub struct GammaDeviance;

impl<T: Real> Pointwise<T> for GammaDeviance {
    const HEAVY: bool = true;
    const CHECKS_TARGET: bool = true;
    const CHECKS_PRED: bool = true;

    #[inline(always)]
    fn value(&self, mu: T, t: T) -> T {
        let y = (t - mu) / mu;
        let q = y + T::ONE;
        let half = T::select(near_one(y), x_minus_ln_1p_series(y), y - q.ln());
        // mu = +inf: ln(mu/t) grows without bound (y is nan there).
        T::select(mu == T::INFINITY, T::INFINITY, T::TWO * half)
    }
    #[inline(always)]
    fn value_grad(&self, mu: T, t: T) -> (T, T) {
        let g = T::TWO * (((mu - t) / mu) / mu);
        (self.value(mu, t), g)
    }
    #[inline(always)]
    fn value_grad_hess(&self, mu: T, t: T) -> (T, T, T) {
        let (l, g) = self.value_grad(mu, t);
        // 2 (2t - mu)/mu^3 = 2 (2y + 1)/mu^2 with y = (t - mu)/mu.
        let y = (t - mu) / mu;
        (l, g, T::TWO * (((y + y + T::ONE) / mu) / mu))
    }
    #[inline(always)]
    fn target_ok(&self, t: T) -> bool {
        positive_or_nan(t)
    }
    fn target_rule(&self) -> &'static str {
        POSITIVE_RULE
    }
    #[inline(always)]
    fn pred_ok(&self, mu: T) -> bool {
        positive_or_nan(mu)
    }
    fn pred_rule(&self) -> &'static str {
        PRED_RULE
    }
}

crate::elementwise_loss!(PoissonDeviance, GammaDeviance);

/// Which targets a power allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TargetDomain {
    /// `power < 0`: any target.
    Any,
    /// `1 <= power < 2`: `t >= 0`.
    NonNegative,
    /// `power >= 2`: `t > 0`.
    Positive,
}

/// The Tweedie deviance for a power outside {0, 1, 2} (scikit-learn's general form).
#[derive(Debug, Clone, Copy)]
pub struct TweedieKernel<T> {
    power: T,
    one_minus_p: T,
    /// `1/((1-p)(2-p))`, `1/(1-p)`, `1/(2-p)`.
    c12: T,
    c1: T,
    c2: T,
    domain: TargetDomain,
    /// The domain as flags for the element loop: every target allowed / `t = 0` allowed.
    any_target: bool,
    zero_target: bool,
    below_two: bool,
}

impl<T: Real> TweedieKernel<T> {
    /// `(mu^(1-p), l)`.
    #[inline(always)]
    fn parts(&self, mu: T, t: T) -> (T, T) {
        let a = (self.one_minus_p * mu.ln()).exp();
        // max(t, 0)^(2-p) = t t^(1-p); 0 for t <= 0 (and for NaN, which the middle term carries).
        let tp = T::select(t > T::ZERO, t * (self.one_minus_p * t.ln()).exp(), T::ZERO);
        let l = T::TWO * ((tp * self.c12 - (t * a) * self.c1) + (mu * a) * self.c2);
        // mu = +inf: the limit, +inf for p < 2 (mu^(2-p) grows), the target's term for p > 2.
        let at_inf = T::select(self.below_two, T::INFINITY, T::TWO * (tp * self.c12));
        (a, T::select(mu == T::INFINITY, at_inf, l))
    }
}

impl<T: Real> Pointwise<T> for TweedieKernel<T> {
    const HEAVY: bool = true;
    const CHECKS_TARGET: bool = true;
    const CHECKS_PRED: bool = true;

    #[inline(always)]
    fn value(&self, mu: T, t: T) -> T {
        self.parts(mu, t).1
    }
    #[inline(always)]
    fn value_grad(&self, mu: T, t: T) -> (T, T) {
        let (a, l) = self.parts(mu, t);
        // 2 mu^-p (mu - t) = 2 (mu^(1-p) / mu) (mu - t).
        (l, T::TWO * ((a / mu) * (mu - t)))
    }
    #[inline(always)]
    fn value_grad_hess(&self, mu: T, t: T) -> (T, T, T) {
        let (a, l) = self.parts(mu, t);
        let a_mu = a / mu;
        let g = T::TWO * (a_mu * (mu - t));
        let h = T::TWO * (a_mu * (self.power * (t / mu) + self.one_minus_p));
        (l, g, h)
    }
    #[inline(always)]
    fn target_ok(&self, t: T) -> bool {
        // Non-short-circuit `|` / `&` on flags read once: no branch in the element loop.
        (t > T::ZERO) | t.is_nan() | self.any_target | (self.zero_target & (t == T::ZERO))
    }
    fn target_rule(&self) -> &'static str {
        match self.domain {
            TargetDomain::Positive => POSITIVE_RULE,
            _ => NON_NEGATIVE_RULE,
        }
    }
    #[inline(always)]
    fn pred_ok(&self, mu: T) -> bool {
        positive_or_nan(mu)
    }
    fn pred_rule(&self) -> &'static str {
        PRED_RULE
    }
}

crate::elementwise_loss!(TweedieKernel<T>);

/// `tweedie_deviance(power)`: the power, checked; [`Loss::run`] hands the kernel of that power
/// to the driver.
#[derive(Debug, Clone, Copy)]
pub struct TweedieDeviance<T> {
    kernel: TweedieKernel<T>,
    power: f64,
}

impl<T: Real> TweedieDeviance<T> {
    pub fn new(power: f64) -> Result<Self, LossError> {
        if !power.is_finite() {
            return Err(invalid("power", format!("must be finite, got {power}")));
        }
        if power > 0.0 && power < 1.0 {
            return Err(invalid(
                "power",
                format!("must be <= 0 or >= 1 (no Tweedie distribution in (0, 1)), got {power}"),
            ));
        }
        let domain = if power < 0.0 {
            TargetDomain::Any
        } else if power < 2.0 {
            TargetDomain::NonNegative
        } else {
            TargetDomain::Positive
        };
        // Only read for powers outside {0, 1, 2}, where no denominator is 0.
        let (one_p, two_p) = (1.0 - power, 2.0 - power);
        let kernel = TweedieKernel {
            power: T::from_f64(power),
            one_minus_p: T::from_f64(one_p),
            c12: T::from_f64(1.0 / (one_p * two_p)),
            c1: T::from_f64(1.0 / one_p),
            c2: T::from_f64(1.0 / two_p),
            domain,
            any_target: domain == TargetDomain::Any,
            zero_target: domain != TargetDomain::Positive,
            below_two: power < 2.0,
        };
        Ok(TweedieDeviance { kernel, power })
    }
}

impl<T: Real> Loss<T> for TweedieDeviance<T> {
    fn run(&self, req: Request<'_, T>) -> Result<Partials, LossError> {
        if self.power == 0.0 {
            drive(&Elementwise(Mse), req)
        } else if self.power == 1.0 {
            drive(&Elementwise(PoissonDeviance), req)
        } else if self.power == 2.0 {
            drive(&Elementwise(GammaDeviance), req)
        } else {
            drive(&Elementwise(self.kernel), req)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loss::evaluate;
    use crate::Reduction;

    /// `x - ln(1 + x) = sum_{k >= 2} (-x)^k / k` for `|x| < 0.3` (summed smallest first), else
    /// the plain difference (which cancels: good to a few 1e-15 there).
    fn phi_reference(x: f64) -> f64 {
        if x.abs() < 0.3 {
            (2..200).rev().map(|k| (-x).powi(k) / k as f64).sum::<f64>()
        } else {
            x - x.ln_1p()
        }
    }

    #[test]
    fn the_series_matches_x_minus_ln_1p() {
        for i in 0..=3000 {
            let x = -0.5 + 1.5 * i as f64 / 3000.0;
            let got = x_minus_ln_1p_series(x);
            let want = phi_reference(x);
            let tol = if x.abs() < 0.3 { 6e-16 } else { 4e-15 };
            assert!(
                (got - want).abs() <= tol * want + 1e-300,
                "x={x}: {got} vs {want}"
            );
            let got32 = x_minus_ln_1p_series(x as f32) as f64;
            let want32 = phi_reference(x as f32 as f64);
            assert!(
                (got32 - want32).abs() <= 3e-7 * want32 + 1e-40,
                "f32 x={x}: {got32} vs {want32}"
            );
        }
    }

    fn fd<L: Pointwise<f64>>(loss: &L, mu: f64, t: f64) -> (f64, f64) {
        let h = 1e-5 * mu;
        let g = (loss.value(mu + h, t) - loss.value(mu - h, t)) / (2.0 * h);
        let (_, gp) = loss.value_grad(mu + h, t);
        let (_, gm) = loss.value_grad(mu - h, t);
        (g, (gp - gm) / (2.0 * h))
    }

    fn check<L: Pointwise<f64>>(loss: &L, points: &[(f64, f64)], value: impl Fn(f64, f64) -> f64) {
        for &(mu, t) in points {
            let (l, g, h) = loss.value_grad_hess(mu, t);
            let want = value(mu, t);
            assert!(
                (l - want).abs() <= 1e-12 * (1.0 + want.abs()),
                "mu={mu} t={t}"
            );
            let (fg, fh) = fd(loss, mu, t);
            assert!((g - fg).abs() <= 1e-6 * (1.0 + fg.abs()), "grad {mu} {t}");
            assert!((h - fh).abs() <= 1e-5 * (1.0 + fh.abs()), "hess {mu} {t}");
        }
    }

    const POINTS: [(f64, f64); 6] = [
        (0.5, 1.5),
        (2.0, 0.3),
        (1.0, 1.0),
        (3.0, 2.9),
        (0.1, 4.0),
        (7.0, 1e-3),
    ];

    fn tweedie_reference(p: f64, mu: f64, t: f64) -> f64 {
        let tp = if t > 0.0 { t.powf(2.0 - p) } else { 0.0 };
        2.0 * (tp / ((1.0 - p) * (2.0 - p)) - t * mu.powf(1.0 - p) / (1.0 - p)
            + mu.powf(2.0 - p) / (2.0 - p))
    }

    #[test]
    fn values_gradients_and_hessians() {
        check(&PoissonDeviance, &POINTS, |mu, t| {
            2.0 * (t * (t / mu).ln() - t + mu)
        });
        check(&PoissonDeviance, &[(2.5, 0.0)], |mu, _| 2.0 * mu);
        check(&GammaDeviance, &POINTS, |mu, t| {
            2.0 * ((mu / t).ln() + t / mu - 1.0)
        });
        for p in [-1.5, 1.3, 1.9, 3.0] {
            let k = TweedieDeviance::<f64>::new(p).unwrap().kernel;
            check(&k, &POINTS, |mu, t| tweedie_reference(p, mu, t));
        }
        let k = TweedieDeviance::<f64>::new(-1.0).unwrap().kernel;
        check(&k, &[(0.5, -2.0), (1.0, 0.0)], |mu, t| {
            tweedie_reference(-1.0, mu, t)
        });
    }

    #[test]
    fn equal_prediction_and_target_give_plus_zero() {
        for v in [1e-300, 0.3, 1.0, 7.0, 1e300] {
            assert_eq!(Pointwise::<f64>::value(&PoissonDeviance, v, v).to_bits(), 0);
            assert_eq!(Pointwise::<f64>::value(&GammaDeviance, v, v).to_bits(), 0);
        }
    }

    #[test]
    fn domains_and_powers() {
        assert!(TweedieDeviance::<f64>::new(0.5).is_err());
        assert!(TweedieDeviance::<f64>::new(f64::NAN).is_err());
        for p in [0.0, 1.0, 2.0, -3.0, 1.5, 4.0] {
            assert!(TweedieDeviance::<f64>::new(p).is_ok());
        }
        let mu = [1.0f64, 2.0, 0.0];
        let t = [1.0f64, 1.0, 1.0];
        let err = evaluate(
            PoissonDeviance,
            &mu,
            &t,
            None,
            Reduction::Sum,
            None,
            None,
            false,
        )
        .unwrap_err();
        assert!(
            matches!(
                err,
                LossError::InvalidTarget {
                    name: "pred",
                    index: 2,
                    ..
                }
            ),
            "{err}"
        );
        let t = [1.0f64, 0.0, 1.0];
        let mu = [1.0f64, 2.0, 3.0];
        let err = evaluate(
            GammaDeviance,
            &mu,
            &t,
            None,
            Reduction::Sum,
            None,
            None,
            true,
        )
        .unwrap_err();
        assert!(
            matches!(
                err,
                LossError::InvalidTarget {
                    name: "target",
                    index: 1,
                    ..
                }
            ),
            "{err}"
        );
        // Power 1.5 accepts t = 0, power 3 does not, power -1 accepts negative targets.
        let tw = |p: f64, t: &[f64]| {
            evaluate(
                TweedieDeviance::<f64>::new(p).unwrap(),
                &mu,
                t,
                None,
                Reduction::Sum,
                None,
                None,
                false,
            )
        };
        assert!(tw(1.5, &t).is_ok());
        assert!(tw(3.0, &t).is_err());
        assert!(tw(-1.0, &[-1.0, 0.0, 2.0]).is_ok());
        assert!(tw(1.5, &[-1.0, 0.0, 2.0]).is_err());
    }
}
