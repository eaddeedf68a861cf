// The end-to-end suites: whole decode and denoising loops of random-weight models made from
// presets. Decode is reported in tokens/s next to its bandwidth roofline (every step reads
// every weight once, and each sequence's cached keys and values: tokens/s <= batch x copy
// bandwidth / (weight bytes + KV bytes read per step)), on the GPU with and without CUDA
// graphs; denoising in ms per step and the TFLOP/s of its GEMMs and attention. With
// --op-profile each case also carries one step timed op by op (op_profile.h).

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <numeric>
#include <optional>

#include <spdlog/spdlog.h>

#include "bench/harness/suites.h"
#include "runtime/backend/op_profile.h"
#include "runtime/diffusion/dit_pipeline.h"
#include "runtime/engine/generator.h"
#include "runtime/models/dit/dit_init.h"
#include "runtime/models/llama/llama_init.h"

namespace genrt::bench {

namespace {

const std::vector<std::string> kGpuDecode = {
    "stories260k:1",     "stories260k:8",     "stories260k:32",     "stories260k:64", "tinyllama-1.1b:1",
    "tinyllama-1.1b:8",  "tinyllama-1.1b:32", "tinyllama-1.1b:64",  "llama3-8b:1",    "llama3-8b:8",
    "llama3-8b:32",      "llama3-8b:64"};
const std::vector<std::string> kCpuDecode = {"stories260k:1", "stories260k:8"};
const std::vector<std::string> kGpuDenoise = {"dit-xl-2-256:1", "dit-xl-2-256:8"};
const std::vector<std::string> kCpuDenoise = {"tiny:1", "tiny:4"};

// The suite's cases grouped by preset (in first-seen order), so each model is built once.
std::vector<std::pair<std::string, std::vector<int64_t>>> by_preset(const std::vector<PresetBatch>& cases) {
  std::vector<std::pair<std::string, std::vector<int64_t>>> groups;
  for (const PresetBatch& c : cases) {
    auto it = std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.first == c.preset; });
    if (it == groups.end()) it = groups.insert(groups.end(), {c.preset, {}});
    it->second.push_back(c.batch);
  }
  return groups;
}

constexpr int64_t kPromptTokens = 16;

// `batch` greedy requests of kPromptTokens distinct prompt tokens, each made to generate
// `new_tokens`.
std::vector<GenerationRequest> decode_requests(int64_t batch, int64_t new_tokens) {
  SamplingParams greedy;
  greedy.temperature = 0;
  std::vector<GenerationRequest> requests;
  for (int64_t b = 0; b < batch; ++b) {
    std::vector<int32_t> prompt(kPromptTokens);
    std::iota(prompt.begin(), prompt.end(), static_cast<int32_t>(1 + b));
    requests.push_back({.prompt = prompt, .max_new_tokens = new_tokens, .sampling = greedy, .ignore_eos = true});
  }
  return requests;
}

// Decode throughput of one batch: median over runs of the generator's decode tokens/s.
double decode_tokens_per_s(const CausalLM& model, int64_t batch, int64_t new_tokens, int runs) {
  const std::vector<GenerationRequest> requests = decode_requests(batch, new_tokens);
  KvCache cache = model.make_kv_cache(kv_blocks_needed(requests, 16), 16);
  Generator generator(model, cache);
  std::vector<double> rates;
  for (int r = 0; r <= runs; ++r) {  // the first run warms up (and captures the batch's CUDA graph)
    GenerationStats stats;
    generator.generate(requests, [](size_t, int32_t) { return true; }, &stats);
    if (r > 0) rates.push_back(stats.tokens_per_s);
  }
  return summarize(rates).median_ms;  // a median of rates, not of times
}

// The op profile of one step of a loop that reports each step: mark() at the report of
// step n opens the profile, at the report of step n + 1 closes it, so the profile holds the
// ops launched in between, which are one whole step (with asynchronous scheduling, the
// step after n + 1, launched before n + 1's tokens came back).
class StepProfiler {
 public:
  explicit StepProfiler(Device device) : device_(device) {}
  void mark() {
    if (marks_++ == 0) {
      profile_.emplace(device_);
    } else if (profile_) {
      spans_ = profile_->spans();
      launched_within_hold_ = profile_->launched_within_hold();
      profile_.reset();
    }
  }
  nlohmann::json summary() const {
    GENRT_CHECK(marks_ >= 2, "op profile: the loop reported {} step(s); a profile needs two", marks_);
    nlohmann::json summary = op_profile_summary(spans_);
    summary["launched_within_hold"] = launched_within_hold_;
    return summary;
  }

