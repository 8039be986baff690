//! Deterministic reductions.
//!
//! Data are cut into blocks of [`BLOCK`] elements at fixed global offsets. Each block is reduced
//! in [`LANES`] float64 lanes (a fixed order, vectorizable), the lanes are added in a fixed tree,
//! and the block partials are combined *exactly* ([`ExactSum`], correctly rounded like Python's
//! `math.fsum`). The result therefore depends only on the block partials: it is bitwise the same
//! for any thread count and for any split of the data at block boundaries (chunked evaluation).

use crate::error::{invalid, LossError};
use crate::simd::Real;

/// Elements per reduction block. Chunked evaluation must split data at multiples of this.
pub const BLOCK: usize = 8192;
/// Independent accumulators per block (16 f32 = one AVX-512 register).
pub const LANES: usize = 16;

/// How a loss reduces its per-element values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reduction {
    /// Per-element (per-sample) values.
    None,
    /// Sum of the (weighted) values.
    Sum,
    /// Sum divided by the count (or by the sum of weights).
    Mean,
    /// Sum divided by the batch size (the leading dimension); `kl_div` only.
    BatchMean,
}

impl Reduction {
    /// Parses `"none" | "sum" | "mean"` (and `"batchmean"` where `allow_batchmean`).
    pub fn from_name(name: &str, allow_batchmean: bool) -> Result<Reduction, LossError> {
        match name {
            "none" => Ok(Reduction::None),
            "sum" => Ok(Reduction::Sum),
            "mean" => Ok(Reduction::Mean),
            "batchmean" if allow_batchmean => Ok(Reduction::BatchMean),
            other => {
                let allowed = if allow_batchmean {
                    "'mean', 'sum', 'none' or 'batchmean'"
                } else {
                    "'mean', 'sum' or 'none'"
                };
                Err(invalid(
                    "reduction",
                    format!("expected {allowed}, got {other:?}"),
                ))
            }
        }
    }
}

/// Adds the lanes in a fixed pairwise tree.
///
/// Out of line on purpose (once per block): inlined, its pairwise indexing led LLVM to split a
/// kernel's lane array into scalars and widen the terms two at a time (xmm) instead of a whole
/// register at a time; a call keeps the lanes one array. Plain f64 adds, so the result is the
/// same whatever ISA the caller was compiled for.
#[inline(never)]
pub fn sum_lanes(acc: &[f64; LANES]) -> f64 {
    let mut a = *acc;
    let mut width = LANES / 2;
    while width > 0 {
        for i in 0..width {
            a[i] += a[i + width];
        }
        width /= 2;
    }
    a[0]
}

/// Number of blocks covering `n` elements.
#[inline]
pub fn n_blocks(n: usize) -> usize {
    n.div_ceil(BLOCK)
}

/// Correctly rounded sum of a stream of f64 (Shewchuk's algorithm, as `math.fsum`).
///
/// Invariant: `partials` are non-overlapping, increasing in magnitude, and their exact sum is the
/// exact sum of every finite value added so far.
#[derive(Debug, Default, Clone)]
pub struct ExactSum {
    partials: Vec<f64>,
    /// Sum of the non-finite inputs (inf, -inf, NaN), kept apart as fsum does.
    special: f64,
    has_special: bool,
    /// A running total of finite inputs left the f64 range; see [`exact_sum`].
    overflowed: bool,
}

