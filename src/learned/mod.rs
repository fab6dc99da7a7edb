//! Learned subsampling: Deep Probabilistic Subsampling (DPS, Huijben et al., ICLR 2020) and the
//! LOUPE baseline (Bahadir et al., 2019), with fixed masks behind the same interface.
//!
//! A sampler chooses M of N candidates (see [`domain`] for pixels, 2-D k-space points and
//! phase-encode lines) and returns a `(batch, N)` float mask on every call of
//! [`Sampler::sample`]:
//!
//! - [`DpsTop1`]: an M x N logit matrix, one categorical distribution per acquired sample. Each
//!   row draws one candidate with the Gumbel-max trick, among the candidates earlier rows left.
//! - [`DpsTopK`]: one logit vector of length N, M candidates drawn without replacement with the
//!   Gumbel top-k trick.
//! - [`Loupe`]: one logit per candidate and a soft Bernoulli mask rescaled to the sampling rate.
//! - [`FixedSampler`]: a given mask, not trained.
//!
//! The DPS forward pass is a hard 0/1 mask with exactly M ones. Its gradient is that of a
//! softmax relaxation at temperature T (straight-through Gumbel-softmax), so a task loss on the
//! masked input trains the logits. LOUPE's training mask is soft, as in its paper.
//!
//! Masks use the layout of the candidates they select: row-major `r * W + c` for `(H, W)` grids,
//! the column index for lines. [`Domain::to_image_mask`] turns a mask into `(batch, H, W)`.
//!
//! Randomness: Gumbel noise, LOUPE's uniforms and the logits' initial values come from
//! libtorch's generator, so `tch::manual_seed` makes draws reproducible. The top1 row order comes
//! from [`SamplerConfig::row_order_seed`] and does not depend on libtorch.
//!
//! Each learned sampler keeps its logits in its own [`tch::nn::VarStore`] (one variable,
//! `sampler.logits`), so a training loop can optimise them with their own learning rate,
//! [`Sampler::logits_lr_multiplier`] times the task network's.

pub mod config;
pub mod domain;
mod error;
pub mod export;
pub mod fixed;
mod gumbel;
pub mod incidence;
pub mod loupe;
pub mod npy;
mod row_order;
pub mod schedule;
pub mod top1;
pub mod topk;

pub use config::{LoupeConfig, Method, SamplerConfig};
pub use domain::{Domain, DomainConfig, DomainKind};
pub use error::SamplerError;
pub use fixed::FixedSampler;
pub use incidence::sample_incidence;
pub use loupe::Loupe;
pub use schedule::{EntropyWeightSchedule, TemperatureSchedule, TrainingSchedule};
pub use top1::DpsTop1;
pub use topk::DpsTopK;

use tch::{nn, Tensor};

/// Full name of the logit variable inside a sampler's [`nn::VarStore`].
pub const LOGITS_VARIABLE: &str = "sampler.logits";

/// Path and name that make up [`LOGITS_VARIABLE`], because tch joins path parts with a dot.
const SAMPLER_PATH: &str = "sampler";
const LOGITS_NAME: &str = "logits";

/// Drawing mode of [`Sampler::sample`], in YAML `train`, `stochastic` or `deterministic`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Fresh noise per example, with the straight-through gradient to the logits.
    Train,
    /// Fresh noise per example without gradient: the test-time sampling of the original DPS
    /// TensorFlow code (its MNIST results average 100 such passes).
    Stochastic,
    /// No noise, so every example and call gets the same mask (the test-time choice of the
    /// authors' later PyTorch code). DPS-topK takes the top-M logits, LOUPE the top-M p', and
    /// DPS-top1 the argmax of each row, in row order, among the candidates still free. No
    /// gradient.
    Deterministic,
}

/// A source of `(batch, N)` sampling masks, trainable or not. Samplers are [`Send`], so a
/// training loop may move a boxed one to another thread.
pub trait Sampler: Send {
    /// Method of this sampler.
    fn method(&self) -> Method;

