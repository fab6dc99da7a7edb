//! One harness run on every linear operator: the adjoint dot-product test, `normal` against
//! `adjoint(forward(x))`, the round trip where the operator is unitary, and shape errors.
//!
//! Sizes cover even (8), odd (5, 7) and n = 2 mod 4 (6, 10) axes, and one fastMRI knee size
//! (640 x 368). Tolerances: `<A x, y> = <x, A^H y>` to 1e-5 relative, round trips to 1e-6.

use dps::operator::{LinearOperator, MaskedFourier, OperatorError, Sense};
use dps::Complex32;
use ndarray::{Array2, Array3, ArrayD, IxDyn};
use num_complex::Complex64;

const IMAGE_SIZES: [(usize, usize); 8] = [
    (8, 8),
    (5, 5),
    (6, 6),
    (7, 10),
    (10, 7),
    (5, 6),
    (6, 5),
    (1, 4),
];

/// Reproducible samples uniform in [-1, 1) (splitmix64).
struct Samples(u64);

impl Samples {
    fn next_f32(&mut self) -> f32 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        (z >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }

    fn complex(&mut self, shape: &[usize]) -> ArrayD<Complex32> {
        ArrayD::from_shape_simple_fn(IxDyn(shape), || {
            Complex32::new(self.next_f32(), self.next_f32())
        })
    }

    /// Returns a mask that keeps about half of the entries, and always the first one.
    fn bools(&mut self, len: usize) -> Vec<bool> {
        (0..len).map(|i| i == 0 || self.next_f32() > 0.0).collect()
    }
}

/// Returns `<a, b> = sum conj(a) b` in f64.
fn inner(a: &ArrayD<Complex32>, b: &ArrayD<Complex32>) -> Complex64 {
    a.iter()
        .zip(b.iter())
        .map(|(x, y)| {
            let x = Complex64::new(x.re.into(), x.im.into());
            let y = Complex64::new(y.re.into(), y.im.into());
            x.conj() * y
        })
        .sum()
}

fn relative_error(a: &ArrayD<Complex32>, b: &ArrayD<Complex32>) -> f64 {
    let difference: f64 = a
        .iter()
        .zip(b.iter())
        .map(|(x, y)| f64::from((x - y).norm_sqr()))
        .sum();
    let reference: f64 = b.iter().map(|y| f64::from(y.norm_sqr())).sum();
    (difference / reference).sqrt()
}

/// Runs every check that applies to `operator`. `unitary` adds `A^H A = I` and `A A^H = I`.
fn check_operator(
    label: &str,
    operator: &dyn LinearOperator,
    unitary: bool,
    samples: &mut Samples,
) {
    let x = samples.complex(operator.domain_shape());
    let y = samples.complex(operator.range_shape());

    let forward = operator
        .forward(&x.view())
        .expect("forward accepts the domain shape");
    let adjoint = operator
        .adjoint(&y.view())
        .expect("adjoint accepts the range shape");
    assert_eq!(
        forward.shape(),
        operator.range_shape(),
        "{label}: forward output shape"
    );
    assert_eq!(
        adjoint.shape(),
        operator.domain_shape(),
        "{label}: adjoint output shape"
    );

    let lhs = inner(&forward, &y);
    let rhs = inner(&x, &adjoint);
    let dot_error = (lhs - rhs).norm() / lhs.norm();
    assert!(
        dot_error < 1e-5,
        "{label}: <Ax, y> = {lhs}, <x, A^H y> = {rhs}, relative {dot_error}"
    );

    let normal = operator
        .normal(&x.view())
        .expect("normal accepts the domain shape");
    let composed = operator.adjoint(&forward.view()).unwrap();
    let normal_error = relative_error(&normal, &composed);
    assert!(
        normal_error < 1e-6,
        "{label}: normal differs from adjoint(forward) by {normal_error}"
    );

    if unitary {
        let round_trip = relative_error(&composed, &x);
        assert!(
            round_trip < 1e-6,
            "{label}: A^H A x differs from x by {round_trip}"
        );
        let back = operator.forward(&adjoint.view()).unwrap();
        let round_trip = relative_error(&back, &y);
        assert!(
            round_trip < 1e-6,
            "{label}: A A^H y differs from y by {round_trip}"
        );
    }

    check_shape_errors(label, operator);
}

fn check_shape_errors(label: &str, operator: &dyn LinearOperator) {
    let mut wrong = operator.domain_shape().to_vec();
    *wrong.last_mut().unwrap() += 1;
    let bad = ArrayD::<Complex32>::zeros(IxDyn(&wrong));
    match operator.forward(&bad.view()) {
        Err(OperatorError::ShapeMismatch {
            method,
            expected,
            found,
            ..
        }) => {
            assert_eq!(method, "forward", "{label}");
            assert_eq!(expected, operator.domain_shape(), "{label}");
            assert_eq!(found, wrong, "{label}");
        }
        other => panic!("{label}: forward of shape {wrong:?} returned {other:?}"),
    }
    assert!(
        matches!(
            operator.normal(&bad.view()),
            Err(OperatorError::ShapeMismatch { .. })
        ),
        "{label}: normal"
    );

    let mut wrong = operator.range_shape().to_vec();
    wrong.insert(0, 2);
    let bad = ArrayD::<Complex32>::zeros(IxDyn(&wrong));
    match operator.adjoint(&bad.view()) {
        Err(OperatorError::ShapeMismatch {
            method,
            expected,
            found,
            ..
        }) => {
            assert_eq!(method, "adjoint", "{label}");
            assert_eq!(expected, operator.range_shape(), "{label}");
            assert_eq!(found, wrong, "{label}");
        }
        other => panic!("{label}: adjoint of shape {wrong:?} returned {other:?}"),
    }
}

