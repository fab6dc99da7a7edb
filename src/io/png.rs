//! Grayscale PNG previews of real images.

use std::path::Path;

use image::{GrayImage, Luma};
use ndarray::ArrayView2;

use super::IoError;

/// Mapping of image values to gray levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scaling {
    /// 0 is black, the image maximum white.
    Linear,
    /// `log(1 + v)` scaled the same way, for k-space magnitudes that span decades.
    Log,
}

/// Writes an `(h, w)` image as an 8-bit grayscale PNG, row 0 at the top. Non-finite and
/// negative values are drawn black.
///
/// # Errors
///
/// [`IoError::File`] when the file cannot be written.
pub fn write_png(path: &Path, image: &ArrayView2<f32>, scaling: Scaling) -> Result<(), IoError> {
    let map = |v: f32| -> f32 {
        let v = if v.is_finite() { v.max(0.0) } else { 0.0 };
        match scaling {
            Scaling::Linear => v,
            Scaling::Log => v.ln_1p(),
        }
    };
    let maximum = image.iter().copied().map(map).fold(0.0f32, f32::max);
    let (height, width) = image.dim();
    let mut png = GrayImage::new(width as u32, height as u32);
    for ((row, col), &value) in image.indexed_iter() {
        let level = if maximum > 0.0 {
            (map(value) / maximum * 255.0).round() as u8
        } else {
            0
        };
        png.put_pixel(col as u32, row as u32, Luma([level]));
    }
    png.save(path).map_err(|error| IoError::File {
        path: path.to_path_buf(),
        source: std::io::Error::other(error.to_string()),
    })
}
