//! Bindings of the classification losses: extract and check arrays, borrow them, run the core
//! driver (pointwise or rows) with the GIL released, return a float (or arrays).

use crate::arrays::{borrow_error, borrow_ro, borrow_rw, floats, like, output, Floats};
use crate::errors::{raise, IntoPy};
use losscore_core::error::shape_str;
use losscore_core::loss::classification::{
    evaluate_rows, Bce, BceLogits, BceLogitsPosWeight, CrossEntropy, Hinge, KlDiv, Labels,
    MultiMargin, Nll, SigmoidFocal, SoftMargin, SquaredHinge,
};
use losscore_core::loss::{block_partials_ext, evaluate_ext, Inputs, Pointwise};
use losscore_core::{LossError, Real, Reduction};
use numpy::{Element, PyArray1, PyArrayDyn, PyArrayMethods, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::PyTuple;

fn shape_error(py: Python<'_>, message: String) -> PyErr {
    raise(py, "ShapeError", message)
}

fn contiguous_err(py: Python<'_>) -> PyErr {
    raise(py, "OutputError", "arrays must be C-contiguous".to_string())
}

fn result<'py, T: Element>(
    py: Python<'py>,
    value: f64,
    per_element: Option<Bound<'py, PyArrayDyn<T>>>,
    grad: Option<Bound<'py, PyArrayDyn<T>>>,
) -> PyResult<Bound<'py, PyAny>> {
    let value: Bound<'py, PyAny> = match per_element {
        Some(arr) => arr.into_any(),
        None => value.into_pyobject(py)?.into_any(),
    };
    match grad {
        Some(g) => Ok(PyTuple::new(py, [value, g.into_any()])?.into_any()),
        None => Ok(value),
    }
}

/// Runs an element-wise loss; `pos_weight` becomes the per-column factor.
#[allow(clippy::too_many_arguments)]
fn run_elementwise<'py, T: Element + Real, L: Pointwise<T>>(
    py: Python<'py>,
    loss: L,
    first: &'static str,
    pred: Bound<'py, PyArrayDyn<T>>,
    target: &Bound<'py, PyAny>,
    pos_weight: Option<&Bound<'py, PyAny>>,
    weight: Option<&Bound<'py, PyAny>>,
    reduction: Reduction,
    out: Option<&Bound<'py, PyAny>>,
    with_grad: bool,
    partials: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let shape = pred.shape().to_vec();
    let same_shape = |arr: &Bound<'py, PyArrayDyn<T>>, name: &'static str| -> PyResult<()> {
        if arr.shape() != shape.as_slice() {
            return Err(crate::errors::to_pyerr(
                py,
                LossError::ShapeMismatch {
                    left: first,
                    left_shape: shape.clone(),
                    right: name,
                    right_shape: arr.shape().to_vec(),
                },
            ));
        }
        Ok(())
    };
    let target = like::<T>(target, "target")?;
    same_shape(&target, "target")?;
    let weight = match weight {
        Some(w) => {
            let w = like::<T>(w, "weight")?;
            same_shape(&w, "weight")?;
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
                return Err(shape_error(
                    py,
                    format!(
                        "pos_weight shape {} does not broadcast along the trailing axes of {first} \
                         shape {} (expected (C,) with C = {first}.shape[-1], trailing axes of {first}, or a single value)",
                        shape_str(ps),
                        shape_str(&shape)
                    ),
                ));
            }
            Some(pw)
        }
        None => None,
    };
    let batch = shape.first().copied().unwrap_or(1);
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
    let p_ro = pred.try_readonly().map_err(|_| borrow_error(py, first))?;
    let t_ro = target
        .try_readonly()
        .map_err(|_| borrow_error(py, "target"))?;
    let w_ro = borrow_ro(py, weight.as_ref(), "weight")?;
    let pw_ro = borrow_ro(py, pos_weight.as_ref(), "pos_weight")?;
    let mut g_rw = borrow_rw(py, grad.as_ref(), "out")?;
    let mut l_rw = borrow_rw(py, per_element.as_ref(), "loss")?;
    let inputs = Inputs {
        pred: p_ro.as_slice().map_err(|_| contiguous_err(py))?,
        target: t_ro.as_slice().map_err(|_| contiguous_err(py))?,
        cols: match &pw_ro {
            Some(w) => Some(w.as_slice().map_err(|_| contiguous_err(py))?),
            None => None,
        },
        weight: match &w_ro {
            Some(w) => Some(w.as_slice().map_err(|_| contiguous_err(py))?),
            None => None,
        },
    };
    let g = match &mut g_rw {
        Some(g) => Some(g.as_slice_mut().map_err(|_| contiguous_err(py))?),
        None => None,
    };
    let l = match &mut l_rw {
        Some(l) => Some(l.as_slice_mut().map_err(|_| contiguous_err(py))?),
        None => None,
    };
    if partials {
        // Block partials for chunked evaluation (losscore.evaluate), combined exactly there.
        let (lp, wp) = py
            .detach(|| block_partials_ext(loss, inputs))
            .map_err(|e| crate::errors::to_pyerr(py, e))?;
        drop((p_ro, t_ro, w_ro, pw_ro, g_rw, l_rw));
        let lp = numpy::PyArray1::from_vec(py, lp).into_any();
        let wp = match wp {
            Some(v) => numpy::PyArray1::from_vec(py, v).into_any(),
            None => py.None().into_bound(py),
        };
        return Ok(pyo3::types::PyTuple::new(py, [lp, wp])?.into_any());
    }
    let prevalidate = out.is_some();
    let value = match py.detach(|| evaluate_ext(loss, inputs, reduction, batch, l, g, prevalidate))
    {
        Ok(v) => v,
        // A bad first argument (BCE probabilities) is named as such, not as "target".
        Err(LossError::InvalidTarget { index, message }) if message.starts_with(first) => {
            return Err(raise(
                py,
                "TargetError",
                format!("{message} (at flat index {index})"),
            ))
        }
        Err(e) => return Err(crate::errors::to_pyerr(py, e)),
    };
    drop((p_ro, t_ro, w_ro, pw_ro, g_rw, l_rw));
    result(py, value, per_element, grad)
}

