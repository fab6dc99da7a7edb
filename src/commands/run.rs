//! `dps run`, `dps recon` and `dps stages`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use dps::pipeline::{Pipeline, PipelineFile, Registry};
use dps::recon::{self, BatchOptions, BatchReport, Shard};

use super::progress::SliceProgress;
use super::report;

#[derive(Args)]
pub struct RunArgs {
    /// Pipeline file (YAML).
    pipeline: PathBuf,
    /// Override a setting, VALUE in YAML (repeatable): STAGE.KEY=VALUE for a pipeline,
    /// KEY.PATH=VALUE (e.g. train.epochs=5) for an experiment.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    overrides: Vec<String>,
    /// Worker threads (default: one per core).
    #[arg(long, short)]
    jobs: Option<usize>,
    /// Print the results as JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Training experiments: continue from the last checkpoint of the run folder.
    #[arg(long)]
    resume: bool,
}

#[derive(Args)]
pub struct ReconArgs {
    /// Pipeline file (YAML) whose first stage reads k-space and which has a `write` stage.
    #[arg(long)]
    pipeline: PathBuf,
    /// K-space file, or folder of *.h5 / *.cfl files.
    #[arg(long)]
    input: PathBuf,
    /// Output folder; replaces the `output` of every `write` stage.
    #[arg(long)]
    output: PathBuf,
    /// Worker threads (default: one per core).
    #[arg(long, short)]
    jobs: Option<usize>,
    /// Process only shard I of N (zero-based). Default: from SLURM_ARRAY_TASK_ID and
    /// SLURM_ARRAY_TASK_COUNT when set, else all inputs.
    #[arg(long, value_name = "I/N")]
    shard: Option<String>,
    /// Reconstruct inputs whose outputs already exist.
    #[arg(long)]
    overwrite: bool,
    /// Override a stage parameter: STAGE.KEY=VALUE, VALUE in YAML (repeatable).
    #[arg(long = "set", value_name = "STAGE.KEY=VALUE")]
    overrides: Vec<String>,
    /// Print the results as JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct SweepArgs {
    /// Sweep file (YAML) listing experiments and sample budgets.
    sweep: PathBuf,
    /// Override a setting of every experiment: KEY.PATH=VALUE, VALUE in YAML (repeatable).
    #[arg(long = "set", value_name = "KEY.PATH=VALUE")]
    overrides: Vec<String>,
}

#[derive(Args)]
pub struct EvalCheckpointArgs {
    /// Experiment file (YAML) that trained the checkpoint.
    experiment: PathBuf,
    /// `best`, `last`, or the path of a checkpoint file.
    #[arg(long, default_value = "best")]
    checkpoint: String,
    /// Override a setting: KEY.PATH=VALUE, VALUE in YAML (repeatable).
    #[arg(long = "set", value_name = "KEY.PATH=VALUE")]
    overrides: Vec<String>,
}

#[derive(Args)]
pub struct StagesArgs {
    /// Print as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: RunArgs, verbosity: &str) -> anyhow::Result<ExitCode> {
    let progress = SliceProgress::new(!args.json && std::io::stderr().is_terminal());
    progress.install_logging(verbosity);
    anyhow::ensure!(
        !has_top_level_key(&args.pipeline, "sweep"),
        "{} is a sweep file (it has a top-level `sweep` key); run it with `dps sweep`",
        args.pipeline.display()
    );
    if is_experiment_file(&args.pipeline) {
        #[cfg(feature = "torch")]
        progress.install_epoch_progress();
        let code = run_experiment(&args);
        progress.finish();
        return code;
    }
    anyhow::ensure!(
        !args.resume || args.pipeline.is_file(),
        "cannot read pipeline file {}: not found",
        args.pipeline.display()
    );
    anyhow::ensure!(
        !args.resume,
        "--resume continues a training experiment, but {} has no top-level `experiment` key; \
         run it without --resume",
        args.pipeline.display()
    );
    let registry = Registry::with_builtins();
    let pipeline = Pipeline::from_path(&args.pipeline, &args.overrides, &registry)?;
    let inputs = pipeline.inputs()?;
    let options = BatchOptions {
        jobs: args.jobs,
        shard: None,
        overwrite: true,
    };
    let report = recon::run_batch(&pipeline, &inputs, &options, &progress)?;
    progress.finish();
    finish(&report, args.json)
}

