#include "tools/genrt/common.h"

#include <spdlog/spdlog.h>

#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>

#include "runtime/core/device.h"
#include "runtime/models/load_model.h"
#include "runtime/tokenizer/hf_tokenizer.h"
#include "runtime/tokenizer/load_tokenizer.h"

namespace genrt::cli {

void add_sampling_options(CLI::App* cmd, SamplingOptions& o) {
  cmd->add_option("--max-tokens", o.max_tokens, "Most tokens to generate (per turn in chat)")->capture_default_str();
  cmd->add_option("--temperature", o.params.temperature, "Sampling temperature; 0 is greedy")->capture_default_str();
  cmd->add_option("--top-k", o.params.top_k, "Keep the k most likely tokens; 0 keeps all")->capture_default_str();
  cmd->add_option("--top-p", o.params.top_p, "Nucleus sampling mass; 1 disables it")->capture_default_str();
  cmd->add_option("--min-p", o.params.min_p, "Drop tokens less likely than min-p x the top token's probability; 0 disables it")
      ->capture_default_str();
  cmd->add_option("--repetition-penalty", o.params.repetition_penalty,
                  "Penalty > 1 for tokens already in the context; 1 disables it")
      ->capture_default_str();
  cmd->add_option("--seed", o.seed, "Random seed (default: random, and logged)");
}

void add_device_options(CLI::App* cmd, DeviceFlags& f) {
  cmd->add_option("--device", f.device, "cpu (fp32 reference) or cuda")->capture_default_str();
  cmd->add_option("--dtype", f.dtype, "GPU weights and activations: bf16 or fp16")->capture_default_str();
  cmd->add_option("--gpu-memory", f.gpu_memory,
                  "Fraction of the GPU's memory to plan for weights, workspace (and a text model's KV cache)")
      ->capture_default_str();
}

DeviceOptions device_options(const DeviceFlags& flags) {
  return {.device = parse_device(flags.device),
          .dtype = parse_gpu_dtype(flags.dtype),
          .gpu_memory = flags.gpu_memory,
          .cuda_graphs = !flags.no_cuda_graphs};
}

void add_cuda_graph_option(CLI::App* cmd, DeviceFlags& f) {
  cmd->add_flag("--no-cuda-graphs", f.no_cuda_graphs,
                "Launch every kernel of a CUDA step one by one instead of replaying the step's CUDA graph "
                "(debugging; a decode step's graph is captured on the first step of each batch size, a "
                "denoising step's (DiT, UNet) on the first step of each run)");
}

SamplingParams resolve_sampling(const SamplingOptions& o) {
  SamplingParams params = o.params;
  params.seed = o.seed.value_or(std::random_device{}());
  if (!o.seed && params.temperature > 0) spdlog::info("seed {} (pass --seed to repeat this run)", params.seed);
  return params;
}

DType parse_gpu_dtype(const std::string& name) {
  if (name == "bf16") return DType::bf16;
  if (name == "fp16" || name == "f16") return DType::f16;
  fail("--dtype {}: expected bf16 or fp16", name);
}

LoadedModel load_model(const std::string& model_path, const std::string& tokenizer_path, const DeviceFlags& flags) {
  const DeviceOptions device = device_options(flags);
  const auto start = std::chrono::steady_clock::now();
  LoadedModel loaded;
  loaded.model = load_causal_lm(model_path, device);
  const ModelSpec& spec = loaded.model->spec();
  spdlog::info("loaded {} ({}, {:.1f}M parameters) in {:.0f} ms", model_path, spec.architecture,
               spec.parameter_count / 1e6,
               std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  if (spec.random_weights) {
    spdlog::warn("{} has random weights (made by genrt init-model): its output is gibberish", model_path);
  }
  const auto path = tokenizer_path.empty() ? find_tokenizer(model_path) : std::optional(std::filesystem::path(tokenizer_path));
  if (path) {
    loaded.tokenizer = open_tokenizer(*path, spec.vocab_size);
    spdlog::debug("tokenizer {}", path->string());
  }
  return loaded;
}

std::variant<ChatTemplate, std::string> model_chat_template(const Tokenizer& tokenizer, const std::string& format_name) {
  const std::string bos = tokenizer.bos_id() ? tokenizer.token_text(*tokenizer.bos_id()) : "";
  const std::string eos = tokenizer.eos_id() ? tokenizer.token_text(*tokenizer.eos_id()) : "";
  if (!format_name.empty()) {
    const ChatFormat format = parse_chat_format(format_name);
    return ChatTemplate{
        .format = format, .bos_token = bos, .eos_token = eos, .default_system = {}, .tools = format_has_tools(format)};
  }
  const std::string formats = fmt::format("{}", fmt::join(chat_format_names(), ", "));
  const auto* hf = dynamic_cast<const HfTokenizer*>(&tokenizer);
  if (hf == nullptr || !hf->chat_template()) {
    return "the model has no chat_template in tokenizer_config.json; pass --chat-template with one of " + formats;
  }
  if (auto detected = detect_chat_template(*hf->chat_template(), bos, eos)) return *detected;
  return "the model's chat_template is not a format genrt knows; pass --chat-template with one of " + formats;
}

void print_stats(const GenerationStats& stats, FinishReason reason, const LoadedModel& loaded, const std::string& device) {
  std::fflush(stdout);  // the stats line on stderr comes after the text
  std::fprintf(stderr, "[genrt] prompt %lld tokens, generated %lld tokens (%s), TTFT %.1f ms, %.1f tokens/s on %s%s\n",
               static_cast<long long>(stats.prompt_tokens), static_cast<long long>(stats.generated_tokens),
               finish_reason_name(reason), stats.ttft_ms, stats.tokens_per_s, device.c_str(),
               loaded.model->spec().random_weights ? " (random weights: gibberish)" : "");
}

std::vector<int32_t> parse_int_list(const std::string& text, std::string_view option, std::string_view what) {
  std::vector<int32_t> ids;
  size_t pos = 0;
  while (pos <= text.size()) {
    const size_t comma = std::min(text.find(',', pos), text.size());
    const std::string item = text.substr(pos, comma - pos);
    size_t used = 0;
    long long value = -1;
    try {
      value = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    GENRT_CHECK(used == item.size() && !item.empty() && value >= 0 && value <= INT32_MAX,
                "{}: '{}' is not a {} (expected comma-separated integers like 1,2,3)", option, item, what);
    ids.push_back(static_cast<int32_t>(value));
    pos = comma + 1;
  }
  return ids;
}

void print_diffusion_progress(const DiffusionProgress& p, bool tty) {
  constexpr int kWidth = 30;
  const int done = static_cast<int>(kWidth * p.step / p.steps);
  const double eta = p.elapsed_seconds / static_cast<double>(p.step) * static_cast<double>(p.steps - p.step);
  std::fprintf(stderr, "%s[%s%s] %lld/%lld  t=%-7.1f %.2f it/s  %.1f s elapsed, %.1f s left%s", tty ? "\r" : "",
               std::string(static_cast<size_t>(done), '#').c_str(),
               std::string(static_cast<size_t>(kWidth - done), '.').c_str(), static_cast<long long>(p.step),
               static_cast<long long>(p.steps), p.timestep, 1.0 / std::max(p.step_seconds, 1e-9), p.elapsed_seconds,
               eta, tty && p.step < p.steps ? "" : "\n");
}

}  // namespace genrt::cli
