//! Sampling masks.
