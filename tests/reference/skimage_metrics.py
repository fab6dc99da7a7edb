"""Reference metric values from numpy and scikit-image for tests/metrics.rs.

Reads a JSON request on stdin and writes the results as JSON on stdout.

Request: {"cases": [{"target": PATH, "prediction": PATH, "shape": [S, H, W],
                     "data_range": L or null}],
          "format": [numbers], "aggregate": {NAME: [numbers], ...}}
Volumes are raw little-endian float32 files in (slices, h, w) order. For each case the
result has NMSE, MSE, PSNR and SSIM computed as fastMRI's evaluator does, once on the float32
arrays (what fastMRI itself computes) and once on float64 copies (same formulas, float64
arithmetic), plus the Gaussian SSIM of TensorFlow through scikit-image's options. "format"
returns Python's format(x, ".4g") of each number; "aggregate" returns numpy's mean and
sample standard deviation (ddof=1) of each list and fastMRI's summary line built from them.
"""

import json
import sys

import numpy as np
from skimage.metrics import peak_signal_noise_ratio, structural_similarity


def load(path, shape):
    return np.fromfile(path, dtype="<f4").reshape(shape)


def fastmri_metrics(gt, pred):
    """NMSE, MSE, PSNR and SSIM with data range = max of the target volume."""
    data_range = gt.max()
    nmse = np.linalg.norm(gt - pred) ** 2 / np.linalg.norm(gt) ** 2
    mse = np.mean((gt - pred) ** 2)
    psnr = peak_signal_noise_ratio(gt, pred, data_range=data_range)
    ssim = np.mean(
        [structural_similarity(t, p, data_range=data_range) for t, p in zip(gt, pred)]
    )
    return {"nmse": float(nmse), "mse": float(mse), "psnr": float(psnr), "ssim": float(ssim)}


def slice_max_ssim(gt, pred):
    """The common mistake: each slice's own maximum as data range."""
    return float(
        np.mean([structural_similarity(t, p, data_range=t.max()) for t, p in zip(gt, pred)])
    )


def gaussian_ssim(gt, pred, data_range):
    """TensorFlow's SSIM through scikit-image: Gaussian sigma 1.5 truncated at 3.5 sigma."""
    values = [
        structural_similarity(
            t,
            p,
            gaussian_weights=True,
            sigma=1.5,
            use_sample_covariance=False,
            data_range=data_range,
        )
        for t, p in zip(gt, pred)
    ]
    return float(np.mean(values))


def score_case(case):
    gt32 = load(case["target"], case["shape"])
    pred32 = load(case["prediction"], case["shape"])
    gt64 = gt32.astype(np.float64)
    pred64 = pred32.astype(np.float64)
    result = {
        "float32": fastmri_metrics(gt32, pred32),
        "float64": fastmri_metrics(gt64, pred64),
        "ssim_slice_max": slice_max_ssim(gt64, pred64),
    }
    fixed = case.get("data_range")
    if fixed is not None:
        result["psnr_fixed"] = float(peak_signal_noise_ratio(gt64, pred64, data_range=fixed))
        result["ssim_uniform_fixed"] = float(
            np.mean([structural_similarity(t, p, data_range=fixed) for t, p in zip(gt64, pred64)])
        )
        if min(case["shape"][1:]) >= 11:
            result["ssim_gaussian_fixed"] = gaussian_ssim(gt64, pred64, fixed)
    if min(case["shape"][1:]) >= 11:
        result["ssim_gaussian_volmax"] = gaussian_ssim(gt64, pred64, float(gt64.max()))
    return result


def aggregate(columns):
    mean = {name: float(np.mean(values)) for name, values in columns.items()}
    std = {name: float(np.std(values, ddof=1)) for name, values in columns.items()}
    line = " ".join(
        f"{name} = {mean[name]:.4g} +/- {2 * std[name]:.4g}" for name in sorted(columns)
    )
    return {"mean": mean, "std": std, "line": line}


def main():
    request = json.load(sys.stdin)
    response = {
        "cases": [score_case(case) for case in request.get("cases", [])],
        "format": [format(x, ".4g") for x in request.get("format", [])],
        "aggregate": aggregate(request.get("aggregate", {})),
    }
    json.dump(response, sys.stdout)


if __name__ == "__main__":
    main()
