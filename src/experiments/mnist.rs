//! MNIST classification (or reconstruction) from a learned or fixed subset of pixels or k-space
//! points.
//!
//! The classifier is the DPS paper's MLP: flatten (784 inputs in the pixel domain, 1568 = real
//! and imaginary parts of the zero-filled centred orthonormal 2-D FFT in the Fourier domain) ->
//! FC 784 -> FC 256 -> FC 128 -> FC 128 -> FC 10, LeakyReLU(0.2) after all but the last layer,
//! dropout after the first three, Glorot-uniform weights and zero biases, softmax cross-entropy.
//! The sampler draws a `(batch, 784)` mask per batch (fresh Gumbel noise per example in
//! training) that multiplies the image, or both parts of its k-space.
//!
//! `mnist_reconstruction` trains the sampler with a decoder instead (FC 784 -> FC 784 -> FC
//! 784, LeakyReLU(0.2) between, mean squared error against the pixel image). Its learned mask,
//! frozen and given to a classifier through `mask_from`, is the DPS paper's disjoint baseline.

use std::cell::{Cell, RefCell};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tch::nn::{self, Module};
use tch::{Device, Kind, Tensor};

use crate::data::{BatchLoader, Mnist, MnistConfig, Split};
use crate::learned::{self, Mode, Sampler, SamplerConfig};
use crate::mask::{baseline_grid, baseline_lines, low_pass_disk, BaselineKind, DiskCenter, Seed};
use crate::train::{parse_device, Task, TrainConfig, TrainError, Trainer};

use super::ExperimentError;

/// Side of an MNIST image.
const SIDE: i64 = 28;
const PIXELS: i64 = SIDE * SIDE;

/// What the sampler selects: pixels, k-space points, or k-space lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InputDomain {
    /// The 784 pixels.
    Pixel,
    /// The 784 points of the centred orthonormal 2-D DFT.
    Fourier,
    /// The 28 columns (phase-encode lines) of the centred 2-D DFT, each acquired whole.
    FourierLines,
}

impl InputDomain {
    fn is_fourier(self) -> bool {
        matches!(self, Self::Fourier | Self::FourierLines)
    }
}

/// Line sampling settings, read for `domain: fourier_lines` only.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LineSettings {
    /// Always-acquired centre columns (0 for none).
    pub center_lines: usize,
    /// Whether the centre columns count against `sampler.samples`. When false the sampler
    /// learns `samples` columns on top of the centre band.
    pub center_counts_against_budget: bool,
}

/// Fixed masks of the DPS paper's baselines, drawn once with exactly M samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Baseline {
    /// A regular lattice.
    Uniform,
    /// A random subset, drawn with `baseline_seed`.
    Random,
    /// The samples nearest the centre, the DPS paper's disk (`disk` is another name). Pixels
    /// take the image centre (13.5, 13.5), k-space points the DC sample (14, 14), and lines
    /// the centre columns.
    #[serde(alias = "disk")]
    LowPass,
}

/// Test-time sampling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvaluationMode {
    /// Mean and spread over `passes` stochastic masks, as the DPS paper's MNIST numbers.
    Stochastic,
    /// The noiseless top-M mask of the logits.
    Deterministic,
}

/// Test-time evaluation settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvaluationConfig {
    #[serde(default = "default_mode")]
    pub mode: EvaluationMode,
    /// Stochastic passes over the test split.
    #[serde(default = "default_passes")]
    pub passes: usize,
}

fn default_mode() -> EvaluationMode {
    EvaluationMode::Stochastic
}

fn default_passes() -> usize {
    100
}

impl Default for EvaluationConfig {
    fn default() -> Self {
        Self {
            mode: default_mode(),
            passes: default_passes(),
        }
    }
}

/// Classifier settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassifierConfig {
    /// Dropout after the first three layers (paper text 0.2, authors' code 0.3).
    #[serde(default = "default_dropout")]
    pub dropout: f64,
}

fn default_dropout() -> f64 {
    0.3
}

impl Default for ClassifierConfig {
    fn default() -> Self {
        Self {
            dropout: default_dropout(),
        }
    }
}

/// An MNIST experiment file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MnistExperimentConfig {
    /// Run name, used in tables.
    pub name: String,
    /// `mnist_classification` or `mnist_reconstruction`.
    pub experiment: String,
    /// Free text describing the run.
    #[serde(default)]
    pub description: Option<String>,
    /// Location of the four IDX files and the split settings.
    pub data: MnistConfig,
    /// Pixel, Fourier point or Fourier line sampling.
    pub domain: InputDomain,
    /// Centre band of line sampling.
    #[serde(default, skip_serializing_if = "is_default")]
    pub lines: LineSettings,
    /// Sampler settings; `domain` is filled in from the experiment's domain.
    pub sampler: serde_yaml::Value,
    /// Fixed baseline mask, for `method: fixed`.
    #[serde(default)]
    pub baseline: Option<Baseline>,
    /// Seed of the random baseline and of `fastmri_mask`.
    #[serde(default)]
    pub baseline_seed: u32,
    /// A fastMRI line mask over the 28 phase-encode columns, for `domain: fourier_lines` and
    /// `method: fixed`: `{type: random, center_fractions: [0.08], accelerations: [4]}`. It is
    /// drawn once with `baseline_seed` as fastMRI's integer seed and sets its own centre band
    /// and line count, so `lines` and `sampler.samples` do not apply to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fastmri_mask: Option<crate::mask::MaskFuncConfig>,
    /// A mask learned by another run (`mask.json` of its run folder), for `method: fixed`.
    #[serde(default)]
    pub mask_from: Option<PathBuf>,
    #[serde(default)]
    pub model: ClassifierConfig,
    pub train: TrainConfig,
    #[serde(default)]
    pub evaluation: EvaluationConfig,
    /// Run folder.
    pub output: PathBuf,
}

fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

/// Test results of an MNIST run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MnistResult {
    pub name: String,
    pub method: String,
    pub domain: InputDomain,
    pub samples: usize,
    pub sampling_ratio: f64,
    pub evaluation: EvaluationMode,
    pub passes: usize,
    /// `accuracy` (classification) or `mse` (reconstruction, pixels in [0, 1]).
    pub metric: String,
    /// Mean of the test metric over the passes.
    pub test_value: f64,
    /// Sample standard deviation of the test metric over the passes (0 for one pass).
    pub test_std: f64,
    pub best_epoch: usize,
    pub epochs_run: usize,
    pub stopped_early: bool,
    pub examples_per_second: f64,
}

