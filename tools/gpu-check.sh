#!/usr/bin/env bash
# GPU truth for genrt within a lent GPU's few minutes (README.md, "GPU check"):
#
#   tools/gpu-check.sh bundle    here, where nvcc is: a Release build of genrt and
#                                genrt_gpu_tests for sm_90a, packed with the libraries the
#                                GPU machine lacks, ../shared's model and these scripts into
#                                .gpu-bundle/ (git-ignored, under 40 MiB; tests/data is read
#                                from the working tree, which travels with it)
#   tools/gpu-check.sh run [--stages S0,S1,S2,S3,S4] [--filter GTEST_FILTER]
#                                on the GPU machine (device tool, carry [".gpu-bundle"]):
#                                the staged check of tools/gpu_check_run.py, ending within
#                                540 s, results in $OUT (summary.json first)
#   tools/gpu-check.sh selftest  CI, without a GPU: bundle, size, libraries, and a run from a
#                                copy outside the tree that must report "no device"
#
# GENRT_BUNDLE_FROM=DIR makes bundle and selftest pack DIR, an existing CUDA build of this
# tree for sm_90a (CI's build/), instead of configuring and compiling build-bundle/: the
# binaries are the same, and CI saves a second full build.
#   tools/gpu-check.sh prepare   here: header-only dependencies and GoogleTest's source into
#                                .carry/, for building from source where the bundle's
#                                libraries do not resolve (the run's fallback)
#
# The GPU machine has nvcc, cmake, ninja, python3 with PyTorch (cuBLAS and cuDNN in its
# environment) but no Debian packages or network.
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
carry=.carry
bundle_dir=${GENRT_BUNDLE_DIR:-.gpu-bundle}
# The CUDA libraries the device has (the driver's libcuda, the toolkit's and PyTorch's
# cuBLAS/cuDNN): never packed, and allowed to be unresolved when CI checks the bundle.
device_libs='^(libcuda\.so|libcublas|libcublasLt|libcudnn|libnvidia-)'

