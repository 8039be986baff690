//! The derivatives-only mode of the driver (`Request::derivatives_only`) and the Hessian floor
//! (`Request::hess_floor`): the gradient and Hessian are bit for bit those of the normal pass
//! (value, gradient and Hessian) for every element-wise loss with a Hessian and the row losses,
//! float32 and float64, weighted and unweighted, on every ISA and thread count; the floor is
//! `max(h, floor * w)` written here; the checks of the new fields.

use losscore_core::loss::binary::{
    Bce, BceWithLogits, Hinge, KlDiv, SigmoidFocal, SoftMargin, SquaredHinge,
};
use losscore_core::loss::classification::{CrossEntropy, MultiMargin, Nll};
use losscore_core::loss::deviance::{GammaDeviance, PoissonDeviance, TweedieDeviance};
use losscore_core::loss::regression::{Huber, LogCosh, Mae, Mse, Pinball, PoissonNll, SmoothL1};
use losscore_core::loss::{Inputs, Loss, Request, Target};
use losscore_core::reduce::BLOCK;
use losscore_core::{LossError, Real, Reduction};

mod common;

/// A deterministic stream in `[lo, hi)`.
fn uniform(n: usize, lo: f64, hi: f64, seed: u64) -> Vec<f64> {
    common::lcg_uniform(n, lo, hi, seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
}

fn cast<T: Real>(v: &[f64]) -> Vec<T> {
    v.iter().map(|&x| T::from_f64(x)).collect()
}

fn bits<T: Real>(v: &[T]) -> Vec<u64> {
    v.iter().map(|x| x.to_f64().to_bits()).collect()
}

/// The labels of one case (values of the first argument's layout, or class indices).
#[derive(Clone, Copy)]
enum Labels<'a, T> {
    Values(&'a [T]),
    Index(&'a [i64]),
}

/// One case: first argument, labels, `rows` for row losses, weights, column factors.
struct Case<'a, T> {
    x: &'a [T],
    labels: Labels<'a, T>,
    rows: Option<usize>,
    weight: Option<&'a [T]>,
    cols: Option<&'a [T]>,
}

impl<'a, T: Real> Case<'a, T> {
    fn inputs(&self) -> Inputs<'a, T> {
        let target = match self.labels {
            Labels::Values(t) => Target::Values(t),
            Labels::Index(y) => Target::Index(y),
        };
        let inputs = match self.rows {
            Some(rows) => Inputs::rows(self.x, rows, target),
            None => match target {
                Target::Values(t) => Inputs::elementwise(self.x, t),
                _ => unreachable!("element-wise cases have value targets"),
            },
        };
        inputs.weight(self.weight).cols(self.cols)
    }

    /// `(loss terms of the partials, gradient, Hessian)` of a "sum" request.
    fn run(
        &self,
        loss: &dyn Loss<T>,
        only: bool,
        scale: Option<f64>,
        floor: Option<f64>,
    ) -> (Vec<f64>, Vec<T>, Vec<T>) {
        let mut g = vec![T::from_f64(7.0); self.x.len()];
        let mut h = vec![T::from_f64(7.0); self.x.len()];
        let req = Request::value(self.inputs(), Reduction::Sum)
            .grad_out(Some(&mut g))
            .hess_out(Some(&mut h))
            .grad_scale(scale)
            .hess_floor(floor)
            .derivatives_only(only);
        let partials = loss.run(req).unwrap();
        (partials.loss, g, h)
    }

    /// The per-unit weight of value `i` (1 unweighted).
    fn w(&self, i: usize) -> f64 {
        let width = self.x.len() / self.rows.unwrap_or(self.x.len()).max(1);
        let unit = if self.rows.is_some() { i / width } else { i };
        self.weight.map_or(1.0, |w| w[unit].to_f64())
    }
}

