//! `gaussian_nll`: the negative log-likelihood of `target` under `N(pred, var)`, a loss of three
//! inputs of one layout (element-wise), run through [`MultiInputs`](super::multi_input).

use super::multi_input::{MultiInput, UnitGrads, UnitInputs};
use crate::error::{invalid, LossError};
use crate::simd::Real;

/// `0.5 * (log(v) + (p - t)^2 / v) [+ 0.5 log(2 pi)]` with `v = max(var, eps)` (PyTorch's
/// `gaussian_nll_loss`). The clamp is not differentiated: the gradient with respect to `var`
/// is the one at the clamped variance, `0.5 * (1/v - (p - t)^2 / v^2)`, as in PyTorch.
#[derive(Debug, Clone, Copy)]
pub struct GaussianNll<T> {
    eps: T,
    /// `0.5 log(2 pi)` with `full`, else 0.
    constant: T,
}

impl<T: Real> GaussianNll<T> {
    pub fn new(full: bool, eps: f64) -> Result<Self, LossError> {
        if !(eps.is_finite() && eps > 0.0) {
            return Err(invalid(
                "eps",
                format!("must be positive and finite, got {eps}"),
            ));
        }
        let constant = if full {
            0.5 * (2.0 * std::f64::consts::PI).ln()
        } else {
            0.0
        };
        Ok(GaussianNll {
            eps: T::from_f64(eps),
            constant: T::from_f64(constant),
        })
    }
}

impl<T: Real> MultiInput<T> for GaussianNll<T> {
    const INPUTS: &'static [&'static str] = &["pred", "target", "var"];
    const LABEL: bool = false;
    const HESS: bool = true;

    fn width(&self) -> usize {
        1
    }

    #[inline(always)]
    fn unit(
        &self,
        inputs: UnitInputs<'_, T>,
        _label: T,
        coef: T,
        [g_pred, g_target, g_var]: UnitGrads<'_, T>,
        hess: Option<&mut [T]>,
    ) -> (T, bool) {
        let (p, t, var) = (inputs[0][0], inputs[1][0], inputs[2][0]);
        // NaN var stays NaN (the comparison is false).
        let v = T::select(var < self.eps, self.eps, var);
        let d = p - t;
        let r = d / v;
        let loss = T::HALF * (v.ln() + d * r) + self.constant;
        if let Some(g) = g_pred {
            g[0] = coef * r;
        }
        if let Some(g) = g_target {
            g[0] = -(coef * r);
        }
        if let Some(g) = g_var {
            g[0] = coef * T::HALF * (T::ONE - d * r) / v;
        }
        if let Some(h) = hess {
            h[0] = coef / v;
        }
        (loss, var < T::ZERO)
    }

    fn invalid(
        &self,
        inputs: UnitInputs<'_, T>,
        _label: T,
    ) -> Option<(&'static str, usize, String)> {
        let var = inputs[2][0];
        (var < T::ZERO).then(|| ("var", 0, format!("variances must be >= 0, got {var:?}")))
    }
}

crate::multi_input_loss!(GaussianNll<T>);
