"""Independent numpy reference for the mask tests in tests/masks.rs.

Reads one JSON request on stdin and prints the JSON list of results on stdout.

- {"mode": "rng", "cases": [{"seed": S, "ops": [[name, n], ...]}]}: runs the operations on
  np.random.RandomState(S) (S an int or a list of ints) and returns their outputs. Names are
  "uniform" (n doubles, as uint64 bit patterns), "randint" (one draw from [0, n)),
  "permutation" (permutation(n)) and "raw" (n 32-bit words through randint(2**32, dtype=uint32)).
- {"mode": "masks", "cases": [{"kind", "center_fractions", "accelerations", "width", "seed",
  "offset"}]}: returns {"columns": [...], "num_low": n} per case, following the mask
  functions of fastMRI's fastmri/data/subsample.py as described in its documentation
  (one (center fraction, acceleration) pair drawn by randint(len(pairs)), a centre band of
  round(W * cf) columns from (W - num_low + 1) // 2, then the type's outer columns).

numpy's own RandomState, arange, around and fftshift do the numerics, so the Rust code is
compared with numpy rather than with itself.
"""

import json
import sys

import numpy as np


def seeded(seed):
    return np.random.RandomState(tuple(seed) if isinstance(seed, list) else seed)


def run_rng_case(case):
    rng = seeded(case["seed"])
    outputs = []
    for name, n in case["ops"]:
        if name == "uniform":
            outputs.append(rng.uniform(size=n).view(np.uint64).tolist())
        elif name == "randint":
            outputs.append(int(rng.randint(n)))
        elif name == "permutation":
            outputs.append(rng.permutation(n).tolist())
        elif name == "raw":
            outputs.append(rng.randint(2**32, size=n, dtype=np.uint64).tolist())
        else:
            raise ValueError(f"unknown rng operation {name!r}")
    return outputs


def centre_columns(width, num_low):
    columns = np.zeros(width, dtype=bool)
    first = (width - num_low + 1) // 2
    columns[first : first + num_low] = True
    return columns


def random_outer(rng, width, acceleration, num_low, offset):
    probability = (width / acceleration - num_low) / (width - num_low)
    return rng.uniform(size=width) < probability


def equispaced_outer(rng, width, acceleration, num_low, offset):
    step = int(acceleration)
    if offset is None:
        offset = rng.randint(0, round(acceleration))
    columns = np.zeros(width, dtype=bool)
    columns[offset::step] = True
    return columns


def equispaced_fraction_outer(rng, width, acceleration, num_low, offset):
    if num_low * acceleration >= width:
        # fastMRI fails here when it draws the offset; with a given offset it steps backwards.
        raise ValueError("the centre band alone reaches the acceleration")
    spacing = (acceleration * (num_low - width)) / (num_low * acceleration - width)
    if offset is None:
        offset = rng.randint(0, round(spacing))
    positions = np.around(np.arange(offset, width - 1, spacing)).astype(np.uint64)
    columns = np.zeros(width, dtype=bool)
    columns[positions] = True
    return columns


def magic_outer(rng, width, acceleration, num_low, offset):
    step = int(acceleration)
    if offset is None:
        offset = rng.randint(0, step)
    if offset % 2 == 0:
        first_positive, first_negative = offset + 1, offset + 2
    else:
        first_positive, first_negative = offset + 2, offset - 1
    positive = np.zeros((width + 1) // 2, dtype=bool)
    negative = np.zeros(width - (width + 1) // 2, dtype=bool)
    positive[first_positive::step] = True
    negative[first_negative::step] = True
    return np.fft.fftshift(np.concatenate([positive, negative[::-1]]))


OUTER = {
    "random": random_outer,
    "equispaced": equispaced_outer,
    "equispaced_fraction": equispaced_fraction_outer,
    "magic": magic_outer,
}


def run_mask_case(case):
    rng = seeded(case["seed"])
    width = case["width"]
    offset = case.get("offset")
    pick = rng.randint(len(case["center_fractions"]))
    fraction = case["center_fractions"][pick]
    acceleration = case["accelerations"][pick]
    # Whole accelerations are passed as Python ints, as fastMRI's configurations do.
    if float(acceleration).is_integer():
        acceleration = int(acceleration)
    num_low = round(width * fraction)

    kind = case["kind"]
    if kind == "magic_fraction":
        target = round(width / acceleration)
        num_low = max(min(num_low, target), 1)
        if target <= num_low:
            # fastMRI fails here when it draws the offset; with a given offset it steps backwards.
            raise ValueError("the centre band alone reaches the target column count")
        outer = magic_outer(rng, width, round(width / (target - num_low)), num_low, offset)
    else:
        outer = OUTER[kind](rng, width, acceleration, num_low, offset)

    columns = centre_columns(width, num_low) | outer
    return {"columns": np.flatnonzero(columns).tolist(), "num_low": num_low}


def run_guarded(run, case):
    # fastMRI raises where the centre band alone reaches the acceleration, because the
    # spacing is zero or negative. The Rust test checks its documented result for those.
    try:
        return run(case)
    except (ValueError, ZeroDivisionError) as error:
        return {"error": f"{type(error).__name__}: {error}"}


def main():
    request = json.load(sys.stdin)
    run = {"rng": run_rng_case, "masks": run_mask_case}[request["mode"]]
    json.dump([run_guarded(run, case) for case in request["cases"]], sys.stdout)


if __name__ == "__main__":
    main()