/// The MLP classifier of the DPS paper (Huijben et al., ICLR 2020).
pub struct Classifier {
    layers: Vec<nn::Linear>,
    dropout: f64,
}

impl Classifier {
    /// Creates the layers under `path` for `inputs` input features.
    pub fn new(path: &nn::Path, inputs: i64, dropout: f64) -> Self {
        let widths = [inputs, 784, 256, 128, 128, 10];
        let layers = widths
            .windows(2)
            .enumerate()
            .map(|(index, pair)| glorot_linear(&(path / format!("fc{index}")), pair[0], pair[1]))
            .collect();
        Self { layers, dropout }
    }

    /// Returns the class logits of `(batch, inputs)` features.
    pub fn forward(&self, features: &Tensor, train: bool) -> Tensor {
        let last = self.layers.len() - 1;
        let mut x = features.shallow_clone();
        for (index, layer) in self.layers.iter().enumerate() {
            x = layer.forward(&x);
            if index < last {
                // LeakyReLU with slope 0.2.
                x = x.maximum(&(&x * 0.2));
                if index < 3 {
                    x = x.dropout(self.dropout, train);
                }
            }
        }
        x
    }
}

/// The decoder of `mnist_reconstruction`.
pub struct Decoder {
    layers: Vec<nn::Linear>,
}

impl Decoder {
    /// Creates the layers under `path` for `inputs` input features.
    pub fn new(path: &nn::Path, inputs: i64) -> Self {
        let widths = [inputs, PIXELS, PIXELS, PIXELS];
        let layers = widths
            .windows(2)
            .enumerate()
            .map(|(index, pair)| glorot_linear(&(path / format!("fc{index}")), pair[0], pair[1]))
            .collect();
        Self { layers }
    }

    /// Returns the `(batch, 784)` image estimate.
    pub fn forward(&self, features: &Tensor) -> Tensor {
        let last = self.layers.len() - 1;
        let mut x = features.shallow_clone();
        for (index, layer) in self.layers.iter().enumerate() {
            x = layer.forward(&x);
            if index < last {
                x = x.maximum(&(&x * 0.2));
            }
        }
        x
    }
}

/// The network a sampler trains with.
enum Network {
    Classifier(Classifier),
    Decoder(Decoder),
}

impl Network {
    fn metric(&self) -> &'static str {
        match self {
            Network::Classifier(_) => "accuracy",
            Network::Decoder(_) => "mse",
        }
    }
}

/// Creates a linear layer with Glorot-uniform weights and zero biases, the Keras defaults that
/// the DPS authors' code uses.
fn glorot_linear(path: &nn::Path, inputs: i64, outputs: i64) -> nn::Linear {
    let bound = (6.0 / (inputs + outputs) as f64).sqrt();
    let config = nn::LinearConfig {
        ws_init: nn::Init::Uniform {
            lo: -bound,
            up: bound,
        },
        bs_init: Some(nn::Init::Const(0.0)),
        bias: true,
    };
    nn::linear(path, inputs, outputs, config)
}

#[derive(Clone, Copy)]
enum Part {
    Train,
    Validation,
    Test,
}

struct MnistTask {
    data: Mnist,
    domain: InputDomain,
    /// Pixel images, the reconstruction targets when `data` is in the Fourier domain.
    pixels: Option<Mnist>,
    sampler: Box<dyn Sampler>,
    network: Network,
    network_store: nn::VarStore,
    freeze_sampler: bool,
    batch_size: usize,
    seed: u64,
    device: Device,
    order: Vec<usize>,
    images: RefCell<Vec<f32>>,
    labels: RefCell<Vec<i64>>,
    /// Mean acquired candidates per example of the last mask drawn.
    last_acquired: Cell<f64>,
    /// Sum over this epoch's training examples of their acquired candidates, and the count.
    epoch_acquired: Cell<(f64, usize)>,
}

impl MnistTask {
    fn split(&self, part: Part) -> &Split {
        match part {
            Part::Train => &self.data.train,
            Part::Validation => &self.data.validation,
            Part::Test => &self.data.test,
        }
    }

    fn pixel_split(&self, part: Part) -> &Split {
        let data = self.pixels.as_ref().unwrap_or(&self.data);
        match part {
            Part::Train => &data.train,
            Part::Validation => &data.validation,
            Part::Test => &data.test,
        }
    }

    /// Copies examples into the reused host buffers and moves them to the device.
    fn copy_to_device(&self, split: &Split, indices: &[usize]) -> (Tensor, Tensor) {
        let mut images = self.images.borrow_mut();
        let mut labels = self.labels.borrow_mut();
        let features = split.features();
        images.resize(indices.len() * features, 0.0);
        labels.resize(indices.len(), 0);
        split.batch_into(indices, &mut images, &mut labels);
        let image_tensor = Tensor::from_slice(&images)
            .view([indices.len() as i64, features as i64])
            .to_device(self.device);
        let label_tensor = Tensor::from_slice(&labels).to_device(self.device);
        (image_tensor, label_tensor)
    }

    /// Returns the network's inputs and its target: the labels (classification) or the pixel
    /// images (reconstruction).
    fn batch(&self, part: Part, indices: &[usize]) -> (Tensor, Tensor) {
        let (images, labels) = self.copy_to_device(self.split(part), indices);
        match (&self.network, &self.pixels) {
            (Network::Classifier(_), _) => (images, labels),
            (Network::Decoder(_), None) => (images.shallow_clone(), images),
            (Network::Decoder(_), Some(_)) => {
                let (pixels, _) = self.copy_to_device(self.pixel_split(part), indices);
                (images, pixels)
            }
        }
    }

