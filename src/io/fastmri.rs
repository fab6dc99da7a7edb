//! Reader of fastMRI HDF5 volumes, one slice at a time.
//!
//! A 15-coil knee volume is about 1 GB, so k-space is only ever read as one slice (a hyperslab
//! of shape `(coils, H, W)`): memory stays near one slice plus HDF5's buffers.

use std::path::{Path, PathBuf};

use hdf5::types::{H5Type, TypeDescriptor};
use ndarray::{s, Array2, Array3, ArrayBase, Data, Dimension, Ix2, Ix3};
use serde::Serialize;

use super::attributes::{read_attributes, RootAttributes};
use super::dtype::{
    complex_members, descriptor, is_mask_type, numpy_name, read_strings, BoolByte, ComplexMembers,
    RealImag,
};
use super::error::IoError;
use super::header::Geometry;
use crate::Complex32;

/// Names of the target datasets fastMRI files may contain, in the order
/// [`FastMriFile::target_names`] lists them.
pub const TARGET_NAMES: [&str; 2] = ["reconstruction_esc", "reconstruction_rss"];

pub(crate) const KSPACE: &str = "kspace";
pub(crate) const HEADER: &str = "ismrmrd_header";
pub(crate) const MASK: &str = "mask";

const KSPACE_TYPE: &str =
    "complex64: a compound {r, i} (or {real, imag}) of two float32 or float64 members";
const KSPACE_SHAPE: &str =
    "(slices, H, W) for single-coil or (slices, coils, H, W) for multi-coil, all sizes > 0";

/// Sizes of a volume's k-space.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct KspaceShape {
    /// Number of slices.
    pub slices: usize,
    /// Number of receive coils; 1 for single-coil files.
    pub coils: usize,
    /// `H`, the readout axis.
    pub height: usize,
    /// `W`, the phase-encode axis that line masks select.
    pub width: usize,
    /// Whether the file stores `(slices, coils, H, W)` rather than `(slices, H, W)`.
    pub is_multicoil: bool,
}

/// Sampling mask stored in a file's `mask` dataset (fastMRI test files, retrospective
/// undersampling).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoredMask {
    /// A 1-D mask over the `W` phase-encode columns, shared by every row and coil.
    Columns(Vec<bool>),
    /// A 2-D mask over `(H, W)`, shared by every coil.
    Grid(Array2<bool>),
}

impl StoredMask {
    /// Returns the number of sampled entries (columns or grid points).
    pub fn sampled_count(&self) -> usize {
        match self {
            Self::Columns(columns) => columns.iter().filter(|&&c| c).count(),
            Self::Grid(grid) => grid.iter().filter(|&&c| c).count(),
        }
    }

    /// Returns the number of entries (columns or grid points).
    pub fn len(&self) -> usize {
        match self {
            Self::Columns(columns) => columns.len(),
            Self::Grid(grid) => grid.len(),
        }
    }

    /// Returns whether the mask has no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// An open fastMRI HDF5 volume.
///
/// Opening validates the k-space type and shape, the targets, the header and the root
/// attributes; the mask is validated when read. Samples are read per slice.
#[derive(Debug)]
pub struct FastMriFile {
    path: PathBuf,
    file: hdf5::File,
    kspace: hdf5::Dataset,
    members: ComplexMembers,
    shape: KspaceShape,
    geometry: Geometry,
    header_xml: Option<String>,
    attributes: RootAttributes,
    targets: Vec<String>,
}

impl FastMriFile {
    /// Opens a fastMRI file and validates everything but the sample values.
    ///
    /// # Errors
    ///
    /// - [`IoError::Open`] when the file is missing, empty, truncated or not HDF5;
    /// - [`IoError::MissingDataset`] when there is no `kspace`;
    /// - [`IoError::UnsupportedType`] or [`IoError::InvalidShape`] for a `kspace`, target or
    ///   `ismrmrd_header` of the wrong type or shape;
    /// - [`IoError::InvalidHeader`] for an unusable header;
    /// - [`IoError::InvalidAttribute`] for a fastMRI attribute of the wrong type.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, IoError> {
        let path = path.as_ref().to_owned();
        let file = open_hdf5(&path)?;
        if !file.link_exists(KSPACE) {
            return Err(IoError::MissingDataset {
                present: present_names(&file),
                path,
                dataset: KSPACE.to_owned(),
                hint: "a fastMRI file stores its k-space in a root dataset named `kspace`",
            });
        }
        let kspace = open_dataset(&path, &file, KSPACE)?;
        let members = kspace_members(&path, &kspace)?;
        let shape = kspace_shape(&path, &kspace.shape())?;

