//! Multi-class (softmax) focal loss (Lin et al.), class axis last, class-index targets.
//!
//! Per row `x` with label `y`, `m = max(x)`, `e_c = exp(x_c - m)`, `s = sum_c e_c`,
//! `sigma = sum_{c != y} e_c`:
//!
//! * `ell = -ln p_y = (m - x_y) + ln s`, exactly as `cross_entropy` computes it, so that
//!   `gamma = 0` gives `cross_entropy`'s value bit for bit;
//! * `q = 1 - p_y = sigma / s`: a sum of the other classes' exponentials, never `1 - p_y`, so it
//!   keeps its relative accuracy as `p_y -> 1` (as `-expm1(ln p_y)` would);
//! * `l = alpha_y q^gamma ell` (`alpha_y = 1` without `alpha`; 0 when `alpha_y = 0`); for
//!   `gamma > 0` with `ell` from `ln_1p(sigma)` when `y` is the row's max (where `ln s` would
//!   round a loss of `~q^(gamma+1)` to 0).
//!
//! Derivatives, with `d_j = p_j - [j = y]` (`d_y = -q`) and `r = ell / q` (with the accurate
//! `ell`, so it stays accurate as `q -> 0`; 1 at `q = 0`):
//!
//! * `d l / d x_j = alpha_y F d_j` with `F = q^gamma (1 + gamma p_y r)`;
//! * `d^2 l / d x_j^2 = alpha_y (F p_j (1 - p_j) - G t_j)` with
//!   `G = gamma p_y q^gamma (ell - 2 - (gamma - 1) p_y r)`, `t_y = q` and `t_j = p_j^2 / q`
//!   (`j != y`, 0 when `q = 0`): `G t_j` is `p_y dF/dp_y d_j^2` with the `q^(gamma-1)` that
//!   blows up for `gamma < 1` cancelled against `d_j^2 <= q^2`.
//!
//! `gamma = 0` gives `F = 1`, `G = 0`: the cross-entropy gradient and Hessian. "mean" divides by
//! `sum_n w_n` (the number of rows unweighted), not by `sum alpha_y`: `alpha` is a balancing
//! factor inside the loss, as in the paper and in torchvision's `sigmoid_focal_loss`.
//!
//! `+inf` logits take the softmax limit (probability `1/k` on each of the `k` infinite logits);
//! a row of `-inf` logits has loss `+inf` (0 when `alpha_y = 0`), gradient and Hessian 0.

use super::drive::Target;
use super::rows::{
    exp_shifted, exp_sum_minus_one, in_range, row_max, two_sum, GroupRows, RowLoss, GROUP,
};
use crate::error::{invalid, LossError};
use crate::simd::Real;

/// The largest class count handled by the row-transposed tile path.
const TILE_CLASSES: usize = 16;

/// `softmax_focal`: focal loss over a softmax, class-index targets.
#[derive(Debug, Clone, Copy)]
pub struct SoftmaxFocal<'a, T> {
    classes: usize,
    alpha: Option<&'a [T]>,
    gamma: T,
}

/// The per-row factors of the value and the derivatives.
#[derive(Debug, Clone, Copy)]
struct Factors<T> {
    /// `alpha_y q^gamma ell`, the row's loss.
    loss: T,
    /// `k alpha_y F` and `k alpha_y G`.
    f: T,
    g: T,
}

impl<'a, T: Real> SoftmaxFocal<'a, T> {
    pub fn new(classes: usize, gamma: f64, alpha: Option<&'a [T]>) -> Result<Self, LossError> {
        if !gamma.is_finite() || gamma < 0.0 {
            return Err(invalid(
                "gamma",
                format!("must be finite and non-negative, got {gamma}"),
            ));
        }
        if let Some(a) = alpha {
            if a.len() != classes {
                return Err(LossError::ShapeMismatch {
                    left: "alpha",
                    left_shape: vec![a.len()],
                    right: "logits class axis",
                    right_shape: vec![classes],
                });
            }
            // NaN fails `v >= 0`.
            let ok = |v: T| v >= T::ZERO && v != T::INFINITY;
            if let Some(i) = a.iter().position(|&v| !ok(v)) {
                return Err(invalid(
                    "alpha",
                    format!(
                        "must be finite and non-negative, got {} at index {i}",
                        a[i].to_f64()
                    ),
                ));
            }
        }
        Ok(SoftmaxFocal {
            classes,
            alpha,
            gamma: T::from_f64(gamma),
        })
    }

