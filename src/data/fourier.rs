//! Centred orthonormal 2-D DFT of small square images by precomputed matrices.
//!
//! For a side `n` and centre `c = floor(n / 2)`, the 1-D centred orthonormal DFT is
//!
//! ```text
//! (F x)_k = sum_j x_j exp(-2 pi i (k - c)(j - c) / n) / sqrt(n)
//! ```
//!
//! This is `fftshift(fft(ifftshift(x), norm="ortho"))`: `ifftshift` reads `y_j = x_{j + c}`
//! and `fftshift` returns `X_k = Y_{k - c}` (indices mod n, for even and odd n alike), so
//! substituting `l = j + c` into the DFT of `y` at frequency `k - c` gives the formula above.
//! The DC bin lands at index `c` (14 for MNIST's 28). `F` is symmetric, so the 2-D transform of an
//! `n x n` image `x` is `F x F`, rows being the first axis.
//!
//! Matrices make sense here because MNIST images are 28 x 28 and every image is transformed once
//! at load time; MRI-sized images use the FFT of [`crate::fft`] instead.

use rayon::prelude::*;

/// Precomputed centred orthonormal DFT of one side length.
#[derive(Debug, Clone)]
pub struct CenteredDft {
    n: usize,
    /// Real part of `F`, row-major `(k, j)`.
    re: Vec<f32>,
    /// Imaginary part of `F`, row-major `(k, j)`.
    im: Vec<f32>,
}

impl CenteredDft {
    /// Builds the `n x n` matrix of the centred orthonormal DFT.
    ///
    /// # Panics
    ///
    /// Panics if `n` is 0.
    pub fn new(n: usize) -> Self {
        assert!(n > 0, "CenteredDft needs a positive side length");
        let centre = (n / 2) as i64;
        let size = n as i64;
        let scale = 1.0 / (n as f64).sqrt();
        let mut re = vec![0.0; n * n];
        let mut im = vec![0.0; n * n];
        for k in 0..n {
            for j in 0..n {
                // Reducing the integer product mod n first keeps the angle in [0, 2 pi), so the
                // phase is exact to f64 rounding for any n.
                let phase = ((k as i64 - centre) * (j as i64 - centre)).rem_euclid(size);
                let angle = -2.0 * std::f64::consts::PI * phase as f64 / n as f64;
                re[k * n + j] = (angle.cos() * scale) as f32;
                im[k * n + j] = (angle.sin() * scale) as f32;
            }
        }
        Self { n, re, im }
    }

    /// Side length of the transformed images.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Whether the side length is zero, which [`CenteredDft::new`] rules out.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Real part of the matrix, row-major `(k, j)`.
    pub fn real(&self) -> &[f32] {
        &self.re
    }

    /// Imaginary part of the matrix, row-major `(k, j)`.
    pub fn imag(&self) -> &[f32] {
        &self.im
    }

    /// Transforms one real `n x n` image into its centred orthonormal 2-D DFT.
    ///
    /// `output` receives `(2, n, n)`: the real part, then the imaginary part, each row-major
    /// (row frequency, then column frequency) with the DC bin at `(n / 2, n / 2)`.
    ///
    /// # Panics
    ///
    /// Panics if `image.len() != n * n` or `output.len() != 2 * n * n`.
    pub fn forward_real_into(&self, image: &[f32], output: &mut [f32]) {
        let mut scratch = vec![0.0_f32; 2 * self.n * self.n];
        self.forward_with_scratch(image, output, &mut scratch);
    }

    /// Computes [`CenteredDft::forward_real_into`] with caller-provided scratch of `2 n^2`
    /// values, so that a batch transform allocates scratch per rayon task, not per image.
    fn forward_with_scratch(&self, image: &[f32], output: &mut [f32], scratch: &mut [f32]) {
        let n = self.n;
        assert_eq!(image.len(), n * n, "image must have n * n pixels");
        assert_eq!(output.len(), 2 * n * n, "output must have 2 * n * n values");
        assert_eq!(
            scratch.len(),
            2 * n * n,
            "scratch must have 2 * n * n values"
        );

        // Rows first: T = F x, complex because F is.
        let (row_re, row_im) = scratch.split_at_mut(n * n);
        row_re.fill(0.0);
        row_im.fill(0.0);
        for k in 0..n {
            let f_re = &self.re[k * n..(k + 1) * n];
            let f_im = &self.im[k * n..(k + 1) * n];
            let t_re = &mut row_re[k * n..(k + 1) * n];
            let t_im = &mut row_im[k * n..(k + 1) * n];
            for j in 0..n {
                let x_row = &image[j * n..(j + 1) * n];
                let (a, b) = (f_re[j], f_im[j]);
                for col in 0..n {
                    t_re[col] += a * x_row[col];
                    t_im[col] += b * x_row[col];
                }
            }
        }

        // Then columns: X = T F, using F symmetric so that row j of F is column j.
        let (out_re, out_im) = output.split_at_mut(n * n);
        out_re.fill(0.0);
        out_im.fill(0.0);
        for row in 0..n {
            let t_re = &row_re[row * n..(row + 1) * n];
            let t_im = &row_im[row * n..(row + 1) * n];
            let x_re = &mut out_re[row * n..(row + 1) * n];
            let x_im = &mut out_im[row * n..(row + 1) * n];
            for j in 0..n {
                let (c, d) = (t_re[j], t_im[j]);
                let f_re = &self.re[j * n..(j + 1) * n];
                let f_im = &self.im[j * n..(j + 1) * n];
                for l in 0..n {
                    x_re[l] += c * f_re[l] - d * f_im[l];
                    x_im[l] += c * f_im[l] + d * f_re[l];
                }
            }
        }
    }

