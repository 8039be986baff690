//! Loss kernels. [`drive`] is the one driver under every loss; [`pointwise`] adapts losses
//! whose value at element `i` depends only on `pred[i]` and `target[i]`, [`rows`] losses over a
//! class axis (one row of `C` values per sample). Each family lives in its own file.

pub mod binary;
pub mod classification;
pub mod deviance;
pub mod drive;
pub mod pointwise;
pub mod regression;
pub mod rows;
pub mod softmax;

pub use drive::{Inputs, Loss, Request, Target};
pub use pointwise::{evaluate, partials, Elementwise, Pointwise};
pub use rows::{evaluate_rows, RowLoss, Rows};
