//! The one driver under every loss.
//!
//! A loss reads `units` (elements for element-wise losses, rows of `C` values for class-axis
//! losses). Units are cut into reduction blocks of [`Blocks::per_block`] units at fixed global
//! offsets; blocks are grouped into pieces run in parallel under the active ISA; each block
//! returns its float64 partial `sum(w*l)`. Everything a reduction needs to finish lives in a
//! [`Partials`] value, so in-memory calls and chunked or streamed evaluation finish the same way.
//!
//! What is written once here: the length checks, the weight validation and "mean" denominator
//! partials, the piece cutting, the splitting of the optional input/output slices, the parallel
//! run, and the gradient scale (`1/denominator`, known before the pass so value and gradient
//! come from one pass over memory; the Hessian diagonal, when asked for, is scaled the same way
//! and comes from the same pass). A loss family implements [`Blocks`]: its per-block math.

use super::scan;
use crate::error::{invalid, LossError};
use crate::par;
use crate::reduce::{self, Open, Partials, Reduction};
use crate::simd::{self, Kernel, Real};

/// The target of a loss: values laid out like the first argument, or one class index per row.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a, T> {
    Values(&'a [T]),
    Index(&'a [i64]),
    /// One value per unit (a label per row of a pair of inputs, e.g. `+1`/`-1`).
    Units(&'a [T]),
    /// No target: every array is an input (losses of several inputs, e.g. triplets).
    Absent,
}

impl<'a, T> Target<'a, T> {
    /// Units `lo..hi` (`width` values each for value targets).
    pub fn range(&self, lo: usize, hi: usize, width: usize) -> Self {
        match *self {
            Target::Values(t) => Target::Values(&t[lo * width..hi * width]),
            Target::Index(y) => Target::Index(&y[lo..hi]),
            Target::Units(y) => Target::Units(&y[lo..hi]),
            Target::Absent => Target::Absent,
        }
    }

    /// Splits off the first `units` units (`width` values each for value targets).
    pub fn split(&self, units: usize, width: usize) -> (Self, Self) {
        match *self {
            Target::Values(t) => {
                let (a, b) = t.split_at(units * width);
                (Target::Values(a), Target::Values(b))
            }
            Target::Index(y) => {
                let (a, b) = y.split_at(units);
                (Target::Index(a), Target::Index(b))
            }
            Target::Units(y) => {
                let (a, b) = y.split_at(units);
                (Target::Units(a), Target::Units(b))
            }
            Target::Absent => (Target::Absent, Target::Absent),
        }
    }
}

/// Further inputs laid out like the first argument (`var` of `gaussian_nll`, the second of a
/// pair, the positive and negative of a triplet), in argument order.
pub type More<'a, T> = [Option<&'a [T]>; 2];

/// The gradients of the further inputs, in the order of [`More`].
pub type MoreGrad<'a, T> = [Option<&'a mut [T]>; 2];

/// What a loss reads.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a, T> {
    /// The first argument: `units * width` values.
    pub x: &'a [T],
    pub target: Target<'a, T>,
    /// Further inputs of `x`'s layout (losses of several inputs).
    pub more: More<'a, T>,
    /// Elements, or rows for class-axis losses.
    pub units: usize,
    /// Per-unit non-negative weights.
    pub weight: Option<&'a [T]>,
    /// Per-column factors of element-wise losses with columns (`pos_weight`): element `i` gets
    /// `cols[i % cols.len()]`.
    pub cols: Option<&'a [T]>,
    /// Length of the leading axis (the "batchmean" denominator).
    pub batch: usize,
    /// Index of the first unit within the array the column factors tile (0 for a whole call).
    pub unit0: usize,
}

impl<'a, T> Inputs<'a, T> {
    /// Element-wise inputs: `target` has `x`'s layout; the leading axis is taken as `x.len()`.
    pub fn elementwise(x: &'a [T], target: &'a [T]) -> Self {
        Inputs {
            x,
            target: Target::Values(target),
            more: [None, None],
            units: x.len(),
            weight: None,
            cols: None,
            batch: x.len(),
            unit0: 0,
        }
    }

    /// Class-axis inputs: `rows` rows of `x.len() / rows` values.
    pub fn rows(x: &'a [T], rows: usize, target: Target<'a, T>) -> Self {
        Inputs {
            x,
            target,
            more: [None, None],
            units: rows,
            weight: None,
            cols: None,
            batch: rows,
            unit0: 0,
        }
    }