impl ExactSum {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, x: f64) {
        if !x.is_finite() {
            self.special += x;
            self.has_special = true;
            return;
        }
        let mut x = x;
        let mut kept = 0;
        for j in 0..self.partials.len() {
            let mut y = self.partials[j];
            if x.abs() < y.abs() {
                std::mem::swap(&mut x, &mut y);
            }
            let hi = x + y;
            if !hi.is_finite() {
                // The partials can no longer represent the sum exactly.
                self.overflowed = true;
                self.special += hi;
                self.has_special = true;
                return;
            }
            let lo = y - (hi - x);
            if lo != 0.0 {
                self.partials[kept] = lo;
                kept += 1;
            }
            x = hi;
        }
        self.partials.truncate(kept);
        self.partials.push(x);
    }

    /// The sum rounded once (round-half-even).
    pub fn value(&self) -> f64 {
        if self.has_special {
            // One NaN bit pattern whatever produced it (SIMD and scalar code differ in sign).
            return if self.special.is_nan() {
                f64::NAN
            } else {
                self.special
            };
        }
        let p = &self.partials;
        let mut n = p.len();
        if n == 0 {
            return 0.0;
        }
        n -= 1;
        let mut hi = p[n];
        let mut lo = 0.0;
        while n > 0 {
            let x = hi;
            n -= 1;
            let y = p[n];
            hi = x + y;
            let yr = hi - x;
            lo = y - yr;
            if lo != 0.0 {
                break;
            }
        }
        // Correct a half-way case that the top two partials rounded the wrong way.
        if n > 0 && ((lo < 0.0 && p[n - 1] < 0.0) || (lo > 0.0 && p[n - 1] > 0.0)) {
            let y = lo * 2.0;
            let x = hi + y;
            let yr = x - hi;
            if y == yr {
                hi = x;
            }
        }
        hi
    }
}

/// Correctly rounded sum of `values`.
///
/// If a running total of finite values overflows, the values are summed again scaled by 1/4
/// (exact for all but subnormal inputs, which cannot matter at that magnitude) and the result
/// scaled back: `[1e308, 1e308, -1e308]` sums to `1e308`, not NaN.
pub fn exact_sum(values: &[f64]) -> f64 {
    match values {
        [] => return 0.0,
        // One block (every small call): the value itself, NaN in its one bit pattern.
        [v] => return if v.is_nan() { f64::NAN } else { *v },
        _ => {}
    }
    let mut s = ExactSum::new();
    for &v in values {
        s.add(v);
    }
    if s.overflowed && values.iter().all(|v| v.is_finite()) {
        let mut scaled = ExactSum::new();
        for &v in values {
            scaled.add(v * 0.25);
        }
        return scaled.value() * 4.0;
    }
    s.value()
}

/// The block partials of `sum(x)`: one f64 per [`BLOCK`] elements, blocks summed in parallel
/// pieces (a streaming read: also the bandwidth probe of `losscore bench`).
pub fn block_sums<T: Real>(x: &[T]) -> Vec<f64> {
    let mut partials = vec![0.0f64; n_blocks(x.len())];
    let per_piece = partials
        .len()
        .div_ceil(crate::par::pieces(partials.len(), 4))
        .max(1);
    let tasks: Vec<_> = x
        .chunks(per_piece * BLOCK)
        .zip(partials.chunks_mut(per_piece))
        .collect();
    let isa = crate::simd::active();
    crate::par::for_each(tasks, |(data, out)| {
        crate::simd::dispatch(isa, SumBlocks { data, out });
    });
    partials
}

/// Deterministic, correctly combined `sum(x)`.
pub fn sum<T: Real>(x: &[T]) -> f64 {
    exact_sum(&block_sums(x))
}

/// One piece of [`block_sums`]: whole blocks of `data`, one partial each into `out`.
struct SumBlocks<'a, T> {
    data: &'a [T],
    out: &'a mut [f64],
}

impl<T: Real> crate::simd::Kernel for SumBlocks<'_, T> {
    type Output = ();

    #[inline(always)]
    fn run(self) {
        for (block, partial) in self.data.chunks(BLOCK).zip(self.out.iter_mut()) {
            *partial = lanes_total(block);
        }
    }
}

