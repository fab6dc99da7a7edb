//! End-to-end tests of `dps::metrics` against numpy, scikit-image, h5py and an independent
//! Python re-implementation of fastMRI's evaluation, all run at test time by the scripts in
//! `tests/reference/` with the Python that `DPS_PYTHON` names.

use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};
use dps::metrics::{
    evaluate, evaluate_with_metrics, format_general, mse, nmse, psnr, ssim, ssim_image, Challenge,
    DataRange, EvaluationReport, MetricKind, MetricTable, MetricsError, SsimVariant,
};
use ndarray::{Array3, Axis};
use serde_json::{json, Value};

// ---------------------------------------------------------------------------------------------
// Python helpers

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
        "Python with numpy, h5py and scikit-image not found at {}; run scripts/setup.sh or set \
         DPS_PYTHON",
        path.display()
    );
    path
}

fn reference_script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/reference")
        .join(name)
}

/// Runs a reference script and returns its standard output.
fn run_script(script: &str, args: &[&OsStr], stdin: Option<&Value>) -> Result<String> {
    let mut child = Command::new(python())
        .arg(reference_script(script))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("failed to start {script}"))?;
    let mut input = child.stdin.take().context("no stdin")?;
    if let Some(request) = stdin {
        input.write_all(request.to_string().as_bytes())?;
    }
    drop(input);
    let output = child.wait_with_output()?;
    if !output.status.success() {
        bail!(
            "{script} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8(output.stdout)?)
}

fn run_json(script: &str, args: &[&OsStr], stdin: Option<&Value>) -> Result<Value> {
    let stdout = run_script(script, args, stdin)?;
    serde_json::from_str(&stdout).with_context(|| format!("{script} wrote invalid JSON"))
}

fn number(value: &Value, path: &str) -> f64 {
    let mut current = value;
    for key in path.split('.') {
        current = &current[key];
    }
    current
        .as_f64()
        .unwrap_or_else(|| panic!("no number at `{path}` in reference output"))
}

fn assert_close(actual: f64, expected: f64, tolerance: f64, what: &str) {
    let scale = expected.abs().max(1.0);
    assert!(
        (actual - expected).abs() <= tolerance * scale,
        "{what}: {actual} vs expected {expected} (tolerance {tolerance}, relative above 1)"
    );
}

fn assert_relative(actual: f64, expected: f64, tolerance: f64, what: &str) {
    assert!(
        (actual - expected).abs() <= tolerance * expected.abs(),
        "{what}: {actual} vs expected {expected} (relative tolerance {tolerance})"
    );
}

// ---------------------------------------------------------------------------------------------
// Test volumes

/// xorshift64*: a small seeded generator, so that the volumes need no extra crate.
struct Rng(u64);

impl Rng {
    fn uniform(&mut self) -> f32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let bits = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 40;
        bits as f32 / (1u64 << 24) as f32
    }
}

/// Builds the reference volume of fastMRI's metric conventions: gt = (s+1)(i+j)/30 and
/// pred = gt + 0.05 (-1)^(i+j+1), two 16x16 slices.
fn reference_volume() -> (Array3<f32>, Array3<f32>) {
    let target = Array3::from_shape_fn((2, 16, 16), |(s, i, j)| {
        ((s + 1) as f64 * (i + j) as f64 / 30.0) as f32
    });
    let prediction = Array3::from_shape_fn((2, 16, 16), |(s, i, j)| {
        let sign = if (i + j) % 2 == 0 { -1.0 } else { 1.0 };
        ((s + 1) as f64 * (i + j) as f64 / 30.0 + 0.05 * sign) as f32
    });
    (target, prediction)
}

/// Builds a smooth positive target of magnitude `scale` with texture, and a noisy prediction.
fn random_volume(rng: &mut Rng, shape: (usize, usize, usize), scale: f32) -> [Array3<f32>; 2] {
    let target = Array3::from_shape_fn(shape, |(s, i, j)| {
        let structure = (i as f32 / 3.0 + s as f32).sin() * (j as f32 / 5.0).cos();
        scale * (1.2 + structure + 0.4 * rng.uniform())
    });
    let prediction = target.mapv(|value| value + scale * 0.3 * (rng.uniform() - 0.5));
    [target, prediction]
}