    #[inline(always)]
    fn alpha_of(&self, c: usize) -> T {
        match self.alpha {
            Some(a) => a[c],
            None => T::ONE,
        }
    }

    /// The row's factors from `ell` (as cross_entropy), `ell_fine` (the accurate `-ln p_y` for
    /// `r`), `q`, `p_y`, the class weight `a` and the gradient factor `k`.
    #[inline(always)]
    fn factors(&self, ell: T, ell_fine: T, q: T, py: T, a: T, k: T) -> Factors<T> {
        let gm = self.gamma;
        let qg = T::select(
            gm == T::ZERO,
            T::ONE,
            T::select(
                gm == T::TWO,
                q * q,
                T::select(gm == T::ONE, q, (gm * q.ln()).exp()),
            ),
        );
        let r = T::select(q == T::ZERO, T::ONE, ell_fine / q);
        // p_y = 0 (y not reachable): the gamma terms vanish (r may be infinite there).
        let live = py != T::ZERO;
        let gpr = T::select(live, gm * py * r, T::ZERO);
        let f = qg * (T::ONE + gpr);
        let g = T::select(
            live,
            (gm * py) * qg * ((ell - T::TWO) - (gm - T::ONE) * py * r),
            T::ZERO,
        );
        // gamma = 0 keeps cross_entropy's rounding (bit for bit); otherwise the accurate one.
        let value = qg * T::select(gm == T::ZERO, ell, ell_fine);
        let loss = match self.alpha {
            Some(_) => T::select(a == T::ZERO, T::ZERO, a * value),
            None => value,
        };
        let ka = k * a;
        Factors {
            loss,
            f: ka * f,
            g: ka * g,
        }
    }

    /// Gradient and Hessian entries of class `c` (`own`: `c == y`) from `p_c`, `e_c / sigma`.
    #[inline(always)]
    fn entries(fa: Factors<T>, own: bool, pc: T, q: T, e_over_sigma: T) -> (T, T) {
        let d = T::select(own, -q, pc);
        let pp = T::select(own, pc * q, pc * (T::ONE - pc));
        let t = T::select(own, q, pc * e_over_sigma);
        (fa.f * d, fa.f * pp - fa.g * t)
    }