 private:
  Device device_;
  int marks_ = 0;
  std::optional<OpProfile> profile_;
  std::vector<OpSpan> spans_;
  bool launched_within_hold_ = true;
};

// One decode step of `batch` sequences op by op, from a short greedy generation (the model
// launches whatever its CUDA-graph setting says: the caller turns graphs off).
nlohmann::json profile_decode_step(const CausalLM& model, int64_t batch, Device device) {
  const std::vector<GenerationRequest> requests = decode_requests(batch, 8);
  KvCache cache = model.make_kv_cache(kv_blocks_needed(requests, 16), 16);
  Generator generator(model, cache);
  StepProfiler profiler(device);
  int64_t first_tokens = 0;
  generator.generate(requests, [&](size_t request, int32_t) {
    // The 4th and 5th tokens of the first request: decode steps, well past the prompt's.
    if (request == 0 && (++first_tokens == 4 || first_tokens == 5)) profiler.mark();
    return true;
  });
  return profiler.summary();
}

// A DiT step's arithmetic: the block GEMMs (q, k, v, out: 4d^2; MLP: 8d^2 per token) and
// attention (4 T^2 d) for every sample, over all layers; the embedders are negligible.
double dit_step_flops(const DitConfig& c, int64_t samples) {
  const double d = static_cast<double>(c.inner_dim()), t = static_cast<double>(c.tokens());
  return static_cast<double>(samples * c.num_layers) * (2.0 * 12.0 * d * d * t + 4.0 * t * t * d);
}

}  // namespace

std::vector<nlohmann::json> run_e2e_decode_suite(BenchRun& run) {
  const Device device = run.device().device();
  const bool gpu = device == Device::cuda;
  const auto cases = preset_batches_for(run, kGpuDecode, kCpuDecode, "PRESET:BATCH");
  const double copy_gbps = run.peak().copy_gbps;
  const int64_t new_tokens = gpu ? 128 : 16;
  std::vector<nlohmann::json> lines;
  for (const auto& [preset, batches] : by_preset(cases)) {
    const LlamaConfig config = llama_preset(preset);
    const int64_t max_batch = *std::max_element(batches.begin(), batches.end());
    spdlog::info("e2e-decode: building {} with random weights on {}", preset, device_name(run.device().device()));
    LlamaModel model =
        random_llama_model(config, 0, {.device = run.device().device(), .dtype = run.options().dtype,
                                       .max_step_seqs = std::max<int64_t>(max_batch, 256)});
    const double weight_bytes = static_cast<double>(config.parameter_count()) * dtype_size(run.dtype());
    // Each step reads every sequence's keys and values: on average over the decode, a
    // context of the prompt and half the new tokens.
    const double kv_bytes_per_token = static_cast<double>(
        model.spec().kv_cache_shape(1, 16).bytes_per_token(gpu ? run.options().dtype : DType::f32));
    for (const int64_t batch : batches) {
      const double kv_bytes = static_cast<double>(batch) * (kPromptTokens + new_tokens / 2.0) * kv_bytes_per_token;
      const double roofline = batch * copy_gbps * 1e9 / (weight_bytes + kv_bytes);
      // On the GPU each case runs with CUDA graphs and again launching every kernel.
      for (const bool graphs : gpu ? std::vector<bool>{true, false} : std::vector<bool>{false}) {
        model.set_cuda_graphs(graphs);
        const double tokens_per_s = decode_tokens_per_s(model, batch, new_tokens, 3);
        nlohmann::json line = run.base_line("e2e-decode", "decode",
                                            {{"preset", preset}, {"batch", batch}, {"cuda_graphs", graphs}});
        line["model"] = {{"hidden", config.hidden_size},       {"intermediate", config.intermediate_size},
                         {"layers", config.num_hidden_layers}, {"heads", config.num_attention_heads},
                         {"kv_heads", config.num_key_value_heads}, {"head_dim", config.head_dim},
                         {"vocab", config.vocab_size},         {"context", config.max_position_embeddings},
                         {"rope_theta", config.rope_theta},    {"rms_norm_eps", config.rms_norm_eps}};
        line["prompt_tokens"] = kPromptTokens;
        line["new_tokens"] = new_tokens;
        line["cuda_graphs"] = graphs;
        line["x"] = batch;
        line["x_name"] = "batch";
        line["series"] = gpu && !graphs ? preset + ", no CUDA graphs" : preset;
        line["median_ms"] = 1e3 * static_cast<double>(batch) / tokens_per_s;  // one decode step
        line["metric"] = "tokens/s";
        line["value"] = tokens_per_s;
        line["weight_bytes"] = weight_bytes;
        line["kv_bytes_per_step"] = kv_bytes;
        line["roofline_tokens_per_s"] = roofline;
        line["fraction_of_peak"] = tokens_per_s / roofline;
        line["peak"] = {{"copy_gbps", copy_gbps}};
        line["check"] = {{"skipped", "random weights: the Llama goldens and GPU tests check the model's numerics"}};
        if (run.options().op_profile && !graphs) line["op_profile"] = profile_decode_step(model, batch, device);
        set_best_peer(line);
        lines.push_back(std::move(line));
      }
    }
  }
  return lines;
}

