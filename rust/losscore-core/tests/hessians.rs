//! Second derivatives of every loss, through the driver: against central finite differences of
//! the loss's own gradient (every reduction, with and without weights), against formulas written
//! here from the definitions, and bit for bit across ISAs and thread counts.

use losscore_core::loss::binary::{
    Bce, BceLogits, Hinge, KlDiv, SigmoidFocal, SoftMargin, SquaredHinge,
};
use losscore_core::loss::classification::{CrossEntropy, MultiMargin, Nll};
use losscore_core::loss::regression::{Huber, LogCosh, Mae, Mse, Pinball, PoissonNll, SmoothL1};
use losscore_core::loss::{Inputs, Loss, Request, Target};
use losscore_core::{Isa, LossError, Reduction};

mod common;

/// A deterministic stream in `[lo, hi)`.
fn uniform(n: usize, lo: f64, hi: f64, seed: u64) -> Vec<f64> {
    let state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    common::lcg_uniform(n, lo, hi, state)
}

enum Labels {
    Values(Vec<f64>),
    Index(Vec<i64>),
}

/// One evaluation setting: inputs other than the first argument, and the layout.
struct Case {
    x: Vec<f64>,
    labels: Labels,
    /// `Some(rows)` for class-axis losses.
    rows: Option<usize>,
    weight: Option<Vec<f64>>,
    cols: Option<Vec<f64>>,
}

impl Case {
    fn elementwise(x: Vec<f64>, t: Vec<f64>) -> Case {
        Case {
            x,
            labels: Labels::Values(t),
            rows: None,
            weight: None,
            cols: None,
        }
    }

    fn rows(x: Vec<f64>, rows: usize, labels: Labels) -> Case {
        Case {
            x,
            labels,
            rows: Some(rows),
            weight: None,
            cols: None,
        }
    }

    fn units(&self) -> usize {
        self.rows.unwrap_or(self.x.len())
    }

    fn width(&self) -> usize {
        self.x.len() / self.units().max(1)
    }

    fn inputs<'a>(&'a self, x: &'a [f64]) -> Inputs<'a, f64> {
        let target = match &self.labels {
            Labels::Values(t) => Target::Values(&t[..]),
            Labels::Index(y) => Target::Index(&y[..]),
        };
        let inputs = match self.rows {
            Some(rows) => Inputs::rows(x, rows, target),
            None => match target {
                Target::Values(t) => Inputs::elementwise(x, t),
                _ => unreachable!("element-wise cases have value targets"),
            },
        };
        inputs
            .weight(self.weight.as_deref())
            .cols(self.cols.as_deref())
    }

    /// `(value or NaN, per-unit loss, gradient, Hessian)` at `x`.
    fn run(
        &self,
        loss: &dyn Loss<f64>,
        x: &[f64],
        reduction: Reduction,
    ) -> (f64, Vec<f64>, Vec<f64>, Vec<f64>) {
        let mut l = vec![0.0; self.units()];
        let mut g = vec![0.0; x.len()];
        let mut h = vec![0.0; x.len()];
        let req = Request::value(self.inputs(x), reduction)
            .loss_out((reduction == Reduction::None).then_some(&mut l[..]))
            .grad_out(Some(&mut g))
            .hess_out(Some(&mut h));
        let v = loss.run(req).unwrap().finish(reduction);
        (v, l, g, h)
    }

    /// The gradient only (no Hessian requested).
    fn grad(&self, loss: &dyn Loss<f64>, x: &[f64], reduction: Reduction) -> (f64, Vec<f64>) {
        let mut l = vec![0.0; self.units()];
        let mut g = vec![0.0; x.len()];
        let req = Request::value(self.inputs(x), reduction)
            .loss_out((reduction == Reduction::None).then_some(&mut l[..]))
            .grad_out(Some(&mut g));
        (loss.run(req).unwrap().finish(reduction), g)
    }
}

/// Central differences of the gradient: column `j` of every unit is moved at once (units are
/// independent), so the diagonal comes from `2 * width` gradient evaluations.
fn fd_hess(case: &Case, loss: &dyn Loss<f64>, reduction: Reduction) -> Vec<f64> {
    let width = case.width();
    let mut out = vec![0.0; case.x.len()];
    for j in 0..width {
        let step: Vec<f64> = case
            .x
            .iter()
            .enumerate()
            .map(|(i, &v)| {
                if i % width == j {
                    1e-5 * v.abs().max(1.0)
                } else {
                    0.0
                }
            })
            .collect();
        let up: Vec<f64> = case.x.iter().zip(&step).map(|(a, b)| a + b).collect();
        let down: Vec<f64> = case.x.iter().zip(&step).map(|(a, b)| a - b).collect();
        let gu = case.grad(loss, &up, reduction).1;
        let gd = case.grad(loss, &down, reduction).1;
        for i in (j..case.x.len()).step_by(width.max(1)) {
            out[i] = (gu[i] - gd[i]) / (up[i] - down[i]);
        }
    }
    out
}

