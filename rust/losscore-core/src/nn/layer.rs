//! Fused epilogues of a dense layer around its BLAS matrix product, over row-major
//! `(rows, cols)` matrices:
//!
//! * [`bias_activation_forward`]: `z += bias` (broadcast over rows), then `a = f(z)`, one pass.
//! * [`bias_activation_backward`]: `grad *= f'(z)`, then `bias_grad = sum of grad's rows`, one
//!   pass. Without an activation it is [`column_sum`] alone (the output layer's bias gradient).
//!
//! Column sums are accumulated in float64 over fixed blocks of [`ROW_BLOCK`] rows, and the block
//! partials are added in block order: bitwise the same for any thread count.

use crate::error::{invalid, LossError};
use crate::par;
use crate::simd::{self, Kernel, Real};

use super::activation::{backward_loop, derivative, forward_loop, forward_one, grain, Activation};

/// Rows per column-sum block (fixed, so partials never depend on the thread count).
pub const ROW_BLOCK: usize = 256;

fn check_matrix<T>(name: &'static str, m: &[T], rows: usize, cols: usize) -> Result<(), LossError> {
    if m.len() != rows * cols {
        return Err(LossError::ShapeMismatch {
            left: "z",
            left_shape: vec![rows, cols],
            right: name,
            right_shape: vec![m.len()],
        });
    }
    Ok(())
}

fn rows_of<T>(z: &[T], cols: usize, bias_len: usize) -> Result<usize, LossError> {
    if cols == 0 || z.len() % cols != 0 || bias_len != cols {
        return Err(invalid(
            "bias",
            format!(
                "needs one entry per column: {} elements in z, {cols} columns, bias of length \
                 {bias_len}",
                z.len()
            ),
        ));
    }
    Ok(z.len() / cols)
}

/// Row-aligned piece boundaries (in rows) for `rows x cols` elements of work.
fn row_pieces(rows: usize, cols: usize, grain: usize, align: usize) -> Vec<usize> {
    let units = rows.div_ceil(align).max(1);
    let pieces = par::pieces(rows * cols, grain).min(units);
    (0..=pieces)
        .map(|k| (units * k / pieces * align).min(rows))
        .collect()
}

struct Forward<'a, T> {
    act: Option<Activation>,
    z: &'a mut [T],
    a: &'a mut [T],
    bias: &'a [T],
    cols: usize,
}

impl<T: Real> Kernel for Forward<'_, T> {
    type Output = ();

    #[inline(always)]
    fn run(self) {
        let Forward {
            act,
            z,
            a,
            bias,
            cols,
        } = self;
        match act {
            None => forward_rows::<T, false>(z, a, bias, cols, |v| v),
            Some(Activation::Relu) => {
                forward_rows::<T, true>(z, a, bias, cols, |v| forward_one(Activation::Relu, v))
            }
            Some(Activation::Tanh) => {
                forward_rows::<T, true>(z, a, bias, cols, |v| forward_one(Activation::Tanh, v))
            }
            Some(Activation::Sigmoid) => {
                forward_rows::<T, true>(z, a, bias, cols, |v| forward_one(Activation::Sigmoid, v))
            }
            Some(Activation::Gelu) => {
                forward_rows::<T, true>(z, a, bias, cols, |v| forward_one(Activation::Gelu, v))
            }
        }
    }
}

#[inline(always)]
fn forward_rows<T: Real, const ACT: bool>(
    z: &mut [T],
    a: &mut [T],
    bias: &[T],
    cols: usize,
    f: impl Fn(T) -> T,
) {
    // Two simple loops per row (the row stays in L1): each vectorizes on its own, where one
    // fused loop body with the transcendental activation did not.
    if ACT {
        for (zr, ar) in z.chunks_exact_mut(cols).zip(a.chunks_exact_mut(cols)) {
            for (zv, &b) in zr.iter_mut().zip(bias) {
                *zv = *zv + b;
            }
            forward_loop(zr, ar, &f);
        }
    } else {
        for zr in z.chunks_exact_mut(cols) {
            for (zv, &b) in zr.iter_mut().zip(bias) {
                *zv = *zv + b;
            }
        }
    }
}

