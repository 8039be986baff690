//! Ranking and metric-learning losses over pairs and triplets of inputs (PyTorch's
//! `margin_ranking_loss`, `cosine_embedding_loss`, `triplet_margin_loss`), run through
//! [`MultiInputs`](super::multi_input). Row sums are accumulated in float64 in a fixed order.
//!
//! Kinks: where a hinge `max(0, z)` is exactly at `z = 0` the gradient reported is 0 (as for
//! `hinge`); NaN inputs propagate to the loss and the gradients.

use super::binary::sign_label;
use super::multi_input::{Element, MultiInput, UnitGrads, UnitInputs};
use crate::error::{finite, invalid, LossError};
use crate::simd::Real;

fn label_error<T: Real>(y: T) -> Option<(&'static str, usize, String)> {
    (!sign_label(y)).then(|| ("target", 0, format!("targets must be -1 or +1, got {y:?}")))
}

/// `max(0, -y (x1 - x2) + margin)` per element, `y` in {-1, +1}.
#[derive(Debug, Clone, Copy)]
pub struct MarginRanking<T> {
    margin: T,
}

impl<T: Real> MarginRanking<T> {
    pub fn new(margin: f64) -> Result<Self, LossError> {
        finite("margin", margin)?;
        Ok(MarginRanking {
            margin: T::from_f64(margin),
        })
    }
}

impl<T: Real> MultiInput<T> for MarginRanking<T> {
    const INPUTS: &'static [&'static str] = &["x1", "x2"];
    const LABEL: bool = true;
    const HESS: bool = true;

    fn width(&self) -> usize {
        1
    }

    const ELEMENTWISE: bool = true;

    #[inline(always)]
    fn element(&self, [x1, x2, _]: [T; 3], y: T) -> Element<T> {
        let z = self.margin - y * (x1 - x2);
        // d z / d x1 = -y where the hinge is active; NaN propagates.
        let g = T::select(z > T::ZERO, -y, T::ZERO);
        let g = T::select(z.is_nan(), z, g);
        Element {
            loss: z.max_nan(T::ZERO),
            grads: [g, -g, T::ZERO],
            hess: T::select(z.is_nan(), z, T::ZERO),
            invalid: self.rejects([x1, x2, T::ZERO], y),
        }
    }

    #[inline(always)]
    fn rejects(&self, _inputs: [T; 3], y: T) -> bool {
        !sign_label(y)
    }

    fn invalid(&self, _inputs: UnitInputs<'_, T>, y: T) -> Option<(&'static str, usize, String)> {
        label_error(y)
    }
}

/// Row-wise cosine embedding loss: `1 - cos(x1, x2)` for `y = 1`, `max(0, cos - margin)` for
/// `y = -1`, with `cos = x1.x2 / sqrt((|x1|^2 + e)(|x2|^2 + e))`, `e = 1e-12` (PyTorch's
/// form: finite for zero vectors, where `cos = 0`).
#[derive(Debug, Clone, Copy)]
pub struct CosineEmbedding {
    dim: usize,
    margin: f64,
}

/// `(cos, den, |x1|^2 + e, |x2|^2 + e)` of `x1 / s1` and `x2 / s2`, with the eps term scaled
/// alike (`e / s^2`), summed in float64 in index order.
#[inline(always)]
fn cosine<T: Real>(x1: &[T], x2: &[T], s1: f64, s2: f64) -> (f64, f64, f64, f64) {
    let (mut dot, mut a, mut b) = (0.0f64, 0.0f64, 0.0f64);
    for (&u, &v) in x1.iter().zip(x2) {
        let (u, v) = (u.to_f64() / s1, v.to_f64() / s2);
        dot += u * v;
        a += u * u;
        b += v * v;
    }
    let (a, b) = (a + COSINE_EPS / (s1 * s1), b + COSINE_EPS / (s2 * s2));
    let den = (a * b).sqrt();
    (dot / den, den, a, b)
}

/// PyTorch's `EPSILON` of `cosine_embedding_loss`, added to each squared norm.
const COSINE_EPS: f64 = 1e-12;

impl CosineEmbedding {
    pub fn new(dim: usize, margin: f64) -> Result<Self, LossError> {
        finite("margin", margin)?;
        Ok(CosineEmbedding { dim, margin })
    }
}

