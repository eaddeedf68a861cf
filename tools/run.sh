#!/usr/bin/env bash
# The one command to see genrt work: sets up and builds (tools/setup.sh), then generates.
#
#   tools/run.sh                      # random-weight tiny Llama (gibberish, no download)
#   tools/run.sh MODEL [genrt generate options...]
#
# MODEL is a Hugging Face model directory (config.json + *.safetensors + tokenizer.json)
# or a llama2.c checkpoint (.bin, with tokenizer.bin beside it). Without
# --prompt/--prompt-ids the prompt is "Once upon a time" when the model has a tokenizer,
# else token id 1 (BOS of Llama-family vocabularies).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
genrt=build/genrt

model=${1:-}
[ $# -gt 0 ] && shift
if [ -z "$model" ]; then
  model=build/models/tiny-random
  [ -f "$model/config.json" ] || "$genrt" init-model --arch llama --preset tiny --seed 0 --out "$model"
  set -- --seed 0 --ignore-eos "$@"
fi

args=("$@")
if [[ " ${args[*]-} " != *" --prompt"* ]]; then
  if [ -f "$model/tokenizer.json" ] || [ -f "$model/tokenizer.bin" ] || [ -f "$(dirname "$model")/tokenizer.bin" ]; then
    args+=(--prompt "Once upon a time")
  else
    args+=(--prompt-ids 1)
  fi
fi
[[ " ${args[*]} " == *" --max-tokens"* ]] || args+=(--max-tokens 128)
exec "$genrt" generate --model "$model" "${args[@]}"
