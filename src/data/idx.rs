//! Reader of IDX files, the format of the four official MNIST files.
//!
//! An IDX file is a 4-byte magic number, then one big-endian `u32` size per dimension, then the
//! data in row-major order (last dimension fastest). The magic is two zero bytes, a type code
//! (0x08 unsigned byte, 0x09 signed byte, 0x0B i16, 0x0C i32, 0x0D f32, 0x0E f64) and the number
//! of dimensions. Only 0x08 is read here, the type of every MNIST file.
//!
//! Files may be gzip-compressed, as MNIST is distributed upstream (`*-ubyte.gz`). Compression is
//! recognised by the gzip magic bytes `1f 8b`, whatever the file is called.

use std::io::Read;
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use super::DataError;

/// IDX type code of unsigned bytes.
const TYPE_U8: u8 = 0x08;

/// First two bytes of every gzip stream (RFC 1952).
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Largest number of digit classes; labels are `0..NUM_CLASSES`.
const NUM_CLASSES: u8 = 10;

/// An n-dimensional array of unsigned bytes read from an IDX file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxArray {
    /// Sizes of the dimensions, outermost first.
    pub dims: Vec<usize>,
    /// Elements in row-major order, `dims.iter().product()` of them.
    pub data: Vec<u8>,
}

/// A stack of grayscale images read from a 3-dimensional IDX file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxImages {
    /// Number of images.
    pub count: usize,
    /// Image height.
    pub rows: usize,
    /// Image width.
    pub cols: usize,
    /// Pixels of shape `(count, rows, cols)`, row-major.
    pub pixels: Vec<u8>,
}

/// Reads a file whole, decompressing it when it starts with the gzip magic bytes.
///
/// # Errors
///
/// [`DataError::Io`] when the file cannot be read, [`DataError::Gzip`] when a gzip stream is
/// corrupt or incomplete.
pub fn read_maybe_gzip(path: &Path) -> Result<Vec<u8>, DataError> {
    let raw = std::fs::read(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if !raw.starts_with(&GZIP_MAGIC) {
        return Ok(raw);
    }

    // MNIST files grow about 5x when decompressed.
    let mut decompressed = Vec::with_capacity(raw.len().saturating_mul(5));
    MultiGzDecoder::new(raw.as_slice())
        .read_to_end(&mut decompressed)
        .map_err(|source| DataError::Gzip {
            path: path.to_path_buf(),
            source,
        })?;
    Ok(decompressed)
}

/// Reads an IDX file of unsigned bytes, plain or gzip-compressed.
///
/// # Errors
///
/// The errors of [`read_maybe_gzip`] and of [`parse_idx_u8`].
pub fn read_idx_u8(path: &Path) -> Result<IdxArray, DataError> {
    let bytes = read_maybe_gzip(path)?;
    parse_idx_u8(path, bytes)
}

/// Parses the bytes of an uncompressed IDX file of unsigned bytes; `path` only names the file in
/// errors.
///
/// # Errors
///
/// - [`DataError::BadMagic`] when the magic is not `00 00 tt dd` with `dd >= 1`.
/// - [`DataError::UnsupportedType`] for a type code other than 0x08.
/// - [`DataError::Truncated`] when the header or the data is shorter than declared.
/// - [`DataError::TrailingBytes`] when the file is longer than declared.
/// - [`DataError::SizeOverflow`] when the declared sizes overflow `usize`.
pub fn parse_idx_u8(path: &Path, mut bytes: Vec<u8>) -> Result<IdxArray, DataError> {
    let found_bytes = bytes.len() as u64;
    let Some(&[zero_a, zero_b, type_code, ndims]) = bytes.first_chunk::<4>() else {
        return Err(DataError::Truncated {
            path: path.to_path_buf(),
            dims: Vec::new(),
            expected_bytes: 4,
            found_bytes,
        });
    };
    if zero_a != 0 || zero_b != 0 || ndims == 0 {
        return Err(DataError::BadMagic {
            path: path.to_path_buf(),
            found: [zero_a, zero_b, type_code, ndims],
        });
    }
    if type_code != TYPE_U8 {
        return Err(DataError::UnsupportedType {
            path: path.to_path_buf(),
            type_code,
            type_name: idx_type_name(type_code),
        });
    }

    let header_len = 4 + 4 * usize::from(ndims);
    let Some(size_bytes) = bytes.get(4..header_len) else {
        return Err(DataError::Truncated {
            path: path.to_path_buf(),
            dims: Vec::new(),
            expected_bytes: header_len as u64,
            found_bytes,
        });
    };
    let raw_dims: Vec<u32> = size_bytes
        .chunks_exact(4)
        .map(|chunk| u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]))
        .collect();

    let overflow = || DataError::SizeOverflow {
        path: path.to_path_buf(),
        dims: raw_dims.clone(),
    };
    let element_count = raw_dims
        .iter()
        .try_fold(1_usize, |product, &size| product.checked_mul(size as usize))
        .ok_or_else(overflow)?;
    let expected_len = element_count.checked_add(header_len).ok_or_else(overflow)?;

    if bytes.len() != expected_len {
        let (expected_bytes, dims) = (expected_len as u64, raw_dims.clone());
        let path = path.to_path_buf();
        return Err(if bytes.len() < expected_len {
            DataError::Truncated {
                path,
                dims,
                expected_bytes,
                found_bytes,
            }
        } else {
            DataError::TrailingBytes {
                path,
                dims,
                expected_bytes,
                found_bytes,
            }
        });
    }

    // Moving the data to the front reuses the buffer instead of copying it into a new one.
    bytes.drain(..header_len);
    Ok(IdxArray {
        dims: raw_dims.iter().map(|&size| size as usize).collect(),
        data: bytes,
    })
}