impl<T: Real> MultiInput<T> for CosineEmbedding {
    const INPUTS: &'static [&'static str] = &["x1", "x2"];
    const LABEL: bool = true;
    const HESS: bool = false;

    fn width(&self) -> usize {
        self.dim
    }

    #[inline(always)]
    fn unit(
        &self,
        inputs: UnitInputs<'_, T>,
        y: T,
        coef: T,
        [g1, g2, _]: UnitGrads<'_, T>,
        _hess: Option<&mut [T]>,
    ) -> (T, bool) {
        let (x1, x2) = (inputs[0], inputs[1]);
        let (mut s1, mut s2) = (1.0, 1.0);
        let (mut cos, mut den, mut a, mut b) = cosine(x1, x2, s1, s2);
        if !(cos.is_finite() && den.is_finite()) {
            // Squares beyond the float64 range (|x| > ~1e154): the same formula on the vectors
            // scaled by their largest magnitudes (cos is scale-invariant; the eps term scales).
            let scale = |x: &[T]| x.iter().fold(0.0f64, |m, v| m.max(v.to_f64().abs()));
            let (m1, m2) = (scale(x1), scale(x2));
            if m1.is_finite() && m2.is_finite() && m1 > 0.0 && m2 > 0.0 {
                (s1, s2) = (m1, m2);
                (cos, den, a, b) = cosine(x1, x2, s1, s2);
            }
        }
        let yf = y.to_f64();
        let (loss, slope) = if yf == 1.0 {
            (1.0 - cos, -1.0)
        } else if yf == -1.0 {
            let z = cos - self.margin;
            (z.max(0.0), if z > 0.0 { 1.0 } else { 0.0 })
        } else {
            (f64::NAN, f64::NAN) // invalid label (reported) or NaN (propagates)
        };
        if g1.is_some() || g2.is_some() {
            // d cos / d x1 = x2 / den - cos x1 / a; d cos / d x2 = x1 / den - cos x2 / b, in
            // the scaled variables u = x1 / s1, v = x2 / s2 (d / d x1 = (1 / s1) d / d u).
            let k = coef.to_f64() * slope;
            if let Some(g) = g1 {
                for ((g, &u), &v) in g.iter_mut().zip(x1).zip(x2) {
                    let (u, v) = (u.to_f64() / s1, v.to_f64() / s2);
                    *g = T::from_f64(k / s1 * (v / den - cos * u / a));
                }
            }
            if let Some(g) = g2 {
                for ((g, &u), &v) in g.iter_mut().zip(x1).zip(x2) {
                    let (u, v) = (u.to_f64() / s1, v.to_f64() / s2);
                    *g = T::from_f64(k / s2 * (u / den - cos * v / b));
                }
            }
        }
        (T::from_f64(loss), !sign_label(y))
    }

    fn invalid(&self, _inputs: UnitInputs<'_, T>, y: T) -> Option<(&'static str, usize, String)> {
        label_error(y)
    }
}

/// Row-wise triplet margin loss `max(0, d(a, p) - d(a, n) + margin)` with PyTorch's
/// `pairwise_distance` `d(u, v) = |u - v + eps|_p`; with `swap`, `d(a, n)` is replaced by
/// `min(d(a, n), d(p, n))` (a tie sends half the gradient each way, like `torch.minimum`).
#[derive(Debug, Clone, Copy)]
pub struct TripletMargin {
    dim: usize,
    margin: f64,
    p: f64,
    eps: f64,
    swap: bool,
}

impl TripletMargin {
    pub fn new(dim: usize, margin: f64, p: f64, eps: f64, swap: bool) -> Result<Self, LossError> {
        finite("margin", margin)?;
        finite("eps", eps)?;
        if !(p.is_finite() && p > 0.0) {
            return Err(invalid(
                "p",
                format!("must be positive and finite, got {p}"),
            ));
        }
        Ok(TripletMargin {
            dim,
            margin,
            p,
            eps,
            swap,
        })
    }

    /// `|v|^p` summed, for `v = u - w + eps`.
    #[inline(always)]
    fn power_sum<T: Real>(&self, u: &[T], w: &[T]) -> f64 {
        let mut s = 0.0f64;
        for (&a, &b) in u.iter().zip(w) {
            let v = (a.to_f64() - b.to_f64() + self.eps).abs();
            s += match self.p {
                2.0 => v * v,
                1.0 => v,
                p => v.powf(p),
            };
        }
        s
    }

