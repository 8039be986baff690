//! The shared driver of every optimizer: one call updates a whole list of parameter arrays.
//!
//! The arrays are viewed as one concatenated range of `n` elements, cut at fixed offsets into
//! pieces of at least [`GRAIN`] elements, and the pieces run on the crate's pool. Updates are
//! element-wise, so the result does not depend on the cut or on the thread count. Inside a piece
//! every array is walked in [`LANES`]-wide chunks through an `#[inline(always)]` per-element
//! [`Rule`], compiled for the active ISA by [`simd::dispatch`], so the same source vectorizes for
//! SSE2, AVX2 and AVX-512 and gives bitwise the same result on each.
//!
//! No buffer proportional to the data is allocated: only the list of pieces.

use crate::error::LossError;
use crate::par;
use crate::simd::{self, Isa, Kernel, Real};

/// Most state buffers any optimizer keeps per parameter (Adam with amsgrad, centered RMSprop
/// with momentum).
pub const MAX_STATES: usize = 3;
/// Elements per chunk of the inner loop (16 f32 = one AVX-512 register).
pub const LANES: usize = 16;
/// Elements per parallel piece below which a thread does not pay (a memory-bound update moves
/// ~28 bytes per element; 32 Ki elements is ~1 MB, far above the pool's dispatch cost).
pub const GRAIN: usize = 32 * 1024;

/// One parameter array with its gradient and state buffers.
///
/// `state[k]` must have the parameter's length when the rule uses buffer `k`; unused buffers
/// are ignored (pass `&mut []`).
#[derive(Debug)]
pub struct Slot<'a, T> {
    pub param: &'a mut [T],
    pub grad: &'a [T],
    pub state: [&'a mut [T]; MAX_STATES],
}

impl<'a, T> Slot<'a, T> {
    pub fn new(param: &'a mut [T], grad: &'a [T], state: [&'a mut [T]; MAX_STATES]) -> Self {
        Slot { param, grad, state }
    }

    fn len(&self) -> usize {
        self.param.len()
    }

    /// Splits off the first `mid` elements of every array (unused buffers are empty).
    fn split_at(self, mid: usize) -> (Slot<'a, T>, Slot<'a, T>) {
        let (p0, p1) = self.param.split_at_mut(mid);
        let (g0, g1) = self.grad.split_at(mid);
        let [a, b, c] = self.state;
        let (a0, a1) = a.split_at_mut(mid.min(a.len()));
        let (b0, b1) = b.split_at_mut(mid.min(b.len()));
        let (c0, c1) = c.split_at_mut(mid.min(c.len()));
        (
            Slot::new(p0, g0, [a0, b0, c0]),
            Slot::new(p1, g1, [a1, b1, c1]),
        )
    }
}

/// An optimizer's per-element update for one step, with every scalar precomputed.
pub trait Rule<T: Real>: Copy + Send + Sync {
    /// Which state buffers the rule reads and writes.
    const USES: [bool; MAX_STATES];
    /// Returns the new parameter value and updates `s` (only the used entries are meaningful).
    /// Must be `#[inline(always)]`, branch-free (selects only) and free of `mul_add`.
    fn update(&self, p: T, g: T, s: &mut [T; MAX_STATES]) -> T;
}

/// One optimizer step (hyperparameters plus the step's scalars) over a list of slots.
pub trait Update: Copy + Send + Sync {
    /// Which state buffers this configuration keeps (`Slot::state[k]` is used when `true`).
    fn uses(&self) -> [bool; MAX_STATES];
    /// Checks the hyperparameters.
    fn validate(&self) -> Result<(), LossError>;
    /// Validates, then updates every slot in place from `grad * grad_scale` (the gradients
    /// are only read; `grad_scale = 1` reads them as they are). Nothing is written when an
    /// error is returned.
    fn apply_scaled<T: Real>(
        &self,
        slots: Vec<Slot<'_, T>>,
        grad_scale: f64,
    ) -> Result<(), LossError>;

