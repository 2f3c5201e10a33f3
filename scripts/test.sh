#!/usr/bin/env bash
# Runs the whole test suite; exits non-zero on any failure.
#   ./scripts/test.sh                 Release C++ tests (ctest), Python tests (pytest),
#                                     full-size models vs ORT, then the C++ tests again
#                                     under ASan+UBSan
#   ./scripts/test.sh --no-sanitize   skip the sanitizer build (quicker local loop)
#   ./scripts/test.sh --sanitize      only the sanitizer build and its C++ tests
# Builds whatever is missing first (scripts/setup.sh must have run once).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
JOBS=${SPARSERT_JOBS:-2}
RUN_MAIN=1
RUN_SANITIZE=1
for arg in "$@"; do
  case "$arg" in
    --no-sanitize) RUN_SANITIZE=0 ;;
    --sanitize) RUN_MAIN=0 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "test.sh: unknown option '$arg' (see --help)" >&2; exit 2 ;;
  esac
done

log() { printf '[test] %s\n' "$*"; }

if [ ! -x .venv/bin/python ]; then
  echo "test.sh: .venv is missing; run ./scripts/setup.sh first" >&2
  exit 2
fi

if [ "$RUN_MAIN" = 1 ]; then
  if [ ! -f build/build.ninja ]; then
    cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DPython3_EXECUTABLE="$ROOT/.venv/bin/python"
  fi
  log "build (Release)"
  cmake --build build -j "$JOBS"
  .venv/bin/python tests/models/generate.py --set default --out build/models
  log "C++ tests (Release)"
  ctest --test-dir build --output-on-failure -j "$JOBS"
  log "Python tests"
  SPARSERT_BUILD_DIR="$ROOT/build" SPARSERT_EXPECT_WHEEL=1 .venv/bin/python -m pytest -q tests/python
  # Full-size BERT-base, MobileNetV2, ResNet-50 (opsets 13/17) and a GPT-2 block
  # against ORT, optimized and as the reference plan. Release only: the
  # reference kernels take minutes under the sanitizers.
  log "full-size models vs ONNX Runtime (Release)"
  .venv/bin/python tests/models/generate.py --set large --out build/models-large
  SPARSERT_MODELS_DIR="$ROOT/build/models-large" build/tests/runtime_tests --gtest_filter='GeneratedModels/*' --gtest_brief=1
fi

if [ "$RUN_SANITIZE" = 1 ]; then
  if [ ! -f build-sanitize/build.ninja ]; then
    cmake -S . -B build-sanitize -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DSPARSERT_SANITIZE=address,undefined -DSPARSERT_BUILD_PERF=OFF -DSPARSERT_BUILD_PYTHON=OFF \
      -DPython3_EXECUTABLE="$ROOT/.venv/bin/python"
  fi
  log "build (ASan+UBSan)"
  cmake --build build-sanitize -j "$JOBS"
  [ -d build/models ] || .venv/bin/python tests/models/generate.py --set default --out build/models
  log "C++ tests (ASan+UBSan)"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-sanitize --output-on-failure -j "$JOBS" -LE no_sanitize
fi
