//! Bindings of the optimizers and gradient clipping.
//!
//! One call per step covers every parameter: the lists of parameters, gradients and state
//! buffers are checked (dtype, shape, contiguity), all borrowed at once through rust-numpy's
//! borrow checker (so a parameter passed twice, or a gradient aliasing a parameter, is a clean
//! error), and the core updates them with the GIL released. float32 and float64 parameters may
//! be mixed, and the parameters may form several groups (`torch.optim` param groups), each with
//! its own hyperparameters: every (group, dtype) pair is one core update inside the same call
//! and the same GIL release.

use crate::errors::{
    DTypeError, IntoPy, NonFiniteError, OutputError, ParameterError, ParameterTypeError, ShapeError,
};
use losscore_core::error::shape_str;
use losscore_core::optim::{self, clip, Slot, Update, MAX_STATES};
use losscore_core::Real;
use numpy::{
    Element, PyArrayDyn, PyArrayMethods, PyReadonlyArrayDyn, PyReadwriteArrayDyn, PyUntypedArray,
    PyUntypedArrayMethods,
};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyList, PyTuple};

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

/// One parameter group: the optimizer's own `param_groups[i]` dict, read as is (its `params`
/// list gives how many consecutive parameters of the call it covers; the hyperparameters are
/// under their `torch.optim` names, `betas` a pair).
struct Group<'py> {
    index: usize,
    dict: Bound<'py, PyDict>,
}

impl<'py> Group<'py> {
    /// `ParameterTypeError` for a value of the wrong type, `ParameterError` for a missing one.
    fn error(&self, key: &str, message: String) -> PyErr {
        self.error_at(format!("['{key}']"), message)
    }

    /// `path` follows `param_groups[i]` (`['betas'][1]`).
    fn error_at(&self, path: String, message: String) -> PyErr {
        let text = format!("param_groups[{}]{path}: {message}", self.index);
        if message == "missing" {
            ParameterError::new_err(text)
        } else {
            ParameterTypeError::new_err(text)
        }
    }

    fn get(&self, key: &str) -> PyResult<Bound<'py, PyAny>> {
        self.dict
            .get_item(key)?
            .ok_or_else(|| self.error(key, "missing".to_string()))
    }

    /// A number; bools are not numbers.
    fn f64(&self, key: &str) -> PyResult<f64> {
        let v = self.get(key)?;
        if v.is_instance_of::<PyBool>() {
            return Err(self.error(key, "expected a number, got a bool".to_string()));
        }
        v.extract::<f64>()
            .map_err(|_| self.error(key, format!("expected a number, got {}", dtype_name(&v))))
    }

    fn flag(&self, key: &str) -> PyResult<bool> {
        let v = self.get(key)?;
        v.extract::<bool>()
            .map_err(|_| self.error(key, format!("expected a bool, got {}", dtype_name(&v))))
    }

    /// `betas`: a pair of numbers.
    fn pair(&self, key: &str) -> PyResult<(f64, f64)> {
        let v = self.get(key)?;
        let bad = || {
            self.error(
                key,
                format!("expected a pair of floats, got {}", dtype_name(&v)),
            )
        };
        if !(v.is_instance_of::<PyTuple>() || v.is_instance_of::<PyList>()) || v.len()? != 2 {
            return Err(bad());
        }
        let mut out = [0.0; 2];
        for (k, slot) in out.iter_mut().enumerate() {
            let item = v.get_item(k)?;
            if item.is_instance_of::<PyBool>() {
                return Err(self.error_at(
                    format!("['{key}'][{k}]"),
                    "expected a number, got a bool".into(),
                ));
            }
            *slot = item.extract::<f64>().map_err(|_| {
                self.error_at(
                    format!("['{key}'][{k}]"),
                    format!("expected a number, got {}", dtype_name(&item)),
                )
            })?;
        }
        Ok((out[0], out[1]))
    }

    /// How many parameters the group holds (`len(group["params"])`).
    fn len(&self) -> PyResult<usize> {
        self.get("params")?.len()
    }
}

