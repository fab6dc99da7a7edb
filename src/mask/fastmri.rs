//! fastMRI's five line-mask functions, reproduced bit for bit.
//!
//! Each call seeds a [`RandomState`], which fastMRI does with the tuple of character codes of
//! the file name. It then draws one (center fraction, acceleration) pair with
//! `randint(len(pairs))`, which consumes no random word when there is a single pair, and
//! builds the mask over the `W` phase-encode columns. The behaviour follows `fastmri/data/subsample.py` of
//! facebookresearch/fastMRI (main branch, 2024):
//!
//! - Every type samples a centre band of `num_low = round(W * center_fraction)` columns
//!   (Python rounding, ties to even) starting at column `(W - num_low + 1) // 2`.
//! - `random` keeps each column with probability `(W / acc - num_low) / (W - num_low)`, one
//!   uniform draw per column, centre columns included.
//! - `equispaced` keeps columns `offset, offset + acc, ...` with `offset = randint(round(acc))`.
//! - `equispaced_fraction` steps by `a = acc (num_low - W) / (num_low acc - W)` so the total
//!   is about `W / acc`. Positions are numpy's `arange(offset, W - 1, a)` rounded
//!   ties-to-even, so the gaps alternate between two integers.
//! - `magic` (Defazio 2019, arXiv:1912.01101) samples each half of k-space equispaced with
//!   offsets shifted between the halves, then fftshifts the result.
//! - `magic_fraction` targets `round(W / acc)` columns: the centre band is clamped to
//!   `[1, target]` and the remaining columns are spread by a `magic` mask with acceleration
//!   `round(W / (target - num_low))`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::rng::{RandomState, Seed};
use super::{Mask, MaskError};

/// fastMRI mask function type, named as fastMRI's `create_mask_for_mask_type` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaskType {
    /// Columns kept independently at random (`RandomMaskFunc`).
    Random,
    /// Columns at a fixed integer spacing (`EquiSpacedMaskFunc`).
    Equispaced,
    /// Columns at a fractional spacing that matches the acceleration
    /// (`EquispacedMaskFractionFunc`).
    EquispacedFraction,
    /// Offset equispaced sampling of the two halves of k-space (`MagicMaskFunc`).
    Magic,
    /// Magic sampling that matches the acceleration (`MagicMaskFractionFunc`).
    MagicFraction,
}

impl MaskType {
    /// Every mask type, in fastMRI's order.
    pub const ALL: [MaskType; 5] = [
        MaskType::Random,
        MaskType::Equispaced,
        MaskType::EquispacedFraction,
        MaskType::Magic,
        MaskType::MagicFraction,
    ];

    /// Returns fastMRI's name of the type (`"random"`, `"equispaced_fraction"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            MaskType::Random => "random",
            MaskType::Equispaced => "equispaced",
            MaskType::EquispacedFraction => "equispaced_fraction",
            MaskType::Magic => "magic",
            MaskType::MagicFraction => "magic_fraction",
        }
    }

    /// Types that step through k-space by the acceleration itself need it to be a whole
    /// number, because fastMRI uses it as a slice step.
    fn needs_integer_acceleration(self) -> bool {
        matches!(self, MaskType::Equispaced | MaskType::Magic)
    }
}

impl fmt::Display for MaskType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for MaskType {
    type Err = MaskError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        MaskType::ALL
            .into_iter()
            .find(|kind| kind.name() == name)
            .ok_or_else(|| MaskError::UnknownMaskType {
                name: name.to_owned(),
                valid: MaskType::ALL.map(MaskType::name).join(", "),
            })
    }
}

/// Parameters that one call of a [`MaskFunc`] drew or derived.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FastmriParameters {
    /// Center fraction of the drawn pair.
    pub center_fraction: f64,
    /// Acceleration of the drawn pair (the target, not the realised one).
    pub acceleration: f64,
    /// Number of columns in the centre band, as fastMRI returns it.
    pub num_low_frequencies: usize,
    /// Offset of the first equispaced or magic column. It is `None` for `random` masks and
    /// for masks that sample only the centre band.
    pub offset: Option<usize>,
}

