//! Reduced MNIST runs that check learning happens: DPS-topK, trained jointly with the classifier
//! on 5000 images for 8 epochs, beats a fixed random mask with the same budget (25 of 784
//! pixels), and both are far above chance (10 %).
//!
//! Needs the MNIST files in `data/mnist` (or `DPS_MNIST_DIR`); `scripts/fetch_mnist.sh` puts
//! them there.
#![cfg(feature = "torch")]

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use dps::experiments::{evaluate_document, read_document, run_document, ExperimentResult};

fn mnist_dir() -> PathBuf {
    let dir = std::env::var_os("DPS_MNIST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("data/mnist"));
    assert!(
        dir.join("train-images-idx3-ubyte").is_file(),
        "MNIST not found in {}; run scripts/fetch_mnist.sh or set DPS_MNIST_DIR",
        dir.display()
    );
    dir
}

/// Serialises the tests of this file: libtorch's random generator is global to the process, so
/// runs on parallel test threads would draw from one stream and stop being reproducible.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Trains one repository pipeline with reduced settings and returns its test accuracy.
fn reduced_accuracy(pipeline: &str, output: &Path) -> f64 {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("pipelines/mnist")
        .join(pipeline);
    let overrides = [
        format!("data.dir={}", mnist_dir().display()),
        "data.train_subset=5000".into(),
        "train.epochs=8".into(),
        "train.batch_size=64".into(),
        "train.learning_rate=1.0e-3".into(),
        "evaluation.passes=5".into(),
        format!("output={}", output.display()),
    ];
    let document = read_document(&path, &overrides).unwrap();
    match run_document(&path, document, false).unwrap() {
        ExperimentResult::Mnist(result) => {
            assert_eq!(result.metric, "accuracy");
            assert_eq!(result.samples, 25);
            result.test_value
        }
    }
}

#[test]
fn dps_topk_beats_random_mask() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let dps = reduced_accuracy("dps_topk_pixel.yaml", &dir.path().join("dps"));
    let random = reduced_accuracy("random_pixel.yaml", &dir.path().join("random"));
    assert!(dps > 0.3, "DPS-topK accuracy {dps} is near chance");
    assert!(random > 0.2, "random-mask accuracy {random} is near chance");
    assert!(
        dps > random + 0.05,
        "DPS-topK ({dps}) should beat the random mask ({random}) by 5 points"
    );
    for file in [
        "best.ot",
        "last.ot",
        "metrics.jsonl",
        "metrics.csv",
        "config.yaml",
        "mask.png",
        "incidence.png",
        "logits.npy",
        "mask.json",
        "result.json",
    ] {
        assert!(
            dir.path().join("dps").join(file).is_file(),
            "{file} missing"
        );
    }
}

/// Settings of the short runs below: 500 images, stochastic test masks.
fn short_run(epochs: usize, output: &Path) -> Vec<String> {
    vec![
        format!("data.dir={}", mnist_dir().display()),
        "data.train_subset=500".into(),
        format!("train.epochs={epochs}"),
        "evaluation.passes=3".into(),
        format!("output={}", output.display()),
    ]
}

