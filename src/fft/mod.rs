//! Centred orthonormal 2-D FFT over the last two axes.
//!
//! `fft2c(x) = fftshift(fft2(ifftshift(x)))` and `ifft2c(x) = fftshift(ifft2(ifftshift(x)))`,
//! both over the last two axes `(H, W)` and both scaled by `1 / sqrt(H W)`, so each is unitary
//! and the two are inverses. This is numpy's `fftshift(fft2(ifftshift(x), norm="ortho"))` and
//! fastMRI's `fft2c`. The zero frequency sits at index `(H/2, W/2)` (integer division).
//!
//! Arrays may have any rank of at least 2: `(H, W)`, `(coils, H, W)`,
//! `(slices, coils, H, W)`, ... Every leading index selects one image, and images are
//! transformed in parallel with rayon. Inside one image the row pass and the column pass are
//! parallel too. Samples are [`Complex32`]. Inputs of any memory layout (views, slices,
//! permuted axes) are read in place, so the only copy is the output of `fft2c` and `ifft2c`.
//!
//! Plans are made once per length and direction and shared by all threads. The column pass
//! gathers blocks of eight columns into a contiguous buffer, and the row pass works on each
//! row where it lies.
//!
//! ```
//! use dps::fft::{fft2c, ifft2c};
//! use dps::Complex32;
//! use ndarray::Array3;
//!
//! // Two coils of a constant 4 x 6 image: all energy lands on the centre sample (2, 3).
//! let image = Array3::from_elem((2, 4, 6), Complex32::new(1.0, 0.0));
//! let kspace = fft2c(&image);
//! assert!((kspace[[0, 2, 3]].re - 24f32.sqrt()).abs() < 1e-5);
//! assert!(kspace[[0, 0, 0]].norm() < 1e-5);
//!
//! let back = ifft2c(&kspace);
//! assert!((back[[1, 3, 5]].re - 1.0).abs() < 1e-5);
//! ```

mod kernel;
mod plan;
mod prime;
mod shift;

use ndarray::{
    Array, ArrayBase, ArrayView2, ArrayViewD, ArrayViewMut2, ArrayViewMutD, Axis, Data, DataMut,
    Dimension, Ix2,
};
use rayon::prelude::*;

use crate::Complex32;
use kernel::ImagePlan;
use plan::Direction;
pub use shift::{fftshift, ifftshift};

/// Returns the centred orthonormal 2-D DFT of `x` over its last two axes.
///
/// # Panics
///
/// Panics if `x` has fewer than two axes.
pub fn fft2c<S, D>(x: &ArrayBase<S, D>) -> Array<Complex32, D>
where
    S: Data<Elem = Complex32>,
    D: Dimension,
{
    transform(x, Direction::Forward)
}

/// Returns the centred orthonormal 2-D inverse DFT of `x` over its last two axes.
///
/// # Panics
///
/// Panics if `x` has fewer than two axes.
pub fn ifft2c<S, D>(x: &ArrayBase<S, D>) -> Array<Complex32, D>
where
    S: Data<Elem = Complex32>,
    D: Dimension,
{
    transform(x, Direction::Inverse)
}

/// Replaces `x` by [`fft2c`]`(x)` without allocating an output array.
///
/// # Panics
///
/// Panics if `x` has fewer than two axes.
pub fn fft2c_inplace<S, D>(x: &mut ArrayBase<S, D>)
where
    S: DataMut<Elem = Complex32>,
    D: Dimension,
{
    transform_inplace(x, Direction::Forward);
}

/// Replaces `x` by [`ifft2c`]`(x)` without allocating an output array.
///
/// # Panics
///
/// Panics if `x` has fewer than two axes.
pub fn ifft2c_inplace<S, D>(x: &mut ArrayBase<S, D>)
where
    S: DataMut<Elem = Complex32>,
    D: Dimension,
{
    transform_inplace(x, Direction::Inverse);
}

fn transform<S, D>(x: &ArrayBase<S, D>, direction: Direction) -> Array<Complex32, D>
where
    S: Data<Elem = Complex32>,
    D: Dimension,
{
    let (height, width) = image_shape(x.shape());
    let mut out = Array::zeros(x.raw_dim());
    if out.is_empty() {
        return out;
    }
    let plan = ImagePlan::new(height, width, direction);
    let mut src = Vec::new();
    split_images(x.view().into_dyn(), &mut src);
    let mut dst = Vec::new();
    split_images_mut(out.view_mut().into_dyn(), &mut dst);
    dst.into_par_iter()
        .zip(src.into_par_iter())
        .for_each(|(image, source)| plan.run(image, Some(source)));
    out
}

fn transform_inplace<S, D>(x: &mut ArrayBase<S, D>, direction: Direction)
where
    S: DataMut<Elem = Complex32>,
    D: Dimension,
{
    let (height, width) = image_shape(x.shape());
    if x.is_empty() {
        return;
    }
    let plan = ImagePlan::new(height, width, direction);
    let mut images = Vec::new();
    split_images_mut(x.view_mut().into_dyn(), &mut images);
    images
        .into_par_iter()
        .for_each(|image| plan.run(image, None));
}

/// Returns `(H, W)`, the last two axis lengths.
fn image_shape(shape: &[usize]) -> (usize, usize) {
    assert!(
        shape.len() >= 2,
        "fft2c and ifft2c transform the last two axes, but the input has shape {shape:?}; \
         add a leading axis to a 1-D signal first"
    );
    (shape[shape.len() - 2], shape[shape.len() - 1])
}

