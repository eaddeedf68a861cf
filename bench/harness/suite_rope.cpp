// The rope suite: rotary embedding of q and k fused with the write of k and v into the
// paged cache, from the output of one fused q/k/v projection (one prompt of TOKENS
// tokens), memory-bound.

#include <cmath>

#include "bench/harness/paged_inputs.h"
#include "bench/harness/suites.h"
#include "runtime/backend/ops.h"

namespace genrt::bench {

namespace {

// Decode-sized to prompt-sized steps of Llama-3-8B's attention (32 heads, 8 KV heads, d128)
// and a d64 MHA model.
const std::vector<std::vector<int64_t>> kGpuShapes = {
    {1, 32, 8, 128}, {64, 32, 8, 128}, {512, 32, 8, 128}, {4096, 32, 8, 128}, {16384, 32, 8, 128}, {4096, 16, 16, 64}};
const std::vector<std::vector<int64_t>> kCpuShapes = {{7, 4, 2, 64}, {100, 8, 8, 80}};

std::vector<float> inverse_frequencies(int64_t head_dim) {
  std::vector<float> f(static_cast<size_t>(head_dim / 2));
  for (size_t i = 0; i < f.size(); ++i) f[i] = std::pow(10000.0f, -2.0f * static_cast<float>(i) / head_dim);
  return f;
}

}  // namespace

std::vector<nlohmann::json> run_rope_suite(BenchRun& run) {
  const auto shapes = shapes_for(run, kGpuShapes, kCpuShapes, 4, "TOKENSxHEADSxKV_HEADSxHEAD_DIM");
  const auto e = static_cast<double>(dtype_size(run.dtype()));
  std::vector<nlohmann::json> lines;
  for (const auto& shape : shapes) {
    const int64_t tokens = shape[0], heads = shape[1], kv_heads = shape[2], head_dim = shape[3];
    const PagedLayout layout{.seqs = 1, .new_tokens = tokens, .context = tokens};
    const double q = static_cast<double>(tokens * heads * head_dim), kv = static_cast<double>(tokens * kv_heads * head_dim);
    OpCase c{.op = "qkv_cache_write",
             .shape = {{"tokens", tokens}, {"heads", heads}, {"kv_heads", kv_heads}, {"head_dim", head_dim}},
             .x = static_cast<double>(tokens),
             .x_name = "tokens",
             .series = std::to_string(heads) + "/" + std::to_string(kv_heads) + " heads, d" + std::to_string(head_dim),
             // q, k and v read; q written to its buffer, k and v to the cache; positions and slots.
             .bytes = (2 * q + 4 * kv) * e + 8.0 * static_cast<double>(tokens),
             .inputs = {{.shape = {tokens, (heads + 2 * kv_heads) * head_dim}},
                        {.shape = {tokens, heads, head_dim}},
                        {.shape = {head_dim / 2}, .kind = InputSpec::Kind::f32, .values = inverse_frequencies(head_dim)},
                        {.shape = {layout.blocks(), kBenchBlockSize, kv_heads, head_dim}},
                        {.shape = {layout.blocks(), kBenchBlockSize, kv_heads, head_dim}}},
             .outputs = {1, 3, 4},
             .small = tokens * heads * head_dim <= (int64_t{1} << 22),
             .tolerance = rounding_tolerance(run.dtype())};
    const size_t meta = add_paged_inputs(layout, c.inputs);
    c.run = [meta, layout](std::vector<Tensor>& t) {
      ops::qkv_cache_write(t[0], paged_batch(t, meta, layout), t[2], ref::RopeLayout::rotate_half, t[1], t[3], t[4]);
    };
    lines.push_back(run.run_case("rope", c));
  }
  return lines;
}

}  // namespace genrt::bench
