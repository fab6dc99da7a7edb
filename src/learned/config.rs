//! YAML configuration of a sampler, validated once before a sampler is built.
//!
//! One struct serves every method, so a pipeline switches method by changing the `method` line:
//!
//! ```yaml
//! method: dps_topk            # dps_top1 | dps_topk | loupe | fixed
//! domain: {kind: lines, height: 640, width: 368, center_lines: 26}
//! samples: 66                 # learned picks M per example
//! temperature: 2.0            # or {start: 5.0, end: 1.0, epochs: 50}
//! logits_init_std: 0.5        # 0.5 in the DPS authors' code, 0.25 in the paper text
//! entropy_weight: 2.0e-4      # or {start: 0.0, per_epoch: 1.0e-5}
//! logits_lr_multiplier: 10.0
//! row_order_seed: 0
//! loupe: {slope: 5.0, sample_slope: 12.0}
//! ```
//!
//! Fields a method does not use are accepted and ignored: temperature, entropy weight and
//! row order are DPS settings, `loupe` is LOUPE's, `fixed_indices` is read only by `fixed`.

use serde::{Deserialize, Serialize};
use tch::Device;

use super::schedule::{check_non_negative, check_positive};
use super::{
    Domain, DomainConfig, DpsTop1, DpsTopK, EntropyWeightSchedule, FixedSampler, Loupe, Sampler,
    SamplerError, TemperatureSchedule, TrainingSchedule,
};

/// Sampling method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// DPS with one categorical distribution per acquired sample.
    DpsTop1,
    /// DPS with one shared distribution and Gumbel top-k sampling.
    #[serde(rename = "dps_topk")]
    DpsTopK,
    /// LOUPE (Bahadir et al., 2019).
    Loupe,
    /// A given mask, not trained.
    Fixed,
}

impl Method {
    /// Name used in configs and messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::DpsTop1 => "dps_top1",
            Self::DpsTopK => "dps_topk",
            Self::Loupe => "loupe",
            Self::Fixed => "fixed",
        }
    }
}

/// LOUPE's two sigmoid slopes. The defaults are those of Bahadir et al. (2019).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoupeConfig {
    /// Slope of `p = sigmoid(slope * w)` from the logits w to the probabilities p.
    pub slope: f64,
    /// Slope of the soft training mask `sigmoid(sample_slope * (p' - u))`.
    pub sample_slope: f64,
}

impl Default for LoupeConfig {
    fn default() -> Self {
        Self {
            slope: 5.0,
            sample_slope: 12.0,
        }
    }
}

/// Configuration of one sampler.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SamplerConfig {
    /// Sampling method.
    pub method: Method,
    /// Candidates to choose from.
    pub domain: DomainConfig,
    /// Budget M: learned picks per example, plus the centre band when the domain sets
    /// `center_counts_against_budget`.
    pub samples: usize,
    /// Softmax temperature of the DPS relaxation.
    #[serde(default)]
    pub temperature: TemperatureSchedule,
    /// Standard deviation of the Normal(0, std) initial DPS logits.
    #[serde(default = "default_logits_init_std")]
    pub logits_init_std: f64,
    /// Weight mu of the entropy penalty.
    #[serde(default)]
    pub entropy_weight: EntropyWeightSchedule,
    /// Learning rate of the logits divided by that of the task network.
    #[serde(default = "default_logits_lr_multiplier")]
    pub logits_lr_multiplier: f64,
    /// Seed of the order in which DPS-top1 processes its rows.
    #[serde(default)]
    pub row_order_seed: u64,
    /// LOUPE's slopes.
    #[serde(default)]
    pub loupe: LoupeConfig,
    /// Sampled candidates of a `fixed` mask (row-major `r * W + c` on grids, columns for lines).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed_indices: Option<Vec<usize>>,
}

/// 0.5, the value in the DPS authors' code (the paper text gives 0.25).
fn default_logits_init_std() -> f64 {
    0.5
}

/// 10, the factor of the DPS authors' code for MNIST and the toy data.
fn default_logits_lr_multiplier() -> f64 {
    10.0
}

