//! The error type of every file-format operation.

use std::path::PathBuf;

use super::header::HeaderError;

/// Failure to read or write a fastMRI, reconstruction or BART file.
///
/// Every variant names the file; variants about one dataset name it too, and type or shape
/// errors carry what was found and what was expected.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IoError {
    /// The file is missing, empty, truncated or not an HDF5 file.
    #[error("cannot open {}: {reason}", path.display())]
    Open { path: PathBuf, reason: String },

    /// A dataset that the operation needs is not in the file.
    #[error(
        "{}: dataset `{dataset}` not found (datasets present: {present}); {hint}",
        path.display()
    )]
    MissingDataset {
        path: PathBuf,
        dataset: String,
        present: String,
        hint: &'static str,
    },

    /// A dataset's element type is not one the reader accepts.
    #[error(
        "{}: dataset `{dataset}` has type {found}, expected {expected}",
        path.display()
    )]
    UnsupportedType {
        path: PathBuf,
        dataset: String,
        found: String,
        expected: String,
    },

    /// A dataset or an array to be written has the wrong number of dimensions or sizes.
    #[error(
        "{}: dataset `{dataset}` has shape {}, expected {expected}",
        path.display(),
        format_shape(found)
    )]
    InvalidShape {
        path: PathBuf,
        dataset: String,
        found: Vec<usize>,
        expected: String,
    },

    /// A dataset contains a value outside its allowed set, such as a mask value other than 0 or 1.
    #[error("{}: dataset `{dataset}` is invalid: {reason}", path.display())]
    InvalidValue {
        path: PathBuf,
        dataset: String,
        reason: String,
    },

    /// A slice read from or written to a file contains NaN or infinity.
    #[error(
        "{}: slice {slice} of dataset `{dataset}` contains {count} non-finite values \
         (NaN or infinity), the first at index {first:?} within the slice; \
         the data is corrupt or was computed from invalid input",
        path.display()
    )]
    NonFinite {
        path: PathBuf,
        dataset: String,
        slice: usize,
        count: usize,
        first: Vec<usize>,
    },

    /// A slice index is not smaller than the number of slices.
    #[error(
        "{}: slice {index} is out of range for dataset `{dataset}`, which has {slices} slices",
        path.display()
    )]
    SliceOutOfRange {
        path: PathBuf,
        dataset: String,
        index: usize,
        slices: usize,
    },

    /// The `ismrmrd_header` dataset is present but cannot be used.
    #[error("{}: invalid `ismrmrd_header`: {source}", path.display())]
    InvalidHeader { path: PathBuf, source: HeaderError },

    /// A root attribute with a fastMRI meaning has the wrong type.
    #[error(
        "{}: attribute `{name}` has type {found}, expected {expected}",
        path.display()
    )]
    InvalidAttribute {
        path: PathBuf,
        name: String,
        found: String,
        expected: String,
    },

    /// An HDF5 library call failed on an object that passed the checks above.
    #[error("{}: HDF5 operation on `{object}` failed: {source}", path.display())]
    Hdf5 {
        path: PathBuf,
        object: String,
        source: hdf5::Error,
    },

    /// An operating-system file operation failed.
    #[error("{}: {source}", path.display())]
    File {
        path: PathBuf,
        source: std::io::Error,
    },

    /// A BART `.hdr` file has no `# Dimensions` section or invalid sizes.
    #[error("{}: invalid BART header: {reason}", path.display())]
    InvalidCflHeader { path: PathBuf, reason: String },

    /// A BART `.cfl` file's size does not match the dimensions in its `.hdr`.
    #[error(
        "{}: BART data file has {found} bytes, expected {expected} for dimensions {dims:?} \
         (8 bytes per complex64 sample); the .cfl file is truncated or belongs to another .hdr",
        path.display()
    )]
    CflSize {
        path: PathBuf,
        found: u64,
        expected: u64,
        dims: Vec<usize>,
    },

    /// A BART array uses dimensions that the fastMRI layout has no axis for.
    #[error(
        "{}: BART dimensions {dims} are larger than 1, but the fastMRI layout has axes only for \
         0 READ, 1 PHS1, 3 COIL and 13 SLICE; reduce the others first, for example with \
         `bart slice` or `bart avg`",
        path.display()
    )]
    UnsupportedDimensions { path: PathBuf, dims: String },

    /// [`ReconstructionWriter::finish`](super::ReconstructionWriter::finish) was called before
    /// every slice was written.
    #[error(
        "{}: slices {missing:?} were never written; call write_slice for every slice before finish",
        path.display()
    )]
    IncompleteWrite { path: PathBuf, missing: Vec<usize> },

    /// The file format cannot be detected from the file name.
    #[error(
        "{}: unknown file format; expected {expected}",
        path.display()
    )]
    UnknownFormat { path: PathBuf, expected: String },
}

/// Formats a shape the way numpy prints it: `(640, 368)`, `(368,)`, `()`.
pub(crate) fn format_shape(shape: &[usize]) -> String {
    match shape {
        [] => "()".to_owned(),
        [n] => format!("({n},)"),
        _ => {
            let sizes: Vec<String> = shape.iter().map(usize::to_string).collect();
            format!("({})", sizes.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::format_shape;

    #[test]
    fn shape_formats_like_numpy() {
        assert_eq!(format_shape(&[]), "()");
        assert_eq!(format_shape(&[368]), "(368,)");
        assert_eq!(format_shape(&[2, 640, 368]), "(2, 640, 368)");
    }
}