    /// [`apply_scaled`](Update::apply_scaled) with the gradients as they are.
    fn apply<T: Real>(&self, slots: Vec<Slot<'_, T>>) -> Result<(), LossError> {
        self.apply_scaled(slots, 1.0)
    }
}

/// One step over parameter groups: each group's update (its own hyperparameters and step
/// count, as `torch.optim` param groups) applied to its slots, all in one call.
///
/// Every group is validated and every length checked before anything is written, so an error
/// leaves all arrays unchanged. Groups run one after another, each split across the pool as
/// [`run`] does; updates are element-wise, so the result is independent of the thread count.
pub fn apply_groups<'a, T: Real, U: Update>(
    groups: Vec<(U, Vec<Slot<'a, T>>)>,
    grad_scale: f64,
) -> Result<(), LossError> {
    let mut groups = groups;
    for (update, slots) in groups.iter_mut() {
        update.validate()?;
        check(slots, update.uses())?;
    }
    for (update, slots) in groups {
        if !slots.is_empty() {
            update.apply_scaled(slots, grad_scale)?;
        }
    }
    Ok(())
}

/// A rule fed `g * coef` instead of `g`: gradient-norm clipping fused into the update pass.
/// The product is the one `clip::scale` writes, so the step is bitwise the same as clipping
/// the gradients in place and then stepping.
#[derive(Debug, Clone, Copy)]
struct ScaledGrad<R, T> {
    rule: R,
    coef: T,
}

impl<T: Real, R: Rule<T>> Rule<T> for ScaledGrad<R, T> {
    const USES: [bool; MAX_STATES] = R::USES;

    #[inline(always)]
    fn update(&self, p: T, g: T, s: &mut [T; MAX_STATES]) -> T {
        self.rule.update(p, g * self.coef, s)
    }
}

/// [`run`] on the gradients times `grad_scale` (exactly 1: the plain rule, as `clip::scale`
/// skips that case).
pub fn run_scaled<T: Real, R: Rule<T>>(
    rule: R,
    slots: Vec<Slot<'_, T>>,
    grad_scale: f64,
) -> Result<(), LossError> {
    if grad_scale == 1.0 {
        return run(rule, slots);
    }
    let coef = T::from_f64(grad_scale);
    run(ScaledGrad { rule, coef }, slots)
}

/// Runs `rule` over `slots` with the active ISA.
pub fn run<T: Real, R: Rule<T>>(rule: R, slots: Vec<Slot<'_, T>>) -> Result<(), LossError> {
    run_isa(simd::active(), rule, slots)
}

/// Runs `rule` over `slots` compiled for `isa` (tests compare every ISA with the scalar path).
pub fn run_isa<T: Real, R: Rule<T>>(
    isa: Isa,
    rule: R,
    mut slots: Vec<Slot<'_, T>>,
) -> Result<(), LossError> {
    check(&mut slots, R::USES)?;
    let total: usize = slots.iter().map(Slot::len).sum();
    let pieces = par::pieces(total, GRAIN);
    if pieces <= 1 {
        simd::dispatch(
            isa,
            Piece {
                rule: &rule,
                slots: &mut slots,
            },
        );
        return Ok(());
    }
    par::for_each(cut(slots, total, pieces), |mut task| {
        simd::dispatch(
            isa,
            Piece {
                rule: &rule,
                slots: &mut task,
            },
        )
    });
    Ok(())
}

/// Checks every length before anything is written; empties the unused buffers.
fn check<T>(slots: &mut [Slot<'_, T>], uses: [bool; MAX_STATES]) -> Result<(), LossError> {
    for slot in slots.iter_mut() {
        let n = slot.param.len();
        if slot.grad.len() != n {
            return Err(mismatch("grad", n, slot.grad.len()));
        }
        for (k, s) in slot.state.iter_mut().enumerate() {
            if !uses[k] {
                *s = &mut [];
            } else if s.len() != n {
                return Err(mismatch("state", n, s.len()));
            }
        }
    }
    Ok(())
}

fn mismatch(name: &'static str, want: usize, got: usize) -> LossError {
    LossError::ShapeMismatch {
        left: "param",
        left_shape: vec![want],
        right: name,
        right_shape: vec![got],
    }
}

/// Cuts the concatenation of `slots` (`total` elements) into `pieces` runs at the fixed offsets
/// `total * k / pieces`.
fn cut<'a, T>(slots: Vec<Slot<'a, T>>, total: usize, pieces: usize) -> Vec<Vec<Slot<'a, T>>> {
    let mut tasks: Vec<Vec<Slot<'a, T>>> = Vec::with_capacity(pieces);
    let mut current: Vec<Slot<'a, T>> = Vec::new();
    let mut k = 0;
    let mut end = total / pieces;
    let mut pos = 0;
    for slot in slots {
        let mut rest = slot;
        while rest.len() > 0 {
            let take = rest.len().min(end - pos);
            let (head, tail) = rest.split_at(take);
            current.push(head);
            pos += take;
            rest = tail;
            if pos == end && k + 1 < pieces {
                tasks.push(std::mem::take(&mut current));
                k += 1;
                end = total * (k + 1) / pieces;
            }
        }
    }
    tasks.push(current);
    tasks
}