/// Mask function settings as a configuration file spells them, checked into a [`MaskFunc`]
/// by `MaskFunc::try_from`.
///
/// In YAML: `{type: random, center_fractions: [0.08, 0.04], accelerations: [4, 8]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaskFuncConfig {
    /// Mask type, by fastMRI's name.
    #[serde(rename = "type")]
    pub kind: MaskType,
    /// Center fractions, one per acceleration.
    pub center_fractions: Vec<f64>,
    /// Accelerations, one per center fraction.
    pub accelerations: Vec<f64>,
}

impl TryFrom<MaskFuncConfig> for MaskFunc {
    type Error = MaskError;

    fn try_from(config: MaskFuncConfig) -> Result<Self, Self::Error> {
        MaskFunc::new(config.kind, config.center_fractions, config.accelerations)
    }
}

/// A validated fastMRI mask function: a type and its (center fraction, acceleration) pairs.
#[derive(Debug, Clone, PartialEq)]
pub struct MaskFunc {
    kind: MaskType,
    center_fractions: Vec<f64>,
    accelerations: Vec<f64>,
}

impl MaskFunc {
    /// Creates a mask function. Each call of [`MaskFunc::sample`] draws one pair
    /// `(center_fractions[i], accelerations[i])` uniformly.
    ///
    /// # Errors
    ///
    /// - [`MaskError::LengthMismatch`] if the two lists differ in length.
    /// - [`MaskError::NoParameters`] if they are empty.
    /// - [`MaskError::InvalidCenterFraction`] unless every fraction is in (0, 1).
    /// - [`MaskError::InvalidAcceleration`] unless every acceleration is finite and >= 1.
    /// - [`MaskError::NonIntegerAcceleration`] for `equispaced` and `magic` with a
    ///   fractional acceleration.
    pub fn new(
        kind: MaskType,
        center_fractions: Vec<f64>,
        accelerations: Vec<f64>,
    ) -> Result<Self, MaskError> {
        if center_fractions.len() != accelerations.len() {
            return Err(MaskError::LengthMismatch {
                center_fractions: center_fractions.len(),
                accelerations: accelerations.len(),
            });
        }
        if center_fractions.is_empty() {
            return Err(MaskError::NoParameters);
        }
        for &value in &center_fractions {
            // Written as a negated range test so that NaN is rejected too.
            if !(value > 0.0 && value < 1.0) {
                return Err(MaskError::InvalidCenterFraction { value });
            }
        }
        for &value in &accelerations {
            if !(value.is_finite() && value >= 1.0) {
                return Err(MaskError::InvalidAcceleration { value });
            }
            if kind.needs_integer_acceleration() && value.fract() != 0.0 {
                return Err(MaskError::NonIntegerAcceleration {
                    kind: kind.name(),
                    value,
                });
            }
        }
        Ok(Self {
            kind,
            center_fractions,
            accelerations,
        })
    }

    /// Returns the mask type.
    pub fn kind(&self) -> MaskType {
        self.kind
    }

    /// Returns the center fractions, one per pair.
    pub fn center_fractions(&self) -> &[f64] {
        &self.center_fractions
    }

    /// Returns the accelerations, one per pair.
    pub fn accelerations(&self) -> &[f64] {
        &self.accelerations
    }

    /// Samples a line mask of `width` columns, as fastMRI's `apply_mask` does with
    /// `mask_func(shape, None, seed)`: the offset of equispaced and magic masks is drawn.
    ///
    /// `padding = Some((left, right))` zeroes the columns outside `[left, right)` after
    /// sampling, because they contain zero-padded k-space (see the ISMRMRD
    /// `encodingLimits`). The drawn `num_low_frequencies` is left as sampled. `Seed::Entropy` gives a new mask every call.
    ///
    /// # Errors
    ///
    /// [`MaskError::ZeroWidth`], [`MaskError::EmptySeed`], or [`MaskError::InvalidPadding`]
    /// unless `left <= right <= width`.
    pub fn sample(
        &self,
        width: usize,
        seed: &Seed,
        padding: Option<(usize, usize)>,
    ) -> Result<Mask, MaskError> {
        self.sample_with_offset(width, seed, None, padding)
    }

