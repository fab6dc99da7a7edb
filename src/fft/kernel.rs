//! Row and column passes of the centred 2-D transform of one image, in place.
//!
//! The shifts cost no extra pass over memory:
//!
//! - Rows (axis W) are contiguous and sit in L1 while they are transformed. For even W the
//!   shifts become modulations: `fftshift(F(ifftshift(x)))[k] = (-1)^(k + W/2) F((-1)^j x)[k]`.
//!   The input sign is applied while a row is loaded, and the output sign `(-1)^(k + W/2)`
//!   depends only on the column, so the column pass folds it into its scale factor. For odd W
//!   the row is rotated before and after its transform.
//! - Columns (axis H) are gathered in blocks into a contiguous buffer and scattered back. Both
//!   copies visit the rows in rotated order, which performs ifftshift and fftshift.

use std::sync::Arc;

use ndarray::{ArrayView1, ArrayView2, ArrayViewMut2, Axis, Slice};
use rayon::prelude::*;
use rustfft::Fft;

use super::plan::{plan, with_workspace, Direction};
use crate::Complex32;

/// Rows per rayon task in the row pass.
const ROW_CHUNK: usize = 16;

/// Columns gathered and transformed together. Eight complex64 samples are one 64-byte cache
/// line, and wider blocks measured no faster.
const COLUMN_BLOCK: usize = 8;

/// Plans and constants for centred orthonormal transforms of (H, W) images.
pub(crate) struct ImagePlan {
    height: usize,
    width: usize,
    rows: Arc<dyn Fft<f32>>,
    columns: Arc<dyn Fft<f32>>,
    /// `1 / sqrt(H W)`, the orthonormal scale of the whole 2-D transform.
    scale: f32,
}

impl ImagePlan {
    /// Plans transforms of (height, width) images, with both lengths non-zero.
    pub(crate) fn new(height: usize, width: usize, direction: Direction) -> Self {
        debug_assert!(height > 0 && width > 0);
        Self {
            height,
            width,
            rows: plan(width, direction),
            columns: plan(height, direction),
            scale: (1.0 / ((height * width) as f64).sqrt()) as f32,
        }
    }

    /// Transforms `dst` in place, or writes the transform of `src` into `dst` when given.
    pub(crate) fn run(
        &self,
        mut dst: ArrayViewMut2<'_, Complex32>,
        src: Option<ArrayView2<'_, Complex32>>,
    ) {
        debug_assert_eq!(dst.dim(), (self.height, self.width));
        self.row_pass(dst.view_mut(), src);
        self.column_pass(dst);
    }

    fn row_pass(
        &self,
        mut dst: ArrayViewMut2<'_, Complex32>,
        src: Option<ArrayView2<'_, Complex32>>,
    ) {
        let scratch_len = self.rows.get_inplace_scratch_len();
        dst.axis_chunks_iter_mut(Axis(0), ROW_CHUNK)
            .into_par_iter()
            .enumerate()
            .for_each(|(chunk, mut rows)| {
                let start = chunk * ROW_CHUNK;
                let src_rows = src
                    .map(|s| s.slice_axis_move(Axis(0), Slice::from(start..start + rows.nrows())));
                with_workspace(self.width, scratch_len, |buffer, scratch| {
                    for (i, mut row) in rows.outer_iter_mut().enumerate() {
                        let src_row = src_rows.map(|s| s.index_axis_move(Axis(0), i));
                        if let Some(slice) = row.as_slice_mut() {
                            self.transform_row(slice, src_row, scratch);
                            continue;
                        }
                        // A strided row goes through the buffer.
                        if src_row.is_none() {
                            buffer.iter_mut().zip(row.iter()).for_each(|(b, v)| *b = *v);
                        }
                        self.transform_row(buffer, src_row, scratch);
                        row.iter_mut().zip(buffer.iter()).for_each(|(v, b)| *v = *b);
                    }
                });
            });
    }

    /// Applies ifftshift, the 1-D transform and (for odd W) fftshift to one row, reading the
    /// input from `src` when given and from `row` otherwise. No scaling happens here.
    fn transform_row(
        &self,
        row: &mut [Complex32],
        src: Option<ArrayView1<'_, Complex32>>,
        scratch: &mut [Complex32],
    ) {
        let half = self.width / 2;
        let even = self.width % 2 == 0;
        match (src, even) {
            (Some(src), true) => load_alternating(row, src),
            (Some(src), false) => load_rotated(row, src, half),
            (None, true) => negate_odd(row),
            (None, false) => row.rotate_left(half),
        }
        self.rows.process_with_scratch(row, scratch);
        if !even {
            row.rotate_right(half);
        }
    }