/// Builds uniform noise in [0, `range`) and a clipped noisy copy, like CIFAR-10 images on
/// [0, 1].
fn uniform_volume(rng: &mut Rng, shape: (usize, usize, usize), range: f32) -> [Array3<f32>; 2] {
    let target = Array3::from_shape_fn(shape, |_| range * rng.uniform());
    let prediction =
        target.mapv(|value| (value + range * 0.2 * (rng.uniform() - 0.5)).clamp(0.0, range));
    [target, prediction]
}

fn write_raw(path: &Path, volume: &Array3<f32>) -> Result<()> {
    let bytes: Vec<u8> = volume
        .iter()
        .flat_map(|value| value.to_le_bytes())
        .collect();
    std::fs::write(path, bytes)?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Reference volume. The values are quoted from the project's fastMRI metric conventions, which
// computed them with numpy and scikit-image on float64 arrays. These volumes are float32, so
// agreement is to 1e-6, not to the quoted ten digits.

#[test]
fn reference_volume_fastmri_values() {
    let (target, prediction) = reference_volume();
    let (target, prediction) = (target.view(), prediction.view());

    let nmse = nmse(target, prediction).unwrap();
    assert_relative(nmse, 0.003364485981, 1e-6, "NMSE");

    let mse = mse(target, prediction).unwrap();
    assert_relative(mse, 0.0025, 1e-6, "MSE");

    let psnr = psnr(target, prediction, DataRange::VolumeMax).unwrap();
    assert_relative(psnr, 32.04119983, 1e-6, "PSNR");
    let psnr_fixed = psnr_with_range(target, prediction, 2.0);
    assert_relative(
        psnr_fixed,
        psnr,
        1e-12,
        "PSNR with the volume max 2.0 fixed",
    );

    let ssim = ssim(
        target,
        prediction,
        SsimVariant::Uniform7,
        DataRange::VolumeMax,
    )
    .unwrap();
    assert!((ssim - 0.9313082469).abs() < 1e-6, "SSIM {ssim}");
}

fn psnr_with_range(
    target: ndarray::ArrayView3<f32>,
    prediction: ndarray::ArrayView3<f32>,
    range: f64,
) -> f64 {
    psnr(target, prediction, DataRange::Fixed(range)).unwrap()
}

#[test]
fn reference_volume_slice_max_differs() {
    let (target, prediction) = reference_volume();
    let slice_max: f64 = (0..2)
        .map(|s| {
            let target = target.index_axis(Axis(0), s);
            let prediction = prediction.index_axis(Axis(0), s);
            let max = target.iter().copied().fold(f32::MIN, f32::max);
            ssim_image(target, prediction, SsimVariant::Uniform7, f64::from(max)).unwrap()
        })
        .sum::<f64>()
        / 2.0;
    assert!((slice_max - 0.9247465199).abs() < 1e-6, "{slice_max}");

    let volume_max = MetricKind::FASTMRI[3]
        .compute(target.view(), prediction.view())
        .unwrap();
    assert!(
        (volume_max - slice_max).abs() > 1e-3,
        "volume-max SSIM {volume_max} should differ from slice-max SSIM {slice_max}"
    );
}

// ---------------------------------------------------------------------------------------------
// Agreement with scikit-image on random volumes

struct Case {
    name: &'static str,
    volumes: [Array3<f32>; 2],
    data_range: Option<f64>,
}

fn skimage_cases() -> Vec<Case> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (reference_target, reference_prediction) = reference_volume();
    vec![
        Case {
            name: "reference 2x16x16",
            volumes: [reference_target, reference_prediction],
            data_range: Some(2.0),
        },
        Case {
            name: "smallest 3x7x7",
            volumes: random_volume(&mut rng, (3, 7, 7), 1.0),
            data_range: None,
        },
        Case {
            name: "Gaussian minimum 2x11x11",
            volumes: random_volume(&mut rng, (2, 11, 11), 1.0),
            data_range: Some(3.0),
        },
        Case {
            name: "odd 3x31x45",
            volumes: random_volume(&mut rng, (3, 31, 45), 3.0),
            data_range: Some(10.0),
        },
        Case {
            name: "knee magnitudes 2x64x47",
            volumes: random_volume(&mut rng, (2, 64, 47), 1e-4),
            data_range: None,
        },
        Case {
            name: "CIFAR-like 6x32x32 on [0, 1]",
            volumes: uniform_volume(&mut rng, (6, 32, 32), 1.0),
            data_range: Some(1.0),
        },
        Case {
            name: "lines and circles 2x64x64 on [0, 10]",
            volumes: uniform_volume(&mut rng, (2, 64, 64), 10.0),
            data_range: Some(10.0),
        },
        Case {
            name: "fastMRI size 2x320x320",
            volumes: random_volume(&mut rng, (2, 320, 320), 2e-4),
            data_range: None,
        },
    ]
}

