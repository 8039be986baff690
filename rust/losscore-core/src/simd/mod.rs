//! Run-time instruction-set dispatch.
//!
//! Every kernel body is written once as `#[inline(always)]` generic code implementing [`Kernel`];
//! [`dispatch`] runs it inside a `#[target_feature]` wrapper for the chosen [`Isa`], so LLVM
//! vectorizes the same source for SSE2, AVX2 or AVX-512. The ISA is detected once (or forced with
//! `LOSSCORE_ISA=scalar|avx2|avx512`) and cached.
//!
//! LLVM never contracts `a * b + c` on its own, and the only fused multiply-adds are the explicit
//! `mul_add`s of the `exp`/`ln`/`ln_1p` polynomials ([`math`]): one instruction on AVX2/AVX-512,
//! the correctly rounded libm `fma` on the baseline path. So every ISA path computes bitwise the
//! same result: only the speed differs.

mod math;
mod real;

pub use math::{
    exp_f32, exp_f64, ln_1p_f32, ln_1p_f64, ln_1p_unit_f32, ln_1p_unit_f64, ln_f32, ln_f64,
};
pub use real::Real;

use crate::error::LossError;
use std::sync::atomic::{AtomicU8, Ordering};

/// An instruction-set path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Isa {
    /// x86-64 baseline (SSE2) or the portable build on other architectures.
    Scalar = 1,
    /// AVX2 + FMA.
    Avx2 = 2,
    /// AVX-512 F/VL/DQ/BW.
    Avx512 = 3,
}

impl Isa {
    /// The lower-case name used by `LOSSCORE_ISA` and `losscore.isa()`.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Scalar => "scalar",
            Isa::Avx2 => "avx2",
            Isa::Avx512 => "avx512",
        }
    }

    /// Parses a name as accepted by `LOSSCORE_ISA`.
    pub fn from_name(name: &str) -> Result<Isa, LossError> {
        match name.trim().to_ascii_lowercase().as_str() {
            "scalar" | "baseline" | "sse2" => Ok(Isa::Scalar),
            "avx2" => Ok(Isa::Avx2),
            "avx512" | "avx-512" => Ok(Isa::Avx512),
            other => Err(LossError::UnsupportedIsa(format!(
                "unknown instruction set {other:?}: expected 'scalar', 'avx2' or 'avx512'"
            ))),
        }
    }

    fn from_u8(v: u8) -> Option<Isa> {
        match v {
            1 => Some(Isa::Scalar),
            2 => Some(Isa::Avx2),
            3 => Some(Isa::Avx512),
            _ => None,
        }
    }
}

/// The best ISA this CPU supports.
pub fn detect() -> Isa {
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("avx512vl")
            && is_x86_feature_detected!("avx512dq")
            && is_x86_feature_detected!("avx512bw")
            && is_x86_feature_detected!("avx2")
            && is_x86_feature_detected!("fma")
        {
            return Isa::Avx512;
        }
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            return Isa::Avx2;
        }
    }
    Isa::Scalar
}

/// Every ISA this CPU can run, in increasing order.
pub fn available() -> Vec<Isa> {
    let best = detect();
    [Isa::Scalar, Isa::Avx2, Isa::Avx512]
        .into_iter()
        .filter(|&i| i <= best)
        .collect()
}

static ACTIVE: AtomicU8 = AtomicU8::new(0);

/// The ISA kernels run with: `LOSSCORE_ISA` if set (clamped errors are reported by [`set_active`]),
/// else the best detected one. Cached after the first call.
pub fn active() -> Isa {
    if let Some(isa) = Isa::from_u8(ACTIVE.load(Ordering::Relaxed)) {
        return isa;
    }
    let isa = match std::env::var("LOSSCORE_ISA") {
        Ok(name) if !name.trim().is_empty() => match Isa::from_name(&name) {
            // An unusable request falls back to detection rather than crashing at import;
            // `set_active` is the checked way to force a path.
            Ok(req) if req <= detect() => req,
            _ => detect(),
        },
        _ => detect(),
    };
    ACTIVE.store(isa as u8, Ordering::Relaxed);
    isa
}

/// Forces the ISA path (tests and `LOSSCORE_ISA`). Fails if the CPU cannot run it.
pub fn set_active(isa: Isa) -> Result<(), LossError> {
    let best = detect();
    if isa > best {
        return Err(LossError::UnsupportedIsa(format!(
            "instruction set {:?} is not supported by this CPU (best available: {:?})",
            isa.name(),
            best.name()
        )));
    }
    ACTIVE.store(isa as u8, Ordering::Relaxed);
    Ok(())
}

/// A kernel body to run under a chosen ISA. `run` must be `#[inline(always)]`, and so must every
/// function it calls in its hot loop, or that code is compiled for the baseline only.
pub trait Kernel {
    type Output;
    fn run(self) -> Self::Output;
}

/// Runs `kernel` compiled for `isa`.
#[inline]
pub fn dispatch<K: Kernel>(isa: Isa, kernel: K) -> K::Output {
    match isa {
        Isa::Scalar => kernel.run(),
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => {
            // SAFETY: `Isa::Avx2` is only ever active when `detect()` found AVX2 and FMA.
            unsafe { run_avx2(kernel) }
        }
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => {
            // SAFETY: `Isa::Avx512` is only ever active when `detect()` found these features.
            unsafe { run_avx512(kernel) }
        }
        #[cfg(not(target_arch = "x86_64"))]
        _ => kernel.run(),
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn run_avx2<K: Kernel>(kernel: K) -> K::Output {
    kernel.run()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")]
unsafe fn run_avx512<K: Kernel>(kernel: K) -> K::Output {
    kernel.run()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for isa in [Isa::Scalar, Isa::Avx2, Isa::Avx512] {
            assert_eq!(Isa::from_name(isa.name()).unwrap(), isa);
        }
        assert!(Isa::from_name("neon").is_err());
    }

    #[test]
    fn cannot_force_beyond_cpu() {
        let best = detect();
        for isa in [Isa::Scalar, Isa::Avx2, Isa::Avx512] {
            assert_eq!(isa <= best, available().contains(&isa));
        }
        assert!(available().contains(&Isa::Scalar));
    }
}
