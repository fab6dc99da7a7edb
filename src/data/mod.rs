//! Data sets for the classification experiments: MNIST read from the official IDX files.
//!
//! Layout shared by every split:
//!
//! - An image is 28 x 28 pixels stored row-major (row, then column), as in the IDX files.
//! - A split stores all its examples in one contiguous `Vec<f32>` of shape `(n, features)`.
//! - In the pixel domain `features = 784`, with pixels as `u8 / 255` in `[0, 1]`.
//! - In the Fourier domain `features = 1568`, and each example is `(2, 28, 28)`: the real part
//!   of the centred orthonormal 2-D DFT, then the imaginary part, each row-major with the DC bin
//!   at `(14, 14)` ([`fourier`]). Bin `f` of the 784 candidates is input `f` (real part) and
//!   input `784 + f` (imaginary part), so a k-space mask applies to both halves alike.
//! - Labels are digits `0..=9`, stored as `u8` and copied into batches as `i64`, the class index
//!   type of cross-entropy losses.
//!
//! Every permutation (the validation/test split, a training subset, the order of an epoch) comes
//! from [`SplitMix64`], a self-contained generator, so a seed gives the same data on every
//! platform and with every dependency version.

pub mod batch;
pub mod fourier;
pub mod idx;
pub mod mnist;
pub mod rng;

use std::path::PathBuf;

pub use batch::{Batch, BatchLoader};
pub use fourier::CenteredDft;
pub use idx::{IdxArray, IdxImages};
pub use mnist::{Domain, Mnist, MnistConfig, MnistFiles, Split};
pub use rng::SplitMix64;

/// Errors of reading and splitting a data set.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// A file could not be opened or read.
    #[error("failed to read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A file starts with the gzip magic bytes but does not decompress.
    #[error("failed to decompress gzip file {path}: {source}; fetch the file again")]
    Gzip {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The first two bytes of an IDX file are not zero, or it declares zero dimensions.
    #[error(
        "{path} is not an IDX file: magic bytes {found:02x?}, expected 00 00 then a type code \
         and a dimension count of at least 1"
    )]
    BadMagic { path: PathBuf, found: [u8; 4] },

    /// The IDX type code is not 0x08 (unsigned byte), the only type MNIST uses.
    #[error(
        "{path} has IDX type code 0x{type_code:02x} ({type_name}); only 0x08 (unsigned byte) \
         is supported"
    )]
    UnsupportedType {
        path: PathBuf,
        type_code: u8,
        type_name: &'static str,
    },

    /// The file has a different number of dimensions than the data it must contain.
    #[error("{path} has {found} dimensions, expected {expected} ({axes})")]
    WrongDimensionCount {
        path: PathBuf,
        axes: &'static str,
        expected: usize,
        found: usize,
    },

    /// Image files hold images of a size other than the expected one.
    #[error("{path} holds {rows} x {cols} images, expected {expected_rows} x {expected_cols}")]
    WrongImageSize {
        path: PathBuf,
        rows: usize,
        cols: usize,
        expected_rows: usize,
        expected_cols: usize,
    },

    /// The file ends before the header or the data that the header declares.
    #[error(
        "{path} is truncated: the header declares sizes {dims:?}, which need {expected_bytes} \
         bytes in total, but the file has {found_bytes}; fetch the file again"
    )]
    Truncated {
        path: PathBuf,
        dims: Vec<u32>,
        expected_bytes: u64,
        found_bytes: u64,
    },

    /// The file is longer than its header declares.
    #[error(
        "{path} has {found_bytes} bytes but its header declares sizes {dims:?}, which need \
         {expected_bytes}; the file is corrupt or not an IDX file"
    )]
    TrailingBytes {
        path: PathBuf,
        dims: Vec<u32>,
        expected_bytes: u64,
        found_bytes: u64,
    },

    /// The product of the declared sizes does not fit in memory addresses.
    #[error("{path} declares sizes {dims:?}, whose product overflows; the header is corrupt")]
    SizeOverflow { path: PathBuf, dims: Vec<u32> },

    /// An image file and its label file hold different numbers of examples.
    #[error(
        "{images_path} holds {images} images but {labels_path} holds {labels} labels; \
         the two files must come from the same split"
    )]
    CountMismatch {
        images_path: PathBuf,
        labels_path: PathBuf,
        images: usize,
        labels: usize,
    },

    /// A label is not a digit.
    #[error("{path}: label {label} at index {index} is outside 0..=9")]
    LabelOutOfRange {
        path: PathBuf,
        index: usize,
        label: u8,
    },

    /// Examples given to [`Split::new`] do not fill one row per label.
    #[error(
        "a split of {labels} labels with {features} features each needs {} values, got {values}",
        labels * features
    )]
    SplitShape {
        values: usize,
        labels: usize,
        features: usize,
    },

    /// A data set file was found neither plain nor gzip-compressed.
    #[error(
        "{name} not found in {dir} (neither {name} nor {name}.gz); run scripts/fetch_mnist.sh \
         or point the configuration at the folder that holds the MNIST files"
    )]
    MissingFile { dir: PathBuf, name: &'static str },

    /// A configuration value is invalid.
    #[error("invalid MNIST configuration: {field}: {reason}")]
    InvalidConfig { field: &'static str, reason: String },
}
