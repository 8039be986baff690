//! Bindings of the optimizers and gradient clipping.
//!
//! One call per step covers every parameter: the lists of parameters, gradients and state
//! buffers are checked (dtype, shape, contiguity), all borrowed at once through rust-numpy's
//! borrow checker (so a parameter passed twice, or a gradient aliasing a parameter, is a clean
//! error), and the core updates them with the GIL released. float32 and float64 parameters may
//! be mixed: each dtype group is one core call inside the same GIL release.

use crate::errors::{DTypeError, IntoPy, NonFiniteError, OutputError, ParameterError, ShapeError};
use losscore_core::error::shape_str;
use losscore_core::optim::{self, clip, Slot, Update, MAX_STATES};
use losscore_core::Real;
use numpy::{
    Element, PyArrayDyn, PyArrayMethods, PyReadonlyArrayDyn, PyReadwriteArrayDyn, PyUntypedArray,
    PyUntypedArrayMethods,
};
use pyo3::prelude::*;

/// One parameter of dtype `T` with its gradient, checked but not borrowed.
struct Entry<'py, T> {
    index: usize,
    param: Bound<'py, PyArrayDyn<T>>,
    grad: Bound<'py, PyArrayDyn<T>>,
}

/// The parameters of one dtype and their state, borrowed. Each state buffer is ONE flat array
/// holding every parameter's buffer back to back (parameter order), so a step borrows two
/// arrays per parameter plus one per buffer, not four per parameter.
struct Borrowed<'py, T: Element> {
    params: Vec<PyReadwriteArrayDyn<'py, T>>,
    grads: Vec<PyReadonlyArrayDyn<'py, T>>,
    states: [Option<PyReadwriteArrayDyn<'py, T>>; MAX_STATES],
}

fn dtype_name(obj: &Bound<'_, PyAny>) -> String {
    match obj.cast::<PyUntypedArray>() {
        Ok(a) => format!("an array of dtype {}", a.dtype()),
        Err(_) => format!(
            "a {}",
            obj.get_type().name().map_or("?".into(), |n| n.to_string())
        ),
    }
}

fn is_writeable(obj: &Bound<'_, PyAny>) -> bool {
    obj.getattr("flags")
        .and_then(|f| f.getattr("writeable"))
        .and_then(|w| w.extract::<bool>())
        .unwrap_or(false)
}

/// The error for an in-place array that cannot be borrowed for writing.
fn inplace_error(_py: Python<'_>, obj: &Bound<'_, PyAny>, name: &str, what: &str) -> PyErr {
    if is_writeable(obj) {
        OutputError::new_err(format!(
            "{name} shares memory with another {what} of this call (each must be a distinct array)"
        ))
    } else {
        OutputError::new_err(format!(
            "{name} is read-only; it is updated in place and must be writable"
        ))
    }
}

/// A parameter (or in-place gradient): a C-contiguous float32/float64 ndarray.
enum InPlace<'py> {
    F32(Bound<'py, PyArrayDyn<f32>>),
    F64(Bound<'py, PyArrayDyn<f64>>),
}

/// `list[index]` names the array in messages (formatted only on error).
fn inplace<'py>(
    _py: Python<'py>,
    obj: &Bound<'py, PyAny>,
    list: &str,
    index: usize,
) -> PyResult<InPlace<'py>> {
    let arr = if let Ok(a) = obj.cast::<PyArrayDyn<f32>>() {
        InPlace::F32(a.clone())
    } else if let Ok(a) = obj.cast::<PyArrayDyn<f64>>() {
        InPlace::F64(a.clone())
    } else {
        return Err(DTypeError::new_err(format!(
            "{list}[{index}] must be a numpy array of dtype float32 or float64, got {}",
            dtype_name(obj)
        )));
    };
    let contiguous = match &arr {
        InPlace::F32(a) => a.is_c_contiguous(),
        InPlace::F64(a) => a.is_c_contiguous(),
    };
    if !contiguous {
        return Err(OutputError::new_err(format!(
            "{list}[{index}] must be C-contiguous: it is updated in place"
        )));
    }
    Ok(arr)
}

