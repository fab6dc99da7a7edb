//! End-to-end tests of the MNIST data module: IDX files written here byte by byte, the real
//! MNIST files, and the Fourier-domain inputs against numpy.
//!
//! The real files are looked up in `$DPS_MNIST_DIR`, else in `data/mnist` of the crate;
//! `scripts/fetch_mnist.sh` puts them there. Python with numpy is found through `$DPS_PYTHON`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use dps::data::idx::{read_idx_u8, read_images, read_labels};
use dps::data::{
    BatchLoader, CenteredDft, DataError, Domain, Mnist, MnistConfig, MnistFiles, Split,
};
use flate2::write::GzEncoder;
use flate2::Compression;
use tempfile::TempDir;

// ---------------------------------------------------------------------------------------------
// Helpers

/// Bytes of an IDX file: magic `00 00 type ndims`, big-endian sizes, then `data`.
fn idx_bytes(type_code: u8, dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut bytes = vec![0, 0, type_code, dims.len() as u8];
    for size in dims {
        bytes.extend_from_slice(&size.to_be_bytes());
    }
    bytes.extend_from_slice(data);
    bytes
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Pixel `p` of synthetic image `i`: distinct per image, covering 0 and 255.
fn synthetic_pixel(image: usize, pixel: usize) -> u8 {
    ((image * 31 + pixel * 7) % 256) as u8
}

/// Writes the four MNIST files with `train` and `test` synthetic 28 x 28 images into `dir`,
/// gzip-compressing the training files.
fn write_synthetic_mnist(dir: &Path, train: usize, test: usize) {
    for (prefix, count, compress) in [("train", train, true), ("t10k", test, false)] {
        let pixels: Vec<u8> = (0..count)
            .flat_map(|i| (0..784).map(move |p| synthetic_pixel(i, p)))
            .collect();
        let labels: Vec<u8> = (0..count).map(|i| (i % 10) as u8).collect();
        let images = idx_bytes(0x08, &[count as u32, 28, 28], &pixels);
        let labels = idx_bytes(0x08, &[count as u32], &labels);
        if compress {
            write(
                dir,
                &format!("{prefix}-images-idx3-ubyte.gz"),
                &gzip(&images),
            );
            write(
                dir,
                &format!("{prefix}-labels-idx1-ubyte.gz"),
                &gzip(&labels),
            );
        } else {
            write(dir, &format!("{prefix}-images-idx3-ubyte"), &images);
            write(dir, &format!("{prefix}-labels-idx1-ubyte"), &labels);
        }
    }
}

fn python() -> PathBuf {
    let path = std::env::var_os("DPS_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME").expect("HOME is not set");
            Path::new(&home).join(".cache/dps/libtorch-2.13.0/bin/python")
        });
    assert!(
        path.is_file(),
        "Python with numpy not found at {}; run scripts/setup.sh or set DPS_PYTHON",
        path.display()
    );
    path
}

