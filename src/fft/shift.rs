//! `fftshift` and `ifftshift` over chosen axes, with numpy's roll amounts.

use ndarray::{Array, ArrayBase, Axis, Data, Dimension, Slice};

/// Moves the zero-frequency sample to the centre: rolls each listed axis by `floor(n/2)`.
///
/// Matches `numpy.fft.fftshift(x, axes)`: for n = 5, `[0, 1, 2, 3, 4]` becomes
/// `[3, 4, 0, 1, 2]`. An axis listed twice is rolled twice, as numpy does.
///
/// # Panics
///
/// Panics if an entry of `axes` is not smaller than `x.ndim()`.
pub fn fftshift<T, S, D>(x: &ArrayBase<S, D>, axes: &[usize]) -> Array<T, D>
where
    T: Clone,
    S: Data<Elem = T>,
    D: Dimension,
{
    roll_axes(x, axes, |n| n / 2)
}

/// Undoes [`fftshift`]: rolls each listed axis by `floor((n+1)/2)`.
///
/// Matches `numpy.fft.ifftshift(x, axes)`: for n = 5, `[0, 1, 2, 3, 4]` becomes
/// `[2, 3, 4, 0, 1]`. For even n it equals `fftshift`.
///
/// # Panics
///
/// Panics if an entry of `axes` is not smaller than `x.ndim()`.
pub fn ifftshift<T, S, D>(x: &ArrayBase<S, D>, axes: &[usize]) -> Array<T, D>
where
    T: Clone,
    S: Data<Elem = T>,
    D: Dimension,
{
    roll_axes(x, axes, |n| n.div_ceil(2))
}

/// Rolls every listed axis forward by `amount(n)`: `out[i] = x[(i - amount) mod n]`.
fn roll_axes<T, S, D>(
    x: &ArrayBase<S, D>,
    axes: &[usize],
    amount: impl Fn(usize) -> usize,
) -> Array<T, D>
where
    T: Clone,
    S: Data<Elem = T>,
    D: Dimension,
{
    let mut shifts = vec![0; x.ndim()];
    for &axis in axes {
        assert!(
            axis < x.ndim(),
            "shift axis {axis} is out of range for an array of rank {}",
            x.ndim()
        );
        let n = x.len_of(Axis(axis));
        if n > 0 {
            shifts[axis] = (shifts[axis] + amount(n)) % n;
        }
    }
    let rolled: Vec<(usize, usize)> = shifts
        .iter()
        .enumerate()
        .filter(|&(_, &shift)| shift > 0)
        .map(|(axis, &shift)| (axis, shift))
        .collect();

    // Each rolled axis splits into two blocks that swap places, so the output is 2^m block
    // copies for m rolled axes.
    let mut out = x.to_owned();
    for combination in 0..(1usize << rolled.len()) {
        let mut src = x.view();
        let mut dst = out.view_mut();
        for (bit, &(axis, shift)) in rolled.iter().enumerate() {
            let n = x.len_of(Axis(axis));
            let (from, to) = if combination >> bit & 1 == 0 {
                (Slice::from(0..n - shift), Slice::from(shift..n))
            } else {
                (Slice::from(n - shift..n), Slice::from(0..shift))
            };
            src.slice_axis_inplace(Axis(axis), from);
            dst.slice_axis_inplace(Axis(axis), to);
        }
        dst.assign(&src);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{arr1, Array2};

    #[test]
    fn fftshift_odd_length() {
        let x = arr1(&[0, 1, 2, 3, 4]);
        assert_eq!(fftshift(&x, &[0]), arr1(&[3, 4, 0, 1, 2]));
    }

    #[test]
    fn ifftshift_odd_length() {
        let x = arr1(&[0, 1, 2, 3, 4]);
        assert_eq!(ifftshift(&x, &[0]), arr1(&[2, 3, 4, 0, 1]));
    }

    #[test]
    fn shifts_agree_for_even_length() {
        let x = arr1(&[0, 1, 2, 3, 4, 5]);
        assert_eq!(fftshift(&x, &[0]), arr1(&[3, 4, 5, 0, 1, 2]));
        assert_eq!(ifftshift(&x, &[0]), fftshift(&x, &[0]));
    }

    #[test]
    fn fftshift_two_axes() {
        let x = Array2::from_shape_fn((3, 4), |(i, j)| 10 * i + j);
        let expected = Array2::from_shape_fn((3, 4), |(i, j)| 10 * ((i + 2) % 3) + (j + 2) % 4);
        assert_eq!(fftshift(&x, &[0, 1]), expected);
    }

    #[test]
    fn fftshift_repeated_axis_rolls_twice() {
        let x = arr1(&[0, 1, 2, 3, 4]);
        assert_eq!(fftshift(&x, &[0, 0]), arr1(&[1, 2, 3, 4, 0]));
    }

    #[test]
    fn fftshift_leaves_other_axes() {
        let x = Array2::from_shape_fn((2, 3), |(i, j)| 10 * i + j);
        let expected = Array2::from_shape_fn((2, 3), |(i, j)| 10 * i + (j + 2) % 3);
        assert_eq!(fftshift(&x, &[1]), expected);
    }

    #[test]
    #[should_panic(expected = "out of range")]
    fn fftshift_rejects_missing_axis() {
        let x = arr1(&[0, 1]);
        let _ = fftshift(&x, &[1]);
    }
}