/// The gradient of `params[index]`: same dtype and shape; copied if not contiguous.
fn companion<'py, T: Element>(
    py: Python<'py>,
    obj: &Bound<'py, PyAny>,
    index: usize,
    param: &Bound<'py, PyArrayDyn<T>>,
) -> PyResult<Bound<'py, PyArrayDyn<T>>> {
    let Ok(arr) = obj.cast::<PyArrayDyn<T>>() else {
        return Err(DTypeError::new_err(format!(
            "grads[{index}] must be a numpy array of dtype {} like params[{index}], got {}",
            numpy::dtype::<T>(py),
            dtype_name(obj)
        )));
    };
    if arr.shape() != param.shape() {
        return Err(ShapeError::new_err(format!(
            "grads[{index}] must have the shape of params[{index}] {}, got {}",
            shape_str(param.shape()),
            shape_str(arr.shape())
        )));
    }
    if arr.is_c_contiguous() {
        return Ok(arr.clone());
    }
    let copy = py
        .import("numpy")?
        .getattr("ascontiguousarray")?
        .call1((arr,))?;
    Ok(copy.cast_into::<PyArrayDyn<T>>()?)
}

fn borrow_params<'py, T: Element>(
    py: Python<'py>,
    entries: &[Entry<'py, T>],
) -> PyResult<Vec<PyReadwriteArrayDyn<'py, T>>> {
    entries
        .iter()
        .map(|e| {
            e.param.try_readwrite().map_err(|_| {
                inplace_error(
                    py,
                    e.param.as_any(),
                    &format!("params[{}]", e.index),
                    "parameter",
                )
            })
        })
        .collect()
}

fn borrow_grads<'py, T: Element>(
    _py: Python<'py>,
    entries: &[Entry<'py, T>],
) -> PyResult<Vec<PyReadonlyArrayDyn<'py, T>>> {
    entries
        .iter()
        .map(|e| {
            e.grad.try_readonly().map_err(|_| {
                OutputError::new_err(format!(
                    "grads[{}] shares memory with a parameter or an optimizer state, which \
                         the step overwrites; pass a separate gradient array",
                    e.index
                ))
            })
        })
        .collect()
}

fn state_error(_py: Python<'_>, k: usize, message: String) -> PyErr {
    ParameterError::new_err(format!("states[{k}]: {message}"))
}

