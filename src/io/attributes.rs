//! Root attributes of fastMRI files: typed fields for those with a fastMRI meaning, and every
//! attribute as a generic value for `inspect`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use hdf5::types::TypeDescriptor;
use serde::Serialize;

use super::dtype::{descriptor, numpy_name, read_strings};
use super::error::{format_shape, IoError};

/// Value of one HDF5 attribute.
///
/// Serialises untagged: `"AXT2"`, `4`, `0.0013`, `[1.0, 2.0]`, or
/// `{"dtype": ..., "shape": ...}` for types without a variant.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum AttributeValue {
    /// A scalar string of any HDF5 string type.
    Text(String),
    /// A scalar integer of any size and sign.
    Integer(i64),
    /// A scalar float of any size.
    Float(f64),
    /// A scalar numpy bool.
    Bool(bool),
    /// A 1-D array of strings.
    TextList(Vec<String>),
    /// A 1-D array of integers.
    IntegerList(Vec<i64>),
    /// A 1-D array of floats.
    FloatList(Vec<f64>),
    /// An attribute of any other type or shape, described but not read.
    Unsupported { dtype: String, shape: Vec<usize> },
}

impl AttributeValue {
    /// Returns the value as a float if it is a scalar number or a one-element number list.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Self::Float(value) => Some(*value),
            Self::Integer(value) => Some(*value as f64),
            Self::FloatList(values) if values.len() == 1 => Some(values[0]),
            Self::IntegerList(values) if values.len() == 1 => Some(values[0] as f64),
            _ => None,
        }
    }

    /// Returns the value as a string if it is a scalar string or a one-element string list.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::Text(value) => Some(value),
            Self::TextList(values) if values.len() == 1 => Some(&values[0]),
            _ => None,
        }
    }

    /// Names the kind of value, for error messages.
    fn kind(&self) -> String {
        match self {
            Self::Text(_) => "string".to_owned(),
            Self::Integer(_) => "integer".to_owned(),
            Self::Float(_) => "float".to_owned(),
            Self::Bool(_) => "bool".to_owned(),
            Self::TextList(v) => format!("string array of length {}", v.len()),
            Self::IntegerList(v) => format!("integer array of length {}", v.len()),
            Self::FloatList(v) => format!("float array of length {}", v.len()),
            Self::Unsupported { dtype, shape } => {
                format!("{dtype} of shape {}", format_shape(shape))
            }
        }
    }
}

impl fmt::Display for AttributeValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Text(value) => write!(f, "{value:?}"),
            Self::Integer(value) => write!(f, "{value}"),
            Self::Float(value) => write!(f, "{value}"),
            Self::Bool(value) => write!(f, "{value}"),
            Self::TextList(values) => write!(f, "{values:?}"),
            Self::IntegerList(values) => write!(f, "{values:?}"),
            Self::FloatList(values) => write!(f, "{values:?}"),
            Self::Unsupported { dtype, shape } => {
                write!(f, "<{dtype}, shape {}>", format_shape(shape))
            }
        }
    }
}

/// Reads one attribute. Types and shapes without a variant become
/// [`AttributeValue::Unsupported`], so an odd attribute never blocks reading a file.
pub(crate) fn read_attribute(attr: &hdf5::Attribute) -> AttributeValue {
    let shape = attr.shape();
    let td = match attr
        .dtype()
        .map_err(|e| e.to_string())
        .and_then(|t| descriptor(&t))
    {
        Ok(td) => td,
        Err(reason) => {
            return AttributeValue::Unsupported {
                dtype: reason,
                shape,
            }
        }
    };
    let unsupported = || AttributeValue::Unsupported {
        dtype: numpy_name(&td),
        shape: shape.clone(),
    };
    let scalar = shape.is_empty();
    if shape.len() > 1 {
        return unsupported();
    }
    let value = match &td {
        TypeDescriptor::Integer(_) | TypeDescriptor::Unsigned(_) => {
            attr.read_raw::<i64>().ok().map(|v| match scalar {
                true => AttributeValue::Integer(v[0]),
                false => AttributeValue::IntegerList(v),
            })
        }
        TypeDescriptor::Float(_) => attr.read_raw::<f64>().ok().map(|v| match scalar {
            true => AttributeValue::Float(v[0]),
            false => AttributeValue::FloatList(v),
        }),
        TypeDescriptor::Boolean if scalar => attr
            .read_scalar::<super::dtype::BoolByte>()
            .ok()
            .and_then(|b| match b.0 {
                0 => Some(AttributeValue::Bool(false)),
                1 => Some(AttributeValue::Bool(true)),
                _ => None,
            }),
        _ => match read_strings(attr, &td) {
            Ok(Some(mut v)) if scalar && v.len() == 1 => Some(AttributeValue::Text(v.remove(0))),
            Ok(Some(v)) if !scalar => Some(AttributeValue::TextList(v)),
            _ => None,
        },
    };
    value.unwrap_or_else(unsupported)
}

