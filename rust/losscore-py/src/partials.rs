//! `_core.Partials`: the mergeable reduction state of the core ([`losscore_core::reduce::Partials`])
//! as a Python object, for chunked and streamed evaluation.

use crate::errors::to_pyerr;
use crate::params;
use losscore_core::reduce;
use pyo3::prelude::*;

/// Block partials of a loss over a range of units (cut anywhere); `merge` the partials of the
/// ranges that follow, then `finish(reduction)`: bitwise the in-memory result.
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

    /// Global index of the first unit covered.
    #[getter]
    fn start(&self) -> u64 {
        self.inner.start
    }

    /// A copy (merging into it leaves `self` as it is).
    fn copy(&self) -> Partials {
        self.clone()
    }

    /// Pickle support: the state as plain numbers.
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let p = &slf.borrow().inner;
        let state = (
            (p.count, p.start, p.per_block, p.batch),
            p.loss.clone(),
            p.denominator.clone(),
            (p.head.loss.clone(), p.head.denominator.clone()),
            (p.tail.loss.clone(), p.tail.denominator.clone()),
        );
        let rebuild = py.get_type::<Partials>().getattr("_from_state")?;
        (rebuild, (state,)).into_pyobject(py).map(|t| t.into_any())
    }

    #[staticmethod]
    #[allow(clippy::type_complexity)]
    fn _from_state(
        state: (
            (u64, u64, u64, u64),
            Vec<f64>,
            Option<Vec<f64>>,
            (Vec<f64>, Vec<f64>),
            (Vec<f64>, Vec<f64>),
        ),
    ) -> Partials {
        let ((count, start, per_block, batch), loss, denominator, head, tail) = state;
        Partials {
            inner: reduce::Partials {
                loss,
                denominator,
                count,
                start,
                per_block,
                batch,
                head: reduce::Open {
                    loss: head.0,
                    denominator: head.1,
                },
                tail: reduce::Open {
                    loss: tail.0,
                    denominator: tail.1,
                },
            },
        }
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
