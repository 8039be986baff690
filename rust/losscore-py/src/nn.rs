//! Bindings of the training-layer kernels (`losscore_core::nn`): activation forward/backward and
//! the l1/l2 penalty. Extract, check, borrow, release the GIL, call the core.

use crate::arrays::{borrow_error, borrow_ro, borrow_rw, floats, like, output, Floats};
use crate::errors::{DTypeError, IntoPy, OutputError, ParameterError, ShapeError};
use losscore_core::error::shape_str;
use losscore_core::nn::{self, Activation};
use losscore_core::Real;
use numpy::{Element, PyArrayDyn, PyArrayMethods, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::PyList;

fn contiguous_error(_py: Python<'_>, name: &str) -> PyErr {
    OutputError::new_err(format!("{name} must be C-contiguous"))
}

fn forward_typed<'py, T: Element + Real>(
    py: Python<'py>,
    act: Activation,
    z: Bound<'py, PyArrayDyn<T>>,
    out: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyArrayDyn<T>>> {
    let out = output::<T>(py, out, z.shape(), "out")?;
    {
        let z_ro = z.try_readonly().map_err(|_| borrow_error("z"))?;
        let mut o_rw = out.try_readwrite().map_err(|_| borrow_error("out"))?;
        let zs = z_ro.as_slice().map_err(|_| contiguous_error(py, "z"))?;
        let os = o_rw
            .as_slice_mut()
            .map_err(|_| contiguous_error(py, "out"))?;
        py.detach(|| nn::activation_forward(act, zs, os))
            .py_err(py)?;
    }
    Ok(out)
}

/// `out = f(z)` element-wise; returns `out` (a new array when not given).
#[pyfunction]
#[pyo3(signature = (name, z, out=None))]
fn activation_forward<'py>(
    py: Python<'py>,
    name: &str,
    z: &Bound<'py, PyAny>,
    out: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let act = Activation::from_name(name).py_err(py)?;
    Ok(match floats(z, "z")? {
        Floats::F32(z) => forward_typed(py, act, z, out)?.into_any(),
        Floats::F64(z) => forward_typed(py, act, z, out)?.into_any(),
    })
}

fn backward_typed<'py, T: Element + Real>(
    py: Python<'py>,
    act: Activation,
    z: Bound<'py, PyArrayDyn<T>>,
    a: &Bound<'py, PyAny>,
    grad: &Bound<'py, PyAny>,
) -> PyResult<()> {
    let shape = z.shape().to_vec();
    let a = like::<T>(a, "a")?;
    if a.shape() != shape.as_slice() {
        return Err(crate::errors::to_pyerr(
            losscore_core::LossError::ShapeMismatch {
                left: "z",
                left_shape: shape,
                right: "a",
                right_shape: a.shape().to_vec(),
            },
        ));
    }
    let grad = output::<T>(py, Some(grad), &shape, "grad")?;
    let z_ro = z.try_readonly().map_err(|_| borrow_error("z"))?;
    let a_ro = a.try_readonly().map_err(|_| borrow_error("a"))?;
    let mut g_rw = grad.try_readwrite().map_err(|_| borrow_error("grad"))?;
    let zs = z_ro.as_slice().map_err(|_| contiguous_error(py, "z"))?;
    let as_ = a_ro.as_slice().map_err(|_| contiguous_error(py, "a"))?;
    let gs = g_rw
        .as_slice_mut()
        .map_err(|_| contiguous_error(py, "grad"))?;
    py.detach(|| nn::activation_backward(act, zs, as_, gs))
        .py_err(py)
}

/// `grad *= f'(z)` in place (`a = f(z)` from the forward pass).
#[pyfunction]
fn activation_backward<'py>(
    py: Python<'py>,
    name: &str,
    z: &Bound<'py, PyAny>,
    a: &Bound<'py, PyAny>,
    grad: &Bound<'py, PyAny>,
) -> PyResult<()> {
    let act = Activation::from_name(name).py_err(py)?;
    match floats(z, "z")? {
        Floats::F32(z) => backward_typed(py, act, z, a, grad),
        Floats::F64(z) => backward_typed(py, act, z, a, grad),
    }
}

fn penalty_typed<'py, T: Element + Real>(
    py: Python<'py>,
    w: &Bound<'py, PyArrayDyn<T>>,
    grad: Option<&Bound<'py, PyArrayDyn<T>>>,
    l1: f64,
    l2: f64,
) -> PyResult<f64> {
    let w_ro = w.try_readonly().map_err(|_| borrow_error("weights"))?;
    let ws = w_ro
        .as_slice()
        .map_err(|_| contiguous_error(py, "weights"))?;
    match grad {
        Some(g) => {
            let mut g_rw = g.try_readwrite().map_err(|_| borrow_error("grads"))?;
            let gs = g_rw
                .as_slice_mut()
                .map_err(|_| contiguous_error(py, "grads"))?;
            py.detach(|| nn::penalty(ws, Some(gs), l1, l2)).py_err(py)
        }
        None => py.detach(|| nn::penalty(ws, None, l1, l2)).py_err(py),
    }
}