    /// Masks a batch with one draw of the sampler and returns the network inputs.
    fn features(&self, images: &Tensor, mode: Mode) -> Tensor {
        let batch = images.size()[0];
        let mut mask = self.sampler.sample(batch, mode);
        // Soft LOUPE masks acquire a fraction of each candidate, so the sum of the mask is
        // what one acquires.
        self.last_acquired
            .set(tch::no_grad(|| mask.sum(Kind::Double).double_value(&[])) / batch as f64);
        if self.domain == InputDomain::FourierLines {
            // Column c of the line mask acquires every row of k-space column c.
            mask = mask
                .unsqueeze(1)
                .expand([batch, SIDE, SIDE], false)
                .reshape([batch, PIXELS]);
        }
        match self.domain {
            InputDomain::Pixel => images * mask,
            InputDomain::Fourier | InputDomain::FourierLines => {
                let parts = images.view([batch, 2, PIXELS]);
                (parts * mask.unsqueeze(1)).view([batch, 2 * PIXELS])
            }
        }
    }

    /// Returns the loss of a batch, with gradient when `train`.
    fn loss(&self, images: &Tensor, targets: &Tensor, mode: Mode, train: bool) -> (Tensor, Tensor) {
        let features = self.features(images, mode);
        match &self.network {
            Network::Classifier(classifier) => {
                let logits = classifier.forward(&features, train);
                (logits.cross_entropy_for_logits(targets), logits)
            }
            Network::Decoder(decoder) => {
                let estimate = decoder.forward(&features);
                (estimate.mse_loss(targets, tch::Reduction::Mean), estimate)
            }
        }
    }

    /// Returns the mean loss and the task metric (accuracy, or the mean squared error) over a
    /// split, one mask draw per chunk of 1000 examples.
    fn score(&self, part: Part, mode: Mode) -> (f64, f64) {
        let total = self.split(part).len();
        let indices: Vec<usize> = (0..total).collect();
        let mut loss_sum = 0.0;
        let mut metric_sum = 0.0;
        for chunk in indices.chunks(1000) {
            let (images, targets) = self.batch(part, chunk);
            let (loss, metric) = tch::no_grad(|| {
                let (loss, output) = self.loss(&images, &targets, mode, false);
                let loss = loss.double_value(&[]);
                let metric = match self.network {
                    Network::Classifier(_) => output
                        .argmax(-1, false)
                        .eq_tensor(&targets)
                        .sum(Kind::Int64)
                        .int64_value(&[]) as f64,
                    Network::Decoder(_) => loss * chunk.len() as f64,
                };
                (loss, metric)
            });
            loss_sum += loss * chunk.len() as f64;
            metric_sum += metric;
        }
        (loss_sum / total as f64, metric_sum / total as f64)
    }
}

impl Task for MnistTask {
    fn parameter_groups(&self) -> Vec<(String, Vec<Tensor>, f64)> {
        let mut groups = vec![(
            "network".to_string(),
            self.network_store.trainable_variables(),
            1.0,
        )];
        let logits = self.sampler.trainable_variables();
        if !self.freeze_sampler && !logits.is_empty() {
            groups.push((
                "sampler".to_string(),
                logits,
                self.sampler.logits_lr_multiplier(),
            ));
        }
        groups
    }

    fn model_signature(&self) -> String {
        let network = match self.network {
            Network::Classifier(_) => "classifier",
            Network::Decoder(_) => "decoder",
        };
        let mut signature = format!(
            "{network}, {} sampler, {} domain",
            self.sampler.method().name(),
            self.sampler.domain().kind().name()
        );
        if self.sampler.var_store().is_none() {
            // A fixed mask has no variables to compare, so its candidates go into the
            // signature: a classifier trained on one mask is not scored on another.
            let mask = tch::no_grad(|| self.sampler.sample(1, Mode::Deterministic));
            let values =
                Vec::<f32>::try_from(mask.view(-1).to_device(Device::Cpu)).unwrap_or_default();
            // FNV-1a over the acquired indices keeps the signature short for any budget.
            let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
            let mut count = 0;
            for (index, _) in values.iter().enumerate().filter(|(_, value)| **value > 0.5) {
                count += 1;
                for byte in (index as u64).to_le_bytes() {
                    hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
                }
            }
            signature.push_str(&format!(
                ", fixed mask of {count} samples (hash {hash:016x})"
            ));
        }
        signature
    }

    fn var_stores(&self) -> Vec<(String, &nn::VarStore)> {
        let mut stores = vec![("network".to_string(), &self.network_store)];
        if let Some(store) = self.sampler.var_store() {
            stores.push(("sampler".to_string(), store));
        }
        stores
    }

    fn begin_epoch(&mut self, epoch: usize) -> usize {
        self.sampler.set_epoch(epoch);
        self.epoch_acquired.set((0.0, 0));
        let mut loader = BatchLoader::shuffled(&self.data.train, self.batch_size, self.seed);
        loader.start_epoch(epoch as u64);
        self.order = loader.epoch_order().to_vec();
        self.order.len().div_ceil(self.batch_size)
    }

    fn train_loss(&mut self, step: usize) -> Result<(Tensor, usize), TrainError> {
        let start = step * self.batch_size;
        let end = (start + self.batch_size).min(self.order.len());
        let indices = &self.order[start..end];
        let (images, targets) = self.batch(Part::Train, indices);
        let mode = if self.freeze_sampler {
            Mode::Deterministic
        } else {
            Mode::Train
        };
        let (mut loss, _) = self.loss(&images, &targets, mode, true);
        let (sum, count) = self.epoch_acquired.get();
        self.epoch_acquired.set((
            sum + self.last_acquired.get() * indices.len() as f64,
            count + indices.len(),
        ));
        if !self.freeze_sampler && self.sampler.entropy_weight() > 0.0 {
            loss += self.sampler.entropy_penalty();
        }
        Ok((loss, indices.len()))
    }

    fn validate(&mut self) -> Result<(f64, Vec<(String, f64)>), TrainError> {
        let mode = if self.freeze_sampler {
            Mode::Deterministic
        } else {
            Mode::Stochastic
        };
        let (loss, metric) = self.score(Part::Validation, mode);
        Ok((loss, vec![(self.network.metric().into(), metric)]))
    }

    /// The acceleration is the one the epoch's training masks realised: candidates over the
    /// mean acquired per example.
    fn status(&self) -> (f64, f64, f64) {
        let (sum, count) = self.epoch_acquired.get();
        let acquired = if count > 0 && sum > 0.0 {
            sum / count as f64
        } else {
            self.sampler.samples_per_example() as f64
        };
        (
            self.sampler.temperature(),
            self.sampler.entropy_weight(),
            self.sampler.domain().candidates() as f64 / acquired,
        )
    }
}