    /// Samples a line mask like [`MaskFunc::sample`], with the offset of equispaced and magic
    /// masks fixed when `offset` is `Some` (fastMRI's `offset` argument). A fixed offset
    /// consumes no random word, and `random` masks ignore it.
    ///
    /// # Errors
    ///
    /// As [`MaskFunc::sample`].
    pub fn sample_with_offset(
        &self,
        width: usize,
        seed: &Seed,
        offset: Option<usize>,
        padding: Option<(usize, usize)>,
    ) -> Result<Mask, MaskError> {
        if width == 0 {
            return Err(MaskError::ZeroWidth);
        }
        if let Some((left, right)) = padding {
            if left > right || right > width {
                return Err(MaskError::InvalidPadding { left, right, width });
            }
        }
        let mut rng = RandomState::from_seed(seed)?;

        let choice = rng.randint(self.center_fractions.len() as u64) as usize;
        let center_fraction = self.center_fractions[choice];
        let acceleration = self.accelerations[choice];
        let (mut columns, num_low_frequencies, offset) = match self.kind {
            MaskType::Random => random(width, center_fraction, acceleration, &mut rng),
            MaskType::Equispaced => {
                equispaced(width, center_fraction, acceleration, offset, &mut rng)
            }
            MaskType::EquispacedFraction => {
                equispaced_fraction(width, center_fraction, acceleration, offset, &mut rng)
            }
            MaskType::Magic => magic(width, center_fraction, acceleration, offset, &mut rng),
            MaskType::MagicFraction => {
                magic_fraction(width, center_fraction, acceleration, offset, &mut rng)
            }
        };

        if let Some((left, right)) = padding {
            columns[..left].fill(false);
            columns[right..].fill(false);
        }
        let parameters = FastmriParameters {
            center_fraction,
            acceleration,
            num_low_frequencies,
            offset,
        };
        Ok(Mask::from_column_flags(columns)?
            .with_kind(self.kind.name())
            .with_fastmri_parameters(parameters))
    }
}

/// Columns, centre-band size and offset of one sampled mask.
type Sampled = (Vec<bool>, usize, Option<usize>);

/// Python's `round(x)` for a float: nearest integer, ties to even.
fn python_round(value: f64) -> f64 {
    value.round_ties_even()
}

/// Size of the centre band, `round(W * center_fraction)`.
fn num_low_frequencies(width: usize, center_fraction: f64) -> usize {
    python_round(width as f64 * center_fraction) as usize
}

/// Marks the centre band of `num_low` columns that starts at `(W - num_low + 1) // 2`.
fn center_band(width: usize, num_low: usize) -> Vec<bool> {
    let start = (width - num_low).div_ceil(2);
    let mut columns = vec![false; width];
    columns[start..start + num_low].fill(true);
    columns
}

fn random(width: usize, center_fraction: f64, acceleration: f64, rng: &mut RandomState) -> Sampled {
    let num_low = num_low_frequencies(width, center_fraction);
    let mut columns = center_band(width, num_low);
    // NOTE: fastMRI divides by zero and raises when the band covers every column. Here the
    // mask is then fully sampled, without drawing.
    if num_low < width {
        let probability = (width as f64 / acceleration - num_low as f64) / (width - num_low) as f64;
        for (column, uniform) in columns.iter_mut().zip(rng.uniform(width)) {
            *column |= uniform < probability;
        }
    }
    (columns, num_low, None)
}

