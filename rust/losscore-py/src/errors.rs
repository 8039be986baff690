//! The one place where errors become Python exceptions: the classes of `losscore.errors`, each
//! imported once (on first use) and cached, and the one mapping of core errors to them.

use losscore_core::LossError;
use pyo3::prelude::*;

pyo3::import_exception!(losscore.errors, ShapeError);
pyo3::import_exception!(losscore.errors, DTypeError);
pyo3::import_exception!(losscore.errors, ParameterError);
pyo3::import_exception!(losscore.errors, ParameterTypeError);
pyo3::import_exception!(losscore.errors, WeightError);
pyo3::import_exception!(losscore.errors, TargetError);
pyo3::import_exception!(losscore.errors, OutputError);
pyo3::import_exception!(losscore.errors, NonFiniteError);

/// Maps a core error to its `losscore.errors` class, with the core's message as it is.
pub fn to_pyerr(err: LossError) -> PyErr {
    let message = err.to_string();
    match err {
        LossError::ShapeMismatch { .. } => ShapeError::new_err(message),
        LossError::InvalidParameter { .. } | LossError::UnsupportedIsa(_) => {
            ParameterError::new_err(message)
        }
        LossError::InvalidWeight { .. } => WeightError::new_err(message),
        LossError::InvalidTarget { .. } => TargetError::new_err(message),
    }
}

/// `Result<T, LossError>` -> `PyResult<T>`.
pub trait IntoPy<T> {
    fn py_err(self, py: Python<'_>) -> PyResult<T>;
}

impl<T> IntoPy<T> for Result<T, LossError> {
    fn py_err(self, _py: Python<'_>) -> PyResult<T> {
        self.map_err(to_pyerr)
    }
}
