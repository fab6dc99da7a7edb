//! Sampling masks over k-space: fastMRI's line masks, the DPS paper's fixed baselines and
//! masks built from explicit indices.
//!
//! Axis order is fastMRI's: k-space is `(..., H, W)` with `H` the readout axis and `W` the
//! phase-encode axis. A [`Mask`] is either
//!
//! - a line mask over the `W` phase-encode columns, shared by every row, coil and slice
//!   (what fastMRI's mask functions produce), or
//! - a grid mask over the `(H, W)` plane, shared by every coil and slice, with flat indices in
//!   row-major order (`row * W + col`).
//!
//! Masks index the centred spectrum that [`crate::fft`] produces: the DC sample sits at
//! `(H / 2, W / 2)` (integer division). [`Mask::apply`] works on interleaved
//! [`Complex32`] samples and writes +0.0 (both parts, sign bit clear) into every dropped sample.
//!
//! The realised acceleration is the number of candidates over the number of samples,
//! centre included: `W / columns` for line masks, `H W / samples` for grid masks. That is the
//! number to compare with fastMRI's 4x and 8x.
//!
//! ```
//! use dps::mask::{MaskFunc, MaskType, Seed};
//!
//! let func = MaskFunc::new(MaskType::Random, vec![0.08], vec![4.0])?;
//! let mask = func.sample(368, &Seed::from_file_name("file1000001.h5"), None)?;
//! assert_eq!(mask.num_sampled(), 81);
//! let json = serde_json::to_string(&mask.summary())?;
//! assert!(json.starts_with(r#"{"kind":"random","width":368,"count":81"#));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod baseline;
mod error;
mod fastmri;
mod png;
pub mod rng;

use ndarray::{Array2, ArrayBase, Axis, DataMut, Dimension};
use serde::Serialize;

use crate::Complex32;

pub use baseline::{
    baseline_grid, baseline_lines, center_lines, equispaced_lines, low_pass_disk, random_grid,
    random_lines, uniform_lattice, BaselineKind, DiskCenter,
};
pub use error::MaskError;
pub use fastmri::{FastmriParameters, MaskFunc, MaskFuncConfig, MaskType};
pub use png::STRIP_HEIGHT;
pub use rng::{RandomState, Seed};

/// Label of masks built from explicit indices or flags.
const CUSTOM_KIND: &str = "custom";

/// Extent of a mask: the columns of a line mask or the plane of a grid mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MaskLayout {
    /// Phase-encode columns, shared by every row.
    Lines {
        /// Number of phase-encode columns `W`.
        width: usize,
    },
    /// Individual samples of the `(H, W)` plane.
    Grid {
        /// Number of rows `H` (readout axis).
        height: usize,
        /// Number of columns `W` (phase-encode axis).
        width: usize,
    },
}

/// A binary sampling pattern over k-space columns or over the `(H, W)` plane.
#[derive(Debug, Clone, PartialEq)]
pub struct Mask {
    kind: String,
    layout: MaskLayout,
    sampled: Vec<bool>,
    fastmri: Option<FastmriParameters>,
}

/// Serialisable description of a mask, for JSON output and run logs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MaskSummary {
    /// Label of the mask's source: a fastMRI type (`"random"`), a baseline
    /// (`"uniform_lattice"`) or `"custom"`.
    pub kind: String,
    /// Number of phase-encode columns `W`.
    pub width: usize,
    /// Number of rows `H`, for grid masks only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<usize>,
    /// Number of sampled columns (line masks) or samples (grid masks).
    pub count: usize,
    /// Realised acceleration, candidates over samples, or JSON `null` for an empty mask.
    pub acceleration: f64,
    /// Parameters that the fastMRI mask function drew, for fastMRI masks only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fastmri: Option<FastmriParameters>,
    /// Sorted sampled indices: columns, or flat row-major indices for grid masks.
    pub indices: Vec<usize>,
}

impl Mask {
    /// Creates a line mask from one flag per phase-encode column.
    ///
    /// # Errors
    ///
    /// [`MaskError::ZeroWidth`] for an empty vector.
    pub fn from_column_flags(flags: Vec<bool>) -> Result<Self, MaskError> {
        if flags.is_empty() {
            return Err(MaskError::ZeroWidth);
        }
        Ok(Self::new_unchecked(
            MaskLayout::Lines { width: flags.len() },
            flags,
        ))
    }

    /// Creates a line mask of `width` columns that samples `columns`, given in any order
    /// and with repeats ignored.
    ///
    /// # Errors
    ///
    /// [`MaskError::ZeroWidth`], or [`MaskError::IndexOutOfRange`] for a column >= `width`.
    pub fn from_columns(width: usize, columns: &[usize]) -> Result<Self, MaskError> {
        if width == 0 {
            return Err(MaskError::ZeroWidth);
        }
        let flags = flags_from_indices(width, columns)?;
        Ok(Self::new_unchecked(MaskLayout::Lines { width }, flags))
    }