/// Sensitivity maps with random phase, normalised so that `sum_c |S_c|^2 = 1` at every pixel.
fn random_maps(
    coils: usize,
    height: usize,
    width: usize,
    samples: &mut Samples,
) -> Array3<Complex32> {
    let mut maps = Array3::from_shape_simple_fn((coils, height, width), || {
        Complex32::new(samples.next_f32(), samples.next_f32())
    });
    for i in 0..height {
        for j in 0..width {
            let energy: f32 = (0..coils).map(|c| maps[[c, i, j]].norm_sqr()).sum();
            for c in 0..coils {
                maps[[c, i, j]] /= energy.sqrt();
            }
        }
    }
    maps
}

#[test]
fn fully_sampled_fourier() {
    let mut samples = Samples(1);
    for (height, width) in IMAGE_SIZES {
        for shape in [vec![height, width], vec![3, height, width]] {
            let operator = MaskedFourier::fully_sampled(&shape).unwrap();
            check_operator(
                &format!("MaskedFourier full {shape:?}"),
                &operator,
                true,
                &mut samples,
            );
        }
    }
}

#[test]
fn column_masked_fourier() {
    let mut samples = Samples(2);
    for (height, width) in IMAGE_SIZES {
        let columns = samples.bools(width);
        for shape in [vec![height, width], vec![4, height, width]] {
            let operator = MaskedFourier::with_column_mask(&shape, &columns).unwrap();
            check_operator(
                &format!("MaskedFourier columns {shape:?}"),
                &operator,
                false,
                &mut samples,
            );
        }
    }
}

#[test]
fn sample_masked_fourier() {
    let mut samples = Samples(3);
    for (height, width) in IMAGE_SIZES {
        let mask = Array2::from_shape_vec((height, width), samples.bools(height * width)).unwrap();
        for shape in [vec![height, width], vec![2, height, width]] {
            let operator = MaskedFourier::with_mask(&shape, mask.clone()).unwrap();
            check_operator(
                &format!("MaskedFourier 2-D mask {shape:?}"),
                &operator,
                false,
                &mut samples,
            );
        }
    }
}

#[test]
fn sense_operators() {
    let mut samples = Samples(4);
    for (height, width) in IMAGE_SIZES {
        let maps = random_maps(3, height, width, &mut samples);
        let columns = samples.bools(width);
        let mask = Array2::from_shape_vec((height, width), samples.bools(height * width)).unwrap();
        let label = format!("Sense {height}x{width}");
        let full = Sense::fully_sampled(maps.clone()).unwrap();
        check_operator(&format!("{label} full"), &full, false, &mut samples);
        let by_columns = Sense::with_column_mask(maps.clone(), &columns).unwrap();
        check_operator(
            &format!("{label} columns"),
            &by_columns,
            false,
            &mut samples,
        );
        let by_samples = Sense::with_mask(maps, mask).unwrap();
        check_operator(
            &format!("{label} 2-D mask"),
            &by_samples,
            false,
            &mut samples,
        );
    }
}

#[test]
fn sense_with_normalised_maps_is_isometry() {
    // sum_c |S_c|^2 = 1 makes A^H A = I when every sample is kept.
    let mut samples = Samples(5);
    for (height, width) in IMAGE_SIZES {
        let maps = random_maps(4, height, width, &mut samples);
        let operator = Sense::fully_sampled(maps).unwrap();
        let x = samples.complex(operator.domain_shape());
        let error = relative_error(&operator.normal(&x.view()).unwrap(), &x);
        assert!(
            error < 1e-6,
            "Sense {height}x{width}: A^H A x differs from x by {error}"
        );
    }
}

#[test]
fn knee_size_operators() {
    let mut samples = Samples(6);
    let (height, width) = (640, 368);
    let full = MaskedFourier::fully_sampled(&[2, height, width]).unwrap();
    check_operator("MaskedFourier full 2x640x368", &full, true, &mut samples);
    let columns = samples.bools(width);
    let masked = MaskedFourier::with_column_mask(&[height, width], &columns).unwrap();
    check_operator(
        "MaskedFourier columns 640x368",
        &masked,
        false,
        &mut samples,
    );
    let maps = random_maps(2, height, width, &mut samples);
    let sense = Sense::with_column_mask(maps, &columns).unwrap();
    check_operator("Sense columns 2x640x368", &sense, false, &mut samples);
}

#[test]
fn masked_kspace_has_no_negative_zero() {
    // Negative inputs make a plain multiply by zero produce -0.0; the sign bits must be clear.
    let mut samples = Samples(7);
    let columns = samples.bools(10);
    let operator = MaskedFourier::with_column_mask(&[3, 6, 10], &columns).unwrap();
    let x = samples
        .complex(&[3, 6, 10])
        .mapv(|v| Complex32::new(-v.re.abs(), -v.im.abs()));
    let kspace = operator.forward(&x.view()).unwrap();
    let adjoint_input = kspace.mapv(|v| -v);
    let mut masked = operator.adjoint(&adjoint_input.view()).unwrap();
    masked = operator.forward(&masked.view()).unwrap();
    for result in [&kspace, &masked] {
        for (index, value) in result.indexed_iter() {
            if !columns[index[2]] {
                assert_eq!(
                    value.re.to_bits(),
                    0,
                    "real part at {index:?} is {}",
                    value.re
                );
                assert_eq!(
                    value.im.to_bits(),
                    0,
                    "imaginary part at {index:?} is {}",
                    value.im
                );
            }
        }
    }
}