/// Derivatives only = the normal pass, bit for bit, with and without scale and floor; the floor
/// is `max(h, floor * w)` of the unfloored Hessian; the partials hold no loss.
fn check<T: Real>(name: &str, loss: &dyn Loss<T>, case: &Case<'_, T>) {
    for (scale, floor) in [(None, None), (Some(0.3), None), (Some(1.7), Some(0.05))] {
        let (_, g0, h0) = case.run(loss, false, scale, floor);
        let (terms, g1, h1) = case.run(loss, true, scale, floor);
        assert_eq!(bits(&g1), bits(&g0), "{name} grad {scale:?} {floor:?}");
        assert_eq!(bits(&h1), bits(&h0), "{name} hess {scale:?} {floor:?}");
        assert!(terms.iter().all(|&v| v == 0.0), "{name}: no loss is summed");
        if let Some(f) = floor {
            let (_, _, raw) = case.run(loss, false, scale, None);
            let f = T::from_f64(f);
            for (i, (&r, &got)) in raw.iter().zip(&h1).enumerate() {
                let fw = f * T::from_f64(case.w(i));
                let want = if r > fw { r } else { fw };
                assert_eq!(
                    got.to_f64().to_bits(),
                    want.to_f64().to_bits(),
                    "{name} at {i}"
                );
            }
        }
    }
}

/// A loss with its name, first argument and target.
type Named<'a, T> = (&'static str, Box<dyn Loss<T>>, &'a [T], &'a [T]);

