//! Throughput of the crate's exp / ln / ln_1p against std (libm), and of the transcendental loss
//! bodies built on them (log_cosh value and gradient, Poisson with log input), per ISA wrapper.
//!
//! `cargo run --release -p losscore-core --example math_speed`

use losscore_core::loss::regression::{LogCosh, Mae, Mse, PoissonNll};
use losscore_core::loss::{evaluate, Loss, Pointwise};
use losscore_core::simd::Isa;
use losscore_core::simd::{exp_f32, exp_f64, ln_1p_f32, ln_1p_f64, ln_f32, ln_f64};
use losscore_core::Reduction;
use std::hint::black_box;
use std::time::Instant;

const N: usize = 1_000_000;
const REPS: usize = 20;
const BLOCK: usize = 4096;

macro_rules! wrappers {
    ($($name:ident: $f:path, $t:ty;)*) => {$(
        mod $name {
            #[inline(never)]
            pub fn base(xs: &[$t], out: &mut [$t]) {
                for (o, x) in out.iter_mut().zip(xs) {
                    *o = $f(*x);
                }
            }
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2,fma")]
            pub unsafe fn avx2(xs: &[$t], out: &mut [$t]) {
                for (o, x) in out.iter_mut().zip(xs) {
                    *o = $f(*x);
                }
            }
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")]
            pub unsafe fn avx512(xs: &[$t], out: &mut [$t]) {
                for (o, x) in out.iter_mut().zip(xs) {
                    *o = $f(*x);
                }
            }
        }
    )*};
}

wrappers! {
    exp32: super::exp_f32, f32; ln32: super::ln_f32, f32; ln1p32: super::ln_1p_f32, f32;
    exp64: super::exp_f64, f64; ln64: super::ln_f64, f64; ln1p64: super::ln_1p_f64, f64;
    std_exp32: f32::exp, f32; std_ln32: f32::ln, f32; std_ln1p32: f32::ln_1p, f32;
    std_exp64: f64::exp, f64; std_ln64: f64::ln, f64; std_ln1p64: f64::ln_1p, f64;
    log_cosh32: super::log_cosh_value, f32; log_cosh_grad32: super::log_cosh_grad, f32;
    poisson32: super::poisson_log_input, f32;
}

/// log cosh(x) as the loss computes it.
#[inline(always)]
fn log_cosh_value(x: f32) -> f32 {
    Pointwise::<f32>::value(&LogCosh, x, 0.0)
}

/// value + gradient of log cosh folded into one output (both are computed).
#[inline(always)]
fn log_cosh_grad(x: f32) -> f32 {
    let (v, g) = Pointwise::<f32>::value_grad(&LogCosh, x, 0.0);
    v + g
}

/// The Poisson NLL with log input, `exp(p) - t p`, at t = 0.5.
#[inline(always)]
fn poisson_log_input(x: f32) -> f32 {
    exp_f32(x) - 0.5 * x
}

/// Best-of-`REPS` nanoseconds per element. The 10^6 inputs stream from memory; outputs go to a
/// cache-resident block of `BLOCK` values, so the timing is compute, not write bandwidth.
fn time<T: Copy>(xs: &[T], out: &mut [T], f: &mut dyn FnMut(&[T], &mut [T])) -> f64 {
    let mut best = f64::INFINITY;
    for _ in 0..REPS {
        let t = Instant::now();
        for chunk in black_box(xs).chunks(BLOCK) {
            f(chunk, &mut out[..chunk.len()]);
            black_box(&mut *out);
        }
        best = best.min(t.elapsed().as_secs_f64() * 1e9 / xs.len() as f64);
    }
    best
}

fn has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

fn has_avx512() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("avx512vl")
            && is_x86_feature_detected!("avx512dq")
            && is_x86_feature_detected!("avx512bw")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

macro_rules! row {
    ($label:expr, $m:ident, $xs:expr, $out:expr) => {{
        let base = time($xs, $out, &mut |x, o| $m::base(x, o));
        let avx2 = if has_avx2() {
            // SAFETY: AVX2 and FMA were detected at run time.
            time($xs, $out, &mut |x, o| unsafe { $m::avx2(x, o) })
        } else {
            f64::NAN
        };
        let avx512 = if has_avx512() {
            // SAFETY: the AVX-512 F/VL/DQ/BW subsets (which imply AVX2 + FMA) were detected.
            time($xs, $out, &mut |x, o| unsafe { $m::avx512(x, o) })
        } else {
            f64::NAN
        };
        println!("{:<16} {:>9.3} {:>9.3} {:>9.3}", $label, base, avx2, avx512);
    }};
}

