//! LOUPE (Bahadir, Dalca and Sabuncu, "Learning-based optimization of the under-sampling
//! pattern in MRI", IPMI 2019), the learned baseline of the DPS paper.
//!
//! One logit w per candidate gives `p = sigmoid(slope * w)`. The probabilities are rescaled so
//! that their mean equals the sampling rate r = M / N_free exactly:
//!
//! - mean(p) > r: `p' = p * r / mean(p)`;
//! - otherwise: `p' = 1 - (1 - p) * (1 - r) / (1 - mean(p))`.
//!
//! Training masks are soft, `sigmoid(sample_slope * (p' - u))` with fresh `u ~ U(0, 1)` per
//! example and candidate. Evaluation masks are hard top-M masks: [`Mode::Stochastic`] ranks one
//! realisation `p' - u` (the same ranking as the soft mask of that realisation), and
//! [`Mode::Deterministic`] ranks p' itself.
//!
//! The logits start so that p is uniform on [0.01, 0.99].

use tch::{nn, Device, Kind, Tensor};
use tracing::info;

use super::domain::CandidateLayout;
use super::gumbel::indices_to_mask;
use super::{
    acceleration, check_batch, Domain, Method, Mode, Sampler, SamplerConfig, SamplerError,
    TrainingSchedule, LOGITS_NAME, SAMPLER_PATH,
};

/// Bounds of the initial probabilities p.
const INITIAL_PROBABILITY_RANGE: (f64, f64) = (0.01, 0.99);

/// Keeps the rescaling finite when mean(p) reaches 0 or 1 in `f32`.
const MEAN_FLOOR: f64 = 1e-12;

/// The LOUPE sampler.
#[derive(Debug)]
pub struct Loupe {
    var_store: nn::VarStore,
    logits: Tensor,
    picks: i64,
    slope: f64,
    sample_slope: f64,
    domain: Domain,
    layout: CandidateLayout,
    schedule: TrainingSchedule,
}

impl Loupe {
    /// Builds the sampler of `config` (its `method` is not read) with logits of shape
    /// `(N_free)` on `device`.
    ///
    /// # Errors
    ///
    /// The errors of [`SamplerConfig::validate`], and [`SamplerError::Torch`] when the initial
    /// logits cannot be written.
    pub fn new(config: &SamplerConfig, device: Device) -> Result<Self, SamplerError> {
        let domain = config.validate()?;
        let picks = domain.learned_budget(config.samples)? as i64;
        let layout = CandidateLayout::new(&domain, device);
        let var_store = nn::VarStore::new(device);
        let (low, high) = INITIAL_PROBABILITY_RANGE;
        let mut logits = var_store.root().sub(SAMPLER_PATH).f_var(
            LOGITS_NAME,
            &[layout.free()],
            nn::Init::Uniform { lo: low, up: high },
        )?;
        // Invert p = sigmoid(slope * w) on the uniform draws.
        tch::no_grad(|| {
            let initial = logits.logit(None::<f64>) / config.loupe.slope;
            logits.f_copy_(&initial)
        })?;
        let sampler = Self {
            var_store,
            logits,
            picks,
            slope: config.loupe.slope,
            sample_slope: config.loupe.sample_slope,
            domain,
            layout,
            schedule: config.training_schedule(),
        };
        info!(
            method = Method::Loupe.name(),
            candidates = sampler.domain.candidates(),
            samples = sampler.samples_per_example(),
            acceleration = acceleration(sampler.domain.candidates(), sampler.samples_per_example()),
            "built sampler"
        );
        Ok(sampler)
    }

    /// Sampling rate r = M / N_free that the rescaled probabilities average to.
    pub fn sampling_rate(&self) -> f64 {
        self.picks as f64 / self.layout.free() as f64
    }

    /// Probabilities `p = sigmoid(slope * w)` before rescaling, with gradient.
    pub fn probabilities(&self) -> Tensor {
        (&self.logits * self.slope).sigmoid()
    }

    /// Rescaled probabilities p' with mean exactly [`Loupe::sampling_rate`], with gradient.
    pub fn rescaled_probabilities(&self) -> Tensor {
        rescale_to_rate(&self.probabilities(), self.sampling_rate())
    }

    fn hard_top_m(&self, scores: &Tensor) -> Tensor {
        let (batch, free) = scores.size2().expect("LOUPE scores are (batch, N)");
        let (_, indices) = scores.topk(self.picks, -1, true, false);
        indices_to_mask(&indices, batch, free, scores.device())
    }
}

impl Sampler for Loupe {
    fn method(&self) -> Method {
        Method::Loupe
    }

