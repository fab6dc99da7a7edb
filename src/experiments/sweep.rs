//! Sweeps: a list of experiments run at several sample budgets, with a results table (Markdown
//! and CSV) and a metric-versus-sampling-ratio plot, one line per method.
//!
//! ```yaml
//! sweep: mnist_pixel
//! experiments: [dps_topk_pixel.yaml, random_pixel.yaml]   # relative to this file
//! samples: [8, 16, 25, 39, 78, 196]                       # 1 % to 25 % of 784 pixels
//! output: runs/mnist/sweep_pixel
//! ```
//!
//! Each run `NAME` at budget `M` writes into `OUTPUT/NAME_mM`. A run whose `result.json`
//! exists is not repeated, so an interrupted sweep continues where it stopped. An experiment
//! whose `mask_from` lies in the output folder of another experiment of the sweep (the
//! disjoint baseline) reads that experiment's mask at the same budget, and runs after it.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_yaml::Value;

use super::mnist::MnistResult;
use super::{
    read_document, run_document, set_path, write_atomic, ExperimentError, ExperimentResult,
};
use crate::plot::{LinePlot, Series};

/// A sweep file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepConfig {
    /// Sweep name, the plot title.
    pub sweep: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Experiment files, relative to the sweep file.
    pub experiments: Vec<PathBuf>,
    /// Sample budgets M.
    pub samples: Vec<usize>,
    /// `KEY.PATH=VALUE` overrides applied to every experiment (e.g. `train.epochs=20`).
    #[serde(default)]
    pub overrides: Vec<String>,
    /// Folder of the runs, the tables and the plot.
    pub output: PathBuf,
}

struct PlannedRun {
    name: String,
    samples: usize,
    document: Value,
    output: PathBuf,
    depends: bool,
}

/// Runs every experiment of a sweep at every budget and writes `results.csv`, `results.md` and
/// `accuracy.png` into the sweep's output folder. `extra` overrides apply after the file's own.
///
/// # Errors
///
/// Any [`ExperimentError`] of reading the files or of a run; results of finished runs stay on
/// disk.
pub fn run_sweep(path: &Path, extra: &[String]) -> Result<Vec<MnistResult>, ExperimentError> {
    let text = std::fs::read_to_string(path).map_err(|error| ExperimentError::Read {
        path: path.to_path_buf(),
        message: error.to_string(),
    })?;
    let config: SweepConfig =
        serde_yaml::from_str(&text).map_err(|error| ExperimentError::Read {
            path: path.to_path_buf(),
            message: error.to_string(),
        })?;
    if config.samples.is_empty() || config.experiments.is_empty() {
        return Err(ExperimentError::config(
            "samples",
            "a sweep needs at least one experiment and one sample budget",
        ));
    }
    let base = path.parent().unwrap_or(Path::new("."));
    let overrides: Vec<String> = config.overrides.iter().chain(extra).cloned().collect();
    let plan = plan_runs(&config, base, &overrides)?;

    let mut results = Vec::new();
    for run in plan {
        let result_path = run.output.join("result.json");
        let result = match std::fs::read_to_string(&result_path)
            .ok()
            .and_then(|text| serde_json::from_str::<MnistResult>(&text).ok())
        {
            Some(done) => {
                tracing::info!(run = %run.name, samples = run.samples, "result exists, skipped");
                done
            }
            None => {
                tracing::info!(run = %run.name, samples = run.samples, depends = run.depends, "sweep run started");
                match run_document(path, run.document, false)? {
                    ExperimentResult::Mnist(result) => result,
                }
            }
        };
        results.push(result);
    }
    write_tables(&config, &results)?;
    Ok(results)
}

