//! Softmax cross-entropy over the last axis (`cross_entropy`, PyTorch semantics).
//!
//! Per row `x` with `m = max(x)`, `s = sum_c exp(x_c - m)`, `L = ln(s)` (so `lse = m + L`),
//! taken as `ln_1p(s - 1)` with `s - 1` summed without the max's term (exactly 1), with the
//! rounding error of each `x_c - m` restored and with compensation (TwoSum), so that a small
//! loss keeps its bits (<= 2 ulp against 60-digit references):
//!
//! * class index `y`: `nll = (m - x_y) + L` (never `m + L - x_y`: exact for huge logits in
//!   float32); with label smoothing `eps` and class weights `w`,
//!   `l = (1 - eps) w_y nll + eps/C * sum_c w_c ((m - x_c) + L)`, gradient
//!   `p_j ((1 - eps) w_y + eps/C W) - eps/C w_j - (1 - eps) w_y [j = y]` with `p = exp(x - m)/s`
//!   and `W = sum_c w_c`. Ignored rows: loss 0, gradient 0.
//! * probabilities `t`: with `u_c = w_c ((1 - eps) t_c + eps/C)`, `l = sum_c u_c ((m - x_c) + L)`
//!   (terms with `u_c = 0` are 0, also at `x_c = -inf`), gradient `p_j sum_c u_c - u_j`.
//!
//! Second derivatives (the per-row diagonal): `d^2 l / d x_j^2 = S p_j (1 - p_j)` with `S` the
//! row's target mass, `S = (1 - eps) w_y + eps/C W` (class index) or `S = sum_c u_c`
//! (probabilities); times the row's gradient factor like the gradient. Ignored rows: 0.
//!
//! `-inf` logits (masked classes) are exact: their exponential is 0. A row whose logits are all
//! `-inf` has loss `+inf` (every class has probability 0) and a zero gradient and Hessian,
//! never NaN.
//!
//! Few classes (`C <= 16`): 16 rows at a time are transposed into a small tile so that the max,
//! the exponentials and the sums run across rows in SIMD lanes. Many classes: along the row,
//! with 16 fixed lanes (bitwise the same result on every ISA and thread count).

use super::drive::Target;
use super::rows::{
    check_class_weight, exp_shifted, exp_sum, exp_sum_minus_one, in_range, lanes_sum, row_max,
    two_sum, GroupRows, RowLoss, GROUP,
};
use crate::error::{invalid, LossError};
use crate::reduce::LANES;
use crate::simd::Real;

/// The largest class count handled by the row-transposed tile path.
pub const TILE_CLASSES: usize = 16;

/// The target of one row, for [`CrossEntropy::inf_row`].
#[derive(Debug, Clone, Copy)]
enum RowTarget<'a, T> {
    Index(usize),
    Prob(&'a [T]),
}

/// Max, exponential sum and its log of one row.
#[derive(Debug, Clone, Copy)]
struct RowStats<T> {
    m: T,
    s: T,
    ln_s: T,
}

/// Cross-entropy on logits with class-index or probability targets.
#[derive(Debug, Clone, Copy)]
pub struct CrossEntropy<'a, T> {
    classes: usize,
    class_weight: Option<&'a [T]>,
    ignore_index: Option<i64>,
    /// `1 - eps`, `eps / C`, whether `eps > 0`, and `W = sum(class_weight)` (or `C`).
    keep: T,
    eps_c: T,
    smoothing: bool,
    wsum: T,
}

impl<'a, T: Real> CrossEntropy<'a, T> {
    pub fn new(
        classes: usize,
        class_weight: Option<&'a [T]>,
        ignore_index: Option<i64>,
        label_smoothing: f64,
    ) -> Result<Self, LossError> {
        if !(0.0..=1.0).contains(&label_smoothing) {
            return Err(invalid(
                "label_smoothing",
                format!("must be in [0, 1], got {label_smoothing}"),
            ));
        }
        check_class_weight(class_weight, classes)?;
        let wsum = match class_weight {
            Some(w) => w.iter().map(|v| v.to_f64()).sum::<f64>(),
            None => classes as f64,
        };
        let eps_c = if classes > 0 {
            label_smoothing / classes as f64
        } else {
            0.0
        };
        Ok(CrossEntropy {
            classes,
            class_weight,
            ignore_index,
            keep: T::from_f64(1.0 - label_smoothing),
            eps_c: T::from_f64(eps_c),
            smoothing: label_smoothing > 0.0,
            wsum: T::from_f64(wsum),
        })
    }

