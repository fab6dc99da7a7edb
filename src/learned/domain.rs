//! Sampling domains: which candidates a sampler chooses from and how a `(batch, N)` mask maps
//! back onto an image or onto k-space.
//!
//! - `pixel`: the N = H x W pixels of an image, flattened row-major (index `r * W + c`).
//! - `kspace`: the N = H x W points of centred 2-D k-space, flattened the same way.
//! - `lines`: the N = W phase-encode columns (axis W of fastMRI's `(H, W)` k-space), each mask
//!   entry selecting one whole column. An optional centre band of C columns is always sampled.
//!   It starts at column `(W - C + 1) / 2`, where fastMRI's mask functions put their
//!   `num_low_frequencies` columns, and the learned picks come from the other `W - C` columns.

use std::ops::Range;

use serde::{Deserialize, Serialize};
use tch::{Device, Tensor};

use super::SamplerError;

/// YAML form of a sampling domain, tagged by `kind`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum DomainConfig {
    /// Pixels of an `height x width` image.
    Pixel {
        /// Image rows H.
        height: usize,
        /// Image columns W.
        width: usize,
    },
    /// Points of an `height x width` centred k-space grid.
    Kspace {
        /// Readout rows H.
        height: usize,
        /// Phase-encode columns W.
        width: usize,
    },
    /// Phase-encode columns of an `height x width` k-space grid.
    Lines {
        /// Readout rows H, used only to expand a line mask to `(batch, H, W)`.
        height: usize,
        /// Phase-encode columns W, the candidates.
        width: usize,
        /// Number C of always-sampled centre columns (0 for none).
        #[serde(default)]
        center_lines: usize,
        /// Whether the centre columns count against the budget `samples`. When false (the
        /// default) a sampler acquires `samples + center_lines` columns per example.
        #[serde(default)]
        center_counts_against_budget: bool,
    },
}

/// Kind of candidate a domain offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DomainKind {
    /// Image pixels.
    Pixel,
    /// 2-D k-space points.
    Kspace,
    /// k-space phase-encode columns.
    Lines,
}

impl DomainKind {
    /// Name used in configs and messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::Pixel => "pixel",
            Self::Kspace => "kspace",
            Self::Lines => "lines",
        }
    }
}

/// A validated sampling domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Domain {
    kind: DomainKind,
    height: usize,
    width: usize,
    center: Range<usize>,
    center_counts_against_budget: bool,
}

impl Domain {
    /// Pixel domain of an `height x width` image.
    ///
    /// # Errors
    ///
    /// [`SamplerError::InvalidParameter`] when a size is 0.
    pub fn pixel(height: usize, width: usize) -> Result<Self, SamplerError> {
        Self::grid(DomainKind::Pixel, height, width)
    }

    /// 2-D k-space domain of an `height x width` grid.
    ///
    /// # Errors
    ///
    /// [`SamplerError::InvalidParameter`] when a size is 0.
    pub fn kspace(height: usize, width: usize) -> Result<Self, SamplerError> {
        Self::grid(DomainKind::Kspace, height, width)
    }

    /// Line domain of `width` phase-encode columns with `center_lines` always-sampled centre
    /// columns.
    ///
    /// # Errors
    ///
    /// [`SamplerError::InvalidParameter`] when a size is 0 or `center_lines > width`.
    pub fn lines(
        height: usize,
        width: usize,
        center_lines: usize,
        center_counts_against_budget: bool,
    ) -> Result<Self, SamplerError> {
        check_size("domain.height", height)?;
        check_size("domain.width", width)?;
        if center_lines > width {
            return Err(SamplerError::invalid(
                "domain.center_lines",
                center_lines,
                format!("at most domain.width = {width}"),
            ));
        }
        let start = (width - center_lines).div_ceil(2);
        Ok(Self {
            kind: DomainKind::Lines,
            height,
            width,
            center: start..start + center_lines,
            center_counts_against_budget,
        })
    }

    fn grid(kind: DomainKind, height: usize, width: usize) -> Result<Self, SamplerError> {
        check_size("domain.height", height)?;
        check_size("domain.width", width)?;
        Ok(Self {
            kind,
            height,
            width,
            center: 0..0,
            center_counts_against_budget: false,
        })
    }

