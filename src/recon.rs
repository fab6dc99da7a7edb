//! Batch reconstruction: one pipeline over many k-space files.
//!
//! Files run in parallel, and so do the slices within each file, on one rayon pool of `jobs`
//! threads. Slices are read one at a time by hyperslab, so memory grows with the number of
//! threads, not with the number or size of files. A file whose outputs all exist is skipped,
//! which makes an interrupted run resumable because every output is written under a temporary
//! name and renamed when complete. A file that fails is reported with its reason and the run
//! goes on with the others.
//!
//! [`Shard`] splits the sorted input list into `count` interleaved parts, so a cluster can run
//! a data set as a Slurm array job: with no explicit shard, [`Shard::from_slurm`] reads
//! `SLURM_ARRAY_TASK_ID`, `SLURM_ARRAY_TASK_COUNT`, `SLURM_ARRAY_TASK_MIN` and
//! `SLURM_ARRAY_TASK_STEP`.
//!
//! An input is not run, and is reported as failed, when one of its outputs would replace an
//! input file or the output of an input earlier in the sorted list.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use rayon::prelude::*;

use crate::pipeline::{Observer, Pipeline, PipelineError, VolumeOutput};

/// Failure to set up a batch run.
#[derive(Debug, thiserror::Error)]
pub enum ReconError {
    /// The input path does not exist or cannot be listed.
    #[error("cannot list input {}: {source}", path.display())]
    Input {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The input folder contains no k-space files.
    #[error("no k-space files (*.h5, *.hdf5, *.cfl) in {}", path.display())]
    NoInputs { path: PathBuf },
    /// A malformed `--shard` value or Slurm variable.
    #[error("invalid shard `{value}`: {message}")]
    Shard { value: String, message: String },
    /// The rayon thread pool could not be created.
    #[error("cannot start {jobs} worker threads: {message}")]
    Threads { jobs: usize, message: String },
}

/// One of `count` deterministic parts of the input list (zero-based `index`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    /// Parses `I/N` with `0 <= I < N`.
    ///
    /// # Errors
    ///
    /// [`ReconError::Shard`] for anything else.
    pub fn parse(value: &str) -> Result<Self, ReconError> {
        let invalid = |message: &str| ReconError::Shard {
            value: value.to_string(),
            message: message.to_string(),
        };
        let (index, count) = value
            .split_once('/')
            .ok_or_else(|| invalid("expected I/N, for example 0/4"))?;
        let index: usize = index
            .trim()
            .parse()
            .map_err(|_| invalid("I is not a non-negative integer"))?;
        let count: usize = count
            .trim()
            .parse()
            .map_err(|_| invalid("N is not a positive integer"))?;
        Self::new(index, count).map_err(|message| invalid(&message))
    }

    fn new(index: usize, count: usize) -> Result<Self, String> {
        if count == 0 {
            return Err("N must be at least 1".into());
        }
        if index >= count {
            return Err(format!("I must be below N (0 to {})", count - 1));
        }
        Ok(Self { index, count })
    }