    #[inline(always)]
    fn cw(&self, c: usize) -> T {
        match self.class_weight {
            Some(w) => w[c],
            None => T::ONE,
        }
    }

    /// `sum_c w_c (m - x_c)`, 0-weight terms skipped (they may be `inf` for masked classes).
    #[inline(always)]
    fn smooth_sum(&self, x: &[T], m: T) -> T {
        let mut acc = [T::ZERO; LANES];
        match self.class_weight {
            Some(w) => {
                for (k, (&v, &wc)) in x.iter().zip(w).enumerate() {
                    let d = m - v;
                    acc[k % LANES] = acc[k % LANES] + T::select(wc == T::ZERO, T::ZERO, wc * d);
                }
            }
            None => {
                for (k, &v) in x.iter().enumerate() {
                    acc[k % LANES] = acc[k % LANES] + (m - v);
                }
            }
        }
        lanes_sum(acc)
    }

    /// Whether row label `y` is ignored; `bad` is set for out-of-range labels (ignored too).
    #[inline(always)]
    fn skip(&self, y: i64, bad: &mut bool) -> bool {
        if Some(y) == self.ignore_index {
            return true;
        }
        if !in_range(y, self.classes) {
            *bad = true;
            return true;
        }
        false
    }

    /// Rows with class indices along the row (`C > 16`), in phases (maxima, exponential sums,
    /// one vector `ln`, finishing) so that the rows' dependency chains overlap instead of each
    /// row waiting for the previous row's `exp` and `ln` latency.
    #[inline(always)]
    fn index_rows<const H: bool>(&self, rows: GroupRows<'_, T>, y: &[i64]) -> bool {
        let c_n = self.classes;
        let GroupRows {
            x,
            k,
            loss,
            live,
            mut grad,
            hess,
            value,
            ..
        } = rows;
        // Without the Hessian (H = false) this is the value/gradient kernel as it was.
        let mut hess = if H { hess } else { None };
        let nr = y.len();
        let mut bad = false;
        let mut m = [T::ZERO; GROUP];
        for r in 0..nr {
            live[r] = !self.skip(y[r], &mut bad);
            if live[r] {
                m[r] = row_max(&x[r * c_n..(r + 1) * c_n]);
            }
        }
        let mut s = [T::ONE; GROUP];
        let mut s1 = [T::ZERO; GROUP];
        for r in 0..nr {
            if !live[r] || m[r] == T::INFINITY {
                continue;
            }
            let span = r * c_n..(r + 1) * c_n;
            // An all -inf row: shift by 0 (its exponentials are 0; finish_row reports inf).
            let shift = T::select(m[r] == -T::INFINITY, T::ZERO, m[r]);
            // Derivatives only: `s` alone (bitwise the same sum), no `s - 1` for the log.
            (s[r], s1[r]) = match (grad.as_deref_mut(), value) {
                (Some(g), true) => exp_sum_minus_one(&x[span.clone()], shift, Some(&mut g[span])),
                (Some(g), false) => (exp_sum(&x[span.clone()], shift, Some(&mut g[span])), s1[r]),
                (None, _) => exp_sum_minus_one(&x[span], shift, None),
            };
        }
        // ln s = ln_1p(s - 1), from the sum taken without its 1 (ln(1 + small) loses bits).
        let mut ln_s = [T::ZERO; GROUP];
        if value {
            for r in 0..GROUP {
                ln_s[r] = s1[r].ln_1p();
            }
        }
        for r in 0..nr {
            let span = r * c_n..(r + 1) * c_n;
            let g = grad.as_deref_mut().map(|g| &mut g[span.clone()]);
            let h = hess.as_deref_mut().map(|h| &mut h[span.clone()]);
            if live[r] && m[r] == T::INFINITY {
                loss[r] = self.inf_row(&x[span], RowTarget::Index(y[r] as usize), k[r], g, h);
            } else if live[r] {
                let stats = RowStats {
                    m: m[r],
                    s: s[r],
                    ln_s: ln_s[r],
                };
                let yi = y[r] as usize;
                // From the exponentials still held in the gradient, before finish_row turns
                // them into the gradient.
                if let (Some(g), Some(h)) = (g.as_deref(), h) {
                    if m[r] == -T::INFINITY {
                        h.fill(T::ZERO);
                    } else {
                        let (pa, _) = self.grad_factors(k[r], self.cw(yi), s[r]);
                        softmax_hess(g, h, pa, s[r]);
                    }
                }
                loss[r] = self.finish_row(&x[span], yi, stats, k[r], g, value);
            } else {
                if let Some(g) = g {
                    g.fill(T::ZERO);
                }
                if let Some(h) = h {
                    h.fill(T::ZERO);
                }
            }
        }
        bad
    }

