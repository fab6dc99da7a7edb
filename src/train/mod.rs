//! The training engine: joint optimisation of a sampler and a task network (feature `torch`).
//!
//! A [`Task`] owns the data, the sampler and the network, and turns a batch index into a loss.
//! [`Trainer`] runs the epochs with Adam, one parameter group per [`Task::parameter_groups`]
//! entry. It reduces the learning rates on a validation-loss plateau and stops early when the
//! loss stalls. After each epoch it writes the best and last checkpoints (with optimiser state,
//! atomically), a row of `metrics.jsonl` and `metrics.csv`, and one tracing line. A NaN or
//! infinite loss stops the run with an error naming the epoch and step, and the last good
//! checkpoint stays in place.

mod checkpoint;
mod config;
mod log;
mod optim;

use std::path::{Path, PathBuf};
use std::time::Instant;

use tch::{nn, Tensor};

use crate::data::SplitMix64;

pub use checkpoint::Checkpoint;
pub use config::{parse_device, EarlyStoppingConfig, TrainConfig};
pub use log::{EpochRecord, RunLog};
pub use optim::{Adam, AdamConfig, PlateauConfig, PlateauTracker};

/// Failure of a training run.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// A file of the run folder could not be read or written.
    #[error("cannot access {}: {source}", path.display())]
    File {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A line of `metrics.jsonl` is malformed.
    #[error("{}:{line}: invalid epoch record: {message}", path.display())]
    Log {
        path: PathBuf,
        line: usize,
        message: String,
    },
    /// A checkpoint could not be saved or restored.
    #[error("checkpoint {}: {message}", path.display())]
    Checkpoint { path: PathBuf, message: String },
    /// The loss stopped being finite.
    #[error(
        "loss is {value} at epoch {epoch}, step {step}; training stopped and the last good \
         checkpoint was kept. Lower the learning rate or check the inputs for NaN"
    )]
    NonFiniteLoss {
        epoch: usize,
        step: usize,
        value: f64,
    },
    /// An invalid setting of the `train` section.
    #[error("train.{key}: {message}")]
    Config { key: String, message: String },
    /// CUDA was requested but libtorch finds no GPU (or not the numbered one).
    #[error(
        "train.device `{requested}`: {available} CUDA device(s) available; use `device: cpu` \
         or the index of an existing GPU"
    )]
    CudaUnavailable { requested: String, available: usize },
    /// `--resume` was given but the run folder has no checkpoint to continue from.
    #[error(
        "cannot resume: no checkpoint at {}; run without --resume to start the run",
        path.display()
    )]
    NothingToResume { path: PathBuf },
    /// An error from the task (data, sampler, model).
    #[error("{0}")]
    Task(String),
}

/// Stream of the libtorch draws made after training (test-time masks), apart from every epoch.
pub const TEST_STREAM: u64 = u64::MAX;

/// Returns the libtorch seed of `stream` (an epoch, or [`TEST_STREAM`]) of a run seeded with
/// `seed`. The draws of each epoch depend only on `(seed, epoch)`, and the salt keeps these
/// streams apart from the data shuffles, which use [`SplitMix64::for_stream`]`(seed, epoch)`
/// directly.
pub fn stream_seed(seed: u64, stream: u64) -> i64 {
    const LIBTORCH_SALT: u64 = 0x6c69_6274_6f72_6368;
    (SplitMix64::for_stream(seed ^ LIBTORCH_SALT, stream).next_u64() >> 1) as i64
}

/// A sampler and task network trained together, as the [`Trainer`] drives them.
pub trait Task {
    /// Parameter groups: name, trainable tensors and the factor applied to the base learning
    /// rate (1 for the task network, the sampler's multiplier for its logits). A frozen part
    /// returns no group.
    fn parameter_groups(&self) -> Vec<(String, Vec<Tensor>, f64)>;

    /// Variable stores to checkpoint, by name.
    fn var_stores(&self) -> Vec<(String, &nn::VarStore)>;

