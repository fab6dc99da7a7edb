//! Per-volume metric values and their summary across volumes, as fastMRI's `Metrics` class
//! keeps them.
//!
//! fastMRI pushes each volume's values into `runstats.Statistics` and prints, for each metric
//! in sorted name order, `NAME = mean +/- 2*stddev` with both numbers in Python's `.4g` format,
//! joined by single spaces. `Statistics.stddev()` is the sample standard deviation
//! (`ddof = 1`, runstats 2.0), so this table reports the same.

use std::fmt;

use ndarray::ArrayView3;
use serde::ser::{SerializeMap, SerializeStruct};
use serde::{Serialize, Serializer};

use super::kind::MetricKind;
use super::MetricsError;

/// Values of one volume, in the order of the table's metrics.
#[derive(Clone, Debug, PartialEq)]
pub struct VolumeScores {
    /// Volume name, the file name in an evaluation.
    pub volume: String,
    /// One value per metric of the table.
    pub values: Vec<f64>,
}

/// Mean and spread of one metric across volumes.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MetricSummary {
    /// The metric, serialised as its key.
    pub metric: MetricKind,
    /// Human-readable name with variant and data range.
    pub label: String,
    /// Number of volumes.
    pub count: usize,
    /// Mean over volumes; NaN for an empty table.
    pub mean: f64,
    /// Sample standard deviation over volumes (`ddof = 1`); `None` below two volumes.
    pub std: Option<f64>,
}

impl MetricSummary {
    fn from_values(metric: MetricKind, values: &[f64]) -> Self {
        let count = values.len();
        let mean = values.iter().sum::<f64>() / count as f64;
        let std = (count > 1).then(|| {
            let squares: f64 = values.iter().map(|value| (value - mean).powi(2)).sum();
            (squares / (count - 1) as f64).sqrt()
        });
        MetricSummary {
            metric,
            label: metric.to_string(),
            count,
            mean,
            std,
        }
    }

    /// Returns `2 * std`, the `+/-` term of fastMRI's summary line.
    pub fn two_std(&self) -> Option<f64> {
        self.std.map(|std| 2.0 * std)
    }
}

/// Per-volume values of a fixed list of metrics: rows are volumes, columns are metrics.
///
/// A table contains each metric once and never merges with a table of other metrics, so values
/// of different SSIM variants or data ranges never land in one column.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricTable {
    metrics: Vec<MetricKind>,
    volumes: Vec<VolumeScores>,
}

impl MetricTable {
    /// Creates an empty table for the given metrics.
    ///
    /// # Errors
    ///
    /// [`MetricsError::NoMetrics`] for an empty list and [`MetricsError::DuplicateMetric`]
    /// when two entries have the same key.
    pub fn new(metrics: Vec<MetricKind>) -> Result<Self, MetricsError> {
        if metrics.is_empty() {
            return Err(MetricsError::NoMetrics);
        }
        for (i, metric) in metrics.iter().enumerate() {
            if metrics[..i]
                .iter()
                .any(|earlier| earlier.key() == metric.key())
            {
                return Err(MetricsError::DuplicateMetric { key: metric.key() });
            }
        }
        Ok(MetricTable {
            metrics,
            volumes: Vec::new(),
        })
    }

    /// Creates an empty table of fastMRI's four metrics, [`MetricKind::FASTMRI`].
    pub fn fastmri() -> Self {
        MetricTable {
            metrics: MetricKind::FASTMRI.to_vec(),
            volumes: Vec::new(),
        }
    }

    /// Returns the metrics, in column order.
    pub fn metrics(&self) -> &[MetricKind] {
        &self.metrics
    }

    /// Returns the volumes scored so far, in the order they were added.
    pub fn volumes(&self) -> &[VolumeScores] {
        &self.volumes
    }

    /// Scores one volume `(slices, h, w)` with every metric and adds it as a row.
    ///
    /// # Errors
    ///
    /// The first error of [`MetricKind::compute`]; the table is then unchanged.
    pub fn push_volume(
        &mut self,
        volume: impl Into<String>,
        target: ArrayView3<f32>,
        prediction: ArrayView3<f32>,
    ) -> Result<&VolumeScores, MetricsError> {
        let values = self
            .metrics
            .iter()
            .map(|metric| metric.compute(target, prediction))
            .collect::<Result<Vec<f64>, _>>()?;
        self.push_values(volume, values)?;
        Ok(&self.volumes[self.volumes.len() - 1])
    }