/// Every element-wise loss with a Hessian and the row losses, on data in their domains.
fn all_losses<T: Real>(weighted: bool) {
    let n = 2 * BLOCK + 333;
    let x = cast::<T>(&uniform(n, -4.0, 4.0, 1));
    let t = cast::<T>(&uniform(n, -3.0, 3.0, 2));
    let u = cast::<T>(&uniform(n, 0.0, 1.0, 3));
    let p = cast::<T>(&uniform(n, 0.02, 0.98, 4));
    let mu = cast::<T>(&uniform(n, 0.2, 4.0, 5));
    let counts: Vec<T> = uniform(n, 0.0, 6.0, 6)
        .iter()
        .map(|v| T::from_f64(v.floor()))
        .collect();
    let signs: Vec<T> = uniform(n, -1.0, 1.0, 7)
        .iter()
        .map(|&v| T::from_f64(if v < 0.0 { -1.0 } else { 1.0 }))
        .collect();
    let w_all = cast::<T>(&uniform(n, 0.2, 2.0, 8));
    let weight = weighted.then_some(&w_all[..]);
    let losses: Vec<Named<'_, T>> = vec![
        ("mse", Box::new(Mse), &x, &t),
        ("mae", Box::new(Mae), &x, &t),
        ("huber", Box::new(Huber::<T>::new(0.7).unwrap()), &x, &t),
        (
            "smooth_l1",
            Box::new(SmoothL1::<T>::new(0.7).unwrap()),
            &x,
            &t,
        ),
        ("log_cosh", Box::new(LogCosh), &x, &t),
        ("pinball", Box::new(Pinball::<T>::new(0.3).unwrap()), &x, &t),
        (
            "poisson_nll",
            Box::new(PoissonNll::<T>::new(true, true, 1e-8).unwrap()),
            &x,
            &counts,
        ),
        (
            "poisson_nll-rate",
            Box::new(PoissonNll::<T>::new(false, false, 1e-8).unwrap()),
            &mu,
            &counts,
        ),
        ("poisson_deviance", Box::new(PoissonDeviance), &mu, &counts),
        ("gamma_deviance", Box::new(GammaDeviance), &mu, &mu),
        (
            "tweedie_deviance",
            Box::new(TweedieDeviance::<T>::new(1.5).unwrap()),
            &mu,
            &counts,
        ),
        ("binary_cross_entropy", Box::new(Bce), &p, &u),
        (
            "bce_with_logits",
            Box::new(BceWithLogits::<T>::new(0.0).unwrap()),
            &x,
            &u,
        ),
        (
            "bce_with_logits-smoothing",
            Box::new(BceWithLogits::<T>::new(0.2).unwrap()),
            &x,
            &u,
        ),
        (
            "sigmoid_focal",
            Box::new(SigmoidFocal::<T>::new(0.25, 2.0).unwrap()),
            &x,
            &u,
        ),
        (
            "sigmoid_focal-g1.5",
            Box::new(SigmoidFocal::<T>::new(-1.0, 1.5).unwrap()),
            &x,
            &u,
        ),
        ("soft_margin", Box::new(SoftMargin), &x, &signs),
        ("hinge", Box::new(Hinge::<T>::new(1.0).unwrap()), &x, &signs),
        (
            "squared_hinge",
            Box::new(SquaredHinge::<T>::new(1.0).unwrap()),
            &x,
            &signs,
        ),
        ("kl_div", Box::new(KlDiv { log_target: false }), &x, &u),
    ];
    for (name, loss, a, b) in &losses {
        let case = Case {
            x: a,
            labels: Labels::Values(b),
            rows: None,
            weight,
            cols: None,
        };
        check(name, loss.as_ref(), &case);
    }
    // pos_weight: column factors tiling the elements.
    let cols = cast::<T>(&[0.5, 2.0, 3.0]);
    let m = n / 3 * 3;
    let case = Case {
        x: &x[..m],
        labels: Labels::Values(&u[..m]),
        rows: None,
        weight: weight.map(|w| &w[..m]),
        cols: Some(&cols),
    };
    for eps in [0.0, 0.1] {
        let loss = BceWithLogits::<T>::new(eps).unwrap();
        check("bce_with_logits-pos_weight", &loss, &case);
    }
    // Row losses: few classes (tiles), many classes (along the row), options, probabilities.
    for classes in [3usize, 10, 16, 17, 40] {
        let rows = 3 * BLOCK / classes + 37;
        let mut logits = cast::<T>(&uniform(rows * classes, -3.0, 3.0, 9));
        logits[0] = T::INFINITY; // the limit rows
        for v in &mut logits[classes..2 * classes] {
            *v = -T::INFINITY;
        }
        let y: Vec<i64> = uniform(rows, 0.0, classes as f64, 10)
            .iter()
            .map(|&v| v as i64)
            .collect();
        let cw = cast::<T>(&uniform(classes, 0.3, 2.0, 11));
        let rw = cast::<T>(&uniform(rows, 0.2, 2.0, 12));
        let probs: Vec<T> = {
            let raw = uniform(rows * classes, 0.0, 1.0, 13);
            raw.chunks(classes)
                .flat_map(|r| {
                    let s: f64 = r.iter().sum();
                    r.iter()
                        .map(move |v| T::from_f64(v / s))
                        .collect::<Vec<_>>()
                })
                .collect()
        };
        let row_case = |labels| Case {
            x: &logits,
            labels,
            rows: Some(rows),
            weight: weighted.then_some(&rw[..]),
            cols: None,
        };
        let plain = CrossEntropy::<T>::new(classes, None, None, 0.0).unwrap();
        let options = CrossEntropy::<T>::new(classes, Some(&cw), Some(1), 0.1).unwrap();
        let smoothed = CrossEntropy::<T>::new(classes, None, None, 0.2).unwrap();
        check("cross_entropy", &plain, &row_case(Labels::Index(&y)));
        check(
            "cross_entropy-options",
            &options,
            &row_case(Labels::Index(&y)),
        );
        check(
            "cross_entropy-prob",
            &smoothed,
            &row_case(Labels::Values(&probs)),
        );
        let nll = Nll::<T>::new(classes, Some(&cw), Some(0)).unwrap();
        check("nll_loss", &nll, &row_case(Labels::Index(&y)));
        for p in [1, 2] {
            let mm = MultiMargin::<T>::new(classes, p, 1.0, None).unwrap();
            check("multi_margin", &mm, &row_case(Labels::Index(&y)));
        }
    }
}

#[test]
fn derivatives_only_are_the_normal_pass_on_every_isa() {
    let before = losscore_core::par::num_threads();
    // One test sets the process-wide ISA and thread count (the other tests' results do not
    // depend on them: that is what this test checks).
    for isa in losscore_core::simd::available() {
        losscore_core::simd::set_active(isa).unwrap();
        for threads in [1, 3] {
            losscore_core::par::set_num_threads(threads).unwrap();
            for weighted in [false, true] {
                all_losses::<f32>(weighted);
                all_losses::<f64>(weighted);
            }
        }
    }
    losscore_core::simd::set_active(losscore_core::simd::detect()).unwrap();
    losscore_core::par::set_num_threads(before).unwrap();
}

