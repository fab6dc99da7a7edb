//! numpy's legacy `RandomState` (MT19937), reproduced draw for draw.
//!
//! fastMRI seeds every mask with `np.random.RandomState` and the tuple of character codes of
//! the volume's file name. Reproducing its masks needs the same generator and seeding, and the
//! same conversion of 32-bit words into doubles and bounded integers. The facts below
//! are those of numpy's `RandomState` (unchanged from numpy 1.17 to 2.x):
//!
//! - An integer seed runs MT19937's `init_genrand`, an array seed runs `init_by_array`.
//! - `random_sample()` (and `uniform()` on [0, 1)) is `((a >> 5) * 2^26 + (b >> 6)) / 2^53` from
//!   two consecutive 32-bit words `a`, `b`.
//! - `randint(low, high)` draws `x` from `[0, high - low - 1]` by masking words with the
//!   smallest all-ones mask that covers the range and rejecting values above it. Ranges that
//!   fit in 32 bits use one 32-bit word per try, wider ranges a 64-bit word made of two 32-bit
//!   words (first word high). A range of one value draws nothing.
//! - `permutation(n)` is a Fisher-Yates shuffle of `0..n` from the last index down, each swap
//!   partner drawn from `[0, i]` with the same masked rejection.

use std::hash::{BuildHasher, Hasher};
use std::time::{SystemTime, UNIX_EPOCH};

use super::MaskError;

/// Number of 32-bit words in the MT19937 state.
const STATE_LEN: usize = 624;
const SHIFT_LEN: usize = 397;
const MATRIX_A: u32 = 0x9908_b0df;
const UPPER_MASK: u32 = 0x8000_0000;
const LOWER_MASK: u32 = 0x7fff_ffff;

/// Seed of a [`RandomState`], as numpy's `RandomState(seed)` accepts it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Seed {
    /// Fresh, unpredictable state (numpy's `seed=None`). Masks differ on every call.
    Entropy,
    /// An integer seed in `[0, 2^32)`, seeded through MT19937's `init_genrand`.
    Int(u32),
    /// A sequence of 32-bit integers, seeded through MT19937's `init_by_array`. It must not be
    /// empty.
    Array(Vec<u32>),
}

impl Seed {
    /// Builds fastMRI's per-volume seed: the tuple of the Unicode code points of the file name.
    ///
    /// fastMRI passes the name without its folder (`file1000001.h5`), so that a volume gets the
    /// same mask wherever the data set lives. Pass the base name here too.
    pub fn from_file_name(name: &str) -> Self {
        Seed::Array(name.chars().map(u32::from).collect())
    }
}

impl From<u32> for Seed {
    fn from(value: u32) -> Self {
        Seed::Int(value)
    }
}

/// MT19937 generator with numpy's legacy `RandomState` seeding and output conversions.
#[derive(Clone)]
pub struct RandomState {
    key: [u32; STATE_LEN],
    pos: usize,
}

impl std::fmt::Debug for RandomState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RandomState")
            .field("pos", &self.pos)
            .finish_non_exhaustive()
    }
}

impl RandomState {
    /// Creates a generator as `np.random.RandomState(seed)` does.
    ///
    /// # Errors
    ///
    /// [`MaskError::EmptySeed`] for `Seed::Array` with no element, which numpy rejects too.
    pub fn from_seed(seed: &Seed) -> Result<Self, MaskError> {
        match seed {
            Seed::Entropy => Ok(Self::from_array(&entropy_words())),
            Seed::Int(value) => Ok(Self::from_int(*value)),
            Seed::Array(words) if words.is_empty() => Err(MaskError::EmptySeed),
            Seed::Array(words) => Ok(Self::from_array(words)),
        }
    }

    /// Seeds with one integer through MT19937's `init_genrand`.
    pub fn from_int(seed: u32) -> Self {
        let mut key = [0u32; STATE_LEN];
        key[0] = seed;
        for i in 1..STATE_LEN {
            let previous = key[i - 1];
            key[i] = 1_812_433_253u32
                .wrapping_mul(previous ^ (previous >> 30))
                .wrapping_add(i as u32);
        }
        Self {
            key,
            pos: STATE_LEN,
        }
    }

