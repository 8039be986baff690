//! The l1/l2 weight penalty of `losscore.fit`, and its gradient added in place.
//!
//! `penalty = l1 * sum|w| + l2 / 2 * sum w^2`, gradient `l1 * sign(w) + l2 * w` (sign(0) = 0, the
//! subgradient PyTorch's `sign` gives). One pass over `w` (and `g`) accumulates `sum|w|` and
//! `sum w^2` in float64 lanes per fixed block of [`BLOCK`] elements; block partials are combined
//! exactly, so the value is bitwise independent of the thread count.

use crate::error::{invalid, LossError};
use crate::par;
use crate::reduce::{self, ExactSum, BLOCK, LANES};
use crate::simd::{self, Kernel, Real};

use super::{piece_bounds, GRAIN_LIGHT};

struct Piece<'a, T> {
    w: &'a [T],
    g: Option<&'a mut [T]>,
    l1: T,
    l2: T,
    /// Per block: (sum |w|, sum w^2).
    partials: &'a mut [(f64, f64)],
}

impl<T: Real> Kernel for Piece<'_, T> {
    type Output = ();

    #[inline(always)]
    fn run(self) {
        let Piece {
            w,
            g,
            l1,
            l2,
            partials,
        } = self;
        match g {
            Some(g) => {
                for ((wb, gb), p) in w.chunks(BLOCK).zip(g.chunks_mut(BLOCK)).zip(partials) {
                    *p = block::<T, true>(wb, gb, l1, l2);
                }
            }
            None => {
                for (wb, p) in w.chunks(BLOCK).zip(partials) {
                    *p = block::<T, false>(wb, &mut [], l1, l2);
                }
            }
        }
    }
}

#[inline(always)]
fn block<T: Real, const G: bool>(w: &[T], g: &mut [T], l1: T, l2: T) -> (f64, f64) {
    let mut abs = [0.0f64; LANES];
    let mut sq = [0.0f64; LANES];
    let full = w.len() - w.len() % LANES;
    for (k, wc) in w[..full].chunks_exact(LANES).enumerate() {
        for j in 0..LANES {
            let x = wc[j].to_f64();
            abs[j] += x.abs();
            sq[j] += x * x;
        }
        if G {
            let gc = &mut g[k * LANES..(k + 1) * LANES];
            for j in 0..LANES {
                gc[j] = gc[j] + (l2 * wc[j] + l1 * wc[j].signum0());
            }
        }
    }
    for k in full..w.len() {
        let x = w[k].to_f64();
        abs[k - full] += x.abs();
        sq[k - full] += x * x;
        if G {
            g[k] = g[k] + (l2 * w[k] + l1 * w[k].signum0());
        }
    }
    (reduce::sum_lanes(&abs), reduce::sum_lanes(&sq))
}

