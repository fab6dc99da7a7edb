//! Writer of fastMRI reconstruction ("submission") files: one float32 dataset `reconstruction`
//! of shape `(slices, h, w)`, which fastMRI's evaluator reads.
//!
//! Files are written under a temporary name in the destination folder, `.NAME.PID-N.partial`, and
//! renamed onto `NAME` only when every slice is written, so an interrupted run never leaves a
//! truncated file under the final name.

use std::path::{Path, PathBuf};

use ndarray::{s, ArrayView2, ArrayView3};

use super::error::IoError;
use super::fastmri::check_finite;

/// Name of the dataset in reconstruction files.
pub const RECONSTRUCTION_DATASET: &str = "reconstruction";

/// Counter that makes temporary names unique within a process.
static NEXT_TEMPORARY: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Temporary file beside a destination, removed on drop unless committed.
#[derive(Debug)]
pub(crate) struct PartialFile {
    destination: PathBuf,
    temporary: PathBuf,
    committed: bool,
}

impl PartialFile {
    /// Chooses the temporary name `.NAME.PID-N.partial` beside `destination`; the process id
    /// and a per-process counter keep two concurrent writers of the same file apart.
    pub(crate) fn new(destination: &Path) -> Result<Self, IoError> {
        let name = destination.file_name().ok_or_else(|| IoError::File {
            path: destination.to_owned(),
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "the destination path has no file name",
            ),
        })?;
        let mut temporary_name = std::ffi::OsString::from(".");
        temporary_name.push(name);
        let count = NEXT_TEMPORARY.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        temporary_name.push(format!(".{}-{count}.partial", std::process::id()));
        Ok(Self {
            destination: destination.to_owned(),
            temporary: destination.with_file_name(temporary_name),
            committed: false,
        })
    }

    pub(crate) fn temporary(&self) -> &Path {
        &self.temporary
    }

    /// Renames the temporary file onto the destination.
    pub(crate) fn commit(mut self) -> Result<PathBuf, IoError> {
        std::fs::rename(&self.temporary, &self.destination).map_err(|source| IoError::File {
            path: self.destination.clone(),
            source,
        })?;
        self.committed = true;
        Ok(self.destination.clone())
    }
}

impl Drop for PartialFile {
    fn drop(&mut self) {
        if !self.committed {
            // The temporary may not exist yet, and a failed removal leaves only a hidden file.
            let _ = std::fs::remove_file(&self.temporary);
        }
    }
}

/// Creates an HDF5 file at the temporary name of `partial`.
pub(crate) fn create_hdf5(
    partial: &PartialFile,
    destination: &Path,
) -> Result<hdf5::File, IoError> {
    super::silence_hdf5();
    hdf5::File::create(partial.temporary()).map_err(|source| IoError::Hdf5 {
        path: destination.to_owned(),
        object: format!("temporary file {}", partial.temporary().display()),
        source,
    })
}

/// Writer of one reconstruction file, slice by slice.
///
/// Dropping the writer without [`ReconstructionWriter::finish`] removes the temporary file and
/// leaves the destination untouched.
#[derive(Debug)]
pub struct ReconstructionWriter {
    // Declared before `partial` so that the HDF5 file closes before the temporary is removed.
    dataset: hdf5::Dataset,
    file: hdf5::File,
    partial: PartialFile,
    path: PathBuf,
    shape: [usize; 3],
    written: Vec<bool>,
}

impl ReconstructionWriter {
    /// Creates the temporary file with an empty `reconstruction` dataset of shape
    /// `(slices, h, w)`.
    ///
    /// # Errors
    ///
    /// [`IoError::InvalidShape`] when a size is 0; [`IoError::Hdf5`] or [`IoError::File`] when
    /// the temporary file cannot be created.
    pub fn create(
        path: impl AsRef<Path>,
        slices: usize,
        h: usize,
        w: usize,
    ) -> Result<Self, IoError> {
        let path = path.as_ref().to_owned();
        let shape = [slices, h, w];
        if shape.contains(&0) {
            return Err(IoError::InvalidShape {
                path,
                dataset: RECONSTRUCTION_DATASET.to_owned(),
                found: shape.to_vec(),
                expected: "(slices, h, w), all sizes > 0".to_owned(),
            });
        }
        let partial = PartialFile::new(&path)?;
        let file = create_hdf5(&partial, &path)?;
        let dataset = file
            .new_dataset::<f32>()
            .shape(shape)
            .create(RECONSTRUCTION_DATASET)
            .map_err(|source| IoError::Hdf5 {
                path: path.clone(),
                object: RECONSTRUCTION_DATASET.to_owned(),
                source,
            })?;
        Ok(Self {
            dataset,
            file,
            partial,
            path,
            shape,
            written: vec![false; slices],
        })
    }

