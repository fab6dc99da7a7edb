//! Pipeline files: the YAML document, `--set` overrides, and source locations for errors.
//!
//! A pipeline file is a mapping with an optional `name` and `description` and a list of
//! `stages`. Each stage is a mapping whose `stage` key names a registered stage. An optional `id`
//! names the entry for `--set` and defaults to the stage name. Every other key is a parameter of
//! that stage:
//!
//! ```yaml
//! name: demo
//! stages:
//!   - stage: load
//!     path: data/phantom_gre.h5
//!   - stage: mask
//!     type: equispaced
//!     center_fractions: [0.08]
//!     accelerations: [4]
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_yaml::{Mapping, Value};

use super::{ParamError, PipelineError};

/// One stage entry of a pipeline file, before its parameters are checked.
#[derive(Debug, Clone)]
pub struct StageEntry {
    /// Registered stage name (the `stage` key).
    pub stage: String,
    /// Name used by `--set` (the `id` key, or the stage name).
    pub id: String,
    /// Every other key of the entry.
    pub params: Mapping,
    /// Zero-based position in the `stages` list.
    pub index: usize,
    /// `--set` arguments that changed this entry, by parameter key.
    pub overridden: Vec<(String, String)>,
}

/// A parsed pipeline file.
#[derive(Debug, Clone)]
pub struct PipelineFile {
    /// File the pipeline was read from (`<string>` for text parsed in memory).
    pub path: PathBuf,
    /// Text of the file, kept to locate keys in error messages.
    pub text: String,
    /// Value of the optional `name` key.
    pub name: Option<String>,
    /// Value of the optional `description` key.
    pub description: Option<String>,
    /// Stage entries in order.
    pub stages: Vec<StageEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    name: Option<String>,
    description: Option<String>,
    stages: Vec<Mapping>,
}