std::vector<nlohmann::json> run_e2e_denoise_suite(BenchRun& run) {
  const bool gpu = run.device().device() == Device::cuda;
  const auto cases = preset_batches_for(run, kGpuDenoise, kCpuDenoise, "PRESET:IMAGES");
  const double gemm_tflops = run.peak().gemm_tflops;
  const int64_t steps = gpu ? 20 : 3;
  std::vector<nlohmann::json> lines;
  for (const auto& [preset, batches] : by_preset(cases)) {
    const DitConfig config = dit_preset(preset);
    const auto dir = std::filesystem::temp_directory_path() / ("genrt_bench_dit_" + std::to_string(::getpid()));
    write_random_dit(config, 0, gpu ? run.options().dtype : DType::f32, dir);
    const int64_t max_images = *std::max_element(batches.begin(), batches.end());
    DitPipeline pipeline = DitPipeline::load(
        dir, "ddim", {.device = run.device().device(), .dtype = run.options().dtype, .max_images = max_images});
    std::filesystem::remove_all(dir);
    for (const int64_t images : batches) {
      const std::vector<int32_t> labels(static_cast<size_t>(images), 207);
      // On the GPU each case runs with CUDA graphs (step 1 captures) and again launching every kernel.
      for (const bool graphs : gpu ? std::vector<bool>{true, false} : std::vector<bool>{false}) {
        pipeline.set_cuda_graphs(graphs);
        std::vector<double> step_ms;
        pipeline.run({.class_labels = labels, .guidance = 4.0, .steps = steps + 1}, [&](const DiffusionProgress& p) {
          if (p.step > 1) step_ms.push_back(1e3 * p.step_seconds);  // step 1 warms up
          return true;
        });
        const double ms = summarize(step_ms).median_ms;
        const double tflops = dit_step_flops(config, 2 * images) / (ms / 1e3) / 1e12;
        nlohmann::json line = run.base_line("e2e-denoise", "dit_step",
                                            {{"preset", preset}, {"images", images}, {"cuda_graphs", graphs}});
        // The model's shape, for peers that build the same one (bench/peers/torch_peer.py).
        line["model"] = {{"layers", config.num_layers}, {"hidden", config.inner_dim()},
                         {"heads", config.num_attention_heads}, {"patch", config.patch_size},
                         {"sample_size", config.sample_size}, {"channels", config.in_channels},
                         {"out_channels", config.out_channels}, {"classes", config.num_classes}, {"guidance", 4.0}};
        line["cuda_graphs"] = graphs;
        line["x"] = images;
        line["x_name"] = "images (denoiser batch 2x)";
        line["series"] = gpu && !graphs ? preset + ", no CUDA graphs" : preset;
        line["median_ms"] = ms;
        line["reps"] = static_cast<int64_t>(step_ms.size());
        line["metric"] = "TFLOP/s";
        line["value"] = tflops;
        line["tflops"] = tflops;
        line["fraction_of_peak"] = gemm_tflops > 0 ? tflops / gemm_tflops : 0.0;
        line["peak"] = {{"gemm_tflops", gemm_tflops}};
        line["check"] = {{"skipped", "random weights: the DiT goldens and GPU tests check the loop's numerics"}};
        if (run.options().op_profile && !graphs) {
          StepProfiler profiler(run.device().device());
          pipeline.run({.class_labels = labels, .guidance = 4.0, .steps = 3}, [&](const DiffusionProgress& p) {
            if (p.step >= 2) profiler.mark();  // step 3, after step 1 warmed up
            return true;
          });
          line["op_profile"] = profiler.summary();
        }
        set_best_peer(line);
        lines.push_back(std::move(line));
      }
    }
  }
  return lines;
}

}  // namespace genrt::bench
