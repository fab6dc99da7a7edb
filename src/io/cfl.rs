//! BART `.cfl`/`.hdr` files.
//!
//! A BART array is two files sharing a base name: `BASE.hdr`, a text file whose line after
//! `# Dimensions` lists the sizes, and `BASE.cfl`, the samples as raw little-endian complex64
//! in column-major order (the first dimension varies fastest). BART v0.8 writes all 16
//! dimensions, padding with 1s, and appends `# Command`, `# Files` and `# Creator` sections,
//! which this reader ignores.
//!
//! [`read_cfl`] returns an array whose axes are the `.hdr` dimensions in the listed order, in
//! Fortran (column-major) memory layout, so `array[[read, phs1, phs2, coil, ...]]` indexes as
//! BART does. Functions take the base name; a trailing `.cfl` or `.hdr` is removed first.

use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use ndarray::{ArrayD, ArrayViewD, IxDyn, ShapeBuilder};

use super::error::IoError;
use crate::Complex32;

/// Number of dimensions BART uses.
pub const BART_DIMENSIONS: usize = 16;

/// BART's names of its 16 dimensions, by index (BART v0.8 `misc/mri.h`).
pub const BART_DIMENSION_NAMES: [&str; BART_DIMENSIONS] = [
    "READ", "PHS1", "PHS2", "COIL", "MAPS", "TE", "COEFF", "COEFF2", "ITER", "CSHIFT", "TIME",
    "TIME2", "LEVEL", "SLICE", "AVG", "BATCH",
];

/// Returns the `.hdr` and `.cfl` paths of a base name, removing a trailing `.cfl` or `.hdr`.
pub fn cfl_paths(base: impl AsRef<Path>) -> (PathBuf, PathBuf) {
    let base = base.as_ref();
    let has_cfl_extension = base
        .extension()
        .is_some_and(|ext| ext == "cfl" || ext == "hdr");
    let stem = match has_cfl_extension {
        true => base.with_extension(""),
        false => base.to_owned(),
    };
    let mut header = stem.clone().into_os_string();
    header.push(".hdr");
    let mut data = stem.into_os_string();
    data.push(".cfl");
    (PathBuf::from(header), PathBuf::from(data))
}

/// Reads the dimensions listed in `BASE.hdr`.
///
/// # Errors
///
/// [`IoError::File`] when the file cannot be read, [`IoError::InvalidCflHeader`] when it has no
/// `# Dimensions` line followed by at least one size.
pub fn read_cfl_dims(base: impl AsRef<Path>) -> Result<Vec<usize>, IoError> {
    let (header_path, _) = cfl_paths(base);
    let text = fs::read_to_string(&header_path).map_err(|source| IoError::File {
        path: header_path.clone(),
        source,
    })?;
    parse_dims(&text).map_err(|reason| IoError::InvalidCflHeader {
        path: header_path,
        reason,
    })
}

