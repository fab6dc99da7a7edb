//! SplitMix64, the generator behind every data permutation.
//!
//! SplitMix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number generators",
//! OOPSLA 2014) adds the golden-ratio increment `0x9E3779B97F4A7C15` to a 64-bit state and
//! returns a bit-mixed copy of it. It is written here, not taken from the `rand` crates, so that
//! a seed selects the same split and the same epoch order on every platform and with every
//! dependency version.

/// Increment of the SplitMix64 state, the odd integer nearest 2^64 / golden ratio.
const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// The SplitMix64 pseudorandom generator.
///
/// # Examples
///
/// ```
/// use dps::data::SplitMix64;
///
/// let mut rng = SplitMix64::new(0);
/// assert_eq!(rng.next_u64(), 0xE220_A839_7B1D_CDAF);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// Creates a generator whose first output is the mixed value of `seed + GOLDEN_GAMMA`.
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// Creates the generator of one named stream of a seed.
    ///
    /// Streams of one seed are used for unrelated purposes (the validation/test split, the
    /// training subset, each epoch), so they must not overlap. Seeding with `seed + stream`
    /// would not do: SplitMix64 states one increment apart give the same sequence shifted by
    /// one output. Mixing the stream number first gives unrelated starting states.
    pub fn for_stream(seed: u64, stream: u64) -> Self {
        let stream_key = mix64(stream.wrapping_add(GOLDEN_GAMMA));
        Self::new(mix64(seed ^ stream_key))
    }

    /// Advances the state and returns the next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN_GAMMA);
        mix64(self.state)
    }

    /// Returns a uniform integer in `0..bound`.
    ///
    /// Lemire's multiply-and-shift method with rejection ("Fast random integer generation in an
    /// interval", 2019), so every value has exactly the same probability.
    ///
    /// # Panics
    ///
    /// Panics if `bound` is 0.
    pub fn below(&mut self, bound: u64) -> u64 {
        assert!(bound > 0, "SplitMix64::below needs a positive bound");
        let mut product = u128::from(self.next_u64()) * u128::from(bound);
        if (product as u64) < bound {
            // Outputs whose low half falls below 2^64 mod bound would make some values more
            // likely than others; they are drawn again.
            let threshold = bound.wrapping_neg() % bound;
            while (product as u64) < threshold {
                product = u128::from(self.next_u64()) * u128::from(bound);
            }
        }
        (product >> 64) as u64
    }

    /// Shuffles `values` in place with the Fisher-Yates algorithm.
    pub fn shuffle<T>(&mut self, values: &mut [T]) {
        for i in (1..values.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            values.swap(i, j);
        }
    }

    /// Returns a uniformly random permutation of `0..n`.
    pub fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut indices: Vec<usize> = (0..n).collect();
        self.shuffle(&mut indices);
        indices
    }
}

/// The SplitMix64 output function: a bijective mix of all 64 bits.
fn mix64(value: u64) -> u64 {
    let mut z = value;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_zero_matches_published_outputs() {
        // The first outputs of SplitMix64 with state 0 as published with the reference C code
        // (Vigna, splitmix64.c); xoshiro256** seeding code quotes the same four words.
        let mut rng = SplitMix64::new(0);
        let expected = [
            0xE220_A839_7B1D_CDAF,
            0x6E78_9E6A_A1B9_65F4,
            0x06C4_5D18_8009_454F,
            0xF88B_B8A8_724C_81EC,
        ];
        for (i, &word) in expected.iter().enumerate() {
            assert_eq!(rng.next_u64(), word, "output {i}");
        }
    }

    #[test]
    fn below_stays_in_range() {
        let mut rng = SplitMix64::new(7);
        for bound in [1_u64, 2, 3, 10, 784, 60_000, u64::MAX] {
            for _ in 0..1000 {
                assert!(rng.below(bound) < bound, "bound {bound}");
            }
        }
    }

    #[test]
    fn below_is_roughly_uniform() {
        let mut rng = SplitMix64::new(11);
        let mut counts = [0_u32; 10];
        let draws = 100_000;
        for _ in 0..draws {
            counts[rng.below(10) as usize] += 1;
        }
        // Each count is binomial(100000, 0.1): standard deviation about 95, so 600 is over
        // six standard deviations.
        for (value, &count) in counts.iter().enumerate() {
            assert!(
                count.abs_diff(draws / 10) < 600,
                "value {value} drawn {count} times"
            );
        }
    }

    #[test]
    fn permutation_contains_every_index_once() {
        let mut rng = SplitMix64::new(3);
        let mut permutation = rng.permutation(1000);
        assert_ne!(permutation, (0..1000).collect::<Vec<_>>());
        permutation.sort_unstable();
        assert_eq!(permutation, (0..1000).collect::<Vec<_>>());
    }

    #[test]
    fn streams_of_one_seed_differ() {
        let first: Vec<u64> = {
            let mut rng = SplitMix64::for_stream(5, 0);
            (0..4).map(|_| rng.next_u64()).collect()
        };
        let second: Vec<u64> = {
            let mut rng = SplitMix64::for_stream(5, 1);
            (0..4).map(|_| rng.next_u64()).collect()
        };
        assert_ne!(first, second);
        assert_eq!(SplitMix64::for_stream(5, 1), SplitMix64::for_stream(5, 1));
    }

    #[test]
    #[should_panic(expected = "positive bound")]
    fn below_zero_panics() {
        SplitMix64::new(0).below(0);
    }
}
