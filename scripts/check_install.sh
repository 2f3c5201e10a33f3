#!/usr/bin/env bash
# Installs the build in BUILD_DIR into a temporary prefix and builds examples/hello
# against it three ways: find_package (shared), find_package (static), pkg-config.
# Each program must run a model. Used by ctest (install_and_consume).
set -euo pipefail
BUILD=${1:?usage: check_install.sh BUILD_DIR}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cmake --install "$BUILD" --prefix "$WORK/prefix" > "$WORK/install.log"
MODEL="${SPARSERT_MODELS_DIR:-$ROOT/build/models}/ops/elementwise_broadcast.onnx"
for linkage in shared static; do
  cmake -S "$ROOT/examples/hello" -B "$WORK/$linkage" -G Ninja -DCMAKE_PREFIX_PATH="$WORK/prefix" \
    -DHELLO_STATIC=$([ $linkage = static ] && echo ON || echo OFF) > "$WORK/cfg-$linkage.log"
  cmake --build "$WORK/$linkage" > "$WORK/build-$linkage.log"
  LD_LIBRARY_PATH="$WORK/prefix/lib" "$WORK/$linkage/hello" "$MODEL"
done
export PKG_CONFIG_PATH="$WORK/prefix/lib/pkgconfig"
c++ -o "$WORK/hello_pc" "$ROOT/examples/hello/hello.cc" $(pkg-config --cflags --libs sparsert)
LD_LIBRARY_PATH="$WORK/prefix/lib" "$WORK/hello_pc" "$MODEL"
echo "install_and_consume: find_package (shared, static) and pkg-config all work"
