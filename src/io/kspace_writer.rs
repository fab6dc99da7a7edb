//! Writer of complete fastMRI k-space files, in the on-disk types that h5py produces.
//!
//! `kspace` is the compound `{r: float32, i: float32}` (numpy complex64) and `ismrmrd_header` a
//! scalar variable-length UTF-8 string. Targets are float32, `max` and `norm` float64 scalars,
//! and string attributes variable-length UTF-8.

use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;

use hdf5::types::VarLenUnicode;
use ndarray::{s, ArrayView3, ArrayView4};

use super::attributes::AttributeValue;
use super::error::IoError;
use super::fastmri::{check_finite, HEADER, KSPACE};
use super::header::Geometry;
use super::reconstruction::{create_hdf5, PartialFile};
use crate::Complex32;

/// Contents of a file written by [`write_kspace_file`] besides `kspace`.
#[derive(Clone, Debug, Default)]
pub struct KspaceFileOptions<'a> {
    /// Geometry for `ismrmrd_header`; `None` uses [`Geometry::from_shapes`] with the target's
    /// size, if any.
    pub geometry: Option<Geometry>,
    /// A target dataset, such as `("reconstruction_rss", volume)`, of shape `(slices, h, w)`.
    /// When present, the attributes `max` and `norm` are computed from it and replace any given
    /// in `attributes`.
    pub target: Option<(&'a str, ArrayView3<'a, f32>)>,
    /// Root attributes, such as `acquisition` and `patient_id`.
    pub attributes: BTreeMap<String, AttributeValue>,
    /// Writes the single-coil layout `(slices, H, W)`; k-space must then have one coil.
    pub single_coil: bool,
}

/// Writes a fastMRI k-space file from `kspace` of shape `(slices, coils, H, W)`.
///
/// The file is written under a temporary name and renamed onto `path` when complete.
///
/// # Errors
///
/// [`IoError::InvalidShape`] for a zero size, a target whose slice count differs, or
/// `single_coil` with more than one coil; [`IoError::NonFinite`] for a target with NaN or
/// infinity; [`IoError::InvalidValue`] for a string containing a NUL character;
/// [`IoError::Hdf5`] or [`IoError::File`] when writing fails.
pub fn write_kspace_file(
    path: impl AsRef<Path>,
    kspace: ArrayView4<Complex32>,
    options: &KspaceFileOptions,
) -> Result<(), IoError> {
    let path = path.as_ref();
    let (slices, coils, height, width) = kspace.dim();
    check_layout(path, kspace.shape(), options)?;
    let target_hw = match &options.target {
        Some((name, target)) => Some(check_target(path, name, target, slices)?),
        None => None,
    };
    let geometry = options
        .geometry
        .clone()
        .unwrap_or_else(|| Geometry::from_shapes(height, width, target_hw));

    let partial = PartialFile::new(path)?;
    let file = create_hdf5(&partial, path)?;
    let hdf5_error = |object: &str| {
        let object = object.to_owned();
        move |source| IoError::Hdf5 {
            path: path.to_owned(),
            object,
            source,
        }
    };

    let disk_shape = match options.single_coil {
        true => vec![slices, height, width],
        false => vec![slices, coils, height, width],
    };
    let dataset = file
        .new_dataset::<Complex32>()
        .shape(disk_shape)
        .create(KSPACE)
        .map_err(hdf5_error(KSPACE))?;
    for (index, slice) in kspace.outer_iter().enumerate() {
        let contiguous = slice.as_standard_layout();
        let written = match options.single_coil {
            true => dataset.write_slice(
                contiguous.index_axis(ndarray::Axis(0), 0),
                s![index, .., ..],
            ),
            false => dataset.write_slice(&contiguous, s![index, .., .., ..]),
        };
        written.map_err(hdf5_error(KSPACE))?;
    }
    drop(dataset);

    let header = to_vlen_unicode(path, HEADER, &geometry.to_ismrmrd_xml())?;
    file.new_dataset::<VarLenUnicode>()
        .create(HEADER)
        .and_then(|ds| ds.write_scalar(&header))
        .map_err(hdf5_error(HEADER))?;

    let mut attributes = options.attributes.clone();
    if let Some((name, target)) = &options.target {
        let contiguous = target.as_standard_layout();
        file.new_dataset_builder()
            .with_data(&contiguous)
            .create(*name)
            .map_err(hdf5_error(name))?;
        let max = target
            .iter()
            .fold(f64::NEG_INFINITY, |m, &v| m.max(f64::from(v)));
        let norm = target
            .iter()
            .map(|&v| f64::from(v).powi(2))
            .sum::<f64>()
            .sqrt();
        attributes.insert("max".to_owned(), AttributeValue::Float(max));
        attributes.insert("norm".to_owned(), AttributeValue::Float(norm));
    }
    for (name, value) in &attributes {
        write_attribute(path, &file, name, value)?;
    }
    file.close().map_err(hdf5_error("file"))?;
    partial.commit().map(|_| ())
}