/// Checks every setting of an experiment that can be checked without its data or the mask
/// file of an earlier run, so that a sweep finds mistakes before its first run starts.
///
/// # Errors
///
/// The [`ExperimentError`] the run itself would stop with.
pub fn check_settings(config: &MnistExperimentConfig) -> Result<(), ExperimentError> {
    validate(config)?;
    config.train.validate()?;
    let sampler = sampler_config(config)?;
    let domain = learned::Domain::from_config(&sampler.domain)
        .map_err(|error| ExperimentError::config("sampler.domain", error.to_string()))?;
    domain
        .learned_budget(sampler.samples)
        .map_err(|error| ExperimentError::config("sampler", error.to_string()))?;
    Ok(())
}

/// Returns the sampler configuration of an experiment, with the domain its `domain` implies.
fn sampler_config(config: &MnistExperimentConfig) -> Result<SamplerConfig, ExperimentError> {
    let mut sampler_value = config.sampler.clone();
    let mapping = sampler_value
        .as_mapping_mut()
        .ok_or_else(|| ExperimentError::config("sampler", "must be a mapping"))?;
    let literal = match config.domain {
        InputDomain::Pixel => format!("{{kind: pixel, height: {SIDE}, width: {SIDE}}}"),
        InputDomain::Fourier => format!("{{kind: kspace, height: {SIDE}, width: {SIDE}}}"),
        InputDomain::FourierLines => format!(
            "{{kind: lines, height: {SIDE}, width: {SIDE}, center_lines: {}, \
             center_counts_against_budget: {}}}",
            config.lines.center_lines, config.lines.center_counts_against_budget
        ),
    };
    let domain: serde_yaml::Value =
        serde_yaml::from_str(&literal).expect("the domain literal is valid YAML");
    // A saved config.yaml repeats the domain the experiment filled in. Any other domain
    // conflicts with the experiment's `domain` and `lines`.
    if let Some(given) = mapping.insert("domain".into(), domain.clone()) {
        if given != domain {
            return Err(ExperimentError::config(
                "sampler.domain",
                "is set by the experiment's `domain` (and `lines`); remove it",
            ));
        }
    }
    let sampler_config: SamplerConfig =
        serde_path_to_error::deserialize(sampler_value).map_err(|error| {
            let key = match error.path().to_string().as_str() {
                "." => "sampler".to_string(),
                path => format!("sampler.{path}"),
            };
            ExperimentError::config(&key, super::plain_types(&error.inner().to_string()))
        })?;
    sampler_config
        .validate()
        .map_err(|error| ExperimentError::config("sampler", error.to_string()))?;
    Ok(sampler_config)
}

/// Builds the sampler of an experiment: the configured method on a 28 x 28 pixel or k-space
/// grid, and for `fixed` the baseline or the mask of an earlier run.
fn build_sampler(
    config: &MnistExperimentConfig,
    device: Device,
) -> Result<(SamplerConfig, Box<dyn Sampler>), ExperimentError> {
    let sampler_config = sampler_config(config)?;
    let fixed_mask = match (config.baseline, &config.mask_from) {
        _ if config.fastmri_mask.is_some() => Some(fastmri_line_flags(config)?),
        (Some(_), Some(_)) => {
            return Err(ExperimentError::config(
                "baseline",
                "set either `baseline` or `mask_from`, not both",
            ))
        }
        (Some(baseline), None) => {
            let kind = match baseline {
                Baseline::Uniform => BaselineKind::Uniform,
                Baseline::Random => BaselineKind::Random,
                Baseline::LowPass => BaselineKind::LowPass,
            };
            let seed = Seed::Int(config.baseline_seed);
            let side = SIDE as usize;
            let baseline_error = |error: crate::mask::MaskError| {
                ExperimentError::config("baseline", error.to_string())
            };
            match config.domain {
                InputDomain::FourierLines => {
                    // The centre band, plus the baseline's lines among the other columns,
                    // as the learned samplers choose theirs.
                    let domain = learned::Domain::from_config(&sampler_config.domain)
                        .map_err(|error| ExperimentError::config("lines", error.to_string()))?;
                    let picks = domain
                        .learned_budget(sampler_config.samples)
                        .map_err(|error| ExperimentError::config("sampler", error.to_string()))?;
                    let free = domain.free_candidates();
                    let chosen =
                        baseline_lines(kind, free.len(), picks, &seed).map_err(baseline_error)?;
                    let mut flags = vec![false; domain.candidates()];
                    for column in domain.center_band() {
                        flags[column] = true;
                    }
                    for (&column, &acquired) in free.iter().zip(chosen.flags()) {
                        flags[column] |= acquired;
                    }
                    Some(flags)
                }
                // In the pixel domain the disk is centred on the image, (13.5, 13.5), and in
                // k-space on the DC sample (14, 14).
                InputDomain::Pixel if baseline == Baseline::LowPass => {
                    let mask =
                        low_pass_disk(side, side, sampler_config.samples, DiskCenter::GridMidpoint)
                            .map_err(baseline_error)?;
                    Some(mask.flags().to_vec())
                }
                InputDomain::Pixel | InputDomain::Fourier => {
                    let mask = baseline_grid(kind, side, side, sampler_config.samples, &seed)
                        .map_err(baseline_error)?;
                    Some(mask.flags().to_vec())
                }
            }
        }
        (None, Some(path)) => {
            let expected = learned::Domain::from_config(&sampler_config.domain)
                .map_err(|error| ExperimentError::config("sampler.domain", error.to_string()))?;
            Some(read_mask_json(path, &expected, sampler_config.samples)?)
        }
        (None, None) => None,
    };
    let sampler = sampler_config
        .build(device, fixed_mask.as_deref())
        .map_err(|error| ExperimentError::config("sampler", error.to_string()))?;
    Ok((sampler_config, sampler))
}

