//! 1-D transforms of length `p m` for an odd prime `p` that rustfft handles with a scalar
//! butterfly.
//!
//! rustfft 6.4's AVX planner uses scalar butterflies for the primes 13, 17, 19, 23, 29 and 31
//! (`construct_butterfly` in its `avx_planner.rs`) and AVX code for its other butterflies and
//! mixed-radix steps. fastMRI widths contain 23 (knee 368 = 23 x 16, brain 322 = 23 x 14 and
//! 276 = 23 x 12). In a perf profile of `fft2c` at 15x640x368 on one thread of an AMD EPYC,
//! the scalar 23-point butterfly took 43 % of the time. This module splits the length with one
//! Cooley-Tukey step, `n = m n1 + n2` and `k = k1 + p k2`:
//!
//! 1. `p`-point DFTs down the columns of the `p x m` matrix `x[m n1 + n2]`, with AVX2 lanes
//!    running over neighbouring columns `n2` (no transposes needed);
//! 2. twiddles `w_N^(n2 k1)`;
//! 3. rustfft's `m`-point transform of each row `k1`;
//! 4. a transpose to the output order `k1 + p k2`.

use std::sync::Arc;

use rustfft::{Direction, Fft, FftDirection, FftPlanner, Length};

use crate::Complex32;

/// Primes that rustfft 6.4's AVX planner computes with scalar butterflies.
const SCALAR_PRIMES: [usize; 6] = [31, 29, 23, 19, 17, 13];

/// Largest supported prime, so that column buffers can live on the stack.
const MAX_PRIME: usize = 31;

/// Outputs accumulated together. Each output pair is a chain of dependent FMAs, so several
/// chains must run at once to hide the FMA latency.
const OUTPUT_BLOCK: usize = 4;

/// A length-`p m` transform with the `p`-point stage vectorised across columns.
pub(crate) struct PrimeSplitFft {
    prime: usize,
    columns: usize,
    direction: FftDirection,
    /// Number of output pairs `(k, p - k)` rounded up to a multiple of [`OUTPUT_BLOCK`].
    padded_half: usize,
    /// `cos(2 pi j k / p)` at `[(j - 1) * padded_half + (k - 1)]` for `j, k` in `1..=half`,
    /// and zero for the padding `k > half`.
    cosines: Vec<f32>,
    /// `sign * sin(2 pi j k / p)`, same layout, with `sign = -1` forward and `+1` inverse.
    sines: Vec<f32>,
    /// `w_N^(n2 k1)` at `[k1 * columns + n2]`.
    twiddles: Vec<Complex32>,
    inner: Arc<dyn Fft<f32>>,
}

impl PrimeSplitFft {
    /// Returns the split transform for `len` if it has a factor `p` from [`SCALAR_PRIMES`] with
    /// `len / p` a multiple of four and the CPU has AVX2 and FMA, and `None` otherwise.
    ///
    /// A column count that is not a multiple of four would leave columns for scalar code: for
    /// 322 = 23 x 14 that made the split slower than rustfft's own plan, so such lengths are
    /// left to rustfft.
    pub(crate) fn try_new(
        len: usize,
        direction: FftDirection,
        planner: &mut FftPlanner<f32>,
    ) -> Option<Self> {
        if !simd::is_supported() {
            return None;
        }
        let prime = *SCALAR_PRIMES
            .iter()
            .find(|&&p| len % p == 0 && (len / p) % simd::LANES == 0)?;
        let columns = len / prime;
        Some(Self::with_inner(
            prime,
            columns,
            direction,
            planner.plan_fft(columns, direction),
        ))
    }

