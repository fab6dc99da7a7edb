//! Structural similarity (SSIM, Wang et al. 2004) in the two variants this crate reports.
//!
//! Per pixel, with local means `ux, uy`, variances `vx, vy` and covariance `vxy` over a window,
//!
//! ```text
//! S = (2 ux uy + C1)(2 vxy + C2) / ((ux² + uy² + C1)(vx + vy + C2)),  C1 = (K1 L)², C2 = (K2 L)²
//! ```
//!
//! with `K1 = 0.01`, `K2 = 0.03` and data range `L`. The image's SSIM is the mean of `S` over
//! the valid region: pixels whose whole window lies inside the image, so a border of the window
//! radius is left out and no padding mode is involved. scikit-image filters the whole image in
//! `reflect` mode and then crops that border, which gives the same values, since the kept
//! pixels never see a padded sample.
//!
//! Images are `(h, w)` row-major; volumes are `(slices, h, w)` and their SSIM is the mean over
//! slices. All sums are in `f64`.

use std::fmt;

use ndarray::{ArrayView2, ArrayView3, Axis};
use rayon::prelude::*;

use super::kind::{check_data_range, DataRange};
use super::volume::check_shapes;
use super::MetricsError;

const K1: f64 = 0.01;
const K2: f64 = 0.03;

/// Window and covariance estimator of an SSIM variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SsimVariant {
    /// fastMRI's SSIM: scikit-image's `structural_similarity` defaults, a uniform 7x7 window with
    /// the sample covariance (factor 49/48).
    Uniform7,
    /// TensorFlow's `tf.image.ssim`, used for the CIFAR-10 and toy-image numbers of the DPS
    /// paper (Huijben et al., ICLR 2020): a normalised Gaussian 11x11 window with sigma 1.5 and
    /// the population covariance. This is
    /// also scikit-image's `structural_similarity(gaussian_weights=True, sigma=1.5,
    /// use_sample_covariance=False)`, whose Gaussian is truncated at 3.5 sigma, radius 5.
    Gaussian11,
}

impl SsimVariant {
    /// Side of the square window.
    pub fn window_size(self) -> usize {
        match self {
            SsimVariant::Uniform7 => 7,
            SsimVariant::Gaussian11 => 11,
        }
    }

    pub(crate) fn key(self) -> &'static str {
        match self {
            SsimVariant::Uniform7 => "uniform7",
            SsimVariant::Gaussian11 => "gaussian11",
        }
    }

    pub(crate) fn from_key(key: &str) -> Option<Self> {
        match key {
            "uniform7" => Some(SsimVariant::Uniform7),
            "gaussian11" => Some(SsimVariant::Gaussian11),
            _ => None,
        }
    }

    fn kernel(self) -> Kernel {
        match self {
            SsimVariant::Uniform7 => Kernel::Box(7),
            SsimVariant::Gaussian11 => Kernel::Weights(gaussian_weights(1.5, 5)),
        }
    }

    /// Factor from the windowed second moments to the covariance estimate.
    fn covariance_factor(self) -> f64 {
        match self {
            SsimVariant::Uniform7 => {
                let n = (self.window_size() * self.window_size()) as f64;
                n / (n - 1.0)
            }
            SsimVariant::Gaussian11 => 1.0,
        }
    }
}

impl fmt::Display for SsimVariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SsimVariant::Uniform7 => write!(f, "uniform 7x7"),
            SsimVariant::Gaussian11 => write!(f, "Gaussian 11x11, sigma 1.5"),
        }
    }
}

/// Computes the SSIM of a volume `(slices, h, w)`: the mean over slices of [`ssim_image`], with
/// one data range for all slices.
///
/// With [`DataRange::VolumeMax`] the range is the maximum of the whole target volume, as in
/// fastMRI's evaluator, not each slice's own maximum. Slices are scored in parallel.
///
/// # Errors
///
/// [`MetricsError::ShapeMismatch`], [`MetricsError::Empty`],
/// [`MetricsError::ImageSmallerThanWindow`] and [`MetricsError::InvalidDataRange`].
pub fn ssim(
    target: ArrayView3<f32>,
    prediction: ArrayView3<f32>,
    variant: SsimVariant,
    data_range: DataRange,
) -> Result<f64, MetricsError> {
    check_shapes(target.shape(), prediction.shape())?;
    let (slices, height, width) = target.dim();
    check_window(height, width, variant.window_size())?;
    let data_range = data_range.resolve(target)?;

    let kernel = variant.kernel();
    let per_slice: Vec<f64> = (0..slices)
        .into_par_iter()
        .map(|slice| {
            let target = target.index_axis(Axis(0), slice);
            let prediction = prediction.index_axis(Axis(0), slice);
            ssim_slice(target, prediction, &kernel, variant, data_range)
        })
        .collect();
    Ok(per_slice.iter().sum::<f64>() / slices as f64)
}