/// Draws the `fastmri_mask` of an experiment over the 28 phase-encode columns, exactly as
/// fastMRI's mask function of that type draws it for an integer seed.
fn fastmri_line_flags(config: &MnistExperimentConfig) -> Result<Vec<bool>, ExperimentError> {
    let invalid =
        |error: crate::mask::MaskError| ExperimentError::config("fastmri_mask", error.to_string());
    let settings = config
        .fastmri_mask
        .clone()
        .expect("called with a fastmri_mask");
    let function = crate::mask::MaskFunc::try_from(settings).map_err(invalid)?;
    let mask = function
        .sample(SIDE as usize, &Seed::Int(config.baseline_seed), None)
        .map_err(invalid)?;
    Ok(mask.flags().to_vec())
}

/// Reads the `flags` of a `mask.json` written by an earlier run, whose candidates must be of
/// `kind`.
fn read_mask_json(
    path: &Path,
    domain: &learned::Domain,
    samples: usize,
) -> Result<Vec<bool>, ExperimentError> {
    let kind = domain.kind().name();
    let text = std::fs::read_to_string(path).map_err(|error| {
        ExperimentError::config(
            "mask_from",
            format!(
                "cannot read {}: {error}; run the experiment that learns the mask first \
                 (for the disjoint baseline, the matching dps_topk_reconstruction pipeline)",
                path.display()
            ),
        )
    })?;
    let saved: SavedMask = serde_json::from_str(&text).map_err(|error| {
        ExperimentError::config("mask_from", format!("{}: {error}", path.display()))
    })?;
    if let Some(saved_kind) = saved.kind.as_deref().filter(|saved| *saved != kind) {
        return Err(ExperimentError::config(
            "mask_from",
            format!(
                "{}: the mask selects {saved_kind} candidates, this run samples {kind}; \
                 point mask_from at a run with the same domain",
                path.display()
            ),
        ));
    }
    if saved.candidates != domain.candidates() {
        return Err(ExperimentError::config(
            "mask_from",
            format!(
                "{}: the mask has {} candidates, this run's domain has {}",
                path.display(),
                saved.candidates,
                domain.candidates()
            ),
        ));
    }
    let mut flags = vec![false; saved.candidates];
    for &index in &saved.indices {
        if index < saved.candidates && flags[index] {
            return Err(ExperimentError::config(
                "mask_from",
                format!("{}: index {index} is listed twice", path.display()),
            ));
        }
        if index >= saved.candidates {
            return Err(ExperimentError::config(
                "mask_from",
                format!(
                    "{}: index {index} is outside 0..{}",
                    path.display(),
                    saved.candidates
                ),
            ));
        }
        flags[index] = true;
    }
    // A mask of line runs lists the centre band too.
    let expected = domain
        .learned_budget(samples)
        .map_err(|error| ExperimentError::config("sampler", error.to_string()))?
        + domain.center_band().len();
    if saved.indices.len() != expected {
        return Err(ExperimentError::config(
            "mask_from",
            format!(
                "{}: the mask acquires {} candidates, but sampler.samples = {samples} expects \
                 {expected}; set sampler.samples to match the run that learned the mask",
                path.display(),
                saved.indices.len()
            ),
        ));
    }
    Ok(flags)
}

/// The deterministic mask of a trained sampler, as `mask.json` stores it.
#[derive(Debug, Serialize, Deserialize)]
struct SavedMask {
    /// Candidate kind (`pixel`, `kspace` or `lines`), absent in files of older runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kind: Option<String>,
    candidates: usize,
    indices: Vec<usize>,
}

/// Trains and tests one MNIST experiment; with `resume`, continues from its last checkpoint.
///
/// Writes into the run folder: `config.yaml` (the merged configuration), checkpoints, the epoch
/// logs, `mask.png` (deterministic mask), `incidence.png` (sample incidence over 1000
/// stochastic realisations), `logits.npy` for learned samplers, `mask.json`, and
/// `result.json`.
///
/// # Errors
///
/// Any [`ExperimentError`].
pub fn run(config: &MnistExperimentConfig, resume: bool) -> Result<MnistResult, ExperimentError> {
    check_settings(config)?;
    let start = if resume { Start::Resume } else { Start::New };
    let (mut task, sampler_config) = build_task(config, start)?;
    let mut trainer = Trainer::new(config.train.clone(), &config.output)?;
    if let Some(observer) = super::observer() {
        trainer = trainer.with_observer(observer);
    }
    let fit = trainer.fit(&mut task, resume)?;
    crate::train::Checkpoint::restore_variables(&trainer.best_checkpoint(), &task)?;
    let progress = Progress {
        best_epoch: fit.best_epoch,
        epochs_run: fit.records.len(),
        stopped_early: fit.stopped_early,
        examples_per_second: mean(fit.records.iter().map(|r| r.examples_per_second)),
    };
    test(config, &task, &sampler_config, progress)
}

/// Scores a saved checkpoint (`best.ot`, `last.ot` or another path) of an experiment on the
/// test split without training.
///
/// The training run's files stay as they are: `config.yaml`, `result.json` and the mask files
/// of the evaluation go to `eval-STEM/` inside the run folder (`eval-best/` for `best.ot`).
///
/// # Errors
///
/// Any [`ExperimentError`], among them a checkpoint that does not match the configuration.
pub fn evaluate_checkpoint(
    config: &MnistExperimentConfig,
    checkpoint: &Path,
) -> Result<MnistResult, ExperimentError> {
    if !checkpoint.is_file() {
        let message = if checkpoint.is_dir() {
            "is a folder; pass --checkpoint best, last or the path of a checkpoint file"
        } else {
            "not found; train the experiment first, or pass --checkpoint best, last or the path \
             of a checkpoint file"
        };
        return Err(ExperimentError::Train(
            crate::train::TrainError::Checkpoint {
                path: checkpoint.to_path_buf(),
                message: message.into(),
            },
        ));
    }
    let stem = checkpoint
        .file_stem()
        .map(|stem| stem.to_string_lossy().into_owned())
        .unwrap_or_else(|| "checkpoint".into());
    let mut evaluation = config.clone();
    evaluation.output = config.output.join(format!("eval-{stem}"));
    let (task, sampler_config) = build_task(&evaluation, Start::Evaluation)?;
    let named = crate::train::Checkpoint::restore_variables(checkpoint, &task)?;
    let records = crate::train::RunLog::open_existing(&config.output).read()?;
    // The checkpoint stores the best epoch its run had reached when it was written.
    let best_epoch = named
        .iter()
        .find(|(key, _)| key == "progress")
        .map(|(_, progress)| progress.to_kind(tch::Kind::Double).double_value(&[1]) as usize)
        .unwrap_or(0);
    let progress = Progress {
        best_epoch,
        epochs_run: records.len(),
        stopped_early: false,
        examples_per_second: mean(records.iter().map(|r| r.examples_per_second)),
    };
    test(&evaluation, &task, &sampler_config, progress)
}

