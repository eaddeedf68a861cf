// The Hopper primitives of kernels/sm90.cuh on tiny inputs against the layouts documented
// there: an mbarrier's phases, a TMA 2-D tile with the 128-byte swizzle and zero fill past
// the tensor's edge, and wgmma m64n64k16 over descriptors of swizzled tiles. They run in
// the staged GPU check's first stage, beside the mma.sync ones. Skip without a device or
// below compute capability 9.0.

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "tests/gpu/gpu_test_util.h"
#include "tests/gpu/sm90_probes.h"

namespace genrt {
namespace {

using test::DeviceBuffer;

template <class T>
std::vector<T> copy_back(const DeviceBuffer& buffer, size_t n) {
  std::vector<T> host(n);
  EXPECT_EQ(cudaMemcpy(host.data(), buffer.get<void>(), n * sizeof(T), cudaMemcpyDeviceToHost), cudaSuccess);
  return host;
}

class Sm90PrimitivesGpu : public ::testing::Test {
 protected:
  void SetUp() override {
    GENRT_REQUIRE_GPU();
    int major = 0;
    ASSERT_EQ(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, 0), cudaSuccess);
    // The sm_90a image runs on compute capability 9.0 only.
    if (major != 9) GTEST_SKIP() << "GPU test skipped: the Hopper primitives need compute capability 9.0";
  }
};

TEST_F(Sm90PrimitivesGpu, MbarrierCompletesTwoPhases) {
  DeviceBuffer done(std::vector<int>(64, -1).data(), 64 * sizeof(int));
  ASSERT_EQ(test::run_mbarrier_probe(done.get<int>()), cudaSuccess);
  for (int t = 0; t < 64; ++t) EXPECT_EQ(copy_back<int>(done, 64)[t], 2) << "thread " << t;
}

// bf16 bits of small integers, exact, distinct per element where the test needs it.
uint16_t bf16_bits(float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, 4);
  return static_cast<uint16_t>(bits >> 16);
}

TEST_F(Sm90PrimitivesGpu, TmaLoadsASwizzledTileAndZeroFillsPastTheEdge) {
  const int rows = 100, cols = 80, x = 16, y = 40;  // the box's rows 60..63 are past the end
  std::vector<uint16_t> data(rows * cols);
  for (int i = 0; i < rows * cols; ++i) data[i] = static_cast<uint16_t>(i + 1);  // raw bits, never zero
  DeviceBuffer d_data(data.data(), data.size() * 2), out(std::vector<uint8_t>(8192).data(), 8192),
      ok(std::vector<int>(1).data(), sizeof(int));
  ASSERT_EQ(test::run_tma_probe(d_data.get<void>(), rows, cols, x, y, out.get<uint8_t>(), ok.get<int>()), cudaSuccess);
  ASSERT_EQ(copy_back<int>(ok, 1)[0], 1) << "the mbarrier never saw the copy's bytes";
  const std::vector<uint8_t> bytes = copy_back<uint8_t>(out, 8192);
  for (int r = 0; r < 64; ++r) {
    for (int k = 0; k < 64; ++k) {
      // Element (r, k) of the box: chunk k / 8 of row r sits at chunk (k / 8) ^ (r % 8).
      const int at = r * 128 + (((k / 8) ^ (r % 8)) * 16) + (k % 8) * 2;
      uint16_t got;
      std::memcpy(&got, bytes.data() + at, 2);
      const uint16_t want = y + r < rows && x + k < cols ? data[(y + r) * cols + x + k] : 0;
      ASSERT_EQ(got, want) << "box element (" << r << ", " << k << ")";
    }
  }
}

// The Hopper kernel loads the pages it must not read from rows before the tensor: the box
// must come back all zeros and still complete its bytes on the barrier.
TEST_F(Sm90PrimitivesGpu, TmaBoxWhollyOutOfBoundsIsZerosAndCompletes) {
  const int rows = 100, cols = 80;
  std::vector<uint16_t> data(rows * cols, 0x3f80);  // bf16 1.0 everywhere
  DeviceBuffer d_data(data.data(), data.size() * 2), out(std::vector<uint8_t>(8192, 0xff).data(), 8192),
      ok(std::vector<int>(1).data(), sizeof(int));
  ASSERT_EQ(test::run_tma_probe(d_data.get<void>(), rows, cols, 0, -64, out.get<uint8_t>(), ok.get<int>()), cudaSuccess);
  ASSERT_EQ(copy_back<int>(ok, 1)[0], 1) << "an out-of-bounds box did not complete its bytes";
  const std::vector<uint8_t> bytes = copy_back<uint8_t>(out, 8192);
  for (int i = 0; i < 8192; ++i) ASSERT_EQ(bytes[i], 0) << "byte " << i;
}