    /// Returns the destination path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes slice `index`, of shape `(h, w)`. Writing a slice again replaces it.
    ///
    /// # Errors
    ///
    /// [`IoError::SliceOutOfRange`], [`IoError::InvalidShape`] for a slice of the wrong shape,
    /// [`IoError::NonFinite`] for a slice containing NaN or infinity, [`IoError::Hdf5`].
    pub fn write_slice(&mut self, index: usize, slice: &ArrayView2<f32>) -> Result<(), IoError> {
        let [slices, h, w] = self.shape;
        if index >= slices {
            return Err(IoError::SliceOutOfRange {
                path: self.path.clone(),
                dataset: RECONSTRUCTION_DATASET.to_owned(),
                index,
                slices,
            });
        }
        if slice.shape() != [h, w] {
            return Err(IoError::InvalidShape {
                path: self.path.clone(),
                dataset: RECONSTRUCTION_DATASET.to_owned(),
                found: slice.shape().to_vec(),
                expected: format!("({h}, {w}) for slice {index}"),
            });
        }
        check_finite(&self.path, RECONSTRUCTION_DATASET, index, slice, |v| {
            v.is_finite()
        })?;
        let contiguous = slice.as_standard_layout();
        self.dataset
            .write_slice(&contiguous, s![index, .., ..])
            .map_err(|source| IoError::Hdf5 {
                path: self.path.clone(),
                object: RECONSTRUCTION_DATASET.to_owned(),
                source,
            })?;
        self.written[index] = true;
        Ok(())
    }

    /// Closes the file and renames it onto the destination, replacing any file there.
    ///
    /// Returns the destination path.
    ///
    /// # Errors
    ///
    /// [`IoError::IncompleteWrite`] when a slice was never written (the temporary file is then
    /// removed); [`IoError::Hdf5`] or [`IoError::File`] when closing or renaming fails.
    pub fn finish(self) -> Result<PathBuf, IoError> {
        let missing: Vec<usize> = (0..self.written.len())
            .filter(|&i| !self.written[i])
            .collect();
        if !missing.is_empty() {
            return Err(IoError::IncompleteWrite {
                path: self.path,
                missing,
            });
        }
        let Self {
            dataset,
            file,
            partial,
            path,
            ..
        } = self;
        drop(dataset);
        file.close().map_err(|source| IoError::Hdf5 {
            path,
            object: "file".to_owned(),
            source,
        })?;
        partial.commit()
    }
}

/// Writes a whole reconstruction volume `(slices, h, w)` to `path`.
///
/// # Errors
///
/// As [`ReconstructionWriter::create`], [`ReconstructionWriter::write_slice`] and
/// [`ReconstructionWriter::finish`].
pub fn write_reconstruction(
    path: impl AsRef<Path>,
    volume: &ArrayView3<f32>,
) -> Result<(), IoError> {
    let (slices, h, w) = volume.dim();
    let mut writer = ReconstructionWriter::create(path, slices, h, w)?;
    for (index, slice) in volume.outer_iter().enumerate() {
        writer.write_slice(index, &slice)?;
    }
    writer.finish().map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_name_is_hidden_beside_destination() {
        let first = PartialFile::new(Path::new("out/file1000001.h5")).unwrap();
        let second = PartialFile::new(Path::new("out/file1000001.h5")).unwrap();
        for partial in [&first, &second] {
            let name = partial.temporary().file_name().unwrap().to_str().unwrap();
            assert_eq!(partial.temporary().parent(), Some(Path::new("out")));
            assert!(name.starts_with(".file1000001.h5."), "{name}");
            assert!(name.ends_with(".partial"), "{name}");
        }
        assert_ne!(first.temporary(), second.temporary());
    }

    #[test]
    fn destination_without_file_name_is_rejected() {
        assert!(PartialFile::new(Path::new("/")).is_err());
    }
}