fn reductions() -> [Reduction; 3] {
    [Reduction::None, Reduction::Sum, Reduction::Mean]
}

/// The Hessian agrees with finite differences of the gradient for every reduction, with and
/// without weights, and asking for it leaves the value and gradient bits unchanged.
fn check(name: &str, loss: &dyn Loss<f64>, mut case: Case) {
    let units = case.units();
    for weighted in [false, true] {
        case.weight = weighted.then(|| uniform(units, 0.2, 2.0, 99));
        for reduction in reductions() {
            let (v, l, g, h) = case.run(loss, &case.x, reduction);
            let (v0, g0) = case.grad(loss, &case.x, reduction);
            assert_eq!(v.to_bits(), v0.to_bits(), "{name}: value changed");
            assert_eq!(g, g0, "{name}: gradient changed");
            if reduction == Reduction::None {
                assert!(l.iter().all(|v| v.is_finite()), "{name}");
            }
            let fd = fd_hess(&case, loss, reduction);
            // The gradient factor of the unit (weight times the reduction's scale).
            let scale = match reduction {
                Reduction::Mean => {
                    1.0 / case
                        .weight
                        .as_ref()
                        .map_or(units as f64, |w| w.iter().sum())
                }
                _ => 1.0,
            };
            for i in 0..h.len() {
                let k = scale * case.weight.as_ref().map_or(1.0, |w| w[i / case.width()]);
                let tol = 1e-5 * (h[i].abs() + fd[i].abs()) + 1e-8 * k;
                assert!(
                    (h[i] - fd[i]).abs() <= tol,
                    "{name} {reduction:?} weighted={weighted} at {i}: hess {} vs fd {} (x={})",
                    h[i],
                    fd[i],
                    case.x[i]
                );
            }
        }
    }
}

const N: usize = 300;

/// Residuals `p - t` at least `gap` away from every kink in `kinks` (and their negatives).
fn off_kinks(kinks: &[f64], gap: f64, seed: u64) -> (Vec<f64>, Vec<f64>) {
    let t = uniform(N, -3.0, 3.0, seed);
    let mut d = uniform(N, -4.0, 4.0, seed + 1);
    for v in d.iter_mut() {
        for &k in kinks {
            for kk in [k, -k] {
                if (*v - kk).abs() < gap {
                    *v = kk + gap * if *v >= kk { 1.0 } else { -1.0 };
                }
            }
        }
    }
    let p = t.iter().zip(&d).map(|(a, b)| a + b).collect();
    (p, t)
}

#[test]
fn regression_hessians_match_finite_differences() {
    let (p, t) = off_kinks(&[0.0], 1e-3, 1);
    check("mse", &Mse, Case::elementwise(p.clone(), t.clone()));
    check("mae", &Mae, Case::elementwise(p.clone(), t.clone()));
    check(
        "log_cosh",
        &LogCosh,
        Case::elementwise(p.clone(), t.clone()),
    );
    check(
        "pinball",
        &Pinball::<f64>::new(0.3).unwrap(),
        Case::elementwise(p.clone(), t.clone()),
    );
    check(
        "smooth_l1 beta=0",
        &SmoothL1::<f64>::new(0.0).unwrap(),
        Case::elementwise(p, t),
    );
    let (p, t) = off_kinks(&[0.0, 0.7], 1e-3, 3);
    check(
        "huber",
        &Huber::<f64>::new(0.7).unwrap(),
        Case::elementwise(p.clone(), t.clone()),
    );
    check(
        "smooth_l1",
        &SmoothL1::<f64>::new(0.7).unwrap(),
        Case::elementwise(p, t),
    );
    let x = uniform(N, -2.0, 2.0, 5);
    let counts: Vec<f64> = uniform(N, 0.0, 6.0, 6).iter().map(|v| v.floor()).collect();
    for full in [false, true] {
        check(
            "poisson_nll log_input",
            &PoissonNll::<f64>::new(true, full, 1e-8).unwrap(),
            Case::elementwise(x.clone(), counts.clone()),
        );
        let rate = uniform(N, 0.1, 4.0, 7);
        check(
            "poisson_nll rate",
            &PoissonNll::<f64>::new(false, full, 1e-8).unwrap(),
            Case::elementwise(rate, counts.clone()),
        );
    }
}