/// Reads a 3-dimensional IDX file of images, plain or gzip-compressed.
///
/// # Errors
///
/// The errors of [`read_idx_u8`], and [`DataError::WrongDimensionCount`] when the file does not
/// have exactly three dimensions.
pub fn read_images(path: &Path) -> Result<IdxImages, DataError> {
    let array = read_idx_u8(path)?;
    let &[count, rows, cols] = array.dims.as_slice() else {
        return Err(DataError::WrongDimensionCount {
            path: path.to_path_buf(),
            axes: "images, rows, columns",
            expected: 3,
            found: array.dims.len(),
        });
    };
    Ok(IdxImages {
        count,
        rows,
        cols,
        pixels: array.data,
    })
}

/// Reads a 1-dimensional IDX file of digit labels, plain or gzip-compressed.
///
/// # Errors
///
/// The errors of [`read_idx_u8`], [`DataError::WrongDimensionCount`] when the file does not
/// have exactly one dimension, and [`DataError::LabelOutOfRange`] for a label above 9.
pub fn read_labels(path: &Path) -> Result<Vec<u8>, DataError> {
    let array = read_idx_u8(path)?;
    if array.dims.len() != 1 {
        return Err(DataError::WrongDimensionCount {
            path: path.to_path_buf(),
            axes: "labels",
            expected: 1,
            found: array.dims.len(),
        });
    }
    if let Some((index, &label)) = array
        .data
        .iter()
        .enumerate()
        .find(|(_, &label)| label >= NUM_CLASSES)
    {
        return Err(DataError::LabelOutOfRange {
            path: PathBuf::from(path),
            index,
            label,
        });
    }
    Ok(array.data)
}

/// Name of an IDX type code, for error messages.
fn idx_type_name(type_code: u8) -> &'static str {
    match type_code {
        0x08 => "unsigned byte",
        0x09 => "signed byte",
        0x0B => "16-bit integer",
        0x0C => "32-bit integer",
        0x0D => "32-bit float",
        0x0E => "64-bit float",
        _ => "not an IDX type",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(type_code: u8, dims: &[u32]) -> Vec<u8> {
        let mut bytes = vec![0, 0, type_code, dims.len() as u8];
        for size in dims {
            bytes.extend_from_slice(&size.to_be_bytes());
        }
        bytes
    }

    fn parse(bytes: Vec<u8>) -> Result<IdxArray, DataError> {
        parse_idx_u8(Path::new("test.idx"), bytes)
    }

    #[test]
    fn parse_reads_sizes_big_endian() {
        let mut bytes = header(TYPE_U8, &[2, 3]);
        bytes.extend(0..6);
        let array = parse(bytes).unwrap();
        assert_eq!(array.dims, vec![2, 3]);
        assert_eq!(array.data, vec![0, 1, 2, 3, 4, 5]);
    }

    #[test]
    fn parse_reads_size_above_255() {
        let mut bytes = header(TYPE_U8, &[0x0102]);
        bytes.resize(bytes.len() + 0x0102, 7);
        let array = parse(bytes).unwrap();
        assert_eq!(array.dims, vec![258]);
    }

    #[test]
    fn parse_rejects_empty_input() {
        let error = parse(Vec::new()).unwrap_err();
        assert!(matches!(
            error,
            DataError::Truncated {
                expected_bytes: 4,
                found_bytes: 0,
                ..
            }
        ));
    }

    #[test]
    fn parse_rejects_zero_dimensions() {
        let error = parse(vec![0, 0, TYPE_U8, 0]).unwrap_err();
        assert!(matches!(error, DataError::BadMagic { .. }));
    }

    #[test]
    fn parse_rejects_short_size_list() {
        let mut bytes = header(TYPE_U8, &[2, 3]);
        bytes.truncate(9);
        let error = parse(bytes).unwrap_err();
        assert!(matches!(
            error,
            DataError::Truncated {
                expected_bytes: 12,
                found_bytes: 9,
                ..
            }
        ));
    }

    #[test]
    fn parse_rejects_overflowing_sizes() {
        let bytes = header(TYPE_U8, &[u32::MAX, u32::MAX, u32::MAX]);
        let error = parse(bytes).unwrap_err();
        assert!(matches!(error, DataError::SizeOverflow { .. }));
    }

    #[test]
    fn type_names_cover_idx_codes() {
        assert_eq!(idx_type_name(0x0D), "32-bit float");
        assert_eq!(idx_type_name(0x42), "not an IDX type");
    }
}