pub fn recon(args: ReconArgs, verbosity: &str) -> anyhow::Result<ExitCode> {
    let progress = SliceProgress::new(!args.json && std::io::stderr().is_terminal());
    progress.install_logging(verbosity);
    let registry = Registry::with_builtins();
    let mut file = PipelineFile::read(&args.pipeline)?;
    for argument in &args.overrides {
        file.apply_override(argument)?;
    }
    let writers: Vec<usize> = file
        .stages
        .iter()
        .filter(|entry| entry.stage == "write")
        .map(|entry| entry.index)
        .collect();
    anyhow::ensure!(
        !writers.is_empty(),
        "pipeline {} has no `write` stage, so `dps recon` would write nothing; add one or use \
         `dps run`",
        args.pipeline.display()
    );
    if let Some(first) = file.stages.first() {
        anyhow::ensure!(
            first.stage == "load",
            "pipeline {}: `dps recon` reads --input with the first stage, which must be `load`, \
             but it is `{}`",
            args.pipeline.display(),
            first.stage
        );
    }
    let output = serde_yaml::Value::String(args.output.display().to_string());
    for index in writers {
        file.set_param(index, "output", output.clone());
    }
    let input = serde_yaml::Value::String(args.input.display().to_string());
    file.set_param(0, "path", input);
    let pipeline = Pipeline::build(file, &registry)?;

    let shard = match &args.shard {
        Some(value) => Some(Shard::parse(value)?),
        None => Shard::from_slurm(|name| std::env::var(name).ok()).transpose()?,
    };
    let inputs = recon::discover_inputs(&args.input)?;
    prepare_output_folder(&args.output, &args.input)?;
    let options = BatchOptions {
        jobs: args.jobs,
        shard,
        overwrite: args.overwrite,
    };
    let report = recon::run_batch(&pipeline, &inputs, &options, &progress)?;
    progress.finish();
    finish(&report, args.json)
}

/// Creates the output folder before any input is read, so that an unusable `--output` fails
/// once instead of once per input, and rejects the input folder itself as output, where the
/// reconstructions would replace the k-space files.
fn prepare_output_folder(output: &Path, input: &Path) -> anyhow::Result<()> {
    anyhow::ensure!(
        !output.exists() || output.is_dir(),
        "--output {} exists and is not a folder; choose a folder for the reconstructions",
        output.display()
    );
    std::fs::create_dir_all(output)
        .with_context(|| format!("cannot create the output folder {}", output.display()))?;
    let same = match (output.canonicalize(), input.canonicalize()) {
        (Ok(output), Ok(input)) => output == input,
        _ => false,
    };
    anyhow::ensure!(
        !same,
        "--output {} is the input folder, so the reconstructions would replace the k-space \
         files; choose another folder",
        output.display()
    );
    Ok(())
}

fn is_experiment_file(path: &std::path::Path) -> bool {
    has_top_level_key(path, "experiment")
}

/// Returns whether the YAML file at `path` has a line `KEY:` at column 0 (false when it cannot
/// be read, which the caller then reports).
fn has_top_level_key(path: &std::path::Path, key: &str) -> bool {
    std::fs::read_to_string(path)
        .map(|text| {
            text.lines().any(|line| {
                line.strip_prefix(key)
                    .is_some_and(|rest| rest.starts_with(':'))
            })
        })
        .unwrap_or(false)
}

#[cfg(feature = "torch")]
fn run_experiment(args: &RunArgs) -> anyhow::Result<ExitCode> {
    if let Some(jobs) = args.jobs {
        // libtorch's intra-op threads do the work of a training run.
        tch::set_num_threads(jobs.clamp(1, i32::MAX as usize) as i32);
    }
    let document = dps::experiments::read_document(&args.pipeline, &args.overrides)?;
    let result = dps::experiments::run_document(&args.pipeline, document, args.resume)?;
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&result)?)?;
    } else {
        outln!("{}", serde_yaml::to_string(&result)?)?;
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(not(feature = "torch"))]
fn run_experiment(args: &RunArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!(
        "{} is a training experiment, which needs the `torch` feature; rebuild without \
         --no-default-features",
        args.pipeline.display()
    )
}

