//! Bridge between ndarray arrays and libtorch tensors (feature `torch`).
//!
//! tch 0.26 builds its own ndarray conversions on ndarray 0.16, while this crate uses ndarray
//! 0.17, so arrays cross over as contiguous slices: one copy each way. Complex arrays become
//! `ComplexFloat` tensors of the same shape through a float tensor with a trailing axis of two
//! (`re, im`), which is the memory layout of [`Complex32`].
//!
//! [`fft2c`] and [`ifft2c`] are the libtorch versions of [`crate::fft::fft2c`] and
//! [`crate::fft::ifft2c`]: centred (`ifftshift` first, `fftshift` last) and orthonormal over the
//! last two dimensions, so learned stages and ndarray operators agree.

use ndarray::{ArrayBase, ArrayD, Data, Dimension, IxDyn};
use tch::{Kind, Tensor};

use crate::Complex32;

/// Failure to move data between ndarray and libtorch.
#[derive(Debug, thiserror::Error)]
pub enum TorchError {
    /// A tensor had another element type than the conversion needs.
    #[error("expected a tensor of kind {expected:?}, found {found:?}")]
    Kind { expected: Kind, found: Kind },
    /// libtorch raised an error.
    #[error("libtorch error: {0}")]
    Tch(#[from] tch::TchError),
    /// A tensor shape could not become an array shape.
    #[error("tensor of shape {shape:?} cannot become an array: {message}")]
    Shape { shape: Vec<i64>, message: String },
}

fn shape_i64(shape: &[usize]) -> Vec<i64> {
    shape.iter().map(|&n| n as i64).collect()
}

/// Copies a real array into a `Float` tensor of the same shape (on the CPU).
pub fn tensor_from_real<S, D>(array: &ArrayBase<S, D>) -> Tensor
where
    S: Data<Elem = f32>,
    D: Dimension,
{
    let shape = shape_i64(array.shape());
    match array.as_slice() {
        Some(values) => Tensor::from_slice(values).reshape(&shape),
        None => {
            let values: Vec<f32> = array.iter().copied().collect();
            Tensor::from_slice(&values).reshape(&shape)
        }
    }
}

/// Copies a complex array into a `ComplexFloat` tensor of the same shape (on the CPU).
pub fn tensor_from_complex<S, D>(array: &ArrayBase<S, D>) -> Tensor
where
    S: Data<Elem = Complex32>,
    D: Dimension,
{
    let mut shape = shape_i64(array.shape());
    shape.push(2);
    let owned;
    let samples = match array.as_slice() {
        Some(samples) => samples,
        None => {
            owned = array.iter().copied().collect::<Vec<_>>();
            &owned
        }
    };
    Tensor::from_slice(complex_as_floats(samples))
        .reshape(&shape)
        .view_as_complex()
}

/// Copies a `Float` tensor (any device) into an array of the same shape.
///
/// # Errors
///
/// [`TorchError::Kind`] for another element type.
pub fn real_from_tensor(tensor: &Tensor) -> Result<ArrayD<f32>, TorchError> {
    check_kind(tensor, Kind::Float)?;
    let tensor = tensor.to_device(tch::Device::Cpu).contiguous();
    let shape = array_shape(&tensor.size())?;
    let mut values = vec![0f32; tensor.numel()];
    let count = values.len();
    tensor.f_copy_data(&mut values, count)?;
    to_array(shape, values)
}

/// Copies a `ComplexFloat` tensor (any device) into an array of the same shape.
///
/// # Errors
///
/// [`TorchError::Kind`] for another element type.
pub fn complex_from_tensor(tensor: &Tensor) -> Result<ArrayD<Complex32>, TorchError> {
    check_kind(tensor, Kind::ComplexFloat)?;
    let tensor = tensor.to_device(tch::Device::Cpu);
    let shape = array_shape(&tensor.size())?;
    let floats = tensor.view_as_real().contiguous();
    let mut samples = vec![Complex32::new(0.0, 0.0); tensor.numel()];
    let count = 2 * samples.len();
    floats.f_copy_data(complex_as_floats_mut(&mut samples), count)?;
    to_array(shape, samples)
}

/// Centred orthonormal forward FFT over the last two dimensions of a complex tensor.
pub fn fft2c(tensor: &Tensor) -> Tensor {
    let dims = [-2i64, -1];
    tensor
        .fft_ifftshift(dims.as_slice())
        .fft_fftn(None::<&[i64]>, dims.as_slice(), "ortho")
        .fft_fftshift(dims.as_slice())
}

/// Centred orthonormal inverse FFT over the last two dimensions of a complex tensor.
pub fn ifft2c(tensor: &Tensor) -> Tensor {
    let dims = [-2i64, -1];
    tensor
        .fft_ifftshift(dims.as_slice())
        .fft_ifftn(None::<&[i64]>, dims.as_slice(), "ortho")
        .fft_fftshift(dims.as_slice())
}

fn check_kind(tensor: &Tensor, expected: Kind) -> Result<(), TorchError> {
    let found = tensor.f_kind()?;
    if found != expected {
        return Err(TorchError::Kind { expected, found });
    }
    Ok(())
}

fn array_shape(size: &[i64]) -> Result<Vec<usize>, TorchError> {
    size.iter()
        .map(|&n| usize::try_from(n))
        .collect::<Result<_, _>>()
        .map_err(|error| TorchError::Shape {
            shape: size.to_vec(),
            message: error.to_string(),
        })
}

fn to_array<T>(shape: Vec<usize>, values: Vec<T>) -> Result<ArrayD<T>, TorchError> {
    let size: Vec<i64> = shape.iter().map(|&n| n as i64).collect();
    ArrayD::from_shape_vec(IxDyn(&shape), values).map_err(|error| TorchError::Shape {
        shape: size,
        message: error.to_string(),
    })
}

fn complex_as_floats(samples: &[Complex32]) -> &[f32] {
    // SAFETY: Complex32 is #[repr(C)] { re: f32, im: f32 }, so n samples are 2n contiguous f32
    // with the same alignment.
    unsafe { std::slice::from_raw_parts(samples.as_ptr().cast::<f32>(), 2 * samples.len()) }
}

fn complex_as_floats_mut(samples: &mut [Complex32]) -> &mut [f32] {
    // SAFETY: as in `complex_as_floats`; the borrow of `samples` is held for the result's life.
    unsafe { std::slice::from_raw_parts_mut(samples.as_mut_ptr().cast::<f32>(), 2 * samples.len()) }
}
