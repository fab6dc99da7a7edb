"""Zero-filled batch reconstruction with h5py and numpy, the reference for `dps recon`.

Subcommands:

    generate OUT --files N --slices S [--coils C --height H --width W]
        Writes N fastMRI-like multi-coil files (file1000000.h5, ...) to OUT. Each has
        `kspace` complex64 (S, C, H, W), `reconstruction_rss` float32 (S, 320, 320), an
        `ismrmrd_header` and the root attributes of fastMRI files.
    recon INPUT OUTPUT --workers P
        Reconstructs every *.h5 file of INPUT like the pipeline load -> mask (fastMRI
        equispaced, centre fraction 0.08, 4x, seeded with the file name) -> zero_filled ->
        write, with a process pool of P workers over files. Each slice is read on its own,
        masked, transformed with ifft2c (numpy's FFT, norm="ortho", ifftshift before and
        fftshift after), combined by root-sum-of-squares and centre-cropped; each file's
        volume goes to OUTPUT/NAME.h5 as `reconstruction`.
    compare A B
        Prints the largest difference between the `reconstruction` datasets of the files of
        the same name in folders A and B, relative to the largest value of A.

numpy's FFT (pocketfft) runs on one thread, so the pool size sets the number of cores used.
"""

import argparse
import json
import multiprocessing
import sys
from pathlib import Path

import h5py
import numpy as np

CENTER_FRACTION = 0.08
ACCELERATION = 4
CROP = (320, 320)

HEADER = """<?xml version="1.0" encoding="utf-8"?>
<ismrmrdHeader xmlns="http://www.ismrm.org/ISMRMRD">
  <encoding>
    <encodedSpace><matrixSize><x>{height}</x><y>{width}</y><z>1</z></matrixSize></encodedSpace>
    <reconSpace><matrixSize><x>{crop_h}</x><y>{crop_w}</y><z>1</z></matrixSize></reconSpace>
    <encodingLimits>
      <kspace_encoding_step_1><minimum>0</minimum><maximum>{last}</maximum><center>{center}</center></kspace_encoding_step_1>
    </encodingLimits>
  </encoding>
</ismrmrdHeader>
"""


def fft2c(x):
    axes = (-2, -1)
    return np.fft.fftshift(np.fft.fft2(np.fft.ifftshift(x, axes=axes), norm="ortho"), axes=axes)


def ifft2c(x):
    axes = (-2, -1)
    return np.fft.fftshift(np.fft.ifft2(np.fft.ifftshift(x, axes=axes), norm="ortho"), axes=axes)


def rss(images):
    return np.sqrt(np.sum(images.real**2 + images.imag**2, axis=0))


def center_crop(image, size):
    top = (image.shape[-2] - size[0]) // 2
    left = (image.shape[-1] - size[1]) // 2
    return image[..., top : top + size[0], left : left + size[1]]


# ---------------------------------------------------------------------------------------------
# generate


def phantom_slice(height, width, index, rng):
    """Return a magnitude image of random ellipses inside the central half of the readout."""
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float32)
    rows = (rows - height / 2) / (height / 4)
    cols = (cols - width / 2) / (width / 2)
    image = np.zeros((height, width), np.float32)
    for _ in range(6 + index % 3):
        r0, c0 = rng.uniform(-0.5, 0.5, 2)
        a, b = rng.uniform(0.2, 0.6, 2)
        image += rng.uniform(0.2, 1.0) * (((rows - r0) / a) ** 2 + ((cols - c0) / b) ** 2 < 1)
    return image


def coil_sensitivities(coils, height, width):
    """Return smooth complex sensitivities of coils spaced on a ring around the object."""
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float32)
    rows = (rows - height / 2) / (height / 4)
    cols = (cols - width / 2) / (width / 2)
    maps = np.empty((coils, height, width), np.complex64)
    for c in range(coils):
        angle = 2 * np.pi * c / coils
        distance = (rows - 1.2 * np.cos(angle)) ** 2 + (cols - 1.2 * np.sin(angle)) ** 2
        maps[c] = np.exp(-distance / 2.0) * np.exp(1j * (angle + 0.3 * rows))
    return maps


