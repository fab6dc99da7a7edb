"""Independent re-implementation of fastMRI's evaluation (fastmri/evaluate.py) for tests.

Usage: fastmri_evaluate.py TARGET_DIR PREDICTIONS_DIR CHALLENGE [--acceleration N]
                           [--acquisition NAME]

Follows fastMRI's logic with numpy, h5py and scikit-image on the float32 arrays read from
the files: filter on the root attributes, centre-crop target and prediction to (W, W) with W
the target's last dimension, then MSE, NMSE, PSNR (data range = target volume max) and the
mean over slices of SSIM (uniform 7x7 window, data range = target volume max). Statistics
follow runstats.Statistics (running mean, sample variance with ddof = 1), and "summary" is the
line fastMRI prints. Two deliberate differences, which the Rust evaluator shares: targets
without a prediction are skipped and listed instead of raising, and files are visited in
sorted order. Fixed-length string attributes, which h5py returns as bytes, are decoded before
comparison. Writes JSON on stdout.
"""

import argparse
import json
import pathlib
import sys

import h5py
import numpy as np
from skimage.metrics import peak_signal_noise_ratio, structural_similarity


class RunningStatistics:
    """Welford's running mean and sum of squared deviations, as runstats keeps them."""

    def __init__(self):
        self.count = 0
        self.mean = 0.0
        self.squares = 0.0

    def push(self, value):
        value = float(value)
        delta = value - self.mean
        self.count += 1
        self.mean += delta / self.count
        self.squares += delta * (value - self.mean)

    def stddev(self):
        return (self.squares / (self.count - 1)) ** 0.5


def crop_centre(volume, size):
    height, width = volume.shape[-2:]
    if not (0 < size <= height and 0 < size <= width):
        raise ValueError(f"cannot crop {volume.shape} to {size}x{size}")
    top = (height - size) // 2
    left = (width - size) // 2
    return volume[..., top : top + size, left : left + size]


def volume_metrics(gt, pred):
    peak = gt.max()
    ssim_sum = 0.0
    for index in range(gt.shape[0]):
        ssim_sum += structural_similarity(gt[index], pred[index], data_range=peak)
    return {
        "MSE": float(np.mean((gt - pred) ** 2)),
        "NMSE": float(np.linalg.norm(gt - pred) ** 2 / np.linalg.norm(gt) ** 2),
        "PSNR": float(peak_signal_noise_ratio(gt, pred, data_range=peak)),
        "SSIM": float(ssim_sum / gt.shape[0]),
    }


def attribute_text(value):
    return value.decode() if isinstance(value, bytes) else str(value)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("target_dir", type=pathlib.Path)
    parser.add_argument("predictions_dir", type=pathlib.Path)
    parser.add_argument("challenge", choices=["singlecoil", "multicoil"])
    parser.add_argument("--acceleration", type=int)
    parser.add_argument("--acquisition")
    args = parser.parse_args()
    key = "reconstruction_rss" if args.challenge == "multicoil" else "reconstruction_esc"

    stats = {name: RunningStatistics() for name in ["MSE", "NMSE", "PSNR", "SSIM"]}
    volumes = {}
    missing = []
    for target_path in sorted(args.target_dir.glob("*.h5")):
        with h5py.File(target_path, "r") as target_file:
            attrs = target_file.attrs
            if args.acquisition and attribute_text(attrs["acquisition"]) != args.acquisition:
                continue
            if args.acceleration and attrs["acceleration"] != args.acceleration:
                continue
            prediction_path = args.predictions_dir / target_path.name
            if not prediction_path.exists():
                missing.append(target_path.name)
                continue
            gt = target_file[key][()]
        with h5py.File(prediction_path, "r") as prediction_file:
            pred = prediction_file["reconstruction"][()]
        size = gt.shape[-1]
        values = volume_metrics(crop_centre(gt, size), crop_centre(pred, size))
        volumes[target_path.name] = values
        for name, value in values.items():
            stats[name].push(value)

    summary = " ".join(
        f"{name} = {stats[name].mean:.4g} +/- {2 * stats[name].stddev():.4g}"
        for name in sorted(stats)
    )
    targets = {path.name for path in args.target_dir.glob("*.h5")}
    extra = sorted(p.name for p in args.predictions_dir.glob("*.h5") if p.name not in targets)
    json.dump(
        {
            "volumes": volumes,
            "mean": {name: s.mean for name, s in stats.items()},
            "std": {name: s.stddev() for name, s in stats.items()},
            "summary": summary,
            "missing": missing,
            "extra": extra,
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
