//! The losses of several array inputs of one layout (`gaussian_nll`, `margin_ranking`,
//! `cosine_embedding`, `triplet_margin`): `f(input_1, ..., [target,] <hyperparameters>,
//! weight=None, reduction="mean", out=None, with_grad=False, *, with_hess=False,
//! hess_out=None, partials=False, offset=0, argnums=0)`.
//!
//! `argnums` names the inputs whose gradients come from the pass (an int: one gradient; a
//! tuple: a tuple of gradients, in its order); `out` is then one buffer or a tuple of buffers.
//! Units are elements (element-wise losses) or rows of the last axis (`rows`): per-unit labels
//! and weights have the unit shape.

use crate::arrays::{
    byte_range, check_disjoint, input_slice, input_slice_opt, like, out_buf, output, OutBuf,
};
use crate::arrays::{loss_floats, range_of, Floats, LossFloats};
use crate::errors::ShapeError;
use crate::errors::{to_pyerr, IntoPy, ParameterError, ParameterTypeError};
use crate::params::{arg, parse_reduction};
use crate::partials::Partials;
use crate::pipeline::chunk_start;
use crate::storage::Storage;
use losscore_core::error::shape_str;
use losscore_core::loss::gaussian::GaussianNll;
use losscore_core::loss::ranking::{CosineEmbedding, MarginRanking, TripletMargin};
use losscore_core::loss::{Inputs, Loss, Request, Target};
use losscore_core::Reduction;
use numpy::{Element, PyArrayDyn, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyList, PyTuple};

/// The inputs whose gradients are asked for, and whether the caller gave one index or a tuple.
struct Argnums {
    positions: Vec<usize>,
    single: bool,
}

fn argnums(obj: Option<&Bound<'_, PyAny>>, inputs: &[&str]) -> PyResult<Argnums> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else {
        return Ok(Argnums {
            positions: vec![0],
            single: true,
        });
    };
    let one = |o: &Bound<'_, PyAny>| -> PyResult<usize> {
        if o.is_instance_of::<PyBool>() {
            return Err(ParameterTypeError::new_err(
                "argnums must hold integers, got bool",
            ));
        }
        let v: i64 = crate::params::named(o, "argnums")?;
        usize::try_from(v)
            .ok()
            .filter(|&k| k < inputs.len())
            .ok_or_else(|| {
                ParameterError::new_err(format!(
                    "argnums: {v} is not the position of an input ({}: 0..{})",
                    inputs.join(", "),
                    inputs.len() - 1
                ))
            })
    };
    if obj.is_instance_of::<PyTuple>() || obj.is_instance_of::<PyList>() {
        let positions = obj
            .try_iter()?
            .map(|o| one(&o?))
            .collect::<PyResult<Vec<_>>>()?;
        if positions.is_empty() {
            return Err(ParameterError::new_err(
                "argnums: an empty tuple asks for nothing",
            ));
        }
        if (1..positions.len()).any(|i| positions[..i].contains(&positions[i])) {
            return Err(ParameterError::new_err(format!(
                "argnums: {positions:?} names an input twice"
            )));
        }
        return Ok(Argnums {
            positions,
            single: false,
        });
    }
    Ok(Argnums {
        positions: vec![one(obj)?],
        single: true,
    })
}

/// The arguments of a call besides the inputs and the hyperparameters.
struct Call<'a, 'py> {
    py: Python<'py>,
    /// The input names in argument order.
    names: &'static [&'static str],
    /// Units are rows of the last axis (else elements).
    rows: bool,
    label: Option<&'a Bound<'py, PyAny>>,
    weight: Option<&'a Bound<'py, PyAny>>,
    reduction: Reduction,
    out: Option<&'a Bound<'py, PyAny>>,
    with_grad: bool,
    with_hess: bool,
    hess_out: Option<&'a Bound<'py, PyAny>>,
    partials: Option<usize>,
    argnums: Option<&'a Bound<'py, PyAny>>,
}