/// The flat buffers of one dtype: `states[k]` holds at most one array per dtype; an absent one
/// is only allowed when the group is empty. Each must have `total` elements.
fn flat_states<'py, T: Element>(
    py: Python<'py>,
    states: &[Vec<Bound<'py, PyAny>>; MAX_STATES],
    uses: [bool; MAX_STATES],
    total: usize,
    present: bool,
) -> PyResult<[Option<PyReadwriteArrayDyn<'py, T>>; MAX_STATES]> {
    let mut out: [Option<PyReadwriteArrayDyn<'py, T>>; MAX_STATES] = [None, None, None];
    for k in 0..MAX_STATES {
        if !uses[k] {
            continue;
        }
        let mut found = None;
        for obj in &states[k] {
            if let Ok(a) = obj.cast::<PyArrayDyn<T>>() {
                if found.is_some() {
                    return Err(state_error(
                        py,
                        k,
                        format!("two {} buffers", numpy::dtype::<T>(py)),
                    ));
                }
                found = Some(a.clone());
            }
        }
        match found {
            Some(a) => {
                if a.len() != total || !a.is_c_contiguous() {
                    return Err(state_error(
                        py,
                        k,
                        format!(
                            "the {} buffer must be C-contiguous with {total} elements, got {}",
                            numpy::dtype::<T>(py),
                            a.len()
                        ),
                    ));
                }
                let rw = a
                    .try_readwrite()
                    .map_err(|_| inplace_error(py, a.as_any(), &format!("states[{k}]"), "array"))?;
                out[k] = Some(rw);
            }
            None if present => {
                return Err(state_error(
                    py,
                    k,
                    format!("missing the {} buffer", numpy::dtype::<T>(py)),
                ))
            }
            None => {}
        }
    }
    Ok(out)
}

fn not_contiguous(_py: Python<'_>) -> PyErr {
    OutputError::new_err("arrays must be C-contiguous".to_string())
}

impl<'py, T: Element + Real> Borrowed<'py, T> {
    fn slots(&mut self, py: Python<'py>) -> PyResult<Vec<Slot<'_, T>>> {
        let mut flat: [Option<&mut [T]>; MAX_STATES] = [None, None, None];
        for (k, s) in self.states.iter_mut().enumerate() {
            if let Some(s) = s {
                flat[k] = Some(s.as_slice_mut().map_err(|_| not_contiguous(py))?);
            }
        }
        let mut out = Vec::with_capacity(self.params.len());
        for (p, g) in self.params.iter_mut().zip(self.grads.iter()) {
            let param = p.as_slice_mut().map_err(|_| not_contiguous(py))?;
            let grad = g.as_slice().map_err(|_| not_contiguous(py))?;
            let n = param.len();
            let mut state: [&mut [T]; MAX_STATES] = [&mut [], &mut [], &mut []];
            for (k, rest) in flat.iter_mut().enumerate() {
                if let Some(rest) = rest {
                    // The flat length was checked against the sum of the parameter sizes.
                    let take = n.min(rest.len());
                    let (head, tail) = std::mem::take(rest).split_at_mut(take);
                    state[k] = head;
                    *rest = tail;
                }
            }
            out.push(Slot::new(param, grad, state));
        }
        Ok(out)
    }
}

/// Checks, borrows and runs one optimizer step over all parameters. `states[k]` lists the flat
/// buffers (one per dtype present) of the k-th buffer the update uses.
fn run_step<'py, U: Update>(
    py: Python<'py>,
    update: U,
    params: Vec<Bound<'py, PyAny>>,
    grads: Vec<Bound<'py, PyAny>>,
    states: Vec<Vec<Bound<'py, PyAny>>>,
) -> PyResult<()> {
    update.validate().py_err(py)?;
    let n = params.len();
    if grads.len() != n {
        return Err(ShapeError::new_err(format!(
            "grads: expected {n} arrays (one per parameter), got {}",
            grads.len()
        )));
    }
    let uses = update.uses();
    let want = uses.iter().filter(|&&u| u).count();
    if states.len() != want {
        return Err(ParameterError::new_err(format!(
            "states: expected {want} lists of flat state buffers, got {}",
            states.len()
        )));
    }
    let mut placed: [Vec<Bound<'py, PyAny>>; MAX_STATES] = [Vec::new(), Vec::new(), Vec::new()];
    let mut lists = states.into_iter();
    for (k, used) in uses.iter().enumerate() {
        if *used {
            placed[k] = lists.next().unwrap_or_default();
        }
    }

    let mut e32: Vec<Entry<'py, f32>> = Vec::new();
    let mut e64: Vec<Entry<'py, f64>> = Vec::new();
    for (i, (p, g)) in params.iter().zip(grads.iter()).enumerate() {
        match inplace(py, p, "params", i)? {
            InPlace::F32(param) => {
                let grad = companion(py, g, i, &param)?;
                e32.push(Entry {
                    index: i,
                    param,
                    grad,
                });
            }
            InPlace::F64(param) => {
                let grad = companion(py, g, i, &param)?;
                e64.push(Entry {
                    index: i,
                    param,
                    grad,
                });
            }
        }
    }
    let total32: usize = e32.iter().map(|e| e.param.len()).sum();
    let total64: usize = e64.iter().map(|e| e.param.len()).sum();

    // Writers first, so that a gradient aliasing any of them is caught at its read borrow.
    let p32 = borrow_params(py, &e32)?;
    let p64 = borrow_params(py, &e64)?;
    let s32 = flat_states::<f32>(py, &placed, uses, total32, !e32.is_empty())?;
    let s64 = flat_states::<f64>(py, &placed, uses, total64, !e64.is_empty())?;
    let g32 = borrow_grads(py, &e32)?;
    let g64 = borrow_grads(py, &e64)?;
    let mut b32 = Borrowed {
        params: p32,
        grads: g32,
        states: s32,
    };
    let mut b64 = Borrowed {
        params: p64,
        grads: g64,
        states: s64,
    };
    let slots32 = b32.slots(py)?;
    let slots64 = b64.slots(py)?;
    py.detach(|| {
        if !slots32.is_empty() {
            update.apply(slots32)?;
        }
        if !slots64.is_empty() {
            update.apply(slots64)?;
        }
        Ok(())
    })
    .py_err(py)
}

#[pyfunction]
#[pyo3(signature = (params, grads, states, *, lr, momentum, dampening, weight_decay, nesterov, maximize, fresh_buffers))]
#[allow(clippy::too_many_arguments)]
fn sgd_step<'py>(
    py: Python<'py>,
    params: Vec<Bound<'py, PyAny>>,
    grads: Vec<Bound<'py, PyAny>>,
    states: Vec<Vec<Bound<'py, PyAny>>>,
    lr: f64,
    momentum: f64,
    dampening: f64,
    weight_decay: f64,
    nesterov: bool,
    maximize: bool,
    fresh_buffers: bool,
) -> PyResult<()> {
    let hp = optim::SgdParams {
        lr,
        momentum,
        dampening,
        weight_decay,
        nesterov,
        maximize,
    };
    let update = optim::Sgd { hp, fresh_buffers };
    run_step(py, update, params, grads, states)
}

#[pyfunction]
#[pyo3(signature = (params, grads, states, *, step, lr, beta1, beta2, eps, weight_decay, decoupled_weight_decay, amsgrad, maximize))]
#[allow(clippy::too_many_arguments)]
fn adam_step<'py>(
    py: Python<'py>,
    params: Vec<Bound<'py, PyAny>>,
    grads: Vec<Bound<'py, PyAny>>,
    states: Vec<Vec<Bound<'py, PyAny>>>,
    step: u64,
    lr: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    weight_decay: f64,
    decoupled_weight_decay: bool,
    amsgrad: bool,
    maximize: bool,
) -> PyResult<()> {
    let hp = optim::AdamParams {
        lr,
        beta1,
        beta2,
        eps,
        weight_decay,
        decoupled_weight_decay,
        amsgrad,
        maximize,
    };
    run_step(py, optim::Adam { hp, step }, params, grads, states)
}

