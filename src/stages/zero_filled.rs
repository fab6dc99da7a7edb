//! `zero_filled`: the zero-filled reconstruction, `rss(ifft2c(kspace))` over the coils (the
//! magnitude for single-coil data), centre-cropped to the reconstruction size.
//!
//! The default crop is the header's reconSpace size, or (W, W) when the image is narrower than
//! that (fastMRI's rule for brain files with W = 276).

use ndarray::Axis;
use serde::Deserialize;

use crate::fft::ifft2c;
use crate::pipeline::{
    Data, ParamError, ParamInfo, Slice, Stage, StageError, StageInfo, StageParams, Volume,
};
use crate::transforms::{center_crop, crop_size_for, rss};

/// Registration of the `zero_filled` stage.
pub fn info() -> StageInfo {
    StageInfo {
        name: "zero_filled",
        summary: "Zero-filled reconstruction: root-sum-of-squares of ifft2c, centre-cropped.",
        params: &[ParamInfo {
            name: "crop",
            kind: "string or [h, w]",
            default: "recon",
            help: "recon (the header's reconSpace size, narrow-image rule applied), none (the \
                   full H x W image), or an explicit [h, w]",
        }],
        build,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ZeroFilledConfig {
    // Kept as YAML and checked by `parse_crop`, because an untagged enum's error ("did not
    // match any variant") names neither the accepted forms nor the value found.
    #[serde(default)]
    crop: Option<serde_yaml::Value>,
}

#[derive(Clone, Copy)]
enum Crop {
    Recon,
    Full,
    Size(usize, usize),
}

struct ZeroFilled {
    crop: Crop,
}

fn build(params: &StageParams) -> Result<Box<dyn Stage>, ParamError> {
    let config: ZeroFilledConfig = params.parse()?;
    let crop = match &config.crop {
        None => Crop::Recon,
        Some(value) => parse_crop(value)?,
    };
    Ok(Box::new(ZeroFilled { crop }))
}

fn parse_crop(value: &serde_yaml::Value) -> Result<Crop, ParamError> {
    use serde_yaml::Value;

    let invalid = || {
        // JSON renders a YAML value on one line.
        let found = serde_json::to_string(value).unwrap_or_default();
        ParamError::new(
            "crop",
            format!("expected recon, none or [h, w] with two positive integers, found {found}"),
        )
    };
    match value {
        Value::String(name) if name == "recon" => Ok(Crop::Recon),
        Value::String(name) if name == "none" => Ok(Crop::Full),
        Value::Sequence(items) if items.len() == 2 => {
            let size = |item: &Value| {
                item.as_u64()
                    .filter(|&size| size > 0)
                    .and_then(|size| usize::try_from(size).ok())
            };
            match (size(&items[0]), size(&items[1])) {
                (Some(h), Some(w)) => Ok(Crop::Size(h, w)),
                _ => Err(invalid()),
            }
        }
        _ => Err(invalid()),
    }
}

impl ZeroFilled {
    fn crop_size(&self, volume: &Volume) -> (usize, usize) {
        let image = (volume.shape.height, volume.shape.width);
        match self.crop {
            Crop::Full => image,
            Crop::Size(h, w) => (h, w),
            Crop::Recon => {
                let recon = volume
                    .geometry
                    .as_ref()
                    .map(|g| {
                        let [h, w] = g.recon_hw();
                        (h, w)
                    })
                    .unwrap_or(image);
                crop_size_for(image, recon)
            }
        }
    }
}

impl Stage for ZeroFilled {
    fn accepts(&self) -> &'static [Data] {
        &[Data::KSpace, Data::MaskedKSpace]
    }

    fn output(&self, _input: Data) -> Data {
        Data::Image
    }

    fn process_slice(&self, volume: &Volume, slice: &mut Slice) -> Result<(), StageError> {
        let kspace = slice.kspace_mut()?;
        let coil_images = ifft2c(kspace);
        let image = rss(&coil_images, Axis(0))?;
        let cropped = center_crop(&image, self.crop_size(volume))?;
        slice.image = Some(cropped.to_owned());
        Ok(())
    }
}
