//! `dps run` end to end: the repository's pipelines on the real k-space files, checked against
//! numpy and h5py, and the validation errors that a pipeline file gets before any data is read.

mod common;

use std::path::{Path, PathBuf};

use common::{
    assert_close, data_dir, dps, dps_command, file_names, metric, mri_file, number,
    processed_volume, python_tool, reference_mask, repo, temp_dir, Run,
};
use dps::pipeline::{Pipeline, PipelineError, Registry};
use serde_json::json;

/// Runs `dps run ARGS` in the repository root with `DPS_DATA_DIR` pointing at the data.
fn run_with_data(args: &[&str]) -> Run {
    let output = dps_command(repo())
        .env("DPS_DATA_DIR", data_dir())
        .arg("run")
        .args(args)
        .output()
        .expect("cannot start the dps binary");
    let run = Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    run.assert_no_panic();
    run
}

/// Returns the table row of `name` in `dps run` output, split into cells.
fn table_row(stdout: &str, name: &str) -> Vec<String> {
    let line = stdout
        .lines()
        .find(|line| line.starts_with(name))
        .unwrap_or_else(|| panic!("no row for {name} in:\n{stdout}"));
    line.split_whitespace().map(str::to_string).collect()
}

fn header_cells(stdout: &str) -> Vec<String> {
    let line = stdout.lines().next().expect("a table header");
    line.split_whitespace().map(str::to_string).collect()
}

/// Checks a PNG preview: it exists, has the given size and is not blank.
fn check_png(path: &Path, width: u32, height: u32) {
    let image = image::open(path)
        .unwrap_or_else(|error| panic!("{} is not a readable PNG: {error}", path.display()))
        .to_luma8();
    assert_eq!(image.dimensions(), (width, height), "{}", path.display());
    let (low, high) = image.pixels().fold((u8::MAX, u8::MIN), |(lo, hi), p| {
        (lo.min(p[0]), hi.max(p[0]))
    });
    assert!(low < high, "{} is blank", path.display());
}

/// Checks the written reconstruction against numpy's zero-filled image of the input with the
/// given columns (all when `None`).
fn check_zero_filled(input: &Path, written: &Path, columns: Option<&[usize]>, crop: [usize; 2]) {
    let answer = python_tool(
        "zero_filled",
        &json!({"input": input, "prediction": written, "columns": columns, "crop": crop}),
    );
    let (slices, h, w) = (1, crop[0], crop[1]);
    assert_eq!(answer["shape"], json!([slices, h, w]), "{answer}");
    assert_eq!(answer["dtype"], "float32", "{answer}");
    assert!(number(&answer, "relative") < 1e-5, "{answer}");
    assert!(number(&answer, "max_abs") < 1e-5, "{answer}");
}

/// Recomputes NMSE, PSNR and SSIM with numpy and scikit-image from the written file and the
/// input's target, and compares them with the values `dps` reported.
fn check_metrics(report: &serde_json::Value, input: &Path, written: &Path) {
    let name = input.file_name().unwrap().to_str().unwrap();
    let expected = python_tool(
        "metrics",
        &json!({"target": input, "dataset": "reconstruction_rss", "prediction": written}),
    );
    let nmse = metric(report, name, "nmse");
    let psnr = metric(report, name, "psnr_fastmri");
    let ssim = metric(report, name, "ssim_fastmri");
    assert_close(nmse, number(&expected, "nmse"), 1e-6, "NMSE");
    assert_close(psnr, number(&expected, "psnr"), 1e-6, "PSNR");
    assert_close(ssim, number(&expected, "ssim"), 1e-5, "SSIM");
}

// ---------------------------------------------------------------------------------------------
// Real data

