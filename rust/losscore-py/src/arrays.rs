//! Array extraction: the fast path takes C-contiguous float32/float64 ndarrays as they are; anything
//! else goes once through `losscore._convert`, which applies the dtype rules of DESIGN.md §3.

use crate::errors::raise;
use numpy::ndarray::Dimension;
use numpy::{
    Element, PyArray, PyArrayDyn, PyArrayMethods, PyReadonlyArray, PyReadwriteArray,
    PyUntypedArrayMethods,
};
use pyo3::prelude::*;

/// A float array of either supported dtype.
pub enum Floats<'py> {
    F32(Bound<'py, PyArrayDyn<f32>>),
    F64(Bound<'py, PyArrayDyn<f64>>),
}

/// `obj` itself if it is a C-contiguous, aligned ndarray of `T` (memory maps of `.npz` members
/// can be misaligned).
fn contiguous<'py, T: Element>(obj: &Bound<'py, PyAny>) -> Option<Bound<'py, PyArrayDyn<T>>> {
    match obj.cast::<PyArrayDyn<T>>() {
        Ok(a) if a.is_c_contiguous() && (a.data() as usize) % std::mem::align_of::<T>() == 0 => {
            Some(a.clone())
        }
        _ => None,
    }
}

fn converter<'py>(py: Python<'py>, func: &str) -> PyResult<Bound<'py, PyAny>> {
    py.import("losscore._convert")?.getattr(func)
}

/// The first argument of a loss: float32 and float64 stay, other numbers become float64.
pub fn floats<'py>(obj: &Bound<'py, PyAny>, name: &str) -> PyResult<Floats<'py>> {
    if let Some(a) = contiguous::<f32>(obj) {
        return Ok(Floats::F32(a));
    }
    if let Some(a) = contiguous::<f64>(obj) {
        return Ok(Floats::F64(a));
    }
    let py = obj.py();
    let converted = converter(py, "as_float_array")?.call1((obj, name))?;
    if let Some(a) = contiguous::<f32>(&converted) {
        return Ok(Floats::F32(a));
    }
    if let Some(a) = contiguous::<f64>(&converted) {
        return Ok(Floats::F64(a));
    }
    Err(raise(
        py,
        "DTypeError",
        format!("{name}: could not convert to a float32 or float64 array"),
    ))
}

/// Another input of a loss, cast to the dtype `T` of the first one.
pub fn like<'py, T: Element>(
    obj: &Bound<'py, PyAny>,
    name: &str,
) -> PyResult<Bound<'py, PyArrayDyn<T>>> {
    if let Some(a) = contiguous::<T>(obj) {
        return Ok(a);
    }
    let py = obj.py();
    let dtype = numpy::dtype::<T>(py);
    let converted = converter(py, "as_dtype")?.call1((obj, name, dtype))?;
    contiguous::<T>(&converted).ok_or_else(|| {
        raise(
            py,
            "DTypeError",
            format!("{name}: could not convert to the dtype of the first argument"),
        )
    })
}

/// The gradient (or per-element) output: the caller's `out` after checks, or a new array.
pub fn output<'py, T: Element>(
    py: Python<'py>,
    out: Option<&Bound<'py, PyAny>>,
    shape: &[usize],
    name: &str,
) -> PyResult<Bound<'py, PyArrayDyn<T>>> {
    let Some(out) = out else {
        // SAFETY: the kernel writes every element before the array is handed to Python.
        return Ok(unsafe { PyArrayDyn::<T>::new(py, shape.to_vec(), false) });
    };
    let Ok(arr) = out.cast::<PyArrayDyn<T>>() else {
        let got = out
            .getattr("dtype")
            .map(|d| d.to_string())
            .unwrap_or_else(|_| out.get_type().to_string());
        return Err(raise(
            py,
            "DTypeError",
            format!(
                "{name} must be a numpy array of dtype {}, got {got}",
                numpy::dtype::<T>(py)
            ),
        ));
    };
    if arr.shape() != shape {
        return Err(raise(
            py,
            "ShapeError",
            format!(
                "{name} must have shape {}, got {}",
                losscore_core::error::shape_str(shape),
                losscore_core::error::shape_str(arr.shape())
            ),
        ));
    }
    if !arr.is_c_contiguous() {
        return Err(raise(
            py,
            "OutputError",
            format!("{name} must be C-contiguous"),
        ));
    }
    if (arr.data() as usize) % std::mem::align_of::<T>() != 0 {
        return Err(raise(
            py,
            "OutputError",
            format!("{name} must be aligned to its dtype"),
        ));
    }
    Ok(arr.clone())
}

/// The message for a failed borrow: read-only, or overlapping another argument of the call.
pub fn borrow_error(py: Python<'_>, name: &str) -> PyErr {
    raise(
        py,
        "OutputError",
        format!("{name} must be writable and must not share memory with another argument"),
    )
}

/// Borrows an optional input read-only; a failed borrow (the array is being written by another
/// call) names it.
pub fn borrow_ro<'py, T: Element, D: Dimension>(
    py: Python<'py>,
    arr: Option<&Bound<'py, PyArray<T, D>>>,
    name: &str,
) -> PyResult<Option<PyReadonlyArray<'py, T, D>>> {
    arr.map(|a| a.try_readonly().map_err(|_| borrow_error(py, name)))
        .transpose()
}

/// Borrows an optional output read-write; a failed borrow (read-only, or shared with another
/// argument) names it.
pub fn borrow_rw<'py, T: Element, D: Dimension>(
    py: Python<'py>,
    arr: Option<&Bound<'py, PyArray<T, D>>>,
    name: &str,
) -> PyResult<Option<PyReadwriteArray<'py, T, D>>> {
    arr.map(|a| a.try_readwrite().map_err(|_| borrow_error(py, name)))
        .transpose()
}
