//! Losses over half-precision storage (float16, bfloat16): computed in float32, chunk by chunk.
//!
//! A request whose arrays hold [`Narrow`] values is cut into chunks of about [`CHUNK_VALUES`]
//! values; each chunk is widened into reused float32 buffers and run by the float32 kernel, so
//! nothing of the input's full size is ever upcast. The first pass streams the chunks as
//! partials (merged bitwise like any stream, so the value is exactly the float32 call's on the
//! widened data); when per-unit outputs are asked for, a second pass computes them with the
//! gradient factor the first pass found (`1 / denominator` for "mean") and narrows them to the
//! storage type (round to nearest even). Validation happens in the first pass, before anything
//! is written.

use super::drive::{shifted, Inputs, MoreGrad, Request, Target};
use crate::error::LossError;
use crate::reduce::{Partials, Reduction};

/// A half-precision storage type: widened to float32 exactly, narrowed by rounding.
pub trait Narrow: Copy + Send + Sync + Default + 'static {
    fn widen(self) -> f32;
    fn narrow(v: f32) -> Self;
}

impl Narrow for half::f16 {
    #[inline(always)]
    fn widen(self) -> f32 {
        self.to_f32()
    }
    #[inline(always)]
    fn narrow(v: f32) -> Self {
        half::f16::from_f32(v)
    }
}

impl Narrow for half::bf16 {
    #[inline(always)]
    fn widen(self) -> f32 {
        self.to_f32()
    }
    #[inline(always)]
    fn narrow(v: f32) -> Self {
        half::bf16::from_f32(v)
    }
}

/// Values widened at a time (256 KiB of float32 per input: the buffers stay in L2).
pub const CHUNK_VALUES: usize = 1 << 16;

fn widen_into<S: Narrow>(buf: &mut Vec<f32>, src: &[S]) {
    buf.clear();
    buf.extend(src.iter().map(|v| v.widen()));
}

fn narrow_into<S: Narrow>(dst: &mut [S], src: &[f32]) {
    for (d, &s) in dst.iter_mut().zip(src) {
        *d = S::narrow(s);
    }
}

/// The float32 copies of one chunk's inputs.
#[derive(Debug, Default)]
struct Widened {
    x: Vec<f32>,
    target: Vec<f32>,
    weight: Vec<f32>,
    more: [Vec<f32>; 2],
}

impl Widened {
    /// Units `lo..hi` of `inputs` (`width` values of `x` each) as float32 inputs; `cols` are
    /// the widened column factors.
    fn chunk<'a, S: Narrow>(
        &'a mut self,
        inputs: &Inputs<'a, S>,
        cols: Option<&'a [f32]>,
        (lo, hi): (usize, usize),
        width: usize,
    ) -> Inputs<'a, f32> {
        let values = lo * width..hi * width;
        widen_into(&mut self.x, &inputs.x[values.clone()]);
        let kind = match inputs.target {
            Target::Values(t) => {
                widen_into(&mut self.target, &t[values.clone()]);
                0
            }
            Target::Units(y) => {
                widen_into(&mut self.target, &y[lo..hi]);
                1
            }
            _ => 2,
        };
        if let Some(w) = inputs.weight {
            widen_into(&mut self.weight, &w[lo..hi]);
        }
        for (buf, m) in self.more.iter_mut().zip(inputs.more) {
            if let Some(m) = m {
                widen_into(buf, &m[values.clone()]);
            }
        }
        let Widened {
            x,
            target,
            weight,
            more,
        } = self;
        let [m0, m1] = more;
        Inputs {
            x,
            target: match (kind, inputs.target) {
                (0, _) => Target::Values(target),
                (1, _) => Target::Units(target),
                (_, Target::Index(y)) => Target::Index(&y[lo..hi]),
                _ => Target::Absent,
            },
            more: [
                inputs.more[0].map(|_| &m0[..]),
                inputs.more[1].map(|_| &m1[..]),
            ],
            units: hi - lo,
            weight: inputs.weight.map(|_| &weight[..]),
            cols,
            batch: inputs.batch,
            unit0: inputs.unit0 + lo,
        }
    }
}

/// The float32 outputs of one chunk.
#[derive(Debug, Default)]
struct Outputs {
    loss: Vec<f32>,
    grad: Vec<f32>,
    hess: Vec<f32>,
    more_grad: [Vec<f32>; 2],
}