fn skimage_reference(cases: &[Case], dir: &Path) -> Result<Vec<Value>> {
    let mut requests = Vec::new();
    for (index, case) in cases.iter().enumerate() {
        let [target, prediction] = &case.volumes;
        let target_path = dir.join(format!("target{index}.f32"));
        let prediction_path = dir.join(format!("prediction{index}.f32"));
        write_raw(&target_path, target)?;
        write_raw(&prediction_path, prediction)?;
        requests.push(json!({
            "target": target_path,
            "prediction": prediction_path,
            "shape": target.shape(),
            "data_range": case.data_range,
        }));
    }
    let response = run_json(
        "skimage_metrics.py",
        &[],
        Some(&json!({ "cases": requests })),
    )?;
    Ok(response["cases"].as_array().context("no cases")?.clone())
}

#[test]
fn volumes_match_skimage() {
    let dir = tempfile::tempdir().unwrap();
    let cases = skimage_cases();
    let references = skimage_reference(&cases, dir.path()).unwrap();

    for (case, reference) in cases.iter().zip(&references) {
        let [target, prediction] = &case.volumes;
        let (target, prediction) = (target.view(), prediction.view());
        let name = case.name;
        let nmse = nmse(target, prediction).unwrap();
        let mse = mse(target, prediction).unwrap();
        let psnr = psnr(target, prediction, DataRange::VolumeMax).unwrap();
        let ssim = MetricKind::FASTMRI[3].compute(target, prediction).unwrap();

        // Same formulas in float64: agreement to rounding.
        assert_relative(nmse, number(reference, "float64.nmse"), 1e-9, name);
        assert_relative(mse, number(reference, "float64.mse"), 1e-9, name);
        assert_relative(psnr, number(reference, "float64.psnr"), 1e-10, name);
        assert_close(ssim, number(reference, "float64.ssim"), 1e-9, name);

        // What fastMRI computes on its float32 arrays: agreement to float32 rounding.
        assert_relative(nmse, number(reference, "float32.nmse"), 1e-5, name);
        assert_relative(mse, number(reference, "float32.mse"), 1e-5, name);
        assert_relative(psnr, number(reference, "float32.psnr"), 1e-6, name);
        assert_close(ssim, number(reference, "float32.ssim"), 1e-6, name);

        let slice_max = slice_max_ssim(&case.volumes);
        assert_close(slice_max, number(reference, "ssim_slice_max"), 1e-9, name);
    }
}

fn slice_max_ssim([target, prediction]: &[Array3<f32>; 2]) -> f64 {
    let slices = target.dim().0;
    let total: f64 = (0..slices)
        .map(|s| {
            let target = target.index_axis(Axis(0), s);
            let max = target.iter().copied().fold(f32::MIN, f32::max);
            let prediction = prediction.index_axis(Axis(0), s);
            ssim_image(target, prediction, SsimVariant::Uniform7, f64::from(max)).unwrap()
        })
        .sum();
    total / slices as f64
}