#[test]
fn binary_hessians_match_finite_differences() {
    let x = uniform(N, -5.0, 5.0, 11);
    let mut t = uniform(N, 0.0, 1.0, 12);
    t[0] = 0.0;
    t[1] = 1.0;
    check(
        "bce_with_logits",
        &BceLogits,
        Case::elementwise(x.clone(), t.clone()),
    );
    let mut pw = Case::elementwise(x.clone(), t.clone());
    pw.cols = Some(vec![0.5, 2.0, 3.0]);
    check("bce_with_logits pos_weight", &BceLogits, pw);
    for (alpha, gamma) in [
        (0.25, 2.0),
        (-1.0, 2.0),
        (0.25, 1.5),
        (0.6, 0.0),
        (0.25, 3.0),
    ] {
        check(
            &format!("sigmoid_focal alpha={alpha} gamma={gamma}"),
            &SigmoidFocal::<f64>::new(alpha, gamma).unwrap(),
            Case::elementwise(x.clone(), t.clone()),
        );
    }
    let prob = uniform(N, 0.02, 0.98, 13);
    check("bce", &Bce, Case::elementwise(prob, t.clone()));
    let signs: Vec<f64> = uniform(N, -1.0, 1.0, 14)
        .iter()
        .map(|v| if *v < 0.0 { -1.0 } else { 1.0 })
        .collect();
    // Margin 1: keep t x away from the kink at 1.
    let xm: Vec<f64> = x
        .iter()
        .zip(&signs)
        .map(|(&v, &s)| {
            if (s * v - 1.0).abs() < 1e-3 {
                v + 0.01
            } else {
                v
            }
        })
        .collect();
    check(
        "soft_margin",
        &SoftMargin,
        Case::elementwise(xm.clone(), signs.clone()),
    );
    check(
        "hinge",
        &Hinge::<f64>::new(1.0).unwrap(),
        Case::elementwise(xm.clone(), signs.clone()),
    );
    check(
        "squared_hinge",
        &SquaredHinge::<f64>::new(1.0).unwrap(),
        Case::elementwise(xm, signs),
    );
    let lp = uniform(N, -4.0, 0.0, 15);
    check(
        "kl_div",
        &KlDiv { log_target: false },
        Case::elementwise(lp.clone(), uniform(N, 0.0, 1.0, 16)),
    );
    check(
        "kl_div log_target",
        &KlDiv { log_target: true },
        Case::elementwise(lp, uniform(N, -4.0, 0.0, 17)),
    );
}

fn labels(rows: usize, classes: usize, seed: u64) -> Vec<i64> {
    uniform(rows, 0.0, classes as f64, seed)
        .iter()
        .map(|v| (*v as i64).min(classes as i64 - 1))
        .collect()
}

fn probabilities(rows: usize, classes: usize, seed: u64) -> Vec<f64> {
    let mut t = uniform(rows * classes, 0.0, 1.0, seed);
    for row in t.chunks_mut(classes) {
        let s: f64 = row.iter().sum();
        row.iter_mut().for_each(|v| *v /= s);
    }
    t
}

#[test]
fn row_hessians_match_finite_differences() {
    let rows = 40;
    for classes in [3usize, 16, 23] {
        let x = uniform(rows * classes, -3.0, 3.0, classes as u64);
        let mut y = labels(rows, classes, 21);
        let cw = uniform(classes, 0.3, 2.0, 22);
        let name = |s: &str| format!("{s} C={classes}");
        for (cwo, ignore, eps) in [
            (None, None, 0.0),
            (Some(&cw[..]), None, 0.0),
            (None, None, 0.2),
            (Some(&cw[..]), Some(1), 0.1),
        ] {
            y[3] = 1;
            let ce = CrossEntropy::new(classes, cwo, ignore, eps).unwrap();
            check(
                &name(&format!(
                    "cross_entropy cw={} ignore={ignore:?} eps={eps}",
                    cwo.is_some()
                )),
                &ce,
                Case::rows(x.clone(), rows, Labels::Index(y.clone())),
            );
        }
        for (cwo, eps) in [(None, 0.0), (Some(&cw[..]), 0.15)] {
            let ce = CrossEntropy::new(classes, cwo, None, eps).unwrap();
            check(
                &name("cross_entropy probabilities"),
                &ce,
                Case::rows(
                    x.clone(),
                    rows,
                    Labels::Values(probabilities(rows, classes, 23)),
                ),
            );
        }
        let nll = Nll::new(classes, Some(&cw), Some(0)).unwrap();
        check(
            &name("nll_loss"),
            &nll,
            Case::rows(x.clone(), rows, Labels::Index(y.clone())),
        );
        for p in [1, 2] {
            // Keep margin - x_y + x_i away from 0 (the kinks).
            let mut xm = x.clone();
            for r in 0..rows {
                let yi = y[r] as usize;
                for i in 0..classes {
                    let z = 1.0 - xm[r * classes + yi] + xm[r * classes + i];
                    if i != yi && z.abs() < 1e-3 {
                        xm[r * classes + i] += 0.01;
                    }
                }
            }
            let mm = MultiMargin::new(classes, p, 1.0, Some(&cw)).unwrap();
            check(
                &name(&format!("multi_margin p={p}")),
                &mm,
                Case::rows(xm, rows, Labels::Index(y.clone())),
            );
        }
    }
}