fn main() {
    // Deterministic inputs spread over each function's interesting range (LCG).
    let mut s = 0x2545_F491_4F6C_DD1Du64;
    let mut unif = move || {
        s = s.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        (s >> 11) as f64 / (1u64 << 53) as f64
    };
    let exp_in: Vec<f64> = (0..N).map(|_| unif() * 160.0 - 80.0).collect();
    let ln_in: Vec<f64> = (0..N).map(|_| (unif() * 120.0 - 60.0).exp()).collect();
    let ln1p_in: Vec<f64> = (0..N).map(|_| (unif() * 40.0 - 30.0).exp() - 0.5).collect();
    // Residuals of standard-normal predictions and targets: d ~ N(0, 2), mostly |d| < 4.
    let resid_in: Vec<f64> = (0..N).map(|_| unif() * 8.0 - 4.0).collect();
    let f32s = |v: &[f64]| v.iter().map(|&x| x as f32).collect::<Vec<f32>>();
    let (exp_in32, ln_in32, ln1p_in32) = (f32s(&exp_in), f32s(&ln_in), f32s(&ln1p_in));
    let resid_in32 = f32s(&resid_in);
    let mut out32 = vec![0f32; BLOCK];
    let mut out64 = vec![0f64; BLOCK];

    println!("ns/element over {N} values (best of {REPS})");
    println!(
        "{:<16} {:>9} {:>9} {:>9}",
        "function", "baseline", "avx2", "avx512"
    );
    row!("exp_f32", exp32, &exp_in32, &mut out32);
    row!("std f32::exp", std_exp32, &exp_in32, &mut out32);
    row!("ln_f32", ln32, &ln_in32, &mut out32);
    row!("std f32::ln", std_ln32, &ln_in32, &mut out32);
    row!("ln_1p_f32", ln1p32, &ln1p_in32, &mut out32);
    row!("std f32::ln_1p", std_ln1p32, &ln1p_in32, &mut out32);
    row!("log_cosh f32", log_cosh32, &resid_in32, &mut out32);
    row!("log_cosh v+g f32", log_cosh_grad32, &resid_in32, &mut out32);
    row!("poisson f32", poisson32, &resid_in32, &mut out32);
    row!("exp_f64", exp64, &exp_in, &mut out64);
    row!("std f64::exp", std_exp64, &exp_in, &mut out64);
    row!("ln_f64", ln64, &ln_in, &mut out64);
    row!("std f64::ln", std_ln64, &ln_in, &mut out64);
    row!("ln_1p_f64", ln1p64, &ln1p_in, &mut out64);
    row!("std f64::ln_1p", std_ln1p64, &ln1p_in, &mut out64);
    kernel_rows(&resid_in32);
}

/// Best-of-`REPS` ns/element of a whole loss call (driver, element loop, f64 lanes) on one
/// thread, over `KERNEL_N` cache-resident values: the compute cost of the kernel, per ISA path.
fn kernel_rows(resid: &[f32]) {
    const KERNEL_N: usize = 1 << 16;
    let p: Vec<f32> = resid[..KERNEL_N].iter().map(|&d| 0.5 * d).collect();
    let t: Vec<f32> = resid[KERNEL_N..2 * KERNEL_N]
        .iter()
        .map(|&d| 0.5 * d)
        .collect();
    let t_pos: Vec<f32> = t.iter().map(|v| v.abs()).collect();
    let mut g = vec![0f32; KERNEL_N];
    losscore_core::par::set_num_threads(1).expect("one thread");
    let isas = losscore_core::simd::available();
    println!("\nwhole loss calls, {KERNEL_N} float32 (L2-resident), 1 thread, ns/element");
    print!("{:<24}", "loss");
    for isa in &isas {
        print!(" {:>9}", isa.name());
    }
    println!();
    fn one<L: Loss<f32> + Copy>(
        label: &str,
        isas: &[Isa],
        loss: L,
        p: &[f32],
        t: &[f32],
        mut g: Option<&mut [f32]>,
    ) {
        print!("{label:<24}");
        for &isa in isas {
            losscore_core::simd::set_active(isa).expect("available ISA");
            let mut best = f64::INFINITY;
            for _ in 0..REPS {
                let start = Instant::now();
                for _ in 0..20 {
                    let gr = g.as_deref_mut();
                    let v = evaluate(loss, p, t, None, Reduction::Mean, None, gr, false);
                    black_box(v.expect("valid inputs"));
                }
                best = best.min(start.elapsed().as_secs_f64() * 1e9 / (20 * p.len()) as f64);
            }
            print!(" {best:>9.3}");
        }
        println!();
    }
    let poisson = PoissonNll::<f32>::new(true, false, 1e-8).expect("valid options");
    one("mse", &isas, Mse, &p, &t, None);
    one("mae", &isas, Mae, &p, &t, None);
    one("value_and_grad(mse)", &isas, Mse, &p, &t, Some(&mut g));
    one("poisson_nll", &isas, poisson, &p, &t_pos, None);
    one(
        "value_and_grad(poisson)",
        &isas,
        poisson,
        &p,
        &t_pos,
        Some(&mut g),
    );
    one("log_cosh", &isas, LogCosh, &p, &t, None);
    one(
        "value_and_grad(log_cosh)",
        &isas,
        LogCosh,
        &p,
        &t,
        Some(&mut g),
    );
    losscore_core::simd::set_active(losscore_core::simd::detect()).expect("detected ISA");
}
