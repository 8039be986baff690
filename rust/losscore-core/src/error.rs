//! The one error type of the core. The binding maps each variant to one `losscore.errors` class.

use std::fmt;

/// Everything a kernel can reject. Messages name the argument and the offending value or shape.
#[derive(Debug, Clone, PartialEq)]
pub enum LossError {
    /// Two arrays that must agree in shape do not.
    ShapeMismatch {
        left: &'static str,
        left_shape: Vec<usize>,
        right: &'static str,
        right_shape: Vec<usize>,
    },
    /// A hyperparameter or option is outside its domain.
    InvalidParameter { name: &'static str, message: String },
    /// A weight is negative (or otherwise not allowed) at a flat position.
    InvalidWeight {
        name: &'static str,
        index: usize,
        value: f64,
    },
    /// A target value is not allowed (class index out of range, label not in {-1, 1}, ...).
    InvalidTarget {
        /// The argument holding the value (`target`, or the first argument).
        name: &'static str,
        index: usize,
        message: String,
    },
    /// The requested instruction set is not available on this CPU or not known.
    UnsupportedIsa(String),
}

impl fmt::Display for LossError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LossError::ShapeMismatch { left, left_shape, right, right_shape } => write!(
                f,
                "{left} and {right} must have the same shape, got {left} shape {} and {right} shape {}",
                shape_str(left_shape),
                shape_str(right_shape)
            ),
            LossError::InvalidParameter { name, message } => write!(f, "{name}: {message}"),
            LossError::InvalidWeight { name, index, value } => write!(
                f,
                "{name} must be non-negative, got {value} at flat index {index}"
            ),
            LossError::InvalidTarget {
                name,
                index,
                message,
            } => write!(f, "{name}: {message} (at flat index {index})"),
            LossError::UnsupportedIsa(msg) => write!(f, "{msg}"),
        }
    }
}

impl std::error::Error for LossError {}

/// `(2, 3)` / `(5,)` / `()` like NumPy prints shapes.
pub fn shape_str(shape: &[usize]) -> String {
    match shape {
        [] => "()".to_string(),
        [n] => format!("({n},)"),
        _ => {
            let parts: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
            format!("({})", parts.join(", "))
        }
    }
}

/// Shorthand for an [`LossError::InvalidParameter`].
pub fn invalid(name: &'static str, message: impl Into<String>) -> LossError {
    LossError::InvalidParameter {
        name,
        message: message.into(),
    }
}

/// A hyperparameter that must be finite.
pub fn finite(name: &'static str, v: f64) -> Result<(), LossError> {
    if v.is_finite() {
        Ok(())
    } else {
        Err(invalid(name, format!("must be finite, got {v}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_print_like_numpy() {
        assert_eq!(shape_str(&[]), "()");
        assert_eq!(shape_str(&[5]), "(5,)");
        assert_eq!(shape_str(&[2, 3]), "(2, 3)");
    }

    #[test]
    fn mismatch_message_names_both_arrays() {
        let e = LossError::ShapeMismatch {
            left: "pred",
            left_shape: vec![3],
            right: "target",
            right_shape: vec![4],
        };
        assert_eq!(
            e.to_string(),
            "pred and target must have the same shape, got pred shape (3,) and target shape (4,)"
        );
    }
}
