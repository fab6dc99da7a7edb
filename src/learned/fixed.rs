//! A given mask behind the [`Sampler`] interface, so that fixed baselines (uniform, random, low
//! pass, fastMRI line masks) and learned samplers are interchangeable in a pipeline.
//!
//! The mask is returned unchanged for every example and mode. The domain's centre band and the
//! config's budget are not applied to it: a fixed mask defines by itself what it samples.

use ndarray::Array2;
use tch::{nn, Device, Kind, Tensor};
use tracing::info;

use super::config::check_fixed_indices;
use super::{
    acceleration, check_batch, Domain, DomainKind, Method, Mode, Sampler, SamplerError,
    TrainingSchedule,
};

/// A non-trainable sampler that returns one stored mask.
#[derive(Debug)]
pub struct FixedSampler {
    mask: Tensor,
    sampled: usize,
    domain: Domain,
    schedule: TrainingSchedule,
}

impl FixedSampler {
    /// Wraps `mask`, one entry per candidate in the domain's layout, as a `(1, N)` tensor on
    /// `device`.
    ///
    /// # Errors
    ///
    /// [`SamplerError::MaskLength`] when `mask.len()` differs from the number of candidates.
    pub fn new(domain: Domain, mask: &[bool], device: Device) -> Result<Self, SamplerError> {
        if mask.len() != domain.candidates() {
            return Err(SamplerError::MaskLength {
                domain: domain.kind().name(),
                expected: domain.candidates(),
                found: mask.len(),
            });
        }
        let values: Vec<f32> = mask.iter().map(|&kept| f32::from(u8::from(kept))).collect();
        let sampled = mask.iter().filter(|&&kept| kept).count();
        info!(
            method = Method::Fixed.name(),
            candidates = domain.candidates(),
            samples = sampled,
            acceleration = acceleration(domain.candidates(), sampled),
            "built sampler"
        );
        Ok(Self {
            mask: Tensor::from_slice(&values).to_device(device).unsqueeze(0),
            sampled,
            domain,
            schedule: TrainingSchedule::default(),
        })
    }

    /// Wraps the mask that samples exactly `indices` (row-major `r * W + c` on grids, columns
    /// for lines).
    ///
    /// # Errors
    ///
    /// [`SamplerError::InvalidParameter`] naming `fixed_indices` for an index out of range or
    /// repeated.
    pub fn from_indices(
        domain: Domain,
        indices: &[usize],
        device: Device,
    ) -> Result<Self, SamplerError> {
        check_fixed_indices(indices, domain.candidates())?;
        let mut mask = vec![false; domain.candidates()];
        for &index in indices {
            mask[index] = true;
        }
        Self::new(domain, &mask, device)
    }

    /// Wraps an `(H, W)` mask of a pixel or 2-D k-space domain.
    ///
    /// # Errors
    ///
    /// [`SamplerError::MaskLength`] when the domain is a line domain or the shape is not
    /// `(H, W)`.
    pub fn from_grid(
        domain: Domain,
        mask: &Array2<bool>,
        device: Device,
    ) -> Result<Self, SamplerError> {
        let shape_matches = mask.dim() == (domain.height(), domain.width());
        if domain.kind() == DomainKind::Lines || !shape_matches {
            return Err(SamplerError::MaskLength {
                domain: domain.kind().name(),
                expected: domain.candidates(),
                found: mask.len(),
            });
        }
        let flat: Vec<bool> = mask.iter().copied().collect();
        Self::new(domain, &flat, device)
    }
}

impl Sampler for FixedSampler {
    fn method(&self) -> Method {
        Method::Fixed
    }

    fn domain(&self) -> &Domain {
        &self.domain
    }

    fn samples_per_example(&self) -> usize {
        self.sampled
    }

    fn sample(&self, batch: i64, _mode: Mode) -> Tensor {
        check_batch(batch);
        self.mask.repeat([batch, 1])
    }

    fn entropy(&self) -> Tensor {
        Tensor::zeros([], (Kind::Float, self.mask.device()))
    }

    fn logits(&self) -> Option<Tensor> {
        None
    }

    fn candidate_probabilities(&self) -> Option<Tensor> {
        None
    }

    fn var_store(&self) -> Option<&nn::VarStore> {
        None
    }

    fn schedule(&self) -> &TrainingSchedule {
        &self.schedule
    }

    fn schedule_mut(&mut self) -> &mut TrainingSchedule {
        &mut self.schedule
    }
}
