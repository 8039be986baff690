//! The loss functions of `_core`: one `#[pyfunction]` per loss, all with the same convention,
//! `f(first, target, <hyperparameters>, weight=None, reduction=..., out=None, with_grad=False,
//! *, with_hess=False, hess_out=None, partials=False, offset=0)`: the wrapper's parameters in
//! the wrapper's order and with its defaults (the wrappers pass them positionally: keyword
//! parsing costs ~45 ns an argument), then the switches. `with_hess=True` returns
//! `(value, grad, hess)` (the gradient is implied): `out` receives the gradient, `hess_out` the
//! Hessian diagonal. With `partials=True` the result is the `Partials` of a chunk whose first
//! row along the leading axis is row `offset` of the whole array. The internal keyword
//! `_objective=(scale, hess_floor)` (for `losscore.gbdt`: one keyword, and the reduction and
//! `with_hess` need not be passed) returns `(grad, hess)` of the per-unit `w * l` without the
//! loss value, `grad = d l * (w * scale)`, `hess = max(d2 l * (w * scale), hess_floor * w)`
//! (no floor when `hess_floor` is 0). Each builds its checked core configuration and hands it
//! to one of the two layouts of [`crate::pipeline`].

use crate::arrays::LossFloats;
use crate::arrays::{borrow_error, class_target, like, loss_floats, ClassTarget, Floats};
use crate::errors::{IntoPy, ShapeError, TargetError};
use crate::params::{arg, parse_reduction, row_arg};
use crate::pipeline::{self, Call, RowOptions};
use losscore_core::error::shape_str;
use losscore_core::loss::binary::{
    Bce, BceWithLogits, Hinge, KlDiv, SigmoidFocal, SoftMargin, SquaredHinge,
};
use losscore_core::loss::classification::{CrossEntropy, MultiMargin, Nll};
use losscore_core::loss::deviance::{GammaDeviance, PoissonDeviance, TweedieDeviance};
use losscore_core::loss::multilabel::MultilabelSoftMargin;
use losscore_core::loss::regression::{Huber, LogCosh, Mae, Mse, Pinball, PoissonNll, SmoothL1};
use losscore_core::loss::softmax_focal::SoftmaxFocal;
use losscore_core::loss::{Loss, Request};
use losscore_core::{reduce, LossError, Real};
use numpy::{Element, PyArrayMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::prelude::*;

fn ok<L>(loss: L) -> Result<L, LossError> {
    Ok(loss)
}

/// Defines an element-wise loss. `|T| expr` builds the checked core loss for dtype `T`;
/// `[pos_weight]` adds the column-factor argument.
macro_rules! elementwise {
    ($name:ident, $first:ident, $red:tt, $batchmean:tt,
     [$($p:ident : $pt:ty = $def:tt),*], $(cols = $cols:ident,)? |$T:ident| $make:expr) => {
        #[pyfunction]
        #[pyo3(signature = ($first, target, $($p = $def,)* weight = None, reduction = $red,
                            out = None, with_grad = false, *, with_hess = false,
                            hess_out = None, partials = false, offset = 0, _objective = None))]
        #[allow(clippy::too_many_arguments)]
        fn $name<'py>(
            py: Python<'py>,
            $first: &Bound<'py, PyAny>,
            target: &Bound<'py, PyAny>,
            $(#[pyo3(from_py_with = arg::$p)] $p: $pt,)*
            weight: Option<&Bound<'py, PyAny>>,
            #[pyo3(from_py_with = arg::reduction)] reduction: &str,
            out: Option<&Bound<'py, PyAny>>,
            #[pyo3(from_py_with = arg::with_grad)] with_grad: bool,
            #[pyo3(from_py_with = arg::with_hess)] with_hess: bool,
            hess_out: Option<&Bound<'py, PyAny>>,
            #[pyo3(from_py_with = arg::partials)] partials: bool,
            #[pyo3(from_py_with = arg::offset)] offset: usize,
            #[pyo3(from_py_with = arg::objective)] _objective: Option<(f64, f64)>,
        ) -> PyResult<Bound<'py, PyAny>> {
            let reduction = parse_reduction(reduction, $batchmean)?;
            let call = Call {
                py, first: stringify!($first), target, weight, reduction, out, with_grad,
                with_hess, hess_out, partials: partials.then_some(offset), objective: _objective,
            };
            // The column factors (`pos_weight`), where the loss has them.
            #[allow(unused_variables)]
            let cols: Option<Bound<'py, PyAny>> = None;
            $(let cols = $cols;)?
            match loss_floats($first, stringify!($first))? {
                LossFloats::Full(Floats::F32(x)) => {
                    type $T = f32;
                    pipeline::elementwise::<$T, _>(call, x, cols.as_ref(), $make.py_err(py)?)
                }
                LossFloats::Full(Floats::F64(x)) => {
                    type $T = f64;
                    pipeline::elementwise::<$T, _>(call, x, cols.as_ref(), $make.py_err(py)?)
                }
                // Half precision: the float32 kernel, chunk by chunk.
                LossFloats::F16(x) => {
                    #[allow(dead_code)]
                    type $T = f32;
                    pipeline::elementwise::<half::f16, _>(
                        call, x, cols.as_ref(), $make.py_err(py)?,
                    )
                }
                LossFloats::BF16(x) => {
                    #[allow(dead_code)]
                    type $T = f32;
                    pipeline::elementwise::<half::bf16, _>(
                        call, x, cols.as_ref(), $make.py_err(py)?,
                    )
                }
            }
        }
    };
}

