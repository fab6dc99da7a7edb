//! Text tables for the results of `dps run` and `dps recon`.

use std::fmt::Write;

use dps::recon::BatchReport;

/// Values shown as table columns when a stage reported them, in this order.
const VALUE_COLUMNS: [(&str, &str); 2] = [("acceleration", "accel."), ("samples", "samples")];

/// Renders one row per processed volume, then the skipped and failed inputs.
pub fn render(report: &BatchReport) -> String {
    let mut text = String::new();
    // Volumes without a target have no scores, so the columns come from every volume, not
    // the first one.
    let mut metric_names: Vec<String> = Vec::new();
    for (name, _) in report.processed.iter().flat_map(|v| &v.metrics) {
        if !metric_names.contains(name) {
            metric_names.push(name.clone());
        }
    }
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

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use dps::recon::VolumeSummary;

    use super::*;

    fn volume(name: &str, metrics: &[(&str, f64)]) -> VolumeSummary {
        VolumeSummary {
            input: PathBuf::from(name),
            slices: 1,
            metrics: metrics.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            values: Default::default(),
            files: Vec::new(),
            seconds: 0.0,
        }
    }

    #[test]
    fn render_keeps_metric_columns_after_unscored_volume() {
        let report = BatchReport {
            processed: vec![
                volume("a.h5", &[]),
                volume("b.h5", &[("nmse", 0.25), ("psnr_fastmri", 31.5)]),
            ],
            ..BatchReport::default()
        };
        let text = render(&report);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].contains("nmse"), "{text}");
        assert!(lines[0].contains("psnr_fastmri"), "{text}");
        assert!(lines[1].trim_end().ends_with('-'), "{text}");
        assert!(lines[2].contains("31.5000"), "{text}");
    }
}