/// Computes the SSIM of one image `(h, w)` with a fixed data range.
///
/// # Errors
///
/// [`MetricsError::ShapeMismatch`], [`MetricsError::Empty`],
/// [`MetricsError::ImageSmallerThanWindow`] and [`MetricsError::InvalidDataRange`].
pub fn ssim_image(
    target: ArrayView2<f32>,
    prediction: ArrayView2<f32>,
    variant: SsimVariant,
    data_range: f64,
) -> Result<f64, MetricsError> {
    check_shapes(target.shape(), prediction.shape())?;
    let (height, width) = target.dim();
    check_window(height, width, variant.window_size())?;
    let data_range = check_data_range(data_range, "fixed data range")?;
    let kernel = variant.kernel();
    Ok(ssim_slice(target, prediction, &kernel, variant, data_range))
}

fn check_window(height: usize, width: usize, window: usize) -> Result<(), MetricsError> {
    if height < window || width < window {
        return Err(MetricsError::ImageSmallerThanWindow {
            height,
            width,
            window,
        });
    }
    Ok(())
}

/// One-dimensional smoothing kernel, applied along rows and then along columns.
enum Kernel {
    /// Unweighted sum over this many samples, computed as a running sum.
    Box(usize),
    /// Normalised weights, applied directly.
    Weights(Vec<f64>),
}

impl Kernel {
    fn len(&self) -> usize {
        match self {
            Kernel::Box(len) => *len,
            Kernel::Weights(weights) => weights.len(),
        }
    }
}

/// Returns the Gaussian `exp(-x² / 2σ²)` for `x = -radius..=radius`, normalised to sum 1, the
/// kernel of scipy's `gaussian_filter` and of TensorFlow's SSIM.
fn gaussian_weights(sigma: f64, radius: usize) -> Vec<f64> {
    let radius = radius as isize;
    let weights: Vec<f64> = (-radius..=radius)
        .map(|x| (-0.5 * (x * x) as f64 / (sigma * sigma)).exp())
        .collect();
    let total: f64 = weights.iter().sum();
    weights.into_iter().map(|weight| weight / total).collect()
}

/// Windowed sums of `x`, `y`, `x²`, `y²` and `xy`, one entry per column or pixel.
struct Moments {
    x: Vec<f64>,
    y: Vec<f64>,
    xx: Vec<f64>,
    yy: Vec<f64>,
    xy: Vec<f64>,
}

impl Moments {
    fn zeros(len: usize) -> Self {
        Moments {
            x: vec![0.0; len],
            y: vec![0.0; len],
            xx: vec![0.0; len],
            yy: vec![0.0; len],
            xy: vec![0.0; len],
        }
    }

    /// Adds `weight` times the moments of pixel pair `(x, y)` at index `i`.
    fn add(&mut self, i: usize, x: f64, y: f64, weight: f64) {
        self.x[i] += weight * x;
        self.y[i] += weight * y;
        self.xx[i] += weight * x * x;
        self.yy[i] += weight * y * y;
        self.xy[i] += weight * x * y;
    }

    fn clear(&mut self) {
        for values in [
            &mut self.x,
            &mut self.y,
            &mut self.xx,
            &mut self.yy,
            &mut self.xy,
        ] {
            values.fill(0.0);
        }
    }

    /// Filters these column sums along the row into `out`, one entry per valid column.
    fn filter_row(&self, kernel: &Kernel, out: &mut Moments) {
        let pairs = [
            (&self.x, &mut out.x),
            (&self.y, &mut out.y),
            (&self.xx, &mut out.xx),
            (&self.yy, &mut out.yy),
            (&self.xy, &mut out.xy),
        ];
        for (input, output) in pairs {
            match kernel {
                Kernel::Box(len) => running_sum(input, *len, output),
                Kernel::Weights(weights) => weighted_sum(input, weights, output),
            }
        }
    }
}

/// Writes the sums of every `len` consecutive inputs.
fn running_sum(input: &[f64], len: usize, output: &mut [f64]) {
    let mut sum: f64 = input[..len].iter().sum();
    output[0] = sum;
    for j in 1..output.len() {
        sum += input[j + len - 1] - input[j - 1];
        output[j] = sum;
    }
}

fn weighted_sum(input: &[f64], weights: &[f64], output: &mut [f64]) {
    for (j, out) in output.iter_mut().enumerate() {
        *out = input[j..j + weights.len()]
            .iter()
            .zip(weights)
            .map(|(value, weight)| value * weight)
            .sum();
    }
}

