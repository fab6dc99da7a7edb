//! The MNIST data set and its training, validation and test splits.
//!
//! Splits follow the MNIST experiment of Huijben, Veeling and van Sloun, "Deep Probabilistic
//! Subsampling", ICLR 2020. The classifier trains on the 60,000 official training images or a
//! subset of them. The 10,000 official test images are divided into 5,000 validation and 5,000
//! test images by a seeded permutation. The paper reports 50,000 training images without saying
//! which; `train_subset: 50000` reproduces that count with a random choice of images.
//!
//! - Validation and test: [`SplitMix64::for_stream`]`(split_seed, VALIDATION_TEST_STREAM)`
//!   permutes `0..n_test`. The first `n_test / 2` entries form the validation split and the rest
//!   the test split. The training subset does not change this split.
//! - Training subset of `n` images: the first `n` entries of a permutation of `0..60000` drawn
//!   from the stream `TRAIN_SUBSET_STREAM` of the same seed, so the subset is a uniform random
//!   sample rather than the first `n` images of the file.
//! - Every split keeps its examples in ascending order of their index in the official file
//!   ([`Split::source_indices`]); training order is the business of [`crate::data::BatchLoader`].
//!
//! Pixels are `u8 as f32 / 255.0`, row-major 28 x 28; see [`crate::data`] for the layout of the
//! Fourier domain.

use std::path::{Path, PathBuf};
use std::time::Instant;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::fourier::CenteredDft;
use super::idx::{self, IdxImages};
use super::{DataError, SplitMix64};

/// Side length of an MNIST image.
pub const IMAGE_SIDE: usize = 28;

/// Pixels per image, the number of candidate samples N in both domains.
pub const PIXELS: usize = IMAGE_SIDE * IMAGE_SIDE;

/// Number of digit classes.
pub const NUM_CLASSES: usize = 10;

/// Seed of the validation/test split when none is configured.
pub const DEFAULT_SPLIT_SEED: u64 = 0;

/// Stream of the split seed that permutes the official test set. Batch loaders use the streams
/// `0, 1, 2, ...` for their epochs, so the split streams sit at the top of the range.
const VALIDATION_TEST_STREAM: u64 = u64::MAX;

/// Stream of the split seed that selects the training subset.
const TRAIN_SUBSET_STREAM: u64 = u64::MAX - 1;

/// File names of the four official files, without the optional `.gz`.
const TRAIN_IMAGES: &str = "train-images-idx3-ubyte";
const TRAIN_LABELS: &str = "train-labels-idx1-ubyte";
const TEST_IMAGES: &str = "t10k-images-idx3-ubyte";
const TEST_LABELS: &str = "t10k-labels-idx1-ubyte";

/// Representation of the examples of a split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Domain {
    /// Pixels in `[0, 1]`, `(28, 28)` per example.
    Pixel,
    /// Real then imaginary part of the centred orthonormal 2-D DFT, `(2, 28, 28)` per example.
    Fourier,
}

impl Domain {
    /// Number of `f32` values per example.
    pub fn features(self) -> usize {
        match self {
            Domain::Pixel => PIXELS,
            Domain::Fourier => 2 * PIXELS,
        }
    }
}

/// Source files and split settings of MNIST, as read from YAML or JSON.
///
/// Either `dir` (a folder with the four official files, each plain or with `.gz`) or all four
/// file paths must be set, not both.
///
/// ```yaml
/// dir: data/mnist
/// train_subset: 50000
/// split_seed: 0
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MnistConfig {
    /// Folder that contains the four official files.
    #[serde(default)]
    pub dir: Option<PathBuf>,
    /// Path of `train-images-idx3-ubyte[.gz]`.
    #[serde(default)]
    pub train_images: Option<PathBuf>,
    /// Path of `train-labels-idx1-ubyte[.gz]`.
    #[serde(default)]
    pub train_labels: Option<PathBuf>,
    /// Path of `t10k-images-idx3-ubyte[.gz]`.
    #[serde(default)]
    pub test_images: Option<PathBuf>,
    /// Path of `t10k-labels-idx1-ubyte[.gz]`.
    #[serde(default)]
    pub test_labels: Option<PathBuf>,
    /// Number of training images to keep, drawn at random with `split_seed`; all when unset.
    #[serde(default)]
    pub train_subset: Option<usize>,
    /// Seed of the validation/test split and of the training subset.
    #[serde(default)]
    pub split_seed: u64,
}