/// The f64 sum of one block: element `k` goes to lane `k % LANES`, lanes added in a fixed tree.
#[inline(always)]
pub fn lanes_total<T: Real>(block: &[T]) -> f64 {
    let mut acc = [0.0f64; LANES];
    let whole = block.len() - block.len() % LANES;
    add_chunks_to_lanes(&mut acc, &block[..whole]);
    for (j, &v) in block[whole..].iter().enumerate() {
        acc[j] += v.to_f64();
    }
    sum_lanes(&acc)
}

/// `acc[k % LANES] += values[k]` in f64 for `values` of whole chunks (`len % LANES == 0`).
/// Without a remainder loop indexing `acc`, LLVM keeps the lanes in registers and widens each
/// chunk straight into them.
#[inline(always)]
pub fn add_chunks_to_lanes<T: Real>(acc: &mut [f64; LANES], values: &[T]) {
    debug_assert_eq!(values.len() % LANES, 0);
    for c in values.chunks_exact(LANES) {
        for j in 0..LANES {
            acc[j] += c[j].to_f64();
        }
    }
}

/// Per-unit terms of a block that a range covers only in part (its neighbour holds the rest).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Open {
    /// `w*l` of each unit, in order.
    pub loss: Vec<f64>,
    /// Each unit's share of the "mean" denominator (empty when the denominator is the count).
    pub denominator: Vec<f64>,
}

impl Open {
    fn len(&self) -> usize {
        self.loss.len()
    }

    fn extend(&mut self, next: Open) {
        self.loss.extend(next.loss);
        self.denominator.extend(next.denominator);
    }
}

/// The f64 partial of a run of units starting on a block boundary: unit `k` goes to lane
/// `k % LANES`, in order, exactly as inside a block kernel.
pub fn fold(terms: &[f64]) -> f64 {
    let mut acc = [0.0f64; LANES];
    for (k, &v) in terms.iter().enumerate() {
        acc[k % LANES] += v;
    }
    sum_lanes(&acc)
}

/// The mergeable state of a reduction: everything `finish` needs, nothing of the data.
///
/// Units (elements, or rows of class-axis losses) are cut into blocks of `per_block` units at
/// fixed global offsets. `loss[b]` is the `sum(w*l)` of a complete block, `denominator[b]` its
/// share of the "mean" denominator (`sum(w)`, or `sum(w * class_weight[y])` over the rows that
/// count), `None` when that denominator is the count of units. A range that starts or ends inside
/// a block keeps the per-unit terms of that block in `head` / `tail` until [`merge`] joins them
/// with its neighbour's; a completed block is then folded exactly as a kernel folds it. So the
/// partials of consecutive ranges, cut anywhere, merge into exactly the partials of their
/// concatenation, and [`finish`] gives the same bits as one in-memory call.
///
/// [`merge`]: Partials::merge
/// [`finish`]: Partials::finish
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Partials {
    pub loss: Vec<f64>,
    pub denominator: Option<Vec<f64>>,
    /// Units covered, and the global index of the first.
    pub count: u64,
    pub start: u64,
    /// Units per block (a function of the loss's shape).
    pub per_block: u64,
    /// Length of the leading axis covered (the "batchmean" denominator).
    pub batch: u64,
    /// Units before the first block boundary, when the range starts inside a block (a range
    /// inside one block is all head).
    pub head: Open,
    /// Units after the last block boundary, when the range ends inside a block and is not
    /// the end of the data.
    pub tail: Open,
}

impl Partials {
    fn end(&self) -> u64 {
        self.start + self.count
    }

    fn aligned(&self, unit: u64) -> bool {
        self.per_block == 0 || unit % self.per_block == 0
    }

    fn weighted(&self) -> bool {
        self.denominator.is_some()
    }