    /// Reads the shard of a Slurm array task from `lookup` (normally the process environment).
    /// Returns `None` outside an array job, that is when `SLURM_ARRAY_TASK_ID` is unset. Task
    /// ids are made zero-based by subtracting `SLURM_ARRAY_TASK_MIN` (0 when unset) and dividing
    /// by `SLURM_ARRAY_TASK_STEP` (1 when unset), so `--array=1-8`, `--array=0-7` and
    /// `--array=0-14:2` all give shards 0 to 7.
    ///
    /// # Errors
    ///
    /// [`ReconError::Shard`] when the variables are not integers, are out of range, or when
    /// `SLURM_ARRAY_TASK_COUNT` is missing beside `SLURM_ARRAY_TASK_ID` (every task would then
    /// process every input and write the same files).
    pub fn from_slurm(lookup: impl Fn(&str) -> Option<String>) -> Option<Result<Self, ReconError>> {
        let id = lookup("SLURM_ARRAY_TASK_ID")?;
        let count = lookup("SLURM_ARRAY_TASK_COUNT");
        let min = lookup("SLURM_ARRAY_TASK_MIN").unwrap_or_else(|| "0".into());
        let step = lookup("SLURM_ARRAY_TASK_STEP").unwrap_or_else(|| "1".into());
        let description = format!(
            "SLURM_ARRAY_TASK_ID={id}, SLURM_ARRAY_TASK_COUNT={}, SLURM_ARRAY_TASK_MIN={min}, \
             SLURM_ARRAY_TASK_STEP={step}",
            count.as_deref().unwrap_or("(unset)")
        );
        let invalid = |message: String| ReconError::Shard {
            value: description.clone(),
            message,
        };
        let parse = |text: &str, name: &str| {
            text.trim()
                .parse::<usize>()
                .map_err(|_| invalid(format!("{name} is not a non-negative integer")))
        };
        Some((|| {
            let count = count.ok_or_else(|| {
                invalid(
                    "SLURM_ARRAY_TASK_COUNT is not set, so the number of shards is unknown; \
                     pass --shard I/N"
                        .into(),
                )
            })?;
            let id = parse(&id, "SLURM_ARRAY_TASK_ID")?;
            let count = parse(&count, "SLURM_ARRAY_TASK_COUNT")?;
            let min = parse(&min, "SLURM_ARRAY_TASK_MIN")?;
            let step = parse(&step, "SLURM_ARRAY_TASK_STEP")?;
            if step == 0 {
                return Err(invalid("SLURM_ARRAY_TASK_STEP must be at least 1".into()));
            }
            let offset = id
                .checked_sub(min)
                .ok_or_else(|| invalid("the task id is below SLURM_ARRAY_TASK_MIN".into()))?;
            if offset % step != 0 {
                return Err(invalid(
                    "the task id is not SLURM_ARRAY_TASK_MIN plus a multiple of \
                     SLURM_ARRAY_TASK_STEP"
                        .into(),
                ));
            }
            Self::new(offset / step, count).map_err(invalid)
        })())
    }

    /// Selects this shard's inputs: positions `index`, `index + count`, ... of the sorted list.
    pub fn select(&self, inputs: &[PathBuf]) -> Vec<PathBuf> {
        inputs
            .iter()
            .skip(self.index)
            .step_by(self.count)
            .cloned()
            .collect()
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// Lists the k-space files of `path`: the file itself, or the `*.h5`, `*.hdf5` and `*.cfl`
/// files of a folder (not recursive), sorted by name. A `.cfl` is listed by its base path.
///
/// # Errors
///
/// [`ReconError::Input`] when the path cannot be read, [`ReconError::NoInputs`] for a folder
/// without k-space files.
pub fn discover_inputs(path: &Path) -> Result<Vec<PathBuf>, ReconError> {
    let metadata = std::fs::metadata(path).map_err(|source| ReconError::Input {
        path: path.to_path_buf(),
        source,
    })?;
    if !metadata.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let entries = std::fs::read_dir(path).map_err(|source| ReconError::Input {
        path: path.to_path_buf(),
        source,
    })?;
    let mut inputs = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| ReconError::Input {
            path: path.to_path_buf(),
            source,
        })?;
        let file = entry.path();
        let extension = file.extension().and_then(|e| e.to_str()).unwrap_or("");
        let hidden = file
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        if !hidden && matches!(extension, "h5" | "hdf5" | "cfl") && file.is_file() {
            inputs.push(file);
        }
    }
    if inputs.is_empty() {
        return Err(ReconError::NoInputs {
            path: path.to_path_buf(),
        });
    }
    inputs.sort();
    Ok(inputs)
}

/// Settings of a batch run.
#[derive(Debug, Clone, Default)]
pub struct BatchOptions {
    /// Worker threads; `None` uses rayon's default (one per core).
    pub jobs: Option<usize>,
    /// Part of the inputs to process; `None` processes all.
    pub shard: Option<Shard>,
    /// Reprocess inputs whose outputs already exist.
    pub overwrite: bool,
}

