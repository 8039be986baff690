//! `gaussian_nll`: the negative log-likelihood of `target` under `N(pred, var)`, a loss of three
//! inputs of one layout (element-wise), run through [`MultiInputs`](super::multi_input).

use super::multi_input::{Element, MultiInput, UnitInputs};
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

    const ELEMENTWISE: bool = true;

    #[inline(always)]
    fn element(&self, [p, t, var]: [T; 3], _label: T) -> Element<T> {
        // NaN var stays NaN (the comparison is false).
        let v = T::select(var < self.eps, self.eps, var);
        let d = p - t;
        // One division: the gradients and the Hessian all scale with 1 / v.
        let inv = T::ONE / v;
        let r = d * inv;
        Element {
            loss: T::HALF * (v.ln() + d * r) + self.constant,
            grads: [r, -r, T::HALF * (T::ONE - d * r) * inv],
            hess: inv,
            invalid: self.rejects([p, t, var], T::ZERO),
        }
    }

    #[inline(always)]
    fn rejects(&self, [_, _, var]: [T; 3], _label: T) -> bool {
        var < T::ZERO
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
