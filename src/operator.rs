//! Linear operators.