fn parse(py: Python<'_>, name: &str, batchmean: bool) -> PyResult<Reduction> {
    Reduction::from_name(name, batchmean).py_err(py)
}

/// Defines a `#[pyfunction]` for an element-wise classification loss.
macro_rules! elementwise_loss {
    ($name:ident, $first:ident, $default_red:literal, $batchmean:literal,
     ($($p:ident : $pt:ty = $def:expr),*), |$T:ident| $make:expr) => {
        #[pyfunction]
        #[pyo3(signature = ($first, target, $($p=$def,)* weight=None, reduction=$default_red, out=None, with_grad=false, *, partials=false))]
        #[allow(clippy::too_many_arguments)]
        fn $name<'py>(
            py: Python<'py>,
            $first: &Bound<'py, PyAny>,
            target: &Bound<'py, PyAny>,
            $($p: $pt,)*
            weight: Option<&Bound<'py, PyAny>>,
            reduction: &str,
            out: Option<&Bound<'py, PyAny>>,
            with_grad: bool,
            partials: bool,
        ) -> PyResult<Bound<'py, PyAny>> {
            let reduction = parse(py, reduction, $batchmean)?;
            match floats($first, stringify!($first))? {
                Floats::F32(pred) => {
                    type $T = f32;
                    let loss = $make.py_err(py)?;
                    run_elementwise::<$T, _>(py, loss, stringify!($first), pred, target, None,
                                             weight, reduction, out, with_grad, partials)
                }
                Floats::F64(pred) => {
                    type $T = f64;
                    let loss = $make.py_err(py)?;
                    run_elementwise::<$T, _>(py, loss, stringify!($first), pred, target, None,
                                             weight, reduction, out, with_grad, partials)
                }
            }
        }
    };
}

fn ok<L>(loss: L) -> Result<L, LossError> {
    Ok(loss)
}

elementwise_loss!(binary_cross_entropy, prob, "mean", false, (), |T| ok(Bce));
elementwise_loss!(soft_margin, pred, "mean", false, (), |T| ok(SoftMargin));
elementwise_loss!(hinge, pred, "mean", false, (margin: f64 = 1.0), |T| Hinge::<T>::new(margin));
elementwise_loss!(squared_hinge, pred, "mean", false, (margin: f64 = 1.0), |T| {
    SquaredHinge::<T>::new(margin)
});
elementwise_loss!(kl_div, log_pred, "batchmean", true, (log_target: bool = false), |T| ok(
    KlDiv { log_target }
));

