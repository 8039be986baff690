//! Multi-label soft margin (PyTorch `multilabel_soft_margin_loss`), class axis last, targets of
//! the logits' shape (0/1 labels or soft values, taken as they are, like PyTorch).
//!
//! Per row `x` with targets `t` and class weights `w` (1 without `class_weight`):
//! `l = 1/C sum_c w_c ((1 - t_c) sp(x_c) + t_c sp(-x_c))`, `sp(v) = ln(1 + e^v)`, which is
//! `-1/C sum_c w_c (t_c ln sigmoid(x_c) + (1 - t_c) ln sigmoid(-x_c))`. Each `sp` is the stable
//! `max(v, 0) + ln_1p(exp(-|x|))`, and a product is taken as 0 when its coefficient is exactly 0
//! (so `x = +-inf` gives the limit, never `0 * inf = nan`).
//!
//! `d l / d x_c = w_c / C (sigmoid(x_c) - t_c)`, `d^2 l / d x_c^2 = w_c / C s (1 - s)` with
//! `s = sigmoid(x_c)` (exact: the loss is separable in the classes). "mean" divides by
//! `sum_n w_n` (the number of rows unweighted), as PyTorch's mean over rows.
//!
//! The terms of a group of rows run along the flat values (SIMD lanes); each row's
//! terms are added in class order, so the result is the same on every ISA and thread count.

use super::drive::Target;
use super::rows::{check_class_weight, GroupRows, RowLoss, GROUP};
use crate::error::LossError;
use crate::simd::Real;

/// `multilabel_soft_margin`.
#[derive(Debug, Clone, Copy)]
pub struct MultilabelSoftMargin<'a, T> {
    classes: usize,
    class_weight: Option<&'a [T]>,
    /// `C` as `T`.
    c_t: T,
}

impl<'a, T: Real> MultilabelSoftMargin<'a, T> {
    pub fn new(classes: usize, class_weight: Option<&'a [T]>) -> Result<Self, LossError> {
        check_class_weight(class_weight, classes)?;
        Ok(MultilabelSoftMargin {
            classes,
            class_weight,
            c_t: T::from_f64(classes.max(1) as f64),
        })
    }
}

/// `c * v`, or 0 when `c == 0` (the limit when `v` is infinite).
#[inline(always)]
fn times<T: Real>(c: T, v: T) -> T {
    T::select(c == T::ZERO, T::ZERO, c * v)
}

/// The unweighted term `(1 - t) sp(x) + t sp(-x)` of one value.
#[inline(always)]
fn term<T: Real>(x: T, t: T) -> T {
    let lp = (-x.abs()).exp().ln_1p();
    times(T::ONE - t, x.max_nan(T::ZERO)) + times(t, (-x).max_nan(T::ZERO)) + lp
}

/// The term, `sigmoid(x) - t` and `sigmoid(x) (1 - sigmoid(x))` from one exponential.
#[inline(always)]
fn term_grad_hess<T: Real>(x: T, t: T) -> (T, T, T) {
    let e = (-x.abs()).exp();
    let lp = e.ln_1p();
    let d = T::ONE / (T::ONE + e);
    let ed = e * d;
    let nonneg = x >= T::ZERO;
    let (s, sc) = (T::select(nonneg, d, ed), T::select(nonneg, ed, d));
    let a = T::ONE - t;
    let l = times(a, x.max_nan(T::ZERO)) + times(t, (-x).max_nan(T::ZERO)) + lp;
    // sigmoid(x) - t without cancellation when t is 0 or 1.
    (l, a * s - t * sc, s * sc)
}

impl<T: Real> RowLoss<T> for MultilabelSoftMargin<'_, T> {
    const CLASS_WEIGHTED_MEAN: bool = false;
    const NAME: &'static str = "multilabel_soft_margin";

    fn classes(&self) -> usize {
        self.classes
    }
    fn class_weight(&self) -> Option<&[T]> {
        self.class_weight
    }
    fn ignore_index(&self) -> Option<i64> {
        None
    }
    fn accepts_prob(&self) -> bool {
        true
    }
    fn accepts_index(&self) -> bool {
        false
    }

    #[inline(always)]
    fn group(&self, rows: GroupRows<'_, T>) -> bool {
        let c_n = self.classes;
        let GroupRows {
            x,
            labels,
            k,
            loss,
            live,
            grad,
            hess,
            ..
        } = rows;
        // Class indices are refused by the driver's check.
        let Target::Values(t) = labels else {
            return false;
        };
        if c_n == 0 {
            return false;
        }
        let nr = t.len() / c_n;
        let mut acc = Acc {
            kc: [T::ZERO; GROUP],
            sums: [T::ZERO; GROUP],
        };
        for (kc, &kr) in acc.kc.iter_mut().zip(k).take(nr) {
            *kc = kr / self.c_t;
        }
        let mut tm = [T::ZERO; PIECE];
        let mut outs = (grad, hess);
        if c_n <= PIECE / GROUP {
            // The whole group at once.
            self.piece(x, t, &mut tm, &mut acc, &mut outs, (0, 0, nr, 0, c_n));
        } else {
            // Long rows: pieces of one row each.
            for r in 0..nr {
                let mut c0 = 0;
                while c0 < c_n {
                    let len = (c_n - c0).min(PIECE);
                    let at = (r * c_n + c0, r, r + 1, c0, c0 + len);
                    self.piece(x, t, &mut tm, &mut acc, &mut outs, at);
                    c0 += len;
                }
            }
        }
        for r in 0..nr {
            loss[r] = acc.sums[r] / self.c_t;
            live[r] = true;
        }
        false
    }
}

