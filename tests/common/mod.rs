//! Helpers shared by the end-to-end tests: the `dps` binary, Python with numpy and h5py, BART,
//! the real data folder, and small fastMRI files written by h5py.
//!
//! Reference values come from numpy, h5py and scikit-image in [`TOOLS_PY`], never from the
//! code under test: the tests run `dps`, then let Python read what it wrote and compute the
//! expected numbers from the inputs.

// Each test crate uses a different part of this module.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Python with numpy, h5py and scikit-image: `DPS_PYTHON`, or the set-up script's environment.
pub fn python() -> PathBuf {
    let path = std::env::var_os("DPS_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME").expect("HOME is not set");
            Path::new(&home).join(".cache/dps/libtorch-2.13.0/bin/python")
        });
    assert!(
        path.exists(),
        "Python with numpy, h5py and scikit-image not found at {}; run scripts/setup.sh or set \
         DPS_PYTHON",
        path.display()
    );
    path
}

/// Debian's `bart`: `DPS_BART`, or /usr/bin/bart.
pub fn bart() -> PathBuf {
    let path = std::env::var_os("DPS_BART")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/bart"));
    assert!(
        path.exists(),
        "BART not found at {}; install Debian's `bart` package (scripts/setup.sh does) or set \
         DPS_BART",
        path.display()
    );
    path
}

/// Returns the data folder that contains `mri/`: `DPS_DATA_DIR`, or `../shared/data` beside
/// the repository.
pub fn data_dir() -> PathBuf {
    let root = std::env::var_os("DPS_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data"));
    assert!(
        root.join("mri").is_dir(),
        "real MRI data not found in {}/mri; set DPS_DATA_DIR to the data folder that holds \
         mri/phantom_gre_2coil.h5, mri/brain_t2_4coil.h5 and mri/brain_8coil_poisson_x8.h5",
        root.display()
    );
    root
}

/// Returns a file of the real data folder, such as `phantom_gre_2coil.h5`.
pub fn mri_file(name: &str) -> PathBuf {
    let path = data_dir().join("mri").join(name);
    assert!(
        path.is_file(),
        "{} is missing from the data folder; set DPS_DATA_DIR to a complete copy",
        path.display()
    );
    path
}

/// Returns the repository root.
pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Creates a fresh temporary folder under the target directory.
pub fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("cannot create a temporary folder")
}

