//! The [`Stage`] trait and the data that stages pass along.
//!
//! A pipeline runs volume by volume. For each volume the runner calls, in stage order,
//! [`Stage::begin_volume`] (sequential, may set up per-volume state such as the file handle or
//! the mask), then [`Stage::process_slice`] for every slice (slices run in parallel; each slice
//! passes through all stages in order and its k-space is dropped afterwards, so memory stays at
//! a few slices), and finally [`Stage::end_volume`] on the collected reconstructions (metrics,
//! files).
//!
//! Slice k-space is `(coils, H, W)` [`Complex32`]; single-coil data has one coil. Images are
//! `(h, w)` `f32` magnitudes, cropped to the reconstruction size.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ndarray::{Array2, Array3};
use serde::de::DeserializeOwned;
use serde_yaml::Mapping;

use crate::io::Geometry;
use crate::mask::Mask;
use crate::Complex32;

/// Kind of data passed between stages, used to check a pipeline before it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Data {
    /// Before the first stage.
    Nothing,
    /// Fully sampled (or as acquired) k-space slices.
    KSpace,
    /// K-space slices with a sampling mask applied.
    MaskedKSpace,
    /// Reconstructed magnitude images.
    Image,
}

impl fmt::Display for Data {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Data::Nothing => "no input",
            Data::KSpace => "k-space",
            Data::MaskedKSpace => "masked k-space",
            Data::Image => "an image",
        })
    }
}

