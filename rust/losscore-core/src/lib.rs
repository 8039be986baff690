//! losscore-core: pure-Rust kernels behind losscore.
//!
//! * [`loss`]: fused loss value + gradient kernels over slices, one pass over memory.
//! * [`nn`]: activation forward/backward and the l1/l2 penalty of the training layer.
//! * [`optim`]: in-place, allocation-free optimizer update steps.
//! * [`reduce`]: deterministic block reductions combined exactly (thread-count independent).
//! * [`simd`]: run-time ISA dispatch and vectorizable `exp`/`ln`/`ln_1p`.
//! * [`probe`]: memory-bandwidth probes for the benchmark (a loss's and an optimizer's traffic).
//! * [`par`]: the crate's own Rayon pool (sized by `LOSSCORE_NUM_THREADS`, fork-safe).
//!
//! Nothing here knows about Python; every public entry point returns `Result<_, LossError>`
//! instead of panicking on user-controlled input.

pub mod error;
pub mod loss;
pub mod nn;
pub mod optim;
pub mod par;
pub mod probe;
pub mod reduce;
pub mod simd;

pub use error::LossError;
pub use reduce::Reduction;
pub use simd::{Isa, Real};
