//! Batch reconstruction.
