//! `fft2c`, shifts and crops against published reference values, numpy and ndrustfft.
//!
//! The numpy checks run the Python named by `DPS_PYTHON` (default: the interpreter that
//! `scripts/setup.sh` installs) and exchange raw little-endian complex64 files through a
//! temporary folder.

use std::path::{Path, PathBuf};
use std::process::Command;

use dps::fft::{fft2c, fft2c_inplace, fftshift, ifft2c, ifftshift};
use dps::transforms::{center_crop, crop_size_for, rss};
use dps::Complex32;
use ndarray::{arr1, Array1, Array2, Array3, ArrayD, Axis, IxDyn};
use ndrustfft::{ndfft, ndifft, FftHandler, Normalization};
use proptest::prelude::*;

// Sizes of every class: even (8, 640), n = 2 mod 4 (6, 10, 322), odd (5, 7, 9), and 1.
// Lengths 92, 276, 368 and 372 take the vectorised prime-factor path on AVX2 machines, as
// rows (W) and as columns (H = 92).
const SHAPES: [&[usize]; 11] = [
    &[8, 8],
    &[5, 7],
    &[6, 10],
    &[7, 6],
    &[1, 9],
    &[2, 3, 5, 9],
    &[3, 10, 322],
    &[640, 368],
    &[6, 276],
    &[2, 9, 372],
    &[92, 6],
];

/// Returns a reproducible complex array with samples uniform in [-1, 1) (splitmix64).
fn random_array(shape: &[usize], seed: u64) -> ArrayD<Complex32> {
    let mut state = seed;
    let mut next = move || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        (z >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    };
    ArrayD::from_shape_simple_fn(IxDyn(shape), || Complex32::new(next(), next()))
}

/// Returns `||a - b|| / ||b||`.
fn relative_error(a: &ArrayD<Complex32>, b: &ArrayD<Complex32>) -> f64 {
    assert_eq!(a.shape(), b.shape());
    let mut difference = 0.0f64;
    let mut reference = 0.0f64;
    for (x, y) in a.iter().zip(b.iter()) {
        difference += f64::from((x - y).norm_sqr());
        reference += f64::from(y.norm_sqr());
    }
    (difference / reference).sqrt()
}

fn python() -> PathBuf {
    let path = match std::env::var_os("DPS_PYTHON") {
        Some(path) => PathBuf::from(path),
        None => {
            let home = std::env::var_os("HOME").expect("HOME is not set; set DPS_PYTHON instead");
            Path::new(&home).join(".cache/dps/libtorch-2.13.0/bin/python")
        }
    };
    assert!(
        path.exists(),
        "Python with numpy not found at {}; run scripts/setup.sh or set DPS_PYTHON",
        path.display()
    );
    path
}