/// Files a run writes into its folder, removed before a new run starts there so that a run
/// that fails early leaves none of an earlier run's results beside its own.
const RUN_FILES: [&str; 11] = [
    "best.ot",
    "last.ot",
    "metrics.jsonl",
    "metrics.csv",
    "config.yaml",
    "result.json",
    "mask.json",
    "mask.png",
    "incidence.png",
    "logits.npy",
    "line_probabilities.csv",
];

/// Removes the files of [`RUN_FILES`] from `folder`. For a new run (`new_run`) it warns when
/// they belong to an earlier run and removes that run's `eval-*` folders too.
fn clear_earlier_run(folder: &Path, new_run: bool) {
    if new_run && (folder.join("last.ot").is_file() || folder.join("result.json").is_file()) {
        tracing::warn!(
            folder = %folder.display(),
            "the folder contains an earlier run, whose files are replaced; use --resume to continue it"
        );
    }
    for name in RUN_FILES {
        let _ = std::fs::remove_file(folder.join(name));
    }
    if !new_run {
        return;
    }
    // Evaluations of the earlier run's checkpoints go with it. `remove_dir` keeps a folder that
    // still contains files of the user's own.
    let Ok(entries) = std::fs::read_dir(folder) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() && entry.file_name().to_string_lossy().starts_with("eval-") {
            for name in RUN_FILES {
                let _ = std::fs::remove_file(path.join(name));
            }
            let _ = std::fs::remove_dir(&path);
        }
    }
}

/// Training facts reported beside the test result.
struct Progress {
    best_epoch: usize,
    epochs_run: usize,
    stopped_early: bool,
    examples_per_second: f64,
}

fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, count) = values.fold((0.0, 0usize), |(s, c), v| (s + v, c + 1));
    sum / count.max(1) as f64
}

/// Checks the settings that are not the sampler's or the training loop's own.
fn validate(config: &MnistExperimentConfig) -> Result<(), ExperimentError> {
    if config.output.as_os_str().is_empty() {
        return Err(ExperimentError::config(
            "output",
            "is empty; name the folder that receives the run's files",
        ));
    }
    if config.output.is_file() {
        return Err(ExperimentError::config(
            "output",
            format!(
                "{} is a file; name a folder for the run's files",
                config.output.display()
            ),
        ));
    }
    let dropout = config.model.dropout;
    if !(0.0..1.0).contains(&dropout) {
        return Err(ExperimentError::config(
            "model.dropout",
            format!("must lie in [0, 1), found {dropout}"),
        ));
    }
    if config.evaluation.passes == 0 {
        return Err(ExperimentError::config(
            "evaluation.passes",
            "must be at least 1",
        ));
    }
    if config.domain != InputDomain::FourierLines && config.lines != LineSettings::default() {
        return Err(ExperimentError::config(
            "lines",
            "applies to `domain: fourier_lines` only; remove it or change the domain",
        ));
    }
    let fixed = config
        .sampler
        .get("method")
        .and_then(serde_yaml::Value::as_str)
        == Some("fixed");
    for (key, given) in [
        ("baseline", config.baseline.is_some()),
        ("mask_from", config.mask_from.is_some()),
        ("fastmri_mask", config.fastmri_mask.is_some()),
    ] {
        if given && !fixed {
            return Err(ExperimentError::config(
                key,
                "selects a fixed mask, so it needs `sampler.method: fixed`; set that or remove \
                 the key",
            ));
        }
    }
    let sources = [
        config.baseline.is_some(),
        config.mask_from.is_some(),
        config.fastmri_mask.is_some(),
    ];
    if sources.iter().filter(|&&given| given).count() > 1 {
        return Err(ExperimentError::config(
            "baseline",
            "set one of `baseline`, `mask_from` and `fastmri_mask`, not several",
        ));
    }
    if fixed && !sources.contains(&true) {
        let indices = config.sampler.get("fixed_indices").is_some();
        if !indices {
            return Err(ExperimentError::config(
                "sampler.method",
                "`fixed` needs `baseline`, `mask_from`, `fastmri_mask` or \
                 `sampler.fixed_indices`",
            ));
        }
    }
    if let Some(settings) = &config.fastmri_mask {
        if config.domain != InputDomain::FourierLines {
            return Err(ExperimentError::config(
                "fastmri_mask",
                "selects phase-encode lines, so it needs `domain: fourier_lines`",
            ));
        }
        crate::mask::MaskFunc::try_from(settings.clone())
            .map_err(|error| ExperimentError::config("fastmri_mask", error.to_string()))?;
    }
    Ok(())
}

/// Rejects `--resume` when the settings differ from those the run folder was started with,
/// other than the epoch cap, the description and the evaluation, which may change.
fn check_resumable(
    config: &MnistExperimentConfig,
    merged: &MnistExperimentConfig,
) -> Result<(), ExperimentError> {
    let path = config.output.join("config.yaml");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(());
    };
    let comparable = |value: serde_yaml::Value| {
        let mut value = value;
        if let Some(mapping) = value.as_mapping_mut() {
            for key in ["description", "evaluation", "output"] {
                mapping.remove(key);
            }
            if let Some(train) = mapping
                .get_mut("train")
                .and_then(serde_yaml::Value::as_mapping_mut)
            {
                train.remove("epochs");
            }
        }
        value
    };
    let Ok(saved) = serde_yaml::from_str::<serde_yaml::Value>(&text) else {
        return Ok(());
    };
    let saved = comparable(saved);
    let current = comparable(serde_yaml::to_value(merged).expect("configs serialise"));
    let mut differences = Vec::new();
    list_differences("", &saved, &current, &mut differences);
    if differences.is_empty() {
        return Ok(());
    }
    Err(ExperimentError::config(
        "--resume",
        format!(
            "the settings differ from {} at {}; resume with the saved settings, or start a \
             new run without --resume (only train.epochs and evaluation may change)",
            path.display(),
            differences.join(", ")
        ),
    ))
}