    fn with_inner(
        prime: usize,
        columns: usize,
        direction: FftDirection,
        inner: Arc<dyn Fft<f32>>,
    ) -> Self {
        let half = (prime - 1) / 2;
        let sign = match direction {
            FftDirection::Forward => -1.0,
            FftDirection::Inverse => 1.0,
        };
        let padded_half = half.div_ceil(OUTPUT_BLOCK) * OUTPUT_BLOCK;
        let mut cosines = vec![0.0; half * padded_half];
        let mut sines = vec![0.0; half * padded_half];
        for j in 1..=half {
            for k in 1..=half {
                let angle = 2.0 * std::f64::consts::PI * ((j * k) % prime) as f64 / prime as f64;
                cosines[(j - 1) * padded_half + k - 1] = angle.cos() as f32;
                sines[(j - 1) * padded_half + k - 1] = (sign * angle.sin()) as f32;
            }
        }
        let len = prime * columns;
        let twiddles = (0..prime)
            .flat_map(|k1| (0..columns).map(move |n2| (k1, n2)))
            .map(|(k1, n2)| {
                let angle = sign * 2.0 * std::f64::consts::PI * ((k1 * n2) % len) as f64;
                let angle = angle / len as f64;
                Complex32::new(angle.cos() as f32, angle.sin() as f32)
            })
            .collect();
        Self {
            prime,
            columns,
            direction,
            padded_half,
            cosines,
            sines,
            twiddles,
            inner,
        }
    }

    /// Runs steps 1 to 3 on one chunk of `len` samples, from `input` into `work`. `scratch`
    /// is the inner transform's in-place scratch.
    fn transform_into_work(
        &self,
        input: &[Complex32],
        work: &mut [Complex32],
        scratch: &mut [Complex32],
    ) {
        // SAFETY: `try_new` only builds this type when the CPU has AVX2 and FMA, and with a
        // column count that is a multiple of the vector width.
        unsafe { simd::column_dfts(self, input, work, self.columns) };
        self.inner.process_with_scratch(work, scratch);
    }

    /// Step 4: writes `work[k1 * m + k2]` to `output[k1 + p * k2]`.
    fn transpose_from_work(&self, work: &[Complex32], output: &mut [Complex32]) {
        for (k2, group) in output.chunks_exact_mut(self.prime).enumerate() {
            for (k1, value) in group.iter_mut().enumerate() {
                *value = work[k1 * self.columns + k2];
            }
        }
    }

    fn scratch_len(&self) -> usize {
        self.len() + self.inner.get_inplace_scratch_len()
    }
}

/// Steps 1 and 2 for the columns in `range` with plain complex arithmetic, the reference for
/// the SIMD kernel.
#[cfg(test)]
fn column_dfts_scalar(
    fft: &PrimeSplitFft,
    input: &[Complex32],
    work: &mut [Complex32],
    range: std::ops::Range<usize>,
) {
    let (p, m) = (fft.prime, fft.columns);
    let half = (p - 1) / 2;
    let mut sums = [Complex32::new(0.0, 0.0); MAX_PRIME];
    let mut differences = [Complex32::new(0.0, 0.0); MAX_PRIME];
    for n2 in range {
        let x0 = input[n2];
        let mut dc = x0;
        for j in 1..=half {
            let (a, b) = (input[j * m + n2], input[(p - j) * m + n2]);
            sums[j] = a + b;
            differences[j] = a - b;
            dc += sums[j];
        }
        work[n2] = dc;
        for k in 1..=half {
            let mut real_part = x0;
            let mut imaginary_part = Complex32::new(0.0, 0.0);
            for j in 1..=half {
                let index = (j - 1) * fft.padded_half + k - 1;
                real_part += sums[j] * fft.cosines[index];
                imaginary_part += differences[j] * fft.sines[index];
            }
            let rotated = Complex32::new(-imaginary_part.im, imaginary_part.re);
            work[k * m + n2] = (real_part + rotated) * fft.twiddles[k * m + n2];
            work[(p - k) * m + n2] = (real_part - rotated) * fft.twiddles[(p - k) * m + n2];
        }
    }
}

impl Length for PrimeSplitFft {
    fn len(&self) -> usize {
        self.prime * self.columns
    }
}

