//! Bindings of the regression losses. Each function: extract, build the core loss, run the
//! shared pointwise driver with the GIL released, return a float (or arrays).

use crate::arrays::{borrow_error, borrow_ro, borrow_rw, floats, like, output, Floats};
use crate::errors::{raise, IntoPy};
use crate::params::{param, reduction_name};
use losscore_core::loss::regression::{Huber, LogCosh, Mae, Mse, Pinball, PoissonNll, SmoothL1};
use losscore_core::loss::{block_partials, evaluate, Pointwise, Specialize, Visit};
use losscore_core::{Real, Reduction};
use numpy::{Element, PyArrayDyn, PyArrayMethods, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::PyTuple;

/// Runs a pointwise loss. Returns `value` or `(value, grad)`; `value` is a float, or an array of
/// per-element losses with `reduction="none"`.
#[allow(clippy::too_many_arguments)]
pub fn run_pointwise<'py, T: Element + Real, L: Pointwise<T>>(
    py: Python<'py>,
    loss: L,
    pred: Bound<'py, PyArrayDyn<T>>,
    target: &Bound<'py, PyAny>,
    weight: Option<&Bound<'py, PyAny>>,
    reduction: Reduction,
    out: Option<&Bound<'py, PyAny>>,
    with_grad: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let (target, weight) = checked_inputs::<T>(py, &pred, target, weight)?;
    let shape = pred.shape().to_vec();
    let grad = if with_grad {
        Some(output::<T>(py, out, &shape, "out")?)
    } else {
        None
    };
    let per_element = if reduction == Reduction::None {
        Some(output::<T>(py, None, &shape, "loss")?)
    } else {
        None
    };

    let p_ro = pred.try_readonly().map_err(|_| borrow_error(py, "pred"))?;
    let t_ro = target
        .try_readonly()
        .map_err(|_| borrow_error(py, "target"))?;
    let w_ro = borrow_ro(py, weight.as_ref(), "weight")?;
    let mut g_rw = borrow_rw(py, grad.as_ref(), "out")?;
    let mut l_rw = borrow_rw(py, per_element.as_ref(), "loss")?;
    // Unreachable after the checks above; kept as an error rather than a panic.
    let contiguous = |py| raise(py, "OutputError", "inputs must be C-contiguous".to_string());
    let p = p_ro.as_slice().map_err(|_| contiguous(py))?;
    let t = t_ro.as_slice().map_err(|_| contiguous(py))?;
    let w = match &w_ro {
        Some(w) => Some(w.as_slice().map_err(|_| contiguous(py))?),
        None => None,
    };
    let g = match &mut g_rw {
        Some(g) => Some(g.as_slice_mut().map_err(|_| contiguous(py))?),
        None => None,
    };
    let l = match &mut l_rw {
        Some(l) => Some(l.as_slice_mut().map_err(|_| contiguous(py))?),
        None => None,
    };
    let prevalidate = out.is_some();
    let value = py
        .detach(|| evaluate(loss, p, t, w, reduction, l, g, prevalidate))
        .py_err(py)?;
    drop((p_ro, t_ro, w_ro, g_rw, l_rw));

    let value: Bound<'py, PyAny> = match per_element {
        Some(arr) => arr.into_any(),
        None => value.into_pyobject(py)?.into_any(),
    };
    match grad {
        Some(g) => Ok(PyTuple::new(py, [value, g.into_any()])?.into_any()),
        None => Ok(value),
    }
}

/// `(loss_partials, weight_partials | None)`: the block partials a chunked evaluation combines
/// exactly (`math.fsum`) to reproduce the in-memory result bit for bit.
pub fn run_partials<'py, T: Element + Real, L: Pointwise<T>>(
    py: Python<'py>,
    loss: L,
    pred: Bound<'py, PyArrayDyn<T>>,
    target: &Bound<'py, PyAny>,
    weight: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let (target, weight) = checked_inputs::<T>(py, &pred, target, weight)?;
    let p_ro = pred.try_readonly().map_err(|_| borrow_error(py, "pred"))?;
    let t_ro = target
        .try_readonly()
        .map_err(|_| borrow_error(py, "target"))?;
    let w_ro = borrow_ro(py, weight.as_ref(), "weight")?;
    let p = p_ro.as_slice()?;
    let t = t_ro.as_slice()?;
    let w = match &w_ro {
        Some(w) => Some(w.as_slice()?),
        None => None,
    };
    let (lp, wp) = py.detach(|| block_partials(loss, p, t, w)).py_err(py)?;
    let lp = numpy::PyArray1::from_vec(py, lp).into_any();
    let wp = match wp {
        Some(v) => numpy::PyArray1::from_vec(py, v).into_any(),
        None => py.None().into_bound(py),
    };
    Ok(PyTuple::new(py, [lp, wp])?.into_any())
}

type Inputs<'py, T> = (Bound<'py, PyArrayDyn<T>>, Option<Bound<'py, PyArrayDyn<T>>>);

