#!/usr/bin/env bash
# Installs what building and testing dps needs, and skips whatever is already in place.
#
# - Debian packages: HDF5 (headers and library), pkg-config, BART (for `bart twixread`), and
#   DejaVu fonts for the text of result plots.
# - libtorch 2.13 as the PyPI wheel torch==2.13.0, in a virtual environment under the user's
#   cache folder (shared by every clone), together with numpy, h5py, scipy and scikit-image,
#   which the tests use as independent references.
# - .cargo/config.toml in this clone, pointing torch-sys at that libtorch. build.rs then embeds
#   its library folder as an rpath, so binaries run without LD_LIBRARY_PATH.
#
# Environment: DPS_CACHE_DIR overrides the cache folder (default $XDG_CACHE_HOME/dps or
# ~/.cache/dps).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${DPS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/dps}
venv="$cache/libtorch-2.13.0"
python_packages=(torch==2.13.0 numpy h5py scipy scikit-image)

log() { printf '[setup] %s\n' "$*"; }

install_debian_packages() {
    local wanted=(libhdf5-dev pkg-config bart fonts-dejavu-core) missing=()
    for package in "${wanted[@]}"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
            missing+=("$package")
    done
    if [ ${#missing[@]} -eq 0 ]; then
        log "Debian packages present: ${wanted[*]}"
        return
    fi
    log "installing Debian packages: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

install_python_env() {
    local stamp="$venv/.dps-packages"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "${python_packages[*]}" ] &&
        "$venv/bin/python" -c "import torch, numpy, h5py, scipy, skimage" 2>/dev/null; then
        log "Python environment present: $venv"
        return
    fi
    log "creating Python environment with ${python_packages[*]} in $venv (about 5 GB)"
    mkdir -p "$cache"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check "${python_packages[@]}"
    echo "${python_packages[*]}" >"$stamp"
}

write_cargo_config() {
    local torch_dir
    torch_dir=$("$venv/bin/python" -c "import os, torch; print(os.path.dirname(torch.__file__))")
    local abi
    abi=$("$venv/bin/python" -c "import torch; print(int(torch._C._GLIBCXX_USE_CXX11_ABI))")
    local config="$repo/.cargo/config.toml"
    local content
    content=$(printf '%s\n' \
        "# Written by scripts/setup.sh: where torch-sys finds libtorch. Not tracked by git." \
        "[env]" \
        "LIBTORCH = \"$torch_dir\"" \
        "LIBTORCH_CXX11_ABI = \"$abi\"" \
        "DPS_PYTHON = \"$venv/bin/python\"")
    if [ -f "$config" ] && [ "$(cat "$config")" = "$content" ]; then
        log "cargo configuration present: $config"
        return
    fi
    mkdir -p "$repo/.cargo"
    printf '%s\n' "$content" >"$config"
    log "wrote $config"
}

install_debian_packages
install_python_env
write_cargo_config
