//! Process-wide settings: threads and instruction set.

use crate::errors::IntoPy;
use losscore_core::{par, simd, Isa};
use numpy::PyArrayMethods;
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

/// Deterministic sum of a float array (a streaming read: `losscore bench` uses it to measure the
/// memory bandwidth).
#[pyfunction]
fn stream_sum(py: Python<'_>, x: &Bound<'_, PyAny>) -> PyResult<f64> {
    match crate::arrays::floats(x, "x")? {
        crate::arrays::Floats::F32(a) => {
            let ro = a
                .try_readonly()
                .map_err(|_| crate::arrays::borrow_error("x"))?;
            let s = ro.as_slice()?;
            Ok(py.detach(|| losscore_core::reduce::sum(s)))
        }
        crate::arrays::Floats::F64(a) => {
            let ro = a
                .try_readonly()
                .map_err(|_| crate::arrays::borrow_error("x"))?;
            let s = ro.as_slice()?;
            Ok(py.detach(|| losscore_core::reduce::sum(s)))
        }
    }
}

/// Bandwidth probe: reads two float32 arrays once (`losscore bench`'s bound for a loss value).
#[pyfunction]
fn probe_read2(
    py: Python<'_>,
    a: numpy::PyReadonlyArray1<'_, f32>,
    b: numpy::PyReadonlyArray1<'_, f32>,
) -> PyResult<f32> {
    let (a, b) = (a.as_slice()?, b.as_slice()?);
    py.detach(|| losscore_core::probe::read2(a, b)).py_err(py)
}

/// Bandwidth probe: reads two float32 arrays and writes a third (a loss value and gradient's
/// bound).
#[pyfunction]
fn probe_read2_write1(
    py: Python<'_>,
    a: numpy::PyReadonlyArray1<'_, f32>,
    b: numpy::PyReadonlyArray1<'_, f32>,
    mut c: numpy::PyReadwriteArray1<'_, f32>,
) -> PyResult<()> {
    let (a, b, c) = (a.as_slice()?, b.as_slice()?, c.as_slice_mut()?);
    py.detach(|| losscore_core::probe::read2_write1(a, b, c))
        .py_err(py)
}

/// Bandwidth probe: reads four float32 arrays and writes three back (an optimizer step's bound).
#[pyfunction]
fn probe_update4(
    py: Python<'_>,
    mut p: numpy::PyReadwriteArray1<'_, f32>,
    g: numpy::PyReadonlyArray1<'_, f32>,
    mut m: numpy::PyReadwriteArray1<'_, f32>,
    mut v: numpy::PyReadwriteArray1<'_, f32>,
) -> PyResult<()> {
    let (p, g) = (p.as_slice_mut()?, g.as_slice()?);
    let (m, v) = (m.as_slice_mut()?, v.as_slice_mut()?);
    py.detach(|| losscore_core::probe::update4(p, g, m, v))
        .py_err(py)
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
    m.add_function(wrap_pyfunction!(stream_sum, m)?)?;
    m.add_function(wrap_pyfunction!(probe_read2, m)?)?;
    m.add_function(wrap_pyfunction!(probe_read2_write1, m)?)?;
    m.add_function(wrap_pyfunction!(probe_update4, m)?)?;
    Ok(())
}