#[test]
fn phantom_equispaced_x4_from_demo_copy() {
    let folder = temp_dir();
    let input = mri_file("phantom_gre_2coil.h5");
    let output = folder.path().join("out");
    let demo = std::fs::read_to_string(repo().join("pipelines/demo.yaml")).unwrap();
    assert!(demo.contains("path: data/phantom_gre.h5"), "{demo}");
    assert!(demo.contains("output: out/demo"), "{demo}");
    let text = demo
        .replace(
            "path: data/phantom_gre.h5",
            &format!("path: {}", input.display()),
        )
        .replace("output: out/demo", &format!("output: {}", output.display()));
    let pipeline = folder.path().join("demo.yaml");
    std::fs::write(&pipeline, text).unwrap();

    let columns = reference_mask("equispaced", &[0.08], &[4.0], 160, "phantom_gre_2coil.h5");
    let acceleration = 160.0 / columns.len() as f64;

    let table = run_with_data(&[pipeline.to_str().unwrap()]);
    table.assert_success();
    let header = header_cells(&table.stdout);
    assert_eq!(
        header,
        [
            "volume",
            "slices",
            "accel.",
            "samples",
            "nmse",
            "psnr_fastmri",
            "ssim_fastmri"
        ],
        "{}",
        table.stdout
    );
    let row = table_row(&table.stdout, "phantom_gre_2coil.h5");
    assert_eq!(row[1], "1", "{row:?}");
    assert_eq!(row[2], format!("{acceleration:.2}"), "{row:?}");
    assert_eq!(row[3], columns.len().to_string(), "{row:?}");
    assert!(
        table.stdout.contains("1 processed, 0 skipped, 0 failed in"),
        "{}",
        table.stdout
    );

    let json = run_with_data(&[pipeline.to_str().unwrap(), "--json"]);
    json.assert_success();
    let report = json.json();
    let volume = processed_volume(&report, "phantom_gre_2coil.h5");
    assert_eq!(volume["values"]["samples"], json!(columns.len()));
    assert_close(
        number(&volume["values"], "acceleration"),
        acceleration,
        1e-12,
        "realised acceleration",
    );
    assert_eq!(volume["values"]["mask"], "equispaced");

    let written = output.join("phantom_gre_2coil.h5");
    check_zero_filled(&input, &written, Some(&columns), [160, 160]);
    check_metrics(&report, &input, &written);
    assert!(metric(&report, "phantom_gre_2coil.h5", "nmse") < 0.2);

    assert_eq!(
        file_names(&output),
        [
            "phantom_gre_2coil.h5",
            "phantom_gre_2coil.kspace.png",
            "phantom_gre_2coil.mask.png",
            "phantom_gre_2coil.reconstruction.png",
            "phantom_gre_2coil.target.png",
        ]
    );
    check_png(
        &output.join("phantom_gre_2coil.reconstruction.png"),
        160,
        160,
    );
    check_png(&output.join("phantom_gre_2coil.target.png"), 160, 160);
    check_png(&output.join("phantom_gre_2coil.kspace.png"), 160, 320);
    check_png(&output.join("phantom_gre_2coil.mask.png"), 160, 320);
}

#[test]
fn phantom_demo_with_set_overrides() {
    let folder = temp_dir();
    let input = mri_file("phantom_gre_2coil.h5");
    let output = folder.path().join("set out");
    let run = run_with_data(&[
        "pipelines/demo.yaml",
        "--set",
        &format!("load.path={}", input.display()),
        "--set",
        &format!("write.output={}", output.display()),
        "--set",
        "write.png=false",
        "--json",
    ]);
    run.assert_success();
    let columns = reference_mask("equispaced", &[0.08], &[4.0], 160, "phantom_gre_2coil.h5");
    check_zero_filled(
        &input,
        &output.join("phantom_gre_2coil.h5"),
        Some(&columns),
        [160, 160],
    );
    assert_eq!(file_names(&output), ["phantom_gre_2coil.h5"]);
}

/// Runs a brain pipeline of the repository as it is, with only the output folder changed.
fn run_brain_pipeline(pipeline: &str, output: &Path) -> serde_json::Value {
    let set = format!("write.output={}", output.display());
    let run = run_with_data(&[pipeline, "--set", &set, "--json"]);
    run.assert_success();
    run.json()
}

