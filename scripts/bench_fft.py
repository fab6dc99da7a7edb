"""Time dps's fft2c and ifft2c beside numpy (pocketfft) and torch.fft on the CPU.

Run from the repository root with the Python that has numpy and torch:

    "$DPS_PYTHON" scripts/bench_fft.py [--repeats 21] [--rounds 3] [--threads 2]

The Rust timings come from `cargo run --release --no-default-features --example bench_fft`,
started with RAYON_NUM_THREADS set to --threads; torch gets torch.set_num_threads(--threads).
numpy.fft is single-threaded. torch is also timed with one thread, because its OpenMP threads
slow down sharply when other processes compete for the cores. Each round times dps, then numpy, then torch, each case as the
median of --repeats runs after two warm-up runs. The table shows, per case, the median over
the rounds, so that all three libraries see the same changes in machine load. The script
prints one Markdown table.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time

import numpy as np
import torch

SHAPES = [(320, 320), (640, 368), (15, 640, 368)]
AXES = (-2, -1)


def numpy_fft2c(x):
    return np.fft.fftshift(np.fft.fft2(np.fft.ifftshift(x, axes=AXES), norm="ortho"), axes=AXES)


def numpy_ifft2c(x):
    return np.fft.fftshift(np.fft.ifft2(np.fft.ifftshift(x, axes=AXES), norm="ortho"), axes=AXES)


def torch_fft2c(x):
    shifted = torch.fft.ifftshift(x, dim=AXES)
    return torch.fft.fftshift(torch.fft.fft2(shifted, dim=AXES, norm="ortho"), dim=AXES)


def torch_ifft2c(x):
    shifted = torch.fft.ifftshift(x, dim=AXES)
    return torch.fft.fftshift(torch.fft.ifft2(shifted, dim=AXES, norm="ortho"), dim=AXES)


def median_ms(function, x, repeats):
    function(x)
    function(x)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function(x)
        times.append((time.perf_counter() - start) * 1e3)
    return float(np.median(times))


def rust_timings(repeats, threads):
    environment = dict(os.environ, RAYON_NUM_THREADS=str(threads))
    command = [
        "cargo", "run", "--quiet", "--release", "--no-default-features",
        "--example", "bench_fft", "--", str(repeats),
    ]
    result = subprocess.run(command, env=environment, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"cargo run --example bench_fft failed:\n{result.stderr}")
    report = json.loads(result.stdout.strip().splitlines()[-1])
    return {tuple(entry["shape"]): entry for entry in report["results"]}


def cpu_model():
    try:
        output = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    except OSError:
        return platform.processor()
    for line in output.splitlines():
        if line.startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=21, help="timed runs per case")
    parser.add_argument("--rounds", type=int, default=3, help="rounds over all cases")
    parser.add_argument("--threads", type=int, default=2, help="threads for dps and torch")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    inputs = {}
    for shape in SHAPES:
        x = (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(np.complex64)
        inputs[shape] = (x, torch.from_numpy(x))
    transforms = [("fft2c", numpy_fft2c, torch_fft2c), ("ifft2c", numpy_ifft2c, torch_ifft2c)]

    load_before = os.getloadavg()[0]
    samples = {}
    for _ in range(args.rounds):
        ours = rust_timings(args.repeats, args.threads)
        for shape, (x, tensor) in inputs.items():
            for name, numpy_function, torch_function in transforms:
                timings = samples.setdefault((name, shape), ([], [], [], []))
                timings[0].append(ours[shape][f"{name}_ms"])
                timings[1].append(median_ms(numpy_function, x, args.repeats))
                torch.set_num_threads(args.threads)
                timings[2].append(median_ms(torch_function, tensor, args.repeats))
                torch.set_num_threads(1)
                timings[3].append(median_ms(torch_function, tensor, args.repeats))
    load_after = os.getloadavg()[0]

    rows = []
    for shape in SHAPES:
        for name, _, _ in transforms:
            medians = [float(np.median(t)) for t in samples[(name, shape)]]
            rows.append((name, shape, *medians))

    print(
        f"CPU: {cpu_model()}, {os.cpu_count()} logical CPUs; threads: {args.threads}; "
        f"numpy {np.__version__}, torch {torch.__version__}; "
        f"median over {args.rounds} rounds of the median of {args.repeats} runs; "
        f"1-minute load average {load_before:.2f} before, "
        f"{load_after:.2f} after"
    )
    print()
    threads = args.threads
    print(
        f"| transform | shape | dps, {threads} threads (ms) | numpy (ms) "
        f"| torch, {threads} threads (ms) | torch, 1 thread (ms) "
        f"| numpy / dps | torch {threads} threads / dps |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for name, shape, rust_ms, numpy_ms, torch_ms, torch_single_ms in rows:
        size = "x".join(str(n) for n in shape)
        print(
            f"| {name} | {size} | {rust_ms:.2f} | {numpy_ms:.2f} | {torch_ms:.2f} "
            f"| {torch_single_ms:.2f} | {numpy_ms / rust_ms:.2f} | {torch_ms / rust_ms:.2f} |"
        )


if __name__ == "__main__":
    main()