    /// Adds a row of values computed elsewhere, in the order of [`MetricTable::metrics`].
    ///
    /// # Errors
    ///
    /// [`MetricsError::ValueCountMismatch`] when the number of values differs from the number
    /// of metrics.
    pub fn push_values(
        &mut self,
        volume: impl Into<String>,
        values: Vec<f64>,
    ) -> Result<(), MetricsError> {
        let volume = volume.into();
        if values.len() != self.metrics.len() {
            return Err(MetricsError::ValueCountMismatch {
                volume,
                expected: self.metrics.len(),
                found: values.len(),
            });
        }
        self.volumes.push(VolumeScores { volume, values });
        Ok(())
    }

    /// Appends the rows of another table with the same metrics in the same order.
    ///
    /// # Errors
    ///
    /// [`MetricsError::MetricsDiffer`] when the metric lists differ.
    pub fn merge(&mut self, other: MetricTable) -> Result<(), MetricsError> {
        if self.metrics != other.metrics {
            return Err(MetricsError::MetricsDiffer {
                left: keys(&self.metrics),
                right: keys(&other.metrics),
            });
        }
        self.volumes.extend(other.volumes);
        Ok(())
    }

    /// Returns the summary of each metric, in column order.
    pub fn summaries(&self) -> Vec<MetricSummary> {
        self.metrics
            .iter()
            .enumerate()
            .map(|(column, &metric)| {
                let values: Vec<f64> = self.volumes.iter().map(|row| row.values[column]).collect();
                MetricSummary::from_values(metric, &values)
            })
            .collect()
    }

    /// Returns the summary line in fastMRI's format, such as
    /// `MSE = 1.2e-10 +/- 3.4e-11 NMSE = 0.0301 +/- 0.012 PSNR = 31.23 +/- 2.31 SSIM = 0.8102 +/- 0.05`.
    ///
    /// Metrics are sorted by [`MetricKind::summary_name`] in code point order, as Python's
    /// `sorted` orders them. Below two volumes the spread prints as `nan`, where fastMRI itself
    /// raises `ZeroDivisionError`.
    pub fn summary_line(&self) -> String {
        let mut summaries = self.summaries();
        summaries.sort_by_key(|summary| summary.metric.summary_name());
        let parts: Vec<String> = summaries
            .iter()
            .map(|summary| {
                format!(
                    "{} = {} +/- {}",
                    summary.metric.summary_name(),
                    format_general(summary.mean, 4),
                    format_general(summary.two_std().unwrap_or(f64::NAN), 4)
                )
            })
            .collect();
        parts.join(" ")
    }
}

fn keys(metrics: &[MetricKind]) -> String {
    let keys: Vec<String> = metrics.iter().map(MetricKind::key).collect();
    keys.join(", ")
}

impl fmt::Display for MetricTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.summary_line())
    }
}

/// Serialises as `{"metrics": [keys], "summary": [MetricSummary], "volumes": [{"volume":
/// name, "values": {key: value}}]}`. JSON has no NaN or infinity, so serde_json writes those
/// values (a perfect prediction's PSNR, say) as `null`.
impl Serialize for MetricTable {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let rows: Vec<Row<'_>> = self
            .volumes
            .iter()
            .map(|scores| Row {
                metrics: &self.metrics,
                scores,
            })
            .collect();
        let mut table = serializer.serialize_struct("MetricTable", 3)?;
        table.serialize_field("metrics", &self.metrics)?;
        table.serialize_field("summary", &self.summaries())?;
        table.serialize_field("volumes", &rows)?;
        table.end()
    }
}

struct Row<'a> {
    metrics: &'a [MetricKind],
    scores: &'a VolumeScores,
}

impl Serialize for Row<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut row = serializer.serialize_struct("VolumeScores", 2)?;
        row.serialize_field("volume", &self.scores.volume)?;
        row.serialize_field("values", &Values(self))?;
        row.end()
    }
}

