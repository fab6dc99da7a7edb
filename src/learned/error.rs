//! Errors of the learned samplers: invalid configuration, invalid fixed masks and failed exports.

use std::path::PathBuf;

/// Failure to configure, build or export a sampler.
#[derive(Debug, thiserror::Error)]
pub enum SamplerError {
    /// A configuration value violates its constraint.
    #[error("invalid sampler parameter `{parameter}` = {value}: expected {expected}")]
    InvalidParameter {
        /// Name of the parameter as it is spelled in the YAML config.
        parameter: &'static str,
        /// The rejected value, formatted for the message.
        value: String,
        /// The constraint the value must satisfy.
        expected: String,
    },

    /// A fixed mask does not have one entry per candidate of its domain.
    #[error(
        "fixed mask has {found} entries but the {domain} domain has {expected} candidates, so \
         give one entry per candidate"
    )]
    MaskLength {
        /// Domain kind (`pixel`, `kspace` or `lines`).
        domain: &'static str,
        /// Number of candidates N of the domain.
        expected: usize,
        /// Number of mask entries given.
        found: usize,
    },

    /// Method `fixed` was chosen but no mask was given.
    #[error(
        "method `fixed` needs a mask: set `fixed_indices` in the sampler config or pass the mask \
         to `SamplerConfig::build`"
    )]
    MissingFixedMask,

    /// An export that needs learned logits was asked of a sampler without them.
    #[error(
        "the `{method}` sampler has no logits to export, so export those of a learned sampler"
    )]
    NoLogits {
        /// Method name of the sampler.
        method: &'static str,
    },

    /// The YAML text is not a valid sampler config.
    #[error("invalid sampler config: {source} (see `SamplerConfig` for the accepted fields)")]
    Yaml {
        /// The parser's error, with line and column.
        #[source]
        source: serde_yaml::Error,
    },

    /// Writing an output file failed.
    #[error("failed to write {}: {source}", path.display())]
    Write {
        /// File that could not be written.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// Encoding or writing a PNG failed.
    #[error("failed to write PNG {}: {source}", path.display())]
    Png {
        /// File that could not be written.
        path: PathBuf,
        /// The encoder's error.
        #[source]
        source: image::ImageError,
    },

    /// A libtorch call failed, for example while copying a tensor to host memory.
    #[error("libtorch call failed: {0}")]
    Torch(#[from] tch::TchError),
}

impl SamplerError {
    /// Builds an [`SamplerError::InvalidParameter`] from any displayable value.
    pub(crate) fn invalid(
        parameter: &'static str,
        value: impl std::fmt::Display,
        expected: impl Into<String>,
    ) -> Self {
        Self::InvalidParameter {
            parameter,
            value: value.to_string(),
            expected: expected.into(),
        }
    }
}
