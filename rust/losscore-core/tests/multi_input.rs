//! Losses of several inputs through the driver: every input's gradient against central finite
//! differences of the value, streamed chunks against the whole, and the input checks.

use losscore_core::loss::gaussian::GaussianNll;
use losscore_core::loss::ranking::{CosineEmbedding, MarginRanking, TripletMargin};
use losscore_core::loss::{Inputs, Loss, Request, Target};
use losscore_core::reduce::Partials;
use losscore_core::{LossError, Reduction};

mod common;

fn stream(n: usize, seed: u64, lo: f64, hi: f64) -> Vec<f64> {
    common::lcg_uniform(n, lo, hi, seed.wrapping_add(0x9E3779B97F4A7C15))
}

/// The inputs of one case: up to three arrays, an optional label per unit, the unit width.
struct Case {
    arrays: Vec<Vec<f64>>,
    labels: Option<Vec<f64>>,
    width: usize,
}

impl Case {
    fn units(&self) -> usize {
        self.arrays[0].len() / self.width
    }

    fn inputs<'a>(&'a self, arrays: &'a [Vec<f64>]) -> Inputs<'a, f64> {
        let target = match &self.labels {
            Some(y) => Target::Units(y),
            None => Target::Absent,
        };
        Inputs::rows(&arrays[0], self.units(), target)
            .more([arrays.get(1).map(|a| &a[..]), arrays.get(2).map(|a| &a[..])])
    }
}

fn value<L: Loss<f64>>(loss: &L, case: &Case, arrays: &[Vec<f64>]) -> f64 {
    let req = Request::value(case.inputs(arrays), Reduction::Sum);
    loss.run(req).unwrap().finish(Reduction::Sum)
}

fn gradients<L: Loss<f64>>(loss: &L, case: &Case) -> Vec<Vec<f64>> {
    let n = case.arrays[0].len();
    let mut g = vec![vec![0.0; n]; 3];
    let [g0, g1, g2] = &mut g[..] else {
        unreachable!()
    };
    let many = case.arrays.len();
    let req = Request::value(case.inputs(&case.arrays), Reduction::Sum)
        .grad_out(Some(g0))
        .more_grad_out([
            (many > 1).then_some(&mut g1[..]),
            (many > 2).then_some(&mut g2[..]),
        ]);
    loss.run(req).unwrap();
    g.truncate(many);
    g
}

fn check_finite_differences<L: Loss<f64>>(loss: &L, case: &Case, tol: f64) {
    let grads = gradients(loss, case);
    let h = 1e-6;
    for (k, g) in grads.iter().enumerate() {
        for j in 0..g.len() {
            let mut up = case.arrays.clone();
            let mut down = case.arrays.clone();
            up[k][j] += h;
            down[k][j] -= h;
            let fd = (value(loss, case, &up) - value(loss, case, &down)) / (2.0 * h);
            assert!(
                (fd - g[j]).abs() <= tol * (1.0 + fd.abs()),
                "input {k} element {j}: gradient {} finite difference {fd}",
                g[j]
            );
        }
    }
}

fn labels(n: usize, seed: u64) -> Vec<f64> {
    stream(n, seed, 0.0, 1.0)
        .into_iter()
        .map(|u| if u < 0.5 { -1.0 } else { 1.0 })
        .collect()
}