fn losses(folder: &Path) -> Vec<(u64, f64, f64)> {
    let log = std::fs::read_to_string(folder.join("metrics.jsonl")).unwrap();
    log.lines()
        .map(|line| {
            let record: serde_json::Value = serde_json::from_str(line).unwrap();
            (
                record["epoch"].as_u64().unwrap(),
                record["train_loss"].as_f64().unwrap(),
                record["validation_loss"].as_f64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn resumed_run_matches_uninterrupted_run() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/mnist/dps_topk_pixel.yaml");
    let run = |epochs: usize, output: &Path, resume: bool| {
        let document = read_document(&path, &short_run(epochs, output)).unwrap();
        let ExperimentResult::Mnist(result) = run_document(&path, document, resume).unwrap();
        result
    };
    let whole = dir.path().join("whole");
    let split = dir.path().join("split");
    let uninterrupted = run(3, &whole, false);
    run(2, &split, false);
    let resumed = run(3, &split, true);
    assert_eq!(resumed.epochs_run, 3);

    // Same weights, Adam state and random streams: the resumed epoch repeats the
    // uninterrupted one, and so does the stochastic test score.
    let (expected, found) = (losses(&whole), losses(&split));
    assert_eq!(found.len(), 3);
    for (a, b) in expected.iter().zip(&found) {
        assert_eq!(a.0, b.0);
        for (x, y) in [(a.1, b.1), (a.2, b.2)] {
            assert!(
                (x - y).abs() <= 1e-7 * x.abs(),
                "epoch {}: uninterrupted loss {x}, resumed {y}",
                a.0
            );
        }
    }
    assert_eq!(resumed.test_value, uninterrupted.test_value);
    assert_eq!(resumed.test_std, uninterrupted.test_std);

    // Scoring the best checkpoint again reproduces the run's test result and leaves the
    // run's own files alone.
    let result_file = std::fs::read(split.join("result.json")).unwrap();
    let document = read_document(&path, &short_run(3, &split)).unwrap();
    let ExperimentResult::Mnist(evaluated) =
        evaluate_document(&path, document, &split.join("best.ot")).unwrap();
    assert_eq!(evaluated.test_value, resumed.test_value);
    assert_eq!(evaluated.best_epoch, resumed.best_epoch);
    assert!(split.join("eval-best/result.json").is_file());
    assert_eq!(
        std::fs::read(split.join("result.json")).unwrap(),
        result_file
    );
}

#[test]
fn resume_without_checkpoint_is_a_clear_error() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/mnist/dps_topk_pixel.yaml");
    let document = read_document(&path, &short_run(1, dir.path())).unwrap();
    let error = run_document(&path, document, true).unwrap_err().to_string();
    assert!(error.contains("no checkpoint at"), "{error}");
    assert!(error.contains("last.ot"), "{error}");
    assert!(!dir.path().join("metrics.jsonl").exists());
}

/// Writes a sweep file into `dir` over the given experiment files.
fn write_sweep(dir: &Path, experiments: &[PathBuf]) -> PathBuf {
    let list: Vec<String> = experiments
        .iter()
        .map(|path| format!("  - {}", path.display()))
        .collect();
    let text = format!(
        "sweep: reduced sweep\nexperiments:\n{}\nsamples: [8, 16]\noverrides:\n  \
         - data.dir={}\n  - data.train_subset=300\n  - train.epochs=1\n  \
         - evaluation.passes=2\noutput: {}\n",
        list.join("\n"),
        mnist_dir().display(),
        dir.join("sweep").display()
    );
    let path = dir.join("sweep.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn sweep_writes_tables_plot_and_feeds_disjoint_baseline() {
    let _serial = serial();
    use dps::experiments::sweep::run_sweep;

    let dir = tempfile::tempdir().unwrap();
    let pipelines = Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/mnist");
    // A run that fails only when it starts (its mask file does not exist): the sweep reports
    // it and goes on with the others.
    let broken = dir.path().join("broken.yaml");
    let missing = dir.path().join("no-such-run/mask.json");
    let text = std::fs::read_to_string(pipelines.join("disjoint_pixel.yaml"))
        .unwrap()
        .replace("name: disjoint_pixel", "name: broken_pixel")
        .replace(
            "mask_from: runs/mnist/dps_topk_reconstruction_pixel/mask.json",
            &format!("mask_from: {}", missing.display()),
        );
    assert!(
        text.contains("no-such-run"),
        "disjoint_pixel.yaml changed its mask_from"
    );
    std::fs::write(&broken, text).unwrap();
    let sweep = write_sweep(
        dir.path(),
        &[
            pipelines.join("disjoint_pixel.yaml"),
            broken,
            pipelines.join("dps_topk_reconstruction_pixel.yaml"),
            pipelines.join("random_pixel.yaml"),
        ],
    );
    let report = run_sweep(&sweep, &[]).unwrap();
    let out = dir.path().join("sweep");

    let failed: Vec<(&str, usize)> = report
        .failed
        .iter()
        .map(|f| (f.name.as_str(), f.samples))
        .collect();
    assert_eq!(failed.len(), 2, "{:?}", report.failed);
    assert!(failed.contains(&("broken_pixel", 8)) && failed.contains(&("broken_pixel", 16)));
    assert!(report
        .failed
        .iter()
        .all(|f| f.error.contains("no-such-run")));
    assert_eq!(report.results.len(), 6);

    // The disjoint run at each budget uses the mask the reconstruction run learned at that
    // budget.
    for samples in [8, 16] {
        let mask = |name: &str| {
            let path = out.join(format!("{name}_m{samples}/mask.json"));
            let value: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            value["indices"].clone()
        };
        let learned = mask("dps_topk_reconstruction_pixel");
        assert_eq!(learned.as_array().unwrap().len(), samples);
        assert_eq!(mask("disjoint_pixel"), learned);
    }

    let csv = std::fs::read_to_string(out.join("results.csv")).unwrap();
    assert_eq!(csv.lines().count(), 7, "{csv}");
    let markdown = std::fs::read_to_string(out.join("results.md")).unwrap();
    assert!(markdown.contains("M = 8 (1.0 %)") && markdown.contains("M = 16 (2.0 %)"));
    assert!(markdown.contains("broken_pixel at M = 8"), "{markdown}");
    let plot = image::open(out.join("accuracy.png")).unwrap();
    assert!(plot.width() > 200 && plot.height() > 100);

    // Again with the same settings: every finished run is reused, not trained again.
    let before = std::fs::read(out.join("random_pixel_m8/result.json")).unwrap();
    let again = run_sweep(&sweep, &[]).unwrap();
    assert_eq!(again.results.len(), 6);
    assert_eq!(
        std::fs::read(out.join("random_pixel_m8/result.json")).unwrap(),
        before
    );
    // With other settings the runs start over.
    let changed = run_sweep(&sweep, &["train.epochs=2".into()]).unwrap();
    assert!(changed.results.iter().all(|r| r.epochs_run == 2));
}

/// Trains `pipeline` for one epoch on 500 images into `output`.
fn short(
    pipeline: &str,
    output: &Path,
    extra: &[String],
) -> Result<dps::experiments::mnist::MnistResult, String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("pipelines/mnist")
        .join(pipeline);
    let mut overrides = short_run(1, output);
    overrides.extend_from_slice(extra);
    let document = read_document(&path, &overrides).map_err(|e| e.to_string())?;
    match run_document(&path, document, false).map_err(|e| e.to_string())? {
        ExperimentResult::Mnist(result) => Ok(result),
    }
}

fn mask_indices(folder: &Path) -> Vec<u64> {
    let text = std::fs::read_to_string(folder.join("mask.json")).unwrap();
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    value["indices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|index| index.as_u64().unwrap())
        .collect()
}

#[test]
fn line_sampling_keeps_centre_band_and_saves_line_probabilities() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let learned = dir.path().join("learned");
    let result = short("dps_topk_lines.yaml", &learned, &[]).unwrap();
    // 5 learned columns plus the 2-column centre band (13 and 14 of 28) out of 28.
    assert!(
        (result.sampling_ratio - 7.0 / 28.0).abs() < 1e-12,
        "{}",
        result.sampling_ratio
    );
    let mask = mask_indices(&learned);
    assert_eq!(mask.len(), 7, "{mask:?}");
    assert!(mask.contains(&13) && mask.contains(&14), "{mask:?}");

    let csv = std::fs::read_to_string(learned.join("line_probabilities.csv")).unwrap();
    let rows: Vec<Vec<&str>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    assert_eq!(rows.len(), 28);
    let mut free_inclusion = 0.0;
    for (column, row) in rows.iter().enumerate() {
        let inclusion: f64 = row[3].parse().unwrap();
        if column == 13 || column == 14 {
            assert_eq!((row[1], row[2], inclusion), ("1", "", 1.0));
        } else {
            free_inclusion += inclusion;
        }
    }
    assert!((free_inclusion - 5.0).abs() < 1e-4, "{free_inclusion}");

    // The fixed baselines take the same centre band and their lines among the other columns.
    for baseline in ["uniform", "random", "low_pass"] {
        let folder = dir.path().join(baseline);
        short(
            "uniform_lines.yaml",
            &folder,
            &[format!("baseline={baseline}")],
        )
        .unwrap();
        let mask = mask_indices(&folder);
        assert_eq!(mask.len(), 7, "{baseline}: {mask:?}");
        assert!(
            mask.contains(&13) && mask.contains(&14),
            "{baseline}: {mask:?}"
        );
    }
}

#[test]
fn fastmri_line_mask_matches_fastmri() {
    use dps::mask::{MaskFunc, MaskFuncConfig, MaskType, Seed};

    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    for seed in [0u32, 7] {
        let output = dir.path().join(format!("seed{seed}"));
        let result = short(
            "fastmri_random_lines.yaml",
            &output,
            &[format!("baseline_seed={seed}")],
        )
        .unwrap();
        let function = MaskFunc::try_from(MaskFuncConfig {
            kind: MaskType::Random,
            center_fractions: vec![0.08],
            accelerations: vec![4.0],
        })
        .unwrap();
        let expected: Vec<u64> = function
            .sample(28, &Seed::Int(seed), None)
            .unwrap()
            .flags()
            .iter()
            .enumerate()
            .filter(|(_, &acquired)| acquired)
            .map(|(column, _)| column as u64)
            .collect();
        assert_eq!(mask_indices(&output), expected, "seed {seed}");
        assert_eq!(result.samples, expected.len(), "seed {seed}");
    }
    let error = short(
        "fastmri_random_lines.yaml",
        &dir.path().join("pixel"),
        &["domain=pixel".into()],
    )
    .unwrap_err();
    assert!(
        error.contains("fastmri_mask: selects phase-encode lines"),
        "{error}"
    );
}

#[test]
fn mask_from_other_domain_is_rejected() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let pixel = dir.path().join("pixel");
    short("dps_topk_pixel.yaml", &pixel, &[]).unwrap();
    let error = short(
        "disjoint_fourier.yaml",
        &dir.path().join("fourier"),
        &[format!("mask_from={}", pixel.join("mask.json").display())],
    )
    .unwrap_err();
    assert!(error.contains("selects pixel candidates"), "{error}");
    assert!(error.contains("kspace"), "{error}");
}

#[test]
fn saved_config_lists_sampler_defaults_and_runs_again() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first");
    let result = short("dps_topk_lines.yaml", &first, &[]).unwrap();
    let saved = first.join("config.yaml");
    let text = std::fs::read_to_string(&saved).unwrap();
    for key in [
        "kind: lines",
        "center_lines: 2",
        "row_order_seed: 0",
        "entropy_weight: 0",
    ] {
        assert!(text.contains(key), "config.yaml lacks `{key}`:\n{text}");
    }
    let again = dir.path().join("again");
    let document = read_document(&saved, &[format!("output={}", again.display())]).unwrap();
    let ExperimentResult::Mnist(repeated) = run_document(&saved, document, false).unwrap();
    assert_eq!(repeated.test_value, result.test_value);
}