#[cfg(feature = "torch")]
pub fn eval_checkpoint(args: EvalCheckpointArgs, verbosity: &str) -> anyhow::Result<ExitCode> {
    SliceProgress::new(false).install_logging(verbosity);
    let document = dps::experiments::read_document(&args.experiment, &args.overrides)?;
    let output = document
        .get("output")
        .and_then(serde_yaml::Value::as_str)
        .map(PathBuf::from)
        .unwrap_or_default();
    let checkpoint = match args.checkpoint.as_str() {
        "best" => output.join("best.ot"),
        "last" => output.join("last.ot"),
        path => PathBuf::from(path),
    };
    let result = dps::experiments::evaluate_document(&args.experiment, document, &checkpoint)?;
    outln!("{}", serde_yaml::to_string(&result)?)?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(not(feature = "torch"))]
pub fn eval_checkpoint(args: EvalCheckpointArgs, _verbosity: &str) -> anyhow::Result<ExitCode> {
    anyhow::bail!(
        "evaluating {} needs the `torch` feature; rebuild without --no-default-features",
        args.experiment.display()
    )
}

#[cfg(feature = "torch")]
pub fn sweep(args: SweepArgs, verbosity: &str) -> anyhow::Result<ExitCode> {
    let progress = SliceProgress::new(std::io::stderr().is_terminal());
    progress.install_logging(verbosity);
    // A sweep file whose `experiments` key is misspelt `experiment` is still a sweep file, and
    // its parser names the unknown key.
    anyhow::ensure!(
        !is_experiment_file(&args.sweep) || has_top_level_key(&args.sweep, "sweep"),
        "{} is a single experiment (it has a top-level `experiment` key); run it with `dps run`, \
         or list it under `experiments` of a sweep file",
        args.sweep.display()
    );
    progress.install_epoch_progress();
    let results = dps::experiments::sweep::run_sweep(&args.sweep, &args.overrides);
    progress.finish();
    let report = results?;
    for result in &report.results {
        outln!(
            "{:<28} M = {:<4} {} = {:.4} ± {:.4}",
            result.name,
            result.samples,
            result.metric,
            result.test_value,
            result.test_std
        )?;
    }
    if report.failed.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    for failed in &report.failed {
        super::output::message(format_args!(
            "error: {} at M = {}: {}",
            failed.name, failed.samples, failed.error
        ));
    }
    super::output::message(format_args!(
        "error: {} of {} sweep runs failed",
        report.failed.len(),
        report.failed.len() + report.results.len()
    ));
    Ok(ExitCode::FAILURE)
}

#[cfg(not(feature = "torch"))]
pub fn sweep(args: SweepArgs, _verbosity: &str) -> anyhow::Result<ExitCode> {
    anyhow::bail!(
        "sweeping {} trains models, which needs the `torch` feature; rebuild without \
         --no-default-features",
        args.sweep.display()
    )
}

fn finish(report: &BatchReport, json: bool) -> anyhow::Result<ExitCode> {
    if json {
        outln!("{}", serde_json::to_string_pretty(report)?)?;
    } else {
        out!("{}", report::render(report))?;
    }
    if report.failed.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        super::output::message(format_args!(
            "error: {} of the inputs failed",
            report.failed.len()
        ));
        Ok(ExitCode::FAILURE)
    }
}

pub fn stages(args: StagesArgs) -> anyhow::Result<ExitCode> {
    let registry = Registry::with_builtins();
    if args.json {
        let listing: Vec<serde_json::Value> = registry
            .iter()
            .map(|info| {
                serde_json::json!({
                    "name": info.name,
                    "summary": info.summary,
                    "params": info.params,
                })
            })
            .collect();
        outln!(
            "{}",
            serde_json::to_string_pretty(&listing).context("cannot render the stage list")?
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    for info in registry.iter() {
        outln!("{}: {}", info.name, info.summary)?;
        for param in info.params {
            outln!(
                "    {:<18} {:<12} default {:<12} {}",
                param.name,
                param.kind,
                param.default,
                param.help
            )?;
        }
        outln!()?;
    }
    Ok(ExitCode::SUCCESS)
}
