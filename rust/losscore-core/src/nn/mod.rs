//! Element-wise kernels of the training layer (`losscore.models`, `losscore.fit`).
//!
//! * [`activation`]: relu, tanh, sigmoid and GELU (tanh approximation) forward passes and their
//!   fused backward passes `grad *= f'(z)`.
//! * [`layer`]: the fused epilogues of a dense layer: `z += b; a = f(z)` forward and
//!   `g *= f'(z); db = column sums of g` backward.
//! * [`regularize`]: the l1/l2 penalty `l1*sum|w| + l2/2*sum w^2` and its gradient added in place,
//!   `g += l2*w + l1*sign(w)`, in one pass with the crate's deterministic reduction.
//!
//! Matrix products stay in NumPy (BLAS); these are the memory-bound passes between them.

pub mod activation;
pub mod layer;
pub mod regularize;

pub use activation::{activation_backward, activation_forward, Activation};
pub use layer::{bias_activation_backward, bias_activation_forward, column_sum};
pub use regularize::penalty;

use crate::par;

/// Elements per parallel piece below which threads do not pay: cheap kernels (relu, the
/// penalty) are memory-bound, transcendental ones (tanh, sigmoid, GELU) pay off earlier.
pub(crate) const GRAIN_LIGHT: usize = 32 * 1024;
pub(crate) const GRAIN_HEAVY: usize = 8 * 1024;

/// Cuts `n` elements into piece boundaries that are multiples of `align` (element-wise kernels
/// use `align = 1`-free lanes, reductions use the reduction block).
pub(crate) fn piece_bounds(n: usize, grain: usize, align: usize) -> Vec<usize> {
    let units = n.div_ceil(align);
    let pieces = par::pieces(n, grain).min(units.max(1));
    (0..=pieces)
        .map(|k| (units * k / pieces * align).min(n))
        .collect()
}
