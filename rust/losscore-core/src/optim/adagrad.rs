//! Adagrad (`torch.optim.Adagrad`).
//!
//! ```text
//! g = -g if maximize;  g = g + wd*p if wd != 0
//! clr = lr / (1 + (t-1)*lr_decay)
//! s = s + g*g
//! p = p - clr * g / (sqrt(s) + eps)
//! ```
//! The accumulator starts at `initial_accumulator_value` (the caller fills the buffer).

use super::driver::{run_scaled, Rule, Slot, Update, MAX_STATES};
use super::{check_lr, check_nonneg, check_step, grad_sign};
use crate::error::LossError;
use crate::simd::Real;

/// Adagrad hyperparameters; `Default` is `torch.optim.Adagrad`'s.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdagradParams {
    pub lr: f64,
    pub lr_decay: f64,
    pub weight_decay: f64,
    pub initial_accumulator_value: f64,
    pub eps: f64,
    pub maximize: bool,
}

impl Default for AdagradParams {
    fn default() -> Self {
        AdagradParams {
            lr: 1e-2,
            lr_decay: 0.0,
            weight_decay: 0.0,
            initial_accumulator_value: 0.0,
            eps: 1e-10,
            maximize: false,
        }
    }
}

impl AdagradParams {
    pub fn validate(&self) -> Result<(), LossError> {
        check_lr(self.lr)?;
        check_nonneg("lr_decay", self.lr_decay)?;
        check_nonneg("weight_decay", self.weight_decay)?;
        check_nonneg("initial_accumulator_value", self.initial_accumulator_value)?;
        check_nonneg("eps", self.eps)
    }
}

/// Step `step` (1-based) of Adagrad.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Adagrad {
    pub hp: AdagradParams,
    pub step: u64,
}

impl Update for Adagrad {
    fn uses(&self) -> [bool; MAX_STATES] {
        [true, false, false]
    }

    fn validate(&self) -> Result<(), LossError> {
        self.hp.validate()?;
        check_step(self.step)
    }

    fn apply_scaled<T: Real>(
        &self,
        slots: Vec<Slot<'_, T>>,
        grad_scale: f64,
    ) -> Result<(), LossError> {
        self.validate()?;
        run_scaled(AdagradRule::<T>::new(self), slots, grad_scale)
    }
}

#[derive(Debug, Clone, Copy)]
struct AdagradRule<T> {
    gsign: T,
    coupled: bool,
    wd: T,
    clr: T,
    eps: T,
}

impl<T: Real> AdagradRule<T> {
    fn new(s: &Adagrad) -> Self {
        let h = &s.hp;
        let clr = h.lr / (1.0 + (s.step as f64 - 1.0) * h.lr_decay);
        AdagradRule {
            gsign: T::from_f64(grad_sign(h.maximize)),
            coupled: h.weight_decay != 0.0,
            wd: T::from_f64(h.weight_decay),
            clr: T::from_f64(clr),
            eps: T::from_f64(h.eps),
        }
    }
}

impl<T: Real> Rule<T> for AdagradRule<T> {
    const USES: [bool; MAX_STATES] = [true, false, false];

    #[inline(always)]
    fn update(&self, p: T, g: T, s: &mut [T; MAX_STATES]) -> T {
        let g = g * self.gsign;
        let g = T::select(self.coupled, g + self.wd * p, g);
        let sum = s[0] + g * g;
        s[0] = sum;
        p - self.clr * (g / (sum.sqrt() + self.eps))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::driver::tests::{assert_isa_and_threads_agree, Arrays};

    #[test]
    fn matches_the_documented_rule() {
        let h = AdagradParams {
            lr: 0.1,
            lr_decay: 0.5,
            ..Default::default()
        };
        let mut a = Arrays::<f64>::new(&[12], 9);
        let before = a.clone();
        Adagrad { hp: h, step: 3 }.apply(a.slots()).unwrap();
        for j in 0..12 {
            let g = before.grads[0][j];
            let s = before.states[0][0][j] + g * g;
            let want = before.params[0][j] - 0.1 / 2.0 * g / (s.sqrt() + 1e-10);
            assert!((a.params[0][j] - want).abs() < 1e-14);
        }
    }

    #[test]
    fn every_isa_and_split_agree() {
        let s = Adagrad {
            hp: AdagradParams {
                weight_decay: 0.2,
                ..Default::default()
            },
            step: 2,
        };
        assert_isa_and_threads_agree(AdagradRule::<f32>::new(&s));
        assert_isa_and_threads_agree(AdagradRule::<f64>::new(&s));
    }
}