def generate(args):
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    maps = coil_sensitivities(args.coils, args.height, args.width)
    header = HEADER.format(
        height=args.height,
        width=args.width,
        crop_h=CROP[0],
        crop_w=CROP[1],
        last=args.width - 1,
        center=args.width // 2,
    )
    for number in range(args.files):
        name = f"file{1000000 + number}.h5"
        rng = np.random.default_rng(number)
        with h5py.File(output / name, "w") as f:
            kspace = f.create_dataset(
                "kspace", (args.slices, args.coils, args.height, args.width), np.complex64
            )
            targets = np.empty((args.slices, *CROP), np.float32)
            for s in range(args.slices):
                image = phantom_slice(args.height, args.width, s, rng)
                coil_kspace = fft2c(maps * image).astype(np.complex64)
                noise = rng.standard_normal((2, *coil_kspace.shape), np.float32)
                coil_kspace += 0.002 * (noise[0] + 1j * noise[1])
                kspace[s] = coil_kspace
                targets[s] = center_crop(rss(ifft2c(coil_kspace)), CROP)
            f.create_dataset("reconstruction_rss", data=targets)
            f.create_dataset("ismrmrd_header", data=header)
            f.attrs["acquisition"] = "CORPD_FBK"
            f.attrs["max"] = np.float64(targets.max())
            f.attrs["norm"] = np.float64(np.linalg.norm(targets))
            f.attrs["patient_id"] = f"bench-{number}"
        print(f"wrote {output / name}", file=sys.stderr)


# ---------------------------------------------------------------------------------------------
# recon


def equispaced_mask(num_cols, file_name):
    """Return fastMRI's EquispacedMaskFunc mask for one (centre fraction, acceleration) pair.

    The generator is numpy's legacy RandomState seeded with the character codes of the file
    name, as fastMRI seeds it. Choosing among one pair calls randint(1), which draws nothing,
    and the offset is randint(0, round(acceleration)).
    """
    rng = np.random.RandomState(tuple(map(ord, file_name)))
    rng.randint(1)
    num_low = round(num_cols * CENTER_FRACTION)
    mask = np.zeros(num_cols, dtype=bool)
    pad = (num_cols - num_low + 1) // 2
    mask[pad : pad + num_low] = True
    offset = rng.randint(0, high=round(ACCELERATION))
    mask[offset::ACCELERATION] = True
    return mask


def reconstruct_file(job):
    source, output = job
    with h5py.File(source, "r") as f:
        dataset = f["kspace"]
        slices, _, _, width = dataset.shape
        mask = equispaced_mask(width, source.name).astype(np.float32)
        volume = np.empty((slices, *CROP), np.float32)
        for s in range(slices):
            # Adding +0.0 turns the -0.0 of dropped negative samples into +0.0.
            kspace = dataset[s] * mask + np.float32(0.0)
            volume[s] = center_crop(rss(ifft2c(kspace)), CROP)
    with h5py.File(Path(output) / source.name, "w") as f:
        f.create_dataset("reconstruction", data=volume)
    return slices


def recon(args):
    inputs = sorted(Path(args.input).glob("*.h5"))
    if not inputs:
        sys.exit(f"no *.h5 files in {args.input}")
    Path(args.output).mkdir(parents=True, exist_ok=True)
    jobs = [(path, args.output) for path in inputs]
    with multiprocessing.Pool(args.workers) as pool:
        slices = sum(pool.map(reconstruct_file, jobs, chunksize=1))
    print(json.dumps({"files": len(inputs), "slices": slices}))


# ---------------------------------------------------------------------------------------------
# compare


def compare(args):
    worst = 0.0
    names = sorted(path.name for path in Path(args.a).glob("*.h5"))
    if not names:
        sys.exit(f"no *.h5 files in {args.a}")
    for name in names:
        with h5py.File(Path(args.a) / name, "r") as fa, h5py.File(Path(args.b) / name, "r") as fb:
            a, b = fa["reconstruction"][()], fb["reconstruction"][()]
        if a.shape != b.shape:
            sys.exit(f"{name}: shapes differ, {a.shape} and {b.shape}")
        worst = max(worst, float(np.max(np.abs(a - b)) / np.max(np.abs(a))))
    print(json.dumps({"files": len(names), "max_relative_difference": worst}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("generate", help="write fastMRI-like multi-coil files")
    p.add_argument("output")
    p.add_argument("--files", type=int, required=True)
    p.add_argument("--slices", type=int, required=True)
    p.add_argument("--coils", type=int, default=15)
    p.add_argument("--height", type=int, default=640)
    p.add_argument("--width", type=int, default=368)
    p.set_defaults(run=generate)
    p = commands.add_parser("recon", help="zero-filled reconstruction of a folder")
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("--workers", type=int, default=2, help="processes in the pool")
    p.set_defaults(run=recon)
    p = commands.add_parser("compare", help="largest difference of two output folders")
    p.add_argument("a")
    p.add_argument("b")
    p.set_defaults(run=compare)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