    /// Validates a [`DomainConfig`].
    ///
    /// # Errors
    ///
    /// As [`Domain::pixel`], [`Domain::kspace`] and [`Domain::lines`].
    pub fn from_config(config: &DomainConfig) -> Result<Self, SamplerError> {
        match *config {
            DomainConfig::Pixel { height, width } => Self::pixel(height, width),
            DomainConfig::Kspace { height, width } => Self::kspace(height, width),
            DomainConfig::Lines {
                height,
                width,
                center_lines,
                center_counts_against_budget,
            } => Self::lines(height, width, center_lines, center_counts_against_budget),
        }
    }

    /// Kind of candidate.
    pub fn kind(&self) -> DomainKind {
        self.kind
    }

    /// Image or k-space rows H.
    pub fn height(&self) -> usize {
        self.height
    }

    /// Image or k-space columns W.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Number of candidates N: H x W for grids, W for lines.
    pub fn candidates(&self) -> usize {
        match self.kind {
            DomainKind::Lines => self.width,
            DomainKind::Pixel | DomainKind::Kspace => self.height * self.width,
        }
    }

    /// Column range of the always-sampled centre band (empty outside the line domain).
    pub fn center_band(&self) -> Range<usize> {
        self.center.clone()
    }

    /// Whether the centre band counts against the budget `samples`.
    pub fn center_counts_against_budget(&self) -> bool {
        self.center_counts_against_budget
    }

    /// Candidates a learned sampler chooses from, in increasing order: all but the centre band.
    pub fn free_candidates(&self) -> Vec<usize> {
        (0..self.candidates())
            .filter(|index| !self.center.contains(index))
            .collect()
    }

    /// Shape of one mask as an array: `[H, W]` for grids, `[W]` for lines.
    pub fn mask_shape(&self) -> Vec<usize> {
        match self.kind {
            DomainKind::Lines => vec![self.width],
            DomainKind::Pixel | DomainKind::Kspace => vec![self.height, self.width],
        }
    }

    /// Number of learned picks per example for a budget of `samples`.
    ///
    /// # Errors
    ///
    /// [`SamplerError::InvalidParameter`] naming `samples` when the learned picks would be
    /// fewer than 1 or more than the free candidates.
    pub fn learned_budget(&self, samples: usize) -> Result<usize, SamplerError> {
        let center = self.center.len();
        let learned = if self.center_counts_against_budget {
            if samples <= center {
                return Err(SamplerError::invalid(
                    "samples",
                    samples,
                    format!(
                        "more than domain.center_lines = {center}, because the centre band \
                         counts against the budget"
                    ),
                ));
            }
            samples - center
        } else {
            samples
        };
        let free = self.candidates() - center;
        if learned == 0 || learned > free {
            return Err(SamplerError::invalid(
                "samples",
                samples,
                if center == 0 {
                    format!("learned picks between 1 and the {free} candidates")
                } else {
                    format!(
                        "learned picks between 1 and the {free} candidates outside the \
                         {center}-column centre band"
                    )
                },
            ));
        }
        Ok(learned)
    }

    /// Reshapes or expands a `(batch, N)` mask to `(batch, H, W)`.
    ///
    /// Grid masks are reshaped row-major. A line mask is repeated along the H rows, so that
    /// entry `[b, r, c]` is `mask[b, c]` for every readout row `r`.
    ///
    /// # Panics
    ///
    /// When `mask` is not `(batch, N)` for this domain's N.
    pub fn to_image_mask(&self, mask: &Tensor) -> Tensor {
        let (batch, count) = mask.size2().expect("a sampler mask is 2-D (batch, N)");
        assert_eq!(count, self.candidates() as i64, "mask has the wrong N");
        let (height, width) = (self.height as i64, self.width as i64);
        match self.kind {
            DomainKind::Lines => mask.unsqueeze(1).expand([batch, height, width], false),
            DomainKind::Pixel | DomainKind::Kspace => mask.reshape([batch, height, width]),
        }
    }
}

