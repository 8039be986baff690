//! Adam and AdamW (`torch.optim.Adam`, `torch.optim.AdamW`).
//!
//! ```text
//! g = -g if maximize
//! p = p * (1 - lr*wd)            if wd != 0 and decoupled (AdamW)
//! g = g + wd*p                   if wd != 0 and not decoupled
//! m = b1*m + (1-b1)*g
//! v = b2*v + (1-b2)*g*g
//! vmax = max(vmax, v)            if amsgrad (v below is vmax)
//! p = p - lr/(1-b1^t) * m / (sqrt(v) * (1/sqrt(1-b2^t)) + eps)
//! ```
//! Bias corrections are computed in float64; the per-element rule multiplies by the precomputed
//! `1/sqrt(1-b2^t)` instead of dividing, leaving one division per element.

use super::driver::{run_scaled, Rule, Slot, Update, MAX_STATES};
use super::{check_beta, check_lr, check_nonneg, check_step, grad_sign, nan_max};
use crate::error::LossError;
use crate::simd::Real;

/// Adam hyperparameters. `Default` is `torch.optim.Adam`'s; [`AdamParams::adamw`] is AdamW's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamParams {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
    /// AdamW: decay the parameter (`p *= 1 - lr*wd`) instead of adding `wd*p` to the gradient.
    pub decoupled_weight_decay: bool,
    pub amsgrad: bool,
    pub maximize: bool,
}

impl Default for AdamParams {
    fn default() -> Self {
        AdamParams {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            decoupled_weight_decay: false,
            amsgrad: false,
            maximize: false,
        }
    }
}

impl AdamParams {
    /// `torch.optim.AdamW`'s defaults (`weight_decay = 1e-2`, decoupled).
    pub fn adamw() -> Self {
        AdamParams {
            weight_decay: 1e-2,
            decoupled_weight_decay: true,
            ..Self::default()
        }
    }

    pub fn validate(&self) -> Result<(), LossError> {
        check_lr(self.lr)?;
        check_beta("betas[0]", self.beta1)?;
        check_beta("betas[1]", self.beta2)?;
        check_nonneg("eps", self.eps)?;
        check_nonneg("weight_decay", self.weight_decay)
    }
}

/// Step `step` (1-based) of Adam.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Adam {
    pub hp: AdamParams,
    pub step: u64,
}

impl Update for Adam {
    fn uses(&self) -> [bool; MAX_STATES] {
        [true, true, self.hp.amsgrad]
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
        if self.hp.amsgrad {
            run_scaled(AdamRule::<T, true>::new(self), slots, grad_scale)
        } else {
            run_scaled(AdamRule::<T, false>::new(self), slots, grad_scale)
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct AdamRule<T, const AMS: bool> {
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
    step_size: T,
}

impl<T: Real, const AMS: bool> AdamRule<T, AMS> {
    fn new(s: &Adam) -> Self {
        let h = &s.hp;
        let t = s.step as f64;
        let bc1 = 1.0 - h.beta1.powf(t);
        let bc2 = 1.0 - h.beta2.powf(t);
        let wd_on = h.weight_decay != 0.0;
        AdamRule {
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
            step_size: T::from_f64(h.lr / bc1),
        }
    }
}

impl<T: Real, const AMS: bool> Rule<T> for AdamRule<T, AMS> {
    const USES: [bool; MAX_STATES] = [true, true, AMS];

    #[inline(always)]
    fn update(&self, p: T, g: T, s: &mut [T; MAX_STATES]) -> T {
        let g = g * self.gsign;
        let p = T::select(self.decoupled, p * self.decay, p);
        let g = T::select(self.coupled, g + self.wd * p, g);
        let m = self.b1 * s[0] + self.omb1 * g;
        let v = self.b2 * s[1] + self.omb2 * g * g;
        s[0] = m;
        s[1] = v;
        let v = if AMS {
            let vmax = nan_max(s[2], v);
            s[2] = vmax;
            vmax
        } else {
            v
        };
        let denom = v.sqrt() * self.inv_bc2_sqrt + self.eps;
        p - self.step_size * (m / denom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::driver::tests::{assert_isa_and_threads_agree, Arrays};

    /// The documented algorithm in plain float64, for one element.
    fn reference(h: &AdamParams, t: u64, p: f64, g: f64, s: &mut [f64; 3]) -> f64 {
        let g = if h.maximize { -g } else { g };
        let mut p = p;
        let mut g = g;
        if h.weight_decay != 0.0 {
            if h.decoupled_weight_decay {
                p *= 1.0 - h.lr * h.weight_decay;
            } else {
                g += h.weight_decay * p;
            }
        }
        s[0] = h.beta1 * s[0] + (1.0 - h.beta1) * g;
        s[1] = h.beta2 * s[1] + (1.0 - h.beta2) * g * g;
        let mut v = s[1];
        if h.amsgrad {
            s[2] = s[2].max(v);
            v = s[2];
        }
        let mhat = s[0] / (1.0 - h.beta1.powi(t as i32));
        let vhat = v / (1.0 - h.beta2.powi(t as i32));
        p - h.lr * mhat / (vhat.sqrt() + h.eps)
    }

    fn variants() -> Vec<AdamParams> {
        let mut out = vec![AdamParams::default(), AdamParams::adamw()];
        out.push(AdamParams {
            amsgrad: true,
            weight_decay: 0.1,
            maximize: true,
            ..AdamParams::default()
        });
        out.push(AdamParams {
            amsgrad: true,
            lr: 0.05,
            ..AdamParams::adamw()
        });
        out
    }

    #[test]
    fn matches_the_documented_rule() {
        for h in variants() {
            let mut a = Arrays::<f64>::new(&[37, 5], 11);
            let before = a.clone();
            for t in 1..=3 {
                Adam { hp: h, step: t }.apply(a.slots()).unwrap();
            }
            for (i, n) in [37, 5].into_iter().enumerate() {
                for j in 0..n {
                    let mut p = before.params[i][j];
                    let st = &before.states[i];
                    let mut s = [st[0][j], st[1][j], st[2][j]];
                    for t in 1..=3 {
                        p = reference(&h, t, p, before.grads[i][j], &mut s);
                    }
                    let got = a.params[i][j];
                    assert!(
                        (got - p).abs() <= 1e-12 * (1.0 + p.abs()),
                        "{h:?}: {got} vs {p}"
                    );
                    assert!((a.states[i][1][j] - s[1]).abs() <= 1e-14);
                }
            }
        }
    }

    #[test]
    fn every_isa_and_split_agree() {
        for h in variants() {
            let s = Adam { hp: h, step: 4 };
            assert_isa_and_threads_agree(AdamRule::<f32, false>::new(&s));
            assert_isa_and_threads_agree(AdamRule::<f64, true>::new(&s));
        }
    }

    #[test]
    fn bad_hyperparameters_write_nothing() {
        let mut a = Arrays::<f32>::new(&[10], 1);
        let before = a.clone();
        for h in [
            AdamParams {
                lr: f64::NAN,
                ..Default::default()
            },
            AdamParams {
                beta1: 1.0,
                ..Default::default()
            },
            AdamParams {
                eps: -1.0,
                ..Default::default()
            },
            AdamParams {
                weight_decay: -0.1,
                ..Default::default()
            },
        ] {
            assert!(Adam { hp: h, step: 1 }.apply(a.slots()).is_err());
            assert_eq!(a, before);
        }
        assert!(Adam {
            hp: AdamParams::default(),
            step: 0
        }
        .apply(a.slots())
        .is_err());
    }
}