    /// Seeds with a sequence of integers through MT19937's `init_by_array`.
    ///
    /// # Panics
    ///
    /// If `words` is empty. [`RandomState::from_seed`] returns an error for that case instead.
    pub fn from_array(words: &[u32]) -> Self {
        assert!(!words.is_empty(), "init_by_array needs at least one word");
        let mut state = Self::from_int(19_650_218);
        let key = &mut state.key;
        let mut i = 1;
        let mut j = 0;

        for _ in 0..STATE_LEN.max(words.len()) {
            let previous = key[i - 1];
            key[i] = (key[i] ^ (previous ^ (previous >> 30)).wrapping_mul(1_664_525))
                .wrapping_add(words[j])
                .wrapping_add(j as u32);
            i += 1;
            j += 1;
            if i >= STATE_LEN {
                key[0] = key[STATE_LEN - 1];
                i = 1;
            }
            if j >= words.len() {
                j = 0;
            }
        }

        for _ in 0..STATE_LEN - 1 {
            let previous = key[i - 1];
            key[i] = (key[i] ^ (previous ^ (previous >> 30)).wrapping_mul(1_566_083_941))
                .wrapping_sub(i as u32);
            i += 1;
            if i >= STATE_LEN {
                key[0] = key[STATE_LEN - 1];
                i = 1;
            }
        }

        // The most significant bit set guarantees a non-zero state, as in the reference code.
        key[0] = 0x8000_0000;
        state
    }

    /// Returns the next tempered 32-bit word (numpy's `random_raw` for MT19937).
    pub fn next_u32(&mut self) -> u32 {
        if self.pos >= STATE_LEN {
            self.regenerate();
        }
        let mut y = self.key[self.pos];
        self.pos += 1;

        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// Returns a 64-bit word made of two 32-bit words, the first in the high half.
    pub fn next_u64(&mut self) -> u64 {
        let high = u64::from(self.next_u32());
        let low = u64::from(self.next_u32());
        (high << 32) | low
    }

    /// Draws a double in [0, 1) with 53 random bits, as `random_sample()` and `uniform()` do.
    pub fn random_sample(&mut self) -> f64 {
        let a = self.next_u32() >> 5;
        let b = self.next_u32() >> 6;
        (f64::from(a) * 67_108_864.0 + f64::from(b)) / 9_007_199_254_740_992.0
    }

    /// Draws `count` doubles in [0, 1), as `uniform(size=count)` does.
    pub fn uniform(&mut self, count: usize) -> Vec<f64> {
        (0..count).map(|_| self.random_sample()).collect()
    }

    /// Draws an integer in `[0, high)`, as `randint(high)` and `randint(0, high)` do.
    ///
    /// `randint(1)` returns 0 without consuming any word.
    ///
    /// # Panics
    ///
    /// If `high` is 0: numpy raises `ValueError` for an empty range, so callers check first.
    pub fn randint(&mut self, high: u64) -> u64 {
        assert!(high > 0, "randint needs a non-empty range [0, high)");
        self.bounded(high - 1)
    }

    /// Returns a random permutation of `0..n`, as `permutation(n)` does.
    pub fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut values: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            let j = self.bounded(i as u64) as usize;
            values.swap(i, j);
        }
        values
    }

    /// Draws from `[0, max]` by masked rejection. For `max == 0` it draws nothing.
    fn bounded(&mut self, max: u64) -> u64 {
        if max == 0 {
            return 0;
        }
        let mask = all_ones_cover(max);
        if max <= u64::from(u32::MAX) {
            let mask = mask as u32;
            loop {
                let value = u64::from(self.next_u32() & mask);
                if value <= max {
                    return value;
                }
            }
        }
        loop {
            let value = self.next_u64() & mask;
            if value <= max {
                return value;
            }
        }
    }

    fn regenerate(&mut self) {
        let key = &mut self.key;
        for i in 0..STATE_LEN {
            let y = (key[i] & UPPER_MASK) | (key[(i + 1) % STATE_LEN] & LOWER_MASK);
            let twisted = (y >> 1) ^ if y & 1 == 1 { MATRIX_A } else { 0 };
            key[i] = key[(i + SHIFT_LEN) % STATE_LEN] ^ twisted;
        }
        self.pos = 0;
    }
}

/// Returns the smallest value of the form `2^k - 1` that is at least `max`.
fn all_ones_cover(max: u64) -> u64 {
    u64::MAX >> max.leading_zeros()
}