    /// 16 rows transposed into a tile (`C <= 16`): max, exponentials, sums and the per-row
    /// factors run across rows in SIMD lanes.
    #[inline(always)]
    fn tiles(&self, rows: GroupRows<'_, T>, y: &[i64]) -> bool {
        const R: usize = GROUP;
        let c_n = self.classes;
        let GroupRows {
            x,
            k,
            loss,
            live,
            mut grad,
            mut hess,
            ..
        } = rows;
        let nr = y.len();
        let mut bad = false;
        let mut lab = [0usize; R];
        for r in 0..nr {
            if in_range(y[r], c_n) {
                lab[r] = y[r] as usize;
                live[r] = true;
            } else {
                bad = true;
            }
        }
        let mut xt = [[T::ZERO; R]; TILE_CLASSES];
        for r in 0..nr {
            for c in 0..c_n {
                xt[c][r] = x[r * c_n + c];
            }
        }
        let mut m = xt[0];
        for row in xt.iter().take(c_n).skip(1) {
            for r in 0..R {
                m[r] = T::select(row[r] > m[r], row[r], m[r]);
            }
        }
        let mut shift = [T::ZERO; R];
        for r in 0..R {
            shift[r] = T::select(m[r] == -T::INFINITY, T::ZERO, m[r]);
        }
        let mut et = [[T::ZERO; R]; TILE_CLASSES];
        let mut s = [T::ZERO; R];
        let mut sigma = [T::ZERO; R];
        let mut xy = [T::ZERO; R];
        // ln s as cross_entropy takes it: ln_1p of s - 1 summed without the max's 1, with
        // compensation (so gamma = 0 is cross_entropy bit for bit).
        let mut rest = [T::ZERO; R];
        let mut comp = [T::ZERO; R];
        let mut ones = [T::ZERO; R];
        for c in 0..c_n {
            for r in 0..R {
                let (e, exact) = exp_shifted(xt[c][r], shift[r]);
                et[c][r] = e;
                s[r] = s[r] + e;
                let top = xt[c][r] == shift[r];
                let err;
                (rest[r], err) = two_sum(rest[r], T::select(top, T::ZERO, exact));
                comp[r] = comp[r] + err;
                ones[r] = ones[r] + T::select(top, T::ONE, T::ZERO);
                let own = lab[r] == c;
                sigma[r] = sigma[r] + T::select(own, T::ZERO, e);
                xy[r] = T::select(own, xt[c][r], xy[r]);
            }
        }
        let mut fa = [Factors {
            loss: T::ZERO,
            f: T::ZERO,
            g: T::ZERO,
        }; R];
        let mut q = [T::ZERO; R];
        let mut inv_s = [T::ZERO; R];
        let mut inv_sigma = [T::ZERO; R];
        let mut finite = [false; R];
        for r in 0..R {
            let ln_s = (rest[r] + (comp[r] + (ones[r] - T::ONE))).ln_1p();
            let ell = (m[r] - xy[r]) + ln_s;
            inv_s[r] = T::ONE / s[r];
            q[r] = sigma[r] * inv_s[r];
            inv_sigma[r] = T::select(sigma[r] == T::ZERO, T::ZERO, T::ONE / sigma[r]);
            let ell_fine = T::select(xy[r] == m[r], sigma[r].ln_1p(), ell);
            let py = T::ONE - q[r];
            let a = self.alpha_of(lab[r]);
            fa[r] = self.factors(ell, ell_fine, q[r], py, a, k[r]);
            finite[r] = live[r] && m[r] != T::INFINITY && m[r] != -T::INFINITY;
        }
        if grad.is_some() {
            let mut gt = [[T::ZERO; R]; TILE_CLASSES];
            let mut ht = [[T::ZERO; R]; TILE_CLASSES];
            for c in 0..c_n {
                for r in 0..R {
                    let e = et[c][r];
                    let pc = e * inv_s[r];
                    let (g, h) = Self::entries(fa[r], lab[r] == c, pc, q[r], e * inv_sigma[r]);
                    gt[c][r] = T::select(finite[r], g, T::ZERO);
                    ht[c][r] = T::select(finite[r], h, T::ZERO);
                }
            }
            if let Some(gs) = grad.as_deref_mut() {
                for r in 0..nr {
                    for c in 0..c_n {
                        gs[r * c_n + c] = gt[c][r];
                    }
                }
            }
            if let Some(hs) = hess.as_deref_mut() {
                for r in 0..nr {
                    for c in 0..c_n {
                        hs[r * c_n + c] = ht[c][r];
                    }
                }
            }
        }
        for r in 0..nr {
            if !live[r] {
                continue;
            }
            if m[r] == -T::INFINITY {
                loss[r] = self.empty_row(lab[r]);
            } else if m[r] == T::INFINITY {
                let span = r * c_n..(r + 1) * c_n;
                let g = grad.as_deref_mut().map(|g| &mut g[span.clone()]);
                let h = hess.as_deref_mut().map(|h| &mut h[span.clone()]);
                loss[r] = self.inf_row(&x[span], lab[r], k[r], g, h);
            } else {
                loss[r] = fa[r].loss;
            }
        }
        bad
    }

    /// The loss of a row of `-inf` logits: `+inf`, 0 when `alpha_y = 0`.
    #[inline(always)]
    fn empty_row(&self, y: usize) -> T {
        T::select(self.alpha_of(y) == T::ZERO, T::ZERO, T::INFINITY)
    }

