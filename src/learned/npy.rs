//! Writer of NumPy `.npy` files (format version 1.0) holding little-endian `f32` arrays.
//!
//! Layout: the magic `\x93NUMPY`, the version bytes `1, 0`, the header length as a little-endian
//! `u16`, then an ASCII header `{'descr': '<f4', 'fortran_order': False, 'shape': (..), }`
//! padded with spaces and ended by `\n` so that the data starts at a multiple of 64 bytes, then
//! the values in C (row-major) order. `numpy.load` reads the result.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use super::SamplerError;

/// Data offset alignment that NumPy itself writes (the format requires a multiple of 16).
const ALIGNMENT: usize = 64;

/// Writes `data` with `shape` (row-major) to the `.npy` file `path`.
///
/// # Errors
///
/// [`SamplerError::InvalidParameter`] naming `shape` when the product of `shape` differs from
/// `data.len()`, and [`SamplerError::Write`] when the file cannot be written.
pub fn write_npy_f32(path: &Path, shape: &[usize], data: &[f32]) -> Result<(), SamplerError> {
    let count: usize = shape.iter().product();
    if count != data.len() {
        return Err(SamplerError::invalid(
            "shape",
            format!("{shape:?}"),
            format!("a shape with {} elements, one per value", data.len()),
        ));
    }
    let write_error = |source| SamplerError::Write {
        path: path.to_path_buf(),
        source,
    };
    let file = File::create(path).map_err(write_error)?;
    let mut writer = BufWriter::new(file);
    writer
        .write_all(&npy_preamble(shape))
        .map_err(write_error)?;
    for value in data {
        writer
            .write_all(&value.to_le_bytes())
            .map_err(write_error)?;
    }
    writer.flush().map_err(write_error)
}

/// Magic, version, header length and padded header of a C-order `<f4` array.
fn npy_preamble(shape: &[usize]) -> Vec<u8> {
    let dimensions = match shape {
        [] => String::new(),
        [single] => format!("{single},"),
        _ => shape
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(", "),
    };
    let mut header =
        format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({dimensions}), }}");
    // 6 magic bytes, 2 version bytes and 2 length bytes precede the header.
    let unpadded = 10 + header.len() + 1;
    let padding = (ALIGNMENT - unpadded % ALIGNMENT) % ALIGNMENT;
    header.push_str(&" ".repeat(padding));
    header.push('\n');

    let mut preamble = b"\x93NUMPY\x01\x00".to_vec();
    preamble.extend_from_slice(&(header.len() as u16).to_le_bytes());
    preamble.extend_from_slice(header.as_bytes());
    preamble
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preamble_is_aligned_and_parsable() {
        for shape in [vec![], vec![7], vec![3, 4], vec![2, 28, 28]] {
            let preamble = npy_preamble(&shape);
            assert_eq!(preamble.len() % ALIGNMENT, 0);
            assert_eq!(&preamble[..8], b"\x93NUMPY\x01\x00");
            let length = u16::from_le_bytes([preamble[8], preamble[9]]) as usize;
            assert_eq!(preamble.len(), 10 + length);
            assert_eq!(*preamble.last().unwrap(), b'\n');
        }
        let header = String::from_utf8(npy_preamble(&[7])[10..].to_vec()).unwrap();
        assert!(header.starts_with("{'descr': '<f4', 'fortran_order': False, 'shape': (7,), }"));
    }

    #[test]
    fn wrong_shape_is_rejected() {
        let path = std::env::temp_dir().join("dps-npy-wrong-shape.npy");
        assert!(write_npy_f32(&path, &[2, 2], &[1.0, 2.0, 3.0]).is_err());
    }
}