/// Reads every group's update and parameter count with `read(group, index)`; `lists` are the
/// per-group sequences (steps, ...) the update also needs, each checked to have one entry per
/// group.
fn read_groups<'py, U: Update>(
    _py: Python<'py>,
    groups: Vec<Bound<'py, PyDict>>,
    lists: &[(&str, usize)],
    read: impl Fn(&Group<'py>, usize) -> PyResult<U>,
) -> PyResult<Vec<(usize, U)>> {
    for (name, len) in lists {
        if *len != groups.len() {
            return Err(ShapeError::new_err(format!(
                "{name}: expected {} entries (one per group), got {len}",
                groups.len()
            )));
        }
    }
    groups
        .into_iter()
        .enumerate()
        .map(|(index, dict)| {
            let g = Group { index, dict };
            Ok((g.len()?, read(&g, index)?))
        })
        .collect()
}

/// `slots` (in parameter order, `indices[i]` the parameter index of `slots[i]`) distributed to
/// the groups' updates; `group_of[p]` is the group of parameter `p`.
fn grouped<'a, T, U: Update>(
    updates: &[(usize, U)],
    group_of: &[usize],
    indices: &[usize],
    slots: Vec<Slot<'a, T>>,
) -> Vec<(U, Vec<Slot<'a, T>>)> {
    let mut out: Vec<(U, Vec<Slot<'a, T>>)> =
        updates.iter().map(|&(_, u)| (u, Vec::new())).collect();
    for (slot, &i) in slots.into_iter().zip(indices) {
        out[group_of[i]].1.push(slot);
    }
    out
}

/// Checks, borrows and runs one optimizer step over all parameters and all groups (one call,
/// one GIL release). `states[k]` lists the flat buffers (one per dtype present) of the kernel's
/// buffer `k` (empty when no group uses it); each covers every parameter of its dtype.
fn run_step<'py, U: Update>(
    py: Python<'py>,
    updates: Vec<(usize, U)>,
    params: Vec<Bound<'py, PyAny>>,
    grads: Vec<Bound<'py, PyAny>>,
    states: Vec<Vec<Bound<'py, PyAny>>>,
    grad_scale: f64,
) -> PyResult<()> {
    if !(grad_scale.is_finite() && grad_scale >= 0.0) {
        return Err(ParameterError::new_err(format!(
            "grad_scale: must be finite and non-negative, got {grad_scale}"
        )));
    }
    for (_, update) in &updates {
        update.validate().py_err(py)?;
    }
    let n = params.len();
    let covered: usize = updates.iter().map(|(c, _)| c).sum();
    if covered != n {
        return Err(ShapeError::new_err(format!(
            "params: the groups cover {covered} parameters, got {n} arrays"
        )));
    }
    if grads.len() != n {
        return Err(ShapeError::new_err(format!(
            "grads: expected {n} arrays (one per parameter), got {}",
            grads.len()
        )));
    }
    if states.len() > MAX_STATES {
        return Err(ParameterError::new_err(format!(
            "states: expected at most {MAX_STATES} lists of flat state buffers, got {}",
            states.len()
        )));
    }
    let mut uses = [false; MAX_STATES];
    for (_, update) in &updates {
        for (k, u) in update.uses().iter().enumerate() {
            uses[k] |= *u;
        }
    }
    let mut placed: [Vec<Bound<'py, PyAny>>; MAX_STATES] = [Vec::new(), Vec::new(), Vec::new()];
    for (k, list) in states.into_iter().enumerate() {
        placed[k] = list;
    }
    let mut group_of = Vec::with_capacity(n);
    for (g, (count, _)) in updates.iter().enumerate() {
        group_of.extend(std::iter::repeat_n(g, *count));
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
    let i32s: Vec<usize> = e32.iter().map(|e| e.index).collect();
    let i64s: Vec<usize> = e64.iter().map(|e| e.index).collect();

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
    let groups32 = grouped(&updates, &group_of, &i32s, b32.slots(py)?);
    let groups64 = grouped(&updates, &group_of, &i64s, b64.slots(py)?);
    py.detach(|| {
        optim::apply_groups(groups32, grad_scale)?;
        optim::apply_groups(groups64, grad_scale)
    })
    .py_err(py)
}

#[pyfunction]
#[pyo3(signature = (params, grads, states, groups, fresh, *, grad_scale=1.0))]
fn sgd_step<'py>(
    py: Python<'py>,
    params: Vec<Bound<'py, PyAny>>,
    grads: Vec<Bound<'py, PyAny>>,
    states: Vec<Vec<Bound<'py, PyAny>>>,
    groups: Vec<Bound<'py, PyDict>>,
    fresh: Vec<bool>,
    grad_scale: f64,
) -> PyResult<()> {
    let updates = read_groups(py, groups, &[("fresh", fresh.len())], |g, i| {
        let hp = optim::SgdParams {
            lr: g.f64("lr")?,
            momentum: g.f64("momentum")?,
            dampening: g.f64("dampening")?,
            weight_decay: g.f64("weight_decay")?,
            nesterov: g.flag("nesterov")?,
            maximize: g.flag("maximize")?,
        };
        Ok(optim::Sgd {
            hp,
            fresh_buffers: fresh[i],
        })
    })?;
    run_step(py, updates, params, grads, states, grad_scale)
}

#[pyfunction]
#[pyo3(signature = (params, grads, states, groups, steps, *, grad_scale=1.0))]
fn adam_step<'py>(
    py: Python<'py>,
    params: Vec<Bound<'py, PyAny>>,
    grads: Vec<Bound<'py, PyAny>>,
    states: Vec<Vec<Bound<'py, PyAny>>>,
    groups: Vec<Bound<'py, PyDict>>,
    steps: Vec<u64>,
    grad_scale: f64,
) -> PyResult<()> {
    let updates = read_groups(py, groups, &[("steps", steps.len())], |g, i| {
        let (beta1, beta2) = g.pair("betas")?;
        let hp = optim::AdamParams {
            lr: g.f64("lr")?,
            beta1,
            beta2,
            eps: g.f64("eps")?,
            weight_decay: g.f64("weight_decay")?,
            decoupled_weight_decay: g.flag("decoupled_weight_decay")?,
            amsgrad: g.flag("amsgrad")?,
            maximize: g.flag("maximize")?,
        };
        Ok(optim::Adam { hp, step: steps[i] })
    })?;
    run_step(py, updates, params, grads, states, grad_scale)
}

