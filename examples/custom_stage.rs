//! A pipeline stage written outside the crate: coil noise pre-whitening, registered with
//! [`Registry::register`] exactly as the built-in stages are and run from a YAML pipeline
//! (`examples/noise_whitening.yaml`).
//!
//! ```text
//! cargo run --release --no-default-features --example custom_stage [-- FILE.h5]
//! ```
//!
//! Without an argument the example reads `mri/phantom_gre_2coil.h5` of the data folder
//! (`DPS_DATA_DIR`, default `../shared/data` next to the repository), a fully sampled 2-coil
//! Siemens gradient-echo phantom. It prints one table row per volume with the realised
//! acceleration and the NMSE, PSNR and SSIM of the zero-filled reconstruction after
//! whitening. The log on standard error shows the condition number of every slice's noise
//! covariance (`RUST_LOG` sets the filter, default `warn,custom_stage=debug`).
//!
//! # The stage
//!
//! `noise_whitening` takes k-space `(coils, H, W)` and gives k-space of the same shape. It
//! estimates the coil noise covariance `Psi = E[y y^H]` (coils x coils, complex Hermitian) from
//! the samples of the outermost readout rows, `round(noise_rows * H)` rows at each edge of the
//! `H` axis. Those are the highest readout frequencies, where the object's signal has decayed
//! to the noise floor. On the phantom the mean power per row is flat, at about 4 % of the mean
//! power of the slice, over the outer third of the rows on either side. The rows were chosen
//! over a separate noise scan because fastMRI files carry none. Phase-encode columns that the
//! header marks as zero padding are left out of the estimate.
//!
//! The Cholesky factor `L` of `Psi` (`Psi = L L^H`) then whitens every sample vector `y` over
//! the coils, `y <- L^{-1} y`, so that the noise covariance becomes the identity. With
//! `preserve_scale: true` the result is multiplied by `sqrt(trace(Psi) / coils)`, the root mean
//! noise variance per coil, so that images keep the input's intensity scale and the noise
//! covariance becomes that variance times the identity.
//!
//! `Psi` is estimated per slice. The stage keeps no state between slices, so slices run in
//! parallel as with the built-in stages. A 640 x 368 fastMRI knee slice gives
//! 2 x 32 x 368 = 23,552 noise samples per coil for the 15 x 15 estimate.
//!
//! The noise is taken to be zero-mean, so the sample mean is not subtracted.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use ndarray::{s, Array2, ArrayView3, Axis, Zip};
use num_complex::Complex64;
use serde::Deserialize;

use dps::pipeline::{
    Data, ParamError, ParamInfo, Pipeline, PipelineFile, Registry, Slice, Stage, StageError,
    StageInfo, StageParams, Volume,
};
use dps::recon::{self, BatchOptions, BatchReport};
use dps::Complex32;

// ---------------------------------------------------------------------------------------------
// Complex Hermitian linear algebra

/// Failure to estimate or factor the coil noise covariance.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WhiteningError {
    /// The matrix is not square.
    #[error("the noise covariance must be square, but its shape is {rows} x {columns}")]
    NotSquare { rows: usize, columns: usize },

    /// The matrix differs from its conjugate transpose.
    #[error(
        "the noise covariance is not Hermitian: entry ({row}, {column}) is {value}, but the \
         conjugate of entry ({column}, {row}) is {mirrored}"
    )]
    NotHermitian {
        row: usize,
        column: usize,
        value: Complex64,
        mirrored: Complex64,
    },

    /// A Cholesky pivot is not positive, so the matrix is not positive definite.
    #[error(
        "the noise covariance is not positive definite: the Cholesky pivot of coil {coil} is \
         {pivot:e} but must exceed {tolerance:e}. A coil without noise, a coil that copies \
         another, or zero-filled edge rows cause this, so check the data or raise `noise_rows`"
    )]
    NotPositiveDefinite {
        coil: usize,
        pivot: f64,
        tolerance: f64,
    },

    /// `round(noise_rows * H)` is zero, or the edge rows of both sides would overlap.
    #[error(
        "`noise_rows` = {noise_rows} gives {rows} noise rows at each edge of H = {height}; \
         choose a value that gives at least one row and no more than H / 2"
    )]
    NoiseRows {
        noise_rows: f64,
        rows: usize,
        height: usize,
    },

    /// Fewer noise samples than coils, so the sample covariance is singular.
    #[error(
        "{samples} noise samples per coil cannot estimate a {coils} x {coils} covariance; raise \
         `noise_rows` to use more edge rows"
    )]
    TooFewSamples { samples: usize, coils: usize },
}

