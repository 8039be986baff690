//! The one place where core errors become Python exceptions (classes from `losscore.errors`).

use losscore_core::LossError;
use pyo3::prelude::*;
use pyo3::types::PyType;

/// Raises `losscore.errors.<class>` with `message`.
pub fn raise(py: Python<'_>, class: &str, message: String) -> PyErr {
    let class = py
        .import("losscore.errors")
        .and_then(|m| m.getattr(class))
        .and_then(|c| c.cast_into::<PyType>().map_err(PyErr::from));
    match class {
        Ok(cls) => PyErr::from_type(cls, message),
        // The package is broken if its errors module is missing; still raise something useful.
        Err(_) => pyo3::exceptions::PyValueError::new_err(message),
    }
}

/// Maps a core error to its `losscore.errors` class.
pub fn to_pyerr(py: Python<'_>, err: LossError) -> PyErr {
    let class = match &err {
        LossError::ShapeMismatch { .. } => "ShapeError",
        LossError::InvalidParameter { .. } => "ParameterError",
        LossError::InvalidWeight { .. } => "WeightError",
        LossError::InvalidTarget { .. } => "TargetError",
        LossError::UnsupportedIsa(_) => "ParameterError",
    };
    raise(py, class, err.to_string())
}

/// `Result<T, LossError>` -> `PyResult<T>`.
pub trait IntoPy<T> {
    fn py_err(self, py: Python<'_>) -> PyResult<T>;
}

impl<T> IntoPy<T> for Result<T, LossError> {
    fn py_err(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|e| to_pyerr(py, e))
    }
}
