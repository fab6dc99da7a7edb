use std::path::PathBuf;

/// Errors of mask construction, sampling, application and export.
#[derive(Debug, thiserror::Error)]
pub enum MaskError {
    #[error("unknown mask type {name:?}; expected one of {valid}")]
    UnknownMaskType { name: String, valid: String },

    #[error("unknown baseline kind {name:?}; expected one of {valid}")]
    UnknownBaseline { name: String, valid: String },

    #[error(
        "{center_fractions} center fractions but {accelerations} accelerations; \
         give one center fraction per acceleration"
    )]
    LengthMismatch {
        center_fractions: usize,
        accelerations: usize,
    },

    #[error("no (center fraction, acceleration) pair given; give at least one, e.g. 0.08 and 4")]
    NoParameters,

    #[error("invalid center fraction {value}; it must lie strictly between 0 and 1")]
    InvalidCenterFraction { value: f64 },

    #[error("invalid acceleration {value}; it must be a finite number of at least 1")]
    InvalidAcceleration { value: f64 },

    #[error(
        "{kind} masks step through k-space by the acceleration, which must be a whole number; \
         got {value}"
    )]
    NonIntegerAcceleration { kind: &'static str, value: f64 },

    #[error("invalid mask width 0; k-space needs at least one phase-encode column")]
    ZeroWidth,

    #[error("empty seed array; numpy rejects it, so give at least one integer")]
    EmptySeed,

    #[error(
        "invalid padding [{left}, {right}) for width {width}; \
         it needs padding_left <= padding_right <= width"
    )]
    InvalidPadding {
        left: usize,
        right: usize,
        width: usize,
    },

    #[error("invalid sample count 0 for a {kind} baseline; ask for at least one sample")]
    ZeroSamples { kind: &'static str },

    #[error(
        "{requested} samples requested for a {kind} baseline but only {available} exist; \
         ask for at most {available}"
    )]
    TooManySamples {
        kind: &'static str,
        requested: usize,
        available: usize,
    },

    #[error("index {index} out of range for a mask of {len} candidates")]
    IndexOutOfRange { index: usize, len: usize },

    #[error("invalid mask shape {height}x{width}; both sizes must be at least 1")]
    EmptyGrid { height: usize, width: usize },

    #[error("k-space shape {found:?} does not fit the mask; expected {expected}")]
    ShapeMismatch { expected: String, found: Vec<usize> },

    #[error("height {found} requested for a 2-D mask of height {expected}")]
    HeightMismatch { expected: usize, found: usize },

    #[error("invalid image height 0 for the PNG of a line mask")]
    ZeroImageHeight,

    #[error("failed to write mask image {}: {source}", path.display())]
    Png {
        path: PathBuf,
        #[source]
        source: image::ImageError,
    },
}
