//! Text tables for the results of `dps run` and `dps recon`.

use std::fmt::Write;

use dps::recon::BatchReport;

/// Values shown as table columns when a stage reported them, in this order.
const VALUE_COLUMNS: [(&str, &str); 2] = [("acceleration", "accel."), ("samples", "samples")];

/// Renders one row per processed volume, then the skipped and failed inputs.
pub fn render(report: &BatchReport) -> String {
    let mut text = String::new();
    let metric_names: Vec<String> = report
        .processed
        .first()
        .map(|v| v.metrics.iter().map(|(name, _)| name.clone()).collect())
        .unwrap_or_default();
    let value_columns: Vec<(&str, &str)> = VALUE_COLUMNS
        .iter()
        .copied()
        .filter(|(key, _)| report.processed.iter().any(|v| v.values.contains_key(*key)))
        .collect();

    let name_width = report
        .processed
        .iter()
        .map(|v| display_name(&v.input).len())
        .max()
        .unwrap_or(6)
        .max(6);
    let _ = write!(text, "{:<name_width$}  {:>6}", "volume", "slices");
    for (_, header) in &value_columns {
        let _ = write!(text, "  {header:>8}");
    }
    for name in &metric_names {
        let _ = write!(text, "  {name:>12}");
    }
    text.push('\n');

    for volume in &report.processed {
        let _ = write!(
            text,
            "{:<name_width$}  {:>6}",
            display_name(&volume.input),
            volume.slices
        );
        for (key, _) in &value_columns {
            let cell = match volume.values.get(*key) {
                Some(serde_json::Value::Number(n)) if n.is_f64() => {
                    format!("{:.2}", n.as_f64().unwrap_or(f64::NAN))
                }
                Some(value) => value.to_string(),
                None => "-".into(),
            };
            let _ = write!(text, "  {cell:>8}");
        }
        for name in &metric_names {
            let cell = volume
                .metrics
                .iter()
                .find(|(metric, _)| metric == name)
                .map(|(_, value)| format_metric(*value))
                .unwrap_or_else(|| "-".into());
            let _ = write!(text, "  {cell:>12}");
        }
        text.push('\n');
    }
    for input in &report.skipped {
        let _ = writeln!(text, "skipped (outputs exist): {}", input.display());
    }
    for failure in &report.failed {
        let _ = writeln!(
            text,
            "FAILED {}: {}",
            failure.input.display(),
            failure.reason
        );
    }
    let _ = writeln!(
        text,
        "{} processed, {} skipped, {} failed in {:.2} s ({:.1} slices/s)",
        report.processed.len(),
        report.skipped.len(),
        report.failed.len(),
        report.seconds,
        report.slices_per_second()
    );
    text
}

fn display_name(path: &std::path::Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

fn format_metric(value: f64) -> String {
    if value != 0.0 && value.abs() < 1e-2 {
        format!("{value:.4e}")
    } else {
        format!("{value:.4}")
    }
}
