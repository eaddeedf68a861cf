#include <gtest/gtest.h>

#include "runtime/core/tensor.h"
#include "tests/test_util.h"

namespace genrt {
namespace {

TEST(Tensor, ZerosIsContiguousAndZeroed) {
  Tensor t = Tensor::zeros({2, 3, 4}, DType::f32);
  EXPECT_EQ(t.numel(), 24);
  EXPECT_EQ(t.strides(), (Shape{12, 4, 1}));
  EXPECT_TRUE(t.is_contiguous());
  EXPECT_EQ(t.nbytes(), 96u);
  for (float v : t.span<float>()) EXPECT_EQ(v, 0.0f);
}

TEST(Tensor, ViewsShareMemory) {
  Tensor t = Tensor::zeros({3, 2}, DType::f32);
  t.select(1).data<float>()[1] = 7.0f;
  EXPECT_EQ(t.data<float>()[3], 7.0f);
  Tensor rows = t.slice(1, 3);
  EXPECT_EQ(rows.shape(), (Shape{2, 2}));
  EXPECT_EQ(rows.data<float>()[1], 7.0f);
  EXPECT_EQ(t.reshape({6}).data<float>()[3], 7.0f);
  EXPECT_EQ(t.dim(-1), 2);
}

TEST(Tensor, ViewKeepsOwnerAlive) {
  Tensor view;
  {
    Tensor owner = Tensor::zeros({4}, DType::f32);
    owner.data<float>()[2] = 5.0f;
    view = owner.slice(2, 4);
  }
  EXPECT_EQ(view.data<float>()[0], 5.0f);
}

TEST(Tensor, ToF32ConvertsHalfTypes) {
  Tensor h = Tensor::zeros({2}, DType::bf16);
  auto* bits = static_cast<uint16_t*>(h.raw());
  bits[0] = f32_to_bf16(1.5f);
  bits[1] = f32_to_bf16(-2.0f);
  Tensor f = h.to_f32();
  EXPECT_EQ(f.dtype(), DType::f32);
  EXPECT_EQ(f.data<float>()[0], 1.5f);
  EXPECT_EQ(f.data<float>()[1], -2.0f);
}

TEST(Tensor, Errors) {
  Tensor t = Tensor::zeros({2, 3}, DType::f32);
  EXPECT_ERROR(t.reshape({4}), "cannot reshape [2, 3] to [4]");
  EXPECT_ERROR(t.select(2), "select(2) out of range for shape [2, 3]");
  EXPECT_ERROR(t.slice(1, 3), "slice [1, 3) out of range");
  EXPECT_ERROR(t.data<int32_t>(), "tensor holds f32, not i32");
  EXPECT_ERROR(t.dim(2), "dimension 2 out of range for a rank-2 tensor");
  EXPECT_ERROR(shape_numel({int64_t{1} << 40, int64_t{1} << 40}), "more elements than fit in 64 bits");
  EXPECT_ERROR(shape_numel({3, -1}), "negative dimension");
}

TEST(Tensor, CudaAllocationWithoutDeviceIsAClearError) {
  if (cuda_device_count() > 0) GTEST_SKIP() << "a CUDA device is present";
  EXPECT_ERROR(Tensor::zeros({4}, DType::f32, Device::cuda), "cannot allocate");
}

}  // namespace
}  // namespace genrt
