//! `dps mask`: prints a sampling mask (selected indices, count, acceleration) or saves it as a
//! PNG.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use dps::mask::{baseline_grid, baseline_lines, BaselineKind, Mask, MaskFunc, MaskType, Seed};

/// Largest `--width` and `--height`. MRI matrices have a few hundred samples per axis (fastMRI's
/// widths are 276 to 396), and the limit keeps a mistyped size from exhausting memory, since a
/// mask stores one flag per column or point.
const MAX_SIZE: u64 = 16_384;

fn parse_size(text: &str) -> Result<usize, String> {
    let size: u64 = text
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a non-negative integer"))?;
    if size > MAX_SIZE {
        return Err(format!(
            "{size} is larger than the maximum mask size {MAX_SIZE}"
        ));
    }
    usize::try_from(size).map_err(|_| format!("{size} does not fit this machine's usize"))
}

fn parse_padding(text: &str) -> Result<(usize, usize), String> {
    let (left, right) = text
        .split_once(',')
        .ok_or_else(|| format!("expected LEFT,RIGHT (for example 18,352), found `{text}`"))?;
    let column = |value: &str| {
        value
            .trim()
            .parse::<usize>()
            .map_err(|_| format!("`{value}` is not a column index in `{text}`"))
    };
    Ok((column(left)?, column(right)?))
}

#[derive(Args)]
pub struct MaskArgs {
    /// fastMRI type (random, equispaced, equispaced_fraction, magic, magic_fraction) or DPS
    /// baseline (lines_uniform, lines_random, lines_low_pass, grid_uniform, grid_random,
    /// grid_low_pass).
    #[arg(long = "type", value_name = "TYPE")]
    kind: String,
    /// Fractions of fully sampled centre columns (fastMRI types), comma-separated.
    #[arg(long, value_delimiter = ',')]
    center_fractions: Vec<f64>,
    /// Accelerations (fastMRI types), comma-separated, one per centre fraction.
    #[arg(long, value_delimiter = ',')]
    accelerations: Vec<f64>,
    /// Number of phase-encode columns W (at most 16384).
    #[arg(long, value_parser = parse_size)]
    width: usize,
    /// Number of rows H: the grid height of grid_* baselines, and the PNG height of line masks
    /// (at most 16384).
    #[arg(long, value_parser = parse_size)]
    height: Option<usize>,
    /// Number of lines or points of a DPS baseline.
    #[arg(long)]
    samples: Option<usize>,
    /// Seed with the character codes of this file name, as fastMRI does per volume.
    #[arg(long, conflicts_with = "seed")]
    seed_name: Option<String>,
    /// Integer seed of numpy's legacy RandomState.
    #[arg(long)]
    seed: Option<u32>,
    /// Columns [LEFT, RIGHT) that are not zero padding, e.g. 18,352.
    #[arg(long, value_name = "LEFT,RIGHT", value_parser = parse_padding)]
    padding: Option<(usize, usize)>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    /// Also save the mask as a PNG (white = sampled).
    #[arg(long)]
    png: Option<PathBuf>,
}

pub fn mask(args: MaskArgs) -> anyhow::Result<ExitCode> {
    let seed = match (&args.seed_name, args.seed) {
        (Some(name), _) => Seed::from_file_name(name),
        (None, Some(seed)) => Seed::Int(seed),
        (None, None) => Seed::Entropy,
    };
    let mask = build(&args, &seed)?;
    if let Some(path) = &args.png {
        mask.save_png(path, args.height)?;
    }
    let summary = mask.summary();
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&summary)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    outln!("type: {}", summary.kind)?;
    match summary.height {
        Some(height) => outln!("shape: {height} x {}", summary.width)?,
        None => outln!("width: {}", summary.width)?,
    }
    if let Some(parameters) = mask.fastmri_parameters() {
        outln!(
            "center fraction: {}, acceleration: {}, low-frequency columns: {}",
            parameters.center_fraction,
            parameters.acceleration,
            parameters.num_low_frequencies
        )?;
    }
    outln!("samples: {}", summary.count)?;
    outln!("acceleration: {:.4}", summary.acceleration)?;
    let indices: Vec<String> = summary.indices.iter().map(usize::to_string).collect();
    outln!("indices: {}", indices.join(" "))?;
    Ok(ExitCode::SUCCESS)
}

fn build(args: &MaskArgs, seed: &Seed) -> anyhow::Result<Mask> {
    if let Ok(kind) = args.kind.parse::<MaskType>() {
        let function = MaskFunc::new(
            kind,
            args.center_fractions.clone(),
            args.accelerations.clone(),
        )?;
        return Ok(function.sample(args.width, seed, args.padding)?);
    }
    let (layout, baseline) = args.kind.split_once('_').unwrap_or(("", ""));
    let kind: BaselineKind = baseline.parse().map_err(|_| unknown_type(&args.kind))?;
    let samples = args
        .samples
        .ok_or_else(|| anyhow::anyhow!("--samples is required for baseline type {}", args.kind))?;
    match layout {
        "lines" => Ok(baseline_lines(kind, args.width, samples, seed)?),
        "grid" => {
            let height = args
                .height
                .ok_or_else(|| anyhow::anyhow!("--height is required for type {}", args.kind))?;
            Ok(baseline_grid(kind, height, args.width, samples, seed)?)
        }
        _ => Err(unknown_type(&args.kind)),
    }
}

fn unknown_type(kind: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "unknown mask type `{kind}`; valid types: random, equispaced, equispaced_fraction, \
         magic, magic_fraction, lines_uniform, lines_random, lines_low_pass, grid_uniform, \
         grid_random, grid_low_pass"
    )
}
