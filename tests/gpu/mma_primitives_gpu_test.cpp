// The hardware primitives of the tensor-core kernels (kernels/mma.cuh), each on a tiny input
// against the layout documented there: mma.sync m16n8k16's A, B and C fragments, ldmatrix
// x4 and x4.trans, cp.async with its zero-fill and wait. They run first in the staged GPU
// check, so a wrong layout is one named failure here rather than a wrong attention output.
// Skips without a device.

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "runtime/core/dtype.h"
#include "tests/gpu/gpu_test_util.h"
#include "tests/gpu/mma_probes.h"

namespace genrt {
namespace {

using test::DeviceBuffer;

std::vector<uint8_t> copy_back(const DeviceBuffer& buffer, size_t bytes) {
  std::vector<uint8_t> host(bytes);
  EXPECT_EQ(cudaMemcpy(host.data(), buffer.get<void>(), bytes, cudaMemcpyDeviceToHost), cudaSuccess);
  return host;
}

class MmaPrimitivesGpu : public ::testing::Test {
 protected:
  void SetUp() override { GENRT_REQUIRE_GPU(); }
};

template <class T>
void expect_mma_layouts(DType dtype) {
  // Small multiples of 1/4 and 1/2: exact in fp16 and bf16, and their sums exact in fp32.
  std::vector<float> a(16 * 16), b(16 * 8);
  for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<float>(static_cast<int>(i * 7 % 9) - 4) * 0.25f;
  for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<float>(static_cast<int>(i * 5 % 7) - 3) * 0.5f;
  DeviceBuffer d_a(a, dtype), d_b(b, dtype), d_d(std::vector<float>(16 * 8), DType::f32);
  ASSERT_EQ(test::run_mma_probe<T>(d_a.get<T>(), d_b.get<T>(), d_d.get<float>()), cudaSuccess);
  const std::vector<float> d = d_d.read();
  for (int m = 0; m < 16; ++m) {
    for (int n = 0; n < 8; ++n) {
      float want = 1.0f;
      for (int k = 0; k < 16; ++k) want += a[m * 16 + k] * b[k * 8 + n];
      EXPECT_EQ(d[m * 8 + n], want) << "D[" << m << "][" << n << "]";
    }
  }
}

TEST_F(MmaPrimitivesGpu, MmaM16n8k16Bf16Layouts) { expect_mma_layouts<__nv_bfloat16>(DType::bf16); }
TEST_F(MmaPrimitivesGpu, MmaM16n8k16F16Layouts) { expect_mma_layouts<__half>(DType::f16); }

void expect_ldmatrix(bool trans) {
  std::vector<uint16_t> matrix(256);
  for (int i = 0; i < 256; ++i) matrix[i] = static_cast<uint16_t>(i);  // M[r][c] = 16 r + c
  DeviceBuffer d_matrix(matrix.data(), matrix.size() * 2), d_out(std::vector<uint32_t>(128).data(), 128 * 4);
  ASSERT_EQ(test::run_ldmatrix_probe(d_matrix.get<uint16_t>(), trans, d_out.get<uint32_t>()), cudaSuccess);
  const std::vector<uint8_t> bytes = copy_back(d_out, 128 * 4);
  std::vector<uint32_t> got(128);
  std::memcpy(got.data(), bytes.data(), bytes.size());
  for (int lane = 0; lane < 32; ++lane) {
    const int g = lane / 4, c = 2 * (lane % 4);
    for (int i = 0; i < 4; ++i) {
      // Matrix i is the 8x8 block at row 8 (i % 2), column 8 (i / 2): the A-fragment order.
      const int row0 = 8 * (i % 2), col0 = 8 * (i / 2);
      const uint32_t lo = trans ? 16u * (row0 + c) + col0 + g : 16u * (row0 + g) + col0 + c;
      const uint32_t hi = trans ? lo + 16 : lo + 1;
      EXPECT_EQ(got[lane * 4 + i], lo | hi << 16) << "lane " << lane << ", register " << i;
    }
  }
}

TEST_F(MmaPrimitivesGpu, LdmatrixX4GivesAFragments) { expect_ldmatrix(false); }
TEST_F(MmaPrimitivesGpu, LdmatrixX4TransGivesTransposedFragments) { expect_ldmatrix(true); }

TEST_F(MmaPrimitivesGpu, CpAsyncCopiesAndZeroFills) {
  std::vector<uint8_t> src(64);
  for (int i = 0; i < 64; ++i) src[i] = static_cast<uint8_t>(i + 1);
  DeviceBuffer d_src(src.data(), 64), d_out(std::vector<uint8_t>(64).data(), 64);
  ASSERT_EQ(test::run_cp_async_probe(d_src.get<void>(), d_out.get<void>()), cudaSuccess);
  const std::vector<uint8_t> got = copy_back(d_out, 64);
  for (int i = 0; i < 64; ++i) EXPECT_EQ(got[i], (i / 16) % 2 == 0 ? src[i] : 0) << "byte " << i;
}

// The K (non-transposed) and V (.trans) addressing of flash_tile.cuh over two k16 chunks of
// keys and features: a wrong lane order there shows up here, named, before attention.
template <class T>
void expect_warp_tile(DType dtype) {
  std::vector<float> q(16 * 32), k(32 * 32), v(32 * 32);
  for (size_t i = 0; i < q.size(); ++i) q[i] = static_cast<float>(static_cast<int>(i * 7 % 9) - 4) * 0.25f;
  for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<float>(static_cast<int>(i * 5 % 7) - 3) * 0.25f;
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(static_cast<int>(i * 3 % 11) - 5) * 0.5f;
  DeviceBuffer d_q(q, dtype), d_k(k, dtype), d_v(v, dtype), d_s(std::vector<float>(16 * 32), DType::f32),
      d_o(std::vector<float>(16 * 32), DType::f32);
  ASSERT_EQ(test::run_warp_tile_probe<T>(d_q.get<T>(), d_k.get<T>(), d_v.get<T>(), d_s.get<float>(), d_o.get<float>()),
            cudaSuccess);
  const std::vector<float> s = d_s.read(), o = d_o.read();
  for (int r = 0; r < 16; ++r) {
    for (int key = 0; key < 32; ++key) {
      float want = 0.0f;  // multiples of 1/16 up to 32 terms: exact in fp32
      for (int d = 0; d < 32; ++d) want += q[r * 32 + d] * k[key * 32 + d];
      ASSERT_EQ(s[r * 32 + key], want) << "s[" << r << "][" << key << "]";
    }
    for (int d = 0; d < 32; ++d) {
      // The scores rounded to T, as the kernels round probabilities before P V; the products
      // with halves are then exact, and so is their fp32 sum.
      float want = 0.0f;
      for (int key = 0; key < 32; ++key) {
        const float rounded = dtype == DType::bf16 ? bf16_to_f32(f32_to_bf16(s[r * 32 + key]))
                                                   : f16_to_f32(f32_to_f16(s[r * 32 + key]));
        want += rounded * v[key * 32 + d];
      }
      ASSERT_EQ(o[r * 32 + d], want) << "o[" << r << "][" << d << "]";
    }
  }
}

TEST_F(MmaPrimitivesGpu, FlashWarpStepsAddressKAndVRightBf16) { expect_warp_tile<__nv_bfloat16>(DType::bf16); }
TEST_F(MmaPrimitivesGpu, FlashWarpStepsAddressKAndVRightF16) { expect_warp_tile<__half>(DType::f16); }

}  // namespace
}  // namespace genrt
