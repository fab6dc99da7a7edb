//! `dps recon` end to end on folders of small fastMRI files written by h5py, with bad files
//! among them, and the mistakes a hurried user makes: the results are compared with numpy,
//! and nothing may panic.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use common::{
    assert_close, dps, dps_command, file_names, metric, number, python_tool, reference_mask,
    report_names, run_bart, temp_dir, write_volumes, Run,
};
use dps::pipeline::{NoObserver, Pipeline, PipelineFile, Registry};
use dps::recon::{run_batch, BatchOptions};
use serde_json::json;

const MASKED: &str = "\
stages:
  - stage: load
    path: replaced-by-input
  - stage: mask
    type: random
    center_fractions: [0.08]
    accelerations: [4]
  - stage: zero_filled
  - stage: metrics
  - stage: write
    output: replaced-by-output
";

const FULL: &str = "\
stages:
  - stage: load
    path: replaced-by-input
  - stage: zero_filled
  - stage: metrics
  - stage: write
    output: replaced-by-output
    png: false
";

/// Writes a pipeline file into `folder`.
fn write_pipeline(folder: &Path, name: &str, text: &str) -> PathBuf {
    let path = folder.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs `dps recon --pipeline P --input IN --output OUT EXTRA`.
fn recon(pipeline: &Path, input: &Path, output: &Path, extra: &[&str]) -> Run {
    let mut args = vec![
        "recon".to_string(),
        "--pipeline".into(),
        pipeline.display().to_string(),
        "--input".into(),
        input.display().to_string(),
        "--output".into(),
        output.display().to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let run = dps(&args);
    run.assert_no_panic();
    run
}

/// Checks a written reconstruction against numpy's zero-filled image of its input, with the
/// fastMRI random mask (0.08, 4x) seeded by the file name, or no mask.
fn check_against_numpy(input: &Path, written: &Path, masked: bool, crop: [usize; 2]) {
    let name = input.file_name().unwrap().to_str().unwrap();
    let columns = masked.then(|| {
        let datasets = python_tool("datasets", &json!({"path": input}));
        let width = datasets["kspace"]["shape"]
            .as_array()
            .and_then(|shape| shape.last()?.as_u64())
            .unwrap_or_else(|| panic!("{name} has no kspace: {datasets}"));
        reference_mask("random", &[0.08], &[4.0], width as usize, name)
    });
    let answer = python_tool(
        "zero_filled",
        &json!({"input": input, "prediction": written, "columns": columns, "crop": crop}),
    );
    assert_eq!(answer["dtype"], "float32", "{name}: {answer}");
    assert_eq!(answer["shape"][1], json!(crop[0]), "{name}: {answer}");
    assert_eq!(answer["shape"][2], json!(crop[1]), "{name}: {answer}");
    assert!(number(&answer, "relative") < 1e-5, "{name}: {answer}");
    assert!(number(&answer, "max_abs") < 1e-5, "{name}: {answer}");
}

fn modified(path: &Path) -> SystemTime {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .unwrap_or_else(|error| panic!("no mtime for {}: {error}", path.display()))
}

/// Sets a file's modification time to 2001, so that any rewrite shows.
fn age(path: &Path) -> SystemTime {
    let old = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    std::fs::File::options()
        .write(true)
        .open(path)
        .and_then(|file| file.set_modified(old))
        .unwrap_or_else(|error| panic!("cannot set the mtime of {}: {error}", path.display()));
    old
}

fn good_specs() -> Vec<serde_json::Value> {
    vec![
        json!({"name": "vol_a.h5", "shape": [3, 4, 64, 48], "recon": [32, 32], "seed": 1}),
        json!({"name": "vol_b.h5", "shape": [2, 2, 48, 40], "recon": [32, 32], "seed": 2}),
        json!({"name": "vol_c.h5", "shape": [1, 3, 40, 40], "seed": 3}),
    ]
}

/// Writes the good volumes and one file for each way a file can be bad; returns the bad names.
fn write_mixed_folder(folder: &Path) -> Vec<(&'static str, &'static [&'static str])> {
    let mut specs = good_specs();
    specs.push(json!({"name": "int32.h5", "shape": [2, 2, 16, 12], "dtype": "int32"}));
    specs.push(json!({"name": "nan.h5", "shape": [3, 2, 16, 12], "nan_slice": 1}));
    specs.push(json!({"name": "no_kspace.h5", "shape": [1, 2, 16, 12], "omit_kspace": true}));
    write_volumes(folder, &specs);
    std::fs::write(folder.join("empty.h5"), b"").unwrap();
    std::fs::write(
        folder.join("notes.h5"),
        "a text file, not HDF5\n".repeat(30),
    )
    .unwrap();
    let whole = std::fs::read(folder.join("vol_a.h5")).unwrap();
    std::fs::write(folder.join("truncated.h5"), &whole[..whole.len() / 2]).unwrap();
    vec![
        ("empty.h5", &["the file is empty"]),
        ("int32.h5", &["`kspace`", "int32", "expected complex64"]),
        ("nan.h5", &["slice 1", "non-finite"]),
        ("no_kspace.h5", &["`kspace` not found"]),
        ("notes.h5", &["not an HDF5 file"]),
        ("truncated.h5", &["truncated"]),
    ]
}

#[test]
fn recon_reports_bad_files_and_resumes() {
    let folder = temp_dir();
    let input = folder.path().join("in");
    let output = folder.path().join("out");
    let bad = write_mixed_folder(&input);
    let pipeline = write_pipeline(folder.path(), "masked.yaml", MASKED);

    let run = recon(&pipeline, &input, &output, &["--jobs", "1"]);
    run.assert_failure();
    assert_eq!(run.code, Some(1));
    assert!(
        run.stdout.contains("3 processed, 0 skipped, 6 failed in"),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.contains("error: 6 of the inputs failed"),
        "{}",
        run.stderr
    );
    for (name, reasons) in &bad {
        let prefix = format!("FAILED {}: ", input.join(name).display());
        let line = run
            .stdout
            .lines()
            .find(|line| line.starts_with(&prefix))
            .unwrap_or_else(|| panic!("no failure line for {name}:\n{}", run.stdout));
        for reason in *reasons {
            assert!(
                line.contains(reason),
                "{name}: expected `{reason}` in {line}"
            );
        }
    }
    for name in ["vol_a.h5", "vol_b.h5", "vol_c.h5"] {
        assert!(
            run.stdout.lines().any(|line| line.starts_with(name)),
            "no row for {name}:\n{}",
            run.stdout
        );
    }

    // Only the good files have outputs, and no temporary file is left.
    let mut expected = Vec::new();
    for stem in ["vol_a", "vol_b", "vol_c"] {
        for suffix in [
            ".h5",
            ".kspace.png",
            ".mask.png",
            ".reconstruction.png",
            ".target.png",
        ] {
            expected.push(format!("{stem}{suffix}"));
        }
    }
    expected.sort();
    assert_eq!(file_names(&output), expected);

    check_against_numpy(
        &input.join("vol_a.h5"),
        &output.join("vol_a.h5"),
        true,
        [32, 32],
    );
    check_against_numpy(
        &input.join("vol_b.h5"),
        &output.join("vol_b.h5"),
        true,
        [32, 32],
    );
    check_against_numpy(
        &input.join("vol_c.h5"),
        &output.join("vol_c.h5"),
        true,
        [40, 40],
    );

    // A rerun skips the finished files and leaves them untouched.
    let outputs: Vec<PathBuf> = ["vol_a.h5", "vol_b.h5", "vol_c.h5"]
        .iter()
        .map(|name| output.join(name))
        .collect();
    let old: Vec<SystemTime> = outputs.iter().map(|path| age(path)).collect();
    let rerun = recon(&pipeline, &input, &output, &["--jobs", "1"]);
    rerun.assert_failure();
    for name in ["vol_a.h5", "vol_b.h5", "vol_c.h5"] {
        let line = format!("skipped (outputs exist): {}", input.join(name).display());
        assert!(rerun.stdout.contains(&line), "{}", rerun.stdout);
    }
    assert!(
        rerun.stdout.contains("0 processed, 3 skipped, 6 failed"),
        "{}",
        rerun.stdout
    );
    for (path, time) in outputs.iter().zip(&old) {
        assert_eq!(modified(path), *time, "{} was rewritten", path.display());
    }

    // --overwrite redoes them.
    let again = recon(&pipeline, &input, &output, &["--overwrite", "--json"]);
    again.assert_failure();
    let report = again.json();
    assert_eq!(
        report_names(&report, "processed"),
        ["vol_a.h5", "vol_b.h5", "vol_c.h5"]
    );
    assert_eq!(report_names(&report, "skipped"), Vec::<String>::new());
    assert_eq!(report_names(&report, "failed").len(), 6);
    for (path, time) in outputs.iter().zip(&old) {
        assert!(
            modified(path) > *time,
            "{} was not rewritten",
            path.display()
        );
    }
    check_against_numpy(
        &input.join("vol_a.h5"),
        &output.join("vol_a.h5"),
        true,
        [32, 32],
    );
    for name in ["vol_a.h5", "vol_b.h5", "vol_c.h5"] {
        let expected = python_tool(
            "metrics",
            &json!({
                "target": input.join(name),
                "dataset": "reconstruction_rss",
                "prediction": output.join(name),
            }),
        );
        assert_close(
            metric(&report, name, "nmse"),
            number(&expected, "nmse"),
            1e-6,
            name,
        );
        assert_close(
            metric(&report, name, "psnr_fastmri"),
            number(&expected, "psnr"),
            1e-6,
            name,
        );
        assert_close(
            metric(&report, name, "ssim_fastmri"),
            number(&expected, "ssim"),
            1e-5,
            name,
        );
    }
}

/// Writes five small volumes, f0.h5 to f4.h5.
fn write_five(folder: &Path) -> Vec<String> {
    let names: Vec<String> = (0..5).map(|i| format!("f{i}.h5")).collect();
    let specs: Vec<serde_json::Value> = names
        .iter()
        .enumerate()
        .map(|(i, name)| json!({"name": name, "shape": [1, 2, 16, 12], "seed": i}))
        .collect();
    write_volumes(folder, &specs);
    names
}

/// Runs a sharded recon into a fresh output folder and returns the processed names.
fn shard_run(
    folder: &Path,
    input: &Path,
    label: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> Vec<String> {
    let pipeline = write_pipeline(folder, "full.yaml", FULL);
    let output = folder.join(format!("out-{label}"));
    let mut command = dps_command(common::repo());
    command.args([
        "recon".as_ref(),
        "--pipeline".as_ref(),
        pipeline.as_os_str(),
        "--input".as_ref(),
        input.as_os_str(),
        "--output".as_ref(),
        output.as_os_str(),
        "--json".as_ref(),
    ]);
    command.args(args).envs(env.iter().copied());
    let result = command.output().expect("cannot start the dps binary");
    let run = Run {
        code: result.status.code(),
        stdout: String::from_utf8_lossy(&result.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&result.stderr).into_owned(),
    };
    run.assert_success();
    let report = run.json();
    assert_eq!(report_names(&report, "failed"), Vec::<String>::new());
    report_names(&report, "processed")
}

#[test]
fn shards_partition_inputs() {
    let folder = temp_dir();
    let input = folder.path().join("in");
    let names = write_five(&input);
    let first = shard_run(folder.path(), &input, "0", &["--shard", "0/2"], &[]);
    let second = shard_run(folder.path(), &input, "1", &["--shard", "1/2"], &[]);
    assert_eq!(first, ["f0.h5", "f2.h5", "f4.h5"]);
    assert_eq!(second, ["f1.h5", "f3.h5"]);
    let mut all = [first.clone(), second.clone()].concat();
    all.sort();
    assert_eq!(all, names);

    let count = ("SLURM_ARRAY_TASK_COUNT", "2");
    let slurm = shard_run(
        folder.path(),
        &input,
        "slurm1",
        &[],
        &[("SLURM_ARRAY_TASK_ID", "1"), count],
    );
    assert_eq!(slurm, second);
    let slurm = shard_run(
        folder.path(),
        &input,
        "slurm-min",
        &[],
        &[
            ("SLURM_ARRAY_TASK_ID", "1"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
            count,
        ],
    );
    assert_eq!(slurm, first);
    let slurm = shard_run(
        folder.path(),
        &input,
        "slurm-step",
        &[],
        &[
            ("SLURM_ARRAY_TASK_ID", "2"),
            ("SLURM_ARRAY_TASK_STEP", "2"),
            count,
        ],
    );
    assert_eq!(slurm, second);
    let explicit = shard_run(
        folder.path(),
        &input,
        "explicit",
        &["--shard", "0/2"],
        &[("SLURM_ARRAY_TASK_ID", "1"), count],
    );
    assert_eq!(explicit, first, "--shard wins over the Slurm variables");
}

#[test]
fn bad_shards_are_rejected() {
    let folder = temp_dir();
    let input = folder.path().join("in");
    write_five(&input);
    let pipeline = write_pipeline(folder.path(), "full.yaml", FULL);
    let output = folder.path().join("out");
    for (value, expected) in [
        ("2/2", "I must be below N"),
        ("1", "expected I/N"),
        ("0/0", "N must be at least 1"),
    ] {
        let run = recon(&pipeline, &input, &output, &["--shard", value]);
        run.assert_failure();
        let message = run.error_lines();
        assert!(
            message.contains(&format!("invalid shard `{value}`")),
            "{message}"
        );
        assert!(message.contains(expected), "{message}");
    }

    let result = dps_command(common::repo())
        .args([
            "recon".as_ref(),
            "--pipeline".as_ref(),
            pipeline.as_os_str(),
            "--input".as_ref(),
            input.as_os_str(),
            "--output".as_ref(),
            output.as_os_str(),
        ])
        .env("SLURM_ARRAY_TASK_ID", "3")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert_eq!(result.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("SLURM_ARRAY_TASK_COUNT is not set"),
        "{stderr}"
    );
    assert!(stderr.contains("--shard I/N"), "{stderr}");
    assert!(!output.exists(), "nothing may be written for a bad shard");
}

#[test]
fn pipeline_without_write_is_rejected() {
    let folder = temp_dir();
    let input = folder.path().join("in");
    write_five(&input);
    let text = "stages:\n  - stage: load\n    path: x\n  - stage: zero_filled\n";
    let pipeline = write_pipeline(folder.path(), "nowrite.yaml", text);
    let output = folder.path().join("out");
    let run = recon(&pipeline, &input, &output, &[]);
    run.assert_failure();
    let message = run.error_lines();
    assert!(message.contains("has no `write` stage"), "{message}");
    assert!(message.contains("nowrite.yaml"), "{message}");
    assert!(!output.exists());

    let text = "stages:\n  - stage: mask\n    type: random\n    center_fractions: [0.08]\n\
                \x20   accelerations: [4]\n  - stage: zero_filled\n  - stage: write\n    output: o\n";
    let pipeline = write_pipeline(folder.path(), "noload.yaml", text);
    let run = recon(&pipeline, &input, &output, &[]);
    run.assert_failure();
    let message = run.error_lines();
    assert!(
        message.contains("must be `load`, but it is `mask`"),
        "{message}"
    );
}

#[test]
fn cfl_input_from_bart() {
    let folder = temp_dir();
    let input = folder.path().join("cfl");
    std::fs::create_dir_all(&input).unwrap();
    run_bart(&input, &["phantom", "-k", "-s", "4", "-x", "64", "ph"]);
    for (name, text, masked) in [("full", FULL, false), ("masked", MASKED, true)] {
        let pipeline = write_pipeline(folder.path(), &format!("{name}.yaml"), text);
        let output = folder.path().join(name);
        let run = recon(&pipeline, &input, &output, &["--json"]);
        run.assert_success();
        let report = run.json();
        assert_eq!(report_names(&report, "processed"), ["ph.cfl"]);
        let written = output.join("ph.h5");
        let columns = masked.then(|| reference_mask("random", &[0.08], &[4.0], 64, "ph.cfl"));
        let answer = python_tool(
            "zero_filled",
            &json!({
                "input": input.join("ph.cfl"),
                "prediction": written,
                "columns": columns,
                "crop": [64, 64],
            }),
        );
        assert_eq!(answer["shape"], json!([1, 64, 64]), "{answer}");
        assert_eq!(answer["dtype"], "float32", "{answer}");
        assert!(number(&answer, "relative") < 1e-5, "{name}: {answer}");
    }
}

// ---------------------------------------------------------------------------------------------
// Careless use

#[test]
fn paths_with_spaces_work() {
    let folder = temp_dir();
    let input = folder.path().join("my input dir");
    write_volumes(
        &input,
        &[json!({"name": "volume one.h5", "shape": [1, 2, 16, 12]})],
    );
    let pipeline = write_pipeline(folder.path(), "my pipeline.yaml", FULL);
    let output = folder.path().join("my output dir");
    let run = recon(&pipeline, &input, &output, &[]);
    run.assert_success();
    check_against_numpy(
        &input.join("volume one.h5"),
        &output.join("volume one.h5"),
        false,
        [16, 12],
    );
}

#[test]
fn unusable_output_folders_fail_before_work() {
    let folder = temp_dir();
    let input = folder.path().join("in");
    write_five(&input);
    let pipeline = write_pipeline(folder.path(), "full.yaml", FULL);

    let file = folder.path().join("a file");
    std::fs::write(&file, "in the way").unwrap();
    let run = recon(&pipeline, &input, &file, &[]);
    run.assert_failure();
    let message = run.error_lines();
    assert!(message.contains("exists and is not a folder"), "{message}");
    assert!(
        !run.stdout.contains("processed"),
        "no input may be read: {}",
        run.stdout
    );

    // Even root cannot create a folder in /proc, so this is a read-only location everywhere.
    let unwritable = Path::new("/proc/dps-test-output");
    let run = recon(&pipeline, &input, unwritable, &[]);
    run.assert_failure();
    let message = run.error_lines();
    assert!(
        message.contains("cannot create the output folder /proc/dps-test-output"),
        "{message}"
    );

    // `dps run` names the problem once per input, before reading it.
    let run = dps(&[
        "run".as_ref(),
        pipeline.as_os_str(),
        "--set".as_ref(),
        format!("load.path={}", input.display()).as_ref(),
        "--set".as_ref(),
        format!("write.output={}", file.display()).as_ref(),
    ]);
    run.assert_failure();
    assert!(
        run.stdout.contains("0 processed, 0 skipped, 5 failed"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("stage `write`: output") && run.stdout.contains("is not a folder"),
        "{}",
        run.stdout
    );
}

#[test]
fn read_only_output_folder_never_panics() {
    use std::os::unix::fs::PermissionsExt;

    let folder = temp_dir();
    let input = folder.path().join("in");
    write_five(&input);
    let pipeline = write_pipeline(folder.path(), "full.yaml", FULL);
    let locked = folder.path().join("locked");
    std::fs::create_dir(&locked).unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o555)).unwrap();
    let run = recon(&pipeline, &input, &locked.join("out"), &[]);
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
    // Root may write anyway; anyone else gets one clear error.
    if run.code != Some(0) {
        let message = run.error_lines();
        assert!(
            message.contains("cannot create the output folder"),
            "{message}"
        );
        assert!(message.contains("Permission denied"), "{message}");
    }
}

#[test]
fn output_in_input_folder_is_refused() {
    let folder = temp_dir();
    let input = folder.path().join("in");
    write_five(&input);
    let before = std::fs::read(input.join("f0.h5")).unwrap();
    let pipeline = write_pipeline(folder.path(), "full.yaml", FULL);
    for extra in [&[][..], &["--overwrite"][..]] {
        let run = recon(&pipeline, &input, &input, extra);
        run.assert_failure();
        let message = run.error_lines();
        assert!(message.contains("is the input folder"), "{message}");
    }
    // The same folder spelt differently.
    let dotted = input.join(".");
    let run = recon(&pipeline, &input, &dotted, &["--overwrite"]);
    run.assert_failure();
    assert!(
        run.error_lines().contains("is the input folder"),
        "{}",
        run.stderr
    );
    assert_eq!(std::fs::read(input.join("f0.h5")).unwrap(), before);

    // One input file, with its own folder as output.
    let run = recon(&pipeline, &input.join("f0.h5"), &input, &["--overwrite"]);
    run.assert_failure();
    assert!(
        run.stdout.contains("would replace the input file"),
        "{}",
        run.stdout
    );
    assert_eq!(std::fs::read(input.join("f0.h5")).unwrap(), before);

    // `dps run` has no such check up front; each input fails with the reason instead.
    let run = dps(&[
        "run".as_ref(),
        pipeline.as_os_str(),
        "--set".as_ref(),
        format!("load.path={}", input.display()).as_ref(),
        "--set".as_ref(),
        format!("write.output={}", input.display()).as_ref(),
    ]);
    run.assert_failure();
    assert!(
        run.stdout.contains("0 processed, 0 skipped, 5 failed"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("would replace the input file"),
        "{}",
        run.stdout
    );
    assert_eq!(std::fs::read(input.join("f0.h5")).unwrap(), before);
    assert_eq!(
        file_names(&input).len(),
        5,
        "no file was added to the input folder"
    );
}

#[test]
fn same_stem_inputs_keep_first() {
    let folder = temp_dir();
    let input = folder.path().join("in");
    write_volumes(
        &input,
        &[
            json!({"name": "scan.h5", "shape": [1, 2, 16, 12], "seed": 1}),
            json!({"name": "scan.hdf5", "shape": [2, 2, 16, 12], "seed": 2}),
        ],
    );
    run_bart(&input, &["phantom", "-k", "-x", "16", "scan"]);
    let pipeline = write_pipeline(folder.path(), "full.yaml", FULL);
    let output = folder.path().join("out");
    // The sorted list starts with scan.cfl, so that one is kept.
    for _ in 0..2 {
        let run = recon(&pipeline, &input, &output, &["--json"]);
        run.assert_failure();
        let report = run.json();
        assert_eq!(report_names(&report, "failed"), ["scan.h5", "scan.hdf5"]);
        for failure in report["failed"].as_array().unwrap() {
            let reason = failure["reason"].as_str().unwrap();
            assert!(reason.contains("is also the output of"), "{reason}");
            assert!(reason.contains("scan.cfl"), "{reason}");
        }
    }
    assert_eq!(file_names(&output), ["scan.h5"]);
    check_against_numpy(
        &input.join("scan.cfl"),
        &output.join("scan.h5"),
        false,
        [16, 16],
    );
}

#[test]
fn repeated_input_runs_once() {
    let folder = temp_dir();
    let input = folder.path().join("in");
    write_five(&input);
    let output = folder.path().join("out");
    let mut file = PipelineFile::parse(Path::new("api.yaml"), FULL).unwrap();
    file.apply_override(&format!("write.output={}", output.display()))
        .unwrap();
    let pipeline = Pipeline::build(file, &Registry::with_builtins()).unwrap();
    let one = input.join("f1.h5");
    let spelt_again = input.join(".").join("f1.h5");
    let report = run_batch(
        &pipeline,
        &[one.clone(), spelt_again, one],
        &BatchOptions {
            jobs: Some(2),
            ..BatchOptions::default()
        },
        &NoObserver,
    )
    .unwrap();
    assert_eq!(report.processed.len(), 1, "{report:?}");
    assert!(report.failed.is_empty(), "{report:?}");
    assert_eq!(file_names(&output), ["f1.h5"]);
}

#[test]
fn huge_jobs_and_one_job_work() {
    let folder = temp_dir();
    let input = folder.path().join("in");
    let names = write_five(&input);
    let pipeline = write_pipeline(folder.path(), "full.yaml", FULL);
    for jobs in ["1", "1000"] {
        let output = folder.path().join(format!("out-{jobs}"));
        let run = recon(&pipeline, &input, &output, &["--jobs", jobs, "--json"]);
        run.assert_success();
        assert_eq!(report_names(&run.json(), "processed"), names);
    }
}

#[test]
fn awkward_shapes_reconstruct_like_numpy() {
    let folder = temp_dir();
    let input = folder.path().join("in");
    write_volumes(
        &input,
        &[
            // Single-coil, scored against reconstruction_esc.
            json!({"name": "single.h5", "shape": [2, 64, 48], "recon": [32, 32],
                   "target": "esc"}),
            // fastMRI's narrow brain width: the 320x320 crop becomes 276x276.
            json!({"name": "narrow.h5", "shape": [1, 2, 400, 276], "recon": [320, 320]}),
            // Odd sizes, cropped from row floor(1/2) = 0 and column floor(15/2) = 7.
            json!({"name": "odd.h5", "shape": [1, 2, 321, 175], "recon": [320, 160],
                   "target": null}),
            json!({"name": "odd_full.h5", "shape": [1, 3, 33, 17], "target": null}),
            json!({"name": "one_pixel.h5", "shape": [1, 1, 1, 1], "target": null}),
            json!({"name": "zero_slices.h5", "shape": [0, 2, 16, 12]}),
        ],
    );
    let pipeline = write_pipeline(folder.path(), "full.yaml", FULL);
    let output = folder.path().join("out");
    let run = recon(&pipeline, &input, &output, &["--json"]);
    run.assert_failure();
    let report = run.json();
    assert_eq!(
        report_names(&report, "processed"),
        [
            "narrow.h5",
            "odd.h5",
            "odd_full.h5",
            "one_pixel.h5",
            "single.h5"
        ]
    );
    assert_eq!(report_names(&report, "failed"), ["zero_slices.h5"]);
    let reason = report["failed"][0]["reason"].as_str().unwrap();
    assert!(reason.contains("(0, 2, 16, 12)"), "{reason}");
    assert!(reason.contains("all sizes > 0"), "{reason}");

    for (name, crop) in [
        ("single.h5", [32, 32]),
        ("narrow.h5", [276, 276]),
        ("odd.h5", [320, 160]),
        ("odd_full.h5", [33, 17]),
        ("one_pixel.h5", [1, 1]),
    ] {
        check_against_numpy(&input.join(name), &output.join(name), false, crop);
    }
    for (name, dataset) in [
        ("single.h5", "reconstruction_esc"),
        ("narrow.h5", "reconstruction_rss"),
    ] {
        assert!(metric(&report, name, "nmse") < 1e-10, "{name}");
        let answer = python_tool(
            "target_error",
            &json!({"input": input.join(name), "prediction": output.join(name),
                    "dataset": dataset}),
        );
        assert!(number(&answer, "relative") < 1e-5, "{name}: {answer}");
    }
    assert!(!output.join("zero_slices.h5").exists());
}

#[test]
fn scores_follow_fastmri_crop_rule() {
    let folder = temp_dir();
    let input = folder.path().join("in");
    write_volumes(
        &input,
        &[
            json!({"name": "a_plain.h5", "shape": [1, 2, 16, 12], "target": null}),
            json!({"name": "b_scored.h5", "shape": [1, 2, 16, 12], "seed": 4}),
            // A target shorter than wide: fastMRI's W_t x W_t crop does not fit it.
            json!({"name": "c_wide_target.h5", "shape": [1, 2, 32, 24], "recon": [20, 24]}),
        ],
    );
    let pipeline = write_pipeline(folder.path(), "full.yaml", FULL);
    let output = folder.path().join("out");
    let run = recon(&pipeline, &input, &output, &[]);
    run.assert_failure();

    let header: Vec<&str> = run
        .stdout
        .lines()
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(
        header,
        ["volume", "slices", "nmse", "psnr_fastmri", "ssim_fastmri"],
        "an unscored first volume must not hide the metric columns:\n{}",
        run.stdout
    );
    let plain = run
        .stdout
        .lines()
        .find(|l| l.starts_with("a_plain.h5"))
        .unwrap();
    assert_eq!(
        plain.split_whitespace().collect::<Vec<_>>(),
        ["a_plain.h5", "1", "-", "-", "-"]
    );

    let wide = run
        .stdout
        .lines()
        .find(|l| l.starts_with("FAILED") && l.contains("c_wide_target.h5"))
        .unwrap_or_else(|| panic!("c_wide_target.h5 did not fail:\n{}", run.stdout));
    assert!(wide.contains("stage `metrics`"), "{wide}");
    assert!(
        wide.contains("is 20x24, smaller than the 24x24 centre crop"),
        "{wide}"
    );
    assert!(!output.join("c_wide_target.h5").exists());
}

#[test]
fn bad_cfl_files_are_reported() {
    let folder = temp_dir();
    let input = folder.path().join("cfl");
    std::fs::create_dir_all(&input).unwrap();
    for name in ["good", "no_header", "short", "three_d"] {
        let three_d = name == "three_d";
        let mut args = vec!["phantom", "-k", "-x", "16"];
        if three_d {
            args.insert(1, "-3");
        }
        args.push(name);
        run_bart(&input, &args);
    }
    std::fs::remove_file(input.join("no_header.hdr")).unwrap();
    let whole = std::fs::read(input.join("short.cfl")).unwrap();
    std::fs::write(input.join("short.cfl"), &whole[..100]).unwrap();
    let pipeline = write_pipeline(folder.path(), "full.yaml", FULL);
    let output = folder.path().join("out");
    let run = recon(&pipeline, &input, &output, &["--json"]);
    run.assert_failure();
    let report = run.json();
    assert_eq!(report_names(&report, "processed"), ["good.cfl"]);
    let reason = |name: &str| {
        report["failed"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["input"].as_str().unwrap().ends_with(name))
            .unwrap_or_else(|| panic!("{name} did not fail: {report}"))["reason"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(
        reason("no_header.cfl").contains("no_header.hdr"),
        "{report}"
    );
    assert!(
        reason("short.cfl").contains("has 100 bytes, expected 2048"),
        "{report}"
    );
    assert!(reason("three_d.cfl").contains("PHS2 = 16"), "{report}");
    assert_eq!(file_names(&output), ["good.h5"]);
}
