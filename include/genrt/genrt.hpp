// genrt C++ API: load a model, tokenize, generate with streaming callbacks.
//
// Self-contained: this header needs only the standard library, so a program embedding
// genrt does not see its internals. The C API (genrt.h) is a thin layer over it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#if defined(GENRT_BUILDING_LIBRARY)
#define GENRT_API __attribute__((visibility("default")))
#else
#define GENRT_API
#endif

namespace genrt::api {

// Thrown by every call here, with what went wrong.
class GENRT_API Error : public std::runtime_error {
 public:
  enum class Kind { invalid_argument, model, out_of_memory, unsupported, internal };
  Error(Kind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

enum class Device { cpu, cuda };
enum class DType { f32, bf16, f16 };

struct LoadOptions {
  Device device = Device::cpu;
  DType dtype = DType::f32;      // compute dtype (the CPU backend computes in fp32)
  double gpu_memory = 0.9;       // fraction of device memory genrt may plan for (CUDA)
  bool cuda_graphs = true;       // CUDA decode steps replay graphs; false launches each kernel
  std::string tokenizer;         // empty: the model's own tokenizer.json / tokenizer.bin
};

struct SamplingOptions {
  int64_t max_tokens = 256;
  float temperature = 1.0f;  // 0: greedy
  int64_t top_k = 0;         // 0: off
  float top_p = 1.0f;        // 1: off
  float min_p = 0.0f;        // 0: off
  float repetition_penalty = 1.0f;
  uint64_t seed = 0;
  bool ignore_eos = false;
  // Structured output (README.md, "Structured output"), at most one of the two: the output
  // follows a GBNF grammar, or is a JSON document of a JSON Schema (given as JSON text).
  std::string grammar;
  std::string json_schema;
};

enum class FinishReason { stop, length, cancelled };

struct GenerationResult {
  std::vector<int32_t> tokens;  // generated tokens
  std::string text;             // their text
  FinishReason finish_reason = FinishReason::length;
  int64_t prompt_tokens = 0;
  double ttft_ms = 0;
  double tokens_per_s = 0;
};

struct MemoryUsage {
  uint64_t weights_bytes = 0;             // resident weights
  uint64_t kv_cache_bytes_per_token = 0;  // K and V over all layers, as stored
};

struct ModelInfo {
  std::string architecture;
  int64_t parameters = 0;
  int64_t vocab_size = 0;
  int64_t context_length = 0;
  bool random_weights = false;  // made by `genrt init-model`: output is gibberish
};

// Called with each generated token and the text it completes (possibly empty: a
// character may need the next token). Return false to stop generating.
using TokenCallback = std::function<bool(int32_t token, std::string_view text)>;

class GENRT_API Model {
 public:
  // A Hugging Face model directory or a llama2.c checkpoint.
  static Model load(const std::string& path, const LoadOptions& options = {});
  ~Model();
  Model(Model&&) noexcept;
  Model& operator=(Model&&) noexcept;

  ModelInfo info() const;
  MemoryUsage memory() const;
  bool has_tokenizer() const;
  // add_special: the tokenizer's own special tokens around the text (BOS, ...).
  std::vector<int32_t> tokenize(std::string_view text, bool add_special = true) const;
  std::string detokenize(std::span<const int32_t> ids) const;

  GenerationResult generate(std::string_view prompt, const SamplingOptions& options,
                            const TokenCallback& on_token = {}) const;
  GenerationResult generate(std::span<const int32_t> prompt, const SamplingOptions& options,
                            const TokenCallback& on_token = {}) const;

 private:
  struct Impl;
  explicit Model(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// "MAJOR.MINOR.PATCH"
GENRT_API const char* version();

}  // namespace genrt::api
