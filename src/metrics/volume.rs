//! Error metrics over whole volumes `(slices, h, w)`: MSE, NMSE and PSNR as fastMRI's
//! evaluator computes them. Differences, squares and sums are in `f64`.

use ndarray::{ArrayView3, Zip};

use super::kind::DataRange;
use super::MetricsError;

/// Returns an error unless both shapes are equal and non-empty.
pub(crate) fn check_shapes(target: &[usize], prediction: &[usize]) -> Result<(), MetricsError> {
    if target != prediction {
        return Err(MetricsError::ShapeMismatch {
            target: target.to_vec(),
            prediction: prediction.to_vec(),
        });
    }
    if target.contains(&0) {
        return Err(MetricsError::Empty {
            shape: target.to_vec(),
        });
    }
    Ok(())
}

fn squared_error_sum(target: ArrayView3<f32>, prediction: ArrayView3<f32>) -> f64 {
    Zip::from(&target)
        .and(&prediction)
        .fold(0.0, |sum, &t, &p| {
            sum + (f64::from(t) - f64::from(p)).powi(2)
        })
}

/// Computes the mean squared error `mean((gt - pred)²)` over the volume.
///
/// # Errors
///
/// [`MetricsError::ShapeMismatch`] and [`MetricsError::Empty`].
pub fn mse(target: ArrayView3<f32>, prediction: ArrayView3<f32>) -> Result<f64, MetricsError> {
    check_shapes(target.shape(), prediction.shape())?;
    Ok(squared_error_sum(target, prediction) / target.len() as f64)
}

/// Computes the normalised mean squared error `‖gt − pred‖² / ‖gt‖²` over the volume.
///
/// # Errors
///
/// [`MetricsError::ShapeMismatch`], [`MetricsError::Empty`] and
/// [`MetricsError::ZeroTargetNorm`] when the target is zero everywhere.
pub fn nmse(target: ArrayView3<f32>, prediction: ArrayView3<f32>) -> Result<f64, MetricsError> {
    check_shapes(target.shape(), prediction.shape())?;
    let norm: f64 = target.iter().map(|&t| f64::from(t).powi(2)).sum();
    if norm == 0.0 {
        return Err(MetricsError::ZeroTargetNorm);
    }
    Ok(squared_error_sum(target, prediction) / norm)
}

/// Computes the peak signal-to-noise ratio `10 log10(L² / MSE)` in dB.
///
/// fastMRI passes `L` = maximum of the target volume ([`DataRange::VolumeMax`]). A prediction
/// equal to the target gives `+inf`, as scikit-image's `peak_signal_noise_ratio` does.
///
/// # Errors
///
/// [`MetricsError::ShapeMismatch`], [`MetricsError::Empty`] and
/// [`MetricsError::InvalidDataRange`].
pub fn psnr(
    target: ArrayView3<f32>,
    prediction: ArrayView3<f32>,
    data_range: DataRange,
) -> Result<f64, MetricsError> {
    let mse = mse(target, prediction)?;
    let data_range = data_range.resolve(target)?;
    Ok(10.0 * (data_range * data_range / mse).log10())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array3;

    #[test]
    fn mismatched_shapes_rejected() {
        let target = Array3::<f32>::ones((2, 8, 8));
        let prediction = Array3::<f32>::ones((2, 8, 9));
        assert!(matches!(
            mse(target.view(), prediction.view()),
            Err(MetricsError::ShapeMismatch { .. })
        ));
    }

    #[test]
    fn empty_volume_rejected() {
        let empty = Array3::<f32>::zeros((0, 8, 8));
        assert!(matches!(
            nmse(empty.view(), empty.view()),
            Err(MetricsError::Empty { .. })
        ));
    }

    #[test]
    fn zero_target_rejected() {
        let zeros = Array3::<f32>::zeros((1, 4, 4));
        let ones = Array3::<f32>::ones((1, 4, 4));
        assert!(matches!(
            nmse(zeros.view(), ones.view()),
            Err(MetricsError::ZeroTargetNorm)
        ));
        assert!(matches!(
            psnr(zeros.view(), ones.view(), DataRange::VolumeMax),
            Err(MetricsError::InvalidDataRange { .. })
        ));
    }

    #[test]
    fn perfect_prediction_has_infinite_psnr() {
        let target = Array3::from_shape_fn((1, 4, 4), |(_, i, j)| (i + j) as f32);
        let value = psnr(target.view(), target.view(), DataRange::Fixed(1.0)).unwrap();
        assert_eq!(value, f64::INFINITY);
    }
}