    /// Creates a grid mask of shape `(height, width)` that samples the flat row-major
    /// `indices`, given in any order and with repeats ignored.
    ///
    /// # Errors
    ///
    /// [`MaskError::EmptyGrid`] if a size is 0, or [`MaskError::IndexOutOfRange`] for an index
    /// >= `height * width`.
    pub fn from_grid_indices(
        height: usize,
        width: usize,
        indices: &[usize],
    ) -> Result<Self, MaskError> {
        if height == 0 || width == 0 {
            return Err(MaskError::EmptyGrid { height, width });
        }
        let flags = flags_from_indices(height * width, indices)?;
        Ok(Self::new_unchecked(
            MaskLayout::Grid { height, width },
            flags,
        ))
    }

    /// Creates a grid mask from a `(H, W)` boolean array.
    ///
    /// # Errors
    ///
    /// [`MaskError::EmptyGrid`] if a size is 0.
    pub fn from_grid(grid: &Array2<bool>) -> Result<Self, MaskError> {
        let (height, width) = grid.dim();
        if height == 0 || width == 0 {
            return Err(MaskError::EmptyGrid { height, width });
        }
        let flags = grid.iter().copied().collect();
        Ok(Self::new_unchecked(
            MaskLayout::Grid { height, width },
            flags,
        ))
    }

    fn new_unchecked(layout: MaskLayout, sampled: Vec<bool>) -> Self {
        Self {
            kind: CUSTOM_KIND.to_owned(),
            layout,
            sampled,
            fastmri: None,
        }
    }

    /// Returns the mask with its kind label set (shown by [`Mask::summary`]).
    pub fn with_kind(mut self, kind: impl Into<String>) -> Self {
        self.kind = kind.into();
        self
    }

    pub(crate) fn with_fastmri_parameters(mut self, parameters: FastmriParameters) -> Self {
        self.fastmri = Some(parameters);
        self
    }

    /// Returns the kind label: a fastMRI type, a baseline name or `"custom"`.
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// Returns the layout, lines or grid, with its sizes.
    pub fn layout(&self) -> MaskLayout {
        self.layout
    }

    /// Returns the number of phase-encode columns `W`.
    pub fn width(&self) -> usize {
        match self.layout {
            MaskLayout::Lines { width } | MaskLayout::Grid { width, .. } => width,
        }
    }

    /// Returns the number of rows `H` of a grid mask, `None` for a line mask.
    pub fn height(&self) -> Option<usize> {
        match self.layout {
            MaskLayout::Lines { .. } => None,
            MaskLayout::Grid { height, .. } => Some(height),
        }
    }

    /// Returns what the fastMRI mask function drew, `None` for other masks.
    pub fn fastmri_parameters(&self) -> Option<&FastmriParameters> {
        self.fastmri.as_ref()
    }

    /// Returns fastMRI's `num_low_frequencies` (size of the centre band), `None` for masks
    /// that no fastMRI mask function produced.
    pub fn num_low_frequencies(&self) -> Option<usize> {
        self.fastmri
            .map(|parameters| parameters.num_low_frequencies)
    }

    /// Returns one flag per candidate: per column, or per sample in row-major order.
    pub fn flags(&self) -> &[bool] {
        &self.sampled
    }

    /// Returns the number of sampled columns (line masks) or samples (grid masks).
    pub fn num_sampled(&self) -> usize {
        self.sampled.iter().filter(|&&sampled| sampled).count()
    }

    /// Returns the number of candidates: `W` for line masks, `H * W` for grid masks.
    pub fn num_candidates(&self) -> usize {
        self.sampled.len()
    }

    /// Returns the realised acceleration, candidates over samples with the centre included;
    /// infinite for a mask that samples nothing.
    pub fn acceleration(&self) -> f64 {
        self.num_candidates() as f64 / self.num_sampled() as f64
    }

    /// Returns the sampled indices in increasing order: columns, or flat row-major indices
    /// (`row * W + col`) for grid masks.
    pub fn indices(&self) -> Vec<usize> {
        (0..self.sampled.len())
            .filter(|&index| self.sampled[index])
            .collect()
    }

    /// Returns whether sample `(row, col)` of the `(H, W)` plane is sampled. Line masks
    /// ignore `row`.
    ///
    /// # Panics
    ///
    /// If `col >= W`, or for grid masks if `row >= H`.
    pub fn is_sampled(&self, row: usize, col: usize) -> bool {
        match self.layout {
            MaskLayout::Lines { width } => {
                assert!(col < width, "column {col} out of range for width {width}");
                self.sampled[col]
            }
            MaskLayout::Grid { height, width } => {
                assert!(
                    row < height && col < width,
                    "sample ({row}, {col}) out of range for a {height}x{width} mask"
                );
                self.sampled[row * width + col]
            }
        }
    }