elementwise!(mse, pred, "mean", false, [], |T| ok(Mse));
elementwise!(mae, pred, "mean", false, [], |T| ok(Mae));
elementwise!(huber, pred, "mean", false, [delta: f64 = 1.0], |T| Huber::<T>::new(delta));
elementwise!(smooth_l1, pred, "mean", false, [beta: f64 = 1.0], |T| SmoothL1::<T>::new(beta));
elementwise!(log_cosh, pred, "mean", false, [], |T| ok(LogCosh));
elementwise!(pinball, pred, "mean", false, [quantile: f64 = 0.5], |T| {
    Pinball::<T>::new(quantile)
});
elementwise!(
    poisson_nll, pred, "mean", false,
    [log_input: bool = true, full: bool = false, eps: f64 = 1e-8],
    |T| PoissonNll::<T>::new(log_input, full, eps)
);
elementwise!(poisson_deviance, pred, "mean", false, [], |T| ok(
    PoissonDeviance
));
elementwise!(gamma_deviance, pred, "mean", false, [], |T| ok(
    GammaDeviance
));
elementwise!(tweedie_deviance, pred, "mean", false, [power: f64 = 0.0], |T| {
    TweedieDeviance::<T>::new(power)
});
elementwise!(binary_cross_entropy, prob, "mean", false, [], |T| ok(Bce));
elementwise!(
    binary_cross_entropy_with_logits, logits, "mean", false,
    [pos_weight: Option<Bound<'py, PyAny>> = None, label_smoothing: f64 = 0.0],
    cols = pos_weight,
    |T| BceWithLogits::<T>::new(label_smoothing)
);
elementwise!(
    sigmoid_focal, logits, "mean", false, [alpha: f64 = 0.25, gamma: f64 = 2.0],
    |T| SigmoidFocal::<T>::new(alpha, gamma)
);
elementwise!(soft_margin, pred, "mean", false, [], |T| ok(SoftMargin));
elementwise!(hinge, pred, "mean", false, [margin: f64 = 1.0], |T| Hinge::<T>::new(margin));
elementwise!(squared_hinge, pred, "mean", false, [margin: f64 = 1.0], |T| {
    SquaredHinge::<T>::new(margin)
});
elementwise!(kl_div, log_pred, "batchmean", true, [log_target: bool = false], |T| ok(
    KlDiv { log_target }
));

/// `cross_entropy`'s options.
#[derive(Clone, Copy)]
struct CrossEntropyOptions {
    ignore_index: Option<i64>,
    label_smoothing: f64,
}

impl<T: Real> RowOptions<T> for CrossEntropyOptions {
    const NAME: &'static str = "cross_entropy";
    const PROBABILITIES: bool = true;
    fn run(
        &self,
        classes: usize,
        cw: Option<&[T]>,
        req: Request<'_, T>,
    ) -> Result<reduce::Partials, LossError> {
        CrossEntropy::new(classes, cw, self.ignore_index, self.label_smoothing)?.run(req)
    }
}

/// `nll_loss`'s options.
#[derive(Clone, Copy)]
struct NllOptions {
    ignore_index: Option<i64>,
}

impl<T: Real> RowOptions<T> for NllOptions {
    const NAME: &'static str = "nll_loss";
    const PROBABILITIES: bool = false;
    fn run(
        &self,
        classes: usize,
        cw: Option<&[T]>,
        req: Request<'_, T>,
    ) -> Result<reduce::Partials, LossError> {
        Nll::new(classes, cw, self.ignore_index)?.run(req)
    }
}

/// `multi_margin`'s options.
#[derive(Clone, Copy)]
struct MultiMarginOptions {
    p: i64,
    margin: f64,
}

impl<T: Real> RowOptions<T> for MultiMarginOptions {
    const NAME: &'static str = "multi_margin";
    const PROBABILITIES: bool = false;
    fn run(
        &self,
        classes: usize,
        cw: Option<&[T]>,
        req: Request<'_, T>,
    ) -> Result<reduce::Partials, LossError> {
        MultiMargin::new(classes, self.p, self.margin, cw)?.run(req)
    }
}

/// Defines a row loss. `options` builds its options; `check` validates the scalar ones before
/// any array work, so they are reported first. Optionally `extract = module` names the module
/// of the argument extractors (default [`arg`]) and `prepare = f` converts the target and the
/// class weights (`$cw`) once the first argument's dtype and shape are known.
macro_rules! rows {
    ($name:ident, $first:ident, [$($p:ident : $pt:ty = $def:tt),*], $cw:ident, $options:expr,
     $check:expr) => {
        rows!(@ arg, $name, $first, [$($p : $pt = $def),*], $cw, $options, $check, []);
    };
    ($name:ident, $first:ident, [$($p:ident : $pt:ty = $def:tt),*], $cw:ident, $options:expr,
     $check:expr, extract = $args:ident, prepare = $prep:ident) => {
        rows!(@ $args, $name, $first, [$($p : $pt = $def),*], $cw, $options, $check, [$prep]);
    };
    (@ $args:ident, $name:ident, $first:ident, [$($p:ident : $pt:ty = $def:tt),*], $cw:ident,
     $options:expr, $check:expr, [$($prep:ident)?]) => {
        #[pyfunction]
        #[pyo3(signature = ($first, target, $($p = $def,)* weight = None, reduction = "mean",
                            out = None, with_grad = false, *, with_hess = false,
                            hess_out = None, partials = false, offset = 0, _objective = None))]
        #[allow(clippy::too_many_arguments)]
        fn $name<'py>(
            py: Python<'py>,
            $first: &Bound<'py, PyAny>,
            target: &Bound<'py, PyAny>,
            $(#[pyo3(from_py_with = $args::$p)] $p: $pt,)*
            weight: Option<&Bound<'py, PyAny>>,
            #[pyo3(from_py_with = arg::reduction)] reduction: &str,
            out: Option<&Bound<'py, PyAny>>,
            #[pyo3(from_py_with = arg::with_grad)] with_grad: bool,
            #[pyo3(from_py_with = arg::with_hess)] with_hess: bool,
            hess_out: Option<&Bound<'py, PyAny>>,
            #[pyo3(from_py_with = arg::partials)] partials: bool,
            #[pyo3(from_py_with = arg::offset)] offset: usize,
            #[pyo3(from_py_with = arg::objective)] _objective: Option<(f64, f64)>,
        ) -> PyResult<Bound<'py, PyAny>> {
            let reduction = parse_reduction(reduction, false)?;
            let options = $options;
            $check.py_err(py)?;
            let x = loss_floats($first, stringify!($first))?;
            $(
                let name = stringify!($first);
                let (prepared, $cw) = match &x {
                    LossFloats::Full(Floats::F32(a)) => $prep::<f32>(name, a.shape(), target, $cw)?,
                    LossFloats::Full(Floats::F64(a)) => $prep::<f64>(name, a.shape(), target, $cw)?,
                    LossFloats::F16(a) => $prep::<half::f16>(name, a.shape(), target, $cw)?,
                    LossFloats::BF16(a) => $prep::<half::bf16>(name, a.shape(), target, $cw)?,
                };
                let target = &prepared;
            )?
            let call = Call {
                py, first: stringify!($first), target, weight, reduction, out, with_grad,
                with_hess, hess_out, partials: partials.then_some(offset), objective: _objective,
            };
            match x {
                LossFloats::Full(Floats::F32(x)) => {
                    pipeline::rows::<f32, _>(call, x, $cw.as_ref(), options)
                }
                LossFloats::Full(Floats::F64(x)) => {
                    pipeline::rows::<f64, _>(call, x, $cw.as_ref(), options)
                }
                LossFloats::F16(x) => pipeline::rows::<half::f16, _>(call, x, $cw.as_ref(), options),
                LossFloats::BF16(x) => {
                    pipeline::rows::<half::bf16, _>(call, x, $cw.as_ref(), options)
                }
            }
        }
    };
}