    fn column_pass(&self, mut dst: ArrayViewMut2<'_, Complex32>) {
        let scratch_len = self.columns.get_inplace_scratch_len();
        dst.axis_chunks_iter_mut(Axis(1), COLUMN_BLOCK)
            .into_par_iter()
            .enumerate()
            .for_each(|(block_index, mut block)| {
                let first_column = block_index * COLUMN_BLOCK;
                let columns = block.ncols();
                with_workspace(columns * self.height, scratch_len, |gathered, scratch| {
                    self.gather_columns(block.view(), gathered);
                    self.columns.process_with_scratch(gathered, scratch);
                    let scales = self.column_scales(first_column, columns);
                    self.scatter_columns(gathered, block.view_mut(), &scales[..columns]);
                });
            });
    }

    /// Scale factors of `count` columns from `first`: the orthonormal scale, times the output
    /// sign `(-1)^(k + W/2)` that the even-W row pass left out.
    fn column_scales(&self, first: usize, count: usize) -> [f32; COLUMN_BLOCK] {
        let mut scales = [self.scale; COLUMN_BLOCK];
        if self.width % 2 == 0 {
            let half = self.width / 2;
            for (offset, scale) in scales.iter_mut().enumerate().take(count) {
                if (first + offset + half) % 2 == 1 {
                    *scale = -*scale;
                }
            }
        }
        scales
    }

    /// Row index inside a gathered column of image row 0. Image row `r` sits at
    /// `(r - H/2) mod H`, which is ifftshift on the way in and fftshift on the way out.
    fn first_gathered_row(&self) -> usize {
        (self.height - self.height / 2) % self.height
    }

    /// Copies the columns of `block` into `gathered`, one contiguous column of H after another,
    /// with ifftshift along H.
    fn gather_columns(&self, block: ArrayView2<'_, Complex32>, gathered: &mut [Complex32]) {
        let height = self.height;
        let mut position = self.first_gathered_row();
        for row in block.rows() {
            match row.as_slice() {
                Some(values) => {
                    for (column, value) in values.iter().enumerate() {
                        gathered[column * height + position] = *value;
                    }
                }
                None => {
                    for (column, value) in row.iter().enumerate() {
                        gathered[column * height + position] = *value;
                    }
                }
            }
            position += 1;
            if position == height {
                position = 0;
            }
        }
    }

    /// Writes the transformed columns back into `block` with fftshift along H and the scale.
    fn scatter_columns(
        &self,
        gathered: &[Complex32],
        mut block: ArrayViewMut2<'_, Complex32>,
        scales: &[f32],
    ) {
        let height = self.height;
        let mut position = self.first_gathered_row();
        for mut row in block.rows_mut() {
            match row.as_slice_mut() {
                Some(values) => {
                    for (column, value) in values.iter_mut().enumerate() {
                        *value = gathered[column * height + position] * scales[column];
                    }
                }
                None => {
                    for (column, value) in row.iter_mut().enumerate() {
                        *value = gathered[column * height + position] * scales[column];
                    }
                }
            }
            position += 1;
            if position == height {
                position = 0;
            }
        }
    }
}

/// Writes `(-1)^j src[j]` into `row`: ifftshift of an even-length row, up to the output
/// modulation.
fn load_alternating(row: &mut [Complex32], src: ArrayView1<'_, Complex32>) {
    match src.as_slice() {
        Some(values) => {
            for (pair, source) in row.chunks_exact_mut(2).zip(values.chunks_exact(2)) {
                pair[0] = source[0];
                pair[1] = -source[1];
            }
        }
        None => {
            for (j, (value, source)) in row.iter_mut().zip(src.iter()).enumerate() {
                *value = if j % 2 == 0 { *source } else { -*source };
            }
        }
    }
}

/// Multiplies `row[j]` by `(-1)^j` in place.
fn negate_odd(row: &mut [Complex32]) {
    // Pairs keep the loop free of index arithmetic, so that it vectorises.
    for pair in row.chunks_exact_mut(2) {
        pair[1] = -pair[1];
    }
}

/// Writes `src[(j + half) mod n]` into `row`, which is ifftshift for `half = floor(n/2)`.
fn load_rotated(row: &mut [Complex32], src: ArrayView1<'_, Complex32>, half: usize) {
    let n = row.len();
    match src.as_slice() {
        Some(values) => {
            row[..n - half].copy_from_slice(&values[half..]);
            row[n - half..].copy_from_slice(&values[..half]);
        }
        None => {
            for (j, value) in row.iter_mut().enumerate() {
                *value = src[(j + half) % n];
            }
        }
    }
}
