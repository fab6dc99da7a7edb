"""Write low-pass reconstructions of real fastMRI-layout files as prediction files.

Usage: make_real_predictions.py DATA_DIR OUT_DIR

For every DATA_DIR/*.h5 with a `reconstruction_rss` target, the script keeps the central
quarter of the phase-encode columns of `kspace` (slices, coils, H, W). It then applies the
centred orthonormal inverse FFT and combines coils by root-sum-of-squares. The uncropped
(slices, H, W) image goes to OUT_DIR as `reconstruction`, under the same file name. Files
without a target get no prediction.
"""

import pathlib
import sys

import h5py
import numpy as np


def ifft2c(kspace):
    shifted = np.fft.ifftshift(kspace, axes=(-2, -1))
    image = np.fft.ifft2(shifted, axes=(-2, -1), norm="ortho")
    return np.fft.fftshift(image, axes=(-2, -1))


def low_pass_rss(kspace):
    width = kspace.shape[-1]
    keep = width // 4
    start = (width - keep + 1) // 2
    mask = np.zeros(width, dtype=bool)
    mask[start : start + keep] = True
    images = ifft2c(np.where(mask, kspace, 0))
    return np.sqrt(np.sum(np.abs(images) ** 2, axis=1)).astype(np.float32)


def main():
    data_dir = pathlib.Path(sys.argv[1])
    out_dir = pathlib.Path(sys.argv[2])
    out_dir.mkdir(parents=True, exist_ok=True)
    for path in sorted(data_dir.glob("*.h5")):
        with h5py.File(path, "r") as source:
            if "reconstruction_rss" not in source:
                continue
            reconstruction = low_pass_rss(source["kspace"][()])
        with h5py.File(out_dir / path.name, "w") as out:
            out.create_dataset("reconstruction", data=reconstruction)


if __name__ == "__main__":
    main()