impl Direction for PrimeSplitFft {
    fn fft_direction(&self) -> FftDirection {
        self.direction
    }
}

impl Fft<f32> for PrimeSplitFft {
    fn process_with_scratch(&self, buffer: &mut [Complex32], scratch: &mut [Complex32]) {
        let len = self.len();
        check_buffers(
            len,
            buffer.len(),
            buffer.len(),
            scratch.len(),
            self.scratch_len(),
        );
        let (work, inner_scratch) = scratch.split_at_mut(len);
        for chunk in buffer.chunks_exact_mut(len) {
            self.transform_into_work(chunk, work, inner_scratch);
            self.transpose_from_work(work, chunk);
        }
    }

    fn process_outofplace_with_scratch(
        &self,
        input: &mut [Complex32],
        output: &mut [Complex32],
        scratch: &mut [Complex32],
    ) {
        self.process_immutable_with_scratch(input, output, scratch);
    }

    fn process_immutable_with_scratch(
        &self,
        input: &[Complex32],
        output: &mut [Complex32],
        scratch: &mut [Complex32],
    ) {
        let len = self.len();
        check_buffers(
            len,
            input.len(),
            output.len(),
            scratch.len(),
            self.scratch_len(),
        );
        let (work, inner_scratch) = scratch.split_at_mut(len);
        for (source, destination) in input.chunks_exact(len).zip(output.chunks_exact_mut(len)) {
            self.transform_into_work(source, work, inner_scratch);
            self.transpose_from_work(work, destination);
        }
    }

    fn get_inplace_scratch_len(&self) -> usize {
        self.scratch_len()
    }

    fn get_outofplace_scratch_len(&self) -> usize {
        self.scratch_len()
    }

    fn get_immutable_scratch_len(&self) -> usize {
        self.scratch_len()
    }
}

/// Panics like rustfft does when buffer or scratch lengths do not fit the transform.
fn check_buffers(len: usize, input: usize, output: usize, scratch: usize, needed: usize) {
    assert!(
        input % len == 0 && input == output,
        "FFT buffers of {input} and {output} samples do not fit a transform of length {len}"
    );
    assert!(
        scratch >= needed,
        "FFT scratch of {scratch} samples is smaller than the {needed} required"
    );
}

#[cfg(target_arch = "x86_64")]
mod simd {
    //! AVX2 + FMA kernel of steps 1 and 2. A `__m256` contains four interleaved complex samples
    //! of neighbouring columns.

    use std::arch::x86_64::*;

    use super::{PrimeSplitFft, MAX_PRIME, OUTPUT_BLOCK};
    use crate::Complex32;

    /// Complex samples per vector.
    pub(super) const LANES: usize = 4;

    pub(super) fn is_supported() -> bool {
        is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
    }