fn equispaced(
    width: usize,
    center_fraction: f64,
    acceleration: f64,
    offset: Option<usize>,
    rng: &mut RandomState,
) -> Sampled {
    let num_low = num_low_frequencies(width, center_fraction);
    let mut columns = center_band(width, num_low);
    // MaskFunc::new checked that the acceleration is a whole number of at least 1.
    let step = acceleration as usize;
    let offset = offset.unwrap_or_else(|| rng.randint(step as u64) as usize);
    for column in columns.iter_mut().skip(offset).step_by(step) {
        *column = true;
    }
    (columns, num_low, Some(offset))
}

fn equispaced_fraction(
    width: usize,
    center_fraction: f64,
    acceleration: f64,
    offset: Option<usize>,
    rng: &mut RandomState,
) -> Sampled {
    let num_low = num_low_frequencies(width, center_fraction);
    let mut columns = center_band(width, num_low);

    // The operations and their order are fastMRI's, so that the spacing rounds identically.
    let numerator = acceleration * (num_low as f64 - width as f64);
    let denominator = num_low as f64 * acceleration - width as f64;
    // NOTE: when the centre band alone reaches the acceleration (num_low * acc >= W), fastMRI
    // fails on a zero or negative spacing. Here the mask is then the centre band alone.
    if denominator >= 0.0 {
        return (columns, num_low, None);
    }
    let spacing = numerator / denominator;
    let offset = offset.unwrap_or_else(|| rng.randint(python_round(spacing) as u64) as usize);

    for position in numpy_arange(offset as f64, (width - 1) as f64 - offset as f64, spacing) {
        let column = python_round(position) as usize;
        if column < width {
            columns[column] = true;
        }
    }
    (columns, num_low, Some(offset))
}

/// Values of numpy's `arange(start, start + span, step)` for a float step: the length is
/// `ceil(span / step)`, and elements from the third on are `start + i * delta` with
/// `delta = (start + step) - start`, which can differ from `step` in the last bit.
fn numpy_arange(start: f64, span: f64, step: f64) -> Vec<f64> {
    let length = (span / step).ceil();
    if length.is_nan() || length <= 0.0 {
        return Vec::new();
    }
    let length = length as usize;
    let second = start + step;
    let delta = second - start;
    (0..length)
        .map(|i| match i {
            0 => start,
            1 => second,
            _ => start + i as f64 * delta,
        })
        .collect()
}

fn magic(
    width: usize,
    center_fraction: f64,
    acceleration: f64,
    offset: Option<usize>,
    rng: &mut RandomState,
) -> Sampled {
    let num_low = num_low_frequencies(width, center_fraction);
    let mut columns = center_band(width, num_low);
    let step = acceleration as usize;
    let offset = offset.unwrap_or_else(|| rng.randint(step as u64) as usize);
    mark_magic_columns(&mut columns, step, offset);
    (columns, num_low, Some(offset))
}

fn magic_fraction(
    width: usize,
    center_fraction: f64,
    acceleration: f64,
    offset: Option<usize>,
    rng: &mut RandomState,
) -> Sampled {
    let target = python_round(width as f64 / acceleration) as usize;
    let num_low = num_low_frequencies(width, center_fraction)
        .min(target)
        .max(1);
    let mut columns = center_band(width, num_low);

    // NOTE: fastMRI fails (randint(0, 0)) when the centre band alone meets the target. Here
    // the mask is then the centre band alone.
    if target <= num_low {
        return (columns, num_low, None);
    }
    let step = python_round(width as f64 / (target - num_low) as f64) as usize;
    let offset = offset.unwrap_or_else(|| rng.randint(step as u64) as usize);
    mark_magic_columns(&mut columns, step, offset);
    (columns, num_low, Some(offset))
}

