#!/usr/bin/env bash
# Installs the build into a scratch prefix, then builds examples/c_embed (pkg-config)
# and examples/cpp_embed (find_package) against that installation only — not the build
# tree — and runs both on a tiny random-weight model.
#
#   tests/install/run.sh BUILD_DIR
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "$1" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix

cmake --install "$build" --prefix "$prefix" >/dev/null
"$prefix/bin/genrt" init-model --preset tiny --seed 1 --out "$work/model" --log-level error >/dev/null
export LD_LIBRARY_PATH="$prefix/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

# C, through pkg-config, with only the installed headers on the include path.
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
cc -std=c11 -Wall -Wextra -Werror "$src/examples/c_embed/main.c" $(pkg-config --cflags --libs genrt) -o "$work/c_embed"
"$work/c_embed" "$work/model"

# C++, through the CMake package.
cmake -S "$src/examples/cpp_embed" -B "$work/cpp_build" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/cpp_build" >/dev/null
"$work/cpp_build/cpp_embed" "$work/model"
echo "install test: both examples built against $prefix and ran"
