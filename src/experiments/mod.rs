//! Training experiments (feature `torch`): YAML files with a top-level `experiment` key, run by
//! `dps run` like pipelines.
//!
//! - `mnist_classification` ([`mnist`]): a sampler and the MLP classifier of the DPS paper
//!   (Huijben et al., ICLR 2020) trained jointly on MNIST, in the pixel or the Fourier domain.
//! - `mnist_reconstruction`: the same with a decoder in place of the classifier.
//!
//! [`sweep`] runs experiments at several sample budgets and tabulates and plots the results.

pub mod mnist;
pub mod sweep;

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_yaml::{Mapping, Value};

use crate::train::TrainError;

/// Failure of an experiment.
#[derive(Debug, thiserror::Error)]
pub enum ExperimentError {
    /// The experiment file could not be read or parsed.
    #[error("{}: {message}", path.display())]
    Read { path: PathBuf, message: String },
    /// A file of the run folder could not be written.
    #[error("cannot write {}: {source}", path.display())]
    File {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// An invalid setting.
    #[error("{key}: {message}")]
    Config { key: String, message: String },
    /// An invalid setting of a named experiment file.
    #[error("{}: {key}: {message}", path.display())]
    Setting {
        path: PathBuf,
        key: String,
        message: String,
    },
    /// The data could not be loaded.
    #[error(transparent)]
    Data(#[from] crate::data::DataError),
    /// Training failed.
    #[error(transparent)]
    Train(#[from] TrainError),
}

impl ExperimentError {
    pub(crate) fn config(key: &str, message: impl Into<String>) -> Self {
        Self::Config {
            key: key.to_string(),
            message: message.into(),
        }
    }

    /// Names the experiment file in an error about one of its settings.
    pub(crate) fn in_file(self, path: &Path) -> Self {
        let setting = |key: &str, message: String| Self::Setting {
            path: path.to_path_buf(),
            key: key.to_string(),
            message,
        };
        match self {
            Self::Config { key, message } => setting(&key, message),
            Self::Train(TrainError::Config { key, message }) => {
                setting(&format!("train.{key}"), message)
            }
            Self::Train(TrainError::CudaUnavailable {
                requested,
                available,
            }) => setting(
                "train.device",
                format!(
                    "`{requested}` requested, {available} CUDA device(s) available; use \
                     `device: cpu` or the index of an existing GPU"
                ),
            ),
            Self::Data(crate::data::DataError::MissingFile { dir, name }) => setting(
                "data.dir",
                format!(
                    "{name} not found in {} (neither {name} nor {name}.gz; a relative path is \
                     read from the current folder); run scripts/fetch_mnist.sh or set data.dir \
                     to the folder that holds the MNIST files",
                    dir.display()
                ),
            ),
            Self::Data(crate::data::DataError::InvalidConfig { field, reason }) => {
                setting(&format!("data.{field}"), reason)
            }
            other => other,
        }
    }
}

/// Creates the progress observer of each training run; the binary installs one that draws
/// progress bars, the library default reports nothing.
pub type ObserverFactory = fn() -> Box<dyn crate::train::TrainObserver>;

static OBSERVER_FACTORY: std::sync::OnceLock<ObserverFactory> = std::sync::OnceLock::new();

/// Installs the progress observer factory for every later training run of this process.
/// Returns false when one was installed already.
pub fn set_observer_factory(factory: ObserverFactory) -> bool {
    OBSERVER_FACTORY.set(factory).is_ok()
}

pub(crate) fn observer() -> Option<Box<dyn crate::train::TrainObserver>> {
    OBSERVER_FACTORY.get().map(|factory| factory())
}

/// Outcome of one experiment.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum ExperimentResult {
    Mnist(mnist::MnistResult),
}

/// Returns whether a YAML document is an experiment (it has a top-level `experiment` key).
pub fn is_experiment(text: &str) -> bool {
    serde_yaml::from_str::<Value>(text)
        .ok()
        .and_then(|value| value.as_mapping().map(|m| m.contains_key("experiment")))
        .unwrap_or(false)
}

/// Reads an experiment file and applies `KEY.PATH=VALUE` overrides (dotted paths into the
/// document, values in YAML).
///
/// # Errors
///
/// [`ExperimentError::Read`] when the file cannot be read or an override is malformed.
pub fn read_document(path: &Path, overrides: &[String]) -> Result<Value, ExperimentError> {
    let invalid = |message: String| ExperimentError::Read {
        path: path.to_path_buf(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|error| invalid(error.to_string()))?;
    let mut document: Value =
        serde_yaml::from_str(&text).map_err(|error| invalid(error.to_string()))?;
    for argument in overrides {
        let (key, value) = argument
            .split_once('=')
            .ok_or_else(|| invalid(format!("--set `{argument}`: expected KEY.PATH=VALUE")))?;
        let value: Value = serde_yaml::from_str(value)
            .map_err(|error| invalid(format!("--set `{argument}`: {error}")))?;
        set_path(&mut document, key, value)
            .map_err(|message| invalid(format!("--set `{argument}`: {message}")))?;
    }
    Ok(document)
}

/// Sets a dotted path (`train.epochs`) of a YAML document, creating mappings on the way.
pub(crate) fn set_path(document: &mut Value, path: &str, value: Value) -> Result<(), String> {
    let keys: Vec<&str> = path.split('.').collect();
    let mut node = document;
    for (depth, key) in keys.iter().enumerate() {
        if key.is_empty() {
            return Err(format!("empty key in `{path}`"));
        }
        let mapping = node
            .as_mapping_mut()
            .ok_or_else(|| format!("`{}` is not a mapping", keys[..depth].join(".")))?;
        if depth + 1 == keys.len() {
            mapping.insert(Value::from(*key), value);
            return Ok(());
        }
        node = mapping
            .entry(Value::from(*key))
            .or_insert_with(|| Value::Mapping(Mapping::new()));
    }
    Ok(())
}

/// Runs the experiment described by `document`.
///
/// # Errors
///
/// [`ExperimentError::Setting`] (naming `path`) for an unknown `experiment` kind or invalid
/// settings, and the other errors of the experiment.
pub fn run_document(
    path: &Path,
    document: Value,
    resume: bool,
) -> Result<ExperimentResult, ExperimentError> {
    let kind = document
        .get("experiment")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    match kind.as_str() {
        "mnist_classification" | "mnist_reconstruction" => {
            let config: mnist::MnistExperimentConfig = serde_path_to_error::deserialize(document)
                .map_err(|error| ExperimentError::Read {
                path: path.to_path_buf(),
                message: format!(
                    "`{}`: {}",
                    error.path(),
                    plain_types(&error.inner().to_string())
                ),
            })?;
            let result = mnist::run(&config, resume).map_err(|error| error.in_file(path))?;
            Ok(ExperimentResult::Mnist(result))
        }
        other => Err(ExperimentError::config(
            "experiment",
            format!(
                "unknown experiment `{other}`; valid: mnist_classification, mnist_reconstruction"
            ),
        )
        .in_file(path)),
    }
}

/// Scores a checkpoint of the experiment described by `document` on its test split.
///
/// # Errors
///
/// As [`run_document`].
pub fn evaluate_document(
    path: &Path,
    document: Value,
    checkpoint: &Path,
) -> Result<ExperimentResult, ExperimentError> {
    let config: mnist::MnistExperimentConfig = parse_mnist(path, document)?;
    let result =
        mnist::evaluate_checkpoint(&config, checkpoint).map_err(|error| error.in_file(path))?;
    Ok(ExperimentResult::Mnist(result))
}

fn parse_mnist(
    path: &Path,
    document: Value,
) -> Result<mnist::MnistExperimentConfig, ExperimentError> {
    serde_path_to_error::deserialize(document).map_err(|error| ExperimentError::Read {
        path: path.to_path_buf(),
        message: format!(
            "`{}`: {}",
            error.path(),
            plain_types(&error.inner().to_string())
        ),
    })
}

/// Replaces Rust type names in a serde message by what they mean in YAML.
pub(crate) fn plain_types(message: &str) -> String {
    message
        .replace("expected usize", "expected a whole number, 0 or more")
        .replace("expected u64", "expected a whole number, 0 or more")
        .replace("expected u32", "expected a whole number, 0 or more")
        .replace("expected f64", "expected a number")
}

/// Saves the merged configuration beside the results.
pub(crate) fn write_config<T: Serialize>(folder: &Path, config: &T) -> Result<(), ExperimentError> {
    let path = folder.join("config.yaml");
    let text = serde_yaml::to_string(config).expect("configurations serialise");
    write_atomic(&path, text.as_bytes())
}

pub(crate) fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), ExperimentError> {
    let text = serde_json::to_string_pretty(value).expect("results serialise");
    write_atomic(path, text.as_bytes())
}

/// Writes a file under a temporary name and renames it, so readers never see half a file.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ExperimentError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = path.with_file_name(format!(".{name}.partial"));
    let error = |source| ExperimentError::File {
        path: path.to_path_buf(),
        source,
    };
    std::fs::write(&temporary, bytes).map_err(error)?;
    std::fs::rename(&temporary, path).map_err(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_path_creates_and_replaces() {
        let mut document: Value = serde_yaml::from_str("train: {epochs: 5}\n").unwrap();
        set_path(&mut document, "train.epochs", Value::from(2)).unwrap();
        set_path(&mut document, "sampler.samples", Value::from(25)).unwrap();
        assert_eq!(document["train"]["epochs"], Value::from(2));
        assert_eq!(document["sampler"]["samples"], Value::from(25));
        assert!(set_path(&mut document, "train.epochs.x", Value::from(1)).is_err());
        assert!(set_path(&mut document, "train..x", Value::from(1)).is_err());
    }

    #[test]
    fn experiments_are_recognised() {
        assert!(is_experiment("experiment: mnist_classification\n"));
        assert!(!is_experiment("stages: []\n"));
        assert!(!is_experiment(": not yaml ["));
    }
}
