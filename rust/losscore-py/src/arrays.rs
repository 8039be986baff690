//! Array extraction: the fast path takes C-contiguous, aligned float32/float64 ndarrays as they
//! are; anything else goes through `numpy.asarray` / `numpy.require` once, with the dtype rules of
//! DESIGN.md §3 checked here.

use crate::errors::{DTypeError, OutputError, ShapeError, TargetError};
use numpy::ndarray::Dimension;
use numpy::{
    Element, PyArray, PyArrayDescrMethods, PyArrayDyn, PyArrayMethods, PyReadonlyArray,
    PyReadwriteArray, PyUntypedArray, PyUntypedArrayMethods,
};
use pyo3::prelude::*;

/// A float array of either supported dtype.
pub enum Floats<'py> {
    F32(Bound<'py, PyArrayDyn<f32>>),
    F64(Bound<'py, PyArrayDyn<f64>>),
}

/// The first argument of a loss: a float array of one of the storage types losses read.
pub enum LossFloats<'py> {
    Full(Floats<'py>),
    F16(Bound<'py, PyArrayDyn<half::f16>>),
    BF16(Bound<'py, PyArrayDyn<half::bf16>>),
}

/// Whether `dtype` is `ml_dtypes.bfloat16`.
fn is_bfloat16(dtype: &Bound<'_, numpy::PyArrayDescr>) -> bool {
    dtype.kind() == b'V'
        && dtype.itemsize() == 2
        && dtype
            .getattr("name")
            .is_ok_and(|n| n.extract::<String>().is_ok_and(|n| n == "bfloat16"))
}

/// The first argument of a loss: float16 and bfloat16 arrays stay in their dtype (computed in
/// float32 chunk by chunk), the rest as [`floats`].
pub fn loss_floats<'py>(obj: &Bound<'py, PyAny>, name: &str) -> PyResult<LossFloats<'py>> {
    if let Ok(arr) = obj.cast::<PyUntypedArray>() {
        let dtype = arr.dtype();
        if dtype.kind() == b'f' && dtype.itemsize() == 2 {
            return Ok(LossFloats::F16(require::<half::f16>(arr, name)?));
        }
        if is_bfloat16(&dtype) {
            return Ok(LossFloats::BF16(require::<half::bf16>(arr, name)?));
        }
    }
    Ok(LossFloats::Full(floats(obj, name)?))
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

/// `numpy.asarray(obj)` with the dtype rules of DESIGN.md §3: numeric kinds only (bool, int,
/// uint, float, bfloat16), no complex. (The first argument of a kernel other than a loss
/// refuses half precision: see [`floats`].)
fn numeric_array<'py>(obj: &Bound<'py, PyAny>, name: &str) -> PyResult<Bound<'py, PyUntypedArray>> {
    let py = obj.py();
    let numpy = py.import("numpy")?;
    // An object that only speaks DLPack (no array interface) is viewed through it, zero-copy.
    let dlpack_only = obj.hasattr("__dlpack__").unwrap_or(false)
        && !obj.hasattr("__array_interface__").unwrap_or(false)
        && !obj.hasattr("__array__").unwrap_or(false);
    let converter = if dlpack_only {
        "from_dlpack"
    } else {
        "asarray"
    };
    let arr = numpy.call_method1(converter, (obj,)).map_err(|e| {
        DTypeError::new_err(format!("{name}: cannot be converted to an array ({e})"))
    })?;
    let arr = arr
        .cast_into::<PyUntypedArray>()
        .map_err(|_| DTypeError::new_err(format!("{name}: cannot be converted to an array")))?;
    let dtype = arr.dtype();
    let kind = dtype.kind();
    if is_bfloat16(&dtype) {
        return Ok(arr);
    }
    if kind == b'c' {
        return Err(DTypeError::new_err(format!(
            "{name}: complex dtype {dtype} is not supported"
        )));
    }
    if !matches!(kind, b'b' | b'i' | b'u' | b'f') {
        return Err(DTypeError::new_err(format!(
            "{name}: expected a numeric array, got dtype {dtype}"
        )));
    }
    Ok(arr)
}