    /// Prepares an epoch (counted from 0): shuffles the training order, moves temperature and
    /// entropy weight to this epoch. Returns the number of training batches.
    fn begin_epoch(&mut self, epoch: usize) -> usize;

    /// Returns the training loss of batch `step` of the current epoch, with gradient, and the
    /// number of examples in it.
    ///
    /// # Errors
    ///
    /// [`TrainError::Task`] for data errors.
    fn train_loss(&mut self, step: usize) -> Result<(Tensor, usize), TrainError>;

    /// Returns the validation loss and task metrics (for example `accuracy`).
    ///
    /// # Errors
    ///
    /// [`TrainError::Task`] for data errors.
    fn validate(&mut self) -> Result<(f64, Vec<(String, f64)>), TrainError>;

    /// Temperature, entropy weight and realised acceleration at the current epoch.
    fn status(&self) -> (f64, f64, f64);

    /// Description of the model (for example method, domain and fixed mask) that checkpoints
    /// store, so that restoring into another model with variables of the same shapes fails.
    /// An empty signature, the default, skips the check.
    fn model_signature(&self) -> String {
        String::new()
    }
}

/// Receives progress events of a run; the CLI draws a progress bar per epoch from them.
pub trait TrainObserver {
    /// Epoch `epoch` (from 0) starts with `batches` training batches.
    fn epoch_started(&self, _epoch: usize, _batches: usize) {}
    /// Handles the end of one training batch.
    fn batch_finished(&self) {}
    /// Handles the end of an epoch, validation included.
    fn epoch_finished(&self, _record: &EpochRecord) {}
}

struct NoTrainObserver;

impl TrainObserver for NoTrainObserver {}

/// Outcome of [`Trainer::fit`].
#[derive(Debug, Clone)]
pub struct FitReport {
    /// Epoch records, resumed ones included.
    pub records: Vec<EpochRecord>,
    /// Epoch (from 0) with the best validation loss: the last epoch that lowered it by more
    /// than the relative plateau threshold.
    pub best_epoch: usize,
    /// Whether early stopping ended the run before the epoch cap.
    pub stopped_early: bool,
}

/// Runs the epochs of a [`Task`].
pub struct Trainer {
    config: TrainConfig,
    folder: PathBuf,
    observer: Box<dyn TrainObserver>,
}

impl Trainer {
    /// Creates a trainer writing into `folder` (created when missing).
    ///
    /// # Errors
    ///
    /// [`TrainError::File`] when the folder cannot be created.
    pub fn new(config: TrainConfig, folder: &Path) -> Result<Self, TrainError> {
        std::fs::create_dir_all(folder).map_err(|source| TrainError::File {
            path: folder.to_path_buf(),
            source,
        })?;
        Ok(Self {
            config,
            folder: folder.to_path_buf(),
            observer: Box::new(NoTrainObserver),
        })
    }

    /// Sends progress events to `observer`.
    pub fn with_observer(mut self, observer: Box<dyn TrainObserver>) -> Self {
        self.observer = observer;
        self
    }

    /// Path of the checkpoint of the best epoch (see [`FitReport::best_epoch`]).
    pub fn best_checkpoint(&self) -> PathBuf {
        self.folder.join("best.ot")
    }

    /// Path of the checkpoint of the last finished epoch.
    pub fn last_checkpoint(&self) -> PathBuf {
        self.folder.join("last.ot")
    }

