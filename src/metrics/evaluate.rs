//! Scoring a directory of reconstructions against a directory of fastMRI targets, with the
//! semantics of fastMRI's `fastmri/evaluate.py`.
//!
//! For every target file `NAME.h5` (sorted by name), the prediction is `NAME.h5` in the
//! predictions directory with a float dataset `reconstruction` of shape `(slices, h, w)`. The
//! target dataset is `reconstruction_esc` for the single-coil challenge and
//! `reconstruction_rss` for the multi-coil one. With an acquisition or acceleration filter,
//! only targets whose root attribute `acquisition` (a string) or `acceleration` (a number)
//! equals the requested value are scored. Both volumes are centre-cropped to `(W_t, W_t)`,
//! `W_t` being the target's last dimension, keeping rows from `floor((H - W_t) / 2)` and
//! columns from `floor((W - W_t) / 2)`.
//!
//! Differences from fastMRI:
//!
//! - fastMRI stops with an error on a target without a prediction and ignores predictions
//!   without a target. Here both lists go into the report and are logged, and scoring goes on
//!   with the remaining pairs.
//! - Only files ending in `.h5` are considered.
//! - A fixed-length string `acquisition` matches like a variable-length one. h5py returns
//!   fixed-length strings as `bytes`, which never equal fastMRI's `str` filter value.
//! - fastMRI computes in float32 where its inputs are float32, and this crate sums in f64. The
//!   tests find the two within 1e-5 relative.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use ndarray::{s, Array3, ArrayView3};
use serde::{Deserialize, Serialize};

use super::h5::{read_root_attributes, read_volume};
use super::kind::MetricKind;
use super::table::MetricTable;
use super::MetricsError;

/// Dataset that contains the reconstruction in a prediction file.
pub const PREDICTION_DATASET: &str = "reconstruction";

/// fastMRI challenge track, which decides the target dataset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Challenge {
    /// Single-coil knee: targets in `reconstruction_esc`.
    SingleCoil,
    /// Multi-coil: targets in `reconstruction_rss`.
    MultiCoil,
}

impl Challenge {
    /// Returns the name of the target dataset.
    pub fn target_dataset(self) -> &'static str {
        match self {
            Challenge::SingleCoil => "reconstruction_esc",
            Challenge::MultiCoil => "reconstruction_rss",
        }
    }
}

impl fmt::Display for Challenge {
    /// Writes fastMRI's command-line spelling, `singlecoil` or `multicoil`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Challenge::SingleCoil => f.write_str("singlecoil"),
            Challenge::MultiCoil => f.write_str("multicoil"),
        }
    }
}

/// Error of [`Challenge::from_str`].
#[derive(Debug, thiserror::Error)]
#[error("unknown challenge `{0}`; expected `singlecoil` or `multicoil`")]
pub struct UnknownChallenge(pub String);

impl FromStr for Challenge {
    type Err = UnknownChallenge;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name {
            "singlecoil" => Ok(Challenge::SingleCoil),
            "multicoil" => Ok(Challenge::MultiCoil),
            other => Err(UnknownChallenge(other.to_owned())),
        }
    }
}

/// Outcome of an evaluation: what was scored, what was left out and why, and the scores.
///
/// `Display` writes the summary line in fastMRI's format; the file lists are for the caller to
/// show.
#[derive(Clone, Debug, Serialize)]
pub struct EvaluationReport {
    /// Directory of target files.
    pub target_dir: PathBuf,
    /// Directory of prediction files.
    pub predictions_dir: PathBuf,
    /// Challenge, which chose the target dataset.
    pub challenge: Challenge,
    /// Acceleration filter, if any.
    pub acceleration: Option<u32>,
    /// Acquisition filter, if any.
    pub acquisition: Option<String>,
    /// Target files excluded by the acquisition or acceleration filter.
    pub filtered_out: Vec<String>,
    /// Selected target files that have no prediction file; not scored.
    pub missing_predictions: Vec<String>,
    /// Prediction files that have no target file; not scored.
    pub extra_predictions: Vec<String>,
    /// Per-volume scores of the scored files, in file name order.
    pub scores: MetricTable,
}

impl fmt::Display for EvaluationReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.scores, f)
    }
}

