// The UNet's and VAE's image ops on the GPU (cuDNN convolution, the two-phase GroupNorm,
// nearest 2x upsampling, channel concatenation) against their CPU references, through the
// op entries on a CUDA context like a DeviceRuntime step's. Skip, saying why, without a
// device; the launchers' and op entries' argument checks and the GroupNorm schedule's
// arithmetic run anywhere.

#include <gtest/gtest.h>

#include <cuda_runtime_api.h>

#include <cmath>
#include <cstdint>
#include <iterator>
#include <string>
#include <tuple>
#include <vector>

#include "kernels/group_norm.cuh"
#include "kernels/ref/conv2d.h"
#include "kernels/ref/group_norm.h"
#include "kernels/ref/upsample.h"
#include "kernels/upsample.cuh"
#include "runtime/backend/cuda/cublaslt_gemm.h"
#include "runtime/backend/cuda/cuda_context.h"
#include "runtime/backend/cuda/cudnn_conv.h"
#include "runtime/backend/image_ops.h"
#include "tests/gpu/gpu_test_util.h"
#include "tests/test_util.h"

namespace genrt {
namespace {

using test::DeviceBuffer;
using test::pattern;

// A view of `buffer` from element `offset` on.
Tensor on_device(const DeviceBuffer& buffer, Shape shape, DType dtype, int64_t offset = 0) {
  return Tensor::view_of(buffer.get<char>() + offset * static_cast<int64_t>(dtype_size(dtype)), std::move(shape), dtype,
                         nullptr, Device::cuda);
}

// `values` rounded to what `dtype` represents, so the CPU reference sees the kernel's inputs.
std::vector<float> rounded(std::vector<float> values, DType dtype) {
  std::vector<char> bytes(values.size() * dtype_size(dtype));
  convert_from_f32(values.data(), bytes.data(), dtype, values.size());
  convert_to_f32(bytes.data(), dtype, values.data(), values.size());
  return values;
}

// n values scale * sin(0.37 i + salt) + offset, rounded to `dtype`: test::pattern's wave
// with an offset of one's choosing (pattern's is 0.1 x salt).
std::vector<float> wave(size_t n, float scale, float offset, int salt, DType dtype) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = scale * std::sin(0.37f * static_cast<float>(i) + salt) + offset;
  return rounded(std::move(v), dtype);
}

const float* data_or_null(const std::vector<float>& v) { return v.empty() ? nullptr : v.data(); }

// Fails when some |got - want| exceeds tol * (1 + |want|), or got has a NaN, naming the worst.
void expect_close(const std::vector<float>& got, const std::vector<float>& want, double tol, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  double worst = 0.0;
  size_t at = 0;
  for (size_t i = 0; i < want.size() && !std::isnan(worst); ++i) {
    const double excess = std::abs(got[i] - want[i]) - tol * (1.0 + std::abs(want[i]));
    if (!(excess <= worst)) {  // NaN lands here, and stays
      worst = excess;
      at = i;
    }
  }
  EXPECT_LE(worst, 0.0) << what << ": element " << at << " is " << got[at] << ", expected " << want[at]
                        << " (tolerance " << tol << " x (1 + |expected|))";
}

// The GroupNorm statistics of a DeviceRuntime step's context, on the default stream.
struct GroupNormContext {
  DeviceBuffer statistics{std::vector<float>(kernels::kGroupNormWorkspaceBytes / sizeof(float)), DType::f32};
  CudaContext context{.group_norm_workspace = statistics.get<void>(),
                      .group_norm_workspace_bytes = kernels::kGroupNormWorkspaceBytes};
  CudaScope scope{context};
};

// The GEMM (1x1 convolutions) and cuDNN's convolutions of a DeviceRuntime step's context,
// sharing one workspace, on the default stream.
struct ConvContext {
  DeviceBuffer workspace{std::vector<float>(CublasLtGemm::kWorkspaceBytes / sizeof(float)), DType::f32};
  CublasLtGemm gemm{workspace.get<void>(), CublasLtGemm::kWorkspaceBytes};
  CudnnConv conv{workspace.get<void>(), CublasLtGemm::kWorkspaceBytes};
  CudaContext context{.gemm = &gemm, .conv = &conv};
  CudaScope scope{context};
};

// ---- GroupNorm ------------------------------------------------------------------------

struct GroupNormShape {
  int64_t batch, height, width, channels, groups;
  int64_t chunks;        // per (sample, group), as group_norm_chunks plans them (checked on the host below)
  int64_t misalign = 0;  // x and out start this many elements past an aligned address
  float x_scale = 2.0f;  // x = x_scale * (sin(...) + 1.5): a mean the statistics must not cancel
  const char* tag = "";  // ends the test's name
};
// What each exercises; the widths are those of 16-bit types (f32's are half as wide, at
// most 4), over a workspace of kGroupNormWorkspacePartials.
constexpr GroupNormShape kGroupNormShapes[] = {
    // SD's 320 channels in 32 groups (10 per group: pairs), 2560 values a group: one chunk.
    {2, 16, 16, 320, 32, 1},
    // An odd image, 4 channels per group: one chunk.
    {2, 7, 9, 64, 16, 1},
    // One pixel: one chunk.
    {1, 1, 1, 128, 32, 1},
    // 1280 channels, 40 per group: 8-wide packs, one chunk.
    {2, 8, 8, 1280, 32, 1},
    // Large groups (131072 values, 2 channels each): 32 chunks of 2048 pixels, one partial
    // per lane of the normalize kernel's merging warp.
    {1, 256, 256, 64, 32, 32},
    // 3 channels per group: single values (the scalar path), one chunk.
    {2, 5, 3, 15, 5, 1},
    // 8 channels per group, 16-byte packs: 80000 values a group make 19 chunks, of 526 or 527
    // of the 10000 pixels (uneven).
    {1, 100, 100, 256, 32, 19},
    // SD's 64x64 latents at batch 1: pairs, 10 chunks of 409 or 410 pixels.
    {1, 64, 64, 320, 32, 10},
    // One group of 524288 values: 128 chunks of 128 pixels, so each lane of the merging warp
    // folds 4 partials before the warp's tree (more partials than lanes).
    {1, 128, 128, 32, 1, 128},
    // 8 channels per group, but x and out one element off alignment: single values. 7 chunks
    // of 583 or 584 of the 4087 pixels.
    {1, 61, 67, 64, 8, 7, 1, 2.0f, "misaligned1"},
    // The same two elements off: pairs (4-byte aligned in 16-bit types, 8-byte in f32).
    {1, 61, 67, 64, 8, 7, 2, 2.0f, "misaligned2"},
    // Values of amplitude 4e-3 about 6e-3: a variance of 8e-6, near eps (1e-5), so rstd
    // depends on both. 10 chunks of pairs.
    {1, 64, 64, 320, 32, 10, 0, 4e-3f, "varianceNearEps"},
};

// affine: weight and bias; add_silu_in_place: the ResNet's time embedding added before and
// SiLU after, writing over x; silu: no weight, bias or add.
enum class NormVariant { affine, add_silu_in_place, silu };

const char* variant_name(NormVariant v) {
  switch (v) {
    case NormVariant::affine: return "affine";
    case NormVariant::add_silu_in_place: return "add_silu_in_place";
    case NormVariant::silu: return "silu";
  }
  return "?";
}

using GroupNormCase = std::tuple<DType, int /*index into kGroupNormShapes*/, NormVariant>;

std::string group_norm_name(const ::testing::TestParamInfo<GroupNormCase>& info) {
  const auto& [dtype, index, variant] = info.param;
  const GroupNormShape& s = kGroupNormShapes[index];
  return std::string(dtype_name(dtype)) + "_" + std::to_string(s.batch) + "x" + std::to_string(s.height) + "x" +
         std::to_string(s.width) + "x" + std::to_string(s.channels) + "_g" + std::to_string(s.groups) + "_" +
         variant_name(variant) + (*s.tag != '\0' ? std::string("_") + s.tag : std::string());
}

// The output is rounded to T once: by at most 2^-8 (bf16) or 2^-11 (fp16) of its value; the
// kernel's fp32 statistics differ from the reference's fp64 ones by ~1e-6 relative. So,
// relative to 1 + |value|: 4e-3 (bf16), 5e-4 (fp16), and 1e-5 for f32.
double group_norm_tolerance(DType dtype) {
  return dtype == DType::bf16 ? 4e-3 : dtype == DType::f16 ? 5e-4 : 1e-5;
}

class GroupNormGpu : public ::testing::TestWithParam<GroupNormCase> {
 protected:
  void SetUp() override { GENRT_REQUIRE_GPU(); }
};

TEST_P(GroupNormGpu, MatchesReference) {
  const auto [dtype, index, variant] = GetParam();
  const GroupNormShape& s = kGroupNormShapes[index];
  const int64_t pixels = s.height * s.width, n = s.batch * pixels * s.channels;
  const bool add = variant == NormVariant::add_silu_in_place, affine = variant != NormVariant::silu;
  const bool silu = variant != NormVariant::affine, in_place = add;
  const auto none = std::vector<float>{};
  const std::vector<float> x = wave(n, s.x_scale, 1.5f * s.x_scale, 30, dtype);
  const std::vector<float> channel_add =
      add ? wave(s.batch * s.channels, 0.25f * s.x_scale, 0.1f * s.x_scale, 2, dtype) : none;
  const std::vector<float> weight = affine ? pattern(s.channels, 0.9f, 3, dtype) : none;
  const std::vector<float> bias = affine ? pattern(s.channels, 0.3f, 4, dtype) : none;
  // x and out are views `pad` elements into buffers of zeros there, which must stay zero.
  const int64_t pad = s.misalign;
  std::vector<float> padded_x(pad, 0.0f);
  padded_x.insert(padded_x.end(), x.begin(), x.end());
  DeviceBuffer d_x(padded_x, dtype), d_add(channel_add, dtype), d_weight(weight, dtype), d_bias(bias, dtype),
      d_out(in_place ? none : std::vector<float>(pad + n), dtype);
  const auto optional = [&](const DeviceBuffer& b, const std::vector<float>& v, Shape shape) {
    return v.empty() ? Tensor() : on_device(b, std::move(shape), dtype);
  };
  const ops::GroupNormParams params{.groups = s.groups, .eps = 1e-5f, .silu = silu};
  {
    const GroupNormContext gpu;
    const Tensor t_x = on_device(d_x, {s.batch, s.height, s.width, s.channels}, dtype, pad);
    Tensor t_out = in_place ? t_x : on_device(d_out, t_x.shape(), dtype, pad);
    ops::group_norm(t_x, optional(d_add, channel_add, {s.batch, s.channels}), optional(d_weight, weight, {s.channels}),
                    optional(d_bias, bias, {s.channels}), params, t_out);
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  }
  std::vector<float> expected(pad + n, 0.0f);
  ref::group_norm({.x = x.data(),
                   .channel_add = data_or_null(channel_add),
                   .weight = data_or_null(weight),
                   .bias = data_or_null(bias),
                   .out = expected.data() + pad,
                   .batch = s.batch,
                   .pixels = pixels,
                   .channels = s.channels,
                   .groups = s.groups,
                   .eps = params.eps,
                   .silu = silu});
  expect_close((in_place ? d_x : d_out).read(), expected, group_norm_tolerance(dtype), "group_norm");
}

INSTANTIATE_TEST_SUITE_P(ImageOps, GroupNormGpu,
                         ::testing::Combine(::testing::Values(DType::bf16, DType::f16, DType::f32),
                                            ::testing::Range(0, static_cast<int>(std::size(kGroupNormShapes))),
                                            ::testing::Values(NormVariant::affine, NormVariant::add_silu_in_place,
                                                              NormVariant::silu)),
                         group_norm_name);

// A workspace of one partial per group: one chunk, each block reducing a whole large group.
TEST(ImageOpsGroupNorm, OneChunkPerGroupMatchesToo) {
  GENRT_REQUIRE_GPU();
  const int64_t batch = 1, pixels = 256 * 256, channels = 64, groups = 32, n = batch * pixels * channels;
  const size_t workspace_bytes = batch * groups * sizeof(kernels::Moments);
  ASSERT_EQ(kernels::group_norm_chunks(batch, groups, pixels, channels / groups, kernels::kGroupNormTargetBlocks,
                                       batch * groups),
            1);
  const std::vector<float> x = pattern(n, 2.0f, 30, DType::bf16), weight = pattern(channels, 0.9f, 3, DType::bf16);
  DeviceBuffer d_x(x, DType::bf16), d_weight(weight, DType::bf16), d_out(std::vector<float>(n), DType::bf16),
      d_workspace(std::vector<float>(workspace_bytes / sizeof(float)), DType::f32);
  const ref::GroupNormArgs<__nv_bfloat16> args{.x = d_x.get<__nv_bfloat16>(),
                                               .weight = d_weight.get<__nv_bfloat16>(),
                                               .out = d_out.get<__nv_bfloat16>(),
                                               .batch = batch,
                                               .pixels = pixels,
                                               .channels = channels,
                                               .groups = groups};
  ASSERT_EQ(kernels::launch_group_norm(args, d_workspace.get<void>(), workspace_bytes, nullptr), cudaSuccess);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  std::vector<float> expected(n);
  ref::group_norm({.x = x.data(),
                   .weight = weight.data(),
                   .out = expected.data(),
                   .batch = batch,
                   .pixels = pixels,
                   .channels = channels,
                   .groups = groups});
  expect_close(d_out.read(), expected, group_norm_tolerance(DType::bf16), "group_norm in one chunk per group");
}

// Refused on the host before any launch, so this runs anywhere: x's storage, a host array
// posing as device memory, is never read.
TEST(ImageOpsGroupNorm, NamesTheStatisticsWorkspaceItLacks) {
  uint16_t never_read[2 * 2 * 2 * 8] = {};
  const Tensor x = Tensor::view_of(never_read, {2, 2, 2, 8}, DType::bf16, nullptr, Device::cuda);
  Tensor out = x;
  const CudaContext context{};
  const CudaScope scope(context);
  EXPECT_ERROR(ops::group_norm(x, Tensor(), Tensor(), Tensor(), {.groups = 4}, out),
               "group_norm on the GPU: 2 samples of 4 groups need 96 bytes of statistics workspace");
}

// The schedule's arithmetic on the CPU, with the kernels' partition: chunks of pixels, each
// reduced by 256 threads taking packs in turn (a pack's moments merged into the thread's),
// then the threads' moments and the chunks' merged (in order here, in trees on the GPU);
// against fp64 two-pass statistics, on values whose mean (1000) dwarfs their spread, where
// sums of squares in fp32 would cancel.
TEST(ImageOpsGroupNormSchedule, ChunkedMomentsMatchTwoPassStatistics) {
  const int64_t pixels = 512 * 512, per_group = 4, vec = 4, threads = 256;
  const int64_t chunks = kernels::group_norm_chunks(1, 32, pixels, per_group, kernels::kGroupNormTargetBlocks,
                                                    kernels::kGroupNormWorkspacePartials);
  EXPECT_EQ(chunks, 32);  // the VAE's 512x512x128 at batch 1: 32 x 32 blocks
  std::vector<float> values(pixels * per_group);
  for (size_t i = 0; i < values.size(); ++i) values[i] = 1000.0f + std::sin(0.37f * static_cast<float>(i));
  kernels::Moments group{};
  for (int64_t chunk = 0; chunk < chunks; ++chunk) {
    const int64_t first = kernels::group_norm_chunk_begin(chunk, pixels, chunks) * per_group;
    const int64_t packs = (kernels::group_norm_chunk_begin(chunk + 1, pixels, chunks) * per_group - first) / vec;
    kernels::Moments block{};
    for (int64_t t = 0; t < threads; ++t) {
      kernels::Moments thread{};
      for (int64_t j = t; j < packs; j += threads) {
        const float* v = values.data() + first + j * vec;
        const float mean = (v[0] + v[1] + v[2] + v[3]) / vec;
        float m2 = 0.0f;
        for (int i = 0; i < vec; ++i) m2 += (v[i] - mean) * (v[i] - mean);
        thread = kernels::merge_moments(thread, {static_cast<float>(vec), mean, m2});
      }
      block = kernels::merge_moments(block, thread);
    }
    group = kernels::merge_moments(group, block);
  }
  double mean = 0.0, m2 = 0.0;
  for (float v : values) mean += v;
  mean /= static_cast<double>(values.size());
  for (float v : values) m2 += (v - mean) * (v - mean);
  const double variance = m2 / static_cast<double>(values.size());
  EXPECT_EQ(group.count, static_cast<float>(values.size()));
  EXPECT_NEAR(group.mean, mean, 1e-3);  // a few ulps of 1000 (6e-5 each)
  EXPECT_NEAR(group.m2 / group.count, variance, 1e-3 * variance);
}

TEST(ImageOpsGroupNormSchedule, ChunksFillTheDeviceWithinTheWorkspace) {
  using kernels::group_norm_chunks;
  const int64_t target = kernels::kGroupNormTargetBlocks, partials = kernels::kGroupNormWorkspacePartials;
  EXPECT_EQ(group_norm_chunks(2, 32, 64 * 64, 10, target, partials), 10);  // SD at 64x64: 40960 values per group
  EXPECT_EQ(group_norm_chunks(2, 32, 8 * 8, 40, target, partials), 1);     // 8x8x1280: 2560 values
  EXPECT_EQ(group_norm_chunks(1, 1, 3, 100000, target, partials), 3);      // no more chunks than pixels
  EXPECT_EQ(group_norm_chunks(256, 32, 4096, 10, target, partials), 1);    // the workspace's last full batch
  EXPECT_EQ(group_norm_chunks(257, 32, 4096, 10, target, partials), 0);    // beyond it
  EXPECT_EQ(group_norm_chunks(1, 32, 512 * 512, 4, target, 64), 2);        // a workspace of 64 partials
}

// Each of kGroupNormShapes gets the chunks its comment says it exercises.
TEST(ImageOpsGroupNormSchedule, TestShapesGetTheChunksTheyAreMeantFor) {
  for (const GroupNormShape& s : kGroupNormShapes) {
    EXPECT_EQ(kernels::group_norm_chunks(s.batch, s.groups, s.height * s.width, s.channels / s.groups,
                                         kernels::kGroupNormTargetBlocks, kernels::kGroupNormWorkspacePartials),
              s.chunks)
        << s.batch << "x" << s.height << "x" << s.width << "x" << s.channels << " in " << s.groups << " groups";
  }
}

TEST(ImageOpsLaunch, GroupNormRefusesImpossibleArguments) {
  float data[8] = {};
  kernels::Moments workspace[8] = {};  // never reached: every launch below is refused first
  const ref::GroupNormArgs<float> valid{.x = data, .out = data, .batch = 1, .pixels = 2, .channels = 4, .groups = 2};
  const auto launch = [&](ref::GroupNormArgs<float> a, void* scratch, size_t bytes) {
    return kernels::launch_group_norm(a, scratch, bytes, nullptr);
  };
  auto a = valid;
  a.groups = 0;
  EXPECT_EQ(launch(a, workspace, sizeof(workspace)), cudaErrorInvalidValue);
  a.groups = 3;  // does not divide the channels
  EXPECT_EQ(launch(a, workspace, sizeof(workspace)), cudaErrorInvalidValue);
  a = valid;
  a.pixels = -1;
  EXPECT_EQ(launch(a, workspace, sizeof(workspace)), cudaErrorInvalidValue);
  a = valid;
  a.x = nullptr;
  EXPECT_EQ(launch(a, workspace, sizeof(workspace)), cudaErrorInvalidValue);
  a = valid;
  a.out = nullptr;
  EXPECT_EQ(launch(a, workspace, sizeof(workspace)), cudaErrorInvalidValue);
  EXPECT_EQ(launch(valid, nullptr, sizeof(workspace)), cudaErrorInvalidValue);
  EXPECT_EQ(launch(valid, workspace, sizeof(kernels::Moments)), cudaErrorInvalidValue);  // 2 groups, 1 partial
  a = {.batch = 0, .pixels = 2, .channels = 4, .groups = 2};
  EXPECT_EQ(launch(a, nullptr, 0), cudaSuccess);  // nothing to do
}

TEST(ImageOpsLaunch, UpsampleRefusesImpossibleArguments) {
  float data[8] = {};
  const ref::UpsampleShape shape{.batch = 1, .height = 1, .width = 1, .channels = 2};
  EXPECT_EQ(kernels::launch_upsample_nearest2x<float>(shape, nullptr, data, nullptr), cudaErrorInvalidValue);
  EXPECT_EQ(kernels::launch_upsample_nearest2x<float>(shape, data, nullptr, nullptr), cudaErrorInvalidValue);
  EXPECT_EQ(kernels::launch_upsample_nearest2x<float>({.batch = 1, .height = -1, .width = 1, .channels = 2}, data,
                                                      data, nullptr),
            cudaErrorInvalidValue);
  EXPECT_EQ(kernels::launch_upsample_nearest2x<float>({.batch = 0, .height = 1, .width = 1, .channels = 2}, nullptr,
                                                      nullptr, nullptr),
            cudaSuccess);
}

// ---- Upsampling and concatenation (copies: exact) ----------------------------------------

struct UpsampleShapeCase {
  int64_t batch, height, width, channels;
};
// One value; 3 channels of 2 bytes (the narrowest copies); 320 channels (16-byte copies); 4.
constexpr UpsampleShapeCase kUpsampleShapes[] = {{1, 1, 1, 1}, {2, 7, 9, 3}, {2, 8, 8, 320}, {1, 5, 3, 4}};

using UpsampleCase = std::tuple<DType, int /*index into kUpsampleShapes*/>;

std::string upsample_name(const ::testing::TestParamInfo<UpsampleCase>& info) {
  const auto& [dtype, index] = info.param;
  const UpsampleShapeCase& s = kUpsampleShapes[index];
  return std::string(dtype_name(dtype)) + "_" + std::to_string(s.batch) + "x" + std::to_string(s.height) + "x" +
         std::to_string(s.width) + "x" + std::to_string(s.channels);
}

class UpsampleGpu : public ::testing::TestWithParam<UpsampleCase> {
 protected:
  void SetUp() override { GENRT_REQUIRE_GPU(); }
};

TEST_P(UpsampleGpu, CopiesEachPixelToFour) {
  const auto [dtype, index] = GetParam();
  const UpsampleShapeCase& s = kUpsampleShapes[index];
  const int64_t n = s.batch * s.height * s.width * s.channels;
  const std::vector<float> x = pattern(n, 3.0f, 1, dtype);
  DeviceBuffer d_x(x, dtype), d_out(std::vector<float>(4 * n), dtype);
  {
    const CudaContext context{};
    const CudaScope scope(context);
    Tensor out = on_device(d_out, {s.batch, 2 * s.height, 2 * s.width, s.channels}, dtype);
    ops::upsample_nearest2x(on_device(d_x, {s.batch, s.height, s.width, s.channels}, dtype), out);
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  }
  std::vector<float> expected(4 * n);
  ref::upsample_nearest2x({.batch = s.batch, .height = s.height, .width = s.width, .channels = s.channels}, x.data(),
                          expected.data());
  EXPECT_EQ(d_out.read(), expected);
}

INSTANTIATE_TEST_SUITE_P(ImageOps, UpsampleGpu,
                         ::testing::Combine(::testing::Values(DType::bf16, DType::f16, DType::f32),
                                            ::testing::Range(0, static_cast<int>(std::size(kUpsampleShapes)))),
                         upsample_name);

struct ConcatShape {
  Shape leading;
  int64_t a_channels, b_channels;
};
// The UNet's skip joins (320 + 320 at 8x8), odd widths on an odd image, rows of one value.
const ConcatShape kConcatShapes[] = {{{2, 8, 8}, 320, 320}, {{1, 7, 9}, 3, 5}, {{3}, 1, 1}};

using ConcatCase = std::tuple<DType, int /*index into kConcatShapes*/>;

std::string concat_name(const ::testing::TestParamInfo<ConcatCase>& info) {
  const auto& [dtype, index] = info.param;
  const ConcatShape& s = kConcatShapes[index];
  std::string name(dtype_name(dtype));
  for (size_t d = 0; d < s.leading.size(); ++d) name += (d == 0 ? "_" : "x") + std::to_string(s.leading[d]);
  return name + "_" + std::to_string(s.a_channels) + "_" + std::to_string(s.b_channels);
}

class ConcatChannelsGpu : public ::testing::TestWithParam<ConcatCase> {
 protected:
  void SetUp() override { GENRT_REQUIRE_GPU(); }
};

TEST_P(ConcatChannelsGpu, PutsAThenBInEachRow) {
  const auto [dtype, index] = GetParam();
  const ConcatShape& s = kConcatShapes[index];
  const int64_t rows = shape_numel(s.leading), ca = s.a_channels, cb = s.b_channels;
  const std::vector<float> a = pattern(rows * ca, 2.0f, 1, dtype), b = pattern(rows * cb, 2.0f, 2, dtype);
  DeviceBuffer d_a(a, dtype), d_b(b, dtype), d_out(std::vector<float>(rows * (ca + cb)), dtype);
  const auto shape_with = [&](int64_t channels) {
    Shape shape = s.leading;
    shape.push_back(channels);
    return shape;
  };
  {
    const CudaContext context{};
    const CudaScope scope(context);
    Tensor out = on_device(d_out, shape_with(ca + cb), dtype);
    ops::concat_channels(on_device(d_a, shape_with(ca), dtype), on_device(d_b, shape_with(cb), dtype), out);
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  }
  std::vector<float> expected;
  for (int64_t r = 0; r < rows; ++r) {
    expected.insert(expected.end(), a.begin() + r * ca, a.begin() + (r + 1) * ca);
    expected.insert(expected.end(), b.begin() + r * cb, b.begin() + (r + 1) * cb);
  }
  EXPECT_EQ(d_out.read(), expected);
}

INSTANTIATE_TEST_SUITE_P(ImageOps, ConcatChannelsGpu,
                         ::testing::Combine(::testing::Values(DType::bf16, DType::f16, DType::f32),
                                            ::testing::Range(0, static_cast<int>(std::size(kConcatShapes)))),
                         concat_name);

// ---- Convolution ----------------------------------------------------------------------

struct ConvCase {
  int64_t batch, height, width, in_channels, out_channels, kernel, stride, padding;
  bool bias;
  int64_t extra_padding_end = 0;
};
// The UNet's conv_in (4 latent channels) at stride 1 and 2 on an odd image, its 320-channel
// 3x3, its conv_out (320 to 4), a downsampler without bias, the VAE's RGB conv_in and
// 3-channel conv_out, a 1x1 (a linear layer over the pixels: the op entry's GEMM, not
// cuDNN), and the VAE encoder's downsampler (no padding but one row and column of zeros at
// the end, on an odd image).
constexpr ConvCase kConvCases[] = {
    {1, 7, 9, 4, 32, 3, 1, 1, true},   {2, 7, 9, 4, 32, 3, 2, 1, true}, {2, 16, 16, 320, 320, 3, 1, 1, true},
    {2, 8, 8, 320, 4, 3, 1, 1, true},  {2, 9, 7, 32, 16, 3, 2, 1, false}, {1, 9, 7, 3, 16, 3, 1, 1, true},
    {2, 8, 8, 128, 3, 3, 1, 1, true},  {2, 8, 8, 64, 32, 1, 1, 0, true},    {2, 9, 8, 32, 32, 3, 2, 0, true, 1},
};

using Conv2dCase = std::tuple<DType, int /*index into kConvCases*/>;

std::string conv_name(const ::testing::TestParamInfo<Conv2dCase>& info) {
  const auto& [dtype, index] = info.param;
  const ConvCase& c = kConvCases[index];
  return std::string(dtype_name(dtype)) + "_" + std::to_string(c.batch) + "x" + std::to_string(c.height) + "x" +
         std::to_string(c.width) + "x" + std::to_string(c.in_channels) + "_to" + std::to_string(c.out_channels) +
         "_k" + std::to_string(c.kernel) + "s" + std::to_string(c.stride) + "p" + std::to_string(c.padding) +
         (c.extra_padding_end > 0 ? "e" + std::to_string(c.extra_padding_end) : "") + (c.bias ? "_bias" : "");
}

class Conv2dGpu : public ::testing::TestWithParam<Conv2dCase> {
 protected:
  void SetUp() override { GENRT_REQUIRE_GPU(); }
};

TEST_P(Conv2dGpu, MatchesReference) {
  const auto [dtype, index] = GetParam();
  const ConvCase& c = kConvCases[index];
  const ref::Conv2dShape s{.batch = c.batch,
                           .height = c.height,
                           .width = c.width,
                           .in_channels = c.in_channels,
                           .out_channels = c.out_channels,
                           .kernel = c.kernel,
                           .stride = c.stride,
                           .padding = c.padding,
                           .extra_padding_end = c.extra_padding_end};
  const int64_t patch = c.kernel * c.kernel * c.in_channels;
  const int64_t out_n = c.batch * s.out_height() * s.out_width() * c.out_channels;
  // x and the filters: waves about 0 of amplitude 1 / sqrt(patch), so each term |x w| <= 1 /
  // patch and |conv| <= sum |terms| <= 1 (to rounding) whatever the patch; 0.17 to 0.52 at
  // most in these cases. (The two waves run in step along the channels, so their sums are
  // coherent: filters alone scaled by 1 / sqrt(patch) would give outputs up to ~27.)
  const float amplitude = 1.0f / std::sqrt(static_cast<float>(patch));
  const std::vector<float> x = wave(c.batch * c.height * c.width * c.in_channels, amplitude, 0.0f, 1, dtype);
  const std::vector<float> w = wave(c.out_channels * patch, amplitude, 0.0f, 2, dtype);
  // The bias: 0.25 to 0.75, its sign alternating by channel, so a dropped bias moves every
  // output by at least 0.25, a bias one channel off by at least 0.5.
  std::vector<float> bias;
  for (int64_t k = 0; c.bias && k < c.out_channels; ++k) {
    bias.push_back((k % 2 == 0 ? 1.0f : -1.0f) * (0.5f + 0.25f * std::sin(0.37f * static_cast<float>(k) + 3.0f)));
  }
  bias = rounded(std::move(bias), dtype);
  DeviceBuffer d_x(x, dtype), d_w(w, dtype), d_bias(bias, dtype), d_out(std::vector<float>(out_n), dtype);
  {
    ConvContext gpu;
    const Tensor t_x = on_device(d_x, {c.batch, c.height, c.width, c.in_channels}, dtype);
    const Tensor t_w = on_device(d_w, {c.out_channels, c.kernel, c.kernel, c.in_channels}, dtype);
    const Tensor t_bias = c.bias ? on_device(d_bias, {c.out_channels}, dtype) : Tensor();
    Tensor out = on_device(d_out, {c.batch, s.out_height(), s.out_width(), c.out_channels}, dtype);
    for (int run = 0; run < 2; ++run) {
      ASSERT_EQ(cudaMemset(d_out.get<void>(), 0xff, out_n * dtype_size(dtype)), cudaSuccess);  // NaN
      ops::conv2d(t_x, t_w, t_bias,
                  {.stride = c.stride, .padding = c.padding, .extra_padding_end = c.extra_padding_end}, out);
    }
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    EXPECT_EQ(gpu.conv.cached_plans(), c.kernel == 1 ? 0u : 1u) << "the second call reuses the first's plan";
  }
  std::vector<float> expected(out_n);
  ref::conv2d(s, x.data(), w.data(), data_or_null(bias), expected.data());
  // The tolerance, relative to 1 + |out| (|out| <= 1.75):
  // - inputs: rounded to dtype once, on the host; the reference takes the same values.
  // - products of 16-bit values are exact in fp32, and summed in fp32 by both sides in
  //   different orders, each within (patch - 1) x 2^-24 (the reference, rounding) or 2^-23
  //   (tensor cores may truncate) of sum |terms| <= 1: 5.1e-4 at the 2880-term patch.
  // - the output is rounded to dtype once where cuDNN fuses the bias (added in fp32), twice
  //   where it does not (its output, then the bias kernel's): at most u (|conv| + |out|) <=
  //   u (2 |out| + 0.75) <= 2u (1 + |out|), u = 2^-8 (bf16) or 2^-11 (fp16).
  // So at most 2.3e-2 (bf16) or 4.1e-3 (fp16) absolute, far below the bias's 0.25.
  const double u = dtype == DType::bf16 ? 0x1p-8 : 0x1p-11;
  const double tolerance = 2.0 * u + static_cast<double>(patch - 1) * (0x1p-23 + 0x1p-24);
  expect_close(d_out.read(), expected, tolerance, "conv2d");
}

INSTANTIATE_TEST_SUITE_P(ImageOps, Conv2dGpu,
                         ::testing::Combine(::testing::Values(DType::bf16, DType::f16),
                                            ::testing::Range(0, static_cast<int>(std::size(kConvCases)))),
                         conv_name);

// Refused before cuDNN is loaded or any device is asked, so this runs anywhere.
TEST(ImageOpsConv, AnUnsupportedDtypeNamesTheShape) {
  CudnnConv conv(nullptr, 0);
  const ref::Conv2dShape shape{
      .batch = 1, .height = 5, .width = 5, .in_channels = 4, .out_channels = 8, .kernel = 3, .stride = 1, .padding = 1};
  EXPECT_ERROR(static_cast<void>(conv.conv2d(nullptr, nullptr, nullptr, nullptr, shape, DType::f32, nullptr)),
               "cuDNN convolution of x [1, 5, 5, 4] f32 by filters [8, 3, 3, 4], stride 1, padding 1");
}

}  // namespace
}  // namespace genrt
