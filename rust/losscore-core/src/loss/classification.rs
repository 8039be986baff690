//! Classification losses, PyTorch semantics, class axis last.
//!
//! * Element-wise ones ([`binary`](super::binary)): `binary_cross_entropy`,
//!   `binary_cross_entropy_with_logits`, `sigmoid_focal`, `soft_margin`, `hinge`,
//!   `squared_hinge`, `kl_div` — run by the [`pointwise`](super::pointwise) driver.
//! * Row losses ([`rows`](super::rows) driver): `cross_entropy` ([`softmax`](super::softmax)),
//!   and here [`Nll`] and [`MultiMargin`].
//!
//! | loss | `l_n` for row `x`, class `y` | `d l_n / d x_j` | `d^2 l_n / d x_j^2` |
//! |---|---|---|---|
//! | [`Nll`] | `-w_y x_y` (0 if ignored) | `-w_y [j = y]` | `0` |
//! | [`MultiMargin`] | `w_y / C sum_{i != y} max(0, margin - x_y + x_i)^p` | `w_y / C h'(z_j)`, minus their sum at `y` | `p = 1`: `0`; `p = 2`: `2 w_y / C [z_j > 0]`, their sum at `y` |
//!
//! Second derivatives (the per-row diagonal): `nll_loss` is linear in its input (exactly 0);
//! `multi_margin` with `p = 1` is piecewise linear (0 wherever defined, 0 reported at the kinks
//! `z_j = 0`); with `p = 2` the diagonal jumps at `z_j = 0`, where the outside value is reported.
//!
//! "mean": `nll_loss` divides by `sum_n w_n class_weight[y_n]` over rows not ignored;
//! `multi_margin` by `sum_n w_n` (the number of rows unweighted), as PyTorch does.

pub use super::binary::{
    Bce, BceLogits, BceLogitsPosWeight, Hinge, KlDiv, SigmoidFocal, SoftMargin, SquaredHinge,
};
pub use super::drive::Target;
pub use super::rows::{evaluate_rows, RowLoss};
pub use super::softmax::CrossEntropy;

use super::rows::{check_class_weight, in_range, GroupRows};
use crate::error::{invalid, LossError};
use crate::reduce::LANES;
use crate::simd::Real;

/// `nll_loss` on log-probabilities with class indices.
#[derive(Debug, Clone, Copy)]
pub struct Nll<'a, T> {
    classes: usize,
    class_weight: Option<&'a [T]>,
    ignore_index: Option<i64>,
}

impl<'a, T: Real> Nll<'a, T> {
    pub fn new(
        classes: usize,
        class_weight: Option<&'a [T]>,
        ignore_index: Option<i64>,
    ) -> Result<Self, LossError> {
        check_class_weight(class_weight, classes)?;
        Ok(Nll {
            classes,
            class_weight,
            ignore_index,
        })
    }
}

impl<T: Real> RowLoss<T> for Nll<'_, T> {
    const CLASS_WEIGHTED_MEAN: bool = true;
    const NAME: &'static str = "nll_loss";

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
            mut grad,
            hess,
            ..
        } = rows;
        let Target::Index(y) = labels else {
            return false;
        };
        if let Some(g) = grad.as_deref_mut() {
            g.fill(T::ZERO);
        }
        // Linear in x: the second derivative is exactly 0.
        if let Some(h) = hess {
            h.fill(T::ZERO);
        }
        let mut bad = false;
        for (r, &label) in y.iter().enumerate() {
            let ignored = Some(label) == self.ignore_index;
            if ignored || !in_range(label, c_n) {
                bad |= !ignored;
                continue;
            }
            let yi = label as usize;
            let wy = self.class_weight.map_or(T::ONE, |w| w[yi]);
            if let Some(g) = grad.as_deref_mut() {
                g[r * c_n + yi] = -(k[r] * wy);
            }
            loss[r] = -(wy * x[r * c_n + yi]);
            live[r] = true;
        }
        bad
    }
}

/// `multi_margin_loss`: multi-class hinge with `p` in {1, 2}; the class weight multiplies each
/// term after the power (as PyTorch's kernel does).
#[derive(Debug, Clone, Copy)]
pub struct MultiMargin<'a, T> {
    classes: usize,
    class_weight: Option<&'a [T]>,
    squared: bool,
    margin: T,
    inv_c: T,
}

impl<'a, T: Real> MultiMargin<'a, T> {
    pub fn new(
        classes: usize,
        p: i64,
        margin: f64,
        class_weight: Option<&'a [T]>,
    ) -> Result<Self, LossError> {
        if p != 1 && p != 2 {
            return Err(invalid("p", format!("must be 1 or 2, got {p}")));
        }
        if !margin.is_finite() {
            return Err(invalid("margin", format!("must be finite, got {margin}")));
        }
        check_class_weight(class_weight, classes)?;
        Ok(MultiMargin {
            classes,
            class_weight,
            squared: p == 2,
            margin: T::from_f64(margin),
            inv_c: T::from_f64(1.0 / classes.max(1) as f64),
        })
    }
}

