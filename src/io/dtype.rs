//! Classification of on-disk HDF5 types, their names in numpy terms, and string reading.

use hdf5::types::{
    EnumMember, EnumType, FixedAscii, FixedUnicode, FloatSize, H5Type, IntSize, TypeDescriptor,
    VarLenAscii, VarLenUnicode,
};
use hdf5::{Container, Datatype};

/// Member names of a compound that stores complex samples.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ComplexMembers {
    /// `{r, i}`, as h5py writes numpy complex types.
    RI,
    /// `{real, imag}`, as some other writers name them.
    RealImag,
}

/// Complex sample with member names `real` and `imag`, the in-memory type for reading
/// [`ComplexMembers::RealImag`] compounds. HDF5 converts compounds member by member, by name.
#[derive(hdf5::H5Type, Clone, Copy, Debug, Default)]
#[repr(C)]
pub(crate) struct RealImag {
    pub real: f32,
    pub imag: f32,
}

/// A byte read through an enum type with the members of numpy's bool (`FALSE = 0`, `TRUE = 1`).
///
/// Reading into Rust `bool` would be undefined behaviour if the file held a raw value other
/// than 0 or 1; HDF5 turns such values into 0xFF here, which the mask reader then rejects.
#[derive(Clone, Copy, Debug, Default)]
#[repr(transparent)]
pub(crate) struct BoolByte(pub u8);

// SAFETY: `BoolByte` is a transparent `u8`, which matches the 1-byte enum it describes.
unsafe impl H5Type for BoolByte {
    fn type_descriptor() -> TypeDescriptor {
        TypeDescriptor::Enum(EnumType {
            size: IntSize::U1,
            signed: false,
            members: vec![
                EnumMember {
                    name: "FALSE".to_owned(),
                    value: 0,
                },
                EnumMember {
                    name: "TRUE".to_owned(),
                    value: 1,
                },
            ],
        })
    }
}

/// Returns the descriptor of an on-disk type, or a description of why it has none.
pub(crate) fn descriptor(dtype: &Datatype) -> Result<TypeDescriptor, String> {
    dtype
        .to_descriptor()
        .map_err(|err| format!("an HDF5 type this reader cannot describe ({err})"))
}

/// Returns the member names if `td` is a two-member float compound named `{r, i}` or
/// `{real, imag}`, in either order.
pub(crate) fn complex_members(td: &TypeDescriptor) -> Option<ComplexMembers> {
    let TypeDescriptor::Compound(compound) = td else {
        return None;
    };
    let all_float = compound
        .fields
        .iter()
        .all(|field| matches!(field.ty, TypeDescriptor::Float(_)));
    if compound.fields.len() != 2 || !all_float {
        return None;
    }
    let mut names: Vec<&str> = compound.fields.iter().map(|f| f.name.as_str()).collect();
    names.sort_unstable();
    match names.as_slice() {
        ["i", "r"] => Some(ComplexMembers::RI),
        ["imag", "real"] => Some(ComplexMembers::RealImag),
        _ => None,
    }
}

/// Returns whether `td` is an integer, float or numpy bool type: the types a mask may have.
pub(crate) fn is_mask_type(td: &TypeDescriptor) -> bool {
    matches!(
        td,
        TypeDescriptor::Boolean
            | TypeDescriptor::Integer(_)
            | TypeDescriptor::Unsigned(_)
            | TypeDescriptor::Float(_)
    )
}

/// Names an on-disk type in numpy terms (`complex64`, `float32`, `bool`, `uint8`, ...).
pub(crate) fn numpy_name(td: &TypeDescriptor) -> String {
    match td {
        TypeDescriptor::Integer(size) => format!("int{}", int_bits(*size)),
        TypeDescriptor::Unsigned(size) => format!("uint{}", int_bits(*size)),
        TypeDescriptor::Float(size) => format!("float{}", float_bits(*size)),
        TypeDescriptor::Boolean => "bool".to_owned(),
        TypeDescriptor::Enum(e) => {
            let base = numpy_name(&e.base_type());
            let members: Vec<String> = e
                .members
                .iter()
                .map(|m| format!("{}={}", m.name, m.value))
                .collect();
            format!("enum over {base} {{{}}}", members.join(", "))
        }
        TypeDescriptor::Compound(_) => compound_name(td),
        TypeDescriptor::FixedArray(inner, len) => format!("{}[{len}]", numpy_name(inner)),
        TypeDescriptor::FixedAscii(len) => format!("bytes (fixed length {len}, ASCII)"),
        TypeDescriptor::FixedUnicode(len) => format!("str (fixed length {len} bytes, UTF-8)"),
        TypeDescriptor::VarLenArray(inner) => format!("variable-length {}", numpy_name(inner)),
        TypeDescriptor::VarLenAscii => "str (variable-length ASCII)".to_owned(),
        TypeDescriptor::VarLenUnicode => "str (variable-length UTF-8)".to_owned(),
        TypeDescriptor::Reference(_) => "object reference".to_owned(),
    }
}

fn compound_name(td: &TypeDescriptor) -> String {
    let TypeDescriptor::Compound(compound) = td else {
        return numpy_name(td);
    };
    let member_bits = compound.fields.first().and_then(|f| match f.ty {
        TypeDescriptor::Float(size) => Some(float_bits(size)),
        _ => None,
    });
    let same_float = compound.fields.iter().all(|f| match f.ty {
        TypeDescriptor::Float(size) => Some(float_bits(size)) == member_bits,
        _ => false,
    });
    match (complex_members(td), member_bits) {
        (Some(ComplexMembers::RI), Some(bits)) if same_float => format!("complex{}", 2 * bits),
        (Some(ComplexMembers::RealImag), Some(bits)) if same_float => {
            format!("complex{} (members real, imag)", 2 * bits)
        }
        _ => {
            let members: Vec<String> = compound
                .fields
                .iter()
                .map(|f| format!("{}: {}", f.name, numpy_name(&f.ty)))
                .collect();
            format!("compound {{{}}}", members.join(", "))
        }
    }
}

