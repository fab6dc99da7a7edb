//! Progress bar and log output of the `dps` binary.
//!
//! Log lines go through the bar's `suspend`, so they print above the bar instead of tearing
//! it.

use std::io::{IsTerminal, Write};
use std::path::Path;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

use dps::pipeline::Observer;

/// A slice progress bar that grows as volumes are opened.
#[derive(Clone)]
pub struct SliceProgress {
    bar: ProgressBar,
}

impl SliceProgress {
    /// Creates a hidden bar when `visible` is false (as for `--json` or a non-terminal).
    pub fn new(visible: bool) -> Self {
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        if !visible {
            bar.set_draw_target(ProgressDrawTarget::hidden());
        }
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} slices ({per_sec}) {msg}",
            )
            .expect("the progress template is valid"),
        );
        Self { bar }
    }

    /// Removes the bar from the terminal.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }

    /// Installs the global tracing subscriber, printing through this bar.
    pub fn install_logging(&self, verbosity: &str) {
        let filter = EnvFilter::try_from_env("DPS_LOG")
            .unwrap_or_else(|_| EnvFilter::new(format!("dps={verbosity},warn")));
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_target(false)
            .with_ansi(std::io::stderr().is_terminal())
            .with_writer(self.clone())
            .init();
    }
}

impl Observer for SliceProgress {
    fn volume_started(&self, input: &Path, slices: usize) {
        self.bar.inc_length(slices as u64);
        if let Some(name) = input.file_name() {
            self.bar.set_message(name.to_string_lossy().into_owned());
        }
    }

    fn slice_finished(&self, _input: &Path, _slice: usize) {
        self.bar.inc(1);
    }
}

/// One log event's text, printed when the subscriber drops it.
pub struct LineWriter {
    bar: ProgressBar,
    buffer: Vec<u8>,
}

impl Write for LineWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LineWriter {
    fn drop(&mut self) {
        let text = std::mem::take(&mut self.buffer);
        self.bar.suspend(|| {
            let _ = std::io::stderr().write_all(&text);
        });
    }
}

impl<'a> MakeWriter<'a> for SliceProgress {
    type Writer = LineWriter;

    fn make_writer(&'a self) -> Self::Writer {
        LineWriter {
            bar: self.bar.clone(),
            buffer: Vec::new(),
        }
    }
}

/// The bar that training epochs draw on, shared with the log writer of [`SliceProgress`].
#[cfg(feature = "torch")]
static EPOCH_BAR: std::sync::OnceLock<ProgressBar> = std::sync::OnceLock::new();

#[cfg(feature = "torch")]
impl SliceProgress {
    /// Makes training runs of this process draw one bar per epoch on this bar.
    pub fn install_epoch_progress(&self) {
        if EPOCH_BAR.set(self.bar.clone()).is_ok() {
            dps::experiments::set_observer_factory(|| Box::new(EpochProgress));
        }
    }
}

/// Training progress: the batches of the current epoch.
#[cfg(feature = "torch")]
struct EpochProgress;

#[cfg(feature = "torch")]
impl dps::train::TrainObserver for EpochProgress {
    fn epoch_started(&self, epoch: usize, batches: usize) {
        if let Some(bar) = EPOCH_BAR.get() {
            bar.reset();
            bar.set_length(batches as u64);
            bar.set_style(
                ProgressStyle::with_template(
                    "epoch {msg} [{elapsed_precise}] {bar:40} {pos}/{len} batches ({per_sec})",
                )
                .expect("the progress template is valid"),
            );
            bar.set_message(epoch.to_string());
        }
    }

    fn batch_finished(&self) {
        if let Some(bar) = EPOCH_BAR.get() {
            bar.inc(1);
        }
    }
}