#[pyfunction]
#[pyo3(signature = (logits, target, pos_weight=None, weight=None, reduction="mean", out=None, with_grad=false, *, partials=false))]
#[allow(clippy::too_many_arguments)]
fn binary_cross_entropy_with_logits<'py>(
    py: Python<'py>,
    logits: &Bound<'py, PyAny>,
    target: &Bound<'py, PyAny>,
    pos_weight: Option<&Bound<'py, PyAny>>,
    weight: Option<&Bound<'py, PyAny>>,
    reduction: &str,
    out: Option<&Bound<'py, PyAny>>,
    with_grad: bool,
    partials: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let reduction = parse(py, reduction, false)?;
    macro_rules! go {
        ($pred:expr) => {
            match pos_weight {
                Some(pw) => run_elementwise(
                    py,
                    BceLogitsPosWeight,
                    "logits",
                    $pred,
                    target,
                    Some(pw),
                    weight,
                    reduction,
                    out,
                    with_grad,
                    partials,
                ),
                None => run_elementwise(
                    py, BceLogits, "logits", $pred, target, None, weight, reduction, out,
                    with_grad, partials,
                ),
            }
        };
    }
    match floats(logits, "logits")? {
        Floats::F32(pred) => go!(pred),
        Floats::F64(pred) => go!(pred),
    }
}

#[pyfunction]
#[pyo3(signature = (logits, target, alpha=0.25, gamma=2.0, weight=None, reduction="mean", out=None, with_grad=false, *, partials=false))]
#[allow(clippy::too_many_arguments)]
fn sigmoid_focal<'py>(
    py: Python<'py>,
    logits: &Bound<'py, PyAny>,
    target: &Bound<'py, PyAny>,
    alpha: f64,
    gamma: f64,
    weight: Option<&Bound<'py, PyAny>>,
    reduction: &str,
    out: Option<&Bound<'py, PyAny>>,
    with_grad: bool,
    partials: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let reduction = parse(py, reduction, false)?;
    // gamma = 2 (the default) takes the squared form: no ln/exp for the power.
    macro_rules! go {
        ($T:ty, $pred:expr) => {
            if gamma == 2.0 {
                let loss = SigmoidFocal::<$T, true>::new(alpha, gamma).py_err(py)?;
                run_elementwise(
                    py, loss, "logits", $pred, target, None, weight, reduction, out, with_grad,
                    partials,
                )
            } else {
                let loss = SigmoidFocal::<$T, false>::new(alpha, gamma).py_err(py)?;
                run_elementwise(
                    py, loss, "logits", $pred, target, None, weight, reduction, out, with_grad,
                    partials,
                )
            }
        };
    }
    match floats(logits, "logits")? {
        Floats::F32(pred) => go!(f32, pred),
        Floats::F64(pred) => go!(f64, pred),
    }
}

/// Which row loss to run, with its scalar options.
#[derive(Clone, Copy)]
enum RowKind {
    CrossEntropy { ignore: Option<i64>, smoothing: f64 },
    Nll { ignore: Option<i64> },
    MultiMargin { p: i64, margin: f64 },
}

impl RowKind {
    fn name(self) -> &'static str {
        match self {
            RowKind::CrossEntropy { .. } => "cross_entropy",
            RowKind::Nll { .. } => "nll_loss",
            RowKind::MultiMargin { .. } => "multi_margin",
        }
    }
}

/// The target of a row loss: class indices (int64) or probabilities (the logits' dtype).
enum Target<'py, T: Element> {
    Index(Bound<'py, PyArrayDyn<i64>>),
    Prob(Bound<'py, PyArrayDyn<T>>),
}

/// A C-contiguous array of integer dtype `I` copied into a new int64 array of the same shape.
fn widen<'py, I: Element + Copy + Into<i64>>(
    obj: &Bound<'py, PyAny>,
) -> PyResult<Option<Bound<'py, PyArrayDyn<i64>>>> {
    let Ok(a) = obj.cast::<PyArrayDyn<I>>() else {
        return Ok(None);
    };
    if !a.is_c_contiguous() {
        return Ok(None);
    }
    let ro = a
        .try_readonly()
        .map_err(|_| borrow_error(obj.py(), "target"))?;
    let Ok(values) = ro.as_slice() else {
        return Ok(None);
    };
    let wide: Vec<i64> = values.iter().map(|&v| v.into()).collect();
    Ok(Some(
        PyArray1::from_vec(obj.py(), wide).reshape(a.shape().to_vec())?,
    ))
}