/// Hessians (reduction "none", unweighted) against formulas written from the definitions.
#[test]
fn hessians_match_hand_formulas() {
    let p = uniform(N, -3.0, 3.0, 31);
    let t = uniform(N, -3.0, 3.0, 32);
    let w = uniform(N, 0.1, 2.0, 33);
    let sigmoid = |x: f64| 1.0 / (1.0 + (-x).exp());
    let hess_of = |loss: &dyn Loss<f64>, x: &[f64], t: &[f64], red| {
        let mut case = Case::elementwise(x.to_vec(), t.to_vec());
        case.weight = Some(w.clone());
        case.run(loss, x, red).3
    };
    let sw: f64 = w.iter().sum();
    // mse, mean: 2 w / sum(w).
    let h = hess_of(&Mse, &p, &t, Reduction::Mean);
    for i in 0..N {
        assert!(
            (h[i] - 2.0 * w[i] / sw).abs() <= 4e-15 * h[i].abs(),
            "mse {i}: {} vs {}",
            h[i],
            2.0 * w[i] / sw
        );
    }
    // huber, sum: w where |d| < delta, else 0.
    let h = hess_of(&Huber::<f64>::new(1.3).unwrap(), &p, &t, Reduction::Sum);
    for i in 0..N {
        let want = if (p[i] - t[i]).abs() < 1.3 { w[i] } else { 0.0 };
        assert_eq!(h[i], want, "huber {i}");
    }
    // bce with logits, none: w s (1 - s).
    let y = uniform(N, 0.0, 1.0, 34);
    let h = hess_of(&BceLogits, &p, &y, Reduction::None);
    for i in 0..N {
        let s = sigmoid(p[i]);
        let want = w[i] * s * (1.0 - s);
        assert!((h[i] - want).abs() <= 1e-14 * want, "bce_with_logits {i}");
    }
    // poisson (log input), mean: w exp(x) / sum(w); rates: w t / (x + eps)^2.
    let counts: Vec<f64> = y.iter().map(|v| (v * 7.0).floor()).collect();
    let h = hess_of(
        &PoissonNll::<f64>::new(true, false, 1e-8).unwrap(),
        &p,
        &counts,
        Reduction::Mean,
    );
    for i in 0..N {
        let want = w[i] * p[i].exp() / sw;
        assert!((h[i] - want).abs() <= 1e-14 * want, "poisson {i}");
    }
    let rate: Vec<f64> = p.iter().map(|v| v.abs() + 0.1).collect();
    let h = hess_of(
        &PoissonNll::<f64>::new(false, true, 1e-8).unwrap(),
        &rate,
        &counts,
        Reduction::None,
    );
    for i in 0..N {
        let want = w[i] * counts[i] / (rate[i] + 1e-8).powi(2);
        assert!(
            (h[i] - want).abs() <= 1e-14 * want.max(1e-300),
            "poisson rate {i}"
        );
    }
}