#[test]
fn brain_random_x4_and_x8() {
    let folder = temp_dir();
    let input = mri_file("brain_t2_4coil.h5");
    let name = "brain_t2_4coil.h5";
    let mut scores = Vec::new();
    for (pipeline, fraction, acceleration) in [
        ("pipelines/brain_4coil_x4.yaml", 0.08, 4.0),
        ("pipelines/brain_4coil_x8.yaml", 0.04, 8.0),
    ] {
        let output = folder.path().join(format!("x{acceleration}"));
        let report = run_brain_pipeline(pipeline, &output);
        let columns = reference_mask("random", &[fraction], &[acceleration], 256, name);
        let volume = processed_volume(&report, name);
        assert_eq!(
            volume["values"]["samples"],
            json!(columns.len()),
            "{pipeline}"
        );
        let realised = number(&volume["values"], "acceleration");
        assert_close(realised, 256.0 / columns.len() as f64, 1e-12, pipeline);
        assert!(
            (realised - acceleration).abs() < 0.15 * acceleration,
            "{pipeline}: realised acceleration {realised} is far from {acceleration}"
        );

        let written = output.join(name);
        check_zero_filled(&input, &written, Some(&columns), [256, 256]);
        check_metrics(&report, &input, &written);
        for png in ["kspace", "mask", "reconstruction", "target"] {
            check_png(&output.join(format!("brain_t2_4coil.{png}.png")), 256, 256);
        }
        scores.push((
            metric(&report, name, "nmse"),
            metric(&report, name, "psnr_fastmri"),
            metric(&report, name, "ssim_fastmri"),
        ));
    }
    let ((nmse4, psnr4, ssim4), (nmse8, psnr8, ssim8)) = (scores[0], scores[1]);
    assert!(nmse4 > 0.0, "{scores:?}");
    assert!(nmse4 < nmse8, "8x must lose more than 4x: {scores:?}");
    assert!(nmse8 < 0.5, "{scores:?}");
    assert!(psnr4 > psnr8, "{scores:?}");
    assert!(psnr8 > 15.0, "{scores:?}");
    assert!(psnr4 < 45.0, "{scores:?}");
    assert!(ssim8 > 0.0, "{scores:?}");
    assert!(ssim8 < ssim4, "{scores:?}");
    assert!(ssim4 < 1.0, "{scores:?}");
}

#[test]
fn brain_stored_poisson_mask() {
    let folder = temp_dir();
    let input = mri_file("brain_8coil_poisson_x8.h5");
    let output = folder.path().join("stored");
    let set = format!("write.output={}", output.display());
    let table = run_with_data(&["pipelines/brain_8coil_stored_mask.yaml", "--set", &set]);
    table.assert_success();
    assert_eq!(
        header_cells(&table.stdout),
        ["volume", "slices", "accel.", "samples"],
        "a file without a target has no metric columns:\n{}",
        table.stdout
    );

    let report = run_brain_pipeline("pipelines/brain_8coil_stored_mask.yaml", &output);
    let stats = python_tool("mask_stats", &json!({"path": input}));
    let volume = processed_volume(&report, "brain_8coil_poisson_x8.h5");
    assert_eq!(volume["values"]["samples"], stats["sampled"]);
    assert_eq!(volume["values"]["mask"], "stored");
    let expected = number(&stats, "total") / number(&stats, "sampled");
    assert_close(
        number(&volume["values"], "acceleration"),
        expected,
        1e-12,
        "acceleration",
    );
    assert!(
        (expected - 8.0).abs() < 0.5,
        "the file is about 8x: {expected}"
    );
    assert_eq!(volume["metrics"], json!([]));

    let written = output.join("brain_8coil_poisson_x8.h5");
    let answer = python_tool(
        "zero_filled",
        &json!({"input": input, "prediction": written, "stored_mask": true, "crop": [180, 230]}),
    );
    assert_eq!(answer["shape"], json!([1, 180, 230]), "{answer}");
    assert_eq!(answer["dtype"], "float32", "{answer}");
    assert!(number(&answer, "relative") < 1e-5, "{answer}");
    assert_eq!(
        file_names(&output),
        [
            "brain_8coil_poisson_x8.h5",
            "brain_8coil_poisson_x8.kspace.png",
            "brain_8coil_poisson_x8.mask.png",
            "brain_8coil_poisson_x8.reconstruction.png",
        ]
    );
    check_png(&output.join("brain_8coil_poisson_x8.mask.png"), 230, 180);
}