/// Scores predictions against targets with fastMRI's four metrics (MSE, NMSE, PSNR and SSIM,
/// see [`MetricKind::FASTMRI`]).
///
/// # Errors
///
/// - [`MetricsError::ReadDir`] when a directory cannot be listed.
/// - [`MetricsError::Hdf5`], [`MetricsError::UnsupportedType`] or [`MetricsError::NotAVolume`]
///   when a file cannot be read; each names the file and the dataset or attribute.
/// - [`MetricsError::MissingAttribute`] when a filter needs an attribute that a target lacks.
/// - [`MetricsError::CropTooLarge`] when a volume is smaller than the crop.
/// - [`MetricsError::Volume`] when a pair of volumes cannot be scored, such as slice counts
///   that differ.
/// - [`MetricsError::NothingToScore`] when no pair is left.
pub fn evaluate(
    target_dir: &Path,
    predictions_dir: &Path,
    challenge: Challenge,
    acceleration: Option<u32>,
    acquisition: Option<String>,
) -> Result<EvaluationReport, MetricsError> {
    evaluate_with_metrics(
        target_dir,
        predictions_dir,
        challenge,
        acceleration,
        acquisition,
        &MetricKind::FASTMRI,
    )
}

/// Scores predictions against targets as [`evaluate`] does, with the given metrics.
///
/// # Errors
///
/// Those of [`evaluate`] and of [`MetricTable::new`].
pub fn evaluate_with_metrics(
    target_dir: &Path,
    predictions_dir: &Path,
    challenge: Challenge,
    acceleration: Option<u32>,
    acquisition: Option<String>,
    metrics: &[MetricKind],
) -> Result<EvaluationReport, MetricsError> {
    let mut scores = MetricTable::new(metrics.to_vec())?;
    let targets = list_h5_files(target_dir)?;
    let predictions = list_h5_files(predictions_dir)?;
    let filter = Filter {
        acceleration,
        acquisition: acquisition.as_deref(),
    };

    let mut selected = Vec::new();
    let mut filtered_out = Vec::new();
    let mut missing_predictions = Vec::new();
    for name in &targets {
        if !filter.accepts(&target_dir.join(name))? {
            filtered_out.push(name.clone());
        } else if predictions.contains(name) {
            selected.push(name.clone());
        } else {
            missing_predictions.push(name.clone());
        }
    }
    let extra_predictions: Vec<String> = predictions.difference(&targets).cloned().collect();
    log_unscored(&missing_predictions, &extra_predictions, filtered_out.len());
    if selected.is_empty() {
        return Err(MetricsError::NothingToScore {
            target_dir: target_dir.to_path_buf(),
            predictions_dir: predictions_dir.to_path_buf(),
            targets: targets.len(),
            filtered_out: filtered_out.len(),
            missing: missing_predictions.len(),
        });
    }

    for name in &selected {
        let target_path = target_dir.join(name);
        let (target, prediction) =
            read_cropped_pair(&target_path, &predictions_dir.join(name), challenge)?;
        let row = scores
            .push_volume(name.clone(), target.view(), prediction.view())
            .map_err(|source| MetricsError::Volume {
                path: target_path,
                source: Box::new(source),
            })?;
        tracing::debug!(volume = %name, values = ?row.values, "scored volume");
    }
    tracing::info!(volumes = selected.len(), summary = %scores, "evaluation finished");

    Ok(EvaluationReport {
        target_dir: target_dir.to_path_buf(),
        predictions_dir: predictions_dir.to_path_buf(),
        challenge,
        acceleration,
        acquisition,
        filtered_out,
        missing_predictions,
        extra_predictions,
        scores,
    })
}

/// Acquisition and acceleration filter on target root attributes.
struct Filter<'a> {
    acceleration: Option<u32>,
    acquisition: Option<&'a str>,
}

