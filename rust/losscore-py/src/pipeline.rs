//! The pipeline of every loss call: check shapes and cast the other inputs to the first one's
//! dtype, allocate or check the outputs, borrow the outputs (a failed borrow is an error, never
//! a panic) and read the inputs, run the core with the GIL released, and return a float, arrays or `Partials`.
//! Two layouts feed the one core driver: element-wise (`target` and `weight` of the first
//! argument's shape) and rows (class axis last, per-sample targets and weights).

use crate::arrays::{
    check_disjoint, class_target, input_slice, input_slice_opt, like, out_buf, output, range_of,
    ClassTarget, OutBuf,
};
use crate::errors::{to_pyerr, ParameterError, ShapeError};
use crate::partials::Partials;
use crate::storage::Storage;
use losscore_core::error::shape_str;
use losscore_core::loss::{Inputs, Loss, Request, Target};
use losscore_core::{reduce, LossError, Real, Reduction};
use numpy::{Element, PyArrayDyn, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::PyTuple;

/// The arguments every loss takes besides its first argument and its hyperparameters.
pub struct Call<'a, 'py> {
    pub py: Python<'py>,
    /// The first argument's name (`pred`, `logits`, ...), for messages.
    pub first: &'static str,
    pub target: &'a Bound<'py, PyAny>,
    pub weight: Option<&'a Bound<'py, PyAny>>,
    pub reduction: Reduction,
    pub out: Option<&'a Bound<'py, PyAny>>,
    pub with_grad: bool,
    /// The Hessian diagonal too (implies the gradient); `hess_out` is its buffer.
    pub with_hess: bool,
    pub hess_out: Option<&'a Bound<'py, PyAny>>,
    /// `Some(offset)`: return the `Partials` of a chunk whose first row along the leading axis
    /// is row `offset` of the whole array.
    pub partials: Option<usize>,
    /// `Some((scale, hess_floor))`: a boosting objective's derivatives only, `(grad, hess)`
    /// scaled by `scale` (in place of the reduction's factor), the Hessian floored at
    /// `hess_floor * w` (no floor when 0); no loss value is computed.
    pub objective: Option<(f64, f64)>,
}

/// The global unit index of the chunk's first unit: `offset` leading-axis rows of
/// `units / leading` units each.
pub fn chunk_start(offset: Option<usize>, units: usize, leading: usize) -> PyResult<Option<usize>> {
    let Some(offset) = offset else {
        return Ok(None);
    };
    let per_row = units.checked_div(leading).unwrap_or(0);
    offset
        .checked_mul(per_row)
        .map(Some)
        .ok_or_else(|| ParameterError::new_err(format!("offset: {offset} rows is out of range")))
}

/// The derivative outputs of a call: the gradient and, with `with_hess`, the Hessian diagonal.
type Derivatives<'py, T> = (
    Option<Bound<'py, PyArrayDyn<T>>>,
    Option<Bound<'py, PyArrayDyn<T>>>,
);

impl<'py> Call<'_, 'py> {
    /// The reduction the core runs: partials need no per-element output, and an objective's
    /// derivatives take their factor from its scale.
    fn run_reduction(&self) -> Reduction {
        match (self.partials, self.reduction) {
            _ if self.objective.is_some() => Reduction::Sum,
            (Some(_), Reduction::None) => Reduction::Sum,
            (_, r) => r,
        }
    }

    /// The gradient and Hessian outputs of `shape` (the caller's `out` / `hess_out`, checked,
    /// or new arrays); none for partials.
    fn derivatives<T: Element>(&self, shape: &[usize]) -> PyResult<Derivatives<'py, T>> {
        let with_hess = self.with_hess || self.objective.is_some();
        if self.hess_out.is_some() && !with_hess {
            return Err(ParameterError::new_err(
                "hess_out: only used with with_hess=True",
            ));
        }
        if self.objective.is_some() && self.partials.is_some() {
            return Err(ParameterError::new_err(
                "_objective: computes derivatives, not partials",
            ));
        }
        let wanted = |on: bool| on && self.partials.is_none();
        let grad = wanted(self.with_grad || with_hess)
            .then(|| output::<T>(self.py, self.out, shape, "out"))
            .transpose()?;
        let hess = wanted(with_hess)
            .then(|| output::<T>(self.py, self.hess_out, shape, "hess_out"))
            .transpose()?;
        Ok((grad, hess))
    }

    /// Whether outputs are the caller's buffers (then targets are validated before writing).
    fn caller_buffers(&self) -> bool {
        self.out.is_some() || self.hess_out.is_some()
    }

    /// Fails when a caller's derivative buffer overlaps an input in memory.
    fn check_disjoint<T: Element>(
        &self,
        grad: &Option<Bound<'py, PyArrayDyn<T>>>,
        hess: &Option<Bound<'py, PyArrayDyn<T>>>,
        inputs: &[(&str, Option<std::ops::Range<usize>>)],
    ) -> PyResult<()> {
        if let (Some(g), Some(_)) = (grad, self.out) {
            check_disjoint(g, "out", inputs)?;
        }
        if let (Some(h), Some(_)) = (hess, self.hess_out) {
            check_disjoint(h, "hess_out", inputs)?;
        }
        Ok(())
    }
}