#[test]
fn resume_with_changed_settings_is_rejected() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/mnist/dps_topk_pixel.yaml");
    let run = |epochs: usize, extra: &[&str]| {
        let mut overrides = short_run(epochs, dir.path());
        overrides.extend(extra.iter().map(|o| o.to_string()));
        let document = read_document(&path, &overrides).unwrap();
        run_document(&path, document, epochs > 1)
    };
    run(1, &[]).unwrap();
    let saved = std::fs::read_to_string(dir.path().join("config.yaml")).unwrap();
    let error = run(2, &["sampler.samples=16"]).unwrap_err().to_string();
    assert!(
        error.contains("`sampler.samples` (25 saved, 16 now)"),
        "{error}"
    );
    assert!(error.contains("config.yaml"), "{error}");
    // The refused resume leaves the saved settings alone, and a longer cap may resume.
    assert_eq!(
        std::fs::read_to_string(dir.path().join("config.yaml")).unwrap(),
        saved
    );
    let ExperimentResult::Mnist(result) = run(2, &["evaluation.passes=2"]).unwrap();
    assert_eq!(result.epochs_run, 2);
}

#[test]
fn failed_start_keeps_earlier_run() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    short("dps_topk_pixel.yaml", dir.path(), &[]).unwrap();
    let result = std::fs::read(dir.path().join("result.json")).unwrap();
    let missing_data = format!("data.dir={}", dir.path().join("no_mnist").display());
    let missing_mask = format!(
        "mask_from={}",
        dir.path().join("missing/mask.json").display()
    );
    // Each run fails at a different point: its settings, its data, its mask file.
    let cases: [(&str, &str, &str); 3] = [
        ("dps_topk_pixel.yaml", "model.dropout=1.5", "model.dropout"),
        (
            "dps_topk_pixel.yaml",
            &missing_data,
            "data.dir: train-images-idx3-ubyte not found",
        ),
        ("disjoint_pixel.yaml", &missing_mask, "cannot read"),
    ];
    for (pipeline, setting, expected) in cases {
        let error = short(pipeline, dir.path(), &[setting.into()]).unwrap_err();
        assert!(error.contains(expected), "{setting}: {error}");
        assert_eq!(
            std::fs::read(dir.path().join("result.json")).unwrap(),
            result,
            "{setting} changed the earlier run's result.json"
        );
        for kept in ["best.ot", "last.ot", "mask.json", "config.yaml"] {
            assert!(dir.path().join(kept).is_file(), "{setting} removed {kept}");
        }
    }
}