    /// A row whose largest logit is `+inf`: the limit of the softmax puts probability `1/k` on
    /// each of its `k` infinite logits and 0 elsewhere, and `lse - x_c` tends to `ln k` for
    /// those and to `+inf` for the others (so the loss is finite only when every class with
    /// target mass is an infinite one). Rare: a plain scalar loop, the same on every ISA.
    #[cold]
    #[inline(never)]
    fn inf_row(
        &self,
        x: &[T],
        target: RowTarget<'_, T>,
        k: T,
        grad: Option<&mut [T]>,
        hess: Option<&mut [T]>,
    ) -> T {
        #[allow(clippy::eq_op)]
        if x.iter().any(|&v| v != v) {
            // NaN propagates, as in the finite case.
            if let Some(g) = grad {
                g.fill(T::NAN);
            }
            if let Some(h) = hess {
                h.fill(T::NAN);
            }
            return T::NAN;
        }
        let infinite = x.iter().filter(|&&v| v == T::INFINITY).count();
        let ln_k = T::from_f64((infinite as f64).ln());
        let p_inf = T::ONE / T::from_f64(infinite as f64);
        let gap = |c: usize| T::select(x[c] == T::INFINITY, ln_k, T::INFINITY);
        let p = |c: usize| T::select(x[c] == T::INFINITY, p_inf, T::ZERO);
        let weighted = |w: T, c: usize| T::select(w == T::ZERO, T::ZERO, w * gap(c));
        match target {
            RowTarget::Index(y) => {
                let wy = self.cw(y);
                let mut smooth = T::ZERO;
                if self.smoothing {
                    for c in 0..x.len() {
                        smooth = smooth + weighted(self.cw(c), c);
                    }
                }
                let l = self.row_loss(wy, gap(y), smooth, T::ZERO);
                let (pa, b) = self.grad_factors(k, wy, T::ONE);
                if let Some(h) = hess {
                    for (c, hj) in h.iter_mut().enumerate() {
                        *hj = (p(c) * pa) * (T::ONE - p(c));
                    }
                }
                if let Some(g) = grad {
                    for (c, gj) in g.iter_mut().enumerate() {
                        *gj = p(c) * pa - b * self.cw(c);
                    }
                    g[y] = g[y] - k * self.keep * wy;
                }
                l
            }
            RowTarget::Prob(t) => {
                let u = |c: usize| self.cw(c) * (self.keep * t[c] + self.eps_c);
                let mut l = T::ZERO;
                let mut mass = T::ZERO;
                for c in 0..x.len() {
                    l = l + weighted(u(c), c);
                    mass = mass + u(c);
                }
                if let Some(h) = hess {
                    for (c, hj) in h.iter_mut().enumerate() {
                        *hj = (p(c) * (k * mass)) * (T::ONE - p(c));
                    }
                }
                if let Some(g) = grad {
                    for (c, gj) in g.iter_mut().enumerate() {
                        *gj = p(c) * (k * mass) - k * u(c);
                    }
                }
                l
            }
        }
    }