/// Collects seed words for `Seed::Entropy` from the standard library's randomly keyed hasher
/// and the clock. Unpredictable enough for sampling masks, not for cryptography.
fn entropy_words() -> Vec<u32> {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_nanos())
        .unwrap_or_default();
    (0..8u64)
        .flat_map(|round| {
            let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
            hasher.write_u128(nanos);
            hasher.write_u64(round);
            let value = hasher.finish();
            [value as u32, (value >> 32) as u32]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniforms_match_conventions_vector() {
        // First uniforms of np.random.RandomState(tuple(map(ord, "file1000001.h5"))), numpy 2.x.
        let expected: [f64; 5] = [
            0.612301999047653,
            0.7460485727519789,
            0.1997717472660765,
            0.08586773064793174,
            0.3634546995293306,
        ];
        let seed = Seed::from_file_name("file1000001.h5");
        let mut rng = RandomState::from_seed(&seed).unwrap();
        for (i, want) in expected.iter().enumerate() {
            let got = rng.random_sample();
            assert_eq!(
                got.to_bits(),
                want.to_bits(),
                "uniform {i}: {got} != {want}"
            );
        }
    }

    #[test]
    fn int_seed_matches_reference_mt19937() {
        // Matsumoto and Nishimura's published output for init_genrand(5489): the first word
        // and the 10000th word (also quoted by the C++ standard for std::mt19937).
        let mut rng = RandomState::from_int(5489);
        assert_eq!(rng.next_u32(), 3_499_211_612);
        for _ in 1..9999 {
            rng.next_u32();
        }
        assert_eq!(rng.next_u32(), 4_123_659_995);
    }

    #[test]
    fn init_by_array_matches_reference_output() {
        // mt19937ar.c's test program seeds init_by_array({0x123, 0x234, 0x345, 0x456}) and
        // prints 1067595299 955945823 477289528 4107218783 4228976476 first.
        let mut rng = RandomState::from_array(&[0x123, 0x234, 0x345, 0x456]);
        let first: Vec<u32> = (0..5).map(|_| rng.next_u32()).collect();
        assert_eq!(
            first,
            [
                1_067_595_299,
                955_945_823,
                477_289_528,
                4_107_218_783,
                4_228_976_476
            ]
        );
    }

    #[test]
    fn randint_one_draws_nothing() {
        let mut drawn = RandomState::from_int(7);
        let mut fresh = RandomState::from_int(7);
        assert_eq!(drawn.randint(1), 0);
        assert_eq!(drawn.next_u32(), fresh.next_u32());
    }

    #[test]
    fn randint_rejects_above_range() {
        // randint(3) masks with 3, so a masked word of 3 must be rejected and redrawn.
        let mut rng = RandomState::from_int(1);
        let mut words = RandomState::from_int(1);
        let value = rng.randint(3);
        let expected = loop {
            let masked = words.next_u32() & 3;
            if masked < 3 {
                break u64::from(masked);
            }
        };
        assert_eq!(value, expected);
        assert_eq!(rng.next_u32(), words.next_u32());
    }

    #[test]
    fn all_ones_cover_values() {
        assert_eq!(all_ones_cover(1), 1);
        assert_eq!(all_ones_cover(2), 3);
        assert_eq!(all_ones_cover(3), 3);
        assert_eq!(all_ones_cover(4), 7);
        assert_eq!(all_ones_cover(u64::from(u32::MAX)), u64::from(u32::MAX));
        assert_eq!(all_ones_cover(u64::MAX), u64::MAX);
    }

    #[test]
    fn entropy_seeds_differ() {
        let mut first = RandomState::from_seed(&Seed::Entropy).unwrap();
        let mut second = RandomState::from_seed(&Seed::Entropy).unwrap();
        let a: Vec<u32> = (0..4).map(|_| first.next_u32()).collect();
        let b: Vec<u32> = (0..4).map(|_| second.next_u32()).collect();
        assert_ne!(a, b);
    }

    #[test]
    fn empty_array_seed_is_rejected() {
        let error = RandomState::from_seed(&Seed::Array(Vec::new())).unwrap_err();
        assert!(matches!(error, MaskError::EmptySeed));
    }

    #[test]
    fn permutation_contains_every_index() {
        let mut rng = RandomState::from_int(3);
        let mut values = rng.permutation(100);
        values.sort_unstable();
        assert_eq!(values, (0..100).collect::<Vec<_>>());
    }
}
