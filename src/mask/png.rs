//! PNG export of masks: white pixels are sampled, black ones dropped.

use std::path::Path;

use image::{GrayImage, ImageFormat, Luma};

use super::{Mask, MaskError, MaskLayout};

/// Height in pixels of the strip drawn for a line mask when no height is given.
pub const STRIP_HEIGHT: usize = 32;

const SAMPLED: Luma<u8> = Luma([255]);
const DROPPED: Luma<u8> = Luma([0]);

impl Mask {
    /// Renders the mask as an 8-bit grayscale image, one pixel per k-space sample, rows along
    /// `H` from the top.
    ///
    /// Line masks are drawn `height` rows tall (the k-space height, to show the pattern as it
    /// covers the plane), or as a strip of [`STRIP_HEIGHT`] rows when `height` is `None`.
    /// Grid masks are drawn at their own size.
    ///
    /// # Errors
    ///
    /// [`MaskError::ZeroImageHeight`] for `Some(0)` with a line mask, and
    /// [`MaskError::HeightMismatch`] for a grid mask and a height other than its own.
    pub fn to_image(&self, height: Option<usize>) -> Result<GrayImage, MaskError> {
        let rows = match (self.layout, height) {
            (MaskLayout::Lines { .. }, Some(0)) => return Err(MaskError::ZeroImageHeight),
            (MaskLayout::Lines { .. }, rows) => rows.unwrap_or(STRIP_HEIGHT),
            (MaskLayout::Grid { height: own, .. }, Some(rows)) if rows != own => {
                return Err(MaskError::HeightMismatch {
                    expected: own,
                    found: rows,
                });
            }
            (MaskLayout::Grid { height: own, .. }, _) => own,
        };
        let grid = self.to_grid(rows)?;
        let (rows, cols) = grid.dim();
        Ok(GrayImage::from_fn(cols as u32, rows as u32, |x, y| {
            if grid[(y as usize, x as usize)] {
                SAMPLED
            } else {
                DROPPED
            }
        }))
    }

    /// Writes the mask as a PNG file, drawn as [`Mask::to_image`] describes.
    ///
    /// # Errors
    ///
    /// As [`Mask::to_image`], and [`MaskError::Png`], naming the path, if the file cannot be
    /// written.
    pub fn save_png(&self, path: impl AsRef<Path>, height: Option<usize>) -> Result<(), MaskError> {
        let path = path.as_ref();
        self.to_image(height)?
            .save_with_format(path, ImageFormat::Png)
            .map_err(|source| MaskError::Png {
                path: path.to_path_buf(),
                source,
            })
    }
}
