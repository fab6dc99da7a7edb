//! The `dps` binary's smaller commands end to end: `mask`, `stages`, `inspect`, `convert` and
//! `eval`, and how the binary behaves when its output goes nowhere.
//!
//! Mask columns are fastMRI's reference values for the seed "file1000001.h5"; file contents
//! are checked with h5py and BART.

mod common;

use std::process::Stdio;

use common::{
    assert_close, dps, dps_command, metric, mri_file, number, python_tool, report_names, run_bart,
    temp_dir, write_volumes,
};
use serde_json::json;

fn indices(summary: &serde_json::Value) -> Vec<usize> {
    summary["indices"]
        .as_array()
        .unwrap_or_else(|| panic!("no indices in {summary}"))
        .iter()
        .map(|v| v.as_u64().expect("an index") as usize)
        .collect()
}

const RANDOM_X4: [&str; 11] = [
    "mask",
    "--type",
    "random",
    "--center-fractions",
    "0.08",
    "--accelerations",
    "4",
    "--width",
    "368",
    "--seed-name",
    "file1000001.h5",
];

// ---------------------------------------------------------------------------------------------
// dps mask

#[test]
fn mask_random_x4_matches_fastmri() {
    let mut args = RANDOM_X4.to_vec();
    args.push("--json");
    let run = dps(&args);
    run.assert_success();
    let summary = run.json();
    let columns = indices(&summary);
    assert_eq!(columns.len(), 81, "{summary}");
    assert_eq!(columns[..10], [3, 6, 7, 11, 15, 16, 31, 35, 38, 48]);
    assert_eq!(columns.last(), Some(&354));
    assert_eq!(summary["count"], 81);
    assert_eq!(summary["width"], 368);
    assert_close(
        number(&summary, "acceleration"),
        368.0 / 81.0,
        1e-12,
        "acceleration",
    );
    // The 29 centre columns 170..=198 are all sampled.
    assert!((170..=198).all(|c| columns.contains(&c)), "{columns:?}");
    assert_eq!(summary["fastmri"]["num_low_frequencies"], 29);

    let text = dps(&RANDOM_X4);
    text.assert_success();
    assert!(text.stdout.contains("samples: 81\n"), "{}", text.stdout);
    assert!(
        text.stdout.contains("indices: 3 6 7 11 15 16 31 35 38 48 "),
        "{}",
        text.stdout
    );
}

#[test]
fn mask_two_pairs_picks_eight_fold() {
    let run = dps(&[
        "mask",
        "--type",
        "random",
        "--center-fractions",
        "0.08,0.04",
        "--accelerations",
        "4,8",
        "--width",
        "368",
        "--seed-name",
        "file1000001.h5",
        "--json",
    ]);
    run.assert_success();
    let summary = run.json();
    assert_eq!(indices(&summary).len(), 48, "{summary}");
    assert_eq!(summary["fastmri"]["center_fraction"], 0.04);
    assert_eq!(summary["fastmri"]["acceleration"], 8.0);
}

#[test]
fn mask_png_shows_sampled_columns() {
    let folder = temp_dir();
    let path = folder.path().join("mask with space.png");
    let mut args = RANDOM_X4.to_vec();
    args.extend(["--png", path.to_str().unwrap(), "--height", "40", "--json"]);
    let run = dps(&args);
    run.assert_success();
    let columns = indices(&run.json());
    let image = image::open(&path).expect("a PNG").to_luma8();
    assert_eq!(image.dimensions(), (368, 40));
    for column in 0..368u32 {
        let sampled = columns.contains(&(column as usize));
        for row in [0, 39] {
            let value = image.get_pixel(column, row)[0];
            assert_eq!(value > 127, sampled, "pixel ({row}, {column}) is {value}");
        }
    }
}

#[test]
fn mask_padding_keeps_columns_inside() {
    let mut args = RANDOM_X4.to_vec();
    args.extend(["--padding", "18,352", "--json"]);
    let run = dps(&args);
    run.assert_success();
    let columns = indices(&run.json());
    assert!(!columns.is_empty());
    assert!(
        columns.iter().all(|&c| (18..352).contains(&c)),
        "{columns:?}"
    );
}