#[pyfunction]
#[pyo3(signature = (params, grads, states, groups, *, grad_scale=1.0))]
fn rmsprop_step<'py>(
    py: Python<'py>,
    params: Vec<Bound<'py, PyAny>>,
    grads: Vec<Bound<'py, PyAny>>,
    states: Vec<Vec<Bound<'py, PyAny>>>,
    groups: Vec<Bound<'py, PyDict>>,
    grad_scale: f64,
) -> PyResult<()> {
    let updates = read_groups(py, groups, &[], |g, _| {
        let hp = optim::RmsPropParams {
            lr: g.f64("lr")?,
            alpha: g.f64("alpha")?,
            eps: g.f64("eps")?,
            weight_decay: g.f64("weight_decay")?,
            momentum: g.f64("momentum")?,
            centered: g.flag("centered")?,
            maximize: g.flag("maximize")?,
        };
        Ok(optim::RmsProp { hp })
    })?;
    run_step(py, updates, params, grads, states, grad_scale)
}

#[pyfunction]
#[pyo3(signature = (params, grads, states, groups, steps, *, grad_scale=1.0))]
fn adagrad_step<'py>(
    py: Python<'py>,
    params: Vec<Bound<'py, PyAny>>,
    grads: Vec<Bound<'py, PyAny>>,
    states: Vec<Vec<Bound<'py, PyAny>>>,
    groups: Vec<Bound<'py, PyDict>>,
    steps: Vec<u64>,
    grad_scale: f64,
) -> PyResult<()> {
    let updates = read_groups(py, groups, &[("steps", steps.len())], |g, i| {
        let hp = optim::AdagradParams {
            lr: g.f64("lr")?,
            lr_decay: g.f64("lr_decay")?,
            weight_decay: g.f64("weight_decay")?,
            initial_accumulator_value: g.f64("initial_accumulator_value")?,
            eps: g.f64("eps")?,
            maximize: g.flag("maximize")?,
        };
        Ok(optim::Adagrad { hp, step: steps[i] })
    })?;
    run_step(py, updates, params, grads, states, grad_scale)
}

