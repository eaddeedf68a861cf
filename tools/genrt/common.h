#pragma once
// Pieces the generating commands (generate, chat) share: sampling options, loading a
// model with its tokenizer, and the closing statistics line.

#include <CLI/CLI.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "runtime/diffusion/denoising_loop.h"
#include "runtime/engine/generator.h"
#include "runtime/models/causal_lm.h"
#include "runtime/tokenizer/chat_template.h"
#include "runtime/tokenizer/tokenizer.h"

namespace genrt::cli {

struct SamplingOptions {
  SamplingParams params;
  std::optional<uint64_t> seed;
  int64_t max_tokens = 256;
};

// --max-tokens, --temperature, --top-k, --top-p, --min-p, --repetition-penalty, --seed.
void add_sampling_options(CLI::App* cmd, SamplingOptions& options);

// Where the model runs: --device, --dtype, --gpu-memory; for text generation and diffusion
// also --no-cuda-graphs.
struct DeviceFlags {
  std::string device = "cpu";
  std::string dtype = "bf16";
  double gpu_memory = 0.9;
  bool no_cuda_graphs = false;
};
void add_device_options(CLI::App* cmd, DeviceFlags& flags);
void add_cuda_graph_option(CLI::App* cmd, DeviceFlags& flags);
// --dtype: bf16 or fp16 (f16).
DType parse_gpu_dtype(const std::string& name);
// The model's DeviceOptions from the flags.
DeviceOptions device_options(const DeviceFlags& flags);
// The parameters with a seed: the given one, or a random one that is logged.
SamplingParams resolve_sampling(const SamplingOptions& options);

struct LoadedModel {
  std::unique_ptr<CausalLM> model;
  std::unique_ptr<Tokenizer> tokenizer;  // null when the model has none and none was given
};

// Loads the model (logging what and how long) and its tokenizer: `tokenizer_path` when
// given, else the one found with the model. Warns when the weights are random.
LoadedModel load_model(const std::string& model_path, const std::string& tokenizer_path, const DeviceFlags& device);

// The model's chat format: `format_name` when given (--chat-template), else detected
// from the tokenizer's chat_template. When there is none, the reason, naming the option.
std::variant<ChatTemplate, std::string> model_chat_template(const Tokenizer& tokenizer, const std::string& format_name);

// "[genrt] prompt N tokens, generated M tokens (reason), TTFT x ms, y tokens/s on cpu" on stderr.
// One status line per denoising step on stderr: redrawn in place on a terminal (`tty`),
// appended otherwise.
void print_diffusion_progress(const DiffusionProgress& progress, bool tty);

// Comma-separated non-negative integers ("1,2,3"); errors name the option and what an item is.
std::vector<int32_t> parse_int_list(const std::string& text, std::string_view option, std::string_view what);

void print_stats(const GenerationStats& stats, FinishReason reason, const LoadedModel& loaded, const std::string& device);

}  // namespace genrt::cli
