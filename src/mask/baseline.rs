//! Fixed sampling baselines of the DPS paper (Huijben, Veeling and van Sloun, "Deep
//! probabilistic subsampling for task-adaptive compressed sensing", ICLR 2020), each with
//! exactly the requested number of samples `M`.
//!
//! Grid baselines over the `(H, W)` plane: a uniform lattice, `M` random samples and a
//! low-pass disk. Line baselines over the `W` phase-encode columns: equispaced, random and
//! centre lines. Random baselines draw from numpy's legacy `RandomState`, so a seed gives the
//! same samples as `np.sort(np.random.RandomState(seed).permutation(N)[:M])`.

use std::cmp::Reverse;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::rng::{RandomState, Seed};
use super::{Mask, MaskError};

/// Fixed baseline pattern, by the DPS paper's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BaselineKind {
    /// Regular pattern: [`uniform_lattice`] on grids, [`equispaced_lines`] on lines.
    Uniform,
    /// Seeded random samples: [`random_grid`] or [`random_lines`].
    Random,
    /// Samples nearest the DC: [`low_pass_disk`] (DC-centred) or [`center_lines`].
    LowPass,
}

impl BaselineKind {
    /// Every baseline kind.
    pub const ALL: [BaselineKind; 3] = [
        BaselineKind::Uniform,
        BaselineKind::Random,
        BaselineKind::LowPass,
    ];

    /// Returns the configuration name (`"uniform"`, `"random"`, `"low_pass"`).
    pub fn name(self) -> &'static str {
        match self {
            BaselineKind::Uniform => "uniform",
            BaselineKind::Random => "random",
            BaselineKind::LowPass => "low_pass",
        }
    }
}

impl fmt::Display for BaselineKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for BaselineKind {
    type Err = MaskError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        BaselineKind::ALL
            .into_iter()
            .find(|kind| kind.name() == name)
            .ok_or_else(|| MaskError::UnknownBaseline {
                name: name.to_owned(),
                valid: BaselineKind::ALL.map(BaselineKind::name).join(", "),
            })
    }
}

/// Centre of a [`low_pass_disk`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiskCenter {
    /// The DC sample `(H / 2, W / 2)` of the centred spectrum.
    Dc,
    /// The midpoint of the grid, `((H - 1) / 2, (W - 1) / 2)`, which the DPS code uses. For
    /// even sizes it lies half a sample before the DC on both axes.
    GridMidpoint,
}

/// Builds the grid baseline `kind` with exactly `count` samples of the `(height, width)`
/// plane. Only [`BaselineKind::Random`] uses `seed`.
///
/// # Errors
///
/// As the function that builds the kind.
pub fn baseline_grid(
    kind: BaselineKind,
    height: usize,
    width: usize,
    count: usize,
    seed: &Seed,
) -> Result<Mask, MaskError> {
    match kind {
        BaselineKind::Uniform => uniform_lattice(height, width, count),
        BaselineKind::Random => random_grid(height, width, count, seed),
        BaselineKind::LowPass => low_pass_disk(height, width, count, DiskCenter::Dc),
    }
}

/// Builds the line baseline `kind` with exactly `count` of `width` columns. Only
/// [`BaselineKind::Random`] uses `seed`.
///
/// # Errors
///
/// As the function that builds the kind.
pub fn baseline_lines(
    kind: BaselineKind,
    width: usize,
    count: usize,
    seed: &Seed,
) -> Result<Mask, MaskError> {
    match kind {
        BaselineKind::Uniform => equispaced_lines(width, count),
        BaselineKind::Random => random_lines(width, count, seed),
        BaselineKind::LowPass => center_lines(width, count),
    }
}