/// Values per piece of a group (whole rows of up to `PIECE / GROUP` classes, or part of one
/// longer row).
const PIECE: usize = 256;

/// Per-row gradient factors `k / C` and the rows' weighted sums so far.
struct Acc<T> {
    kc: [T; GROUP],
    sums: [T; GROUP],
}

impl<T: Real> MultilabelSoftMargin<'_, T> {
    /// The values `a..a + len` of rows `r_lo..r_hi`, classes `c_lo..c_hi` of each
    /// (`at = (a, r_lo, r_hi, c_lo, c_hi)`, `len = (r_hi - r_lo) (c_hi - c_lo)`): the terms (and
    /// the unscaled derivatives, written in place) along the flat values in SIMD lanes, then
    /// each row's sum in class order and the scaling of its derivatives.
    #[inline(always)]
    fn piece(
        &self,
        x: &[T],
        t: &[T],
        tm: &mut [T; PIECE],
        acc: &mut Acc<T>,
        outs: &mut (Option<&mut [T]>, Option<&mut [T]>),
        at: (usize, usize, usize, usize, usize),
    ) {
        let (a, r_lo, r_hi, c_lo, c_hi) = at;
        let width = c_hi - c_lo;
        let len = (r_hi - r_lo) * width;
        let (xs, ts) = (&x[a..a + len], &t[a..a + len]);
        let tm = &mut tm[..len];
        match (outs.0.as_deref_mut(), outs.1.as_deref_mut()) {
            (Some(g), Some(h)) => {
                let (g, h) = (&mut g[a..a + len], &mut h[a..a + len]);
                for j in 0..len {
                    (tm[j], g[j], h[j]) = term_grad_hess(xs[j], ts[j]);
                }
            }
            (Some(g), None) => {
                let g = &mut g[a..a + len];
                for j in 0..len {
                    let (l, d, _) = term_grad_hess(xs[j], ts[j]);
                    tm[j] = l;
                    g[j] = d;
                }
            }
            _ => {
                for j in 0..len {
                    tm[j] = term(xs[j], ts[j]);
                }
            }
        }
        for (ri, r) in (r_lo..r_hi).enumerate() {
            let span = ri * width..(ri + 1) * width;
            let mut s = acc.sums[r];
            match self.class_weight {
                Some(w) => {
                    for (&v, &wc) in tm[span.clone()].iter().zip(&w[c_lo..c_hi]) {
                        s = s + times(wc, v);
                    }
                }
                None => {
                    for &v in &tm[span.clone()] {
                        s = s + v;
                    }
                }
            }
            acc.sums[r] = s;
            let f = acc.kc[r];
            let out = a + span.start..a + span.end;
            for o in [outs.0.as_deref_mut(), outs.1.as_deref_mut()] {
                let Some(o) = o else { continue };
                let o = &mut o[out.clone()];
                match self.class_weight {
                    Some(w) => {
                        for (oc, &wc) in o.iter_mut().zip(&w[c_lo..c_hi]) {
                            *oc = (f * wc) * *oc;
                        }
                    }
                    None => {
                        for oc in o.iter_mut() {
                            *oc = f * *oc;
                        }
                    }
                }
            }
        }
    }
}

