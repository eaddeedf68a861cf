#include "runtime/core/device.h"

#include <atomic>
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>

#include "runtime/core/error.h"

#ifdef GENRT_HAVE_CUDA
#include <cuda_runtime_api.h>
#endif

namespace genrt {

std::string_view device_name(Device device) { return device == Device::cpu ? "cpu" : "cuda"; }

Device parse_device(std::string_view name) {
  if (name == "cpu") return Device::cpu;
  if (name == "cuda") return Device::cuda;
  fail("unknown device '{}': expected cpu or cuda", name);
}

int cuda_device_count() {
#ifdef GENRT_HAVE_CUDA
  int count = 0;
  // Without a driver this returns cudaErrorInsufficientDriver; any error means "no device".
  if (cudaGetDeviceCount(&count) != cudaSuccess) return 0;
  return count;
#else
  return 0;
#endif
}

std::string cuda_unavailable_reason() {
#ifdef GENRT_HAVE_CUDA
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) return std::string("no CUDA device: ") + cudaGetErrorString(status);
  return count == 0 ? "no CUDA device found" : "";
#else
  return "genrt was built without CUDA (configure with -DGENRT_CUDA=ON)";
#endif
}

namespace {
std::atomic<uint64_t> cpu_allocations{0}, cuda_allocations{0};
}  // namespace

uint64_t device_allocation_count(Device device) {
  return (device == Device::cpu ? cpu_allocations : cuda_allocations).load(std::memory_order_relaxed);
}

uint64_t device_allocation_count() {
  return device_allocation_count(Device::cpu) + device_allocation_count(Device::cuda);
}

std::shared_ptr<void> device_alloc_zeroed(Device device, size_t bytes) {
  (device == Device::cpu ? cpu_allocations : cuda_allocations).fetch_add(1, std::memory_order_relaxed);
  if (device == Device::cpu) {
    // 256-byte aligned like cudaMalloc, so arena offsets and vector loads behave the same.
    constexpr size_t kAlign = 256;
    const size_t rounded = (std::max<size_t>(bytes, 1) + kAlign - 1) / kAlign * kAlign;
    void* ptr = std::aligned_alloc(kAlign, rounded);
    if (ptr == nullptr) fail("out of host memory allocating {} bytes", bytes);
    std::memset(ptr, 0, rounded);
    return {ptr, std::free};
  }
#ifdef GENRT_HAVE_CUDA
  void* ptr = nullptr;
  cudaError_t status = cudaMalloc(&ptr, bytes ? bytes : 1);
  // cudaMemset runs on the legacy stream, which does not order work on the runtime's
  // non-blocking streams: wait for the zero fill here so no kernel can read the memory
  // before it is zero. Allocation happens at load (in every step only under the
  // GENRT_NO_POOL debug mode, where the sync costs speed, not correctness).
  if (status == cudaSuccess) status = cudaMemset(ptr, 0, bytes);
  if (status == cudaSuccess) status = cudaDeviceSynchronize();
  if (status != cudaSuccess) {
    if (ptr != nullptr) cudaFree(ptr);
    // A failed allocation is not sticky, but it stays the thread's last error: clear it so
    // the next launcher's cudaGetLastError() does not report a stale out-of-memory.
    (void)cudaGetLastError();
    fail("cannot allocate {} bytes on cuda: {}", bytes, cudaGetErrorString(status));
  }
  return {ptr, [](void* p) { cudaFree(p); }};
#else
  fail("cannot allocate {} bytes on cuda: {}", bytes, cuda_unavailable_reason());
#endif
}

}  // namespace genrt
