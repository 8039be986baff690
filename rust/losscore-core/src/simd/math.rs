//! Vectorizable `exp`, `ln` and `ln_1p` for f32 and f64.
//!
//! Every function is `#[inline(always)]` straight-line code: range and special-value handling are
//! value selects (LLVM emits compare + blend), there are no tables or loops. Polynomials and the
//! reconstruction use fused multiply-add (`mul_add`, one rounding): a single instruction on the
//! AVX2 and AVX-512 paths, and the correctly rounded libm `fma` on the baseline path, so every
//! ISA computes bit for bit the same result (the baseline path is only slower).
//! Integer bit tricks use wrapping arithmetic only (no saturating `as` float->int casts).
//!
//! Polynomial coefficients are Chebyshev fits (mpmath `chebyfit`, 60 digits) of the functions
//! named next to them, rounded to the target precision. Measured max error (see the tests):
//! exp_f32 0.77, ln_f32 0.85, ln_1p_f32 0.86 ulp over all 2^32 inputs; exp_f64 0.77, ln_f64 0.82,
//! ln_1p_f64 0.81 ulp on millions of random inputs against a double-double reference.
//! `ln_1p_unit_*` are `ln_1p_*` restricted to [0, 1] (the `ln(1 + exp(-a))` of softplus-like
//! losses): bitwise the same results there, without the special-value selects.

use std::f32::consts::LOG2_E as LOG2_E_32;
use std::f64::consts::LOG2_E as LOG2_E_64;

// ---- f32 constants ----

/// 1.5 * 2^23: adding it rounds |v| < 2^22 to an integer that lands in the low mantissa bits.
const MAGIC_32: f32 = 12_582_912.0;
/// ln 2 = LN2_HI_32 + LN2_LO_32; LN2_HI_32 has 16 significant bits, so n * LN2_HI_32 is exact
/// for |n| < 2^8 (Cody-Waite).
const LN2_HI_32: f32 = 0.693_145_75;
const LN2_LO_32: f32 = 1.428_606_8e-6;
/// Bits of sqrt(1/2): mantissas are folded into [sqrt(1/2), sqrt(2)).
const SQRT_HALF_BITS_32: u32 = 0x3F35_04F3;

// ---- f64 constants ----

/// 1.5 * 2^52, see `MAGIC_32`.
const MAGIC_64: f64 = 6_755_399_441_055_744.0;
/// ln 2 split with 42 significant bits in the high part: n * LN2_HI_64 exact for |n| < 2^11.
const LN2_HI_64: f64 = 0.693_147_180_559_890_3;
const LN2_LO_64: f64 = 5.497_923_018_708_371e-14;
const SQRT_HALF_BITS_64: u64 = 0x3FE6_A09E_667F_3BCD;

/// e^x for f32.
///
/// x = n ln2 + r, |r| <= ln2/2, n = round(x log2 e) by the magic-number trick; e^r = 1 + r + r^2 g(r)
/// and 2^n is built from exponent bits as two factors 2^n1 * 2^n2 (n1 = floor(n/2)), each a normal
/// float, so results near overflow and in the subnormal range get a single rounding.
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    // g(r) = (e^r - 1 - r) / r^2 on |r| <= 0.3473.
    const G0: f32 = 0.5;
    const G1: f32 = 1.666_666_7e-1;
    const G2: f32 = 4.166_646_3e-2;
    const G3: f32 = 8.333_310_5e-3;
    const G4: f32 = 1.393_382_1e-3;
    const G5: f32 = 1.989_118e-4;
    // e^89 overflows and e^-104 < 2^-150 rounds to 0: clamping keeps n in [-150, 128].
    // NaN fails both compares and propagates.
    let xc = if x > 89.0 { 89.0 } else { x };
    let xc = if xc < -104.0 { -104.0 } else { xc };
    let t = xc.mul_add(LOG2_E_32, MAGIC_32);
    let n = t - MAGIC_32;
    // r = hi - lo: hi is exact (n * LN2_HI_32 is, then Sterbenz), lo is tiny. A NaN input
    // reaches every fused operation as the same NaN (never negated), so it propagates with the
    // same bits whatever operand order an ISA's FMA form uses.
    let hi = n.mul_add(-LN2_HI_32, xc);
    let lo = n * LN2_LO_32;
    let r = hi - lo;
    let g = r.mul_add(G5, G4).mul_add(r, G3).mul_add(r, G2);
    let g = g.mul_add(r, G1).mul_add(r, G0);
    // r^2 g - lo in one rounding.
    let p = (r * r).mul_add(g, -lo);
    // 1 + hi as an exact sum s + e (Fast2Sum, |hi| < 1): only the final addition rounds.
    let s = 1.0 + hi;
    let e = (1.0 - s) + hi;
    let y = s + (e + p);
    // Bits of t are 0x4B40_0000 + n; nb = n + 256 > 0 so logical shifts do the floor.
    let nb = t.to_bits().wrapping_sub(0x4B40_0000 - 256);
    let n1b = nb >> 1; // n1 + 128
    let s1 = f32::from_bits(n1b.wrapping_sub(1) << 23); // 2^n1
    let s2 = f32::from_bits(nb.wrapping_sub(n1b).wrapping_sub(1) << 23); // 2^(n - n1)
    y * s1 * s2
}

