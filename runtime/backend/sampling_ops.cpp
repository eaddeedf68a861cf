#include "runtime/backend/sampling_ops.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>
#include <vector>

#include "runtime/backend/cuda_dispatch.h"
#include "runtime/backend/op_checks.h"
#include "runtime/memory/device_arena.h"

#ifdef GENRT_HAVE_CUDA
#include "runtime/backend/cuda/cuda_sampling_ops.h"
#endif

namespace genrt::ops {

namespace {

template <class Row>
constexpr int64_t kWords = static_cast<int64_t>(sizeof(Row) / sizeof(int32_t));
static_assert(kWords<SamplingRow> == kSamplingRowWords);

template <class Row>
Tensor pack_rows(std::span<const Row> rows) {
  static_assert(std::is_trivially_copyable_v<Row> && sizeof(Row) % sizeof(int32_t) == 0);
  Tensor t = Tensor::zeros({static_cast<int64_t>(rows.size()), kWords<Row>}, DType::i32);
  if (!rows.empty()) std::memcpy(t.raw(), rows.data(), rows.size_bytes());
  return t;
}

// The rows of a host tensor made by pack_rows.
template <class Row>
std::vector<Row> unpack_rows(const Tensor& t) {
  std::vector<Row> rows(static_cast<size_t>(t.dim(0)));
  if (!rows.empty()) std::memcpy(rows.data(), t.raw(), rows.size() * sizeof(Row));
  return rows;
}

void check_sampling_row(const SamplingRow& p, size_t row) {
  GENRT_CHECK(std::isfinite(p.temperature) && p.temperature >= 0.0f, "sample: row {}: temperature must be finite and >= 0, got {}",
              row, p.temperature);
  GENRT_CHECK(p.top_k >= 0, "sample: row {}: top_k must be >= 0 (0 disables it), got {}", row, p.top_k);
  GENRT_CHECK(p.top_p > 0.0f && p.top_p <= 1.0f, "sample: row {}: top_p must be in (0, 1], got {}", row, p.top_p);
  GENRT_CHECK(p.min_p >= 0.0f && p.min_p <= 1.0f, "sample: row {}: min_p must be in [0, 1], got {}", row, p.min_p);
}

void check_penalty_row(const PenaltyRow& p, size_t row, int64_t tokens) {
  GENRT_CHECK(std::isfinite(p.repetition) && p.repetition > 0.0f,
              "apply_penalties: row {}: the repetition penalty must be > 0, got {}", row, p.repetition);
  GENRT_CHECK(std::isfinite(p.presence) && std::isfinite(p.frequency),
              "apply_penalties: row {}: presence and frequency penalties must be finite, got {} and {}", row,
              p.presence, p.frequency);
  GENRT_CHECK(0 <= p.begin && p.begin <= p.end && p.end <= tokens,
              "apply_penalties: row {}: tokens [{}, {}) are not inside the {} listed", row, p.begin, p.end, tokens);
}

// Each row's tokens: in the vocabulary, in increasing id order (so each once: the kernel
// writes them in parallel), with a count and a finite bias.
void check_penalty_tokens(std::span<const PenaltyRow> rows, std::span<const PenaltyToken> tokens, int64_t vocab) {
  for (size_t r = 0; r < rows.size(); ++r) {
    for (int32_t e = rows[r].begin; e < rows[r].end; ++e) {
      const PenaltyToken& t = tokens[static_cast<size_t>(e)];
      GENRT_CHECK(t.id >= 0 && t.id < vocab, "apply_penalties: token {} is outside the vocabulary [0, {})", t.id, vocab);
      GENRT_CHECK(e == rows[r].begin || tokens[static_cast<size_t>(e - 1)].id < t.id,
                  "apply_penalties: row {}: token {} is out of increasing id order", r, t.id);
      GENRT_CHECK(t.generated >= 0 && std::isfinite(t.bias),
                  "apply_penalties: row {}: token {} has count {} and bias {}", r, t.id, t.generated, t.bias);
    }
  }
}

// rows: [rows, words] i32 on the logits' device, one per logits row.
template <class Row>
void expect_rows(const Tensor& rows, Device device, int64_t n_rows, const char* op) {
  expect_on(rows, {device, DType::i32}, op, "rows");
  expect_shape(rows, {n_rows, kWords<Row>}, op, "rows");
}

// Logits: [rows, vocab] f32 on any device.
Device expect_logits(const Tensor& logits, const char* op) {
  const Placement where = placement_of(logits, op, "logits");
  GENRT_CHECK(where.dtype == DType::f32, "{}: logits are {}, expected f32", op, dtype_name(where.dtype));
  GENRT_CHECK(logits.rank() == 2 && logits.dim(1) > 0, "{}: logits must be [rows, vocab], got {}", op,
              shape_string(logits.shape()));
  GENRT_CHECK(logits.dim(1) <= INT32_MAX, "{}: a vocabulary of {} does not fit i32 ids", op, logits.dim(1));
  return where.device;
}

}  // namespace

Tensor sampling_rows(std::span<const SamplingRow> rows) {
  for (size_t r = 0; r < rows.size(); ++r) check_sampling_row(rows[r], r);
  return pack_rows(rows);
}

PenaltyTable penalty_table(std::span<const PenaltyRow> rows, std::span<const PenaltyToken> tokens, int64_t vocab) {
  for (size_t r = 0; r < rows.size(); ++r) check_penalty_row(rows[r], r, static_cast<int64_t>(tokens.size()));
  check_penalty_tokens(rows, tokens, vocab);
  return {pack_rows(rows), pack_rows(tokens)};
}

void apply_penalties(const Tensor& logits, const Tensor& rows, const Tensor& tokens, Tensor& out) {
  const char* op = "apply_penalties";
  const Device device = expect_logits(logits, op);
  expect_rows<PenaltyRow>(rows, device, logits.dim(0), op);
  expect_on(tokens, {device, DType::i32}, op, "tokens");
  GENRT_CHECK(tokens.rank() == 2 && tokens.dim(1) == kWords<PenaltyToken>, "{}: tokens must be [n, {}], got {}", op,
              kWords<PenaltyToken>, shape_string(tokens.shape()));
  expect_on(out, {device, DType::f32}, op, "out");
  expect_shape(out, logits.shape(), op, "out");
  GENRT_CHECK(out.raw() != logits.raw(), "{}: out must not alias logits (penalties read the original logits)", op);
  ref::PenaltyArgs args{.logits = static_cast<const float*>(logits.raw()),
                        .out = static_cast<float*>(out.raw()),
                        .params = static_cast<const PenaltyRow*>(rows.raw()),
                        .tokens = static_cast<const PenaltyToken*>(tokens.raw()),
                        .rows = logits.dim(0),
                        .vocab = logits.dim(1),
                        .n_tokens = tokens.dim(0)};
  GENRT_ON_CUDA(Placement{device}, cuda_ops::apply_penalties(args));
  const std::vector<PenaltyRow> params = unpack_rows<PenaltyRow>(rows);
  for (size_t r = 0; r < params.size(); ++r) check_penalty_row(params[r], r, args.n_tokens);
  const std::vector<PenaltyToken> listed = unpack_rows<PenaltyToken>(tokens);
  check_penalty_tokens(params, listed, args.vocab);
  args.params = params.data();
  args.tokens = listed.data();
  ref::apply_penalties(args);
}

void mask_tokens(const Tensor& logits, const Tensor& allowed, Tensor& out) {
  const char* op = "mask_tokens";
  const Device device = expect_logits(logits, op);
  expect_on(allowed, {device, DType::i32}, op, "allowed");
  expect_shape(allowed, {logits.dim(0), token_mask_words(logits.dim(1))}, op, "allowed");
  expect_on(out, {device, DType::f32}, op, "out");
  expect_shape(out, logits.shape(), op, "out");
  const ref::TokenMaskArgs args{.logits = static_cast<const float*>(logits.raw()),
                                .allowed = static_cast<const uint32_t*>(allowed.raw()),
                                .out = static_cast<float*>(out.raw()),
                                .rows = logits.dim(0),
                                .vocab = logits.dim(1),
                                .words = allowed.dim(1)};
  GENRT_ON_CUDA(Placement{device}, cuda_ops::mask_tokens(args));
  ref::mask_tokens(args);
}

void sample(const Tensor& logits, const Tensor& rows, Tensor& ids) {
  const char* op = "sample";
  const Device device = expect_logits(logits, op);
  expect_rows<SamplingRow>(rows, device, logits.dim(0), op);
  expect_on(ids, {device, DType::i32}, op, "ids");
  expect_shape(ids, {logits.dim(0)}, op, "ids");
  ref::SamplingArgs args{.logits = static_cast<const float*>(logits.raw()),
                         .params = static_cast<const SamplingRow*>(rows.raw()),
                         .out = static_cast<int32_t*>(ids.raw()),
                         .rows = logits.dim(0),
                         .vocab = logits.dim(1)};
  GENRT_ON_CUDA(Placement{device}, cuda_ops::sample(args));
  const std::vector<SamplingRow> params = unpack_rows<SamplingRow>(rows);
  for (size_t r = 0; r < params.size(); ++r) check_sampling_row(params[r], r);
  args.params = params.data();
  ref::sample(args);
}

void token_logprobs(const Tensor& logits, const Tensor& chosen, const Tensor& rows, Tensor& logprob,
                    Tensor& top_ids, Tensor& top_logprobs) {
  const char* op = "token_logprobs";
  const Device device = expect_logits(logits, op);
  expect_on(chosen, {device, DType::i32}, op, "chosen");
  expect_shape(chosen, {logits.dim(0)}, op, "chosen");
  expect_on(rows, {device, DType::i32}, op, "rows");
  GENRT_CHECK(rows.rank() == 1, "{}: rows must be [requests], got {}", op, shape_string(rows.shape()));
  const int64_t requests = rows.numel();
  expect_on(logprob, {device, DType::f32}, op, "logprob");
  expect_shape(logprob, {requests}, op, "logprob");
  GENRT_CHECK(top_ids.defined() == top_logprobs.defined(), "{}: top_ids and top_logprobs come together", op);
  int64_t top_n = 0;
  if (top_ids.defined()) {
    GENRT_CHECK(top_ids.rank() == 2, "{}: top_ids must be [requests, top_n], got {}", op, shape_string(top_ids.shape()));
    top_n = top_ids.dim(1);
    GENRT_CHECK(top_n <= kMaxTopLogprobs, "{}: at most {} top logprobs, not {}", op, kMaxTopLogprobs, top_n);
    expect_on(top_ids, {device, DType::i32}, op, "top_ids");
    expect_shape(top_ids, {requests, top_n}, op, "top_ids");
    expect_on(top_logprobs, {device, DType::f32}, op, "top_logprobs");
    expect_shape(top_logprobs, {requests, top_n}, op, "top_logprobs");
  }
  const ref::TokenLogprobsArgs args{.logits = static_cast<const float*>(logits.raw()),
                                    .chosen = static_cast<const int32_t*>(chosen.raw()),
                                    .rows = static_cast<const int32_t*>(rows.raw()),
                                    .logprob = static_cast<float*>(logprob.raw()),
                                    .top_ids = static_cast<int32_t*>(top_ids.raw()),
                                    .top_logprobs = static_cast<float*>(top_logprobs.raw()),
                                    .rows_n = requests,
                                    .logit_rows = logits.dim(0),
                                    .vocab = logits.dim(1),
                                    .top_n = top_n};
  GENRT_ON_CUDA(Placement{device}, cuda_ops::token_logprobs(args));
  for (int32_t row : rows.span<int32_t>()) {
    GENRT_CHECK(row >= 0 && row < args.logit_rows, "{}: row {} is outside the {} logits rows", op, row,
                args.logit_rows);
    const int32_t id = args.chosen[row];
    GENRT_CHECK(id >= 0 && id < args.vocab, "{}: chosen token {} is outside the vocabulary [0, {})", op, id,
                args.vocab);
  }
  ref::token_logprobs(args);
}

uint64_t sampling_upload_bytes(int64_t rows, int64_t vocab, int64_t context_length) {
  const auto bytes = [](const Shape& shape, DType dtype) { return DeviceArena::footprint(shape, dtype); };
  const int64_t tokens_per_row = std::min(context_length + kMaxLogitBias, vocab);  // context and biased tokens
  return bytes({rows, kWords<SamplingRow>}, DType::i32) + bytes({rows, kWords<PenaltyRow>}, DType::i32) +
         bytes({rows * tokens_per_row, kWords<PenaltyToken>}, DType::i32) +
         bytes({rows, token_mask_words(vocab)}, DType::i32) + bytes({rows}, DType::i32);
}

uint64_t sampling_workspace_bytes(int64_t rows, int64_t vocab, int64_t context_length) {
  const auto bytes = [](const Shape& shape, DType dtype) { return DeviceArena::footprint(shape, dtype); };
  const uint64_t uploads = sampling_upload_bytes(rows, vocab, context_length);
  const uint64_t outputs = bytes({rows, vocab}, DType::f32) + bytes({rows}, DType::i32) +
                           bytes({rows}, DType::f32) + bytes({rows, kMaxTopLogprobs}, DType::i32) +
                           bytes({rows, kMaxTopLogprobs}, DType::f32);
  return uploads + outputs;
}

}  // namespace genrt::ops
