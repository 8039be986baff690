//! Loss kernels. Each family lives in its own file; [`pointwise`] is the shared fused driver for
//! losses whose value at element `i` depends only on `pred[i]` and `target[i]`.

pub mod pointwise;
pub mod regression;

pub use pointwise::{block_partials, evaluate, Pointwise};
