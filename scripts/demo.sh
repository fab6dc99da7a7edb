#!/usr/bin/env bash
# The main job: installs what is missing, fetches the scanner phantom, and runs
# pipelines/demo.yaml (4x equispaced mask, zero-filled reconstruction, metrics, files).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
bash scripts/setup.sh
cargo build --quiet --release
bash scripts/fetch_phantom.sh
cargo run --quiet --release -- run pipelines/demo.yaml "$@"