    /// Appends `next`, which covers the units that follow `self`'s.
    pub fn merge(&mut self, next: Partials) -> Result<(), LossError> {
        if next.count == 0 {
            self.batch += next.batch;
            return Ok(());
        }
        if self.count == 0 {
            let batch = self.batch + next.batch;
            *self = next;
            self.batch = batch;
            return Ok(());
        }
        if next.start != self.end() {
            return Err(invalid(
                "partials",
                format!(
                    "ranges must follow each other: units {}..{} then {}..",
                    self.start,
                    self.end(),
                    next.start
                ),
            ));
        }
        if next.per_block != self.per_block {
            return Err(invalid(
                "partials",
                "ranges of different losses or class counts cannot be merged",
            ));
        }
        if self.weighted() != next.weighted() {
            return Err(invalid(
                "weight",
                "given for some chunks but not for others",
            ));
        }
        let Partials {
            loss,
            denominator,
            count,
            batch,
            head,
            tail,
            ..
        } = next;
        if !self.aligned(self.end()) {
            // self ends inside a block: its open run [R, end) continues with next's head.
            let all_head = self.loss.is_empty() && self.tail.len() == 0;
            if !all_head && self.tail.len() == 0 {
                return Err(invalid(
                    "partials",
                    "the first range was evaluated as the end of the data",
                ));
            }
            let mut run = if all_head {
                std::mem::take(&mut self.head)
            } else {
                std::mem::take(&mut self.tail)
            };
            let run_start = self.end() - run.len() as u64;
            run.extend(head);
            let run_end = run_start + run.len() as u64;
            match (self.aligned(run_start), self.aligned(run_end)) {
                (true, true) => self.push_block(&run),
                (true, false) => self.tail = run,
                (false, _) => self.head = run,
            }
        }
        self.loss.extend(loss);
        if let (Some(d), Some(n)) = (&mut self.denominator, denominator) {
            d.extend(n);
        }
        if tail.len() > 0 {
            self.tail = tail;
        }
        self.count += count;
        self.batch += batch;
        Ok(())
    }

    fn push_block(&mut self, run: &Open) {
        self.loss.push(fold(&run.loss));
        if let Some(d) = &mut self.denominator {
            d.push(fold(&run.denominator));
        }
    }