    pub fn weight(self, weight: Option<&'a [T]>) -> Self {
        Inputs { weight, ..self }
    }

    pub fn more(self, more: More<'a, T>) -> Self {
        Inputs { more, ..self }
    }

    pub fn cols(self, cols: Option<&'a [T]>) -> Self {
        Inputs { cols, ..self }
    }

    pub fn batch(self, batch: usize) -> Self {
        Inputs { batch, ..self }
    }

    /// Units `lo..hi` (`width` values of `x` each).
    fn range(&self, lo: usize, hi: usize, width: usize) -> Self {
        Inputs {
            x: &self.x[lo * width..hi * width],
            target: self.target.range(lo, hi, width),
            more: self.more.map(|m| m.map(|m| &m[lo * width..hi * width])),
            units: hi - lo,
            weight: self.weight.map(|w| &w[lo..hi]),
            cols: self.cols,
            batch: self.batch,
            unit0: self.unit0 + lo,
        }
    }
}

/// One evaluation: inputs, reduction, and the caller's outputs.
#[derive(Debug)]
pub struct Request<'a, T> {
    pub inputs: Inputs<'a, T>,
    pub reduction: Reduction,
    /// Per-unit `w*l`: required with `Reduction::None`, refused otherwise.
    pub loss_out: Option<&'a mut [T]>,
    /// `d value / d x`, scaled like the reduction (with "none": each unit's own gradient).
    pub grad_out: Option<&'a mut [T]>,
    /// The diagonal of `d^2 value / d x^2`, scaled like the gradient (row losses: the per-row
    /// diagonal). Requires `grad_out`: both come from the same pass.
    pub hess_out: Option<&'a mut [T]>,
    /// `d value / d more[k]` (losses of several inputs), scaled like `grad_out`.
    pub more_grad_out: MoreGrad<'a, T>,
    /// Validate targets before anything is written (the outputs are the caller's buffers).
    pub prevalidate: bool,
    /// `Some(g)`: these units are one chunk of a longer stream, starting at global unit `g`;
    /// the partials keep the terms of blocks the chunk covers only in part (no outputs).
    pub chunk_at: Option<usize>,
    /// The gradient (and Hessian) factor when it is not the reduction's own: the caller knows
    /// the denominator of a longer stream this request is one chunk of, or scales a boosting
    /// objective.
    pub grad_scale: Option<f64>,
    /// Derivatives only: the gradient (and Hessian) outputs without the loss value, which is
    /// then neither computed nor summed (the partials' loss terms are 0). Needs `grad_out`;
    /// refuses `loss_out` and chunks.
    pub derivatives_only: bool,
    /// `Some(f)`: each Hessian entry is raised to at least `f * w` (`w` the unit's weight, 1
    /// unweighted), after the gradient factor: `h = max(d2 * (w * scale), f * w)`, NaN kept,
    /// ties to the floor (NumPy's `maximum`).
    /// Needs `hess_out`; `f` finite and non-negative.
    pub hess_floor: Option<f64>,
}

impl<'a, T> Request<'a, T> {
    /// A request for the reduced value (or the partials) only.
    pub fn value(inputs: Inputs<'a, T>, reduction: Reduction) -> Self {
        Request {
            inputs,
            reduction,
            loss_out: None,
            grad_out: None,
            hess_out: None,
            more_grad_out: [None, None],
            prevalidate: false,
            chunk_at: None,
            grad_scale: None,
            derivatives_only: false,
            hess_floor: None,
        }
    }

    pub fn loss_out(self, loss_out: Option<&'a mut [T]>) -> Self {
        Request { loss_out, ..self }
    }

    pub fn grad_out(self, grad_out: Option<&'a mut [T]>) -> Self {
        Request { grad_out, ..self }
    }

    pub fn hess_out(self, hess_out: Option<&'a mut [T]>) -> Self {
        Request { hess_out, ..self }
    }

    pub fn more_grad_out(self, more_grad_out: MoreGrad<'a, T>) -> Self {
        Request {
            more_grad_out,
            ..self
        }
    }

    /// Whether any per-unit output is asked for.
    fn has_outputs(&self) -> bool {
        self.loss_out.is_some()
            || self.grad_out.is_some()
            || self.hess_out.is_some()
            || self.more_grad_out.iter().any(Option::is_some)
    }