/// Builds a quincunx lattice of exactly `count` samples: rows equally spaced along `H`,
/// samples equally spaced within each row, and every other row shifted by half a spacing.
///
/// The lattice spacing `s = sqrt(2 H W / M)` gives `round(2 H / s)` rows (at least
/// `ceil(M / W)`, at most `min(H, M)`) at `floor((k + 1/2) H / rows)`. The `M` samples are
/// spread over the rows as evenly as possible, and a row with `c` samples puts them at
/// `floor((j + 1/4) W / c)`, or `floor((j + 3/4) W / c)` on odd rows. For 32x32 and `M = 32`
/// this is the DPS code's lattice: rows and columns both in {2, 10, 18, 26}, or both in
/// {6, 14, 22, 30}. The DPS code's other compression factors use other offsets.
///
/// # Errors
///
/// [`MaskError::EmptyGrid`], [`MaskError::ZeroSamples`], or [`MaskError::TooManySamples`]
/// if `count > height * width`.
pub fn uniform_lattice(height: usize, width: usize, count: usize) -> Result<Mask, MaskError> {
    const KIND: &str = "uniform_lattice";
    check_grid(KIND, height, width, count)?;

    let spacing = (2.0 * height as f64 * width as f64 / count as f64).sqrt();
    let rows = ((2.0 * height as f64 / spacing).round() as usize)
        .clamp(count.div_ceil(width), height.min(count));

    let mut indices = Vec::with_capacity(count);
    for k in 0..rows {
        let row = (2 * k + 1) * height / (2 * rows);
        // Bresenham split of `count` over the rows: each gets floor or ceil of count / rows,
        // which is at most W because rows >= ceil(count / W).
        let in_row = (k + 1) * count / rows - k * count / rows;
        let quarter = 1 + 2 * (k % 2);
        for j in 0..in_row {
            let col = (4 * j + quarter) * width / (4 * in_row);
            indices.push(row * width + col);
        }
    }
    Ok(Mask::from_grid_indices(height, width, &indices)?.with_kind(KIND))
}

/// Draws `count` distinct samples of the `(height, width)` plane uniformly at random: the
/// first `count` entries of numpy's `RandomState(seed).permutation(height * width)`.
///
/// # Errors
///
/// [`MaskError::EmptyGrid`], [`MaskError::ZeroSamples`], [`MaskError::TooManySamples`] or
/// [`MaskError::EmptySeed`].
pub fn random_grid(
    height: usize,
    width: usize,
    count: usize,
    seed: &Seed,
) -> Result<Mask, MaskError> {
    const KIND: &str = "random_grid";
    check_grid(KIND, height, width, count)?;
    let mut rng = RandomState::from_seed(seed)?;
    let indices = &rng.permutation(height * width)[..count];
    Ok(Mask::from_grid_indices(height, width, indices)?.with_kind(KIND))
}

/// Selects the `count` samples nearest to `center`: a disk, completed to exactly `count`
/// samples from the first ring it cuts.
///
/// Samples are ordered by Euclidean distance to the centre. Ties, samples on one ring, go
/// first to those nearest a diagonal (smallest `||dr| - |dc||`, which keeps the disk round
/// instead of growing spikes along the axes), then to those farther from the centre along
/// `H`, then by row-major index. Only that last rule separates mirrored samples
/// `(+-dr, +-dc)`, so the disk is symmetric about both centre lines up to its last, partly used group
/// (and the grid border). With [`DiskCenter::GridMidpoint`] on 32x32 and `M = 128`, this
/// is the DPS code's disk: the 124 samples closer than 6.5 plus (10, 12), (10, 19), (21, 12)
/// and (21, 19).
///
/// # Errors
///
/// [`MaskError::EmptyGrid`], [`MaskError::ZeroSamples`] or [`MaskError::TooManySamples`].
pub fn low_pass_disk(
    height: usize,
    width: usize,
    count: usize,
    center: DiskCenter,
) -> Result<Mask, MaskError> {
    const KIND: &str = "low_pass_disk";
    check_grid(KIND, height, width, count)?;

    // Offsets in half samples keep the midpoint centre on integers.
    let doubled_offset = |index: usize, len: usize| -> i64 {
        let doubled_center = match center {
            DiskCenter::Dc => 2 * (len / 2) as i64,
            DiskCenter::GridMidpoint => len as i64 - 1,
        };
        2 * index as i64 - doubled_center
    };
    let mut order: Vec<usize> = (0..height * width).collect();
    order.sort_by_key(|&index| {
        let row_offset = doubled_offset(index / width, height);
        let col_offset = doubled_offset(index % width, width);
        let squared_distance = row_offset * row_offset + col_offset * col_offset;
        let off_diagonal = (row_offset.abs() - col_offset.abs()).abs();
        (
            squared_distance,
            off_diagonal,
            Reverse(row_offset.abs()),
            index,
        )
    });
    Ok(Mask::from_grid_indices(height, width, &order[..count])?.with_kind(KIND))
}

