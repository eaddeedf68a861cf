// The named-weights list: projections fused at load fill their rows of one tensor, and the
// fused tensor is sized once for the memory plan.

#include <gtest/gtest.h>

#include <array>

#include "runtime/io/safetensors_writer.h"
#include "runtime/io/weight_store.h"
#include "runtime/memory/device_arena.h"
#include "runtime/models/blocks/linear.h"
#include "runtime/models/named_weights.h"
#include "tests/test_util.h"

namespace genrt {
namespace {

Tensor filled(Shape shape, float first) {
  Tensor t = Tensor::zeros(std::move(shape), DType::f32);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = first + static_cast<float>(i);
  return t;
}

TEST(NamedWeights, FusedPartsFillTheirRowsOfOneTensor) {
  test::TempDir dir;
  // q [2, 3], k and v [1, 3] with biases, stored apart as a checkpoint does.
  write_safetensors(dir / "model.safetensors", {{"q.weight", filled({2, 3}, 0)},
                                                {"k.weight", filled({1, 3}, 100)},
                                                {"v.weight", filled({1, 3}, 200)},
                                                {"q.bias", filled({2}, 10)},
                                                {"k.bias", filled({1}, 20)},
                                                {"v.bias", filled({1}, 30)}});
  blocks::Linear qkv;
  NamedWeights list;
  qkv.name_fused_weights(list, {{"q", 2}, {"k", 1}, {"v", 1}}, 3, true);
  ASSERT_EQ(list.size(), 6u);
  EXPECT_EQ(list[1].name, "k.weight");
  EXPECT_EQ(list[1].shape, (Shape{1, 3}));
  EXPECT_EQ(list[1].tensor_shape(), (Shape{4, 3}));
  EXPECT_TRUE(list[0].owns_tensor());
  EXPECT_FALSE(list[2].owns_tensor());

  load_named_weights(WeightStore::open_dir(dir.path()), list);
  ASSERT_EQ(qkv.weight.shape(), (Shape{4, 3}));
  const std::vector<float> weight(qkv.weight.data<float>(), qkv.weight.data<float>() + 12);
  EXPECT_EQ(weight, (std::vector<float>{0, 1, 2, 3, 4, 5, 100, 101, 102, 200, 201, 202}));
  ASSERT_EQ(qkv.bias.shape(), (Shape{4}));
  EXPECT_EQ(std::vector<float>(qkv.bias.data<float>(), qkv.bias.data<float>() + 4), (std::vector<float>{10, 11, 20, 30}));
  // Planned once each: the fused weight and the fused bias.
  EXPECT_EQ(weight_footprint(list, DType::bf16),
            DeviceArena::footprint(Shape{4, 3}, DType::bf16) + DeviceArena::footprint(Shape{4}, DType::bf16));
}

TEST(NamedWeights, AFusedPartOfTheWrongShapeNamesItself) {
  test::TempDir dir;
  write_safetensors(dir / "model.safetensors",
                    {{"gate.weight", filled({2, 3}, 0)}, {"up.weight", filled({3, 3}, 0)}});
  blocks::Linear gate_up;
  NamedWeights list;
  gate_up.name_fused_weights(list, {{"gate", 2}, {"up", 2}}, 3, false);
  EXPECT_ERROR(load_named_weights(WeightStore::open_dir(dir.path()), list), "up.weight");
}

TEST(NamedWeights, ConcatRowsStacksPartsAndChecksTheirRows) {
  const Tensor a = filled({1, 2}, 0), b = filled({2, 2}, 10);
  const Tensor both = concat_rows(std::array{a, b});
  EXPECT_EQ(both.shape(), (Shape{3, 2}));
  EXPECT_EQ(std::vector<float>(both.data<float>(), both.data<float>() + 6), (std::vector<float>{0, 1, 10, 11, 12, 13}));
  EXPECT_ERROR(concat_rows(std::array{a, filled({1, 3}, 0)}), "concat_rows: [1, 3] does not match [1, 2]");
}

}  // namespace
}  // namespace genrt
