#pragma once
// The tensor-core attention kernels behind launch_paged_attention and launch_dense_attention,
// which pick among them with select_attention_kernel (kernels/attention_kernels.h); callers
// use those two launchers, not these.

#include <array>
#include <atomic>
#include <cstdint>

#include "kernels/dense_attention.cuh"
#include "kernels/paged_attention.cuh"

namespace genrt::kernels {

// Whether this build carries an sm_90a image, where the Hopper kernels live (CMake defines
// GENRT_HAVE_SM90A when 90a is among the architectures).
#ifdef GENRT_HAVE_SM90A
inline constexpr bool kSm90aBuilt = true;
#else
inline constexpr bool kSm90aBuilt = false;
#endif

// What the kernel choice needs to know of the current device.
struct DeviceFacts {
  int compute_capability = 0;  // major * 10 + minor
  int multiprocessors = 0;
};

// Whether every pointer is 16-byte aligned (the tensor-core kernels' vector width).
template <class... P>
bool vectors_aligned(const P*... pointers) {
  return ((reinterpret_cast<uintptr_t>(pointers) % 16 == 0) && ...);
}

// A failed runtime call leaves its error latched for the next cudaGetLastError(); clear it
// so a later launch is not blamed for it, and return it.
inline cudaError_t cleared(cudaError_t status) {
  if (status != cudaSuccess) (void)cudaGetLastError();
  return status;
}

// The compute capability the kernel choice uses: the device's, or less when a caller caps it.
inline int capped(int compute_capability, int cap) {
  return cap > 0 && cap < compute_capability ? cap : compute_capability;
}

// A kernel instantiation made ready on the current device, once per device: its dynamic
// shared-memory limit raised to what it needs (a per-device attribute), and how many of its
// blocks an SM holds (what sizes a decode's splits). kKernel is the kernel itself, so each
// instantiation keeps its own record.
struct KernelSetup {
  cudaError_t status = cudaSuccess;
  int blocks_per_sm = 0;
};

template <auto kKernel>
KernelSetup set_up_kernel(int threads, int smem_bytes) {
  static std::array<std::atomic<int>, 16> blocks_per_sm{};  // 0: not set up on that device yet
  int device = 0;
  if (const cudaError_t status = cleared(cudaGetDevice(&device)); status != cudaSuccess) return {status, 0};
  const bool recorded = device >= 0 && device < static_cast<int>(blocks_per_sm.size());
  if (recorded) {
    if (const int known = blocks_per_sm[device].load(std::memory_order_acquire); known > 0) return {cudaSuccess, known};
  }
  KernelSetup setup{cleared(cudaFuncSetAttribute(kKernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smem_bytes))};
  if (setup.status == cudaSuccess) {
    setup.status = cleared(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&setup.blocks_per_sm, kKernel, threads,
                                                                         static_cast<size_t>(smem_bytes)));
  }
  if (setup.status == cudaSuccess && setup.blocks_per_sm < 1) setup.status = cudaErrorInvalidConfiguration;
  if (setup.status == cudaSuccess && recorded) blocks_per_sm[device].store(setup.blocks_per_sm, std::memory_order_release);
  return setup;
}

inline cudaError_t query_current_device(DeviceFacts& facts) {
  int device = 0, major = 0, minor = 0;
  cudaError_t status = cudaGetDevice(&device);
  if (status == cudaSuccess) status = cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device);
  if (status == cudaSuccess) status = cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device);
  if (status == cudaSuccess) {
    status = cudaDeviceGetAttribute(&facts.multiprocessors, cudaDevAttrMultiProcessorCount, device);
  }
  facts.compute_capability = major * 10 + minor;
  return cleared(status);
}

// Query tiles of 64 rows, causal over the paged cache (prompts, chunks, mixed batches).
template <class T>
cudaError_t launch_flash_prefill(const PagedAttentionLaunch<T>& args, cudaStream_t stream);
// The same, non-causal over dense K/V (key length may differ from the query length).
template <class T>
cudaError_t launch_flash_prefill(const DenseAttentionLaunch<T>& args, cudaStream_t stream);
// The same on Hopper with wgmma and TMA (head dims 64, 128, 256).
template <class T>
cudaError_t launch_flash_prefill_sm90(const PagedAttentionLaunch<T>& args, cudaStream_t stream);
template <class T>
cudaError_t launch_flash_prefill_sm90(const DenseAttentionLaunch<T>& args, cudaStream_t stream);
// Split-KV decode: every sequence has at most 16 / group new tokens.
template <class T>
cudaError_t launch_flash_decode(const PagedAttentionLaunch<T>& args, int multiprocessors, cudaStream_t stream);

}  // namespace genrt::kernels