impl Filter<'_> {
    fn accepts(&self, target: &Path) -> Result<bool, MetricsError> {
        if self.acquisition.is_none() && self.acceleration.is_none() {
            return Ok(true);
        }
        let attributes = read_root_attributes(target)?;
        let missing = |attribute: &str| MetricsError::MissingAttribute {
            path: target.to_path_buf(),
            attribute: attribute.to_owned(),
        };

        if let Some(wanted) = self.acquisition {
            let found = attributes
                .acquisition
                .ok_or_else(|| missing("acquisition"))?;
            if found != wanted {
                return Ok(false);
            }
        }
        if let Some(wanted) = self.acceleration {
            let found = attributes
                .acceleration
                .ok_or_else(|| missing("acceleration"))?;
            if found != f64::from(wanted) {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

fn log_unscored(missing_predictions: &[String], extra_predictions: &[String], filtered_out: usize) {
    if !missing_predictions.is_empty() {
        tracing::warn!(
            count = missing_predictions.len(),
            files = ?missing_predictions,
            "targets without a prediction file are not scored"
        );
    }
    if !extra_predictions.is_empty() {
        tracing::warn!(
            count = extra_predictions.len(),
            files = ?extra_predictions,
            "prediction files without a target are not scored"
        );
    }
    if filtered_out > 0 {
        tracing::info!(
            count = filtered_out,
            "targets excluded by the acquisition or acceleration filter"
        );
    }
}

/// Returns the names of the `.h5` files in a directory.
fn list_h5_files(dir: &Path) -> Result<BTreeSet<String>, MetricsError> {
    let read_error = |source| MetricsError::ReadDir {
        path: dir.to_path_buf(),
        source,
    };
    let mut names = BTreeSet::new();
    for entry in std::fs::read_dir(dir).map_err(read_error)? {
        let path = entry.map_err(read_error)?.path();
        let is_h5 = path.extension().is_some_and(|extension| extension == "h5");
        match path.file_name().and_then(|name| name.to_str()) {
            Some(name) if is_h5 && path.is_file() => {
                names.insert(name.to_owned());
            }
            _ => tracing::debug!(path = %path.display(), "skipping entry that is not an .h5 file"),
        }
    }
    Ok(names)
}

/// Reads a target and its prediction, both centre-cropped to `(W_t, W_t)`.
fn read_cropped_pair(
    target_path: &Path,
    prediction_path: &Path,
    challenge: Challenge,
) -> Result<(Array3<f32>, Array3<f32>), MetricsError> {
    let target_dataset = challenge.target_dataset();
    let target = read_volume(target_path, target_dataset)?;
    let width = target.dim().2;
    let target = centre_crop(target.view(), width, width)
        .ok_or_else(|| crop_error(target_path, target_dataset, target.shape(), width))?
        .to_owned();

    let prediction = read_volume(prediction_path, PREDICTION_DATASET)?;
    let prediction = centre_crop(prediction.view(), width, width)
        .ok_or_else(|| {
            crop_error(
                prediction_path,
                PREDICTION_DATASET,
                prediction.shape(),
                width,
            )
        })?
        .to_owned();
    Ok((target, prediction))
}

fn crop_error(path: &Path, dataset: &str, shape: &[usize], width: usize) -> MetricsError {
    MetricsError::CropTooLarge {
        path: path.to_path_buf(),
        dataset: dataset.to_owned(),
        shape: shape.to_vec(),
        height: width,
        width,
    }
}

/// Returns the centre `(height, width)` window of every slice, or `None` when the slices are
/// smaller than that or the window is empty, as fastMRI's `center_crop` rejects.
fn centre_crop(volume: ArrayView3<f32>, height: usize, width: usize) -> Option<ArrayView3<f32>> {
    let (_, rows, cols) = volume.dim();
    if height == 0 || width == 0 || height > rows || width > cols {
        return None;
    }
    let top = (rows - height) / 2;
    let left = (cols - width) / 2;
    Some(volume.slice_move(s![.., top..top + height, left..left + width]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn centre_crop_offsets_floor() {
        let volume = Array3::from_shape_fn((1, 7, 6), |(_, i, j)| (10 * i + j) as f32);
        let crop = centre_crop(volume.view(), 4, 3).unwrap();
        // Rows (7 - 4) / 2 = 1 onwards, columns (6 - 3) / 2 = 1 onwards.
        assert_eq!(crop.dim(), (1, 4, 3));
        assert_eq!(crop[[0, 0, 0]], 11.0);
        assert_eq!(crop[[0, 3, 2]], 43.0);
    }

    #[test]
    fn centre_crop_rejects_larger_window() {
        let volume = Array3::<f32>::zeros((1, 4, 6));
        assert!(centre_crop(volume.view(), 6, 6).is_none());
        assert!(centre_crop(volume.view(), 0, 2).is_none());
    }

    #[test]
    fn challenge_names() {
        assert_eq!(
            "multicoil".parse::<Challenge>().unwrap(),
            Challenge::MultiCoil
        );
        assert_eq!(Challenge::SingleCoil.to_string(), "singlecoil");
        assert_eq!(Challenge::SingleCoil.target_dataset(), "reconstruction_esc");
        assert!("knee".parse::<Challenge>().is_err());
    }
}