/// `z += bias` row by row; with an activation also `a = f(z)`.
///
/// `z` is row-major with `bias.len()` columns; `a` (required with an activation) has `z`'s size.
pub fn bias_activation_forward<T: Real>(
    act: Option<Activation>,
    z: &mut [T],
    bias: &[T],
    a: Option<&mut [T]>,
) -> Result<(), LossError> {
    let cols = bias.len();
    let rows = rows_of(z, cols, bias.len())?;
    let mut a = match (act, a) {
        (Some(_), Some(a)) => {
            check_matrix("a", a, rows, cols)?;
            a
        }
        (Some(_), None) => return Err(invalid("a", "required with an activation")),
        (None, _) => &mut [][..],
    };
    let g = act.map_or(super::GRAIN_LIGHT, grain);
    let bounds = row_pieces(rows, cols, g, 1);
    let isa = simd::active();
    let mut tasks = Vec::with_capacity(bounds.len());
    let mut z_rest = z;
    for w in bounds.windows(2) {
        let len = (w[1] - w[0]) * cols;
        let (zh, zt) = z_rest.split_at_mut(len);
        z_rest = zt;
        let ah = if act.is_some() {
            let (ah, at) = std::mem::take(&mut a).split_at_mut(len);
            a = at;
            ah
        } else {
            &mut [][..]
        };
        tasks.push((zh, ah));
    }
    par::for_each(tasks, |(z, a)| {
        simd::dispatch(
            isa,
            Forward {
                act,
                z,
                a,
                bias,
                cols,
            },
        )
    });
    Ok(())
}

struct Backward<'a, T> {
    act: Activation,
    z: &'a [T],
    a: &'a [T],
    grad: &'a mut [T],
    cols: usize,
    /// One `cols`-long partial per block of `ROW_BLOCK` rows.
    partials: &'a mut [f64],
}

impl<T: Real> Kernel for Backward<'_, T> {
    type Output = ();

    #[inline(always)]
    fn run(self) {
        let k = self;
        match k.act {
            Activation::Relu => backward_blocks(k, |z, a| derivative(Activation::Relu, z, a)),
            Activation::Tanh => backward_blocks(k, |z, a| derivative(Activation::Tanh, z, a)),
            Activation::Sigmoid => backward_blocks(k, |z, a| derivative(Activation::Sigmoid, z, a)),
            Activation::Gelu => backward_blocks(k, |z, a| derivative(Activation::Gelu, z, a)),
        }
    }
}

#[inline(always)]
fn backward_blocks<T: Real>(k: Backward<'_, T>, d: impl Fn(T, T) -> T) {
    let Backward {
        z,
        a,
        grad,
        cols,
        partials,
        ..
    } = k;
    let block_len = ROW_BLOCK * cols;
    let blocks = grad
        .chunks_mut(block_len)
        .zip(z.chunks(block_len))
        .zip(a.chunks(block_len))
        .zip(partials.chunks_exact_mut(cols));
    for (((gb, zb), ab), acc) in blocks {
        acc.fill(0.0);
        let rows = gb
            .chunks_exact_mut(cols)
            .zip(zb.chunks_exact(cols))
            .zip(ab.chunks_exact(cols));
        for ((gr, zr), ar) in rows {
            // Two loops, as in `forward_rows`: the derivative pass, then the f64 accumulation.
            backward_loop(zr, ar, gr, &d);
            for (c, g) in acc.iter_mut().zip(gr.iter()) {
                *c += g.to_f64();
            }
        }
    }
}