fn parse_dims(text: &str) -> Result<Vec<usize>, String> {
    let mut lines = text.lines();
    lines
        .by_ref()
        .find(|line| line.trim() == "# Dimensions")
        .ok_or("no `# Dimensions` line")?;
    let sizes = lines.next().ok_or("no sizes after `# Dimensions`")?;
    let dims = sizes
        .split_whitespace()
        .map(|size| {
            size.parse::<usize>()
                .map_err(|_| format!("size `{size}` is not a non-negative integer"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if dims.is_empty() {
        return Err("the line after `# Dimensions` lists no sizes".to_owned());
    }
    Ok(dims)
}

/// Reads a BART array, with axes in `.hdr` order and Fortran memory layout.
///
/// # Errors
///
/// As [`read_cfl_dims`]; [`IoError::File`] when `BASE.cfl` cannot be read;
/// [`IoError::CflSize`] when its size is not 8 bytes times the number of samples.
pub fn read_cfl(base: impl AsRef<Path>) -> Result<ArrayD<Complex32>, IoError> {
    let dims = read_cfl_dims(base.as_ref())?;
    let (_, data_path) = cfl_paths(base);
    let expected = dims
        .iter()
        .try_fold(8u64, |bytes, &size| bytes.checked_mul(size as u64));
    let file_error = |source| IoError::File {
        path: data_path.clone(),
        source,
    };
    let found = fs::metadata(&data_path).map_err(file_error)?.len();
    if expected != Some(found) {
        return Err(IoError::CflSize {
            path: data_path,
            found,
            expected: expected.unwrap_or(u64::MAX),
            dims,
        });
    }
    let bytes = fs::read(&data_path).map_err(file_error)?;
    let samples: Vec<Complex32> = bytes
        .chunks_exact(8)
        .map(|pair| {
            let re = f32::from_le_bytes([pair[0], pair[1], pair[2], pair[3]]);
            let im = f32::from_le_bytes([pair[4], pair[5], pair[6], pair[7]]);
            Complex32::new(re, im)
        })
        .collect();
    let shape = IxDyn(&dims).f();
    Ok(ArrayD::from_shape_vec(shape, samples)
        .expect("the sample count was checked against the dimensions"))
}

/// Writes a BART array: `BASE.hdr` with its dimensions padded with 1s to 16, and `BASE.cfl` in
/// column-major order.
///
/// # Errors
///
/// [`IoError::InvalidShape`] for an array of more than 16 dimensions; [`IoError::File`] when
/// writing fails.
pub fn write_cfl(base: impl AsRef<Path>, array: &ArrayViewD<Complex32>) -> Result<(), IoError> {
    let mut writer = CflWriter::create(base, array.shape())?;
    // Reversing the axes turns column-major order into the logical order that iter() follows.
    writer.write_samples(array.t().iter().copied())?;
    writer.finish()
}

/// Streaming writer of a BART array whose samples arrive in column-major order.
pub(crate) struct CflWriter {
    data_path: PathBuf,
    data: BufWriter<fs::File>,
    remaining: usize,
}

impl CflWriter {
    /// Writes `BASE.hdr` and opens `BASE.cfl` for the samples.
    pub(crate) fn create(base: impl AsRef<Path>, dims: &[usize]) -> Result<Self, IoError> {
        let (header_path, data_path) = cfl_paths(base);
        if dims.len() > BART_DIMENSIONS {
            return Err(IoError::InvalidShape {
                path: data_path,
                dataset: "cfl".to_owned(),
                found: dims.to_vec(),
                expected: format!("at most {BART_DIMENSIONS} dimensions"),
            });
        }
        let mut padded = dims.to_vec();
        padded.resize(BART_DIMENSIONS, 1);
        let sizes: Vec<String> = padded.iter().map(usize::to_string).collect();
        let header = format!("# Dimensions\n{}\n", sizes.join(" "));
        fs::write(&header_path, header).map_err(|source| IoError::File {
            path: header_path,
            source,
        })?;
        let file = fs::File::create(&data_path).map_err(|source| IoError::File {
            path: data_path.clone(),
            source,
        })?;
        Ok(Self {
            data_path,
            data: BufWriter::new(file),
            remaining: dims.iter().product(),
        })
    }

    /// Appends samples in column-major order.
    ///
    /// # Panics
    ///
    /// Panics when more samples arrive than the dimensions hold.
    pub(crate) fn write_samples(
        &mut self,
        samples: impl IntoIterator<Item = Complex32>,
    ) -> Result<(), IoError> {
        for sample in samples {
            assert!(
                self.remaining > 0,
                "more samples than the BART dimensions hold"
            );
            self.remaining -= 1;
            let mut bytes = [0u8; 8];
            bytes[..4].copy_from_slice(&sample.re.to_le_bytes());
            bytes[4..].copy_from_slice(&sample.im.to_le_bytes());
            self.data
                .write_all(&bytes)
                .map_err(|source| IoError::File {
                    path: self.data_path.clone(),
                    source,
                })?;
        }
        Ok(())
    }

    /// Flushes the samples.
    ///
    /// # Panics
    ///
    /// Panics when fewer samples were written than the dimensions hold.
    pub(crate) fn finish(mut self) -> Result<(), IoError> {
        assert_eq!(
            self.remaining, 0,
            "fewer samples than the BART dimensions hold"
        );
        self.data.flush().map_err(|source| IoError::File {
            path: self.data_path,
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_name_forms() {
        let expected = (PathBuf::from("d/ph.hdr"), PathBuf::from("d/ph.cfl"));
        assert_eq!(cfl_paths("d/ph"), expected);
        assert_eq!(cfl_paths("d/ph.cfl"), expected);
        assert_eq!(cfl_paths("d/ph.hdr"), expected);
        assert_eq!(cfl_paths("d/k.v1").1, PathBuf::from("d/k.v1.cfl"));
    }

    #[test]
    fn header_parsing() {
        let bart = "# Dimensions\n32 32 1 4 1 1 1 1 1 1 1 1 1 1 1 1 \n# Command\nphantom -k\n";
        assert_eq!(
            parse_dims(bart).unwrap(),
            [32, 32, 1, 4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]
        );
        assert_eq!(parse_dims("# Dimensions\n2 3 4 \n").unwrap(), [2, 3, 4]);
        assert!(parse_dims("# Command\nones\n")
            .unwrap_err()
            .contains("# Dimensions"));
        assert!(parse_dims("# Dimensions\n").is_err());
        assert!(parse_dims("# Dimensions\n2 x 4\n")
            .unwrap_err()
            .contains("`x`"));
    }
}