#[test]
fn derivatives_only_match_the_logistic_formulas() {
    let n = 3 * BLOCK + 77;
    let x = cast::<f32>(&uniform(n, -6.0, 6.0, 21));
    let u = cast::<f32>(&uniform(n, 0.0, 1.0, 22));
    let w = cast::<f32>(&uniform(n, 0.2, 2.0, 23));
    let case = Case {
        x: &x,
        labels: Labels::Values(&u),
        rows: None,
        weight: Some(&w),
        cols: None,
    };
    let loss = BceWithLogits::<f32>::new(0.0).unwrap();
    let reference = {
        let (_, g, h) = case.run(&loss, true, Some(0.3), Some(0.05));
        (bits(&g), bits(&h))
    };
    // Against float64 formulas written here (the ISA is whichever is active: the test above
    // shows every ISA gives the normal pass's bits).
    for (i, &xi) in x.iter().enumerate() {
        let (xv, t, wv) = (xi as f64, u[i] as f64, w[i] as f64);
        let s = 1.0 / (1.0 + (-xv).exp());
        let g = (s - t) * wv * 0.3;
        let h = (s * (1.0 - s) * wv * 0.3).max(0.05 * wv);
        let (gg, hh) = (
            f64::from_bits(reference.0[i]),
            f64::from_bits(reference.1[i]),
        );
        assert!(
            (gg - g).abs() <= 1e-6 * (1.0 + g.abs()),
            "grad at {i}: {gg} vs {g}"
        );
        assert!(
            (hh - h).abs() <= 1e-6 * (1.0 + h.abs()),
            "hess at {i}: {hh} vs {h}"
        );
    }
}

#[test]
fn derivatives_only_and_the_floor_are_checked() {
    let x = [0.5f64, -1.0, 2.0];
    let t = [1.0f64, 0.0, 1.0];
    let loss = BceWithLogits::<f64>::new(0.0).unwrap();
    let inputs = || Inputs::elementwise(&x, &t);
    let err = |req: Request<'_, f64>| loss.run(req).unwrap_err().to_string();
    // Derivatives only without a gradient output, or with per-element losses.
    let e = err(Request::value(inputs(), Reduction::Sum).derivatives_only(true));
    assert!(e.contains("out"), "{e}");
    let (mut g, mut l) = ([0.0; 3], [0.0; 3]);
    let e = err(Request::value(inputs(), Reduction::None)
        .derivatives_only(true)
        .grad_out(Some(&mut g))
        .loss_out(Some(&mut l)));
    assert!(e.contains("loss_out"), "{e}");
    // A floor without a Hessian output; a negative or non-finite floor.
    let mut g = [0.0; 3];
    let e = err(Request::value(inputs(), Reduction::Sum)
        .grad_out(Some(&mut g))
        .hess_floor(Some(1.0)));
    assert!(e.contains("hess_floor"), "{e}");
    for bad in [-1.0, f64::NAN, f64::INFINITY] {
        let (mut g, mut h) = ([0.0; 3], [0.0; 3]);
        let e = err(Request::value(inputs(), Reduction::Sum)
            .grad_out(Some(&mut g))
            .hess_out(Some(&mut h))
            .hess_floor(Some(bad)));
        assert!(e.contains("hess_floor"), "{e}");
    }
    // Derivatives only with reduction "none" needs no per-element loss output.
    let (mut g, mut h) = ([0.0; 3], [0.0; 3]);
    let req = Request::value(inputs(), Reduction::None)
        .derivatives_only(true)
        .grad_out(Some(&mut g))
        .hess_out(Some(&mut h));
    loss.run(req).unwrap();
    assert!(h.iter().all(|&v| v > 0.0));
    // An invalid target is still reported, before the caller's buffers are written when asked.
    let bad_t = [1.0f64, 0.5, -1.0];
    let hinge = Hinge::<f64>::new(1.0).unwrap();
    let (mut g, mut h) = ([7.0; 3], [7.0; 3]);
    let req = Request::value(Inputs::elementwise(&x, &bad_t), Reduction::Sum)
        .derivatives_only(true)
        .grad_out(Some(&mut g))
        .hess_out(Some(&mut h))
        .prevalidate(true);
    let e = hinge.run(req).unwrap_err();
    assert!(
        matches!(e, LossError::InvalidTarget { index: 1, .. }),
        "{e}"
    );
    assert!(g.iter().chain(&h).all(|&v| v == 7.0));
}