/// Expands experiments x budgets, redirecting outputs and `mask_from` into the sweep folder.
fn plan_runs(
    config: &SweepConfig,
    base: &Path,
    overrides: &[String],
) -> Result<Vec<PlannedRun>, ExperimentError> {
    let mut documents = Vec::new();
    for file in &config.experiments {
        let file = base.join(file);
        let document = read_document(&file, overrides)?;
        let name = document
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                ExperimentError::config("name", format!("{} has no `name`", file.display()))
            })?
            .to_string();
        let output = document
            .get("output")
            .and_then(Value::as_str)
            .map(PathBuf::from)
            .unwrap_or_default();
        documents.push((name, output, document));
    }

    let mut plan = Vec::new();
    for &samples in &config.samples {
        for (name, _, document) in &documents {
            let mut document = document.clone();
            let output = config.output.join(format!("{name}_m{samples}"));
            let set = |document: &mut Value, key: &str, value: Value| {
                set_path(document, key, value)
                    .map_err(|message| ExperimentError::config(key, message))
            };
            set(
                &mut document,
                "sampler.samples",
                Value::from(samples as u64),
            )?;
            set(
                &mut document,
                "output",
                Value::from(output.display().to_string()),
            )?;
            let mut depends = false;
            if let Some(mask_from) = document.get("mask_from").and_then(Value::as_str) {
                let mask_from = PathBuf::from(mask_from);
                let source = documents
                    .iter()
                    .find(|(_, original, _)| mask_from.parent() == Some(original.as_path()));
                if let Some((source_name, _, _)) = source {
                    let redirected = config
                        .output
                        .join(format!("{source_name}_m{samples}"))
                        .join(mask_from.file_name().unwrap_or_default());
                    set(
                        &mut document,
                        "mask_from",
                        Value::from(redirected.display().to_string()),
                    )?;
                    depends = true;
                }
            }
            plan.push(PlannedRun {
                name: name.clone(),
                samples,
                document,
                output,
                depends,
            });
        }
    }
    // Runs that read another run's mask go after all the others.
    plan.sort_by_key(|run| run.depends);
    Ok(plan)
}

fn write_tables(config: &SweepConfig, results: &[MnistResult]) -> Result<(), ExperimentError> {
    std::fs::create_dir_all(&config.output).map_err(|source| ExperimentError::File {
        path: config.output.clone(),
        source,
    })?;
    let mut csv = String::from(
        "name,method,domain,samples,sampling_ratio_percent,metric,value,std,evaluation,passes,epochs,best_epoch\n",
    );
    for r in results {
        let _ = writeln!(
            csv,
            "{},{},{:?},{},{:.3},{},{},{},{:?},{},{},{}",
            r.name,
            r.method,
            r.domain,
            r.samples,
            100.0 * r.sampling_ratio,
            r.metric,
            r.test_value,
            r.test_std,
            r.evaluation,
            r.passes,
            r.epochs_run,
            r.best_epoch
        );
    }
    write_atomic(&config.output.join("results.csv"), csv.as_bytes())?;

    let classification: Vec<&MnistResult> =
        results.iter().filter(|r| r.metric == "accuracy").collect();
    let mut ratios: Vec<usize> = classification.iter().map(|r| r.samples).collect();
    ratios.sort_unstable();
    ratios.dedup();
    let mut methods: Vec<&str> = Vec::new();
    for r in &classification {
        if !methods.contains(&r.method.as_str()) {
            methods.push(&r.method);
        }
    }
    let mut markdown = format!("# {}\n\nTest accuracy (%), mean ± standard deviation over the evaluation passes.\n\n| method |", config.sweep);
    for samples in &ratios {
        let _ = write!(
            markdown,
            " M = {samples} ({:.1} %) |",
            100.0 * *samples as f64 / 784.0
        );
    }
    markdown.push_str("\n|---|");
    markdown.push_str(&"---|".repeat(ratios.len()));
    markdown.push('\n');
    let mut series = Vec::new();
    for method in &methods {
        let _ = write!(markdown, "| {method} |");
        let mut points = Vec::new();
        for samples in &ratios {
            match classification
                .iter()
                .find(|r| r.method == *method && r.samples == *samples)
            {
                Some(r) => {
                    let _ = write!(
                        markdown,
                        " {:.1} ± {:.1} |",
                        100.0 * r.test_value,
                        100.0 * r.test_std
                    );
                    points.push((100.0 * r.sampling_ratio, 100.0 * r.test_value));
                }
                None => markdown.push_str(" - |"),
            }
        }
        markdown.push('\n');
        series.push(Series {
            name: method.to_string(),
            points,
        });
    }
    let evaluation: Vec<String> = classification
        .iter()
        .map(|r| format!("{:?}", r.evaluation).to_lowercase())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let _ = writeln!(markdown, "\nEvaluation: {}.", evaluation.join(", "));
    write_atomic(&config.output.join("results.md"), markdown.as_bytes())?;

    if !series.is_empty() {
        let plot = LinePlot {
            title: config.sweep.clone(),
            x_label: "sampling ratio (%)".into(),
            y_label: "test accuracy (%)".into(),
            log_x: true,
            series,
        };
        plot.save_png(&config.output.join("accuracy.png"))
            .map_err(|error| ExperimentError::config("plot", error.to_string()))?;
    }
    Ok(())
}
