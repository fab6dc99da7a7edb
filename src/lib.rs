//! `dps`: Deep Probabilistic Subsampling and MRI reconstruction pipelines.
//!
//! Conventions shared by every module:
//!
//! - Axis order is fastMRI's: k-space is `(slices, coils, H, W)`, with `H` the readout axis and
//!   `W` the phase-encode axis that line masks select. A single slice is `(coils, H, W)`.
//! - Complex samples are [`Complex32`] (interleaved `re, im` pairs of `f32`), the in-memory
//!   layout of numpy's complex64 and of HDF5 compounds `{r, i}`.
//! - The Fourier transform is the centred orthonormal one, `fft2c(x) =
//!   fftshift(fft2(ifftshift(x)))` scaled by `1/sqrt(H W)`, over the last two axes ([`fft`]).

pub mod data;
#[cfg(feature = "torch")]
pub mod experiments;
pub mod fft;
pub mod io;
#[cfg(feature = "torch")]
pub mod learned;
pub mod mask;
pub mod metrics;
pub mod operator;
pub mod pipeline;
pub mod plot;
pub mod recon;
pub mod stages;
#[cfg(feature = "torch")]
pub mod torch;
#[cfg(feature = "torch")]
pub mod train;
pub mod transforms;

/// Single-precision complex sample, the element type of all k-space and complex images.
pub type Complex32 = num_complex::Complex<f32>;