enum Pair<'py> {
    F32(
        Bound<'py, PyArrayDyn<f32>>,
        Option<Bound<'py, PyArrayDyn<f32>>>,
    ),
    F64(
        Bound<'py, PyArrayDyn<f64>>,
        Option<Bound<'py, PyArrayDyn<f64>>>,
    ),
}

fn pair_grad<'py, T: Element>(
    py: Python<'py>,
    w: &Bound<'py, PyArrayDyn<T>>,
    grads: Option<&Bound<'py, PyList>>,
    i: usize,
) -> PyResult<Option<Bound<'py, PyArrayDyn<T>>>> {
    let Some(grads) = grads else { return Ok(None) };
    let g = grads.get_item(i)?;
    let g = output::<T>(py, Some(&g), w.shape(), &format!("grads[{i}]"))?;
    // Fail on a read-only gradient before anything is written.
    drop(
        g.try_readwrite()
            .map_err(|_| borrow_error(&format!("grads[{i}]")))?,
    );
    Ok(Some(g))
}

/// `sum_i l1*sum|w_i| + l2/2*sum w_i^2` over the list `weights`; when `grads` is given, adds
/// `l2*w_i + l1*sign(w_i)` to `grads[i]` in place. Everything is checked before anything is written.
#[pyfunction]
#[pyo3(signature = (weights, grads=None, l1=0.0, l2=0.0))]
fn penalty<'py>(
    py: Python<'py>,
    weights: &Bound<'py, PyList>,
    grads: Option<&Bound<'py, PyList>>,
    l1: f64,
    l2: f64,
) -> PyResult<f64> {
    nn::penalty::<f64>(&[], None, l1, l2).py_err(py)?;
    if let Some(g) = grads {
        if g.len() != weights.len() {
            return Err(ShapeError::new_err(format!(
                "grads must have one array per weight: got {} weights and {} grads",
                weights.len(),
                g.len()
            )));
        }
    }
    let mut pairs = Vec::with_capacity(weights.len());
    for (i, w) in weights.iter().enumerate() {
        let name = format!("weights[{i}]");
        pairs.push(match floats(&w, &name)? {
            Floats::F32(w) => {
                let g = pair_grad(py, &w, grads, i)?;
                Pair::F32(w, g)
            }
            Floats::F64(w) => {
                let g = pair_grad(py, &w, grads, i)?;
                Pair::F64(w, g)
            }
        });
    }
    let mut total = 0.0;
    for p in &pairs {
        total += match p {
            Pair::F32(w, g) => penalty_typed(py, w, g.as_ref(), l1, l2)?,
            Pair::F64(w, g) => penalty_typed(py, w, g.as_ref(), l1, l2)?,
        };
    }
    Ok(total)
}

fn activation_opt(py: Python<'_>, name: Option<&str>) -> PyResult<Option<Activation>> {
    name.map(|n| Activation::from_name(n).py_err(py))
        .transpose()
}

/// An argument written in place: a C-contiguous float32/float64 array, never a converted copy.
enum InPlace<'py> {
    F32(Bound<'py, PyArrayDyn<f32>>),
    F64(Bound<'py, PyArrayDyn<f64>>),
}

fn in_place<'py>(obj: &Bound<'py, PyAny>, name: &str) -> PyResult<InPlace<'py>> {
    let py = obj.py();
    let arr = if let Ok(a) = obj.cast::<PyArrayDyn<f32>>() {
        if !a.is_c_contiguous() {
            return Err(contiguous_error(py, name));
        }
        InPlace::F32(a.clone())
    } else if let Ok(a) = obj.cast::<PyArrayDyn<f64>>() {
        if !a.is_c_contiguous() {
            return Err(contiguous_error(py, name));
        }
        InPlace::F64(a.clone())
    } else {
        return Err(DTypeError::new_err(format!(
            "{name} must be a float32 or float64 numpy array (it is written in place)"
        )));
    };
    Ok(arr)
}

fn bias_forward_typed<'py, T: Element + Real>(
    py: Python<'py>,
    act: Option<Activation>,
    z: &Bound<'py, PyArrayDyn<T>>,
    bias: &Bound<'py, PyAny>,
    a: Option<&Bound<'py, PyAny>>,
) -> PyResult<()> {
    let bias = like::<T>(bias, "bias")?;
    if bias.ndim() != 1 || z.shape().last() != Some(&bias.len()) {
        return Err(ShapeError::new_err(format!(
            "bias must have one entry per column of z: z shape {}, bias shape {}",
            shape_str(z.shape()),
            shape_str(bias.shape())
        )));
    }
    let a = match (act, a) {
        (Some(_), Some(a)) => Some(output::<T>(py, Some(a), z.shape(), "a")?),
        _ => None,
    };
    let mut z_rw = z.try_readwrite().map_err(|_| borrow_error("z"))?;
    let b_ro = bias.try_readonly().map_err(|_| borrow_error("bias"))?;
    let mut a_rw = borrow_rw(py, a.as_ref(), "a")?;
    let zs = z_rw.as_slice_mut().map_err(|_| contiguous_error(py, "z"))?;
    let bs = b_ro.as_slice().map_err(|_| contiguous_error(py, "bias"))?;
    let as_ = match &mut a_rw {
        Some(a) => Some(a.as_slice_mut().map_err(|_| contiguous_error(py, "a"))?),
        None => None,
    };
    py.detach(|| nn::bias_activation_forward(act, zs, bs, as_))
        .py_err(py)
}

