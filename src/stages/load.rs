//! `load`: the source stage. Opens fastMRI HDF5 files (read one slice at a time) and BART
//! `.cfl` arrays (read whole), and the reference image of each slice when the file has one.

use std::path::{Path, PathBuf};

use ndarray::{s, Array2, Array3, Array4};
use serde::Deserialize;

use crate::io::{self, FastMriFile, FileFormat, Geometry, StoredMask};
use crate::mask::Mask;
use crate::pipeline::{
    Data, KSpaceSource, ParamError, ParamInfo, Slice, Stage, StageError, StageInfo, StageParams,
    Volume, VolumeShape,
};
use crate::Complex32;

/// Registration of the `load` stage.
pub fn info() -> StageInfo {
    StageInfo {
        name: "load",
        summary: "Reads k-space from fastMRI HDF5 files or BART .cfl arrays (a file or a folder).",
        params: &[
            ParamInfo {
                name: "path",
                kind: "string",
                default: "required",
                help: "k-space file, or folder of *.h5, *.hdf5 and *.cfl files",
            },
            ParamInfo {
                name: "target",
                kind: "string",
                default: "auto",
                help: "reference dataset: auto (reconstruction_rss for multi-coil, \
                       reconstruction_esc for single-coil, else the other), none, or a name",
            },
        ],
        build,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoadConfig {
    path: PathBuf,
    #[serde(default = "default_target")]
    target: String,
}

fn default_target() -> String {
    "auto".into()
}

struct Load {
    path: PathBuf,
    target: String,
}

fn build(params: &StageParams) -> Result<Box<dyn Stage>, ParamError> {
    let config: LoadConfig = params.parse()?;
    if config.path.as_os_str().is_empty() {
        return Err(ParamError::new("path", "must not be empty"));
    }
    Ok(Box::new(Load {
        path: config.path,
        target: config.target,
    }))
}

impl Stage for Load {
    fn accepts(&self) -> &'static [Data] {
        &[Data::Nothing]
    }

    fn output(&self, _input: Data) -> Data {
        Data::KSpace
    }

    fn inputs(&self) -> Option<Result<Vec<PathBuf>, StageError>> {
        Some(
            crate::recon::discover_inputs(&self.path)
                .map_err(|error| StageError::Invalid(error.to_string())),
        )
    }

    fn begin_volume(&self, volume: &mut Volume) -> Result<(), StageError> {
        match FileFormat::from_path(&volume.path)? {
            FileFormat::FastMri => self.open_fastmri(volume),
            FileFormat::Cfl => open_cfl(volume),
        }
    }

    fn process_slice(&self, volume: &Volume, slice: &mut Slice) -> Result<(), StageError> {
        let source = volume.source()?;
        slice.kspace = Some(source.read_kspace(slice.index)?);
        slice.target = source.read_target(slice.index)?;
        Ok(())
    }
}

impl Load {
    fn open_fastmri(&self, volume: &mut Volume) -> Result<(), StageError> {
        let file = FastMriFile::open(&volume.path)?;
        let shape = file.shape();
        volume.shape = VolumeShape {
            slices: shape.slices,
            coils: shape.coils,
            height: shape.height,
            width: shape.width,
        };
        volume.geometry = Some(file.geometry().clone());
        if let Some(acquisition) = &file.attributes().acquisition {
            volume
                .values
                .insert("acquisition".into(), serde_json::json!(acquisition));
        }
        volume.stored_mask = match file.read_mask()? {
            None => None,
            Some(StoredMask::Columns(flags)) => Some(Mask::from_column_flags(flags)?),
            Some(StoredMask::Grid(grid)) => Some(Mask::from_grid(&grid)?),
        }
        .map(|mask| mask.with_kind("stored"));
        let target = self.choose_target(&file, shape.is_multicoil)?;
        tracing::info!(
            volume = %volume.name,
            slices = shape.slices,
            coils = shape.coils,
            height = shape.height,
            width = shape.width,
            target = target.as_deref().unwrap_or("none"),
            "opened"
        );
        volume.source = Some(Box::new(FastMriSource { file, target }));
        Ok(())
    }

    fn choose_target(
        &self,
        file: &FastMriFile,
        multicoil: bool,
    ) -> Result<Option<String>, StageError> {
        let present = file.target_names();
        match self.target.as_str() {
            "none" => Ok(None),
            "auto" => {
                let preferred = if multicoil {
                    ["reconstruction_rss", "reconstruction_esc"]
                } else {
                    ["reconstruction_esc", "reconstruction_rss"]
                };
                Ok(preferred
                    .iter()
                    .find(|name| present.iter().any(|p| p == *name))
                    .map(|name| name.to_string()))
            }
            name if present.iter().any(|p| p == name) => Ok(Some(name.to_string())),
            name => Err(StageError::Invalid(format!(
                "{} has no target dataset `{name}`; it has: {}",
                file.path().display(),
                if present.is_empty() {
                    "none".to_string()
                } else {
                    present.join(", ")
                }
            ))),
        }
    }
}

struct FastMriSource {
    file: FastMriFile,
    target: Option<String>,
}

impl KSpaceSource for FastMriSource {
    fn read_kspace(&self, slice: usize) -> Result<Array3<Complex32>, StageError> {
        Ok(self.file.read_slice(slice)?)
    }

    fn read_target(&self, slice: usize) -> Result<Option<Array2<f32>>, StageError> {
        match &self.target {
            Some(name) => Ok(Some(self.file.read_target_slice(name, slice)?)),
            None => Ok(None),
        }
    }
}

fn open_cfl(volume: &mut Volume) -> Result<(), StageError> {
    let array = io::read_cfl(&volume.path)?;
    let kspace = io::cfl_to_fastmri_layout(&volume.path, &array.view())?;
    check_finite(&volume.path, &kspace)?;
    let (slices, coils, height, width) = kspace.dim();
    volume.shape = VolumeShape {
        slices,
        coils,
        height,
        width,
    };
    volume.geometry = Some(Geometry::from_shapes(height, width, None));
    volume.source = Some(Box::new(CflSource { kspace }));
    Ok(())
}

fn check_finite(path: &Path, kspace: &Array4<Complex32>) -> Result<(), StageError> {
    match kspace
        .iter()
        .position(|z| !z.re.is_finite() || !z.im.is_finite())
    {
        None => Ok(()),
        Some(index) => Err(StageError::Invalid(format!(
            "{} contains a NaN or infinite sample (flat index {index}); the file is unusable",
            path.display()
        ))),
    }
}

struct CflSource {
    kspace: Array4<Complex32>,
}

impl KSpaceSource for CflSource {
    fn read_kspace(&self, slice: usize) -> Result<Array3<Complex32>, StageError> {
        Ok(self.kspace.slice(s![slice, .., .., ..]).to_owned())
    }

    fn read_target(&self, _slice: usize) -> Result<Option<Array2<f32>>, StageError> {
        Ok(None)
    }
}