/// e^x for f64; same scheme as [`exp_f32`] with a degree-12 polynomial.
#[inline(always)]
pub fn exp_f64(x: f64) -> f64 {
    // g(r) = (e^r - 1 - r) / r^2 on |r| <= 0.34661.
    const G0: f64 = 0.5;
    const G1: f64 = 0.166_666_666_666_666_7;
    const G2: f64 = 0.041_666_666_666_666_67;
    const G3: f64 = 0.008_333_333_333_326_136;
    const G4: f64 = 0.001_388_888_888_888_374_8;
    const G5: f64 = 0.000_198_412_698_748_206_27;
    const G6: f64 = 2.480_158_732_554_774_3e-5;
    const G7: f64 = 2.755_725_540_020_642_2e-6;
    const G8: f64 = 2.755_727_364_311_03e-7;
    const G9: f64 = 2.510_521_700_472_074_5e-8;
    const G10: f64 = 2.091_468_696_808_687_6e-9;
    // e^710 overflows, e^-746 < 2^-1075 rounds to 0: n stays in [-1076, 1024].
    let xc = if x > 710.0 { 710.0 } else { x };
    let xc = if xc < -746.0 { -746.0 } else { xc };
    let t = xc.mul_add(LOG2_E_64, MAGIC_64);
    let n = t - MAGIC_64;
    let hi = n.mul_add(-LN2_HI_64, xc);
    let lo = n * LN2_LO_64;
    let r = hi - lo;
    let g = r
        .mul_add(G10, G9)
        .mul_add(r, G8)
        .mul_add(r, G7)
        .mul_add(r, G6);
    let g = g
        .mul_add(r, G5)
        .mul_add(r, G4)
        .mul_add(r, G3)
        .mul_add(r, G2);
    let g = g.mul_add(r, G1).mul_add(r, G0);
    let p = (r * r).mul_add(g, -lo);
    let s = 1.0 + hi;
    let e = (1.0 - s) + hi;
    let y = s + (e + p);
    // Bits of t are 0x4338_0000_0000_0000 + n; nb = n + 2048 > 0.
    let nb = t.to_bits().wrapping_sub(0x4338_0000_0000_0000 - 2048);
    let n1b = nb >> 1; // n1 + 1024
    let s1 = f64::from_bits(n1b.wrapping_sub(1) << 52);
    let s2 = f64::from_bits(nb.wrapping_sub(n1b).wrapping_sub(1) << 52);
    y * s1 * s2
}

/// ln(1 + f) - f + f^2/2 evaluated as in fdlibm: with s = f / (2 + f), z = s^2,
/// ln(1 + f) = 2 atanh(s) = f - (hfsq - s (hfsq + R(z))), hfsq = f^2/2, R(z) = z (L0 + L1 z + ..).
/// Returns k ln2 + ln(1 + f) + c with the small terms added before the large ones.
#[inline(always)]
fn log_reconstruct_f32(kf: f32, f: f32, c: f32) -> f32 {
    // (atanh(s)*2 - 2s) / s^3 as a polynomial in z = s^2 on [0, 0.02947].
    const L0: f32 = 6.666_668_7e-1;
    const L1: f32 = 3.998_876e-1;
    const L2: f32 = 2.958_098_6e-1;
    let s = f / (2.0 + f);
    let z = s * s;
    let r = z * z.mul_add(L2, L1).mul_add(z, L0);
    let hfsq = 0.5 * f * f;
    // kf * LN2_HI_32 is exact, so its fused form rounds like the plain one.
    let q = s.mul_add(hfsq + r, kf.mul_add(LN2_LO_32, c));
    kf.mul_add(LN2_HI_32, -((hfsq - q) - f))
}

#[inline(always)]
fn log_reconstruct_f64(kf: f64, f: f64, c: f64) -> f64 {
    // (atanh(s)*2 - 2s) / s^3 as a polynomial in z = s^2 on [0, 0.02947].
    const L0: f64 = 0.666_666_666_666_667;
    const L1: f64 = 0.399_999_999_998_988_9;
    const L2: f64 = 0.285_714_286_262_538_36;
    const L3: f64 = 0.222_222_110_893_794_96;
    const L4: f64 = 0.181_828_924_325_368_7;
    const L5: f64 = 0.153_316_117_220_550_08;
    const L6: f64 = 0.146_178_071_534_173_25;
    let s = f / (2.0 + f);
    let z = s * s;
    let r = z
        .mul_add(L6, L5)
        .mul_add(z, L4)
        .mul_add(z, L3)
        .mul_add(z, L2);
    let r = z * r.mul_add(z, L1).mul_add(z, L0);
    let hfsq = 0.5 * f * f;
    let q = s.mul_add(hfsq + r, kf.mul_add(LN2_LO_64, c));
    kf.mul_add(LN2_HI_64, -((hfsq - q) - f))
}