#[test]
fn cross_entropy_hessian_matches_the_hand_formula() {
    let (rows, c) = (64, 5);
    let x = uniform(rows * c, -4.0, 4.0, 41);
    let mut y = labels(rows, c, 42);
    y[5] = 2; // the ignored class below
    let cw = uniform(c, 0.5, 1.5, 43);
    let w = uniform(rows, 0.1, 2.0, 44);
    let eps = 0.1;
    let ce = CrossEntropy::new(c, Some(&cw), Some(2), eps).unwrap();
    let mut case = Case::rows(x.clone(), rows, Labels::Index(y.clone()));
    case.weight = Some(w.clone());
    let h = case.run(&ce, &x, Reduction::Mean).3;
    // "mean" divides by sum_n w_n cw[y_n] over rows not ignored.
    let den: f64 = (0..rows)
        .filter(|&n| y[n] != 2)
        .map(|n| w[n] * cw[y[n] as usize])
        .sum();
    let wsum: f64 = cw.iter().sum();
    for n in 0..rows {
        let row = &x[n * c..(n + 1) * c];
        let m = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let z: f64 = row.iter().map(|v| (v - m).exp()).sum();
        let mass = (1.0 - eps) * cw[y[n] as usize] + eps / c as f64 * wsum;
        for j in 0..c {
            let pj = (row[j] - m).exp() / z;
            let want = if y[n] == 2 {
                0.0
            } else {
                w[n] / den * mass * pj * (1.0 - pj)
            };
            let got = h[n * c + j];
            assert!(
                (got - want).abs() <= 1e-14 * want.abs() + 1e-300,
                "row {n} class {j}: {got} vs {want}"
            );
        }
    }
    // Probability targets: mass sum_c u_c with u_c = cw_c ((1-eps) t_c + eps/C).
    let t = probabilities(rows, c, 45);
    let ce = CrossEntropy::new(c, Some(&cw), None, eps).unwrap();
    let case = Case::rows(x.clone(), rows, Labels::Values(t.clone()));
    let h = case.run(&ce, &x, Reduction::Sum).3;
    for n in 0..rows {
        let row = &x[n * c..(n + 1) * c];
        let z: f64 = row.iter().map(|v| v.exp()).sum();
        let mass: f64 = (0..c)
            .map(|k| cw[k] * ((1.0 - eps) * t[n * c + k] + eps / c as f64))
            .sum();
        for j in 0..c {
            let pj = row[j].exp() / z;
            let want = mass * pj * (1.0 - pj);
            assert!(
                (h[n * c + j] - want).abs() <= 1e-14 * want,
                "prob row {n} class {j}"
            );
        }
    }
}

#[test]
fn masked_and_ignored_rows_have_zero_hessians() {
    let c = 4;
    let inf = f64::INFINITY;
    for classes_path in [c, 20] {
        let mut x = uniform(3 * classes_path, -1.0, 1.0, 51);
        x[..classes_path].fill(-inf); // row 0: every class masked
        x[classes_path] = -inf; // row 1: one class masked
        let y = vec![0i64, 2, 1];
        let ce = CrossEntropy::new(classes_path, None, Some(1), 0.0).unwrap();
        let case = Case::rows(x.clone(), 3, Labels::Index(y));
        let (_, l, _, h) = case.run(&ce, &x, Reduction::None);
        assert_eq!(l[0], inf);
        assert!(h[..classes_path].iter().all(|&v| v == 0.0), "all -inf row");
        assert_eq!(h[classes_path], 0.0, "masked class");
        assert!(h[classes_path + 1..2 * classes_path]
            .iter()
            .all(|&v| v > 0.0));
        assert!(
            h[2 * classes_path..].iter().all(|&v| v == 0.0),
            "ignored row"
        );
    }
}

fn long_case() -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let n = 3 * 8192 + 77;
    let p: Vec<f32> = uniform(n, -4.0, 4.0, 61)
        .iter()
        .map(|&v| v as f32)
        .collect();
    let t: Vec<f32> = uniform(n, 0.0, 1.0, 62).iter().map(|&v| v as f32).collect();
    let w: Vec<f32> = uniform(n, 0.0, 2.0, 63).iter().map(|&v| v as f32).collect();
    (p, t, w)
}

/// `(value, grad, hess)` of a float32 element-wise loss with weights and "mean".
fn run32(loss: &dyn Loss<f32>, p: &[f32], t: &[f32], w: &[f32]) -> (u64, Vec<u32>, Vec<u32>) {
    let mut g = vec![0f32; p.len()];
    let mut h = vec![0f32; p.len()];
    let req = Request::value(Inputs::elementwise(p, t).weight(Some(w)), Reduction::Mean)
        .grad_out(Some(&mut g))
        .hess_out(Some(&mut h));
    let v = loss.run(req).unwrap().finish(Reduction::Mean);
    let bits = |a: &[f32]| a.iter().map(|v| v.to_bits()).collect();
    (v.to_bits(), bits(&g), bits(&h))
}