#[test]
fn fully_sampled_zero_filled_equals_stored_target() {
    let folder = temp_dir();
    let pipeline = folder.path().join("full.yaml");
    let output = folder.path().join("full");
    std::fs::write(
        &pipeline,
        format!(
            "stages:\n  - stage: load\n    path: {}\n  - stage: zero_filled\n  - stage: metrics\n\
             \x20 - stage: write\n    output: {}\n    png: false\n",
            data_dir().join("mri").display(),
            output.display()
        ),
    )
    .unwrap();
    let run = run_with_data(&[pipeline.to_str().unwrap(), "--json"]);
    // The folder also contains the Poisson-masked file, which has no target and is scored by
    // nothing, so every file must succeed.
    run.assert_success();
    let report = run.json();
    for name in ["phantom_gre_2coil.h5", "brain_t2_4coil.h5"] {
        let input = mri_file(name);
        let answer = python_tool(
            "target_error",
            &json!({
                "input": input,
                "prediction": output.join(name),
                "dataset": "reconstruction_rss",
            }),
        );
        assert_eq!(answer["dtype"], "float32", "{name}: {answer}");
        assert!(number(&answer, "relative") < 1e-5, "{name}: {answer}");
        assert!(number(&answer, "max_abs") < 1e-5, "{name}: {answer}");
        assert!(metric(&report, name, "nmse") < 1e-10, "{name}");
        assert!(metric(&report, name, "ssim_fastmri") > 0.99999, "{name}");
        assert!(metric(&report, name, "psnr_fastmri") > 90.0, "{name}");
    }
}

// ---------------------------------------------------------------------------------------------
// Validation before any data is read

/// A load path that does not exist: an error about it means that data was read first.
const NEVER_READ: &str = "/nonexistent/never-read.h5";

struct Invalid {
    path: PathBuf,
    message: String,
    _folder: tempfile::TempDir,
}

/// Writes `text` to `p.yaml`, runs `dps run p.yaml ARGS` and returns its error message.
fn invalid_pipeline(text: &str, args: &[&str]) -> Invalid {
    let folder = temp_dir();
    let path = folder.path().join("p.yaml");
    std::fs::write(&path, text).unwrap();
    let mut all = vec!["run", path.to_str().unwrap()];
    all.extend_from_slice(args);
    let run = dps(&all);
    run.assert_failure();
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let message = run.error_lines();
    assert!(!message.is_empty(), "no error line in:\n{}", run.stderr);
    assert!(
        !message.contains("never-read") && !message.contains("cannot list input"),
        "data was read before validation:\n{message}"
    );
    Invalid {
        path,
        message,
        _folder: folder,
    }
}

impl Invalid {
    fn assert_at(&self, line: usize, column: usize) -> &Self {
        let location = format!("{}:{line}:{column}:", self.path.display());
        assert!(
            self.message.contains(&location),
            "expected location {location} in:\n{}",
            self.message
        );
        self
    }

    fn assert_says(&self, parts: &[&str]) -> &Self {
        for part in parts {
            assert!(
                self.message.contains(part),
                "expected `{part}` in:\n{}",
                self.message
            );
        }
        self
    }
}

fn mask_pipeline(mask_lines: &str) -> String {
    format!(
        "name: test\nstages:\n  - stage: load\n    path: {NEVER_READ}\n  - stage: mask\n\
         {mask_lines}  - stage: zero_filled\n"
    )
}

