"""Write fastMRI-like HDF5 test files with h5py, and report how h5py reads files.

Usage:
    fixtures.py write DIR        write every fixture into DIR, plus h5py's view of each slice
    fixtures.py large FILE       write a 105 MB multi-coil volume (10, 16, 320, 256), slice by slice
    fixtures.py dump FILE DIR    write h5py's view of FILE's datasets into DIR
    fixtures.py describe FILE    print FILE's datasets and attributes as h5py reads them (JSON)
    fixtures.py compare FILE     rebuild FILE's contents with h5py and print the differences
                                 in on-disk types, shapes and attribute types (JSON)

A dump writes one file per slice, NAME.DATASET.INDEX.bin, as raw little-endian complex64 for
complex k-space, float32 for targets and uint8 (0 or 1) for masks, each in C order. The Rust
tests compare the reader against these files, so both sides are read by independent code.
"""

import json
import os
import sys
import tempfile

import h5py
import numpy as np

ISMRMRD_HEADER = """<?xml version="1.0" encoding="utf-8"?>
<ismrmrdHeader xmlns="http://www.ismrm.org/ISMRMRD" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://www.ismrm.org/ISMRMRD ismrmrd.xsd">
  <studyInformation><studyTime>10:15:00</studyTime></studyInformation>
  <measurementInformation><patientPosition>HFS</patientPosition></measurementInformation>
  <acquisitionSystemInformation>
    <systemVendor>SIEMENS</systemVendor>
    <systemFieldStrength_T>2.89362</systemFieldStrength_T>
    <receiverChannels>{coils}</receiverChannels>
  </acquisitionSystemInformation>
  <experimentalConditions><H1resonanceFrequency_Hz>123251815</H1resonanceFrequency_Hz></experimentalConditions>
  <encoding>
    <encodedSpace>
      <matrixSize><x>{enc_x}</x><y>{enc_y}</y><z>1</z></matrixSize>
      <fieldOfView_mm><x>280</x><y>140</y><z>4.5</z></fieldOfView_mm>
    </encodedSpace>
    <reconSpace>
      <matrixSize><x>{rec_x}</x><y>{rec_y}</y><z>1</z></matrixSize>
      <fieldOfView_mm><x>140</x><y>140</y><z>3</z></fieldOfView_mm>
    </reconSpace>
    <trajectory>cartesian</trajectory>
    <encodingLimits>
      <kspace_encoding_step_1><minimum>0</minimum><maximum>{maximum}</maximum><center>{center}</center></kspace_encoding_step_1>
      <kspace_encoding_step_2><minimum>0</minimum><maximum>0</maximum><center>0</center></kspace_encoding_step_2>
      <slice><minimum>0</minimum><maximum>{last_slice}</maximum><center>0</center></slice>
    </encodingLimits>
  </encoding>
  <sequenceParameters><TR>2750</TR><TE>27</TE></sequenceParameters>
</ismrmrdHeader>
"""


def header(shape, recon, center, maximum):
    """ISMRMRD XML for k-space of shape (slices, [coils,] H, W)."""
    coils = shape[1] if len(shape) == 4 else 1
    return ISMRMRD_HEADER.format(
        coils=coils,
        enc_x=shape[-2],
        enc_y=shape[-1],
        rec_x=recon[0],
        rec_y=recon[1],
        center=center,
        maximum=maximum,
        last_slice=shape[0] - 1,
    )


