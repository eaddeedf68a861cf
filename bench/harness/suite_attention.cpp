// The attention suites. Prefill: whole prompts, causal through the paged kernel the runtime
// uses for prompts, non-causal through dense attention (DiT), in TFLOP/s. Decode: one new
// token per sequence over its paged cache, in GB/s of K/V read.

#include <cmath>

#include "bench/harness/paged_inputs.h"
#include "bench/harness/suites.h"
#include "runtime/backend/ops.h"

#ifdef GENRT_HAVE_CUDA
#include "runtime/backend/cuda/cuda_context.h"
#endif
#ifdef GENRT_HAVE_CUDNN_SDPA
#include <memory>

#include "bench/harness/cudnn_sdpa_peer.h"
#endif

namespace genrt::bench {

namespace {

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

// FlashAttention's benchmark shapes: 16k tokens in all (batch = 16384 / seq), model width
// 2048 (heads = 2048 / head_dim).
std::vector<std::vector<int64_t>> gpu_prefill_shapes() {
  std::vector<std::vector<int64_t>> shapes;
  for (int64_t head_dim : {64, 128}) {
    for (int64_t seq = 512; seq <= 16384; seq *= 2) {
      shapes.push_back({16384 / seq, 2048 / head_dim, 2048 / head_dim, seq, head_dim});
    }
  }
  return shapes;
}

// Lengths off the block and tile sizes, GQA, head dim 80.
const std::vector<std::vector<int64_t>> kCpuPrefillShapes = {{1, 4, 2, 17, 64}, {2, 2, 2, 100, 80}};

// Llama-3-8B's attention (32 heads, 8 KV heads, d128) and its MHA twin; cases whose K/V
// would exceed 24 GiB are left out.
std::vector<std::vector<int64_t>> gpu_decode_shapes() {
  std::vector<std::vector<int64_t>> shapes;
  for (int64_t kv_heads : {8, 32}) {
    for (int64_t batch : {1, 8, 32, 64}) {
      for (int64_t context : {512, 1024, 4096, 8192, 16384, 65536}) {
        if (2.0 * batch * context * kv_heads * 128 * 2 <= 24 * kGiB) shapes.push_back({batch, context, 32, kv_heads, 128});
      }
    }
  }
  return shapes;
}

const std::vector<std::vector<int64_t>> kCpuDecodeShapes = {{1, 64, 4, 2, 64}, {4, 100, 4, 4, 64}};

float softmax_scale(int64_t head_dim) { return 1.0f / std::sqrt(static_cast<float>(head_dim)); }

// genrt's older attention kernels beside the ones the device gets, as peers: on a Hopper
// the wgmma kernel without warp specialization (what the FlashAttention-3 schedule is
// measured against), the sm_80 tensor-core kernels (what a Hopper ran before its wgmma
// kernel) and the CUDA-core warp kernel, the baseline the tensor-core kernels replaced (left
// out past 200 GFLOP a run, where at ~1% of the peak it would take seconds per case).
void add_older_kernel_peers([[maybe_unused]] BenchRun& run, [[maybe_unused]] OpCase& c) {
#ifdef GENRT_HAVE_CUDA
  if (run.device().device() != Device::cuda) return;
  struct OlderKernels {
    const char* name;
    int compute_capability;  // 0: the device's
    kernels::Sm90Schedule hopper_schedule;
  };
  const bool hopper = run.device().properties().value("compute_capability", "") == "9.0";
  for (const OlderKernels& older : {OlderKernels{"genrt wgmma kernel, unspecialized", 0,
                                                 kernels::Sm90Schedule::unspecialized},
                                    OlderKernels{"genrt mma.sync kernels", 80, kernels::Sm90Schedule::warp_specialized},
                                    OlderKernels{"genrt warp kernel", 75, kernels::Sm90Schedule::warp_specialized}}) {
    if (older.compute_capability == 0 && !hopper) continue;  // the same kernel as the device's
    if (older.compute_capability != 0 && older.compute_capability < 80 && c.flops > 2e11) {
      c.missing_peers[older.name] = "too slow at this size (the CUDA-core baseline)";
      continue;
    }
    c.peers[older.name] = [op = c.run, older](std::vector<Tensor>& t) {
      CudaContext capped = current_cuda_context();
      capped.attention_compute_capability = older.compute_capability;
      capped.attention_hopper_schedule = older.hopper_schedule;
      const CudaScope scope(capped);
      op(t);
    };
  }
#endif
}

// cuDNN's fused SDPA on the case's own tensors (q, k, v, out = t[0..3]) when this build has
// the peer and cuDNN takes the shape; otherwise the line says why it is missing.
void add_cudnn_peer(BenchRun& run, OpCase& c, [[maybe_unused]] int64_t kv_batch_stride, [[maybe_unused]] bool causal) {
  if (run.device().device() != Device::cuda) return;
#ifdef GENRT_HAVE_CUDNN_SDPA
  const nlohmann::json& s = c.shape;
  const int64_t heads = s["heads"], kv_heads = s["kv_heads"], seq = s["seq"], d = s["head_dim"];
  const SdpaShape shape{.batch = s["batch"], .heads = heads, .kv_heads = kv_heads, .seq = seq, .head_dim = d,
                        .causal = causal, .scale = softmax_scale(d),
                        .q_stride = {seq * heads * d, d, heads * d, 1},
                        .kv_stride = {kv_batch_stride, d, kv_heads * d, 1}};
  try {
    auto sdpa = std::make_shared<CudnnSdpa>(shape, run.dtype());
    c.peers["cuDNN SDPA"] = [sdpa](std::vector<Tensor>& t) { sdpa->run(t[0].raw(), t[1].raw(), t[2].raw(), t[3].raw()); };
  } catch (const Error& e) {
    c.missing_peers["cuDNN SDPA"] = e.what();
  }
#else
  c.missing_peers["cuDNN SDPA"] = "this build has no cuDNN peer (tools/setup.sh fetches cudnn-frontend)";
#endif
}

}  // namespace

std::vector<nlohmann::json> run_attention_prefill_suite(BenchRun& run) {
  const auto shapes = shapes_for(run, gpu_prefill_shapes(), kCpuPrefillShapes, 5, "BATCHxHEADSxKV_HEADSxSEQxHEAD_DIM");
  std::vector<nlohmann::json> lines;
  for (const auto& shape : shapes) {
    const int64_t batch = shape[0], heads = shape[1], kv_heads = shape[2], seq = shape[3], head_dim = shape[4];
    const double full_flops = 4.0 * batch * heads * static_cast<double>(seq) * seq * head_dim;
    const float scale = softmax_scale(head_dim);
    for (const bool causal : {true, false}) {
      OpCase c{.op = causal ? "attention_prefill_causal" : "attention_prefill",
               .shape = {{"batch", batch}, {"heads", heads}, {"kv_heads", kv_heads}, {"seq", seq}, {"head_dim", head_dim},
                         {"causal", causal}},
               .x = static_cast<double>(seq),
               .x_name = "sequence length",
               .series = std::string(causal ? "causal" : "non-causal") + " d" + std::to_string(head_dim) +
                         (kv_heads != heads ? " GQA " + std::to_string(heads / kv_heads) : ""),
               // Causal attention skips the masked half of the scores.
               .flops = causal ? full_flops / 2 : full_flops,
               .small = full_flops <= 2e9,
               .tolerance = rounding_tolerance(run.dtype())};
      if (causal) {
        const PagedLayout layout{.seqs = batch, .new_tokens = seq, .context = seq};
        const Shape cache = {layout.blocks(), kBenchBlockSize, kv_heads, head_dim};
        c.inputs = {{.shape = {layout.tokens(), heads, head_dim}}, {.shape = cache}, {.shape = cache},
                    {.shape = {layout.tokens(), heads, head_dim}}};
        const size_t meta = add_paged_inputs(layout, c.inputs);
        c.run = [meta, scale, layout](std::vector<Tensor>& t) {
          ops::paged_attention(t[0], t[1], t[2], paged_batch(t, meta, layout), scale, /*window=*/0, t[3]);
        };
        // Each sequence's blocks follow one another: its keys are a [seq, kv_heads, d] run.
        add_cudnn_peer(run, c, layout.blocks_per_seq() * kBenchBlockSize * kv_heads * head_dim, true);
        add_older_kernel_peers(run, c);
      } else {
        c.inputs = {{.shape = {batch, seq, heads, head_dim}}, {.shape = {batch, seq, kv_heads, head_dim}},
                    {.shape = {batch, seq, kv_heads, head_dim}}, {.shape = {batch, seq, heads, head_dim}}};
        c.run = [scale](std::vector<Tensor>& t) { ops::dense_attention(t[0], t[1], t[2], scale, t[3]); };
        add_cudnn_peer(run, c, seq * kv_heads * head_dim, false);
        add_older_kernel_peers(run, c);
      }
      c.outputs = {3};
      lines.push_back(run.run_case("attention-prefill", c));
    }
  }
  return lines;
}

std::vector<nlohmann::json> run_attention_decode_suite(BenchRun& run) {
  const auto shapes =
      shapes_for(run, gpu_decode_shapes(), kCpuDecodeShapes, 5, "BATCHxCONTEXTxHEADSxKV_HEADSxHEAD_DIM");
  const auto e = static_cast<double>(dtype_size(run.dtype()));
  std::vector<nlohmann::json> lines;
  for (const auto& shape : shapes) {
    const int64_t batch = shape[0], context = shape[1], heads = shape[2], kv_heads = shape[3], head_dim = shape[4];
    const PagedLayout layout{.seqs = batch, .new_tokens = 1, .context = context};
    const Shape cache = {layout.blocks(), kBenchBlockSize, kv_heads, head_dim};
    const double kv_bytes = 2.0 * batch * context * kv_heads * head_dim * e;
    OpCase c{.op = "attention_decode",
             .shape = {{"batch", batch}, {"context", context}, {"heads", heads}, {"kv_heads", kv_heads},
                       {"head_dim", head_dim}},
             .x = static_cast<double>(context),
             .x_name = "context length",
             .series = "batch " + std::to_string(batch) + ", " + std::to_string(heads) + "/" + std::to_string(kv_heads) +
                       " heads, d" + std::to_string(head_dim),
             // The K/V read dominates; q and out are one row per sequence.
             .bytes = kv_bytes + 2.0 * batch * heads * head_dim * e,
             .inputs = {{.shape = {batch, heads, head_dim}}, {.shape = cache}, {.shape = cache},
                        {.shape = {batch, heads, head_dim}}},
             .outputs = {3},
             .small = batch * context * heads * head_dim <= (int64_t{1} << 24),
             .tolerance = rounding_tolerance(run.dtype())};
    const size_t meta = add_paged_inputs(layout, c.inputs);
    const float scale = softmax_scale(head_dim);
    c.run = [meta, scale, layout](std::vector<Tensor>& t) {
      ops::paged_attention(t[0], t[1], t[2], paged_batch(t, meta, layout), scale, /*window=*/0, t[3]);
    };
    add_older_kernel_peers(run, c);
    lines.push_back(run.run_case("attention-decode", c));
  }
  return lines;
}

}  // namespace genrt::bench