impl PipelineFile {
    /// Reads and parses a pipeline file.
    ///
    /// # Errors
    ///
    /// [`PipelineError::Read`] when the file cannot be read, [`PipelineError::Syntax`] (with line
    /// and column) when it is not a valid pipeline document.
    pub fn read(path: &Path) -> Result<Self, PipelineError> {
        let text = std::fs::read_to_string(path).map_err(|source| PipelineError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(path, &text)
    }

    /// Parses pipeline text; `path` is only used in messages.
    ///
    /// # Errors
    ///
    /// [`PipelineError::Syntax`] for YAML errors, unknown top-level keys, or a stage entry
    /// without a `stage` key.
    pub fn parse(path: &Path, text: &str) -> Result<Self, PipelineError> {
        // serde_yaml 0.9 rejects some documents that start with a byte-order mark, as Windows
        // editors write them (one whose first key is `name`, for example), so it is dropped.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let document: Document =
            serde_yaml::from_str(text).map_err(|error| PipelineError::Syntax {
                path: path.to_path_buf(),
                line: error.location().map(|l| l.line()),
                column: error.location().map(|l| l.column()),
                message: error.to_string(),
            })?;
        let mut stages = Vec::with_capacity(document.stages.len());
        for (index, mut params) in document.stages.into_iter().enumerate() {
            let stage = take_string(&mut params, "stage")
                .map_err(|message| entry_error(path, text, index, "stage", message))?
                .ok_or_else(|| {
                    let message = "missing key `stage` (the name of a registered stage)".into();
                    entry_error(path, text, index, "stage", message)
                })?;
            let id = take_string(&mut params, "id")
                .map_err(|message| entry_error(path, text, index, "id", message))?
                .unwrap_or_else(|| stage.clone());
            stages.push(StageEntry {
                stage,
                id,
                params,
                index,
                overridden: Vec::new(),
            });
        }
        Ok(Self {
            path: path.to_path_buf(),
            text: text.to_string(),
            name: document.name,
            description: document.description,
            stages,
        })
    }

    /// Applies one `--set STAGE.KEY=VALUE` override. `STAGE` is a stage `id`, a stage name that
    /// occurs once, or a zero-based position. A dotted `KEY` reaches into nested mappings, and
    /// `VALUE` is parsed as YAML (`8`, `[4, 8]`, `true`, `text`).
    ///
    /// # Errors
    ///
    /// [`PipelineError::Override`] when the argument is malformed or names no stage.
    pub fn apply_override(&mut self, argument: &str) -> Result<(), PipelineError> {
        let invalid = |message: String| PipelineError::Override {
            argument: argument.to_string(),
            message,
        };
        let (target, value_text) = argument
            .split_once('=')
            .ok_or_else(|| invalid("expected STAGE.KEY=VALUE".into()))?;
        let (stage_name, key_path) = target.split_once('.').ok_or_else(|| {
            invalid("expected STAGE.KEY=VALUE, with a stage id before the dot".into())
        })?;
        let value: Value = serde_yaml::from_str(value_text)
            .map_err(|error| invalid(format!("value is not valid YAML: {error}")))?;
        let index = self.find_stage(stage_name).map_err(invalid)?;
        let entry = &mut self.stages[index];
        let keys: Vec<&str> = key_path.split('.').collect();
        if keys.iter().any(|key| key.is_empty()) || keys[0] == "stage" || keys[0] == "id" {
            return Err(invalid(format!("`{key_path}` is not a parameter key")));
        }
        set_nested(&mut entry.params, &keys, value).map_err(invalid)?;
        entry
            .overridden
            .push((keys[0].to_string(), argument.to_string()));
        Ok(())
    }

    /// Sets parameter `key` of the stage at `index`, as the batch command does for the input
    /// and output paths.
    ///
    /// # Panics
    ///
    /// When `index` is not a stage position.
    pub fn set_param(&mut self, index: usize, key: &str, value: Value) {
        let entry = &mut self.stages[index];
        entry.params.insert(Value::String(key.to_string()), value);
        entry
            .overridden
            .push((key.to_string(), format!("{}.{key}", entry.id)));
    }

    fn find_stage(&self, name: &str) -> Result<usize, String> {
        if let Some(entry) = self.stages.iter().find(|entry| entry.id == name) {
            return Ok(entry.index);
        }
        let by_stage: Vec<usize> = self
            .stages
            .iter()
            .filter(|entry| entry.stage == name)
            .map(|entry| entry.index)
            .collect();
        match by_stage.as_slice() {
            [index] => return Ok(*index),
            [] => {}
            _ => {
                return Err(format!(
                    "stage `{name}` occurs {} times; give each an `id` and use it",
                    by_stage.len()
                ))
            }
        }
        if let Ok(index) = name.parse::<usize>() {
            if index < self.stages.len() {
                return Ok(index);
            }
        }
        let ids: Vec<&str> = self.stages.iter().map(|entry| entry.id.as_str()).collect();
        Err(format!(
            "no stage `{name}` in the pipeline; stage ids are: {}",
            ids.join(", ")
        ))
    }

    /// Finds the 1-based line and column of a stage's key, or of the stage entry itself when
    /// `key` is `None` or not written in block style.
    pub fn locate(&self, index: usize, key: Option<&str>) -> Option<(usize, usize)> {
        locate_key(&self.text, index, key)
    }
}

fn take_string(params: &mut Mapping, key: &str) -> Result<Option<String>, String> {
    match params.remove(key) {
        None => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(other) => Err(format!(
            "`{key}` must be a string, found {}",
            kind_of(&other)
        )),
    }
}

fn entry_error(path: &Path, text: &str, index: usize, key: &str, message: String) -> PipelineError {
    let location = locate_key(text, index, Some(key));
    PipelineError::Syntax {
        path: path.to_path_buf(),
        line: location.map(|l| l.0),
        column: location.map(|l| l.1),
        message: format!("stage {}: {message}", index + 1),
    }
}

fn set_nested(mapping: &mut Mapping, keys: &[&str], value: Value) -> Result<(), String> {
    let key = Value::String(keys[0].to_string());
    if keys.len() == 1 {
        mapping.insert(key, value);
        return Ok(());
    }
    let child = mapping
        .entry(key)
        .or_insert_with(|| Value::Mapping(Mapping::new()));
    match child {
        Value::Mapping(inner) => set_nested(inner, &keys[1..], value),
        other => Err(format!(
            "`{}` is a {}, not a mapping, so `{}` cannot be set inside it",
            keys[0],
            kind_of(other),
            keys[1]
        )),
    }
}

/// Replaces `${NAME}` and `${NAME:-default}` in every string of `params` by the environment
/// variable `NAME` (or the default when it is unset or empty).
///
/// # Errors
///
/// [`ParamError`] naming the key whose string uses an unset variable without a default, or an
/// unterminated `${`.
pub(crate) fn expand_environment(params: &Mapping) -> Result<Mapping, ParamError> {
    let mut expanded = Mapping::new();
    for (key, value) in params {
        let name = key.as_str().unwrap_or("?").to_string();
        expanded.insert(key.clone(), expand_value(value, &name)?);
    }
    Ok(expanded)
}

fn expand_value(value: &Value, key: &str) -> Result<Value, ParamError> {
    Ok(match value {
        Value::String(text) => Value::String(
            expand_text(text, |name| std::env::var(name).ok())
                .map_err(|message| ParamError::new(key, message))?,
        ),
        Value::Sequence(items) => Value::Sequence(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| expand_value(item, &format!("{key}[{i}]")))
                .collect::<Result<_, _>>()?,
        ),
        Value::Mapping(inner) => {
            let mut mapping = Mapping::new();
            for (inner_key, item) in inner {
                let path = format!("{key}.{}", inner_key.as_str().unwrap_or("?"));
                mapping.insert(inner_key.clone(), expand_value(item, &path)?);
            }
            Value::Mapping(mapping)
        }
        other => other.clone(),
    })
}

