#!/usr/bin/env bash
# Sets up and builds genrt (tools/setup.sh, with the browser the tests drive), then runs
# every test suite with CTest.
# GPU tests skip with a message when no CUDA device is present.
set -euo pipefail
cd "$(dirname "$0")/.."
# The OpenAI-client tests use the `openai` and `jsonschema` packages from PyPI and the web
# playground's browser test `selenium` (with Debian's chromium and chromium-driver, which
# setup.sh installs), in a virtual environment of the build; without network they are
# skipped (and say so).
py=${BUILD_DIR:-build}/py
if [ ! -x "$py/bin/python" ] || ! "$py/bin/python" -c "import openai, jsonschema, selenium" 2>/dev/null; then
  python3 -m venv "$py" >/dev/null 2>&1 && "$py/bin/pip" install -q openai jsonschema selenium >/dev/null 2>&1 ||
    echo "genrt test: could not install the openai, jsonschema and selenium packages; their tests will be skipped" >&2
fi
[ -x "$py/bin/python" ] && export GENRT_PYTHON="$PWD/$py/bin/python"
tools/setup.sh --with-test-tools
ctest --test-dir "${BUILD_DIR:-build}" -j "${JOBS:-2}" --output-on-failure
