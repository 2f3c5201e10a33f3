#!/usr/bin/env bash
# Sets up everything sparsert needs on Debian 12 and builds it:
#   1. Debian packages (only when one is missing: a second run does no apt work),
#   2. the project virtualenv .venv with the pinned PyPI packages,
#   3. a Release build in build/ (Ninja, -j2),
#   4. the test and demo models in build/models/,
#   5. the sparsert Python package (`pip install .`, scikit-build-core) into .venv.
# Every step is skipped when its result is already up to date.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
JOBS=${SPARSERT_JOBS:-2}

APT_PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  libxbyak-dev libdnnl-dev libtbb-dev libhwy-dev libopenblas-dev
  opencl-headers ocl-icd-opencl-dev  # Debian's dnnl CMake config requires them
  libonnx-dev libprotobuf-dev protobuf-compiler zlib1g-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libcli11-dev nlohmann-json3-dev libcpp-httplib-dev
  pybind11-dev python3-dev python3-venv python3-pip
  python3-numpy python3-onnx python3-torch python3-torchvision python3-matplotlib
)

log() { printf '[setup] %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

install_apt_packages() {
  local missing=()
  for p in "${APT_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$p")
    fi
  done
  if [ ${#missing[@]} -eq 0 ]; then
    log "Debian packages: all ${#APT_PACKAGES[@]} present"
    return
  fi
  log "Debian packages: installing ${missing[*]}"
  as_root apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

setup_venv() {
  local stamp=.venv/.requirements.sha256
  local want
  want=$(sha256sum scripts/requirements.txt | cut -d' ' -f1)
  if [ -x .venv/bin/python ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    log "virtualenv: .venv up to date"
    return
  fi
  log "virtualenv: creating .venv (Debian python3, --system-site-packages)"
  [ -x .venv/bin/python ] || /usr/bin/python3 -m venv --system-site-packages .venv
  .venv/bin/python -m pip install -q --disable-pip-version-check -r scripts/requirements.txt
  echo "$want" > "$stamp"
}

build() {
  if [ ! -f build/build.ninja ]; then
    log "configure: build/ (Release, Ninja)"
    cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DPython3_EXECUTABLE="$ROOT/.venv/bin/python"
  fi
  log "build: cmake --build build -j$JOBS"
  cmake --build build -j "$JOBS"
}

install_python_package() {
  # pyproject.toml keeps its CMake build in build/wheel-*: after the first
  # build this is an incremental one. No build isolation: .venv's pinned
  # scikit-build-core and pybind11 build it, offline.
  log "python: pip install . (sparsert into .venv)"
  .venv/bin/python -m pip install -q --disable-pip-version-check --no-build-isolation .
}

generate_models() {
  # The generator keeps its own stamp: nothing is rewritten when the scripts are unchanged.
  .venv/bin/python tests/models/generate.py --set default --out build/models
}

install_apt_packages
setup_venv
build
generate_models
install_python_package
log "done. Try: ./build/sparse_run"
