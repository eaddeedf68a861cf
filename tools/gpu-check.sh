#!/usr/bin/env bash
# GPU truth for genrt, in two steps:
#
#   tools/gpu-check.sh prepare   on the build machine: copies the header-only dependencies
#                                and GoogleTest's source into .carry/ (git-ignored)
#   tools/gpu-check.sh           on the GPU machine (device tool, carry [".carry"]):
#                                builds from .carry/, runs the GPU tests, compute-sanitizer
#                                (memcheck, racecheck, synccheck, initcheck, GENRT_NO_POOL=1)
#                                on them, batch-1 decode of stories260K and a
#                                TinyLlama-1.1B-shaped model, the DiT loop, and
#                                `genrt bench all` with the PyTorch peer; writes
#                                $OUT/gpu-check.json, bench.jsonl, bench.md and a log per step
#
# The GPU machine has nvcc, cmake, ninja and python3 but no Debian packages or network.
set -uo pipefail
cd "$(dirname "$0")/.."
carry=.carry

if [ "${1:-}" = prepare ]; then
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
  echo "prepared $carry ($(du -sh "$carry" | cut -f1)); run: tools/gpu-check.sh with carry [\"$carry\"]"
  exit 0
fi

out=${OUT:-build-gpu/out}
export GENRT_SHARED_DIR="$PWD/$carry/shared"
export GENRT_COMMIT="$(cat "$carry/commit" 2>/dev/null || echo unknown)"
export LD_LIBRARY_PATH="$PWD/$carry/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
mkdir -p "$out"
build=build-gpu
export PATH=/usr/local/cuda/bin:$PATH
[ -d "$carry/include" ] || { echo "missing $carry: run 'tools/gpu-check.sh prepare' first" >&2; exit 2; }

step() {  # step NAME COMMAND...: runs it, logs to $out/NAME.log, records pass/fail
  local name=$1
  shift
  echo "== $name" >&2
  if "$@" >"$out/$name.log" 2>&1; then echo "$name ok" >>"$out/steps"; else echo "$name FAILED" >>"$out/steps"; fi
  tail -n 5 "$out/$name.log" >&2
}
: >"$out/steps"

step configure cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DGENRT_CUDA=ON \
  -DGENRT_DEPS_DIR="$PWD/$carry"
step build cmake --build "$build" -j "$(nproc)"
gpu_tests=$build/tests/genrt_gpu_tests
step gpu_tests "$gpu_tests" --gtest_output="json:$out/gpu_tests.json"
step unit_tests "$build/tests/genrt_unit_tests" --gtest_brief=1
# Every buffer its own allocation (GENRT_NO_POOL=1), so out-of-bounds accesses inside a
# planned region are caught too.
for tool in memcheck racecheck synccheck initcheck; do
  step "sanitizer_$tool" env GENRT_NO_POOL=1 compute-sanitizer --tool "$tool" --error-exitcode 1 "$gpu_tests" \
    --gtest_brief=1
done
# Decode speed, batch 1: the trained stories260K and TinyLlama-1.1B's shape with random weights.
step decode_stories260k "$build/genrt" generate --model "$GENRT_SHARED_DIR/models/stories260K.bin" --prompt-ids 1 \
  --max-tokens 256 --temperature 0 --ignore-eos --device cuda --json
step init_tinyllama "$build/genrt" init-model --preset tinyllama-1.1b --out "$build/tinyllama" --force
step decode_tinyllama "$build/genrt" generate --model "$build/tinyllama" --prompt-ids 0 --max-tokens 256 \
  --temperature 0 --ignore-eos --device cuda --json
# The denoising loop: the tiny DiT under memcheck, then DiT-XL/2's shape (random weights),
# 8 guided images, for the step time.
step diffuse_tiny_memcheck env GENRT_NO_POOL=1 compute-sanitizer --tool memcheck --error-exitcode 1 \
  "$build/genrt" diffuse --model tests/data/tiny_dit --class-label 1,2 --steps 3 --device cuda
step init_dit_xl "$build/genrt" init-model --arch dit --preset dit-xl-2-256 --out "$build/dit-xl" --force
step diffuse_dit_xl "$build/genrt" diffuse --model "$build/dit-xl" --class-label 207 --batch 8 --steps 20 \
  --device cuda
# Every bench suite with PyTorch as the peer, into bench.jsonl, then its report and plot
# (the plot needs cairo: make it on the build machine from the fetched bench.jsonl).
step bench timeout 1500 "$build/genrt" bench all --max-seconds 1 --torch-peer python3 --json "$out/bench.jsonl"
step bench_report "$build/genrt" bench report "$out/bench.jsonl" --out "$out/bench.md"

python3 - "$out" <<'PY'
import json, subprocess, sys, pathlib
out = pathlib.Path(sys.argv[1])
steps = dict(line.rsplit(" ", 1) for line in (out / "steps").read_text().split("\n") if line)
def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()
    except Exception as e:
        return str(e)
report = {
    "commit": sh("git rev-parse HEAD"),
    "device": sh("nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,clocks.max.mem --format=csv,noheader"),
    "steps": steps,
    "ok": all(v == "ok" for v in steps.values()),
}
tests = out / "gpu_tests.json"
if tests.exists():
    t = json.loads(tests.read_text())
    cases = [c for suite in t.get("testsuites", []) for c in suite.get("testsuite", [])]
    report["gpu_tests"] = {
        "tests": len(cases),
        "failures": t.get("failures", 0),
        "skipped": sum(c.get("result") == "SKIPPED" for c in cases),
    }
for name in ("decode_stories260k", "decode_tinyllama"):
    log = out / f"{name}.log"
    lines = [l for l in log.read_text().splitlines() if l.startswith("{")] if log.exists() else []
    if lines:
        report[name] = {k: json.loads(lines[-1]).get(k) for k in ("generated_tokens", "ttft_ms", "tokens_per_s")}
(out / "gpu-check.json").write_text(json.dumps(report, indent=2) + "\n")
print(json.dumps(report, indent=2))
PY