    /// Candidates and their layout.
    fn domain(&self) -> &Domain;

    /// Number of sampled candidates per example, centre band included. LOUPE's soft training
    /// mask has no count, so for LOUPE this is the count of its evaluation masks.
    fn samples_per_example(&self) -> usize;

    /// Draws a `(batch, N)` float mask.
    ///
    /// DPS samplers and fixed masks return exact 0/1 values in every mode. LOUPE returns
    /// `sigmoid(slope * (p' - u))` in (0, 1) in [`Mode::Train`] and a hard top-M mask
    /// otherwise. Only [`Mode::Train`] tracks gradients.
    ///
    /// # Panics
    ///
    /// When `batch < 1`.
    fn sample(&self, batch: i64, mode: Mode) -> Tensor;

    /// Unweighted entropy term of the current logits, a scalar tensor with gradient.
    ///
    /// DPS-top1: `sum_m H(softmax(phi_m))` in nats. DPS-topK: `H(softmax(phi))` of its single
    /// logit vector (the original code applies no penalty, so leave the weight at 0 to match
    /// it). LOUPE and fixed masks: 0.
    fn entropy(&self) -> Tensor;

    /// Trainable logits, `None` for fixed masks. Shapes: DPS-top1 `(M, N_free)`, DPS-topK and
    /// LOUPE `(N_free)`, with `N_free` the candidates outside the centre band.
    fn logits(&self) -> Option<Tensor>;

    /// Per-candidate probabilities over the free candidates (the order of
    /// [`Domain::free_candidates`]), `None` for fixed masks.
    ///
    /// DPS-topK: `softmax(phi)`, the distribution of the first pick. DPS-top1: the mean over
    /// rows of `softmax(phi_m)`. LOUPE: the rescaled probabilities p', whose mean is M / N_free.
    fn candidate_probabilities(&self) -> Option<Tensor>;

    /// Store of the trainable variables, `None` for fixed masks.
    fn var_store(&self) -> Option<&nn::VarStore>;

    /// Schedules of temperature and entropy weight, and the logits' learning-rate multiplier.
    fn schedule(&self) -> &TrainingSchedule;

    /// Mutable access to the schedules.
    fn schedule_mut(&mut self) -> &mut TrainingSchedule;

    /// Moves temperature and entropy weight to `epoch` (counted from 0).
    fn set_epoch(&mut self, epoch: usize) {
        self.schedule_mut().set_epoch(epoch);
    }

    /// Temperature of the relaxation at the current epoch.
    fn temperature(&self) -> f64 {
        self.schedule().temperature()
    }

    /// Entropy weight mu at the current epoch.
    fn entropy_weight(&self) -> f64 {
        self.schedule().entropy_weight()
    }

    /// Factor between the logits' learning rate and the task network's.
    fn logits_lr_multiplier(&self) -> f64 {
        self.schedule().logits_lr_multiplier()
    }

    /// Entropy penalty `mu_e * entropy()` to add to the task loss.
    fn entropy_penalty(&self) -> Tensor {
        self.entropy() * self.entropy_weight()
    }

    /// Trainable variables (the logits), empty for fixed masks.
    fn trainable_variables(&self) -> Vec<Tensor> {
        self.var_store()
            .map(nn::VarStore::trainable_variables)
            .unwrap_or_default()
    }

    /// Draws a mask as in [`Sampler::sample`] and lays it out as `(batch, H, W)`.
    ///
    /// # Panics
    ///
    /// When `batch < 1`.
    fn sample_image_mask(&self, batch: i64, mode: Mode) -> Tensor {
        self.domain().to_image_mask(&self.sample(batch, mode))
    }
}

/// Ratio of candidates to sampled candidates, the acceleration fastMRI reports.
pub fn acceleration(candidates: usize, sampled: usize) -> f64 {
    candidates as f64 / sampled as f64
}

fn check_batch(batch: i64) {
    assert!(batch >= 1, "batch must be at least 1, got {batch}");
}
