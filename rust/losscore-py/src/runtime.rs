//! Process-wide settings: threads and instruction set.

use crate::errors::IntoPy;
use losscore_core::{par, simd, Isa};
use pyo3::prelude::*;

#[pyfunction]
fn get_num_threads() -> usize {
    par::num_threads()
}

#[pyfunction]
fn set_num_threads(py: Python<'_>, n: i64) -> PyResult<()> {
    let n = usize::try_from(n).unwrap_or(0);
    par::set_num_threads(n).py_err(py)
}

#[pyfunction]
fn isa() -> &'static str {
    simd::active().name()
}

#[pyfunction]
fn available_isas() -> Vec<&'static str> {
    simd::available().into_iter().map(Isa::name).collect()
}

#[pyfunction]
fn set_isa(py: Python<'_>, name: &str) -> PyResult<()> {
    let isa = Isa::from_name(name).py_err(py)?;
    simd::set_active(isa).py_err(py)
}

#[pyfunction]
fn exact_sum(values: Vec<f64>) -> f64 {
    losscore_core::reduce::exact_sum(&values)
}

#[pyfunction]
fn block_size() -> usize {
    losscore_core::reduce::BLOCK
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(get_num_threads, m)?)?;
    m.add_function(wrap_pyfunction!(set_num_threads, m)?)?;
    m.add_function(wrap_pyfunction!(isa, m)?)?;
    m.add_function(wrap_pyfunction!(available_isas, m)?)?;
    m.add_function(wrap_pyfunction!(set_isa, m)?)?;
    m.add_function(wrap_pyfunction!(exact_sum, m)?)?;
    m.add_function(wrap_pyfunction!(block_size, m)?)?;
    Ok(())
}