/// Splits positive normal `v` (by bits) into k and f = m - 1 with v = 2^k m,
/// m in [sqrt(1/2), sqrt(2)). Garbage (later overridden by selects) for other inputs.
#[inline(always)]
fn split_f32(bits: u32) -> (f32, f32) {
    // Adding 1.0 - sqrt(1/2) in the bit domain carries into the exponent exactly when m >= sqrt(1/2).
    let u = bits.wrapping_add(0x3F80_0000 - SQRT_HALF_BITS_32);
    // k + 127 sits in bits 23..31; read it as a float with the 2^23 magic instead of a cvt.
    let kf = f32::from_bits((u >> 23) | 0x4B00_0000) - 8_388_735.0; // 2^23 + 127
    let m = f32::from_bits((u & 0x007F_FFFF).wrapping_add(SQRT_HALF_BITS_32));
    (kf, m - 1.0) // exact: m in [0.70, 1.42]
}

#[inline(always)]
fn split_f64(bits: u64) -> (f64, f64) {
    let u = bits.wrapping_add(0x3FF0_0000_0000_0000 - SQRT_HALF_BITS_64);
    let kf = f64::from_bits((u >> 52) | 0x4330_0000_0000_0000) - 4_503_599_627_371_519.0; // 2^52 + 1023
    let m = f64::from_bits((u & 0x000F_FFFF_FFFF_FFFF).wrapping_add(SQRT_HALF_BITS_64));
    (kf, m - 1.0)
}

/// Natural logarithm for f32 (subnormals are prescaled by 2^25).
#[inline(always)]
pub fn ln_f32(x: f32) -> f32 {
    let sub = x < f32::MIN_POSITIVE;
    let xs = if sub { x * 33_554_432.0 } else { x };
    let (kf, f) = split_f32(xs.to_bits());
    let kf = kf - if sub { 25.0 } else { 0.0 };
    let res = log_reconstruct_f32(kf, f, 0.0);
    let res = if x == f32::INFINITY { x } else { res };
    let res = if x == 0.0 { f32::NEG_INFINITY } else { res };
    if x < 0.0 || x.is_nan() {
        f32::NAN
    } else {
        res
    }
}

/// Natural logarithm for f64 (subnormals are prescaled by 2^54).
#[inline(always)]
pub fn ln_f64(x: f64) -> f64 {
    let sub = x < f64::MIN_POSITIVE;
    let xs = if sub { x * 18_014_398_509_481_984.0 } else { x };
    let (kf, f) = split_f64(xs.to_bits());
    let kf = kf - if sub { 54.0 } else { 0.0 };
    let res = log_reconstruct_f64(kf, f, 0.0);
    let res = if x == f64::INFINITY { x } else { res };
    let res = if x == 0.0 { f64::NEG_INFINITY } else { res };
    if x < 0.0 || x.is_nan() {
        f64::NAN
    } else {
        res
    }
}

/// ln(1 + x) for f32: ln(u) with u = fl(1 + x), plus c = (1 + x - u) / u ~ ln((1 + x) / u).
/// The rounding error 1 + x - u is computed exactly: x - (u - 1) for x < 1 (u - 1 is exact,
/// Sterbenz), 1 - (u - x) for x >= 1. For |x| < 2^-25, u = 1 and the result is c = x.
#[inline(always)]
pub fn ln_1p_f32(x: f32) -> f32 {
    let u = 1.0 + x;
    let (kf, f) = split_f32(u.to_bits()); // u is 0 or >= 2^-24, never subnormal
    let c = if x >= 1.0 {
        1.0 - (u - x)
    } else {
        x - (u - 1.0)
    };
    let res = log_reconstruct_f32(kf, f, c / u);
    let res = if u == f32::INFINITY { u } else { res };
    let res = if u == 0.0 { f32::NEG_INFINITY } else { res };
    let res = if u < 0.0 || u.is_nan() { f32::NAN } else { res };
    // Keeps the sign of -0.0.
    if x == 0.0 {
        x
    } else {
        res
    }
}

/// ln(1 + x) for `x` in [0, 1] (e.g. `x = exp(-a)`, `a >= 0`), bitwise equal to
/// [`ln_1p_f32`] there: the same evaluation without the special-value selects and the `x >= 1`
/// branch of the correction, which that range never needs. Outside [0, 1] (NaN included) the
/// result is unspecified (finite or NaN); callers mask it.
#[inline(always)]
pub fn ln_1p_unit_f32(x: f32) -> f32 {
    let u = 1.0 + x;
    let (kf, f) = split_f32(u.to_bits());
    // x <= 1: u - 1 is exact (Sterbenz), and at x = 1 both forms of the correction give 0.
    let c = x - (u - 1.0);
    log_reconstruct_f32(kf, f, c / u)
}

/// ln(1 + x) for `x` in [0, 1], bitwise equal to [`ln_1p_f64`] there; see [`ln_1p_unit_f32`].
#[inline(always)]
pub fn ln_1p_unit_f64(x: f64) -> f64 {
    let u = 1.0 + x;
    let (kf, f) = split_f64(u.to_bits());
    let c = x - (u - 1.0);
    log_reconstruct_f64(kf, f, c / u)
}

