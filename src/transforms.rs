//! Image-space helpers: magnitude, root-sum-of-squares over coils, centre crop.
//!
//! Images follow the crate's axis order `(..., H, W)`, with the coil axis passed explicitly
//! (`Axis(0)` of a `(coils, H, W)` slice, `Axis(1)` of a `(slices, coils, H, W)` volume).
//! These match fastMRI's `complex_abs`, `rss`, `rss_complex` and `center_crop`.

use ndarray::{Array, ArrayBase, ArrayView, Axis, Data, Dimension, RemoveAxis, Slice, Zip};

use crate::Complex32;

/// Errors of the image-space helpers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransformError {
    /// The coil axis does not exist in the input.
    #[error(
        "coil axis {axis} is out of range for an array of shape {shape:?}; \
         pass the index of the coil axis (0 for (coils, H, W), 1 for (slices, coils, H, W))"
    )]
    CoilAxisOutOfRange {
        /// The requested coil axis.
        axis: usize,
        /// The shape of the input.
        shape: Vec<usize>,
    },
    /// The input has fewer than two axes, so it has no (H, W) image to crop.
    #[error("centre crop needs an array of shape (..., H, W), but the input has shape {shape:?}")]
    NotAnImage {
        /// The shape of the input.
        shape: Vec<usize>,
    },
    /// The requested crop is larger than the image along at least one axis.
    #[error(
        "cannot centre-crop a {height}x{width} image to {crop_height}x{crop_width} \
         because the crop is larger; pick a crop size no larger than the image \
         (crop_size_for applies the narrow-image rule)"
    )]
    CropLargerThanImage {
        /// Image height H.
        height: usize,
        /// Image width W.
        width: usize,
        /// Requested crop height.
        crop_height: usize,
        /// Requested crop width.
        crop_width: usize,
    },
}

/// Returns the magnitude `sqrt(re^2 + im^2)` of every sample.
///
/// The square root of the sum is taken directly, as fastMRI's `complex_abs` does, not through
/// `hypot`.
pub fn complex_abs<S, D>(x: &ArrayBase<S, D>) -> Array<f32, D>
where
    S: Data<Elem = Complex32>,
    D: Dimension,
{
    Zip::from(x).par_map_collect(|value| value.norm_sqr().sqrt())
}

/// Returns the root-sum-of-squares coil combination `sqrt(sum_c |x_c|^2)` over `coil_axis`.
///
/// # Errors
///
/// [`TransformError::CoilAxisOutOfRange`] if `coil_axis` is not an axis of `x`.
pub fn rss<S, D>(
    x: &ArrayBase<S, D>,
    coil_axis: Axis,
) -> Result<Array<f32, D::Smaller>, TransformError>
where
    S: Data<Elem = Complex32>,
    D: RemoveAxis,
{
    check_coil_axis(x.shape(), coil_axis)?;
    let mut sum = x.fold_axis(coil_axis, 0.0f32, |acc, value| acc + value.norm_sqr());
    sum.par_mapv_inplace(f32::sqrt);
    Ok(sum)
}

/// Returns the root-sum-of-squares `sqrt(sum_c x_c^2)` of real images over `coil_axis`, for
/// coil magnitudes that were taken already.
///
/// # Errors
///
/// [`TransformError::CoilAxisOutOfRange`] if `coil_axis` is not an axis of `x`.
pub fn rss_real<S, D>(
    x: &ArrayBase<S, D>,
    coil_axis: Axis,
) -> Result<Array<f32, D::Smaller>, TransformError>
where
    S: Data<Elem = f32>,
    D: RemoveAxis,
{
    check_coil_axis(x.shape(), coil_axis)?;
    let mut sum = x.fold_axis(coil_axis, 0.0f32, |acc, value| acc + value * value);
    sum.par_mapv_inplace(f32::sqrt);
    Ok(sum)
}

fn check_coil_axis(shape: &[usize], coil_axis: Axis) -> Result<(), TransformError> {
    if coil_axis.index() < shape.len() {
        Ok(())
    } else {
        Err(TransformError::CoilAxisOutOfRange {
            axis: coil_axis.index(),
            shape: shape.to_vec(),
        })
    }
}

/// Returns a view of the centred `(height, width)` window of the last two axes.
///
/// For an image of `H x W` the window keeps rows `floor((H - height) / 2)` onwards and columns
/// `floor((W - width) / 2)` onwards, as fastMRI's `center_crop` does: 640x368 to 320x320 keeps
/// rows 160..480 and columns 24..344. Leading axes are kept whole.
///
/// # Errors
///
/// [`TransformError::NotAnImage`] if `x` has fewer than two axes, and
/// [`TransformError::CropLargerThanImage`] if `height > H` or `width > W`.
pub fn center_crop<A, S, D>(
    x: &ArrayBase<S, D>,
    (height, width): (usize, usize),
) -> Result<ArrayView<'_, A, D>, TransformError>
where
    S: Data<Elem = A>,
    D: Dimension,
{
    let shape = x.shape();
    let rank = shape.len();
    if rank < 2 {
        return Err(TransformError::NotAnImage {
            shape: shape.to_vec(),
        });
    }
    let (image_height, image_width) = (shape[rank - 2], shape[rank - 1]);
    if height > image_height || width > image_width {
        return Err(TransformError::CropLargerThanImage {
            height: image_height,
            width: image_width,
            crop_height: height,
            crop_width: width,
        });
    }
    let top = (image_height - height) / 2;
    let left = (image_width - width) / 2;
    let mut view = x.view();
    view.slice_axis_inplace(Axis(rank - 2), Slice::from(top..top + height));
    view.slice_axis_inplace(Axis(rank - 1), Slice::from(left..left + width));
    Ok(view)
}