fn check_layout(path: &Path, shape: &[usize], options: &KspaceFileOptions) -> Result<(), IoError> {
    let expected = match () {
        _ if shape.contains(&0) => "(slices, coils, H, W), all sizes > 0",
        _ if options.single_coil && shape[1] != 1 => "(slices, 1, H, W) for the single-coil layout",
        _ => return Ok(()),
    };
    Err(IoError::InvalidShape {
        path: path.to_owned(),
        dataset: KSPACE.to_owned(),
        found: shape.to_vec(),
        expected: expected.to_owned(),
    })
}

fn check_target(
    path: &Path,
    name: &str,
    target: &ArrayView3<f32>,
    slices: usize,
) -> Result<[usize; 2], IoError> {
    let (target_slices, h, w) = target.dim();
    if target_slices != slices || h == 0 || w == 0 {
        return Err(IoError::InvalidShape {
            path: path.to_owned(),
            dataset: name.to_owned(),
            found: target.shape().to_vec(),
            expected: format!("(slices, h, w) with slices = {slices} as in kspace"),
        });
    }
    for (index, slice) in target.outer_iter().enumerate() {
        check_finite(path, name, index, &slice, |v| v.is_finite())?;
    }
    Ok([h, w])
}

fn to_vlen_unicode(path: &Path, object: &str, text: &str) -> Result<VarLenUnicode, IoError> {
    VarLenUnicode::from_str(text).map_err(|err| IoError::InvalidValue {
        path: path.to_owned(),
        dataset: object.to_owned(),
        reason: format!("cannot be stored as an HDF5 string ({err})"),
    })
}

/// Writes one root attribute in the type h5py gives the matching Python value.
fn write_attribute(
    path: &Path,
    file: &hdf5::File,
    name: &str,
    value: &AttributeValue,
) -> Result<(), IoError> {
    let hdf5_error = |source| IoError::Hdf5 {
        path: path.to_owned(),
        object: format!("attribute {name}"),
        source,
    };
    let written = match value {
        AttributeValue::Text(text) => {
            let text = to_vlen_unicode(path, name, text)?;
            file.new_attr::<VarLenUnicode>()
                .create(name)
                .and_then(|a| a.write_scalar(&text))
        }
        AttributeValue::Integer(v) => file
            .new_attr::<i64>()
            .create(name)
            .and_then(|a| a.write_scalar(v)),
        AttributeValue::Float(v) => file
            .new_attr::<f64>()
            .create(name)
            .and_then(|a| a.write_scalar(v)),
        AttributeValue::Bool(v) => file
            .new_attr::<bool>()
            .create(name)
            .and_then(|a| a.write_scalar(v)),
        AttributeValue::TextList(values) => {
            let values = values
                .iter()
                .map(|text| to_vlen_unicode(path, name, text))
                .collect::<Result<Vec<_>, _>>()?;
            file.new_attr_builder()
                .with_data(&values)
                .create(name)
                .map(|_| ())
        }
        AttributeValue::IntegerList(values) => file
            .new_attr_builder()
            .with_data(values)
            .create(name)
            .map(|_| ()),
        AttributeValue::FloatList(values) => file
            .new_attr_builder()
            .with_data(values)
            .create(name)
            .map(|_| ()),
        AttributeValue::Unsupported { dtype, .. } => {
            return Err(IoError::InvalidValue {
                path: path.to_owned(),
                dataset: format!("attribute {name}"),
                reason: format!("an attribute described as {dtype} cannot be written"),
            })
        }
    };
    written.map_err(hdf5_error)
}