    /// The norm from its power sum.
    #[inline(always)]
    fn norm(&self, s: f64) -> f64 {
        match self.p {
            2.0 => s.sqrt(),
            1.0 => s,
            p => s.powf(1.0 / p),
        }
    }

    /// `d |v|_p / d v_j` for `v_j = u_j - w_j + eps` with norm `n`.
    #[inline(always)]
    fn slope(&self, vj: f64, n: f64) -> f64 {
        match self.p {
            2.0 => vj / n,
            1.0 => vj.signum() * (vj != 0.0) as u8 as f64,
            p => vj.signum() * (vj.abs() / n).powf(p - 1.0),
        }
    }
}

impl<T: Real> MultiInput<T> for TripletMargin {
    const INPUTS: &'static [&'static str] = &["anchor", "positive", "negative"];
    const LABEL: bool = false;
    const HESS: bool = false;

    fn width(&self) -> usize {
        self.dim
    }

    #[inline(always)]
    fn unit(
        &self,
        inputs: UnitInputs<'_, T>,
        _label: T,
        coef: T,
        [ga, gp, gn]: UnitGrads<'_, T>,
        _hess: Option<&mut [T]>,
    ) -> (T, bool) {
        let [a, p, n] = inputs;
        let d_ap = self.norm(self.power_sum(a, p));
        let d_an = self.norm(self.power_sum(a, n));
        let d_pn = if self.swap {
            self.norm(self.power_sum(p, n))
        } else {
            f64::INFINITY
        };
        let d_neg = d_an.min(d_pn);
        let z = d_ap - d_neg + self.margin;
        let loss = if z.is_nan() { z } else { z.max(0.0) };
        if ga.is_none() && gp.is_none() && gn.is_none() {
            return (T::from_f64(loss), false);
        }
        let k = coef.to_f64()
            * if z > 0.0 {
                1.0
            } else if z.is_nan() {
                z
            } else {
                0.0
            };
        // Shares of the negative distance's gradient: d(a, n) and d(p, n), halved on a tie.
        let (s_an, s_pn) = if !self.swap || d_an < d_pn {
            (1.0, 0.0)
        } else if d_pn < d_an {
            (0.0, 1.0)
        } else {
            (0.5, 0.5)
        };
        let (mut ga, mut gp, mut gn) = (ga, gp, gn);
        let eps = self.eps;
        for j in 0..a.len() {
            let (aj, pj, nj) = (a[j].to_f64(), p[j].to_f64(), n[j].to_f64());
            let u_ap = self.slope(aj - pj + eps, d_ap);
            let u_an = if s_an > 0.0 {
                s_an * self.slope(aj - nj + eps, d_an)
            } else {
                0.0
            };
            let u_pn = if s_pn > 0.0 {
                s_pn * self.slope(pj - nj + eps, d_pn)
            } else {
                0.0
            };
            // l = d(a, p) - [s_an d(a, n) + s_pn d(p, n)] + margin.
            if let Some(g) = ga.as_deref_mut() {
                g[j] = T::from_f64(k * (u_ap - u_an));
            }
            if let Some(g) = gp.as_deref_mut() {
                g[j] = T::from_f64(k * (-u_ap - u_pn));
            }
            if let Some(g) = gn.as_deref_mut() {
                g[j] = T::from_f64(k * (u_an + u_pn));
            }
        }
        (T::from_f64(loss), false)
    }

    fn invalid(
        &self,
        _inputs: UnitInputs<'_, T>,
        _label: T,
    ) -> Option<(&'static str, usize, String)> {
        None
    }
}

crate::multi_input_loss!(MarginRanking<T>);

impl<T: Real> crate::loss::Loss<T> for CosineEmbedding {
    fn run(&self, req: crate::loss::Request<'_, T>) -> Result<crate::reduce::Partials, LossError> {
        crate::loss::drive::drive(&super::multi_input::MultiInputs(*self), req)
    }
}

impl<T: Real> crate::loss::Loss<T> for TripletMargin {
    fn run(&self, req: crate::loss::Request<'_, T>) -> Result<crate::reduce::Partials, LossError> {
        crate::loss::drive::drive(&super::multi_input::MultiInputs(*self), req)
    }
}