/// Casts `target` (and `weight`) to `pred`'s dtype and checks they have `pred`'s shape.
fn checked_inputs<'py, T: Element>(
    py: Python<'py>,
    pred: &Bound<'py, PyArrayDyn<T>>,
    target: &Bound<'py, PyAny>,
    weight: Option<&Bound<'py, PyAny>>,
) -> PyResult<Inputs<'py, T>> {
    let target = like::<T>(target, "target")?;
    let shape = pred.shape();
    if target.shape() != shape {
        return Err(shape_error(py, "target", shape, target.shape()));
    }
    let weight = match weight {
        Some(w) => {
            let w = like::<T>(w, "weight")?;
            if w.shape() != shape {
                return Err(shape_error(py, "weight", shape, w.shape()));
            }
            Some(w)
        }
        None => None,
    };
    Ok((target, weight))
}

fn shape_error(py: Python<'_>, name: &'static str, pred: &[usize], other: &[usize]) -> PyErr {
    crate::errors::to_pyerr(
        py,
        losscore_core::LossError::ShapeMismatch {
            left: "pred",
            left_shape: pred.to_vec(),
            right: name,
            right_shape: other.to_vec(),
        },
    )
}

pub fn parse_reduction(py: Python<'_>, name: &str) -> PyResult<Reduction> {
    Reduction::from_name(name, false).py_err(py)
}

/// One call of a pointwise loss, waiting for its concrete kernel type.
struct Call<'a, 'py, T: Element> {
    py: Python<'py>,
    pred: Bound<'py, PyArrayDyn<T>>,
    target: &'a Bound<'py, PyAny>,
    weight: Option<&'a Bound<'py, PyAny>>,
    reduction: Reduction,
    out: Option<&'a Bound<'py, PyAny>>,
    with_grad: bool,
    partials: bool,
}

impl<'py, T: Element + Real> Visit<T> for Call<'_, 'py, T> {
    type Output = PyResult<Bound<'py, PyAny>>;

    fn visit<L: Pointwise<T>>(self, loss: L) -> Self::Output {
        let Call {
            py,
            pred,
            target,
            weight,
            reduction,
            out,
            with_grad,
            partials,
        } = self;
        if partials {
            return run_partials(py, loss, pred, target, weight);
        }
        run_pointwise(py, loss, pred, target, weight, reduction, out, with_grad)
    }
}

/// Defines a `#[pyfunction]` for a pointwise loss. `|T| expr` builds the core loss for dtype `T`.
/// Hyperparameters have no defaults here: the Python wrapper owns them (and passes them all).
macro_rules! pointwise_loss {
    ($name:ident, ($($p:ident : $pt:ty),*), |$T:ident| $make:expr) => {
        #[pyfunction]
        #[pyo3(signature = (pred, target, weight=None, reduction=None, out=None, with_grad=false $(, $p=None)*, *, partials=false))]
        #[allow(clippy::too_many_arguments)]
        fn $name<'py>(
            py: Python<'py>,
            pred: &Bound<'py, PyAny>,
            target: &Bound<'py, PyAny>,
            weight: Option<&Bound<'py, PyAny>>,
            reduction: Option<&Bound<'py, PyAny>>,
            out: Option<&Bound<'py, PyAny>>,
            with_grad: bool,
            $($p: Option<&Bound<'py, PyAny>>,)*
            partials: bool,
        ) -> PyResult<Bound<'py, PyAny>> {
            let reduction = parse_reduction(py, &reduction_name(py, reduction)?)?;
            $(let $p: $pt = param(py, $p, stringify!($p))?;)*
            match floats(pred, "pred")? {
                Floats::F32(pred) => {
                    type $T = f32;
                    let call: Call<'_, 'py, $T> =
                        Call { py, pred, target, weight, reduction, out, with_grad, partials };
                    $make.py_err(py)?.specialize(call)
                }
                Floats::F64(pred) => {
                    type $T = f64;
                    let call: Call<'_, 'py, $T> =
                        Call { py, pred, target, weight, reduction, out, with_grad, partials };
                    $make.py_err(py)?.specialize(call)
                }
            }
        }
    };
}

fn ok<L>(loss: L) -> Result<L, losscore_core::LossError> {
    Ok(loss)
}

pointwise_loss!(mse, (), |T| ok(Mse));
pointwise_loss!(mae, (), |T| ok(Mae));
pointwise_loss!(huber, (delta: f64), |T| Huber::<T>::new(delta));
pointwise_loss!(smooth_l1, (beta: f64), |T| SmoothL1::<T>::new(beta));
pointwise_loss!(log_cosh, (), |T| ok(LogCosh));
pointwise_loss!(pinball, (quantile: f64), |T| Pinball::<T>::new(quantile));
pointwise_loss!(
    poisson_nll,
    (log_input: bool, full: bool, eps: f64),
    |T| PoissonNll::<T>::new(log_input, full, eps)
);

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(mse, m)?)?;
    m.add_function(wrap_pyfunction!(mae, m)?)?;
    m.add_function(wrap_pyfunction!(huber, m)?)?;
    m.add_function(wrap_pyfunction!(smooth_l1, m)?)?;
    m.add_function(wrap_pyfunction!(log_cosh, m)?)?;
    m.add_function(wrap_pyfunction!(pinball, m)?)?;
    m.add_function(wrap_pyfunction!(poisson_nll, m)?)?;
    Ok(())
}
