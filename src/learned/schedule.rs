//! Per-epoch schedules of the sampler hyper-parameters: the softmax temperature of the relaxation
//! and the weight of the entropy penalty.
//!
//! Epochs count from 0, so the value at epoch 0 is the initial one.

use serde::{Deserialize, Serialize};

use super::SamplerError;

/// Temperature T of the softmax relaxation, either constant or annealed linearly.
///
/// In YAML a plain number is a constant (`temperature: 2.0`), a mapping is a linear anneal
/// (`temperature: {start: 5.0, end: 1.0, epochs: 50}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TemperatureSchedule {
    /// The same temperature in every epoch. All published DPS runs use a constant.
    Constant(f64),
    /// Linear anneal from `start` at epoch 0 to `end` at epoch `epochs`, then `end`.
    Linear(LinearAnneal),
}

/// Linear interpolation from `start` to `end` over `epochs` epochs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinearAnneal {
    /// Value at epoch 0.
    pub start: f64,
    /// Value from epoch `epochs` on.
    pub end: f64,
    /// Number of epochs the anneal takes. With 0 the value is `end` from the start.
    pub epochs: usize,
}

impl TemperatureSchedule {
    /// Returns the temperature of `epoch`.
    pub fn at_epoch(&self, epoch: usize) -> f64 {
        match self {
            Self::Constant(value) => *value,
            Self::Linear(anneal) => {
                if anneal.epochs == 0 {
                    return anneal.end;
                }
                let progress = epoch.min(anneal.epochs) as f64 / anneal.epochs as f64;
                anneal.start + (anneal.end - anneal.start) * progress
            }
        }
    }

    /// Checks that every temperature the schedule produces is finite and positive.
    ///
    /// # Errors
    ///
    /// [`SamplerError::InvalidParameter`] naming `temperature` (or its `start` / `end`).
    pub fn validate(&self) -> Result<(), SamplerError> {
        match self {
            Self::Constant(value) => check_positive("temperature", *value),
            Self::Linear(anneal) => {
                check_positive("temperature.start", anneal.start)?;
                check_positive("temperature.end", anneal.end)
            }
        }
    }
}

impl Default for TemperatureSchedule {
    /// T = 2, the MNIST and CIFAR10 setting of the DPS paper.
    fn default() -> Self {
        Self::Constant(2.0)
    }
}

/// Weight mu of the entropy penalty, either constant or growing linearly per epoch.
///
/// In YAML a plain number is a constant (`entropy_weight: 2.0e-4`), a mapping is linear growth
/// (`entropy_weight: {start: 0.0, per_epoch: 1.0e-5}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum EntropyWeightSchedule {
    /// The same weight in every epoch (2e-4 for lines and circles, 1e-6 for CIFAR10).
    Constant(f64),
    /// `mu_e = start + e * per_epoch`, without an upper bound (MNIST: 0 + 1e-5 per epoch).
    Linear(LinearGrowth),
}

/// Linear growth `start + epoch * per_epoch`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinearGrowth {
    /// Value at epoch 0.
    pub start: f64,
    /// Increment per epoch.
    pub per_epoch: f64,
}

impl EntropyWeightSchedule {
    /// Returns the entropy weight of `epoch`.
    pub fn at_epoch(&self, epoch: usize) -> f64 {
        match self {
            Self::Constant(value) => *value,
            Self::Linear(growth) => growth.start + epoch as f64 * growth.per_epoch,
        }
    }

    /// Checks that the weight is finite and never negative.
    ///
    /// # Errors
    ///
    /// [`SamplerError::InvalidParameter`] naming `entropy_weight` (or its `start` /
    /// `per_epoch`).
    pub fn validate(&self) -> Result<(), SamplerError> {
        match self {
            Self::Constant(value) => check_non_negative("entropy_weight", *value),
            Self::Linear(growth) => {
                check_non_negative("entropy_weight.start", growth.start)?;
                check_non_negative("entropy_weight.per_epoch", growth.per_epoch)
            }
        }
    }
}

impl Default for EntropyWeightSchedule {
    /// No penalty, as in the original DPS-topK code.
    fn default() -> Self {
        Self::Constant(0.0)
    }
}

/// The schedules of one sampler together with the epoch they are evaluated at.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TrainingSchedule {
    temperature: TemperatureSchedule,
    entropy_weight: EntropyWeightSchedule,
    logits_lr_multiplier: f64,
    epoch: usize,
}

