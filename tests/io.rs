//! End-to-end tests of the file formats on files written by h5py (tests/fixtures.py), by
//! Debian's `bart`, and on the real k-space files of the data folder.
//!
//! Reference values come from the other side: h5py dumps every slice it reads as raw bytes,
//! and BART reads, transforms and writes arrays. Both are needed; a missing tool fails the
//! test with instructions.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use dps::io::{
    convert, inspect, read_cfl, read_cfl_dims, write_cfl, write_kspace_file, write_reconstruction,
    AttributeValue, ConvertOptions, FastMriFile, Geometry, GeometrySource, IoError,
    KspaceFileOptions, ReconstructionWriter, StoredMask,
};
use dps::Complex32;
use ndarray::{s, Array2, Array3, Array4, ArrayD, ArrayView3, Axis, IxDyn, ShapeBuilder};

// ---------------------------------------------------------------------------------------------
// Tools and files

fn python() -> PathBuf {
    let path = std::env::var_os("DPS_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME").expect("HOME is not set");
            Path::new(&home).join(".cache/dps/libtorch-2.13.0/bin/python")
        });
    assert!(
        path.exists(),
        "Python with numpy and h5py not found at {}; run scripts/setup.sh or set DPS_PYTHON",
        path.display()
    );
    path
}

fn bart() -> PathBuf {
    let path = std::env::var_os("DPS_BART")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/bart"));
    assert!(
        path.exists(),
        "BART not found at {}; install Debian's `bart` package or set DPS_BART",
        path.display()
    );
    path
}

fn fixtures_py() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures.py")
}

/// Runs `fixtures.py` with `args` and returns its standard output.
fn run_fixtures(args: &[&std::ffi::OsStr]) -> String {
    let output = Command::new(python())
        .arg(fixtures_py())
        .args(args)
        .output()
        .expect("failed to start Python");
    assert!(
        output.status.success(),
        "fixtures.py {args:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("fixtures.py printed invalid UTF-8")
}

/// Runs BART with `args` in `folder` and returns its standard output.
fn run_bart(folder: &Path, args: &[&str]) -> String {
    let output = Command::new(bart())
        .args(args)
        .current_dir(folder)
        .output()
        .expect("failed to start bart");
    assert!(
        output.status.success(),
        "bart {args:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Folder of the h5py fixtures and their dumps, written once per test run.
fn fixtures() -> &'static Path {
    static FOLDER: OnceLock<PathBuf> = OnceLock::new();
    FOLDER.get_or_init(|| {
        let folder = Path::new(env!("CARGO_TARGET_TMPDIR")).join("io-fixtures");
        if folder.exists() {
            std::fs::remove_dir_all(&folder).expect("cannot clear the fixture folder");
        }
        run_fixtures(&["write".as_ref(), folder.as_os_str()]);
        folder
    })
}

fn fixture(name: &str) -> PathBuf {
    fixtures().join(name)
}

fn mri_data() -> PathBuf {
    let root = std::env::var_os("DPS_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data"));
    let folder = root.join("mri");
    assert!(
        folder.join("phantom_gre_2coil.h5").exists(),
        "real MRI files not found in {}; set DPS_DATA_DIR to the data folder. The files are \
         phantom_gre_2coil.h5 (twixtools 0.24 sdist gre.dat via `bart twixread -A`), \
         brain_t2_4coil.h5 (gpuNUFFT img_brain_4ch.mat) and brain_8coil_poisson_x8.h5 \
         (sigpy-mri-tutorial cartesian_ksp.npy), in fastMRI layout",
        folder.display()
    );
    folder
}

fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("cannot create a temporary folder")
}

// ---------------------------------------------------------------------------------------------
// h5py dumps

fn dump_path(folder: &Path, stem: &str, dataset: &str, index: usize) -> PathBuf {
    folder.join(format!("{stem}.{dataset}.{index}.bin"))
}

fn read_bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()))
}

fn complex_dump(path: &Path) -> Vec<Complex32> {
    read_bytes(path)
        .chunks_exact(8)
        .map(|b| {
            let re = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            let im = f32::from_le_bytes([b[4], b[5], b[6], b[7]]);
            Complex32::new(re, im)
        })
        .collect()
}