#[pyfunction]
#[pyo3(signature = (params, grads, states, *, lr, alpha, eps, weight_decay, momentum, centered, maximize))]
#[allow(clippy::too_many_arguments)]
fn rmsprop_step<'py>(
    py: Python<'py>,
    params: Vec<Bound<'py, PyAny>>,
    grads: Vec<Bound<'py, PyAny>>,
    states: Vec<Vec<Bound<'py, PyAny>>>,
    lr: f64,
    alpha: f64,
    eps: f64,
    weight_decay: f64,
    momentum: f64,
    centered: bool,
    maximize: bool,
) -> PyResult<()> {
    let hp = optim::RmsPropParams {
        lr,
        alpha,
        eps,
        weight_decay,
        momentum,
        centered,
        maximize,
    };
    run_step(py, optim::RmsProp { hp }, params, grads, states)
}

#[pyfunction]
#[pyo3(signature = (params, grads, states, *, step, lr, lr_decay, weight_decay, initial_accumulator_value, eps, maximize))]
#[allow(clippy::too_many_arguments)]
fn adagrad_step<'py>(
    py: Python<'py>,
    params: Vec<Bound<'py, PyAny>>,
    grads: Vec<Bound<'py, PyAny>>,
    states: Vec<Vec<Bound<'py, PyAny>>>,
    step: u64,
    lr: f64,
    lr_decay: f64,
    weight_decay: f64,
    initial_accumulator_value: f64,
    eps: f64,
    maximize: bool,
) -> PyResult<()> {
    let hp = optim::AdagradParams {
        lr,
        lr_decay,
        weight_decay,
        initial_accumulator_value,
        eps,
        maximize,
    };
    run_step(py, optim::Adagrad { hp, step }, params, grads, states)
}

#[pyfunction]
#[pyo3(signature = (params, grads, states, *, lr, rho, eps, weight_decay, maximize))]
#[allow(clippy::too_many_arguments)]
fn adadelta_step<'py>(
    py: Python<'py>,
    params: Vec<Bound<'py, PyAny>>,
    grads: Vec<Bound<'py, PyAny>>,
    states: Vec<Vec<Bound<'py, PyAny>>>,
    lr: f64,
    rho: f64,
    eps: f64,
    weight_decay: f64,
    maximize: bool,
) -> PyResult<()> {
    let hp = optim::AdadeltaParams {
        lr,
        rho,
        eps,
        weight_decay,
        maximize,
    };
    run_step(py, optim::Adadelta { hp }, params, grads, states)
}

