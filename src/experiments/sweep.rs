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
//! Each run `NAME` at budget `M` writes into `OUTPUT/NAME_mM`, beside `sweep_run.yaml`, the
//! settings it was planned with. A sweep started again reuses a finished run (`result.json`)
//! and resumes an interrupted one (`last.ot`) when `sweep_run.yaml` matches the new plan.
//! After a change of settings, in the files or through `--set`, the run starts over. A run that
//! fails is reported and the sweep goes on; the tables then list it as failed. An experiment
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
    /// The settings as `sweep_run.yaml` records them: the run's document, and for a run that
    /// reads another run's mask, that run's document too, so that a new mask means a new run.
    plan: String,
    /// Experiment file the run comes from, named in its errors.
    source: PathBuf,
    samples: usize,
    document: Value,
    output: PathBuf,
    depends: bool,
}

/// A run of a sweep that did not finish.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailedRun {
    /// Experiment name.
    pub name: String,
    /// Sample budget M.
    pub samples: usize,
    /// The error, as printed.
    pub error: String,
}

/// What a sweep produced.
#[derive(Debug, Clone)]
pub struct SweepReport {
    /// Results of the runs that finished, in run order.
    pub results: Vec<MnistResult>,
    /// Runs that failed.
    pub failed: Vec<FailedRun>,
}

/// Runs every experiment of a sweep at every budget and writes `results.csv`, `results.md` and
/// `accuracy.png` into the sweep's output folder. `extra` overrides apply after the file's own.
///
/// # Errors
///
/// [`ExperimentError`] for an unreadable or invalid sweep or experiment file, before any run
/// starts. A run that fails is reported in [`SweepReport::failed`] and the sweep goes on.
pub fn run_sweep(path: &Path, extra: &[String]) -> Result<SweepReport, ExperimentError> {
    let (config, plan) = check_sweep(path, extra)?;
    let mut report = SweepReport {
        results: Vec::new(),
        failed: Vec::new(),
    };
    for run in plan {
        match perform(&run) {
            Ok(result) => report.results.push(result),
            Err(error) => {
                tracing::error!(run = %run.name, samples = run.samples, %error, "sweep run failed");
                report.failed.push(FailedRun {
                    name: run.name,
                    samples: run.samples,
                    error: error.to_string(),
                });
            }
        }
    }
    write_tables(&config, &report)?;
    Ok(report)
}

/// Reads a sweep file and checks the settings of every run it plans, without training.
fn check_sweep(
    path: &Path,
    extra: &[String],
) -> Result<(SweepConfig, Vec<PlannedRun>), ExperimentError> {
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
        return Err(ExperimentError::Read {
            path: path.to_path_buf(),
            message: "a sweep needs at least one entry in `experiments` and in `samples`".into(),
        });
    }
    let base = path.parent().unwrap_or(Path::new("."));
    let overrides: Vec<String> = config.overrides.iter().chain(extra).cloned().collect();
    if let Some(output) = overrides.iter().find(|o| o.starts_with("output=")) {
        return Err(ExperimentError::Read {
            path: path.to_path_buf(),
            message: format!(
                "`{output}`: each run of a sweep writes into a folder of the sweep's own \
                 `output`; change that in the sweep file instead"
            ),
        });
    }
    let mut budgets = config.samples.clone();
    budgets.sort_unstable();
    if let Some(pair) = budgets.windows(2).find(|pair| pair[0] == pair[1]) {
        return Err(ExperimentError::Read {
            path: path.to_path_buf(),
            message: format!("`samples` lists {} twice; list each budget once", pair[0]),
        });
    }
    let plan = plan_runs(&config, base, &overrides).map_err(|error| error.in_file(path))?;
    // Settings are checked for every run before the first one starts.
    for run in &plan {
        let settings: super::mnist::MnistExperimentConfig =
            serde_path_to_error::deserialize(run.document.clone()).map_err(|error| {
                ExperimentError::Read {
                    path: run.source.clone(),
                    message: format!(
                        "`{}`: {}",
                        error.path(),
                        super::plain_types(&error.inner().to_string())
                    ),
                }
            })?;
        super::mnist::check_settings(&settings).map_err(|error| ExperimentError::Read {
            path: path.to_path_buf(),
            message: format!("{} at M = {}: {error}", run.source.display(), run.samples),
        })?;
    }
    Ok((config, plan))
}

