//! File formats: fastMRI HDF5 volumes, fastMRI reconstruction files and BART `.cfl`/`.hdr`.
//!
//! # Axis order
//!
//! fastMRI k-space is `(slices, coils, H, W)` for multi-coil files and `(slices, H, W)` for
//! single-coil files, with `H` the readout axis and `W` the phase-encode axis that line masks
//! select. [`FastMriFile::read_slice`] returns `(coils, H, W)` for both, with `coils = 1` for
//! single-coil files. Targets and reconstructions are `(slices, h, w)` float32 magnitude images.
//!
//! BART arrays keep BART's order: the first dimension varies fastest (column-major), and the 16
//! dimensions have fixed meanings (0 READ, 1 PHS1, 3 COIL, 13 SLICE, ...). [`read_cfl`] returns
//! an array whose axes are the `.hdr` dimensions in that order, in Fortran memory layout.
//! [`convert`] maps between the two layouts: READ to `H`, PHS1 to `W`, COIL to coils and SLICE to
//! slices.
//!
//! # Complex layout
//!
//! Samples are [`Complex32`] (interleaved `re, im` f32 pairs). On disk, h5py stores numpy's
//! complex64 as an HDF5 compound of two float32 members `r` and `i`; the writers here produce
//! exactly that. The reader also accepts members named `real` and `imag`, and float64 members,
//! which it rounds to f32. BART `.cfl` files are raw little-endian complex64.
//!
//! # Other on-disk types
//!
//! Masks may be numpy bool (an HDF5 enum over int8 with `FALSE = 0`, `TRUE = 1`), any integer
//! type or any float type, with every value 0 or 1. Strings may be variable-length or
//! fixed-length, ASCII or UTF-8. Numeric attributes may be any integer or float type. Anything
//! else is rejected with an [`IoError`] that names the file, the dataset, the type or shape found
//! and what was expected.
//!
//! # HDF5 diagnostics
//!
//! The HDF5 library prints its error stack to stderr by default. Every entry point here switches
//! that off for the calling thread, so callers see only the returned [`IoError`].
//!
//! [`Complex32`]: crate::Complex32

mod attributes;
pub mod cfl;
mod convert;
mod dtype;
mod error;
mod fastmri;
mod header;
mod inspect;
mod kspace_writer;
mod png;
mod reconstruction;

pub use attributes::{AttributeValue, RootAttributes};
pub use cfl::{read_cfl, read_cfl_dims, write_cfl, BART_DIMENSION_NAMES};
pub use convert::{
    cfl_to_fastmri_layout, convert, fastmri_to_cfl_dims, ConvertOptions, FileFormat, RssTargetFn,
};
pub use error::IoError;
pub use fastmri::{FastMriFile, KspaceShape, StoredMask, TARGET_NAMES};
pub use header::{Geometry, GeometrySource, HeaderError, DEFAULT_RECON_WIDTH, ISMRMRD_NAMESPACE};
pub use inspect::{inspect, DatasetInfo, Inspection, MaskSummary};
pub use kspace_writer::{write_kspace_file, KspaceFileOptions};
pub use png::{write_png, Scaling};
pub use reconstruction::{write_reconstruction, ReconstructionWriter, RECONSTRUCTION_DATASET};

/// Opens an HDF5 file read-only without HDF5's file lock.
///
/// HDF5 1.10 takes a `flock` on every open. A reader needs none, and the lock fails with
/// "unable to lock file, errno = 11" when another open handle in the process (a writer that has
/// not released the file yet) or on an NFS mount holds one, which is the case h5py users meet
/// as HDF5_USE_FILE_LOCKING=FALSE.
pub(crate) fn open_for_reading(path: &std::path::Path) -> hdf5::Result<hdf5::File> {
    hdf5::File::with_options()
        .with_fapl(|fapl| fapl.file_locking(false))
        .open(path)
}

/// Switches off the HDF5 library's error printing on this thread.
///
/// The `hdf5` crate already does this once per thread on its first call. Calling it again at
/// every entry point keeps stderr quiet even if a caller switched printing back on.
fn silence_hdf5() {
    hdf5::silence_errors(true);
}