/// `arr` as a C-contiguous, aligned, native-order array of `T` (a copy only when needed).
fn require<'py, T: Element>(
    arr: &Bound<'py, PyUntypedArray>,
    name: &str,
) -> PyResult<Bound<'py, PyArrayDyn<T>>> {
    let py = arr.py();
    let converted = py
        .import("numpy")?
        .call_method1("require", (arr, numpy::dtype::<T>(py), "CA"))?;
    contiguous::<T>(&converted).ok_or_else(|| {
        DTypeError::new_err(format!(
            "{name}: could not convert to {}",
            numpy::dtype::<T>(py)
        ))
    })
}

/// The first argument of a loss: float32 and float64 stay, other numbers become float64.
pub fn floats<'py>(obj: &Bound<'py, PyAny>, name: &str) -> PyResult<Floats<'py>> {
    if let Some(a) = contiguous::<f32>(obj) {
        return Ok(Floats::F32(a));
    }
    if let Some(a) = contiguous::<f64>(obj) {
        return Ok(Floats::F64(a));
    }
    let arr = numeric_array(obj, name)?;
    let dtype = arr.dtype();
    if (dtype.kind() == b'f' && dtype.itemsize() == 2) || is_bfloat16(&dtype) {
        return Err(DTypeError::new_err(format!(
            "{name}: {dtype} is not supported here, use float32 or float64 (the losses take \
             float16 and bfloat16)"
        )));
    }
    if dtype.kind() == b'f' && dtype.itemsize() == 4 {
        return Ok(Floats::F32(require::<f32>(&arr, name)?));
    }
    Ok(Floats::F64(require::<f64>(&arr, name)?))
}

/// Another input of a loss, cast to the dtype `T` of the first one.
pub fn like<'py, T: Element>(
    obj: &Bound<'py, PyAny>,
    name: &str,
) -> PyResult<Bound<'py, PyArrayDyn<T>>> {
    if let Some(a) = contiguous::<T>(obj) {
        return Ok(a);
    }
    require::<T>(&numeric_array(obj, name)?, name)
}

/// The target of a class-axis loss: class indices (any integer dtype, as int64) or, when
/// `probabilities` are accepted, float values cast to `T`.
pub enum ClassTarget<'py, T: Element> {
    Index(Bound<'py, PyArrayDyn<i64>>),
    Prob(Bound<'py, PyArrayDyn<T>>),
}

pub fn class_target<'py, T: Element>(
    obj: &Bound<'py, PyAny>,
    loss: &str,
    probabilities: bool,
) -> PyResult<ClassTarget<'py, T>> {
    if let Some(a) = contiguous::<i64>(obj) {
        return Ok(ClassTarget::Index(a));
    }
    let arr = numeric_array(obj, "target")?;
    let dtype = arr.dtype();
    match dtype.kind() {
        b'u' if dtype.itemsize() == 8 => {
            let wide = require::<u64>(&arr, "target")?;
            let ro = wide.try_readonly().map_err(|_| borrow_error("target"))?;
            if let Some(i) = ro.as_slice()?.iter().position(|&v| v > i64::MAX as u64) {
                return Err(TargetError::new_err(format!(
                    "target: class index {} is out of range (at flat index {i})",
                    ro.as_slice()?[i]
                )));
            }
            drop(ro);
            Ok(ClassTarget::Index(require::<i64>(&arr, "target")?))
        }
        b'i' | b'u' => Ok(ClassTarget::Index(require::<i64>(&arr, "target")?)),
        b'b' => Err(DTypeError::new_err(
            "target: boolean class targets are not supported, use integers",
        )),
        _ if probabilities => Ok(ClassTarget::Prob(require::<T>(&arr, "target")?)),
        _ => Err(DTypeError::new_err(format!(
            "target: {loss} takes integer class indices, got dtype {dtype}"
        ))),
    }
}