impl MnistConfig {
    /// Configuration that reads a folder and keeps every training image.
    pub fn from_dir(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: Some(dir.into()),
            train_images: None,
            train_labels: None,
            test_images: None,
            test_labels: None,
            train_subset: None,
            split_seed: DEFAULT_SPLIT_SEED,
        }
    }

    /// Resolves the configured folder or paths into the four files.
    ///
    /// # Errors
    ///
    /// [`DataError::InvalidConfig`] when both or neither of `dir` and the paths are set, or only
    /// some of the paths; [`DataError::MissingFile`] when `dir` lacks a file.
    pub fn files(&self) -> Result<MnistFiles, DataError> {
        let paths = [
            ("train_images", &self.train_images),
            ("train_labels", &self.train_labels),
            ("test_images", &self.test_images),
            ("test_labels", &self.test_labels),
        ];
        let any_path = paths.iter().any(|(_, path)| path.is_some());

        match (&self.dir, any_path) {
            (Some(_), true) => Err(DataError::InvalidConfig {
                field: "dir",
                reason: "set either `dir` or the four file paths, not both".to_string(),
            }),
            (Some(dir), false) => MnistFiles::find(dir),
            (None, false) => Err(DataError::InvalidConfig {
                field: "dir",
                reason: "missing: set `dir` to the folder with the MNIST files, or set \
                         train_images, train_labels, test_images and test_labels"
                    .to_string(),
            }),
            (None, true) => {
                if let Some((field, _)) = paths.iter().find(|(_, path)| path.is_none()) {
                    return Err(DataError::InvalidConfig {
                        field,
                        reason: "missing: without `dir`, all four file paths are required"
                            .to_string(),
                    });
                }
                let path = |value: &Option<PathBuf>| value.clone().unwrap_or_default();
                Ok(MnistFiles {
                    train_images: path(&self.train_images),
                    train_labels: path(&self.train_labels),
                    test_images: path(&self.test_images),
                    test_labels: path(&self.test_labels),
                })
            }
        }
    }
}

/// Paths of the four MNIST files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MnistFiles {
    pub train_images: PathBuf,
    pub train_labels: PathBuf,
    pub test_images: PathBuf,
    pub test_labels: PathBuf,
}

impl MnistFiles {
    /// Finds the four official files in `dir`, each as named upstream or with `.gz` appended.
    /// The plain file wins when both exist.
    ///
    /// # Errors
    ///
    /// [`DataError::MissingFile`] for the first file found in neither form.
    pub fn find(dir: &Path) -> Result<Self, DataError> {
        let find = |name: &'static str| -> Result<PathBuf, DataError> {
            let plain = dir.join(name);
            if plain.is_file() {
                return Ok(plain);
            }
            let compressed = dir.join(format!("{name}.gz"));
            if compressed.is_file() {
                return Ok(compressed);
            }
            Err(DataError::MissingFile {
                dir: dir.to_path_buf(),
                name,
            })
        };
        Ok(Self {
            train_images: find(TRAIN_IMAGES)?,
            train_labels: find(TRAIN_LABELS)?,
            test_images: find(TEST_IMAGES)?,
            test_labels: find(TEST_LABELS)?,
        })
    }
}

/// One split of a data set: examples in one contiguous buffer, with their labels.
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    domain: Domain,
    /// `(len, domain.features())`, row-major.
    examples: Vec<f32>,
    labels: Vec<u8>,
    source_indices: Vec<usize>,
}

