//! SENSE: coil sensitivities followed by the undersampled Fourier transform.

use ndarray::{
    Array2, Array3, ArrayD, ArrayView2, ArrayView3, ArrayViewD, ArrayViewMut2, Axis, Ix2, Zip,
};

use super::fourier::check_image_shape;
use super::{check_shape, LinearOperator, MaskedFourier, OperatorError};
use crate::Complex32;

const NAME: &str = "Sense";

/// `A x = M F (S_c x)` for coils `c`: the multi-coil forward model of parallel imaging.
///
/// The domain is one complex image `(H, W)` and the range multi-coil k-space
/// `(coils, H, W)`. The sensitivity maps `S` have shape `(coils, H, W)`. The adjoint combines
/// the zero-filled coil images with the conjugate maps, `A^H y = sum_c conj(S_c) F^H M y_c`.
#[derive(Clone, Debug, PartialEq)]
pub struct Sense {
    maps: Array3<Complex32>,
    fourier: MaskedFourier,
    domain: Vec<usize>,
    range: Vec<usize>,
}

impl Sense {
    /// Builds SENSE with the phase-encode columns `j` with `columns[j]` set.
    ///
    /// # Errors
    ///
    /// [`OperatorError::InvalidShape`] if `maps` has an empty axis, and
    /// [`OperatorError::MaskShape`] unless `columns.len()` is W.
    pub fn with_column_mask(
        maps: Array3<Complex32>,
        columns: &[bool],
    ) -> Result<Self, OperatorError> {
        check_image_shape(NAME, maps.shape())?;
        let fourier = MaskedFourier::with_column_mask(maps.shape(), columns)?;
        Ok(Self::new(maps, fourier))
    }

    /// Builds SENSE that keeps the samples `(i, j)` with `mask[[i, j]]` set.
    ///
    /// # Errors
    ///
    /// [`OperatorError::InvalidShape`] if `maps` has an empty axis, and
    /// [`OperatorError::MaskShape`] unless `mask` is (H, W).
    pub fn with_mask(maps: Array3<Complex32>, mask: Array2<bool>) -> Result<Self, OperatorError> {
        check_image_shape(NAME, maps.shape())?;
        let fourier = MaskedFourier::with_mask(maps.shape(), mask)?;
        Ok(Self::new(maps, fourier))
    }

    /// Builds fully sampled SENSE.
    ///
    /// # Errors
    ///
    /// [`OperatorError::InvalidShape`] if `maps` has an empty axis.
    pub fn fully_sampled(maps: Array3<Complex32>) -> Result<Self, OperatorError> {
        check_image_shape(NAME, maps.shape())?;
        let fourier = MaskedFourier::fully_sampled(maps.shape())?;
        Ok(Self::new(maps, fourier))
    }

    fn new(maps: Array3<Complex32>, fourier: MaskedFourier) -> Self {
        let (_, height, width) = maps.dim();
        Self {
            domain: vec![height, width],
            range: maps.shape().to_vec(),
            maps,
            fourier,
        }
    }

    /// Coil sensitivity maps, `(coils, H, W)`.
    pub fn maps(&self) -> &Array3<Complex32> {
        &self.maps
    }

    /// Returns `sum_c conj(S_c) x_c` for coil images `x` of shape (coils, H, W).
    fn combine(&self, coils: ArrayView3<'_, Complex32>) -> Array2<Complex32> {
        let (_, height, width) = self.maps.dim();
        let mut image = Array2::zeros((height, width));
        for (map, coil) in self.maps.axis_iter(Axis(0)).zip(coils.axis_iter(Axis(0))) {
            accumulate_conj_product(image.view_mut(), map, coil);
        }
        image
    }
}

impl LinearOperator for Sense {
    fn domain_shape(&self) -> &[usize] {
        &self.domain
    }

    fn range_shape(&self) -> &[usize] {
        &self.range
    }

    fn forward(&self, x: &ArrayViewD<'_, Complex32>) -> Result<ArrayD<Complex32>, OperatorError> {
        check_shape(NAME, "forward", &self.domain, x.shape())?;
        let image = x
            .view()
            .into_dimensionality::<Ix2>()
            .expect("shape was checked");
        let mut coils = Array3::zeros(self.maps.raw_dim());
        Zip::from(&mut coils)
            .and(&self.maps)
            .and_broadcast(&image)
            .par_for_each(|coil, &map, &pixel| *coil = map * pixel);
        let mut kspace = coils.into_dyn();
        self.fourier.forward_inplace(&mut kspace);
        Ok(kspace)
    }

    fn adjoint(&self, y: &ArrayViewD<'_, Complex32>) -> Result<ArrayD<Complex32>, OperatorError> {
        check_shape(NAME, "adjoint", &self.range, y.shape())?;
        let mut coils = y.to_owned();
        self.fourier.adjoint_inplace(&mut coils);
        let coils = coils.into_dimensionality().expect("shape was checked");
        Ok(self.combine(coils.view()).into_dyn())
    }
}

fn accumulate_conj_product(
    mut image: ArrayViewMut2<'_, Complex32>,
    map: ArrayView2<'_, Complex32>,
    coil: ArrayView2<'_, Complex32>,
) {
    Zip::from(&mut image)
        .and(map)
        .and(coil)
        .par_for_each(|pixel, map, coil| *pixel += map.conj() * coil);
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array3;

    #[test]
    fn shapes_follow_maps() {
        let maps = Array3::from_elem((4, 6, 5), Complex32::new(1.0, 0.0));
        let sense = Sense::fully_sampled(maps).unwrap();
        assert_eq!(sense.domain_shape(), &[6, 5]);
        assert_eq!(sense.range_shape(), &[4, 6, 5]);
    }

    #[test]
    fn adjoint_rejects_image_shape() {
        let maps = Array3::from_elem((2, 4, 4), Complex32::new(1.0, 0.0));
        let sense = Sense::with_column_mask(maps, &[true, false, true, true]).unwrap();
        let y = Array2::<Complex32>::zeros((4, 4)).into_dyn();
        let error = sense.adjoint(&y.view()).unwrap_err();
        let expected = OperatorError::ShapeMismatch {
            operator: "Sense",
            method: "adjoint",
            expected: vec![2, 4, 4],
            found: vec![4, 4],
        };
        assert_eq!(error, expected);
    }

    #[test]
    fn unit_maps_sum_coil_adjoints() {
        // With every map equal to one, A^H A x = coils * x for a full mask.
        let maps = Array3::from_elem((3, 4, 6), Complex32::new(1.0, 0.0));
        let sense = Sense::fully_sampled(maps).unwrap();
        let x =
            Array2::from_shape_fn((4, 6), |(i, j)| Complex32::new(i as f32, j as f32)).into_dyn();
        let normal = sense.normal(&x.view()).unwrap();
        for (got, want) in normal.iter().zip(x.iter()) {
            assert!((got - want * 3.0).norm() < 1e-4, "{got} vs {}", want * 3.0);
        }
    }
}
