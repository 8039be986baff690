//! Stochastic gradient descent with momentum (`torch.optim.SGD`).
//!
//! ```text
//! g = -g if maximize
//! g = g + wd*p                         if wd != 0
//! if momentum != 0:
//!     b = g                            on the first step (the buffer was just created)
//!     b = momentum*b + (1-dampening)*g otherwise
//!     g = g + momentum*b if nesterov else b
//! p = p - lr*g
//! ```

use super::driver::{run_scaled, Rule, Slot, Update, MAX_STATES};
use super::{check_lr, check_nonneg, grad_sign};
use crate::error::{invalid, LossError};
use crate::simd::Real;

/// SGD hyperparameters; `Default` is `torch.optim.SGD`'s.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SgdParams {
    pub lr: f64,
    pub momentum: f64,
    pub dampening: f64,
    pub weight_decay: f64,
    pub nesterov: bool,
    pub maximize: bool,
}

impl Default for SgdParams {
    fn default() -> Self {
        SgdParams {
            lr: 1e-3,
            momentum: 0.0,
            dampening: 0.0,
            weight_decay: 0.0,
            nesterov: false,
            maximize: false,
        }
    }
}

impl SgdParams {
    pub fn validate(&self) -> Result<(), LossError> {
        check_lr(self.lr)?;
        check_nonneg("momentum", self.momentum)?;
        if !self.dampening.is_finite() {
            return Err(invalid(
                "dampening",
                format!("must be finite, got {}", self.dampening),
            ));
        }
        check_nonneg("weight_decay", self.weight_decay)?;
        if self.nesterov && (self.momentum <= 0.0 || self.dampening != 0.0) {
            return Err(invalid(
                "nesterov",
                format!(
                    "Nesterov momentum requires momentum > 0 and dampening = 0, got momentum={} \
                     and dampening={}",
                    self.momentum, self.dampening
                ),
            ));
        }
        Ok(())
    }
}

/// One SGD step. `fresh_buffers`: the momentum buffers were just created (first step with
/// momentum), so they take the gradient as is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sgd {
    pub hp: SgdParams,
    pub fresh_buffers: bool,
}

impl Update for Sgd {
    fn uses(&self) -> [bool; MAX_STATES] {
        [self.hp.momentum != 0.0, false, false]
    }

    fn validate(&self) -> Result<(), LossError> {
        self.hp.validate()
    }

    fn apply_scaled<T: Real>(
        &self,
        slots: Vec<Slot<'_, T>>,
        grad_scale: f64,
    ) -> Result<(), LossError> {
        self.validate()?;
        if self.hp.momentum != 0.0 {
            run_scaled(SgdRule::<T, true>::new(self), slots, grad_scale)
        } else {
            run_scaled(SgdRule::<T, false>::new(self), slots, grad_scale)
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct SgdRule<T, const MOM: bool> {
    gsign: T,
    coupled: bool,
    wd: T,
    lr: T,
    mu: T,
    omdamp: T,
    first: bool,
    nesterov: bool,
}

impl<T: Real, const MOM: bool> SgdRule<T, MOM> {
    fn new(s: &Sgd) -> Self {
        let h = &s.hp;
        SgdRule {
            gsign: T::from_f64(grad_sign(h.maximize)),
            coupled: h.weight_decay != 0.0,
            wd: T::from_f64(h.weight_decay),
            lr: T::from_f64(h.lr),
            mu: T::from_f64(h.momentum),
            omdamp: T::from_f64(1.0 - h.dampening),
            first: s.fresh_buffers,
            nesterov: h.nesterov,
        }
    }
}

impl<T: Real, const MOM: bool> Rule<T> for SgdRule<T, MOM> {
    const USES: [bool; MAX_STATES] = [MOM, false, false];

    #[inline(always)]
    fn update(&self, p: T, g: T, s: &mut [T; MAX_STATES]) -> T {
        let g = g * self.gsign;
        let g = T::select(self.coupled, g + self.wd * p, g);
        let g = if MOM {
            let b = T::select(self.first, g, self.mu * s[0] + self.omdamp * g);
            s[0] = b;
            T::select(self.nesterov, g + self.mu * b, b)
        } else {
            g
        };
        p - self.lr * g
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::driver::tests::{assert_isa_and_threads_agree, Arrays};

    #[test]
    fn matches_the_documented_rule() {
        let h = SgdParams {
            lr: 0.1,
            momentum: 0.9,
            dampening: 0.25,
            weight_decay: 0.01,
            ..Default::default()
        };
        let mut a = Arrays::<f64>::new(&[9], 5);
        let before = a.clone();
        Sgd {
            hp: h,
            fresh_buffers: true,
        }
        .apply(a.slots())
        .unwrap();
        Sgd {
            hp: h,
            fresh_buffers: false,
        }
        .apply(a.slots())
        .unwrap();
        for j in 0..9 {
            let g = before.grads[0][j];
            let mut p = before.params[0][j];
            let g1 = g + 0.01 * p;
            let mut b = g1;
            p -= 0.1 * b;
            let g2 = g + 0.01 * p;
            b = 0.9 * b + 0.75 * g2;
            p -= 0.1 * b;
            assert!((a.params[0][j] - p).abs() < 1e-14);
            assert!((a.states[0][0][j] - b).abs() < 1e-14);
        }
    }

    #[test]
    fn every_isa_and_split_agree() {
        let h = SgdParams {
            momentum: 0.9,
            nesterov: true,
            weight_decay: 0.1,
            ..Default::default()
        };
        for fresh in [true, false] {
            let s = Sgd {
                hp: h,
                fresh_buffers: fresh,
            };
            assert_isa_and_threads_agree(SgdRule::<f32, true>::new(&s));
            assert_isa_and_threads_agree(SgdRule::<f64, false>::new(&s));
        }
    }

    #[test]
    fn nesterov_needs_momentum() {
        let h = SgdParams {
            nesterov: true,
            ..Default::default()
        };
        assert!(h.validate().unwrap_err().to_string().contains("nesterov"));
    }
}
