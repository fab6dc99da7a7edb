//! Conversion between BART `.cfl` arrays and fastMRI k-space files.
//!
//! The axes map as follows:
//!
//! | BART dimension | fastMRI axis |
//! |---|---|
//! | 0 READ | `H` (readout) |
//! | 1 PHS1 | `W` (phase encode) |
//! | 3 COIL | coils |
//! | 13 SLICE | slices |
//!
//! Every other BART dimension must have size 1. A BART array with one coil becomes a
//! single-coil fastMRI file `(slices, H, W)`; with more, a multi-coil file `(slices, coils, H,
//! W)`. The fastMRI file gets a header from [`Geometry::from_shapes`](super::Geometry) and,
//! only when [`ConvertOptions::rss_target`] is set, a `reconstruction_rss` target with `max`
//! and `norm`. In the other direction, k-space is written slice by slice as a 16-dimension BART
//! array. Targets, masks, headers and attributes have no place in a `.cfl`, so they are not
//! copied.

use std::collections::BTreeMap;
use std::path::Path;

use ndarray::{Array2, Array3, Array4, ArrayView3, ArrayViewD, Axis, Ix4};

use super::attributes::AttributeValue;
use super::cfl::{read_cfl, CflWriter, BART_DIMENSIONS, BART_DIMENSION_NAMES};
use super::error::IoError;
use super::fastmri::{FastMriFile, KspaceShape};
use super::header::Geometry;
use super::kspace_writer::{write_kspace_file, KspaceFileOptions};
use crate::Complex32;

const READ: usize = 0;
const PHS1: usize = 1;
const COIL: usize = 3;
const SLICE: usize = 13;
const USED: [usize; 4] = [READ, PHS1, COIL, SLICE];

/// Computes one slice of a `reconstruction_rss` target: takes k-space `(coils, H, W)` and the
/// reconstruction size `[h, w]` and returns the `(h, w)` image.
///
/// fastMRI's is the root-sum-of-squares over coils of the centred orthonormal `ifft2c`,
/// centre-cropped to `[h, w]`.
pub type RssTargetFn = dyn Fn(ArrayView3<Complex32>, [usize; 2]) -> Array2<f32> + Sync;

/// Settings of [`convert`].
#[derive(Clone, Default)]
pub struct ConvertOptions<'a> {
    /// Computes the `reconstruction_rss` target when converting `.cfl` to fastMRI; `None`
    /// writes no target.
    pub rss_target: Option<&'a RssTargetFn>,
    /// Root attributes of a fastMRI file written from `.cfl`, such as `acquisition`.
    pub attributes: BTreeMap<String, AttributeValue>,
}

/// File format, detected from the file name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileFormat {
    /// fastMRI HDF5: extension `.h5` or `.hdf5`.
    FastMri,
    /// BART: extension `.cfl` or `.hdr`, or a base name whose `.hdr` exists.
    Cfl,
}

impl FileFormat {
    /// Detects the format from the file name.
    ///
    /// # Errors
    ///
    /// [`IoError::UnknownFormat`] for any other name.
    pub fn from_path(path: &Path) -> Result<Self, IoError> {
        let extension = path.extension().and_then(|e| e.to_str());
        match extension.map(str::to_ascii_lowercase).as_deref() {
            Some("h5" | "hdf5") => Ok(Self::FastMri),
            Some("cfl" | "hdr") => Ok(Self::Cfl),
            _ if super::cfl::cfl_paths(path).0.exists() => Ok(Self::Cfl),
            _ => Err(IoError::UnknownFormat {
                path: path.to_owned(),
                expected: "a fastMRI file ending in .h5 or .hdf5, or a BART array ending in .cfl \
                           or .hdr (or its base name)"
                    .to_owned(),
            }),
        }
    }
}