fn class_target<'py, T: Element>(
    target: &Bound<'py, PyAny>,
    kind: RowKind,
) -> PyResult<Target<'py, T>> {
    let py = target.py();
    if let Ok(a) = target.cast::<PyArrayDyn<i64>>() {
        if a.is_c_contiguous() {
            return Ok(Target::Index(a.clone()));
        }
    }
    // Narrower integer dtypes are widened here: the Python fallback costs microseconds.
    macro_rules! widen {
        ($($t:ty),*) => {$(
            if let Some(a) = widen::<$t>(target)? {
                return Ok(Target::Index(a));
            }
        )*};
    }
    widen!(i32, u8, i8, i16, u16, u32);
    // Slow path: any integer dtype becomes int64 (range-checked), floats are probabilities.
    let converted = py
        .import("losscore.classification")?
        .getattr("_class_target")?
        .call1((target,))?;
    if let Ok(a) = converted.cast::<PyArrayDyn<i64>>() {
        if a.is_c_contiguous() {
            return Ok(Target::Index(a.clone()));
        }
    }
    if !matches!(kind, RowKind::CrossEntropy { .. }) {
        let dtype = converted
            .getattr("dtype")
            .map(|d| d.to_string())
            .unwrap_or_default();
        return Err(raise(
            py,
            "DTypeError",
            format!(
                "target: {} takes integer class indices, got dtype {dtype}",
                kind.name()
            ),
        ));
    }
    Ok(Target::Prob(like::<T>(&converted, "target")?))
}

#[allow(clippy::too_many_arguments)]
fn run_rows<'py, T: Element + Real>(
    py: Python<'py>,
    kind: RowKind,
    first: &'static str,
    logits: Bound<'py, PyArrayDyn<T>>,
    target: &Bound<'py, PyAny>,
    class_weight: Option<&Bound<'py, PyAny>>,
    weight: Option<&Bound<'py, PyAny>>,
    reduction: Reduction,
    out: Option<&Bound<'py, PyAny>>,
    with_grad: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let shape = logits.shape().to_vec();
    let Some((&classes, sample_shape)) = shape.split_last() else {
        return Err(shape_error(
            py,
            format!(
                "{first} must have at least one dimension (the class axis, last), got shape ()"
            ),
        ));
    };
    let rows: usize = sample_shape.iter().product();
    let target = class_target::<T>(target, kind)?;
    match &target {
        Target::Index(y) if y.shape() != sample_shape => {
            return Err(shape_error(
                py,
                format!(
                    "target (class indices) must have shape {} ({first} shape {} without the \
                     class axis), got {}",
                    shape_str(sample_shape),
                    shape_str(&shape),
                    shape_str(y.shape())
                ),
            ))
        }
        Target::Prob(t) if t.shape() != shape.as_slice() => {
            return Err(shape_error(
                py,
                format!(
                    "target (class probabilities) must have {first}'s shape {}, got {}; class \
                     indices must have an integer dtype",
                    shape_str(&shape),
                    shape_str(t.shape())
                ),
            ))
        }
        Target::Prob(_)
            if matches!(
                kind,
                RowKind::CrossEntropy {
                    ignore: Some(_),
                    ..
                }
            ) =>
        {
            return Err(raise(
                py,
                "ParameterError",
                "ignore_index: not supported with probability targets".to_string(),
            ))
        }
        _ => {}
    }
    let weight = match weight {
        Some(w) => {
            let w = like::<T>(w, "weight")?;
            if w.shape() != sample_shape {
                return Err(shape_error(
                    py,
                    format!(
                        "weight (per sample) must have shape {} ({first} shape {} without the \
                         class axis), got {}",
                        shape_str(sample_shape),
                        shape_str(&shape),
                        shape_str(w.shape())
                    ),
                ));
            }
            Some(w)
        }
        None => None,
    };
    let class_weight = match class_weight {
        Some(w) => {
            let w = like::<T>(w, "class_weight")?;
            if w.shape() != [classes] {
                return Err(shape_error(
                    py,
                    format!(
                        "class_weight must have shape ({classes},) (the size of the last axis of \
                         {first}), got {}",
                        shape_str(w.shape())
                    ),
                ));
            }
            Some(w)
        }
        None => None,
    };
    let grad = if with_grad {
        Some(output::<T>(py, out, &shape, "out")?)
    } else {
        None
    };
    let per_sample = if reduction == Reduction::None {
        Some(output::<T>(py, None, sample_shape, "loss")?)
    } else {
        None
    };
    let x_ro = logits.try_readonly().map_err(|_| borrow_error(py, first))?;
    let (y_ro, t_ro) = match &target {
        Target::Index(y) => (
            Some(y.try_readonly().map_err(|_| borrow_error(py, "target"))?),
            None,
        ),
        Target::Prob(t) => (
            None,
            Some(t.try_readonly().map_err(|_| borrow_error(py, "target"))?),
        ),
    };
    let w_ro = borrow_ro(py, weight.as_ref(), "weight")?;
    let cw_ro = borrow_ro(py, class_weight.as_ref(), "class_weight")?;
    let mut g_rw = borrow_rw(py, grad.as_ref(), "out")?;
    let mut l_rw = borrow_rw(py, per_sample.as_ref(), "loss")?;
    let x = x_ro.as_slice().map_err(|_| contiguous_err(py))?;
    let labels = match (&y_ro, &t_ro) {
        (Some(y), _) => Labels::Index(y.as_slice().map_err(|_| contiguous_err(py))?),
        (None, Some(t)) => Labels::Prob(t.as_slice().map_err(|_| contiguous_err(py))?),
        (None, None) => unreachable!("one target kind is always borrowed"),
    };
    let w = match &w_ro {
        Some(w) => Some(w.as_slice().map_err(|_| contiguous_err(py))?),
        None => None,
    };
    let cw = match &cw_ro {
        Some(w) => Some(w.as_slice().map_err(|_| contiguous_err(py))?),
        None => None,
    };
    let g = match &mut g_rw {
        Some(g) => Some(g.as_slice_mut().map_err(|_| contiguous_err(py))?),
        None => None,
    };
    let l = match &mut l_rw {
        Some(l) => Some(l.as_slice_mut().map_err(|_| contiguous_err(py))?),
        None => None,
    };
    let prevalidate = out.is_some();
    let value = py
        .detach(|| match kind {
            RowKind::CrossEntropy { ignore, smoothing } => {
                let loss = CrossEntropy::new(classes, cw, ignore, smoothing)?;
                evaluate_rows(&loss, x, rows, labels, w, reduction, l, g, prevalidate)
            }
            RowKind::Nll { ignore } => {
                let loss = Nll::new(classes, cw, ignore)?;
                evaluate_rows(&loss, x, rows, labels, w, reduction, l, g, prevalidate)
            }
            RowKind::MultiMargin { p, margin } => {
                let loss = MultiMargin::new(classes, p, margin, cw)?;
                evaluate_rows(&loss, x, rows, labels, w, reduction, l, g, prevalidate)
            }
        })
        .py_err(py)?;
    drop((x_ro, y_ro, t_ro, w_ro, cw_ro, g_rw, l_rw));
    result(py, value, per_sample, grad)
}