#[test]
fn unknown_stage_lists_valid_names() {
    let text = format!("stages:\n  - stage: load\n    path: {NEVER_READ}\n  - stage: maks\n");
    invalid_pipeline(&text, &[]).assert_at(4, 5).assert_says(&[
        "unknown stage `maks`",
        "load, mask, metrics, write, zero_filled",
    ]);
}

#[test]
fn unknown_parameter_key_points_at_key() {
    let text =
        mask_pipeline("    type: random\n    center_fraction: [0.08]\n    accelerations: [4]\n");
    invalid_pipeline(&text, &[]).assert_at(7, 5).assert_says(&[
        "stage `mask`",
        "parameter `center_fraction`",
        "unknown field `center_fraction`",
        "`center_fractions`",
    ]);
}

#[test]
fn wrong_parameter_type_is_reported() {
    let text =
        mask_pipeline("    type: random\n    center_fractions: [0.08]\n    accelerations: four\n");
    invalid_pipeline(&text, &[]).assert_at(8, 5).assert_says(&[
        "parameter `accelerations`",
        "invalid type",
        "string \"four\"",
        "expected a sequence",
    ]);
    let text = format!(
        "stages:\n  - stage: load\n    path: {NEVER_READ}\n  - stage: zero_filled\n\
         \x20 - stage: write\n    output: out\n    png: maybe\n"
    );
    invalid_pipeline(&text, &[]).assert_at(7, 5).assert_says(&[
        "stage `write`",
        "parameter `png`",
        "expected a boolean",
    ]);
}

#[test]
fn out_of_range_values_are_reported() {
    let text =
        mask_pipeline("    type: random\n    center_fractions: [1.5]\n    accelerations: [4]\n");
    invalid_pipeline(&text, &[]).assert_at(7, 5).assert_says(&[
        "parameter `center_fractions`",
        "1.5",
        "strictly between 0 and 1",
    ]);
    let text =
        mask_pipeline("    type: random\n    center_fractions: [0.08]\n    accelerations: [0]\n");
    invalid_pipeline(&text, &[]).assert_at(8, 5).assert_says(&[
        "parameter `accelerations`",
        "acceleration 0",
        "at least 1",
    ]);
    let text = mask_pipeline(
        "    type: random\n    center_fractions: [0.08, 0.04]\n    accelerations: [4]\n",
    );
    invalid_pipeline(&text, &[]).assert_says(&["2 center fractions but 1 accelerations"]);
    let text = format!(
        "stages:\n  - stage: load\n    path: {NEVER_READ}\n  - stage: zero_filled\n    crop: [0, 3]\n"
    );
    invalid_pipeline(&text, &[]).assert_at(5, 5).assert_says(&[
        "stage `zero_filled`",
        "parameter `crop`",
        "expected recon, none or [h, w] with two positive integers, found [0,3]",
    ]);
}

#[test]
fn stage_order_mismatch_is_reported() {
    let text = format!(
        "stages:\n  - stage: load\n    path: {NEVER_READ}\n  - stage: zero_filled\n\
         \x20 - stage: mask\n    type: random\n    center_fractions: [0.08]\n    accelerations: [4]\n"
    );
    invalid_pipeline(&text, &[]).assert_at(5, 3).assert_says(&[
        "stage 3 `mask` expects k-space",
        "stage 2 `zero_filled` produces an image",
    ]);
    let text = format!("stages:\n  - stage: load\n    path: {NEVER_READ}\n  - stage: metrics\n");
    invalid_pipeline(&text, &[]).assert_at(4, 3).assert_says(&[
        "stage 2 `metrics` expects an image",
        "stage 1 `load` produces k-space",
    ]);
    let text = "stages:\n  - stage: zero_filled\n";
    invalid_pipeline(text, &[]).assert_at(2, 3).assert_says(&[
        "stage 1 `zero_filled` expects k-space or masked k-space",
        "the start of the pipeline produces no input",
    ]);
}