/// One buffer per requested gradient: the caller's (`out`, or the items of a tuple `out`) or new.
fn gradient_buffers<'py, T: Element>(
    call: &Call<'_, 'py>,
    argnums: &Argnums,
    shape: &[usize],
) -> PyResult<Vec<Bound<'py, PyArrayDyn<T>>>> {
    let given: Vec<Option<Bound<'py, PyAny>>> = match call.out {
        None => vec![None; argnums.positions.len()],
        Some(o) if argnums.single => vec![Some(o.clone())],
        Some(o) if o.is_instance_of::<PyTuple>() || o.is_instance_of::<PyList>() => {
            let items: Vec<_> = o.try_iter()?.collect::<PyResult<_>>()?;
            if items.len() != argnums.positions.len() {
                return Err(ParameterError::new_err(format!(
                    "out: {} buffers for {} gradients (argnums={:?})",
                    items.len(),
                    argnums.positions.len(),
                    argnums.positions
                )));
            }
            items
                .into_iter()
                .map(|i| (!i.is_none()).then_some(i))
                .collect()
        }
        Some(_) => {
            return Err(ParameterTypeError::new_err(
                "out must be a tuple of arrays (one per argnums entry) when argnums is a tuple",
            ))
        }
    };
    given
        .iter()
        .map(|o| output::<T>(call.py, o.as_ref(), shape, "out"))
        .collect()
}