impl SamplerConfig {
    /// A config with the defaults of every optional field.
    pub fn new(method: Method, domain: DomainConfig, samples: usize) -> Self {
        Self {
            method,
            domain,
            samples,
            temperature: TemperatureSchedule::default(),
            logits_init_std: default_logits_init_std(),
            entropy_weight: EntropyWeightSchedule::default(),
            logits_lr_multiplier: default_logits_lr_multiplier(),
            row_order_seed: 0,
            loupe: LoupeConfig::default(),
            fixed_indices: None,
        }
    }

    /// Parses and validates a YAML sampler config.
    ///
    /// # Errors
    ///
    /// [`SamplerError::Yaml`] for malformed YAML or unknown fields, and the errors of
    /// [`SamplerConfig::validate`].
    pub fn from_yaml_str(text: &str) -> Result<Self, SamplerError> {
        let config: Self =
            serde_yaml::from_str(text).map_err(|source| SamplerError::Yaml { source })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks every parameter and returns the validated domain.
    ///
    /// # Errors
    ///
    /// [`SamplerError::InvalidParameter`] naming the first parameter that violates its
    /// constraint: a domain size of 0, `center_lines > width`, learned picks outside
    /// `1..=N_free`, a temperature that is not positive, a negative or non-finite entropy
    /// weight or init std, a learning-rate multiplier or LOUPE slope that is not positive, or a
    /// fixed index out of range or repeated.
    pub fn validate(&self) -> Result<Domain, SamplerError> {
        let domain = Domain::from_config(&self.domain)?;
        domain.learned_budget(self.samples)?;
        self.temperature.validate()?;
        self.entropy_weight.validate()?;
        check_non_negative("logits_init_std", self.logits_init_std)?;
        check_positive("logits_lr_multiplier", self.logits_lr_multiplier)?;
        check_positive("loupe.slope", self.loupe.slope)?;
        check_positive("loupe.sample_slope", self.loupe.sample_slope)?;
        if let Some(indices) = &self.fixed_indices {
            check_fixed_indices(indices, domain.candidates())?;
        }
        Ok(domain)
    }

    /// Schedules of this config.
    pub fn training_schedule(&self) -> TrainingSchedule {
        TrainingSchedule::new(
            self.temperature.clone(),
            self.entropy_weight.clone(),
            self.logits_lr_multiplier,
        )
    }

    /// Builds the sampler of `method` with its logits on `device`.
    ///
    /// `fixed_mask`, one entry per candidate, is the mask of method `fixed` and takes precedence
    /// over `fixed_indices`. Learned methods ignore it.
    ///
    /// # Errors
    ///
    /// The errors of [`SamplerConfig::validate`], [`SamplerError::MissingFixedMask`] for method
    /// `fixed` without a mask, and [`SamplerError::MaskLength`] for a mask of the wrong length.
    pub fn build(
        &self,
        device: Device,
        fixed_mask: Option<&[bool]>,
    ) -> Result<Box<dyn Sampler>, SamplerError> {
        let sampler: Box<dyn Sampler> = match self.method {
            Method::DpsTop1 => Box::new(DpsTop1::new(self, device)?),
            Method::DpsTopK => Box::new(DpsTopK::new(self, device)?),
            Method::Loupe => Box::new(Loupe::new(self, device)?),
            Method::Fixed => {
                let domain = self.validate()?;
                match (fixed_mask, &self.fixed_indices) {
                    (Some(mask), _) => Box::new(FixedSampler::new(domain, mask, device)?),
                    (None, Some(indices)) => {
                        Box::new(FixedSampler::from_indices(domain, indices, device)?)
                    }
                    (None, None) => return Err(SamplerError::MissingFixedMask),
                }
            }
        };
        Ok(sampler)
    }
}

pub(crate) fn check_fixed_indices(
    indices: &[usize],
    candidates: usize,
) -> Result<(), SamplerError> {
    let mut seen = vec![false; candidates];
    for &index in indices {
        if index >= candidates {
            return Err(SamplerError::invalid(
                "fixed_indices",
                index,
                format!("indices below the {candidates} candidates"),
            ));
        }
        if seen[index] {
            return Err(SamplerError::invalid(
                "fixed_indices",
                index,
                "each index at most once",
            ));
        }
        seen[index] = true;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parameter_of(result: Result<Domain, SamplerError>) -> &'static str {
        match result {
            Err(SamplerError::InvalidParameter { parameter, .. }) => parameter,
            other => panic!("expected an invalid parameter, got {other:?}"),
        }
    }

    fn pixel_config(samples: usize) -> SamplerConfig {
        SamplerConfig::new(
            Method::DpsTopK,
            DomainConfig::Pixel {
                height: 4,
                width: 5,
            },
            samples,
        )
    }

    #[test]
    fn defaults_follow_authors_code() {
        let config: SamplerConfig = serde_yaml::from_str(
            "method: dps_top1\ndomain: {kind: pixel, height: 28, width: 28}\nsamples: 25\n",
        )
        .unwrap();
        assert_eq!(config.logits_init_std, 0.5);
        assert_eq!(config.temperature, TemperatureSchedule::Constant(2.0));
        assert_eq!(config.entropy_weight, EntropyWeightSchedule::Constant(0.0));
        assert_eq!(config.logits_lr_multiplier, 10.0);
        assert_eq!(config.loupe, LoupeConfig::default());
        assert_eq!(config.loupe.slope, 5.0);
        assert_eq!(config.loupe.sample_slope, 12.0);
    }

    #[test]
    fn each_invalid_value_names_its_parameter() {
        assert_eq!(parameter_of(pixel_config(21).validate()), "samples");
        assert_eq!(parameter_of(pixel_config(0).validate()), "samples");

        let mut config = pixel_config(3);
        config.temperature = TemperatureSchedule::Constant(-1.0);
        assert_eq!(parameter_of(config.validate()), "temperature");

        let mut config = pixel_config(3);
        config.logits_init_std = f64::INFINITY;
        assert_eq!(parameter_of(config.validate()), "logits_init_std");

        let mut config = pixel_config(3);
        config.logits_lr_multiplier = 0.0;
        assert_eq!(parameter_of(config.validate()), "logits_lr_multiplier");

        let mut config = pixel_config(3);
        config.entropy_weight = EntropyWeightSchedule::Constant(-2e-4);
        assert_eq!(parameter_of(config.validate()), "entropy_weight");

        let mut config = pixel_config(3);
        config.loupe.sample_slope = 0.0;
        assert_eq!(parameter_of(config.validate()), "loupe.sample_slope");

        let mut config = pixel_config(3);
        config.fixed_indices = Some(vec![1, 20]);
        assert_eq!(parameter_of(config.validate()), "fixed_indices");

        let mut config = pixel_config(3);
        config.fixed_indices = Some(vec![1, 1]);
        assert_eq!(parameter_of(config.validate()), "fixed_indices");

        let mut config = pixel_config(3);
        config.domain = DomainConfig::Kspace {
            height: 0,
            width: 5,
        };
        assert_eq!(parameter_of(config.validate()), "domain.height");
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let typo = "method: dps_topk\ndomain: {kind: pixel, height: 4, width: 4}\nsamples: 2\n\
                    temprature: 2.0\n";
        assert!(matches!(
            SamplerConfig::from_yaml_str(typo),
            Err(SamplerError::Yaml { .. })
        ));
        let domain_typo = "method: dps_topk\ndomain: {kind: lines, height: 4, width: 4, \
                           centre_lines: 2}\nsamples: 2\n";
        assert!(SamplerConfig::from_yaml_str(domain_typo).is_err());
        let loupe_typo = "method: loupe\ndomain: {kind: pixel, height: 4, width: 4}\nsamples: 2\n\
                          loupe: {slope: 5.0, sample_slop: 12.0}\n";
        assert!(SamplerConfig::from_yaml_str(loupe_typo).is_err());
        let method_typo = "method: dps_top2\ndomain: {kind: pixel, height: 4, width: 4}\n\
                           samples: 2\n";
        assert!(SamplerConfig::from_yaml_str(method_typo).is_err());
    }

    #[test]
    fn yaml_round_trip() {
        let mut config = pixel_config(3);
        config.fixed_indices = Some(vec![0, 4, 7]);
        let text = serde_yaml::to_string(&config).unwrap();
        assert_eq!(SamplerConfig::from_yaml_str(&text).unwrap(), config);
    }
}