/// Result of one processed input.
#[derive(Debug, Clone, serde::Serialize)]
pub struct VolumeSummary {
    pub input: PathBuf,
    pub slices: usize,
    pub metrics: Vec<(String, f64)>,
    pub values: BTreeMap<String, serde_json::Value>,
    pub files: Vec<PathBuf>,
    pub seconds: f64,
}

impl From<(&VolumeOutput, f64)> for VolumeSummary {
    fn from((output, seconds): (&VolumeOutput, f64)) -> Self {
        Self {
            input: output.input.clone(),
            slices: output.slices,
            metrics: output.metrics.clone(),
            values: output.values.clone(),
            files: output.files.clone(),
            seconds,
        }
    }
}

/// An input that failed, with the reason.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Failure {
    pub input: PathBuf,
    pub reason: String,
}

/// Outcome of a batch run.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct BatchReport {
    /// Inputs processed, in input order.
    pub processed: Vec<VolumeSummary>,
    /// Inputs skipped because their outputs exist.
    pub skipped: Vec<PathBuf>,
    /// Inputs that failed.
    pub failed: Vec<Failure>,
    /// Wall-clock time of the run in seconds.
    pub seconds: f64,
}

impl BatchReport {
    /// Slices processed per second of wall-clock time.
    pub fn slices_per_second(&self) -> f64 {
        let slices: usize = self.processed.iter().map(|v| v.slices).sum();
        if self.seconds > 0.0 {
            slices as f64 / self.seconds
        } else {
            0.0
        }
    }
}

/// Runs `pipeline` on every input of this shard.
///
/// Failures of single inputs are collected in the report, never returned as an error.
///
/// # Errors
///
/// [`ReconError::Threads`] when the thread pool cannot be created.
pub fn run_batch(
    pipeline: &Pipeline,
    inputs: &[PathBuf],
    options: &BatchOptions,
    observer: &dyn Observer,
) -> Result<BatchReport, ReconError> {
    let start = Instant::now();
    let inputs = without_repeats(inputs);
    let conflicts = output_conflicts(pipeline, &inputs);
    let selected = match options.shard {
        Some(shard) => shard.select(&inputs),
        None => inputs.clone(),
    };
    let mut builder = rayon::ThreadPoolBuilder::new();
    if let Some(jobs) = options.jobs {
        builder = builder.num_threads(jobs);
    }
    let pool = builder.build().map_err(|error| ReconError::Threads {
        jobs: options.jobs.unwrap_or(0),
        message: error.to_string(),
    })?;
    tracing::info!(
        inputs = inputs.len(),
        selected = selected.len(),
        shard = %options.shard.map(|s| s.to_string()).unwrap_or_else(|| "all".into()),
        threads = pool.current_num_threads(),
        "batch reconstruction started"
    );

    let outcomes: Vec<Outcome> = pool.install(|| {
        selected
            .par_iter()
            .map(|input| match conflicts.get(input) {
                Some(reason) => Outcome::Failed(Failure {
                    input: input.clone(),
                    reason: reason.clone(),
                }),
                None => run_one(pipeline, input, options, observer),
            })
            .collect()
    });

    let mut report = BatchReport::default();
    for outcome in outcomes {
        match outcome {
            Outcome::Done(summary) => report.processed.push(summary),
            Outcome::Skipped(input) => report.skipped.push(input),
            Outcome::Failed(failure) => report.failed.push(failure),
        }
    }
    report.seconds = start.elapsed().as_secs_f64();
    tracing::info!(
        processed = report.processed.len(),
        skipped = report.skipped.len(),
        failed = report.failed.len(),
        seconds = report.seconds,
        "batch reconstruction finished"
    );
    Ok(report)
}