fn mismatch(left: &'static str, ls: &[usize], right: &'static str, rs: &[usize]) -> PyErr {
    to_pyerr(LossError::ShapeMismatch {
        left,
        left_shape: ls.to_vec(),
        right,
        right_shape: rs.to_vec(),
    })
}

/// A row loss's options, built into its core kernel once the class count and class weights are
/// known (the kernel borrows the class weights).
pub trait RowOptions<T: Real> {
    const NAME: &'static str;
    /// Whether float targets are class probabilities (else they are an error).
    const PROBABILITIES: bool;
    fn run(
        &self,
        classes: usize,
        class_weight: Option<&[T]>,
        req: Request<'_, T>,
    ) -> Result<reduce::Partials, LossError>;
}

/// Element-wise layout: `target`, `weight` of `x`'s shape; `pos_weight` broadcast along the
/// trailing axes (column factors).
pub fn elementwise<'py, T: Storage, L: Loss<T::Real> + Sync>(
    call: Call<'_, 'py>,
    x: Bound<'py, PyArrayDyn<T>>,
    pos_weight: Option<&Bound<'py, PyAny>>,
    loss: L,
) -> PyResult<Bound<'py, PyAny>> {
    let py = call.py;
    let first = call.first;
    let shape = x.shape().to_vec();
    let target = like::<T>(call.target, "target")?;
    if target.shape() != shape.as_slice() {
        return Err(mismatch(first, &shape, "target", target.shape()));
    }
    let weight = match call.weight {
        Some(w) => {
            let w = like::<T>(w, "weight")?;
            if w.shape() != shape.as_slice() {
                return Err(mismatch(first, &shape, "weight", w.shape()));
            }
            Some(w)
        }
        None => None,
    };
    let pos_weight = match pos_weight {
        Some(pw) => {
            let pw = like::<T>(pw, "pos_weight")?;
            // Leading size-1 axes broadcast (torch semantics); the rest must be trailing axes.
            let ps = pw.shape();
            let core = &ps[ps.iter().take_while(|&&d| d == 1).count()..];
            let suffix = core.len() <= shape.len() && shape[shape.len() - core.len()..] == *core;
            if pw.len() != 1 && !suffix {
                return Err(ShapeError::new_err(format!(
                    "pos_weight shape {} does not broadcast along the trailing axes of {first} \
                     shape {} (expected (C,) with C = {first}.shape[-1], trailing axes of \
                     {first}, or a single value)",
                    shape_str(ps),
                    shape_str(&shape)
                )));
            }
            Some(pw)
        }
        None => None,
    };
    let reduction = call.run_reduction();
    let (grad, hess) = call.derivatives::<T>(&shape)?;
    let inputs_at = [
        (first, range_of(Some(&x))),
        ("target", range_of(Some(&target))),
        ("weight", range_of(weight.as_ref())),
        ("pos_weight", range_of(pos_weight.as_ref())),
    ];
    call.check_disjoint(&grad, &hess, &inputs_at)?;
    let per_element = (reduction == Reduction::None)
        .then(|| output::<T>(py, None, &shape, "loss"))
        .transpose()?;
    let mut g_rw = out_buf(grad.as_ref(), call.out.is_some(), "out")?;
    let mut h_rw = out_buf(hess.as_ref(), call.hess_out.is_some(), "hess_out")?;
    let mut l_rw = out_buf(per_element.as_ref(), false, "loss")?;
    let x_s = input_slice(&x, first)?;
    let inputs = Inputs::elementwise(x_s, input_slice(&target, "target")?)
        .weight(input_slice_opt(weight.as_ref(), "weight")?)
        .cols(input_slice_opt(pos_weight.as_ref(), "pos_weight")?)
        .batch(shape.first().copied().unwrap_or(1));
    let leading = shape.first().copied().unwrap_or(1);
    let outputs = (&mut l_rw, &mut g_rw, &mut h_rw);
    let req = request(&call, inputs, reduction, outputs, x_s.len(), leading)?;
    let partials = py
        .detach(|| T::run(req, 1, |r| loss.run(r)))
        .map_err(to_pyerr)?;
    drop((g_rw, h_rw, l_rw));
    finish(py, &call, partials, per_element, (grad, hess))
}