#[test]
fn mask_bad_arguments_fail_clearly() {
    let base = ["mask", "--type", "random", "--width", "368"];
    let cases: Vec<(Vec<&str>, &[&str])> = vec![
        (
            vec!["mask", "--type", "bogus", "--width", "10"],
            &["unknown mask type `bogus`", "random, equispaced"],
        ),
        (base.to_vec(), &["no (center fraction, acceleration) pair"]),
        (
            [
                &base[..],
                &["--center-fractions", "0.08", "--accelerations", "4,8"],
            ]
            .concat(),
            &["1 center fractions but 2 accelerations"],
        ),
        (
            [
                &base[..],
                &["--center-fractions", "1.5", "--accelerations", "4"],
            ]
            .concat(),
            &["center fraction 1.5", "between 0 and 1"],
        ),
        (
            [
                &base[..],
                &["--center-fractions", "0.08", "--accelerations", "0"],
            ]
            .concat(),
            &["acceleration 0", "at least 1"],
        ),
        (
            vec![
                "mask",
                "--type",
                "random",
                "--width",
                "0",
                "--center-fractions",
                "0.08",
                "--accelerations",
                "4",
            ],
            &["invalid mask width 0"],
        ),
        (
            vec![
                "mask",
                "--type",
                "random",
                "--width",
                "100000000000",
                "--center-fractions",
                "0.08",
                "--accelerations",
                "4",
            ],
            &["larger than the maximum mask size 16384"],
        ),
        (
            vec!["mask", "--type", "random", "--width", "abc"],
            &["invalid value 'abc' for '--width"],
        ),
        (
            [&RANDOM_X4[..], &["--padding", "18"]].concat(),
            &["expected LEFT,RIGHT"],
        ),
        (
            [&RANDOM_X4[..], &["--padding", "300,10"]].concat(),
            &["invalid padding [300, 10)"],
        ),
        (
            vec!["mask", "--type", "lines_uniform", "--width", "10"],
            &["--samples is required"],
        ),
        (
            vec![
                "mask",
                "--type",
                "grid_random",
                "--width",
                "10",
                "--samples",
                "4",
            ],
            &["--height is required"],
        ),
        (
            [&RANDOM_X4[..], &["--png", "/nonexistent/folder/m.png"]].concat(),
            &["/nonexistent/folder/m.png"],
        ),
    ];
    for (args, expected) in cases {
        let run = dps(&args);
        run.assert_failure();
        let message = run.error_lines();
        for part in expected {
            assert!(
                message.contains(part),
                "`dps {}`: expected `{part}` in:\n{}",
                args.join(" "),
                run.stderr
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// dps stages

const STAGE_NAMES: [&str; 5] = ["load", "mask", "metrics", "write", "zero_filled"];

#[test]
fn stages_text_lists_parameters_and_defaults() {
    let run = dps(&["stages"]);
    run.assert_success();
    let names: Vec<&str> = run
        .stdout
        .lines()
        .filter(|line| !line.starts_with(' ') && !line.is_empty())
        .map(|line| line.split(':').next().unwrap())
        .collect();
    assert_eq!(names, STAGE_NAMES, "{}", run.stdout);
    let parameter = |name: &str| {
        run.stdout
            .lines()
            .find(|line| line.trim_start().starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no parameter line for {name}:\n{}", run.stdout))
            .split_whitespace()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(parameter("path")[1..4], ["string", "default", "required"]);
    assert_eq!(
        parameter("respect_padding")[1..4],
        ["boolean", "default", "true"]
    );
    let crop = parameter("crop");
    let default = crop.iter().position(|cell| cell == "default").unwrap();
    assert_eq!(crop[default + 1], "recon", "{crop:?}");
    assert_eq!(parameter("output")[3], "required");
    assert_eq!(parameter("png")[3], "true");
    assert_eq!(parameter("require_target")[3], "false");
}

#[test]
fn stages_json_lists_parameters_and_defaults() {
    let run = dps(&["stages", "--json"]);
    run.assert_success();
    let listing = run.json();
    let stages = listing.as_array().expect("a list of stages");
    let names: Vec<&str> = stages.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, STAGE_NAMES);
    let default = |stage: &str, param: &str| {
        let entry = stages.iter().find(|s| s["name"] == stage).unwrap();
        assert!(
            entry["summary"].as_str().is_some_and(|s| !s.is_empty()),
            "{entry}"
        );
        entry["params"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == param)
            .unwrap_or_else(|| panic!("no parameter {param} of {stage}"))["default"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(default("load", "path"), "required");
    assert_eq!(default("load", "target"), "auto");
    assert_eq!(default("mask", "type"), "required");
    assert_eq!(default("mask", "seed"), "file name");
    assert_eq!(default("mask", "respect_padding"), "true");
    assert_eq!(default("zero_filled", "crop"), "recon");
    assert_eq!(default("metrics", "metrics"), "[nmse, psnr, ssim]");
    assert_eq!(default("write", "output"), "required");
    assert_eq!(default("write", "reconstruction"), "true");
    assert_eq!(default("write", "png"), "true");
}

// ---------------------------------------------------------------------------------------------
// dps inspect

#[test]
fn inspect_real_files_text() {
    let run = dps(&[
        "inspect".as_ref(),
        mri_file("phantom_gre_2coil.h5").as_os_str(),
    ]);
    run.assert_success();
    for part in [
        "format: fastMRI HDF5, multi-coil",
        "kspace: slices = 1, coils = 2, H = 320, W = 160",
        "recon size: 160 x 160",
        "targets: reconstruction_rss",
        "acquisition = \"GRE_PHANTOM\"",
    ] {
        assert!(
            run.stdout.contains(part),
            "expected `{part}` in:\n{}",
            run.stdout
        );
    }
    let run = dps(&[
        "inspect".as_ref(),
        mri_file("brain_8coil_poisson_x8.h5").as_os_str(),
    ]);
    run.assert_success();
    assert!(
        run.stdout
            .contains("mask: (180, 230), 5148 of 41400 sampled"),
        "{}",
        run.stdout
    );
}

#[test]
fn inspect_real_files_json_match_h5py() {
    for name in [
        "phantom_gre_2coil.h5",
        "brain_t2_4coil.h5",
        "brain_8coil_poisson_x8.h5",
    ] {
        let path = mri_file(name);
        let run = dps(&["inspect".as_ref(), path.as_os_str(), "--json".as_ref()]);
        run.assert_success();
        let inspection = run.json();
        let h5py = python_tool("datasets", &json!({"path": path}));
        let datasets = inspection["datasets"].as_array().expect("datasets");
        assert_eq!(
            datasets.len(),
            h5py.as_object().unwrap().len(),
            "{name}: {inspection}"
        );
        for dataset in datasets {
            let dataset_name = dataset["name"].as_str().unwrap();
            assert_eq!(
                dataset["shape"], h5py[dataset_name]["shape"],
                "{name}/{dataset_name}"
            );
        }
        let shape = &h5py["kspace"]["shape"];
        assert_eq!(inspection["kspace"]["slices"], shape[0], "{name}");
        assert_eq!(inspection["kspace"]["coils"], shape[1], "{name}");
        assert_eq!(inspection["kspace"]["height"], shape[2], "{name}");
        assert_eq!(inspection["kspace"]["width"], shape[3], "{name}");
        if name == "brain_8coil_poisson_x8.h5" {
            let stats = python_tool("mask_stats", &json!({"path": path}));
            assert_eq!(inspection["mask"]["sampled"], stats["sampled"]);
            assert_eq!(inspection["mask"]["total"], stats["total"]);
        }
    }
}

#[test]
fn inspect_bad_files_fail_clearly() {
    let folder = temp_dir();
    let text = folder.path().join("notes.h5");
    std::fs::write(&text, "not HDF5\n".repeat(20)).unwrap();
    let empty = folder.path().join("empty.h5");
    std::fs::write(&empty, b"").unwrap();
    for (path, expected) in [
        (text, "not an HDF5 file"),
        (empty, "the file is empty"),
        (
            folder.path().join("missing.h5"),
            "No such file or directory",
        ),
        (folder.path().to_path_buf(), "is a directory"),
    ] {
        let run = dps(&["inspect".as_ref(), path.as_os_str()]);
        run.assert_failure();
        let message = run.error_lines();
        assert!(message.contains(expected), "{}: {message}", path.display());
        assert!(
            message.contains(&path.display().to_string()),
            "the message names the file: {message}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// dps convert

#[test]
fn convert_round_trip_against_bart() {
    let folder = temp_dir();
    let dir = folder.path();
    run_bart(dir, &["phantom", "-k", "-s", "2", "-x", "32", "ph"]);

    let run = dps(&[
        "convert".as_ref(),
        dir.join("ph.cfl").as_os_str(),
        dir.join("ph.h5").as_os_str(),
        "--target".as_ref(),
        "rss".as_ref(),
    ]);
    run.assert_success();
    let answer = python_tool(
        "cfl_vs_h5",
        &json!({"cfl": dir.join("ph.cfl"), "h5": dir.join("ph.h5")}),
    );
    assert_eq!(answer["cfl_shape"], json!([1, 2, 32, 32]), "{answer}");
    assert_eq!(answer["h5_shape"], json!([1, 2, 32, 32]), "{answer}");
    assert_eq!(answer["dtype"], "complex64", "{answer}");
    assert_eq!(number(&answer, "kspace_max_abs"), 0.0, "{answer}");
    assert_eq!(answer["rss_shape"], json!([1, 32, 32]), "{answer}");
    assert!(number(&answer, "rss_relative") < 1e-6, "{answer}");

    let inspect = dps(&["inspect".as_ref(), dir.join("ph.h5").as_os_str()]);
    inspect.assert_success();
    assert!(
        inspect
            .stdout
            .contains("kspace: slices = 1, coils = 2, H = 32, W = 32"),
        "{}",
        inspect.stdout
    );

    let run = dps(&[
        "convert".as_ref(),
        dir.join("ph.h5").as_os_str(),
        dir.join("back.cfl").as_os_str(),
    ]);
    run.assert_success();
    let header = std::fs::read_to_string(dir.join("back.hdr")).unwrap();
    let dims: Vec<&str> = header
        .lines()
        .skip_while(|line| !line.starts_with("# Dimensions"))
        .nth(1)
        .expect("a dimensions line")
        .split_whitespace()
        .collect();
    assert_eq!(dims[..4], ["32", "32", "1", "2"], "{header}");
    assert!(dims[4..].iter().all(|d| *d == "1"), "{header}");
    assert_eq!(
        std::fs::read(dir.join("back.cfl")).unwrap(),
        std::fs::read(dir.join("ph.cfl")).unwrap(),
        "the round trip changed the samples"
    );
    let nrmse = run_bart(dir, &["nrmse", "ph", "back"]);
    let nrmse: f64 = nrmse.trim().parse().expect("bart nrmse prints a number");
    assert_eq!(nrmse, 0.0);
}

#[test]
fn convert_bad_arguments_fail_clearly() {
    let folder = temp_dir();
    let dir = folder.path();
    run_bart(dir, &["phantom", "-k", "-x", "8", "ph"]);
    std::fs::write(dir.join("text.h5"), "plain text\n".repeat(10)).unwrap();
    let cases = [
        (
            vec![dir.join("ph.cfl"), dir.join("out.txt")],
            "unknown file format",
        ),
        (
            vec![dir.join("ph.cfl"), dir.join("out.cfl")],
            "expected a fastMRI output",
        ),
        (
            vec![dir.join("text.h5"), dir.join("x.cfl")],
            "not an HDF5 file",
        ),
        (vec![dir.join("missing.cfl"), dir.join("x.h5")], "missing"),
    ];
    for (paths, expected) in cases {
        let mut args = vec!["convert".as_ref()];
        args.extend(paths.iter().map(|p| p.as_os_str()));
        let run = dps(&args);
        run.assert_failure();
        assert!(
            run.error_lines().contains(expected),
            "{paths:?}: {}",
            run.stderr
        );
    }
}

// ---------------------------------------------------------------------------------------------
// dps eval

fn eval_volume<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["scores"]["volumes"]
        .as_array()
        .expect("volumes")
        .iter()
        .find(|v| v["volume"] == name)
        .map(|v| &v["values"])
        .unwrap_or_else(|| panic!("{name} was not scored: {report}"))
}

#[test]
fn eval_matches_metrics_stage() {
    let folder = temp_dir();
    let targets = folder.path().join("targets");
    let predictions = folder.path().join("predictions");
    let names = ["file_a.h5", "file_b.h5", "file_c.h5"];
    let specs: Vec<serde_json::Value> = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            json!({"name": name, "shape": [2, 3, 48, 40], "recon": [32, 32], "seed": i})
        })
        .collect();
    write_volumes(&targets, &specs);
    let pipeline = folder.path().join("p.yaml");
    std::fs::write(
        &pipeline,
        "stages:\n  - stage: load\n    path: unused\n  - stage: mask\n    type: random\n\
         \x20   center_fractions: [0.08]\n    accelerations: [4]\n  - stage: zero_filled\n\
         \x20 - stage: metrics\n  - stage: write\n    output: unused\n    png: false\n",
    )
    .unwrap();
    let recon = dps(&[
        "recon".as_ref(),
        "--pipeline".as_ref(),
        pipeline.as_os_str(),
        "--input".as_ref(),
        targets.as_os_str(),
        "--output".as_ref(),
        predictions.as_os_str(),
        "--json".as_ref(),
    ]);
    recon.assert_success();
    let batch = recon.json();

    let eval_args = |json: bool| {
        let mut args = vec![
            "eval".to_string(),
            "--target-path".into(),
            targets.display().to_string(),
            "--predictions-path".into(),
            predictions.display().to_string(),
            "--challenge".into(),
            "multicoil".into(),
        ];
        if json {
            args.push("--json".into());
        }
        args
    };
    let run = dps(&eval_args(true));
    run.assert_success();
    let report = run.json();
    for name in names {
        let scores = eval_volume(&report, name);
        for (key, stage_key) in [
            ("nmse", "nmse"),
            ("psnr_fastmri", "psnr_fastmri"),
            ("ssim_fastmri", "ssim_fastmri"),
        ] {
            let stage_value = metric(&batch, name, stage_key);
            assert_close(
                number(scores, key),
                stage_value,
                1e-9,
                &format!("{name} {key}"),
            );
        }
        let expected = python_tool(
            "metrics",
            &json!({
                "target": targets.join(name),
                "dataset": "reconstruction_rss",
                "prediction": predictions.join(name),
            }),
        );
        assert_close(
            number(scores, "nmse"),
            number(&expected, "nmse"),
            1e-6,
            name,
        );
        assert_close(
            number(scores, "ssim_fastmri"),
            number(&expected, "ssim"),
            1e-5,
            name,
        );
    }
    assert_eq!(report["missing_predictions"], json!([]));
    assert_eq!(report["extra_predictions"], json!([]));

    std::fs::remove_file(predictions.join("file_b.h5")).unwrap();
    std::fs::copy(predictions.join("file_a.h5"), predictions.join("extra.h5")).unwrap();
    let run = dps(&eval_args(true));
    run.assert_success();
    let report = run.json();
    assert_eq!(report["missing_predictions"], json!(["file_b.h5"]));
    assert_eq!(report["extra_predictions"], json!(["extra.h5"]));
    assert_eq!(report["scores"]["volumes"].as_array().unwrap().len(), 2);

    let text = dps(&eval_args(false));
    text.assert_success();
    assert!(
        text.stdout.contains("missing prediction: file_b.h5"),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout
            .contains("extra prediction (no target): extra.h5"),
        "{}",
        text.stdout
    );
    assert!(text.stdout.contains("NMSE = "), "{}", text.stdout);
    assert_eq!(report_names(&batch, "processed"), names);
}

#[test]
fn eval_missing_folder_fails_once() {
    let folder = temp_dir();
    let run = dps(&[
        "eval".as_ref(),
        "--target-path".as_ref(),
        folder.path().as_os_str(),
        "--predictions-path".as_ref(),
        folder.path().join("missing").as_os_str(),
        "--challenge".as_ref(),
        "multicoil".as_ref(),
    ]);
    run.assert_failure();
    let message = run.error_lines();
    assert!(message.contains("missing"), "{message}");
    assert_eq!(
        message.matches("No such file or directory").count(),
        1,
        "the cause is printed once: {message}"
    );
}

// ---------------------------------------------------------------------------------------------
// Output that goes nowhere

#[test]
fn closed_stdout_pipe_is_not_a_panic() {
    // About 150 kB of JSON, more than a pipe buffer holds, so writing must meet the closed
    // read end.
    let mut child = dps_command(common::repo())
        .args([
            "mask",
            "--type",
            "lines_uniform",
            "--samples",
            "16384",
            "--width",
            "16384",
            "--json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start the dps binary");
    drop(child.stdout.take());
    let output = child.wait_with_output().expect("dps did not finish");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(output.status.code(), Some(0), "{stderr}");
}

#[test]
fn full_stdout_is_an_error() {
    let Ok(full) = std::fs::File::create("/dev/full") else {
        panic!("/dev/full is missing; this test needs a Linux machine");
    };
    let output = dps_command(common::repo())
        .args(["stages"])
        .stdout(full)
        .output()
        .expect("cannot start the dps binary");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("failed to write to standard output"),
        "{stderr}"
    );
}

#[test]
fn missing_pipeline_cause_printed_once() {
    let run = dps(&["run", "/nonexistent/pipeline.yaml"]);
    run.assert_failure();
    let message = run.error_lines();
    assert!(
        message.contains("cannot read pipeline file /nonexistent/pipeline.yaml"),
        "{message}"
    );
    assert_eq!(
        message.matches("No such file or directory").count(),
        1,
        "{message}"
    );
}

#[test]
fn resume_of_a_reconstruction_pipeline_is_refused() {
    let run = dps(&["run", "pipelines/demo.yaml", "--resume"]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("--resume continues a training experiment")
            && run.stderr.contains("pipelines/demo.yaml"),
        "{}",
        run.stderr
    );
}

#[test]
fn sweep_and_experiment_files_name_their_command() {
    let run = dps(&["run", "pipelines/mnist/sweep_pixel.yaml"]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(
        run.stderr.contains("run it with `dps sweep`"),
        "{}",
        run.stderr
    );
    #[cfg(feature = "torch")]
    {
        let run = dps(&["sweep", "pipelines/mnist/uniform_pixel.yaml"]);
        assert_eq!(run.code, Some(1), "{}", run.stderr);
        assert!(
            run.stderr.contains("run it with `dps run`"),
            "{}",
            run.stderr
        );
    }
}

#[cfg(feature = "torch")]
#[test]
fn sweep_key_typo_names_the_key() {
    let folder = temp_dir();
    let sweep = folder.path().join("typo.yaml");
    std::fs::write(
        &sweep,
        "sweep: typo\nexperiment:\n  - uniform_pixel.yaml\nsamples: [8]\noutput: out\n",
    )
    .unwrap();
    let run = dps(&[std::ffi::OsStr::new("sweep"), sweep.as_os_str()]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(
        run.stderr.contains("unknown field `experiment`"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("single experiment"), "{}", run.stderr);
}

#[test]
fn resume_of_missing_file_says_not_found() {
    let run = dps(&["run", "pipelines/no_such_pipeline.yaml", "--resume"]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("cannot read pipeline file pipelines/no_such_pipeline.yaml: not found"),
        "{}",
        run.stderr
    );
}