/// `grad *= f'(z)` (with an activation; `a = f(z)`), then `bias_grad[j] = sum_i grad[i, j]`.
///
/// Without an activation `grad` is only read (and `z`, `a` are ignored): the column sum of the
/// output layer's gradient.
pub fn bias_activation_backward<T: Real>(
    act: Option<Activation>,
    z: &[T],
    a: &[T],
    grad: &mut [T],
    bias_grad: &mut [T],
) -> Result<(), LossError> {
    let Some(act) = act else {
        return column_sum(grad, bias_grad);
    };
    let cols = bias_grad.len();
    let rows = rows_of(grad, cols, bias_grad.len())?;
    check_matrix("a", a, rows, cols)?;
    check_matrix("z", z, rows, cols)?;
    let blocks = rows.div_ceil(ROW_BLOCK);
    let mut partials = vec![0.0f64; blocks * cols];
    let bounds = row_pieces(rows, cols, grain(act), ROW_BLOCK);
    let isa = simd::active();
    let mut tasks = Vec::with_capacity(bounds.len());
    let mut g_rest = grad;
    let mut p_rest: &mut [f64] = &mut partials;
    for w in bounds.windows(2) {
        let (lo, hi) = (w[0] * cols, w[1] * cols);
        let (gh, gt) = g_rest.split_at_mut(hi - lo);
        g_rest = gt;
        let nb = (w[1] - w[0]).div_ceil(ROW_BLOCK);
        let (ph, pt) = std::mem::take(&mut p_rest).split_at_mut(nb * cols);
        p_rest = pt;
        tasks.push(Backward {
            act,
            z: &z[lo..hi],
            a: &a[lo..hi],
            grad: gh,
            cols,
            partials: ph,
        });
    }
    par::for_each(tasks, |task| simd::dispatch(isa, task));
    combine(&partials, bias_grad);
    Ok(())
}

/// Adds the block partials in block order and rounds once to `T`.
fn combine<T: Real>(partials: &[f64], out: &mut [T]) {
    let mut sums = vec![0.0f64; out.len()];
    for block in partials.chunks_exact(out.len()) {
        for (s, p) in sums.iter_mut().zip(block) {
            *s += p;
        }
    }
    for (o, s) in out.iter_mut().zip(&sums) {
        *o = T::from_f64(*s);
    }
}

struct ColumnSum<'a, T> {
    grad: &'a [T],
    cols: usize,
    partials: &'a mut [f64],
}

impl<T: Real> Kernel for ColumnSum<'_, T> {
    type Output = ();

    #[inline(always)]
    fn run(self) {
        let ColumnSum {
            grad,
            cols,
            partials,
        } = self;
        for (gb, acc) in grad
            .chunks(ROW_BLOCK * cols)
            .zip(partials.chunks_exact_mut(cols))
        {
            acc.fill(0.0);
            for gr in gb.chunks_exact(cols) {
                for (c, g) in acc.iter_mut().zip(gr) {
                    *c += g.to_f64();
                }
            }
        }
    }
}

