"""Write fastMRI-style target and prediction files with h5py for tests/metrics.rs.

Usage: make_eval_fixtures.py ROOT

Creates ROOT/targets and ROOT/predictions:

  targets/vol_a.h5        (3, 40, 32)  acquisition "CORPD_FBK" (variable-length UTF-8),
                                       acceleration 4 (int64)
  targets/vol_b.h5        (2, 36, 36)  acquisition b"CORPDFS_FBK" (fixed-length ASCII),
                                       acceleration 8.0 (float64)
  targets/vol_c.h5        (4, 33, 27)  acquisition "CORPD_FBK" (fixed-length UTF-8),
                                       acceleration 4 (int32)
  targets/vol_missing.h5  (2, 20, 20)  acquisition "AXT2", no prediction
  targets/notes.txt       not an HDF5 file, to be ignored
  predictions/vol_a.h5    (3, 48, 37)  larger than the crop, odd width difference
  predictions/vol_b.h5    (2, 36, 36)  same size as the target
  predictions/vol_c.h5    (4, 27, 27)  exactly the crop size
  predictions/vol_extra.h5             no target

Every target file has both `reconstruction_rss` and `reconstruction_esc` (scaled by 0.9), so
a test can tell which one the challenge selected.

ROOT/errors/CASE/{targets,predictions} hold one broken pair each:

  integer_prediction   `reconstruction` is int16
  small_prediction     prediction (2, 20, 19) narrower than the 20x20 crop
  flat_prediction      `reconstruction` is 2-D
  no_acceleration      target without the `acceleration` attribute
  no_esc               target with `reconstruction_rss` only
"""

import pathlib
import sys

import h5py
import numpy as np

RNG = np.random.default_rng(20240611)


def smooth_image(slices, height, width, scale):
    """Positive images with structure at several scales, like magnitude MRI."""
    i = np.arange(height)[None, :, None]
    j = np.arange(width)[None, None, :]
    s = np.arange(slices)[:, None, None]
    base = 1.0 + np.sin(i / 3.0 + s) * np.cos(j / 5.0) + 0.5 * np.cos((i + j) / 7.0)
    noise = RNG.random((slices, height, width))
    return (scale * (base + 0.2 * noise)).astype(np.float32)


def centre_embed(volume, height, width, fill_scale):
    """Place `volume` at fastMRI's centre-crop position inside a larger random volume."""
    slices, h, w = volume.shape
    out = (fill_scale * RNG.random((slices, height, width))).astype(np.float32)
    top = (height - h) // 2
    left = (width - w) // 2
    out[:, top : top + h, left : left + w] = volume
    return out


def centre_crop(volume, size):
    h, w = volume.shape[-2:]
    top = (h - size) // 2
    left = (w - size) // 2
    return volume[..., top : top + size, left : left + size]


def write_target(path, rss, acquisition, acceleration):
    with h5py.File(path, "w") as f:
        f.create_dataset("reconstruction_rss", data=rss)
        f.create_dataset("reconstruction_esc", data=(0.9 * rss).astype(np.float32))
        if acquisition is not None:
            f.attrs["acquisition"] = acquisition
        if acceleration is not None:
            f.attrs["acceleration"] = acceleration
        f.attrs["max"] = float(rss.max())
        f.attrs["norm"] = float(np.linalg.norm(rss))


def noisy(volume, level):
    scale = level * float(volume.max())
    return (volume + scale * RNG.standard_normal(volume.shape)).astype(np.float32)


def write_prediction(path, reconstruction):
    with h5py.File(path, "w") as f:
        f.create_dataset("reconstruction", data=reconstruction)


def main():
    root = pathlib.Path(sys.argv[1])
    targets = root / "targets"
    predictions = root / "predictions"
    targets.mkdir(parents=True)
    predictions.mkdir(parents=True)

    # Magnitudes of order 1e-4, as in fastMRI knee targets.
    vol_a = smooth_image(3, 40, 32, 1e-4)
    write_target(targets / "vol_a.h5", vol_a, "CORPD_FBK", np.int64(4))
    pred_a = centre_embed(noisy(centre_crop(vol_a, 32), 0.05), 48, 37, 1e-4)
    write_prediction(predictions / "vol_a.h5", pred_a)

    vol_b = smooth_image(2, 36, 36, 2.0)
    write_target(targets / "vol_b.h5", vol_b, np.bytes_(b"CORPDFS_FBK"), np.float64(8.0))
    write_prediction(predictions / "vol_b.h5", noisy(vol_b, 0.1))

    vol_c = smooth_image(4, 33, 27, 0.5)
    with_fixed_utf8 = np.array("CORPD_FBK", dtype=h5py.string_dtype("utf-8", 16))
    write_target(targets / "vol_c.h5", vol_c, with_fixed_utf8, np.int32(4))
    write_prediction(predictions / "vol_c.h5", noisy(centre_crop(vol_c, 27), 0.02))

    write_target(targets / "vol_missing.h5", smooth_image(2, 20, 20, 1.0), "AXT2", np.int64(4))
    (targets / "notes.txt").write_text("not a volume\n")

    write_prediction(predictions / "vol_extra.h5", smooth_image(1, 16, 16, 1.0))

    write_error_cases(root / "errors")


def write_error_cases(root):
    def pair(case, prediction, acceleration=np.int64(4), esc=True):
        targets = root / case / "targets"
        predictions = root / case / "predictions"
        targets.mkdir(parents=True)
        predictions.mkdir(parents=True)
        target = smooth_image(2, 20, 20, 1.0)
        write_target(targets / "vol.h5", target, "AXT2", acceleration)
        if not esc:
            with h5py.File(targets / "vol.h5", "a") as f:
                del f["reconstruction_esc"]
        write_prediction(predictions / "vol.h5", target if prediction is None else prediction)

    pair("integer_prediction", np.ones((2, 20, 20), dtype=np.int16))
    pair("small_prediction", smooth_image(2, 20, 19, 1.0))
    pair("flat_prediction", smooth_image(1, 20, 20, 1.0)[0])
    pair("no_acceleration", None, acceleration=None)
    pair("no_esc", None, esc=False)


if __name__ == "__main__":
    main()