/// Rows layout: `x` is `(..., C)`; class-index targets `(...)` or probabilities `(..., C)`;
/// per-sample weights `(...)`; `class_weight` `(C,)`.
pub fn rows<'py, T: Storage, O: RowOptions<T::Real> + Sync>(
    call: Call<'_, 'py>,
    x: Bound<'py, PyArrayDyn<T>>,
    class_weight: Option<&Bound<'py, PyAny>>,
    options: O,
) -> PyResult<Bound<'py, PyAny>> {
    let py = call.py;
    let first = call.first;
    let shape = x.shape().to_vec();
    let Some((&classes, sample_shape)) = shape.split_last() else {
        return Err(ShapeError::new_err(format!(
            "{first} must have at least one dimension (the class axis, last), got shape ()"
        )));
    };
    let Some(rows) = sample_shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
    else {
        return Err(ShapeError::new_err(format!(
            "{first} shape {} has more rows than can be addressed",
            shape_str(&shape)
        )));
    };
    if classes == 0 && rows > 0 {
        return Err(ShapeError::new_err(format!(
            "{first} has an empty class axis (shape {}): there is no class to score",
            shape_str(&shape)
        )));
    }
    let target = class_target::<T>(call.target, O::NAME, O::PROBABILITIES)?;
    match &target {
        ClassTarget::Index(y) if y.shape() != sample_shape => {
            return Err(ShapeError::new_err(format!(
                "target (class indices) must have shape {} ({first} shape {} without the class \
                 axis), got {}",
                shape_str(sample_shape),
                shape_str(&shape),
                shape_str(y.shape())
            )))
        }
        ClassTarget::Prob(t) if t.shape() != shape.as_slice() => {
            return Err(ShapeError::new_err(format!(
                "target (class probabilities) must have {first}'s shape {}, got {}; class \
                 indices must have an integer dtype",
                shape_str(&shape),
                shape_str(t.shape())
            )))
        }
        _ => {}
    }
    let weight = match call.weight {
        Some(w) => {
            let w = like::<T>(w, "weight")?;
            if w.shape() != sample_shape {
                return Err(ShapeError::new_err(format!(
                    "weight (per sample) must have shape {} ({first} shape {} without the class \
                     axis), got {}",
                    shape_str(sample_shape),
                    shape_str(&shape),
                    shape_str(w.shape())
                )));
            }
            Some(w)
        }
        None => None,
    };
    let class_weight = match class_weight {
        Some(w) => {
            let w = like::<T>(w, "class_weight")?;
            if w.shape() != [classes] {
                return Err(ShapeError::new_err(format!(
                    "class_weight must have shape ({classes},) (the size of the last axis of \
                     {first}), got {}",
                    shape_str(w.shape())
                )));
            }
            Some(w)
        }
        None => None,
    };
    let reduction = call.run_reduction();
    let (grad, hess) = call.derivatives::<T>(&shape)?;
    let target_range = match &target {
        ClassTarget::Index(y) => range_of(Some(y)),
        ClassTarget::Prob(t) => range_of(Some(t)),
    };
    let inputs_at = [
        (first, range_of(Some(&x))),
        ("target", target_range),
        ("weight", range_of(weight.as_ref())),
        ("class_weight", range_of(class_weight.as_ref())),
    ];
    call.check_disjoint(&grad, &hess, &inputs_at)?;
    let per_sample = (reduction == Reduction::None)
        .then(|| output::<T>(py, None, sample_shape, "loss"))
        .transpose()?;
    let mut g_rw = out_buf(grad.as_ref(), call.out.is_some(), "out")?;
    let mut h_rw = out_buf(hess.as_ref(), call.hess_out.is_some(), "hess_out")?;
    let mut l_rw = out_buf(per_sample.as_ref(), false, "loss")?;
    let labels = match &target {
        ClassTarget::Index(y) => Target::Index(input_slice(y, "target")?),
        ClassTarget::Prob(t) => Target::Values(input_slice(t, "target")?),
    };
    let cw = input_slice_opt(class_weight.as_ref(), "class_weight")?.map(T::real_slice);
    let inputs = Inputs::rows(input_slice(&x, first)?, rows, labels)
        .weight(input_slice_opt(weight.as_ref(), "weight")?);
    let leading = sample_shape.first().copied().unwrap_or(1);
    let outputs = (&mut l_rw, &mut g_rw, &mut h_rw);
    let req = request(&call, inputs, reduction, outputs, rows, leading)?;
    let partials = py
        .detach(|| T::run(req, classes, |r| options.run(classes, cw.as_deref(), r)))
        .map_err(to_pyerr)?;
    drop((g_rw, h_rw, l_rw));
    finish(py, &call, partials, per_sample, (grad, hess))
}