/// `out[j] = sum_i grad[i, j]` for row-major `grad` with `out.len()` columns, in float64 over
/// fixed row blocks (thread-count independent), rounded once to `T`.
pub fn column_sum<T: Real>(grad: &[T], out: &mut [T]) -> Result<(), LossError> {
    let cols = out.len();
    let rows = rows_of(grad, cols, cols)?;
    let mut partials = vec![0.0f64; rows.div_ceil(ROW_BLOCK) * cols];
    let bounds = row_pieces(rows, cols, super::GRAIN_LIGHT, ROW_BLOCK);
    let isa = simd::active();
    let mut tasks = Vec::with_capacity(bounds.len());
    let mut p_rest: &mut [f64] = &mut partials;
    for w in bounds.windows(2) {
        let nb = (w[1] - w[0]).div_ceil(ROW_BLOCK);
        let (ph, pt) = std::mem::take(&mut p_rest).split_at_mut(nb * cols);
        p_rest = pt;
        tasks.push(ColumnSum {
            grad: &grad[w[0] * cols..w[1] * cols],
            cols,
            partials: ph,
        });
    }
    par::for_each(tasks, |task| simd::dispatch(isa, task));
    combine(&partials, out);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matrix(rows: usize, cols: usize, seed: usize) -> Vec<f64> {
        (0..rows * cols)
            .map(|i| (((i + seed) * 7919) % 1013) as f64 * 0.004 - 2.0)
            .collect()
    }

    #[test]
    fn forward_adds_bias_and_activates() {
        for cols in [1, 5, 16, 37] {
            let rows = 9;
            let z0 = matrix(rows, cols, 1);
            let bias: Vec<f64> = (0..cols).map(|j| j as f64 * 0.1 - 0.5).collect();
            for act in [None, Some(Activation::Tanh), Some(Activation::Relu)] {
                let mut z = z0.clone();
                let mut a = vec![0.0; z.len()];
                bias_activation_forward(act, &mut z, &bias, Some(&mut a)).unwrap();
                for i in 0..rows {
                    for j in 0..cols {
                        let want = z0[i * cols + j] + bias[j];
                        assert_eq!(z[i * cols + j], want);
                        if let Some(act) = act {
                            assert_eq!(a[i * cols + j], forward_one(act, want));
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn backward_scales_and_sums_columns() {
        for (rows, cols) in [(1, 3), (7, 16), (600, 19), (1000, 128)] {
            let z = matrix(rows, cols, 2);
            let mut a = vec![0.0; z.len()];
            crate::nn::activation_forward(Activation::Sigmoid, &z, &mut a).unwrap();
            let g0 = matrix(rows, cols, 3);
            for act in [None, Some(Activation::Sigmoid)] {
                let mut g = g0.clone();
                let mut bg = vec![0.0; cols];
                bias_activation_backward(act, &z, &a, &mut g, &mut bg).unwrap();
                for (j, &got) in bg.iter().enumerate() {
                    let mut s = 0.0;
                    for i in 0..rows {
                        let k = i * cols + j;
                        let want = match act {
                            Some(act) => g0[k] * derivative(act, z[k], a[k]),
                            None => g0[k],
                        };
                        assert_eq!(g[k], want);
                        s += want;
                    }
                    assert!((got - s).abs() <= 1e-12 * (1.0 + s.abs()), "{got} vs {s}");
                }
            }
        }
    }

    #[test]
    fn column_sums_do_not_depend_on_threads() {
        let (rows, cols) = (5000, 64);
        let g0 = matrix(rows, cols, 4);
        let run = || {
            let mut g = g0.clone();
            let mut bg = vec![0.0; cols];
            bias_activation_backward(None, &[], &[], &mut g, &mut bg).unwrap();
            bg
        };
        let base = run();
        for t in [1, 3, 4] {
            par::set_num_threads(t).unwrap();
            assert_eq!(run(), base);
        }
    }

    /// `cargo test --release -p losscore-core nn::layer -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn ns_per_element() {
        let (rows, cols) = (64, 128);
        let n = rows * cols;
        let z0: Vec<f32> = (0..n)
            .map(|i| ((i * 7919) % 1013) as f32 * 0.004 - 2.0)
            .collect();
        let bias = vec![0.0f32; cols];
        let mut a = vec![0.0f32; n];
        let mut z = z0.clone();
        let mut g = vec![1.0f32; n];
        let mut bg = vec![0.0f32; cols];
        let time = |f: &mut dyn FnMut()| {
            let mut best = f64::INFINITY;
            for _ in 0..10 {
                let t = std::time::Instant::now();
                for _ in 0..100 {
                    f();
                }
                best = best.min(t.elapsed().as_nanos() as f64 / (100 * n) as f64);
            }
            best
        };
        for act in [Activation::Relu, Activation::Tanh, Activation::Gelu] {
            let plain = time(&mut || crate::nn::activation_forward(act, &z0, &mut a).unwrap());
            let fwd = time(&mut || {
                z.copy_from_slice(&z0);
                bias_activation_forward(Some(act), &mut z, &bias, Some(&mut a)).unwrap();
            });
            let bwd = time(&mut || {
                g.fill(1.0);
                bias_activation_backward(Some(act), &z0, &a, &mut g, &mut bg).unwrap();
            });
            println!(
                "{act:?} plain {plain:.3} fused forward {fwd:.3} backward {bwd:.3} ns/element"
            );
        }
    }

    #[test]
    fn shape_errors() {
        let mut z = vec![0.0; 6];
        assert!(bias_activation_forward(None, &mut z, &[0.0; 4], None).is_err());
        assert!(bias_activation_forward(Some(Activation::Relu), &mut z, &[0.0; 3], None).is_err());
        let mut a = vec![0.0; 5];
        assert!(
            bias_activation_forward(Some(Activation::Relu), &mut z, &[0.0; 3], Some(&mut a))
                .is_err()
        );
        let mut bg = [0.0; 4];
        assert!(bias_activation_backward(None, &[], &[], &mut z, &mut bg).is_err());
        let mut bg = [0.0; 3];
        assert!(bias_activation_backward(
            Some(Activation::Tanh),
            &[0.0; 6],
            &[0.0; 5],
            &mut z,
            &mut bg
        )
        .is_err());
        assert!(bias_activation_forward::<f64>(None, &mut [], &[], None).is_err());
    }
}
