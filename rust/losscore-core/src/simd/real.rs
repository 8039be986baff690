//! [`Real`]: the float element types kernels are generic over (f32, f64).

use super::math;
use std::fmt::Debug;
use std::ops::{Add, Div, Mul, Neg, Sub};

/// A float element type. Every method is `#[inline(always)]` and branch-free, so generic kernels
/// vectorize inside the ISA wrappers of [`super::dispatch`].
pub trait Real:
    Copy
    + Send
    + Sync
    + Debug
    + PartialOrd
    + Default
    + 'static
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
{
    const ZERO: Self;
    const ONE: Self;
    const HALF: Self;
    const TWO: Self;
    const INFINITY: Self;
    const NAN: Self;
    const LN_2: Self;
    /// `"float32"` / `"float64"`.
    const NAME: &'static str;
    /// Significand bits (24 / 53): lets kernels shorten series for f32.
    const MANTISSA_DIGITS: u32;

    fn from_f64(x: f64) -> Self;
    fn to_f64(self) -> f64;
    fn abs(self) -> Self;
    fn sqrt(self) -> Self;
    /// Vectorizable exp (crate polynomial, not libm).
    fn exp(self) -> Self;
    /// Vectorizable natural log.
    fn ln(self) -> Self;
    /// Vectorizable ln(1 + x).
    fn ln_1p(self) -> Self;
    /// ln(1 + x) for x in [0, 1], bitwise equal to [`Real::ln_1p`] there and cheaper (no
    /// special-value handling); unspecified outside (NaN included), so callers mask that case.
    fn ln_1p_unit(self) -> Self;
    /// -1, 0 or +1 (0 for ±0; NaN for NaN).
    fn signum0(self) -> Self;
    fn is_nan(self) -> bool;

    /// `if cond { a } else { b }` written as a select.
    #[inline(always)]
    fn select(cond: bool, a: Self, b: Self) -> Self {
        if cond {
            a
        } else {
            b
        }
    }
    /// max that propagates NaN from `self`.
    #[inline(always)]
    fn max_nan(self, other: Self) -> Self {
        if self < other {
            other
        } else {
            self
        }
    }
    /// min that propagates NaN from `self`.
    #[inline(always)]
    fn min_nan(self, other: Self) -> Self {
        if self > other {
            other
        } else {
            self
        }
    }
}

macro_rules! impl_real {
    ($t:ty, $name:literal, $exp:path, $ln:path, $ln1p:path, $ln1pu:path, $ln2:expr) => {
        impl Real for $t {
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            const HALF: Self = 0.5;
            const TWO: Self = 2.0;
            const INFINITY: Self = <$t>::INFINITY;
            const NAN: Self = <$t>::NAN;
            const LN_2: Self = $ln2;
            const NAME: &'static str = $name;
            const MANTISSA_DIGITS: u32 = <$t>::MANTISSA_DIGITS;

            #[inline(always)]
            fn from_f64(x: f64) -> Self {
                x as $t
            }
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn abs(self) -> Self {
                <$t>::abs(self)
            }
            #[inline(always)]
            fn sqrt(self) -> Self {
                <$t>::sqrt(self)
            }
            #[inline(always)]
            fn exp(self) -> Self {
                $exp(self)
            }
            #[inline(always)]
            fn ln(self) -> Self {
                $ln(self)
            }
            #[inline(always)]
            fn ln_1p(self) -> Self {
                $ln1p(self)
            }
            #[inline(always)]
            fn ln_1p_unit(self) -> Self {
                $ln1pu(self)
            }
            #[inline(always)]
            fn is_nan(self) -> bool {
                <$t>::is_nan(self)
            }
            #[inline(always)]
            fn signum0(self) -> Self {
                let s = if self > 0.0 { 1.0 } else { 0.0 };
                let s = if self < 0.0 { -1.0 } else { s };
                // NaN fails both comparisons: pass it through.
                if self.is_nan() {
                    self
                } else {
                    s
                }
            }
        }
    };
}

impl_real!(
    f32,
    "float32",
    math::exp_f32,
    math::ln_f32,
    math::ln_1p_f32,
    math::ln_1p_unit_f32,
    std::f32::consts::LN_2
);
impl_real!(
    f64,
    "float64",
    math::exp_f64,
    math::ln_f64,
    math::ln_1p_f64,
    math::ln_1p_unit_f64,
    std::f64::consts::LN_2
);