/// Runs one planned run, or reuses or resumes what an earlier sweep with the same settings left.
fn perform(run: &PlannedRun) -> Result<MnistResult, ExperimentError> {
    let planned = &run.plan;
    let record = run.output.join("sweep_run.yaml");
    let same_plan = std::fs::read_to_string(&record).is_ok_and(|text| text == *planned);
    if same_plan {
        let finished = std::fs::read_to_string(run.output.join("result.json"))
            .ok()
            .and_then(|text| serde_json::from_str::<MnistResult>(&text).ok());
        if let Some(done) = finished {
            tracing::info!(run = %run.name, samples = run.samples, "result exists, reused");
            return Ok(done);
        }
    } else {
        // Leftovers of other settings must not be resumed or reused.
        for stale in [
            "result.json",
            "last.ot",
            "best.ot",
            "metrics.jsonl",
            "metrics.csv",
        ] {
            let _ = std::fs::remove_file(run.output.join(stale));
        }
        std::fs::create_dir_all(&run.output).map_err(|source| ExperimentError::File {
            path: run.output.clone(),
            source,
        })?;
        write_atomic(&record, planned.as_bytes())?;
    }
    let resume = same_plan && run.output.join("last.ot").is_file();
    tracing::info!(run = %run.name, samples = run.samples, depends = run.depends, resume, "sweep run started");
    match run_document(&run.source, run.document.clone(), resume)? {
        ExperimentResult::Mnist(result) => Ok(result),
    }
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
        if documents.iter().any(|(other, _, _, _)| *other == name) {
            return Err(ExperimentError::config(
                "experiments",
                format!(
                    "two experiments are named `{name}`, so their runs would share folders; \
                     list each once or rename one"
                ),
            ));
        }
        documents.push((name, output, document, file));
    }

    let mut plan = Vec::new();
    for &samples in &config.samples {
        for (name, _, document, file) in &documents {
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
            let mut plan_text = serde_yaml::to_string(&document).expect("YAML values serialise");
            if let Some(mask_from) = document.get("mask_from").and_then(Value::as_str) {
                let mask_from = PathBuf::from(mask_from);
                let source = documents
                    .iter()
                    .find(|(_, original, _, _)| mask_from.parent() == Some(original.as_path()));
                if let Some((source_name, _, source_document, _)) = source {
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
                    let mut source_document = source_document.clone();
                    set(
                        &mut source_document,
                        "sampler.samples",
                        Value::from(samples as u64),
                    )?;
                    plan_text = serde_yaml::to_string(&document).expect("YAML values serialise")
                        + "# the run that learns the mask\n"
                        + &serde_yaml::to_string(&source_document).expect("YAML values serialise");
                }
            }
            plan.push(PlannedRun {
                plan: plan_text,
                name: name.clone(),
                source: file.clone(),
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

fn write_tables(config: &SweepConfig, report: &SweepReport) -> Result<(), ExperimentError> {
    let results = &report.results;
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
            "{},{},{},{},{:.3},{},{},{},{},{},{},{}",
            r.name,
            r.method,
            yaml_name(&r.domain),
            r.samples,
            100.0 * r.sampling_ratio,
            r.metric,
            r.test_value,
            r.test_std,
            yaml_name(&r.evaluation),
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
    let mut markdown = format!(
        "# {}\n\nTest accuracy (%), mean ± standard deviation over the evaluation passes \
         (stochastic masks), or one pass (deterministic masks).\n\n| method | evaluation |",
        config.sweep
    );
    for samples in &ratios {
        // The ratio comes from the runs, whose domains know their candidate count (784
        // pixels or k-space points, 28 lines).
        match classification.iter().find(|r| r.samples == *samples) {
            Some(r) => {
                let _ = write!(
                    markdown,
                    " M = {samples} ({:.1} %) |",
                    100.0 * r.sampling_ratio
                );
            }
            None => {
                let _ = write!(markdown, " M = {samples} |");
            }
        }
    }
    markdown.push_str("\n|---|---|");
    markdown.push_str(&"---|".repeat(ratios.len()));
    markdown.push('\n');
    let mut series = Vec::new();
    for method in &methods {
        let evaluation: Vec<String> = classification
            .iter()
            .filter(|r| r.method == *method)
            .map(|r| yaml_name(&r.evaluation))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let _ = write!(markdown, "| {method} | {} |", evaluation.join(", "));
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

    if !report.failed.is_empty() {
        markdown.push_str("\nFailed runs (shown as -):\n\n");
        for failed in &report.failed {
            let _ = writeln!(
                markdown,
                "- {} at M = {}: {}",
                failed.name,
                failed.samples,
                failed.error.replace('\n', " ")
            );
        }
    }
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

/// Returns the name a value has in YAML and JSON (`pixel`, `stochastic`).
fn yaml_name<T: Serialize>(value: &T) -> String {
    serde_yaml::to_value(value)
        .ok()
        .and_then(|value| value.as_str().map(str::to_string))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sweep(experiments: &[&str], samples: Vec<usize>) -> SweepConfig {
        SweepConfig {
            sweep: "test".into(),
            description: None,
            experiments: experiments.iter().map(PathBuf::from).collect(),
            samples,
            overrides: Vec::new(),
            output: PathBuf::from("runs/test_sweep"),
        }
    }

    #[test]
    fn disjoint_plan_carries_source_settings() {
        let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/mnist");
        let config = sweep(
            &["disjoint_pixel.yaml", "dps_topk_reconstruction_pixel.yaml"],
            vec![8, 16],
        );
        let plan = plan_runs(&config, &base, &[]).unwrap();
        let names: Vec<(&str, usize)> = plan.iter().map(|r| (r.name.as_str(), r.samples)).collect();
        // Runs that read another run's mask go last.
        assert_eq!(
            names,
            [
                ("dps_topk_reconstruction_pixel", 8),
                ("dps_topk_reconstruction_pixel", 16),
                ("disjoint_pixel", 8),
                ("disjoint_pixel", 16)
            ]
        );
        let disjoint = &plan[2];
        assert!(disjoint.depends);
        assert_eq!(
            disjoint.document["mask_from"].as_str(),
            Some("runs/test_sweep/dps_topk_reconstruction_pixel_m8/mask.json")
        );
        // The source's settings are part of the disjoint run's record, so a change there
        // retrains the disjoint run as well.
        let (own, source) = disjoint
            .plan
            .split_once("# the run that learns the mask\n")
            .unwrap();
        assert!(own.contains("name: disjoint_pixel"), "{own}");
        assert!(
            source.contains("experiment: mnist_reconstruction"),
            "{source}"
        );
        assert!(source.contains("samples: 8"), "{source}");
        assert!(!plan[0].plan.contains("# the run that learns the mask"));
    }

    #[test]
    fn shipped_sweeps_pass_their_checks() {
        let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/mnist");
        let mut sweeps = Vec::new();
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("sweep")
            {
                sweeps.push(path);
            }
        }
        assert!(sweeps.len() >= 3, "sweep files found: {sweeps:?}");
        for path in sweeps {
            let checked = check_sweep(&path, &[]);
            assert!(checked.is_ok(), "{}: {:?}", path.display(), checked.err());
            let (config, plan) = checked.unwrap();
            assert_eq!(
                plan.len(),
                config.experiments.len() * config.samples.len(),
                "{}",
                path.display()
            );
        }
    }

    #[test]
    fn repeated_names_are_rejected() {
        let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/mnist");
        let config = sweep(&["uniform_pixel.yaml", "uniform_pixel.yaml"], vec![8]);
        let error = plan_runs(&config, &base, &[]).err().unwrap().to_string();
        assert!(
            error.contains("two experiments are named `uniform_pixel`"),
            "{error}"
        );
    }
}
