//! Subcommands of the `dps` binary.

/// `println!` through [`output::write`]: a closed pipe ends output quietly instead of panicking.
macro_rules! outln {
    () => {
        $crate::commands::output::write(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::commands::output::write(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `print!` through [`output::write`].
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::commands::output::write(format_args!($($arg)*))
    };
}

mod files;
mod mask;
mod output;
mod progress;
mod report;
mod run;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Learned k-space subsampling and MRI reconstruction pipelines.
#[derive(Parser)]
#[command(name = "dps", version, about, propagate_version = true)]
pub struct Cli {
    /// Log more (-v: debug, -vv: trace). DPS_LOG overrides, e.g. DPS_LOG=dps=debug.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Log only warnings and errors.
    #[arg(short, long, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a YAML pipeline on the inputs its source stage names.
    Run(run::RunArgs),
    /// Score a saved checkpoint of a training experiment on its test split.
    EvalCheckpoint(run::EvalCheckpointArgs),
    /// Run experiments over several sample budgets; write a results table and plot.
    Sweep(run::SweepArgs),
    /// Reconstruct every k-space file of a folder with a pipeline.
    Recon(run::ReconArgs),
    /// List the registered stages with their parameters and defaults.
    Stages(run::StagesArgs),
    /// Print or save a sampling mask.
    Mask(mask::MaskArgs),
    /// Print the datasets, shapes, header sizes and attributes of a k-space file.
    Inspect(files::InspectArgs),
    /// Convert between BART .cfl/.hdr and fastMRI HDF5.
    Convert(files::ConvertArgs),
    /// Score reconstructions against targets like fastMRI's evaluate.
    Eval(files::EvalArgs),
}

impl Cli {
    fn verbosity(&self) -> &'static str {
        match (self.quiet, self.verbose) {
            (true, _) => "warn",
            (false, 0) => "info",
            (false, 1) => "debug",
            (false, _) => "trace",
        }
    }
}

/// Runs the parsed command line and returns the process exit code.
///
/// # Errors
///
/// Any error of the command, with its causes already joined into one message that repeats
/// none of them.
pub fn execute(cli: Cli) -> anyhow::Result<ExitCode> {
    dispatch(cli).map_err(|error| anyhow::anyhow!(output::error_chain(&error)))
}

fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    let verbosity = cli.verbosity();
    match cli.command {
        Command::Run(args) => run::run(args, verbosity),
        Command::Recon(args) => run::recon(args, verbosity),
        Command::Sweep(args) => run::sweep(args, verbosity),
        Command::EvalCheckpoint(args) => run::eval_checkpoint(args, verbosity),
        Command::Stages(args) => run::stages(args),
        Command::Mask(args) => mask::mask(args),
        Command::Inspect(args) => files::inspect(args),
        Command::Convert(args) => files::convert(args, verbosity),
        Command::Eval(args) => files::eval(args),
    }
}
