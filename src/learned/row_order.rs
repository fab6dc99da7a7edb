//! Seeded permutation of the DPS-top1 rows.
//!
//! The generator is SplitMix64 (Steele, Lea and Flood, 2014) with a Fisher-Yates shuffle, so the
//! order depends only on the seed and not on libtorch's generator state.

/// Returns a permutation of `0..rows` determined by `seed`.
pub(crate) fn shuffled_rows(rows: usize, seed: u64) -> Vec<i64> {
    let mut state = seed;
    let mut order: Vec<i64> = (0..rows as i64).collect();
    for last in (1..rows).rev() {
        let pick = (splitmix64(&mut state) % (last as u64 + 1)) as usize;
        order.swap(last, pick);
    }
    order
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_reference_values() {
        // First outputs for seed 0 of the reference C implementation by Vigna (prng.di.unimi.it).
        let mut state = 0;
        assert_eq!(splitmix64(&mut state), 0xE220_A839_7B1D_CDAF);
        assert_eq!(splitmix64(&mut state), 0x6E78_9E6A_A1B9_65F4);
    }

    #[test]
    fn order_is_permutation_and_seeded() {
        let order = shuffled_rows(50, 7);
        let mut sorted = order.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..50).collect::<Vec<i64>>());
        assert_eq!(order, shuffled_rows(50, 7));
        assert_ne!(order, shuffled_rows(50, 8));
        assert_ne!(order, sorted);
    }
}
