#!/usr/bin/env bash
# Sets up and builds genrt (tools/setup.sh), then runs every test suite with CTest.
# GPU tests skip with a message when no CUDA device is present.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
ctest --test-dir "${BUILD_DIR:-build}" -j "${JOBS:-2}" --output-on-failure
