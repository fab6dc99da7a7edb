//! libtorch works and agrees with the ndarray physics: tensors round-trip through the bridge,
//! and the libtorch centred orthonormal FFT matches `dps::fft` to 1e-5 relative on random
//! complex data of even, odd and n = 2 (mod 4) sizes.
#![cfg(feature = "torch")]

use ndarray::{Array, ArrayD, IxDyn};
use tch::{Kind, Tensor};

use dps::torch::{
    complex_from_tensor, fft2c, ifft2c, real_from_tensor, tensor_from_complex, tensor_from_real,
};
use dps::Complex32;

/// Deterministic pseudo-random complex samples in [-1, 1) (a 64-bit LCG, so the test needs no
/// random-number crate).
fn random_complex(shape: &[usize], seed: u64) -> ArrayD<Complex32> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut next = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    };
    Array::from_shape_simple_fn(IxDyn(shape), || Complex32::new(next(), next()))
}

fn relative_error(a: &ArrayD<Complex32>, b: &ArrayD<Complex32>) -> f64 {
    let difference: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).norm_sqr() as f64)
        .sum();
    let reference: f64 = b.iter().map(|y| y.norm_sqr() as f64).sum();
    (difference / reference).sqrt()
}

#[test]
fn tensors_hold_values() {
    let t = Tensor::from_slice(&[1.0f32, 2.0, 3.0]) * 2.0;
    assert_eq!(t.sum(Kind::Float).double_value(&[]), 12.0);
}

#[test]
fn bridge_round_trips_real_and_complex() {
    let complex = random_complex(&[3, 5, 6], 1);
    let tensor = tensor_from_complex(&complex);
    assert_eq!(tensor.kind(), Kind::ComplexFloat);
    assert_eq!(tensor.size(), vec![3, 5, 6]);
    assert_eq!(complex_from_tensor(&tensor).unwrap(), complex);

    let real = complex.mapv(|z| z.re);
    assert_eq!(real_from_tensor(&tensor_from_real(&real)).unwrap(), real);

    // A non-contiguous view crosses over by value.
    let transposed = complex.view().reversed_axes();
    let back = complex_from_tensor(&tensor_from_complex(&transposed)).unwrap();
    assert_eq!(back, transposed.to_owned());
}

#[test]
fn bridge_rejects_wrong_kind() {
    let tensor = Tensor::from_slice(&[1i64, 2]);
    assert!(real_from_tensor(&tensor).is_err());
    assert!(complex_from_tensor(&tensor).is_err());
}

#[test]
fn torch_fft2c_matches_ndarray() {
    for (index, shape) in [[8, 8], [5, 7], [6, 10], [7, 5], [640, 368], [2, 3]]
        .iter()
        .enumerate()
    {
        let batch = [2, shape[0], shape[1]];
        let x = random_complex(&batch, index as u64 + 10);
        let forward = complex_from_tensor(&fft2c(&tensor_from_complex(&x))).unwrap();
        let error = relative_error(&forward, &dps::fft::fft2c(&x).into_dyn());
        assert!(error < 1e-5, "fft2c {shape:?}: relative error {error}");

        let inverse = complex_from_tensor(&ifft2c(&tensor_from_complex(&x))).unwrap();
        let error = relative_error(&inverse, &dps::fft::ifft2c(&x).into_dyn());
        assert!(error < 1e-5, "ifft2c {shape:?}: relative error {error}");
    }
}

#[test]
fn torch_fft2c_reference_values() {
    // A centred delta transforms to the constant 1/sqrt(H W): 0.1690308509457033 for 5 x 7.
    let mut delta = ArrayD::<Complex32>::zeros(IxDyn(&[5, 7]));
    delta[[2, 3]] = Complex32::new(1.0, 0.0);
    let image = complex_from_tensor(&ifft2c(&tensor_from_complex(&delta))).unwrap();
    for value in image.iter() {
        assert!(
            (value.re as f64 - 0.1690308509457033).abs() < 1e-6,
            "{value}"
        );
        assert!(value.im.abs() < 1e-6, "{value}");
    }
}