#[test]
fn fixed_range_variants_match_skimage() {
    let dir = tempfile::tempdir().unwrap();
    let cases = skimage_cases();
    let references = skimage_reference(&cases, dir.path()).unwrap();

    for (case, reference) in cases.iter().zip(&references) {
        let [target, prediction] = &case.volumes;
        let (target, prediction) = (target.view(), prediction.view());
        let name = case.name;
        let gaussian_fits = target.dim().1 >= 11 && target.dim().2 >= 11;

        if gaussian_fits {
            let value = ssim(
                target,
                prediction,
                SsimVariant::Gaussian11,
                DataRange::VolumeMax,
            )
            .unwrap();
            let expected = number(reference, "ssim_gaussian_volmax");
            assert_close(value, expected, 1e-9, name);
        } else {
            let result = ssim(
                target,
                prediction,
                SsimVariant::Gaussian11,
                DataRange::VolumeMax,
            );
            assert!(
                matches!(result, Err(MetricsError::ImageSmallerThanWindow { .. })),
                "{name}"
            );
        }

        let Some(range) = case.data_range else {
            continue;
        };
        let psnr = psnr(target, prediction, DataRange::Fixed(range)).unwrap();
        assert_relative(psnr, number(reference, "psnr_fixed"), 1e-10, name);

        let uniform = MetricKind::Ssim {
            variant: SsimVariant::Uniform7,
            data_range: DataRange::Fixed(range),
        };
        let value = uniform.compute(target, prediction).unwrap();
        assert_close(value, number(reference, "ssim_uniform_fixed"), 1e-9, name);

        if gaussian_fits {
            let gaussian = MetricKind::Ssim {
                variant: SsimVariant::Gaussian11,
                data_range: DataRange::Fixed(range),
            };
            let value = gaussian.compute(target, prediction).unwrap();
            assert_close(value, number(reference, "ssim_gaussian_fixed"), 1e-9, name);
        }
    }
}

#[test]
fn ssim_variants_differ() {
    let mut rng = Rng(7);
    let [target, prediction] = random_volume(&mut rng, (2, 40, 40), 1.0);
    let uniform = ssim(
        target.view(),
        prediction.view(),
        SsimVariant::Uniform7,
        DataRange::Fixed(1.0),
    )
    .unwrap();
    let gaussian = ssim(
        target.view(),
        prediction.view(),
        SsimVariant::Gaussian11,
        DataRange::Fixed(1.0),
    )
    .unwrap();
    assert!((uniform - gaussian).abs() > 1e-3, "{uniform} vs {gaussian}");
}

// ---------------------------------------------------------------------------------------------
// Aggregation and the summary line

#[test]
fn format_matches_python() {
    let mut rng = Rng(11);
    let mut values = vec![
        0.0,
        1.0,
        -1.0,
        0.5,
        0.125,
        1234.5,
        12345.0,
        99995.0,
        9.9995,
        9999.5,
        0.00012345,
        0.000012345,
        1e-5,
        1e-4,
        123456789.0,
        2.5e-10,
        31.23456,
        -0.0301,
        1e16,
        0.81,
    ];
    for _ in 0..200 {
        let exponent = (rng.uniform() * 24.0 - 12.0) as i32;
        values.push(f64::from(rng.uniform()) * 10f64.powi(exponent));
    }
    let response = run_json(
        "skimage_metrics.py",
        &[],
        Some(&json!({ "format": values })),
    )
    .unwrap();
    let expected = response["format"].as_array().unwrap();
    for (value, expected) in values.iter().zip(expected) {
        assert_eq!(
            format_general(*value, 4),
            expected.as_str().unwrap(),
            "format of {value:e}"
        );
    }
}

#[test]
fn aggregation_matches_numpy() {
    let mut rng = Rng(23);
    let mut table = MetricTable::fastmri();
    let mut columns = vec![Vec::new(); 4];
    for volume in 0..9 {
        let values = vec![
            f64::from(rng.uniform()) * 1e-9,
            f64::from(rng.uniform()) * 0.05,
            25.0 + 10.0 * f64::from(rng.uniform()),
            0.7 + 0.25 * f64::from(rng.uniform()),
        ];
        for (column, value) in columns.iter_mut().zip(&values) {
            column.push(*value);
        }
        table
            .push_values(format!("file{volume}.h5"), values)
            .unwrap();
    }
    let request = json!({ "aggregate": {
        "MSE": columns[0], "NMSE": columns[1], "PSNR": columns[2], "SSIM": columns[3],
    }});
    let response = run_json("skimage_metrics.py", &[], Some(&request)).unwrap();
    let aggregate = &response["aggregate"];

    for summary in table.summaries() {
        let name = summary.metric.summary_name();
        let mean = number(aggregate, &format!("mean.{name}"));
        let std = number(aggregate, &format!("std.{name}"));
        assert_relative(summary.mean, mean, 1e-12, &name);
        assert_relative(summary.std.unwrap(), std, 1e-10, &name);
        assert_eq!(summary.count, 9);
    }
    assert_eq!(table.summary_line(), aggregate["line"].as_str().unwrap());
    assert_eq!(table.to_string(), table.summary_line());
}