/// Converts `input` to `output`, one a BART array and the other a fastMRI file; the direction
/// follows from the file names, as [`FileFormat::from_path`] detects them.
///
/// # Errors
///
/// [`IoError::UnknownFormat`] for unknown names or two of one format;
/// [`IoError::UnsupportedDimensions`] for BART arrays with other dimensions larger than 1;
/// [`IoError::InvalidShape`] when `rss_target` returns an image of the wrong shape; and the
/// errors of reading and writing either format.
pub fn convert(input: &Path, output: &Path, options: &ConvertOptions) -> Result<(), IoError> {
    match (
        FileFormat::from_path(input)?,
        FileFormat::from_path(output)?,
    ) {
        (FileFormat::Cfl, FileFormat::FastMri) => cfl_to_fastmri(input, output, options),
        (FileFormat::FastMri, FileFormat::Cfl) => fastmri_to_cfl(input, output),
        (format, _) => Err(IoError::UnknownFormat {
            path: output.to_owned(),
            expected: match format {
                FileFormat::Cfl => "a fastMRI output ending in .h5, since the input is BART",
                FileFormat::FastMri => "a BART output ending in .cfl, since the input is fastMRI",
            }
            .to_owned(),
        }),
    }
}

fn cfl_to_fastmri(input: &Path, output: &Path, options: &ConvertOptions) -> Result<(), IoError> {
    let array = read_cfl(input)?;
    let kspace = cfl_to_fastmri_layout(input, &array.view())?;
    drop(array);
    let (slices, coils, height, width) = kspace.dim();
    let geometry = Geometry::from_shapes(height, width, None);
    let target = match options.rss_target {
        Some(rss_target) => Some(compute_target(
            output,
            &kspace,
            geometry.recon_hw(),
            rss_target,
        )?),
        None => None,
    };
    let file_options = KspaceFileOptions {
        geometry: Some(geometry),
        target: target.as_ref().map(|t| ("reconstruction_rss", t.view())),
        attributes: options.attributes.clone(),
        single_coil: coils == 1,
    };
    tracing::info!(input = %input.display(), output = %output.display(), slices, coils, height, width, "converting BART array to fastMRI");
    write_kspace_file(output, kspace.view(), &file_options)
}

fn compute_target(
    output: &Path,
    kspace: &Array4<Complex32>,
    [h, w]: [usize; 2],
    rss_target: &RssTargetFn,
) -> Result<Array3<f32>, IoError> {
    let mut target = Array3::zeros((kspace.len_of(Axis(0)), h, w));
    for (index, (slice, mut image)) in kspace.outer_iter().zip(target.outer_iter_mut()).enumerate()
    {
        let computed = rss_target(slice, [h, w]);
        if computed.dim() != (h, w) {
            return Err(IoError::InvalidShape {
                path: output.to_owned(),
                dataset: "reconstruction_rss".to_owned(),
                found: computed.shape().to_vec(),
                expected: format!("({h}, {w}) from the target function for slice {index}"),
            });
        }
        image.assign(&computed);
    }
    Ok(target)
}

/// Maps a BART k-space array to the fastMRI layout `(slices, coils, H, W)`.
///
/// # Errors
///
/// [`IoError::UnsupportedDimensions`] naming each dimension other than READ, PHS1, COIL and
/// SLICE whose size is larger than 1; [`IoError::InvalidShape`] for more than 16 dimensions or a
/// zero size. `path` only names the array in errors.
pub fn cfl_to_fastmri_layout(
    path: &Path,
    array: &ArrayViewD<Complex32>,
) -> Result<Array4<Complex32>, IoError> {
    let dims = array.shape();
    if dims.len() > BART_DIMENSIONS || dims.contains(&0) {
        return Err(IoError::InvalidShape {
            path: path.to_owned(),
            dataset: "cfl".to_owned(),
            found: dims.to_vec(),
            expected: format!("at most {BART_DIMENSIONS} dimensions, all sizes > 0"),
        });
    }
    let extra: Vec<String> = (0..dims.len())
        .filter(|&dim| !USED.contains(&dim) && dims[dim] > 1)
        .map(|dim| format!("{dim} {} = {}", BART_DIMENSION_NAMES[dim], dims[dim]))
        .collect();
    if !extra.is_empty() {
        return Err(IoError::UnsupportedDimensions {
            path: path.to_owned(),
            dims: extra.join(", "),
        });
    }
    let mut view = array.view();
    while view.ndim() < BART_DIMENSIONS {
        view.insert_axis_inplace(Axis(view.ndim()));
    }
    for dim in (0..BART_DIMENSIONS).rev().filter(|dim| !USED.contains(dim)) {
        view.index_axis_inplace(Axis(dim), 0);
    }
    // The remaining axes are READ, PHS1, COIL, SLICE in that order.
    let view = view
        .into_dimensionality::<Ix4>()
        .expect("exactly four BART dimensions remain")
        .permuted_axes([3, 2, 0, 1]);
    Ok(view.as_standard_layout().into_owned())
}

