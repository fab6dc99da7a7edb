//! Summary of a file for `dps inspect`: datasets with shapes and numpy type names, k-space
//! sizes, header geometry, mask and attributes.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::attributes::{read_attributes, AttributeValue};
use super::cfl::{cfl_paths, read_cfl_dims};
use super::convert::FileFormat;
use super::dtype::{descriptor, numpy_name};
use super::error::{format_shape, IoError};
use super::fastmri::{open_hdf5, FastMriFile, KspaceShape, StoredMask};
use super::header::{Geometry, GeometrySource};

/// One dataset of a file.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DatasetInfo {
    /// Name at the root of the file.
    pub name: String,
    /// Shape, numpy style; empty for scalars.
    pub shape: Vec<usize>,
    /// Element type in numpy terms (`complex64`, `float32`, `bool`, ...).
    pub dtype: String,
}

/// Summary of a stored `mask`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MaskSummary {
    /// Mask shape: `(W,)` for a column mask, `(H, W)` for a grid.
    pub shape: Vec<usize>,
    /// Number of sampled entries.
    pub sampled: usize,
    /// Number of entries.
    pub total: usize,
    /// Realised acceleration, `total / sampled` (infinite for an empty mask).
    pub acceleration: f64,
}

/// Contents of a file, serialisable for `dps inspect --json` and displayed as text otherwise.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Inspection {
    /// The inspected path.
    pub path: PathBuf,
    /// `fastMRI HDF5`, `HDF5` (not a usable fastMRI file) or `BART cfl`.
    pub format: String,
    /// Root datasets; for BART, the array itself.
    pub datasets: Vec<DatasetInfo>,
    /// K-space sizes of a usable fastMRI file.
    pub kspace: Option<KspaceShape>,
    /// Geometry of a usable fastMRI file.
    pub geometry: Option<Geometry>,
    /// Target datasets of a usable fastMRI file.
    pub targets: Vec<String>,
    /// The stored mask, if any.
    pub mask: Option<MaskSummary>,
    /// Root attributes.
    pub attributes: BTreeMap<String, AttributeValue>,
    /// Reason an HDF5 file is not a usable fastMRI volume; `None` for usable files.
    pub problem: Option<String>,
}

/// Inspects a fastMRI HDF5 file or a BART array; names without a known extension are opened
/// as HDF5.
///
/// An HDF5 file that fails fastMRI validation is still listed, with the reason in
/// [`Inspection::problem`].
///
/// # Errors
///
/// [`IoError::Open`] when the file is not a readable HDF5 file; the errors of
/// [`read_cfl_dims`] for BART arrays; [`IoError::Hdf5`] when listing the file fails.
pub fn inspect(path: impl AsRef<Path>) -> Result<Inspection, IoError> {
    let path = path.as_ref();
    match FileFormat::from_path(path) {
        Ok(FileFormat::Cfl) => inspect_cfl(path),
        _ => inspect_hdf5(path),
    }
}

fn inspect_cfl(path: &Path) -> Result<Inspection, IoError> {
    let dims = read_cfl_dims(path)?;
    let (_, data_path) = cfl_paths(path);
    Ok(Inspection {
        path: path.to_owned(),
        format: "BART cfl".to_owned(),
        datasets: vec![DatasetInfo {
            name: data_path.display().to_string(),
            shape: dims,
            dtype: "complex64 (column-major, BART dimension order)".to_owned(),
        }],
        kspace: None,
        geometry: None,
        targets: Vec::new(),
        mask: None,
        attributes: BTreeMap::new(),
        problem: None,
    })
}

fn inspect_hdf5(path: &Path) -> Result<Inspection, IoError> {
    let file = open_hdf5(path)?;
    let names = file.member_names().map_err(|source| IoError::Hdf5 {
        path: path.to_owned(),
        object: "/".to_owned(),
        source,
    })?;
    let datasets = names
        .iter()
        .map(|name| describe_member(&file, name))
        .collect();
    let mut inspection = Inspection {
        path: path.to_owned(),
        format: "HDF5".to_owned(),
        datasets,
        kspace: None,
        geometry: None,
        targets: Vec::new(),
        mask: None,
        attributes: read_attributes(path, &file)?,
        problem: None,
    };
    drop(file);

    let volume = match FastMriFile::open(path) {
        Ok(volume) => volume,
        Err(err) => {
            inspection.problem = Some(err.to_string());
            return Ok(inspection);
        }
    };
    inspection.format = "fastMRI HDF5".to_owned();
    inspection.kspace = Some(volume.shape());
    inspection.geometry = Some(volume.geometry().clone());
    inspection.targets = volume.target_names().to_vec();
    match volume.read_mask() {
        Ok(mask) => inspection.mask = mask.as_ref().map(summarise_mask),
        Err(err) => inspection.problem = Some(err.to_string()),
    }
    Ok(inspection)
}

