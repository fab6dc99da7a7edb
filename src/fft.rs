//! Centred orthonormal 2-D FFT.