fn int_bits(size: IntSize) -> usize {
    8 * size as usize
}

fn float_bits(size: FloatSize) -> usize {
    8 * size as usize
}

/// Largest fixed-length string accepted. ISMRMRD headers are tens of kilobytes.
const MAX_FIXED_STRING: usize = 1 << 22;

/// Reads every string of a string-typed dataset or attribute in memory order.
///
/// Returns `Ok(None)` when `td` is not a string type, and `Err` with a description when the
/// read fails or a fixed-length string is longer than 4 MiB.
pub(crate) fn read_strings(
    container: &Container,
    td: &TypeDescriptor,
) -> Result<Option<Vec<String>>, String> {
    let strings = match td {
        TypeDescriptor::VarLenUnicode => container
            .read_raw::<VarLenUnicode>()
            .map(|v| v.iter().map(|s| lossy(s.as_bytes())).collect()),
        TypeDescriptor::VarLenAscii => container
            .read_raw::<VarLenAscii>()
            .map(|v| v.iter().map(|s| lossy(s.as_bytes())).collect()),
        TypeDescriptor::FixedAscii(len) => read_fixed(container, *len, false)?,
        TypeDescriptor::FixedUnicode(len) => read_fixed(container, *len, true)?,
        _ => return Ok(None),
    };
    strings.map(Some).map_err(|err| err.to_string())
}

/// Reads fixed-length strings through the smallest in-memory capacity they fit, since
/// the `hdf5` crate fixes a string's capacity at compile time and HDF5 pads or truncates to it.
fn read_fixed(
    container: &Container,
    len: usize,
    unicode: bool,
) -> Result<hdf5::Result<Vec<String>>, String> {
    let read = match len {
        0..=256 => read_fixed_as::<256>,
        257..=4096 => read_fixed_as::<4096>,
        4097..=65536 => read_fixed_as::<65536>,
        65537..=MAX_FIXED_STRING => read_fixed_as::<MAX_FIXED_STRING>,
        _ => {
            return Err(format!(
                "fixed-length string of {len} bytes is longer than the {MAX_FIXED_STRING} bytes \
                 this reader accepts"
            ))
        }
    };
    Ok(read(container, unicode))
}

fn read_fixed_as<const N: usize>(
    container: &Container,
    unicode: bool,
) -> hdf5::Result<Vec<String>> {
    if unicode {
        let values = container.read_raw::<FixedUnicode<N>>()?;
        Ok(values.iter().map(|s| lossy(s.as_bytes())).collect())
    } else {
        let values = container.read_raw::<FixedAscii<N>>()?;
        Ok(values.iter().map(|s| lossy(s.as_bytes())).collect())
    }
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Complex32;
    use hdf5::types::{CompoundField, CompoundType};

    fn compound(names: &[&str], ty: TypeDescriptor) -> TypeDescriptor {
        let fields = names
            .iter()
            .enumerate()
            .map(|(index, name)| CompoundField::new(name, ty.clone(), 4 * index, index))
            .collect();
        TypeDescriptor::Compound(CompoundType {
            fields,
            size: 4 * names.len(),
        })
    }

    #[test]
    fn complex_member_names() {
        let f32_type = TypeDescriptor::Float(FloatSize::U4);
        let ri = compound(&["r", "i"], f32_type.clone());
        let real_imag = compound(&["real", "imag"], f32_type.clone());
        let swapped = compound(&["i", "r"], f32_type.clone());
        let other = compound(&["x", "y"], f32_type.clone());
        let three = compound(&["r", "i", "j"], f32_type);
        let int_members = compound(&["r", "i"], TypeDescriptor::Integer(IntSize::U4));
        assert_eq!(complex_members(&ri), Some(ComplexMembers::RI));
        assert_eq!(complex_members(&real_imag), Some(ComplexMembers::RealImag));
        assert_eq!(complex_members(&swapped), Some(ComplexMembers::RI));
        assert_eq!(complex_members(&other), None);
        assert_eq!(complex_members(&three), None);
        assert_eq!(complex_members(&int_members), None);
    }

    #[test]
    fn numpy_names() {
        assert_eq!(numpy_name(&Complex32::type_descriptor()), "complex64");
        let c128 = compound(&["r", "i"], TypeDescriptor::Float(FloatSize::U8));
        assert_eq!(numpy_name(&c128), "complex128");
        assert_eq!(
            numpy_name(&RealImag::type_descriptor()),
            "complex64 (members real, imag)"
        );
        assert_eq!(numpy_name(&bool::type_descriptor()), "bool");
        assert_eq!(numpy_name(&u8::type_descriptor()), "uint8");
        assert_eq!(numpy_name(&i32::type_descriptor()), "int32");
        assert_eq!(numpy_name(&f64::type_descriptor()), "float64");
        let xy = compound(&["x", "y"], TypeDescriptor::Float(FloatSize::U4));
        assert_eq!(numpy_name(&xy), "compound {x: float32, y: float32}");
    }

    #[test]
    fn bool_byte_matches_numpy_bool_members() {
        let TypeDescriptor::Enum(e) = BoolByte::type_descriptor() else {
            panic!("BoolByte must be an enum type");
        };
        let names: Vec<(&str, u64)> = e
            .members
            .iter()
            .map(|m| (m.name.as_str(), m.value))
            .collect();
        assert_eq!(names, [("FALSE", 0), ("TRUE", 1)]);
    }
}
