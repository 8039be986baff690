//! The validation scan: where the first element outside a loss's domain is, found in one
//! branch-free pass.
//!
//! A check that must finish before any output is written (a caller's `out=` buffer, weights)
//! reads the inputs once more. Written as an early-exit loop it stays scalar and costs as much
//! as a cheap loss itself; here each span of [`SPAN`] elements is tested with non-short-circuit
//! `|=` (it vectorizes under the active ISA) and the spans run in parallel pieces. Only the
//! first flagged span is then searched element by element for the error message.

use crate::par;
use crate::simd::{self, Kernel};
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Elements per span: a span is tested whole; the first flagged one is searched again.
pub const SPAN: usize = 256;

/// Spans per parallel piece at least: below that a thread is not worth waking.
const GRAIN: usize = 64 * 1024;

/// A domain test over a range of element positions.
pub trait RangeCheck: Sync {
    /// Whether any element in `range` (at most [`SPAN`] long) is rejected. Must be
    /// `#[inline(always)]` and branch-free (non-short-circuit `|=`), so it vectorizes.
    fn any_rejected(&self, range: Range<usize>) -> bool;
}

/// The start of the first [`SPAN`] of `0..n` with a rejected element, if any. The answer is the
/// lowest such span whatever the thread count.
pub fn first_rejected_span<C: RangeCheck>(check: &C, n: usize) -> Option<usize> {
    let pieces = par::pieces(n, GRAIN);
    let first = AtomicUsize::new(usize::MAX);
    let tasks: Vec<Range<usize>> = (0..pieces)
        .map(|p| {
            // Piece bounds on span multiples, so spans are the same for every piece count.
            let spans = n.div_ceil(SPAN);
            (spans * p / pieces * SPAN).min(n)..(spans * (p + 1) / pieces * SPAN).min(n)
        })
        .collect();
    let isa = simd::active();
    par::for_each(tasks, |range| {
        if let Some(at) = simd::dispatch(isa, Piece { check, range }) {
            first.fetch_min(at, Ordering::Relaxed);
        }
    });
    match first.into_inner() {
        usize::MAX => None,
        at => Some(at),
    }
}

/// One piece of the scan, run under the chosen ISA.
struct Piece<'a, C> {
    check: &'a C,
    range: Range<usize>,
}

impl<C: RangeCheck> Kernel for Piece<'_, C> {
    type Output = Option<usize>;

    #[inline(always)]
    fn run(self) -> Option<usize> {
        let Range { mut start, end } = self.range;
        while start < end {
            let stop = (start + SPAN).min(end);
            if self.check.any_rejected(start..stop) {
                return Some(start);
            }
            start = stop;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Negative<'a>(&'a [f64]);

    impl RangeCheck for Negative<'_> {
        #[inline(always)]
        fn any_rejected(&self, range: Range<usize>) -> bool {
            let mut any = false;
            for &v in &self.0[range] {
                any |= v < 0.0;
            }
            any
        }
    }

    #[test]
    fn finds_the_first_flagged_span_at_any_thread_count() {
        let n = 1_000_003;
        for bad in [
            None,
            Some(0),
            Some(255),
            Some(256),
            Some(700_000),
            Some(n - 1),
        ] {
            let mut v = vec![1.0; n];
            if let Some(i) = bad {
                v[i] = -1.0;
                // A later bad element never hides the first one.
                v[n - 1 - (n - 1 - i) / 2] = -2.0;
            }
            for threads in [1, 2, 3] {
                par::set_num_threads(threads).unwrap();
                let got = first_rejected_span(&Negative(&v), n);
                assert_eq!(
                    got,
                    bad.map(|i| i / SPAN * SPAN),
                    "bad={bad:?} threads={threads}"
                );
            }
        }
        par::set_num_threads(1).unwrap();
    }

    #[test]
    fn empty_and_short_inputs() {
        assert_eq!(first_rejected_span(&Negative(&[]), 0), None);
        assert_eq!(first_rejected_span(&Negative(&[1.0, -1.0]), 2), Some(0));
    }
}