struct Values<'a>(&'a Row<'a>);

impl Serialize for Values<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.metrics.len()))?;
        for (metric, value) in self.0.metrics.iter().zip(&self.0.scores.values) {
            map.serialize_entry(&metric.key(), value)?;
        }
        map.end()
    }
}

/// Formats a number as Python's `format(value, f".{precision}g")` does: `precision`
/// significant digits, scientific notation when the exponent is below -4 or at least
/// `precision`, trailing zeros removed.
pub fn format_general(value: f64, precision: usize) -> String {
    if value.is_nan() {
        return "nan".to_owned();
    }
    if value.is_infinite() {
        return if value > 0.0 { "inf" } else { "-inf" }.to_owned();
    }
    if value == 0.0 {
        return if value.is_sign_negative() { "-0" } else { "0" }.to_owned();
    }
    let precision = precision.max(1);

    // The exponent after rounding to `precision` digits decides the notation, so 9999.5 at
    // four digits becomes 1e+04.
    let scientific = format!("{:.*e}", precision - 1, value);
    let Some((mantissa, exponent)) = scientific.split_once('e') else {
        return scientific;
    };
    let Ok(exponent) = exponent.parse::<i32>() else {
        return scientific;
    };

    if exponent < -4 || exponent >= precision as i32 {
        let sign = if exponent < 0 { '-' } else { '+' };
        format!(
            "{}e{sign}{:02}",
            strip_fraction_zeros(mantissa),
            exponent.abs()
        )
    } else {
        let decimals = (precision as i32 - 1 - exponent) as usize;
        strip_fraction_zeros(&format!("{value:.decimals$}")).to_owned()
    }
}

fn strip_fraction_zeros(number: &str) -> &str {
    if number.contains('.') {
        number.trim_end_matches('0').trim_end_matches('.')
    } else {
        number
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn general_format_cases() {
        let cases = [
            (0.0, "0"),
            (1.0, "1"),
            (0.5, "0.5"),
            (31.23456, "31.23"),
            (1234.4, "1234"),
            (12345.0, "1.234e+04"),
            (9999.6, "1e+04"),
            (0.0001234, "0.0001234"),
            (0.00001234, "1.234e-05"),
            (-2.5e-7, "-2.5e-07"),
            (1e100, "1e+100"),
            (f64::NAN, "nan"),
            (f64::NEG_INFINITY, "-inf"),
        ];
        for (value, expected) in cases {
            assert_eq!(format_general(value, 4), expected, "{value}");
        }
    }

    #[test]
    fn sample_standard_deviation() {
        let summary = MetricSummary::from_values(MetricKind::Nmse, &[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(summary.mean, 2.5);
        // sqrt(5 / 3): squared deviations 2.25 + 0.25 + 0.25 + 2.25 over n - 1 = 3.
        assert!((summary.std.unwrap() - (5.0f64 / 3.0).sqrt()).abs() < 1e-15);
        let single = MetricSummary::from_values(MetricKind::Nmse, &[1.0]);
        assert_eq!(single.std, None);
    }

    #[test]
    fn duplicate_metrics_rejected() {
        let result = MetricTable::new(vec![MetricKind::Nmse, MetricKind::Nmse]);
        assert!(matches!(result, Err(MetricsError::DuplicateMetric { .. })));
        assert!(matches!(
            MetricTable::new(vec![]),
            Err(MetricsError::NoMetrics)
        ));
    }

    #[test]
    fn merge_requires_same_metrics() {
        let mut fastmri = MetricTable::fastmri();
        let other = MetricTable::new(vec![MetricKind::Nmse]).unwrap();
        assert!(matches!(
            fastmri.merge(other),
            Err(MetricsError::MetricsDiffer { .. })
        ));
    }

    #[test]
    fn value_count_checked() {
        let mut table = MetricTable::fastmri();
        let result = table.push_values("a.h5", vec![1.0]);
        assert!(matches!(
            result,
            Err(MetricsError::ValueCountMismatch {
                expected: 4,
                found: 1,
                ..
            })
        ));
    }
}