        let mut targets = Vec::new();
        let mut target_hw = None;
        for name in TARGET_NAMES.iter().filter(|name| file.link_exists(name)) {
            let hw = validate_target(&path, &file, name, shape.slices)?;
            target_hw.get_or_insert(hw);
            targets.push((*name).to_owned());
        }

        let header_xml = read_header_xml(&path, &file)?;
        let geometry = match &header_xml {
            Some(xml) => {
                Geometry::from_ismrmrd_xml(xml).map_err(|source| IoError::InvalidHeader {
                    path: path.clone(),
                    source,
                })?
            }
            None => Geometry::from_shapes(shape.height, shape.width, target_hw),
        };
        if geometry.encoded_size[..2] != [shape.height, shape.width] {
            tracing::warn!(
                path = %path.display(),
                encoded = ?geometry.encoded_size,
                kspace = ?[shape.height, shape.width],
                "ismrmrd_header encodedSpace differs from the kspace shape"
            );
        }
        let attributes = RootAttributes::from_map(&path, read_attributes(&path, &file)?)?;
        tracing::debug!(path = %path.display(), ?shape, ?targets, "opened fastMRI file");
        Ok(Self {
            path,
            file,
            kspace,
            members,
            shape,
            geometry,
            header_xml,
            attributes,
            targets,
        })
    }

    /// Returns the file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Returns the k-space sizes.
    pub fn shape(&self) -> KspaceShape {
        self.shape
    }

    /// Returns the geometry from `ismrmrd_header`, or from [`Geometry::from_shapes`] when the
    /// file has no header.
    pub fn geometry(&self) -> &Geometry {
        &self.geometry
    }

    /// Returns the `ismrmrd_header` XML, if the file has one.
    pub fn ismrmrd_header(&self) -> Option<&str> {
        self.header_xml.as_deref()
    }

    /// Returns the root attributes.
    pub fn attributes(&self) -> &RootAttributes {
        &self.attributes
    }

    /// Returns the names of the targets present, in the order of [`TARGET_NAMES`].
    pub fn target_names(&self) -> &[String] {
        &self.targets
    }

    /// Reads slice `index` of k-space as `(coils, H, W)`, with `coils = 1` for single-coil files.
    ///
    /// # Errors
    ///
    /// [`IoError::SliceOutOfRange`] for `index >= slices`, [`IoError::NonFinite`] when the slice
    /// contains NaN or infinity, [`IoError::Hdf5`] when the read fails.
    pub fn read_slice(&self, index: usize) -> Result<Array3<Complex32>, IoError> {
        self.check_index(KSPACE, index)?;
        let slice = match self.members {
            ComplexMembers::RI => self.read_kspace_hyperslab::<Complex32>(index)?,
            ComplexMembers::RealImag => self
                .read_kspace_hyperslab::<RealImag>(index)?
                .mapv(|v| Complex32::new(v.real, v.imag)),
        };
        check_finite(&self.path, KSPACE, index, &slice, |v| {
            v.re.is_finite() && v.im.is_finite()
        })?;
        Ok(slice)
    }

    fn read_kspace_hyperslab<T: H5Type>(&self, index: usize) -> Result<Array3<T>, IoError> {
        let result = if self.shape.is_multicoil {
            self.kspace.read_slice::<T, _, Ix3>(s![index, .., .., ..])
        } else {
            self.kspace
                .read_slice::<T, _, Ix3>(s![index..index + 1, .., ..])
        };
        result.map_err(|source| self.hdf5_error(KSPACE, source))
    }

    /// Reads slice `index` of target `name` as `(h, w)`.
    ///
    /// # Errors
    ///
    /// [`IoError::MissingDataset`] when the file has no target `name`,
    /// [`IoError::SliceOutOfRange`], [`IoError::NonFinite`], [`IoError::Hdf5`].
    pub fn read_target_slice(&self, name: &str, index: usize) -> Result<Array2<f32>, IoError> {
        let target = self.target_dataset(name)?;
        self.check_index(name, index)?;
        let slice = target
            .read_slice::<f32, _, Ix2>(s![index, .., ..])
            .map_err(|source| self.hdf5_error(name, source))?;
        check_finite(&self.path, name, index, &slice, |v| v.is_finite())?;
        Ok(slice)
    }

