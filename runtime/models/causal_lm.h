#pragma once
// What the generator needs from a text model, whatever its architecture: one forward
// call runs a batch of sequences, each contributing any number of new tokens (a whole
// prompt in prefill, one token in decode), packed one after another along a single
// token dimension, attending over a paged KV cache.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <memory>

#include "runtime/backend/paged_batch.h"
#include "runtime/core/tensor.h"
#include "runtime/memory/kv_cache.h"
#include "runtime/memory/memory_plan.h"

namespace genrt {

class DeviceRuntime;

// Where a model runs and, on the GPU, how its memory is planned.
struct DeviceOptions {
  Device device = Device::cpu;
  DType dtype = DType::bf16;     // GPU weights, activations and KV cache: bf16 or f16
  double gpu_memory = 0.9;       // fraction of the device the plan may use
  int64_t max_step_tokens = 0;   // tokens per forward step the workspace holds; 0: max(context, 512)
  int64_t max_step_seqs = 256;   // sequences (and logit rows) per forward step
  // GPU decode steps replay a CUDA graph per batch-size bucket; false runs every step's
  // kernels one launch at a time (--no-cuda-graphs: debugging, and the bench's comparison).
  bool cuda_graphs = true;
};

// The facts about a model that code outside it needs.
struct ModelSpec {
  std::string architecture;  // LlamaForCausalLM, GPT2LMHeadModel, llama2.c, ...
  int64_t vocab_size = 0;
  int64_t context_length = 0;  // positions the model can attend over
  int64_t hidden_size = 0;
  int64_t num_layers = 0;
  int64_t num_kv_heads = 0;
  int64_t head_dim = 0;
  int64_t parameter_count = 0;
  std::optional<int32_t> bos_token_id;
  std::vector<int32_t> eos_token_ids;  // generation stops at any of these
  bool random_weights = false;         // made by `genrt init-model`: output is gibberish
  // > 0: no layer attends further back than this many positions (every layer has a sliding
  // window), so KV blocks wholly older than that go back to the pool; 0: some layer attends
  // the whole context.
  int64_t attention_window = 0;
  // Set for an encoder-decoder (T5): a sequence's prompt is the encoder's input followed by
  // this token, which starts the decoder. Its prompt is prefilled in one step (the encoder
  // reads it whole) and shares no cached blocks (every encoder position depends on the whole
  // input, so a prefix's keys and values are not the prefix's alone).
  std::optional<int32_t> decoder_start_token_id;
  // The width of the final hidden state (LogitsFor::last_token_hidden) where it is not
  // hidden_size: OPT's word_embed_proj_dim, after project_out. 0: hidden_size.
  int64_t projected_hidden_size = 0;

  int64_t final_hidden_size() const { return projected_hidden_size > 0 ? projected_hidden_size : hidden_size; }

  // The tokens a generated text continues (its streaming decoder's context): the prompt, or
  // nothing for an encoder-decoder, whose output is a text of its own.
  std::span<const int32_t> text_context(std::span<const int32_t> prompt) const {
    return decoder_start_token_id ? std::span<const int32_t>() : prompt;
  }

