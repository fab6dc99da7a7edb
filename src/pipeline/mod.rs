//! YAML pipelines: parsing, validation and execution of a list of [`Stage`]s.
//!
//! [`Pipeline::build`] checks a whole pipeline before any data is read: every stage name is
//! registered, every parameter has the right type and range (each stage's configuration type
//! rejects unknown keys), and each stage accepts what the previous one produces. Errors carry the
//! pipeline file, line and column.
//!
//! [`Pipeline::run_volume`] then processes one input volume; [`crate::recon`] runs many.
//! Relative paths in stage parameters are taken from the working directory, and `${NAME}` or
//! `${NAME:-default}` in string parameters is replaced by the environment variable `NAME`.

// A pipeline error carries file, line, column, stage and key so the message can point at the
// mistake. It is built at most once per failed run, so its size costs nothing.
#![allow(clippy::result_large_err)]

mod config;
mod error;
mod registry;
mod stage;

use std::path::{Path, PathBuf};

use ndarray::{Array2, Array3, ArrayView2, Axis};
use rayon::prelude::*;

pub use config::{PipelineFile, StageEntry};
pub use error::PipelineError;
pub use registry::{BuildStage, DuplicateStage, ParamInfo, Registry, StageInfo};
pub use stage::{
    Data, KSpaceSource, ParamError, Slice, Stage, StageError, StageParams, Volume, VolumeOutput,
    VolumeShape,
};

/// Receives progress events from a run; the CLI draws its progress bar from them.
pub trait Observer: Sync {
    /// Handles the opening of a volume with `slices` slices.
    fn volume_started(&self, _input: &Path, _slices: usize) {}
    /// Handles a slice that went through every stage.
    fn slice_finished(&self, _input: &Path, _slice: usize) {}
}

/// An [`Observer`] that ignores every event.
pub struct NoObserver;

impl Observer for NoObserver {}

struct BuiltStage {
    id: String,
    name: String,
    stage: Box<dyn Stage>,
}

/// A validated pipeline, ready to run.
pub struct Pipeline {
    file: PipelineFile,
    stages: Vec<BuiltStage>,
}

impl Pipeline {
    /// Reads a pipeline file, applies `--set` overrides and builds it.
    ///
    /// # Errors
    ///
    /// Any [`PipelineError`] of reading, overriding or building.
    pub fn from_path(
        path: &Path,
        overrides: &[String],
        registry: &Registry,
    ) -> Result<Self, PipelineError> {
        let mut file = PipelineFile::read(path)?;
        for argument in overrides {
            file.apply_override(argument)?;
        }
        Self::build(file, registry)
    }

    /// Builds every stage of `file` and checks that they fit together.
    ///
    /// # Errors
    ///
    /// [`PipelineError::UnknownStage`], [`PipelineError::InvalidParameter`],
    /// [`PipelineError::Mismatch`] or [`PipelineError::Structure`], each naming the file and,
    /// where known, the line and column.
    pub fn build(file: PipelineFile, registry: &Registry) -> Result<Self, PipelineError> {
        if file.stages.is_empty() {
            return Err(PipelineError::Structure {
                path: file.path.clone(),
                message: "the pipeline has no stages; list them under `stages:`".into(),
            });
        }
        let mut stages = Vec::with_capacity(file.stages.len());
        for entry in &file.stages {
            stages.push(build_stage(&file, entry, registry)?);
        }
        let pipeline = Self { file, stages };
        pipeline.check_data_flow()?;
        Ok(pipeline)
    }

    fn check_data_flow(&self) -> Result<(), PipelineError> {
        let mut data = Data::Nothing;
        let mut previous = "the start of the pipeline".to_string();
        for (index, built) in self.stages.iter().enumerate() {
            let accepts = built.stage.accepts();
            if !accepts.contains(&data) {
                let location = self.file.locate(index, None);
                let expected: Vec<String> = accepts.iter().map(|kind| kind.to_string()).collect();
                return Err(PipelineError::Mismatch {
                    path: self.file.path.clone(),
                    line: location.map(|l| l.0),
                    column: location.map(|l| l.1),
                    position_in_list: index + 1,
                    stage: built.name.clone(),
                    expected: expected.join(" or "),
                    previous,
                    found: data.to_string(),
                });
            }
            data = built.stage.output(data);
            previous = format!("stage {} `{}`", index + 1, built.name);
        }
        Ok(())
    }

    /// Returns the pipeline file this pipeline was built from.
    pub fn file(&self) -> &PipelineFile {
        &self.file
    }

    /// Stage ids in order.
    pub fn stage_ids(&self) -> Vec<&str> {
        self.stages.iter().map(|built| built.id.as_str()).collect()
    }

    /// Input files named by the source stage's own parameters.
    ///
    /// # Errors
    ///
    /// [`PipelineError::Structure`] when the source stage names no inputs, and the source
    /// stage's error when they cannot be listed.
    pub fn inputs(&self) -> Result<Vec<PathBuf>, PipelineError> {
        let source = &self.stages[0];
        match source.stage.inputs() {
            Some(Ok(inputs)) => Ok(inputs),
            Some(Err(source_error)) => Err(PipelineError::Stage {
                input: self.file.path.clone(),
                stage: source.name.clone(),
                slice: None,
                source: source_error,
            }),
            None => Err(PipelineError::Structure {
                path: self.file.path.clone(),
                message: format!("stage `{}` names no input files", source.name),
            }),
        }
    }