/// Runs a Python script with arguments and returns its standard output.
fn run_python(script: &str, args: &[String]) -> String {
    let output = Command::new(python())
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("failed to start Python");
    assert!(
        output.status.success(),
        "Python failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn path_arg(path: &Path) -> String {
    path.to_str()
        .expect("temporary paths are UTF-8")
        .to_string()
}

fn write_f32(path: &Path, values: &[f32]) {
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(path, bytes).unwrap();
}

fn read_f64(path: &Path) -> Vec<f64> {
    std::fs::read(path)
        .unwrap()
        .chunks_exact(8)
        .map(|chunk| f64::from_le_bytes(chunk.try_into().unwrap()))
        .collect()
}

fn real_mnist_dir() -> PathBuf {
    std::env::var_os("DPS_MNIST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("data/mnist"))
}

fn real_mnist_files() -> MnistFiles {
    let dir = real_mnist_dir();
    MnistFiles::find(&dir).unwrap_or_else(|error| {
        panic!(
            "real MNIST files missing ({error}); run scripts/fetch_mnist.sh or set DPS_MNIST_DIR"
        )
    })
}

/// The real data set with the default seed, loaded once for all tests of this binary.
fn real_mnist() -> &'static Mnist {
    static MNIST: OnceLock<Mnist> = OnceLock::new();
    MNIST.get_or_init(|| Mnist::from_files(&real_mnist_files(), None, 0).unwrap())
}

// ---------------------------------------------------------------------------------------------
// IDX files written by the test

#[test]
fn idx_plain_file_parses() {
    let dir = TempDir::new().unwrap();
    let data: Vec<u8> = (0..24).collect();
    let path = write(dir.path(), "array.idx", &idx_bytes(0x08, &[2, 3, 4], &data));
    let array = read_idx_u8(&path).unwrap();
    assert_eq!(array.dims, vec![2, 3, 4]);
    assert_eq!(array.data, data);
}

#[test]
fn idx_gzip_file_parses() {
    let dir = TempDir::new().unwrap();
    let data: Vec<u8> = (0..=255).collect();
    let compressed = gzip(&idx_bytes(0x08, &[256], &data));
    let path = write(dir.path(), "array.idx.gz", &compressed);
    let array = read_idx_u8(&path).unwrap();
    assert_eq!(array.dims, vec![256]);
    assert_eq!(array.data, data);
}

#[test]
fn gzip_detected_by_content_not_name() {
    let dir = TempDir::new().unwrap();
    let data = [9_u8, 8, 7];
    let compressed = write(
        dir.path(),
        "no-suffix",
        &gzip(&idx_bytes(0x08, &[3], &data)),
    );
    assert_eq!(read_idx_u8(&compressed).unwrap().data, data);

    let plain = write(dir.path(), "misnamed.gz", &idx_bytes(0x08, &[3], &data));
    assert_eq!(read_idx_u8(&plain).unwrap().data, data);
}

#[test]
fn images_and_labels_parse() {
    let dir = TempDir::new().unwrap();
    let pixels: Vec<u8> = (0..2 * 3 * 5).map(|v| v as u8).collect();
    let images_path = write(dir.path(), "images", &idx_bytes(0x08, &[2, 3, 5], &pixels));
    let images = read_images(&images_path).unwrap();
    assert_eq!((images.count, images.rows, images.cols), (2, 3, 5));
    assert_eq!(images.pixels, pixels);

    let labels_path = write(dir.path(), "labels", &idx_bytes(0x08, &[4], &[0, 9, 3, 5]));
    assert_eq!(read_labels(&labels_path).unwrap(), vec![0, 9, 3, 5]);
}

// ---------------------------------------------------------------------------------------------
// Error cases

#[test]
fn bad_magic_is_rejected() {
    let dir = TempDir::new().unwrap();
    let mut bytes = idx_bytes(0x08, &[3], &[1, 2, 3]);
    bytes[1] = 0x01;
    let path = write(dir.path(), "bad-magic", &bytes);
    let error = read_idx_u8(&path).unwrap_err();
    match &error {
        DataError::BadMagic { path: p, found } => {
            assert_eq!(p, &path);
            assert_eq!(found, &[0, 1, 8, 1]);
        }
        other => panic!("expected BadMagic, got {other:?}"),
    }
    assert!(error.to_string().contains("bad-magic"), "{error}");
}

#[test]
fn unsupported_type_is_rejected() {
    let dir = TempDir::new().unwrap();
    let path = write(dir.path(), "floats", &idx_bytes(0x0D, &[1], &[0, 0, 0, 0]));
    let error = read_idx_u8(&path).unwrap_err();
    assert!(
        matches!(
            error,
            DataError::UnsupportedType {
                type_code: 0x0D,
                type_name: "32-bit float",
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("0x0d"), "{error}");
}

#[test]
fn truncated_data_is_rejected() {
    let dir = TempDir::new().unwrap();
    let path = write(
        dir.path(),
        "short",
        &idx_bytes(0x08, &[2, 28, 28], &[0; 1000]),
    );
    let error = read_idx_u8(&path).unwrap_err();
    match &error {
        DataError::Truncated {
            path: p,
            dims,
            expected_bytes,
            found_bytes,
        } => {
            assert_eq!(p, &path);
            assert_eq!(dims, &vec![2, 28, 28]);
            assert_eq!(*expected_bytes, 16 + 2 * 784);
            assert_eq!(*found_bytes, 16 + 1000);
        }
        other => panic!("expected Truncated, got {other:?}"),
    }
    assert!(error.to_string().contains("short"), "{error}");
}

#[test]
fn truncated_header_is_rejected() {
    let dir = TempDir::new().unwrap();
    let path = write(dir.path(), "header", &[0, 0, 8, 3, 0, 0, 0, 2]);
    let error = read_idx_u8(&path).unwrap_err();
    assert!(
        matches!(
            error,
            DataError::Truncated {
                expected_bytes: 16,
                found_bytes: 8,
                ..
            }
        ),
        "{error:?}"
    );
}

#[test]
fn trailing_bytes_are_rejected() {
    let dir = TempDir::new().unwrap();
    let path = write(dir.path(), "long", &idx_bytes(0x08, &[2], &[1, 2, 3]));
    let error = read_idx_u8(&path).unwrap_err();
    assert!(
        matches!(
            error,
            DataError::TrailingBytes {
                expected_bytes: 10,
                found_bytes: 11,
                ..
            }
        ),
        "{error:?}"
    );
}

#[test]
fn truncated_gzip_is_rejected() {
    let dir = TempDir::new().unwrap();
    let compressed = gzip(&idx_bytes(0x08, &[100], &[3; 100]));
    let path = write(dir.path(), "cut.gz", &compressed[..compressed.len() / 2]);
    let error = read_idx_u8(&path).unwrap_err();
    assert!(matches!(error, DataError::Gzip { .. }), "{error:?}");
}

#[test]
fn missing_file_is_io_error() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("absent");
    let error = read_idx_u8(&path).unwrap_err();
    assert!(
        matches!(&error, DataError::Io { path: p, .. } if p == &path),
        "{error:?}"
    );
}

#[test]
fn label_out_of_range_is_rejected() {
    let dir = TempDir::new().unwrap();
    let path = write(dir.path(), "labels", &idx_bytes(0x08, &[4], &[1, 9, 10, 2]));
    let error = read_labels(&path).unwrap_err();
    assert!(
        matches!(
            error,
            DataError::LabelOutOfRange {
                index: 2,
                label: 10,
                ..
            }
        ),
        "{error:?}"
    );
}

#[test]
fn wrong_dimension_count_is_rejected() {
    let dir = TempDir::new().unwrap();
    let path = write(dir.path(), "flat", &idx_bytes(0x08, &[2, 2], &[0; 4]));
    let labels_error = read_labels(&path).unwrap_err();
    assert!(
        matches!(
            labels_error,
            DataError::WrongDimensionCount {
                expected: 1,
                found: 2,
                ..
            }
        ),
        "{labels_error:?}"
    );
    let images_error = read_images(&path).unwrap_err();
    assert!(
        matches!(
            images_error,
            DataError::WrongDimensionCount {
                expected: 3,
                found: 2,
                ..
            }
        ),
        "{images_error:?}"
    );
}

#[test]
fn count_mismatch_is_rejected() {
    let dir = TempDir::new().unwrap();
    write_synthetic_mnist(dir.path(), 20, 10);
    let labels = idx_bytes(0x08, &[9], &[0; 9]);
    write(dir.path(), "t10k-labels-idx1-ubyte", &labels);
    let error = Mnist::load(dir.path()).unwrap_err();
    assert!(
        matches!(
            error,
            DataError::CountMismatch {
                images: 10,
                labels: 9,
                ..
            }
        ),
        "{error:?}"
    );
}

#[test]
fn wrong_image_size_is_rejected() {
    let dir = TempDir::new().unwrap();
    write_synthetic_mnist(dir.path(), 20, 10);
    let images = idx_bytes(0x08, &[10, 32, 32], &[0; 10 * 1024]);
    write(dir.path(), "t10k-images-idx3-ubyte", &images);
    let error = Mnist::load(dir.path()).unwrap_err();
    assert!(
        matches!(
            error,
            DataError::WrongImageSize {
                rows: 32,
                cols: 32,
                ..
            }
        ),
        "{error:?}"
    );
}

#[test]
fn missing_mnist_file_names_fetch_script() {
    let dir = TempDir::new().unwrap();
    write_synthetic_mnist(dir.path(), 20, 10);
    std::fs::remove_file(dir.path().join("t10k-labels-idx1-ubyte")).unwrap();
    let error = Mnist::load(dir.path()).unwrap_err();
    assert!(
        matches!(
            error,
            DataError::MissingFile {
                name: "t10k-labels-idx1-ubyte",
                ..
            }
        ),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("scripts/fetch_mnist.sh"),
        "{error}"
    );
}

#[test]
fn oversized_subset_is_rejected() {
    let dir = TempDir::new().unwrap();
    write_synthetic_mnist(dir.path(), 20, 10);
    let mut config = MnistConfig::from_dir(dir.path());
    config.train_subset = Some(21);
    let error = Mnist::from_config(&config).unwrap_err();
    assert!(
        matches!(
            error,
            DataError::InvalidConfig {
                field: "train_subset",
                ..
            }
        ),
        "{error:?}"
    );
}

#[test]
fn split_new_checks_shape() {
    let error = Split::new(Domain::Pixel, vec![0.0; 783], vec![1]).unwrap_err();
    assert!(
        matches!(error, DataError::SplitShape { values: 783, .. }),
        "{error:?}"
    );
    let error = Split::new(Domain::Fourier, vec![0.0; 1568], vec![12]).unwrap_err();
    assert!(
        matches!(error, DataError::LabelOutOfRange { label: 12, .. }),
        "{error:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Configuration

#[test]
fn config_parses_dir_from_yaml() {
    let yaml = "dir: data/mnist\ntrain_subset: 50000\nsplit_seed: 7\n";
    let config: MnistConfig = serde_yaml::from_str(yaml).unwrap();
    assert_eq!(config.dir, Some(PathBuf::from("data/mnist")));
    assert_eq!(config.train_subset, Some(50_000));
    assert_eq!(config.split_seed, 7);
}

#[test]
fn config_defaults_seed_and_subset() {
    let config: MnistConfig = serde_yaml::from_str("dir: x\n").unwrap();
    assert_eq!(config, MnistConfig::from_dir("x"));
}

#[test]
fn config_rejects_unknown_field() {
    let result: Result<MnistConfig, _> = serde_yaml::from_str("dir: x\nsplit_sed: 3\n");
    let error = result.unwrap_err().to_string();
    assert!(error.contains("split_sed"), "{error}");
}

#[test]
fn config_explicit_paths_load() {
    let dir = TempDir::new().unwrap();
    write_synthetic_mnist(dir.path(), 20, 10);
    let yaml = format!(
        "train_images: {0}/train-images-idx3-ubyte.gz\n\
         train_labels: {0}/train-labels-idx1-ubyte.gz\n\
         test_images: {0}/t10k-images-idx3-ubyte\n\
         test_labels: {0}/t10k-labels-idx1-ubyte\n",
        dir.path().display()
    );
    let config: MnistConfig = serde_yaml::from_str(&yaml).unwrap();
    let from_paths = Mnist::from_config(&config).unwrap();
    assert_eq!(from_paths, Mnist::load(dir.path()).unwrap());
}

#[test]
fn config_requires_all_paths() {
    let config: MnistConfig = serde_yaml::from_str("train_images: a\ntest_images: c\n").unwrap();
    let error = Mnist::from_config(&config).unwrap_err();
    assert!(
        matches!(
            error,
            DataError::InvalidConfig {
                field: "train_labels",
                ..
            }
        ),
        "{error:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Synthetic data set

#[test]
fn synthetic_load_splits_and_scales() {
    let dir = TempDir::new().unwrap();
    write_synthetic_mnist(dir.path(), 20, 10);
    let mnist = Mnist::load(dir.path()).unwrap();
    assert_eq!(mnist.train.len(), 20);
    assert_eq!(mnist.validation.len(), 5);
    assert_eq!(mnist.test.len(), 5);

    let splits = [
        ("train", &mnist.train),
        ("validation", &mnist.validation),
        ("test", &mnist.test),
    ];
    for (name, split) in splits {
        assert_eq!(split.domain(), Domain::Pixel);
        assert_eq!(split.examples().len(), split.len() * 784);
        for (position, &source) in split.source_indices().iter().enumerate() {
            let expected: Vec<f32> = (0..784)
                .map(|p| f32::from(synthetic_pixel(source, p)) / 255.0)
                .collect();
            assert_eq!(
                split.example(position),
                expected.as_slice(),
                "{name} {position}"
            );
            assert_eq!(usize::from(split.labels()[position]), source % 10, "{name}");
        }
    }
}

#[test]
fn synthetic_subset_is_seeded() {
    let dir = TempDir::new().unwrap();
    write_synthetic_mnist(dir.path(), 40, 10);
    let load = |seed| {
        let mut config = MnistConfig::from_dir(dir.path());
        config.train_subset = Some(15);
        config.split_seed = seed;
        Mnist::from_config(&config).unwrap()
    };
    let first = load(1);
    let first_indices = first.train.source_indices();
    assert_eq!(first.train.len(), 15);
    assert_eq!(first_indices, load(1).train.source_indices());
    assert_ne!(first_indices, load(2).train.source_indices());
    assert_ne!(first_indices, (0..15).collect::<Vec<_>>().as_slice());
}

#[test]
fn synthetic_fourier_layout() {
    let dir = TempDir::new().unwrap();
    write_synthetic_mnist(dir.path(), 20, 10);
    let pixels = Mnist::load(dir.path()).unwrap();
    let fourier = pixels.to_fourier();
    let dft = CenteredDft::new(28);
    let pairs = [
        (&pixels.train, &fourier.train),
        (&pixels.validation, &fourier.validation),
        (&pixels.test, &fourier.test),
    ];
    for (pixel_split, fourier_split) in pairs {
        assert_eq!(fourier_split.domain(), Domain::Fourier);
        assert_eq!(fourier_split.features(), 1568);
        assert_eq!(fourier_split.labels(), pixel_split.labels());
        assert_eq!(fourier_split.source_indices(), pixel_split.source_indices());
        for position in 0..pixel_split.len() {
            let mut expected = vec![0.0; 1568];
            dft.forward_real_into(pixel_split.example(position), &mut expected);
            assert_eq!(fourier_split.example(position), expected.as_slice());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Real MNIST

#[test]
fn real_counts_and_first_labels() {
    let files = real_mnist_files();
    let train_labels = read_labels(&files.train_labels).unwrap();
    let test_labels = read_labels(&files.test_labels).unwrap();
    assert_eq!(train_labels.len(), 60_000);
    assert_eq!(test_labels.len(), 10_000);
    // The first training digits are 5, 0, 4, 1, 9 and the first test digits 7, 2, 1, 0, 4.
    assert_eq!(train_labels[..5], [5, 0, 4, 1, 9]);
    assert_eq!(test_labels[..5], [7, 2, 1, 0, 4]);
}

#[test]
fn real_class_counts_match_published() {
    // Per-digit counts of the official training and test sets.
    let files = real_mnist_files();
    let count = |labels: Vec<u8>| {
        let mut counts = [0_usize; 10];
        for label in labels {
            counts[usize::from(label)] += 1;
        }
        counts
    };
    let train = count(read_labels(&files.train_labels).unwrap());
    let test = count(read_labels(&files.test_labels).unwrap());
    assert_eq!(
        train,
        [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    );
    assert_eq!(
        test,
        [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    );
}

#[test]
fn real_split_sizes_and_pixel_range() {
    let mnist = real_mnist();
    assert_eq!(mnist.train.len(), 60_000);
    assert_eq!(mnist.validation.len(), 5_000);
    assert_eq!(mnist.test.len(), 5_000);
    assert_eq!(mnist.train.labels()[0], 5);
    for split in [&mnist.train, &mnist.validation, &mnist.test] {
        let min = split
            .examples()
            .iter()
            .copied()
            .fold(f32::INFINITY, f32::min);
        let max = split
            .examples()
            .iter()
            .copied()
            .fold(f32::NEG_INFINITY, f32::max);
        assert_eq!(min, 0.0);
        assert_eq!(max, 1.0);
    }
}

#[test]
fn real_validation_test_partition() {
    let mnist = real_mnist();
    let mut covered = vec![0_u8; 10_000];
    let sources = mnist.validation.source_indices().iter();
    for &index in sources.chain(mnist.test.source_indices()) {
        covered[index] += 1;
    }
    assert!(
        covered.iter().all(|&times| times == 1),
        "every test image must be in exactly one split"
    );
}

#[test]
fn real_split_reproducible_per_seed() {
    let files = real_mnist_files();
    let again = Mnist::from_files(&files, Some(1000), 0).unwrap();
    let other = Mnist::from_files(&files, Some(1000), 1).unwrap();
    let mnist = real_mnist();
    assert_eq!(again.validation, mnist.validation);
    assert_eq!(again.test, mnist.test);
    assert_ne!(
        other.validation.source_indices(),
        mnist.validation.source_indices()
    );
}

/// An independent Python SplitMix64 (stream mixing, Lemire bounded draws, Fisher-Yates) that
/// prints the validation indices of the official test set for the seed in `argv[1]`.
const PYTHON_VALIDATION_SPLIT: &str = r#"
import sys
M = (1 << 64) - 1
GAMMA = 0x9E3779B97F4A7C15
def mix(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
    return z ^ (z >> 31)
class Rng:
    def __init__(self, seed, stream):
        self.state = mix(seed ^ mix((stream + GAMMA) & M))
    def next(self):
        self.state = (self.state + GAMMA) & M
        return mix(self.state)
    def below(self, bound):
        product = self.next() * bound
        if (product & M) < bound:
            threshold = ((1 << 64) - bound) % bound
            while (product & M) < threshold:
                product = self.next() * bound
        return product >> 64
rng = Rng(int(sys.argv[1]), M)
values = list(range(10000))
for i in range(len(values) - 1, 0, -1):
    j = rng.below(i + 1)
    values[i], values[j] = values[j], values[i]
print(" ".join(map(str, sorted(values[:5000]))))
"#;

#[test]
fn real_split_matches_python_reimplementation() {
    // The split is fixed by its definition, so it must not drift with the platform or the Rust
    // toolchain.
    let files = real_mnist_files();
    for seed in [0_u64, 12345] {
        let mnist = Mnist::from_files(&files, Some(10), seed).unwrap();
        let output = run_python(PYTHON_VALIDATION_SPLIT, &[seed.to_string()]);
        let expected: Vec<usize> = output
            .split_whitespace()
            .map(|value| value.parse().unwrap())
            .collect();
        assert_eq!(
            mnist.validation.source_indices(),
            expected.as_slice(),
            "seed {seed}"
        );
    }
}

#[test]
fn real_subset_distinct_and_sorted() {
    let files = real_mnist_files();
    let mnist = Mnist::from_files(&files, Some(50_000), 0).unwrap();
    let indices = mnist.train.source_indices();
    assert_eq!(indices.len(), 50_000);
    assert!(indices.windows(2).all(|pair| pair[0] < pair[1]));
    assert!(*indices.last().unwrap() < 60_000);
    assert_eq!(
        mnist.validation,
        real_mnist().validation,
        "the training subset must not move the validation split"
    );
}

#[test]
fn real_batch_into_matches_file_bytes() {
    let mnist = real_mnist();
    let files = real_mnist_files();
    let raw_images = std::fs::read(&files.test_images).unwrap();
    let raw_labels = std::fs::read(&files.test_labels).unwrap();
    assert_eq!(
        &raw_images[..4],
        &[0, 0, 8, 3],
        "this test reads the bytes of an uncompressed t10k images file"
    );

    let positions = [4999_usize, 0, 17, 17, 2500];
    let mut images = vec![-1.0_f32; positions.len() * 784];
    let mut labels = vec![-1_i64; positions.len()];
    mnist.test.batch_into(&positions, &mut images, &mut labels);
    for (slot, &position) in positions.iter().enumerate() {
        let source = mnist.test.source_indices()[position];
        let offset = 16 + source * 784;
        let raw = &raw_images[offset..offset + 784];
        for (pixel, &byte) in raw.iter().enumerate() {
            let value = images[slot * 784 + pixel];
            assert_eq!(value, f32::from(byte) / 255.0, "slot {slot} pixel {pixel}");
        }
        assert_eq!(
            labels[slot],
            i64::from(raw_labels[8 + source]),
            "slot {slot}"
        );
    }
}

#[test]
fn real_loader_covers_training_set() {
    let mnist = real_mnist();
    let mut loader = BatchLoader::shuffled(&mnist.train, 256, 9);
    loader.start_epoch(3);
    let mut seen = vec![false; mnist.train.len()];
    let mut batches = 0;
    while let Some(batch) = loader.next_batch() {
        assert_eq!(batch.images.len(), batch.len() * 784);
        let first = batch.indices[0];
        assert_eq!(&batch.images[..784], mnist.train.example(first));
        assert_eq!(batch.labels[0], i64::from(mnist.train.labels()[first]));
        for &index in batch.indices {
            assert!(!seen[index], "index {index} visited twice");
            seen[index] = true;
        }
        batches += 1;
    }
    // 60000 / 256 = 234.4, so 234 full batches and one of 96.
    assert_eq!(batches, 235);
    assert!(seen.iter().all(|&visited| visited));
}

// ---------------------------------------------------------------------------------------------
// Fourier domain against numpy

/// Writes `(n, 2, side, side)` float64: numpy's centred orthonormal 2-D FFT of the float32
/// images in `argv[1]`, real then imaginary part.
const NUMPY_FFT2C: &str = r#"
import sys
import numpy as np
side = int(sys.argv[3])
x = np.fromfile(sys.argv[1], dtype="<f4").astype(np.float64).reshape(-1, side, side)
axes = (-2, -1)
k = np.fft.fftshift(np.fft.fft2(np.fft.ifftshift(x, axes=axes), norm="ortho"), axes=axes)
np.stack([k.real, k.imag], axis=1).astype("<f8").tofile(sys.argv[2])
"#;

fn numpy_fft2c(images: &[f32], side: usize) -> Vec<f64> {
    let dir = TempDir::new().unwrap();
    let input = dir.path().join("images.f32");
    let output = dir.path().join("spectra.f64");
    write_f32(&input, images);
    let args = [path_arg(&input), path_arg(&output), side.to_string()];
    run_python(NUMPY_FFT2C, &args);
    read_f64(&output)
}

fn assert_close(actual: &[f32], expected: &[f64], context: &str) {
    assert_eq!(actual.len(), expected.len(), "{context}: length");
    for (i, (&a, &e)) in actual.iter().zip(expected).enumerate() {
        // f32 products over 28 terms of values of at most 28 round to about 1e-6.
        let tolerance = 1e-5 + 1e-5 * e.abs();
        assert!(
            (f64::from(a) - e).abs() <= tolerance,
            "{context}: value {i} is {a}, numpy gives {e}"
        );
    }
}

#[test]
fn dft_matrix_matches_numpy() {
    // Column j of the matrix is the 1-D transform of the unit vector e_j.
    let script = r#"
import numpy as np
for n in (5, 7, 10, 28):
    eye = np.fft.ifftshift(np.eye(n), axes=0)
    f = np.fft.fftshift(np.fft.fft(eye, axis=0, norm="ortho"), axes=0)
    print(" ".join("%.17g" % v for v in np.concatenate([f.real.ravel(), f.imag.ravel()])))
"#;
    let output = run_python(script, &[]);
    let sizes = [5_usize, 7, 10, 28];
    assert_eq!(output.lines().count(), sizes.len());
    for (line, n) in output.lines().zip(sizes) {
        let expected: Vec<f64> = line.split(' ').map(|v| v.parse().unwrap()).collect();
        let dft = CenteredDft::new(n);
        assert_close(dft.real(), &expected[..n * n], &format!("n {n} real"));
        assert_close(dft.imag(), &expected[n * n..], &format!("n {n} imag"));
    }
}

#[test]
fn real_fourier_matches_numpy() {
    let mnist = real_mnist();
    let count = 200;
    let pixels = mnist.train.examples()[..count * 784].to_vec();
    let labels = mnist.train.labels()[..count].to_vec();
    let subset = Split::new(Domain::Pixel, pixels.clone(), labels).unwrap();
    let fourier = subset.to_fourier(&CenteredDft::new(28));
    assert_eq!(fourier.examples().len(), count * 1568);
    assert_close(
        fourier.examples(),
        &numpy_fft2c(&pixels, 28),
        "training images",
    );
}

#[test]
fn odd_side_fourier_matches_numpy() {
    let side = 7;
    let images: Vec<f32> = (0..3 * side * side)
        .map(|i| ((i * 13) % 17) as f32 / 17.0)
        .collect();
    let spectra = CenteredDft::new(side).forward_real_batch(&images);
    assert_close(&spectra, &numpy_fft2c(&images, side), "7 x 7 images");
}