impl<T: Real> MultiMargin<'_, T> {
    /// The Hessian diagonal of one row with label `yi` and factor `kr = k w_y / C`:
    /// `p = 1`: 0; `p = 2`: `2 kr [z_i > 0]` off the label, their sum at the label.
    #[inline(always)]
    fn hess_row(&self, row: &[T], yi: usize, kr: T, h: &mut [T]) {
        if !self.squared {
            h.fill(T::ZERO);
            return;
        }
        let xy = row[yi];
        let two_kr = T::TWO * kr;
        let mut hy = T::ZERO;
        for (i, (&xi, hi)) in row.iter().zip(h.iter_mut()).enumerate() {
            let z = self.margin - xy + xi;
            let v = T::select(z > T::ZERO && i != yi, two_kr, T::ZERO);
            *hi = v;
            hy = hy + v;
        }
        h[yi] = hy;
    }
}

impl<T: Real> RowLoss<T> for MultiMargin<'_, T> {
    const CLASS_WEIGHTED_MEAN: bool = false;
    const NAME: &'static str = "multi_margin";

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
            mut grad,
            mut hess,
            ..
        } = rows;
        let Target::Index(y) = labels else {
            return false;
        };
        let mut bad = false;
        for (r, &label) in y.iter().enumerate() {
            let row = &x[r * c_n..(r + 1) * c_n];
            let mut g = grad.as_deref_mut().map(|g| &mut g[r * c_n..(r + 1) * c_n]);
            let h = hess.as_deref_mut().map(|h| &mut h[r * c_n..(r + 1) * c_n]);
            if !in_range(label, c_n) {
                bad = true;
                if let Some(g) = g {
                    g.fill(T::ZERO);
                }
                if let Some(h) = h {
                    h.fill(T::ZERO);
                }
                continue;
            }
            let yi = label as usize;
            let wy = self.class_weight.map_or(T::ONE, |w| w[yi]);
            let xy = row[yi];
            let mut lanes = [T::ZERO; LANES];
            let kr = k[r] * wy * self.inv_c;
            let mut gy = T::ZERO;
            for (i, &xi) in row.iter().enumerate() {
                let z = self.margin - xy + xi;
                let h = z.max_nan(T::ZERO);
                let (v, d) = if self.squared {
                    (h * h, T::TWO * h)
                } else {
                    (h, T::select(z > T::ZERO, T::ONE, T::ZERO))
                };
                let own = i == yi;
                lanes[i % LANES] = lanes[i % LANES] + T::select(own, T::ZERO, v);
                if let Some(g) = g.as_deref_mut() {
                    let gi = T::select(own, T::ZERO, kr * d);
                    g[i] = gi;
                    gy = gy + gi;
                }
            }
            if let Some(g) = g {
                g[yi] = -gy;
            }
            if let Some(h) = h {
                self.hess_row(row, yi, kr, h);
            }
            loss[r] = wy * (super::rows::lanes_sum(lanes) * self.inv_c);
            live[r] = true;
        }
        bad
    }
}