#[test]
fn empty_and_malformed_documents() {
    let empty = invalid_pipeline("name: nothing\nstages: []\n", &[]);
    empty.assert_says(&["the pipeline has no stages", "`stages:`"]);
    assert!(empty.message.contains(&empty.path.display().to_string()));

    invalid_pipeline("stages:\n  - path: a.h5\n", &[])
        .assert_at(2, 3)
        .assert_says(&["stage 1", "missing key `stage`"]);
    invalid_pipeline("stagess: []\n", &[])
        .assert_at(1, 1)
        .assert_says(&["unknown field `stagess`"]);
    invalid_pipeline("stages:\n  - stage: 5\n", &[])
        .assert_at(2, 5)
        .assert_says(&["`stage` must be a string, found number"]);
}

#[test]
fn malformed_set_is_reported() {
    let text =
        mask_pipeline("    type: random\n    center_fractions: [0.08]\n    accelerations: [4]\n");
    invalid_pipeline(&text, &["--set", "mask"])
        .assert_says(&["invalid --set `mask`", "expected STAGE.KEY=VALUE"]);
    invalid_pipeline(&text, &["--set", "mask.accelerations=[4"])
        .assert_says(&["invalid --set `mask.accelerations=[4`", "not valid YAML"]);
    invalid_pipeline(&text, &["--set", "denoise.strength=2"]).assert_says(&[
        "invalid --set `denoise.strength=2`",
        "no stage `denoise`",
        "stage ids are: load, mask, zero_filled",
    ]);
    invalid_pipeline(&text, &["--set", "mask.accelerations=[0]"])
        .assert_at(8, 5)
        .assert_says(&[
            "parameter `accelerations`",
            "acceleration 0",
            "(value set by --set mask.accelerations=[0])",
        ]);
}

#[test]
fn unset_variable_without_default_is_reported() {
    let text = "stages:\n  - stage: load\n    path: ${DPS_TEST_UNSET_VARIABLE}/a.h5\n\
                \x20 - stage: zero_filled\n";
    invalid_pipeline(text, &[]).assert_at(3, 5).assert_says(&[
        "stage `load`",
        "parameter `path`",
        "environment variable `DPS_TEST_UNSET_VARIABLE`",
        "is not set",
        "${DPS_TEST_UNSET_VARIABLE:-default}",
    ]);
}

#[test]
fn build_errors_carry_structured_fields() {
    let folder = temp_dir();
    let path = folder.path().join("p.yaml");
    std::fs::write(
        &path,
        mask_pipeline("    type: random\n    center_fractions: [1.5]\n    accelerations: [4]\n"),
    )
    .unwrap();
    let registry = Registry::with_builtins();
    let Err(error) = Pipeline::from_path(&path, &[], &registry) else {
        panic!("an invalid centre fraction was accepted");
    };
    match error {
        PipelineError::InvalidParameter {
            path: file,
            line,
            column,
            stage,
            key,
            overridden_by,
            ..
        } => {
            assert_eq!(file, path);
            assert_eq!((line, column), (Some(7), Some(5)));
            assert_eq!(stage, "mask");
            assert_eq!(key, "center_fractions");
            assert_eq!(overridden_by, None);
        }
        other => panic!("expected InvalidParameter, got {other:?}"),
    }

    let overrides = ["mask.center_fractions=[0.08]".to_string()];
    let pipeline = Pipeline::from_path(&path, &overrides, &registry).unwrap();
    assert_eq!(pipeline.stage_ids(), ["load", "mask", "zero_filled"]);
    let Err(error) = pipeline.inputs() else {
        panic!("a missing input was listed");
    };
    assert!(error.to_string().contains(NEVER_READ), "{error}");
}

#[test]
fn windows_style_file_has_locations() {
    let text = mask_pipeline("    type: random\n    typo: 1\n").replace('\n', "\r\n");
    invalid_pipeline(&format!("\u{feff}{text}"), &[])
        .assert_at(7, 5)
        .assert_says(&["parameter `typo`", "unknown field `typo`"]);
}