/// ln(1 + x) for f64; see [`ln_1p_f32`].
#[inline(always)]
pub fn ln_1p_f64(x: f64) -> f64 {
    let u = 1.0 + x;
    let (kf, f) = split_f64(u.to_bits());
    let c = if x >= 1.0 {
        1.0 - (u - x)
    } else {
        x - (u - 1.0)
    };
    let res = log_reconstruct_f64(kf, f, c / u);
    let res = if u == f64::INFINITY { u } else { res };
    let res = if u == 0.0 { f64::NEG_INFINITY } else { res };
    let res = if u < 0.0 || u.is_nan() { f64::NAN } else { res };
    if x == 0.0 {
        x
    } else {
        res
    }
}

#[cfg(test)]
mod tests {
    //! Accuracy is measured in ulps of the exact result: f32 against the f64 libm result, f64
    //! against a double-double reference written here (~2^-100 relative).
    use super::*;
    use std::hint::black_box;

    // ---------- f32: (near-)exhaustive over bit patterns ----------

    /// ulp (as f64) of the f32 grid at the magnitude of `v` (v finite, nonzero or zero).
    fn ulp32(v: f64) -> f64 {
        let e = (((v.to_bits() >> 52) & 0x7FF) as i32 - 1023).max(-126);
        f64::from_bits(((e - 23 + 1023) as u64) << 52)
    }

    /// Error of `got` in f32 ulps of the exact `want` (`f64::INFINITY` for a wrong special value).
    fn err32(got: f32, want: f64) -> f64 {
        let rounded = want as f32;
        if want.is_nan() || got.is_nan() {
            return if want.is_nan() && got.is_nan() {
                0.0
            } else {
                f64::INFINITY
            };
        }
        if rounded.is_infinite() || got.is_infinite() || want == 0.0 {
            let same = got == rounded && got.is_sign_negative() == rounded.is_sign_negative();
            return if same { 0.0 } else { f64::INFINITY };
        }
        (got as f64 - want).abs() / ulp32(want)
    }

    #[derive(Debug, Clone, Copy)]
    struct Worst {
        ulp: f64,
        x: f64,
        n: u64,
    }

    impl Worst {
        fn new() -> Self {
            Worst {
                ulp: 0.0,
                x: f64::NAN,
                n: 0,
            }
        }
        fn add(&mut self, e: f64, x: f64) {
            self.n += 1;
            if e > self.ulp || e.is_nan() {
                self.ulp = e;
                self.x = x;
            }
        }
        fn merge(mut self, o: Worst) -> Self {
            self.n += o.n;
            if o.ulp > self.ulp || o.ulp.is_nan() {
                self.ulp = o.ulp;
                self.x = o.x;
            }
            self
        }
    }

    /// Bit stride for the f32 sweep: every pattern with `LOSSCORE_MATH_EXHAUSTIVE=1`.
    fn stride32() -> u64 {
        match std::env::var("LOSSCORE_MATH_EXHAUSTIVE") {
            Ok(v) if v == "1" => 1,
            _ => 61,
        }
    }

    /// Checks `f` on every `stride`-th f32 bit pattern plus every pattern in `dense` (bit ranges of
    /// both signs), on two threads.
    fn sweep32(f: fn(f32) -> f32, want: fn(f64) -> f64, dense: &[f32]) -> Worst {
        let stride = stride32();
        let mut ranges: Vec<(u64, u64, u64)> = vec![(0, 1 << 32, stride)];
        // Every pattern within 2^20 steps of each dense point, without crossing the sign bit.
        for &c in dense {
            let c = c.to_bits() as u64;
            let sign = c & (1 << 31);
            let lo = (c - sign).saturating_sub(1 << 20) + sign;
            let hi = ((c - sign) + (1 << 20)).min(1 << 31) + sign;
            ranges.push((lo, hi, 1));
        }
        let run = |part: u64| {
            let mut w = Worst::new();
            for &(lo, hi, st) in &ranges {
                let mut i = lo + part * st;
                while i < hi {
                    let x = f32::from_bits(i as u32);
                    w.add(err32(f(x), want(x as f64)), x as f64);
                    i += 2 * st;
                }
            }
            w
        };
        std::thread::scope(|sc| {
            let h = sc.spawn(|| run(1));
            run(0).merge(h.join().unwrap())
        })
    }

    fn report(name: &str, w: Worst, limit: f64) {
        eprintln!(
            "{name}: max {:.4} ulp at x = {:e} ({} points)",
            w.ulp, w.x, w.n
        );
        assert!(w.ulp <= limit, "{name}: {:.4} ulp at x = {:e}", w.ulp, w.x);
    }

    #[test]
    fn exp_f32_accuracy() {
        // Around 0, the reduction boundaries +-ln2/2, overflow, the subnormal edge, underflow.
        let dense = [
            0.0, -0.0, 0.3466, -0.3466, 88.72, -87.33, -103.97, 1e-4, -1e-4,
        ];
        let w = sweep32(|x| exp_f32(black_box(x)), f64::exp, &dense);
        report("exp_f32", w, 1.0);
    }

