#pragma once
// What the decoder LMs (Llama, GPT-2, OPT) share to run a forward step on either device:
// the step's inputs and their buffers, and, on the GPU, the runtime the model was placed
// on, the step limits its workspace was planned for, the KV pool the plan sized and the
// CUDA graphs of its decode steps.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "runtime/backend/device_runtime.h"
#include "runtime/backend/paged_batch.h"
#include "runtime/backend/sampling_ops.h"
#include "runtime/memory/device_arena.h"
#include "runtime/models/causal_lm.h"
#include "runtime/models/named_weights.h"

namespace genrt {

// The sizes of one forward step: what its buffers are allocated for, or sized for at load.
struct StepDims {
  int64_t tokens = 0;
  int64_t seqs = 0;
  int64_t logit_rows = 0;
  int64_t table_width = 0;  // blocks per sequence in the block tables
  bool cross_attention = false;  // an encoder-decoder's step: StepInputs::cross
};

// A step's inputs on the model's device: where the tokens go in the KV cache, their ids,
// and the rows of the hidden states that logits are wanted for; on the GPU also where each
// token's id comes from when the previous step sampled it (ForwardBatch::from_sampled).
// An encoder-decoder's decode step (ModelSpec::decoder_start_token_id) also has `cross`:
// each token's query over its sequence's encoder output, at the output's last position.
// Its own tensors are the positions and context lengths; its slots, query starts and block
// tables are paged's.
struct StepInputs {
  PagedBatch paged;
  Tensor ids;
  Tensor logit_rows;
  Tensor from_sampled{};
  PagedBatch cross{};
};

// The buffers of StepInputs from alloc(shape, dtype): the same code allocates them for a
// step and sizes them for the plan (with ArenaFootprint).
template <class Alloc>
StepInputs allocate_step_inputs(const StepDims& d, int64_t block_size, Alloc& alloc) {
  StepInputs in{.paged = {.positions = alloc({d.tokens}, DType::i32),
                          .slots = alloc({d.tokens}, DType::i32),
                          .query_start = alloc({d.seqs + 1}, DType::i32),
                          .context_lens = alloc({d.seqs}, DType::i32),
                          .block_tables = alloc({d.seqs, d.table_width}, DType::i32),
                          .block_size = block_size},
                .ids = alloc({d.tokens}, DType::i32),
                .logit_rows = alloc({d.logit_rows}, DType::i32),
                .from_sampled = alloc({d.tokens}, DType::i32)};
  if (d.cross_attention) {
    in.cross = {.positions = alloc({d.tokens}, DType::i32),
                .slots = in.paged.slots,
                .query_start = in.paged.query_start,
                .context_lens = alloc({d.seqs}, DType::i32),
                .block_tables = in.paged.block_tables,
                .block_size = block_size};
  }
  return in;
}

// The body of a decoder's forward step, the same on both devices: the layers, the final
// norm and the LM head over the step's inputs, allocating from scratch() only, returning
// the logits. On the GPU it may be captured into a CUDA graph: it must not synchronize or
// copy from the host.
using StepBody = std::function<Tensor(const StepInputs&)>;

class DecoderDevice {
 public:
  // Tokens per KV-cache block on the GPU.
  static constexpr int64_t kBlockSize = 16;

  DecoderDevice();  // the CPU
  ~DecoderDevice();
  DecoderDevice(DecoderDevice&&) noexcept;
  DecoderDevice& operator=(DecoderDevice&&) noexcept;

  // Moves `weights` into `runtime`, which must have planned `request` (the model's
  // memory_request(options)); the model runs there from then on.
  void place_on(std::shared_ptr<DeviceRuntime> runtime, const DeviceOptions& options, const ModelSpec& spec,
                const MemoryRequest& request, const NamedWeights& weights);

  DeviceRuntime* runtime() const { return runtime_.get(); }
  // Activations: the device dtype on the GPU, f32 on the CPU.
  DType activations() const { return runtime_ ? options_.dtype : DType::f32; }

  // `options` with its defaults resolved for `spec`; checks what the GPU supports.
  static DeviceOptions resolve(const DeviceOptions& options, const ModelSpec& spec);
  // The largest step of a model placed with resolved `options`.
  static StepDims max_step(const DeviceOptions& options, const ModelSpec& spec);
  // K and V of one block over all layers, in `dtype`.
  static uint64_t kv_bytes_per_block(const ModelSpec& spec, DType dtype);
  // The request of a decoder whose weights take `weight_bytes` in options.dtype and whose
  // step activations allocate(step, dtype, alloc) allocates: the workspace is measured by
  // that same code at the largest planned step, plus what sampling its logits takes.
  template <class AllocateActivations>
  static MemoryRequest memory_request(const ModelSpec& spec, const DeviceOptions& options, uint64_t weight_bytes,
                                      AllocateActivations&& allocate);

  // The batch sizes whose decode steps are CUDA graphs with these resolved options:
  // powers of two up to the step's sequence limit, and the limit itself.
  static std::vector<int64_t> graph_buckets(const DeviceOptions& options);
  // The CUDA graphs a model with these resolved options may keep: two per bucket, a
  // step that draws its tokens (ForwardBatch::draw) and one whose caller samples them.
  static int64_t max_graphs(const DeviceOptions& options);