def full_header(shape, recon):
    """Header of a fully sampled acquisition with no padded columns."""
    width = shape[-1]
    return header(shape, recon, width // 2, width - 1)


def random_kspace(rng, shape, dtype=np.complex64):
    real = rng.standard_normal(shape)
    imag = rng.standard_normal(shape)
    return (real + 1j * imag).astype(dtype)


def random_target(rng, shape):
    return rng.random(shape, dtype=np.float32)


def write_volume(path, kspace, hdr=None, targets=None, attrs=None, mask=None):
    with h5py.File(path, "w") as f:
        f["kspace"] = kspace
        if hdr is not None:
            f["ismrmrd_header"] = hdr
        for name, target in (targets or {}).items():
            f[name] = target
        if mask is not None:
            f["mask"] = mask
        for name, value in (attrs or {}).items():
            f.attrs[name] = value


def compound_kspace(kspace, names, member_dtype):
    dtype = np.dtype([(names[0], member_dtype), (names[1], member_dtype)])
    out = np.empty(kspace.shape, dtype)
    out[names[0]] = kspace.real
    out[names[1]] = kspace.imag
    return out


GOOD_FIXTURES = [
    "knee_singlecoil.h5",
    "multicoil.h5",
    "test_mask1d.h5",
    "mask_uint8.h5",
    "mask_float.h5",
    "mask2d.h5",
    "real_imag.h5",
    "float64_members.h5",
    "real_imag_f64.h5",
    "fixed_header.h5",
    "fixed_header_utf8.h5",
    "no_header.h5",
    "no_header_target.h5",
]


def write_good_fixtures(folder, rng):
    """Files the reader must accept."""
    knee_shape = (2, 640, 372)
    knee = random_kspace(rng, knee_shape)
    # Columns outside [18, 352) are zero padding, as the header's limits state.
    knee[..., :18] = 0
    knee[..., 352:] = 0
    esc = random_target(rng, (2, 320, 320))
    rss = random_target(rng, (2, 320, 320))
    write_volume(
        os.path.join(folder, "knee_singlecoil.h5"),
        knee,
        hdr=header(knee_shape, (320, 320), center=168, maximum=333),
        targets={"reconstruction_esc": esc, "reconstruction_rss": rss},
        attrs={
            "acquisition": "CORPD_FBK",
            "max": float(esc.max()),
            "norm": float(np.linalg.norm(esc)),
            "patient_id": "knee-patient-7",
            "custom_list": np.array([1.5, 2.5]),
            "flag": np.bool_(True),
            "count": np.int32(12),
        },
    )

    multi_shape = (5, 4, 64, 48)
    write_volume(
        os.path.join(folder, "multicoil.h5"),
        random_kspace(rng, multi_shape),
        hdr=full_header(multi_shape, (32, 32)),
        targets={"reconstruction_rss": random_target(rng, (5, 32, 32))},
        attrs={"acquisition": "AXT2", "patient_id": "brain-patient-2", "max": 1.0, "norm": 2.0},
    )

    test_shape = (2, 3, 32, 24)
    column_mask = np.zeros(24, dtype=bool)
    column_mask[[0, 4, 8, 11, 12, 13, 16, 20]] = True
    write_volume(
        os.path.join(folder, "test_mask1d.h5"),
        random_kspace(rng, test_shape),
        hdr=full_header(test_shape, (24, 24)),
        mask=column_mask,
        attrs={"acceleration": 4, "num_low_frequency": 3, "acquisition": "AXFLAIR"},
    )
    write_volume(
        os.path.join(folder, "mask_uint8.h5"),
        random_kspace(rng, test_shape),
        mask=column_mask.astype(np.uint8),
    )
    write_volume(
        os.path.join(folder, "mask_float.h5"),
        random_kspace(rng, test_shape),
        mask=column_mask.astype(np.float32),
    )
    grid_mask = rng.random((16, 20)) < 0.3
    write_volume(
        os.path.join(folder, "mask2d.h5"),
        random_kspace(rng, (1, 2, 16, 20)),
        hdr=full_header((1, 2, 16, 20), (16, 20)),
        mask=grid_mask,
    )

    small = random_kspace(rng, (2, 16, 12))
    write_volume(
        os.path.join(folder, "real_imag.h5"),
        compound_kspace(small, ("real", "imag"), np.float32),
        hdr=full_header(small.shape, (12, 12)),
    )
    write_volume(
        os.path.join(folder, "float64_members.h5"),
        random_kspace(rng, (2, 2, 16, 12), dtype=np.complex128),
    )
    write_volume(
        os.path.join(folder, "real_imag_f64.h5"),
        compound_kspace(random_kspace(rng, (2, 16, 12), np.complex128), ("imag", "real"), np.float64),
    )

    hdr = full_header(small.shape, (10, 12))
    write_volume(os.path.join(folder, "fixed_header.h5"), small, hdr=np.bytes_(hdr.encode()))
    with h5py.File(os.path.join(folder, "fixed_header_utf8.h5"), "w") as f:
        f["kspace"] = small
        encoded = hdr.encode("utf-8")
        f.create_dataset("ismrmrd_header", data=encoded, dtype=h5py.string_dtype("utf-8", len(encoded)))

    write_volume(os.path.join(folder, "no_header.h5"), random_kspace(rng, (1, 40, 30)))
    write_volume(
        os.path.join(folder, "no_header_target.h5"),
        random_kspace(rng, (1, 2, 40, 30)),
        targets={"reconstruction_rss": random_target(rng, (1, 20, 24))},
    )


def write_bad_fixtures(folder, rng):
    """Files the reader must reject with a clear error."""
    write_volume(os.path.join(folder, "int32_kspace.h5"), np.ones((2, 16, 12), dtype=np.int32))
    write_volume(os.path.join(folder, "kspace_2d.h5"), random_kspace(rng, (16, 12)))
    write_volume(
        os.path.join(folder, "other_members.h5"),
        compound_kspace(random_kspace(rng, (2, 16, 12)), ("x", "y"), np.float32),
    )
    with h5py.File(os.path.join(folder, "missing_kspace.h5"), "w") as f:
        f["reconstruction_rss"] = random_target(rng, (1, 8, 8))
        f["ismrmrd_header"] = full_header((1, 8, 8), (8, 8))
    open(os.path.join(folder, "empty.h5"), "wb").close()
    with open(os.path.join(folder, "text.h5"), "w") as f:
        f.write("this is a text file, not HDF5\n" * 20)
    with open(os.path.join(folder, "multicoil.h5"), "rb") as f:
        content = f.read()
    with open(os.path.join(folder, "truncated.h5"), "wb") as f:
        f.write(content[: len(content) // 2])

    nan_kspace = random_kspace(rng, (3, 2, 16, 12))
    nan_kspace[1, 1, 5, 7] = np.nan
    nan_kspace[1, 0, 9, 2] = complex(0, np.nan)
    nan_kspace[2, 0, 0, 3] = complex(np.inf, 0)
    write_volume(os.path.join(folder, "nan_slice.h5"), nan_kspace)

    test_shape = (2, 3, 32, 24)
    bad_mask = np.zeros(24, dtype=np.uint8)
    bad_mask[5] = 2
    write_volume(os.path.join(folder, "mask_bad_values.h5"), random_kspace(rng, test_shape), mask=bad_mask)
    # A numpy bool mask whose stored byte at index 3 is 2, which no bool writer produces but a
    # corrupt file can contain. The contiguous data is patched in place.
    raw_bool = os.path.join(folder, "mask_bool_raw2.h5")
    write_volume(raw_bool, random_kspace(rng, test_shape), mask=np.zeros(24, dtype=bool))
    with h5py.File(raw_bool, "r") as f:
        offset = f["mask"].id.get_offset()
    with open(raw_bool, "r+b") as f:
        f.seek(offset + 3)
        f.write(b"\x02")
    write_volume(
        os.path.join(folder, "mask_bad_shape.h5"),
        random_kspace(rng, test_shape),
        mask=np.ones(23, dtype=bool),
    )
    write_volume(
        os.path.join(folder, "target_int16.h5"),
        random_kspace(rng, (2, 16, 12)),
        targets={"reconstruction_rss": np.ones((2, 8, 8), dtype=np.int16)},
    )
    write_volume(
        os.path.join(folder, "target_slices.h5"),
        random_kspace(rng, (2, 16, 12)),
        targets={"reconstruction_rss": random_target(rng, (3, 8, 8))},
    )
    write_volume(
        os.path.join(folder, "bad_header.h5"),
        random_kspace(rng, (2, 16, 12)),
        hdr="<ismrmrdHeader xmlns='http://www.ismrm.org/ISMRMRD'><encoding></encoding></ismrmrdHeader>",
    )


def write_large(path):
    """A volume ten times larger than one slice, written without holding it in memory."""
    shape = (10, 16, 320, 256)
    rng = np.random.default_rng(7)
    with h5py.File(path, "w") as f:
        dataset = f.create_dataset("kspace", shape=shape, dtype=np.complex64)
        for index in range(shape[0]):
            dataset[index] = random_kspace(rng, shape[1:])
        f["ismrmrd_header"] = full_header(shape, (256, 256))


def as_complex64(data):
    """h5py's array as numpy complex64, whatever the compound's member names."""
    if data.dtype.names is None:
        return data.astype(np.complex64)
    names = set(data.dtype.names)
    real, imag = ("r", "i") if names == {"r", "i"} else ("real", "imag")
    return data[real].astype(np.float32) + 1j * data[imag].astype(np.float32)


def dump(path, folder):
    """Write h5py's view of each slice of FILE's kspace, targets and mask into FOLDER."""
    stem = os.path.splitext(os.path.basename(path))[0]
    with h5py.File(path, "r") as f:
        for name in f:
            dataset = f[name]
            if name == "kspace":
                slices = [as_complex64(dataset[i]).astype("<c8") for i in range(dataset.shape[0])]
            elif name.startswith("reconstruction"):
                slices = [dataset[i].astype("<f4") for i in range(dataset.shape[0])]
            elif name == "mask":
                slices = [(dataset[()] != 0).astype(np.uint8)]
            else:
                continue
            for index, data in enumerate(slices):
                out = os.path.join(folder, f"{stem}.{name}.{index}.bin")
                np.ascontiguousarray(data).tofile(out)


def describe_type(tid):
    """The parts of an HDF5 type that decide whether h5py reads it as the same numpy dtype."""
    cls = tid.get_class()
    out = {"class": int(cls), "size": int(tid.get_size())}
    if cls == h5py.h5t.COMPOUND:
        out["members"] = [
            [tid.get_member_name(i).decode(), describe_type(tid.get_member_type(i)), tid.get_member_offset(i)]
            for i in range(tid.get_nmembers())
        ]
    elif cls == h5py.h5t.STRING:
        out["variable"] = bool(tid.is_variable_str())
        out["cset"] = int(tid.get_cset())
    elif cls == h5py.h5t.ENUM:
        out["base"] = describe_type(tid.get_super())
        out["members"] = [
            [tid.get_member_name(i).decode(), int(tid.get_member_value(i))] for i in range(tid.get_nmembers())
        ]
    elif cls in (h5py.h5t.FLOAT, h5py.h5t.INTEGER):
        out["order"] = int(tid.get_order())
        if cls == h5py.h5t.INTEGER:
            out["signed"] = int(tid.get_sign())
    return out


def describe(path):
    with h5py.File(path, "r") as f:
        datasets = {
            name: {
                "shape": list(f[name].shape),
                "dtype": str(f[name].dtype),
                "type": describe_type(f[name].id.get_type()),
            }
            for name in f
        }
        attrs = {}
        for name in f.attrs:
            value = f.attrs[name]
            if isinstance(value, bytes):
                value = value.decode()
            elif isinstance(value, np.generic):
                value = value.item()
            elif isinstance(value, np.ndarray):
                value = value.tolist()
            attrs[name] = {"value": value, "type": describe_type(f.attrs.get_id(name).get_type())}
    return {"datasets": datasets, "attrs": attrs}


def compare(path):
    """Rebuild FILE with h5py from the values it contains and list type or shape differences."""
    differences = []
    with tempfile.TemporaryDirectory() as folder:
        rebuilt = os.path.join(folder, "rebuilt.h5")
        with h5py.File(path, "r") as original, h5py.File(rebuilt, "w") as copy:
            for name in original:
                value = original[name][()]
                if name == "ismrmrd_header":
                    value = value.decode() if isinstance(value, bytes) else value
                copy[name] = value
            for name in original.attrs:
                value = original.attrs[name]
                if isinstance(value, bytes):
                    value = value.decode()
                elif isinstance(value, np.generic):
                    value = value.item()
                copy.attrs[name] = value
        ours, theirs = describe(path), describe(rebuilt)
        for name, info in theirs["datasets"].items():
            if ours["datasets"].get(name) != info:
                differences.append({"dataset": name, "ours": ours["datasets"].get(name), "h5py": info})
        for name, info in theirs["attrs"].items():
            if ours["attrs"].get(name, {}).get("type") != info["type"]:
                differences.append({"attribute": name, "ours": ours["attrs"].get(name), "h5py": info})
    return differences


def main():
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "write" and len(sys.argv) == 3:
        folder = sys.argv[2]
        os.makedirs(folder, exist_ok=True)
        rng = np.random.default_rng(20240531)
        write_good_fixtures(folder, rng)
        write_bad_fixtures(folder, rng)
        for name in GOOD_FIXTURES:
            dump(os.path.join(folder, name), folder)
    elif command == "large" and len(sys.argv) == 3:
        write_large(sys.argv[2])
    elif command == "dump" and len(sys.argv) == 4:
        dump(sys.argv[2], sys.argv[3])
    elif command == "describe" and len(sys.argv) == 3:
        print(json.dumps(describe(sys.argv[2])))
    elif command == "compare" and len(sys.argv) == 3:
        print(json.dumps(compare(sys.argv[2])))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
