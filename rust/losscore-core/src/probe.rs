//! Memory-bandwidth probes for `losscore bench`.
//!
//! Each probe has the access pattern of a class of kernels and next to no arithmetic, so it runs
//! at the speed of memory: [`read2`] reads two arrays (a two-input loss value), [`read2_write1`]
//! reads two and writes a third (a loss value with its gradient), [`update4`] reads
//! four arrays and writes three of them back (an optimizer step: parameter, gradient and two
//! state buffers). Both run on the crate's pool like the kernels they bound, so a kernel's
//! traffic rate divided by the probe's rate is a share of what the machine can stream.

use crate::error::{invalid, LossError};
use crate::par;
use crate::simd::{self, Kernel};

/// Independent accumulators: the adds never wait on each other, so the loop is load-bound.
const LANES: usize = 32;
/// Elements per parallel piece (256 KB per f32 array): far above the pool's dispatch cost.
const GRAIN: usize = 64 * 1024;

struct Read2<'a> {
    a: &'a [f32],
    b: &'a [f32],
}

impl Kernel for Read2<'_> {
    type Output = f32;

    #[inline(always)]
    fn run(self) -> f32 {
        let mut acc = [0.0f32; LANES];
        let (ca, cb) = (self.a.chunks_exact(LANES), self.b.chunks_exact(LANES));
        let tail: f32 = ca
            .remainder()
            .iter()
            .zip(cb.remainder())
            .map(|(x, y)| x + y)
            .sum();
        for (x, y) in ca.zip(cb) {
            // Re-sliced to the constant length: no bounds checks, one vector add per register.
            let (x, y) = (&x[..LANES], &y[..LANES]);
            for j in 0..LANES {
                acc[j] += x[j] + y[j];
            }
        }
        acc.iter().sum::<f32>() + tail
    }
}

struct Read2Write1<'a> {
    a: &'a [f32],
    b: &'a [f32],
    c: &'a mut [f32],
}

impl Kernel for Read2Write1<'_> {
    type Output = ();

    #[inline(always)]
    fn run(self) {
        let n = self.c.len();
        let (a, b, c) = (&self.a[..n], &self.b[..n], self.c);
        for i in 0..n {
            c[i] = a[i] - b[i];
        }
    }
}

struct Update4<'a> {
    p: &'a mut [f32],
    g: &'a [f32],
    m: &'a mut [f32],
    v: &'a mut [f32],
}

impl Kernel for Update4<'_> {
    type Output = ();

    #[inline(always)]
    fn run(self) {
        let n = self.p.len();
        // Equal lengths, stated once, so the loop has no bounds checks and vectorizes.
        let (p, g, m, v) = (self.p, &self.g[..n], &mut self.m[..n], &mut self.v[..n]);
        for i in 0..n {
            m[i] = 0.5 * m[i] + g[i];
            v[i] = 0.5 * v[i] + g[i];
            p[i] -= 1e-3 * (m[i] - v[i]);
        }
    }
}

fn same_len(name: &'static str, len: usize, expected: usize) -> Result<(), LossError> {
    if len == expected {
        Ok(())
    } else {
        Err(invalid(
            name,
            format!("length {len} differs from the first array's {expected}"),
        ))
    }
}

/// Reads `a` and `b` once (the sum of all their elements, in f32: only the traffic matters).
pub fn read2(a: &[f32], b: &[f32]) -> Result<f32, LossError> {
    same_len("b", b.len(), a.len())?;
    let isa = simd::active();
    let size = a.len().div_ceil(par::pieces(a.len(), GRAIN).max(1)).max(1);
    let mut partials = vec![0.0f32; a.len().div_ceil(size)];
    let tasks: Vec<_> = a
        .chunks(size)
        .zip(b.chunks(size))
        .zip(partials.iter_mut())
        .collect();
    par::for_each(tasks, |((a, b), out)| {
        *out = simd::dispatch(isa, Read2 { a, b })
    });
    Ok(partials.iter().sum())
}

/// Reads `a` and `b` once and writes `c = a - b` (a loss value and gradient's traffic).
pub fn read2_write1(a: &[f32], b: &[f32], c: &mut [f32]) -> Result<(), LossError> {
    same_len("b", b.len(), a.len())?;
    same_len("c", c.len(), a.len())?;
    let isa = simd::active();
    let size = a.len().div_ceil(par::pieces(a.len(), GRAIN).max(1)).max(1);
    let tasks: Vec<_> = a
        .chunks(size)
        .zip(b.chunks(size))
        .zip(c.chunks_mut(size))
        .collect();
    par::for_each(tasks, |((a, b), c)| {
        simd::dispatch(isa, Read2Write1 { a, b, c })
    });
    Ok(())
}

/// Reads `p`, `g`, `m`, `v` once and writes `p`, `m`, `v` back (an optimizer step's traffic).
pub fn update4(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]) -> Result<(), LossError> {
    let n = p.len();
    same_len("g", g.len(), n)?;
    same_len("m", m.len(), n)?;
    same_len("v", v.len(), n)?;
    let isa = simd::active();
    let size = n.div_ceil(par::pieces(n, GRAIN).max(1)).max(1);
    let tasks: Vec<_> = p
        .chunks_mut(size)
        .zip(g.chunks(size))
        .zip(m.chunks_mut(size))
        .zip(v.chunks_mut(size))
        .collect();
    par::for_each(tasks, |(((p, g), m), v)| {
        simd::dispatch(isa, Update4 { p, g, m, v })
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read2_sums_both_arrays() {
        let a: Vec<f32> = (0..1000).map(|i| (i % 7) as f32).collect();
        let b: Vec<f32> = (0..1000).map(|i| (i % 3) as f32).collect();
        let expected: f32 = a.iter().chain(&b).sum();
        assert_eq!(read2(&a, &b).unwrap(), expected);
        assert!(read2(&a, &b[..10]).is_err());
    }

    #[test]
    fn read2_write1_writes_the_difference() {
        let n = 300_001;
        let a: Vec<f32> = (0..n).map(|i| (i % 7) as f32).collect();
        let b: Vec<f32> = (0..n).map(|i| (i % 3) as f32).collect();
        let mut c = vec![0.0f32; n];
        read2_write1(&a, &b, &mut c).unwrap();
        assert!((0..n).all(|i| c[i] == a[i] - b[i]));
        assert!(read2_write1(&a, &b, &mut c[..5]).is_err());
    }

    #[test]
    fn update4_applies_the_rule_to_every_element() {
        let n = 300_000;
        let (mut p, g) = (vec![1.0f32; n], vec![2.0f32; n]);
        let (mut m, mut v) = (vec![4.0f32; n], vec![0.0f32; n]);
        update4(&mut p, &g, &mut m, &mut v).unwrap();
        // m = 0.5*4 + 2 = 4, v = 0 + 2 = 2, p = 1 - 1e-3 * 2
        assert!(m.iter().all(|&x| x == 4.0) && v.iter().all(|&x| x == 2.0));
        assert!(p.iter().all(|&x| x == 1.0 - 1e-3 * 2.0));
        assert!(update4(&mut p, &g[..1], &mut m, &mut v).is_err());
    }
}