  KvCacheShape kv_cache_shape(int64_t blocks, int64_t block_size) const;
};

// One sequence's share of a forward step.
struct SequenceChunk {
  int64_t first_token = 0;  // index of its first new token in ForwardBatch::tokens
  int64_t n_tokens = 0;
  int64_t start_pos = 0;    // position of its first new token = tokens already cached
  const BlockTable* blocks = nullptr;  // must cover start_pos + n_tokens positions
  int64_t prompt_tokens = 0;  // the sequence's prompt length (an encoder-decoder's input ends there)
};

struct ForwardBatch {
  std::vector<int32_t> tokens;  // [total new tokens], sequence after sequence
  std::vector<SequenceChunk> sequences;
  // Asynchronous scheduling plans a step before its previous step's tokens reach the host:
  // from_sampled[t] >= 0 makes token t the id that step sampled for that row of `sampled`
  // (its ids, on the model's device), tokens[t] being a placeholder. Empty: every token is
  // in `tokens`. Only for a model whose takes_sampled_ids().
  std::vector<int32_t> from_sampled;
  Tensor sampled;
  // The step's draw, taken into the step (on the GPU into a decode step's CUDA graph, so
  // that only the ids' read-back, and the logprobs a request asks for, follow the replay):
  // a token drawn from each sequence's last-token logits as ops::sample draws it. Only for a model whose draws_in_step(),
  // with LogitsFor::last_token. Unset: the caller samples the logits.
  struct Draw {
    Tensor params;  // host [sequences, words] i32: ops::sampling_rows()
    Tensor ids;     // [sequences] i32 on the model's device; on the GPU the runtime's sampled ids
  };
  std::optional<Draw> draw;
};

// What a forward step returns: fp32 logits of each sequence's last token or of every
// token, or each sequence's last token's final hidden state (after the final norm, before
// the LM head), which decoder-based embedding models pool.
enum class LogitsFor { last_token, all_tokens, last_token_hidden };

class CausalLM {
 public:
  virtual ~CausalLM() = default;
  virtual const ModelSpec& spec() const = 0;
  // Writes the new tokens' keys and values into `cache` and returns fp32 logits:
  // [sequences, vocab] for each sequence's last token, or [tokens, vocab] for all; or, for
  // last_token_hidden, the hidden states [sequences, hidden] in the activations' dtype (a
  // model may refuse it). They are on the model's device: on the GPU in the step's
  // workspace, valid until the next forward.
  virtual Tensor forward(const ForwardBatch& batch, KvCache& cache, LogitsFor which) const = 0;
  // The runtime a model on the GPU runs on, for ops on its logits (ContextScope) and
  // transfers; nullptr on the CPU.
  virtual DeviceRuntime* device_runtime() const { return nullptr; }
  // A KV cache for this model on its device: on the CPU `blocks` blocks in fp32; a model on
  // the GPU hands out the pool its memory plan sized (a new cache invalidates the last).
  virtual KvCache make_kv_cache(int64_t blocks, int64_t block_size) const = 0;
  // Whether forward() takes tokens from the previous step's sampled ids
  // (ForwardBatch::from_sampled), which asynchronous scheduling needs.
  virtual bool takes_sampled_ids() const { return false; }
  // Whether forward() draws ForwardBatch::draw's tokens.
  virtual bool draws_in_step() const { return false; }
  // The batch sizes whose decode steps replay a CUDA graph (captured the first time each
  // runs, or ahead by capture_decode_graphs); empty on the CPU or without graphs.
  virtual std::vector<int64_t> graph_batch_sizes() const { return {}; }
  // CUDA graphs captured so far.
  virtual int64_t captured_graphs() const { return 0; }
  // Turns graph replay off, or back on for a model placed with graphs (the bench times
  // both); captured graphs are kept.
  virtual void set_cuda_graphs(bool enabled) { (void)enabled; }

  // What the model asks of a GPU's DeviceRuntime to run there with `options`: its weights,
  // the workspace of its largest step (measured by the code that allocates it) and its KV
  // blocks.
  virtual MemoryRequest memory_request(const DeviceOptions& options) const = 0;
  // Moves the weights into `runtime`, which planned memory_request(options) alone or with
  // other models' requests; the model runs there from then on.
  virtual void place_on(std::shared_ptr<DeviceRuntime> runtime, const DeviceOptions& options) = 0;
};

// Helpers shared by the model graphs.

// The step's paged-attention metadata (positions, cache slots, block tables); checks that
// the sequences tile the token list, stay inside the context and have their blocks.
// `table_width` > 0 fixes the block tables' width (a CUDA graph's), which must hold every
// table; 0 makes it the longest table's.
PagedBatch make_paged_batch(const ForwardBatch& batch, int64_t block_size, int64_t context_length,
                            int64_t table_width = 0);
// A decode step (one new token per sequence) grown to `rows` sequences, as a CUDA graph of
// that batch size runs it: each padding row feeds token 0 at position 0 of `padding` (a
// table whose block no sequence holds, KvCache::padding_table), so it writes and reads
// only that block and changes no sequence's keys, values or logits. It has no draw: a
// draw's rows are the caller's (forward() pads them for a graph).
ForwardBatch pad_decode_batch(const ForwardBatch& batch, int64_t rows, const BlockTable& padding);
// Whether every sequence of the batch brings exactly one new token (true of no sequence).
bool is_decode_step(const ForwardBatch& batch);
// The ids of the batch as a tensor [tokens] (i32).
Tensor batch_token_ids(const ForwardBatch& batch);
// Indices [rows] (i32) of the tokens that logits are wanted for: each sequence's last
// token, or all of them; a gather (ops::embedding) picks those rows of the hidden states.
Tensor logit_rows(const ForwardBatch& batch, LogitsFor which);
// Every token of the batch must be inside the vocabulary (checked on the host, before
// ids go to a device), and every token taken from sampled ids must name one of its rows.
void check_token_ids(const ForwardBatch& batch, int64_t vocab_size);

// Captures the CUDA graphs of every decode batch size of `model` on `cache` ahead of the
// first request (with and without the draw, for a model that draws in its steps), by
// running steps of padding rows at each; logs what it took. Nothing happens for a model
// without graphs.
void capture_decode_graphs(const CausalLM& model, KvCache& cache);
}  // namespace genrt