    #[test]
    fn ln_f32_accuracy() {
        // Subnormals, the normal edge, 1 from both sides, the fold points, the largest floats.
        let dense = [
            1e-45,
            f32::MIN_POSITIVE,
            1.0,
            0.99,
            std::f32::consts::FRAC_1_SQRT_2,
            std::f32::consts::SQRT_2,
            f32::MAX,
        ];
        let w = sweep32(|x| ln_f32(black_box(x)), f64::ln, &dense);
        report("ln_f32", w, 1.0);
    }

    #[test]
    fn ln_1p_f32_accuracy() {
        // Tiny x (u = 1), near -1, the fold points of u, the x = 1 switch of the correction, 2^24.
        let dense = [
            3e-8,
            -3e-8,
            1e-3,
            -1e-3,
            -0.9999,
            -0.2929,
            0.4142,
            1.0,
            16_777_216.0,
        ];
        let w = sweep32(|x| ln_1p_f32(black_box(x)), f64::ln_1p, &dense);
        report("ln_1p_f32", w, 1.0);
    }

    // ---------- f64: double-double reference ----------

    #[derive(Debug, Clone, Copy)]
    struct Dd(f64, f64);

    fn two_sum(a: f64, b: f64) -> Dd {
        let s = a + b;
        let bb = s - a;
        Dd(s, (a - (s - bb)) + (b - bb))
    }
    fn fast_two_sum(a: f64, b: f64) -> Dd {
        let s = a + b;
        Dd(s, b - (s - a))
    }
    fn add(a: Dd, b: Dd) -> Dd {
        let s = two_sum(a.0, b.0);
        let t = two_sum(a.1, b.1);
        let s = fast_two_sum(s.0, s.1 + t.0);
        fast_two_sum(s.0, s.1 + t.1)
    }
    /// Veltkamp split into two 26-bit halves (|a| < 2^996).
    fn split(a: f64) -> (f64, f64) {
        let t = 134_217_729.0 * a; // 2^27 + 1
        let hi = t - (t - a);
        (hi, a - hi)
    }
    /// Dekker's exact product a * b = p + e (no FMA).
    fn two_prod(a: f64, b: f64) -> Dd {
        let p = a * b;
        let ((ah, al), (bh, bl)) = (split(a), split(b));
        Dd(p, ((ah * bh - p) + ah * bl + al * bh) + al * bl)
    }
    fn mul(a: Dd, b: Dd) -> Dd {
        let p = two_prod(a.0, b.0);
        fast_two_sum(p.0, p.1 + (a.0 * b.1 + a.1 * b.0))
    }
    fn div(a: Dd, b: Dd) -> Dd {
        let q1 = a.0 / b.0;
        let r = add(a, mul(Dd(-q1, 0.0), b));
        let q2 = r.0 / b.0;
        let r = add(r, mul(Dd(-q2, 0.0), b));
        let q3 = r.0 / b.0;
        add(fast_two_sum(q1, q2), Dd(q3, 0.0))
    }
    fn scale(a: Dd, k: i32) -> Dd {
        let p = pow2(k);
        Dd(a.0 * p, a.1 * p)
    }
    /// 2^k for -1074 <= k <= 1023.
    fn pow2(k: i32) -> f64 {
        if k >= -1022 {
            f64::from_bits(((k + 1023) as u64) << 52)
        } else {
            f64::from_bits(1u64 << (k + 1074))
        }
    }
    const LN2_DD: Dd = Dd(std::f64::consts::LN_2, 2.319_046_813_846_299_6e-17);

    /// ln(1 + d) for |d| <= 0.42 by 2 atanh(d / (2 + d)).
    fn log1p_dd(d: Dd) -> Dd {
        let s = div(d, add(Dd(2.0, 0.0), d));
        let s2 = mul(s, s);
        let mut term = s;
        let mut sum = s;
        for k in 1..40 {
            term = mul(term, s2);
            let t = div(term, Dd((2 * k + 1) as f64, 0.0));
            sum = add(sum, t);
            if t.0.abs() <= 1e-36 * sum.0.abs() {
                break;
            }
        }
        scale(sum, 1)
    }

    /// ln(a) for a double-double a > 0 with a normal leading part.
    fn ln_dd(a: Dd) -> Dd {
        let mut k = ((a.0.to_bits() >> 52) & 0x7FF) as i32 - 1023;
        let mut m = scale(a, -k);
        if m.0 > std::f64::consts::SQRT_2 {
            m = scale(m, -1);
            k += 1;
        }
        let d = add(m, Dd(-1.0, 0.0));
        add(mul(Dd(k as f64, 0.0), LN2_DD), log1p_dd(d))
    }

    /// e^x as (m, n) with e^x = m 2^n, m in [0.7, 1.5], for |x| < 800.
    fn exp_dd(x: f64) -> (Dd, i32) {
        let n = (x * std::f64::consts::LOG2_E).round();
        let r = add(Dd(x, 0.0), mul(Dd(-n, 0.0), LN2_DD));
        // e^r = (e^(r/256))^256, Taylor series for the small argument.
        let r = scale(r, -8);
        let mut term = Dd(1.0, 0.0);
        let mut sum = Dd(1.0, 0.0);
        for k in 1..20 {
            term = div(mul(term, r), Dd(k as f64, 0.0));
            sum = add(sum, term);
        }
        for _ in 0..8 {
            sum = mul(sum, sum);
        }
        (sum, n as i32)
    }