    /// Reads the whole target `name` as `(slices, h, w)`.
    ///
    /// # Errors
    ///
    /// As [`FastMriFile::read_target_slice`].
    pub fn read_target(&self, name: &str) -> Result<Array3<f32>, IoError> {
        let target = self.target_dataset(name)?;
        let volume = target
            .read::<f32, Ix3>()
            .map_err(|source| self.hdf5_error(name, source))?;
        for (index, slice) in volume.outer_iter().enumerate() {
            check_finite(&self.path, name, index, &slice, |v| v.is_finite())?;
        }
        Ok(volume)
    }

    /// Reads the `mask` dataset, if the file has one.
    ///
    /// A 1-D mask must have length `W`, a 2-D mask shape `(H, W)`. Values must be 0 or 1, stored
    /// as numpy bool, any integer type or any float type.
    ///
    /// # Errors
    ///
    /// [`IoError::UnsupportedType`], [`IoError::InvalidShape`] or [`IoError::InvalidValue`] for
    /// a mask that breaks those rules; [`IoError::Hdf5`] when the read fails.
    pub fn read_mask(&self) -> Result<Option<StoredMask>, IoError> {
        if !self.file.link_exists(MASK) {
            return Ok(None);
        }
        let dataset = open_dataset(&self.path, &self.file, MASK)?;
        let td = dataset_descriptor(&self.path, &dataset, MASK)?;
        if !is_mask_type(&td) {
            return Err(IoError::UnsupportedType {
                path: self.path.clone(),
                dataset: MASK.to_owned(),
                found: numpy_name(&td),
                expected: "bool, an integer type or a float type, with values 0 and 1".to_owned(),
            });
        }
        let shape = dataset.shape();
        let (height, width) = (self.shape.height, self.shape.width);
        if shape != [width] && shape != [height, width] {
            return Err(IoError::InvalidShape {
                path: self.path.clone(),
                dataset: MASK.to_owned(),
                found: shape,
                expected: format!("(W,) = ({width},) or (H, W) = ({height}, {width})"),
            });
        }
        let values = self.read_mask_values(&dataset, &td)?;
        if shape.len() == 1 {
            return Ok(Some(StoredMask::Columns(values)));
        }
        let grid = Array2::from_shape_vec((height, width), values)
            .expect("mask values were read for the shape just checked");
        Ok(Some(StoredMask::Grid(grid)))
    }

    fn read_mask_values(
        &self,
        dataset: &hdf5::Dataset,
        td: &TypeDescriptor,
    ) -> Result<Vec<bool>, IoError> {
        let hdf5_error = |source| self.hdf5_error(MASK, source);
        let values: Vec<f64> = match td {
            TypeDescriptor::Boolean => dataset
                .read_raw::<BoolByte>()
                .map_err(hdf5_error)?
                .into_iter()
                .map(|b| f64::from(b.0))
                .collect(),
            TypeDescriptor::Float(_) => dataset.read_raw::<f64>().map_err(hdf5_error)?,
            _ => dataset
                .read_raw::<i64>()
                .map_err(hdf5_error)?
                .into_iter()
                .map(|v| v as f64)
                .collect(),
        };
        let invalid = values.iter().position(|&v| v != 0.0 && v != 1.0);
        if let Some(position) = invalid {
            let value = match td {
                TypeDescriptor::Boolean => {
                    "a bool byte that is neither FALSE (0) nor TRUE (1)".to_owned()
                }
                _ => format!("value {}", values[position]),
            };
            return Err(IoError::InvalidValue {
                path: self.path.clone(),
                dataset: MASK.to_owned(),
                reason: format!("{value} at flat index {position}; mask values must be 0 or 1"),
            });
        }
        Ok(values.into_iter().map(|v| v == 1.0).collect())
    }

    fn target_dataset(&self, name: &str) -> Result<hdf5::Dataset, IoError> {
        if !self.targets.iter().any(|t| t == name) {
            return Err(IoError::MissingDataset {
                path: self.path.clone(),
                dataset: name.to_owned(),
                present: present_names(&self.file),
                hint: "target_names() lists the targets this file has",
            });
        }
        open_dataset(&self.path, &self.file, name)
    }

    fn check_index(&self, dataset: &str, index: usize) -> Result<(), IoError> {
        if index < self.shape.slices {
            return Ok(());
        }
        Err(IoError::SliceOutOfRange {
            path: self.path.clone(),
            dataset: dataset.to_owned(),
            index,
            slices: self.shape.slices,
        })
    }

