//! Files for inspecting a sampler: PNG pictures of incidence and masks, the logits as `.npy`,
//! and the line probabilities as CSV.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use image::GrayImage;
use ndarray::{ArrayD, IxDyn};
use tch::{Device, Kind, Tensor};

use super::npy::write_npy_f32;
use super::{DomainKind, Mode, Sampler, SamplerError};

/// Height in pixels of the strip that pictures a line mask or line incidence.
pub const LINE_STRIP_HEIGHT: u32 = 32;

/// Writes a `(H, W)` or `(W)` map of non-negative values as an 8-bit grayscale PNG, scaled so
/// that the maximum is 255 (all black when the maximum is not positive). A 1-D map becomes a
/// strip of [`LINE_STRIP_HEIGHT`] identical rows.
///
/// # Errors
///
/// [`SamplerError::InvalidParameter`] naming `values` for a map that is not 1-D or 2-D or has
/// a non-finite value, and [`SamplerError::Png`] when encoding or writing fails.
pub fn write_map_png(path: &Path, values: &ArrayD<f32>) -> Result<(), SamplerError> {
    let (height, width) = match values.shape() {
        [width] => (LINE_STRIP_HEIGHT, *width),
        [height, width] => (*height as u32, *width),
        shape => {
            return Err(SamplerError::invalid(
                "values",
                format!("shape {shape:?}"),
                "a (H, W) or (W) map",
            ))
        }
    };
    if let Some(bad) = values.iter().find(|value| !value.is_finite()) {
        return Err(SamplerError::invalid("values", bad, "finite values"));
    }
    let max = values.iter().copied().fold(0f32, f32::max);
    let scale = if max > 0.0 { 255.0 / max } else { 0.0 };
    let row_major: Vec<f32> = values.iter().copied().collect();
    let image = GrayImage::from_fn(width as u32, height, |column, row| {
        let index = if values.ndim() == 1 {
            column as usize
        } else {
            row as usize * width + column as usize
        };
        let level = (row_major[index].max(0.0) * scale).round() as u8;
        image::Luma([level])
    });
    image.save(path).map_err(|source| SamplerError::Png {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes the sampler's [`Mode::Deterministic`] mask as a PNG (sampled white, others black).
///
/// # Errors
///
/// As [`write_map_png`], and [`SamplerError::Torch`] when the mask cannot be read.
pub fn write_deterministic_mask_png(
    path: &Path,
    sampler: &dyn Sampler,
) -> Result<(), SamplerError> {
    let mask = sampler.sample(1, Mode::Deterministic);
    write_map_png(
        path,
        &tensor_to_array(&mask.get(0), &sampler.domain().mask_shape())?,
    )
}

/// Writes the sampler's logits as a little-endian `f32` `.npy` file (see [`super::npy`]).
///
/// Shapes: DPS-top1 `(M, H, W)` on grids and `(M, W_free)` for lines. DPS-topK and LOUPE:
/// `(H, W)` on grids and `(W_free)` for lines, `W_free` being the columns outside the centre
/// band in the order of [`super::Domain::free_candidates`].
///
/// # Errors
///
/// [`SamplerError::NoLogits`] for a fixed sampler, [`SamplerError::Torch`] when the logits
/// cannot be read and [`SamplerError::Write`] when the file cannot be written.
pub fn write_logits_npy(path: &Path, sampler: &dyn Sampler) -> Result<(), SamplerError> {
    let logits = sampler.logits().ok_or(SamplerError::NoLogits {
        method: sampler.method().name(),
    })?;
    let logits = logits.detach().to_kind(Kind::Float).to_device(Device::Cpu);
    let mut shape: Vec<usize> = logits.size().iter().map(|&size| size as usize).collect();
    let domain = sampler.domain();
    if domain.kind() != DomainKind::Lines {
        shape.pop();
        shape.extend([domain.height(), domain.width()]);
    }
    let values: Vec<f32> = Vec::try_from(&logits.reshape([-1]))?;
    write_npy_f32(path, &shape, &values)
}

/// Writes the line probabilities of a line-domain sampler as CSV.
///
/// The header is `column,center,probability,inclusion`, followed by one row per phase-encode
/// column. `center` is 1 in the centre band and 0 elsewhere. `probability` comes from
/// [`Sampler::candidate_probabilities`] (softmax of the DPS-topK logits, mean row softmax for
/// DPS-top1, p' for LOUPE) and is empty for the always-sampled centre columns. `inclusion` is
/// the share of 1000 stochastic masks that acquire the column (1 in the centre band): for
/// DPS-topK the softmax is the chance of being the first pick, the inclusion the chance of
/// being acquired at all.
///
/// # Errors
///
/// [`SamplerError::InvalidParameter`] naming `domain.kind` outside the line domain,
/// [`SamplerError::NoLogits`] for a fixed sampler, [`SamplerError::Torch`] when the values
/// cannot be read and [`SamplerError::Write`] when the file cannot be written.
pub fn write_line_probabilities_csv(
    path: &Path,
    sampler: &dyn Sampler,
) -> Result<(), SamplerError> {
    let domain = sampler.domain();
    if domain.kind() != DomainKind::Lines {
        return Err(SamplerError::invalid(
            "domain.kind",
            domain.kind().name(),
            "lines, because only line samplers have per-column probabilities",
        ));
    }
    let probabilities = sampler
        .candidate_probabilities()
        .ok_or(SamplerError::NoLogits {
            method: sampler.method().name(),
        })?;
    let probabilities: Vec<f32> = Vec::try_from(&probabilities.to_device(Device::Cpu))?;
    let inclusion = super::sample_incidence(sampler, 1000, super::Mode::Stochastic)?;
    let mut by_column: Vec<Option<f32>> = vec![None; domain.candidates()];
    for (column, probability) in domain.free_candidates().into_iter().zip(probabilities) {
        by_column[column] = Some(probability);
    }

    let write_error = |source| SamplerError::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut writer = BufWriter::new(File::create(path).map_err(write_error)?);
    writeln!(writer, "column,center,probability,inclusion").map_err(write_error)?;
    for (column, (probability, included)) in by_column.iter().zip(inclusion.iter()).enumerate() {
        let center = u8::from(probability.is_none());
        let value = probability.map(|p| p.to_string()).unwrap_or_default();
        writeln!(writer, "{column},{center},{value},{included}").map_err(write_error)?;
    }
    writer.flush().map_err(write_error)
}

fn tensor_to_array(tensor: &Tensor, shape: &[usize]) -> Result<ArrayD<f32>, SamplerError> {
    let values: Vec<f32> = Vec::try_from(
        &tensor
            .detach()
            .to_kind(Kind::Float)
            .to_device(Device::Cpu)
            .reshape([-1]),
    )?;
    Ok(ArrayD::from_shape_vec(IxDyn(shape), values).expect("the mask shape has N elements"))
}