/// Selects `count` of `width` columns equally spaced around k-space: columns
/// `(W / 2 + floor(j W / M)) mod W` for `j < M`. The DC column is always sampled and the
/// gaps differ by at most one column, counting the wrap-around gap.
///
/// # Errors
///
/// [`MaskError::ZeroWidth`], [`MaskError::ZeroSamples`] or [`MaskError::TooManySamples`].
pub fn equispaced_lines(width: usize, count: usize) -> Result<Mask, MaskError> {
    const KIND: &str = "equispaced_lines";
    check_lines(KIND, width, count)?;
    let columns: Vec<usize> = (0..count)
        .map(|j| (width / 2 + j * width / count) % width)
        .collect();
    Ok(Mask::from_columns(width, &columns)?.with_kind(KIND))
}

/// Draws `count` distinct columns of `width` uniformly at random: the first `count` entries
/// of numpy's `RandomState(seed).permutation(width)`.
///
/// # Errors
///
/// [`MaskError::ZeroWidth`], [`MaskError::ZeroSamples`], [`MaskError::TooManySamples`] or
/// [`MaskError::EmptySeed`].
pub fn random_lines(width: usize, count: usize, seed: &Seed) -> Result<Mask, MaskError> {
    const KIND: &str = "random_lines";
    check_lines(KIND, width, count)?;
    let mut rng = RandomState::from_seed(seed)?;
    let columns = &rng.permutation(width)[..count];
    Ok(Mask::from_columns(width, columns)?.with_kind(KIND))
}

/// Selects the `count` contiguous columns around the DC that fastMRI's centre band uses:
/// columns from `(W - M + 1) / 2` on. When `M` and `W` have different parity and the band
/// cannot be symmetric, fastMRI's rule puts the extra column after the DC for odd `W` and
/// before it for even `W`.
///
/// # Errors
///
/// [`MaskError::ZeroWidth`], [`MaskError::ZeroSamples`] or [`MaskError::TooManySamples`].
pub fn center_lines(width: usize, count: usize) -> Result<Mask, MaskError> {
    const KIND: &str = "center_lines";
    check_lines(KIND, width, count)?;
    let start = (width - count).div_ceil(2);
    let columns: Vec<usize> = (start..start + count).collect();
    Ok(Mask::from_columns(width, &columns)?.with_kind(KIND))
}

fn check_grid(
    kind: &'static str,
    height: usize,
    width: usize,
    count: usize,
) -> Result<(), MaskError> {
    if height == 0 || width == 0 {
        return Err(MaskError::EmptyGrid { height, width });
    }
    check_count(kind, count, height * width)
}

fn check_lines(kind: &'static str, width: usize, count: usize) -> Result<(), MaskError> {
    if width == 0 {
        return Err(MaskError::ZeroWidth);
    }
    check_count(kind, count, width)
}

fn check_count(kind: &'static str, count: usize, available: usize) -> Result<(), MaskError> {
    if count == 0 {
        return Err(MaskError::ZeroSamples { kind });
    }
    if count > available {
        return Err(MaskError::TooManySamples {
            kind,
            requested: count,
            available,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn baseline_kind_names_round_trip() {
        for kind in BaselineKind::ALL {
            assert_eq!(kind.name().parse::<BaselineKind>().unwrap(), kind);
        }
        assert!("lattice".parse::<BaselineKind>().is_err());
    }

    #[test]
    fn check_count_bounds() {
        assert!(check_count("x", 1, 1).is_ok());
        assert!(matches!(
            check_count("x", 0, 4),
            Err(MaskError::ZeroSamples { .. })
        ));
        assert!(matches!(
            check_count("x", 5, 4),
            Err(MaskError::TooManySamples {
                requested: 5,
                available: 4,
                ..
            })
        ));
    }
}
