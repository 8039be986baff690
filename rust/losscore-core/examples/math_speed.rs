//! Throughput of the crate's exp / ln / ln_1p against std (libm), per ISA wrapper.
//!
//! `cargo run --release -p losscore-core --example math_speed`

use losscore_core::simd::{exp_f32, exp_f64, ln_1p_f32, ln_1p_f64, ln_f32, ln_f64};
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
    let f32s = |v: &[f64]| v.iter().map(|&x| x as f32).collect::<Vec<f32>>();
    let (exp_in32, ln_in32, ln1p_in32) = (f32s(&exp_in), f32s(&ln_in), f32s(&ln1p_in));
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
    row!("exp_f64", exp64, &exp_in, &mut out64);
    row!("std f64::exp", std_exp64, &exp_in, &mut out64);
    row!("ln_f64", ln64, &ln_in, &mut out64);
    row!("std f64::ln", std_ln64, &ln_in, &mut out64);
    row!("ln_1p_f64", ln1p64, &ln1p_in, &mut out64);
    row!("std f64::ln_1p", std_ln1p64, &ln1p_in, &mut out64);
}