#[test]
fn every_gradient_is_the_finite_difference_of_the_value() {
    let (rows, dim) = (7, 5);
    let n = rows * dim;
    let pair = |seed| vec![stream(n, seed, -2.0, 2.0), stream(n, seed + 1, -2.0, 2.0)];
    let cosine = Case {
        arrays: pair(1),
        labels: Some(labels(rows, 3)),
        width: dim,
    };
    for margin in [0.0, 0.3, -0.4] {
        check_finite_differences(&CosineEmbedding::new(dim, margin).unwrap(), &cosine, 1e-6);
    }
    let mut triple = pair(5);
    triple.push(stream(n, 7, -2.0, 2.0));
    let triplet = Case {
        arrays: triple,
        labels: None,
        width: dim,
    };
    for (p, swap) in [
        (2.0, false),
        (2.0, true),
        (1.0, false),
        (3.0, true),
        (1.5, false),
    ] {
        let loss = TripletMargin::new(dim, 0.8, p, 1e-6, swap).unwrap();
        check_finite_differences(&loss, &triplet, 1e-5);
    }
    let ranking = Case {
        arrays: pair(9),
        labels: Some(labels(n, 11)),
        width: 1,
    };
    check_finite_differences(&MarginRanking::new(0.25).unwrap(), &ranking, 1e-6);
    let gaussian = Case {
        arrays: vec![
            stream(n, 12, -2.0, 2.0),
            stream(n, 13, -2.0, 2.0),
            stream(n, 14, 0.2, 3.0),
        ],
        labels: None,
        width: 1,
    };
    for full in [false, true] {
        let loss = GaussianNll::new(full, 1e-6).unwrap();
        check_finite_differences(&loss, &gaussian, 1e-6);
    }
}

#[test]
fn chunks_cut_anywhere_finish_like_the_whole() {
    let (rows, dim) = (5000, 3);
    let n = rows * dim;
    let case = Case {
        arrays: vec![stream(n, 21, -1.0, 1.0), stream(n, 22, -1.0, 1.0)],
        labels: Some(labels(rows, 23)),
        width: dim,
    };
    let loss = CosineEmbedding::new(dim, 0.1).unwrap();
    let whole = loss
        .run(Request::value(case.inputs(&case.arrays), Reduction::Mean))
        .unwrap();
    let mut merged = Partials::default();
    for (lo, hi) in [(0, 1), (1, 700), (700, 2222), (2222, rows)] {
        let part: Vec<Vec<f64>> = case
            .arrays
            .iter()
            .map(|a| a[lo * dim..hi * dim].to_vec())
            .collect();
        let y = case.labels.as_ref().unwrap()[lo..hi].to_vec();
        let inputs =
            Inputs::rows(&part[0], hi - lo, Target::Units(&y)).more([Some(&part[1]), None]);
        let req = Request::value(inputs, Reduction::Mean).chunk_at(Some(lo));
        merged.merge(loss.run(req).unwrap()).unwrap();
    }
    for r in [Reduction::Sum, Reduction::Mean] {
        assert_eq!(merged.finish(r).to_bits(), whole.finish(r).to_bits());
    }
}

#[test]
fn inputs_are_checked() {
    let x = [1.0, 2.0];
    let y = [1.0, 3.0];
    let loss = MarginRanking::<f64>::new(0.0).unwrap();
    // A label outside {-1, +1} names its position.
    let err = loss
        .run(Request::value(
            Inputs::rows(&x, 2, Target::Units(&y)).more([Some(&x), None]),
            Reduction::Sum,
        ))
        .unwrap_err();
    assert!(
        matches!(err, LossError::InvalidTarget { index: 1, .. }),
        "{err}"
    );
    // The second input is required; a gradient of an absent input is refused.
    let ones = [1.0, 1.0];
    let missing = Request::value(Inputs::rows(&x, 2, Target::Units(&ones)), Reduction::Sum);
    assert!(loss.run(missing).is_err());
    let mut g = [0.0; 2];
    let absent = Request::value(Inputs::rows(&x, 2, Target::Units(&ones)), Reduction::Sum)
        .more_grad_out([None, Some(&mut g)]);
    assert!(loss.run(absent).is_err());
    // Only the element-wise losses have a Hessian diagonal.
    let (mut g, mut h) = ([0.0; 2], [0.0; 2]);
    let cosine = CosineEmbedding::new(1, 0.0).unwrap();
    let req = Request::value(
        Inputs::rows(&x, 2, Target::Units(&ones)).more([Some(&x), None]),
        Reduction::Sum,
    )
    .grad_out(Some(&mut g))
    .hess_out(Some(&mut h));
    assert!(cosine.run(req).is_err());
    // Parameters.
    assert!(TripletMargin::new(2, 1.0, 0.0, 1e-6, false).is_err());
    assert!(GaussianNll::<f64>::new(false, 0.0).is_err());
    assert!(MarginRanking::<f64>::new(f64::NAN).is_err());
}
