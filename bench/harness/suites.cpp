#include "bench/harness/suites.h"

#include <charconv>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "runtime/core/error.h"

namespace genrt::bench {

const std::vector<Suite>& suites() {
  static const std::vector<Suite> all = {
      {"peak", "device-to-device copy bandwidth and a large GEMM through cuBLASLt: the denominators", "(none)",
       run_peak_suite},
      {"norm", "RMSNorm / LayerNorm / adaLN-modulated LayerNorm, each with and without the fused residual",
       "ROWSxDIM", run_norm_suite},
      {"rope", "rotary embedding fused with the paged KV-cache write", "TOKENSxHEADSxKV_HEADSxHEAD_DIM", run_rope_suite},
      {"attention-prefill", "causal (paged) and non-causal (dense) attention over whole prompts",
       "BATCHxHEADSxKV_HEADSxSEQxHEAD_DIM", run_attention_prefill_suite},
      {"attention-decode", "one new token per sequence over a paged KV cache",
       "BATCHxCONTEXTxHEADSxKV_HEADSxHEAD_DIM", run_attention_decode_suite},
      {"gemm", "the runtime's cuBLASLt linear (y = x w^T) next to plain cuBLAS", "MxNxK", run_gemm_suite},
      {"sampling", "temperature + top-k + top-p sampling from logits rows", "ROWSxVOCAB", run_sampling_suite},
      {"e2e-decode", "decode tokens/s of a random-weight model next to the bandwidth roofline", "PRESET:BATCH",
       run_e2e_decode_suite},
      {"e2e-denoise", "DiT denoising step time with classifier-free guidance (random weights)", "PRESET:IMAGES",
       run_e2e_denoise_suite},
      {"e2e-embed", "sentence embeddings of a random-weight BERT encoder, batches of 128-token inputs",
       "PRESET:BATCH", run_e2e_embed_suite},
      {"structured-output", "a JSON schema's token masks against the decode step (needs --tokenizer)", "PRESET:BATCH",
       run_structured_output_suite},
  };
  return all;
}

const Suite& find_suite(const std::string& name) {
  for (const Suite& s : suites()) {
    if (s.name == name) return s;
  }
  std::vector<std::string> names;
  for (const Suite& s : suites()) names.push_back(s.name);
  fail("unknown bench suite '{}': expected one of {}", name, fmt::join(names, ", "));
}

namespace {

int64_t parse_positive(std::string_view text, const std::string& item, const std::string& format) {
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  GENRT_CHECK(ec == std::errc() && end == text.data() + text.size() && value > 0,
              "--shapes {}: '{}' is not a positive number (expected {})", item, text, format);
  return value;
}

}  // namespace

std::vector<std::vector<int64_t>> parse_shapes(const std::vector<std::string>& items, size_t dims,
                                               const std::string& format) {
  std::vector<std::vector<int64_t>> shapes;
  for (const std::string& item : items) {
    std::vector<int64_t> shape;
    size_t begin = 0;
    while (true) {
      const size_t end = item.find('x', begin);
      shape.push_back(parse_positive(std::string_view(item).substr(begin, end - begin), item, format));
      if (end == std::string::npos) break;
      begin = end + 1;
    }
    GENRT_CHECK(shape.size() == dims, "--shapes {}: {} numbers, expected {} ({})", item, shape.size(), dims, format);
    shapes.push_back(std::move(shape));
  }
  return shapes;
}

std::vector<PresetBatch> parse_preset_batches(const std::vector<std::string>& items, const std::string& format) {
  std::vector<PresetBatch> out;
  for (const std::string& item : items) {
    const size_t colon = item.rfind(':');
    GENRT_CHECK(colon != std::string::npos && colon > 0, "--shapes {}: expected {}", item, format);
    out.push_back({item.substr(0, colon), parse_positive(std::string_view(item).substr(colon + 1), item, format)});
  }
  return out;
}

ShapeList shapes_for(BenchRun& run, const ShapeList& gpu_defaults, const ShapeList& cpu_defaults, size_t dims,
                     const std::string& format) {
  if (!run.options().shapes.empty()) return parse_shapes(run.options().shapes, dims, format);
  return run.device().device() == Device::cuda ? gpu_defaults : cpu_defaults;
}

std::vector<PresetBatch> preset_batches_for(BenchRun& run, const std::vector<std::string>& gpu_defaults,
                                            const std::vector<std::string>& cpu_defaults, const std::string& format) {
  const bool gpu = run.device().device() == Device::cuda;
  return parse_preset_batches(run.options().shapes.empty() ? (gpu ? gpu_defaults : cpu_defaults) : run.options().shapes,
                              format);
}

std::vector<nlohmann::json> run_peak_suite(BenchRun& run) {
  GENRT_CHECK(run.options().shapes.empty(), "the peak suite has fixed shapes; --shapes does not apply");
  return run.peak_lines();
}

}  // namespace genrt::bench
