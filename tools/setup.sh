#!/usr/bin/env bash
# Installs what genrt needs to build (Debian/Ubuntu packages), then configures and
# builds it into build/. Safe to re-run: installs only what is missing, rebuilds
# incrementally. Environment: GENRT_CUDA=AUTO|ON|OFF (default AUTO), BUILD_DIR.
#
#   tools/setup.sh [--with-test-tools]    (also what the tests drive: headless Chromium
#                                          and chromedriver, for the web playground's test)
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(g++ cmake ninja-build pkg-config libspdlog-dev nlohmann-json3-dev libcli11-dev
          googletest libgtest-dev libgmock-dev libpcre2-dev libutf8proc-dev libpng-dev libcairo2-dev
          libcpp-httplib-dev python3-venv patchelf)
if [ "${1:-}" = --with-test-tools ]; then
  packages+=(chromium chromium-driver)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "genrt setup: installing ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# nvcc usually lives outside PATH; CMake finds it through PATH.
if ! command -v nvcc >/dev/null && [ -x /usr/local/cuda/bin/nvcc ]; then
  export PATH=/usr/local/cuda/bin:$PATH
fi

# cudnn-frontend's headers (PyPI) for the cuDNN SDPA peer of `genrt bench`; without them
# (offline) the bench reports that peer as missing.
if [ "${GENRT_CUDA:-AUTO}" != OFF ] && command -v nvcc >/dev/null; then
  python3 tools/fetch_cudnn_frontend.py ||
    echo "genrt setup: could not fetch cudnn-frontend; genrt bench will run without its cuDNN peer" >&2
fi

build_dir=${BUILD_DIR:-build}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DGENRT_CUDA="${GENRT_CUDA:-AUTO}" \
  ${GENRT_PYTHON:+-DGENRT_PYTHON="$GENRT_PYTHON"} >/dev/null
cmake --build "$build_dir" -j "${JOBS:-2}"