/// Computes the lower-triangular Cholesky factor `L` of a Hermitian positive definite matrix,
/// `matrix = L L^H`, with a real positive diagonal.
///
/// # Errors
///
/// [`WhiteningError::NotSquare`], [`WhiteningError::NotHermitian`] (tolerance `1e-9` times the
/// largest diagonal entry), and [`WhiteningError::NotPositiveDefinite`] when a pivot is not
/// finite or not above `1e-12` times the largest diagonal entry.
pub fn cholesky(matrix: &Array2<Complex64>) -> Result<Array2<Complex64>, WhiteningError> {
    let (n, columns) = matrix.dim();
    if n != columns {
        return Err(WhiteningError::NotSquare { rows: n, columns });
    }
    let scale = (0..n).map(|i| matrix[[i, i]].re.abs()).fold(0.0, f64::max);
    check_hermitian(matrix, 1e-9 * scale)?;

    // A relative bound, so that the factor of a matrix that is singular up to rounding is
    // rejected rather than returned with a huge inverse.
    let tolerance = 1e-12 * scale;
    let mut factor = Array2::<Complex64>::zeros((n, n));
    for j in 0..n {
        let row_norm: f64 = (0..j).map(|k| factor[[j, k]].norm_sqr()).sum();
        let pivot = matrix[[j, j]].re - row_norm;
        if !pivot.is_finite() || pivot <= tolerance {
            return Err(WhiteningError::NotPositiveDefinite {
                coil: j,
                pivot,
                tolerance,
            });
        }
        let diagonal = pivot.sqrt();
        factor[[j, j]] = Complex64::new(diagonal, 0.0);
        for i in j + 1..n {
            let dot: Complex64 = (0..j).map(|k| factor[[i, k]] * factor[[j, k]].conj()).sum();
            factor[[i, j]] = (matrix[[i, j]] - dot) / diagonal;
        }
    }
    Ok(factor)
}

fn check_hermitian(matrix: &Array2<Complex64>, tolerance: f64) -> Result<(), WhiteningError> {
    let n = matrix.nrows();
    for row in 0..n {
        for column in row..n {
            let value = matrix[[row, column]];
            let mirrored = matrix[[column, row]].conj();
            // NaN fails this comparison too and is reported by the pivot check instead.
            if (value - mirrored).norm() > tolerance {
                return Err(WhiteningError::NotHermitian {
                    row,
                    column,
                    value,
                    mirrored,
                });
            }
        }
    }
    Ok(())
}

/// Inverts a lower-triangular matrix with a non-zero diagonal by forward substitution.
fn invert_lower(factor: &Array2<Complex64>) -> Array2<Complex64> {
    let n = factor.nrows();
    let mut inverse = Array2::<Complex64>::zeros((n, n));
    for column in 0..n {
        inverse[[column, column]] = factor[[column, column]].inv();
        for row in column + 1..n {
            let sum: Complex64 = (column..row)
                .map(|k| factor[[row, k]] * inverse[[k, column]])
                .sum();
            inverse[[row, column]] = -sum / factor[[row, row]];
        }
    }
    inverse
}

/// Computes the eigenvalues of a Hermitian matrix in ascending order.
///
/// `A = B + iC` has the same eigenvalues as the real symmetric `[[B, -C], [C, B]]`, each twice,
/// and cyclic Jacobi rotations diagonalise that one. The matrix must be Hermitian, which
/// [`cholesky`] checks before the stage calls this.
pub fn hermitian_eigenvalues(matrix: &Array2<Complex64>) -> Vec<f64> {
    let n = matrix.nrows();
    let mut real = Array2::<f64>::zeros((2 * n, 2 * n));
    for i in 0..n {
        for j in 0..n {
            let value = matrix[[i, j]];
            real[[i, j]] = value.re;
            real[[i + n, j + n]] = value.re;
            real[[i, j + n]] = -value.im;
            real[[i + n, j]] = value.im;
        }
    }
    jacobi_diagonalise(&mut real);
    let mut eigenvalues: Vec<f64> = real.diag().iter().copied().collect();
    eigenvalues.sort_by(f64::total_cmp);
    eigenvalues.into_iter().step_by(2).collect()
}