    /// Rows along the row (`C > 16`): max, exponential sums, then the factors.
    #[inline(always)]
    fn along_rows(&self, rows: GroupRows<'_, T>, y: &[i64]) -> bool {
        let c_n = self.classes;
        let GroupRows {
            x,
            k,
            loss,
            live,
            mut grad,
            mut hess,
            ..
        } = rows;
        let mut bad = false;
        for (r, &label) in y.iter().enumerate() {
            let span = r * c_n..(r + 1) * c_n;
            let row = &x[span.clone()];
            let mut g = grad.as_deref_mut().map(|g| &mut g[span.clone()]);
            let h = hess.as_deref_mut().map(|h| &mut h[span]);
            if !in_range(label, c_n) {
                bad = true;
                if let Some(v) = g {
                    v.fill(T::ZERO);
                }
                if let Some(v) = h {
                    v.fill(T::ZERO);
                }
                continue;
            }
            live[r] = true;
            let yi = label as usize;
            let m = row_max(row);
            if m == T::INFINITY {
                loss[r] = self.inf_row(row, yi, k[r], g, h);
                continue;
            }
            if m == -T::INFINITY {
                if let Some(v) = g {
                    v.fill(T::ZERO);
                }
                if let Some(v) = h {
                    v.fill(T::ZERO);
                }
                loss[r] = self.empty_row(yi);
                continue;
            }
            // The same sum as cross_entropy (the exponentials kept in the gradient buffer).
            let (s, s1) = match g.as_deref_mut() {
                Some(g) => exp_sum_minus_one(row, m, Some(g)),
                None => exp_sum_minus_one(row, m, None),
            };
            let mut acc = [T::ZERO; crate::reduce::LANES];
            match g.as_deref() {
                Some(e) => {
                    for (c, &ec) in e.iter().enumerate() {
                        let lane = c % crate::reduce::LANES;
                        acc[lane] = acc[lane] + T::select(c == yi, T::ZERO, ec);
                    }
                }
                None => {
                    for (c, &xc) in row.iter().enumerate() {
                        let lane = c % crate::reduce::LANES;
                        let ec = (xc - m).exp();
                        acc[lane] = acc[lane] + T::select(c == yi, T::ZERO, ec);
                    }
                }
            }
            let sigma = super::rows::lanes_sum(acc);
            let ell = (m - row[yi]) + s1.ln_1p();
            let inv_s = T::ONE / s;
            let q = sigma * inv_s;
            let ell_fine = T::select(row[yi] == m, sigma.ln_1p(), ell);
            let fa = self.factors(ell, ell_fine, q, T::ONE - q, self.alpha_of(yi), k[r]);
            loss[r] = fa.loss;
            if let Some(g) = g {
                let inv_sigma = T::select(sigma == T::ZERO, T::ZERO, T::ONE / sigma);
                match h {
                    Some(h) => {
                        for (c, (gc, hc)) in g.iter_mut().zip(h.iter_mut()).enumerate() {
                            let e = *gc;
                            let (gv, hv) = Self::entries(fa, c == yi, e * inv_s, q, e * inv_sigma);
                            *gc = gv;
                            *hc = hv;
                        }
                    }
                    None => {
                        for (c, gc) in g.iter_mut().enumerate() {
                            let e = *gc;
                            *gc = Self::entries(fa, c == yi, e * inv_s, q, e * inv_sigma).0;
                        }
                    }
                }
            }
        }
        bad
    }

    /// A row whose largest logit is `+inf`: probability `1/k` on each of its `k` infinite
    /// logits, 0 elsewhere; `ell` is `ln k` at an infinite logit and `+inf` elsewhere. Rare: a
    /// plain scalar loop, the same on every ISA.
    #[cold]
    #[inline(never)]
    fn inf_row(
        &self,
        x: &[T],
        y: usize,
        k: T,
        grad: Option<&mut [T]>,
        hess: Option<&mut [T]>,
    ) -> T {
        #[allow(clippy::eq_op)]
        if x.iter().any(|&v| v != v) {
            if let Some(v) = grad {
                v.fill(T::NAN);
            }
            if let Some(v) = hess {
                v.fill(T::NAN);
            }
            return T::NAN;
        }
        let infinite = x.iter().filter(|&&v| v == T::INFINITY).count();
        let ln_k = T::from_f64((infinite as f64).ln());
        let p_inf = T::ONE / T::from_f64(infinite as f64);
        let p = |c: usize| T::select(x[c] == T::INFINITY, p_inf, T::ZERO);
        let at_inf = x[y] == T::INFINITY;
        let ell = T::select(at_inf, ln_k, T::INFINITY);
        let q = T::select(at_inf, T::from_f64((infinite - 1) as f64) * p_inf, T::ONE);
        let fa = self.factors(ell, ell, q, p(y), self.alpha_of(y), k);
        // sigma / s = q: e_c / sigma = p_c / q.
        let over_q = |c: usize| T::select(q == T::ZERO, T::ZERO, p(c) / q);
        if let Some(h) = hess {
            for (c, hc) in h.iter_mut().enumerate() {
                *hc = Self::entries(fa, c == y, p(c), q, over_q(c)).1;
            }
        }
        if let Some(g) = grad {
            for (c, gc) in g.iter_mut().enumerate() {
                *gc = Self::entries(fa, c == y, p(c), q, over_q(c)).0;
            }
        }
        fa.loss
    }
}