#[pyfunction]
#[pyo3(signature = (params, grads, states, groups, *, grad_scale=1.0))]
fn adadelta_step<'py>(
    py: Python<'py>,
    params: Vec<Bound<'py, PyAny>>,
    grads: Vec<Bound<'py, PyAny>>,
    states: Vec<Vec<Bound<'py, PyAny>>>,
    groups: Vec<Bound<'py, PyDict>>,
    grad_scale: f64,
) -> PyResult<()> {
    let updates = read_groups(py, groups, &[], |g, _| {
        let hp = optim::AdadeltaParams {
            lr: g.f64("lr")?,
            rho: g.f64("rho")?,
            eps: g.f64("eps")?,
            weight_decay: g.f64("weight_decay")?,
            maximize: g.flag("maximize")?,
        };
        Ok(optim::Adadelta { hp })
    })?;
    run_step(py, updates, params, grads, states, grad_scale)
}

#[pyfunction]
#[pyo3(signature = (params, grads, states, groups, steps, *, grad_scale=1.0))]
fn adamax_step<'py>(
    py: Python<'py>,
    params: Vec<Bound<'py, PyAny>>,
    grads: Vec<Bound<'py, PyAny>>,
    states: Vec<Vec<Bound<'py, PyAny>>>,
    groups: Vec<Bound<'py, PyDict>>,
    steps: Vec<u64>,
    grad_scale: f64,
) -> PyResult<()> {
    let updates = read_groups(py, groups, &[("steps", steps.len())], |g, i| {
        let (beta1, beta2) = g.pair("betas")?;
        let hp = optim::AdamaxParams {
            lr: g.f64("lr")?,
            beta1,
            beta2,
            eps: g.f64("eps")?,
            weight_decay: g.f64("weight_decay")?,
            maximize: g.flag("maximize")?,
        };
        Ok(optim::Adamax { hp, step: steps[i] })
    })?;
    run_step(py, updates, params, grads, states, grad_scale)
}

/// Returns each group's `mu_product` to keep for its next step.
#[pyfunction]
#[pyo3(signature = (params, grads, states, groups, steps, mu_products, *, grad_scale=1.0))]
#[allow(clippy::too_many_arguments)]
fn nadam_step<'py>(
    py: Python<'py>,
    params: Vec<Bound<'py, PyAny>>,
    grads: Vec<Bound<'py, PyAny>>,
    states: Vec<Vec<Bound<'py, PyAny>>>,
    groups: Vec<Bound<'py, PyDict>>,
    steps: Vec<u64>,
    mu_products: Vec<f64>,
    grad_scale: f64,
) -> PyResult<Vec<f64>> {
    let updates = read_groups(
        py,
        groups,
        &[("steps", steps.len()), ("mu_products", mu_products.len())],
        |g, i| {
            let (beta1, beta2) = g.pair("betas")?;
            let hp = optim::NAdamParams {
                lr: g.f64("lr")?,
                beta1,
                beta2,
                eps: g.f64("eps")?,
                weight_decay: g.f64("weight_decay")?,
                momentum_decay: g.f64("momentum_decay")?,
                decoupled_weight_decay: g.flag("decoupled_weight_decay")?,
                maximize: g.flag("maximize")?,
            };
            Ok(optim::NAdam {
                hp,
                step: steps[i],
                mu_product: mu_products[i],
            })
        },
    )?;
    let next = updates.iter().map(|(_, u)| u.next_mu_product()).collect();
    run_step(py, updates, params, grads, states, grad_scale)?;
    Ok(next)
}

