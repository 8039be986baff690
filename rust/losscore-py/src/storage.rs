//! The element types a loss call's arrays may be stored in, and how each runs the core's float
//! kernels: float32 and float64 directly; float16 and bfloat16 (`ml_dtypes`) through the core's
//! chunked float32 path (`losscore_core::loss::narrow`), never upcast at full size.

use half::{bf16, f16};
use losscore_core::loss::{narrow, Request};
use losscore_core::{reduce, LossError, Real};
use numpy::Element;
use std::borrow::Cow;

/// A storage element type of loss arrays.
pub trait Storage: Element + Copy + Send + Sync + 'static {
    /// The float type the kernels compute in.
    type Real: Real + Element;
    /// Runs `req` through the float kernel `kernel` (`width` values of the first argument per
    /// unit).
    fn run(
        req: Request<'_, Self>,
        width: usize,
        kernel: impl FnMut(Request<'_, Self::Real>) -> Result<reduce::Partials, LossError>,
    ) -> Result<reduce::Partials, LossError>;
    /// Small per-class parameters (`class_weight`) in the compute type.
    fn real_slice(s: &[Self]) -> Cow<'_, [Self::Real]>;
}

macro_rules! direct {
    ($($t:ty),*) => {$(
        impl Storage for $t {
            type Real = $t;
            fn run(
                req: Request<'_, Self>,
                _width: usize,
                mut kernel: impl FnMut(Request<'_, Self>) -> Result<reduce::Partials, LossError>,
            ) -> Result<reduce::Partials, LossError> {
                kernel(req)
            }
            fn real_slice(s: &[Self]) -> Cow<'_, [Self]> {
                Cow::Borrowed(s)
            }
        }
    )*};
}

macro_rules! narrowed {
    ($($t:ty),*) => {$(
        impl Storage for $t {
            type Real = f32;
            fn run(
                req: Request<'_, Self>,
                width: usize,
                kernel: impl FnMut(Request<'_, f32>) -> Result<reduce::Partials, LossError>,
            ) -> Result<reduce::Partials, LossError> {
                narrow::run(req, width, kernel)
            }
            fn real_slice(s: &[Self]) -> Cow<'_, [f32]> {
                Cow::Owned(s.iter().map(|v| v.to_f32()).collect())
            }
        }
    )*};
}

direct!(f32, f64);
narrowed!(f16, bf16);
