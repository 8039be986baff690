//! Adamax (`torch.optim.Adamax`).
//!
//! ```text
//! g = -g if maximize;  g = g + wd*p if wd != 0
//! m = b1*m + (1-b1)*g
//! u = max(b2*u, |g| + eps)        (NaN propagates)
//! p = p - lr/(1-b1^t) * m/u
//! ```

use super::driver::{run_scaled, Rule, Slot, Update, MAX_STATES};
use super::{check_beta, check_lr, check_nonneg, check_step, grad_sign, nan_max};
use crate::error::LossError;
use crate::simd::Real;

/// Adamax hyperparameters; `Default` is `torch.optim.Adamax`'s.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamaxParams {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
    pub maximize: bool,
}

impl Default for AdamaxParams {
    fn default() -> Self {
        AdamaxParams {
            lr: 2e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            maximize: false,
        }
    }
}

impl AdamaxParams {
    pub fn validate(&self) -> Result<(), LossError> {
        check_lr(self.lr)?;
        check_beta("betas[0]", self.beta1)?;
        check_beta("betas[1]", self.beta2)?;
        check_nonneg("eps", self.eps)?;
        check_nonneg("weight_decay", self.weight_decay)
    }
}

/// Step `step` (1-based) of Adamax.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Adamax {
    pub hp: AdamaxParams,
    pub step: u64,
}

impl Update for Adamax {
    fn uses(&self) -> [bool; MAX_STATES] {
        [true, true, false]
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
        run_scaled(AdamaxRule::<T>::new(self), slots, grad_scale)
    }
}

#[derive(Debug, Clone, Copy)]
struct AdamaxRule<T> {
    gsign: T,
    coupled: bool,
    wd: T,
    b1: T,
    omb1: T,
    b2: T,
    eps: T,
    clr: T,
}

impl<T: Real> AdamaxRule<T> {
    fn new(s: &Adamax) -> Self {
        let h = &s.hp;
        let bc1 = 1.0 - h.beta1.powf(s.step as f64);
        AdamaxRule {
            gsign: T::from_f64(grad_sign(h.maximize)),
            coupled: h.weight_decay != 0.0,
            wd: T::from_f64(h.weight_decay),
            b1: T::from_f64(h.beta1),
            omb1: T::from_f64(1.0 - h.beta1),
            b2: T::from_f64(h.beta2),
            eps: T::from_f64(h.eps),
            clr: T::from_f64(h.lr / bc1),
        }
    }
}

impl<T: Real> Rule<T> for AdamaxRule<T> {
    const USES: [bool; MAX_STATES] = [true, true, false];

    #[inline(always)]
    fn update(&self, p: T, g: T, s: &mut [T; MAX_STATES]) -> T {
        let g = g * self.gsign;
        let g = T::select(self.coupled, g + self.wd * p, g);
        let m = self.b1 * s[0] + self.omb1 * g;
        let u = nan_max(self.b2 * s[1], g.abs() + self.eps);
        s[0] = m;
        s[1] = u;
        p - self.clr * (m / u)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::driver::tests::{assert_isa_and_threads_agree, Arrays};

    #[test]
    fn matches_the_documented_rule() {
        let mut a = Arrays::<f64>::new(&[12], 4);
        let before = a.clone();
        let h = AdamaxParams::default();
        Adamax { hp: h, step: 2 }.apply(a.slots()).unwrap();
        for j in 0..12 {
            let g = before.grads[0][j];
            let m = 0.9 * before.states[0][0][j] + 0.1 * g;
            let u = (0.999 * before.states[0][1][j]).max(g.abs() + 1e-8);
            let want = before.params[0][j] - 2e-3 / (1.0 - 0.81) * m / u;
            assert!((a.params[0][j] - want).abs() < 1e-14);
        }
    }

    #[test]
    fn every_isa_and_split_agree() {
        let s = Adamax {
            hp: AdamaxParams {
                weight_decay: 0.1,
                ..Default::default()
            },
            step: 3,
        };
        assert_isa_and_threads_agree(AdamaxRule::<f32>::new(&s));
        assert_isa_and_threads_agree(AdamaxRule::<f64>::new(&s));
    }
}
