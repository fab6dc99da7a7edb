//! Image-space helpers: magnitude, root-sum-of-squares, centre crop.