impl<T: Real> RowLoss<T> for SoftmaxFocal<'_, T> {
    const CLASS_WEIGHTED_MEAN: bool = false;
    const NAME: &'static str = "softmax_focal";

    fn classes(&self) -> usize {
        self.classes
    }
    fn class_weight(&self) -> Option<&[T]> {
        self.alpha
    }
    fn ignore_index(&self) -> Option<i64> {
        None
    }
    fn accepts_prob(&self) -> bool {
        false
    }

    #[inline(always)]
    fn group(&self, rows: GroupRows<'_, T>) -> bool {
        match rows.labels {
            Target::Index(y) if self.classes > 0 && self.classes <= TILE_CLASSES => {
                self.tiles(rows, y)
            }
            Target::Index(y) => self.along_rows(rows, y),
            // Refused by the driver's check (accepts_prob is false; no per-unit labels).
            Target::Values(_) | Target::Units(_) | Target::Absent => false,
        }
    }
}

crate::row_loss!(SoftmaxFocal<'_, T>);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loss::rows::evaluate_rows;
    use crate::loss::softmax::CrossEntropy;
    use crate::Reduction;

    fn data(rows: usize, c: usize) -> (Vec<f64>, Vec<i64>) {
        let x = (0..rows * c)
            .map(|i| ((i * 7919) % 1009) as f64 * 0.01 - 5.0)
            .collect();
        let y = (0..rows).map(|i| ((i * 31) % c) as i64).collect();
        (x, y)
    }

    /// `(value, grad, hess)` of one call with the Hessian.
    fn run(
        loss: &SoftmaxFocal<'_, f64>,
        x: &[f64],
        y: &[i64],
        reduction: Reduction,
    ) -> (f64, Vec<f64>, Vec<f64>) {
        let rows = y.len();
        let mut g = vec![0.0; x.len()];
        let mut h = vec![0.0; x.len()];
        let inputs = crate::loss::Inputs::rows(x, rows, Target::Index(y));
        let req = crate::loss::Request::value(inputs, reduction)
            .grad_out(Some(&mut g))
            .hess_out(Some(&mut h));
        let v = crate::loss::Loss::run(loss, req).unwrap().finish(reduction);
        (v, g, h)
    }

    fn focal_ref(x: &[f64], y: usize, gamma: f64, alpha: f64) -> f64 {
        let m = x.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let s: f64 = x.iter().map(|v| (v - m).exp()).sum();
        let lp = x[y] - m - s.ln();
        -alpha * (1.0 - lp.exp()).powf(gamma) * lp
    }

    #[test]
    fn value_gradient_and_hessian_match_a_reference_and_finite_differences() {
        for c in [3usize, 16, 17, 40] {
            for gamma in [0.0, 0.5, 2.0, 3.5] {
                let (x, y) = data(20, c);
                let alpha: Vec<f64> = (0..c).map(|i| 0.25 + 0.1 * i as f64).collect();
                let loss = SoftmaxFocal::new(c, gamma, Some(&alpha)).unwrap();
                let (v, g, h) = run(&loss, &x, &y, Reduction::Sum);
                let want: f64 = (0..20)
                    .map(|n| {
                        focal_ref(
                            &x[n * c..(n + 1) * c],
                            y[n] as usize,
                            gamma,
                            alpha[y[n] as usize],
                        )
                    })
                    .sum();
                assert!(
                    (v - want).abs() < 1e-12 * want.abs().max(1.0),
                    "C={c} g={gamma}"
                );
                let step = 1e-5;
                for &i in &[0usize, 1, c + 2, 5 * c - 1] {
                    let at = |d: f64| {
                        let mut xs = x.clone();
                        xs[i] += d;
                        run(&loss, &xs, &y, Reduction::Sum).0
                    };
                    let fd = (at(step) - at(-step)) / (2.0 * step);
                    assert!((g[i] - fd).abs() < 1e-7, "grad C={c} g={gamma} i={i}");
                    let gd = |d: f64| {
                        let mut xs = x.clone();
                        xs[i] += d;
                        run(&loss, &xs, &y, Reduction::Sum).1[i]
                    };
                    let fd2 = (gd(step) - gd(-step)) / (2.0 * step);
                    assert!((h[i] - fd2).abs() < 1e-6, "hess C={c} g={gamma} i={i}");
                }
            }
        }
    }

    #[test]
    fn gamma_zero_is_cross_entropy_bit_for_bit() {
        for c in [5usize, 16, 33] {
            let rows = 300;
            let (x, y) = data(rows, c);
            let focal = SoftmaxFocal::<f64>::new(c, 0.0, None).unwrap();
            let ce = CrossEntropy::<f64>::new(c, None, None, 0.0).unwrap();
            for reduction in [Reduction::Mean, Reduction::Sum] {
                let a = evaluate_rows(
                    &focal,
                    &x,
                    rows,
                    Target::Index(&y),
                    None,
                    reduction,
                    None,
                    None,
                    false,
                )
                .unwrap();
                let b = evaluate_rows(
                    &ce,
                    &x,
                    rows,
                    Target::Index(&y),
                    None,
                    reduction,
                    None,
                    None,
                    false,
                )
                .unwrap();
                assert_eq!(a.to_bits(), b.to_bits(), "C={c}");
            }
        }
    }

    #[test]
    fn confident_rows_keep_their_accuracy() {
        // p_y = 1 - q with q = exp(-46) ~ 1e-20: the loss is q^2 ln(1 + q) ~ q^3.
        let x = [0.0, -46.0, -1000.0];
        let loss = SoftmaxFocal::<f64>::new(3, 2.0, None).unwrap();
        let (v, g, _) = run(&loss, &x, &[0], Reduction::Sum);
        let q = (-46.0f64).exp();
        assert!((v / (q * q * q) - 1.0).abs() < 1e-12, "{v}");
        // d l / d x_1 = F p_1 with F = 3 q^2 (to first order).
        assert!((g[1] / (3.0 * q * q * q) - 1.0).abs() < 1e-12, "{g:?}");
    }

    #[test]
    fn bad_parameters_and_labels() {
        assert!(SoftmaxFocal::<f64>::new(3, -1.0, None).is_err());
        assert!(SoftmaxFocal::<f64>::new(3, f64::NAN, None).is_err());
        assert!(SoftmaxFocal::<f64>::new(3, 2.0, Some(&[1.0, 2.0])).is_err());
        assert!(SoftmaxFocal::<f64>::new(3, 2.0, Some(&[1.0, -2.0, 0.0])).is_err());
        let loss = SoftmaxFocal::<f64>::new(3, 2.0, None).unwrap();
        let x = [0.0; 6];
        let err = evaluate_rows(
            &loss,
            &x,
            2,
            Target::Index(&[0, 3]),
            None,
            Reduction::Sum,
            None,
            None,
            false,
        )
        .unwrap_err();
        assert!(
            matches!(err, LossError::InvalidTarget { index: 1, .. }),
            "{err}"
        );
    }

    #[test]
    fn infinite_logits_give_the_limits() {
        let inf = f64::INFINITY;
        for c in [3usize, 20] {
            let loss = SoftmaxFocal::<f64>::new(c, 2.0, None).unwrap();
            let mut x = vec![0.5; c];
            x[1] = inf;
            let (v, g, h) = run(&loss, &x, &[1], Reduction::Sum);
            assert_eq!(v, 0.0);
            assert!(g.iter().chain(&h).all(|&d| d == 0.0), "{g:?} {h:?}");
            let (v, _, _) = run(&loss, &x, &[0], Reduction::Sum);
            assert_eq!(v, inf);
            let x = vec![-inf; c];
            let (v, g, _) = run(&loss, &x, &[0], Reduction::Sum);
            assert_eq!(v, inf);
            assert!(g.iter().all(|&d| d == 0.0));
        }
    }

    #[test]
    fn every_isa_and_thread_count_gives_the_same_bits() {
        for c in [10usize, 100] {
            let rows = 3000;
            let (x, y) = data(rows, c);
            let x: Vec<f32> = x.iter().map(|&v| v as f32).collect();
            let alpha: Vec<f32> = (0..c).map(|i| 0.5 + i as f32 * 0.1).collect();
            let loss = SoftmaxFocal::<f32>::new(c, 1.5, Some(&alpha)).unwrap();
            let go = || {
                let mut g = vec![0f32; x.len()];
                let mut h = vec![0f32; x.len()];
                let inputs = crate::loss::Inputs::rows(&x, rows, Target::Index(&y));
                let req = crate::loss::Request::value(inputs, Reduction::Mean)
                    .grad_out(Some(&mut g))
                    .hess_out(Some(&mut h));
                let v = crate::loss::Loss::run(&loss, req)
                    .unwrap()
                    .finish(Reduction::Mean);
                (v, g, h)
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
}