/// Drops inputs listed more than once (as the same file), keeping the first: two runs of one
/// input would write the same outputs at the same time.
fn without_repeats(inputs: &[PathBuf]) -> Vec<PathBuf> {
    let mut seen = BTreeSet::new();
    let mut unique = Vec::with_capacity(inputs.len());
    for input in inputs {
        if seen.insert(file_identity(input)) {
            unique.push(input.clone());
        } else {
            tracing::warn!(input = %input.display(), "input listed twice, processed once");
        }
    }
    unique
}

/// Finds the inputs that must not run, with the reason. One reason is an output that would
/// replace an input file, as when the output folder is the input folder. The other is an output
/// that an earlier input in the list also writes (`a.h5` and `a.hdf5` both give `a.h5`). The
/// whole list is checked, not one shard, so every shard of a run agrees.
fn output_conflicts(pipeline: &Pipeline, inputs: &[PathBuf]) -> BTreeMap<PathBuf, String> {
    let input_files: BTreeMap<PathBuf, &PathBuf> = inputs
        .iter()
        .map(|input| (file_identity(input), input))
        .collect();
    let mut writers: BTreeMap<PathBuf, &PathBuf> = BTreeMap::new();
    let mut conflicts = BTreeMap::new();
    for input in inputs {
        for output in pipeline.outputs_for(input) {
            let identity = file_identity(&output);
            let reason = if let Some(original) = input_files.get(&identity) {
                format!(
                    "its output {} would replace the input file {}; choose an output folder \
                     outside the input folder",
                    output.display(),
                    original.display()
                )
            } else if let Some(writer) = writers.get(&identity) {
                format!(
                    "its output {} is also the output of {}, which comes first and is kept; \
                     rename one of the two inputs",
                    output.display(),
                    writer.display()
                )
            } else {
                writers.insert(identity, input);
                continue;
            };
            conflicts.insert(input.clone(), reason);
            break;
        }
    }
    conflicts
}

/// Returns the absolute path of a file with symbolic links resolved, also for a file that does
/// not exist yet, so that two spellings of one file compare equal.
fn file_identity(path: &Path) -> PathBuf {
    if let Ok(canonical) = path.canonicalize() {
        return canonical;
    }
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let parent = absolute
        .parent()
        .and_then(|parent| parent.canonicalize().ok());
    match (parent, absolute.file_name()) {
        (Some(parent), Some(name)) => parent.join(name),
        _ => absolute,
    }
}

enum Outcome {
    Done(VolumeSummary),
    Skipped(PathBuf),
    Failed(Failure),
}

fn run_one(
    pipeline: &Pipeline,
    input: &Path,
    options: &BatchOptions,
    observer: &dyn Observer,
) -> Outcome {
    let outputs = pipeline.outputs_for(input);
    if !options.overwrite && !outputs.is_empty() && outputs.iter().all(|path| path.is_file()) {
        tracing::info!(input = %input.display(), "outputs exist, skipped");
        return Outcome::Skipped(input.to_path_buf());
    }
    let start = Instant::now();
    match pipeline.run_volume(input, observer) {
        Ok(output) => Outcome::Done(VolumeSummary::from((
            &output,
            start.elapsed().as_secs_f64(),
        ))),
        Err(error) => {
            tracing::error!(input = %input.display(), %error, "input failed");
            Outcome::Failed(Failure {
                input: input.to_path_buf(),
                reason: failure_reason(&error),
            })
        }
    }
}