/// What one run of a program printed and returned.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from_output(output: Output) -> Self {
        Self {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Fails when the program panicked: exit code 101 or a panic message.
    pub fn assert_no_panic(&self) -> &Self {
        assert_ne!(self.code, Some(101), "dps panicked:\n{}", self.stderr);
        assert!(
            !self.stderr.contains("panicked"),
            "dps panicked:\n{}",
            self.stderr
        );
        assert!(self.code.is_some(), "dps was killed by a signal:\n{self:?}");
        self
    }

    /// Fails unless the program exited with 0.
    pub fn assert_success(&self) -> &Self {
        self.assert_no_panic();
        assert_eq!(
            self.code,
            Some(0),
            "dps failed\nstdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    /// Fails unless the program exited with a code other than 0 (and did not panic).
    pub fn assert_failure(&self) -> &Self {
        self.assert_no_panic();
        assert_ne!(
            self.code,
            Some(0),
            "dps succeeded where it should fail\nstdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    /// Returns the `error: ...` lines of standard error, without log lines.
    pub fn error_lines(&self) -> String {
        self.stderr
            .lines()
            .filter(|line| line.starts_with("error"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Standard output parsed as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|error| panic!("stdout is not JSON ({error}):\n{}", self.stdout))
    }
}

/// Builds a `dps` command with no Slurm variables and warnings-only logging, run in `cwd`.
pub fn dps_command(cwd: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_dps"));
    command.current_dir(cwd).env("DPS_LOG", "dps=warn");
    for name in [
        "SLURM_ARRAY_TASK_ID",
        "SLURM_ARRAY_TASK_COUNT",
        "SLURM_ARRAY_TASK_MIN",
        "SLURM_ARRAY_TASK_STEP",
    ] {
        command.env_remove(name);
    }
    command
}

/// Runs `dps ARGS` in `cwd`.
pub fn dps_in<S: AsRef<OsStr>>(cwd: &Path, args: &[S]) -> Run {
    let output = dps_command(cwd)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("cannot start the dps binary");
    Run::from_output(output)
}

/// Runs `dps ARGS` in the repository root.
pub fn dps<S: AsRef<OsStr>>(args: &[S]) -> Run {
    dps_in(repo(), args)
}

/// Runs BART with `args` in `folder`.
pub fn run_bart(folder: &Path, args: &[&str]) -> String {
    let output = Command::new(bart())
        .args(args)
        .current_dir(folder)
        .output()
        .expect("cannot start bart");
    assert!(
        output.status.success(),
        "bart {args:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Runs one command of [`TOOLS_PY`] with a JSON request and returns the JSON it prints.
pub fn python_tool(command: &str, request: &serde_json::Value) -> serde_json::Value {
    let output = Command::new(python())
        .arg("-c")
        .arg(TOOLS_PY)
        .arg(command)
        .arg(request.to_string())
        .env("DPS_FIXTURES_DIR", repo().join("tests"))
        .output()
        .expect("cannot start Python");
    assert!(
        output.status.success(),
        "Python tool `{command}` failed on {request}:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "Python tool `{command}` printed no JSON ({error}):\n{}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

/// Writes fastMRI files with h5py; see `write` in [`TOOLS_PY`] for the fields of each spec.
pub fn write_volumes(folder: &Path, specs: &[serde_json::Value]) {
    std::fs::create_dir_all(folder).expect("cannot create the fixture folder");
    python_tool(
        "write",
        &serde_json::json!({"folder": folder, "volumes": specs}),
    );
}

/// Computes the fastMRI mask columns of `name` from numpy's RandomState, through the independent
/// reference in tests/reference/fastmri_masks.py.
pub fn reference_mask(
    kind: &str,
    center_fractions: &[f64],
    accelerations: &[f64],
    width: usize,
    name: &str,
) -> Vec<usize> {
    let seed: Vec<u32> = name.chars().map(|c| c as u32).collect();
    let request = serde_json::json!({
        "mode": "masks",
        "cases": [{
            "kind": kind,
            "center_fractions": center_fractions,
            "accelerations": accelerations,
            "width": width,
            "seed": seed,
        }],
    });
    let output = {
        use std::io::Write;
        let mut child = Command::new(python())
            .arg(repo().join("tests/reference/fastmri_masks.py"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("cannot start Python");
        child
            .stdin
            .take()
            .expect("stdin is piped")
            .write_all(request.to_string().as_bytes())
            .expect("cannot send the mask request");
        child.wait_with_output().expect("Python did not finish")
    };
    assert!(output.status.success(), "fastmri_masks.py failed");
    let answer: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("fastmri_masks.py printed no JSON");
    answer[0]["columns"]
        .as_array()
        .unwrap_or_else(|| panic!("no columns in {answer}"))
        .iter()
        .map(|c| c.as_u64().expect("a column index") as usize)
        .collect()
}

/// Returns a float field of a JSON value.
pub fn number(value: &serde_json::Value, key: &str) -> f64 {
    value[key]
        .as_f64()
        .unwrap_or_else(|| panic!("no number `{key}` in {value}"))
}

/// Returns the metrics of one volume in a `dps run --json` or `dps recon --json` report, by name.
pub fn volume_metrics(report: &serde_json::Value, file_name: &str) -> Vec<(String, f64)> {
    let volume = processed_volume(report, file_name);
    volume["metrics"]
        .as_array()
        .expect("metrics is a list")
        .iter()
        .map(|pair| {
            (
                pair[0].as_str().expect("metric name").to_string(),
                pair[1].as_f64().expect("metric value"),
            )
        })
        .collect()
}

/// Returns one metric of a volume in a batch report.
pub fn metric(report: &serde_json::Value, file_name: &str, name: &str) -> f64 {
    volume_metrics(report, file_name)
        .into_iter()
        .find(|(metric, _)| metric == name)
        .unwrap_or_else(|| panic!("no metric {name} for {file_name} in {report}"))
        .1
}

/// Returns the entry of a processed volume in a batch report.
pub fn processed_volume<'a>(
    report: &'a serde_json::Value,
    file_name: &str,
) -> &'a serde_json::Value {
    report["processed"]
        .as_array()
        .expect("processed is a list")
        .iter()
        .find(|v| {
            Path::new(v["input"].as_str().unwrap_or(""))
                .file_name()
                .is_some_and(|n| n == file_name)
        })
        .unwrap_or_else(|| panic!("{file_name} was not processed: {report}"))
}

/// File names of the inputs in one list (`processed`, `skipped`, `failed`) of a batch report.
pub fn report_names(report: &serde_json::Value, list: &str) -> Vec<String> {
    let mut names: Vec<String> = report[list]
        .as_array()
        .unwrap_or_else(|| panic!("no list {list} in {report}"))
        .iter()
        .map(|entry| {
            let input = entry
                .get("input")
                .and_then(|v| v.as_str())
                .or_else(|| entry.as_str())
                .expect("an input path");
            Path::new(input)
                .file_name()
                .expect("a file name")
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

/// Asserts `|actual - expected| <= tolerance * max(|expected|, 1e-30)`.
pub fn assert_close(actual: f64, expected: f64, tolerance: f64, what: &str) {
    let scale = expected.abs().max(1e-30);
    assert!(
        (actual - expected).abs() <= tolerance * scale,
        "{what}: {actual} differs from {expected} by more than {tolerance} relative"
    );
}

/// Names of the files in `folder`, sorted, hidden ones included.
pub fn file_names(folder: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(folder)
        .unwrap_or_else(|error| panic!("cannot list {}: {error}", folder.display()))
        .map(|entry| {
            entry
                .expect("a folder entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

/// Python commands that write test volumes and compute reference values with numpy, h5py and
/// scikit-image. Each takes one JSON argument and prints one JSON result.
///
/// - `write {folder, volumes: [spec]}`: writes each spec as a fastMRI file with h5py. A spec
///   has `name`, `shape` ([slices, coils, H, W], or [slices, H, W] for single-coil), and
///   optionally `recon` ([h, w] of the header's reconSpace, default [H, W]), `target` ("rss",
///   "esc" or null, default "rss"), `seed`, `dtype` ("complex64" or "int32"), `nan_slice`
///   (a slice given a NaN sample), `omit_kspace` (true for a file without `kspace`),
///   `acquisition`. K-space is the centred orthonormal FFT of
///   smooth coil images, so that scores are those of a real image. The target is fastMRI's:
///   rss (magnitude for single-coil) of ifft2c, centre-cropped to reconSpace, or to (W, W)
///   when W is narrower.
/// - `zero_filled {input, prediction, columns, stored_mask, crop}`: rss of ifft2c of the input
///   k-space (fastMRI `.h5` or BART `.cfl`) with only `columns` kept (all when null) or times
///   the file's own `mask` when `stored_mask` is true, centre-cropped to `crop`; returns the shape and dtype of the prediction's `reconstruction` and its error
///   against that reference (`relative` = ||pred - ref|| / ||ref||, `max_abs` over max(ref)).
/// - `target_error {input, prediction, dataset}`: the same error against a stored target.
/// - `metrics {target, dataset, prediction}`: fastMRI's NMSE, PSNR and SSIM (scikit-image,
///   data range = target volume max) on the (W_t, W_t) centre crop.
/// - `datasets {path}`: shape and dtype of every dataset of an HDF5 file.
/// - `mask_stats {path}`: sampled and total count of a file's `mask` dataset.
/// - `cfl_vs_h5 {cfl, h5}`: compares BART k-space (READ, PHS1, 1, COIL) with a fastMRI file's
///   `kspace` (1, coils, H, W), and its `reconstruction_rss` with numpy's rss of ifft2c.
pub const TOOLS_PY: &str = r###"
import json, os, sys
import numpy as np
import h5py

sys.path.insert(0, os.environ["DPS_FIXTURES_DIR"])
from fixtures import header


def fft2c(x):
    axes = (-2, -1)
    return np.fft.fftshift(np.fft.fft2(np.fft.ifftshift(x, axes=axes), norm="ortho"), axes=axes)


def ifft2c(x):
    axes = (-2, -1)
    return np.fft.fftshift(np.fft.ifft2(np.fft.ifftshift(x, axes=axes), norm="ortho"), axes=axes)


def centre_crop(image, h, w):
    top = (image.shape[-2] - h) // 2
    left = (image.shape[-1] - w) // 2
    if top < 0 or left < 0:
        raise ValueError(f"cannot crop {image.shape} to {h}x{w}")
    return image[..., top:top + h, left:left + w]


def fastmri_crop(shape, recon):
    h, w = recon
    if shape[-1] < w:
        h, w = shape[-1], shape[-1]
    return h, w


def coil_images(rng, slices, coils, height, width):
    y, x = np.mgrid[0:height, 0:width]
    y = (y - height / 2) / (height / 2)
    x = (x - width / 2) / (width / 2)
    images = np.zeros((slices, coils, height, width), np.complex128)
    for s in range(slices):
        body = ((x / 0.8) ** 2 + (y / 0.9) ** 2 < 1) * (1.0 + 0.2 * s)
        body = body + 0.5 * ((x / 0.3) ** 2 + ((y - 0.2) / 0.4) ** 2 < 1)
        body = body + 0.02 * rng.standard_normal((height, width))
        for c in range(coils):
            angle = 2 * np.pi * c / max(coils, 1)
            sensitivity = np.exp(-((x - 0.7 * np.cos(angle)) ** 2 + (y - 0.7 * np.sin(angle)) ** 2))
            phase = np.exp(1j * (0.5 * x + 0.3 * y + angle))
            images[s, c] = body * sensitivity * phase
    return images


def write(request):
    folder = request["folder"]
    for spec in request["volumes"]:
        rng = np.random.default_rng(spec.get("seed", 0))
        shape = spec["shape"]
        single = len(shape) == 3
        slices, coils, height, width = (shape[0], 1, shape[1], shape[2]) if single else shape
        images = coil_images(rng, slices, coils, height, width)
        kspace = fft2c(images).astype(np.complex64)
        if single:
            kspace = kspace[:, 0]
        recon = spec.get("recon") or [height, width]
        path = os.path.join(folder, spec["name"])
        with h5py.File(path, "w") as f:
            if spec.get("nan_slice") is not None:
                kspace[spec["nan_slice"], ..., 3, 2] = np.nan
            if spec.get("omit_kspace"):
                pass
            elif spec.get("dtype") == "int32":
                f["kspace"] = np.round(kspace.real).astype(np.int32)
            else:
                f["kspace"] = kspace
            f["ismrmrd_header"] = header(list(kspace.shape), recon, width // 2, width - 1)
            target = spec.get("target", "rss")
            if target is not None:
                magnitude = np.abs(ifft2c(kspace.astype(np.complex64)))
                image = magnitude if single else np.sqrt((magnitude ** 2).sum(axis=1))
                h, w = fastmri_crop(image.shape, recon)
                target_volume = centre_crop(image, h, w).astype(np.float32)
                f["reconstruction_" + target] = target_volume
                if target_volume.size:
                    f.attrs["max"] = float(target_volume.max())
                    f.attrs["norm"] = float(np.linalg.norm(target_volume))
            f.attrs["acquisition"] = spec.get("acquisition", "AXT2")
            f.attrs["patient_id"] = "patient-" + spec["name"]
    return {"written": len(request["volumes"])}


def read_kspace(path):
    if path.endswith(".cfl"):
        base = path[:-4]
        with open(base + ".hdr") as f:
            lines = [line for line in f.read().splitlines() if not line.startswith("#")]
        dims = [int(d) for d in lines[0].split()]
        data = np.fromfile(base + ".cfl", dtype="<c8").reshape(dims, order="F")
        # (READ, PHS1, 1, COIL, ...) to (slices = 1, coils, H, W)
        return np.transpose(data.reshape(dims[0], dims[1], dims[3]), (2, 0, 1))[None]
    with h5py.File(path, "r") as f:
        kspace = f["kspace"][()]
    return kspace[:, None] if kspace.ndim == 3 else kspace


def error_against(reference, prediction_path):
    with h5py.File(prediction_path, "r") as f:
        prediction = f["reconstruction"]
        answer = {"shape": list(prediction.shape), "dtype": str(prediction.dtype)}
        prediction = prediction[()].astype(np.float64)
    if list(prediction.shape) == list(reference.shape):
        difference = prediction - reference
        answer["relative"] = float(np.linalg.norm(difference) / np.linalg.norm(reference))
        answer["max_abs"] = float(np.abs(difference).max() / np.abs(reference).max())
    return answer


def zero_filled(request):
    kspace = read_kspace(request["input"]).astype(np.complex128)
    if request.get("columns") is not None:
        mask = np.zeros(kspace.shape[-1], bool)
        mask[request["columns"]] = True
        kspace = kspace * mask
    if request.get("stored_mask"):
        with h5py.File(request["input"], "r") as f:
            kspace = kspace * (f["mask"][()] != 0)
    image = np.sqrt((np.abs(ifft2c(kspace)) ** 2).sum(axis=1))
    h, w = request["crop"]
    return error_against(centre_crop(image, h, w), request["prediction"])


def target_error(request):
    with h5py.File(request["input"], "r") as f:
        reference = f[request["dataset"]][()].astype(np.float64)
    return error_against(reference, request["prediction"])


def ssim_volume(gt, pred, data_range):
    from skimage.metrics import structural_similarity
    return float(np.mean([
        structural_similarity(g, p, data_range=data_range) for g, p in zip(gt, pred)
    ]))


def metrics(request):
    with h5py.File(request["target"], "r") as f:
        gt = f[request["dataset"]][()].astype(np.float64)
    with h5py.File(request["prediction"], "r") as f:
        pred = f["reconstruction"][()].astype(np.float64)
    size = gt.shape[-1]
    gt = centre_crop(gt, size, size)
    pred = centre_crop(pred, size, size)
    maximum = gt.max()
    mse = float(np.mean((gt - pred) ** 2))
    return {
        "nmse": float(np.linalg.norm(gt - pred) ** 2 / np.linalg.norm(gt) ** 2),
        "psnr": float(10 * np.log10(maximum ** 2 / mse)),
        "ssim": ssim_volume(gt, pred, maximum),
    }


def datasets(request):
    with h5py.File(request["path"], "r") as f:
        return {name: {"shape": list(f[name].shape), "dtype": str(f[name].dtype)} for name in f}


def mask_stats(request):
    with h5py.File(request["path"], "r") as f:
        mask = f["mask"][()] != 0
    return {"sampled": int(mask.sum()), "total": int(mask.size)}


def cfl_vs_h5(request):
    cfl = read_kspace(request["cfl"])
    with h5py.File(request["h5"], "r") as f:
        kspace = f["kspace"][()]
        rss = f["reconstruction_rss"][()] if "reconstruction_rss" in f else None
        dtype = str(f["kspace"].dtype)
    answer = {
        "cfl_shape": list(cfl.shape),
        "h5_shape": list(kspace.shape),
        "dtype": dtype,
        "kspace_max_abs": float(np.abs(cfl - kspace).max()) if cfl.shape == kspace.shape else None,
    }
    if rss is not None:
        reference = np.sqrt((np.abs(ifft2c(cfl.astype(np.complex128))) ** 2).sum(axis=1))
        h, w = rss.shape[-2:]
        reference = centre_crop(reference, h, w)
        answer["rss_shape"] = list(rss.shape)
        answer["rss_relative"] = float(np.linalg.norm(rss - reference) / np.linalg.norm(reference))
    return answer


COMMANDS = {
    "write": write,
    "zero_filled": zero_filled,
    "target_error": target_error,
    "metrics": metrics,
    "datasets": datasets,
    "mask_stats": mask_stats,
    "cfl_vs_h5": cfl_vs_h5,
}

print(json.dumps(COMMANDS[sys.argv[1]](json.loads(sys.argv[2]))))
"###;