/// Runs `script` with `args` under the reference Python and returns its stdout. Panics with its
/// stderr on failure.
fn run_python(script: &str, args: &[&Path]) -> String {
    let output = Command::new(python())
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("failed to start the reference Python");
    assert!(
        output.status.success(),
        "reference Python failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("the reference Python printed invalid UTF-8")
}

fn write_complex(path: &Path, x: &ArrayD<Complex32>) {
    let bytes: Vec<u8> = x
        .iter()
        .flat_map(|v| [v.re.to_le_bytes(), v.im.to_le_bytes()])
        .flatten()
        .collect();
    std::fs::write(path, bytes).expect("failed to write a temporary file");
}

fn read_floats(path: &Path) -> Vec<f32> {
    let bytes = std::fs::read(path).expect("the reference Python wrote no output file");
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

fn read_complex(path: &Path, shape: &[usize]) -> ArrayD<Complex32> {
    let floats = read_floats(path);
    let samples = floats
        .chunks_exact(2)
        .map(|pair| Complex32::new(pair[0], pair[1]))
        .collect();
    ArrayD::from_shape_vec(IxDyn(shape), samples).expect("output size matches the input")
}

const NUMPY_FFT2C: &str = r#"
import sys
import numpy as np
src, dst, direction = sys.argv[1], sys.argv[2], sys.argv[3]
shape = tuple(int(n) for n in sys.argv[4].split(","))
x = np.fromfile(src, dtype="<c8").reshape(shape)
transform = np.fft.fft2 if direction == "forward" else np.fft.ifft2
y = np.fft.fftshift(transform(np.fft.ifftshift(x, axes=(-2, -1)), norm="ortho"), axes=(-2, -1))
y.astype("<c8").tofile(dst)
"#;

/// Returns numpy's `fftshift(fft2(ifftshift(x), norm="ortho"))` (or the inverse) of `x`.
fn numpy_fft2c(x: &ArrayD<Complex32>, direction: &str) -> ArrayD<Complex32> {
    let folder = tempfile::tempdir().expect("failed to create a temporary folder");
    let src = folder.path().join("x.c64");
    let dst = folder.path().join("y.c64");
    write_complex(&src, x);
    let shape: Vec<String> = x.shape().iter().map(usize::to_string).collect();
    let shape_arg = PathBuf::from(shape.join(","));
    let _ = run_python(NUMPY_FFT2C, &[&src, &dst, Path::new(direction), &shape_arg]);
    read_complex(&dst, x.shape())
}

#[test]
fn delta_ifft2c_is_constant() {
    // Reference values 1/sqrt(H W), also computed here in f64.
    for &(height, width, expected) in &[
        (640, 368, 0.0020605639793618343),
        (5, 7, 0.1690308509457033),
    ] {
        assert!((expected - 1.0 / ((height * width) as f64).sqrt()).abs() < 1e-15);
        let mut kspace = Array2::<Complex32>::zeros((height, width));
        kspace[[height / 2, width / 2]] = Complex32::new(1.0, 0.0);
        let image = ifft2c(&kspace);
        for value in image.iter() {
            assert!(
                (f64::from(value.re) - expected).abs() < 1e-6 * expected,
                "{height}x{width}: {value}"
            );
            assert!(
                value.im.abs() < 1e-6 * expected as f32,
                "{height}x{width}: {value}"
            );
        }
    }
}

#[test]
fn ones_fft2c_peaks_at_centre() {
    for &(height, width, expected) in &[(640, 368, 485.30402841929924), (5, 7, 35f64.sqrt())] {
        let image = Array2::from_elem((height, width), Complex32::new(1.0, 0.0));
        for kspace in [fft2c(&image), ifft2c(&image)] {
            let centre = kspace[[height / 2, width / 2]];
            assert!(
                (f64::from(centre.re) - expected).abs() < 1e-6 * expected,
                "centre {centre}"
            );
            assert!(centre.im.abs() < 1e-4, "centre {centre}");
            let off_centre = kspace
                .indexed_iter()
                .filter(|(index, _)| *index != (height / 2, width / 2))
                .map(|(_, value)| value.norm())
                .fold(0.0f32, f32::max);
            assert!(
                off_centre < 1e-4,
                "{height}x{width}: max off-centre magnitude {off_centre}"
            );
        }
    }
}

#[test]
fn shifts_of_five_samples() {
    let x = arr1(&[0, 1, 2, 3, 4]);
    assert_eq!(fftshift(&x, &[0]), arr1(&[3, 4, 0, 1, 2]));
    assert_eq!(ifftshift(&x, &[0]), arr1(&[2, 3, 4, 0, 1]));
}

#[test]
fn round_trip_every_size_class() {
    for (seed, shape) in SHAPES.iter().enumerate() {
        let x = random_array(shape, seed as u64);
        let forward_then_inverse = relative_error(&ifft2c(&fft2c(&x)), &x);
        let inverse_then_forward = relative_error(&fft2c(&ifft2c(&x)), &x);
        assert!(
            forward_then_inverse < 1e-6,
            "{shape:?}: ifft2c(fft2c(x)) error {forward_then_inverse}"
        );
        assert!(
            inverse_then_forward < 1e-6,
            "{shape:?}: fft2c(ifft2c(x)) error {inverse_then_forward}"
        );
    }
}

#[test]
fn transform_preserves_norm() {
    for (seed, shape) in SHAPES.iter().enumerate() {
        let x = random_array(shape, 100 + seed as u64);
        let norm = |a: &ArrayD<Complex32>| {
            a.iter()
                .map(|v| f64::from(v.norm_sqr()))
                .sum::<f64>()
                .sqrt()
        };
        let ratio = norm(&fft2c(&x)) / norm(&x);
        assert!(
            (ratio - 1.0).abs() < 1e-6,
            "{shape:?}: ||fft2c(x)|| / ||x|| = {ratio}"
        );
    }
}

#[test]
fn fft2c_matches_numpy() {
    for (seed, shape) in SHAPES.iter().enumerate() {
        let x = random_array(shape, 200 + seed as u64);
        let forward = relative_error(&fft2c(&x), &numpy_fft2c(&x, "forward"));
        let inverse = relative_error(&ifft2c(&x), &numpy_fft2c(&x, "inverse"));
        assert!(
            forward < 2e-6,
            "{shape:?}: fft2c differs from numpy by {forward}"
        );
        assert!(
            inverse < 2e-6,
            "{shape:?}: ifft2c differs from numpy by {inverse}"
        );
    }
}

#[test]
fn inplace_matches_numpy() {
    let x = random_array(&[2, 7, 10], 300);
    let mut y = x.clone();
    fft2c_inplace(&mut y);
    let error = relative_error(&y, &numpy_fft2c(&x, "forward"));
    assert!(error < 2e-6, "fft2c_inplace differs from numpy by {error}");
}

/// Returns fft2c computed with ndrustfft along each of the last two axes and the shifts.
fn ndrustfft_fft2c(x: &ArrayD<Complex32>, inverse: bool) -> ArrayD<Complex32> {
    let rank = x.ndim();
    let axes = [rank - 2, rank - 1];
    let mut data = ifftshift(x, &axes);
    for axis in axes {
        let handler = FftHandler::<f32>::new(x.shape()[axis]).normalization(Normalization::None);
        let mut output = ArrayD::zeros(data.raw_dim());
        if inverse {
            ndifft(&data, &mut output, &handler, axis);
        } else {
            ndfft(&data, &mut output, &handler, axis);
        }
        data = output;
    }
    let scale = 1.0 / ((x.shape()[rank - 2] * x.shape()[rank - 1]) as f32).sqrt();
    fftshift(&data.mapv(|v| v * scale), &axes)
}

#[test]
fn fft2c_matches_ndrustfft() {
    for (seed, shape) in SHAPES.iter().enumerate() {
        let x = random_array(shape, 400 + seed as u64);
        let forward = relative_error(&fft2c(&x), &ndrustfft_fft2c(&x, false));
        let inverse = relative_error(&ifft2c(&x), &ndrustfft_fft2c(&x, true));
        assert!(
            forward < 2e-6,
            "{shape:?}: fft2c differs from ndrustfft by {forward}"
        );
        assert!(
            inverse < 2e-6,
            "{shape:?}: ifft2c differs from ndrustfft by {inverse}"
        );
    }
}

#[test]
fn center_crop_knee_to_320() {
    let image = Array2::from_shape_fn((640, 368), |(i, j)| (1000 * i + j) as u32);
    let crop = center_crop(&image, (320, 320)).unwrap();
    assert_eq!(crop.dim(), (320, 320));
    assert_eq!(crop[[0, 0]], 160_024);
    assert_eq!(crop[[319, 319]], 479_343);
}

#[test]
fn crop_size_for_flair_width() {
    assert_eq!(crop_size_for((640, 276), (320, 320)), (276, 276));
}

const DUMP_VOLUME: &str = r#"
import sys
import h5py
import numpy as np
with h5py.File(sys.argv[1], "r") as f:
    f["kspace"][0].astype("<c8").tofile(sys.argv[2])
    f["reconstruction_rss"][0].astype("<f4").tofile(sys.argv[3])
    print(",".join(str(n) for n in f["kspace"].shape[1:]))
"#;

/// Checks that the stored target is `rss(ifft2c(kspace))` cropped, for one real volume.
fn check_stored_target(name: &str, target_hw: (usize, usize)) {
    let data = std::env::var_os("DPS_DATA_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data"));
    let file = data.join("mri").join(name);
    assert!(file.exists(), "test data {} is missing", file.display());
    let folder = tempfile::tempdir().expect("failed to create a temporary folder");
    let kspace_path = folder.path().join("kspace.c64");
    let target_path = folder.path().join("target.f32");
    let printed = run_python(DUMP_VOLUME, &[&file, &kspace_path, &target_path]);
    let shape: Vec<usize> = printed
        .trim()
        .split(',')
        .map(|n| {
            n.parse()
                .expect("the reference Python printed the kspace shape")
        })
        .collect();
    let kspace = read_complex(&kspace_path, &shape);
    let target = Array1::from(read_floats(&target_path));

    let images = ifft2c(&kspace);
    let combined = rss(&images, Axis(0)).unwrap();
    let cropped = center_crop(&combined, target_hw).unwrap();
    let target = target.into_shape_with_order(target_hw).unwrap();
    let peak = target.iter().cloned().fold(0.0f32, f32::max);
    let max_difference = cropped
        .iter()
        .zip(target.iter())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(
        max_difference < 1e-5 * peak,
        "{name}: rss(ifft2c(kspace)) differs from reconstruction_rss by {max_difference} (peak {peak})"
    );
}

#[test]
fn rss_reproduces_brain_target() {
    check_stored_target("brain_t2_4coil.h5", (256, 256));
}

#[test]
fn rss_reproduces_phantom_target() {
    check_stored_target("phantom_gre_2coil.h5", (160, 160));
}

proptest! {
    #[test]
    fn ifftshift_undoes_fftshift(height in 1usize..12, width in 1usize..12) {
        let x = Array2::from_shape_fn((height, width), |(i, j)| i * 100 + j);
        prop_assert_eq!(ifftshift(&fftshift(&x, &[0, 1]), &[0, 1]), x.clone());
        prop_assert_eq!(fftshift(&ifftshift(&x, &[0, 1]), &[0, 1]), x);
    }

    #[test]
    fn fftshift_moves_zero_to_centre(n in 1usize..40) {
        let x = Array1::from_shape_fn(n, |i| i);
        let shifted = fftshift(&x, &[0]);
        prop_assert_eq!(shifted[n / 2], 0);
        for i in 0..n {
            prop_assert_eq!(shifted[(i + n / 2) % n], i);
        }
    }

    #[test]
    fn fft2c_of_stack_is_per_image(coils in 1usize..4, height in 1usize..9, width in 1usize..9) {
        let x = random_array(&[coils, height, width], (coils * 100 + height * 10 + width) as u64);
        let stack = fft2c(&x);
        for (c, image) in x.axis_iter(Axis(0)).enumerate() {
            let single = fft2c(&image.to_owned());
            prop_assert_eq!(stack.index_axis(Axis(0), c).to_owned(), single);
        }
    }
}

#[test]
fn fft2c_keeps_static_dimension() {
    let x: Array3<Complex32> = Array3::zeros((2, 4, 4));
    let y: Array3<Complex32> = fft2c(&x);
    assert_eq!(y.dim(), (2, 4, 4));
}