TEST_F(Sm90PrimitivesGpu, WgmmaM64n64k16MatchesTheProduct) {
  std::vector<float> a(64 * 64), b(64 * 64);
  std::vector<uint16_t> a_bits(a.size()), b_bits(b.size());
  for (int i = 0; i < 64 * 64; ++i) {
    a[i] = static_cast<float>(i * 7 % 9 - 4) * 0.25f;
    b[i] = static_cast<float>(i * 5 % 11 - 5) * 0.5f;
    a_bits[i] = bf16_bits(a[i]);
    b_bits[i] = bf16_bits(b[i]);
  }
  DeviceBuffer d_a(a_bits.data(), a_bits.size() * 2), d_b(b_bits.data(), b_bits.size() * 2),
      d(std::vector<float>(64 * 64).data(), 64 * 64 * sizeof(float)), ok(std::vector<int>(1).data(), sizeof(int));
  ASSERT_EQ(test::run_wgmma_probe(d_a.get<void>(), d_b.get<void>(), d.get<float>(), ok.get<int>()), cudaSuccess);
  ASSERT_EQ(copy_back<int>(ok, 1)[0], 1) << "the mbarrier never saw the copies' bytes";
  const std::vector<float> got = copy_back<float>(d, 64 * 64);
  for (int m = 0; m < 64; ++m) {
    for (int n = 0; n < 64; ++n) {
      float want = 0.0f;  // small multiples of 1/8: exact in fp32
      for (int k = 0; k < 64; ++k) want += a[m * 64 + k] * b[n * 64 + k];
      ASSERT_EQ(got[m * 64 + n], want) << "D[" << m << "][" << n << "]";
    }
  }
}

TEST_F(Sm90PrimitivesGpu, WgmmaWithRegisterAAndMnMajorBMatchesTheProduct) {
  std::vector<float> a(64 * 64), b(64 * 128);
  std::vector<uint16_t> a_bits(a.size()), b_bits(b.size());
  for (size_t i = 0; i < a.size(); ++i) a_bits[i] = bf16_bits(a[i] = static_cast<float>(static_cast<int>(i * 7 % 9) - 4) * 0.25f);
  for (size_t i = 0; i < b.size(); ++i) b_bits[i] = bf16_bits(b[i] = static_cast<float>(static_cast<int>(i * 5 % 11) - 5) * 0.5f);
  DeviceBuffer d_a(a_bits.data(), a_bits.size() * 2), d_b(b_bits.data(), b_bits.size() * 2),
      d(std::vector<float>(64 * 128).data(), 64 * 128 * sizeof(float)), ok(std::vector<int>(1).data(), sizeof(int));
  ASSERT_EQ(test::run_wgmma_rs_probe(d_a.get<void>(), d_b.get<void>(), d.get<float>(), ok.get<int>()), cudaSuccess);
  ASSERT_EQ(copy_back<int>(ok, 1)[0], 1) << "the mbarrier never saw the copies' bytes";
  const std::vector<float> got = copy_back<float>(d, 64 * 128);
  for (int m = 0; m < 64; ++m) {
    for (int n = 0; n < 128; ++n) {
      float want = 0.0f;  // small multiples of 1/8: exact in fp32
      for (int k = 0; k < 64; ++k) want += a[m * 64 + k] * b[k * 128 + n];
      ASSERT_EQ(got[m * 128 + n], want) << "D[" << m << "][" << n << "]";
    }
  }
}

TEST_F(Sm90PrimitivesGpu, NamedBarriersAlternateTwoWarpgroups) {
  constexpr int kTurns = 5;
  DeviceBuffer order(std::vector<int>(2 * kTurns, -1).data(), 2 * kTurns * sizeof(int));
  DeviceBuffer ticket(std::vector<int>{0}.data(), sizeof(int));
  ASSERT_EQ(test::run_pingpong_probe(order.get<int>(), ticket.get<int>(), kTurns), cudaSuccess);
  const std::vector<int> got = copy_back<int>(order, 2 * kTurns);
  for (int i = 0; i < 2 * kTurns; ++i) EXPECT_EQ(got[i], i % 2) << "turn " << i;
}

TEST_F(Sm90PrimitivesGpu, SetmaxnregMovesRegistersToTheConsumerWarpgroups) {
  DeviceBuffer one(std::vector<float>(200, 1.0f).data(), 200 * sizeof(float));
  DeviceBuffer out(std::vector<float>(256, -1.0f).data(), 256 * sizeof(float));
  ASSERT_EQ(test::run_setmaxnreg_probe(one.get<float>(), out.get<float>()), cudaSuccess);
  const std::vector<float> got = copy_back<float>(out, 256);
  for (int t = 0; t < 256; ++t) EXPECT_EQ(got[t], (t + 1) * 200.0f * 201.0f / 2.0f) << "thread " << t;
}

}  // namespace
}  // namespace genrt