  // The step's buffers: the runtime's workspace on the GPU, fresh host tensors on the CPU.
  Tensor scratch(const Shape& shape, DType dtype) const;
  // One forward step of `body` over `batch`. An encoder-decoder's steps here are decode
  // steps whose positions are the decoder's, each sequence's encoder output being its
  // prompt less the decoder's start token. On the GPU with graphs, a decode step (one new
  // token per sequence, logits of each) of at most the largest bucket's sequences is padded
  // to its bucket (pad_decode_batch) and replays that bucket's CUDA graph; the first step of
  // a bucket on a KV cache runs `body` and captures it. Every other step runs `body` on its
  // own inputs. The logits are `body`'s rows of the batch's sequences. The step draws
  // batch.draw's tokens when it has one, inside the graph of a replayed step.
  Tensor forward(const ForwardBatch& batch, LogitsFor which, const ModelSpec& spec, KvCache& cache,
                 const StepBody& body) const;
  // Draws batch.draw's tokens from `logits` [sequences, vocab], when it has a draw: for a
  // step that does not run through forward() (T5's steps that read prompts).
  void draw(const ForwardBatch& batch, const Tensor& logits) const;
  // The batch sizes forward() runs as graphs, and how many it has captured.
  std::vector<int64_t> graph_batch_sizes() const;
  int64_t captured_graphs() const;
  void set_cuda_graphs(bool enabled);
  // The planned KV pool on the GPU (a new cache invalidates the previous one); the CPU
  // makes `blocks` fp32 blocks.
  KvCache make_kv_cache(const ModelSpec& spec, int64_t blocks, int64_t block_size) const;

 private:
  struct Graphs;
  // The inputs of `batch`, checked against the spec and the planned step; on the GPU
  // staged into the step's workspace.
  StepInputs inputs(const ForwardBatch& batch, LogitsFor which, const ModelSpec& spec, int64_t block_size) const;
  // `host` (the inputs of `batch`) into `device`'s buffers on the GPU, in stream order, and
  // the tokens the previous step sampled into its ids.
  void upload_inputs(const ForwardBatch& batch, const StepInputs& host, StepInputs& device) const;
  // The tokens of `batch` that its previous step sampled, into `ids` (the step's input ids
  // on the model's device, already holding the batch's own tokens); on the GPU their
  // sources are uploaded into `from` (StepInputs::from_sampled).
  void take_sampled_ids(const ForwardBatch& batch, const Tensor& from, Tensor& ids) const;
  // The decode step through its bucket's graph (see forward()).
  Tensor run_graph(const ForwardBatch& batch, const ModelSpec& spec, KvCache& cache, const StepBody& body) const;
  // The largest graph step's inputs, in the persistent region, for the plan to size: the
  // step's and the parameters of its draw (ForwardBatch::draw).
  struct GraphInputs {
    StepInputs step;
    Tensor draw_params;  // [rows, words] i32
  };
  template <class Alloc>
  static GraphInputs allocate_graph_inputs(const DeviceOptions& options, const ModelSpec& spec, Alloc& alloc);

  std::shared_ptr<DeviceRuntime> runtime_;
  DeviceOptions options_;
  std::unique_ptr<Graphs> graphs_;  // on the GPU with options_.cuda_graphs
};

template <class Alloc>
DecoderDevice::GraphInputs DecoderDevice::allocate_graph_inputs(const DeviceOptions& options, const ModelSpec& spec,
                                                                Alloc& alloc) {
  const int64_t rows = graph_buckets(options).back();
  StepDims dims = max_step(options, spec);
  dims.tokens = dims.seqs = dims.logit_rows = rows;
  StepInputs step = allocate_step_inputs(dims, kBlockSize, alloc);
  return {.step = std::move(step), .draw_params = alloc({rows, ops::kSamplingRowWords}, DType::i32)};
}

template <class AllocateActivations>
MemoryRequest DecoderDevice::memory_request(const ModelSpec& spec, const DeviceOptions& options, uint64_t weight_bytes,
                                            AllocateActivations&& allocate) {
  const DeviceOptions o = resolve(options, spec);
  const StepDims step = max_step(o, spec);
  ArenaFootprint inputs, workspace, graph_inputs;
  allocate_step_inputs(step, kBlockSize, inputs);
  allocate(step, o.dtype, workspace);
  if (o.cuda_graphs) allocate_graph_inputs(o, spec, graph_inputs);
  return {.name = spec.architecture,
          .weight_bytes = weight_bytes,
          .persistent_bytes = graph_inputs.bytes,
          .workspace_bytes = inputs.bytes + workspace.bytes +
                             ops::sampling_workspace_bytes(step.logit_rows, spec.vocab_size, spec.context_length),
          .kv_bytes_per_block = kv_bytes_per_block(spec, o.dtype),
          .block_size = kBlockSize,
          // One full context, and the padding rows' block of the CUDA graphs.
          .min_blocks = (spec.context_length + kBlockSize - 1) / kBlockSize + (o.cuda_graphs ? 1 : 0),
          .step_upload_bytes =
              inputs.bytes + ops::sampling_upload_bytes(step.logit_rows, spec.vocab_size, spec.context_length),
          .graph_bytes = o.cuda_graphs ? DeviceRuntime::kGraphBytes * max_graphs(o) : 0};
}

}  // namespace genrt
