//! Per-epoch records of a training run, as JSON lines and CSV in the run folder.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::TrainError;

/// One epoch's numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    pub epoch: usize,
    pub train_loss: f64,
    pub validation_loss: f64,
    /// Task metrics on the validation split (for example `accuracy`), by name.
    pub validation_metrics: Vec<(String, f64)>,
    /// Learning rates by parameter group.
    pub learning_rates: Vec<(String, f64)>,
    pub temperature: f64,
    pub entropy_weight: f64,
    /// Width or candidate count divided by the samples kept.
    pub acceleration: f64,
    pub seconds: f64,
    /// Training examples per second.
    pub examples_per_second: f64,
}

/// Appends epoch records to `metrics.jsonl` and `metrics.csv`.
pub struct RunLog {
    jsonl: PathBuf,
    csv: PathBuf,
}

impl RunLog {
    /// Opens the logs of a run folder. A fresh run (`resume` false) truncates them; a resumed
    /// run keeps the records up to `keep_epochs` and appends after them.
    ///
    /// # Errors
    ///
    /// [`TrainError::File`] when the logs cannot be written.
    pub fn open(folder: &Path, resume: bool, keep_epochs: usize) -> Result<Self, TrainError> {
        let log = Self {
            jsonl: folder.join("metrics.jsonl"),
            csv: folder.join("metrics.csv"),
        };
        let kept = if resume {
            log.read()?
                .into_iter()
                .filter(|r| r.epoch < keep_epochs)
                .collect()
        } else {
            Vec::new()
        };
        let create = |path: &Path| {
            File::create(path).map_err(|source| TrainError::File {
                path: path.to_path_buf(),
                source,
            })
        };
        create(&log.jsonl)?;
        create(&log.csv)?;
        for record in &kept {
            log.append(record)?;
        }
        Ok(log)
    }

    /// Refers to the logs of a run folder without changing them, for reading.
    pub fn open_existing(folder: &Path) -> Self {
        Self {
            jsonl: folder.join("metrics.jsonl"),
            csv: folder.join("metrics.csv"),
        }
    }

    /// Reads the records of `metrics.jsonl`; none when it does not exist.
    ///
    /// # Errors
    ///
    /// [`TrainError::File`] for an unreadable file, [`TrainError::Log`] for a malformed line.
    pub fn read(&self) -> Result<Vec<EpochRecord>, TrainError> {
        let file = match File::open(&self.jsonl) {
            Ok(file) => file,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(TrainError::File {
                    path: self.jsonl.clone(),
                    source,
                })
            }
        };
        let mut records = Vec::new();
        for (number, line) in BufReader::new(file).lines().enumerate() {
            let line = line.map_err(|source| TrainError::File {
                path: self.jsonl.clone(),
                source,
            })?;
            if line.trim().is_empty() {
                continue;
            }
            let record = serde_json::from_str(&line).map_err(|error| TrainError::Log {
                path: self.jsonl.clone(),
                line: number + 1,
                message: error.to_string(),
            })?;
            records.push(record);
        }
        Ok(records)
    }

    /// Appends one record to both files.
    ///
    /// # Errors
    ///
    /// [`TrainError::File`] when a file cannot be written.
    pub fn append(&self, record: &EpochRecord) -> Result<(), TrainError> {
        let open = |path: &Path| {
            OpenOptions::new()
                .append(true)
                .open(path)
                .map_err(|source| TrainError::File {
                    path: path.to_path_buf(),
                    source,
                })
        };
        let write_error = |path: &Path| {
            let path = path.to_path_buf();
            move |source| TrainError::File { path, source }
        };

        let mut jsonl = open(&self.jsonl)?;
        let line = serde_json::to_string(record).expect("epoch records serialise");
        writeln!(jsonl, "{line}").map_err(write_error(&self.jsonl))?;

        let mut csv = open(&self.csv)?;
        let empty = csv.metadata().map(|m| m.len() == 0).unwrap_or(true);
        if empty {
            writeln!(csv, "{}", csv_header(record)).map_err(write_error(&self.csv))?;
        }
        writeln!(csv, "{}", csv_row(record)).map_err(write_error(&self.csv))?;
        Ok(())
    }
}

fn csv_header(record: &EpochRecord) -> String {
    let mut columns = vec![
        "epoch".to_string(),
        "train_loss".into(),
        "validation_loss".into(),
    ];
    columns.extend(
        record
            .validation_metrics
            .iter()
            .map(|(n, _)| format!("validation_{n}")),
    );
    columns.extend(
        record
            .learning_rates
            .iter()
            .map(|(n, _)| format!("learning_rate_{n}")),
    );
    columns.extend(
        [
            "temperature",
            "entropy_weight",
            "acceleration",
            "seconds",
            "examples_per_second",
        ]
        .map(String::from),
    );
    columns.join(",")
}

fn csv_row(record: &EpochRecord) -> String {
    let mut cells = vec![
        record.epoch.to_string(),
        record.train_loss.to_string(),
        record.validation_loss.to_string(),
    ];
    cells.extend(record.validation_metrics.iter().map(|(_, v)| v.to_string()));
    cells.extend(record.learning_rates.iter().map(|(_, v)| v.to_string()));
    cells.extend(
        [
            record.temperature,
            record.entropy_weight,
            record.acceleration,
            record.seconds,
            record.examples_per_second,
        ]
        .map(|v| v.to_string()),
    );
    cells.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(epoch: usize) -> EpochRecord {
        EpochRecord {
            epoch,
            train_loss: 1.5 - epoch as f64 * 0.1,
            validation_loss: 1.25,
            validation_metrics: vec![("accuracy".into(), 0.5)],
            learning_rates: vec![("task".into(), 2e-4), ("sampler".into(), 2e-3)],
            temperature: 2.0,
            entropy_weight: 1e-5 * epoch as f64,
            acceleration: 31.36,
            seconds: 3.0,
            examples_per_second: 1000.0,
        }
    }

    #[test]
    fn log_writes_jsonl_and_csv() {
        let dir = tempfile::tempdir().unwrap();
        let log = RunLog::open(dir.path(), false, 0).unwrap();
        log.append(&record(0)).unwrap();
        log.append(&record(1)).unwrap();
        assert_eq!(log.read().unwrap(), vec![record(0), record(1)]);
        let csv = std::fs::read_to_string(dir.path().join("metrics.csv")).unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("epoch,train_loss,validation_loss,validation_accuracy,"));
        assert!(lines[0].contains("learning_rate_sampler"));
        assert!(lines[2].starts_with("1,"));
    }

    #[test]
    fn resume_keeps_earlier_epochs_only() {
        let dir = tempfile::tempdir().unwrap();
        let log = RunLog::open(dir.path(), false, 0).unwrap();
        for epoch in 0..4 {
            log.append(&record(epoch)).unwrap();
        }
        let resumed = RunLog::open(dir.path(), true, 2).unwrap();
        assert_eq!(resumed.read().unwrap(), vec![record(0), record(1)]);
        let csv = std::fs::read_to_string(dir.path().join("metrics.csv")).unwrap();
        assert_eq!(csv.lines().count(), 3);
    }
}