    fn hdf5_error(&self, object: &str, source: hdf5::Error) -> IoError {
        IoError::Hdf5 {
            path: self.path.clone(),
            object: object.to_owned(),
            source,
        }
    }
}

/// Opens an HDF5 file for reading, telling missing, empty, truncated and non-HDF5 files apart.
pub(crate) fn open_hdf5(path: &Path) -> Result<hdf5::File, IoError> {
    super::silence_hdf5();
    let open_error = |reason: String| IoError::Open {
        path: path.to_owned(),
        reason,
    };
    let metadata = std::fs::metadata(path).map_err(|err| open_error(err.to_string()))?;
    if metadata.is_dir() {
        return Err(open_error("it is a directory, not a file".to_owned()));
    }
    if metadata.len() == 0 {
        return Err(open_error(
            "the file is empty (0 bytes); it was not written completely".to_owned(),
        ));
    }
    super::open_for_reading(path).map_err(|err| {
        let text = err.to_string();
        let reason = if text.contains("signature") {
            "not an HDF5 file (no HDF5 signature found)".to_owned()
        } else if text.contains("truncated") {
            format!("the HDF5 file is truncated, it was not written completely ({text})")
        } else {
            format!("HDF5 could not open it ({text})")
        };
        open_error(reason)
    })
}

pub(crate) fn open_dataset(
    path: &Path,
    file: &hdf5::File,
    name: &str,
) -> Result<hdf5::Dataset, IoError> {
    file.dataset(name).map_err(|source| IoError::Hdf5 {
        path: path.to_owned(),
        object: name.to_owned(),
        source,
    })
}

pub(crate) fn dataset_descriptor(
    path: &Path,
    dataset: &hdf5::Dataset,
    name: &str,
) -> Result<TypeDescriptor, IoError> {
    let unsupported = |found: String| IoError::UnsupportedType {
        path: path.to_owned(),
        dataset: name.to_owned(),
        found,
        expected: "a numeric, string or complex type".to_owned(),
    };
    let dtype = dataset.dtype().map_err(|e| unsupported(e.to_string()))?;
    descriptor(&dtype).map_err(unsupported)
}

/// Lists the root members for error messages.
pub(crate) fn present_names(file: &hdf5::File) -> String {
    match file.member_names() {
        Ok(names) if names.is_empty() => "none".to_owned(),
        Ok(names) => names.join(", "),
        Err(_) => "unknown".to_owned(),
    }
}

fn kspace_members(path: &Path, kspace: &hdf5::Dataset) -> Result<ComplexMembers, IoError> {
    let td = dataset_descriptor(path, kspace, KSPACE).map_err(|err| match err {
        IoError::UnsupportedType {
            path,
            dataset,
            found,
            ..
        } => IoError::UnsupportedType {
            path,
            dataset,
            found,
            expected: KSPACE_TYPE.to_owned(),
        },
        other => other,
    })?;
    complex_members(&td).ok_or_else(|| IoError::UnsupportedType {
        path: path.to_owned(),
        dataset: KSPACE.to_owned(),
        found: numpy_name(&td),
        expected: KSPACE_TYPE.to_owned(),
    })
}

fn kspace_shape(path: &Path, shape: &[usize]) -> Result<KspaceShape, IoError> {
    let invalid = || IoError::InvalidShape {
        path: path.to_owned(),
        dataset: KSPACE.to_owned(),
        found: shape.to_vec(),
        expected: KSPACE_SHAPE.to_owned(),
    };
    if shape.contains(&0) {
        return Err(invalid());
    }
    match *shape {
        [slices, height, width] => Ok(KspaceShape {
            slices,
            coils: 1,
            height,
            width,
            is_multicoil: false,
        }),
        [slices, coils, height, width] => Ok(KspaceShape {
            slices,
            coils,
            height,
            width,
            is_multicoil: true,
        }),
        _ => Err(invalid()),
    }
}