bundle() {
  cd "$repo" || exit 1
  local start=$SECONDS build=${GENRT_BUNDLE_FROM:-build-bundle} out=$bundle_dir
  export PATH=/usr/local/cuda/bin:$PATH
  [ -d "$carry/include" ] || prepare || exit 1
  if [ -n "${GENRT_BUNDLE_FROM:-}" ]; then
    # The CUDA flags CMake wrote name the architectures; the device is an sm_90a H200.
    grep -q 'CMAKE_BUILD_TYPE:STRING=Release' "$build/CMakeCache.txt" 2>/dev/null &&
      grep -q 'generate-code=arch=compute_90a,code=\[compute_90a,sm_90a\]' "$build/build.ninja" || {
      echo "bundle: GENRT_BUNDLE_FROM=$build is not a Release CUDA build for sm_90a" >&2
      exit 1
    }
  else
    # PRE_TEST discovery: the GPU tests are listed when CTest runs, not by running the
    # binary at build time.
    cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DGENRT_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90a \
      -DGENRT_DEPS_DIR="$repo/$carry" -DCMAKE_GTEST_DISCOVER_TESTS_DISCOVERY_MODE=PRE_TEST >/dev/null || exit 1
  fi
  cmake --build "$build" -j "${JOBS:-2}" --target genrt_cli genrt_gpu_tests || exit 1
  rm -rf "$out" && mkdir -p "$out/bin" "$out/lib" "$out/data" "$out/scripts"
  cp "$build/genrt" "$build/tests/genrt_gpu_tests" "$out/bin/"
  for b in "$out"/bin/*; do
    strip "$b" && patchelf --set-rpath '$ORIGIN/../lib' "$b" || exit 1
  done
  # Every shared library the binaries resolve here, except glibc's and the device's own CUDA
  # libraries (cuBLASLt and cuBLAS are opened at run time, cudart is linked statically), so
  # libstdc++, libgcc_s and libgomp are carried (the device's image may be older than this
  # compiler).
  ldd "$out"/bin/* | awk '/=> \// {print $1, $3}' | sort -u | while read -r name path; do
    case "$name" in
      linux-vdso* | ld-linux* | libc.so* | libm.so* | libpthread* | libdl.so* | librt.so*) ;;
      *) echo "$name" | grep -Eq "$device_libs" || cp -L "$path" "$out/lib/$name" ;;
    esac
  done
  # RUNPATH serves only a file's own dependencies: the packed libraries look beside themselves
  # for theirs (libcpp-httplib for libssl and brotli).
  for lib in "$out"/lib/*; do
    patchelf --set-rpath '$ORIGIN' "$lib" || exit 1
  done
  # The tests' data travels with the working tree (the run reads it there), not twice; of
  # ../shared only the model the GPU tests read (its tokenizers are the CPU tests').
  mkdir -p "$out/data/shared" && cp -r ../shared/models "$out/data/shared/"
  cp tools/gpu-check.sh tools/gpu_check_run.py bench/peers/torch_peer.py "$out/scripts/"
  git rev-parse HEAD >"$out/commit" 2>/dev/null || echo unknown >"$out/commit"
  if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
    sed -i 's/$/-dirty/' "$out/commit"
  fi
  local size_kib
  size_kib=$(du -sk "$out" | cut -f1)
  echo "bundle: $out ($((size_kib / 1024)) MiB, commit $(cat "$out/commit")) in $((SECONDS - start)) s"
  if ((size_kib > 40 * 1024)); then
    echo "bundle: $out is over 40 MiB" >&2
    exit 1
  fi
}

# Fails when a packed binary needs a library that neither the bundle nor the device has.
check_bundle_libraries() {
  local dir=${1:-$repo/$bundle_dir} missing
  missing=$(LD_LIBRARY_PATH= ldd "$dir"/bin/* | awk '/not found/ {print $1}' | sort -u | grep -Ev "$device_libs")
  if [ -n "$missing" ]; then
    echo "bundle: unresolved libraries: $missing" >&2
    return 1
  fi
  echo "bundle: every library resolves (the device's CUDA libraries aside)"
}

# CI, without a GPU: the bundle builds, fits, resolves its libraries, and a copy of it
# outside the tree reports "no device" with every stage skipped for that reason.
selftest() {
  bundle || exit 1
  check_bundle_libraries || exit 1
  local copy out
  copy=$(mktemp -d) && out=$(mktemp -d)
  cp -r "$repo/$bundle_dir" "$copy/bundle"
  (cd / && OUT=$out "$copy/bundle/scripts/gpu-check.sh" run) || exit 1
  python3 - "$out/summary.json" <<'PY' || exit 1
import json, sys
s = json.load(open(sys.argv[1]))
stages = s["stages"]
reason = stages["S0"].get("reason", "")
assert stages["S0"]["status"] == "skipped" and reason, f"S0 should be skipped with a reason: {stages['S0']}"
assert set(stages) == {"S0", "S1", "S2", "S3", "S4"}, sorted(stages)
for key, stage in stages.items():
    assert stage["status"] == "skipped" and stage["reason"] == reason, f"{key}: {stage}"
print(f"gpu-check selftest: no device ({reason}); every stage skipped for that reason")
PY
  # The sanitizer stage picks tests by name: a renamed test must not drop out of it unseen.
  python3 - "$copy/bundle" <<'PY' || exit 1
import fnmatch, pathlib, subprocess, sys
bundle = pathlib.Path(sys.argv[1])
sys.path.insert(0, str(bundle / "scripts"))
import gpu_check_run as check
listing = subprocess.run([str(bundle / "bin" / "genrt_gpu_tests"), "--gtest_list_tests"], capture_output=True,
                         text=True, check=True).stdout
names, suite = [], ""
for line in listing.splitlines():
    if not line.startswith(" "):
        suite = line.strip()
    else:
        names.append(suite + line.split("#")[0].strip())
stale = [c for c in check.MEMCHECK_CASES + check.RACE_CASES if not fnmatch.filter(names, c)]
assert not stale, f"sanitizer cases that name no test: {stale}"
print(f"gpu-check selftest: every sanitizer case names one of the {len(names)} GPU tests")
PY
  rm -rf "$copy" "$out"
}

run() {
  # The bundle: the folder above this script when it runs from a bundle's scripts/,
  # else .gpu-bundle in the repository.
  local here dir
  here=$(cd "$(dirname "$0")" && pwd)
  if [ -x "$here/../bin/genrt_gpu_tests" ]; then dir=$(cd "$here/.." && pwd); else dir=$repo/$bundle_dir; fi
  [ -x "$dir/bin/genrt_gpu_tests" ] || { echo "no bundle at $dir: run 'tools/gpu-check.sh bundle' here first" >&2; exit 2; }
  local out=${OUT:-$dir/out}
  GENRT_SOURCE_TREE=$repo exec python3 "$dir/scripts/gpu_check_run.py" "$dir" "$out" "$@"
}

prepare() {
  cd "$repo" || exit 1
  rm -rf "$carry" && mkdir -p "$carry/include"
  for d in spdlog fmt nlohmann CLI; do cp -r "/usr/include/$d" "$carry/include/"; done
  cp /usr/include/pcre2.h /usr/include/utf8proc.h /usr/include/httplib.h /usr/include/zlib.h /usr/include/zconf.h \
     /usr/include/libpng16/png.h /usr/include/libpng16/pngconf.h /usr/include/libpng16/pnglibconf.h \
     "$carry/include/"
  cp -r /usr/include/openssl /usr/include/brotli "$carry/include/"
  cp /usr/include/x86_64-linux-gnu/openssl/*.h "$carry/include/openssl/"  # opensslconf.h, configuration.h
  mkdir -p "$carry/lib"
  for lib in pcre2-8 utf8proc cpp-httplib ssl crypto z brotlicommon brotlidec brotlienc png16; do
    cp -L "/usr/lib/x86_64-linux-gnu/lib$lib.so" "$carry/lib/"
  done
  # The linked name the binaries ask for at run time (SONAME).
  for so in "$carry"/lib/*.so; do
    soname=$(objdump -p "$so" | awk '/SONAME/ {print $2}')
    [ -n "$soname" ] && cp "$so" "$carry/lib/$soname"
  done
  # The cuDNN SDPA peer of genrt bench: cudnn-frontend's headers and cuDNN's own.
  python3 tools/fetch_cudnn_frontend.py && cp -r third_party/cudnn_frontend/include/. "$carry/include/"
  cp /usr/local/cuda/include/cudnn*.h "$carry/include/"
  git rev-parse HEAD >"$carry/commit"  # the tree travels without .git
  cp -r /usr/src/googletest "$carry/googletest"
  # The tests read real model and tokenizer files from ../shared, which does not travel.
  mkdir -p "$carry/shared" && cp -r ../shared/models ../shared/tokenizers "$carry/shared/"
  echo "prepared $carry ($(du -sh "$carry" | cut -f1))"
}


case "${1:-}" in
  bundle) bundle ;;
  check-bundle) check_bundle_libraries "${2:-}" ;;
  selftest) selftest ;;
  run) shift && run "$@" ;;
  prepare) prepare ;;
  *)
    sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
