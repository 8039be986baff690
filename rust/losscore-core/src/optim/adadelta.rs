//! Adadelta (`torch.optim.Adadelta`).
//!
//! ```text
//! g = -g if maximize;  g = g + wd*p if wd != 0
//! v = rho*v + (1-rho)*g*g
//! d = sqrt(u + eps) / sqrt(v + eps) * g
//! u = rho*u + (1-rho)*d*d
//! p = p - lr*d
//! ```

use super::driver::{run_scaled, Rule, Slot, Update, MAX_STATES};
use super::{check_lr, check_nonneg, grad_sign};
use crate::error::{invalid, LossError};
use crate::simd::Real;

/// Adadelta hyperparameters; `Default` is `torch.optim.Adadelta`'s.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdadeltaParams {
    pub lr: f64,
    pub rho: f64,
    pub eps: f64,
    pub weight_decay: f64,
    pub maximize: bool,
}

impl Default for AdadeltaParams {
    fn default() -> Self {
        AdadeltaParams {
            lr: 1.0,
            rho: 0.9,
            eps: 1e-6,
            weight_decay: 0.0,
            maximize: false,
        }
    }
}

impl AdadeltaParams {
    pub fn validate(&self) -> Result<(), LossError> {
        check_lr(self.lr)?;
        if !(0.0..=1.0).contains(&self.rho) {
            return Err(invalid(
                "rho",
                format!("must be in [0, 1], got {}", self.rho),
            ));
        }
        check_nonneg("eps", self.eps)?;
        check_nonneg("weight_decay", self.weight_decay)
    }
}

/// One Adadelta step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Adadelta {
    pub hp: AdadeltaParams,
}

impl Update for Adadelta {
    fn uses(&self) -> [bool; MAX_STATES] {
        [true, true, false]
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
        run_scaled(AdadeltaRule::<T>::new(self), slots, grad_scale)
    }
}

#[derive(Debug, Clone, Copy)]
struct AdadeltaRule<T> {
    gsign: T,
    coupled: bool,
    wd: T,
    rho: T,
    omrho: T,
    eps: T,
    lr: T,
}

impl<T: Real> AdadeltaRule<T> {
    fn new(s: &Adadelta) -> Self {
        let h = &s.hp;
        AdadeltaRule {
            gsign: T::from_f64(grad_sign(h.maximize)),
            coupled: h.weight_decay != 0.0,
            wd: T::from_f64(h.weight_decay),
            rho: T::from_f64(h.rho),
            omrho: T::from_f64(1.0 - h.rho),
            eps: T::from_f64(h.eps),
            lr: T::from_f64(h.lr),
        }
    }
}

impl<T: Real> Rule<T> for AdadeltaRule<T> {
    const USES: [bool; MAX_STATES] = [true, true, false];

    #[inline(always)]
    fn update(&self, p: T, g: T, s: &mut [T; MAX_STATES]) -> T {
        let g = g * self.gsign;
        let g = T::select(self.coupled, g + self.wd * p, g);
        let v = self.rho * s[0] + self.omrho * g * g;
        s[0] = v;
        let d = (s[1] + self.eps).sqrt() / (v + self.eps).sqrt() * g;
        s[1] = self.rho * s[1] + self.omrho * d * d;
        p - self.lr * d
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
        let h = AdadeltaParams::default();
        Adadelta { hp: h }.apply(a.slots()).unwrap();
        for j in 0..12 {
            let g = before.grads[0][j];
            let (v0, u0) = (before.states[0][0][j], before.states[0][1][j]);
            let v = 0.9 * v0 + 0.1 * g * g;
            let d = ((u0 + 1e-6) / (v + 1e-6)).sqrt() * g;
            let want = before.params[0][j] - d;
            assert!((a.params[0][j] - want).abs() < 1e-13);
            assert!((a.states[0][1][j] - (0.9 * u0 + 0.1 * d * d)).abs() < 1e-13);
        }
    }

    #[test]
    fn every_isa_and_split_agree() {
        let s = Adadelta {
            hp: AdadeltaParams {
                weight_decay: 0.1,
                maximize: true,
                ..Default::default()
            },
        };
        assert_isa_and_threads_agree(AdadeltaRule::<f32>::new(&s));
        assert_isa_and_threads_agree(AdadeltaRule::<f64>::new(&s));
    }
}