/// Computes the SSIM of one image; shapes and window size are already checked.
fn ssim_slice(
    target: ArrayView2<f32>,
    prediction: ArrayView2<f32>,
    kernel: &Kernel,
    variant: SsimVariant,
    data_range: f64,
) -> f64 {
    let (height, width) = target.dim();
    let len = kernel.len();
    let valid_rows = height - len + 1;
    let valid_cols = width - len + 1;

    // The box kernel's mean is its sum over `len²` pixels; Gaussian weights are normalised.
    let norm = match kernel {
        Kernel::Box(len) => 1.0 / (len * len) as f64,
        Kernel::Weights(_) => 1.0,
    };
    let constants = Constants {
        c1: (K1 * data_range).powi(2),
        c2: (K2 * data_range).powi(2),
        covariance: variant.covariance_factor(),
        norm,
    };

    // Each output row first sums its window of rows column by column, then filters that row
    // of column sums horizontally. The box kernel slides its column sums down one row at a
    // time: add the entering row, subtract the leaving one.
    let mut columns = Moments::zeros(width);
    let mut window = Moments::zeros(valid_cols);
    let mut total = 0.0;
    for row in 0..valid_rows {
        match kernel {
            Kernel::Box(_) if row > 0 => {
                add_row(&mut columns, target, prediction, row + len - 1, 1.0);
                add_row(&mut columns, target, prediction, row - 1, -1.0);
            }
            Kernel::Box(_) => {
                for offset in 0..len {
                    add_row(&mut columns, target, prediction, offset, 1.0);
                }
            }
            Kernel::Weights(weights) => {
                columns.clear();
                for (offset, &weight) in weights.iter().enumerate() {
                    add_row(&mut columns, target, prediction, row + offset, weight);
                }
            }
        }
        columns.filter_row(kernel, &mut window);
        total += constants.row_sum(&window);
    }
    total / (valid_rows * valid_cols) as f64
}

fn add_row(
    columns: &mut Moments,
    target: ArrayView2<f32>,
    prediction: ArrayView2<f32>,
    row: usize,
    weight: f64,
) {
    let target = target.row(row);
    let prediction = prediction.row(row);
    for (col, (&x, &y)) in target.iter().zip(prediction.iter()).enumerate() {
        columns.add(col, f64::from(x), f64::from(y), weight);
    }
}

struct Constants {
    c1: f64,
    c2: f64,
    covariance: f64,
    norm: f64,
}

impl Constants {
    /// Returns the sum of the SSIM map over one row of windowed moments.
    fn row_sum(&self, window: &Moments) -> f64 {
        let mut sum = 0.0;
        for j in 0..window.x.len() {
            let ux = window.x[j] * self.norm;
            let uy = window.y[j] * self.norm;
            let vx = self.covariance * (window.xx[j] * self.norm - ux * ux);
            let vy = self.covariance * (window.yy[j] * self.norm - uy * uy);
            let vxy = self.covariance * (window.xy[j] * self.norm - ux * uy);

            let numerator = (2.0 * ux * uy + self.c1) * (2.0 * vxy + self.c2);
            let denominator = (ux * ux + uy * uy + self.c1) * (vx + vy + self.c2);
            sum += numerator / denominator;
        }
        sum
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    #[test]
    fn gaussian_weights_match_scipy() {
        // scipy.ndimage._filters._gaussian_kernel1d(1.5, 0, 5), scipy 1.17.
        let expected = [
            0.00102838, 0.00759876, 0.03600077, 0.10936069, 0.21300554, 0.26601172,
        ];
        let weights = gaussian_weights(1.5, 5);
        assert_eq!(weights.len(), 11);
        for (weight, expected) in weights.iter().zip(expected) {
            assert!((weight - expected).abs() < 1e-8, "{weight} vs {expected}");
        }
        assert!((weights.iter().sum::<f64>() - 1.0).abs() < 1e-15);
    }

    #[test]
    fn running_sum_equals_direct_sum() {
        let input: Vec<f64> = (0..20).map(|i| ((i * 7) % 5) as f64 + 0.25).collect();
        let mut running = vec![0.0; 14];
        let mut direct = vec![0.0; 14];
        running_sum(&input, 7, &mut running);
        weighted_sum(&input, &[1.0; 7], &mut direct);
        for (a, b) in running.iter().zip(&direct) {
            assert!((a - b).abs() < 1e-12);
        }
    }

    #[test]
    fn identical_images_score_one() {
        let image = Array2::from_shape_fn((12, 15), |(i, j)| ((i * 3 + j * 5) % 7) as f32);
        for variant in [SsimVariant::Uniform7, SsimVariant::Gaussian11] {
            let value = ssim_image(image.view(), image.view(), variant, 7.0).unwrap();
            assert!((value - 1.0).abs() < 1e-12, "{variant}: {value}");
        }
    }

    #[test]
    fn image_smaller_than_window_rejected() {
        let image = Array2::<f32>::zeros((10, 12));
        let result = ssim_image(image.view(), image.view(), SsimVariant::Gaussian11, 1.0);
        assert!(matches!(
            result,
            Err(MetricsError::ImageSmallerThanWindow { window: 11, .. })
        ));
        assert!(ssim_image(image.view(), image.view(), SsimVariant::Uniform7, 1.0).is_ok());
    }
}
