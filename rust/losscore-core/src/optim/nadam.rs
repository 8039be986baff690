//! NAdam (`torch.optim.NAdam`).
//!
//! ```text
//! g = -g if maximize
//! p = p*(1 - lr*wd) if decoupled, else g = g + wd*p      (when wd != 0)
//! mu_t = b1*(1 - 0.5*0.96^(t*psi)),  mu_{t+1} likewise,  P_t = P_{t-1}*mu_t  (psi = momentum_decay)
//! m = b1*m + (1-b1)*g;  v = b2*v + (1-b2)*g*g
//! d = sqrt(v) / sqrt(1-b2^t) + eps
//! p = p - lr*(1-mu_t)/(1-P_t) * g/d - lr*mu_{t+1}/(1-P_t*mu_{t+1}) * m/d
//! ```
//! The running product `P` (`mu_product`) is a scalar the caller keeps between steps.

use super::driver::{run_scaled, Rule, Slot, Update, MAX_STATES};
use super::{check_beta, check_lr, check_nonneg, check_step, grad_sign};
use crate::error::{invalid, LossError};
use crate::simd::Real;

/// NAdam hyperparameters; `Default` is `torch.optim.NAdam`'s.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NAdamParams {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
    pub momentum_decay: f64,
    pub decoupled_weight_decay: bool,
    pub maximize: bool,
}

impl Default for NAdamParams {
    fn default() -> Self {
        NAdamParams {
            lr: 2e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            momentum_decay: 4e-3,
            decoupled_weight_decay: false,
            maximize: false,
        }
    }
}

impl NAdamParams {
    pub fn validate(&self) -> Result<(), LossError> {
        check_lr(self.lr)?;
        check_beta("betas[0]", self.beta1)?;
        check_beta("betas[1]", self.beta2)?;
        check_nonneg("eps", self.eps)?;
        check_nonneg("weight_decay", self.weight_decay)?;
        check_nonneg("momentum_decay", self.momentum_decay)
    }

    /// The momentum coefficient `mu_t` of step `t`.
    pub fn mu(&self, t: u64) -> f64 {
        self.beta1 * (1.0 - 0.5 * 0.96f64.powf(t as f64 * self.momentum_decay))
    }
}

/// Step `step` (1-based) of NAdam; `mu_product` is the product of `mu` over the previous steps
/// (1 before the first step).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NAdam {
    pub hp: NAdamParams,
    pub step: u64,
    pub mu_product: f64,
}

impl NAdam {
    /// The `mu_product` to keep for the next step.
    pub fn next_mu_product(&self) -> f64 {
        self.mu_product * self.hp.mu(self.step)
    }
}

impl Update for NAdam {
    fn uses(&self) -> [bool; MAX_STATES] {
        [true, true, false]
    }

    fn validate(&self) -> Result<(), LossError> {
        self.hp.validate()?;
        check_step(self.step)?;
        if !(self.mu_product.is_finite() && self.mu_product > 0.0 && self.mu_product <= 1.0) {
            return Err(invalid(
                "mu_product",
                format!("must be in (0, 1], got {}", self.mu_product),
            ));
        }
        Ok(())
    }

    fn apply_scaled<T: Real>(
        &self,
        slots: Vec<Slot<'_, T>>,
        grad_scale: f64,
    ) -> Result<(), LossError> {
        self.validate()?;
        run_scaled(NAdamRule::<T>::new(self), slots, grad_scale)
    }
}

#[derive(Debug, Clone, Copy)]
struct NAdamRule<T> {
    gsign: T,
    decoupled: bool,
    decay: T,
    coupled: bool,
    wd: T,
    b1: T,
    omb1: T,
    b2: T,
    omb2: T,
    inv_bc2_sqrt: T,
    eps: T,
    cg: T,
    cm: T,
}

impl<T: Real> NAdamRule<T> {
    fn new(s: &NAdam) -> Self {
        let h = &s.hp;
        let bc2 = 1.0 - h.beta2.powf(s.step as f64);
        let mu = h.mu(s.step);
        let mu_next = h.mu(s.step + 1);
        let prod = s.mu_product * mu;
        let prod_next = prod * mu_next;
        let wd_on = h.weight_decay != 0.0;
        NAdamRule {
            gsign: T::from_f64(grad_sign(h.maximize)),
            decoupled: wd_on && h.decoupled_weight_decay,
            decay: T::from_f64(1.0 - h.lr * h.weight_decay),
            coupled: wd_on && !h.decoupled_weight_decay,
            wd: T::from_f64(h.weight_decay),
            b1: T::from_f64(h.beta1),
            omb1: T::from_f64(1.0 - h.beta1),
            b2: T::from_f64(h.beta2),
            omb2: T::from_f64(1.0 - h.beta2),
            inv_bc2_sqrt: T::from_f64(1.0 / bc2.sqrt()),
            eps: T::from_f64(h.eps),
            cg: T::from_f64(h.lr * (1.0 - mu) / (1.0 - prod)),
            cm: T::from_f64(h.lr * mu_next / (1.0 - prod_next)),
        }
    }
}

impl<T: Real> Rule<T> for NAdamRule<T> {
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
        let d = v.sqrt() * self.inv_bc2_sqrt + self.eps;
        let p = p - self.cg * (g / d);
        p - self.cm * (m / d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::driver::tests::{assert_isa_and_threads_agree, Arrays};

    #[test]
    fn matches_the_documented_rule() {
        let h = NAdamParams {
            weight_decay: 0.1,
            decoupled_weight_decay: true,
            ..Default::default()
        };
        let mut a = Arrays::<f64>::new(&[12], 4);
        let before = a.clone();
        let first = NAdam {
            hp: h,
            step: 1,
            mu_product: 1.0,
        };
        first.apply(a.slots()).unwrap();
        let second = NAdam {
            hp: h,
            step: 2,
            mu_product: first.next_mu_product(),
        };
        second.apply(a.slots()).unwrap();
        let mu = |t: f64| 0.9 * (1.0 - 0.5 * 0.96f64.powf(t * 4e-3));
        for j in 0..12 {
            let g = before.grads[0][j];
            let (mut p, mut m, mut v) = (
                before.params[0][j],
                before.states[0][0][j],
                before.states[0][1][j],
            );
            let mut prod = 1.0;
            for t in 1..=2 {
                let tf = t as f64;
                p *= 1.0 - 2e-3 * 0.1;
                m = 0.9 * m + 0.1 * g;
                v = 0.999 * v + 0.001 * g * g;
                prod *= mu(tf);
                let d = (v / (1.0 - 0.999f64.powf(tf))).sqrt() + 1e-8;
                p -= 2e-3 * (1.0 - mu(tf)) / (1.0 - prod) * g / d;
                p -= 2e-3 * mu(tf + 1.0) / (1.0 - prod * mu(tf + 1.0)) * m / d;
            }
            assert!(
                (a.params[0][j] - p).abs() < 1e-13,
                "{} {}",
                a.params[0][j],
                p
            );
        }
    }

    #[test]
    fn every_isa_and_split_agree() {
        let s = NAdam {
            hp: NAdamParams {
                weight_decay: 0.1,
                ..Default::default()
            },
            step: 3,
            mu_product: 0.5,
        };
        assert_isa_and_threads_agree(NAdamRule::<f32>::new(&s));
        assert_isa_and_threads_agree(NAdamRule::<f64>::new(&s));
    }
}