/// The gradient (or per-element) output: the caller's `out` after checks, or a new array.
pub fn output<'py, T: Element>(
    py: Python<'py>,
    out: Option<&Bound<'py, PyAny>>,
    shape: &[usize],
    name: &str,
) -> PyResult<Bound<'py, PyArrayDyn<T>>> {
    let Some(out) = out else {
        return new_array::<T>(py, shape);
    };
    let Ok(arr) = out.cast::<PyArrayDyn<T>>() else {
        let got = out
            .getattr("dtype")
            .map(|d| d.to_string())
            .unwrap_or_else(|_| out.get_type().to_string());
        return Err(DTypeError::new_err(format!(
            "{name} must be a numpy array of dtype {}, got {got}",
            numpy::dtype::<T>(py)
        )));
    };
    if arr.shape() != shape {
        return Err(ShapeError::new_err(format!(
            "{name} must have shape {}, got {}",
            losscore_core::error::shape_str(shape),
            losscore_core::error::shape_str(arr.shape())
        )));
    }
    if !arr.is_c_contiguous() {
        return Err(OutputError::new_err(format!("{name} must be C-contiguous")));
    }
    if (arr.data() as usize) % std::mem::align_of::<T>() != 0 {
        return Err(OutputError::new_err(format!(
            "{name} must be aligned to its dtype"
        )));
    }
    Ok(arr.clone())
}

/// Outputs up to this many bytes are allocated directly; larger ones through `numpy.empty`,
/// which raises `MemoryError` where a direct allocation would abort the process.
const DIRECT_ALLOCATION: usize = 1 << 26;

/// A new (uninitialized) array of `shape`; sizes that overflow or cannot be allocated raise
/// `MemoryError`.
fn new_array<'py, T: Element>(
    py: Python<'py>,
    shape: &[usize],
) -> PyResult<Bound<'py, PyArrayDyn<T>>> {
    let bytes = shape
        .iter()
        .try_fold(std::mem::size_of::<T>(), |acc, &d| acc.checked_mul(d))
        .filter(|&b| b <= isize::MAX as usize);
    match bytes {
        Some(b) if b <= DIRECT_ALLOCATION => {
            // SAFETY: the kernel writes every element before the array is handed to Python.
            Ok(unsafe { PyArrayDyn::<T>::new(py, shape.to_vec(), false) })
        }
        Some(_) => {
            let arr = py
                .import("numpy")?
                .call_method1("empty", (shape.to_vec(), numpy::dtype::<T>(py)))?;
            Ok(arr.cast_into::<PyArrayDyn<T>>()?)
        }
        None => Err(pyo3::exceptions::PyMemoryError::new_err(format!(
            "an array of shape {} cannot be allocated",
            losscore_core::error::shape_str(shape)
        ))),
    }
}

/// The byte range of a C-contiguous array's data.
pub fn byte_range<T: Element, D: Dimension>(
    a: &Bound<'_, PyArray<T, D>>,
) -> std::ops::Range<usize> {
    let start = a.data() as usize;
    start..start + a.len() * std::mem::size_of::<T>()
}

/// Fails when the output `out` overlaps any of `inputs` in memory (views of one buffer through
/// different objects included, which a borrow check by base object misses).
pub fn check_disjoint<T: Element, D: Dimension>(
    out: &Bound<'_, PyArray<T, D>>,
    name: &str,
    inputs: &[(&str, Option<std::ops::Range<usize>>)],
) -> PyResult<()> {
    let o = byte_range(out);
    for (input, range) in inputs {
        if let Some(r) = range {
            if !o.is_empty() && r.start < o.end && o.start < r.end {
                return Err(OutputError::new_err(format!(
                    "{name} shares memory with {input}; pass a separate array"
                )));
            }
        }
    }
    Ok(())
}

/// [`byte_range`] of an optional array.
pub fn range_of<T: Element, D: Dimension>(
    a: Option<&Bound<'_, PyArray<T, D>>>,
) -> Option<std::ops::Range<usize>> {
    a.map(byte_range)
}

