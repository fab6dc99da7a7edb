//! Sample incidence: how often each candidate is sampled across R realisations, and its picture.

use ndarray::{ArrayD, IxDyn};
use tch::{Kind, Tensor};

use super::{Mode, Sampler, SamplerError};

/// Realisations drawn per libtorch call, bounding the memory of one draw.
const CHUNK: usize = 256;

/// Counts, for each candidate, the share of `realisations` masks drawn in `mode` that sample it,
/// and returns it in the domain's mask shape (`(H, W)` or `(W)`).
///
/// Each realisation is one example of a batched draw, so it gets its own noise. Values are in
/// [0, 1], and for hard masks they sum to the samples per example. For LOUPE in
/// [`Mode::Train`] the result is the mean soft mask.
///
/// # Errors
///
/// [`SamplerError::InvalidParameter`] naming `realisations` when it is 0, and
/// [`SamplerError::Torch`] when the counts cannot be copied to host memory.
pub fn sample_incidence(
    sampler: &dyn Sampler,
    realisations: usize,
    mode: Mode,
) -> Result<ArrayD<f32>, SamplerError> {
    if realisations == 0 {
        return Err(SamplerError::invalid("realisations", 0, "at least 1"));
    }
    let candidates = sampler.domain().candidates() as i64;
    let counts = tch::no_grad(|| {
        let mut counts = Tensor::zeros([candidates], (Kind::Double, tch::Device::Cpu));
        let mut remaining = realisations;
        while remaining > 0 {
            let batch = remaining.min(CHUNK);
            let masks = sampler.sample(batch as i64, mode).detach();
            counts += masks
                .to_kind(Kind::Double)
                .sum_dim_intlist(0, false, Kind::Double)
                .to_device(tch::Device::Cpu);
            remaining -= batch;
        }
        counts / realisations as f64
    });
    let values: Vec<f64> = Vec::try_from(&counts)?;
    let values: Vec<f32> = values.into_iter().map(|value| value as f32).collect();
    let shape = IxDyn(&sampler.domain().mask_shape());
    Ok(ArrayD::from_shape_vec(shape, values).expect("the mask shape has N elements"))
}