#[test]
fn every_isa_and_thread_count_gives_the_same_hessian_bits() {
    let (p, t, w) = long_case();
    let losses: Vec<(&str, Box<dyn Loss<f32>>)> = vec![
        ("mse", Box::new(Mse)),
        ("huber", Box::new(Huber::<f32>::new(0.8).unwrap())),
        ("log_cosh", Box::new(LogCosh)),
        ("bce_with_logits", Box::new(BceLogits)),
        (
            "sigmoid_focal",
            Box::new(SigmoidFocal::<f32>::new(0.25, 2.0).unwrap()),
        ),
        (
            "sigmoid_focal g=1.5",
            Box::new(SigmoidFocal::<f32>::new(0.25, 1.5).unwrap()),
        ),
        (
            "poisson_nll",
            Box::new(PoissonNll::<f32>::new(true, true, 1e-8).unwrap()),
        ),
        ("soft_margin", Box::new(SoftMargin)),
    ];
    for (name, loss) in &losses {
        losscore_core::simd::set_active(Isa::Scalar).unwrap();
        losscore_core::par::set_num_threads(1).unwrap();
        let reference = run32(loss.as_ref(), &p, &t, &w);
        losscore_core::par::set_num_threads(3).unwrap();
        for isa in losscore_core::simd::available() {
            losscore_core::simd::set_active(isa).unwrap();
            assert!(
                run32(loss.as_ref(), &p, &t, &w) == reference,
                "{name} {isa:?}"
            );
        }
    }
    // Rows: both cross-entropy paths, index and probability targets.
    for c in [10usize, 40] {
        let rows = 3000;
        let x: Vec<f32> = uniform(rows * c, -5.0, 5.0, 64)
            .iter()
            .map(|&v| v as f32)
            .collect();
        let y = labels(rows, c, 65);
        let cw: Vec<f32> = (0..c).map(|i| 0.5 + i as f32 * 0.05).collect();
        let tp: Vec<f32> = probabilities(rows, c, 66)
            .iter()
            .map(|&v| v as f32)
            .collect();
        let ce = CrossEntropy::<f32>::new(c, Some(&cw), None, 0.1).unwrap();
        let run = |target: Target<'_, f32>| {
            let mut g = vec![0f32; x.len()];
            let mut h = vec![0f32; x.len()];
            let req = Request::value(Inputs::rows(&x, rows, target), Reduction::Mean)
                .grad_out(Some(&mut g))
                .hess_out(Some(&mut h));
            let v = ce.run(req).unwrap().finish(Reduction::Mean);
            (v.to_bits(), g, h)
        };
        for target in [Target::Index(&y[..]), Target::Values(&tp[..])] {
            losscore_core::simd::set_active(Isa::Scalar).unwrap();
            losscore_core::par::set_num_threads(1).unwrap();
            let reference = run(target);
            losscore_core::par::set_num_threads(3).unwrap();
            for isa in losscore_core::simd::available() {
                losscore_core::simd::set_active(isa).unwrap();
                let got = run(target);
                assert_eq!(got.0, reference.0, "C={c} {isa:?}");
                assert!(
                    got.1
                        .iter()
                        .zip(&reference.1)
                        .all(|(a, b)| a.to_bits() == b.to_bits())
                        && got
                            .2
                            .iter()
                            .zip(&reference.2)
                            .all(|(a, b)| a.to_bits() == b.to_bits()),
                    "C={c} {isa:?}"
                );
            }
        }
    }
    losscore_core::simd::set_active(losscore_core::simd::detect()).unwrap();
}

#[test]
fn hess_out_is_checked() {
    let p = [1.0f64, 2.0, 3.0];
    let t = [0.0f64; 3];
    let mut h = [7.0; 3];
    let req = Request::value(Inputs::elementwise(&p, &t), Reduction::Sum).hess_out(Some(&mut h));
    let err = Mse.run(req).unwrap_err();
    assert!(err.to_string().contains("hess_out"), "{err}");
    assert_eq!(h, [7.0; 3]);
    let mut g = [0.0; 3];
    let mut short = [0.0; 2];
    let req = Request::value(Inputs::elementwise(&p, &t), Reduction::Sum)
        .grad_out(Some(&mut g))
        .hess_out(Some(&mut short));
    let err = Mse.run(req).unwrap_err();
    assert!(
        matches!(
            err,
            LossError::ShapeMismatch {
                right: "hess_out",
                ..
            }
        ),
        "{err}"
    );
}