/// The message for a failed borrow: read-only, or overlapping another argument of the call.
pub fn borrow_error(name: &str) -> PyErr {
    OutputError::new_err(format!(
        "{name} must be writable and must not share memory with another argument"
    ))
}

/// The data of an input array for one call, read without rust-numpy's borrow registry (a
/// global map updated and searched on every borrow and release: a quarter of a small call's
/// time). Outputs keep their registered read-write borrows.
pub fn input_slice<'a, T: Element, D: Dimension>(
    a: &'a Bound<'_, PyArray<T, D>>,
    name: &str,
) -> PyResult<&'a [T]> {
    // SAFETY: the slice lives no longer than `a`, a strong reference that keeps the buffer
    // alive (and unresizable) for the call. The call never writes an input: every output
    // buffer is checked disjoint from the inputs (`check_disjoint`) or is freshly allocated.
    // Another thread writing the array meanwhile races with this read exactly as it would with
    // a NumPy ufunc (which also reads with the GIL released); the registry never guarded
    // against writes from NumPy itself, only from other rust-numpy borrows.
    unsafe { a.as_slice() }
        .map_err(|_| OutputError::new_err(format!("{name} must be C-contiguous")))
}

/// [`input_slice`] of an optional array.
pub fn input_slice_opt<'a, T: Element, D: Dimension>(
    a: Option<&'a Bound<'_, PyArray<T, D>>>,
    name: &str,
) -> PyResult<Option<&'a [T]>> {
    a.map(|a| input_slice(a, name)).transpose()
}

/// Borrows an optional input read-only; a failed borrow (the array is being written by another
/// call) names it.
pub fn borrow_ro<'py, T: Element, D: Dimension>(
    _py: Python<'py>,
    arr: Option<&Bound<'py, PyArray<T, D>>>,
    name: &str,
) -> PyResult<Option<PyReadonlyArray<'py, T, D>>> {
    arr.map(|a| a.try_readonly().map_err(|_| borrow_error(name)))
        .transpose()
}

/// An output buffer of one call.
pub enum OutBuf<'py, T: Element> {
    /// The caller's array, borrowed read-write through rust-numpy's registry, which also
    /// refuses read-only arrays and two outputs sharing one buffer.
    Caller(PyReadwriteArray<'py, T, numpy::IxDyn>),
    /// An array this call allocated: nothing else refers to it yet.
    Fresh(Bound<'py, PyArrayDyn<T>>),
}

impl<T: Element> OutBuf<'_, T> {
    pub fn slice_mut(&mut self) -> PyResult<&mut [T]> {
        let contiguous = || OutputError::new_err("outputs must be C-contiguous");
        match self {
            OutBuf::Caller(a) => a.as_slice_mut().map_err(|_| contiguous()),
            // SAFETY: the array was created by this call (C-contiguous, owned, not yet handed
            // to Python), so no other reference to its buffer exists while the slice lives.
            OutBuf::Fresh(a) => unsafe { a.as_slice_mut() }.map_err(|_| contiguous()),
        }
    }
}

/// The buffer of an optional output: the caller's (`caller`: borrowed and checked) or a fresh
/// one.
pub fn out_buf<'py, T: Element>(
    arr: Option<&Bound<'py, PyArrayDyn<T>>>,
    caller: bool,
    name: &str,
) -> PyResult<Option<OutBuf<'py, T>>> {
    arr.map(|a| match caller {
        true => a
            .try_readwrite()
            .map(OutBuf::Caller)
            .map_err(|_| borrow_error(name)),
        false => Ok(OutBuf::Fresh(a.clone())),
    })
    .transpose()
}

/// Borrows an optional output read-write; a failed borrow (read-only, or shared with another
/// argument) names it.
pub fn borrow_rw<'py, T: Element, D: Dimension>(
    _py: Python<'py>,
    arr: Option<&Bound<'py, PyArray<T, D>>>,
    name: &str,
) -> PyResult<Option<PyReadwriteArray<'py, T, D>>> {
    arr.map(|a| a.try_readwrite().map_err(|_| borrow_error(name)))
        .transpose()
}
