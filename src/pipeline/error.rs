//! Errors of pipeline parsing, validation and runs.

use std::path::PathBuf;

/// Renders `file:line:column` for messages, leaving out what is unknown.
pub(crate) fn position(
    path: &std::path::Path,
    line: Option<usize>,
    column: Option<usize>,
) -> String {
    match (line, column) {
        (Some(line), Some(column)) => format!("{}:{line}:{column}", path.display()),
        (Some(line), None) => format!("{}:{line}", path.display()),
        _ => path.display().to_string(),
    }
}

/// Failure to read, validate or run a pipeline.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The pipeline file could not be read.
    #[error("cannot read pipeline file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The file is not valid YAML or not a pipeline document.
    #[error("{}: invalid pipeline: {message}", position(path, *line, *column))]
    Syntax {
        path: PathBuf,
        line: Option<usize>,
        column: Option<usize>,
        message: String,
    },

    /// A `--set` argument is malformed or names no stage.
    #[error("invalid --set `{argument}`: {message}")]
    Override { argument: String, message: String },

    /// A stage name that no registered stage has.
    #[error(
        "{}: unknown stage `{stage}`; registered stages are: {}",
        position(path, *line, *column),
        valid.join(", ")
    )]
    UnknownStage {
        path: PathBuf,
        line: Option<usize>,
        column: Option<usize>,
        stage: String,
        valid: Vec<String>,
    },

    /// A stage parameter has the wrong type, an invalid value, or is not a parameter at all.
    #[error(
        "{}: stage `{stage}`, parameter `{key}`: {message}{}",
        position(path, *line, *column),
        overridden_by.as_ref().map(|a| format!(" (value set by --set {a})")).unwrap_or_default()
    )]
    InvalidParameter {
        path: PathBuf,
        line: Option<usize>,
        column: Option<usize>,
        stage: String,
        key: String,
        message: String,
        overridden_by: Option<String>,
    },

    /// Two neighbouring stages do not fit: the second cannot take what the first produces.
    #[error(
        "{}: stage {position_in_list} `{stage}` expects {expected} but {previous} produces {found}",
        position(path, *line, *column)
    )]
    Mismatch {
        path: PathBuf,
        line: Option<usize>,
        column: Option<usize>,
        position_in_list: usize,
        stage: String,
        expected: String,
        previous: String,
        found: String,
    },

    /// A pipeline with no source stage, or with a source stage that is not first.
    #[error("{}: {message}", path.display())]
    Structure { path: PathBuf, message: String },

    /// A stage failed while processing a volume.
    #[error("{}: stage `{stage}`{}: {source}", input.display(), slice.map(|s| format!(", slice {s}")).unwrap_or_default())]
    Stage {
        input: PathBuf,
        stage: String,
        slice: Option<usize>,
        #[source]
        source: crate::pipeline::StageError,
    },
}
