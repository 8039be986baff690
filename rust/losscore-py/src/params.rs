//! Scalar arguments (hyperparameters, flags, the reduction). Each extracts strictly: a str or a
//! bool is not a number, a number is not a bool; a wrong type raises
//! `losscore.errors.ParameterTypeError` naming the argument (PyO3 passes that error through).

use crate::errors::{ParameterError, ParameterTypeError};
use losscore_core::Reduction;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyFloat, PyInt, PyString};

fn type_error(obj: &Bound<'_, PyAny>, name: &str, expected: &str) -> PyErr {
    let got = obj
        .get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".to_string());
    ParameterTypeError::new_err(format!("{name} must be {expected}, got {got}"))
}

/// Extracts a scalar argument, naming it in the error.
pub fn named<T: Param>(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<T> {
    T::extract_param(obj).ok_or_else(|| type_error(obj, name, T::EXPECTED))
}

/// A scalar argument type.
pub trait Param: Sized {
    /// What the message says is expected.
    const EXPECTED: &'static str;
    fn extract_param(obj: &Bound<'_, PyAny>) -> Option<Self>;
}

impl Param for f64 {
    const EXPECTED: &'static str = "a real number";
    fn extract_param(obj: &Bound<'_, PyAny>) -> Option<Self> {
        // bool is an int in Python, but `delta=True` is a mistake, not a number.
        if obj.is_instance_of::<PyBool>() || obj.is_instance_of::<PyString>() {
            return None;
        }
        if obj.is_instance_of::<PyFloat>() || obj.is_instance_of::<PyInt>() {
            return obj.extract::<f64>().ok();
        }
        // NumPy scalars and other real numbers, but no bool-likes and no arrays.
        if is_bool_like(obj) || !obj.hasattr("__float__").unwrap_or(false) || !is_scalar(obj) {
            return None;
        }
        obj.extract::<f64>().ok()
    }
}

impl Param for bool {
    const EXPECTED: &'static str = "a bool";
    fn extract_param(obj: &Bound<'_, PyAny>) -> Option<Self> {
        if obj.is_instance_of::<PyBool>() {
            return obj.extract::<bool>().ok();
        }
        // numpy.bool_ (not ints: `log_input=1` is a mistake).
        if is_bool_like(obj) && is_scalar(obj) {
            return obj.call_method0("__bool__").ok()?.extract::<bool>().ok();
        }
        None
    }
}

impl Param for i64 {
    const EXPECTED: &'static str = "an integer";
    fn extract_param(obj: &Bound<'_, PyAny>) -> Option<Self> {
        if obj.is_instance_of::<PyBool>() || obj.is_instance_of::<PyFloat>() {
            return None;
        }
        if is_bool_like(obj)
            || !is_scalar(obj)
            || !(obj.is_instance_of::<PyInt>() || obj.hasattr("__index__").unwrap_or(false))
        {
            return None;
        }
        obj.extract::<i64>().ok()
    }
}

/// An optional integer (`None` allowed); ints outside int64 are a `ParameterError`.
pub fn optional_int(obj: Option<&Bound<'_, PyAny>>, name: &str) -> PyResult<Option<i64>> {
    match obj {
        None => Ok(None),
        Some(o) if o.is_none() => Ok(None),
        Some(o) => match i64::extract_param(o) {
            Some(v) => Ok(Some(v)),
            None if o.is_instance_of::<PyInt>() || f64::extract_param(o).is_some() => {
                Err(ParameterError::new_err(format!(
                    "{name}: must be an integer in the int64 range, got {o}"
                )))
            }
            None => Err(type_error(o, name, "an integer or None")),
        },
    }
}

/// A reduction name; `batchmean` only where `batchmean` is defined (kl_div).
pub fn parse_reduction(name: &str, batchmean: bool) -> PyResult<Reduction> {
    Reduction::from_name(name, batchmean).map_err(crate::errors::to_pyerr)
}

/// The `reduction` argument of `Partials.finish`.
pub fn reduction(obj: &Bound<'_, PyAny>) -> PyResult<Reduction> {
    parse_reduction(arg::reduction(obj)?, true)
}

/// `bool` or `numpy.bool_`.
fn is_bool_like(obj: &Bound<'_, PyAny>) -> bool {
    obj.is_instance_of::<PyBool>()
        || obj
            .get_type()
            .name()
            .map(|n| n.to_cow().is_ok_and(|n| n == "bool" || n == "bool_"))
            .unwrap_or(false)
}

/// Not an array of one or more dimensions (NumPy scalars have `ndim == 0`).
fn is_scalar(obj: &Bound<'_, PyAny>) -> bool {
    match obj.getattr("ndim") {
        Ok(ndim) => ndim.extract::<usize>().is_ok_and(|d| d == 0),
        Err(_) => true,
    }
}

macro_rules! named_args {
    ($($name:ident: $t:ty),* $(,)?) => {
        $(
            #[doc = concat!("The `", stringify!($name), "` argument (`#[pyo3(from_py_with)]`).")]
            pub fn $name(obj: &Bound<'_, PyAny>) -> PyResult<$t> {
                super::named(obj, stringify!($name))
            }
        )*
    };
}

/// One extractor per scalar argument name, for `#[pyo3(from_py_with = arg::NAME)]`: the error
/// names the argument.
pub mod arg {
    use super::Param;
    use pyo3::prelude::*;

    named_args!(
        delta: f64,
        beta: f64,
        quantile: f64,
        eps: f64,
        alpha: f64,
        gamma: f64,
        margin: f64,
        label_smoothing: f64,
        power: f64,
        log_input: bool,
        full: bool,
        swap: bool,
        log_target: bool,
        with_grad: bool,
        with_hess: bool,
        partials: bool,
    );

    /// An optional array argument (`None` is absent), converted later by the pipeline.
    fn optional_array<'py>(obj: &Bound<'py, PyAny>) -> Option<Bound<'py, PyAny>> {
        (!obj.is_none()).then(|| obj.clone())
    }

    pub fn class_weight<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Option<Bound<'py, PyAny>>> {
        Ok(optional_array(obj))
    }

    pub fn pos_weight<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Option<Bound<'py, PyAny>>> {
        Ok(optional_array(obj))
    }

    /// `multi_margin`'s `p`: 1 or 2 (a float of another value is outside the domain).
    pub fn p(obj: &Bound<'_, PyAny>) -> PyResult<i64> {
        if let Some(v) = i64::extract_param(obj) {
            return Ok(v);
        }
        let v: f64 = super::named(obj, "p")?;
        Err(super::ParameterError::new_err(format!(
            "p: must be 1 or 2, got {v}"
        )))
    }

    /// `triplet_margin`'s `p`: the order of the norm, a real number.
    pub fn norm_p(obj: &Bound<'_, PyAny>) -> PyResult<f64> {
        super::named(obj, "p")
    }

    /// The `offset` argument: a non-negative unit index.
    pub fn offset(obj: &Bound<'_, PyAny>) -> PyResult<usize> {
        let v: i64 = super::named(obj, "offset")?;
        usize::try_from(v).map_err(|_| {
            super::ParameterError::new_err(format!("offset: must be non-negative, got {v}"))
        })
    }

    pub fn ignore_index(obj: &Bound<'_, PyAny>) -> PyResult<Option<i64>> {
        super::optional_int(Some(obj), "ignore_index")
    }

    /// The internal `_objective` argument of the two-array losses: `(scale, hess_floor)` of a
    /// boosting objective, `scale` finite and positive, `hess_floor` finite and non-negative.
    pub fn objective(obj: &Bound<'_, PyAny>) -> PyResult<Option<(f64, f64)>> {
        if obj.is_none() {
            return Ok(None);
        }
        let pair = obj
            .cast::<pyo3::types::PyTuple>()
            .ok()
            .filter(|t| t.len() == 2)
            .ok_or_else(|| super::type_error(obj, "_objective", "a (scale, hess_floor) tuple"))?;
        let scale: f64 = super::named(&pair.get_item(0)?, "_objective scale")?;
        let floor: f64 = super::named(&pair.get_item(1)?, "_objective hess_floor")?;
        if !(scale.is_finite() && scale > 0.0) {
            return Err(super::ParameterError::new_err(format!(
                "_objective: scale must be finite and positive, got {scale}"
            )));
        }
        if !(floor.is_finite() && floor >= 0.0) {
            return Err(super::ParameterError::new_err(format!(
                "_objective: hess_floor must be finite and non-negative, got {floor}"
            )));
        }
        Ok(Some((scale, floor)))
    }

    /// The `reduction` argument as a str (parsed by [`super::parse_reduction`]).
    pub fn reduction<'a>(obj: &'a Bound<'_, PyAny>) -> PyResult<&'a str> {
        match obj.cast::<pyo3::types::PyString>() {
            Ok(s) => s.to_str(),
            Err(_) => Err(super::type_error(obj, "reduction", "a str")),
        }
    }
}

/// The extractors of [`arg`], except that `alpha` is an optional per-class array (the row
/// losses' `alpha`; `arg::alpha` is the element-wise losses' scalar).
pub mod row_arg {
    pub use super::arg::*;
    use pyo3::prelude::*;

    pub fn alpha<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Option<Bound<'py, PyAny>>> {
        class_weight(obj)
    }
}