fn check_size(parameter: &'static str, value: usize) -> Result<(), SamplerError> {
    if value == 0 {
        return Err(SamplerError::invalid(parameter, value, "at least 1"));
    }
    Ok(())
}

/// Placement of a learned sampler's free candidates within the full mask.
#[derive(Debug)]
pub(crate) struct CandidateLayout {
    candidates: i64,
    free: i64,
    free_index: Tensor,
    center_row: Tensor,
    has_center: bool,
}

impl CandidateLayout {
    pub(crate) fn new(domain: &Domain, device: Device) -> Self {
        let free: Vec<i64> = domain
            .free_candidates()
            .into_iter()
            .map(|index| index as i64)
            .collect();
        let candidates = domain.candidates() as i64;
        let mut center = vec![0f32; domain.candidates()];
        for column in domain.center_band() {
            center[column] = 1.0;
        }
        Self {
            candidates,
            free: free.len() as i64,
            free_index: Tensor::from_slice(&free).to_device(device),
            center_row: Tensor::from_slice(&center).to_device(device).unsqueeze(0),
            has_center: !domain.center_band().is_empty(),
        }
    }

    /// Number of free candidates.
    pub(crate) fn free(&self) -> i64 {
        self.free
    }

    /// Places a `(batch, free)` mask into a `(batch, N)` mask with the centre band set to 1.
    /// `index_add` keeps the gradient path to the free entries and adds exact zeros elsewhere,
    /// so 0/1 values stay exact.
    pub(crate) fn embed(&self, free_mask: &Tensor) -> Tensor {
        if !self.has_center {
            return free_mask.shallow_clone();
        }
        let batch = free_mask.size()[0];
        let base = self.center_row.expand([batch, self.candidates], false);
        base.index_add(1, &self.free_index, free_mask)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn center_band_matches_fastmri_placement() {
        // fastMRI: W = 368 with 29 centre columns covers 170-198, W = 320 with 26 covers 147-172.
        let domain = Domain::lines(640, 368, 29, false).unwrap();
        assert_eq!(domain.center_band(), 170..199);
        let domain = Domain::lines(640, 320, 26, false).unwrap();
        assert_eq!(domain.center_band(), 147..173);
    }

    #[test]
    fn learned_budget_with_and_without_center() {
        let excluded = Domain::lines(8, 20, 4, false).unwrap();
        assert_eq!(excluded.learned_budget(6).unwrap(), 6);
        assert!(excluded.learned_budget(17).is_err());
        let included = Domain::lines(8, 20, 4, true).unwrap();
        assert_eq!(included.learned_budget(6).unwrap(), 2);
        assert!(included.learned_budget(4).is_err());
        assert_eq!(included.learned_budget(20).unwrap(), 16);
    }

    #[test]
    fn embed_keeps_center_and_places_free_columns() {
        let domain = Domain::lines(4, 6, 2, false).unwrap();
        assert_eq!(domain.center_band(), 2..4);
        let layout = CandidateLayout::new(&domain, Device::Cpu);
        let free = Tensor::from_slice(&[1f32, 0., 0., 1.]).unsqueeze(0);
        let full = layout.embed(&free);
        let values: Vec<f32> = Vec::try_from(full.reshape([-1])).unwrap();
        assert_eq!(values, vec![1., 0., 1., 1., 0., 1.]);
    }

    #[test]
    fn line_mask_expands_over_rows() {
        let domain = Domain::lines(3, 4, 0, false).unwrap();
        let mask = Tensor::from_slice(&[1f32, 0., 1., 0.]).unsqueeze(0);
        let image = domain.to_image_mask(&mask);
        assert_eq!(image.size(), vec![1, 3, 4]);
        for row in 0..3 {
            let values: Vec<f32> = Vec::try_from(image.get(0).get(row)).unwrap();
            assert_eq!(values, vec![1., 0., 1., 0.]);
        }
    }

    #[test]
    fn center_wider_than_width_is_rejected() {
        match Domain::lines(4, 6, 7, false) {
            Err(SamplerError::InvalidParameter { parameter, .. }) => {
                assert_eq!(parameter, "domain.center_lines")
            }
            other => panic!("expected invalid center_lines, got {other:?}"),
        }
    }
}