fn expand_text(text: &str, lookup: impl Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut result = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        result.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("unterminated `${{` in `{text}`"))?;
        let expression = &after[..end];
        let (name, default) = match expression.split_once(":-") {
            Some((name, default)) => (name, Some(default)),
            None => (expression, None),
        };
        match (lookup(name).filter(|value| !value.is_empty()), default) {
            (Some(value), _) => result.push_str(&value),
            (None, Some(default)) => result.push_str(default),
            (None, None) => {
                return Err(format!(
                    "environment variable `{name}` used in `{text}` is not set; set it or write \
                     `${{{name}:-default}}`"
                ))
            }
        }
        rest = &after[end + 1..];
    }
    result.push_str(rest);
    Ok(result)
}

/// Names a YAML value's type the way error messages do.
pub(crate) fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Sequence(_) => "sequence",
        Value::Mapping(_) => "mapping",
        Value::Tagged(_) => "tagged value",
    }
}

/// Scans block-style YAML for the `index`-th item of the top-level `stages` list and, inside it,
/// for `key`. serde_yaml reports positions only for errors it raises itself, and stage
/// parameters are checked later against each stage's own type, so their keys are found here.
fn locate_key(text: &str, index: usize, key: Option<&str>) -> Option<(usize, usize)> {
    // Editors on Windows may start the file with a byte-order mark, which YAML ignores.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<&str> = text.lines().collect();
    let stages_line = lines.iter().position(|line| line.starts_with("stages:"))?;

    // Items of the list are the lines whose first non-space text is "- " at the indentation of
    // the first item.
    let mut item_indent = None;
    let mut items = Vec::new();
    for (number, line) in lines.iter().enumerate().skip(stages_line + 1) {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indent = line.len() - trimmed.len();
        if indent == 0 && !trimmed.starts_with('-') {
            break;
        }
        if trimmed.starts_with("- ") || trimmed == "-" {
            match item_indent {
                None => {
                    item_indent = Some(indent);
                    items.push(number);
                }
                Some(expected) if expected == indent => items.push(number),
                _ => {}
            }
        }
    }
    let start = *items.get(index)?;
    let end = items.get(index + 1).copied().unwrap_or(lines.len());
    let item_column = item_indent.unwrap_or(0) + 1;
    let Some(key) = key else {
        return Some((start + 1, item_column));
    };
    for (number, line) in lines.iter().enumerate().take(end).skip(start) {
        let mut rest = line.trim_start();
        let mut column = line.len() - rest.len();
        if number == start {
            rest = rest.trim_start_matches('-').trim_start();
            column = line.len() - rest.len();
        }
        if let Some(after) = rest.strip_prefix(key) {
            if after.trim_start().starts_with(':') {
                return Some((number + 1, column + 1));
            }
        }
    }
    Some((start + 1, item_column))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
name: demo
stages:
  - stage: load
    path: data/x.h5
  # a comment
  - stage: mask
    id: undersample
    type: random
    accelerations: [4]
  - stage: zero_filled
";

    fn parse() -> PipelineFile {
        PipelineFile::parse(Path::new("demo.yaml"), TEXT).unwrap()
    }

    #[test]
    fn parse_reads_stage_entries() {
        let file = parse();
        assert_eq!(file.name.as_deref(), Some("demo"));
        assert_eq!(file.stages.len(), 3);
        assert_eq!(file.stages[1].stage, "mask");
        assert_eq!(file.stages[1].id, "undersample");
        assert_eq!(file.stages[2].id, "zero_filled");
        assert!(file.stages[1].params.contains_key("type"));
        assert!(!file.stages[1].params.contains_key("stage"));
    }

    #[test]
    fn locate_finds_keys_and_items() {
        let file = parse();
        assert_eq!(file.locate(0, Some("stage")), Some((3, 5)));
        assert_eq!(file.locate(0, Some("path")), Some((4, 5)));
        assert_eq!(file.locate(1, Some("accelerations")), Some((9, 5)));
        assert_eq!(file.locate(2, None), Some((10, 3)));
        // A key that is not written falls back to the item itself.
        assert_eq!(file.locate(2, Some("absent")), Some((10, 3)));
        assert_eq!(file.locate(3, None), None);
    }

    #[test]
    fn locate_skips_byte_order_mark() {
        let text = format!("\u{feff}{TEXT}");
        assert_eq!(locate_key(&text, 1, Some("accelerations")), Some((9, 5)));
    }

    #[test]
    fn unknown_top_level_key_has_location() {
        let error = PipelineFile::parse(Path::new("p.yaml"), "stagess: []\n").unwrap_err();
        match error {
            PipelineError::Syntax { line, message, .. } => {
                assert_eq!(line, Some(1));
                assert!(message.contains("stagess"), "{message}");
            }
            other => panic!("unexpected error {other}"),
        }
    }

    #[test]
    fn missing_stage_key_is_reported() {
        let text = "stages:\n  - path: a.h5\n";
        let error = PipelineFile::parse(Path::new("p.yaml"), text).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("missing key `stage`"), "{message}");
        assert!(message.contains("p.yaml:2:3"), "{message}");
    }

    #[test]
    fn override_sets_by_id_name_and_position() {
        let mut file = parse();
        file.apply_override("undersample.accelerations=[8]")
            .unwrap();
        file.apply_override("load.path=other.h5").unwrap();
        file.apply_override("2.options.depth=3").unwrap();
        let accelerations = &file.stages[1].params["accelerations"];
        assert_eq!(
            accelerations,
            &serde_yaml::from_str::<Value>("[8]").unwrap()
        );
        assert_eq!(file.stages[0].params["path"], Value::from("other.h5"));
        let options = file.stages[2].params["options"].as_mapping().unwrap();
        assert_eq!(options["depth"], Value::from(3));
        assert_eq!(file.stages[1].overridden.len(), 1);
    }

    #[test]
    fn override_rejects_unknown_stage() {
        let mut file = parse();
        let message = file.apply_override("denoise.x=1").unwrap_err().to_string();
        assert!(
            message.contains("load, undersample, zero_filled"),
            "{message}"
        );
        assert!(file.apply_override("load").is_err());
        assert!(file.apply_override("load.stage=mask").is_err());
    }

    #[test]
    fn expand_text_uses_variables_and_defaults() {
        let lookup = |name: &str| (name == "ROOT").then(|| "/data".to_string());
        assert_eq!(expand_text("${ROOT}/a.h5", lookup).unwrap(), "/data/a.h5");
        assert_eq!(expand_text("${NONE:-x}/a", lookup).unwrap(), "x/a");
        assert_eq!(expand_text("${ROOT:-x}", lookup).unwrap(), "/data");
        assert_eq!(expand_text("plain", lookup).unwrap(), "plain");
        assert!(expand_text("${NONE}", lookup)
            .unwrap_err()
            .contains("`NONE`"));
        assert!(expand_text("${ROOT", lookup)
            .unwrap_err()
            .contains("unterminated"));
    }
}