    /// Files the pipeline writes for `input`; empty when no stage writes files.
    pub fn outputs_for(&self, input: &Path) -> Vec<PathBuf> {
        self.stages
            .iter()
            .flat_map(|built| built.stage.outputs_for(input))
            .collect()
    }

    /// Runs every stage on one input volume, its slices in parallel on the current rayon pool.
    ///
    /// # Errors
    ///
    /// [`PipelineError::Stage`] naming the input, the stage and the slice that failed.
    pub fn run_volume(
        &self,
        input: &Path,
        observer: &dyn Observer,
    ) -> Result<VolumeOutput, PipelineError> {
        let _span = tracing::info_span!("volume", input = %input.display()).entered();
        let failed =
            |built: &BuiltStage, slice: Option<usize>, source: StageError| PipelineError::Stage {
                input: input.to_path_buf(),
                stage: built.id.clone(),
                slice,
                source,
            };

        let mut volume = Volume::new(input);
        for built in &self.stages {
            built
                .stage
                .begin_volume(&mut volume)
                .map_err(|error| failed(built, None, error))?;
        }
        let slices = volume.shape.slices;
        observer.volume_started(input, slices);

        let processed: Vec<Slice> = (0..slices)
            .into_par_iter()
            .map(|index| {
                let mut slice = Slice {
                    index,
                    ..Slice::default()
                };
                for built in &self.stages {
                    built
                        .stage
                        .process_slice(&volume, &mut slice)
                        .map_err(|error| failed(built, Some(index), error))?;
                }
                slice.kspace = None;
                observer.slice_finished(input, index);
                Ok(slice)
            })
            .collect::<Result<_, PipelineError>>()?;

        let mut output = VolumeOutput {
            input: input.to_path_buf(),
            name: volume.name.clone(),
            slices,
            ..VolumeOutput::default()
        };
        output.reconstruction = stack_images(processed.iter().map(|s| s.image.as_ref()))
            .map_err(|message| failed(&self.stages[0], None, StageError::Invalid(message)))?;
        output.target = stack_images(processed.iter().map(|s| s.target.as_ref()))
            .map_err(|message| failed(&self.stages[0], None, StageError::Invalid(message)))?;
        output.previews = processed.into_iter().flat_map(|s| s.previews).collect();
        output.values = volume.values.clone();

        for built in &self.stages {
            built
                .stage
                .end_volume(&volume, &mut output)
                .map_err(|error| failed(built, None, error))?;
        }
        Ok(output)
    }
}

fn build_stage(
    file: &PipelineFile,
    entry: &StageEntry,
    registry: &Registry,
) -> Result<BuiltStage, PipelineError> {
    let Some(info) = registry.get(&entry.stage) else {
        let location = file.locate(entry.index, Some("stage"));
        return Err(PipelineError::UnknownStage {
            path: file.path.clone(),
            line: location.map(|l| l.0),
            column: location.map(|l| l.1),
            stage: entry.stage.clone(),
            valid: registry.names(),
        });
    };
    let invalid = |key: String, message: String| {
        let top_key = key
            .split(['.', '['])
            .next()
            .filter(|k| !k.is_empty())
            .map(str::to_string);
        let location = file.locate(entry.index, top_key.as_deref());
        let overridden_by = top_key.as_ref().and_then(|top| {
            entry
                .overridden
                .iter()
                .rev()
                .find(|(k, _)| k == top)
                .map(|(_, argument)| argument.clone())
        });
        PipelineError::InvalidParameter {
            path: file.path.clone(),
            line: location.map(|l| l.0),
            column: location.map(|l| l.1),
            stage: entry.id.clone(),
            key,
            message,
            overridden_by,
        }
    };
    let params = config::expand_environment(&entry.params)
        .map_err(|error| invalid(error.key, error.message))?;
    let stage = (info.build)(&StageParams::new(params))
        .map_err(|error| invalid(error.key, error.message))?;
    Ok(BuiltStage {
        id: entry.id.clone(),
        name: entry.stage.clone(),
        stage,
    })
}

/// Stacks per-slice images into a volume; `None` when no slice has one.
fn stack_images<'a>(
    images: impl Iterator<Item = Option<&'a Array2<f32>>>,
) -> Result<Option<Array3<f32>>, String> {
    let images: Vec<Option<&Array2<f32>>> = images.collect();
    if images.iter().all(Option::is_none) {
        return Ok(None);
    }
    let mut views: Vec<ArrayView2<f32>> = Vec::with_capacity(images.len());
    for (index, image) in images.iter().enumerate() {
        let image = image.ok_or_else(|| format!("slice {index} produced no image"))?;
        views.push(image.view());
    }
    ndarray::stack(Axis(0), &views)
        .map(Some)
        .map_err(|error| format!("slices produced images of different shapes: {error}"))
}
