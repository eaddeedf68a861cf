#include "tests/gpu/gpu_test_util.h"

#include <cuda_runtime_api.h>

#include <cmath>

namespace genrt::test {

DeviceBuffer::DeviceBuffer(const std::vector<float>& values, DType dtype) : dtype_(dtype), n_(values.size()) {
  if (values.empty()) return;
  std::vector<char> bytes(n_ * dtype_size(dtype));
  convert_from_f32(values.data(), bytes.data(), dtype, n_);
  EXPECT_EQ(cudaMalloc(&ptr_, bytes.size()), cudaSuccess);
  EXPECT_EQ(cudaMemcpy(ptr_, bytes.data(), bytes.size(), cudaMemcpyHostToDevice), cudaSuccess);
}

DeviceBuffer::DeviceBuffer(const void* data, size_t bytes) {
  EXPECT_EQ(cudaMalloc(&ptr_, bytes), cudaSuccess);
  EXPECT_EQ(cudaMemcpy(ptr_, data, bytes, cudaMemcpyHostToDevice), cudaSuccess);
}

DeviceBuffer::~DeviceBuffer() { cudaFree(ptr_); }

std::vector<float> DeviceBuffer::read() const {
  std::vector<char> bytes(n_ * dtype_size(dtype_));
  EXPECT_EQ(cudaMemcpy(bytes.data(), ptr_, bytes.size(), cudaMemcpyDeviceToHost), cudaSuccess);
  std::vector<float> out(n_);
  convert_to_f32(bytes.data(), dtype_, out.data(), n_);
  return out;
}

std::vector<float> pattern(size_t n, float scale, int salt, DType dtype) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = scale * std::sin(0.37f * static_cast<float>(i) + salt) + 0.1f * salt;
  std::vector<char> bytes(n * dtype_size(dtype));
  convert_from_f32(v.data(), bytes.data(), dtype, n);
  convert_to_f32(bytes.data(), dtype, v.data(), n);
  return v;
}

}  // namespace genrt::test
