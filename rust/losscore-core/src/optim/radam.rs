//! RAdam (`torch.optim.RAdam`).
//!
//! ```text
//! g = -g if maximize
//! p = p*(1 - lr*wd) if decoupled, else g = g + wd*p      (when wd != 0)
//! m = b1*m + (1-b1)*g;  v = b2*v + (1-b2)*g*g
//! rho_inf = 2/(1-b2) - 1;  rho_t = rho_inf - 2 t b2^t / (1-b2^t)
//! if rho_t > 5: r = sqrt((rho_t-4)(rho_t-2) rho_inf / ((rho_inf-4)(rho_inf-2) rho_t))
//!               p = p - lr * m/(1-b1^t) * r * sqrt(1-b2^t) / (sqrt(v) + eps)
//! else:         p = p - lr * m/(1-b1^t)
//! ```

use super::driver::{run_scaled, Rule, Slot, Update, MAX_STATES};
use super::{check_beta, check_lr, check_nonneg, check_step, grad_sign};
use crate::error::LossError;
use crate::simd::Real;

/// RAdam hyperparameters; `Default` is `torch.optim.RAdam`'s.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RAdamParams {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
    pub decoupled_weight_decay: bool,
    pub maximize: bool,
}

impl Default for RAdamParams {
    fn default() -> Self {
        RAdamParams {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            decoupled_weight_decay: false,
            maximize: false,
        }
    }
}

impl RAdamParams {
    pub fn validate(&self) -> Result<(), LossError> {
        check_lr(self.lr)?;
        check_beta("betas[0]", self.beta1)?;
        check_beta("betas[1]", self.beta2)?;
        check_nonneg("eps", self.eps)?;
        check_nonneg("weight_decay", self.weight_decay)
    }
}

/// Step `step` (1-based) of RAdam.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RAdam {
    pub hp: RAdamParams,
    pub step: u64,
}

impl Update for RAdam {
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
        run_scaled(RAdamRule::<T>::new(self), slots, grad_scale)
    }
}

#[derive(Debug, Clone, Copy)]
struct RAdamRule<T> {
    gsign: T,
    decoupled: bool,
    decay: T,
    coupled: bool,
    wd: T,
    b1: T,
    omb1: T,
    b2: T,
    omb2: T,
    eps: T,
    rectified: bool,
    c_rect: T,
    c_plain: T,
}

impl<T: Real> RAdamRule<T> {
    fn new(s: &RAdam) -> Self {
        let h = &s.hp;
        let t = s.step as f64;
        let bc1 = 1.0 - h.beta1.powf(t);
        let b2t = h.beta2.powf(t);
        let bc2 = 1.0 - b2t;
        let rho_inf = 2.0 / (1.0 - h.beta2) - 1.0;
        let rho_t = rho_inf - 2.0 * t * b2t / bc2;
        let rectified = rho_t > 5.0;
        let rect = if rectified {
            ((rho_t - 4.0) * (rho_t - 2.0) * rho_inf / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t))
                .sqrt()
        } else {
            0.0
        };
        let wd_on = h.weight_decay != 0.0;
        RAdamRule {
            gsign: T::from_f64(grad_sign(h.maximize)),
            decoupled: wd_on && h.decoupled_weight_decay,
            decay: T::from_f64(1.0 - h.lr * h.weight_decay),
            coupled: wd_on && !h.decoupled_weight_decay,
            wd: T::from_f64(h.weight_decay),
            b1: T::from_f64(h.beta1),
            omb1: T::from_f64(1.0 - h.beta1),
            b2: T::from_f64(h.beta2),
            omb2: T::from_f64(1.0 - h.beta2),
            eps: T::from_f64(h.eps),
            rectified,
            c_rect: T::from_f64(h.lr / bc1 * rect * bc2.sqrt()),
            c_plain: T::from_f64(h.lr / bc1),
        }
    }
}

impl<T: Real> Rule<T> for RAdamRule<T> {
    const USES: [bool; MAX_STATES] = [true, true, false];

    #[inline(always)]
    fn update(&self, p: T, g: T, s: &mut [T; MAX_STATES]) -> T {
        let g = g * self.gsign;
        let p = T::select(self.decoupled, p * self.decay, p);
        let g = T::select(self.coupled, g + self.wd * p, g);
        let m = self.b1 * s[0] + self.omb1 * g;
        let v = self.b2 * s[1] + self.omb2 * g * g;
        s[0] = m;
        s[1] = v;
        let adaptive = self.c_rect * (m / (v.sqrt() + self.eps));
        p - T::select(self.rectified, adaptive, self.c_plain * m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::driver::tests::{assert_isa_and_threads_agree, Arrays};

    fn reference(t: f64, p: f64, g: f64, m: &mut f64, v: &mut f64) -> f64 {
        let (b1, b2, lr, eps): (f64, f64, f64, f64) = (0.9, 0.999, 1e-3, 1e-8);
        *m = b1 * *m + (1.0 - b1) * g;
        *v = b2 * *v + (1.0 - b2) * g * g;
        let mhat = *m / (1.0 - b1.powf(t));
        let rho_inf = 2.0 / (1.0 - b2) - 1.0;
        let rho = rho_inf - 2.0 * t * b2.powf(t) / (1.0 - b2.powf(t));
        if rho > 5.0 {
            let l = (1.0 - b2.powf(t)).sqrt() / (v.sqrt() + eps);
            let r = ((rho - 4.0) * (rho - 2.0) * rho_inf
                / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho))
                .sqrt();
            p - lr * mhat * r * l
        } else {
            p - lr * mhat
        }
    }

    #[test]
    fn matches_the_documented_rule_on_both_branches() {
        let mut a = Arrays::<f64>::new(&[12], 4);
        let before = a.clone();
        for t in 1..=8 {
            RAdam {
                hp: RAdamParams::default(),
                step: t,
            }
            .apply(a.slots())
            .unwrap();
        }
        for j in 0..12 {
            let (mut p, mut m, mut v) = (
                before.params[0][j],
                before.states[0][0][j],
                before.states[0][1][j],
            );
            for t in 1..=8 {
                p = reference(t as f64, p, before.grads[0][j], &mut m, &mut v);
            }
            assert!((a.params[0][j] - p).abs() < 1e-13);
        }
    }

    #[test]
    fn every_isa_and_split_agree() {
        for step in [2, 10] {
            let s = RAdam {
                hp: RAdamParams {
                    weight_decay: 0.1,
                    ..Default::default()
                },
                step,
            };
            assert_isa_and_threads_agree(RAdamRule::<f32>::new(&s));
            assert_isa_and_threads_agree(RAdamRule::<f64>::new(&s));
        }
    }
}