crate::row_loss!(MultilabelSoftMargin<'_, T>);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loss::{Inputs, Loss, Request};
    use crate::Reduction;

    fn run(
        loss: &MultilabelSoftMargin<'_, f64>,
        x: &[f64],
        t: &[f64],
        rows: usize,
        reduction: Reduction,
    ) -> (f64, Vec<f64>, Vec<f64>) {
        let mut g = vec![0.0; x.len()];
        let mut h = vec![0.0; x.len()];
        let req = Request::value(Inputs::rows(x, rows, Target::Values(t)), reduction)
            .grad_out(Some(&mut g))
            .hess_out(Some(&mut h));
        let v = loss.run(req).unwrap().finish(reduction);
        (v, g, h)
    }

    fn sigmoid(v: f64) -> f64 {
        1.0 / (1.0 + (-v).exp())
    }

    #[test]
    fn matches_the_definition_and_finite_differences() {
        for c in [1usize, 3, 7, 16, 23, 300, 600] {
            let rows = 13;
            let x: Vec<f64> = (0..rows * c)
                .map(|i| ((i * 7919) % 1009) as f64 * 0.02 - 10.0)
                .collect();
            let t: Vec<f64> = (0..rows * c).map(|i| ((i * 13) % 5) as f64 / 4.0).collect();
            let w: Vec<f64> = (0..c).map(|i| 0.5 + 0.25 * i as f64).collect();
            let loss = MultilabelSoftMargin::new(c, Some(&w)).unwrap();
            let (v, g, h) = run(&loss, &x, &t, rows, Reduction::Mean);
            let mut want = 0.0;
            for n in 0..rows {
                let mut s = 0.0;
                for j in 0..c {
                    let (xv, tv) = (x[n * c + j], t[n * c + j]);
                    s -= w[j] * (tv * sigmoid(xv).ln() + (1.0 - tv) * sigmoid(-xv).ln());
                }
                want += s / c as f64;
            }
            want /= rows as f64;
            assert!((v - want).abs() < 1e-12, "C={c}: {v} {want}");
            // A wide step: with hundreds of classes the gradient is ~1e-9 and a narrow step would
            // leave only the rounding of the summed loss.
            let step = 1e-3;
            for i in [0, c, rows * c - 1] {
                let at = |d: f64| {
                    let mut xs = x.clone();
                    xs[i] += d;
                    run(&loss, &xs, &t, rows, Reduction::Mean)
                };
                let fd = (at(step).0 - at(-step).0) / (2.0 * step);
                assert!((g[i] - fd).abs() < 1e-9, "grad C={c} i={i}: {} {fd}", g[i]);
                let fd2 = (at(step).1[i] - at(-step).1[i]) / (2.0 * step);
                assert!((h[i] - fd2).abs() < 1e-8, "hess C={c} i={i}");
            }
        }
    }

    #[test]
    fn infinite_logits_give_the_limits() {
        let inf = f64::INFINITY;
        let loss = MultilabelSoftMargin::<f64>::new(2, None).unwrap();
        let (v, g, _) = run(&loss, &[inf, -inf], &[1.0, 0.0], 1, Reduction::Sum);
        assert_eq!(v, 0.0);
        assert_eq!(g, vec![0.0, 0.0]);
        let (v, _, _) = run(&loss, &[inf, 0.0], &[0.0, 1.0], 1, Reduction::Sum);
        assert_eq!(v, inf);
    }

    #[test]
    fn class_indices_are_refused() {
        let loss = MultilabelSoftMargin::<f64>::new(2, None).unwrap();
        let req = Request::value(
            Inputs::rows(&[0.0, 1.0], 1, Target::Index(&[0])),
            Reduction::Sum,
        );
        assert!(loss.run(req).is_err());
        assert!(MultilabelSoftMargin::<f64>::new(2, Some(&[1.0, -1.0])).is_err());
    }

    #[test]
    fn every_isa_and_thread_count_gives_the_same_bits() {
        let (rows, c) = (4001usize, 10usize);
        let x: Vec<f32> = (0..rows * c)
            .map(|i| ((i * 7919) % 1009) as f32 * 0.02 - 10.0)
            .collect();
        let t: Vec<f32> = (0..rows * c).map(|i| ((i * 13) % 2) as f32).collect();
        let w: Vec<f32> = (0..c).map(|i| 0.5 + i as f32 * 0.1).collect();
        let loss = MultilabelSoftMargin::<f32>::new(c, Some(&w)).unwrap();
        let go = || {
            let mut g = vec![0f32; x.len()];
            let mut h = vec![0f32; x.len()];
            let req = Request::value(Inputs::rows(&x, rows, Target::Values(&t)), Reduction::Mean)
                .grad_out(Some(&mut g))
                .hess_out(Some(&mut h));
            (loss.run(req).unwrap().finish(Reduction::Mean), g, h)
        };
        crate::simd::set_active(crate::Isa::Scalar).unwrap();
        crate::par::set_num_threads(1).unwrap();
        let reference = go();
        crate::par::set_num_threads(3).unwrap();
        for isa in crate::simd::available() {
            crate::simd::set_active(isa).unwrap();
            let (v, g, h) = go();
            assert_eq!(v.to_bits(), reference.0.to_bits(), "{isa:?}");
            let same =
                |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(u, v)| u.to_bits() == v.to_bits());
            assert!(same(&g, &reference.1) && same(&h, &reference.2), "{isa:?}");
        }
        crate::simd::set_active(crate::simd::detect()).unwrap();
    }
}
