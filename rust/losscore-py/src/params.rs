//! Hyperparameter extraction with `losscore.errors` messages that name the argument.

use crate::errors::raise;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyString};

/// A hyperparameter type accepted from Python.
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
        obj.extract::<f64>().ok()
    }
}

impl Param for bool {
    const EXPECTED: &'static str = "a bool";
    fn extract_param(obj: &Bound<'_, PyAny>) -> Option<Self> {
        obj.extract::<bool>().ok()
    }
}

/// A hyperparameter. The Python layer always passes every one (it owns the defaults), so `None`
/// here is the user's explicit `None`: an error, like any other wrong type.
pub fn param<T: Param>(py: Python<'_>, obj: Option<&Bound<'_, PyAny>>, name: &str) -> PyResult<T> {
    match obj {
        Some(o) => T::extract_param(o).ok_or_else(|| type_error(py, Some(o), name, T::EXPECTED)),
        None => Err(type_error(py, None, name, T::EXPECTED)),
    }
}

/// The `reduction` argument as a string.
pub fn reduction_name<'a>(
    py: Python<'_>,
    obj: Option<&'a Bound<'_, PyAny>>,
) -> PyResult<std::borrow::Cow<'a, str>> {
    match obj.map(|o| o.cast::<PyString>()) {
        Some(Ok(s)) => s.to_cow(),
        _ => Err(type_error(py, obj, "reduction", "a str")),
    }
}

fn type_error(py: Python<'_>, obj: Option<&Bound<'_, PyAny>>, name: &str, expected: &str) -> PyErr {
    let got = match obj {
        Some(o) => o
            .get_type()
            .name()
            .map(|n| n.to_string())
            .unwrap_or_else(|_| "?".to_string()),
        None => "None".to_string(),
    };
    raise(
        py,
        "ParameterTypeError",
        format!("{name} must be {expected}, got {got}"),
    )
}
