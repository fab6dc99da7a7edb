//! Standard output and error messages of the `dps` binary.
//!
//! `println!` panics when standard output is gone, as in `dps stages | head -1` once `head`
//! exits. Results go through [`write`] instead: a closed pipe ends the output quietly, like
//! other command-line tools, and any other write error (a full disk) is returned.

use std::io::Write;

/// Writes formatted text to standard output.
///
/// # Errors
///
/// Any write error except a closed pipe.
pub fn write(text: std::fmt::Arguments) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_fmt(text).and_then(|()| stdout.flush()) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(error) => Err(anyhow::Error::new(error).context("failed to write to standard output")),
    }
}

/// Writes a message line to standard error, ignoring failures: there is nowhere left to report
/// them.
pub fn message(text: std::fmt::Arguments) {
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

/// Renders an error and its causes on one line, leaving out a cause whose text the message
/// already contains (many error types repeat their source in their own message).
pub fn error_chain(error: &anyhow::Error) -> String {
    let mut text = error.to_string();
    for cause in error.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_chain_drops_repeated_causes() {
        let source = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let error = anyhow::Error::new(source).context("cannot read p.yaml: no such file");
        assert_eq!(error_chain(&error), "cannot read p.yaml: no such file");
        let error = anyhow::anyhow!("disk full").context("cannot write out.h5");
        assert_eq!(error_chain(&error), "cannot write out.h5: disk full");
    }
}
