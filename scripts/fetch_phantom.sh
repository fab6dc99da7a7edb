#!/usr/bin/env bash
# Puts a real scanner sample, data/phantom_gre.h5, in fastMRI layout, when it is missing.
#
# Source: example_data/gre.dat of the PyPI sdist twixtools==0.24 (MIT licence), a Siemens 3T
# gradient-echo scan of a structure phantom with 2 receive channels. Debian's `bart twixread -A`
# turns the raw data into BART .cfl/.hdr, and `dps convert` writes the fastMRI file with a
# root-sum-of-squares target.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${DPS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/dps}
python="$cache/libtorch-2.13.0/bin/python"
output="$repo/data/phantom_gre.h5"

if [ -f "$output" ]; then
    echo "[fetch] present: $output"
    exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "[fetch] downloading the twixtools 0.24 source distribution"
"$python" -m pip download -q --disable-pip-version-check --no-deps --no-binary :all: \
    twixtools==0.24 -d "$work"
tar -xzf "$work"/twixtools-0.24.tar.gz -C "$work" twixtools-0.24/example_data/gre.dat

echo "[fetch] converting Siemens raw data with bart twixread"
bart twixread -A "$work/twixtools-0.24/example_data/gre.dat" "$work/phantom_gre" >/dev/null

mkdir -p "$repo/data"
(cd "$repo" && cargo run --quiet --release -- convert --target rss \
    "$work/phantom_gre.cfl" "$output")
echo "[fetch] wrote $output"
