#include "runtime/backend/embedding_ops.h"

#include "kernels/ref/embedding.h"
#include "kernels/ref/sampled_ids.h"
#include "runtime/backend/cuda_dispatch.h"
#include "runtime/backend/op_checks.h"

namespace genrt::ops {

void embedding(const Tensor& table, const Tensor& ids, Tensor& out) {
  const Placement where = placement_of(table, "embedding", "table");
  expect_on(ids, {where.device, DType::i32}, "embedding", "ids");
  expect_on(out, where, "embedding", "out");
  GENRT_CHECK(table.rank() == 2, "embedding: table must be [vocab, dim]");
  const int64_t vocab = table.dim(0), dim = table.dim(1);
  expect_shape(out, {ids.numel(), dim}, "embedding", "out");
  // Device ids were range-checked on the host before their upload; the kernel zeroes
  // rows of any id outside the table rather than reading out of bounds.
  GENRT_ON_CUDA(where, cuda_ops::embedding(table, ids, out));
  for (int32_t id : ids.span<int32_t>()) {
    GENRT_CHECK(id >= 0 && id < vocab, "token id {} is outside the vocabulary [0, {})", id, vocab);
  }
  ref::embedding(table.data<float>(), ids.data<int32_t>(), out.data<float>(), ids.numel(), dim);
}

void take_sampled_ids(const Tensor& sampled, const Tensor& from, Tensor& ids) {
  const char* op = "take_sampled_ids";
  const Placement where{ids.device(), DType::i32};
  for (const auto& [t, name] : {std::pair{&sampled, "sampled"}, {&from, "from"}, {&ids, "ids"}}) {
    expect_on(*t, where, op, name);
  }
  expect_shape(from, ids.shape(), op, "from");
  GENRT_CHECK(sampled.rank() == 1 && ids.rank() == 1, "{}: sampled and ids must be vectors", op);
  GENRT_ON_CUDA(where, cuda_ops::take_sampled_ids(sampled, from, ids));
  for (int32_t row : from.span<int32_t>()) {
    GENRT_CHECK(row >= -1 && row < sampled.numel(), "{}: row {} outside the {} sampled ids", op, row, sampled.numel());
  }
  ref::take_sampled_ids(sampled.data<int32_t>(), from.data<int32_t>(), ids.data<int32_t>(), ids.numel());
}

}  // namespace genrt::ops
