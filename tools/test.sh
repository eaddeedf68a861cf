#!/usr/bin/env bash
# Sets up and builds genrt (tools/setup.sh), then runs every test suite with CTest.
# GPU tests skip with a message when no CUDA device is present.
set -euo pipefail
cd "$(dirname "$0")/.."
# The OpenAI-client test uses the `openai` package from PyPI, in a virtual environment of
# the build; without network it is skipped (and says so).
py=${BUILD_DIR:-build}/py
if [ ! -x "$py/bin/python" ] || ! "$py/bin/python" -c "import openai" 2>/dev/null; then
  python3 -m venv "$py" >/dev/null 2>&1 && "$py/bin/pip" install -q openai >/dev/null 2>&1 ||
    echo "genrt test: could not install the openai package; its client test will be skipped" >&2
fi
[ -x "$py/bin/python" ] && export GENRT_PYTHON="$PWD/$py/bin/python"
tools/setup.sh
ctest --test-dir "${BUILD_DIR:-build}" -j "${JOBS:-2}" --output-on-failure
