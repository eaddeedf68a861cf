#pragma once
// Helpers of the GPU kernel tests: device copies of host data in a storage dtype, input
// patterns the dtype represents exactly, and the skip every GPU test starts with.

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "runtime/core/device.h"
#include "runtime/core/dtype.h"

// Skips the test, saying why, when there is no usable CUDA device.
#define GENRT_REQUIRE_GPU()                                                                  \
  do {                                                                                       \
    if (::genrt::cuda_device_count() == 0)                                                   \
      GTEST_SKIP() << "GPU test skipped: " << ::genrt::cuda_unavailable_reason();            \
  } while (0)

namespace genrt::test {

// A device copy of host fp32 values stored as `dtype` (nothing for an empty vector).
class DeviceBuffer {
 public:
  DeviceBuffer(const std::vector<float>& values, DType dtype);
  // Raw bytes (ids, slots): `bytes` long, copied from `data`.
  DeviceBuffer(const void* data, size_t bytes);
  ~DeviceBuffer();
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  template <class T>
  T* get() const { return static_cast<T*>(ptr_); }
  // The contents as fp32 (float buffers only).
  std::vector<float> read() const;

 private:
  void* ptr_ = nullptr;
  DType dtype_ = DType::f32;
  size_t n_ = 0;
};

// n values of a smooth pattern (scale * sin(...) + offset), rounded to what `dtype`
// represents, so the CPU reference sees exactly the kernel's inputs.
std::vector<float> pattern(size_t n, float scale, int salt, DType dtype);

}  // namespace genrt::test