/// Returns `l1 * sum|w| + l2 / 2 * sum w^2` and, when `grad` is given, adds
/// `l2 * w + l1 * sign(w)` to it in place. `l1`, `l2` must be finite and non-negative.
pub fn penalty<T: Real>(
    w: &[T],
    grad: Option<&mut [T]>,
    l1: f64,
    l2: f64,
) -> Result<f64, LossError> {
    for (name, v) in [("l1", l1), ("l2", l2)] {
        if !(v.is_finite() && v >= 0.0) {
            return Err(invalid(
                name,
                format!("must be a finite non-negative number, got {v}"),
            ));
        }
    }
    if let Some(g) = grad.as_deref() {
        if g.len() != w.len() {
            return Err(LossError::ShapeMismatch {
                left: "w",
                left_shape: vec![w.len()],
                right: "grad",
                right_shape: vec![g.len()],
            });
        }
    }
    let mut partials = vec![(0.0f64, 0.0f64); reduce::n_blocks(w.len())];
    let bounds = piece_bounds(w.len(), GRAIN_LIGHT, BLOCK);
    let isa = simd::active();
    let (l1t, l2t) = (T::from_f64(l1), T::from_f64(l2));
    let mut tasks = Vec::with_capacity(bounds.len());
    let mut g_rest = grad;
    let mut p_rest: &mut [(f64, f64)] = &mut partials;
    for b in bounds.windows(2) {
        let len = b[1] - b[0];
        let g_head = match g_rest.take() {
            Some(g) => {
                let (head, tail) = g.split_at_mut(len);
                g_rest = Some(tail);
                Some(head)
            }
            None => None,
        };
        let (p_head, p_tail) = std::mem::take(&mut p_rest).split_at_mut(len.div_ceil(BLOCK));
        p_rest = p_tail;
        tasks.push(Piece {
            w: &w[b[0]..b[1]],
            g: g_head,
            l1: l1t,
            l2: l2t,
            partials: p_head,
        });
    }
    par::for_each(tasks, |task| simd::dispatch(isa, task));
    let (mut abs, mut sq) = (ExactSum::new(), ExactSum::new());
    for &(a, s) in &partials {
        abs.add(a);
        sq.add(s);
    }
    // Skip a zero coefficient so that inf * 0 never turns an unused term into NaN.
    let mut total = 0.0;
    if l1 != 0.0 {
        total += l1 * abs.value();
    }
    if l2 != 0.0 {
        total += 0.5 * l2 * sq.value();
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(n: usize) -> Vec<f64> {
        (0..n)
            .map(|i| ((i * 7919) % 1013) as f64 * 0.01 - 5.0)
            .collect()
    }

    #[test]
    fn value_and_gradient_match_the_formula() {
        let w = data(20_000);
        let mut g = vec![0.25; w.len()];
        let (l1, l2) = (0.3, 0.07);
        let v = penalty(&w, Some(&mut g), l1, l2).unwrap();
        let abs: Vec<f64> = w.iter().map(|x| x.abs()).collect();
        let sq: Vec<f64> = w.iter().map(|x| x * x).collect();
        let want = l1 * reduce::exact_sum(&abs) + 0.5 * l2 * reduce::exact_sum(&sq);
        assert!((v - want).abs() <= 1e-12 * want, "{v} vs {want}");
        for (x, gv) in w.iter().zip(&g) {
            let s = if *x > 0.0 {
                1.0
            } else if *x < 0.0 {
                -1.0
            } else {
                0.0
            };
            assert!((gv - (0.25 + l2 * x + l1 * s)).abs() < 1e-15);
        }
    }

    #[test]
    fn value_only_leaves_nothing_written_and_f32_is_accurate() {
        let w: Vec<f32> = data(50_000).iter().map(|&x| x as f32).collect();
        let v = penalty(&w, None, 0.0, 1.0).unwrap();
        let sq: Vec<f64> = w.iter().map(|&x| (x as f64) * (x as f64)).collect();
        let want = 0.5 * reduce::exact_sum(&sq);
        assert!((v - want).abs() <= 1e-12 * want);
    }

    #[test]
    fn thread_count_does_not_change_the_bits() {
        let w = data(1_000_003);
        let v1 = penalty(&w, None, 0.1, 0.2).unwrap();
        par::set_num_threads(1).unwrap();
        let v2 = penalty(&w, None, 0.1, 0.2).unwrap();
        par::set_num_threads(4).unwrap();
        let v3 = penalty(&w, None, 0.1, 0.2).unwrap();
        assert_eq!(v1.to_bits(), v2.to_bits());
        assert_eq!(v1.to_bits(), v3.to_bits());
    }

    #[test]
    fn bad_arguments_are_errors() {
        let mut g = [0.0; 2];
        assert!(penalty(&[1.0; 3], Some(&mut g), 0.1, 0.1).is_err());
        assert!(penalty(&[1.0; 3], None, -0.1, 0.0).is_err());
        assert!(penalty(&[1.0; 3], None, 0.0, f64::NAN).is_err());
        let mut g = [0.0; 3];
        assert!(penalty(&[1.0; 3], Some(&mut g), -1.0, 0.0).is_err());
        assert_eq!(g, [0.0; 3]);
    }
}