#[test]
fn summary_line_sorts_and_names_variants() {
    let gaussian = MetricKind::Ssim {
        variant: SsimVariant::Gaussian11,
        data_range: DataRange::Fixed(1.0),
    };
    let mut table = MetricTable::new(vec![
        gaussian,
        MetricKind::Psnr(DataRange::Fixed(1.0)),
        MetricKind::Nmse,
    ])
    .unwrap();
    table.push_values("a", vec![0.5, 30.0, 0.01]).unwrap();
    table.push_values("b", vec![0.7, 32.0, 0.03]).unwrap();
    assert_eq!(
        table.summary_line(),
        "NMSE = 0.02 +/- 0.02828 PSNR_dr1 = 31 +/- 2.828 SSIM_gaussian11_dr1 = 0.6 +/- 0.2828"
    );
}

#[test]
fn single_volume_spread_is_nan() {
    let mut table = MetricTable::new(vec![MetricKind::Nmse]).unwrap();
    table.push_values("a", vec![0.25]).unwrap();
    assert_eq!(table.summary_line(), "NMSE = 0.25 +/- nan");
}

// ---------------------------------------------------------------------------------------------
// evaluate on files written by h5py

fn write_fixtures() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    run_script("make_eval_fixtures.py", &[dir.path().as_os_str()], None).unwrap();
    dir
}

fn fastmri_reference(root: &Path, challenge: &str, filters: &[&str]) -> Value {
    let targets = root.join("targets");
    let predictions = root.join("predictions");
    fastmri_reference_dirs(&targets, &predictions, challenge, filters)
}

fn fastmri_reference_dirs(
    targets: &Path,
    predictions: &Path,
    challenge: &str,
    filters: &[&str],
) -> Value {
    let mut args: Vec<&OsStr> = vec![
        targets.as_os_str(),
        predictions.as_os_str(),
        OsStr::new(challenge),
    ];
    args.extend(filters.iter().map(OsStr::new));
    run_json("fastmri_evaluate.py", &args, None).unwrap()
}