/// Returns the crop size for an image of `image_hw = (H, W)` whose reconstruction size is
/// `recon_hw`.
///
/// This is `recon_hw`, except when the image is narrower than the crop (`W < recon_hw.1`):
/// then the crop is `(W, W)`. fastMRI's data transforms apply this rule to the brain AXFLAIR
/// files with W = 276, whose reconSpace is 320x320. A crop taller than the image is returned
/// unchanged, so that [`center_crop`] reports it.
pub fn crop_size_for(image_hw: (usize, usize), recon_hw: (usize, usize)) -> (usize, usize) {
    let (_, image_width) = image_hw;
    if image_width < recon_hw.1 {
        (image_width, image_width)
    } else {
        recon_hw
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{arr2, Array3, Array4};

    #[test]
    fn complex_abs_of_three_four() {
        let x = arr2(&[[Complex32::new(3.0, 4.0), Complex32::new(0.0, -2.0)]]);
        assert_eq!(complex_abs(&x), arr2(&[[5.0, 2.0]]));
    }

    #[test]
    fn rss_combines_coils() {
        // Two coils with |x| = 3 and 4 at every pixel combine to 5.
        let mut x = Array3::from_elem((2, 2, 3), Complex32::new(3.0, 0.0));
        x.index_axis_mut(Axis(0), 1).fill(Complex32::new(0.0, 4.0));
        let combined = rss(&x, Axis(0)).unwrap();
        assert_eq!(combined.dim(), (2, 3));
        assert!(combined.iter().all(|&v| v == 5.0));
    }

    #[test]
    fn rss_over_second_axis() {
        let x = Array4::from_shape_fn((2, 3, 1, 1), |(s, c, _, _)| {
            Complex32::new((s + c) as f32, 0.0)
        });
        let combined = rss(&x, Axis(1)).unwrap();
        assert_eq!(combined.dim(), (2, 1, 1));
        assert_eq!(combined[[0, 0, 0]], 5.0f32.sqrt());
        assert_eq!(combined[[1, 0, 0]], 14.0f32.sqrt());
    }

    #[test]
    fn rss_real_matches_complex() {
        let x = Array3::from_shape_fn((4, 3, 2), |(c, i, j)| (c * 6 + i * 2 + j) as f32 - 7.0);
        let as_complex = x.mapv(|v| Complex32::new(v, 0.0));
        assert_eq!(
            rss_real(&x, Axis(0)).unwrap(),
            rss(&as_complex, Axis(0)).unwrap()
        );
    }

    #[test]
    fn rss_rejects_missing_axis() {
        let x = Array3::<Complex32>::zeros((2, 4, 4));
        let error = rss(&x, Axis(3)).unwrap_err();
        assert_eq!(
            error,
            TransformError::CoilAxisOutOfRange {
                axis: 3,
                shape: vec![2, 4, 4]
            }
        );
    }

    #[test]
    fn center_crop_odd_margin_rounds_down() {
        let x = Array3::from_shape_fn((2, 7, 6), |(c, i, j)| 100 * c + 10 * i + j);
        let crop = center_crop(&x, (4, 3)).unwrap();
        assert_eq!(crop.dim(), (2, 4, 3));
        // Margins (7 - 4) / 2 = 1 and (6 - 3) / 2 = 1.
        assert_eq!(crop[[0, 0, 0]], 11);
        assert_eq!(crop[[1, 3, 2]], 143);
    }

    #[test]
    fn center_crop_rejects_larger_crop() {
        let x = Array3::<f32>::zeros((1, 640, 276));
        let error = center_crop(&x, (320, 320)).unwrap_err();
        let expected = TransformError::CropLargerThanImage {
            height: 640,
            width: 276,
            crop_height: 320,
            crop_width: 320,
        };
        assert_eq!(error, expected);
    }

    #[test]
    fn center_crop_rejects_rank_one() {
        let x = ndarray::Array1::<f32>::zeros(5);
        let error = center_crop(&x, (1, 1)).unwrap_err();
        assert_eq!(error, TransformError::NotAnImage { shape: vec![5] });
    }

    #[test]
    fn crop_size_for_narrow_image() {
        assert_eq!(crop_size_for((640, 276), (320, 320)), (276, 276));
    }

    #[test]
    fn crop_size_for_wide_image() {
        assert_eq!(crop_size_for((640, 368), (320, 320)), (320, 320));
        assert_eq!(crop_size_for((640, 320), (320, 320)), (320, 320));
    }
}