rows!(
    cross_entropy, logits,
    [
        class_weight: Option<Bound<'py, PyAny>> = None,
        ignore_index: Option<i64> = None,
        label_smoothing: f64 = 0.0
    ],
    class_weight,
    CrossEntropyOptions { ignore_index, label_smoothing },
    CrossEntropy::<f64>::new(0, None, None, label_smoothing)
);
rows!(
    nll_loss, log_probs,
    [class_weight: Option<Bound<'py, PyAny>> = None, ignore_index: Option<i64> = None],
    class_weight,
    NllOptions { ignore_index },
    Ok::<(), LossError>(())
);
rows!(
    multi_margin, logits,
    [p: i64 = 1, margin: f64 = 1.0, class_weight: Option<Bound<'py, PyAny>> = None],
    class_weight,
    MultiMarginOptions { p, margin },
    MultiMargin::<f64>::new(0, p, margin, None)
);

/// `softmax_focal`'s options.
#[derive(Clone, Copy)]
struct SoftmaxFocalOptions {
    gamma: f64,
}

impl<T: Real> RowOptions<T> for SoftmaxFocalOptions {
    const NAME: &'static str = "softmax_focal";
    const PROBABILITIES: bool = false;
    fn run(
        &self,
        classes: usize,
        alpha: Option<&[T]>,
        req: Request<'_, T>,
    ) -> Result<reduce::Partials, LossError> {
        SoftmaxFocal::new(classes, self.gamma, alpha)?.run(req)
    }
}

/// `alpha` as `(C,)` values of the logits' dtype, named in messages as `alpha` (the pipeline
/// then takes it as the class weights); the target as it is.
fn focal_alpha<'py, T: Element>(
    first: &'static str,
    shape: &[usize],
    target: &Bound<'py, PyAny>,
    alpha: Option<Bound<'py, PyAny>>,
) -> PyResult<(Bound<'py, PyAny>, Option<Bound<'py, PyAny>>)> {
    let Some(alpha) = alpha else {
        return Ok((target.clone(), None));
    };
    let a = like::<T>(&alpha, "alpha")?;
    let classes = shape.last().copied().unwrap_or(0);
    if a.shape() != [classes] {
        return Err(ShapeError::new_err(format!(
            "alpha must have shape ({classes},) (the size of the last axis of {first}), got {}",
            shape_str(a.shape())
        )));
    }
    Ok((target.clone(), Some(a.into_any())))
}

/// `multilabel_soft_margin`'s options.
#[derive(Clone, Copy)]
struct MultilabelOptions;

impl<T: Real> RowOptions<T> for MultilabelOptions {
    const NAME: &'static str = "multilabel_soft_margin";
    const PROBABILITIES: bool = true;
    fn run(
        &self,
        classes: usize,
        cw: Option<&[T]>,
        req: Request<'_, T>,
    ) -> Result<reduce::Partials, LossError> {
        MultilabelSoftMargin::new(classes, cw)?.run(req)
    }
}

/// The multi-label target as values of the logits' dtype and shape: float values as they are
/// (soft labels, like PyTorch), integer ones must be 0/1 labels; booleans are refused.
fn label_values<'py, T: Element>(
    first: &'static str,
    shape: &[usize],
    target: &Bound<'py, PyAny>,
    class_weight: Option<Bound<'py, PyAny>>,
) -> PyResult<(Bound<'py, PyAny>, Option<Bound<'py, PyAny>>)> {
    let (values, integer) = match class_target::<T>(target, "multilabel_soft_margin", true)? {
        ClassTarget::Prob(t) => (t.into_any(), None),
        ClassTarget::Index(y) => (y.clone().into_any(), Some(y)),
    };
    let got = match &integer {
        Some(y) => y.shape().to_vec(),
        None => values
            .cast::<PyUntypedArray>()
            .map_err(|_| borrow_error("target"))?
            .shape()
            .to_vec(),
    };
    if got != shape {
        return Err(ShapeError::new_err(format!(
            "target (labels) must have {first}'s shape {}, got {}",
            shape_str(shape),
            shape_str(&got)
        )));
    }
    let Some(y) = integer else {
        return Ok((values, class_weight));
    };
    let ro = y.try_readonly().map_err(|_| borrow_error("target"))?;
    let labels = ro.as_slice().map_err(|_| borrow_error("target"))?;
    if let Some(i) = labels.iter().position(|&v| v != 0 && v != 1) {
        return Err(TargetError::new_err(format!(
            "target: integer labels of multilabel_soft_margin must be 0 or 1, got {} at flat \
             index {i} (pass floats for soft labels)",
            labels[i]
        )));
    }
    drop(ro);
    Ok((like::<T>(y.as_any(), "target")?.into_any(), class_weight))
}