/// Pushes every (H, W) image of `x` onto `out`, in row-major order of the leading indices.
fn split_images<'a>(x: ArrayViewD<'a, Complex32>, out: &mut Vec<ArrayView2<'a, Complex32>>) {
    if x.ndim() == 2 {
        out.push(x.into_dimensionality::<Ix2>().expect("rank is 2"));
        return;
    }
    for sub in x.into_outer_iter() {
        split_images(sub, out);
    }
}

/// Mutable counterpart of [`split_images`].
fn split_images_mut<'a>(
    x: ArrayViewMutD<'a, Complex32>,
    out: &mut Vec<ArrayViewMut2<'a, Complex32>>,
) {
    if x.ndim() == 2 {
        out.push(x.into_dimensionality::<Ix2>().expect("rank is 2"));
        return;
    }
    let mut rest = x;
    while rest.len_of(Axis(0)) > 0 {
        let (first, tail) = rest.split_at(Axis(0), 1);
        split_images_mut(first.index_axis_move(Axis(0), 0), out);
        rest = tail;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{s, Array2, Array3};

    /// Direct O(N^2) centred orthonormal DFT of one image, in f64.
    fn naive_fft2c(x: &Array2<Complex32>, inverse: bool) -> Array2<Complex32> {
        let (h, w) = x.dim();
        let sign = if inverse { 1.0 } else { -1.0 };
        let shifted = ifftshift(x, &[0, 1]);
        let mut out = Array2::zeros((h, w));
        for ((k, l), value) in out.indexed_iter_mut() {
            let mut sum = num_complex::Complex64::new(0.0, 0.0);
            for ((i, j), sample) in shifted.indexed_iter() {
                let phase = sign
                    * 2.0
                    * std::f64::consts::PI
                    * ((i * k) as f64 / h as f64 + (j * l) as f64 / w as f64);
                let sample = num_complex::Complex64::new(sample.re as f64, sample.im as f64);
                sum += sample * num_complex::Complex64::from_polar(1.0, phase);
            }
            sum /= ((h * w) as f64).sqrt();
            *value = Complex32::new(sum.re as f32, sum.im as f32);
        }
        fftshift(&out, &[0, 1])
    }

    fn test_image(h: usize, w: usize) -> Array2<Complex32> {
        Array2::from_shape_fn((h, w), |(i, j)| {
            let t = (i * 31 + j * 17) as f32;
            Complex32::new((t * 0.37).sin(), (t * 0.11).cos())
        })
    }

    fn max_error(a: &Array2<Complex32>, b: &Array2<Complex32>) -> f32 {
        a.iter()
            .zip(b.iter())
            .map(|(x, y)| (x - y).norm())
            .fold(0.0, f32::max)
    }

    #[test]
    fn fft2c_matches_naive_dft() {
        for &(h, w) in &[
            (1, 1),
            (1, 4),
            (2, 2),
            (4, 4),
            (5, 7),
            (6, 10),
            (7, 6),
            (8, 3),
            (9, 9),
            (17, 12),
        ] {
            let x = test_image(h, w);
            let forward = max_error(&fft2c(&x), &naive_fft2c(&x, false));
            let inverse = max_error(&ifft2c(&x), &naive_fft2c(&x, true));
            assert!(forward < 1e-5, "fft2c of {h}x{w}: max error {forward}");
            assert!(inverse < 1e-5, "ifft2c of {h}x{w}: max error {inverse}");
        }
    }

    #[test]
    fn inplace_matches_out_of_place() {
        for &(h, w) in &[(6, 10), (5, 7), (40, 33)] {
            let x = test_image(h, w);
            let mut y = x.clone();
            fft2c_inplace(&mut y);
            assert_eq!(y, fft2c(&x));
            ifft2c_inplace(&mut y);
            assert!(max_error(&y, &x) < 1e-5);
        }
    }

    #[test]
    fn strided_input_matches_contiguous() {
        let stack = Array3::from_shape_fn((3, 12, 22), |(c, i, j)| {
            Complex32::new((c * 7 + i) as f32, j as f32 - 3.0)
        });
        // Every other column, and the axes swapped: neither rows nor columns are contiguous.
        let view = stack.slice(s![.., .., ..;2]);
        let swapped = view.permuted_axes([0, 2, 1]);
        let expected = fft2c(&swapped.to_owned());
        assert_eq!(fft2c(&swapped), expected);

        let mut permuted = stack.clone();
        permuted.swap_axes(1, 2);
        let expected = fft2c(&permuted.as_standard_layout().to_owned());
        fft2c_inplace(&mut permuted);
        assert!(permuted
            .iter()
            .zip(expected.iter())
            .all(|(a, b)| (a - b).norm() < 1e-4));
    }

    #[test]
    fn empty_input_is_returned() {
        let x = Array3::<Complex32>::zeros((0, 4, 4));
        assert_eq!(fft2c(&x).dim(), (0, 4, 4));
        let x = Array2::<Complex32>::zeros((0, 4));
        assert_eq!(ifft2c(&x).dim(), (0, 4));
    }

    #[test]
    #[should_panic(expected = "last two axes")]
    fn rank_one_input_panics() {
        let x = ndarray::Array1::<Complex32>::zeros(4);
        let _ = fft2c(&x);
    }
}