#[test]
fn checkpoint_of_other_method_is_rejected() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let (topk, loupe) = (dir.path().join("topk"), dir.path().join("loupe"));
    short("dps_topk_pixel.yaml", &topk, &[]).unwrap();
    short("loupe_pixel.yaml", &loupe, &[]).unwrap();
    // Both samplers hold one logit per pixel, so only the signature distinguishes them.
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/mnist/dps_topk_pixel.yaml");
    let document = read_document(&path, &short_run(1, &topk)).unwrap();
    let error = evaluate_document(&path, document.clone(), &loupe.join("best.ot"))
        .err()
        .unwrap()
        .to_string();
    assert!(error.contains("loupe sampler"), "{error}");
    assert!(error.contains("dps_topk sampler"), "{error}");
    assert!(evaluate_document(&path, document.clone(), &topk.join("best.ot")).is_ok());

    let missing = evaluate_document(&path, document.clone(), &topk.join("bset.ot"))
        .err()
        .unwrap()
        .to_string();
    assert!(missing.contains("not found"), "{missing}");
    assert!(missing.contains("--checkpoint best, last"), "{missing}");
    let folder = evaluate_document(&path, document, &topk)
        .err()
        .unwrap()
        .to_string();
    assert!(folder.contains("is a folder"), "{folder}");

    // A new run in the folder removes the evaluations of the earlier one.
    assert!(topk.join("eval-best/result.json").is_file());
    short("dps_topk_pixel.yaml", &topk, &[]).unwrap();
    assert!(!topk.join("eval-best").exists());
}

#[test]
fn disjoint_checkpoint_needs_its_mask() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("uniform");
    short("uniform_pixel.yaml", &run, &[]).unwrap();
    // The same classifier scored on a random mask of the same size must be refused.
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/mnist/uniform_pixel.yaml");
    let mut overrides = short_run(1, &run);
    overrides.push("baseline=random".into());
    let document = read_document(&path, &overrides).unwrap();
    let error = evaluate_document(&path, document, &run.join("best.ot"))
        .err()
        .unwrap()
        .to_string();
    assert!(error.contains("fixed mask of 25 samples"), "{error}");
}