    pub fn prevalidate(self, prevalidate: bool) -> Self {
        Request {
            prevalidate,
            ..self
        }
    }

    pub fn chunk_at(self, chunk_at: Option<usize>) -> Self {
        Request { chunk_at, ..self }
    }

    pub fn grad_scale(self, grad_scale: Option<f64>) -> Self {
        Request { grad_scale, ..self }
    }

    pub fn derivatives_only(self, derivatives_only: bool) -> Self {
        Request {
            derivatives_only,
            ..self
        }
    }

    pub fn hess_floor(self, hess_floor: Option<f64>) -> Self {
        Request { hess_floor, ..self }
    }
}

/// A checked loss configuration. `run` picks the concrete kernel type for its options (one type
/// per option combination, so no hot loop branches on an option) and drives it.
pub trait Loss<T: Real> {
    /// Evaluates the request; the returned partials finish with the request's reduction.
    fn run(&self, req: Request<'_, T>) -> Result<Partials, LossError>;
}

/// `impl Loss` for loss types that are their own kernel, driven through the block adapter
/// `$adapter` (`Elementwise` or `Rows`).
#[macro_export]
macro_rules! loss_through {
    ($adapter:path, $($ty:ty),* $(,)?) => {
        $(impl<T: $crate::simd::Real> $crate::loss::Loss<T> for $ty {
            fn run(
                &self,
                req: $crate::loss::Request<'_, T>,
            ) -> Result<$crate::reduce::Partials, $crate::LossError> {
                $crate::loss::drive::drive(&$adapter(*self), req)
            }
        })*
    };
}

/// Runs `req` and finishes its reduction (NaN for `Reduction::None`).
pub fn evaluate<T: Real, L: Loss<T>>(loss: &L, req: Request<'_, T>) -> Result<f64, LossError> {
    let reduction = req.reduction;
    Ok(loss.run(req)?.finish(reduction))
}

/// One block (or a run of blocks) of units, as handed to [`Blocks::block`].
#[derive(Debug)]
pub struct Block<'a, T> {
    pub x: &'a [T],
    pub target: Target<'a, T>,
    pub more: More<'a, T>,
    pub weight: Option<&'a [T]>,
    pub loss_out: Option<&'a mut [T]>,
    pub grad: Option<&'a mut [T]>,
    /// The Hessian diagonal (only with `grad`).
    pub hess: Option<&'a mut [T]>,
    pub more_grad: MoreGrad<'a, T>,
    /// Column factors (empty unless the loss has columns).
    pub cols: &'a [T],
    /// Global index of the first unit (for column factors).
    pub unit0: usize,
    pub scale: T,
    /// The gradient (and Hessian) without the loss value (see [`Request::derivatives_only`]).
    pub derivatives_only: bool,
    /// The Hessian floor per unit of weight (see [`Request::hess_floor`]).
    pub hess_floor: Option<T>,
}

fn split_opt<T>(s: Option<&mut [T]>, at: usize) -> (Option<&mut [T]>, Option<&mut [T]>) {
    match s {
        Some(s) => {
            let (a, b) = s.split_at_mut(at);
            (Some(a), Some(b))
        }
        None => (None, None),
    }
}

impl<'a, T: Copy> Block<'a, T> {
    /// Splits off the first `units` units (`width` values of `x` each).
    pub fn split(self, units: usize, width: usize) -> (Block<'a, T>, Block<'a, T>) {
        let at = units * width;
        let (x0, x1) = self.x.split_at(at);
        let (t0, t1) = self.target.split(units, width);
        let [m0, m1] = self.more.map(|m| match m {
            Some(m) => {
                let (a, b) = m.split_at(at);
                (Some(a), Some(b))
            }
            None => (None, None),
        });
        let [mg0, mg1] = self.more_grad.map(|g| split_opt(g, at));
        let (w0, w1) = match self.weight {
            Some(w) => {
                let (a, b) = w.split_at(units);
                (Some(a), Some(b))
            }
            None => (None, None),
        };
        let (l0, l1) = split_opt(self.loss_out, units);
        let (g0, g1) = split_opt(self.grad, at);
        let (h0, h1) = split_opt(self.hess, at);
        let head = Block {
            x: x0,
            target: t0,
            more: [m0.0, m1.0],
            weight: w0,
            loss_out: l0,
            grad: g0,
            hess: h0,
            more_grad: [mg0.0, mg1.0],
            cols: self.cols,
            unit0: self.unit0,
            scale: self.scale,
            derivatives_only: self.derivatives_only,
            hess_floor: self.hess_floor,
        };
        let tail = Block {
            x: x1,
            target: t1,
            more: [m0.1, m1.1],
            weight: w1,
            loss_out: l1,
            grad: g1,
            hess: h1,
            more_grad: [mg0.1, mg1.1],
            cols: self.cols,
            unit0: self.unit0 + units,
            scale: self.scale,
            derivatives_only: self.derivatives_only,
            hess_floor: self.hess_floor,
        };
        (head, tail)
    }
}