crate::row_loss!(Nll<'_, T>, MultiMargin<'_, T>);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Reduction;

    fn ce_ref(x: &[f64], y: usize) -> f64 {
        let m = x.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let s: f64 = x.iter().map(|v| (v - m).exp()).sum();
        m + s.ln() - x[y]
    }

    fn data(rows: usize, c: usize) -> (Vec<f64>, Vec<i64>) {
        let x = (0..rows * c)
            .map(|i| ((i * 7919) % 1009) as f64 * 0.01 - 5.0)
            .collect();
        let y = (0..rows).map(|i| ((i * 31) % c) as i64).collect();
        (x, y)
    }

    #[test]
    fn cross_entropy_matches_reference_both_paths() {
        for c in [3usize, 16, 17, 40] {
            let rows = 1000;
            let (x, y) = data(rows, c);
            let ce = CrossEntropy::<f64>::new(c, None, None, 0.0).unwrap();
            let mut g = vec![0.0; x.len()];
            let v = evaluate_rows(
                &ce,
                &x,
                rows,
                Target::Index(&y),
                None,
                Reduction::Mean,
                None,
                Some(&mut g),
                false,
            )
            .unwrap();
            let want: f64 = (0..rows)
                .map(|n| ce_ref(&x[n * c..(n + 1) * c], y[n] as usize))
                .sum::<f64>()
                / rows as f64;
            assert!((v - want).abs() < 1e-12, "C={c}: {v} vs {want}");
            // Gradient rows sum to 0.
            for n in [0, rows - 1] {
                let s: f64 = g[n * c..(n + 1) * c].iter().sum();
                assert!(s.abs() < 1e-15, "C={c}");
            }
        }
    }

    #[test]
    fn out_of_range_label_is_reported_before_writing() {
        let (x, mut y) = data(40, 5);
        y[17] = 5;
        let ce = CrossEntropy::<f64>::new(5, None, Some(-100), 0.0).unwrap();
        let mut g = vec![7.0; x.len()];
        let err = evaluate_rows(
            &ce,
            &x,
            40,
            Target::Index(&y),
            None,
            Reduction::Sum,
            None,
            Some(&mut g),
            true,
        )
        .unwrap_err();
        assert!(
            matches!(err, LossError::InvalidTarget { index: 17, .. }),
            "{err}"
        );
        assert!(g.iter().all(|&v| v == 7.0));
        let err = evaluate_rows(
            &ce,
            &x,
            40,
            Target::Index(&y),
            None,
            Reduction::Sum,
            None,
            None,
            false,
        )
        .unwrap_err();
        assert!(matches!(err, LossError::InvalidTarget { index: 17, .. }));
    }

    #[test]
    fn nll_and_multi_margin_small_cases() {
        let x = [0.1f64, 0.7, 0.2, 0.3, 0.4, 0.3];
        let y = [1i64, 0];
        let w = [1.0, 2.0, 3.0];
        let nll = Nll::<f64>::new(3, Some(&w), None).unwrap();
        let v = evaluate_rows(
            &nll,
            &x,
            2,
            Target::Index(&y),
            None,
            Reduction::Mean,
            None,
            None,
            false,
        )
        .unwrap();
        assert!((v - (-(2.0 * 0.7) - 0.3) / 3.0).abs() < 1e-15);
        let mm = MultiMargin::<f64>::new(3, 1, 1.0, None).unwrap();
        let v = evaluate_rows(
            &mm,
            &x,
            2,
            Target::Index(&y),
            None,
            Reduction::Sum,
            None,
            None,
            false,
        )
        .unwrap();
        let want = ((1.0f64 - 0.7 + 0.1) + (1.0 - 0.7 + 0.2)) / 3.0
            + ((1.0f64 - 0.3 + 0.4) + (1.0 - 0.3 + 0.3)) / 3.0;
        assert!((v - want).abs() < 1e-15);
    }

    #[test]
    fn every_isa_and_thread_count_gives_the_same_bits() {
        for c in [10usize, 100] {
            let rows = 5000;
            let (x, y) = data(rows, c);
            let x: Vec<f32> = x.iter().map(|&v| v as f32).collect();
            let w: Vec<f32> = (0..c).map(|i| 0.5 + i as f32 * 0.1).collect();
            let ce = CrossEntropy::<f32>::new(c, Some(&w), Some(3), 0.1).unwrap();
            let run = || {
                let mut g = vec![0f32; x.len()];
                let v = evaluate_rows(
                    &ce,
                    &x,
                    rows,
                    Target::Index(&y),
                    None,
                    Reduction::Mean,
                    None,
                    Some(&mut g),
                    false,
                )
                .unwrap();
                (v, g)
            };
            crate::simd::set_active(crate::Isa::Scalar).unwrap();
            crate::par::set_num_threads(1).unwrap();
            let reference = run();
            crate::par::set_num_threads(3).unwrap();
            for isa in crate::simd::available() {
                crate::simd::set_active(isa).unwrap();
                let (v, g) = run();
                assert_eq!(v.to_bits(), reference.0.to_bits(), "{isa:?}");
                assert!(
                    g.iter()
                        .zip(&reference.1)
                        .all(|(a, b)| a.to_bits() == b.to_bits()),
                    "{isa:?}"
                );
            }
            crate::simd::set_active(crate::simd::detect()).unwrap();
        }
    }
}

#[cfg(test)]
mod limit_tests {
    use super::*;
    use crate::Reduction;

    fn ce_at(x: &[f64], c: usize, y: i64, eps: f64) -> (f64, Vec<f64>) {
        let ce = CrossEntropy::<f64>::new(c, None, None, eps).unwrap();
        let mut g = vec![0.0; x.len()];
        let v = evaluate_rows(
            &ce,
            x,
            x.len() / c,
            Target::Index(&[y]),
            None,
            Reduction::Sum,
            None,
            Some(&mut g),
            false,
        )
        .unwrap();
        (v, g)
    }

    #[test]
    fn infinite_logits_give_the_limits() {
        let inf = f64::INFINITY;
        for c in [3usize, 20] {
            // +inf at the target, others finite or -inf: loss 0, gradient 0.
            let mut x = vec![0.5; c];
            x[1] = inf;
            x[2] = -inf;
            let (v, g) = ce_at(&x, c, 1, 0.0);
            assert_eq!(v, 0.0, "C={c}");
            assert!(g.iter().all(|&d| d == 0.0), "C={c}: {g:?}");
            // +inf at another class: loss +inf.
            let (v, g) = ce_at(&x, c, 0, 0.0);
            assert_eq!(v, inf);
            assert!(g.iter().all(|d| d.is_finite()));
            // Two +inf logits, one the target: loss ln 2, probability 1/2 each.
            x[0] = inf;
            let (v, g) = ce_at(&x, c, 1, 0.0);
            assert!((v - 2f64.ln()).abs() < 1e-15);
            assert!((g[0] - 0.5).abs() < 1e-15 && (g[1] + 0.5).abs() < 1e-15);
            // Label smoothing puts mass on finite classes: +inf.
            let (v, _) = ce_at(&x, c, 1, 0.1);
            assert_eq!(v, inf);
            // NaN propagates.
            x[3 % c] = f64::NAN;
            assert!(ce_at(&x, c, 1, 0.0).0.is_nan());
        }
    }
}