/// Collects the dotted paths at which two YAML values differ.
fn list_differences(
    prefix: &str,
    saved: &serde_yaml::Value,
    current: &serde_yaml::Value,
    out: &mut Vec<String>,
) {
    match (saved.as_mapping(), current.as_mapping()) {
        (Some(a), Some(b)) => {
            let null = serde_yaml::Value::Null;
            let only_current = b.keys().filter(|key| !a.contains_key(*key));
            for key in a.keys().chain(only_current) {
                let name = key
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("{key:?}"));
                let path = if prefix.is_empty() {
                    name
                } else {
                    format!("{prefix}.{name}")
                };
                let (x, y) = (a.get(key).unwrap_or(&null), b.get(key).unwrap_or(&null));
                list_differences(&path, x, y, out);
            }
        }
        _ if saved != current => {
            let show = |value: &serde_yaml::Value| {
                serde_yaml::to_string(value)
                    .unwrap_or_default()
                    .trim()
                    .replace('\n', " ")
            };
            out.push(format!(
                "`{prefix}` ({} saved, {} now)",
                show(saved),
                show(current)
            ));
        }
        _ => {}
    }
}

/// Loads the data and builds the sampler and the network of an experiment.
/// Kind of start of [`build_task`], which decides the fate of the files already in the output
/// folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Start {
    /// A new run: an earlier run's files are removed, with a warning.
    New,
    /// `--resume`: the settings must match those the folder was started with.
    Resume,
    /// An evaluation folder: an earlier evaluation's files are removed.
    Evaluation,
}

fn build_task(
    config: &MnistExperimentConfig,
    start: Start,
) -> Result<(MnistTask, SamplerConfig), ExperimentError> {
    validate(config)?;
    config.train.validate()?;
    let device = parse_device(&config.train.device)?;
    tch::manual_seed(config.train.seed as i64);

    let reconstruction = match config.experiment.as_str() {
        "mnist_classification" => false,
        "mnist_reconstruction" => true,
        other => {
            return Err(ExperimentError::config(
                "experiment",
                format!("expected mnist_classification or mnist_reconstruction, found `{other}`"),
            ))
        }
    };
    let pixel_data = Mnist::from_config(&config.data)?;
    let (data, pixels) = match (config.domain.is_fourier(), reconstruction) {
        (false, _) => (pixel_data, None),
        (true, false) => (pixel_data.to_fourier(), None),
        (true, true) => (pixel_data.to_fourier(), Some(pixel_data)),
    };
    let (sampler_config, sampler) = build_sampler(config, device)?;
    // Saved with every sampler default and the domain spelled out.
    let mut merged = config.clone();
    merged.sampler = serde_yaml::to_value(&sampler_config).expect("sampler configs serialise");
    // The folder's earlier run is removed only now, after the data and any mask file have been
    // read, so that a mistyped setting or path does not cost it.
    match start {
        Start::Resume => {
            let last = config.output.join("last.ot");
            if !last.is_file() {
                return Err(crate::train::TrainError::NothingToResume { path: last }.into());
            }
            check_resumable(config, &merged)?;
        }
        Start::New => clear_earlier_run(&config.output, true),
        Start::Evaluation => clear_earlier_run(&config.output, false),
    }
    std::fs::create_dir_all(&config.output).map_err(|source| ExperimentError::File {
        path: config.output.clone(),
        source,
    })?;
    super::write_config(&config.output, &merged)?;
    let network_store = nn::VarStore::new(device);
    let features = if config.domain.is_fourier() {
        2 * PIXELS
    } else {
        PIXELS
    };
    let network = if reconstruction {
        Network::Decoder(Decoder::new(&network_store.root(), features))
    } else {
        Network::Classifier(Classifier::new(
            &network_store.root(),
            features,
            config.model.dropout,
        ))
    };
    if config.train.freeze_sampler && !sampler.trainable_variables().is_empty() {
        tracing::warn!(
            method = sampler_config.method.name(),
            "train.freeze_sampler keeps the sampler's initial random logits; to train on a \
             learned mask, use `method: fixed` with `mask_from`"
        );
    }
    let freeze_sampler = config.train.freeze_sampler || sampler.trainable_variables().is_empty();
    let task = MnistTask {
        data,
        domain: config.domain,
        pixels,
        sampler,
        network,
        network_store,
        freeze_sampler,
        batch_size: config.train.batch_size,
        seed: config.train.seed,
        device,
        order: Vec::new(),
        images: RefCell::new(Vec::new()),
        labels: RefCell::new(Vec::new()),
        last_acquired: Cell::new(0.0),
        epoch_acquired: Cell::new((0.0, 0)),
    };
    Ok((task, sampler_config))
}

/// Scores the task on the test split and writes the artefacts and `result.json`.
fn test(
    config: &MnistExperimentConfig,
    task: &MnistTask,
    sampler_config: &SamplerConfig,
    progress: Progress,
) -> Result<MnistResult, ExperimentError> {
    // The test draws depend only on the seed, so scoring a checkpoint again reproduces them.
    tch::manual_seed(crate::train::stream_seed(
        config.train.seed,
        crate::train::TEST_STREAM,
    ));
    let (mode, passes) = match config.evaluation.mode {
        EvaluationMode::Stochastic if !task.freeze_sampler => {
            (Mode::Stochastic, config.evaluation.passes.max(1))
        }
        EvaluationMode::Stochastic => {
            tracing::info!(
                "the mask is fixed, so the test uses it once (deterministic) instead of \
                 {} stochastic passes",
                config.evaluation.passes
            );
            (Mode::Deterministic, 1)
        }
        EvaluationMode::Deterministic => (Mode::Deterministic, 1),
    };
    let values: Vec<f64> = (0..passes)
        .map(|_| task.score(Part::Test, mode).1)
        .collect();
    let average = mean(values.iter().copied());
    let std = if passes > 1 {
        let variance =
            values.iter().map(|a| (a - average).powi(2)).sum::<f64>() / (passes - 1) as f64;
        variance.sqrt()
    } else {
        0.0
    };

    write_artefacts(&config.output, task.sampler.as_ref())?;
    let result = MnistResult {
        name: config.name.clone(),
        method: method_label(config, sampler_config),
        domain: config.domain,
        samples: task.sampler.samples_per_example(),
        sampling_ratio: task.sampler.samples_per_example() as f64
            / task.sampler.domain().candidates() as f64,
        evaluation: if mode == Mode::Stochastic {
            EvaluationMode::Stochastic
        } else {
            EvaluationMode::Deterministic
        },
        passes,
        metric: task.network.metric().into(),
        test_value: average,
        test_std: std,
        best_epoch: progress.best_epoch,
        epochs_run: progress.epochs_run,
        stopped_early: progress.stopped_early,
        examples_per_second: progress.examples_per_second,
    };
    super::write_json(&config.output.join("result.json"), &result)?;
    tracing::info!(
        name = %result.name,
        metric = %result.metric,
        value = result.test_value,
        std = result.test_std,
        evaluation = ?result.evaluation,
        "test result"
    );
    Ok(result)
}

