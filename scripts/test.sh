#!/usr/bin/env bash
# The test suite: installs what is missing, then checks formatting and lints and runs every
# test with and without the libtorch feature.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
bash scripts/setup.sh
bash scripts/fetch_mnist.sh

# A clone made elsewhere (a CI scratch folder) finds the data beside the checkout it was cloned
# from, when neither DPS_DATA_DIR nor a data folder beside itself is there.
if [ -z "${DPS_DATA_DIR:-}" ] && [ ! -d "$repo/../shared/data" ]; then
    origin=$(git -C "$repo" remote get-url origin 2>/dev/null || true)
    if [ -n "$origin" ] && [ -d "$origin/../shared/data" ]; then
        DPS_DATA_DIR=$(cd "$origin/../shared/data" && pwd)
        export DPS_DATA_DIR
        echo "[test] using the data of the origin checkout: $DPS_DATA_DIR" >&2
    fi
fi
data=${DPS_DATA_DIR:-$repo/../shared/data}
if [ ! -d "$data/mri" ]; then
    echo "[test] note: real data not found in $data; tests that need it will fail." \
        "Set DPS_DATA_DIR to the folder that holds mri/ and cifar10/." >&2
fi

cargo fmt --check
cargo clippy --quiet --no-default-features --all-targets -- -D warnings
cargo clippy --quiet --all-targets -- -D warnings
cargo test --no-default-features
cargo test
