//! Image quality metrics: NMSE, PSNR and SSIM as fastMRI's evaluator computes them, and
//! TensorFlow's SSIM, which the DPS paper (Huijben et al., "Deep Probabilistic Subsampling",
//! ICLR 2020) reports for its CIFAR-10 and toy images.
//!
//! Conventions:
//!
//! - Inputs are real magnitude images, `f32`, as volumes `(slices, h, w)` (row-major, `w`
//!   fastest) or single images `(h, w)`. Every metric of a volume is computed over the whole
//!   volume; SSIM is the mean of the per-slice values. Sums are accumulated in `f64`.
//! - The data range `L` of PSNR and SSIM is either the maximum of the whole target volume
//!   (fastMRI's choice, [`DataRange::VolumeMax`]) or a fixed value ([`DataRange::Fixed`]: 1 for
//!   images in [0, 1], 10 for the lines-and-circles images).
//! - Two SSIM variants exist ([`SsimVariant`]): fastMRI's uniform 7x7 window with the sample
//!   covariance, and TensorFlow's Gaussian 11x11 window (sigma 1.5) with the population
//!   covariance. Both average over the valid region only.
//! - Every metric carries its variant and data range in its key ([`MetricKind::key`]), and a
//!   [`MetricTable`] never merges tables of different metrics.
//!
//! [`evaluate`] scores a directory of reconstructions against fastMRI target files and prints,
//! through `Display`, the summary line fastMRI prints.

mod error;
mod evaluate;
mod h5;
mod kind;
mod ssim;
mod table;
mod volume;

pub use error::MetricsError;
pub use evaluate::{
    evaluate, evaluate_with_metrics, Challenge, EvaluationReport, UnknownChallenge,
    PREDICTION_DATASET,
};
pub use kind::{DataRange, MetricConfig, MetricKind};
pub use ssim::{ssim, ssim_image, SsimVariant};
pub use table::{format_general, MetricSummary, MetricTable, VolumeScores};
pub use volume::{mse, nmse, psnr};