    /// `(1 - eps) w_y nll + eps/C (sum_c w_c (m - x_c) + W ln s)` from its parts (`smooth` is
    /// the sum, only read with label smoothing).
    #[inline(always)]
    fn row_loss(&self, wy: T, nll: T, smooth: T, ln_s: T) -> T {
        let l = if self.class_weight.is_some() {
            wy * nll
        } else {
            nll
        };
        if self.smoothing {
            self.keep * l + self.eps_c * (smooth + self.wsum * ln_s)
        } else {
            l
        }
    }

    /// The gradient factors of a row: `d l / d x_j = e_j pa - b w_j - k (1 - eps) w_y [j = y]`
    /// with `e_j = exp(x_j - m)`.
    #[inline(always)]
    fn grad_factors(&self, k: T, wy: T, s: T) -> (T, T) {
        (
            k * (self.keep * wy + self.eps_c * self.wsum) / s,
            k * self.eps_c,
        )
    }

    /// The loss of one row (class `y`) from its statistics (0 unless `value`); turns the
    /// exponentials held in `grad` into `k * d l / d x`. Returns the unweighted loss.
    #[inline(always)]
    fn finish_row(
        &self,
        x: &[T],
        y: usize,
        st: RowStats<T>,
        k: T,
        grad: Option<&mut [T]>,
        value: bool,
    ) -> T {
        let RowStats { m, s, ln_s } = st;
        if m == -T::INFINITY {
            if let Some(g) = grad {
                g.fill(T::ZERO);
            }
            return T::INFINITY;
        }
        let wy = self.cw(y);
        let l = if value {
            let nll = (m - x[y]) + ln_s;
            let smooth = if self.smoothing {
                self.smooth_sum(x, m)
            } else {
                T::ZERO
            };
            self.row_loss(wy, nll, smooth, ln_s)
        } else {
            T::ZERO
        };
        if let Some(g) = grad {
            let (pa, b) = self.grad_factors(k, wy, s);
            if self.smoothing {
                // Unswitched by hand (`b * 1 == b`: the same bits as `b * cw(c)`).
                match self.class_weight {
                    Some(w) => {
                        for (gj, &wc) in g.iter_mut().zip(w) {
                            *gj = *gj * pa - b * wc;
                        }
                    }
                    None => {
                        for gj in g.iter_mut() {
                            *gj = *gj * pa - b;
                        }
                    }
                }
            } else {
                for gj in g.iter_mut() {
                    *gj = *gj * pa;
                }
            }
            g[y] = g[y] - k * self.keep * wy;
        }
        l
    }

