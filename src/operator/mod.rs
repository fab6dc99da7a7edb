//! Linear operators between complex images and k-space.
//!
//! Shapes follow the crate's axis order: a single-coil image or k-space is `(H, W)`, multi-coil
//! k-space is `(coils, H, W)`, and `W` is the phase-encode axis that column masks select. The
//! Fourier transform is the centred orthonormal [`fft2c`](crate::fft::fft2c), so a fully
//! sampled [`MaskedFourier`] is unitary and every adjoint is the exact Hermitian transpose.
//!
//! Masked samples are written as `+0.0` in both the real and the imaginary part. A plain
//! multiply by zero would leave `-0.0` wherever the input was negative, and that sign bit
//! reveals which samples were dropped.
//!
//! ```
//! use dps::operator::{LinearOperator, MaskedFourier};
//! use dps::Complex32;
//! use ndarray::{ArrayD, IxDyn};
//!
//! // Three coils of 4 x 6 k-space, keeping every other phase-encode column.
//! let columns: Vec<bool> = (0..6).map(|j| j % 2 == 0).collect();
//! let operator = MaskedFourier::with_column_mask(&[3, 4, 6], &columns)?;
//! let image = ArrayD::from_elem(IxDyn(&[3, 4, 6]), Complex32::new(0.5, -1.0));
//! let kspace = operator.forward(&image.view())?;
//! assert_eq!(kspace[[0, 1, 1]].re.to_bits(), 0);
//! let zero_filled = operator.adjoint(&kspace.view())?;
//! assert_eq!(zero_filled.shape(), &[3, 4, 6]);
//! # Ok::<(), dps::operator::OperatorError>(())
//! ```

mod fourier;
mod sense;

use ndarray::{ArrayD, ArrayViewD};

use crate::Complex32;
pub use fourier::MaskedFourier;
pub use sense::Sense;

/// Errors raised when building or applying an operator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OperatorError {
    /// An input to `forward`, `adjoint` or `normal` has the wrong shape.
    #[error(
        "{operator} {method}: expected an input of shape {expected:?}, found {found:?}; \
         build the operator for the shape of the data"
    )]
    ShapeMismatch {
        /// Name of the operator type.
        operator: &'static str,
        /// The method that received the input.
        method: &'static str,
        /// The shape the operator accepts.
        expected: Vec<usize>,
        /// The shape of the input.
        found: Vec<usize>,
    },
    /// The operator cannot be built for the requested image or k-space shape.
    #[error(
        "{operator} cannot be built for shape {found:?}: expected {expected} with no empty axis"
    )]
    InvalidShape {
        /// Name of the operator type.
        operator: &'static str,
        /// The accepted shapes, in words.
        expected: &'static str,
        /// The requested shape.
        found: Vec<usize>,
    },
    /// The sampling mask does not fit the images.
    #[error(
        "a mask of shape {found:?} does not fit {height}x{width} images; a column mask needs \
         length W = {width} and a 2-D mask shape (H, W) = ({height}, {width})"
    )]
    MaskShape {
        /// Image height H.
        height: usize,
        /// Image width W.
        width: usize,
        /// The shape of the mask.
        found: Vec<usize>,
    },
}

/// A linear map `A` between complex arrays, with its adjoint `A^H`.
///
/// Implementations check input shapes and return [`OperatorError::ShapeMismatch`] rather than
/// panicking. The adjoint satisfies `<A x, y> = <x, A^H y>` up to rounding.
pub trait LinearOperator {
    /// Shape of `x` in `A x`.
    fn domain_shape(&self) -> &[usize];

    /// Shape of `A x`.
    fn range_shape(&self) -> &[usize];

    /// Applies `A` to `x`, an array of [`domain_shape`](Self::domain_shape).
    ///
    /// # Errors
    ///
    /// [`OperatorError::ShapeMismatch`] if `x` has another shape.
    fn forward(&self, x: &ArrayViewD<'_, Complex32>) -> Result<ArrayD<Complex32>, OperatorError>;

    /// Applies `A^H` to `y`, an array of [`range_shape`](Self::range_shape).
    ///
    /// # Errors
    ///
    /// [`OperatorError::ShapeMismatch`] if `y` has another shape.
    fn adjoint(&self, y: &ArrayViewD<'_, Complex32>) -> Result<ArrayD<Complex32>, OperatorError>;

    /// Applies the normal operator `A^H A` to `x`. The default runs `forward`, then `adjoint`.
    ///
    /// # Errors
    ///
    /// [`OperatorError::ShapeMismatch`] if `x` does not have the domain shape.
    fn normal(&self, x: &ArrayViewD<'_, Complex32>) -> Result<ArrayD<Complex32>, OperatorError> {
        let y = self.forward(x)?;
        self.adjoint(&y.view())
    }
}

/// Checks that an input has the shape an operator expects.
///
/// # Errors
///
/// [`OperatorError::ShapeMismatch`] naming `operator`, `method` and both shapes.
pub fn check_shape(
    operator: &'static str,
    method: &'static str,
    expected: &[usize],
    found: &[usize],
) -> Result<(), OperatorError> {
    if expected == found {
        Ok(())
    } else {
        Err(OperatorError::ShapeMismatch {
            operator,
            method,
            expected: expected.to_vec(),
            found: found.to_vec(),
        })
    }
}
