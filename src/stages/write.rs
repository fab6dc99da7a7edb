//! `write`: saves each volume's reconstruction as a fastMRI submission file, and PNG previews.
//!
//! The reconstruction goes to `OUTPUT/NAME.h5` (`NAME` = the input's file stem), one float32
//! dataset `reconstruction` of shape (slices, h, w), written under a temporary name and renamed
//! when complete. Previews of the middle slice go beside it: `NAME.mask.png`,
//! `NAME.kspace.png` (log magnitude of the masked k-space, root-sum-of-squares over coils),
//! `NAME.target.png` and `NAME.reconstruction.png`. The `.h5` file is written last, so its
//! presence means the volume is complete, which `dps recon` relies on to resume.

use std::path::{Path, PathBuf};

use ndarray::{Array2, Axis};
use serde::Deserialize;

use crate::io::{write_png, write_reconstruction, Scaling};
use crate::pipeline::{
    Data, ParamError, ParamInfo, Slice, Stage, StageError, StageInfo, StageParams, Volume,
    VolumeOutput,
};
use crate::transforms::complex_abs;

/// Registration of the `write` stage.
pub fn info() -> StageInfo {
    StageInfo {
        name: "write",
        summary: "Writes fastMRI reconstruction files and PNG previews.",
        params: &[
            ParamInfo {
                name: "output",
                kind: "string",
                default: "required",
                help: "output folder, created when missing",
            },
            ParamInfo {
                name: "reconstruction",
                kind: "boolean",
                default: "true",
                help: "write NAME.h5 with the `reconstruction` dataset",
            },
            ParamInfo {
                name: "png",
                kind: "boolean",
                default: "true",
                help: "write PNG previews of the middle slice: mask, k-space, target, \
                       reconstruction",
            },
        ],
        build,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WriteConfig {
    output: PathBuf,
    #[serde(default = "default_true")]
    reconstruction: bool,
    #[serde(default = "default_true")]
    png: bool,
}

fn default_true() -> bool {
    true
}

struct Write {
    output: PathBuf,
    reconstruction: bool,
    png: bool,
}

const KSPACE_PREVIEW: &str = "kspace";

fn build(params: &StageParams) -> Result<Box<dyn Stage>, ParamError> {
    let config: WriteConfig = params.parse()?;
    if config.output.as_os_str().is_empty() {
        return Err(ParamError::new("output", "must not be empty"));
    }
    if !config.reconstruction && !config.png {
        return Err(ParamError::new(
            "reconstruction",
            "with both `reconstruction` and `png` false the stage writes nothing",
        ));
    }
    Ok(Box::new(Write {
        output: config.output,
        reconstruction: config.reconstruction,
        png: config.png,
    }))
}

fn stem(input: &Path) -> String {
    input
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "volume".into())
}

impl Write {
    fn file(&self, input: &Path, suffix: &str) -> PathBuf {
        self.output.join(format!("{}{suffix}", stem(input)))
    }

    fn write_previews(&self, volume: &Volume, output: &mut VolumeOutput) -> Result<(), StageError> {
        let middle = volume.shape.slices / 2;
        if let Some(mask) = &volume.mask {
            let path = self.file(&volume.path, ".mask.png");
            mask.save_png(&path, Some(volume.shape.height))?;
            output.files.push(path);
        }
        if let Some((_, preview)) = output.previews.iter().find(|(n, _)| n == KSPACE_PREVIEW) {
            let path = self.file(&volume.path, ".kspace.png");
            write_png(&path, &preview.view(), Scaling::Log)?;
            output.files.push(path);
        }
        for (name, images) in [
            ("target", &output.target),
            ("reconstruction", &output.reconstruction),
        ] {
            if let Some(images) = images {
                let path = self.file(&volume.path, &format!(".{name}.png"));
                write_png(&path, &images.index_axis(Axis(0), middle), Scaling::Linear)?;
                output.files.push(path);
            }
        }
        Ok(())
    }
}

impl Stage for Write {
    fn accepts(&self) -> &'static [Data] {
        &[Data::Image]
    }

    fn outputs_for(&self, input: &Path) -> Vec<PathBuf> {
        if self.reconstruction {
            vec![self.file(input, ".h5")]
        } else {
            Vec::new()
        }
    }

    fn process_slice(&self, volume: &Volume, slice: &mut Slice) -> Result<(), StageError> {
        if self.png && slice.index == volume.shape.slices / 2 {
            if let Some(kspace) = &slice.kspace {
                let magnitude = complex_abs(kspace);
                let rss: Array2<f32> = magnitude.map_axis(Axis(0), |coils| {
                    coils.iter().map(|v| v * v).sum::<f32>().sqrt()
                });
                slice.previews.push((KSPACE_PREVIEW.into(), rss));
            }
        }
        Ok(())
    }

    /// Creates the output folder before any slice is read, so that an unusable folder fails the
    /// volume before the work rather than after it.
    fn begin_volume(&self, _volume: &mut Volume) -> Result<(), StageError> {
        if self.output.exists() && !self.output.is_dir() {
            return Err(StageError::Invalid(format!(
                "output {} exists and is not a folder; set `output` to a folder",
                self.output.display()
            )));
        }
        std::fs::create_dir_all(&self.output).map_err(|error| {
            StageError::Invalid(format!(
                "cannot create the output folder {}: {error}; set `output` to a writable folder",
                self.output.display()
            ))
        })
    }

    fn end_volume(&self, volume: &Volume, output: &mut VolumeOutput) -> Result<(), StageError> {
        if self.png {
            self.write_previews(volume, output)?;
        }
        if self.reconstruction {
            let reconstruction = output.reconstruction.as_ref().ok_or_else(|| {
                StageError::Invalid(
                    "no reconstruction to write; put a reconstruction stage before `write`".into(),
                )
            })?;
            let path = self.file(&volume.path, ".h5");
            write_reconstruction(&path, &reconstruction.view())?;
            tracing::info!(volume = %volume.name, path = %path.display(), "reconstruction written");
            output.files.push(path);
        }
        Ok(())
    }
}