/// Failure inside a stage.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    #[error(transparent)]
    Io(#[from] crate::io::IoError),
    #[error(transparent)]
    Mask(#[from] crate::mask::MaskError),
    #[error(transparent)]
    Metrics(#[from] crate::metrics::MetricsError),
    #[error(transparent)]
    Transform(#[from] crate::transforms::TransformError),
    /// The data does not suit the stage (a missing earlier stage, a wrong shape).
    #[error("{0}")]
    Invalid(String),
    /// An error from a user-defined stage.
    #[error(transparent)]
    Custom(Box<dyn std::error::Error + Send + Sync>),
}

/// Reads the slices of one input volume; set by the source stage in [`Stage::begin_volume`].
pub trait KSpaceSource: Send + Sync {
    /// Reads the k-space of one slice, `(coils, H, W)`.
    fn read_kspace(&self, slice: usize) -> Result<Array3<Complex32>, StageError>;
    /// Reads the reference image of one slice, when the input has one.
    fn read_target(&self, slice: usize) -> Result<Option<Array2<f32>>, StageError>;
}

/// Shape of a volume's k-space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct VolumeShape {
    pub slices: usize,
    pub coils: usize,
    pub height: usize,
    pub width: usize,
}

/// One input volume while it is processed.
pub struct Volume {
    /// Input file.
    pub path: PathBuf,
    /// File name, which also names the outputs and seeds fastMRI masks.
    pub name: String,
    /// Slice reader, set by the source stage.
    pub source: Option<Box<dyn KSpaceSource>>,
    /// K-space shape, set by the source stage.
    pub shape: VolumeShape,
    /// Encoded and reconstruction sizes and phase-encode padding, set by the source stage.
    pub geometry: Option<Geometry>,
    /// Mask stored in the input file, if any.
    pub stored_mask: Option<Mask>,
    /// Mask applied to every slice, set by a mask stage.
    pub mask: Option<Arc<Mask>>,
    /// Values that stages report for this volume (acceleration, sample counts, attributes).
    pub values: BTreeMap<String, serde_json::Value>,
}

impl Volume {
    /// Creates the state of a volume that no stage has seen yet.
    pub fn new(path: &Path) -> Self {
        let name = path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        Self {
            path: path.to_path_buf(),
            name,
            source: None,
            shape: VolumeShape::default(),
            geometry: None,
            stored_mask: None,
            mask: None,
            values: BTreeMap::new(),
        }
    }

    /// Returns the slice reader, or an error naming the stage that needs it.
    ///
    /// # Errors
    ///
    /// [`StageError::Invalid`] when no source stage ran before.
    pub fn source(&self) -> Result<&dyn KSpaceSource, StageError> {
        self.source
            .as_deref()
            .ok_or_else(|| StageError::Invalid("no source stage opened this volume".into()))
    }
}

/// One slice on its way through the stages.
#[derive(Debug, Default)]
pub struct Slice {
    /// Zero-based slice index in the volume.
    pub index: usize,
    /// K-space `(coils, H, W)`; dropped once every stage has seen the slice.
    pub kspace: Option<Array3<Complex32>>,
    /// Reference image `(h, w)`, when the input has one.
    pub target: Option<Array2<f32>>,
    /// Reconstructed image `(h, w)`.
    pub image: Option<Array2<f32>>,
    /// Images that stages keep for previews, by name.
    pub previews: Vec<(String, Array2<f32>)>,
}

impl Slice {
    /// Returns the slice's k-space, or an error when no stage has produced it.
    ///
    /// # Errors
    ///
    /// [`StageError::Invalid`] when the k-space is absent.
    pub fn kspace_mut(&mut self) -> Result<&mut Array3<Complex32>, StageError> {
        self.kspace
            .as_mut()
            .ok_or_else(|| StageError::Invalid(format!("slice {} has no k-space", self.index)))
    }
}

/// Outputs of a volume after all stages ran.
#[derive(Debug, Default)]
pub struct VolumeOutput {
    /// Input file.
    pub input: PathBuf,
    /// File name of the input.
    pub name: String,
    /// Number of slices.
    pub slices: usize,
    /// Reconstruction `(slices, h, w)`.
    pub reconstruction: Option<Array3<f32>>,
    /// Reference volume `(slices, h, w)`, when the input has one.
    pub target: Option<Array3<f32>>,
    /// Metric values by name, in the order the metrics stage computed them.
    pub metrics: Vec<(String, f64)>,
    /// Values that stages reported (see [`Volume::values`]).
    pub values: BTreeMap<String, serde_json::Value>,
    /// Files written for this volume.
    pub files: Vec<PathBuf>,
    /// Preview images of the middle slice, by name.
    pub previews: Vec<(String, Array2<f32>)>,
}

/// A processing step of a pipeline.
///
/// Every method has a default, so a stage implements only what it does. Implementations are
/// shared across threads: per-volume state lives in [`Volume`], per-slice data in [`Slice`].
pub trait Stage: Send + Sync {
    /// Kinds of data this stage takes.
    fn accepts(&self) -> &'static [Data];

    /// Kind of data this stage passes on, given what it receives. Default: unchanged.
    fn output(&self, input: Data) -> Data {
        input
    }

    /// Input files, for a source stage that names its own (such as `load` with `path`).
    ///
    /// # Errors
    ///
    /// [`StageError::Io`] when the configured path cannot be listed.
    fn inputs(&self) -> Option<Result<Vec<PathBuf>, StageError>> {
        None
    }

    /// Files this stage writes for an input; a batch run skips inputs whose outputs all exist.
    fn outputs_for(&self, _input: &Path) -> Vec<PathBuf> {
        Vec::new()
    }

    /// Prepares per-volume state before any slice is processed.
    ///
    /// # Errors
    ///
    /// Any [`StageError`]; the volume is then reported as failed.
    fn begin_volume(&self, _volume: &mut Volume) -> Result<(), StageError> {
        Ok(())
    }

    /// Processes one slice.
    ///
    /// # Errors
    ///
    /// Any [`StageError`]; the volume is then reported as failed.
    fn process_slice(&self, _volume: &Volume, _slice: &mut Slice) -> Result<(), StageError> {
        Ok(())
    }

    /// Finishes a volume once all its slices are processed.
    ///
    /// # Errors
    ///
    /// Any [`StageError`]; the volume is then reported as failed.
    fn end_volume(&self, _volume: &Volume, _output: &mut VolumeOutput) -> Result<(), StageError> {
        Ok(())
    }
}

/// An invalid stage parameter: the key (a path such as `accelerations[1]`) and what is wrong.
#[derive(Debug, Clone, thiserror::Error)]
#[error("parameter `{key}`: {message}")]
pub struct ParamError {
    pub key: String,
    pub message: String,
}

impl ParamError {
    /// Creates an error for `key`.
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// The parameters of one stage entry, as written in the pipeline file.
#[derive(Debug, Clone)]
pub struct StageParams {
    mapping: Mapping,
}

impl StageParams {
    /// Wraps a mapping of parameters.
    pub fn new(mapping: Mapping) -> Self {
        Self { mapping }
    }

    /// Deserialises the parameters into a stage's configuration type. Use
    /// `#[serde(deny_unknown_fields)]` on it so that misspelt keys are rejected.
    ///
    /// # Errors
    ///
    /// [`ParamError`] with the path of the offending key.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, ParamError> {
        let value = serde_yaml::Value::Mapping(self.mapping.clone());
        serde_path_to_error::deserialize(value).map_err(|error| {
            let path = error.path().to_string();
            let inner = error.into_inner().to_string();
            let key =
                unknown_field(&inner).unwrap_or(if path == "." { String::new() } else { path });
            ParamError::new(key, inner)
        })
    }
}

/// Extracts the key from serde's "unknown field `name`, expected ..." message, since
/// serde_path_to_error reports the enclosing path for it.
fn unknown_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    Some(rest.split('`').next()?.to_string())
}
