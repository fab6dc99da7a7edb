//! Errors of the metrics subsystem.

use std::path::PathBuf;

/// Everything that can go wrong while scoring volumes or evaluating a directory of
/// reconstructions.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// Target and prediction have different shapes.
    #[error(
        "target shape {target:?} differs from prediction shape {prediction:?}; \
         crop or resample the prediction to the target shape before scoring"
    )]
    ShapeMismatch {
        /// Shape of the target, `(slices, h, w)` for volumes.
        target: Vec<usize>,
        /// Shape of the prediction.
        prediction: Vec<usize>,
    },

    /// A volume without slices or an image without pixels.
    #[error("cannot score an empty array of shape {shape:?}")]
    Empty {
        /// Shape of the empty array.
        shape: Vec<usize>,
    },

    /// An image is smaller than the SSIM window in one of its two dimensions.
    #[error(
        "image of {height}x{width} pixels is smaller than the {window}x{window} SSIM window; \
         SSIM needs images of at least {window}x{window}"
    )]
    ImageSmallerThanWindow {
        /// Image height.
        height: usize,
        /// Image width.
        width: usize,
        /// Side of the square window.
        window: usize,
    },

    /// The data range of PSNR or SSIM is zero, negative or not finite.
    #[error(
        "invalid data range {value} ({origin}); the data range must be a finite positive number"
    )]
    InvalidDataRange {
        /// The rejected value.
        value: f64,
        /// Source of the value: a configuration or the target volume maximum.
        origin: &'static str,
    },

    /// NMSE is undefined because the target is zero everywhere.
    #[error("NMSE is undefined for a target whose norm is zero")]
    ZeroTargetNorm,

    /// A metric name in a configuration is not known.
    #[error("unknown metric `{name}`; valid names are {valid}")]
    UnknownMetric {
        /// The rejected name.
        name: String,
        /// Comma-separated list of valid names.
        valid: String,
    },

    /// A metric that needs a fixed data range was configured without one.
    #[error(
        "metric `{name}` needs a `data_range` (1 for images in [0, 1], 10 for the \
         lines-and-circles images)"
    )]
    MissingDataRange {
        /// The metric name.
        name: String,
    },

    /// A `data_range` was given to a metric that has none.
    #[error("metric `{name}` takes no `data_range`; remove the option")]
    UnexpectedDataRange {
        /// The metric name.
        name: String,
    },

    /// The same metric appears twice in one table.
    #[error("metric `{key}` is listed twice; list each metric once")]
    DuplicateMetric {
        /// Key of the repeated metric.
        key: String,
    },

    /// A table was created without metrics.
    #[error("a metric table needs at least one metric")]
    NoMetrics,

    /// Per-volume values do not line up with the metrics of a table.
    #[error("volume `{volume}` has {found} values but the table has {expected} metrics")]
    ValueCountMismatch {
        /// Name of the volume.
        volume: String,
        /// Number of metrics in the table.
        expected: usize,
        /// Number of values given.
        found: usize,
    },

    /// Two tables with different metrics were merged.
    #[error(
        "cannot merge tables with metrics [{left}] and [{right}]; score both with the same metrics"
    )]
    MetricsDiffer {
        /// Keys of the receiving table.
        left: String,
        /// Keys of the other table.
        right: String,
    },

    /// A directory could not be listed.
    #[error("failed to list directory {path}: {source}")]
    ReadDir {
        /// The directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },

    /// The HDF5 library reported an error on a file, dataset or attribute.
    #[error("failed to read {object} in {path}: {source}")]
    Hdf5 {
        /// The file.
        path: PathBuf,
        /// The dataset or attribute, or `file` when opening the file failed.
        object: String,
        /// The underlying error.
        source: hdf5::Error,
    },

    /// A dataset or attribute has a type this reader does not accept.
    #[error("{object} in {path} has type {found}; expected {expected}")]
    UnsupportedType {
        /// The file.
        path: PathBuf,
        /// The dataset or attribute.
        object: String,
        /// The type found in the file.
        found: String,
        /// The accepted types.
        expected: &'static str,
    },

    /// A dataset is not three-dimensional.
    #[error("dataset `{dataset}` in {path} has shape {shape:?}; expected (slices, h, w)")]
    NotAVolume {
        /// The file.
        path: PathBuf,
        /// The dataset.
        dataset: String,
        /// The shape found.
        shape: Vec<usize>,
    },

    /// A root attribute needed by a filter is missing.
    #[error(
        "{path} has no root attribute `{attribute}`, which the {attribute} filter needs; \
         drop the filter or add the attribute"
    )]
    MissingAttribute {
        /// The file.
        path: PathBuf,
        /// The attribute.
        attribute: String,
    },

    /// A volume is too small for the centre crop the evaluation needs.
    #[error(
        "dataset `{dataset}` in {path} has shape {shape:?}, too small for the {height}x{width} \
         centre crop set by the target width"
    )]
    CropTooLarge {
        /// The file.
        path: PathBuf,
        /// The dataset.
        dataset: String,
        /// The shape of the dataset.
        shape: Vec<usize>,
        /// Crop height.
        height: usize,
        /// Crop width.
        width: usize,
    },

    /// Scoring one volume of an evaluation failed.
    #[error("failed to score {path}: {source}")]
    Volume {
        /// The target file.
        path: PathBuf,
        /// The underlying error.
        source: Box<MetricsError>,
    },

    /// No target volume was left to score.
    #[error(
        "no volume to score: {targets} target files in {target_dir}, {filtered_out} excluded by \
         the acquisition or acceleration filter, {missing} without a prediction in \
         {predictions_dir}; check both paths and the filters"
    )]
    NothingToScore {
        /// The target directory.
        target_dir: PathBuf,
        /// The predictions directory.
        predictions_dir: PathBuf,
        /// Number of target files found.
        targets: usize,
        /// Number of targets excluded by the filters.
        filtered_out: usize,
        /// Number of selected targets without a prediction file.
        missing: usize,
    },
}
