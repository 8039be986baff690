//! RMSprop (`torch.optim.RMSprop`).
//!
//! ```text
//! g = -g if maximize;  g = g + wd*p if wd != 0
//! v = alpha*v + (1-alpha)*g*g
//! if centered: ga = alpha*ga + (1-alpha)*g;  d = sqrt(v - ga*ga) + eps
//! else:        d = sqrt(v) + eps
//! if momentum > 0: b = momentum*b + g/d;  p = p - lr*b
//! else:            p = p - lr*g/d
//! ```

use super::driver::{run_scaled, Rule, Slot, Update, MAX_STATES};
use super::{check_lr, check_nonneg, grad_sign};
use crate::error::LossError;
use crate::simd::Real;

/// RMSprop hyperparameters; `Default` is `torch.optim.RMSprop`'s.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RmsPropParams {
    pub lr: f64,
    pub alpha: f64,
    pub eps: f64,
    pub weight_decay: f64,
    pub momentum: f64,
    pub centered: bool,
    pub maximize: bool,
}

impl Default for RmsPropParams {
    fn default() -> Self {
        RmsPropParams {
            lr: 1e-2,
            alpha: 0.99,
            eps: 1e-8,
            weight_decay: 0.0,
            momentum: 0.0,
            centered: false,
            maximize: false,
        }
    }
}

impl RmsPropParams {
    pub fn validate(&self) -> Result<(), LossError> {
        check_lr(self.lr)?;
        check_nonneg("alpha", self.alpha)?;
        check_nonneg("eps", self.eps)?;
        check_nonneg("weight_decay", self.weight_decay)?;
        check_nonneg("momentum", self.momentum)
    }
}

/// One RMSprop step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RmsProp {
    pub hp: RmsPropParams,
}

impl Update for RmsProp {
    fn uses(&self) -> [bool; MAX_STATES] {
        [true, self.hp.momentum > 0.0, self.hp.centered]
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
        match (self.hp.momentum > 0.0, self.hp.centered) {
            (false, false) => run_scaled(RmsRule::<T, false, false>::new(self), slots, grad_scale),
            (true, false) => run_scaled(RmsRule::<T, true, false>::new(self), slots, grad_scale),
            (false, true) => run_scaled(RmsRule::<T, false, true>::new(self), slots, grad_scale),
            (true, true) => run_scaled(RmsRule::<T, true, true>::new(self), slots, grad_scale),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct RmsRule<T, const MOM: bool, const CEN: bool> {
    gsign: T,
    coupled: bool,
    wd: T,
    alpha: T,
    omalpha: T,
    eps: T,
    mu: T,
    lr: T,
}

impl<T: Real, const MOM: bool, const CEN: bool> RmsRule<T, MOM, CEN> {
    fn new(s: &RmsProp) -> Self {
        let h = &s.hp;
        RmsRule {
            gsign: T::from_f64(grad_sign(h.maximize)),
            coupled: h.weight_decay != 0.0,
            wd: T::from_f64(h.weight_decay),
            alpha: T::from_f64(h.alpha),
            omalpha: T::from_f64(1.0 - h.alpha),
            eps: T::from_f64(h.eps),
            mu: T::from_f64(h.momentum),
            lr: T::from_f64(h.lr),
        }
    }
}

impl<T: Real, const MOM: bool, const CEN: bool> Rule<T> for RmsRule<T, MOM, CEN> {
    const USES: [bool; MAX_STATES] = [true, MOM, CEN];

    #[inline(always)]
    fn update(&self, p: T, g: T, s: &mut [T; MAX_STATES]) -> T {
        let g = g * self.gsign;
        let g = T::select(self.coupled, g + self.wd * p, g);
        let v = self.alpha * s[0] + self.omalpha * g * g;
        s[0] = v;
        let avg = if CEN {
            let ga = self.alpha * s[2] + self.omalpha * g;
            s[2] = ga;
            (v - ga * ga).sqrt()
        } else {
            v.sqrt()
        };
        let avg = avg + self.eps;
        if MOM {
            let b = self.mu * s[1] + g / avg;
            s[1] = b;
            p - self.lr * b
        } else {
            p - self.lr * (g / avg)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::driver::tests::{assert_isa_and_threads_agree, Arrays};

    #[test]
    fn matches_the_documented_rule() {
        let h = RmsPropParams {
            momentum: 0.5,
            centered: true,
            weight_decay: 0.1,
            ..Default::default()
        };
        let mut a = Arrays::<f64>::new(&[20], 3);
        // A centered variance needs v >= ga^2: start from zero state as PyTorch does.
        for s in a.states[0].iter_mut() {
            s.iter_mut().for_each(|x| *x = 0.0);
        }
        let before = a.clone();
        RmsProp { hp: h }.apply(a.slots()).unwrap();
        for j in 0..20 {
            let p = before.params[0][j];
            let g = before.grads[0][j] + 0.1 * p;
            let v = 0.01 * g * g;
            let ga = 0.01 * g;
            let d = (v - ga * ga).sqrt() + 1e-8;
            let b = g / d;
            let want = p - 0.01 * b;
            assert!((a.params[0][j] - want).abs() < 1e-12, "{j}");
            assert!((a.states[0][1][j] - b).abs() < 1e-9 * b.abs());
        }
    }

    #[test]
    fn every_isa_and_split_agree() {
        let s = RmsProp {
            hp: RmsPropParams {
                momentum: 0.9,
                centered: true,
                maximize: true,
                ..Default::default()
            },
        };
        assert_isa_and_threads_agree(RmsRule::<f32, true, true>::new(&s));
        assert_isa_and_threads_agree(RmsRule::<f64, false, true>::new(&s));
        assert_isa_and_threads_agree(RmsRule::<f32, true, false>::new(&s));
        assert_isa_and_threads_agree(RmsRule::<f64, false, false>::new(&s));
    }
}