impl Split {
    /// Creates a split from examples of `domain` (`(labels.len(), domain.features())`,
    /// row-major) and their labels; the source indices are `0..labels.len()`.
    ///
    /// # Errors
    ///
    /// [`DataError::SplitShape`] when the number of values does not match the labels,
    /// [`DataError::LabelOutOfRange`] for a label above 9.
    pub fn new(domain: Domain, examples: Vec<f32>, labels: Vec<u8>) -> Result<Self, DataError> {
        let features = domain.features();
        if Some(examples.len()) != labels.len().checked_mul(features) {
            return Err(DataError::SplitShape {
                values: examples.len(),
                labels: labels.len(),
                features,
            });
        }
        if let Some((index, &label)) = labels
            .iter()
            .enumerate()
            .find(|(_, &label)| usize::from(label) >= NUM_CLASSES)
        {
            return Err(DataError::LabelOutOfRange {
                path: PathBuf::from("<in memory>"),
                index,
                label,
            });
        }
        Ok(Split {
            domain,
            examples,
            source_indices: (0..labels.len()).collect(),
            labels,
        })
    }

    /// Number of examples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the split has no examples.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Representation of the examples.
    pub fn domain(&self) -> Domain {
        self.domain
    }

    /// Number of `f32` values per example: 784 for pixels, 1568 for the Fourier domain.
    pub fn features(&self) -> usize {
        self.domain.features()
    }

    /// All examples, `(len, features)` row-major.
    pub fn examples(&self) -> &[f32] {
        &self.examples
    }

    /// All labels, digits `0..=9`.
    pub fn labels(&self) -> &[u8] {
        &self.labels
    }

    /// Index of each example in its official file (training or t10k), ascending.
    pub fn source_indices(&self) -> &[usize] {
        &self.source_indices
    }

    /// Returns the values of example `index`.
    ///
    /// # Panics
    ///
    /// Panics if `index >= len`.
    pub fn example(&self, index: usize) -> &[f32] {
        let features = self.features();
        &self.examples[index * features..(index + 1) * features]
    }

    /// Copies the examples and labels at `indices` into caller-provided buffers, in order.
    ///
    /// `images` receives `(indices.len(), features)` values and `labels` one class index per
    /// example. Nothing is allocated, so a training loop can reuse its buffers for every batch.
    ///
    /// # Panics
    ///
    /// Panics if an index is out of range, if `images.len() != indices.len() * features`, or if
    /// `labels.len() != indices.len()`.
    pub fn batch_into(&self, indices: &[usize], images: &mut [f32], labels: &mut [i64]) {
        let features = self.features();
        assert_eq!(
            images.len(),
            indices.len() * features,
            "images buffer must hold indices.len() * {features} values"
        );
        assert_eq!(
            labels.len(),
            indices.len(),
            "labels buffer must hold indices.len() values"
        );
        for ((&index, image), label) in indices
            .iter()
            .zip(images.chunks_exact_mut(features))
            .zip(labels.iter_mut())
        {
            image.copy_from_slice(self.example(index));
            *label = i64::from(self.labels[index]);
        }
    }

    /// Transforms every image into the Fourier domain (real then imaginary part of the centred
    /// orthonormal 2-D DFT), in parallel over images.
    ///
    /// # Panics
    ///
    /// Panics if the split is already in the Fourier domain or `dft` is not of side 28.
    pub fn to_fourier(&self, dft: &CenteredDft) -> Split {
        assert_eq!(
            self.domain,
            Domain::Pixel,
            "split is already in the Fourier domain"
        );
        assert_eq!(dft.len(), IMAGE_SIDE, "MNIST needs the 28 x 28 DFT");
        Split {
            domain: Domain::Fourier,
            examples: dft.forward_real_batch(&self.examples),
            labels: self.labels.clone(),
            source_indices: self.source_indices.clone(),
        }
    }