    /// Trains `task`; with `resume`, continues from the last checkpoint of the folder.
    ///
    /// # Errors
    ///
    /// [`TrainError::NonFiniteLoss`] when a loss is NaN or infinite, and the errors of the
    /// task, the checkpoints and the logs.
    pub fn fit(&self, task: &mut dyn Task, resume: bool) -> Result<FitReport, TrainError> {
        let mut adam = Adam::new(self.config.optimizer);
        for (name, parameters, factor) in task.parameter_groups() {
            adam.add_group(&name, self.config.learning_rate * factor, parameters);
        }
        let mut tracker = PlateauTracker::default();
        let mut start_epoch = 0;
        let mut best_epoch = 0;
        if resume {
            if !self.last_checkpoint().is_file() {
                return Err(TrainError::NothingToResume {
                    path: self.last_checkpoint(),
                });
            }
            let restored = Checkpoint::load(&self.last_checkpoint(), task, &mut adam)?;
            start_epoch = restored.epoch + 1;
            tracker = restored.tracker;
            best_epoch = restored.best_epoch;
            tracing::info!(epoch = start_epoch, "resumed from the last checkpoint");
        }
        let log = RunLog::open(&self.folder, resume, start_epoch)?;
        let mut records = log.read()?;
        // A run that early stopping ended stays ended when resumed.
        let mut stopped_early = self.config.early_stopping.is_some_and(|stopping| {
            resume && tracker.epochs_without_improvement >= stopping.patience
        });
        if stopped_early {
            tracing::info!(best_epoch, "the run was stopped early; nothing to resume");
        }
        let epochs = if stopped_early {
            start_epoch..start_epoch
        } else {
            start_epoch..self.config.epochs
        };

        for epoch in epochs {
            let record = self.run_epoch(task, &mut adam, epoch)?;
            let improved = tracker.observe(record.validation_loss, self.plateau_threshold());
            if improved {
                best_epoch = epoch;
            }
            tracing::info!(
                epoch,
                train_loss = record.train_loss,
                validation_loss = record.validation_loss,
                metrics = ?record.validation_metrics,
                learning_rates = ?record.learning_rates,
                temperature = record.temperature,
                entropy_weight = record.entropy_weight,
                acceleration = record.acceleration,
                examples_per_second = record.examples_per_second as u64,
                "epoch finished"
            );
            self.observer.epoch_finished(&record);
            log.append(&record)?;
            records.push(record);

            // The learning-rate cut of this epoch goes into its checkpoint, so a resumed run
            // trains the next epoch at the rate the uninterrupted run would use.
            if let Some(plateau) = self.config.plateau {
                if tracker.should_reduce(plateau.patience)
                    && adam.reduce_learning_rates(plateau.factor, plateau.min_learning_rate)
                {
                    tracing::info!(
                        epoch,
                        factor = plateau.factor,
                        learning_rates = ?adam.learning_rates(),
                        "learning rates reduced"
                    );
                }
            }
            let checkpoint = Checkpoint {
                epoch,
                best_epoch,
                tracker: tracker.clone(),
            };
            checkpoint.save(&self.last_checkpoint(), task, &adam)?;
            if improved {
                checkpoint.save(&self.best_checkpoint(), task, &adam)?;
            }

            if let Some(stopping) = self.config.early_stopping {
                if tracker.epochs_without_improvement >= stopping.patience {
                    tracing::info!(epoch, best_epoch, "early stopping");
                    stopped_early = true;
                    break;
                }
            }
        }
        Ok(FitReport {
            records,
            best_epoch,
            stopped_early,
        })
    }

    fn plateau_threshold(&self) -> f64 {
        self.config.plateau.map(|p| p.threshold).unwrap_or(1e-4)
    }