/// Renders an error with its chain of causes on one line. The input is left out of a stage
/// failure because the report names it beside the reason.
fn failure_reason(error: &PipelineError) -> String {
    let (mut reason, mut source) = match error {
        PipelineError::Stage {
            stage,
            slice,
            source,
            ..
        } => {
            let slice = slice.map(|s| format!(", slice {s}")).unwrap_or_default();
            let cause: &(dyn std::error::Error + 'static) = source;
            (format!("stage `{stage}`{slice}: {source}"), cause.source())
        }
        other => (other.to_string(), std::error::Error::source(other)),
    };
    while let Some(cause) = source {
        let text = cause.to_string();
        if !reason.contains(&text) {
            reason.push_str(": ");
            reason.push_str(&text);
        }
        source = cause.source();
    }
    reason
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_parse_accepts_valid_values() {
        assert_eq!(Shard::parse("0/4").unwrap(), Shard { index: 0, count: 4 });
        assert_eq!(Shard::parse("3/4").unwrap(), Shard { index: 3, count: 4 });
    }

    #[test]
    fn shard_parse_rejects_invalid_values() {
        for value in ["4/4", "1", "a/2", "1/0", "-1/3"] {
            let error = Shard::parse(value).unwrap_err().to_string();
            assert!(error.contains(value), "{error}");
        }
    }

    #[test]
    fn shards_partition_inputs() {
        let inputs: Vec<PathBuf> = (0..10).map(|i| PathBuf::from(format!("f{i}.h5"))).collect();
        let mut seen = Vec::new();
        for index in 0..3 {
            seen.extend(Shard { index, count: 3 }.select(&inputs));
        }
        seen.sort();
        assert_eq!(seen, inputs);
        let first = Shard { index: 0, count: 3 }.select(&inputs);
        assert_eq!(
            first,
            vec![
                inputs[0].clone(),
                inputs[3].clone(),
                inputs[6].clone(),
                inputs[9].clone()
            ]
        );
    }

    #[test]
    fn slurm_variables_give_shard() {
        let env = |id: &'static str, min: Option<&'static str>| {
            move |name: &str| match name {
                "SLURM_ARRAY_TASK_ID" => Some(id.to_string()),
                "SLURM_ARRAY_TASK_COUNT" => Some("4".to_string()),
                "SLURM_ARRAY_TASK_MIN" => min.map(str::to_string),
                _ => None,
            }
        };
        let shard = Shard::from_slurm(env("2", None)).unwrap().unwrap();
        assert_eq!(shard, Shard { index: 2, count: 4 });
        let shard = Shard::from_slurm(env("4", Some("1"))).unwrap().unwrap();
        assert_eq!(shard, Shard { index: 3, count: 4 });
        assert!(Shard::from_slurm(env("4", None)).unwrap().is_err());
        assert!(Shard::from_slurm(|_| None).is_none());
    }

    #[test]
    fn slurm_step_divides_task_ids() {
        let env = |id: &'static str| {
            move |name: &str| match name {
                "SLURM_ARRAY_TASK_ID" => Some(id.to_string()),
                "SLURM_ARRAY_TASK_COUNT" => Some("4".to_string()),
                "SLURM_ARRAY_TASK_STEP" => Some("2".to_string()),
                _ => None,
            }
        };
        let shard = Shard::from_slurm(env("6")).unwrap().unwrap();
        assert_eq!(shard, Shard { index: 3, count: 4 });
        assert!(Shard::from_slurm(env("3")).unwrap().is_err());
    }

    #[test]
    fn slurm_id_without_count_is_rejected() {
        let lookup = |name: &str| (name == "SLURM_ARRAY_TASK_ID").then(|| "1".to_string());
        let error = Shard::from_slurm(lookup).unwrap().unwrap_err().to_string();
        assert!(
            error.contains("SLURM_ARRAY_TASK_COUNT is not set"),
            "{error}"
        );
        assert!(error.contains("--shard"), "{error}");
    }

    #[test]
    fn discover_lists_kspace_files_sorted() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "b.h5",
            "a.h5",
            "c.cfl",
            "c.hdr",
            "notes.txt",
            ".a.h5.partial",
        ] {
            std::fs::write(dir.path().join(name), b"").unwrap();
        }
        let inputs = discover_inputs(dir.path()).unwrap();
        let names: Vec<String> = inputs
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["a.h5", "b.h5", "c.cfl"]);
    }

    #[test]
    fn discover_rejects_empty_folder() {
        let dir = tempfile::tempdir().unwrap();
        let error = discover_inputs(dir.path()).unwrap_err();
        assert!(matches!(error, ReconError::NoInputs { .. }));
        assert!(discover_inputs(&dir.path().join("missing")).is_err());
    }
}