    fn domain(&self) -> &Domain {
        &self.domain
    }

    fn samples_per_example(&self) -> usize {
        self.picks as usize + self.domain.center_band().len()
    }

    fn sample(&self, batch: i64, mode: Mode) -> Tensor {
        check_batch(batch);
        let device = self.logits.device();
        let free = self.layout.free();
        let free_mask = match mode {
            Mode::Train => {
                let uniform = Tensor::rand([batch, free], (Kind::Float, device));
                ((self.rescaled_probabilities().unsqueeze(0) - uniform) * self.sample_slope)
                    .sigmoid()
            }
            Mode::Stochastic => tch::no_grad(|| {
                let uniform = Tensor::rand([batch, free], (Kind::Float, device));
                self.hard_top_m(&(self.rescaled_probabilities().unsqueeze(0) - uniform))
            }),
            Mode::Deterministic => tch::no_grad(|| {
                let scores = self.rescaled_probabilities().unsqueeze(0);
                self.hard_top_m(&scores).repeat([batch, 1])
            }),
        };
        self.layout.embed(&free_mask)
    }

    /// LOUPE has no entropy penalty, so this is a constant 0.
    fn entropy(&self) -> Tensor {
        Tensor::zeros([], (Kind::Float, self.logits.device()))
    }

    fn logits(&self) -> Option<Tensor> {
        Some(self.logits.shallow_clone())
    }

    fn candidate_probabilities(&self) -> Option<Tensor> {
        Some(tch::no_grad(|| self.rescaled_probabilities()))
    }

    fn var_store(&self) -> Option<&nn::VarStore> {
        Some(&self.var_store)
    }

    fn schedule(&self) -> &TrainingSchedule {
        &self.schedule
    }

    fn schedule_mut(&mut self) -> &mut TrainingSchedule {
        &mut self.schedule
    }
}

/// Rescales `probabilities` so that their mean is `rate`, moving p towards 0 when the mean is
/// above the rate and 1 - p towards 0 otherwise, so every p' stays in [0, 1].
fn rescale_to_rate(probabilities: &Tensor, rate: f64) -> Tensor {
    let mean = probabilities.mean(Kind::Float);
    let lowered = probabilities * rate / mean.clamp_min(MEAN_FLOOR);
    let complement_mean = (1f64 - &mean).clamp_min(MEAN_FLOOR);
    let raised = 1f64 - (1f64 - probabilities) * (1.0 - rate) / complement_mean;
    lowered.where_self(&mean.gt(rate), &raised)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mean_f64(tensor: &Tensor) -> f64 {
        tensor
            .to_kind(Kind::Double)
            .mean(Kind::Double)
            .double_value(&[])
    }

    #[test]
    fn rescale_hits_rate_from_above_and_below() {
        let high = Tensor::from_slice(&[0.9f32, 0.8, 0.95, 0.7, 0.6]);
        let low = Tensor::from_slice(&[0.1f32, 0.05, 0.2, 0.01, 0.3]);
        for (probabilities, rate) in [(&high, 0.4), (&low, 0.4), (&high, 0.99), (&low, 0.001)] {
            let rescaled = rescale_to_rate(probabilities, rate);
            assert!((mean_f64(&rescaled) - rate).abs() < 1e-6);
            assert!(rescaled.min().double_value(&[]) >= 0.0);
            assert!(rescaled.max().double_value(&[]) <= 1.0);
        }
    }

    #[test]
    fn rescale_keeps_order() {
        let probabilities = Tensor::from_slice(&[0.3f32, 0.1, 0.9, 0.5]);
        for rate in [0.2, 0.7] {
            let rescaled = rescale_to_rate(&probabilities, rate);
            let order = rescaled.argsort(0, false);
            let expected = probabilities.argsort(0, false);
            assert!(order.equal(&expected));
        }
    }

    #[test]
    fn rescale_formulas_per_branch() {
        // Mean 0.5 above rate 0.25: p' = p / 2. Mean 0.5 below rate 0.75: 1 - p' = (1 - p) / 2.
        let probabilities = Tensor::from_slice(&[0.2f32, 0.8]);
        let lowered: Vec<f32> = Vec::try_from(rescale_to_rate(&probabilities, 0.25)).unwrap();
        assert_eq!(lowered, vec![0.1, 0.4]);
        let raised: Vec<f32> = Vec::try_from(rescale_to_rate(&probabilities, 0.75)).unwrap();
        assert!((raised[0] - 0.6).abs() < 1e-7, "raised {raised:?}");
        assert!((raised[1] - 0.9).abs() < 1e-7, "raised {raised:?}");
    }
}