fn method_label(config: &MnistExperimentConfig, sampler: &SamplerConfig) -> String {
    match (config.baseline, &config.mask_from) {
        (Some(Baseline::Uniform), _) => "uniform".into(),
        (Some(Baseline::Random), _) => "random".into(),
        (Some(Baseline::LowPass), _) => "low_pass".into(),
        (None, Some(_)) => "disjoint".into(),
        (None, None) => sampler.method.name().into(),
    }
}

fn write_artefacts(folder: &Path, sampler: &dyn Sampler) -> Result<(), ExperimentError> {
    let sampler_error =
        |error: learned::SamplerError| ExperimentError::config("sampler", error.to_string());
    learned::export::write_deterministic_mask_png(&folder.join("mask.png"), sampler)
        .map_err(sampler_error)?;
    let incidence_mode = if sampler.trainable_variables().is_empty() {
        Mode::Deterministic
    } else {
        Mode::Stochastic
    };
    let incidence =
        learned::sample_incidence(sampler, 1000, incidence_mode).map_err(sampler_error)?;
    learned::export::write_map_png(&folder.join("incidence.png"), &incidence)
        .map_err(sampler_error)?;
    if sampler.logits().is_some() {
        learned::export::write_logits_npy(&folder.join("logits.npy"), sampler)
            .map_err(sampler_error)?;
        if sampler.domain().kind() == learned::DomainKind::Lines {
            learned::export::write_line_probabilities_csv(
                &folder.join("line_probabilities.csv"),
                sampler,
            )
            .map_err(sampler_error)?;
        }
    }
    let mask = sampler.sample(1, Mode::Deterministic);
    let values: Vec<f32> =
        Vec::<f32>::try_from(mask.get(0).to_kind(Kind::Float).to_device(Device::Cpu))
            .map_err(|error| ExperimentError::config("sampler", error.to_string()))?;
    let saved = SavedMask {
        kind: Some(sampler.domain().kind().name().to_string()),
        candidates: values.len(),
        indices: values
            .iter()
            .enumerate()
            .filter(|(_, &v)| v > 0.5)
            .map(|(i, _)| i)
            .collect(),
    };
    super::write_json(&folder.join("mask.json"), &saved)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The repository's `pipeline` with `overrides` applied.
    fn settings(pipeline: &str, overrides: &[&str]) -> MnistExperimentConfig {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("pipelines/mnist")
            .join(pipeline);
        let overrides: Vec<String> = overrides.iter().map(|o| o.to_string()).collect();
        let document = super::super::read_document(&path, &overrides).unwrap();
        serde_yaml::from_value(document).unwrap()
    }

    #[test]
    fn shipped_experiments_pass_their_checks() {
        let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/mnist");
        let mut names = Vec::new();
        for entry in std::fs::read_dir(&folder).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            if name.ends_with(".yaml") && !name.starts_with("sweep") {
                names.push(name);
            }
        }
        assert!(names.len() >= 17, "experiment files found: {names:?}");
        for name in names {
            let config = settings(&name, &[]);
            let checked = check_settings(&config);
            assert!(checked.is_ok(), "{name}: {:?}", checked.err());
        }
    }

    #[test]
    fn invalid_settings_are_rejected_before_training() {
        let cases: [(&str, &[&str], &str); 9] = [
            (
                "dps_topk_pixel.yaml",
                &["model.dropout=1.5"],
                "model.dropout: must lie in [0, 1)",
            ),
            ("dps_topk_pixel.yaml", &["output=''"], "output: is empty"),
            (
                "dps_topk_pixel.yaml",
                &["evaluation.passes=0"],
                "evaluation.passes",
            ),
            (
                "dps_topk_pixel.yaml",
                &["lines.center_lines=2"],
                "lines: applies to",
            ),
            (
                "dps_topk_pixel.yaml",
                &["baseline=uniform"],
                "needs `sampler.method: fixed`",
            ),
            (
                "dps_topk_pixel.yaml",
                &["mask_from=m.json"],
                "needs `sampler.method: fixed`",
            ),
            (
                "uniform_pixel.yaml",
                &["baseline=null"],
                "`fixed` needs `baseline`",
            ),
            (
                "dps_topk_pixel.yaml",
                &["sampler.samples=785"],
                "between 1 and the 784 candidates",
            ),
            (
                "dps_topk_lines.yaml",
                &["sampler.samples=27"],
                "outside the 2-column centre band",
            ),
        ];
        for (pipeline, overrides, expected) in cases {
            let error = check_settings(&settings(pipeline, overrides))
                .err()
                .unwrap_or_else(|| panic!("{pipeline} {overrides:?} was accepted"))
                .to_string();
            assert!(error.contains(expected), "{overrides:?}: {error}");
        }
        for pipeline in [
            "dps_topk_pixel.yaml",
            "uniform_lines.yaml",
            "disjoint_fourier.yaml",
        ] {
            check_settings(&settings(pipeline, &[])).unwrap();
        }
    }

    #[test]
    fn disk_names_the_low_pass_baseline() {
        let parsed: Baseline = serde_yaml::from_str("disk").unwrap();
        assert_eq!(parsed, Baseline::LowPass);
        let parsed: Baseline = serde_yaml::from_str("low_pass").unwrap();
        assert_eq!(parsed, Baseline::LowPass);
        assert!(serde_yaml::from_str::<Baseline>("disc").is_err());
    }
}