/// Rotates a real symmetric matrix to diagonal form in place.
fn jacobi_diagonalise(a: &mut Array2<f64>) {
    let n = a.nrows();
    let total: f64 = a.iter().map(|v| v * v).sum();
    for _sweep in 0..100 {
        let off_diagonal: f64 = (0..n)
            .flat_map(|p| (p + 1..n).map(move |q| (p, q)))
            .map(|(p, q)| a[[p, q]] * a[[p, q]])
            .sum();
        if off_diagonal <= 1e-30 * total {
            return;
        }
        for p in 0..n {
            for q in p + 1..n {
                if a[[p, q]] == 0.0 {
                    continue;
                }
                // The rotation angle phi zeroes a[p][q]: cot(2 phi) = theta, t = tan(phi),
                // taking the smaller root for stability.
                let theta = (a[[q, q]] - a[[p, p]]) / (2.0 * a[[p, q]]);
                let t = theta.signum() / (theta.abs() + theta.hypot(1.0));
                let c = 1.0 / t.hypot(1.0);
                let s = t * c;
                for k in 0..n {
                    let (kp, kq) = (a[[k, p]], a[[k, q]]);
                    a[[k, p]] = c * kp - s * kq;
                    a[[k, q]] = s * kp + c * kq;
                }
                for k in 0..n {
                    let (pk, qk) = (a[[p, k]], a[[q, k]]);
                    a[[p, k]] = c * pk - s * qk;
                    a[[q, k]] = s * pk + c * qk;
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Noise estimation and whitening

/// Returns the number of noise rows taken at each edge of an axis of `height` samples.
///
/// # Errors
///
/// [`WhiteningError::NoiseRows`] when the count rounds to zero or both edges would overlap.
pub fn noise_row_count(noise_rows: f64, height: usize) -> Result<usize, WhiteningError> {
    let rows = (noise_rows * height as f64).round() as usize;
    if rows == 0 || 2 * rows > height {
        return Err(WhiteningError::NoiseRows {
            noise_rows,
            rows,
            height,
        });
    }
    Ok(rows)
}

/// Estimates the coil noise covariance `Psi[i][j] = mean(y_i conj(y_j))` over the first and
/// last `rows` readout rows of a `(coils, H, W)` slice, in the phase-encode columns `columns`.
///
/// # Errors
///
/// [`WhiteningError::TooFewSamples`] when there are fewer samples than coils.
pub fn noise_covariance(
    kspace: ArrayView3<Complex32>,
    rows: usize,
    columns: std::ops::Range<usize>,
) -> Result<Array2<Complex64>, WhiteningError> {
    let (coils, height, _) = kspace.dim();
    let edges = [0..rows, height - rows..height];
    let samples = 2 * rows * columns.len();
    if samples < coils {
        return Err(WhiteningError::TooFewSamples { samples, coils });
    }

    let mut psi = Array2::<Complex64>::zeros((coils, coils));
    for i in 0..coils {
        for j in 0..=i {
            let mut sum = Complex64::new(0.0, 0.0);
            for edge in &edges {
                let region = s![edge.clone(), columns.clone()];
                let a = kspace.index_axis(Axis(0), i);
                let b = kspace.index_axis(Axis(0), j);
                Zip::from(a.slice(region))
                    .and(b.slice(region))
                    .for_each(|&x, &y| sum += widen(x) * widen(y).conj());
            }
            psi[[i, j]] = sum / samples as f64;
            psi[[j, i]] = psi[[i, j]].conj();
        }
    }
    Ok(psi)
}

fn widen(value: Complex32) -> Complex64 {
    Complex64::new(value.re.into(), value.im.into())
}

/// The linear map that whitens one slice's coils, with the condition number of its `Psi`.
#[derive(Debug, Clone)]
pub struct Whitener {
    /// `L^{-1}`, times `sqrt(trace(Psi) / coils)` when the scale is preserved.
    matrix: Array2<Complex64>,
    /// Ratio of the largest to the smallest eigenvalue of `Psi`.
    pub condition_number: f64,
}

impl Whitener {
    /// Builds the whitening map of the noise covariance `psi`.
    ///
    /// # Errors
    ///
    /// The errors of [`cholesky`].
    pub fn from_covariance(
        psi: &Array2<Complex64>,
        preserve_scale: bool,
    ) -> Result<Self, WhiteningError> {
        let factor = cholesky(psi)?;
        let eigenvalues = hermitian_eigenvalues(psi);
        let condition_number = eigenvalues[eigenvalues.len() - 1] / eigenvalues[0];
        let mut matrix = invert_lower(&factor);
        if preserve_scale {
            let coils = psi.nrows() as f64;
            let mean_variance = psi.diag().iter().map(|v| v.re).sum::<f64>() / coils;
            matrix.mapv_inplace(|v| v * mean_variance.sqrt());
        }
        Ok(Self {
            matrix,
            condition_number,
        })
    }

    /// Replaces every coil vector `y` of a `(coils, H, W)` slice by the whitened `L^{-1} y`.
    ///
    /// # Panics
    ///
    /// When the slice's coil count differs from the covariance's size.
    pub fn apply(&self, kspace: &mut ndarray::Array3<Complex32>) {
        let coils = self.matrix.nrows();
        assert_eq!(kspace.dim().0, coils, "coil count of the slice");
        let (_, height, width) = kspace.dim();
        let mut mixed = Array2::<Complex32>::zeros((height, width));

        // Output coil c mixes input coils 0..=c, so going from the last coil down overwrites
        // each input only after every later output has used it.
        for c in (0..coils).rev() {
            mixed.fill(Complex32::new(0.0, 0.0));
            for k in 0..=c {
                let weight = self.matrix[[c, k]];
                let weight = Complex32::new(weight.re as f32, weight.im as f32);
                Zip::from(&mut mixed)
                    .and(kspace.index_axis(Axis(0), k))
                    .for_each(|out, &y| *out += weight * y);
            }
            kspace.index_axis_mut(Axis(0), c).assign(&mixed);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The stage

/// Registration of the `noise_whitening` stage, in the form the built-in stages use.
pub fn info() -> StageInfo {
    StageInfo {
        name: "noise_whitening",
        summary: "Whitens the coil noise with the Cholesky factor of the edge-row covariance.",
        params: &[
            ParamInfo {
                name: "noise_rows",
                kind: "number",
                default: "0.05",
                help: "fraction of H taken at each readout edge of k-space to estimate the \
                       coil noise covariance, in (0, 0.25]",
            },
            ParamInfo {
                name: "preserve_scale",
                kind: "boolean",
                default: "false",
                help: "multiply by the root mean coil noise variance, so the output keeps the \
                       input's intensity scale",
            },
        ],
        build,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoiseWhiteningConfig {
    #[serde(default = "default_noise_rows")]
    noise_rows: f64,
    #[serde(default)]
    preserve_scale: bool,
}

fn default_noise_rows() -> f64 {
    0.05
}

/// Upper bound of `noise_rows`: past a quarter of H per edge the rows reach the object's signal.
const MAX_NOISE_ROWS: f64 = 0.25;

struct NoiseWhitening {
    noise_rows: f64,
    preserve_scale: bool,
}

fn build(params: &StageParams) -> Result<Box<dyn Stage>, ParamError> {
    let config: NoiseWhiteningConfig = params.parse()?;
    let noise_rows = config.noise_rows;
    if !(noise_rows > 0.0 && noise_rows <= MAX_NOISE_ROWS) {
        return Err(ParamError::new(
            "noise_rows",
            format!(
                "must lie in (0, {MAX_NOISE_ROWS}], found {noise_rows}; it is the fraction of H \
                 taken at each readout edge"
            ),
        ));
    }
    Ok(Box::new(NoiseWhitening {
        noise_rows,
        preserve_scale: config.preserve_scale,
    }))
}

impl NoiseWhitening {
    fn whitener(
        &self,
        volume: &Volume,
        kspace: ArrayView3<Complex32>,
    ) -> Result<Whitener, WhiteningError> {
        let (_, height, width) = kspace.dim();
        let rows = noise_row_count(self.noise_rows, height)?;
        let columns = match &volume.geometry {
            Some(g) if g.padding_left < g.padding_right && g.padding_right <= width => {
                g.padding_left..g.padding_right
            }
            _ => 0..width,
        };
        let psi = noise_covariance(kspace, rows, columns)?;
        Whitener::from_covariance(&psi, self.preserve_scale)
    }
}

impl Stage for NoiseWhitening {
    fn accepts(&self) -> &'static [Data] {
        // Masked k-space would put the zeroed samples into the noise estimate.
        &[Data::KSpace]
    }

    fn process_slice(&self, volume: &Volume, slice: &mut Slice) -> Result<(), StageError> {
        let index = slice.index;
        let kspace = slice.kspace_mut()?;
        let whitener = self
            .whitener(volume, kspace.view())
            .map_err(|error| StageError::Custom(Box::new(error)))?;
        tracing::debug!(
            volume = %volume.name,
            slice = index,
            coils = kspace.dim().0,
            condition_number = whitener.condition_number,
            "noise covariance"
        );
        whitener.apply(kspace);
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Running the example

/// Text of the example pipeline.
const PIPELINE_YAML: &str = include_str!("noise_whitening.yaml");

/// Returns the input file: `argument` when given, else `mri/phantom_gre_2coil.h5` of the data
/// folder (`DPS_DATA_DIR`, default `../shared/data` next to the repository).
///
/// # Errors
///
/// When the file does not exist, with the variable to set.
pub fn input_path(argument: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(path) = argument {
        anyhow::ensure!(path.is_file(), "input file {} not found", path.display());
        return Ok(path);
    }
    let root = std::env::var_os("DPS_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data"));
    let path = root.join("mri/phantom_gre_2coil.h5");
    anyhow::ensure!(
        path.is_file(),
        "{} not found; set DPS_DATA_DIR to the folder that holds mri/phantom_gre_2coil.h5, or \
         pass a fastMRI file as the argument",
        path.display()
    );
    Ok(path)
}

/// Returns the built-in stages plus `noise_whitening`.
///
/// # Panics
///
/// Never: no built-in stage is named `noise_whitening`.
pub fn registry() -> Registry {
    let mut registry = Registry::with_builtins();
    registry
        .register(info())
        .expect("no built-in stage is named noise_whitening");
    registry
}

/// Builds `examples/noise_whitening.yaml` with its `load` stage reading `input`.
///
/// # Errors
///
/// Any [`dps::pipeline::PipelineError`] of parsing or building.
pub fn example_pipeline(input: &Path) -> anyhow::Result<Pipeline> {
    let mut file = PipelineFile::parse(Path::new("examples/noise_whitening.yaml"), PIPELINE_YAML)?;
    let path = serde_yaml::Value::String(input.display().to_string());
    file.set_param(0, "path", path);
    Ok(Pipeline::build(file, &registry())?)
}

/// Runs the example pipeline on `input` with two worker threads.
///
/// # Errors
///
/// When the pipeline cannot be built or a volume fails.
pub fn run_example(input: &Path) -> anyhow::Result<BatchReport> {
    let pipeline = example_pipeline(input)?;
    let inputs = pipeline.inputs()?;
    let options = BatchOptions {
        jobs: Some(2),
        shard: None,
        overwrite: true,
    };
    let report = recon::run_batch(&pipeline, &inputs, &options, &dps::pipeline::NoObserver)?;
    if let Some(failure) = report.failed.first() {
        anyhow::bail!("{} failed: {}", failure.input.display(), failure.reason);
    }
    Ok(report)
}

/// Renders one row per volume: name, slices, realised acceleration and the metrics.
pub fn render_table(report: &BatchReport) -> String {
    let mut text = String::new();
    let metric_names: Vec<&str> = report
        .processed
        .first()
        .map(|v| v.metrics.iter().map(|(name, _)| name.as_str()).collect())
        .unwrap_or_default();
    let widths: Vec<usize> = metric_names.iter().map(|name| name.len().max(8)).collect();
    let _ = write!(text, "{:<24} {:>6} {:>7}", "volume", "slices", "accel.");
    for (name, width) in metric_names.iter().zip(&widths) {
        let _ = write!(text, " {name:>width$}");
    }
    text.push('\n');
    for volume in &report.processed {
        let name = volume
            .input
            .file_name()
            .unwrap_or_default()
            .to_string_lossy();
        let acceleration = volume
            .values
            .get("acceleration")
            .and_then(serde_json::Value::as_f64)
            .map(|a| format!("{a:.2}"))
            .unwrap_or_else(|| "-".into());
        let _ = write!(text, "{name:<24} {:>6} {acceleration:>7}", volume.slices);
        for ((_, value), width) in volume.metrics.iter().zip(&widths) {
            let _ = write!(text, " {value:>width$.4}");
        }
        text.push('\n');
    }
    text
}

fn main() -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,custom_stage=debug"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let input = input_path(std::env::args_os().nth(1).map(PathBuf::from))?;
    let report =
        run_example(&input).with_context(|| format!("example pipeline on {}", input.display()))?;
    print!("{}", render_table(&report));
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use dps::io::FastMriFile;
    use ndarray::Array3;

    use super::*;

    /// Deterministic standard normal samples (xorshift64 and Box-Muller).
    struct Normal(u64);

    impl Normal {
        fn uniform(&mut self) -> f64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            ((self.0 >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        }

        fn sample(&mut self) -> f64 {
            let (u, v) = (self.uniform(), self.uniform());
            (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
        }

        /// Draws a circular complex normal sample of unit variance.
        fn complex(&mut self) -> Complex64 {
            Complex64::new(self.sample(), self.sample()) / 2f64.sqrt()
        }
    }

    fn random_matrix(n: usize, seed: u64) -> Array2<Complex64> {
        let mut normal = Normal(seed);
        Array2::from_shape_simple_fn((n, n), || normal.complex())
    }

    fn conjugate_transpose(a: &Array2<Complex64>) -> Array2<Complex64> {
        a.t().mapv(|v| v.conj())
    }

    fn max_abs_difference(a: &Array2<Complex64>, b: &Array2<Complex64>) -> f64 {
        Zip::from(a)
            .and(b)
            .fold(0.0, |max, x, y| f64::max(max, (x - y).norm()))
    }

    /// Sample covariance of all samples of `kspace` in `rows`.
    fn covariance_of_rows(
        kspace: &Array3<Complex32>,
        rows: std::ops::Range<usize>,
    ) -> Array2<Complex64> {
        let region = kspace.slice(s![.., rows, ..]);
        let coils = region.dim().0;
        let vectors = region
            .to_owned()
            .into_shape_with_order((coils, region.len() / coils))
            .unwrap()
            .mapv(widen);
        vectors.dot(&conjugate_transpose(&vectors)) / vectors.ncols() as f64
    }

    /// Noise `mixing z` with `z` white, so its covariance is `mixing mixing^H`.
    fn correlated_noise(
        mixing: &Array2<Complex64>,
        height: usize,
        width: usize,
        seed: u64,
    ) -> Array3<Complex32> {
        let coils = mixing.nrows();
        let mut normal = Normal(seed);
        let white = Array2::from_shape_simple_fn((coils, height * width), || normal.complex());
        mixing
            .dot(&white)
            .mapv(|v| Complex32::new(v.re as f32, v.im as f32))
            .into_shape_with_order((coils, height, width))
            .unwrap()
    }

    fn identity(n: usize) -> Array2<Complex64> {
        Array2::from_diag_elem(n, Complex64::new(1.0, 0.0))
    }

    #[test]
    fn cholesky_reproduces_matrix() {
        let b = random_matrix(6, 7);
        let a = b.dot(&conjugate_transpose(&b)) + identity(6) * 0.1;
        let factor = cholesky(&a).unwrap();
        for i in 0..6 {
            assert!(
                factor[[i, i]].re > 0.0,
                "diagonal {i} is {}",
                factor[[i, i]]
            );
            assert_eq!(factor[[i, i]].im, 0.0);
            for j in i + 1..6 {
                assert_eq!(factor[[i, j]], Complex64::new(0.0, 0.0), "entry ({i}, {j})");
            }
        }
        let product = factor.dot(&conjugate_transpose(&factor));
        assert!(max_abs_difference(&product, &a) < 1e-12);
    }

    #[test]
    fn cholesky_rejects_indefinite_matrix() {
        let mut a = identity(3) * 2.0;
        a[[2, 2]] = Complex64::new(-1.0, 0.0);
        let error = cholesky(&a).unwrap_err();
        assert!(
            matches!(error, WhiteningError::NotPositiveDefinite { coil: 2, .. }),
            "{error:?}"
        );
        assert!(
            error.to_string().contains("not positive definite"),
            "{error}"
        );
    }

    #[test]
    fn cholesky_rejects_duplicate_coil() {
        // Two coils with the same noise give a singular covariance.
        let mut a = identity(3);
        for (i, j) in [(0, 1), (1, 0)] {
            a[[i, j]] = Complex64::new(1.0, 0.0);
        }
        let error = cholesky(&a).unwrap_err();
        assert!(
            matches!(error, WhiteningError::NotPositiveDefinite { coil: 1, .. }),
            "{error:?}"
        );
    }

    #[test]
    fn cholesky_rejects_invalid_matrices() {
        let mut a = identity(2);
        a[[0, 1]] = Complex64::new(0.5, 0.5);
        a[[1, 0]] = Complex64::new(0.5, 0.5);
        let error = cholesky(&a).unwrap_err();
        assert!(matches!(
            error,
            WhiteningError::NotHermitian {
                row: 0,
                column: 1,
                ..
            }
        ));

        let mut a = identity(2);
        a[[1, 1]] = Complex64::new(f64::NAN, 0.0);
        let error = cholesky(&a).unwrap_err();
        assert!(matches!(
            error,
            WhiteningError::NotPositiveDefinite { coil: 1, .. }
        ));

        let a = Array2::<Complex64>::zeros((2, 3));
        let error = cholesky(&a).unwrap_err();
        assert_eq!(
            error,
            WhiteningError::NotSquare {
                rows: 2,
                columns: 3
            }
        );
    }

    #[test]
    fn eigenvalues_match_known_spectrum() {
        // A = U diag(1, 3, 10) U^H with U a complex Householder reflection, which is unitary.
        let mut normal = Normal(11);
        let u = Array2::from_shape_simple_fn((3, 1), || normal.complex());
        let norm = u.iter().map(|v| v.norm_sqr()).sum::<f64>();
        let reflection = identity(3) - u.dot(&conjugate_transpose(&u)) * (2.0 / norm);
        let diagonal = Array2::from_diag(&ndarray::arr1(&[1.0, 3.0, 10.0]).mapv(Complex64::from));
        let a = reflection
            .dot(&diagonal)
            .dot(&conjugate_transpose(&reflection));
        let eigenvalues = hermitian_eigenvalues(&a);
        assert_eq!(eigenvalues.len(), 3);
        for (found, expected) in eigenvalues.iter().zip([1.0, 3.0, 10.0]) {
            assert!((found - expected).abs() < 1e-10, "{eigenvalues:?}");
        }
        let whitener = Whitener::from_covariance(&a, false).unwrap();
        assert!((whitener.condition_number - 10.0).abs() < 1e-9);
    }

    #[test]
    fn whitening_gives_identity_noise_covariance() {
        let (coils, height, width) = (6, 256, 96);
        let mixing = identity(coils) + random_matrix(coils, 3) * 0.5;
        let mut kspace = correlated_noise(&mixing, height, width, 5);
        let rows = noise_row_count(0.1, height).unwrap();
        assert_eq!(rows, 26);
        let interior = rows..height - rows;
        let before = covariance_of_rows(&kspace, interior.clone());
        assert!(
            max_abs_difference(&before, &identity(coils)) > 0.3,
            "the synthetic noise must be correlated for this test to mean anything"
        );

        let psi = noise_covariance(kspace.view(), rows, 0..width).unwrap();
        Whitener::from_covariance(&psi, false)
            .unwrap()
            .apply(&mut kspace);

        // The edge rows estimated Psi, so their whitened covariance is the identity up to
        // rounding. The interior rows are independent noise and meet it within sampling
        // error, about 1 / sqrt(2 * 26 * 96) = 0.01 per entry.
        let edges = covariance_of_rows(&kspace, 0..rows);
        assert!(max_abs_difference(&edges, &identity(coils)) < 0.1);
        let exact = noise_covariance(kspace.view(), rows, 0..width).unwrap();
        assert!(max_abs_difference(&exact, &identity(coils)) < 1e-5);
        let after = covariance_of_rows(&kspace, interior);
        let deviation = max_abs_difference(&after, &identity(coils));
        assert!(
            deviation < 0.06,
            "interior covariance is {deviation} from identity"
        );
    }

    #[test]
    fn preserved_scale_gives_scaled_identity() {
        let (coils, height, width) = (4, 128, 64);
        let mixing = (identity(coils) + random_matrix(coils, 9) * 0.4) * 3.0;
        let mut kspace = correlated_noise(&mixing, height, width, 13);
        let rows = noise_row_count(0.25, height).unwrap();
        let psi = noise_covariance(kspace.view(), rows, 0..width).unwrap();
        let mean_variance = psi.diag().iter().map(|v| v.re).sum::<f64>() / coils as f64;
        Whitener::from_covariance(&psi, true)
            .unwrap()
            .apply(&mut kspace);
        let after = noise_covariance(kspace.view(), rows, 0..width).unwrap();
        let expected = identity(coils) * mean_variance;
        assert!(max_abs_difference(&after, &expected) < 1e-5 * mean_variance);
    }

    #[test]
    fn noise_row_count_rejects_empty_edges() {
        assert_eq!(noise_row_count(0.05, 640), Ok(32));
        assert_eq!(noise_row_count(0.05, 320), Ok(16));
        let error = noise_row_count(0.05, 8).unwrap_err();
        assert!(matches!(error, WhiteningError::NoiseRows { rows: 0, .. }));
        assert!(error.to_string().contains("`noise_rows`"), "{error}");
    }

    #[test]
    fn too_few_samples_are_rejected() {
        let kspace = Array3::<Complex32>::zeros((8, 4, 1));
        let error = noise_covariance(kspace.view(), 1, 0..1).unwrap_err();
        assert_eq!(
            error,
            WhiteningError::TooFewSamples {
                samples: 2,
                coils: 8
            }
        );
    }

    #[test]
    fn stage_rejects_dead_coil() {
        let mixing = identity(3);
        let mut kspace = correlated_noise(&mixing, 64, 32, 17);
        kspace
            .index_axis_mut(Axis(0), 1)
            .fill(Complex32::new(0.0, 0.0));
        let stage = (info().build)(&StageParams::new(serde_yaml::Mapping::new())).unwrap();
        let volume = Volume::new(Path::new("dead_coil.h5"));
        let mut slice = Slice {
            kspace: Some(kspace),
            ..Slice::default()
        };
        let error = stage.process_slice(&volume, &mut slice).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("not positive definite"), "{message}");
        assert!(message.contains("coil 1"), "{message}");
    }

    fn build_error(stage_text: &str) -> String {
        let text = format!(
            "stages:\n  - stage: load\n    path: x.h5\n  - stage: noise_whitening\n{stage_text}"
        );
        let file = PipelineFile::parse(Path::new("test.yaml"), &text).unwrap();
        match Pipeline::build(file, &registry()) {
            Ok(_) => panic!("the pipeline was built"),
            Err(error) => error.to_string(),
        }
    }

    #[test]
    fn invalid_parameters_name_their_key() {
        for value in ["0", "-0.1", "0.3", ".nan"] {
            let error = build_error(&format!("    noise_rows: {value}\n"));
            assert!(error.contains("test.yaml:5:5"), "{error}");
            assert!(error.contains("parameter `noise_rows`"), "{error}");
            assert!(error.contains("(0, 0.25]"), "{error}");
        }
        let error = build_error("    noise_row: 0.1\n");
        assert!(error.contains("parameter `noise_row`"), "{error}");
        let error = build_error("    preserve_scale: 3\n");
        assert!(error.contains("parameter `preserve_scale`"), "{error}");
    }

    #[test]
    fn masked_kspace_is_rejected() {
        let text = "stages:\n  - stage: load\n    path: x.h5\n  - stage: mask\n    type: \
                    equispaced\n    center_fractions: [0.08]\n    accelerations: [4]\n  - stage: \
                    noise_whitening\n";
        let file = PipelineFile::parse(Path::new("test.yaml"), text).unwrap();
        let error = Pipeline::build(file, &registry())
            .err()
            .unwrap()
            .to_string();
        assert!(
            error.contains("`noise_whitening` expects k-space"),
            "{error}"
        );
    }

    fn python() -> PathBuf {
        let path = std::env::var_os("DPS_PYTHON")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                let home = std::env::var_os("HOME").expect("HOME is not set; set DPS_PYTHON");
                Path::new(&home).join(".cache/dps/libtorch-2.13.0/bin/python")
            });
        assert!(
            path.exists(),
            "Python with numpy, scipy and h5py not found at {}; run scripts/setup.sh or set \
             DPS_PYTHON",
            path.display()
        );
        path
    }

    /// Whitens slice 0 of a fastMRI file with numpy and scipy. Prints `Psi` and its condition
    /// number as JSON and writes the whitened slice as raw little-endian complex64.
    const NUMPY_WHITENING: &str = r#"
import json, sys
import h5py, numpy as np, scipy.linalg
path, fraction, output = sys.argv[1], float(sys.argv[2]), sys.argv[3]
with h5py.File(path, "r") as f:
    y = f["kspace"][0].astype(np.complex128)
coils, height, width = y.shape
rows = round(fraction * height)
edges = np.concatenate([y[:, :rows], y[:, height - rows:]], axis=1).reshape(coils, -1)
psi = edges @ edges.conj().T / edges.shape[1]
factor = np.linalg.cholesky(psi)
white = scipy.linalg.solve_triangular(factor, y.reshape(coils, -1), lower=True)
white.astype(np.complex64).tofile(output)
print(json.dumps({"psi_re": psi.real.tolist(), "psi_im": psi.imag.tolist(),
                  "condition_number": np.linalg.cond(psi)}))
"#;

    #[test]
    fn whitening_matches_numpy_on_phantom() {
        let input = input_path(None).unwrap();
        let folder = tempfile::tempdir().unwrap();
        let output = folder.path().join("white.bin");
        let result = Command::new(python())
            .args(["-c", NUMPY_WHITENING])
            .arg(&input)
            .arg("0.05")
            .arg(&output)
            .output()
            .expect("failed to start Python");
        assert!(
            result.status.success(),
            "numpy reference failed:\n{}",
            String::from_utf8_lossy(&result.stderr)
        );
        let reference: serde_json::Value = serde_json::from_slice(&result.stdout).unwrap();

        let file = FastMriFile::open(&input).unwrap();
        let mut kspace = file.read_slice(0).unwrap();
        let (coils, height, width) = kspace.dim();
        let rows = noise_row_count(0.05, height).unwrap();
        let psi = noise_covariance(kspace.view(), rows, 0..width).unwrap();
        let scale = psi[[0, 0]].norm();
        for i in 0..coils {
            for j in 0..coils {
                let expected = Complex64::new(
                    reference["psi_re"][i][j].as_f64().unwrap(),
                    reference["psi_im"][i][j].as_f64().unwrap(),
                );
                assert!(
                    (psi[[i, j]] - expected).norm() < 1e-9 * scale,
                    "Psi ({i}, {j}): {} against numpy {expected}",
                    psi[[i, j]]
                );
            }
        }
        let whitener = Whitener::from_covariance(&psi, false).unwrap();
        let expected_condition = reference["condition_number"].as_f64().unwrap();
        assert!((whitener.condition_number - expected_condition).abs() < 1e-9 * expected_condition);

        whitener.apply(&mut kspace);
        let bytes = std::fs::read(&output).unwrap();
        let expected: Vec<Complex32> = bytes
            .chunks_exact(8)
            .map(|b| {
                let re = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                let im = f32::from_le_bytes([b[4], b[5], b[6], b[7]]);
                Complex32::new(re, im)
            })
            .collect();
        assert_eq!(expected.len(), kspace.len());
        let peak = expected.iter().map(|v| v.norm()).fold(0.0, f32::max);
        for (index, (found, wanted)) in kspace.iter().zip(&expected).enumerate() {
            assert!(
                (found - wanted).norm() <= 1e-5 * peak,
                "sample {index}: {found} against numpy {wanted}"
            );
        }
    }

    /// Scores of the example pipeline without the whitening stage.
    fn baseline_scores(input: &Path) -> std::collections::BTreeMap<String, f64> {
        let mut file = PipelineFile::parse(Path::new("baseline.yaml"), PIPELINE_YAML).unwrap();
        file.stages.retain(|entry| entry.stage != "noise_whitening");
        file.set_param(
            0,
            "path",
            serde_yaml::Value::String(input.display().to_string()),
        );
        let pipeline = Pipeline::build(file, &registry()).unwrap();
        let output = pipeline
            .run_volume(input, &dps::pipeline::NoObserver)
            .unwrap();
        output.metrics.into_iter().collect()
    }

    #[test]
    fn example_pipeline_runs_on_phantom() {
        let input = input_path(None).unwrap();
        let report = run_example(&input).unwrap();
        assert_eq!(report.processed.len(), 1);
        let volume = &report.processed[0];
        assert_eq!(volume.slices, 1);
        let names: Vec<&str> = volume
            .metrics
            .iter()
            .map(|(name, _)| name.as_str())
            .collect();
        assert_eq!(names, ["nmse", "psnr_fastmri", "ssim_fastmri"]);
        // fastMRI's equispaced 4x mask on W = 160 keeps 50 columns, 13 of them the centre band.
        let acceleration = volume.values["acceleration"].as_f64().unwrap();
        assert_eq!(acceleration, 160.0 / 50.0);

        // The phantom's two coils are nearly uncorrelated (condition number about 1.3), so with
        // preserve_scale the image stays close to the unwhitened root-sum-of-squares target and
        // the scores stay near those of the same pipeline without whitening. They still differ,
        // because whitening changes how the coils combine.
        let baseline = baseline_scores(&input);
        for (name, value) in &volume.metrics {
            let plain = baseline[name.as_str()];
            assert_ne!(*value, plain, "{name} is unchanged by whitening");
            let close = if name.starts_with("psnr") {
                (value - plain).abs() < 1.0
            } else {
                (value - plain).abs() < 0.2 * plain
            };
            assert!(
                close,
                "{name} {value} is far from {plain} without whitening"
            );
        }

        let table = render_table(&report);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 2, "{table}");
        assert!(lines[0].contains("nmse"), "{table}");
        assert!(lines[1].starts_with("phantom_gre_2coil.h5"), "{table}");
    }
}