fn float_dump(path: &Path) -> Vec<f32> {
    read_bytes(path)
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

fn mask_dump(path: &Path) -> Vec<bool> {
    read_bytes(path).into_iter().map(|b| b == 1).collect()
}

/// Asserts that two sequences are equal, reporting the first difference instead of both.
fn assert_same<T: PartialEq + std::fmt::Debug>(actual: &[T], expected: &[T], what: &str) {
    assert_eq!(actual.len(), expected.len(), "{what}: length differs");
    let differing = actual.iter().zip(expected).filter(|(a, e)| a != e).count();
    if let Some(first) = actual.iter().zip(expected).position(|(a, e)| a != e) {
        panic!(
            "{what}: {differing} values differ, the first at {first}: {:?} != {:?}",
            actual[first], expected[first]
        );
    }
}

/// Checks every k-space slice, read one at a time, against h5py's dump of it.
fn check_kspace_against_dump(path: &Path, dump_folder: &Path) {
    let file = FastMriFile::open(path).unwrap();
    let stem = path.file_stem().unwrap().to_str().unwrap();
    let shape = file.shape();
    for index in 0..shape.slices {
        let slice = file.read_slice(index).unwrap();
        assert_eq!(slice.dim(), (shape.coils, shape.height, shape.width));
        let expected = complex_dump(&dump_path(dump_folder, stem, "kspace", index));
        let actual: Vec<Complex32> = slice.iter().copied().collect();
        assert_same(&actual, &expected, &format!("{stem} kspace slice {index}"));
    }
}

fn check_targets_against_dump(path: &Path, dump_folder: &Path) {
    let file = FastMriFile::open(path).unwrap();
    let stem = path.file_stem().unwrap().to_str().unwrap();
    for name in file.target_names() {
        let volume = file.read_target(name).unwrap();
        assert_eq!(volume.len_of(Axis(0)), file.shape().slices);
        for index in 0..file.shape().slices {
            let expected = float_dump(&dump_path(dump_folder, stem, name, index));
            let slice = file.read_target_slice(name, index).unwrap();
            let actual: Vec<f32> = slice.iter().copied().collect();
            assert_same(&actual, &expected, &format!("{stem} {name} slice {index}"));
            let from_volume: Vec<f32> = volume.index_axis(Axis(0), index).iter().copied().collect();
            assert_same(
                &from_volume,
                &expected,
                &format!("{stem} {name} volume slice {index}"),
            );
        }
    }
}

fn mask_values(mask: &StoredMask) -> Vec<bool> {
    match mask {
        StoredMask::Columns(columns) => columns.clone(),
        StoredMask::Grid(grid) => grid.iter().copied().collect(),
    }
}

// ---------------------------------------------------------------------------------------------
// Reading the h5py fixtures

#[test]
fn knee_singlecoil_metadata() {
    let file = FastMriFile::open(fixture("knee_singlecoil.h5")).unwrap();
    let shape = file.shape();
    assert_eq!(
        (shape.slices, shape.coils, shape.height, shape.width),
        (2, 1, 640, 372)
    );
    assert!(!shape.is_multicoil);

    let geometry = file.geometry();
    assert_eq!(geometry.encoded_size, [640, 372, 1]);
    assert_eq!(geometry.recon_size, [320, 320, 1]);
    // W_enc / 2 - center = 186 - 168; padding_left + maximum + 1 = 18 + 334.
    assert_eq!(geometry.padding_left, 18);
    assert_eq!(geometry.padding_right, 352);
    assert_eq!(geometry.source, GeometrySource::Header);
    assert!(file
        .ismrmrd_header()
        .unwrap()
        .contains("<systemVendor>SIEMENS"));

    assert_eq!(
        file.target_names(),
        ["reconstruction_esc", "reconstruction_rss"]
    );
    assert!(file.read_mask().unwrap().is_none());
}

#[test]
fn knee_singlecoil_attributes() {
    let file = FastMriFile::open(fixture("knee_singlecoil.h5")).unwrap();
    let attributes = file.attributes();
    assert_eq!(attributes.acquisition.as_deref(), Some("CORPD_FBK"));
    assert_eq!(attributes.patient_id.as_deref(), Some("knee-patient-7"));
    assert_eq!(attributes.acceleration, None);

    let esc = file.read_target("reconstruction_esc").unwrap();
    let max = esc.iter().fold(f32::MIN, |m, &v| m.max(v));
    let norm = esc
        .iter()
        .map(|&v| f64::from(v).powi(2))
        .sum::<f64>()
        .sqrt();
    assert_eq!(attributes.max, Some(f64::from(max)));
    let stored_norm = attributes.norm.unwrap();
    assert!(
        (stored_norm - norm).abs() < 1e-5 * norm,
        "{stored_norm} vs {norm}"
    );

    let all = &attributes.all;
    assert_eq!(
        all["custom_list"],
        AttributeValue::FloatList(vec![1.5, 2.5])
    );
    assert_eq!(all["flag"], AttributeValue::Bool(true));
    assert_eq!(all["count"], AttributeValue::Integer(12));
    assert_eq!(all["acquisition"], AttributeValue::Text("CORPD_FBK".into()));
}

#[test]
fn knee_singlecoil_values_match_h5py() {
    check_kspace_against_dump(&fixture("knee_singlecoil.h5"), fixtures());
    check_targets_against_dump(&fixture("knee_singlecoil.h5"), fixtures());
    let slice = FastMriFile::open(fixture("knee_singlecoil.h5"))
        .unwrap()
        .read_slice(0)
        .unwrap();
    let padding = slice.slice(s![.., .., ..18]);
    assert!(padding.iter().all(|v| *v == Complex32::new(0.0, 0.0)));
}

#[test]
fn multicoil_read_slice_by_slice() {
    let file = FastMriFile::open(fixture("multicoil.h5")).unwrap();
    let shape = file.shape();
    assert_eq!(
        (shape.slices, shape.coils, shape.height, shape.width),
        (5, 4, 64, 48)
    );
    assert!(shape.is_multicoil);
    assert_eq!(file.geometry().recon_size, [32, 32, 1]);
    assert_eq!(
        (file.geometry().padding_left, file.geometry().padding_right),
        (0, 48)
    );
    check_kspace_against_dump(&fixture("multicoil.h5"), fixtures());
    check_targets_against_dump(&fixture("multicoil.h5"), fixtures());
}

#[test]
fn test_file_with_column_mask() {
    let file = FastMriFile::open(fixture("test_mask1d.h5")).unwrap();
    assert!(file.target_names().is_empty());
    assert_eq!(file.attributes().acceleration, Some(4.0));
    assert_eq!(file.attributes().num_low_frequency, Some(3));
    let Some(StoredMask::Columns(columns)) = file.read_mask().unwrap() else {
        panic!("expected a column mask");
    };
    let expected = mask_dump(&dump_path(fixtures(), "test_mask1d", "mask", 0));
    assert_same(&columns, &expected, "bool column mask");
    assert_eq!(columns.iter().filter(|&&c| c).count(), 8);
    check_kspace_against_dump(&fixture("test_mask1d.h5"), fixtures());
}

#[test]
fn uint8_and_float_masks() {
    for stem in ["mask_uint8", "mask_float"] {
        let file = FastMriFile::open(fixture(&format!("{stem}.h5"))).unwrap();
        let mask = file.read_mask().unwrap().expect("mask present");
        assert!(matches!(mask, StoredMask::Columns(_)), "{stem}");
        let expected = mask_dump(&dump_path(fixtures(), stem, "mask", 0));
        assert_same(&mask_values(&mask), &expected, stem);
        assert_eq!(mask.sampled_count(), 8, "{stem}");
    }
}

#[test]
fn grid_mask() {
    let file = FastMriFile::open(fixture("mask2d.h5")).unwrap();
    let Some(StoredMask::Grid(grid)) = file.read_mask().unwrap() else {
        panic!("expected a 2-D mask");
    };
    assert_eq!(grid.dim(), (16, 20));
    let expected = mask_dump(&dump_path(fixtures(), "mask2d", "mask", 0));
    assert_same(
        &grid.iter().copied().collect::<Vec<_>>(),
        &expected,
        "grid mask",
    );
}

#[test]
fn compound_variants_match_h5py() {
    for stem in ["real_imag", "float64_members", "real_imag_f64"] {
        check_kspace_against_dump(&fixture(&format!("{stem}.h5")), fixtures());
    }
    let shape = FastMriFile::open(fixture("float64_members.h5"))
        .unwrap()
        .shape();
    assert_eq!((shape.slices, shape.coils), (2, 2));
}

#[test]
fn fixed_length_headers() {
    for name in ["fixed_header.h5", "fixed_header_utf8.h5"] {
        let file = FastMriFile::open(fixture(name)).unwrap();
        assert_eq!(file.geometry().recon_size, [10, 12, 1], "{name}");
        assert_eq!(file.geometry().source, GeometrySource::Header, "{name}");
        assert!(
            file.ismrmrd_header().unwrap().starts_with("<?xml"),
            "{name}"
        );
        assert!(
            file.ismrmrd_header()
                .unwrap()
                .trim_end()
                .ends_with("</ismrmrdHeader>"),
            "{name}"
        );
    }
}

#[test]
fn files_without_header() {
    let file = FastMriFile::open(fixture("no_header.h5")).unwrap();
    let geometry = file.geometry();
    assert_eq!(geometry.source, GeometrySource::Shapes);
    assert_eq!(geometry.encoded_size, [40, 30, 1]);
    assert_eq!(geometry.recon_size, [30, 30, 1]);
    assert_eq!((geometry.padding_left, geometry.padding_right), (0, 30));
    check_kspace_against_dump(&fixture("no_header.h5"), fixtures());

    let with_target = FastMriFile::open(fixture("no_header_target.h5")).unwrap();
    assert_eq!(with_target.geometry().recon_size, [20, 24, 1]);
}

// ---------------------------------------------------------------------------------------------
// Rejected files

fn open_error(name: &str) -> (IoError, String) {
    let err = FastMriFile::open(fixture(name)).expect_err(name);
    let message = err.to_string();
    assert!(
        message.contains(name),
        "the message must name the file: {message}"
    );
    (err, message)
}

#[test]
fn int32_kspace_is_rejected() {
    let (err, message) = open_error("int32_kspace.h5");
    assert!(
        matches!(&err, IoError::UnsupportedType { dataset, found, .. }
        if dataset == "kspace" && found == "int32"),
        "{err:?}"
    );
    assert!(message.contains("complex64"), "{message}");
}

#[test]
fn two_dimensional_kspace_is_rejected() {
    let (err, message) = open_error("kspace_2d.h5");
    assert!(
        matches!(&err, IoError::InvalidShape { dataset, found, .. }
        if dataset == "kspace" && found == &[16, 12]),
        "{err:?}"
    );
    assert!(message.contains("(16, 12)"), "{message}");
    assert!(message.contains("(slices, coils, H, W)"), "{message}");
}

#[test]
fn compound_with_other_members_is_rejected() {
    let (err, _) = open_error("other_members.h5");
    assert!(
        matches!(&err, IoError::UnsupportedType { found, .. }
        if found == "compound {x: float32, y: float32}"),
        "{err:?}"
    );
}

#[test]
fn missing_kspace_is_rejected() {
    let (err, message) = open_error("missing_kspace.h5");
    assert!(matches!(&err, IoError::MissingDataset { dataset, .. } if dataset == "kspace"));
    assert!(message.contains("reconstruction_rss"), "{message}");
}

#[test]
fn unreadable_files_are_rejected() {
    let cases = [
        ("empty.h5", "empty"),
        ("text.h5", "not an HDF5 file"),
        ("truncated.h5", "truncated"),
        ("no_such_file.h5", "No such file"),
    ];
    for (name, reason_part) in cases {
        let (err, message) = open_error(name);
        assert!(matches!(err, IoError::Open { .. }), "{name}: {err:?}");
        assert!(message.contains(reason_part), "{name}: {message}");
    }
}

#[test]
fn non_finite_slices_are_rejected() {
    let file = FastMriFile::open(fixture("nan_slice.h5")).unwrap();
    assert!(file.read_slice(0).is_ok());

    let err = file.read_slice(1).unwrap_err();
    let message = err.to_string();
    let IoError::NonFinite {
        dataset,
        slice,
        count,
        first,
        ..
    } = err
    else {
        panic!("expected NonFinite, got {err:?}");
    };
    assert_eq!((dataset.as_str(), slice, count), ("kspace", 1, 2));
    assert_eq!(first, [0, 9, 2]);
    assert!(message.contains("nan_slice.h5"), "{message}");
    assert!(message.contains("slice 1"), "{message}");

    let err = file.read_slice(2).unwrap_err();
    assert!(
        matches!(
            err,
            IoError::NonFinite {
                slice: 2,
                count: 1,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn invalid_masks_are_rejected() {
    let file = FastMriFile::open(fixture("mask_bad_values.h5")).unwrap();
    let err = file.read_mask().unwrap_err();
    assert!(matches!(err, IoError::InvalidValue { .. }), "{err:?}");
    assert!(err.to_string().contains("value 2 at flat index 5"), "{err}");

    let file = FastMriFile::open(fixture("mask_bool_raw2.h5")).unwrap();
    let err = file.read_mask().unwrap_err();
    assert!(matches!(err, IoError::InvalidValue { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("neither FALSE (0) nor TRUE (1) at flat index 3"),
        "{err}"
    );

    let file = FastMriFile::open(fixture("mask_bad_shape.h5")).unwrap();
    let err = file.read_mask().unwrap_err();
    assert!(
        matches!(&err, IoError::InvalidShape { found, .. } if found == &[23]),
        "{err:?}"
    );
    assert!(err.to_string().contains("(W,) = (24,)"), "{err}");
}

#[test]
fn invalid_targets_are_rejected() {
    let (err, message) = open_error("target_int16.h5");
    assert!(
        matches!(&err, IoError::UnsupportedType { dataset, found, .. }
        if dataset == "reconstruction_rss" && found == "int16"),
        "{err:?}"
    );
    assert!(message.contains("float32"), "{message}");

    let (err, _) = open_error("target_slices.h5");
    assert!(
        matches!(&err, IoError::InvalidShape { found, .. } if found == &[3, 8, 8]),
        "{err:?}"
    );
}

#[test]
fn invalid_header_is_rejected() {
    let (err, message) = open_error("bad_header.h5");
    assert!(matches!(err, IoError::InvalidHeader { .. }), "{err:?}");
    assert!(
        message.contains("encoding/encodedSpace/matrixSize/x"),
        "{message}"
    );
}

#[test]
fn out_of_range_reads_are_rejected() {
    let file = FastMriFile::open(fixture("multicoil.h5")).unwrap();
    let err = file.read_slice(5).unwrap_err();
    assert!(
        matches!(
            err,
            IoError::SliceOutOfRange {
                index: 5,
                slices: 5,
                ..
            }
        ),
        "{err:?}"
    );
    let err = file.read_target_slice("reconstruction_rss", 9).unwrap_err();
    assert!(
        matches!(err, IoError::SliceOutOfRange { index: 9, .. }),
        "{err:?}"
    );
    let err = file.read_target_slice("reconstruction_esc", 0).unwrap_err();
    assert!(matches!(err, IoError::MissingDataset { .. }), "{err:?}");
}

/// Opens every rejected file in a child process and checks that nothing reaches stderr, so
/// library users never see HDF5's diagnostic stack.
#[test]
fn errors_print_nothing_to_stderr() {
    let fixture_folder = fixtures();
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "open_rejected_files_in_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("DPS_IO_CHILD_FIXTURES", fixture_folder)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "child failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("opened 12 rejected files"),
        "child did not run:\n{stdout}"
    );
    assert!(
        !stderr.contains("HDF5-DIAG"),
        "HDF5 printed to stderr:\n{stderr}"
    );
    assert!(stderr.trim().is_empty(), "unexpected stderr:\n{stderr}");
}

#[test]
fn open_rejected_files_in_child() {
    let Some(folder) = std::env::var_os("DPS_IO_CHILD_FIXTURES") else {
        return;
    };
    let folder = PathBuf::from(folder);
    let names = [
        "int32_kspace.h5",
        "kspace_2d.h5",
        "other_members.h5",
        "missing_kspace.h5",
        "empty.h5",
        "text.h5",
        "truncated.h5",
        "no_such_file.h5",
        "target_int16.h5",
        "target_slices.h5",
        "bad_header.h5",
        "missing_folder/file.h5",
    ];
    for name in names {
        assert!(FastMriFile::open(folder.join(name)).is_err(), "{name}");
    }
    let file = FastMriFile::open(folder.join("mask_bad_values.h5")).unwrap();
    assert!(file.read_mask().is_err());
    assert!(inspect(folder.join("text.h5")).is_err());
    println!("opened {} rejected files", names.len());
}

#[test]
fn reader_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<FastMriFile>();
    assert_send_sync::<ReconstructionWriter>();
    assert_send_sync::<IoError>();
}

/// Peak resident memory of this process in bytes (Linux `VmHWM`).
fn peak_memory() -> u64 {
    let status =
        std::fs::read_to_string("/proc/self/status").expect("cannot read /proc/self/status");
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .expect("no VmHWM line");
    let kilobytes: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kilobytes * 1024
}

/// Reads a 105 MB volume slice by slice in a child process, where no other test allocates,
/// and checks that peak memory grows by far less than the volume.
#[test]
fn slice_reads_keep_memory_bounded() {
    let folder = temp_dir();
    let path = folder.path().join("large.h5");
    run_fixtures(&["large".as_ref(), path.as_os_str()]);

    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "read_large_file_in_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("DPS_IO_CHILD_LARGE", &path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "child failed:\n{stdout}\n{stderr}");

    let growth: u64 = stdout
        .lines()
        .find_map(|l| l.split_once("peak memory growth: ").map(|(_, value)| value))
        .unwrap_or_else(|| panic!("child did not run:\n{stdout}"))
        .parse()
        .unwrap();
    let slice_bytes = 16 * 320 * 256 * 8;
    let volume_bytes = 10 * slice_bytes;
    // One slice returned, one being read and HDF5's buffers stay under three slices (the whole
    // volume is ten).
    assert!(
        growth < 3 * slice_bytes,
        "peak memory grew by {growth} bytes reading a {volume_bytes}-byte volume slice by slice"
    );
}

#[test]
fn read_large_file_in_child() {
    let Some(path) = std::env::var_os("DPS_IO_CHILD_LARGE") else {
        return;
    };
    let before = peak_memory();
    let file = FastMriFile::open(&path).unwrap();
    let mut total = 0.0f64;
    for index in 0..file.shape().slices {
        let slice = file.read_slice(index).unwrap();
        total += slice.iter().map(|v| f64::from(v.re)).sum::<f64>();
    }
    assert!(total.is_finite());
    println!("peak memory growth: {}", peak_memory() - before);
}

// ---------------------------------------------------------------------------------------------
// Real data

#[test]
fn real_phantom_gre_2coil() {
    let path = mri_data().join("phantom_gre_2coil.h5");
    let file = FastMriFile::open(&path).unwrap();
    let shape = file.shape();
    assert_eq!(
        (shape.slices, shape.coils, shape.height, shape.width),
        (1, 2, 320, 160)
    );
    assert_eq!(file.geometry().encoded_size, [320, 160, 1]);
    assert_eq!(file.geometry().recon_size, [160, 160, 1]);
    assert_eq!(
        (file.geometry().padding_left, file.geometry().padding_right),
        (0, 160)
    );
    assert_eq!(file.target_names(), ["reconstruction_rss"]);
    assert_eq!(
        file.attributes().acquisition.as_deref(),
        Some("GRE_PHANTOM")
    );

    let target = file.read_target("reconstruction_rss").unwrap();
    assert_eq!(target.dim(), (1, 160, 160));
    let max = target.iter().fold(f32::MIN, |m, &v| m.max(v));
    let stored_max = file.attributes().max.unwrap();
    assert!(
        (stored_max - f64::from(max)).abs() <= 1e-6 * stored_max,
        "{stored_max} vs {max}"
    );
}

#[test]
fn real_brain_8coil_mask() {
    let path = mri_data().join("brain_8coil_poisson_x8.h5");
    let file = FastMriFile::open(&path).unwrap();
    let shape = file.shape();
    assert_eq!(
        (shape.slices, shape.coils, shape.height, shape.width),
        (1, 8, 180, 230)
    );
    assert!(file.target_names().is_empty());
    let Some(StoredMask::Grid(grid)) = file.read_mask().unwrap() else {
        panic!("expected a 2-D mask");
    };
    assert_eq!(grid.dim(), (180, 230));
    let fraction = grid.iter().filter(|&&v| v).count() as f64 / grid.len() as f64;
    assert!(
        (fraction - 0.124).abs() < 0.005,
        "sampled fraction {fraction}"
    );
}

#[test]
fn real_files_match_h5py() {
    let dumps = temp_dir();
    for name in [
        "phantom_gre_2coil.h5",
        "brain_t2_4coil.h5",
        "brain_8coil_poisson_x8.h5",
    ] {
        let path = mri_data().join(name);
        run_fixtures(&["dump".as_ref(), path.as_os_str(), dumps.path().as_os_str()]);
        check_kspace_against_dump(&path, dumps.path());
        check_targets_against_dump(&path, dumps.path());
        let file = FastMriFile::open(&path).unwrap();
        if let Some(mask) = file.read_mask().unwrap() {
            let stem = path.file_stem().unwrap().to_str().unwrap();
            let expected = mask_dump(&dump_path(dumps.path(), stem, "mask", 0));
            assert_same(&mask_values(&mask), &expected, name);
        }
        // The shape rule for files without a header reproduces these files' reconSpace.
        let shape = file.shape();
        let from_shapes = Geometry::from_shapes(shape.height, shape.width, None);
        assert_eq!(from_shapes.recon_size, file.geometry().recon_size, "{name}");
    }
    let brain = FastMriFile::open(mri_data().join("brain_t2_4coil.h5")).unwrap();
    assert_eq!(brain.shape().coils, 4);
    assert_eq!(brain.target_names(), ["reconstruction_rss"]);
}

// ---------------------------------------------------------------------------------------------
// Reconstruction files

fn ramp_volume(slices: usize, h: usize, w: usize) -> Array3<f32> {
    Array3::from_shape_fn((slices, h, w), |(s, i, j)| {
        (s * 1000 + i * 10 + j) as f32 * 0.25 - 7.0
    })
}

fn describe(path: &Path) -> serde_json::Value {
    let text = run_fixtures(&["describe".as_ref(), path.as_os_str()]);
    serde_json::from_str(&text).expect("describe printed invalid JSON")
}

#[test]
fn reconstruction_reads_back_in_h5py() {
    let folder = temp_dir();
    let path = folder.path().join("file1000001.h5");
    let volume = ramp_volume(3, 20, 16);
    let mut writer = ReconstructionWriter::create(&path, 3, 20, 16).unwrap();
    // Out of order on purpose: slices are independent hyperslabs.
    for index in [2, 0, 1] {
        writer
            .write_slice(index, &volume.index_axis(Axis(0), index))
            .unwrap();
    }
    assert!(!path.exists(), "the final name must appear only on finish");
    assert_eq!(partial_files(folder.path()).len(), 1);
    assert_eq!(writer.finish().unwrap(), path);
    assert!(partial_files(folder.path()).is_empty());

    let description = describe(&path);
    let datasets = description["datasets"].as_object().unwrap();
    assert_eq!(datasets.len(), 1, "{description}");
    assert_eq!(datasets["reconstruction"]["dtype"], "float32");
    assert_eq!(
        datasets["reconstruction"]["shape"],
        serde_json::json!([3, 20, 16])
    );

    let dumps = temp_dir();
    run_fixtures(&["dump".as_ref(), path.as_os_str(), dumps.path().as_os_str()]);
    for index in 0..3 {
        let expected = float_dump(&dump_path(
            dumps.path(),
            "file1000001",
            "reconstruction",
            index,
        ));
        let actual: Vec<f32> = volume.index_axis(Axis(0), index).iter().copied().collect();
        assert_same(&expected, &actual, &format!("reconstruction slice {index}"));
    }
}

/// Names of the temporary `.NAME.PID-N.partial` files in `folder`.
fn partial_files(folder: &Path) -> Vec<String> {
    std::fs::read_dir(folder)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with('.') && name.ends_with(".partial"))
        .collect()
}

#[test]
fn reconstruction_volume_writer() {
    let folder = temp_dir();
    let path = folder.path().join("volume.h5");
    let volume = ramp_volume(2, 8, 6);
    write_reconstruction(&path, &volume.view()).unwrap();
    let description = describe(&path);
    assert_eq!(
        description["datasets"]["reconstruction"]["shape"],
        serde_json::json!([2, 8, 6])
    );
    // A non-contiguous view is written in logical order.
    let transposed = volume.clone().permuted_axes([0, 2, 1]);
    write_reconstruction(&path, &transposed.view()).unwrap();
    let dumps = temp_dir();
    run_fixtures(&["dump".as_ref(), path.as_os_str(), dumps.path().as_os_str()]);
    let expected = float_dump(&dump_path(dumps.path(), "volume", "reconstruction", 1));
    let actual: Vec<f32> = transposed.index_axis(Axis(0), 1).iter().copied().collect();
    assert_same(&expected, &actual, "transposed slice 1");
}

#[test]
fn interrupted_reconstruction_leaves_no_file() {
    let folder = temp_dir();
    let path = folder.path().join("out.h5");
    std::fs::write(&path, b"previous result").unwrap();
    {
        let mut writer = ReconstructionWriter::create(&path, 2, 4, 4).unwrap();
        writer
            .write_slice(0, &Array2::zeros((4, 4)).view())
            .unwrap();
        // Dropped without finish, as when a run fails between slices.
    }
    assert_eq!(std::fs::read(&path).unwrap(), b"previous result");
    assert!(partial_files(folder.path()).is_empty());

    let mut writer = ReconstructionWriter::create(&path, 3, 4, 4).unwrap();
    writer
        .write_slice(1, &Array2::zeros((4, 4)).view())
        .unwrap();
    let err = writer.finish().unwrap_err();
    assert!(
        matches!(&err, IoError::IncompleteWrite { missing, .. } if missing == &[0, 2]),
        "{err:?}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), b"previous result");
    assert!(partial_files(folder.path()).is_empty());
}

#[test]
fn reconstruction_writer_rejects_bad_slices() {
    let folder = temp_dir();
    let mut writer = ReconstructionWriter::create(folder.path().join("r.h5"), 2, 4, 5).unwrap();
    let err = writer
        .write_slice(0, &Array2::zeros((5, 4)).view())
        .unwrap_err();
    assert!(
        matches!(&err, IoError::InvalidShape { found, .. } if found == &[5, 4]),
        "{err:?}"
    );

    let err = writer
        .write_slice(2, &Array2::zeros((4, 5)).view())
        .unwrap_err();
    assert!(
        matches!(
            err,
            IoError::SliceOutOfRange {
                index: 2,
                slices: 2,
                ..
            }
        ),
        "{err:?}"
    );

    let mut with_nan = Array2::zeros((4, 5));
    with_nan[[3, 1]] = f32::NAN;
    let err = writer.write_slice(1, &with_nan.view()).unwrap_err();
    assert!(
        matches!(&err, IoError::NonFinite { first, .. } if first == &[3, 1]),
        "{err:?}"
    );

    let err = ReconstructionWriter::create(folder.path().join("z.h5"), 0, 4, 5).unwrap_err();
    assert!(matches!(err, IoError::InvalidShape { .. }), "{err:?}");
}

// ---------------------------------------------------------------------------------------------
// K-space files

fn numbered_kspace(slices: usize, coils: usize, h: usize, w: usize) -> Array4<Complex32> {
    Array4::from_shape_fn((slices, coils, h, w), |(s, c, i, j)| {
        Complex32::new(
            (s * 7 + c) as f32 + 0.5 * i as f32,
            j as f32 - 0.25 * c as f32,
        )
    })
}

#[test]
fn kspace_file_matches_h5py_types() {
    let folder = temp_dir();
    let path = folder.path().join("written.h5");
    let kspace = numbered_kspace(3, 2, 12, 10);
    let target = ramp_volume(3, 8, 8).mapv(f32::abs);
    let mut attributes = std::collections::BTreeMap::new();
    attributes.insert(
        "acquisition".to_owned(),
        AttributeValue::Text("AXT2".into()),
    );
    attributes.insert("patient_id".to_owned(), AttributeValue::Text("p-1".into()));
    attributes.insert("acceleration".to_owned(), AttributeValue::Integer(4));
    attributes.insert("flag".to_owned(), AttributeValue::Bool(true));
    attributes.insert(
        "offsets".to_owned(),
        AttributeValue::FloatList(vec![0.5, 1.5]),
    );
    attributes.insert("counts".to_owned(), AttributeValue::IntegerList(vec![3, 4]));
    attributes.insert(
        "labels".to_owned(),
        AttributeValue::TextList(vec!["a".into(), "bc".into()]),
    );
    let options = KspaceFileOptions {
        geometry: None,
        target: Some(("reconstruction_rss", target.view())),
        attributes,
        single_coil: false,
    };
    write_kspace_file(&path, kspace.view(), &options).unwrap();

    let differences = run_fixtures(&["compare".as_ref(), path.as_os_str()]);
    assert_eq!(differences.trim(), "[]", "types differ from h5py's");

    let description = describe(&path);
    let datasets = &description["datasets"];
    assert_eq!(datasets["kspace"]["dtype"], "complex64");
    assert_eq!(
        datasets["kspace"]["shape"],
        serde_json::json!([3, 2, 12, 10])
    );
    assert_eq!(datasets["reconstruction_rss"]["dtype"], "float32");
    assert_eq!(datasets["ismrmrd_header"]["type"]["variable"], true);
    let attrs = &description["attrs"];
    let max = target.iter().fold(f32::MIN, |m, &v| m.max(v));
    let norm = target
        .iter()
        .map(|&v| f64::from(v).powi(2))
        .sum::<f64>()
        .sqrt();
    assert_eq!(attrs["max"]["value"].as_f64().unwrap(), f64::from(max));
    assert!((attrs["norm"]["value"].as_f64().unwrap() - norm).abs() < 1e-9 * norm);
    assert_eq!(attrs["max"]["type"]["size"], 8);
    assert_eq!(attrs["acquisition"]["value"], "AXT2");

    let file = FastMriFile::open(&path).unwrap();
    assert_eq!(file.geometry().recon_size, [8, 8, 1]);
    let all = &file.attributes().all;
    assert_eq!(all["flag"], AttributeValue::Bool(true));
    assert_eq!(all["offsets"], AttributeValue::FloatList(vec![0.5, 1.5]));
    assert_eq!(all["counts"], AttributeValue::IntegerList(vec![3, 4]));
    assert_eq!(
        all["labels"],
        AttributeValue::TextList(vec!["a".into(), "bc".into()])
    );
    for index in 0..3 {
        assert_eq!(
            file.read_slice(index).unwrap(),
            kspace.index_axis(Axis(0), index)
        );
    }
    assert_eq!(file.read_target("reconstruction_rss").unwrap(), target);
}

#[test]
fn single_coil_kspace_file() {
    let folder = temp_dir();
    let path = folder.path().join("single.h5");
    let kspace = numbered_kspace(2, 1, 16, 12);
    let geometry = Geometry {
        encoded_size: [16, 12, 1],
        recon_size: [8, 8, 1],
        padding_left: 1,
        padding_right: 11,
        source: GeometrySource::Header,
    };
    let options = KspaceFileOptions {
        geometry: Some(geometry.clone()),
        single_coil: true,
        ..Default::default()
    };
    write_kspace_file(&path, kspace.view(), &options).unwrap();
    assert_eq!(
        describe(&path)["datasets"]["kspace"]["shape"],
        serde_json::json!([2, 16, 12])
    );
    assert_eq!(
        run_fixtures(&["compare".as_ref(), path.as_os_str()]).trim(),
        "[]"
    );
    let file = FastMriFile::open(&path).unwrap();
    assert!(!file.shape().is_multicoil);
    assert_eq!(file.geometry(), &geometry);
    assert_eq!(file.read_slice(1).unwrap(), kspace.index_axis(Axis(0), 1));

    let two_coils = numbered_kspace(1, 2, 4, 4);
    let err = write_kspace_file(&path, two_coils.view(), &options).unwrap_err();
    assert!(matches!(err, IoError::InvalidShape { .. }), "{err:?}");
}

// ---------------------------------------------------------------------------------------------
// BART

fn bart_index(parts: &[(usize, usize)]) -> Vec<usize> {
    let mut index = vec![0; 16];
    for &(dim, value) in parts {
        index[dim] = value;
    }
    index
}

#[test]
fn reads_bart_phantom() {
    let folder = temp_dir();
    run_bart(
        folder.path(),
        &["phantom", "-k", "-s", "4", "-x", "32", "ph"],
    );
    run_bart(folder.path(), &["slice", "3", "2", "ph", "coil2"]);
    run_bart(folder.path(), &["transpose", "0", "1", "ph", "swapped"]);

    let phantom = read_cfl(folder.path().join("ph")).unwrap();
    let mut expected_dims = vec![1; 16];
    expected_dims[0] = 32;
    expected_dims[1] = 32;
    expected_dims[3] = 4;
    assert_eq!(phantom.shape(), expected_dims.as_slice());
    assert!(phantom.iter().any(|v| v.norm() > 0.0));

    let coil2 = read_cfl(folder.path().join("coil2.cfl")).unwrap();
    let swapped = read_cfl(folder.path().join("swapped.hdr")).unwrap();
    for i in 0..32 {
        for j in 0..32 {
            let sample = phantom[bart_index(&[(0, i), (1, j), (3, 2)]).as_slice()];
            assert_eq!(
                coil2[bart_index(&[(0, i), (1, j)]).as_slice()],
                sample,
                "({i}, {j})"
            );
            let transposed = swapped[bart_index(&[(0, j), (1, i), (3, 2)]).as_slice()];
            assert_eq!(transposed, sample, "({i}, {j})");
        }
    }
}

#[test]
fn bart_reads_our_cfl() {
    let folder = temp_dir();
    let dims = [5, 4, 1, 3];
    let array = ArrayD::from_shape_fn(IxDyn(&dims), |index| {
        Complex32::new(
            index[0] as f32 + 10.0 * index[1] as f32,
            index[3] as f32 - 0.5,
        )
    });
    write_cfl(folder.path().join("ours"), &array.view()).unwrap();
    assert_eq!(read_cfl_dims(folder.path().join("ours")).unwrap().len(), 16);
    assert_eq!(
        run_bart(folder.path(), &["show", "-d", "0", "ours"]).trim(),
        "5"
    );
    assert_eq!(
        run_bart(folder.path(), &["show", "-d", "3", "ours"]).trim(),
        "3"
    );

    run_bart(folder.path(), &["scale", "2", "ours", "doubled"]);
    run_bart(folder.path(), &["slice", "3", "1", "ours", "coil1"]);
    let doubled = read_cfl(folder.path().join("doubled")).unwrap();
    let coil1 = read_cfl(folder.path().join("coil1")).unwrap();
    for i in 0..5 {
        for j in 0..4 {
            for c in 0..3 {
                let ours = array[[i, j, 0, c]];
                let theirs = doubled[bart_index(&[(0, i), (1, j), (3, c)]).as_slice()];
                assert_eq!(theirs, ours * 2.0, "({i}, {j}, {c})");
            }
            assert_eq!(
                coil1[bart_index(&[(0, i), (1, j)]).as_slice()],
                array[[i, j, 0, 1]]
            );
        }
    }

    // A Fortran-layout array takes the contiguous path and must give the same bytes.
    let fortran =
        ArrayD::from_shape_vec(IxDyn(&dims).f(), array.t().iter().copied().collect()).unwrap();
    assert_eq!(fortran, array);
    write_cfl(folder.path().join("fortran"), &fortran.view()).unwrap();
    let ours = std::fs::read(folder.path().join("ours.cfl")).unwrap();
    assert_eq!(
        std::fs::read(folder.path().join("fortran.cfl")).unwrap(),
        ours
    );
}

#[test]
fn invalid_cfl_files_are_rejected() {
    let folder = temp_dir();
    let array = ArrayD::from_elem(IxDyn(&[4, 4]), Complex32::new(1.0, 2.0));
    let base = folder.path().join("a");
    write_cfl(&base, &array.view()).unwrap();
    let data = folder.path().join("a.cfl");
    let bytes = std::fs::read(&data).unwrap();
    std::fs::write(&data, &bytes[..bytes.len() - 8]).unwrap();
    let err = read_cfl(&base).unwrap_err();
    assert!(
        matches!(
            err,
            IoError::CflSize {
                found: 120,
                expected: 128,
                ..
            }
        ),
        "{err:?}"
    );

    std::fs::write(folder.path().join("a.hdr"), "# Command\nones\n").unwrap();
    let err = read_cfl(&base).unwrap_err();
    assert!(matches!(err, IoError::InvalidCflHeader { .. }), "{err:?}");

    let err = read_cfl(folder.path().join("missing")).unwrap_err();
    assert!(matches!(err, IoError::File { .. }), "{err:?}");
    assert!(err.to_string().contains("missing.hdr"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Conversion

/// Stand-in target function: the coil-summed magnitude of the centre crop, enough to check
/// that `convert` passes slices and sizes and stores the result.
fn crop_magnitude(slice: ArrayView3<Complex32>, [h, w]: [usize; 2]) -> Array2<f32> {
    let (_, height, width) = slice.dim();
    let (top, left) = ((height - h) / 2, (width - w) / 2);
    Array2::from_shape_fn((h, w), |(i, j)| {
        slice
            .index_axis(Axis(2), left + j)
            .index_axis(Axis(1), top + i)
            .iter()
            .map(|v| v.norm())
            .sum()
    })
}

#[test]
fn convert_bart_phantom_to_fastmri() {
    let folder = temp_dir();
    run_bart(
        folder.path(),
        &["phantom", "-k", "-s", "4", "-x", "32", "ph"],
    );
    let phantom = read_cfl(folder.path().join("ph")).unwrap();

    let output = folder.path().join("ph.h5");
    convert(
        &folder.path().join("ph.cfl"),
        &output,
        &ConvertOptions::default(),
    )
    .unwrap();
    let file = FastMriFile::open(&output).unwrap();
    let shape = file.shape();
    assert_eq!(
        (shape.slices, shape.coils, shape.height, shape.width),
        (1, 4, 32, 32)
    );
    assert!(file.target_names().is_empty());
    assert_eq!(file.geometry().recon_size, [32, 32, 1]);
    let slice = file.read_slice(0).unwrap();
    for c in 0..4 {
        for i in 0..32 {
            for j in 0..32 {
                let expected = phantom[bart_index(&[(0, i), (1, j), (3, c)]).as_slice()];
                assert_eq!(slice[[c, i, j]], expected, "coil {c} ({i}, {j})");
            }
        }
    }
    assert_eq!(
        run_fixtures(&["compare".as_ref(), output.as_os_str()]).trim(),
        "[]"
    );

    let with_target = folder.path().join("ph_rss.h5");
    let options = ConvertOptions {
        rss_target: Some(&crop_magnitude),
        ..Default::default()
    };
    convert(&folder.path().join("ph"), &with_target, &options).unwrap();
    let file = FastMriFile::open(&with_target).unwrap();
    assert_eq!(file.target_names(), ["reconstruction_rss"]);
    let target = file.read_target("reconstruction_rss").unwrap();
    assert_eq!(
        target.index_axis(Axis(0), 0),
        crop_magnitude(slice.view(), [32, 32])
    );
    assert!(file.attributes().max.is_some());
    assert!(file.attributes().norm.is_some());
}

#[test]
fn convert_rejects_wrong_target_shape() {
    let folder = temp_dir();
    run_bart(folder.path(), &["phantom", "-k", "-x", "16", "ph"]);
    let wrong = |_: ArrayView3<Complex32>, _: [usize; 2]| Array2::<f32>::zeros((3, 3));
    let options = ConvertOptions {
        rss_target: Some(&wrong),
        ..Default::default()
    };
    let output = folder.path().join("ph.h5");
    let err = convert(&folder.path().join("ph"), &output, &options).unwrap_err();
    assert!(
        matches!(&err, IoError::InvalidShape { found, .. } if found == &[3, 3]),
        "{err:?}"
    );
    assert!(!output.exists());
}

#[test]
fn convert_single_coil_bart_array() {
    let folder = temp_dir();
    run_bart(folder.path(), &["phantom", "-k", "-x", "16", "ph"]);
    let output = folder.path().join("single.h5");
    convert(
        &folder.path().join("ph.cfl"),
        &output,
        &ConvertOptions::default(),
    )
    .unwrap();
    assert_eq!(
        describe(&output)["datasets"]["kspace"]["shape"],
        serde_json::json!([1, 16, 16])
    );
    assert!(!FastMriFile::open(&output).unwrap().shape().is_multicoil);
}

#[test]
fn convert_fastmri_to_bart_and_back() {
    let folder = temp_dir();
    let cfl = folder.path().join("multi.cfl");
    convert(&fixture("multicoil.h5"), &cfl, &ConvertOptions::default()).unwrap();
    assert_eq!(
        run_bart(folder.path(), &["show", "-d", "0", "multi"]).trim(),
        "64"
    );
    assert_eq!(
        run_bart(folder.path(), &["show", "-d", "1", "multi"]).trim(),
        "48"
    );
    assert_eq!(
        run_bart(folder.path(), &["show", "-d", "3", "multi"]).trim(),
        "4"
    );
    assert_eq!(
        run_bart(folder.path(), &["show", "-d", "13", "multi"]).trim(),
        "5"
    );

    // BART's own slicing must pick the same samples as the fastMRI reader.
    run_bart(
        folder.path(),
        &["slice", "13", "3", "3", "2", "multi", "s3c2"],
    );
    let bart_slice = read_cfl(folder.path().join("s3c2")).unwrap();
    let original = FastMriFile::open(fixture("multicoil.h5")).unwrap();
    let slice3 = original.read_slice(3).unwrap();
    for i in 0..64 {
        for j in 0..48 {
            assert_eq!(
                bart_slice[bart_index(&[(0, i), (1, j)]).as_slice()],
                slice3[[2, i, j]]
            );
        }
    }

    let back = folder.path().join("back.h5");
    convert(&cfl, &back, &ConvertOptions::default()).unwrap();
    let again = FastMriFile::open(&back).unwrap();
    assert_eq!(again.shape(), original.shape());
    for index in 0..5 {
        assert_eq!(
            again.read_slice(index).unwrap(),
            original.read_slice(index).unwrap()
        );
    }
}

#[test]
fn convert_rejects_extra_bart_dimensions() {
    let folder = temp_dir();
    let array = ArrayD::from_elem(IxDyn(&[4, 4, 1, 2, 3]), Complex32::new(1.0, 0.0));
    write_cfl(folder.path().join("maps"), &array.view()).unwrap();
    let err = convert(
        &folder.path().join("maps.cfl"),
        &folder.path().join("m.h5"),
        &ConvertOptions::default(),
    )
    .unwrap_err();
    assert!(
        matches!(err, IoError::UnsupportedDimensions { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("4 MAPS = 3"), "{err}");

    let err = convert(
        &fixture("multicoil.h5"),
        &folder.path().join("x.h5"),
        &ConvertOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, IoError::UnknownFormat { .. }), "{err:?}");
}

// ---------------------------------------------------------------------------------------------
// Inspect

#[test]
fn inspect_knee_file() {
    let inspection = inspect(fixture("knee_singlecoil.h5")).unwrap();
    assert_eq!(inspection.format, "fastMRI HDF5");
    assert!(inspection.problem.is_none());
    let kspace = inspection
        .datasets
        .iter()
        .find(|d| d.name == "kspace")
        .unwrap();
    assert_eq!(kspace.shape, [2, 640, 372]);
    assert_eq!(kspace.dtype, "complex64");
    let header = inspection
        .datasets
        .iter()
        .find(|d| d.name == "ismrmrd_header")
        .unwrap();
    assert_eq!(header.dtype, "str (variable-length UTF-8)");

    let json = serde_json::to_value(&inspection).unwrap();
    assert_eq!(json["geometry"]["padding_left"], 18);
    assert_eq!(
        json["geometry"]["recon_size"],
        serde_json::json!([320, 320, 1])
    );
    assert_eq!(json["attributes"]["acquisition"], "CORPD_FBK");
    assert_eq!(
        json["attributes"]["custom_list"],
        serde_json::json!([1.5, 2.5])
    );
    assert_eq!(json["kspace"]["coils"], 1);

    let text = inspection.to_string();
    for part in [
        "complex64",
        "(2, 640, 372)",
        "padding_left = 18",
        "CORPD_FBK",
        "single-coil",
    ] {
        assert!(text.contains(part), "missing {part:?} in:\n{text}");
    }
}

#[test]
fn inspect_mask_and_rejected_files() {
    let inspection = inspect(fixture("mask2d.h5")).unwrap();
    let mask = inspection.mask.as_ref().expect("mask summary");
    assert_eq!(mask.shape, [16, 20]);
    assert_eq!(mask.total, 320);
    let mask_info = inspection
        .datasets
        .iter()
        .find(|d| d.name == "mask")
        .unwrap();
    assert_eq!(mask_info.dtype, "bool");

    let rejected = inspect(fixture("int32_kspace.h5")).unwrap();
    assert_eq!(rejected.format, "HDF5");
    assert!(rejected.problem.as_deref().unwrap().contains("int32"));
    assert!(rejected
        .to_string()
        .contains("not usable as a fastMRI volume"));

    let err = inspect(fixture("text.h5")).unwrap_err();
    assert!(matches!(err, IoError::Open { .. }), "{err:?}");
}

#[test]
fn inspect_bart_array() {
    let folder = temp_dir();
    run_bart(folder.path(), &["ones", "3", "2", "3", "4", "o"]);
    let inspection = inspect(folder.path().join("o.cfl")).unwrap();
    assert_eq!(inspection.format, "BART cfl");
    assert_eq!(inspection.datasets[0].shape, [2, 3, 4]);
}
