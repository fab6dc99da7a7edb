//! The `train` section of an experiment file.

use serde::{Deserialize, Serialize};
use tch::Device;

use super::optim::{AdamConfig, PlateauConfig};
use super::TrainError;

/// Early stopping: end the run when the validation loss has not improved for `patience`
/// epochs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EarlyStoppingConfig {
    pub patience: usize,
}

/// Settings of a training run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// Maximum number of epochs.
    pub epochs: usize,
    /// Examples per batch.
    pub batch_size: usize,
    /// Adam's betas and epsilon.
    #[serde(default)]
    pub optimizer: AdamConfig,
    /// Learning rate of the task network; the sampler's logits use it times their multiplier.
    pub learning_rate: f64,
    /// Reduce-on-plateau schedule; none keeps the learning rates constant.
    #[serde(default)]
    pub plateau: Option<PlateauConfig>,
    /// Early stopping on the validation loss; none trains for `epochs`.
    #[serde(default)]
    pub early_stopping: Option<EarlyStoppingConfig>,
    /// Seed of libtorch's generator (initial weights, Gumbel noise, dropout) and of the
    /// training order.
    #[serde(default)]
    pub seed: u64,
    /// `cpu`, `cuda` or `cuda:N`.
    #[serde(default = "default_device")]
    pub device: String,
    /// Train only the task network, keeping the sampler's mask fixed (the disjoint baseline).
    #[serde(default)]
    pub freeze_sampler: bool,
}

fn default_device() -> String {
    "cpu".into()
}

impl TrainConfig {
    /// Checks every setting.
    ///
    /// # Errors
    ///
    /// [`TrainError::Config`] naming the first invalid key.
    pub fn validate(&self) -> Result<(), TrainError> {
        let invalid = |key: &str, message: String| TrainError::Config {
            key: key.into(),
            message,
        };
        if self.epochs == 0 {
            return Err(invalid("epochs", "must be at least 1".into()));
        }
        if self.batch_size == 0 {
            return Err(invalid("batch_size", "must be at least 1".into()));
        }
        if !(self.learning_rate > 0.0 && self.learning_rate.is_finite()) {
            return Err(invalid(
                "learning_rate",
                format!("must be a positive number, found {}", self.learning_rate),
            ));
        }
        self.optimizer
            .validate()
            .map_err(|(key, message)| invalid(&format!("optimizer.{key}"), message))?;
        if let Some(plateau) = &self.plateau {
            if !(plateau.factor > 0.0 && plateau.factor < 1.0) {
                return Err(invalid(
                    "plateau.factor",
                    format!("must lie in (0, 1), found {}", plateau.factor),
                ));
            }
            if plateau.patience == 0 {
                return Err(invalid("plateau.patience", "must be at least 1".into()));
            }
        }
        if let Some(stopping) = &self.early_stopping {
            if stopping.patience == 0 {
                return Err(invalid(
                    "early_stopping.patience",
                    "must be at least 1".into(),
                ));
            }
        }
        parse_device(&self.device)?;
        Ok(())
    }
}

/// Parses a device name and checks that it is usable.
///
/// # Errors
///
/// [`TrainError::CudaUnavailable`] for `cuda` without a GPU, [`TrainError::Config`] for an
/// unknown name.
pub fn parse_device(name: &str) -> Result<Device, TrainError> {
    let cuda_index = match name {
        "cpu" => return Ok(Device::Cpu),
        "cuda" => Some(0),
        other => other
            .strip_prefix("cuda:")
            .and_then(|index| index.parse::<usize>().ok()),
    };
    let Some(index) = cuda_index else {
        return Err(TrainError::Config {
            key: "device".into(),
            message: format!("expected `cpu`, `cuda` or `cuda:N`, found `{name}`"),
        });
    };
    let available = if tch::Cuda::is_available() {
        tch::Cuda::device_count().max(0) as usize
    } else {
        0
    };
    if index >= available {
        return Err(TrainError::CudaUnavailable {
            requested: name.to_string(),
            available,
        });
    }
    Ok(Device::Cuda(index))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> TrainConfig {
        serde_yaml::from_str("epochs: 3\nbatch_size: 8\nlearning_rate: 0.001\n").unwrap()
    }

    #[test]
    fn defaults_fill_optional_keys() {
        let config = config();
        assert_eq!(config.device, "cpu");
        assert_eq!(config.optimizer, AdamConfig::default());
        assert!(config.plateau.is_none());
        config.validate().unwrap();
    }

    #[test]
    fn invalid_values_name_their_key() {
        let mut bad = config();
        bad.batch_size = 0;
        assert!(bad
            .validate()
            .unwrap_err()
            .to_string()
            .contains("train.batch_size"));
        let mut bad = config();
        bad.optimizer.beta1 = 1.0;
        assert!(bad
            .validate()
            .unwrap_err()
            .to_string()
            .contains("optimizer.beta1"));
        let mut bad = config();
        bad.device = "tpu".into();
        assert!(bad.validate().unwrap_err().to_string().contains("`tpu`"));
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let error = serde_yaml::from_str::<TrainConfig>(
            "epochs: 1\nbatch_size: 1\nlearning_rate: 1\nlr: 2\n",
        )
        .unwrap_err();
        assert!(error.to_string().contains("unknown field `lr`"), "{error}");
    }

    #[test]
    fn cuda_without_gpu_is_a_clear_error() {
        if tch::Cuda::is_available() {
            return;
        }
        let error = parse_device("cuda").unwrap_err();
        assert!(matches!(error, TrainError::CudaUnavailable { .. }));
        let message = error.to_string();
        assert!(message.contains("train.device `cuda`"), "{message}");
        assert!(message.contains("use `device: cpu`"), "{message}");
    }
}