    /// Transforms a stack of real `n x n` images, in parallel over images.
    ///
    /// `images` is `(count, n, n)` and the result `(count, 2, n, n)`, which is also
    /// `(count, 2 n^2)`: per image the real part, then the imaginary part.
    ///
    /// # Panics
    ///
    /// Panics if `images.len()` is not a multiple of `n * n`.
    pub fn forward_real_batch(&self, images: &[f32]) -> Vec<f32> {
        let pixels = self.n * self.n;
        assert_eq!(
            images.len() % pixels,
            0,
            "images must be a stack of n x n images"
        );
        let mut output = vec![0.0_f32; 2 * images.len()];
        images
            .par_chunks_exact(pixels)
            .zip(output.par_chunks_exact_mut(2 * pixels))
            .for_each_init(
                || vec![0.0_f32; 2 * pixels],
                |scratch, (image, spectrum)| self.forward_with_scratch(image, spectrum, scratch),
            );
        output
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Complex32;

    /// The centred DFT written as its definition: ifftshift, plain DFT sums, fftshift.
    fn reference_fft2c(image: &[f32], n: usize) -> Vec<Complex32> {
        let roll = |values: &[Complex32], shift: usize| -> Vec<Complex32> {
            // Output index (i + shift) mod n receives input i, numpy's roll along each axis.
            let mut rolled = vec![Complex32::new(0.0, 0.0); n * n];
            for r in 0..n {
                for c in 0..n {
                    rolled[((r + shift) % n) * n + (c + shift) % n] = values[r * n + c];
                }
            }
            rolled
        };
        let input: Vec<Complex32> = image.iter().map(|&v| Complex32::new(v, 0.0)).collect();
        let shifted = roll(&input, n - n / 2);
        let mut spectrum = vec![Complex32::new(0.0, 0.0); n * n];
        for u in 0..n {
            for v in 0..n {
                let mut sum = num_complex::Complex64::new(0.0, 0.0);
                for r in 0..n {
                    for c in 0..n {
                        let angle =
                            -2.0 * std::f64::consts::PI * ((u * r + v * c) % n) as f64 / n as f64;
                        let value = shifted[r * n + c];
                        sum += num_complex::Complex64::from_polar(1.0, angle)
                            * num_complex::Complex64::new(value.re.into(), value.im.into());
                    }
                }
                sum /= n as f64;
                spectrum[u * n + v] = Complex32::new(sum.re as f32, sum.im as f32);
            }
        }
        roll(&spectrum, n / 2)
    }

    fn test_image(n: usize) -> Vec<f32> {
        (0..n * n)
            .map(|i| ((i * 37 + 11) % 97) as f32 / 97.0)
            .collect()
    }

    #[test]
    fn matches_definition_for_every_size_class() {
        // Even (28), odd (5, 7) and n = 2 (mod 4) (6, 10).
        for n in [5, 6, 7, 10, 28] {
            let dft = CenteredDft::new(n);
            let image = test_image(n);
            let mut output = vec![0.0; 2 * n * n];
            dft.forward_real_into(&image, &mut output);
            let expected = reference_fft2c(&image, n);
            for (i, value) in expected.iter().enumerate() {
                assert!((output[i] - value.re).abs() < 1e-5, "n {n} re {i}");
                assert!((output[n * n + i] - value.im).abs() < 1e-5, "n {n} im {i}");
            }
        }
    }

    #[test]
    fn ones_give_sqrt_pixels_at_centre() {
        let n = 28;
        let dft = CenteredDft::new(n);
        let mut output = vec![0.0; 2 * n * n];
        dft.forward_real_into(&vec![1.0; n * n], &mut output);
        let centre = (n / 2) * n + n / 2;
        assert!((output[centre] - 28.0).abs() < 1e-4);
        for (i, value) in output.iter().enumerate().filter(|&(i, _)| i != centre) {
            assert!(value.abs() < 1e-5, "bin {i} is {value}");
        }
    }

    #[test]
    fn transform_preserves_energy() {
        let n = 28;
        let dft = CenteredDft::new(n);
        let image = test_image(n);
        let mut output = vec![0.0; 2 * n * n];
        dft.forward_real_into(&image, &mut output);
        let image_energy: f32 = image.iter().map(|v| v * v).sum();
        let spectrum_energy: f32 = output.iter().map(|v| v * v).sum();
        assert!((image_energy - spectrum_energy).abs() < 1e-4 * image_energy);
    }

    #[test]
    fn batch_matches_single_images() {
        let n = 7;
        let dft = CenteredDft::new(n);
        let mut images = test_image(n);
        images.extend(test_image(n).iter().map(|v| 1.0 - v));
        let batch = dft.forward_real_batch(&images);
        for (image, spectrum) in images.chunks(n * n).zip(batch.chunks(2 * n * n)) {
            let mut single = vec![0.0; 2 * n * n];
            dft.forward_real_into(image, &mut single);
            assert_eq!(spectrum, single.as_slice());
        }
    }
}
