//! Undersampled centred Fourier transform, single- and multi-coil.

use ndarray::{Array1, Array2, ArrayD, ArrayViewD, Zip};

use super::{check_shape, LinearOperator, OperatorError};
use crate::fft::{fft2c, fft2c_inplace, ifft2c_inplace};
use crate::Complex32;

const NAME: &str = "MaskedFourier";

/// Set of kept k-space samples.
#[derive(Clone, Debug, PartialEq)]
enum SampleMask {
    /// Every sample.
    Full,
    /// Phase-encode columns, shared by all rows and coils: length W.
    Columns(Array1<bool>),
    /// Individual samples, shared by all coils: shape (H, W).
    Samples(Array2<bool>),
}

/// `A = M F`: the centred orthonormal 2-D FFT followed by a sampling mask `M`.
///
/// The domain and range are both `(H, W)` (single-coil) or both `(coils, H, W)` (multi-coil,
/// every coil transformed on its own and masked alike). The adjoint is `F^H M`, the zero-filled
/// reconstruction, and with a full mask `A^H A = I`. Unsampled outputs of `forward` and
/// unsampled inputs of `adjoint` are treated as exactly `+0.0`.
#[derive(Clone, Debug, PartialEq)]
pub struct MaskedFourier {
    shape: Vec<usize>,
    mask: SampleMask,
}

impl MaskedFourier {
    /// Builds the unmasked transform for images of `shape`, `(H, W)` or `(coils, H, W)`.
    ///
    /// # Errors
    ///
    /// [`OperatorError::InvalidShape`] if `shape` has another rank or an empty axis.
    pub fn fully_sampled(shape: &[usize]) -> Result<Self, OperatorError> {
        check_image_shape(NAME, shape)?;
        Ok(Self {
            shape: shape.to_vec(),
            mask: SampleMask::Full,
        })
    }

    /// Builds the transform that keeps the phase-encode columns `j` with `columns[j]` set.
    ///
    /// # Errors
    ///
    /// [`OperatorError::InvalidShape`] for a bad `shape`, and [`OperatorError::MaskShape`]
    /// unless `columns.len()` is W.
    pub fn with_column_mask(shape: &[usize], columns: &[bool]) -> Result<Self, OperatorError> {
        let (height, width) = check_image_shape(NAME, shape)?;
        if columns.len() != width {
            return Err(OperatorError::MaskShape {
                height,
                width,
                found: vec![columns.len()],
            });
        }
        Ok(Self {
            shape: shape.to_vec(),
            mask: SampleMask::Columns(Array1::from(columns.to_vec())),
        })
    }

    /// Builds the transform that keeps the samples `(i, j)` with `mask[[i, j]]` set, as for
    /// 2-D Poisson-disc or variable-density masks.
    ///
    /// # Errors
    ///
    /// [`OperatorError::InvalidShape`] for a bad `shape`, and [`OperatorError::MaskShape`]
    /// unless `mask` is (H, W).
    pub fn with_mask(shape: &[usize], mask: Array2<bool>) -> Result<Self, OperatorError> {
        let (height, width) = check_image_shape(NAME, shape)?;
        if mask.dim() != (height, width) {
            return Err(OperatorError::MaskShape {
                height,
                width,
                found: mask.shape().to_vec(),
            });
        }
        Ok(Self {
            shape: shape.to_vec(),
            mask: SampleMask::Samples(mask),
        })
    }

    /// Transforms and masks k-space in place: `x <- M F x`. The shape must have been checked.
    pub(crate) fn forward_inplace(&self, x: &mut ArrayD<Complex32>) {
        fft2c_inplace(x);
        self.apply_mask(x);
    }

    /// Masks and inverse-transforms in place: `y <- F^H M y`. The shape must have been checked.
    pub(crate) fn adjoint_inplace(&self, y: &mut ArrayD<Complex32>) {
        self.apply_mask(y);
        ifft2c_inplace(y);
    }

    /// Writes `+0.0 + 0.0i` into every unsampled position of `x`.
    fn apply_mask(&self, x: &mut ArrayD<Complex32>) {
        let zero = Complex32::new(0.0, 0.0);
        let clear = |value: &mut Complex32, &keep: &bool| {
            if !keep {
                *value = zero;
            }
        };
        match &self.mask {
            SampleMask::Full => {}
            SampleMask::Columns(columns) => {
                Zip::from(x).and_broadcast(columns).par_for_each(clear);
            }
            SampleMask::Samples(samples) => {
                Zip::from(x).and_broadcast(samples).par_for_each(clear);
            }
        }
    }
}

impl LinearOperator for MaskedFourier {
    fn domain_shape(&self) -> &[usize] {
        &self.shape
    }

    fn range_shape(&self) -> &[usize] {
        &self.shape
    }

    fn forward(&self, x: &ArrayViewD<'_, Complex32>) -> Result<ArrayD<Complex32>, OperatorError> {
        check_shape(NAME, "forward", &self.shape, x.shape())?;
        let mut kspace = fft2c(x);
        self.apply_mask(&mut kspace);
        Ok(kspace)
    }