/// Reads every attribute attached to `location`, by name.
pub(crate) fn read_attributes(
    path: &Path,
    location: &hdf5::Location,
) -> Result<BTreeMap<String, AttributeValue>, IoError> {
    let names = location.attr_names().map_err(|source| IoError::Hdf5 {
        path: path.to_owned(),
        object: "/".to_owned(),
        source,
    })?;
    let mut attributes = BTreeMap::new();
    for name in names {
        let value = match location.attr(&name) {
            Ok(attr) => read_attribute(&attr),
            Err(err) => AttributeValue::Unsupported {
                dtype: format!("unreadable ({err})"),
                shape: Vec::new(),
            },
        };
        attributes.insert(name, value);
    }
    Ok(attributes)
}

/// Root attributes of a fastMRI file.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct RootAttributes {
    /// Sequence name, such as `CORPD_FBK` or `AXT2`.
    pub acquisition: Option<String>,
    /// Maximum of the target volume.
    pub max: Option<f64>,
    /// Frobenius norm of the target volume.
    pub norm: Option<f64>,
    /// Patient identifier; datasets are split by patient, never by file.
    pub patient_id: Option<String>,
    /// Acceleration of the stored `mask` in test files.
    pub acceleration: Option<f64>,
    /// Number of fully sampled centre columns of the stored `mask` in test files.
    pub num_low_frequency: Option<usize>,
    /// Every root attribute, including those above.
    pub all: BTreeMap<String, AttributeValue>,
}

impl RootAttributes {
    /// Fills the typed fields from a map of all attributes.
    ///
    /// # Errors
    ///
    /// [`IoError::InvalidAttribute`] when an attribute with a fastMRI meaning has the wrong type:
    /// `acquisition` and `patient_id` must be strings (an integer `patient_id` is accepted),
    /// `max`, `norm` and `acceleration` numbers, `num_low_frequency` a non-negative integer.
    pub(crate) fn from_map(
        path: &Path,
        all: BTreeMap<String, AttributeValue>,
    ) -> Result<Self, IoError> {
        let invalid =
            |name: &str, value: &AttributeValue, expected: &str| IoError::InvalidAttribute {
                path: path.to_owned(),
                name: name.to_owned(),
                found: value.kind(),
                expected: expected.to_owned(),
            };
        let text = |name: &str| -> Result<Option<String>, IoError> {
            match all.get(name) {
                None => Ok(None),
                Some(AttributeValue::Integer(id)) if name == "patient_id" => {
                    Ok(Some(id.to_string()))
                }
                Some(value) => value
                    .as_str()
                    .map(|s| Some(s.to_owned()))
                    .ok_or_else(|| invalid(name, value, "a string")),
            }
        };
        let number = |name: &str| -> Result<Option<f64>, IoError> {
            match all.get(name) {
                None => Ok(None),
                Some(value) => value
                    .as_f64()
                    .map(Some)
                    .ok_or_else(|| invalid(name, value, "a number")),
            }
        };
        let num_low_frequency = match all.get("num_low_frequency") {
            None => None,
            Some(value) => {
                let count = value
                    .as_f64()
                    .filter(|v| *v >= 0.0 && v.fract() == 0.0 && *v < usize::MAX as f64);
                let count = count
                    .ok_or_else(|| invalid("num_low_frequency", value, "a non-negative integer"))?;
                Some(count as usize)
            }
        };
        Ok(Self {
            acquisition: text("acquisition")?,
            max: number("max")?,
            norm: number("norm")?,
            patient_id: text("patient_id")?,
            acceleration: number("acceleration")?,
            num_low_frequency,
            all,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(entries: &[(&str, AttributeValue)]) -> BTreeMap<String, AttributeValue> {
        entries
            .iter()
            .map(|(name, value)| (name.to_string(), value.clone()))
            .collect()
    }

    #[test]
    fn typed_fields_from_map() {
        let all = map(&[
            ("acquisition", AttributeValue::Text("AXT2".into())),
            ("max", AttributeValue::Float(2.5)),
            ("acceleration", AttributeValue::Integer(4)),
            ("num_low_frequency", AttributeValue::IntegerList(vec![26])),
            ("patient_id", AttributeValue::Integer(17)),
        ]);
        let attributes = RootAttributes::from_map(Path::new("f.h5"), all).unwrap();
        assert_eq!(attributes.acquisition.as_deref(), Some("AXT2"));
        assert_eq!(attributes.max, Some(2.5));
        assert_eq!(attributes.norm, None);
        assert_eq!(attributes.acceleration, Some(4.0));
        assert_eq!(attributes.num_low_frequency, Some(26));
        assert_eq!(attributes.patient_id.as_deref(), Some("17"));
        assert_eq!(attributes.all.len(), 5);
    }

    #[test]
    fn wrong_types_are_rejected() {
        let string_max = map(&[("max", AttributeValue::Text("big".into()))]);
        let err = RootAttributes::from_map(Path::new("f.h5"), string_max).unwrap_err();
        assert!(matches!(&err, IoError::InvalidAttribute { name, .. } if name == "max"));
        assert!(err.to_string().contains("expected a number"), "{err}");

        let fractional = map(&[("num_low_frequency", AttributeValue::Float(2.5))]);
        let err = RootAttributes::from_map(Path::new("f.h5"), fractional).unwrap_err();
        assert!(err.to_string().contains("non-negative integer"), "{err}");
    }
}