    fn all_loss(&self) -> std::borrow::Cow<'_, [f64]> {
        if self.head.len() == 0 && self.tail.len() == 0 {
            return std::borrow::Cow::Borrowed(&self.loss);
        }
        let mut v = Vec::with_capacity(self.loss.len() + 2);
        if self.head.len() > 0 {
            v.push(fold(&self.head.loss));
        }
        v.extend_from_slice(&self.loss);
        if self.tail.len() > 0 {
            v.push(fold(&self.tail.loss));
        }
        std::borrow::Cow::Owned(v)
    }

    /// The "mean" denominator: exact sum of the denominator partials, or the count.
    pub fn denominator_total(&self) -> f64 {
        match &self.denominator {
            Some(d) if self.head.len() == 0 && self.tail.len() == 0 => exact_sum(d),
            Some(d) => {
                let mut v = Vec::with_capacity(d.len() + 2);
                if self.head.len() > 0 {
                    v.push(fold(&self.head.denominator));
                }
                v.extend_from_slice(d);
                if self.tail.len() > 0 {
                    v.push(fold(&self.tail.denominator));
                }
                exact_sum(&v)
            }
            None => self.count as f64,
        }
    }

    /// The reduced value (NaN for `Reduction::None`, whose values are per element).
    pub fn finish(&self, reduction: Reduction) -> f64 {
        let total = || exact_sum(&self.all_loss());
        match reduction {
            Reduction::None => f64::NAN,
            Reduction::Sum => total(),
            Reduction::Mean => total() / self.denominator_total(),
            Reduction::BatchMean => total() / self.batch as f64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_sum_cancels_perfectly() {
        assert_eq!(exact_sum(&[1e100, 1.0, -1e100, 1e-100]), 1.0 + 1e-100);
        assert_eq!(exact_sum(&[0.1; 10]), 1.0);
        assert_eq!(exact_sum(&[]), 0.0);
    }

    #[test]
    fn exact_sum_is_order_independent() {
        let mut v: Vec<f64> = (0..1000)
            .map(|i| ((i * 7919) % 1013) as f64 * 1.1e-3 - 0.5)
            .collect();
        v.push(1e16);
        v.push(-1e16);
        let a = exact_sum(&v);
        v.reverse();
        assert_eq!(a.to_bits(), exact_sum(&v).to_bits());
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        assert_eq!(a.to_bits(), exact_sum(&v).to_bits());
    }

    #[test]
    fn exact_sum_matches_integer_arithmetic() {
        // Integers times a power of two are exact in f64: compare with i128 arithmetic.
        let ints: Vec<i64> = (0..5000)
            .map(|i| (i * 2_654_435_761_i64) % 1_000_003 - 500_000)
            .collect();
        let scale = 2f64.powi(-30);
        let v: Vec<f64> = ints.iter().map(|&i| i as f64 * scale).collect();
        let exact: i128 = ints.iter().map(|&i| i as i128).sum();
        assert_eq!(exact_sum(&v), exact as f64 * scale);
    }

    #[test]
    fn exact_sum_special_values() {
        assert_eq!(exact_sum(&[1.0, f64::INFINITY]), f64::INFINITY);
        assert!(exact_sum(&[f64::INFINITY, f64::NEG_INFINITY]).is_nan());
        assert!(exact_sum(&[1.0, f64::NAN]).is_nan());
        assert_eq!(exact_sum(&[f64::MAX, f64::MAX]), f64::INFINITY);
        assert_eq!(exact_sum(&[1e308, 1e308, -1e308]), 1e308);
        assert_eq!(exact_sum(&[-1e308, -1e308, 1e308, 5.0]), -1e308 + 5.0);
        assert_eq!(exact_sum(&[f64::NAN]).to_bits(), f64::NAN.to_bits());
        assert_eq!(exact_sum(&[-f64::NAN]).to_bits(), f64::NAN.to_bits());
    }

    #[test]
    fn half_way_rounding_is_even() {
        // 1 + 2^-53 + 2^-105: the tiny term decides rounding up.
        let v = [1.0, 2f64.powi(-53), 2f64.powi(-105)];
        assert_eq!(exact_sum(&v), 1.0 + 2f64.powi(-52));
    }

    #[test]
    fn lanes_sum_in_a_fixed_tree() {
        let acc: [f64; LANES] = std::array::from_fn(|i| i as f64);
        assert_eq!(sum_lanes(&acc), (0..LANES).sum::<usize>() as f64);
    }

    #[test]
    fn parallel_sum_is_split_invariant_and_accurate() {
        let x: Vec<f32> = (0..3 * BLOCK + 77)
            .map(|i| ((i * 7919) % 10007) as f32 * 1e-3 - 5.0)
            .collect();
        let exact: f64 = exact_sum(&x.iter().map(|&v| v as f64).collect::<Vec<_>>());
        let total = sum(&x);
        assert!((total - exact).abs() <= 1e-12 * exact.abs().max(1.0));
        // Summing block-aligned pieces separately and combining their partials gives the same bits.
        let mut partials = block_sums(&x[..2 * BLOCK]);
        partials.extend(block_sums(&x[2 * BLOCK..]));
        assert_eq!(exact_sum(&partials).to_bits(), total.to_bits());
    }

    #[test]
    fn reduction_names() {
        assert_eq!(
            Reduction::from_name("mean", false).unwrap(),
            Reduction::Mean
        );
        assert!(Reduction::from_name("batchmean", false).is_err());
        assert_eq!(
            Reduction::from_name("batchmean", true).unwrap(),
            Reduction::BatchMean
        );
        let msg = Reduction::from_name("avg", false).unwrap_err().to_string();
        assert!(msg.contains("reduction") && msg.contains("avg"), "{msg}");
    }
}
