//! `dps inspect`, `dps convert` and `dps eval`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use ndarray::{ArrayView3, Axis};

use dps::fft::ifft2c;
use dps::io::{self, ConvertOptions};
use dps::metrics::{self, Challenge};
use dps::transforms::{center_crop, crop_size_for, rss};
use dps::Complex32;

#[derive(Args)]
pub struct InspectArgs {
    /// fastMRI HDF5 file or BART .cfl array.
    file: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum TargetKind {
    /// Root-sum-of-squares of the centred orthonormal inverse FFT, cropped to reconSpace.
    Rss,
}

#[derive(Args)]
pub struct ConvertArgs {
    /// Input: .cfl (with its .hdr) or fastMRI .h5.
    input: PathBuf,
    /// Output: fastMRI .h5 or .cfl.
    output: PathBuf,
    /// When writing fastMRI files, also write this target (`reconstruction_rss`).
    #[arg(long, value_enum)]
    target: Option<TargetKind>,
}

#[derive(Args)]
pub struct EvalArgs {
    /// Folder of fastMRI target files.
    #[arg(long)]
    target_path: PathBuf,
    /// Folder of reconstruction files with the same names.
    #[arg(long)]
    predictions_path: PathBuf,
    /// singlecoil (scores reconstruction_esc) or multicoil (reconstruction_rss).
    #[arg(long)]
    challenge: Challenge,
    /// Score only volumes with this `acceleration` attribute.
    #[arg(long)]
    acceleration: Option<u32>,
    /// Score only volumes with this `acquisition` attribute (e.g. CORPD_FBK).
    #[arg(long)]
    acquisition: Option<String>,
    /// Print JSON instead of the summary line.
    #[arg(long)]
    json: bool,
}

pub fn inspect(args: InspectArgs) -> anyhow::Result<ExitCode> {
    let inspection = io::inspect(&args.file)?;
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&inspection)?)?;
    } else {
        out!("{inspection}")?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Computes the `reconstruction_rss` target of one slice `(coils, H, W)` as fastMRI does.
fn rss_target(kspace: ArrayView3<Complex32>, recon: [usize; 2]) -> ndarray::Array2<f32> {
    let images = ifft2c(&kspace);
    let image = rss(&images, Axis(0)).expect("axis 0 is the coil axis of a 3-D slice");
    let (height, width) = image.dim();
    let crop = crop_size_for((height, width), (recon[0], recon[1]));
    let crop = (crop.0.min(height), crop.1.min(width));
    center_crop(&image, crop)
        .expect("the crop fits the image")
        .to_owned()
}

pub fn convert(args: ConvertArgs, verbosity: &str) -> anyhow::Result<ExitCode> {
    super::progress::SliceProgress::new(false).install_logging(verbosity);
    let options = ConvertOptions {
        rss_target: args.target.map(|_| &rss_target as &io::RssTargetFn),
        attributes: Default::default(),
    };
    io::convert(&args.input, &args.output, &options)?;
    super::output::message(format_args!("wrote {}", args.output.display()));
    Ok(ExitCode::SUCCESS)
}

pub fn eval(args: EvalArgs) -> anyhow::Result<ExitCode> {
    let report = metrics::evaluate(
        &args.target_path,
        &args.predictions_path,
        args.challenge,
        args.acceleration,
        args.acquisition.clone(),
    )?;
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&report)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    for name in &report.missing_predictions {
        outln!("missing prediction: {name}")?;
    }
    for name in &report.extra_predictions {
        outln!("extra prediction (no target): {name}")?;
    }
    outln!("{report}")?;
    Ok(ExitCode::SUCCESS)
}
