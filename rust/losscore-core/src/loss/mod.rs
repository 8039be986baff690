//! Loss kernels. [`drive`] is the one driver under every loss; [`pointwise`] adapts losses
//! whose value at element `i` depends only on `pred[i]` and `target[i]`, [`rows`] losses over a
//! class axis (one row of `C` values per sample), [`multi_input`] losses of several inputs of one
//! layout (pairs, triplets, `gaussian_nll`). Each family lives in its own file.

pub mod binary;
pub mod classification;
pub mod deviance;
pub mod drive;
pub mod gaussian;
pub mod multi_input;
pub mod multilabel;
pub mod narrow;
pub mod pointwise;
pub mod ranking;
pub mod regression;
pub mod rows;
pub mod scan;
pub mod softmax;
pub mod softmax_focal;

pub use drive::{Inputs, Loss, Request, Target};
pub use multi_input::{MultiInput, MultiInputs};
pub use pointwise::{evaluate, partials, Elementwise, Pointwise};
pub use rows::{evaluate_rows, RowLoss, Rows};