    /// ulp of the f64 grid at the magnitude of `v`.
    fn ulp64(v: f64) -> f64 {
        let e = ((v.to_bits() >> 52) & 0x7FF) as i32;
        pow2((e.max(1) - 1023 - 52).max(-1074))
    }

    /// Error of `got` in ulps of the exact `want` (a double-double).
    fn err64(got: f64, want: Dd) -> f64 {
        ((got - want.0) - want.1).abs() / ulp64(want.0)
    }

    fn err_exp64(x: f64) -> f64 {
        let got = exp_f64(black_box(x));
        // Largest x with a finite e^x.
        if x > f64::from_bits(0x4086_2E42_FEFA_39EF) {
            return if got == f64::INFINITY {
                0.0
            } else {
                f64::INFINITY
            };
        }
        if x < -745.2 {
            return if got == 0.0 { 0.0 } else { f64::INFINITY };
        }
        let (m, n) = exp_dd(x);
        // Compare m against got 2^-n (exact: n split into two in-range powers).
        let got_scaled = got * pow2(-n / 2) * pow2(-n - (-n / 2));
        let mut e = ((m.0.to_bits() >> 52) & 0x7FF) as i32 - 1023 + n;
        e = e.max(-1022);
        ((got_scaled - m.0) - m.1).abs() / pow2(e - 52 - n)
    }

    fn err_ln64(x: f64) -> f64 {
        let got = ln_f64(black_box(x));
        let (a, k) = if x < f64::MIN_POSITIVE {
            (x * pow2(60), 60)
        } else {
            (x, 0)
        };
        let want = add(ln_dd(Dd(a, 0.0)), mul(Dd(-k as f64, 0.0), LN2_DD));
        err64(got, want)
    }

    fn err_ln1p64(x: f64) -> f64 {
        let got = ln_1p_f64(black_box(x));
        if x == 0.0 {
            return if got.to_bits() == x.to_bits() {
                0.0
            } else {
                f64::INFINITY
            };
        }
        let u = two_sum(1.0, x);
        // Tiny |x|: ln(1 + x) = x - x^2/2 + x^3/3, well inside double-double precision.
        let want = if x.abs() < 1e-30 {
            add(Dd(x, 0.0), Dd(-0.5 * x * x, 0.0))
        } else {
            ln_dd(u)
        };
        err64(got, want)
    }

