//! `metrics`: scores each reconstructed volume against the input's reference image.
//!
//! Both volumes are centre-cropped to (W_t, W_t), W_t being the target's width, as fastMRI's
//! evaluator does, and scored per volume. The default metrics are fastMRI's NMSE, PSNR and
//! SSIM (data range = target volume maximum).

use serde::Deserialize;

use crate::metrics::{MetricConfig, MetricKind};
use crate::pipeline::{
    Data, ParamError, ParamInfo, Stage, StageError, StageInfo, StageParams, Volume, VolumeOutput,
};
use crate::transforms::center_crop;

/// Registration of the `metrics` stage.
pub fn info() -> StageInfo {
    StageInfo {
        name: "metrics",
        summary: "Scores reconstructions against the input's target (fastMRI's evaluation rules).",
        params: &[
            ParamInfo {
                name: "metrics",
                kind: "[string or {name, data_range}]",
                default: "[nmse, psnr, ssim]",
                help: "mse, nmse, psnr, ssim (fastMRI: data range = volume max), ssim_gaussian \
                       (TensorFlow's 11x11 window, needs data_range)",
            },
            ParamInfo {
                name: "require_target",
                kind: "boolean",
                default: "false",
                help: "fail on inputs without a target instead of skipping their scores",
            },
        ],
        build,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MetricsStageConfig {
    #[serde(default = "default_metrics")]
    metrics: Vec<MetricConfig>,
    #[serde(default)]
    require_target: bool,
}

fn default_metrics() -> Vec<MetricConfig> {
    ["nmse", "psnr", "ssim"]
        .map(|name| MetricConfig {
            name: name.into(),
            data_range: None,
        })
        .to_vec()
}

struct MetricsStage {
    metrics: Vec<MetricKind>,
    require_target: bool,
}

fn build(params: &StageParams) -> Result<Box<dyn Stage>, ParamError> {
    let config: MetricsStageConfig = params.parse()?;
    if config.metrics.is_empty() {
        return Err(ParamError::new("metrics", "list at least one metric"));
    }
    let mut metrics = Vec::with_capacity(config.metrics.len());
    for (index, metric) in config.metrics.iter().enumerate() {
        let kind = MetricKind::try_from(metric)
            .map_err(|error| ParamError::new(format!("metrics[{index}]"), error.to_string()))?;
        if metrics.contains(&kind) {
            return Err(ParamError::new(
                format!("metrics[{index}]"),
                format!("`{}` is listed twice", kind.key()),
            ));
        }
        metrics.push(kind);
    }
    Ok(Box::new(MetricsStage {
        metrics,
        require_target: config.require_target,
    }))
}

impl Stage for MetricsStage {
    fn accepts(&self) -> &'static [Data] {
        &[Data::Image]
    }

    fn end_volume(&self, volume: &Volume, output: &mut VolumeOutput) -> Result<(), StageError> {
        let Some(target) = output.target.as_ref() else {
            if self.require_target {
                return Err(StageError::Invalid(format!(
                    "{} has no target image to score against",
                    volume.path.display()
                )));
            }
            tracing::warn!(volume = %volume.name, "no target, metrics skipped");
            return Ok(());
        };
        let reconstruction = output
            .reconstruction
            .as_ref()
            .ok_or_else(|| StageError::Invalid("no reconstruction to score".into()))?;
        let width = target.shape()[2];
        let crop = (width, width);
        for (name, images) in [("target", target), ("reconstruction", reconstruction)] {
            let (height, images_width) = (images.shape()[1], images.shape()[2]);
            if height < width || images_width < width {
                // fastMRI's evaluation stops on such a pair too; scoring a smaller crop would
                // give numbers that no fastMRI run reproduces.
                return Err(StageError::Invalid(format!(
                    "the {name} image of {} is {height}x{images_width}, smaller than the \
                     {width}x{width} centre crop that fastMRI's evaluation uses (W_t x W_t, \
                     W_t = the target's width), so it cannot be scored as fastMRI does",
                    volume.path.display()
                )));
            }
        }
        let target = center_crop(target, crop)?;
        let reconstruction = center_crop(reconstruction, crop)?;
        for metric in &self.metrics {
            let value = metric.compute(target.view(), reconstruction.view())?;
            tracing::info!(volume = %volume.name, metric = %metric.key(), value, "metric");
            output.metrics.push((metric.key(), value));
        }
        Ok(())
    }
}
