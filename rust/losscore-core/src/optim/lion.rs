//! Lion (Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms"; optax `lion`).
//!
//! ```text
//! u = sign(b1*m + (1-b1)*g)        (sign(0) = 0, NaN stays NaN)
//! p = p - lr*wd*p                  (decoupled weight decay, when wd != 0)
//! p = p - lr*u
//! m = b2*m + (1-b2)*g
//! ```

use super::driver::{run_scaled, Rule, Slot, Update, MAX_STATES};
use super::{check_beta, check_lr, check_nonneg};
use crate::error::LossError;
use crate::simd::Real;

/// Lion hyperparameters; `Default`: lr 1e-4, betas (0.9, 0.99), no weight decay.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LionParams {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub weight_decay: f64,
}

impl Default for LionParams {
    fn default() -> Self {
        LionParams {
            lr: 1e-4,
            beta1: 0.9,
            beta2: 0.99,
            weight_decay: 0.0,
        }
    }
}

impl LionParams {
    pub fn validate(&self) -> Result<(), LossError> {
        check_lr(self.lr)?;
        check_beta("betas[0]", self.beta1)?;
        check_beta("betas[1]", self.beta2)?;
        check_nonneg("weight_decay", self.weight_decay)
    }
}

/// One Lion step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lion {
    pub hp: LionParams,
}

impl Update for Lion {
    fn uses(&self) -> [bool; MAX_STATES] {
        [true, false, false]
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
        run_scaled(LionRule::<T>::new(self), slots, grad_scale)
    }
}

#[derive(Debug, Clone, Copy)]
struct LionRule<T> {
    decayed: bool,
    lr_wd: T,
    lr: T,
    b1: T,
    omb1: T,
    b2: T,
    omb2: T,
}

impl<T: Real> LionRule<T> {
    fn new(s: &Lion) -> Self {
        let h = &s.hp;
        LionRule {
            decayed: h.weight_decay != 0.0,
            lr_wd: T::from_f64(h.lr * h.weight_decay),
            lr: T::from_f64(h.lr),
            b1: T::from_f64(h.beta1),
            omb1: T::from_f64(1.0 - h.beta1),
            b2: T::from_f64(h.beta2),
            omb2: T::from_f64(1.0 - h.beta2),
        }
    }
}

impl<T: Real> Rule<T> for LionRule<T> {
    const USES: [bool; MAX_STATES] = [true, false, false];

    #[inline(always)]
    fn update(&self, p: T, g: T, s: &mut [T; MAX_STATES]) -> T {
        let m = s[0];
        let u = (self.b1 * m + self.omb1 * g).signum0();
        s[0] = self.b2 * m + self.omb2 * g;
        let p = T::select(self.decayed, p - self.lr_wd * p, p);
        p - self.lr * u
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::driver::tests::{assert_isa_and_threads_agree, Arrays};

    #[test]
    fn matches_the_documented_rule() {
        let h = LionParams {
            lr: 0.01,
            weight_decay: 0.5,
            ..Default::default()
        };
        let mut a = Arrays::<f64>::new(&[12], 4);
        a.grads[0][3] = 0.0;
        a.states[0][0][3] = 0.0;
        let before = a.clone();
        Lion { hp: h }.apply(a.slots()).unwrap();
        for j in 0..12 {
            let (p, g, m) = (
                before.params[0][j],
                before.grads[0][j],
                before.states[0][0][j],
            );
            let c = 0.9 * m + 0.1 * g;
            let u = if c > 0.0 {
                1.0
            } else if c < 0.0 {
                -1.0
            } else {
                0.0
            };
            let want = p - 0.01 * 0.5 * p - 0.01 * u;
            assert!((a.params[0][j] - want).abs() < 1e-15);
            assert!((a.states[0][0][j] - (0.99 * m + 0.01 * g)).abs() < 1e-15);
        }
    }

    #[test]
    fn every_isa_and_split_agree() {
        let s = Lion {
            hp: LionParams {
                weight_decay: 0.1,
                ..Default::default()
            },
        };
        assert_isa_and_threads_agree(LionRule::<f32>::new(&s));
        assert_isa_and_threads_agree(LionRule::<f64>::new(&s));
    }
}