fn sized(buf: &mut Vec<f32>, on: bool, len: usize) -> Option<&mut [f32]> {
    on.then(|| {
        buf.clear();
        buf.resize(len, 0.0);
        &mut buf[..]
    })
}

/// Runs `req` (arrays stored in `S`) through `kernel`, a float32 loss over `width` values of `x`
/// per unit, chunk by chunk (see the module documentation).
pub fn run<S: Narrow>(
    req: Request<'_, S>,
    width: usize,
    mut kernel: impl FnMut(Request<'_, f32>) -> Result<Partials, LossError>,
) -> Result<Partials, LossError> {
    let Request {
        inputs,
        reduction,
        loss_out,
        grad_out,
        hess_out,
        more_grad_out,
        chunk_at,
        grad_scale,
        derivatives_only,
        hess_floor,
        ..
    } = req;
    let units = inputs.units;
    let per_chunk = (CHUNK_VALUES / width.max(1)).max(1);
    let chunks = || {
        (0..units.div_ceil(per_chunk).max(1))
            .map(move |c| (c * per_chunk, ((c + 1) * per_chunk).min(units)))
    };
    let cols: Option<Vec<f32>> = inputs.cols.map(|c| c.iter().map(|v| v.widen()).collect());
    let mut widened = Widened::default();
    // Pass 1: the value (and the validation) as a stream of chunk partials.
    let start = chunk_at.unwrap_or(0);
    let mut total: Option<Partials> = None;
    for (lo, hi) in chunks() {
        let part = widened.chunk(&inputs, cols.as_deref(), (lo, hi), width);
        let partials = kernel(Request::value(part, reduction).chunk_at(Some(start + lo)))
            .map_err(|e| shifted(e, lo, width, &inputs.target))?;
        match total.as_mut() {
            Some(t) => t.merge(partials)?,
            None => total = Some(partials),
        }
    }
    let total = total.unwrap_or_default();
    let wanted = loss_out.is_some()
        || grad_out.is_some()
        || hess_out.is_some()
        || more_grad_out.iter().any(Option::is_some);
    if chunk_at.is_some() || !wanted {
        return Ok(total);
    }
    // Pass 2: the per-unit outputs, with the whole request's gradient factor.
    let scale = match (grad_scale, reduction) {
        (Some(s), _) => s,
        (None, Reduction::Mean) => 1.0 / total.denominator_total(),
        (None, Reduction::BatchMean) => 1.0 / inputs.batch as f64,
        _ => 1.0,
    };
    let (mut loss_out, mut grad_out, mut hess_out) = (loss_out, grad_out, hess_out);
    let [mut more0, mut more1]: MoreGrad<'_, S> = more_grad_out;
    let mut outs = Outputs::default();
    let chunk_reduction = match reduction {
        Reduction::None => Reduction::None,
        _ => Reduction::Sum,
    };
    for (lo, hi) in chunks() {
        let values = lo * width..hi * width;
        let part = widened.chunk(&inputs, cols.as_deref(), (lo, hi), width);
        let n = values.len();
        let Outputs {
            loss,
            grad,
            hess,
            more_grad: [mg0, mg1],
        } = &mut outs;
        let req = Request::value(part, chunk_reduction)
            .loss_out(sized(loss, loss_out.is_some(), hi - lo))
            .grad_out(sized(grad, grad_out.is_some(), n))
            .hess_out(sized(hess, hess_out.is_some(), n))
            .more_grad_out([
                sized(mg0, more0.is_some(), n),
                sized(mg1, more1.is_some(), n),
            ])
            .grad_scale(Some(scale))
            .derivatives_only(derivatives_only)
            .hess_floor(hess_floor);
        kernel(req)?;
        let pairs = [
            (loss_out.as_deref_mut().map(|o| &mut o[lo..hi]), &outs.loss),
            (
                grad_out.as_deref_mut().map(|o| &mut o[values.clone()]),
                &outs.grad,
            ),
            (
                hess_out.as_deref_mut().map(|o| &mut o[values.clone()]),
                &outs.hess,
            ),
            (
                more0.as_deref_mut().map(|o| &mut o[values.clone()]),
                &outs.more_grad[0],
            ),
            (
                more1.as_deref_mut().map(|o| &mut o[values.clone()]),
                &outs.more_grad[1],
            ),
        ];
        for (dst, src) in pairs {
            if let Some(dst) = dst {
                narrow_into(dst, src);
            }
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loss::classification::CrossEntropy;
    use crate::loss::regression::Huber;
    use crate::loss::Loss;
    use half::{bf16, f16};

    fn data(n: usize) -> Vec<f32> {
        (0..n)
            .map(|i| ((i * 7919) % 1009) as f32 * 0.01 - 5.0)
            .collect()
    }

    /// Narrowed storage gives the float32 call on the widened data: the value bit for bit, the
    /// outputs the float32 outputs rounded once.
    fn agrees_with_float32<S: Narrow + PartialEq + std::fmt::Debug>() {
        let n = 3 * CHUNK_VALUES + 123;
        let p: Vec<S> = data(n).into_iter().map(S::narrow).collect();
        let t: Vec<S> = data(n + 5)[5..].iter().map(|&v| S::narrow(v)).collect();
        let w: Vec<S> = (0..n).map(|i| S::narrow((i % 4) as f32 * 0.5)).collect();
        let (p32, t32, w32): (Vec<f32>, Vec<f32>, Vec<f32>) = (
            p.iter().map(|v| v.widen()).collect(),
            t.iter().map(|v| v.widen()).collect(),
            w.iter().map(|v| v.widen()).collect(),
        );
        let loss = Huber::<f32>::new(0.7).unwrap();
        for reduction in [Reduction::Mean, Reduction::Sum] {
            let mut g = vec![S::default(); n];
            let req = Request::value(Inputs::elementwise(&p, &t).weight(Some(&w)), reduction)
                .grad_out(Some(&mut g));
            let value = run(req, 1, |r| loss.run(r)).unwrap().finish(reduction);
            let mut g32 = vec![0.0f32; n];
            let req32 = Request::value(
                Inputs::elementwise(&p32, &t32).weight(Some(&w32)),
                reduction,
            )
            .grad_out(Some(&mut g32));
            let value32 = loss.run(req32).unwrap().finish(reduction);
            assert_eq!(value.to_bits(), value32.to_bits());
            let narrowed: Vec<S> = g32.iter().map(|&v| S::narrow(v)).collect();
            assert_eq!(g, narrowed);
        }
        // Rows with class indices and class weights.
        let classes = 5;
        let rows = CHUNK_VALUES / 2 + 7;
        let x: Vec<S> = data(rows * classes).into_iter().map(S::narrow).collect();
        let x32: Vec<f32> = x.iter().map(|v| v.widen()).collect();
        let y: Vec<i64> = (0..rows).map(|i| ((i * 3) % classes) as i64).collect();
        let cw = [0.5f32, 1.0, 1.5, 2.0, 0.25];
        let ce = CrossEntropy::new(classes, Some(&cw), None, 0.1).unwrap();
        let mut g = vec![S::default(); rows * classes];
        let req = Request::value(Inputs::rows(&x, rows, Target::Index(&y)), Reduction::Mean)
            .grad_out(Some(&mut g));
        let value = run(req, classes, |r| ce.run(r)).unwrap();
        let mut g32 = vec![0.0f32; rows * classes];
        let req32 = Request::value(Inputs::rows(&x32, rows, Target::Index(&y)), Reduction::Mean)
            .grad_out(Some(&mut g32));
        let value32 = ce.run(req32).unwrap();
        assert_eq!(
            value.finish(Reduction::Mean).to_bits(),
            value32.finish(Reduction::Mean).to_bits()
        );
        assert_eq!(g, g32.iter().map(|&v| S::narrow(v)).collect::<Vec<S>>());
    }

    #[test]
    fn float16_and_bfloat16_agree_with_float32() {
        agrees_with_float32::<f16>();
        agrees_with_float32::<bf16>();
    }

    #[test]
    fn an_invalid_target_is_reported_before_anything_is_written() {
        let p = vec![f16::from_f32(0.5); 10];
        let mut t = vec![f16::from_f32(1.0); 10];
        t[7] = f16::from_f32(0.5);
        let mut g = vec![f16::from_f32(9.0); 10];
        let hinge = crate::loss::binary::Hinge::<f32>::new(1.0).unwrap();
        let req = Request::value(Inputs::elementwise(&p, &t), Reduction::Mean)
            .grad_out(Some(&mut g))
            .prevalidate(true);
        let err = run(req, 1, |r| hinge.run(r)).unwrap_err();
        assert!(
            matches!(err, LossError::InvalidTarget { index: 7, .. }),
            "{err}"
        );
        assert!(g.iter().all(|&v| v == f16::from_f32(9.0)));
    }
}