#[pyfunction]
#[pyo3(signature = (params, grads, states, *, step, lr, beta1, beta2, eps, weight_decay, maximize))]
#[allow(clippy::too_many_arguments)]
fn adamax_step<'py>(
    py: Python<'py>,
    params: Vec<Bound<'py, PyAny>>,
    grads: Vec<Bound<'py, PyAny>>,
    states: Vec<Vec<Bound<'py, PyAny>>>,
    step: u64,
    lr: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    weight_decay: f64,
    maximize: bool,
) -> PyResult<()> {
    let hp = optim::AdamaxParams {
        lr,
        beta1,
        beta2,
        eps,
        weight_decay,
        maximize,
    };
    run_step(py, optim::Adamax { hp, step }, params, grads, states)
}

/// Returns the `mu_product` to keep for the next step.
#[pyfunction]
#[pyo3(signature = (params, grads, states, *, step, mu_product, lr, beta1, beta2, eps, weight_decay, momentum_decay, decoupled_weight_decay, maximize))]
#[allow(clippy::too_many_arguments)]
fn nadam_step<'py>(
    py: Python<'py>,
    params: Vec<Bound<'py, PyAny>>,
    grads: Vec<Bound<'py, PyAny>>,
    states: Vec<Vec<Bound<'py, PyAny>>>,
    step: u64,
    mu_product: f64,
    lr: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    weight_decay: f64,
    momentum_decay: f64,
    decoupled_weight_decay: bool,
    maximize: bool,
) -> PyResult<f64> {
    let hp = optim::NAdamParams {
        lr,
        beta1,
        beta2,
        eps,
        weight_decay,
        momentum_decay,
        decoupled_weight_decay,
        maximize,
    };
    let update = optim::NAdam {
        hp,
        step,
        mu_product,
    };
    run_step(py, update, params, grads, states)?;
    Ok(update.next_mu_product())
}

#[pyfunction]
#[pyo3(signature = (params, grads, states, *, step, lr, beta1, beta2, eps, weight_decay, decoupled_weight_decay, maximize))]
#[allow(clippy::too_many_arguments)]
fn radam_step<'py>(
    py: Python<'py>,
    params: Vec<Bound<'py, PyAny>>,
    grads: Vec<Bound<'py, PyAny>>,
    states: Vec<Vec<Bound<'py, PyAny>>>,
    step: u64,
    lr: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    weight_decay: f64,
    decoupled_weight_decay: bool,
    maximize: bool,
) -> PyResult<()> {
    let hp = optim::RAdamParams {
        lr,
        beta1,
        beta2,
        eps,
        weight_decay,
        decoupled_weight_decay,
        maximize,
    };
    run_step(py, optim::RAdam { hp, step }, params, grads, states)
}

#[pyfunction]
#[pyo3(signature = (params, grads, states, *, lr, beta1, beta2, weight_decay))]
#[allow(clippy::too_many_arguments)]
fn lion_step<'py>(
    py: Python<'py>,
    params: Vec<Bound<'py, PyAny>>,
    grads: Vec<Bound<'py, PyAny>>,
    states: Vec<Vec<Bound<'py, PyAny>>>,
    lr: f64,
    beta1: f64,
    beta2: f64,
    weight_decay: f64,
) -> PyResult<()> {
    let hp = optim::LionParams {
        lr,
        beta1,
        beta2,
        weight_decay,
    };
    run_step(py, optim::Lion { hp }, params, grads, states)
}

/// In-place arrays (parameters, or gradients to clip), checked and borrowed for writing.
struct Writable<'py> {
    f32s: Vec<PyReadwriteArrayDyn<'py, f32>>,
    f64s: Vec<PyReadwriteArrayDyn<'py, f64>>,
}

fn writable<'py>(
    py: Python<'py>,
    arrays: &[Bound<'py, PyAny>],
    name: &str,
) -> PyResult<Writable<'py>> {
    let mut out = Writable {
        f32s: Vec::new(),
        f64s: Vec::new(),
    };
    let what = if name == "params" {
        "parameter"
    } else {
        "gradient"
    };
    for (i, obj) in arrays.iter().enumerate() {
        let item = || format!("{name}[{i}]");
        match inplace(py, obj, name, i)? {
            InPlace::F32(a) => out.f32s.push(
                a.try_readwrite()
                    .map_err(|_| inplace_error(py, obj, &item(), what))?,
            ),
            InPlace::F64(a) => out.f64s.push(
                a.try_readwrite()
                    .map_err(|_| inplace_error(py, obj, &item(), what))?,
            ),
        }
    }
    Ok(out)
}