struct Piece<'r, 's, 'a, T, R> {
    rule: &'r R,
    slots: &'s mut [Slot<'a, T>],
}

impl<T: Real, R: Rule<T>> Kernel for Piece<'_, '_, '_, T, R> {
    type Output = ();

    #[inline(always)]
    fn run(self) {
        for slot in self.slots.iter_mut() {
            update_slot(self.rule, slot);
        }
    }
}

/// One array. Each `LANES`-wide chunk is copied into local arrays, updated lane by lane, and
/// copied back: on locals LLVM needs no alias analysis and vectorizes the lanes (one AVX-512
/// register of f32, two AVX2 registers, ...).
#[inline(always)]
fn update_slot<T: Real, R: Rule<T>>(rule: &R, slot: &mut Slot<'_, T>) {
    let n = slot.param.len();
    let [a, b, c] = &mut slot.state;
    // Lengths were checked by `check`; re-slicing lets LLVM drop the bounds checks.
    let a: &mut [T] = if R::USES[0] { &mut a[..n] } else { &mut [] };
    let b: &mut [T] = if R::USES[1] { &mut b[..n] } else { &mut [] };
    let c: &mut [T] = if R::USES[2] { &mut c[..n] } else { &mut [] };
    update_arrays(rule, &mut *slot.param, &slot.grad[..n], a, b, c);
}

#[inline(always)]
fn update_arrays<T: Real, R: Rule<T>>(
    rule: &R,
    p: &mut [T],
    g: &[T],
    a: &mut [T],
    b: &mut [T],
    c: &mut [T],
) {
    let n = p.len();
    let full = n - n % LANES;
    let mut i = 0;
    while i < full {
        let r = i..i + LANES;
        chunk::<T, R, LANES>(
            rule,
            &mut p[r.clone()],
            &g[r.clone()],
            if R::USES[0] {
                &mut a[r.clone()]
            } else {
                &mut []
            },
            if R::USES[1] {
                &mut b[r.clone()]
            } else {
                &mut []
            },
            if R::USES[2] { &mut c[r] } else { &mut [] },
        );
        i += LANES;
    }
    for j in full..n {
        let r = j..j + 1;
        chunk::<T, R, 1>(
            rule,
            &mut p[r.clone()],
            &g[r.clone()],
            if R::USES[0] {
                &mut a[r.clone()]
            } else {
                &mut []
            },
            if R::USES[1] {
                &mut b[r.clone()]
            } else {
                &mut []
            },
            if R::USES[2] { &mut c[r] } else { &mut [] },
        );
    }
}