    /// splitmix64.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
        fn unif(&mut self, a: f64, b: f64) -> f64 {
            a + (b - a) * ((self.next() >> 11) as f64 * (1.0 / (1u64 << 53) as f64))
        }
    }

    /// Runs `err` on `n` points from each generator, on two threads.
    /// (10x more with `LOSSCORE_MATH_EXHAUSTIVE=1`.)
    fn sample64(err: fn(f64) -> f64, n: u64, gens: &[fn(&mut Rng) -> f64]) -> Worst {
        let n = if stride32() == 1 { 10 * n } else { n };
        let run = |seed: u64| {
            let mut rng = Rng(seed);
            let mut w = Worst::new();
            for g in gens {
                for _ in 0..n / 2 {
                    let x = g(&mut rng);
                    w.add(err(x), x);
                }
            }
            w
        };
        std::thread::scope(|sc| {
            let h = sc.spawn(|| run(0x1234_5678));
            run(0x8765_4321).merge(h.join().unwrap())
        })
    }

    /// Random positive finite f64 bit pattern (log-uniform over the whole range, subnormals too).
    fn pos_bits(r: &mut Rng) -> f64 {
        f64::from_bits(r.next() % 0x7FF0_0000_0000_0000)
    }

    #[test]
    fn exp_f64_accuracy() {
        let gens: [fn(&mut Rng) -> f64; 5] = [
            |r| r.unif(-746.0, 710.0),
            |r| r.unif(-1.0, 1.0),
            |r| {
                let x = pos_bits(r).min(800.0);
                if r.next() & 1 == 0 {
                    x
                } else {
                    -x
                }
            },
            |r| r.unif(-745.2, -700.0),
            |r| r.unif(700.0, 709.8),
        ];
        report("exp_f64", sample64(err_exp64, 1_000_000, &gens), 1.0);
    }

    #[test]
    fn ln_f64_accuracy() {
        let gens: [fn(&mut Rng) -> f64; 4] = [
            pos_bits,
            |r| r.unif(0.5, 2.0),
            |r| 1.0 + r.unif(-1e-6, 1e-6),
            |r| f64::from_bits(r.next() % 0x0010_0000_0000_0000 + 1),
        ];
        report("ln_f64", sample64(err_ln64, 1_000_000, &gens), 1.0);
    }

    #[test]
    fn ln_1p_f64_accuracy() {
        let gens: [fn(&mut Rng) -> f64; 5] = [
            pos_bits,
            |r| -f64::from_bits(r.next() % 0x3FF0_0000_0000_0000), // (-1, 0)
            |r| r.unif(-1.0, 3.0),
            |r| r.unif(-1e-6, 1e-6),
            |r| -1.0 + r.unif(0.0, 1e-3),
        ];
        report("ln_1p_f64", sample64(err_ln1p64, 1_000_000, &gens), 1.0);
    }

    #[test]
    fn ln_1p_unit_equals_ln_1p_on_the_unit_interval() {
        // Every f32 in [0, 1] (about 2^30 patterns, strided without LOSSCORE_MATH_EXHAUSTIVE).
        let stride = stride32() as u32;
        let one = 1.0f32.to_bits();
        let mut i = 0u32;
        while i <= one {
            let x = f32::from_bits(i);
            let (a, b) = (ln_1p_unit_f32(black_box(x)), ln_1p_f32(black_box(x)));
            assert_eq!(a.to_bits(), b.to_bits(), "ln_1p_unit_f32({x:e})");
            i += stride.min(one - i).max(1);
        }
        let mut r = Rng(11);
        for k in 0..2_000_000u64 {
            let x = match k % 3 {
                0 => r.unif(0.0, 1.0),
                1 => f64::from_bits(r.next() % 0x3FF0_0000_0000_0000),
                _ => (-r.unif(0.0, 745.0)).exp(),
            };
            let (a, b) = (ln_1p_unit_f64(black_box(x)), ln_1p_f64(black_box(x)));
            assert_eq!(a.to_bits(), b.to_bits(), "ln_1p_unit_f64({x:e})");
        }
        for x in [0.0f64, 1.0, f64::from_bits(1), f64::MIN_POSITIVE] {
            assert_eq!(ln_1p_unit_f64(x).to_bits(), ln_1p_f64(x).to_bits(), "{x:e}");
            let y = x as f32;
            assert_eq!(ln_1p_unit_f32(y).to_bits(), ln_1p_f32(y).to_bits(), "{y:e}");
        }
    }

    // ---------- special values ----------

    type Case32 = (fn(f32) -> f32, f32, f32);
    type Case64 = (fn(f64) -> f64, f64, f64);

    fn same32(got: f32, want: f32) -> bool {
        (got.is_nan() && want.is_nan()) || got.to_bits() == want.to_bits()
    }
    fn same64(got: f64, want: f64) -> bool {
        (got.is_nan() && want.is_nan()) || got.to_bits() == want.to_bits()
    }

    #[test]
    fn special_values_f32() {
        let (inf, nan) = (f32::INFINITY, f32::NAN);
        let cases: [Case32; 26] = [
            (exp_f32, -inf, 0.0),
            (exp_f32, inf, inf),
            (exp_f32, nan, nan),
            (exp_f32, 0.0, 1.0),
            (exp_f32, -0.0, 1.0),
            (exp_f32, 88.73, inf),
            (exp_f32, 1000.0, inf),
            (exp_f32, -104.0, 0.0),
            (exp_f32, -1000.0, 0.0),
            (exp_f32, -103.28, f32::from_bits(1)), // e^x ~ 2^-149
            (ln_f32, 0.0, -inf),
            (ln_f32, -0.0, -inf),
            (ln_f32, -1.0, nan),
            (ln_f32, -inf, nan),
            (ln_f32, inf, inf),
            (ln_f32, nan, nan),
            (ln_f32, 1.0, 0.0),
            (ln_f32, f32::from_bits(1), -103.27893),
            (ln_1p_f32, -1.0, -inf),
            (ln_1p_f32, -1.5, nan),
            (ln_1p_f32, -inf, nan),
            (ln_1p_f32, inf, inf),
            (ln_1p_f32, nan, nan),
            (ln_1p_f32, 0.0, 0.0),
            (ln_1p_f32, -0.0, -0.0),
            (ln_1p_f32, f32::from_bits(1), f32::from_bits(1)),
        ];
        for (i, (f, x, want)) in cases.into_iter().enumerate() {
            let got = f(black_box(x));
            assert!(same32(got, want), "case {i}: f({x}) = {got}, want {want}");
        }
        assert!(same32(ln_1p_f32(-1e-30), -1e-30));
        assert!(same32(ln_1p_f32(f32::MAX), 88.72284));
    }

    #[test]
    fn special_values_f64() {
        let (inf, nan) = (f64::INFINITY, f64::NAN);
        let tiny = f64::from_bits(1);
        let cases: [Case64; 26] = [
            (exp_f64, -inf, 0.0),
            (exp_f64, inf, inf),
            (exp_f64, nan, nan),
            (exp_f64, 0.0, 1.0),
            (exp_f64, -0.0, 1.0),
            (exp_f64, 709.8, inf),
            (exp_f64, 1e5, inf),
            (exp_f64, -746.0, 0.0),
            (exp_f64, -1e5, 0.0),
            (exp_f64, -744.5, tiny), // e^x ~ 2^-1074
            (ln_f64, 0.0, -inf),
            (ln_f64, -0.0, -inf),
            (ln_f64, -1.0, nan),
            (ln_f64, -inf, nan),
            (ln_f64, inf, inf),
            (ln_f64, nan, nan),
            (ln_f64, 1.0, 0.0),
            (ln_f64, tiny, -744.440_071_921_381_2),
            (ln_1p_f64, -1.0, -inf),
            (ln_1p_f64, -1.5, nan),
            (ln_1p_f64, -inf, nan),
            (ln_1p_f64, inf, inf),
            (ln_1p_f64, nan, nan),
            (ln_1p_f64, 0.0, 0.0),
            (ln_1p_f64, -0.0, -0.0),
            (ln_1p_f64, tiny, tiny),
        ];
        for (i, (f, x, want)) in cases.into_iter().enumerate() {
            let got = f(black_box(x));
            assert!(same64(got, want), "case {i}: f({x}) = {got}, want {want}");
        }
        assert!(same64(ln_1p_f64(-1e-300), -1e-300));
        assert!(same64(ln_f64(f64::MAX), f64::MAX.ln()));
        assert!(same64(ln_1p_f64(f64::MAX), f64::MAX.ln()));
    }

    // ---------- vector paths give the same bits as the scalar path ----------

    fn inputs32() -> Vec<f32> {
        let mut r = Rng(7);
        let mut v: Vec<f32> = (0..1 << 16)
            .map(|_| f32::from_bits(r.next() as u32))
            .collect();
        v.extend((0..1 << 16).map(|_| r.unif(-110.0, 95.0) as f32));
        v.extend([
            0.0,
            -0.0,
            1.0,
            -1.0,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
        ]);
        v
    }
    fn inputs64() -> Vec<f64> {
        let mut r = Rng(8);
        let mut v: Vec<f64> = (0..1 << 16).map(|_| f64::from_bits(r.next())).collect();
        v.extend((0..1 << 16).map(|_| r.unif(-750.0, 720.0)));
        v.extend([
            0.0,
            -0.0,
            1.0,
            -1.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
        ]);
        v
    }

    macro_rules! isa_loops {
        ($($name:ident: $f:ident, $t:ty;)*) => {$(
            #[cfg(target_arch = "x86_64")]
            mod $name {
                use super::super::$f;
                pub fn scalar(xs: &[$t]) -> Vec<$t> {
                    xs.iter().map(|&x| $f(std::hint::black_box(x))).collect()
                }
                #[target_feature(enable = "avx2,fma")]
                pub unsafe fn avx2(xs: &[$t], out: &mut [$t]) {
                    for (o, x) in out.iter_mut().zip(xs) {
                        *o = $f(*x);
                    }
                }
                #[target_feature(enable = "avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")]
                pub unsafe fn avx512(xs: &[$t], out: &mut [$t]) {
                    for (o, x) in out.iter_mut().zip(xs) {
                        *o = $f(*x);
                    }
                }
            }
        )*};
    }
    isa_loops! {
        v_exp32: exp_f32, f32; v_ln32: ln_f32, f32; v_ln1p32: ln_1p_f32, f32;
        v_exp64: exp_f64, f64; v_ln64: ln_f64, f64; v_ln1p64: ln_1p_f64, f64;
        v_ln1pu32: ln_1p_unit_f32, f32; v_ln1pu64: ln_1p_unit_f64, f64;
    }

    macro_rules! check_isa {
        ($m:ident, $xs:expr) => {{
            let xs = $xs;
            let want = $m::scalar(&xs);
            let mut out = vec![Default::default(); xs.len()];
            if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                // SAFETY: AVX2 and FMA were detected at run time.
                unsafe { $m::avx2(&xs, &mut out) };
                let bad = want
                    .iter()
                    .zip(&out)
                    .position(|(a, b)| a.to_bits() != b.to_bits());
                assert!(
                    bad.is_none(),
                    "{} avx2 differs at {:?}",
                    stringify!($m),
                    bad.map(|i| xs[i])
                );
            }
            if is_x86_feature_detected!("avx512f")
                && is_x86_feature_detected!("avx512vl")
                && is_x86_feature_detected!("avx512dq")
                && is_x86_feature_detected!("avx512bw")
            {
                // SAFETY: the AVX-512 subsets (a superset of AVX2 + FMA) were detected at run time.
                unsafe { $m::avx512(&xs, &mut out) };
                let bad = want
                    .iter()
                    .zip(&out)
                    .position(|(a, b)| a.to_bits() != b.to_bits());
                assert!(
                    bad.is_none(),
                    "{} avx512 differs at {:?}",
                    stringify!($m),
                    bad.map(|i| xs[i])
                );
            }
        }};
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn isa_paths_bitwise_equal() {
        check_isa!(v_exp32, inputs32());
        check_isa!(v_ln32, inputs32());
        check_isa!(v_ln1p32, inputs32());
        check_isa!(v_exp64, inputs64());
        check_isa!(v_ln64, inputs64());
        check_isa!(v_ln1p64, inputs64());
        // The unit variants are specified on [0, 1] only.
        let mut r = Rng(9);
        let unit32: Vec<f32> = (inputs32().into_iter())
            .chain((0..1 << 16).map(|_| r.unif(0.0, 1.0) as f32))
            .filter(|x| (0.0..=1.0).contains(x))
            .collect();
        check_isa!(v_ln1pu32, unit32);
        let unit64: Vec<f64> = (inputs64().into_iter())
            .chain((0..1 << 16).map(|_| r.unif(0.0, 1.0)))
            .filter(|x| (0.0..=1.0).contains(x))
            .collect();
        check_isa!(v_ln1pu64, unit64);
    }
}