/// Runs a multi-input loss: shapes, dtype casts, outputs, borrows, the core with the GIL
/// released, and the result.
fn run<'py, T: Storage, L: Loss<T::Real> + Sync>(
    call: Call<'_, 'py>,
    first: Bound<'py, PyArrayDyn<T>>,
    others: &[&Bound<'py, PyAny>],
    make: impl FnOnce(usize) -> Result<L, losscore_core::LossError>,
) -> PyResult<Bound<'py, PyAny>> {
    let py = call.py;
    let names = call.names;
    let shape = first.shape().to_vec();
    let mut arrays = vec![first];
    for (k, o) in others.iter().enumerate() {
        let a = like::<T>(o, names[k + 1])?;
        if a.shape() != shape.as_slice() {
            return Err(ShapeError::new_err(format!(
                "{} shape {} does not match {} shape {}",
                names[k + 1],
                shape_str(a.shape()),
                names[0],
                shape_str(&shape)
            )));
        }
        arrays.push(a);
    }
    let (width, unit_shape) = match (call.rows, shape.split_last()) {
        (false, _) => (1, shape.as_slice()),
        (true, Some((&d, rest))) => (d, rest),
        (true, None) => {
            return Err(ShapeError::new_err(format!(
                "{} must have at least one dimension (the vectors lie along the last axis), \
                 got shape ()",
                names[0]
            )))
        }
    };
    let units: usize = unit_shape.iter().product();
    if width == 0 && units > 0 {
        return Err(ShapeError::new_err(format!(
            "{} shape {} has an empty last axis: there are no vectors to compare",
            names[0],
            shape_str(&shape)
        )));
    }
    let per_unit = |obj: Option<&Bound<'py, PyAny>>, name: &'static str| {
        obj.map(|o| {
            let a = like::<T>(o, name)?;
            if a.shape() != unit_shape {
                return Err(ShapeError::new_err(format!(
                    "{name} must have shape {} ({} shape {}{}), got {}",
                    shape_str(unit_shape),
                    names[0],
                    shape_str(&shape),
                    if call.rows {
                        " without the last axis"
                    } else {
                        ""
                    },
                    shape_str(a.shape())
                )));
            }
            Ok(a)
        })
        .transpose()
    };
    let label = per_unit(call.label, "target")?;
    let weight = per_unit(call.weight, "weight")?;
    let loss = make(width).py_err(py)?;
    let reduction = match (call.partials, call.reduction) {
        (Some(_), Reduction::None) => Reduction::Sum,
        (_, r) => r,
    };
    if call.hess_out.is_some() && !call.with_hess {
        return Err(ParameterError::new_err(
            "hess_out: only used with with_hess=True",
        ));
    }
    let argnums = argnums(call.argnums, names)?;
    if call.with_hess && !(argnums.single && argnums.positions == [0]) {
        return Err(ParameterError::new_err(format!(
            "with_hess: the Hessian diagonal is with respect to {} only (argnums=0)",
            names[0]
        )));
    }
    let derivatives = (call.with_grad || call.with_hess) && call.partials.is_none();
    let grads = match derivatives {
        true => gradient_buffers::<T>(&call, &argnums, &shape)?,
        false => vec![],
    };
    let hess = (call.with_hess && call.partials.is_none())
        .then(|| output::<T>(py, call.hess_out, &shape, "hess_out"))
        .transpose()?;
    // Outputs must not overlap the inputs or each other.
    let mut inputs_at: Vec<(&str, Option<std::ops::Range<usize>>)> = arrays
        .iter()
        .zip(names)
        .map(|(a, n)| (*n, Some(byte_range(a))))
        .collect();
    inputs_at.push(("target", range_of(label.as_ref())));
    inputs_at.push(("weight", range_of(weight.as_ref())));
    for g in &grads {
        check_disjoint(g, "out", &inputs_at)?;
        inputs_at.push(("another gradient buffer", Some(byte_range(g))));
    }
    if let Some(h) = &hess {
        check_disjoint(h, "hess_out", &inputs_at)?;
    }
    let per_unit_loss = (reduction == Reduction::None)
        .then(|| output::<T>(py, None, unit_shape, "loss"))
        .transpose()?;
    let mut grads_rw = grads
        .iter()
        .map(|g| out_buf(Some(g), call.out.is_some(), "out").map(Option::unwrap))
        .collect::<PyResult<Vec<_>>>()?;
    let mut hess_rw = out_buf(hess.as_ref(), call.hess_out.is_some(), "hess_out")?;
    let mut loss_rw = out_buf(per_unit_loss.as_ref(), false, "loss")?;
    let slices = arrays
        .iter()
        .zip(names)
        .map(|(a, n)| input_slice(a, n))
        .collect::<PyResult<Vec<_>>>()?;
    let target = match input_slice_opt(label.as_ref(), "target")? {
        Some(y) => Target::Units(y),
        None => Target::Absent,
    };
    let inputs = Inputs::rows(slices[0], units, target)
        .more([slices.get(1).copied(), slices.get(2).copied()])
        .weight(input_slice_opt(weight.as_ref(), "weight")?)
        .batch(unit_shape.first().copied().unwrap_or(1));
    // The gradient buffers, by input position.
    let mut by_position: [Option<&mut [T]>; 3] = [None, None, None];
    for (g, &k) in grads_rw.iter_mut().zip(&argnums.positions) {
        by_position[k] = Some(g.slice_mut()?);
    }
    let [g0, g1, g2] = by_position;
    let req = Request::value(inputs, reduction)
        .loss_out(loss_rw.as_mut().map(OutBuf::slice_mut).transpose()?)
        .grad_out(g0)
        .more_grad_out([g1, g2])
        .hess_out(hess_rw.as_mut().map(OutBuf::slice_mut).transpose()?)
        .prevalidate(call.out.is_some() || call.hess_out.is_some())
        .chunk_at(chunk_start(
            call.partials,
            units,
            unit_shape.first().copied().unwrap_or(1),
        )?);
    let partials = py
        .detach(|| T::run(req, width, |r| loss.run(r)))
        .map_err(to_pyerr)?;
    drop((grads_rw, hess_rw, loss_rw));
    if call.partials.is_some() {
        return Ok(Bound::new(py, Partials { inner: partials })?.into_any());
    }
    let value: Bound<'py, PyAny> = match per_unit_loss {
        Some(arr) => arr.into_any(),
        None => partials
            .finish(call.reduction)
            .into_pyobject(py)?
            .into_any(),
    };
    if !derivatives {
        return Ok(value);
    }
    let grad: Bound<'py, PyAny> = match argnums.single {
        true => grads[0].clone().into_any(),
        false => PyTuple::new(py, grads)?.into_any(),
    };
    match hess {
        Some(h) => Ok(PyTuple::new(py, [value, grad, h.into_any()])?.into_any()),
        None => Ok(PyTuple::new(py, [value, grad])?.into_any()),
    }
}