#[pyfunction]
#[pyo3(signature = (params, grads, states, groups, steps, *, grad_scale=1.0))]
fn radam_step<'py>(
    py: Python<'py>,
    params: Vec<Bound<'py, PyAny>>,
    grads: Vec<Bound<'py, PyAny>>,
    states: Vec<Vec<Bound<'py, PyAny>>>,
    groups: Vec<Bound<'py, PyDict>>,
    steps: Vec<u64>,
    grad_scale: f64,
) -> PyResult<()> {
    let updates = read_groups(py, groups, &[("steps", steps.len())], |g, i| {
        let (beta1, beta2) = g.pair("betas")?;
        let hp = optim::RAdamParams {
            lr: g.f64("lr")?,
            beta1,
            beta2,
            eps: g.f64("eps")?,
            weight_decay: g.f64("weight_decay")?,
            decoupled_weight_decay: g.flag("decoupled_weight_decay")?,
            maximize: g.flag("maximize")?,
        };
        Ok(optim::RAdam { hp, step: steps[i] })
    })?;
    run_step(py, updates, params, grads, states, grad_scale)
}

#[pyfunction]
#[pyo3(signature = (params, grads, states, groups, *, grad_scale=1.0))]
fn lion_step<'py>(
    py: Python<'py>,
    params: Vec<Bound<'py, PyAny>>,
    grads: Vec<Bound<'py, PyAny>>,
    states: Vec<Vec<Bound<'py, PyAny>>>,
    groups: Vec<Bound<'py, PyDict>>,
    grad_scale: f64,
) -> PyResult<()> {
    let updates = read_groups(py, groups, &[], |g, _| {
        let (beta1, beta2) = g.pair("betas")?;
        let hp = optim::LionParams {
            lr: g.f64("lr")?,
            beta1,
            beta2,
            weight_decay: g.f64("weight_decay")?,
        };
        Ok(optim::Lion { hp })
    })?;
    run_step(py, updates, params, grads, states, grad_scale)
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

/// The total norm of `arrays` (read only; the same norm `clip_grad_norm` computes).
#[pyfunction]
#[pyo3(signature = (arrays, norm_type=2.0))]
fn grad_norm<'py>(
    py: Python<'py>,
    arrays: Vec<Bound<'py, PyAny>>,
    norm_type: f64,
) -> PyResult<f64> {
    let mut acc = clip::NormAccumulator::new(norm_type).py_err(py)?;
    let mut r32: Vec<PyReadonlyArrayDyn<'py, f32>> = Vec::new();
    let mut r64: Vec<PyReadonlyArrayDyn<'py, f64>> = Vec::new();
    for (i, obj) in arrays.iter().enumerate() {
        let readonly =
            |e: numpy::BorrowError| OutputError::new_err(format!("grads[{i}] cannot be read: {e}"));
        if let Ok(a) = obj.cast::<PyArrayDyn<f32>>() {
            r32.push(contiguous(py, a)?.try_readonly().map_err(readonly)?);
        } else if let Ok(a) = obj.cast::<PyArrayDyn<f64>>() {
            r64.push(contiguous(py, a)?.try_readonly().map_err(readonly)?);
        } else {
            return Err(DTypeError::new_err(format!(
                "grads[{i}] must be a numpy array of dtype float32 or float64, got {}",
                dtype_name(obj)
            )));
        }
    }
    let s32: Vec<&[f32]> = r32
        .iter()
        .map(|a| a.as_slice().map_err(|_| not_contiguous(py)))
        .collect::<PyResult<_>>()?;
    let s64: Vec<&[f64]> = r64
        .iter()
        .map(|a| a.as_slice().map_err(|_| not_contiguous(py)))
        .collect::<PyResult<_>>()?;
    Ok(py.detach(|| {
        acc.add(&s32);
        acc.add(&s64);
        acc.total()
    }))
}

/// `arr` itself when C-contiguous, else a contiguous copy.
fn contiguous<'py, T: Element>(
    py: Python<'py>,
    arr: &Bound<'py, PyArrayDyn<T>>,
) -> PyResult<Bound<'py, PyArrayDyn<T>>> {
    if arr.is_c_contiguous() {
        return Ok(arr.clone());
    }
    let copy = py
        .import("numpy")?
        .getattr("ascontiguousarray")?
        .call1((arr,))?;
    Ok(copy.cast_into::<PyArrayDyn<T>>()?)
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
    m.add_function(wrap_pyfunction!(grad_norm, m)?)?;
    Ok(())
}