    /// Gathers the images and labels at `source_indices` (ascending) into a pixel-domain split.
    fn gather(images: &IdxImages, labels: &[u8], source_indices: Vec<usize>) -> Split {
        let mut examples = vec![0.0_f32; source_indices.len() * PIXELS];
        examples
            .par_chunks_exact_mut(PIXELS)
            .zip(source_indices.par_iter())
            .for_each(|(example, &index)| {
                let pixels = &images.pixels[index * PIXELS..(index + 1) * PIXELS];
                for (value, &pixel) in example.iter_mut().zip(pixels) {
                    *value = f32::from(pixel) / 255.0;
                }
            });
        Split {
            domain: Domain::Pixel,
            examples,
            labels: source_indices.iter().map(|&index| labels[index]).collect(),
            source_indices,
        }
    }
}

/// MNIST split into training, validation and test sets.
#[derive(Debug, Clone, PartialEq)]
pub struct Mnist {
    /// The official training images, or the configured subset of them.
    pub train: Split,
    /// Half of the official test images, for model selection and early stopping.
    pub validation: Split,
    /// The other half of the official test images.
    pub test: Split,
}

impl Mnist {
    /// Loads the four official files from `dir` with every training image and the default
    /// split seed ([`DEFAULT_SPLIT_SEED`]).
    ///
    /// # Errors
    ///
    /// The errors of [`Mnist::from_config`].
    pub fn load(dir: impl AsRef<Path>) -> Result<Self, DataError> {
        Self::from_config(&MnistConfig::from_dir(dir.as_ref()))
    }

    /// Loads and splits MNIST as configured.
    ///
    /// # Errors
    ///
    /// The errors of [`MnistConfig::files`] and [`Mnist::from_files`].
    pub fn from_config(config: &MnistConfig) -> Result<Self, DataError> {
        let files = config.files()?;
        Self::from_files(&files, config.train_subset, config.split_seed)
    }

    /// Loads the four files and splits them (module docs).
    ///
    /// # Errors
    ///
    /// Any error of reading the IDX files ([`idx::read_images`], [`idx::read_labels`]);
    /// [`DataError::WrongImageSize`] for images other than 28 x 28;
    /// [`DataError::CountMismatch`] when an image file and its label file disagree;
    /// [`DataError::InvalidConfig`] when `train_subset` is 0 or exceeds the training images.
    pub fn from_files(
        files: &MnistFiles,
        train_subset: Option<usize>,
        split_seed: u64,
    ) -> Result<Self, DataError> {
        let started = Instant::now();
        let (train_images, train_labels) = read_pair(&files.train_images, &files.train_labels)?;
        let (test_images, test_labels) = read_pair(&files.test_images, &files.test_labels)?;

        let train_indices = train_subset_indices(train_images.count, train_subset, split_seed)?;
        let (validation_indices, test_indices) =
            validation_test_indices(test_images.count, split_seed);

        let mnist = Mnist {
            train: Split::gather(&train_images, &train_labels, train_indices),
            validation: Split::gather(&test_images, &test_labels, validation_indices),
            test: Split::gather(&test_images, &test_labels, test_indices),
        };
        tracing::info!(
            train = mnist.train.len(),
            validation = mnist.validation.len(),
            test = mnist.test.len(),
            split_seed,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "loaded MNIST"
        );
        Ok(mnist)
    }

    /// Transforms all three splits into the Fourier domain.
    ///
    /// # Panics
    ///
    /// Panics if the splits are already in the Fourier domain.
    pub fn to_fourier(&self) -> Mnist {
        let started = Instant::now();
        let dft = CenteredDft::new(IMAGE_SIDE);
        let mnist = Mnist {
            train: self.train.to_fourier(&dft),
            validation: self.validation.to_fourier(&dft),
            test: self.test.to_fourier(&dft),
        };
        tracing::info!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            "transformed MNIST to the Fourier domain"
        );
        mnist
    }
}