    fn adjoint(&self, y: &ArrayViewD<'_, Complex32>) -> Result<ArrayD<Complex32>, OperatorError> {
        check_shape(NAME, "adjoint", &self.shape, y.shape())?;
        let mut image = y.to_owned();
        self.adjoint_inplace(&mut image);
        Ok(image)
    }

    /// Computes `F^H M F x` in one buffer.
    fn normal(&self, x: &ArrayViewD<'_, Complex32>) -> Result<ArrayD<Complex32>, OperatorError> {
        check_shape(NAME, "normal", &self.shape, x.shape())?;
        let mut buffer = fft2c(x);
        self.adjoint_inplace(&mut buffer);
        Ok(buffer)
    }
}

/// Returns `(H, W)` of an `(H, W)` or `(coils, H, W)` shape with no empty axis.
pub(super) fn check_image_shape(
    operator: &'static str,
    shape: &[usize],
) -> Result<(usize, usize), OperatorError> {
    let valid_rank = shape.len() == 2 || shape.len() == 3;
    if !valid_rank || shape.contains(&0) {
        return Err(OperatorError::InvalidShape {
            operator,
            expected: "(H, W) or (coils, H, W)",
            found: shape.to_vec(),
        });
    }
    let rank = shape.len();
    Ok((shape[rank - 2], shape[rank - 1]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array3, Dimension, IxDyn};

    fn ramp(shape: &[usize]) -> ArrayD<Complex32> {
        ArrayD::from_shape_fn(IxDyn(shape), |index| {
            let t: usize = index.slice().iter().sum();
            Complex32::new(-(t as f32) - 1.0, 0.5 * t as f32 - 3.0)
        })
    }

    #[test]
    fn masked_samples_are_positive_zero() {
        let columns = [true, false, false, true, false, true];
        let operator = MaskedFourier::with_column_mask(&[2, 5, 6], &columns).unwrap();
        let kspace = operator.forward(&ramp(&[2, 5, 6]).view()).unwrap();
        for (index, value) in kspace.indexed_iter() {
            if !columns[index[2]] {
                assert_eq!(value.re.to_bits(), 0, "real part at {index:?}");
                assert_eq!(value.im.to_bits(), 0, "imaginary part at {index:?}");
            }
        }
    }

    #[test]
    fn adjoint_ignores_unsampled_input() {
        let mut mask = Array2::from_elem((4, 5), true);
        mask[[1, 2]] = false;
        let operator = MaskedFourier::with_mask(&[4, 5], mask).unwrap();
        let y = ramp(&[4, 5]);
        let mut changed = y.clone();
        changed[[1, 2]] = Complex32::new(1e3, -1e3);
        let expected = operator.adjoint(&y.view()).unwrap();
        assert_eq!(operator.adjoint(&changed.view()).unwrap(), expected);
    }

    #[test]
    fn column_and_sample_masks_agree() {
        let columns = [false, true, true, false, true];
        let samples = Array2::from_shape_fn((3, 5), |(_, j)| columns[j]);
        let by_columns = MaskedFourier::with_column_mask(&[2, 3, 5], &columns).unwrap();
        let by_samples = MaskedFourier::with_mask(&[2, 3, 5], samples).unwrap();
        let x = ramp(&[2, 3, 5]);
        let expected = by_samples.forward(&x.view()).unwrap();
        assert_eq!(by_columns.forward(&x.view()).unwrap(), expected);
    }

    #[test]
    fn forward_rejects_wrong_shape() {
        let operator = MaskedFourier::fully_sampled(&[4, 6]).unwrap();
        let x = Array3::<Complex32>::zeros((1, 4, 6)).into_dyn();
        let error = operator.forward(&x.view()).unwrap_err();
        let expected = OperatorError::ShapeMismatch {
            operator: "MaskedFourier",
            method: "forward",
            expected: vec![4, 6],
            found: vec![1, 4, 6],
        };
        assert_eq!(error, expected);
    }

    #[test]
    fn construction_rejects_bad_shapes() {
        assert!(matches!(
            MaskedFourier::fully_sampled(&[4]),
            Err(OperatorError::InvalidShape { .. })
        ));
        assert!(matches!(
            MaskedFourier::fully_sampled(&[2, 0, 4]),
            Err(OperatorError::InvalidShape { .. })
        ));
        assert_eq!(
            MaskedFourier::with_column_mask(&[4, 6], &[true; 4]).unwrap_err(),
            OperatorError::MaskShape {
                height: 4,
                width: 6,
                found: vec![4]
            }
        );
        assert_eq!(
            MaskedFourier::with_mask(&[4, 6], Array2::from_elem((6, 4), true)).unwrap_err(),
            OperatorError::MaskShape {
                height: 4,
                width: 6,
                found: vec![6, 4]
            }
        );
    }
}