/// Checks a target's type and shape and returns its `(h, w)`.
fn validate_target(
    path: &Path,
    file: &hdf5::File,
    name: &str,
    slices: usize,
) -> Result<[usize; 2], IoError> {
    let dataset = open_dataset(path, file, name)?;
    let td = dataset_descriptor(path, &dataset, name)?;
    if !matches!(td, TypeDescriptor::Float(_)) {
        return Err(IoError::UnsupportedType {
            path: path.to_owned(),
            dataset: name.to_owned(),
            found: numpy_name(&td),
            expected: "float32 (or float64)".to_owned(),
        });
    }
    match *dataset.shape() {
        [target_slices, h, w] if target_slices == slices && h > 0 && w > 0 => Ok([h, w]),
        ref found => Err(IoError::InvalidShape {
            path: path.to_owned(),
            dataset: name.to_owned(),
            found: found.to_vec(),
            expected: format!("(slices, h, w) with slices = {slices} as in kspace"),
        }),
    }
}

fn read_header_xml(path: &Path, file: &hdf5::File) -> Result<Option<String>, IoError> {
    if !file.link_exists(HEADER) {
        return Ok(None);
    }
    let dataset = open_dataset(path, file, HEADER)?;
    let shape = dataset.shape();
    if !shape.is_empty() && shape != [1] {
        return Err(IoError::InvalidShape {
            path: path.to_owned(),
            dataset: HEADER.to_owned(),
            found: shape,
            expected: "() (a scalar string)".to_owned(),
        });
    }
    let td = dataset_descriptor(path, &dataset, HEADER)?;
    let strings = read_strings(&dataset, &td).map_err(|reason| IoError::InvalidValue {
        path: path.to_owned(),
        dataset: HEADER.to_owned(),
        reason,
    })?;
    let mut strings = strings.ok_or_else(|| IoError::UnsupportedType {
        path: path.to_owned(),
        dataset: HEADER.to_owned(),
        found: numpy_name(&td),
        expected: "a string, variable- or fixed-length".to_owned(),
    })?;
    Ok(strings.pop())
}

/// Rejects a slice that contains non-finite values, naming how many and the first one.
pub(crate) fn check_finite<S, D, T>(
    path: &Path,
    dataset: &str,
    slice: usize,
    values: &ArrayBase<S, D>,
    is_finite: impl Fn(&T) -> bool,
) -> Result<(), IoError>
where
    S: Data<Elem = T>,
    D: Dimension,
{
    let mut count = 0;
    let mut first = None;
    for (position, value) in values.iter().enumerate() {
        if !is_finite(value) {
            count += 1;
            first.get_or_insert(position);
        }
    }
    let Some(first) = first else {
        return Ok(());
    };
    Err(IoError::NonFinite {
        path: path.to_owned(),
        dataset: dataset.to_owned(),
        slice,
        count,
        first: unravel(first, values.shape()),
    })
}

/// Converts a flat row-major position into an index.
fn unravel(mut position: usize, shape: &[usize]) -> Vec<usize> {
    let mut index = vec![0; shape.len()];
    for (axis, &size) in shape.iter().enumerate().rev() {
        index[axis] = position % size;
        position /= size;
    }
    index
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unravel_is_row_major() {
        assert_eq!(unravel(0, &[2, 3, 4]), [0, 0, 0]);
        assert_eq!(unravel(5, &[2, 3, 4]), [0, 1, 1]);
        assert_eq!(unravel(23, &[2, 3, 4]), [1, 2, 3]);
    }

    #[test]
    fn finite_check_counts_and_locates() {
        let mut values = Array2::<f32>::zeros((3, 4));
        values[[1, 2]] = f32::NAN;
        values[[2, 0]] = f32::INFINITY;
        let err = check_finite(Path::new("f.h5"), "x", 7, &values, |v| v.is_finite()).unwrap_err();
        let IoError::NonFinite {
            slice,
            count,
            first,
            ..
        } = err
        else {
            panic!("expected NonFinite, got {err:?}");
        };
        assert_eq!(slice, 7);
        assert_eq!(count, 2);
        assert_eq!(first, [1, 2]);
    }

    #[test]
    fn kspace_shapes() {
        let single = kspace_shape(Path::new("f.h5"), &[2, 640, 372]).unwrap();
        assert_eq!((single.coils, single.is_multicoil), (1, false));
        let multi = kspace_shape(Path::new("f.h5"), &[2, 15, 640, 368]).unwrap();
        assert_eq!(
            (multi.coils, multi.width, multi.is_multicoil),
            (15, 368, true)
        );
        assert!(kspace_shape(Path::new("f.h5"), &[640, 368]).is_err());
        assert!(kspace_shape(Path::new("f.h5"), &[0, 640, 368]).is_err());
    }
}