fn describe_member(file: &hdf5::File, name: &str) -> DatasetInfo {
    let Ok(dataset) = file.dataset(name) else {
        return DatasetInfo {
            name: name.to_owned(),
            shape: Vec::new(),
            dtype: "group or other non-dataset object".to_owned(),
        };
    };
    let dtype = dataset
        .dtype()
        .map_err(|err| err.to_string())
        .and_then(|dtype| descriptor(&dtype))
        .map_or_else(|reason| reason, |td| numpy_name(&td));
    DatasetInfo {
        name: name.to_owned(),
        shape: dataset.shape(),
        dtype,
    }
}

fn summarise_mask(mask: &StoredMask) -> MaskSummary {
    let shape = match mask {
        StoredMask::Columns(columns) => vec![columns.len()],
        StoredMask::Grid(grid) => grid.shape().to_vec(),
    };
    let sampled = mask.sampled_count();
    let total = mask.len();
    MaskSummary {
        shape,
        sampled,
        total,
        acceleration: total as f64 / sampled as f64,
    }
}

impl fmt::Display for Inspection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.path.display())?;
        match self.kspace {
            Some(shape) if shape.is_multicoil => {
                writeln!(f, "  format: {}, multi-coil", self.format)?
            }
            Some(_) => writeln!(f, "  format: {}, single-coil", self.format)?,
            None => writeln!(f, "  format: {}", self.format)?,
        }
        writeln!(f, "  datasets:")?;
        let name_width = self
            .datasets
            .iter()
            .map(|d| d.name.len())
            .max()
            .unwrap_or(0);
        for dataset in &self.datasets {
            let shape = format_shape(&dataset.shape);
            writeln!(
                f,
                "    {:name_width$}  {shape:20}  {}",
                dataset.name, dataset.dtype
            )?;
        }
        if let Some(shape) = &self.kspace {
            writeln!(
                f,
                "  kspace: slices = {}, coils = {}, H = {}, W = {}",
                shape.slices, shape.coils, shape.height, shape.width
            )?;
        }
        if let Some(geometry) = &self.geometry {
            write_geometry(f, geometry)?;
        }
        if !self.targets.is_empty() {
            writeln!(f, "  targets: {}", self.targets.join(", "))?;
        }
        if let Some(mask) = &self.mask {
            writeln!(
                f,
                "  mask: {}, {} of {} sampled, acceleration {:.2}",
                format_shape(&mask.shape),
                mask.sampled,
                mask.total,
                mask.acceleration
            )?;
        }
        if !self.attributes.is_empty() {
            writeln!(f, "  attributes:")?;
            for (name, value) in &self.attributes {
                writeln!(f, "    {name} = {value}")?;
            }
        }
        if let Some(problem) = &self.problem {
            writeln!(f, "  not usable as a fastMRI volume: {problem}")?;
        }
        Ok(())
    }
}

fn write_geometry(f: &mut fmt::Formatter<'_>, geometry: &Geometry) -> fmt::Result {
    let source = match geometry.source {
        GeometrySource::Header => "from ismrmrd_header",
        GeometrySource::Shapes => "no ismrmrd_header, taken from the dataset shapes",
    };
    let [ex, ey, ez] = geometry.encoded_size;
    let [rx, ry, rz] = geometry.recon_size;
    writeln!(f, "  encoded size: {ex} x {ey} x {ez} ({source})")?;
    writeln!(f, "  recon size: {rx} x {ry} x {rz}")?;
    writeln!(
        f,
        "  padding: padding_left = {}, padding_right = {} (columns {}..{} are not padding)",
        geometry.padding_left,
        geometry.padding_right,
        geometry.padding_left,
        geometry.padding_right
    )
}
