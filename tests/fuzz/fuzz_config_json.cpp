// Fuzz target: Hugging Face config.json for every architecture genrt reads.
#include "tests/fuzz/fuzz_targets.h"

#include <nlohmann/json.hpp>

#include "runtime/models/gpt2/gpt2_config.h"
#include "runtime/models/llama/llama_config.h"
#include "runtime/models/llama/rope_frequencies.h"

void genrt::fuzz::config_json(const uint8_t* data, size_t size) {
  const nlohmann::json config = nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (config.is_discarded()) return;
  try {
    const genrt::LlamaConfig c = genrt::llama_config_from_hf(config, "config.json");
    (void)genrt::rope_inv_frequencies(c);
    (void)c.spec();
  } catch (const genrt::Error&) {
  }
  try {
    (void)genrt::gpt2_config_from_hf(config, "config.json").spec();
  } catch (const genrt::Error&) {
  }
}
