//! The HDF5 reads an evaluation needs: one float volume and two root attributes per file.
//!
//! NOTE: this minimal reader is kept apart so that the crate's I/O module can replace it. It
//! reads the whole dataset at once, which suits `(slices, 320, 320)` image volumes but not
//! k-space.

use std::path::Path;

use hdf5::types::{FixedAscii, FixedUnicode, TypeDescriptor, VarLenAscii, VarLenUnicode};
use ndarray::Array3;

use super::MetricsError;

/// Maximum length of a fixed-length string attribute, in bytes.
const MAX_FIXED_STRING: usize = 1024;

/// Root attributes that evaluation filters on.
#[derive(Debug, Default)]
pub(super) struct RootAttributes {
    pub acquisition: Option<String>,
    pub acceleration: Option<f64>,
}

fn hdf5_error(path: &Path, object: &str) -> impl FnOnce(hdf5::Error) -> MetricsError {
    let path = path.to_path_buf();
    let object = object.to_owned();
    move |source| MetricsError::Hdf5 {
        path,
        object,
        source,
    }
}

fn open(path: &Path) -> Result<hdf5::File, MetricsError> {
    crate::io::open_for_reading(path).map_err(hdf5_error(path, "file"))
}

/// Reads a float32 or float64 dataset of shape `(slices, h, w)` as `f32`.
pub(super) fn read_volume(path: &Path, dataset: &str) -> Result<Array3<f32>, MetricsError> {
    let file = open(path)?;
    let object = format!("dataset `{dataset}`");
    let data = file.dataset(dataset).map_err(hdf5_error(path, &object))?;
    let descriptor = data
        .dtype()
        .and_then(|dtype| dtype.to_descriptor())
        .map_err(hdf5_error(path, &object))?;
    if !matches!(descriptor, TypeDescriptor::Float(_)) {
        return Err(MetricsError::UnsupportedType {
            path: path.to_path_buf(),
            object,
            found: descriptor.to_string(),
            expected: "float32 or float64",
        });
    }

    let shape = data.shape();
    let &[slices, height, width] = shape.as_slice() else {
        return Err(MetricsError::NotAVolume {
            path: path.to_path_buf(),
            dataset: dataset.to_owned(),
            shape,
        });
    };
    let values = data.read_raw::<f32>().map_err(hdf5_error(path, &object))?;
    Array3::from_shape_vec((slices, height, width), values).map_err(|_| MetricsError::NotAVolume {
        path: path.to_path_buf(),
        dataset: dataset.to_owned(),
        shape,
    })
}

/// Reads the root attributes `acquisition` (a string) and `acceleration` (a number) where the
/// file has them.
pub(super) fn read_root_attributes(path: &Path) -> Result<RootAttributes, MetricsError> {
    let file = open(path)?;
    let names = file.attr_names().map_err(hdf5_error(path, "attributes"))?;
    let mut attributes = RootAttributes::default();
    if names.iter().any(|name| name == "acquisition") {
        attributes.acquisition = Some(read_string(&file, path, "acquisition")?);
    }
    if names.iter().any(|name| name == "acceleration") {
        attributes.acceleration = Some(read_number(&file, path, "acceleration")?);
    }
    Ok(attributes)
}

/// Reads a single string, variable-length or fixed-length, ASCII or UTF-8.
fn read_string(file: &hdf5::File, path: &Path, name: &str) -> Result<String, MetricsError> {
    let object = format!("attribute `{name}`");
    let error = || hdf5_error(path, &object);
    let attribute = file.attr(name).map_err(error())?;
    let descriptor = attribute
        .dtype()
        .and_then(|dtype| dtype.to_descriptor())
        .map_err(error())?;
    let unsupported = |found: String| MetricsError::UnsupportedType {
        path: path.to_path_buf(),
        object: object.clone(),
        found,
        expected: "a single string",
    };
    if attribute.size() != 1 {
        return Err(unsupported(format!(
            "{descriptor} of shape {:?}",
            attribute.shape()
        )));
    }

    // `read_raw` rather than `read_scalar` also accepts a one-element array.
    let text = match descriptor {
        TypeDescriptor::VarLenUnicode => {
            first(attribute.read_raw::<VarLenUnicode>()).map(|value| value.as_str().to_owned())
        }
        TypeDescriptor::VarLenAscii => {
            first(attribute.read_raw::<VarLenAscii>()).map(|value| value.as_str().to_owned())
        }
        TypeDescriptor::FixedAscii(len) if len <= MAX_FIXED_STRING => {
            first(attribute.read_raw::<FixedAscii<MAX_FIXED_STRING>>())
                .map(|value| value.as_str().to_owned())
        }
        TypeDescriptor::FixedUnicode(len) if len <= MAX_FIXED_STRING => {
            first(attribute.read_raw::<FixedUnicode<MAX_FIXED_STRING>>())
                .map(|value| value.as_str().to_owned())
        }
        other => return Err(unsupported(other.to_string())),
    };
    text.map_err(error())
}

/// Reads a single integer or float as `f64`.
fn read_number(file: &hdf5::File, path: &Path, name: &str) -> Result<f64, MetricsError> {
    let object = format!("attribute `{name}`");
    let error = || hdf5_error(path, &object);
    let attribute = file.attr(name).map_err(error())?;
    let descriptor = attribute
        .dtype()
        .and_then(|dtype| dtype.to_descriptor())
        .map_err(error())?;
    let numeric = matches!(
        descriptor,
        TypeDescriptor::Integer(_) | TypeDescriptor::Unsigned(_) | TypeDescriptor::Float(_)
    );
    if !numeric || attribute.size() != 1 {
        return Err(MetricsError::UnsupportedType {
            path: path.to_path_buf(),
            object,
            found: format!("{descriptor} of shape {:?}", attribute.shape()),
            expected: "a single integer or float",
        });
    }
    first(attribute.read_raw::<f64>()).map_err(error())
}

fn first<T>(values: hdf5::Result<Vec<T>>) -> hdf5::Result<T> {
    values?
        .into_iter()
        .next()
        .ok_or_else(|| hdf5::Error::from("attribute is empty"))
}