fn slices_mut<'a, T: Element>(
    py: Python<'_>,
    arrays: &'a mut [PyReadwriteArrayDyn<'_, T>],
) -> PyResult<Vec<&'a mut [T]>> {
    arrays
        .iter_mut()
        .map(|a| a.as_slice_mut().map_err(|_| not_contiguous(py)))
        .collect()
}

/// Checks that `params` can be bound to an optimizer: float32/float64, C-contiguous, writable,
/// pairwise distinct in memory.
#[pyfunction]
fn optim_check_params<'py>(py: Python<'py>, params: Vec<Bound<'py, PyAny>>) -> PyResult<()> {
    writable(py, &params, "params").map(|_| ())
}

/// The total norm of `grads`; scales them in place by `min(max_norm / (norm + 1e-6), 1)`.
#[pyfunction]
#[pyo3(signature = (grads, max_norm, norm_type=2.0, error_if_nonfinite=false))]
fn clip_grad_norm<'py>(
    py: Python<'py>,
    grads: Vec<Bound<'py, PyAny>>,
    max_norm: f64,
    norm_type: f64,
    error_if_nonfinite: bool,
) -> PyResult<f64> {
    clip::check_max_norm(max_norm).py_err(py)?;
    let mut acc = clip::NormAccumulator::new(norm_type).py_err(py)?;
    let mut w = writable(py, &grads, "grads")?;
    let mut s32 = slices_mut(py, &mut w.f32s)?;
    let mut s64 = slices_mut(py, &mut w.f64s)?;
    let total = py.detach(|| {
        let r32: Vec<&[f32]> = s32.iter_mut().map(|s| &**s).collect();
        let r64: Vec<&[f64]> = s64.iter_mut().map(|s| &**s).collect();
        acc.add(&r32);
        acc.add(&r64);
        acc.total()
    });
    if error_if_nonfinite && !total.is_finite() {
        return Err(NonFiniteError::new_err(format!(
                "grads: the total norm of order {norm_type} is non-finite ({total}), so the \
                 gradients cannot be clipped (error_if_nonfinite=True); the gradients were left unchanged"
            ),
        ));
    }
    let coef = clip::clip_coefficient(max_norm, total);
    py.detach(|| {
        clip::scale(s32, coef);
        clip::scale(s64, coef);
    });
    Ok(total)
}

/// Clamps `grads` in place to `[-clip_value, clip_value]`.
#[pyfunction]
fn clip_grad_value<'py>(
    py: Python<'py>,
    grads: Vec<Bound<'py, PyAny>>,
    clip_value: f64,
) -> PyResult<()> {
    clip::check_clip_value(clip_value).py_err(py)?;
    let mut w = writable(py, &grads, "grads")?;
    let s32 = slices_mut(py, &mut w.f32s)?;
    let s64 = slices_mut(py, &mut w.f64s)?;
    py.detach(|| {
        clip::clamp(s32, clip_value)?;
        clip::clamp(s64, clip_value)
    })
    .py_err(py)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(sgd_step, m)?)?;
    m.add_function(wrap_pyfunction!(adam_step, m)?)?;
    m.add_function(wrap_pyfunction!(rmsprop_step, m)?)?;
    m.add_function(wrap_pyfunction!(adagrad_step, m)?)?;
    m.add_function(wrap_pyfunction!(adadelta_step, m)?)?;
    m.add_function(wrap_pyfunction!(adamax_step, m)?)?;
    m.add_function(wrap_pyfunction!(nadam_step, m)?)?;
    m.add_function(wrap_pyfunction!(radam_step, m)?)?;
    m.add_function(wrap_pyfunction!(lion_step, m)?)?;
    m.add_function(wrap_pyfunction!(optim_check_params, m)?)?;
    m.add_function(wrap_pyfunction!(clip_grad_norm, m)?)?;
    m.add_function(wrap_pyfunction!(clip_grad_value, m)?)?;
    Ok(())
}