/// Checks the scalar options before any array work (so they are reported first).
fn check_kind(kind: RowKind) -> Result<(), LossError> {
    match kind {
        RowKind::CrossEntropy { smoothing, .. } => {
            CrossEntropy::<f64>::new(0, None, None, smoothing).map(|_| ())
        }
        RowKind::MultiMargin { p, margin } => {
            MultiMargin::<f64>::new(0, p, margin, None).map(|_| ())
        }
        RowKind::Nll { .. } => Ok(()),
    }
}

#[allow(clippy::too_many_arguments)]
fn rows_entry<'py>(
    py: Python<'py>,
    kind: RowKind,
    first: &'static str,
    logits: &Bound<'py, PyAny>,
    target: &Bound<'py, PyAny>,
    class_weight: Option<&Bound<'py, PyAny>>,
    weight: Option<&Bound<'py, PyAny>>,
    reduction: &str,
    out: Option<&Bound<'py, PyAny>>,
    with_grad: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let reduction = parse(py, reduction, false)?;
    check_kind(kind).py_err(py)?;
    match floats(logits, first)? {
        Floats::F32(x) => run_rows(
            py,
            kind,
            first,
            x,
            target,
            class_weight,
            weight,
            reduction,
            out,
            with_grad,
        ),
        Floats::F64(x) => run_rows(
            py,
            kind,
            first,
            x,
            target,
            class_weight,
            weight,
            reduction,
            out,
            with_grad,
        ),
    }
}