rows!(
    softmax_focal, logits,
    [gamma: f64 = 2.0, alpha: Option<Bound<'py, PyAny>> = None],
    alpha,
    SoftmaxFocalOptions { gamma },
    SoftmaxFocal::<f64>::new(0, gamma, None),
    extract = row_arg,
    prepare = focal_alpha
);
rows!(
    multilabel_soft_margin, logits,
    [class_weight: Option<Bound<'py, PyAny>> = None],
    class_weight,
    MultilabelOptions,
    Ok::<(), LossError>(()),
    extract = arg,
    prepare = label_values
);

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<crate::partials::Partials>()?;
    for f in [
        wrap_pyfunction!(mse, m)?,
        wrap_pyfunction!(mae, m)?,
        wrap_pyfunction!(huber, m)?,
        wrap_pyfunction!(smooth_l1, m)?,
        wrap_pyfunction!(log_cosh, m)?,
        wrap_pyfunction!(pinball, m)?,
        wrap_pyfunction!(poisson_nll, m)?,
        wrap_pyfunction!(poisson_deviance, m)?,
        wrap_pyfunction!(gamma_deviance, m)?,
        wrap_pyfunction!(tweedie_deviance, m)?,
        wrap_pyfunction!(binary_cross_entropy, m)?,
        wrap_pyfunction!(binary_cross_entropy_with_logits, m)?,
        wrap_pyfunction!(sigmoid_focal, m)?,
        wrap_pyfunction!(soft_margin, m)?,
        wrap_pyfunction!(hinge, m)?,
        wrap_pyfunction!(squared_hinge, m)?,
        wrap_pyfunction!(kl_div, m)?,
        wrap_pyfunction!(cross_entropy, m)?,
        wrap_pyfunction!(nll_loss, m)?,
        wrap_pyfunction!(multi_margin, m)?,
        wrap_pyfunction!(softmax_focal, m)?,
        wrap_pyfunction!(multilabel_soft_margin, m)?,
    ] {
        m.add_function(f)?;
    }
    Ok(())
}