/// `z += bias` (row-wise, in place) and, with an activation name, `a = f(z)`.
#[pyfunction]
#[pyo3(signature = (name, z, bias, a=None))]
fn bias_activation_forward<'py>(
    py: Python<'py>,
    name: Option<&str>,
    z: &Bound<'py, PyAny>,
    bias: &Bound<'py, PyAny>,
    a: Option<&Bound<'py, PyAny>>,
) -> PyResult<()> {
    let act = activation_opt(py, name)?;
    match in_place(z, "z")? {
        InPlace::F32(z) => bias_forward_typed(py, act, &z, bias, a),
        InPlace::F64(z) => bias_forward_typed(py, act, &z, bias, a),
    }
}

fn bias_backward_typed<'py, T: Element + Real>(
    py: Python<'py>,
    act: Option<Activation>,
    z: Option<&Bound<'py, PyAny>>,
    a: Option<&Bound<'py, PyAny>>,
    grad: &Bound<'py, PyArrayDyn<T>>,
    bias_grad: &Bound<'py, PyAny>,
) -> PyResult<()> {
    let cols = grad.shape().last().copied().unwrap_or(0);
    let bg = output::<T>(py, Some(bias_grad), &[cols], "bias_grad")?;
    let (z, a) = match (act, z, a) {
        (Some(_), Some(z), Some(a)) => {
            let (z, a) = (like::<T>(z, "z")?, like::<T>(a, "a")?);
            for (name, arr) in [("z", &z), ("a", &a)] {
                if arr.shape() != grad.shape() {
                    return Err(ShapeError::new_err(format!(
                        "{name} and grad must have the same shape, got {name} shape {} and \
                             grad shape {}",
                        shape_str(arr.shape()),
                        shape_str(grad.shape())
                    )));
                }
            }
            (Some(z), Some(a))
        }
        (Some(_), _, _) => {
            return Err(ParameterError::new_err(
                "z and a are required with an activation".to_string(),
            ))
        }
        _ => (None, None),
    };
    let z_ro = borrow_ro(py, z.as_ref(), "z")?;
    let a_ro = borrow_ro(py, a.as_ref(), "a")?;
    let mut bg_rw = bg.try_readwrite().map_err(|_| borrow_error("bias_grad"))?;
    let bgs = bg_rw
        .as_slice_mut()
        .map_err(|_| contiguous_error(py, "bias_grad"))?;
    let zs = match &z_ro {
        Some(z) => z.as_slice().map_err(|_| contiguous_error(py, "z"))?,
        None => &[],
    };
    let as_ = match &a_ro {
        Some(a) => a.as_slice().map_err(|_| contiguous_error(py, "a"))?,
        None => &[],
    };
    if act.is_some() {
        let mut g_rw = grad.try_readwrite().map_err(|_| borrow_error("grad"))?;
        let gs = g_rw
            .as_slice_mut()
            .map_err(|_| contiguous_error(py, "grad"))?;
        py.detach(|| nn::bias_activation_backward(act, zs, as_, gs, bgs))
            .py_err(py)
    } else {
        // Column sum only: the gradient is read, not written; work on a private copy-free path.
        let g_ro = grad.try_readonly().map_err(|_| borrow_error("grad"))?;
        let gs = g_ro.as_slice().map_err(|_| contiguous_error(py, "grad"))?;
        py.detach(|| nn::column_sum(gs, bgs)).py_err(py)
    }
}

/// With an activation: `grad *= f'(z)` in place, then `bias_grad = grad.sum(axis=0)`; without
/// (`name=None`): only the column sum (`grad` is read).
#[pyfunction]
#[pyo3(signature = (name, z, a, grad, bias_grad))]
fn bias_activation_backward<'py>(
    py: Python<'py>,
    name: Option<&str>,
    z: Option<&Bound<'py, PyAny>>,
    a: Option<&Bound<'py, PyAny>>,
    grad: &Bound<'py, PyAny>,
    bias_grad: &Bound<'py, PyAny>,
) -> PyResult<()> {
    let act = activation_opt(py, name)?;
    match in_place(grad, "grad")? {
        InPlace::F32(g) => bias_backward_typed(py, act, z, a, &g, bias_grad),
        InPlace::F64(g) => bias_backward_typed(py, act, z, a, &g, bias_grad),
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(bias_activation_forward, m)?)?;
    m.add_function(wrap_pyfunction!(bias_activation_backward, m)?)?;
    m.add_function(wrap_pyfunction!(activation_forward, m)?)?;
    m.add_function(wrap_pyfunction!(activation_backward, m)?)?;
    m.add_function(wrap_pyfunction!(penalty, m)?)?;
    Ok(())
}
