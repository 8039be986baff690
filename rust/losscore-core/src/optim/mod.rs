//! Optimizer update steps (in place, allocation-free, one fused pass).
//!
//! Each optimizer is a hyperparameter struct (`Copy`, `Default` = PyTorch's defaults) and a step
//! struct implementing [`Update`]: `Adam { hp, step }.apply(slots)` updates every parameter
//! array of `slots` and its state buffers in one pass over memory, split across threads by
//! [`driver`]. Step-dependent scalars (bias corrections, rectification) are computed once per
//! call in float64, as PyTorch does, then cast to the element type; the per-element rules
//! multiply by precomputed reciprocals where PyTorch divides by a scalar.
//!
//! State buffer layout (`Slot::state[k]`), as in `torch.optim` state names:
//!
//! | optimizer | 0 | 1 | 2 |
//! |---|---|---|---|
//! | SGD | momentum_buffer | | |
//! | Adam, AdamW | exp_avg | exp_avg_sq | max_exp_avg_sq (amsgrad) |
//! | RMSprop | square_avg | momentum_buffer (momentum > 0) | grad_avg (centered) |
//! | Adagrad | sum | | |
//! | Adadelta | square_avg | acc_delta | |
//! | Adamax | exp_avg | exp_inf | |
//! | NAdam, RAdam | exp_avg | exp_avg_sq | |
//! | Lion | exp_avg | | |

pub mod adadelta;
pub mod adagrad;
pub mod adam;
pub mod adamax;
pub mod clip;
pub mod driver;
pub mod lion;
pub mod nadam;
pub mod radam;
pub mod rmsprop;
pub mod sgd;

pub use adadelta::{Adadelta, AdadeltaParams};
pub use adagrad::{Adagrad, AdagradParams};
pub use adam::{Adam, AdamParams};
pub use adamax::{Adamax, AdamaxParams};
pub use driver::{apply_groups, Rule, Slot, Update, MAX_STATES};
pub use lion::{Lion, LionParams};
pub use nadam::{NAdam, NAdamParams};
pub use radam::{RAdam, RAdamParams};
pub use rmsprop::{RmsProp, RmsPropParams};
pub use sgd::{Sgd, SgdParams};

use crate::error::{invalid, LossError};

/// A learning rate: finite and non-negative.
pub(crate) fn check_lr(lr: f64) -> Result<(), LossError> {
    if lr.is_finite() && lr >= 0.0 {
        Ok(())
    } else {
        Err(invalid(
            "lr",
            format!("must be a finite non-negative number, got {lr}"),
        ))
    }
}

/// A decay rate in `[0, 1)`.
pub(crate) fn check_beta(name: &'static str, beta: f64) -> Result<(), LossError> {
    if (0.0..1.0).contains(&beta) {
        Ok(())
    } else {
        Err(invalid(name, format!("must be in [0, 1), got {beta}")))
    }
}

/// A finite non-negative coefficient (eps, weight decay, momentum, ...).
pub(crate) fn check_nonneg(name: &'static str, x: f64) -> Result<(), LossError> {
    if x.is_finite() && x >= 0.0 {
        Ok(())
    } else {
        Err(invalid(
            name,
            format!("must be a finite non-negative number, got {x}"),
        ))
    }
}

/// A step count: the first step is 1.
pub(crate) fn check_step(step: u64) -> Result<(), LossError> {
    if step >= 1 {
        Ok(())
    } else {
        Err(invalid("step", "the first step is 1, got 0"))
    }
}

/// `1` or `-1`: multiplying by it negates the gradient exactly (`maximize`).
#[inline]
pub(crate) fn grad_sign(maximize: bool) -> f64 {
    if maximize {
        -1.0
    } else {
        1.0
    }
}

/// max(a, b) that propagates NaN from either side (`torch.maximum`).
#[inline(always)]
pub(crate) fn nan_max<T: crate::Real>(a: T, b: T) -> T {
    let m = T::select(a > b, a, b);
    T::select(a.is_nan(), a, m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_name_the_argument() {
        assert!(check_lr(0.0).is_ok());
        let msg = check_lr(f64::NAN).unwrap_err().to_string();
        assert!(msg.starts_with("lr:") && msg.contains("NaN"), "{msg}");
        assert!(check_lr(f64::INFINITY).is_err());
        assert!(check_lr(-1e-3).is_err());
        assert!(check_beta("betas[0]", 1.0).is_err());
        assert!(check_beta("betas[0]", 0.0).is_ok());
        assert!(check_nonneg("eps", -1.0).is_err());
        assert!(check_step(0).is_err());
    }

    #[test]
    fn nan_max_propagates_both_sides() {
        assert!(nan_max(f64::NAN, 1.0).is_nan());
        assert!(nan_max(1.0, f64::NAN).is_nan());
        assert_eq!(nan_max(1.0, 2.0), 2.0);
        assert_eq!(nan_max(3.0f32, 2.0), 3.0);
    }
}