    /// Computes steps 1 and 2 for columns `0..vector_columns` (a multiple of [`LANES`]).
    ///
    /// # Safety
    ///
    /// The CPU must support AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn column_dfts(
        fft: &PrimeSplitFft,
        input: &[Complex32],
        work: &mut [Complex32],
        vector_columns: usize,
    ) {
        let (p, m) = (fft.prime, fft.columns);
        let half = (p - 1) / 2;
        assert!(p <= MAX_PRIME);
        assert!(vector_columns % LANES == 0);
        assert!(vector_columns <= m);
        assert!(input.len() >= p * m);
        assert!(work.len() >= p * m);
        assert_eq!(fft.twiddles.len(), p * m);
        let negate = _mm256_set1_ps(-0.0);
        let mut sums = [_mm256_setzero_ps(); MAX_PRIME];
        let mut differences = [_mm256_setzero_ps(); MAX_PRIME];

        for n2 in (0..vector_columns).step_by(LANES) {
            // Every offset below is `row * m + n2` with `row < p` and `n2 + LANES <= m`, so each
            // four-sample load or store stays inside the `p * m` samples asserted above.
            let x0 = load(input, n2);
            let mut dc = x0;
            for j in 1..=half {
                let (a, b) = (load(input, j * m + n2), load(input, (p - j) * m + n2));
                sums[j] = _mm256_add_ps(a, b);
                differences[j] = _mm256_sub_ps(a, b);
                dc = _mm256_add_ps(dc, sums[j]);
            }
            store(work, n2, dc);

            for first in (1..=half).step_by(OUTPUT_BLOCK) {
                let mut real_parts = [x0; OUTPUT_BLOCK];
                let mut imaginary_parts = [_mm256_setzero_ps(); OUTPUT_BLOCK];
                for j in 1..=half {
                    let row = (j - 1) * fft.padded_half + first - 1;
                    let cosines = &fft.cosines[row..row + OUTPUT_BLOCK];
                    let sines = &fft.sines[row..row + OUTPUT_BLOCK];
                    for t in 0..OUTPUT_BLOCK {
                        let cosine = _mm256_set1_ps(cosines[t]);
                        let sine = _mm256_set1_ps(sines[t]);
                        real_parts[t] = _mm256_fmadd_ps(sums[j], cosine, real_parts[t]);
                        imaginary_parts[t] =
                            _mm256_fmadd_ps(differences[j], sine, imaginary_parts[t]);
                    }
                }
                // Padding outputs `k > half` were accumulated with zero weights and are dropped.
                for t in 0..OUTPUT_BLOCK.min(half + 1 - first) {
                    let k = first + t;
                    // i * B as (re, im) -> (-im, re): swap the pair, then addsub subtracts in
                    // the real lanes and adds in the imaginary ones.
                    let swapped = _mm256_permute_ps::<0b1011_0001>(imaginary_parts[t]);
                    let plus = _mm256_addsub_ps(real_parts[t], swapped);
                    let minus = _mm256_addsub_ps(real_parts[t], _mm256_xor_ps(swapped, negate));
                    let (lower, upper) = (k * m + n2, (p - k) * m + n2);
                    let plus = complex_multiply(plus, load(&fft.twiddles, lower));
                    let minus = complex_multiply(minus, load(&fft.twiddles, upper));
                    store(work, lower, plus);
                    store(work, upper, minus);
                }
            }
        }
    }

    /// Loads samples `offset..offset + LANES`.
    ///
    /// # Safety
    ///
    /// AVX must be available and `offset + LANES <= data.len()`.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn load(data: &[Complex32], offset: usize) -> __m256 {
        debug_assert!(offset + LANES <= data.len());
        _mm256_loadu_ps(data.as_ptr().add(offset).cast())
    }

    /// Stores `value` into samples `offset..offset + LANES`.
    ///
    /// # Safety
    ///
    /// AVX must be available and `offset + LANES <= data.len()`.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn store(data: &mut [Complex32], offset: usize, value: __m256) {
        debug_assert!(offset + LANES <= data.len());
        _mm256_storeu_ps(data.as_mut_ptr().add(offset).cast(), value);
    }

    /// Returns the lane-wise product of interleaved complex vectors.
    ///
    /// # Safety
    ///
    /// The CPU must support AVX2 and FMA.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn complex_multiply(z: __m256, t: __m256) -> __m256 {
        let t_real = _mm256_moveldup_ps(t);
        let t_imaginary = _mm256_movehdup_ps(t);
        let z_swapped = _mm256_permute_ps::<0b1011_0001>(z);
        _mm256_fmaddsub_ps(z, t_real, _mm256_mul_ps(z_swapped, t_imaginary))
    }
}

#[cfg(not(target_arch = "x86_64"))]
mod simd {
    //! Stand-in where no SIMD kernel exists, so that `try_new` declines every length.

    use super::PrimeSplitFft;
    use crate::Complex32;

    pub(super) const LANES: usize = 4;

    pub(super) fn is_supported() -> bool {
        false
    }