/// Reads an image file and its label file and checks that they match.
fn read_pair(images_path: &Path, labels_path: &Path) -> Result<(IdxImages, Vec<u8>), DataError> {
    let images = idx::read_images(images_path)?;
    if (images.rows, images.cols) != (IMAGE_SIDE, IMAGE_SIDE) {
        return Err(DataError::WrongImageSize {
            path: images_path.to_path_buf(),
            rows: images.rows,
            cols: images.cols,
            expected_rows: IMAGE_SIDE,
            expected_cols: IMAGE_SIDE,
        });
    }
    let labels = idx::read_labels(labels_path)?;
    if labels.len() != images.count {
        return Err(DataError::CountMismatch {
            images_path: images_path.to_path_buf(),
            labels_path: labels_path.to_path_buf(),
            images: images.count,
            labels: labels.len(),
        });
    }
    tracing::debug!(
        images = %images_path.display(),
        labels = %labels_path.display(),
        count = images.count,
        "read IDX pair"
    );
    Ok((images, labels))
}

/// Ascending indices of the training images to keep.
fn train_subset_indices(
    available: usize,
    subset: Option<usize>,
    seed: u64,
) -> Result<Vec<usize>, DataError> {
    let Some(size) = subset else {
        return Ok((0..available).collect());
    };
    if size == 0 || size > available {
        return Err(DataError::InvalidConfig {
            field: "train_subset",
            reason: format!("{size} is outside 1..={available}, the training images available"),
        });
    }
    let mut indices = SplitMix64::for_stream(seed, TRAIN_SUBSET_STREAM).permutation(available);
    indices.truncate(size);
    indices.sort_unstable();
    Ok(indices)
}

/// Ascending indices of the validation and the test images within the official test set.
fn validation_test_indices(test_count: usize, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let permutation = SplitMix64::for_stream(seed, VALIDATION_TEST_STREAM).permutation(test_count);
    let (validation, test) = permutation.split_at(test_count / 2);
    let mut validation = validation.to_vec();
    let mut test = test.to_vec();
    validation.sort_unstable();
    test.sort_unstable();
    (validation, test)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_test_halves_cover_everything() {
        let (validation, test) = validation_test_indices(11, 4);
        assert_eq!(validation.len(), 5);
        assert_eq!(test.len(), 6);
        let mut all: Vec<usize> = validation.iter().chain(&test).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..11).collect::<Vec<_>>());
    }

    #[test]
    fn subset_is_sorted_and_distinct() {
        let indices = train_subset_indices(100, Some(30), 9).unwrap();
        assert_eq!(indices.len(), 30);
        assert!(indices.windows(2).all(|pair| pair[0] < pair[1]));
        assert_ne!(indices, (0..30).collect::<Vec<_>>());
    }

    #[test]
    fn subset_rejects_zero_and_too_many() {
        assert!(matches!(
            train_subset_indices(100, Some(0), 0),
            Err(DataError::InvalidConfig {
                field: "train_subset",
                ..
            })
        ));
        assert!(matches!(
            train_subset_indices(100, Some(101), 0),
            Err(DataError::InvalidConfig {
                field: "train_subset",
                ..
            })
        ));
    }

    #[test]
    fn full_subset_keeps_file_order() {
        assert_eq!(
            train_subset_indices(5, Some(5), 3).unwrap(),
            vec![0, 1, 2, 3, 4]
        );
        assert_eq!(
            train_subset_indices(5, None, 3).unwrap(),
            vec![0, 1, 2, 3, 4]
        );
    }

    #[test]
    fn config_rejects_dir_and_paths() {
        let mut config = MnistConfig::from_dir("somewhere");
        config.test_labels = Some("labels".into());
        assert!(matches!(
            config.files(),
            Err(DataError::InvalidConfig { field: "dir", .. })
        ));
    }

    #[test]
    fn config_names_first_missing_path() {
        let config = MnistConfig {
            dir: None,
            train_images: Some("a".into()),
            train_labels: Some("b".into()),
            test_images: None,
            test_labels: Some("d".into()),
            train_subset: None,
            split_seed: 0,
        };
        assert!(matches!(
            config.files(),
            Err(DataError::InvalidConfig {
                field: "test_images",
                ..
            })
        ));
    }
}
