//! The Python extension `losscore._core`.
//!
//! This crate only converts: it extracts arrays, dispatches on dtype, releases the GIL around the
//! core kernels and maps [`losscore_core::LossError`] to `losscore.errors`. It holds no math.

mod arrays;
mod errors;
mod losses;
mod multi_input;
mod nn;
mod optim;
mod params;
mod partials;
mod pipeline;
mod runtime;
mod storage;

use pyo3::prelude::*;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    runtime::register(m)?;
    losses::register(m)?;
    multi_input::register(m)?;
    nn::register(m)?;
    optim::register(m)?;
    Ok(())
}