/// Adds Defazio's offset sampling to `columns`. The first `(W + 1) / 2` columns of the
/// unshifted spectrum (non-negative frequencies) and the reversed remaining ones each get an
/// equispaced pattern, with starts that depend on the parity of `offset`. The concatenation
/// is then fftshifted into the centred column order.
fn mark_magic_columns(columns: &mut [bool], step: usize, offset: usize) {
    let width = columns.len();
    let positive_len = width.div_ceil(2);
    let negative_len = width - positive_len;
    // Saturating, because a caller's offset may be any usize. A start past the half is empty.
    let (positive_start, negative_start) = if offset % 2 == 0 {
        (offset.saturating_add(1), offset.saturating_add(2))
    } else {
        (offset.saturating_add(2), offset - 1)
    };

    let mut unshifted = vec![false; width];
    for i in (positive_start..positive_len).step_by(step) {
        unshifted[i] = true;
    }
    // Entry i of the reversed negative half lands at position width - 1 - i.
    for i in (negative_start..negative_len).step_by(step) {
        unshifted[width - 1 - i] = true;
    }
    // np.fft.fftshift rolls forward by floor(W / 2).
    for (i, &sampled) in unshifted.iter().enumerate() {
        if sampled {
            columns[(i + width / 2) % width] = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_round_ties_to_even() {
        assert_eq!(python_round(2.5), 2.0);
        assert_eq!(python_round(3.5), 4.0);
        assert_eq!(python_round(29.44), 29.0);
    }

    #[test]
    fn num_low_frequencies_conventions_values() {
        // W = 25, cf 0.1 is 2.5 and rounds to 2; W = 45 is 4.5 and rounds to 4.
        assert_eq!(num_low_frequencies(25, 0.1), 2);
        assert_eq!(num_low_frequencies(45, 0.1), 4);
        assert_eq!(num_low_frequencies(368, 0.08), 29);
        assert_eq!(num_low_frequencies(320, 0.08), 26);
    }

    #[test]
    fn center_band_positions() {
        let band = center_band(368, 29);
        let selected: Vec<usize> = (0..368).filter(|&i| band[i]).collect();
        assert_eq!(selected, (170..=198).collect::<Vec<_>>());
        let band = center_band(320, 26);
        let selected: Vec<usize> = (0..320).filter(|&i| band[i]).collect();
        assert_eq!(selected, (147..=172).collect::<Vec<_>>());
    }

    #[test]
    fn numpy_arange_length_and_ends() {
        let values = numpy_arange(0.0, 9.0, 2.0);
        assert_eq!(values, [0.0, 2.0, 4.0, 6.0, 8.0]);
        assert!(numpy_arange(5.0, -1.0, 2.0).is_empty());
        assert!(numpy_arange(5.0, 0.0, 2.0).is_empty());
    }

    #[test]
    fn magic_columns_for_small_width() {
        // W = 8, step 4, offset 0: positive half [0, 4) gets start 1, negative half [0, 4)
        // gets start 2, reversed to position 5. The roll by 4 moves 1 to 5 and 5 to 1.
        let mut columns = vec![false; 8];
        mark_magic_columns(&mut columns, 4, 0);
        let selected: Vec<usize> = (0..8).filter(|&i| columns[i]).collect();
        assert_eq!(selected, [1, 5]);
    }

    #[test]
    fn magic_columns_accept_any_offset() {
        let mut columns = vec![false; 8];
        mark_magic_columns(&mut columns, 4, usize::MAX);
        mark_magic_columns(&mut columns, 4, usize::MAX - 1);
        assert!(columns.iter().all(|&sampled| !sampled));
    }

    #[test]
    fn mask_type_names_round_trip() {
        for kind in MaskType::ALL {
            assert_eq!(kind.name().parse::<MaskType>().unwrap(), kind);
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.name()));
        }
    }

    #[test]
    fn unknown_mask_type_lists_valid_names() {
        let error = "gaussian".parse::<MaskType>().unwrap_err();
        let message = error.to_string();
        assert!(message.contains("gaussian"), "{message}");
        assert!(message.contains("equispaced_fraction"), "{message}");
    }
}
