//! Checkpoints: network and sampler variables, optimiser state and training progress in one
//! libtorch archive, written to a temporary file and renamed so that a crash never leaves a
//! truncated checkpoint under the final name.

use std::path::Path;

use tch::{Kind, Tensor};

use super::optim::{Adam, PlateauTracker};
use super::{Task, TrainError};

/// Archive entry holding [`Task::model_signature`] as UTF-8 bytes. Checkpoints without it
/// (written before it existed) are checked by variable names and shapes only.
const SIGNATURE_ENTRY: &str = "model";

/// Training progress stored beside the variables.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    /// Last finished epoch (from 0).
    pub epoch: usize,
    /// Best epoch so far: the last that lowered the validation loss by more than the relative
    /// plateau threshold.
    pub best_epoch: usize,
    /// State of the plateau and early-stopping counters.
    pub tracker: PlateauTracker,
}

impl Checkpoint {
    /// Writes the checkpoint of `task` and `adam` to `path`.
    ///
    /// # Errors
    ///
    /// [`TrainError::Checkpoint`] when libtorch cannot write the archive or the rename fails.
    pub fn save(&self, path: &Path, task: &dyn Task, adam: &Adam) -> Result<(), TrainError> {
        let failed = |message: String| TrainError::Checkpoint {
            path: path.to_path_buf(),
            message,
        };
        let mut named: Vec<(String, Tensor)> = Vec::new();
        for (store, var_store) in task.var_stores() {
            let mut variables: Vec<(String, Tensor)> = var_store.variables().into_iter().collect();
            variables.sort_by(|a, b| a.0.cmp(&b.0));
            for (name, tensor) in variables {
                named.push((format!("{store}/{name}"), tensor));
            }
        }
        named.extend(adam.state());
        let signature = task.model_signature();
        if !signature.is_empty() {
            named.push((
                SIGNATURE_ENTRY.into(),
                Tensor::from_slice(signature.as_bytes()),
            ));
        }
        named.push((
            "progress".into(),
            Tensor::from_slice(&[
                self.epoch as f64,
                self.best_epoch as f64,
                self.tracker.best,
                self.tracker.epochs_without_improvement as f64,
                self.tracker.epochs_since_reduction as f64,
            ]),
        ));

        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "checkpoint".into());
        let temporary = path.with_file_name(format!(".{file_name}.partial"));
        Tensor::save_multi(&named, &temporary).map_err(|error| failed(error.to_string()))?;
        std::fs::rename(&temporary, path).map_err(|error| failed(error.to_string()))
    }

    /// Restores `task` and `adam` from `path` and returns the stored progress.
    ///
    /// # Errors
    ///
    /// [`TrainError::Checkpoint`] when the archive is unreadable or does not match the task.
    pub fn load(path: &Path, task: &dyn Task, adam: &mut Adam) -> Result<Self, TrainError> {
        let failed = |message: String| TrainError::Checkpoint {
            path: path.to_path_buf(),
            message,
        };
        let named = Self::restore_variables(path, task)?;
        let find = |name: &str| {
            named
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, tensor)| tensor)
                .ok_or_else(|| {
                    failed(format!(
                        "no entry `{name}`; was it written by another model?"
                    ))
                })
        };
        adam.load_state(&named).map_err(failed)?;
        let progress = find("progress")?.to_kind(Kind::Double);
        let value = |i: i64| progress.double_value(&[i]);
        Ok(Self {
            epoch: value(0) as usize,
            best_epoch: value(1) as usize,
            tracker: PlateauTracker {
                best: value(2),
                epochs_without_improvement: value(3) as usize,
                epochs_since_reduction: value(4) as usize,
            },
        })
    }

    /// Copies the network and sampler variables stored in `path` into `task`, and returns every
    /// entry of the archive.
    ///
    /// # Errors
    ///
    /// [`TrainError::Checkpoint`] when the archive is unreadable or does not match the task.
    pub fn restore_variables(
        path: &Path,
        task: &dyn Task,
    ) -> Result<Vec<(String, Tensor)>, TrainError> {
        let failed = |message: String| TrainError::Checkpoint {
            path: path.to_path_buf(),
            message,
        };
        // libtorch's message goes on with a C++ stack trace, of no use to the reader.
        let named = Tensor::load_multi(path).map_err(|error| {
            let text = error.to_string();
            let first = text.lines().next().unwrap_or_default().to_string();
            failed(format!(
                "{first}; is it a complete checkpoint written by dps?"
            ))
        })?;
        let find = |name: &str| {
            named
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, tensor)| tensor)
                .ok_or_else(|| {
                    failed(format!(
                        "no entry `{name}`; was it written by another model?"
                    ))
                })
        };
        let own = task.model_signature();
        let saved = named.iter().find(|(key, _)| key == SIGNATURE_ENTRY);
        if let (false, Some((_, saved))) = (own.is_empty(), saved) {
            let saved = Vec::<u8>::try_from(saved)
                .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
                .unwrap_or_default();
            if saved != own {
                return Err(failed(format!(
                    "it was written by a model with {saved}, but this experiment builds one \
                     with {own}; pass a checkpoint of this experiment"
                )));
            }
        }
        tch::no_grad(|| -> Result<(), TrainError> {
            for (store, var_store) in task.var_stores() {
                for (name, mut variable) in var_store.variables() {
                    let saved = find(&format!("{store}/{name}"))?;
                    if saved.size() != variable.size() {
                        return Err(failed(format!(
                            "`{store}/{name}` has shape {:?}, the model has {:?}",
                            saved.size(),
                            variable.size()
                        )));
                    }
                    variable.copy_(saved);
                }
            }
            Ok(())
        })?;
        Ok(named)
    }
}
