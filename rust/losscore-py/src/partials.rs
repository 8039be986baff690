//! `_core.Partials`: the mergeable reduction state of the core ([`losscore_core::reduce::Partials`])
//! as a Python object, for chunked and streamed evaluation.

use crate::errors::to_pyerr;
use crate::params;
use losscore_core::reduce;
use pyo3::prelude::*;

/// Block partials of a loss over a block-aligned range of units; `merge` the partials of the
/// ranges that follow, then `finish(reduction)`.
#[pyclass(module = "losscore._core", name = "Partials")]
#[derive(Debug, Clone)]
pub struct Partials {
    pub inner: reduce::Partials,
}

#[pymethods]
impl Partials {
    /// Appends `other`, which covers the units that follow.
    fn merge(&mut self, other: &Partials) -> PyResult<()> {
        self.inner.merge(other.inner.clone()).map_err(to_pyerr)
    }

    /// The reduced value: `"sum"`, `"mean"` or `"batchmean"` (`"none"` gives nan).
    fn finish(&self, reduction: &Bound<'_, PyAny>) -> PyResult<f64> {
        Ok(self.inner.finish(params::reduction(reduction)?))
    }

    /// Units (elements or rows) covered.
    #[getter]
    fn count(&self) -> u64 {
        self.inner.count
    }

    fn __repr__(&self) -> String {
        format!(
            "Partials(blocks={}, count={}, weighted={})",
            self.inner.loss.len(),
            self.inner.count,
            self.inner.denominator.is_some()
        )
    }
}