/// `W` elements: load into locals, update, store. Unused buffers are empty and never touched.
#[inline(always)]
fn chunk<T: Real, R: Rule<T>, const W: usize>(
    rule: &R,
    p: &mut [T],
    g: &[T],
    a: &mut [T],
    b: &mut [T],
    c: &mut [T],
) {
    let mut pv = [T::ZERO; W];
    let mut gv = [T::ZERO; W];
    let mut sv = [[T::ZERO; W]; MAX_STATES];
    pv.copy_from_slice(p);
    gv.copy_from_slice(g);
    if R::USES[0] {
        sv[0].copy_from_slice(a);
    }
    if R::USES[1] {
        sv[1].copy_from_slice(b);
    }
    if R::USES[2] {
        sv[2].copy_from_slice(c);
    }
    for j in 0..W {
        let mut s = [sv[0][j], sv[1][j], sv[2][j]];
        pv[j] = rule.update(pv[j], gv[j], &mut s);
        sv[0][j] = s[0];
        sv[1][j] = s[1];
        sv[2][j] = s[2];
    }
    p.copy_from_slice(&pv);
    if R::USES[0] {
        a.copy_from_slice(&sv[0]);
    }
    if R::USES[1] {
        b.copy_from_slice(&sv[1]);
    }
    if R::USES[2] {
        c.copy_from_slice(&sv[2]);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A rule touching every buffer: p += g + a; a += 1; b = a * g; c = -c.
    #[derive(Clone, Copy)]
    struct Probe;

    impl Rule<f64> for Probe {
        const USES: [bool; MAX_STATES] = [true, true, true];
        #[inline(always)]
        fn update(&self, p: f64, g: f64, s: &mut [f64; MAX_STATES]) -> f64 {
            s[0] += 1.0;
            s[1] = s[0] * g;
            s[2] = -s[2];
            p + g + s[0]
        }
    }

    /// Owned arrays for a list of slots of the given lengths, filled with a fixed pattern.
    #[derive(Clone, Debug, PartialEq)]
    pub(crate) struct Arrays<T> {
        pub params: Vec<Vec<T>>,
        pub grads: Vec<Vec<T>>,
        pub states: Vec<[Vec<T>; MAX_STATES]>,
    }

    impl<T: Real> Arrays<T> {
        pub fn new(lens: &[usize], seed: u64) -> Self {
            let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
            let mut next = move || {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                T::from_f64(((x >> 11) as f64 / (1u64 << 53) as f64) * 4.0 - 2.0)
            };
            let mut fill = |n: usize| (0..n).map(|_| next()).collect::<Vec<T>>();
            let params = lens.iter().map(|&n| fill(n)).collect();
            let grads = lens.iter().map(|&n| fill(n)).collect();
            // Accumulators must be non-negative for the rules that take square roots.
            let states = lens
                .iter()
                .map(|&n| {
                    let a = fill(n).into_iter().map(|v| v.abs()).collect();
                    let b = fill(n).into_iter().map(|v| v.abs()).collect();
                    let c = fill(n).into_iter().map(|v| v.abs()).collect();
                    [a, b, c]
                })
                .collect();
            Arrays {
                params,
                grads,
                states,
            }
        }

        pub fn slots(&mut self) -> Vec<Slot<'_, T>> {
            self.params
                .iter_mut()
                .zip(self.grads.iter())
                .zip(self.states.iter_mut())
                .map(|((p, g), [a, b, c])| Slot::new(p, g, [a, b, c]))
                .collect()
        }

        /// Bit patterns, for exact comparison (NaN-safe).
        pub fn bits(&self) -> Vec<u64> {
            let mut out = Vec::new();
            let all = self
                .params
                .iter()
                .chain(self.grads.iter())
                .chain(self.states.iter().flat_map(|s| s.iter()));
            for v in all {
                out.extend(v.iter().map(|x| x.to_f64().to_bits()));
            }
            out
        }
    }

    /// Lengths crossing chunk, lane and piece boundaries.
    pub(crate) const LENS: [usize; 6] = [0, 1, 17, 1000, 70_001, 3 * GRAIN + 5];

    /// Runs `rule` on every ISA and on 1 and several threads; all results must be bitwise equal.
    pub(crate) fn assert_isa_and_threads_agree<T: Real, R: Rule<T>>(rule: R) {
        let base = Arrays::<T>::new(&LENS, 7);
        let mut reference = base.clone();
        // A single piece on the calling thread, scalar code.
        let slots = reference.slots();
        simd::dispatch(
            Isa::Scalar,
            Piece {
                rule: &rule,
                slots: &mut check_ok(slots, R::USES),
            },
        );
        for isa in simd::available() {
            let mut a = base.clone();
            run_isa(isa, rule, a.slots()).unwrap();
            assert_eq!(a.bits(), reference.bits(), "isa {isa:?}");
        }
        // Explicit cuts into many pieces (independent of the machine's thread count).
        for pieces in [2, 3, 7] {
            let mut a = base.clone();
            let total = LENS.iter().sum();
            let mut tasks = cut(check_ok(a.slots(), R::USES), total, pieces);
            assert_eq!(tasks.len(), pieces);
            for task in tasks.iter_mut() {
                simd::dispatch(
                    simd::active(),
                    Piece {
                        rule: &rule,
                        slots: task.as_mut_slice(),
                    },
                );
            }
            drop(tasks);
            assert_eq!(a.bits(), reference.bits(), "pieces {pieces}");
        }
    }

    fn check_ok<T>(mut slots: Vec<Slot<'_, T>>, uses: [bool; MAX_STATES]) -> Vec<Slot<'_, T>> {
        check(&mut slots, uses).unwrap();
        slots
    }

    #[test]
    fn every_element_updated_once() {
        let lens = [3, 0, 40, GRAIN + 3, 2 * GRAIN];
        let mut arrays = Arrays::<f64>::new(&lens, 1);
        let before = arrays.clone();
        let total = lens.iter().sum();
        let mut tasks = cut(check_ok(arrays.slots(), Probe::USES), total, 5);
        for task in tasks.iter_mut() {
            simd::dispatch(
                Isa::Scalar,
                Piece {
                    rule: &Probe,
                    slots: task.as_mut_slice(),
                },
            );
        }
        drop(tasks);
        for (i, &n) in lens.iter().enumerate() {
            for j in 0..n {
                let g = before.grads[i][j];
                let a = before.states[i][0][j] + 1.0;
                assert_eq!(arrays.params[i][j], before.params[i][j] + g + a);
                assert_eq!(arrays.states[i][0][j], a);
                assert_eq!(arrays.states[i][1][j], a * g);
                assert_eq!(arrays.states[i][2][j], -before.states[i][2][j]);
            }
        }
    }

    #[test]
    fn cut_respects_fixed_offsets() {
        let lens = [10usize, 0, 7, 30];
        let mut arrays = Arrays::<f64>::new(&lens, 2);
        let tasks = cut(check_ok(arrays.slots(), Probe::USES), 47, 4);
        let sizes: Vec<usize> = tasks
            .iter()
            .map(|t| t.iter().map(Slot::len).sum())
            .collect();
        assert_eq!(sizes, vec![11, 12, 12, 12]);
    }

    #[test]
    fn probe_agrees_everywhere() {
        assert_isa_and_threads_agree(Probe);
    }

    #[test]
    fn groups_are_all_checked_before_any_is_written() {
        use crate::optim::{Sgd, SgdParams};
        let mut a = Arrays::<f64>::new(&[5, 6], 4);
        let mut b = Arrays::<f64>::new(&[3], 5);
        let (a0, b0) = (a.clone(), b.clone());
        let good = Sgd {
            hp: SgdParams {
                lr: 0.1,
                ..SgdParams::default()
            },
            fresh_buffers: false,
        };
        let bad = Sgd {
            hp: SgdParams {
                lr: -1.0,
                ..SgdParams::default()
            },
            fresh_buffers: false,
        };
        let other = Sgd {
            hp: SgdParams {
                lr: 0.2,
                ..SgdParams::default()
            },
            fresh_buffers: false,
        };
        let err = apply_groups(vec![(good, a.slots()), (bad, b.slots())], 1.0).unwrap_err();
        assert!(err.to_string().starts_with("lr:"), "{err}");
        assert_eq!((a.clone(), b.clone()), (a0.clone(), b0.clone()));
        b.grads[0].pop();
        assert!(apply_groups(vec![(good, a.slots()), (good, b.slots())], 1.0).is_err());
        assert_eq!(a, a0);
        b.grads[0].push(0.5);
        apply_groups(vec![(good, a.slots()), (other, b.slots())], 1.0).unwrap();
        for i in 0..5 {
            assert_eq!(a.params[0][i], a0.params[0][i] - 0.1 * a0.grads[0][i]);
        }
        for i in 0..2 {
            assert_eq!(b.params[0][i], b0.params[0][i] - 0.2 * b0.grads[0][i]);
        }
    }

    #[test]
    fn lengths_are_checked_before_writing() {
        let mut arrays = Arrays::<f64>::new(&[5, 6], 3);
        arrays.states[1][2].pop();
        let before = arrays.clone();
        let err = run(Probe, arrays.slots()).unwrap_err();
        assert!(err.to_string().contains("state"), "{err}");
        assert_eq!(arrays, before);
        arrays.grads[0].pop();
        assert!(run(Probe, arrays.slots()).is_err());
    }

    #[test]
    fn scaled_gradients_step_like_clipping_first() {
        use crate::optim::{clip, Adam, AdamParams};
        let n = 3 * LANES + 5;
        let grads: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin() * 3.0).collect();
        let hp = AdamParams {
            lr: 1e-2,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.01,
            decoupled_weight_decay: true,
            amsgrad: false,
            maximize: false,
        };
        let coef = clip::clip_coefficient(1.0, 7.5);
        let start: Vec<f32> = (0..n).map(|i| i as f32 * 0.01).collect();
        // Clip in place, then step.
        let (mut p1, mut m1, mut v1) = (start.clone(), vec![0f32; n], vec![0f32; n]);
        let mut clipped = grads.clone();
        clip::scale(vec![&mut clipped[..]], coef);
        let slot = Slot::new(&mut p1, &clipped, [&mut m1, &mut v1, &mut []]);
        apply_groups(vec![(Adam { hp, step: 1 }, vec![slot])], 1.0).unwrap();
        // The fused step reads the gradients as they are.
        let (mut p2, mut m2, mut v2) = (start, vec![0f32; n], vec![0f32; n]);
        let slot = Slot::new(&mut p2, &grads, [&mut m2, &mut v2, &mut []]);
        apply_groups(vec![(Adam { hp, step: 1 }, vec![slot])], coef).unwrap();
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&p1), bits(&p2));
        assert_eq!(bits(&m1), bits(&m2));
        assert_eq!(bits(&v1), bits(&v2));
    }
}