    pub(super) unsafe fn column_dfts(
        _: &PrimeSplitFft,
        _: &[Complex32],
        _: &mut [Complex32],
        _: usize,
    ) {
        unreachable!("PrimeSplitFft is never built without a SIMD kernel")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signal(len: usize, seed: usize) -> Vec<Complex32> {
        (0..len)
            .map(|i| {
                let t = (i * 7919 + seed * 104_729) as f32;
                Complex32::new((t * 0.013).sin(), (t * 0.029).cos())
            })
            .collect()
    }

    fn relative_error(a: &[Complex32], b: &[Complex32]) -> f32 {
        let difference: f32 = a.iter().zip(b).map(|(x, y)| (x - y).norm_sqr()).sum();
        let reference: f32 = b.iter().map(|y| y.norm_sqr()).sum();
        (difference / reference).sqrt()
    }

    /// Lengths of every supported prime.
    const LENGTHS: [usize; 9] = [92, 276, 368, 104, 68, 152, 116, 372, 23 * 13 * 4];

    #[test]
    fn matches_rustfft_in_place() {
        if !simd::is_supported() {
            return;
        }
        let mut planner = FftPlanner::new();
        for len in LENGTHS {
            for direction in [FftDirection::Forward, FftDirection::Inverse] {
                let split = PrimeSplitFft::try_new(len, direction, &mut planner)
                    .unwrap_or_else(|| panic!("length {len} has a scalar prime factor"));
                let reference = planner.plan_fft(len, direction);
                // Three chunks check that batches are split correctly.
                let x = signal(3 * len, len);
                let mut expected = x.clone();
                reference.process(&mut expected);
                let mut actual = x.clone();
                split.process(&mut actual);
                let error = relative_error(&actual, &expected);
                assert!(
                    error < 1e-6,
                    "length {len} {direction}: relative error {error}"
                );
            }
        }
    }

    #[test]
    fn out_of_place_matches_in_place() {
        if !simd::is_supported() {
            return;
        }
        let mut planner = FftPlanner::new();
        let split = PrimeSplitFft::try_new(276, FftDirection::Forward, &mut planner).unwrap();
        let x = signal(552, 1);
        let mut in_place = x.clone();
        split.process(&mut in_place);
        let mut scratch = vec![Complex32::new(0.0, 0.0); split.get_immutable_scratch_len()];
        let mut immutable = vec![Complex32::new(0.0, 0.0); 552];
        split.process_immutable_with_scratch(&x, &mut immutable, &mut scratch);
        assert_eq!(immutable, in_place);
        let mut input = x.clone();
        let mut out_of_place = vec![Complex32::new(0.0, 0.0); 552];
        split.process_outofplace_with_scratch(&mut input, &mut out_of_place, &mut scratch);
        assert_eq!(out_of_place, in_place);
    }

    #[test]
    fn simd_columns_match_scalar() {
        if !simd::is_supported() {
            return;
        }
        let mut planner = FftPlanner::new();
        let split = PrimeSplitFft::try_new(368, FftDirection::Inverse, &mut planner).unwrap();
        let x = signal(368, 2);
        let mut by_simd = vec![Complex32::new(0.0, 0.0); 368];
        let mut by_scalar = by_simd.clone();
        // SAFETY: checked above that the CPU has AVX2 and FMA.
        unsafe { simd::column_dfts(&split, &x, &mut by_simd, 16) };
        column_dfts_scalar(&split, &x, &mut by_scalar, 0..16);
        assert!(relative_error(&by_simd, &by_scalar) < 1e-6);
    }

    #[test]
    fn other_lengths_are_declined() {
        let mut planner = FftPlanner::new();
        for len in [320, 640, 396, 392, 322, 23, 46, 115, 37 * 8] {
            let split = PrimeSplitFft::try_new(len, FftDirection::Forward, &mut planner);
            assert!(split.is_none(), "length {len}");
        }
    }
}