    /// Expands the mask to a `(height, W)` boolean array: line masks repeat their columns on
    /// every row, grid masks return their own plane.
    ///
    /// # Errors
    ///
    /// [`MaskError::HeightMismatch`] if a grid mask's height differs from `height`.
    pub fn to_grid(&self, height: usize) -> Result<Array2<bool>, MaskError> {
        match self.layout {
            MaskLayout::Lines { width } => {
                Ok(Array2::from_shape_fn((height, width), |(_, col)| {
                    self.sampled[col]
                }))
            }
            MaskLayout::Grid {
                height: own_height,
                width,
            } => {
                if own_height != height {
                    return Err(MaskError::HeightMismatch {
                        expected: own_height,
                        found: height,
                    });
                }
                Ok(
                    Array2::from_shape_vec((height, width), self.sampled.clone())
                        .expect("a grid mask has height * width flags"),
                )
            }
        }
    }

    /// Applies the mask in place over the last axes of `kspace`: line masks over the last
    /// axis (`W`), grid masks over the last two (`H, W`), broadcast over every leading axis.
    ///
    /// Dropped samples become +0.0 in both parts. Kept samples get `+ 0.0`, which leaves
    /// every value unchanged except -0.0, which becomes +0.0: fastMRI's
    /// `data * mask + 0.0`, so that no sign bit shows which samples were dropped.
    ///
    /// # Errors
    ///
    /// [`MaskError::ShapeMismatch`] if the last axis is not `W`, or for grid masks if there
    /// are fewer than two axes or the second last is not `H`.
    pub fn apply<S, D>(&self, kspace: &mut ArrayBase<S, D>) -> Result<(), MaskError>
    where
        S: DataMut<Elem = Complex32>,
        D: Dimension,
    {
        self.check_shape(kspace.shape())?;
        let zero = Complex32::new(0.0, 0.0);
        let last = Axis(kspace.ndim() - 1);
        let width = self.width();

        // Lanes along the last axis come in row-major order of the other axes, so lane k
        // lies on row k mod H of its plane.
        for (lane_index, mut lane) in kspace.lanes_mut(last).into_iter().enumerate() {
            let flags = match self.layout {
                MaskLayout::Lines { .. } => &self.sampled[..],
                MaskLayout::Grid { height, .. } => {
                    let row = lane_index % height;
                    &self.sampled[row * width..(row + 1) * width]
                }
            };
            for (sample, &sampled) in lane.iter_mut().zip(flags) {
                *sample = if sampled { *sample + zero } else { zero };
            }
        }
        Ok(())
    }

    fn check_shape(&self, shape: &[usize]) -> Result<(), MaskError> {
        let (fits, expected) = match self.layout {
            MaskLayout::Lines { width } => (
                shape.last() == Some(&width),
                format!("(..., {width}) with the phase-encode axis last"),
            ),
            MaskLayout::Grid { height, width } => (
                shape.len() >= 2 && shape[shape.len() - 2..] == [height, width],
                format!("(..., {height}, {width})"),
            ),
        };
        if fits {
            Ok(())
        } else {
            Err(MaskError::ShapeMismatch {
                expected,
                found: shape.to_vec(),
            })
        }
    }

    /// Summarises the mask for JSON output.
    pub fn summary(&self) -> MaskSummary {
        MaskSummary {
            kind: self.kind.clone(),
            width: self.width(),
            height: self.height(),
            count: self.num_sampled(),
            acceleration: self.acceleration(),
            fastmri: self.fastmri,
            indices: self.indices(),
        }
    }
}

fn flags_from_indices(len: usize, indices: &[usize]) -> Result<Vec<bool>, MaskError> {
    let mut flags = vec![false; len];
    for &index in indices {
        if index >= len {
            return Err(MaskError::IndexOutOfRange { index, len });
        }
        flags[index] = true;
    }
    Ok(flags)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_check_messages_name_expected_shape() {
        let mask = Mask::from_columns(4, &[1]).unwrap();
        let error = mask.check_shape(&[2, 5]).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("[2, 5]"), "{message}");
        assert!(message.contains("(..., 4)"), "{message}");
    }

    #[test]
    fn mask_error_is_send_and_sync() {
        // Command-line parsers and thread pools need errors that cross threads.
        fn assert_send_sync<T: Send + Sync + 'static>() {}
        assert_send_sync::<MaskError>();
    }

    #[test]
    fn grid_shape_needs_two_axes() {
        let mask = Mask::from_grid_indices(1, 4, &[1]).unwrap();
        assert!(mask.check_shape(&[4]).is_err());
        assert!(mask.check_shape(&[1, 4]).is_ok());
        assert!(mask.check_shape(&[3, 2, 4]).is_err());
    }
}