/// An optional integer option (int64 range); anything else is a `ParameterError`.
fn int_option(py: Python<'_>, v: Option<&Bound<'_, PyAny>>, name: &str) -> PyResult<Option<i64>> {
    let Some(v) = v else { return Ok(None) };
    if v.is_none() {
        return Ok(None);
    }
    let is_int = v.is_instance_of::<pyo3::types::PyInt>()
        || v.hasattr("__index__").unwrap_or(false) && !v.is_instance_of::<pyo3::types::PyFloat>();
    match v.extract::<i64>() {
        Ok(i) if is_int => Ok(Some(i)),
        _ => Err(raise(
            py,
            "ParameterError",
            format!("{name}: must be an integer in the int64 range, got {v}"),
        )),
    }
}

#[pyfunction]
#[pyo3(signature = (logits, target, class_weight=None, ignore_index=None, label_smoothing=0.0, weight=None, reduction="mean", out=None, with_grad=false))]
#[allow(clippy::too_many_arguments)]
fn cross_entropy<'py>(
    py: Python<'py>,
    logits: &Bound<'py, PyAny>,
    target: &Bound<'py, PyAny>,
    class_weight: Option<&Bound<'py, PyAny>>,
    ignore_index: Option<&Bound<'py, PyAny>>,
    label_smoothing: f64,
    weight: Option<&Bound<'py, PyAny>>,
    reduction: &str,
    out: Option<&Bound<'py, PyAny>>,
    with_grad: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let kind = RowKind::CrossEntropy {
        ignore: int_option(py, ignore_index, "ignore_index")?,
        smoothing: label_smoothing,
    };
    rows_entry(
        py,
        kind,
        "logits",
        logits,
        target,
        class_weight,
        weight,
        reduction,
        out,
        with_grad,
    )
}

#[pyfunction]
#[pyo3(signature = (log_probs, target, class_weight=None, ignore_index=None, weight=None, reduction="mean", out=None, with_grad=false))]
#[allow(clippy::too_many_arguments)]
fn nll_loss<'py>(
    py: Python<'py>,
    log_probs: &Bound<'py, PyAny>,
    target: &Bound<'py, PyAny>,
    class_weight: Option<&Bound<'py, PyAny>>,
    ignore_index: Option<&Bound<'py, PyAny>>,
    weight: Option<&Bound<'py, PyAny>>,
    reduction: &str,
    out: Option<&Bound<'py, PyAny>>,
    with_grad: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let kind = RowKind::Nll {
        ignore: int_option(py, ignore_index, "ignore_index")?,
    };
    rows_entry(
        py,
        kind,
        "log_probs",
        log_probs,
        target,
        class_weight,
        weight,
        reduction,
        out,
        with_grad,
    )
}

#[pyfunction]
#[pyo3(signature = (logits, target, p=None, margin=1.0, class_weight=None, weight=None, reduction="mean", out=None, with_grad=false))]
#[allow(clippy::too_many_arguments)]
fn multi_margin<'py>(
    py: Python<'py>,
    logits: &Bound<'py, PyAny>,
    target: &Bound<'py, PyAny>,
    p: Option<&Bound<'py, PyAny>>,
    margin: f64,
    class_weight: Option<&Bound<'py, PyAny>>,
    weight: Option<&Bound<'py, PyAny>>,
    reduction: &str,
    out: Option<&Bound<'py, PyAny>>,
    with_grad: bool,
) -> PyResult<Bound<'py, PyAny>> {
    // None means the default p = 1.
    let p = int_option(py, p, "p")?.unwrap_or(1);
    let kind = RowKind::MultiMargin { p, margin };
    rows_entry(
        py,
        kind,
        "logits",
        logits,
        target,
        class_weight,
        weight,
        reduction,
        out,
        with_grad,
    )
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(binary_cross_entropy, m)?)?;
    m.add_function(wrap_pyfunction!(binary_cross_entropy_with_logits, m)?)?;
    m.add_function(wrap_pyfunction!(sigmoid_focal, m)?)?;
    m.add_function(wrap_pyfunction!(soft_margin, m)?)?;
    m.add_function(wrap_pyfunction!(hinge, m)?)?;
    m.add_function(wrap_pyfunction!(squared_hinge, m)?)?;
    m.add_function(wrap_pyfunction!(kl_div, m)?)?;
    m.add_function(wrap_pyfunction!(cross_entropy, m)?)?;
    m.add_function(wrap_pyfunction!(nll_loss, m)?)?;
    m.add_function(wrap_pyfunction!(multi_margin, m)?)?;
    Ok(())
}