impl TrainingSchedule {
    /// Combines validated schedules, starting at epoch 0.
    pub fn new(
        temperature: TemperatureSchedule,
        entropy_weight: EntropyWeightSchedule,
        logits_lr_multiplier: f64,
    ) -> Self {
        Self {
            temperature,
            entropy_weight,
            logits_lr_multiplier,
            epoch: 0,
        }
    }

    /// Moves the schedules to `epoch` (counted from 0).
    pub fn set_epoch(&mut self, epoch: usize) {
        self.epoch = epoch;
    }

    /// Current epoch.
    pub fn epoch(&self) -> usize {
        self.epoch
    }

    /// Temperature at the current epoch.
    pub fn temperature(&self) -> f64 {
        self.temperature.at_epoch(self.epoch)
    }

    /// Entropy weight at the current epoch.
    pub fn entropy_weight(&self) -> f64 {
        self.entropy_weight.at_epoch(self.epoch)
    }

    /// Factor by which the logits' learning rate exceeds the task network's.
    pub fn logits_lr_multiplier(&self) -> f64 {
        self.logits_lr_multiplier
    }
}

pub(crate) fn check_positive(parameter: &'static str, value: f64) -> Result<(), SamplerError> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(SamplerError::invalid(
            parameter,
            value,
            "a finite number > 0",
        ))
    }
}

pub(crate) fn check_non_negative(parameter: &'static str, value: f64) -> Result<(), SamplerError> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(SamplerError::invalid(
            parameter,
            value,
            "a finite number >= 0",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temperature_anneal_reaches_end_and_stays() {
        let schedule = TemperatureSchedule::Linear(LinearAnneal {
            start: 5.0,
            end: 1.0,
            epochs: 4,
        });
        let values: Vec<f64> = (0..7).map(|e| schedule.at_epoch(e)).collect();
        assert_eq!(values, vec![5.0, 4.0, 3.0, 2.0, 1.0, 1.0, 1.0]);
    }

    #[test]
    fn temperature_anneal_over_zero_epochs() {
        let schedule = TemperatureSchedule::Linear(LinearAnneal {
            start: 5.0,
            end: 1.0,
            epochs: 0,
        });
        assert_eq!(schedule.at_epoch(0), 1.0);
    }

    #[test]
    fn entropy_weight_grows_linearly() {
        let schedule = EntropyWeightSchedule::Linear(LinearGrowth {
            start: 0.0,
            per_epoch: 1e-5,
        });
        assert_eq!(schedule.at_epoch(0), 0.0);
        assert!((schedule.at_epoch(50) - 5e-4).abs() < 1e-15);
        assert!((schedule.at_epoch(80) - 8e-4).abs() < 1e-15);
    }

    #[test]
    fn schedules_parse_from_yaml() {
        let constant: TemperatureSchedule = serde_yaml::from_str("2.5").unwrap();
        assert_eq!(constant, TemperatureSchedule::Constant(2.5));
        let linear: TemperatureSchedule =
            serde_yaml::from_str("{start: 5.0, end: 1.0, epochs: 10}").unwrap();
        assert_eq!(linear.at_epoch(5), 3.0);
        let growth: EntropyWeightSchedule =
            serde_yaml::from_str("{start: 0.0, per_epoch: 1.0e-5}").unwrap();
        assert_eq!(growth.at_epoch(2), 2e-5);
    }

    #[test]
    fn schedules_reject_unknown_fields() {
        let parsed: Result<TemperatureSchedule, _> =
            serde_yaml::from_str("{start: 5.0, end: 1.0, epochs: 10, decay: 0.5}");
        assert!(parsed.is_err());
    }

    #[test]
    fn invalid_values_name_parameter() {
        let cases = [
            (TemperatureSchedule::Constant(0.0), "temperature"),
            (TemperatureSchedule::Constant(f64::NAN), "temperature"),
            (
                TemperatureSchedule::Linear(LinearAnneal {
                    start: 1.0,
                    end: -1.0,
                    epochs: 3,
                }),
                "temperature.end",
            ),
        ];
        for (schedule, name) in cases {
            match schedule.validate() {
                Err(SamplerError::InvalidParameter { parameter, .. }) => {
                    assert_eq!(parameter, name)
                }
                other => panic!("expected an invalid `{name}`, got {other:?}"),
            }
        }
        let negative = EntropyWeightSchedule::Linear(LinearGrowth {
            start: 0.0,
            per_epoch: -1e-5,
        });
        match negative.validate() {
            Err(SamplerError::InvalidParameter { parameter, .. }) => {
                assert_eq!(parameter, "entropy_weight.per_epoch")
            }
            other => panic!("expected an invalid per_epoch, got {other:?}"),
        }
    }
}