/// Checks every per-volume value, the means, the spreads and the summary line.
fn assert_matches_reference(report: &EvaluationReport, reference: &Value) {
    let scored: Vec<&str> = report
        .scores
        .volumes()
        .iter()
        .map(|row| row.volume.as_str())
        .collect();
    let expected: Vec<&str> = reference["volumes"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(scored, expected, "scored volumes");

    let metrics = report.scores.metrics();
    for row in report.scores.volumes() {
        for (metric, value) in metrics.iter().zip(&row.values) {
            let name = metric.summary_name();
            let what = format!("{} of {}", name, row.volume);
            let expected = number(&reference["volumes"][&row.volume], &name);
            // The reference computes on float32 arrays as fastMRI does; this crate in f64.
            assert_relative(*value, expected, 1e-5, &what);
        }
    }
    for summary in report.scores.summaries() {
        let name = summary.metric.summary_name();
        assert_relative(
            summary.mean,
            number(reference, &format!("mean.{name}")),
            1e-5,
            &name,
        );
        assert_relative(
            summary.std.unwrap(),
            number(reference, &format!("std.{name}")),
            1e-4,
            &name,
        );
    }
    assert_eq!(report.to_string(), reference["summary"].as_str().unwrap());
}

#[test]
fn evaluate_multicoil_matches_reference() {
    let dir = write_fixtures();
    let root = dir.path();
    let report = evaluate(
        &root.join("targets"),
        &root.join("predictions"),
        Challenge::MultiCoil,
        None,
        None,
    )
    .unwrap();
    let reference = fastmri_reference(root, "multicoil", &[]);
    assert_matches_reference(&report, &reference);

    assert_eq!(report.missing_predictions, ["vol_missing.h5"]);
    assert_eq!(report.extra_predictions, ["vol_extra.h5"]);
    assert!(report.filtered_out.is_empty());
    assert_eq!(report.scores.volumes().len(), 3);
}

#[test]
fn evaluate_singlecoil_uses_esc() {
    let dir = write_fixtures();
    let root = dir.path();
    let (targets, predictions) = (root.join("targets"), root.join("predictions"));
    let single = evaluate(&targets, &predictions, Challenge::SingleCoil, None, None).unwrap();
    assert_matches_reference(&single, &fastmri_reference(root, "singlecoil", &[]));

    let multi = evaluate(&targets, &predictions, Challenge::MultiCoil, None, None).unwrap();
    assert_ne!(
        single.scores.volumes()[0].values,
        multi.scores.volumes()[0].values
    );
}

#[test]
fn evaluate_acquisition_filter() {
    let dir = write_fixtures();
    let root = dir.path();
    let report = evaluate(
        &root.join("targets"),
        &root.join("predictions"),
        Challenge::MultiCoil,
        None,
        Some("CORPD_FBK".to_owned()),
    )
    .unwrap();
    let reference = fastmri_reference(root, "multicoil", &["--acquisition", "CORPD_FBK"]);
    assert_matches_reference(&report, &reference);

    // vol_a stores a variable-length string, vol_c a fixed-length UTF-8 one; vol_b's
    // fixed-length ASCII "CORPDFS_FBK" and vol_missing's "AXT2" do not match.
    assert_eq!(report.filtered_out, ["vol_b.h5", "vol_missing.h5"]);
    assert!(report.missing_predictions.is_empty());
    assert_eq!(report.extra_predictions, ["vol_extra.h5"]);
    assert_eq!(report.acquisition.as_deref(), Some("CORPD_FBK"));
}

#[test]
fn evaluate_acceleration_filter() {
    let dir = write_fixtures();
    let root = dir.path();
    let (targets, predictions) = (root.join("targets"), root.join("predictions"));

    // Integer attributes (int64 and int32) equal to 4.
    let four = evaluate(&targets, &predictions, Challenge::MultiCoil, Some(4), None).unwrap();
    let reference = fastmri_reference(root, "multicoil", &["--acceleration", "4"]);
    assert_matches_reference(&four, &reference);
    assert_eq!(four.filtered_out, ["vol_b.h5"]);
    assert_eq!(four.missing_predictions, ["vol_missing.h5"]);

    // vol_b's float64 attribute 8.0, the only volume left, so there is no spread.
    let eight = evaluate(&targets, &predictions, Challenge::MultiCoil, Some(8), None).unwrap();
    let rows = eight.scores.volumes();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].volume, "vol_b.h5");
    assert!(eight.to_string().ends_with("+/- nan"), "{eight}");

    let both = evaluate(
        &targets,
        &predictions,
        Challenge::MultiCoil,
        Some(8),
        Some("CORPD_FBK".to_owned()),
    );
    assert!(matches!(
        both,
        Err(MetricsError::NothingToScore {
            targets: 4,
            filtered_out: 4,
            missing: 0,
            ..
        })
    ));
}

#[test]
fn evaluate_report_serialises() {
    let dir = write_fixtures();
    let root = dir.path();
    let gaussian = MetricKind::Ssim {
        variant: SsimVariant::Gaussian11,
        data_range: DataRange::Fixed(1.0),
    };
    let report = evaluate_with_metrics(
        &root.join("targets"),
        &root.join("predictions"),
        Challenge::MultiCoil,
        None,
        None,
        &[MetricKind::Nmse, gaussian],
    )
    .unwrap();
    let value = serde_json::to_value(&report).unwrap();

    assert_eq!(value["challenge"], "multicoil");
    assert_eq!(value["missing_predictions"], json!(["vol_missing.h5"]));
    assert_eq!(value["extra_predictions"], json!(["vol_extra.h5"]));
    assert_eq!(
        value["scores"]["metrics"],
        json!(["nmse", "ssim_gaussian11_dr1"])
    );
    let summary = &value["scores"]["summary"][1];
    assert_eq!(summary["metric"], "ssim_gaussian11_dr1");
    assert_eq!(
        summary["label"],
        "SSIM (Gaussian 11x11, sigma 1.5, data range 1)"
    );
    assert_eq!(summary["count"], 3);
    let first = &value["scores"]["volumes"][0];
    assert_eq!(first["volume"], "vol_a.h5");
    let nmse = first["values"]["nmse"].as_f64().unwrap();
    assert_relative(nmse, report.scores.volumes()[0].values[0], 1e-15, "nmse");
}

