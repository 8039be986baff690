//! Loss kernels. Each family lives in its own file; [`pointwise`] is the shared fused driver for
//! losses whose value at element `i` depends only on `pred[i]` and `target[i]`, [`rows`] the one
//! for losses over a class axis (one row of `C` values per sample).

pub mod binary;
pub mod classification;
pub mod pointwise;
pub mod regression;
pub mod rows;
pub mod softmax;

pub use pointwise::{
    block_partials, block_partials_ext, evaluate, evaluate_ext, Inputs, Pointwise, Specialize,
    Visit,
};
