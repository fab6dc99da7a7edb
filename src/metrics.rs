//! Image quality metrics.