/// The core request: the borrowed outputs, validation before writing into the caller's `out`,
/// and the chunk's first unit (`units` over `leading` rows of the leading axis).
fn request<'a, 'b, T: Element>(
    call: &Call<'_, '_>,
    inputs: Inputs<'a, T>,
    reduction: Reduction,
    outputs: Outputs<'a, 'b, T>,
    units: usize,
    leading: usize,
) -> PyResult<Request<'a, T>> {
    let (loss_out, grad_out, hess_out) = outputs;
    Ok(Request::value(inputs, reduction)
        .loss_out(loss_out.as_mut().map(OutBuf::slice_mut).transpose()?)
        .grad_out(grad_out.as_mut().map(OutBuf::slice_mut).transpose()?)
        .hess_out(hess_out.as_mut().map(OutBuf::slice_mut).transpose()?)
        .prevalidate(call.caller_buffers())
        .chunk_at(chunk_start(call.partials, units, leading)?)
        .grad_scale(call.objective.map(|(scale, _)| scale))
        .derivatives_only(call.objective.is_some())
        .hess_floor(call.objective.and_then(|(_, f)| (f > 0.0).then_some(f))))
}

/// The per-unit loss, gradient and Hessian output buffers of a call.
type Outputs<'a, 'b, T> = (
    &'a mut Option<OutBuf<'b, T>>,
    &'a mut Option<OutBuf<'b, T>>,
    &'a mut Option<OutBuf<'b, T>>,
);

/// The Python result: `Partials`, or the value (a float, or the per-unit array with "none"),
/// paired with the gradient (and the Hessian diagonal) when asked for.
fn finish<'py, T: Element>(
    py: Python<'py>,
    call: &Call<'_, 'py>,
    partials: reduce::Partials,
    per_unit: Option<Bound<'py, PyArrayDyn<T>>>,
    (grad, hess): Derivatives<'py, T>,
) -> PyResult<Bound<'py, PyAny>> {
    if call.partials.is_some() {
        return Ok(Bound::new(py, Partials { inner: partials })?.into_any());
    }
    if let (Some(_), Some(g), Some(h)) = (call.objective, &grad, &hess) {
        return Ok(PyTuple::new(py, [g.as_any(), h.as_any()])?.into_any());
    }
    let value: Bound<'py, PyAny> = match per_unit {
        Some(arr) => arr.into_any(),
        None => partials
            .finish(call.reduction)
            .into_pyobject(py)?
            .into_any(),
    };
    match (grad, hess) {
        (Some(g), Some(h)) => Ok(PyTuple::new(py, [value, g.into_any(), h.into_any()])?.into_any()),
        (Some(g), None) => Ok(PyTuple::new(py, [value, g.into_any()])?.into_any()),
        _ => Ok(value),
    }
}