    /// Rows with class indices, transposed into a tile (`C <= 16`) so that the max, the
    /// exponentials and the sums run across rows in SIMD lanes.
    #[inline(always)]
    fn index_tiles<const H: bool>(&self, rows: GroupRows<'_, T>, y: &[i64]) -> bool {
        const R: usize = GROUP;
        let c_n = self.classes;
        let GroupRows {
            x,
            k,
            loss,
            live,
            grad,
            hess,
            value,
            ..
        } = rows;
        let hess = if H { hess } else { None };
        let nr = y.len();
        let mut bad = false;
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
        // s - 1 without its 1: the terms at the maximum (exactly 1) are counted apart.
        let mut rest = [T::ZERO; R];
        let mut comp = [T::ZERO; R];
        let mut ones = [T::ZERO; R];
        for c in 0..c_n {
            for r in 0..R {
                let (e, exact) = exp_shifted(xt[c][r], shift[r]);
                et[c][r] = e;
                s[r] = s[r] + e;
                if value {
                    let top = xt[c][r] == shift[r];
                    let err;
                    (rest[r], err) = two_sum(rest[r], T::select(top, T::ZERO, exact));
                    comp[r] = comp[r] + err;
                    ones[r] = ones[r] + T::select(top, T::ONE, T::ZERO);
                }
            }
        }
        let mut ln_s = [T::ZERO; R];
        if value {
            for r in 0..R {
                ln_s[r] = (rest[r] + (comp[r] + (ones[r] - T::ONE))).ln_1p();
            }
        }
        // Per-row gradient factors (0 for rows without a gradient).
        let mut pa = [T::ZERO; R];
        let mut b = [T::ZERO; R];
        let mut finite = [false; R];
        let mut labels = [0usize; R];
        for r in 0..nr {
            if self.skip(y[r], &mut bad) {
                continue;
            }
            live[r] = true;
            let yi = y[r] as usize;
            if m[r] == -T::INFINITY {
                loss[r] = T::INFINITY;
                continue;
            }
            if m[r] == T::INFINITY {
                // Handled after the tile's gradient is written (inf_row writes its whole row).
                continue;
            }
            let wy = self.cw(yi);
            if value {
                let nll = (m[r] - xt[yi][r]) + ln_s[r];
                let mut smooth = T::ZERO;
                if self.smoothing {
                    for (c, xc) in xt.iter().enumerate().take(c_n) {
                        let wc = self.cw(c);
                        smooth = smooth + T::select(wc == T::ZERO, T::ZERO, wc * (m[r] - xc[r]));
                    }
                }
                loss[r] = self.row_loss(wy, nll, smooth, ln_s[r]);
            }
            (pa[r], b[r]) = self.grad_factors(k[r], wy, s[r]);
            finite[r] = true;
            labels[r] = yi;
        }
        let mut hess = hess;
        if let Some(hs) = hess.as_deref_mut() {
            // k S p (1 - p) = (e pa) (1 - e / s), across rows in lanes.
            let mut inv_s = [T::ZERO; R];
            for r in 0..R {
                inv_s[r] = T::ONE / s[r];
            }
            let mut ht = [[T::ZERO; R]; TILE_CLASSES];
            for c in 0..c_n {
                for r in 0..R {
                    let e = et[c][r];
                    let v = (e * pa[r]) * (T::ONE - e * inv_s[r]);
                    ht[c][r] = T::select(finite[r], v, T::ZERO);
                }
            }
            for r in 0..nr {
                for c in 0..c_n {
                    hs[r * c_n + c] = ht[c][r];
                }
            }
        }
        let mut grad = grad;
        if let Some(gs) = grad.as_deref_mut() {
            let mut gt = [[T::ZERO; R]; TILE_CLASSES];
            for c in 0..c_n {
                let wc = self.cw(c);
                for r in 0..R {
                    let v = if self.smoothing {
                        et[c][r] * pa[r] - b[r] * wc
                    } else {
                        et[c][r] * pa[r]
                    };
                    gt[c][r] = T::select(finite[r], v, T::ZERO);
                }
            }
            for r in 0..nr {
                for c in 0..c_n {
                    gs[r * c_n + c] = gt[c][r];
                }
                if finite[r] {
                    let yi = labels[r];
                    let j = r * c_n + yi;
                    gs[j] = gs[j] - k[r] * self.keep * self.cw(yi);
                }
            }
        }
        for r in 0..nr {
            if live[r] && m[r] == T::INFINITY {
                let span = r * c_n..(r + 1) * c_n;
                let g = grad.as_deref_mut().map(|g| &mut g[span.clone()]);
                let h = hess.as_deref_mut().map(|h| &mut h[span.clone()]);
                loss[r] = self.inf_row(&x[span], RowTarget::Index(y[r] as usize), k[r], g, h);
            }
        }
        bad
    }