#[test]
fn evaluate_errors_name_file() {
    let dir = write_fixtures();
    let errors = dir.path().join("errors");
    let run = |case: &str, challenge: Challenge, acceleration: Option<u32>| {
        let root = errors.join(case);
        let result = evaluate(
            &root.join("targets"),
            &root.join("predictions"),
            challenge,
            acceleration,
            None,
        );
        let error = result.expect_err(case);
        (error.to_string(), error)
    };

    let (message, error) = run("integer_prediction", Challenge::MultiCoil, None);
    assert!(
        matches!(error, MetricsError::UnsupportedType { .. }),
        "{message}"
    );
    assert!(
        message.contains("reconstruction") && message.contains("int16"),
        "{message}"
    );
    assert!(message.contains("vol.h5"), "{message}");

    let (message, error) = run("small_prediction", Challenge::MultiCoil, None);
    assert!(
        matches!(error, MetricsError::CropTooLarge { .. }),
        "{message}"
    );
    assert!(message.contains("[2, 20, 19]"), "{message}");

    let (message, error) = run("flat_prediction", Challenge::MultiCoil, None);
    assert!(
        matches!(error, MetricsError::NotAVolume { .. }),
        "{message}"
    );

    let (message, error) = run("no_acceleration", Challenge::MultiCoil, Some(4));
    assert!(
        matches!(error, MetricsError::MissingAttribute { .. }),
        "{message}"
    );
    assert!(message.contains("acceleration"), "{message}");

    let (message, error) = run("no_esc", Challenge::SingleCoil, None);
    assert!(matches!(error, MetricsError::Hdf5 { .. }), "{message}");
    assert!(
        message.contains("reconstruction_esc") && message.contains("vol.h5"),
        "{message}"
    );

    let missing_dir = evaluate(
        &errors.join("absent"),
        &errors.join("absent"),
        Challenge::MultiCoil,
        None,
        None,
    );
    assert!(matches!(missing_dir, Err(MetricsError::ReadDir { .. })));
}

/// Returns the folder of real multi-coil files in fastMRI layout that sits next to the
/// repository.
fn real_data_dir() -> PathBuf {
    let dir = std::env::var_os("DPS_DATA_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data"))
        .join("mri");
    assert!(
        dir.is_dir(),
        "real MRI data not found at {}; place the shared data folder next to the repository",
        dir.display()
    );
    dir
}

#[test]
fn evaluate_real_data_matches_reference() {
    let data = real_data_dir();
    let predictions = tempfile::tempdir().unwrap();
    let args = [data.as_os_str(), predictions.path().as_os_str()];
    run_script("make_real_predictions.py", &args, None).unwrap();

    // The phantom's target is 160x160 and its prediction 320x160, so this also checks the crop
    // rows 80..240 on a real image.
    let report = evaluate(&data, predictions.path(), Challenge::MultiCoil, None, None).unwrap();
    let reference = fastmri_reference_dirs(&data, predictions.path(), "multicoil", &[]);
    assert_matches_reference(&report, &reference);
    assert_eq!(report.missing_predictions, ["brain_8coil_poisson_x8.h5"]);
    assert!(report.extra_predictions.is_empty());

    let axt2 = evaluate(
        &data,
        predictions.path(),
        Challenge::MultiCoil,
        None,
        Some("AXT2".to_owned()),
    )
    .unwrap();
    let rows = axt2.scores.volumes();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].volume, "brain_t2_4coil.h5");
    assert_eq!(rows[0], report.scores.volumes()[0]);
    assert_eq!(
        axt2.filtered_out,
        ["brain_8coil_poisson_x8.h5", "phantom_gre_2coil.h5"]
    );
}