/// The per-block math of a loss family (element-wise or rows), run by [`drive`].
pub trait Blocks<T: Real>: Sync {
    /// Values of the first argument per unit (1 element-wise, `C` for rows).
    fn width(&self) -> usize;
    /// Units per reduction block: a function of the loss's shape only, never of the data size.
    fn per_block(&self) -> usize;
    /// Blocks per parallel piece below which threads do not pay (measured).
    fn grain(&self) -> usize;
    /// Checks what only the family knows (target kind, column factors, reduction).
    fn check(&self, inputs: &Inputs<'_, T>, reduction: Reduction) -> Result<(), LossError>;
    /// The per-block "mean" denominators when they are not `sum(w)` or the count (class
    /// weights, ignored rows); validates targets first when `validate`.
    fn prepass(
        &self,
        inputs: &Inputs<'_, T>,
        validate: bool,
    ) -> Result<Option<Vec<f64>>, LossError>;
    /// Whether the Hessian diagonal is defined.
    fn hessian(&self) -> bool {
        true
    }
    /// Whether [`Block::derivatives_only`] and [`Block::hess_floor`] are honoured.
    fn objective_mode(&self) -> bool {
        false
    }
    /// Reports the first invalid target (called when a block met one).
    fn find_bad(&self, inputs: &Inputs<'_, T>) -> Result<(), LossError>;
    /// Each unit's share of the "mean" denominator (`None`: the count), for the units of a
    /// block a chunk covers only in part.
    fn unit_denominators(&self, inputs: &Inputs<'_, T>) -> Result<Option<Vec<f64>>, LossError> {
        Ok(inputs
            .weight
            .map(|w| w.iter().map(|v| v.to_f64()).collect()))
    }
    /// One block: writes its outputs and returns `(sum(w*l), whether an invalid target was met)`.
    /// Must be `#[inline(always)]` (it runs inside the ISA wrapper).
    fn block(&self, blk: Block<'_, T>) -> (f64, bool);
}

/// Runs `req` through the block kernel `k`.
pub fn drive<T: Real, K: Blocks<T>>(k: &K, req: Request<'_, T>) -> Result<Partials, LossError> {
    check(k, &req)?;
    match req.chunk_at {
        Some(offset) if !req.has_outputs() => chunk(k, req.inputs, req.reduction, offset),
        Some(_) => Err(invalid(
            "out",
            "chunked evaluation computes no per-unit outputs",
        )),
        None => run_checked(k, req),
    }
}

/// Checks lengths, outputs against the reduction, and what the family checks.
fn check<T: Real, K: Blocks<T>>(k: &K, req: &Request<'_, T>) -> Result<(), LossError> {
    let inputs = &req.inputs;
    let units = inputs.units;
    let values = units
        .checked_mul(k.width())
        .ok_or_else(|| invalid("pred", "too many elements"))?;
    check_len("x", inputs.x.len(), values)?;
    match inputs.target {
        Target::Values(t) => check_len("target", t.len(), values)?,
        Target::Index(y) => check_len("target", y.len(), units)?,
        Target::Units(y) => check_len("target", y.len(), units)?,
        Target::Absent => {}
    }
    for (m, g) in inputs.more.iter().zip(&req.more_grad_out) {
        if let Some(m) = m {
            check_len("input", m.len(), values)?;
        }
        match (m, g.as_deref()) {
            (Some(_), Some(g)) => check_len("out", g.len(), values)?,
            (None, Some(_)) => return Err(invalid("out", "a gradient of an absent input")),
            _ => {}
        }
    }
    if let Some(w) = inputs.weight {
        check_len("weight", w.len(), units)?;
    }
    if let Some(g) = req.grad_out.as_deref() {
        check_len("out", g.len(), values)?;
    }
    if let Some(h) = req.hess_out.as_deref() {
        if !k.hessian() {
            return Err(invalid("hess_out", "this loss has no Hessian diagonal"));
        }
        if req.grad_out.is_none() {
            return Err(invalid("hess_out", "requires the gradient output (out)"));
        }
        check_len("hess_out", h.len(), values)?;
    }
    if req.derivatives_only || req.hess_floor.is_some() {
        check_objective(k, req)?;
    }
    match (req.reduction, req.loss_out.as_deref()) {
        (Reduction::None, Some(l)) => check_len("loss_out", l.len(), units)?,
        (Reduction::None, None) if req.chunk_at.is_none() && !req.derivatives_only => {
            return Err(invalid("loss_out", "required with reduction='none'"))
        }
        (Reduction::None, None) => {}
        (_, Some(_)) => return Err(invalid("loss_out", "only used with reduction='none'")),
        (_, None) => {}
    }
    k.check(inputs, req.reduction)
}

/// Checks a derivatives-only request and the Hessian floor.
fn check_objective<T: Real, K: Blocks<T>>(k: &K, req: &Request<'_, T>) -> Result<(), LossError> {
    if !k.objective_mode() {
        return Err(invalid(
            "derivatives",
            "this loss has no derivatives-only mode and no Hessian floor",
        ));
    }
    if req.derivatives_only {
        if req.grad_out.is_none() {
            return Err(invalid(
                "out",
                "derivatives only: the gradient output is required",
            ));
        }
        if req.loss_out.is_some() {
            return Err(invalid(
                "loss_out",
                "derivatives only: no loss value is computed",
            ));
        }
        if req.chunk_at.is_some() {
            return Err(invalid(
                "out",
                "derivatives only: chunks compute no outputs",
            ));
        }
    }
    if let Some(f) = req.hess_floor {
        if req.hess_out.is_none() {
            return Err(invalid(
                "hess_floor",
                "requires the Hessian output (hess_out)",
            ));
        }
        if !(f.is_finite() && f >= 0.0) {
            return Err(invalid(
                "hess_floor",
                format!("must be finite and non-negative, got {f}"),
            ));
        }
    }
    Ok(())
}

/// One chunk of a stream: complete blocks as partials, the units of the blocks it covers only
/// in part (at either end) as per-unit terms.
fn chunk<T: Real, K: Blocks<T>>(
    k: &K,
    inputs: Inputs<'_, T>,
    reduction: Reduction,
    offset: usize,
) -> Result<Partials, LossError> {
    let n = inputs.units;
    let per_block = k.per_block();
    let width = k.width();
    let head_len = match offset % per_block {
        0 => 0,
        r => (per_block - r).min(n),
    };
    let tail_len = (n - head_len) % per_block;
    let body_end = n - tail_len;
    let body_reduction = match reduction {
        Reduction::None => Reduction::Sum,
        r => r,
    };
    // Errors name positions within this chunk, not within the sub-range that met them.
    let at = |lo: usize| move |e| shifted(e, lo, width, &inputs.target);
    let body = run_checked(
        k,
        Request::value(inputs.range(head_len, body_end, width), body_reduction),
    )
    .map_err(at(head_len))?;
    let open = |lo: usize, hi: usize| -> Result<Open, LossError> {
        if lo == hi {
            return Ok(Open::default());
        }
        let part = inputs.range(lo, hi, width);
        let mut terms = vec![T::ZERO; hi - lo];
        let req = Request::value(part, Reduction::None).loss_out(Some(&mut terms));
        run_checked(k, req).map_err(at(lo))?;
        Ok(Open {
            loss: terms.iter().map(|v| v.to_f64()).collect(),
            denominator: k.unit_denominators(&part)?.unwrap_or_default(),
        })
    };
    Ok(Partials {
        loss: body.loss,
        denominator: body.denominator,
        count: n as u64,
        start: offset as u64,
        per_block: per_block as u64,
        batch: inputs.batch as u64,
        head: open(0, head_len)?,
        tail: open(body_end, n)?,
    })
}

/// An error met in units `lo..` of some inputs, with its position in those whole inputs.
pub(crate) fn shifted<T>(
    err: LossError,
    lo: usize,
    width: usize,
    target: &Target<'_, T>,
) -> LossError {
    let per_unit_target = matches!(target, Target::Index(_) | Target::Units(_));
    match err {
        LossError::InvalidTarget {
            name,
            index,
            message,
        } => LossError::InvalidTarget {
            name,
            index: index
                + if name == "target" && per_unit_target {
                    lo
                } else {
                    lo * width
                },
            message,
        },
        LossError::InvalidWeight { name, index, value } if name == "weight" => {
            LossError::InvalidWeight {
                name,
                index: index + lo,
                value,
            }
        }
        other => other,
    }
}

/// [`drive`] after [`check`].
fn run_checked<T: Real, K: Blocks<T>>(k: &K, req: Request<'_, T>) -> Result<Partials, LossError> {
    let Request {
        inputs,
        reduction,
        loss_out,
        grad_out,
        hess_out,
        more_grad_out,
        prevalidate,
        grad_scale,
        derivatives_only,
        hess_floor,
        ..
    } = req;
    let units = inputs.units;
    let per_block = k.per_block();
    let mut denominator = match inputs.weight {
        Some(w) => Some(weight_partials(w, per_block)?),
        None => None,
    };
    if let Some(d) = k.prepass(&inputs, prevalidate)? {
        denominator = Some(d);
    }
    let mut partials = Partials {
        loss: vec![0.0; units.div_ceil(per_block)],
        denominator,
        count: units as u64,
        start: 0,
        per_block: per_block as u64,
        batch: inputs.batch as u64,
        ..Partials::default()
    };
    let scale = match (grad_scale, reduction) {
        (Some(s), _) => s,
        (None, Reduction::Mean) => 1.0 / partials.denominator_total(),
        (None, Reduction::BatchMean) => 1.0 / inputs.batch as f64,
        _ => 1.0,
    };
    let whole = Block {
        x: inputs.x,
        target: inputs.target,
        more: inputs.more,
        weight: inputs.weight,
        loss_out,
        grad: grad_out,
        hess: hess_out,
        more_grad: more_grad_out,
        cols: inputs.cols.unwrap_or(&[]),
        unit0: inputs.unit0,
        scale: T::from_f64(scale),
        derivatives_only,
        hess_floor: hess_floor.map(T::from_f64),
    };
    if run(k, whole, units, &mut partials.loss) {
        k.find_bad(&inputs)?;
    }
    Ok(partials)
}

/// Cuts the blocks into pieces, runs them (in parallel when large) under the active ISA, and
/// reports whether any block met an invalid target.
fn run<T: Real, K: Blocks<T>>(k: &K, whole: Block<'_, T>, units: usize, out: &mut [f64]) -> bool {
    let blocks = out.len();
    let per_block = k.per_block();
    let width = k.width();
    let pieces = par::pieces(blocks, k.grain());
    let mut tasks = Vec::with_capacity(pieces);
    let mut rest = whole;
    let mut rest_out = out;
    let mut done = 0;
    for p in 0..pieces {
        let take = blocks * (p + 1) / pieces - blocks * p / pieces;
        let piece_units = ((done + take) * per_block).min(units) - (done * per_block).min(units);
        let (head, tail) = rest.split(piece_units, width);
        let (head_out, tail_out) = rest_out.split_at_mut(take);
        tasks.push(Piece {
            k,
            blk: head,
            out: head_out,
            units: piece_units,
        });
        rest = tail;
        rest_out = tail_out;
        done += take;
    }
    let isa = simd::active();
    let bad = std::sync::atomic::AtomicBool::new(false);
    par::for_each(tasks, |piece| {
        if simd::dispatch(isa, piece) {
            bad.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    });
    bad.into_inner()
}

/// A run of whole blocks (the last may be short) with their partials.
struct Piece<'a, 'k, T, K> {
    k: &'k K,
    blk: Block<'a, T>,
    out: &'a mut [f64],
    units: usize,
}

impl<T: Real, K: Blocks<T>> Kernel for Piece<'_, '_, T, K> {
    type Output = bool;

    #[inline(always)]
    fn run(self) -> bool {
        let Piece {
            k,
            mut blk,
            out,
            units,
        } = self;
        let per_block = k.per_block();
        let width = k.width();
        let mut left = units;
        let mut bad = false;
        for partial in out.iter_mut() {
            let n = per_block.min(left);
            let (head, tail) = blk.split(n, width);
            let (sum, found) = k.block(head);
            *partial = sum;
            bad |= found;
            blk = tail;
            left -= n;
        }
        bad
    }
}

/// A length that must equal what the first argument implies.
pub fn check_len(name: &'static str, got: usize, want: usize) -> Result<(), LossError> {
    if got != want {
        return Err(LossError::ShapeMismatch {
            left: "pred",
            left_shape: vec![want],
            right: name,
            right_shape: vec![got],
        });
    }
    Ok(())
}

/// Checks that weights are non-negative (NaN propagates like NaN data instead).
pub fn check_weights<T: Real>(name: &'static str, w: &[T]) -> Result<(), LossError> {
    let Some(from) = scan::first_rejected_span(&NegativeWeights(w), w.len()) else {
        return Ok(());
    };
    if let Some(i) = w[from..].iter().position(|&x| x < T::ZERO) {
        return Err(LossError::InvalidWeight {
            name,
            index: from + i,
            value: w[from + i].to_f64(),
        });
    }
    Ok(())
}

/// Negative weights as a [`scan::RangeCheck`].
struct NegativeWeights<'a, T>(&'a [T]);

impl<T: Real> scan::RangeCheck for NegativeWeights<'_, T> {
    #[inline(always)]
    fn any_rejected(&self, range: std::ops::Range<usize>) -> bool {
        let mut any = false;
        for &x in &self.0[range] {
            any |= x < T::ZERO;
        }
        any
    }
}

/// Validates per-unit weights and returns their per-block sums (the "mean" denominators).
fn weight_partials<T: Real>(w: &[T], per_block: usize) -> Result<Vec<f64>, LossError> {
    check_weights("weight", w)?;
    Ok(w.chunks(per_block).map(reduce::lanes_total).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loss::classification::CrossEntropy;
    use crate::loss::regression::Huber;
    use crate::loss::rows::rows_per_block;
    use crate::reduce::BLOCK;

    fn data(n: usize) -> Vec<f64> {
        (0..n)
            .map(|i| ((i * 7919) % 1009) as f64 * 0.01 - 5.0)
            .collect()
    }

    #[test]
    fn merged_chunk_partials_finish_like_the_whole_elementwise() {
        let n = 5 * BLOCK + 123;
        let (p, t) = (data(n), data(n + 7)[7..].to_vec());
        let w: Vec<f64> = (0..n).map(|i| (i % 5) as f64 * 0.25).collect();
        let loss = Huber::<f64>::new(0.5).unwrap();
        for weight in [None, Some(&w[..])] {
            let whole = loss
                .run(Request::value(
                    Inputs::elementwise(&p, &t).weight(weight),
                    Reduction::Mean,
                ))
                .unwrap();
            let mut merged = Partials::default();
            for (lo, hi) in [(0, BLOCK), (BLOCK, 3 * BLOCK), (3 * BLOCK, n)] {
                let inputs =
                    Inputs::elementwise(&p[lo..hi], &t[lo..hi]).weight(weight.map(|w| &w[lo..hi]));
                let req = Request::value(inputs, Reduction::Sum).chunk_at(Some(lo));
                merged.merge(loss.run(req).unwrap()).unwrap();
            }
            for r in [Reduction::Sum, Reduction::Mean] {
                assert_eq!(merged.finish(r).to_bits(), whole.finish(r).to_bits());
            }
        }
    }

    #[test]
    fn merged_chunk_partials_finish_like_the_whole_rows() {
        let classes = 7;
        let rows = 3 * rows_per_block(classes) + 5;
        let x = data(rows * classes);
        let y: Vec<i64> = (0..rows).map(|i| ((i * 31) % classes) as i64).collect();
        let cw: Vec<f64> = (0..classes).map(|c| 0.5 + c as f64 * 0.1).collect();
        let ce = CrossEntropy::new(classes, Some(&cw), Some(2), 0.1).unwrap();
        let whole = ce
            .run(Request::value(
                Inputs::rows(&x, rows, Target::Index(&y)),
                Reduction::Mean,
            ))
            .unwrap();
        let step = rows_per_block(classes);
        let mut merged = Partials::default();
        let mut lo = 0;
        while lo < rows {
            let hi = (lo + 2 * step).min(rows);
            let inputs = Inputs::rows(
                &x[lo * classes..hi * classes],
                hi - lo,
                Target::Index(&y[lo..hi]),
            );
            let req = Request::value(inputs, Reduction::Mean).chunk_at(Some(lo));
            merged.merge(ce.run(req).unwrap()).unwrap();
            lo = hi;
        }
        assert_eq!(merged.loss[..], whole.loss[..whole.loss.len() - 1]);
        assert_eq!(
            merged.finish(Reduction::Mean).to_bits(),
            whole.finish(Reduction::Mean).to_bits()
        );
    }

    /// Cut points: every kind of edge (inside a block, on a boundary, single units, long runs).
    fn cuts(n: usize, seed: u64) -> Vec<usize> {
        let mut state = seed;
        let mut at = vec![0];
        while *at.last().unwrap() < n {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let step = match (state >> 33) % 4 {
                0 => 1,
                1 => (state >> 40) as usize % 50 + 1,
                _ => (state >> 40) as usize % (3 * BLOCK) + 1,
            };
            at.push((at.last().unwrap() + step).min(n));
        }
        at
    }

    fn streamed<T: Real, L: Loss<T>>(
        loss: &L,
        inputs: Inputs<'_, T>,
        width: usize,
        seed: u64,
    ) -> Partials {
        let mut total = Partials::default();
        let at = cuts(inputs.units, seed);
        for pair in at.windows(2) {
            let part = inputs.range(pair[0], pair[1], width);
            let req = Request::value(part, Reduction::Mean).chunk_at(Some(pair[0]));
            total.merge(loss.run(req).unwrap()).unwrap();
        }
        total
    }

    #[test]
    fn chunks_cut_anywhere_finish_like_the_whole() {
        let n = 4 * BLOCK + 321;
        let (p, t) = (data(n), data(n + 7)[7..].to_vec());
        let w: Vec<f64> = (0..n).map(|i| (i % 5) as f64 * 0.25).collect();
        let loss = Huber::<f64>::new(0.5).unwrap();
        for (seed, weight) in [(1, None), (2, Some(&w[..])), (3, None), (4, Some(&w[..]))] {
            let inputs = Inputs::elementwise(&p, &t).weight(weight);
            let whole = loss.run(Request::value(inputs, Reduction::Mean)).unwrap();
            let total = streamed(&loss, inputs, 1, seed);
            for r in [Reduction::Sum, Reduction::Mean] {
                assert_eq!(
                    total.finish(r).to_bits(),
                    whole.finish(r).to_bits(),
                    "seed {seed}"
                );
            }
        }
        let classes = 23;
        let rows = 2 * rows_per_block(classes) + 41;
        let x = data(rows * classes);
        let y: Vec<i64> = (0..rows).map(|i| ((i * 31) % classes) as i64).collect();
        let sw: Vec<f64> = (0..rows).map(|i| (i % 3) as f64 * 0.5).collect();
        let cw: Vec<f64> = (0..classes).map(|c| 0.5 + c as f64 * 0.1).collect();
        let ce = CrossEntropy::new(classes, Some(&cw), Some(2), 0.1).unwrap();
        for seed in 5..9 {
            let inputs = Inputs::rows(&x, rows, Target::Index(&y)).weight(Some(&sw));
            let whole = ce.run(Request::value(inputs, Reduction::Mean)).unwrap();
            let total = streamed(&ce, inputs, classes, seed);
            for r in [Reduction::Sum, Reduction::Mean] {
                assert_eq!(
                    total.finish(r).to_bits(),
                    whole.finish(r).to_bits(),
                    "seed {seed}"
                );
            }
        }
    }

    #[test]
    fn misordered_chunks_are_refused() {
        let p = data(100);
        let loss = Huber::<f64>::new(1.0).unwrap();
        let part = |lo: usize, hi: usize| {
            let req = Request::value(Inputs::elementwise(&p[lo..hi], &p[lo..hi]), Reduction::Sum)
                .chunk_at(Some(lo));
            loss.run(req).unwrap()
        };
        let mut a = part(0, 10);
        assert!(a.merge(part(20, 30)).is_err());
        a.merge(part(10, 20)).unwrap();
        assert_eq!(a.count, 20);
    }

    #[test]
    fn outputs_are_checked_against_the_reduction() {
        let p = [1.0f64, 2.0];
        let loss = Huber::<f64>::new(1.0).unwrap();
        let err = evaluate(
            &loss,
            Request::value(Inputs::elementwise(&p, &p), Reduction::None),
        )
        .unwrap_err();
        assert!(err.to_string().contains("loss_out"), "{err}");
        let mut out = [0.0; 2];
        let req =
            Request::value(Inputs::elementwise(&p, &p), Reduction::Sum).loss_out(Some(&mut out));
        assert!(evaluate(&loss, req).is_err());
    }
}