    /// One row with probability targets. Returns the unweighted loss.
    #[inline(always)]
    fn prob_row<const H: bool>(
        &self,
        x: &[T],
        t: &[T],
        k: T,
        grad: Option<&mut [T]>,
        hess: Option<&mut [T]>,
    ) -> T {
        let hess = if H { hess } else { None };
        let m = row_max(x);
        if m == T::INFINITY {
            return self.inf_row(x, RowTarget::Prob(t), k, grad, hess);
        }
        if m == -T::INFINITY {
            if let Some(g) = grad {
                g.fill(T::ZERO);
            }
            if let Some(h) = hess {
                h.fill(T::ZERO);
            }
            return T::INFINITY;
        }
        let ((s, s1), g) = match grad {
            Some(g) => (exp_sum_minus_one(x, m, Some(&mut *g)), Some(g)),
            None => (exp_sum_minus_one(x, m, None), None),
        };
        let ln_s = s1.ln_1p();
        let mut acc = [T::ZERO; LANES];
        let mut uacc = [T::ZERO; LANES];
        for (c, (&xc, &tc)) in x.iter().zip(t).enumerate() {
            let u = self.cw(c) * (self.keep * tc + self.eps_c);
            let term = T::select(u == T::ZERO, T::ZERO, u * ((m - xc) + ln_s));
            acc[c % LANES] = acc[c % LANES] + term;
            uacc[c % LANES] = uacc[c % LANES] + u;
        }
        if let Some(g) = g {
            let pa = k * lanes_sum(uacc) / s;
            if let Some(h) = hess {
                softmax_hess(g, h, pa, s);
            }
            for (c, (gj, &tc)) in g.iter_mut().zip(t).enumerate() {
                let u = self.cw(c) * (self.keep * tc + self.eps_c);
                *gj = *gj * pa - k * u;
            }
        }
        lanes_sum(acc)
    }
}

/// The Hessian diagonal `k S p_j (1 - p_j) = (e_j pa) (1 - e_j / s)` of a row from its
/// exponentials `e` (still held in the gradient buffer) and `pa = k S / s`.
#[inline(always)]
fn softmax_hess<T: Real>(e: &[T], h: &mut [T], pa: T, s: T) {
    let inv_s = T::ONE / s;
    for (hj, &ej) in h.iter_mut().zip(e) {
        *hj = (ej * pa) * (T::ONE - ej * inv_s);
    }
}

impl<T: Real> RowLoss<T> for CrossEntropy<'_, T> {
    const CLASS_WEIGHTED_MEAN: bool = true;
    const NAME: &'static str = "cross_entropy";

    fn classes(&self) -> usize {
        self.classes
    }
    fn class_weight(&self) -> Option<&[T]> {
        self.class_weight
    }
    fn ignore_index(&self) -> Option<i64> {
        self.ignore_index
    }
    fn accepts_prob(&self) -> bool {
        self.ignore_index.is_none()
    }

    #[inline(always)]
    fn group(&self, rows: GroupRows<'_, T>) -> bool {
        let c_n = self.classes;
        // One instance with the Hessian and one without, so the value and gradient paths are
        // not burdened by it.
        let with_hess = rows.hess.is_some();
        match rows.labels {
            Target::Index(y) if c_n > 0 && c_n <= TILE_CLASSES => match with_hess {
                true => self.index_tiles::<true>(rows, y),
                false => self.index_tiles::<false>(rows, y),
            },
            Target::Index(y) => match with_hess {
                true => self.index_rows::<true>(rows, y),
                false => self.index_rows::<false>(rows, y),
            },
            Target::Values(t) => {
                let GroupRows {
                    x,
                    k,
                    loss,
                    live,
                    mut grad,
                    mut hess,
                    ..
                } = rows;
                let nr = t.len().checked_div(c_n).unwrap_or(0);
                for r in 0..nr {
                    let span = r * c_n..(r + 1) * c_n;
                    let g = grad.as_deref_mut().map(|g| &mut g[span.clone()]);
                    let h = hess.as_deref_mut().map(|h| &mut h[span.clone()]);
                    let (xs, ts) = (&x[span.clone()], &t[span]);
                    loss[r] = match with_hess {
                        true => self.prob_row::<true>(xs, ts, k[r], g, h),
                        false => self.prob_row::<false>(xs, ts, k[r], g, h),
                    };
                    live[r] = true;
                }
                false
            }
            Target::Units(_) | Target::Absent => false, // refused by `Rows::check`
        }
    }
}

crate::row_loss!(CrossEntropy<'_, T>);