/// Defines a multi-input loss: its array inputs, an optional per-unit label argument, whether
/// units are rows of the last axis, its hyperparameters with their extractors, and `|T, width|
/// expr` building the checked core loss.
macro_rules! multi_input {
    ($name:ident, [$($a:ident),+], label = [$($label:ident)?], rows = $rows:expr,
     [$($p:ident : $pt:ty = $def:tt => $ext:path),*], |$T:ident, $width:ident| $make:expr) => {
        #[pyfunction]
        #[pyo3(signature = ($($a,)+ $($label,)? $($p = $def,)* weight = None, reduction = "mean",
                            out = None, with_grad = false, *, with_hess = false,
                            hess_out = None, partials = false, offset = 0, argnums = None))]
        #[allow(clippy::too_many_arguments)]
        fn $name<'py>(
            py: Python<'py>,
            $($a: &Bound<'py, PyAny>,)+
            $($label: &Bound<'py, PyAny>,)?
            $(#[pyo3(from_py_with = $ext)] $p: $pt,)*
            weight: Option<&Bound<'py, PyAny>>,
            #[pyo3(from_py_with = arg::reduction)] reduction: &str,
            out: Option<&Bound<'py, PyAny>>,
            #[pyo3(from_py_with = arg::with_grad)] with_grad: bool,
            #[pyo3(from_py_with = arg::with_hess)] with_hess: bool,
            hess_out: Option<&Bound<'py, PyAny>>,
            #[pyo3(from_py_with = arg::partials)] partials: bool,
            #[pyo3(from_py_with = arg::offset)] offset: usize,
            argnums: Option<&Bound<'py, PyAny>>,
        ) -> PyResult<Bound<'py, PyAny>> {
            const NAMES: &[&str] = &[$(stringify!($a)),+];
            let arrays = [$($a),+];
            #[allow(unused_mut, unused_assignments)]
            let mut label: Option<&Bound<'py, PyAny>> = None;
            $(label = Some($label);)?
            let call = Call {
                py, names: NAMES, rows: $rows, label, weight,
                reduction: parse_reduction(reduction, false)?, out, with_grad, with_hess,
                hess_out, partials: partials.then_some(offset), argnums,
            };
            match loss_floats(arrays[0], NAMES[0])? {
                LossFloats::Full(Floats::F32(x)) => {
                    type $T = f32;
                    run::<$T, _>(call, x, &arrays[1..], |$width| $make)
                }
                LossFloats::Full(Floats::F64(x)) => {
                    type $T = f64;
                    run::<$T, _>(call, x, &arrays[1..], |$width| $make)
                }
                LossFloats::F16(x) => {
                    #[allow(dead_code)]
                    type $T = f32;
                    run::<half::f16, _>(call, x, &arrays[1..], |$width| $make)
                }
                LossFloats::BF16(x) => {
                    #[allow(dead_code)]
                    type $T = f32;
                    run::<half::bf16, _>(call, x, &arrays[1..], |$width| $make)
                }
            }
        }
    };
}

multi_input!(
    gaussian_nll, [pred, target, var], label = [], rows = false,
    [full: bool = false => arg::full, eps: f64 = 1e-6 => arg::eps],
    |T, _width| GaussianNll::<T>::new(full, eps)
);
multi_input!(
    margin_ranking, [x1, x2], label = [target], rows = false,
    [margin: f64 = 0.0 => arg::margin],
    |T, _width| MarginRanking::<T>::new(margin)
);
multi_input!(
    cosine_embedding, [x1, x2], label = [target], rows = true,
    [margin: f64 = 0.0 => arg::margin],
    |T, width| CosineEmbedding::new(width, margin)
);
multi_input!(
    triplet_margin, [anchor, positive, negative], label = [], rows = true,
    [
        margin: f64 = 1.0 => arg::margin,
        p: f64 = 2.0 => arg::norm_p,
        eps: f64 = 1e-6 => arg::eps,
        swap: bool = false => arg::swap
    ],
    |T, width| TripletMargin::new(width, margin, p, eps, swap)
);

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    for f in [
        wrap_pyfunction!(gaussian_nll, m)?,
        wrap_pyfunction!(margin_ranking, m)?,
        wrap_pyfunction!(cosine_embedding, m)?,
        wrap_pyfunction!(triplet_margin, m)?,
    ] {
        m.add_function(f)?;
    }
    Ok(())
}
