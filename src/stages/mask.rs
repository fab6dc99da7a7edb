//! `mask`: undersamples k-space with a fastMRI mask function, a DPS baseline, or the mask
//! stored in the input file.
//!
//! One mask is drawn per volume and applied to every slice and coil, as fastMRI does. fastMRI
//! masks are seeded with the character codes of the file name by default, so a volume gets the
//! same mask in every run. Phase-encode columns outside the header's padding range are never
//! sampled. Dropped samples become +0.0 in both parts.

use std::sync::Arc;

use serde::Deserialize;

use crate::mask::{baseline_grid, baseline_lines, BaselineKind, Mask, MaskFunc, MaskType, Seed};
use crate::pipeline::{
    Data, ParamError, ParamInfo, Slice, Stage, StageError, StageInfo, StageParams, Volume,
};

const FASTMRI_TYPES: [&str; 5] = [
    "random",
    "equispaced",
    "equispaced_fraction",
    "magic",
    "magic_fraction",
];
const BASELINE_TYPES: [&str; 6] = [
    "lines_uniform",
    "lines_random",
    "lines_low_pass",
    "grid_uniform",
    "grid_random",
    "grid_low_pass",
];

/// Registration of the `mask` stage.
pub fn info() -> StageInfo {
    StageInfo {
        name: "mask",
        summary: "Applies a sampling mask to every slice and coil of a volume.",
        params: &[
            ParamInfo {
                name: "type",
                kind: "string",
                default: "required",
                help: "random, equispaced, equispaced_fraction, magic, magic_fraction (fastMRI); \
                       lines_uniform, lines_random, lines_low_pass, grid_uniform, grid_random, \
                       grid_low_pass (DPS baselines with exactly `samples`); stored (the file's \
                       own `mask`)",
            },
            ParamInfo {
                name: "center_fractions",
                kind: "[number]",
                default: "required",
                help: "fastMRI types: fraction of fully sampled centre columns, one per \
                       acceleration",
            },
            ParamInfo {
                name: "accelerations",
                kind: "[number]",
                default: "required",
                help: "fastMRI types: accelerations; one (fraction, acceleration) pair is drawn \
                       per volume",
            },
            ParamInfo {
                name: "samples",
                kind: "integer",
                default: "required",
                help: "baseline types: number of lines (lines_*) or k-space points (grid_*)",
            },
            ParamInfo {
                name: "seed",
                kind: "integer",
                default: "file name",
                help: "seed of random masks; default: the character codes of the file name, as \
                       fastMRI",
            },
            ParamInfo {
                name: "respect_padding",
                kind: "boolean",
                default: "true",
                help: "never sample the zero-padded columns that the ISMRMRD header reports",
            },
        ],
        build,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MaskStageConfig {
    #[serde(rename = "type")]
    kind: String,
    center_fractions: Option<Vec<f64>>,
    accelerations: Option<Vec<f64>>,
    samples: Option<usize>,
    seed: Option<u32>,
    #[serde(default = "default_true")]
    respect_padding: bool,
}

fn default_true() -> bool {
    true
}

enum Source {
    FastMri(MaskFunc),
    Lines(BaselineKind, usize),
    Grid(BaselineKind, usize),
    Stored,
}

struct MaskStage {
    source: Source,
    seed: Option<u32>,
    respect_padding: bool,
}

fn build(params: &StageParams) -> Result<Box<dyn Stage>, ParamError> {
    let config: MaskStageConfig = params.parse()?;
    let unused = |key: &str, present: bool| {
        if present {
            Err(ParamError::new(
                key,
                format!("is not a parameter of mask type `{}`", config.kind),
            ))
        } else {
            Ok(())
        }
    };
    let source = match config.kind.as_str() {
        name if FASTMRI_TYPES.contains(&name) => {
            unused("samples", config.samples.is_some())?;
            let kind: MaskType = name.parse().map_err(|error: crate::mask::MaskError| {
                ParamError::new("type", error.to_string())
            })?;
            let fractions = config.center_fractions.clone().ok_or_else(|| {
                ParamError::new("center_fractions", "required for fastMRI mask types")
            })?;
            let accelerations = config.accelerations.clone().ok_or_else(|| {
                ParamError::new("accelerations", "required for fastMRI mask types")
            })?;
            let function = MaskFunc::new(kind, fractions, accelerations).map_err(|error| {
                let key = if error.to_string().contains("acceleration") {
                    "accelerations"
                } else {
                    "center_fractions"
                };
                ParamError::new(key, error.to_string())
            })?;
            Source::FastMri(function)
        }
        name if BASELINE_TYPES.contains(&name) => {
            unused("center_fractions", config.center_fractions.is_some())?;
            unused("accelerations", config.accelerations.is_some())?;
            let samples = config
                .samples
                .ok_or_else(|| ParamError::new("samples", "required for baseline mask types"))?;
            if samples == 0 {
                return Err(ParamError::new("samples", "must be at least 1"));
            }
            let (layout, baseline) = name.split_once('_').expect("baseline names have a prefix");
            let kind = match baseline {
                "uniform" => BaselineKind::Uniform,
                "random" => BaselineKind::Random,
                _ => BaselineKind::LowPass,
            };
            if layout == "lines" {
                Source::Lines(kind, samples)
            } else {
                Source::Grid(kind, samples)
            }
        }
        "stored" => {
            unused("center_fractions", config.center_fractions.is_some())?;
            unused("accelerations", config.accelerations.is_some())?;
            unused("samples", config.samples.is_some())?;
            Source::Stored
        }
        other => {
            return Err(ParamError::new(
                "type",
                format!(
                    "unknown mask type `{other}`; valid types are {}, {} and stored",
                    FASTMRI_TYPES.join(", "),
                    BASELINE_TYPES.join(", ")
                ),
            ))
        }
    };
    Ok(Box::new(MaskStage {
        source,
        seed: config.seed,
        respect_padding: config.respect_padding,
    }))
}

impl MaskStage {
    fn seed(&self, volume: &Volume) -> Seed {
        match self.seed {
            Some(seed) => Seed::Int(seed),
            None => Seed::from_file_name(&volume.name),
        }
    }

    fn padding(&self, volume: &Volume) -> Option<(usize, usize)> {
        let geometry = volume.geometry.as_ref()?;
        let (left, right) = (geometry.padding_left, geometry.padding_right);
        let informative = left > 0 || right < volume.shape.width;
        (self.respect_padding && informative && left < right && right <= volume.shape.width)
            .then_some((left, right))
    }

    fn make_mask(&self, volume: &Volume) -> Result<Mask, StageError> {
        let (height, width) = (volume.shape.height, volume.shape.width);
        let mask = match &self.source {
            Source::FastMri(function) => {
                function.sample(width, &self.seed(volume), self.padding(volume))?
            }
            Source::Lines(kind, samples) => {
                baseline_lines(*kind, width, *samples, &self.seed(volume))?
            }
            Source::Grid(kind, samples) => {
                baseline_grid(*kind, height, width, *samples, &self.seed(volume))?
            }
            Source::Stored => {
                let stored = volume.stored_mask.clone().ok_or_else(|| {
                    StageError::Invalid(format!(
                        "{} has no `mask` dataset; choose another mask type",
                        volume.path.display()
                    ))
                })?;
                check_stored_shape(&stored, height, width, volume)?;
                stored
            }
        };
        Ok(mask)
    }
}

fn check_stored_shape(
    mask: &Mask,
    height: usize,
    width: usize,
    volume: &Volume,
) -> Result<(), StageError> {
    let fits = mask.width() == width && mask.height().is_none_or(|h| h == height);
    if fits {
        return Ok(());
    }
    let found = match mask.height() {
        Some(h) => format!("({h}, {})", mask.width()),
        None => format!("({})", mask.width()),
    };
    Err(StageError::Invalid(format!(
        "the `mask` dataset of {} has shape {found}, but k-space is (H, W) = ({height}, {width})",
        volume.path.display()
    )))
}

impl Stage for MaskStage {
    fn accepts(&self) -> &'static [Data] {
        &[Data::KSpace]
    }

    fn output(&self, _input: Data) -> Data {
        Data::MaskedKSpace
    }

    fn begin_volume(&self, volume: &mut Volume) -> Result<(), StageError> {
        let mask = self.make_mask(volume)?;
        tracing::info!(
            volume = %volume.name,
            kind = mask.kind(),
            samples = mask.num_sampled(),
            candidates = mask.num_candidates(),
            acceleration = mask.acceleration(),
            "mask"
        );
        volume.values.insert(
            "acceleration".into(),
            serde_json::json!(mask.acceleration()),
        );
        volume
            .values
            .insert("samples".into(), serde_json::json!(mask.num_sampled()));
        volume
            .values
            .insert("mask".into(), serde_json::json!(mask.kind()));
        volume.mask = Some(Arc::new(mask));
        Ok(())
    }

    fn process_slice(&self, volume: &Volume, slice: &mut Slice) -> Result<(), StageError> {
        let mask = volume
            .mask
            .as_ref()
            .ok_or_else(|| StageError::Invalid("no mask was drawn for this volume".into()))?;
        mask.apply(slice.kspace_mut()?)?;
        Ok(())
    }
}