/// Returns the 16 BART dimensions of a fastMRI volume: `[H, W, 1, coils, 1, ..., slices, 1,
/// 1]`.
pub fn fastmri_to_cfl_dims(shape: &KspaceShape) -> [usize; BART_DIMENSIONS] {
    let mut dims = [1; BART_DIMENSIONS];
    dims[READ] = shape.height;
    dims[PHS1] = shape.width;
    dims[COIL] = shape.coils;
    dims[SLICE] = shape.slices;
    dims
}

fn fastmri_to_cfl(input: &Path, output: &Path) -> Result<(), IoError> {
    let file = FastMriFile::open(input)?;
    let shape = file.shape();
    tracing::info!(input = %input.display(), output = %output.display(), ?shape, "converting fastMRI to BART array");
    let mut writer = CflWriter::create(output, &fastmri_to_cfl_dims(&shape))?;
    // SLICE is the slowest of the used dimensions, so each slice is one contiguous run of
    // samples. Within it READ varies fastest, then PHS1, then COIL.
    for index in 0..shape.slices {
        let slice = file.read_slice(index)?;
        writer.write_samples(slice.permuted_axes([0, 2, 1]).iter().copied())?;
    }
    writer.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{ArrayD, IxDyn, ShapeBuilder};

    fn numbered(dims: &[usize]) -> ArrayD<Complex32> {
        let count = dims.iter().product();
        let samples = (0..count)
            .map(|i| Complex32::new(i as f32, -(i as f32)))
            .collect();
        ArrayD::from_shape_vec(IxDyn(dims).f(), samples).unwrap()
    }

    #[test]
    fn bart_axes_map_to_fastmri_axes() {
        let mut dims = vec![1; 16];
        dims[READ] = 4;
        dims[PHS1] = 3;
        dims[COIL] = 2;
        dims[SLICE] = 5;
        let array = numbered(&dims);
        let kspace = cfl_to_fastmri_layout(Path::new("a"), &array.view()).unwrap();
        assert_eq!(kspace.dim(), (5, 2, 4, 3));
        let mut index = vec![0; 16];
        index[READ] = 3;
        index[PHS1] = 1;
        index[COIL] = 1;
        index[SLICE] = 4;
        assert_eq!(kspace[[4, 1, 3, 1]], array[index.as_slice()]);
    }

    #[test]
    fn short_bart_arrays_have_one_slice() {
        let array = numbered(&[4, 3]);
        let kspace = cfl_to_fastmri_layout(Path::new("a"), &array.view()).unwrap();
        assert_eq!(kspace.dim(), (1, 1, 4, 3));
        assert_eq!(kspace[[0, 0, 2, 1]], array[[2, 1]]);
    }

    #[test]
    fn extra_dimensions_are_named() {
        let array = numbered(&[4, 3, 2, 1, 3]);
        let err = cfl_to_fastmri_layout(Path::new("a"), &array.view()).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("2 PHS2 = 2"), "{message}");
        assert!(message.contains("4 MAPS = 3"), "{message}");
    }

    #[test]
    fn fastmri_dims() {
        let shape = KspaceShape {
            slices: 5,
            coils: 2,
            height: 640,
            width: 368,
            is_multicoil: true,
        };
        let dims = fastmri_to_cfl_dims(&shape);
        assert_eq!(dims[..4], [640, 368, 1, 2]);
        assert_eq!(dims[13], 5);
        assert_eq!(dims.iter().product::<usize>(), 5 * 2 * 640 * 368);
    }

    #[test]
    fn formats_from_names() {
        assert_eq!(
            FileFormat::from_path(Path::new("a/f.h5")).unwrap(),
            FileFormat::FastMri
        );
        assert_eq!(
            FileFormat::from_path(Path::new("a/f.cfl")).unwrap(),
            FileFormat::Cfl
        );
        assert_eq!(
            FileFormat::from_path(Path::new("a/f.hdr")).unwrap(),
            FileFormat::Cfl
        );
        assert!(FileFormat::from_path(Path::new("a/f.txt")).is_err());
    }
}