    fn run_epoch(
        &self,
        task: &mut dyn Task,
        adam: &mut Adam,
        epoch: usize,
    ) -> Result<EpochRecord, TrainError> {
        let start = Instant::now();
        // Every epoch draws from its own libtorch stream (Gumbel noise, dropout), so a run
        // resumed at epoch e draws what the uninterrupted run would have drawn.
        tch::manual_seed(stream_seed(self.config.seed, epoch as u64));
        let batches = task.begin_epoch(epoch);
        self.observer.epoch_started(epoch, batches);
        let mut loss_sum = 0.0;
        let mut examples = 0usize;
        for step in 0..batches {
            adam.zero_grad();
            let (loss, count) = task.train_loss(step)?;
            let value = loss.double_value(&[]);
            if !value.is_finite() {
                return Err(TrainError::NonFiniteLoss { epoch, step, value });
            }
            loss.backward();
            adam.step();
            loss_sum += value * count as f64;
            examples += count;
            self.observer.batch_finished();
        }
        let train_seconds = start.elapsed().as_secs_f64();
        let (validation_loss, validation_metrics) = task.validate()?;
        if !validation_loss.is_finite() {
            return Err(TrainError::NonFiniteLoss {
                epoch,
                step: batches,
                value: validation_loss,
            });
        }
        let (temperature, entropy_weight, acceleration) = task.status();
        Ok(EpochRecord {
            epoch,
            train_loss: loss_sum / examples.max(1) as f64,
            validation_loss,
            validation_metrics,
            learning_rates: adam.learning_rates(),
            temperature,
            entropy_weight,
            acceleration,
            seconds: start.elapsed().as_secs_f64(),
            examples_per_second: examples as f64 / train_seconds.max(1e-9),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    /// Fits y = 2x with one weight; the loss turns NaN at `nan_at` (epoch, step).
    struct LineFit {
        store: nn::VarStore,
        weight: Tensor,
        epoch: usize,
        nan_at: Option<(usize, usize)>,
    }

    impl LineFit {
        fn new(nan_at: Option<(usize, usize)>) -> Self {
            let store = nn::VarStore::new(Device::Cpu);
            let weight = store.root().zeros("weight", &[1]);
            Self {
                store,
                weight,
                epoch: 0,
                nan_at,
            }
        }

        fn loss(&self) -> Tensor {
            let x = Tensor::from_slice(&[1.0f32, 2.0, 3.0]);
            (&x * &self.weight - &x * 2.0).square().mean(Kind::Float)
        }
    }

    impl Task for LineFit {
        fn parameter_groups(&self) -> Vec<(String, Vec<Tensor>, f64)> {
            vec![("network".into(), self.store.trainable_variables(), 1.0)]
        }

        fn var_stores(&self) -> Vec<(String, &nn::VarStore)> {
            vec![("network".into(), &self.store)]
        }

        fn begin_epoch(&mut self, epoch: usize) -> usize {
            self.epoch = epoch;
            4
        }

        fn train_loss(&mut self, step: usize) -> Result<(Tensor, usize), TrainError> {
            if self.nan_at == Some((self.epoch, step)) {
                return Ok((self.loss() * f64::NAN, 3));
            }
            Ok((self.loss(), 3))
        }

        fn validate(&mut self) -> Result<(f64, Vec<(String, f64)>), TrainError> {
            Ok((tch::no_grad(|| self.loss()).double_value(&[]), vec![]))
        }

        fn status(&self) -> (f64, f64, f64) {
            (1.0, 0.0, 1.0)
        }
    }

    fn config(epochs: usize) -> TrainConfig {
        let text = format!("epochs: {epochs}\nbatch_size: 3\nlearning_rate: 0.1\n");
        serde_yaml::from_str(&text).unwrap()
    }

    #[test]
    fn fit_reduces_the_loss() {
        let dir = tempfile::tempdir().unwrap();
        let trainer = Trainer::new(config(5), dir.path()).unwrap();
        let report = trainer.fit(&mut LineFit::new(None), false).unwrap();
        assert_eq!(report.records.len(), 5);
        assert!(report.records[4].validation_loss < report.records[0].validation_loss / 10.0);
        assert!(trainer.best_checkpoint().is_file());
    }

    #[test]
    fn nan_loss_stops_with_epoch_and_step() {
        let dir = tempfile::tempdir().unwrap();
        let trainer = Trainer::new(config(5), dir.path()).unwrap();
        let mut task = LineFit::new(Some((1, 2)));
        let error = trainer.fit(&mut task, false).unwrap_err();
        match error {
            TrainError::NonFiniteLoss { epoch, step, value } => {
                assert_eq!((epoch, step), (1, 2));
                assert!(value.is_nan());
            }
            other => panic!("unexpected error {other}"),
        }
        // The checkpoint of epoch 0 is kept and loads into a fresh task.
        let fresh = LineFit::new(None);
        Checkpoint::restore_variables(&trainer.last_checkpoint(), &fresh).unwrap();
        assert!(fresh.weight.double_value(&[0]) > 0.0);
        let log = RunLog::open_existing(dir.path()).read().unwrap();
        assert_eq!(log.len(), 1);
    }

    #[test]
    fn plateau_halves_the_learning_rate_down_to_the_floor() {
        // A learning rate too small to move the weight leaves the loss flat, so every epoch
        // after the first is a plateau epoch.
        let dir = tempfile::tempdir().unwrap();
        let mut settings = config(8);
        settings.learning_rate = 1e-12;
        settings.plateau = Some(PlateauConfig {
            factor: 0.5,
            patience: 2,
            threshold: 1e-4,
            min_learning_rate: 3e-13,
        });
        let trainer = Trainer::new(settings, dir.path()).unwrap();
        let report = trainer.fit(&mut LineFit::new(None), false).unwrap();
        let rates: Vec<f64> = report
            .records
            .iter()
            .map(|record| record.learning_rates[0].1)
            .collect();
        // Epochs 1 and 2 do not improve: halved after epoch 2, and two epochs later halved
        // again but held at the floor, where it stays.
        assert_eq!(rates[..3], [1e-12; 3], "{rates:?}");
        assert_eq!(rates[3..5], [5e-13; 2], "{rates:?}");
        assert_eq!(rates[5..], [3e-13; 3], "{rates:?}");
    }

    /// Learning rate of the network group in each epoch of `report`.
    fn network_rates(report: &FitReport) -> Vec<f64> {
        report
            .records
            .iter()
            .map(|record| record.learning_rates[0].1)
            .collect()
    }

    #[test]
    fn resume_keeps_learning_rate_cut() {
        // With patience 1 the flat loss cuts the rate after epoch 1. The resumed run must
        // train epoch 2 at the cut rate, as the uninterrupted run does.
        let mut settings = config(3);
        settings.learning_rate = 1e-12;
        settings.plateau = Some(PlateauConfig {
            factor: 0.5,
            patience: 1,
            threshold: 1e-4,
            min_learning_rate: 0.0,
        });
        let whole = tempfile::tempdir().unwrap();
        let report = Trainer::new(settings.clone(), whole.path())
            .unwrap()
            .fit(&mut LineFit::new(None), false)
            .unwrap();
        let uninterrupted = network_rates(&report);
        assert_eq!(uninterrupted, [1e-12, 1e-12, 5e-13]);

        let split = tempfile::tempdir().unwrap();
        let mut first = settings.clone();
        first.epochs = 2;
        Trainer::new(first, split.path())
            .unwrap()
            .fit(&mut LineFit::new(None), false)
            .unwrap();
        let report = Trainer::new(settings, split.path())
            .unwrap()
            .fit(&mut LineFit::new(None), true)
            .unwrap();
        let resumed = network_rates(&report);
        assert_eq!(resumed, uninterrupted);
    }

    #[test]
    fn early_stopping_ends_run_for_good() {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = config(50);
        settings.early_stopping = Some(EarlyStoppingConfig { patience: 2 });
        settings.learning_rate = 1e-12;
        let trainer = Trainer::new(settings, dir.path()).unwrap();
        let report = trainer.fit(&mut LineFit::new(None), false).unwrap();
        assert!(report.stopped_early);
        assert_eq!(report.records.len(), 3);

        let resumed = trainer.fit(&mut LineFit::new(None), true).unwrap();
        assert!(resumed.stopped_early);
        assert_eq!(resumed.records.len(), 3);
        assert_eq!(resumed.best_epoch, report.best_epoch);
        let log = RunLog::open_existing(dir.path()).read().unwrap();
        assert_eq!(log.len(), 3);
    }
}
