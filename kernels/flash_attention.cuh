#pragma once
// The tensor-core attention kernels behind launch_paged_attention and launch_dense_attention,
// which pick among them with select_attention_kernel (kernels/attention_kernels.h); callers
// use those two launchers, not these.

#include <array>
#include <atomic>
#include <cstdint>

#include "kernels/attention_kernels.h"
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

// The current device's facts, asked of the runtime once per device: the attention
// launchers run for every layer of every step.
inline cudaError_t query_current_device(DeviceFacts& facts) {
  static std::array<std::atomic<int>, 16> known_capability{}, known_multiprocessors{};  // 0: not asked yet
  int device = 0;
  if (const cudaError_t status = cleared(cudaGetDevice(&device)); status != cudaSuccess) return status;
  const bool recorded = device >= 0 && device < static_cast<int>(known_capability.size());
  if (recorded && known_capability[device].load(std::memory_order_acquire) > 0) {
    facts = {known_capability[device].load(std::memory_order_relaxed),
             known_multiprocessors[device].load(std::memory_order_relaxed)};
    return cudaSuccess;
  }
  int major = 0, minor = 0;
  cudaError_t status = cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device);
  if (status == cudaSuccess) status = cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device);
  if (status == cudaSuccess) {
    status = cudaDeviceGetAttribute(&facts.multiprocessors, cudaDevAttrMultiProcessorCount, device);
  }
  if (status != cudaSuccess) return cleared(status);
  facts.compute_capability = major * 10 + minor;
  if (recorded) {
    known_multiprocessors[device].store(facts.multiprocessors, std::memory_order_relaxed);
    known_capability[device].store(facts.compute_capability, std::memory_order_release);
  }
  return cudaSuccess;
}

// The kernel both launchers run for `shape`: unsupported shapes are refused before the
// device is asked anything (so a machine without one still gets cudaErrorInvalidValue),
// then the choice is made for the device's compute capability, or less when a caller caps
// it at `max_compute_capability` (tests and the bench run older kernels that way).
inline cudaError_t choose_attention_kernel(AttentionShape shape, int max_compute_capability, AttentionKernel& kernel,
                                           DeviceFacts& device) {
  if (select_attention_kernel(shape) == AttentionKernel::unsupported) return cudaErrorInvalidValue;
  if (const cudaError_t status = query_current_device(device); status != cudaSuccess) return status;
  shape.compute_capability = max_compute_capability > 0 && max_compute_capability < device.compute_capability
                                 ? max_compute_capability
                                 : device.compute_capability;
  kernel = select_attention_kernel(shape);
  return cudaSuccess;
}

// Calls run.template operator()<kHeadDim>() for the instantiated head dim equal to
// `head_dim`; false when none is.
template <int... kHeadDims, class Run>
bool with_head_dim(int64_t head_dim, Run&& run) {
  return ((head_dim == kHeadDims ? (run.template operator()<kHeadDims>(), true) : false) || ...);
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
// Split-KV decode: every sequence has at most 16 new tokens (kDecodeRows).
template <class T>
cudaError_t launch_flash_decode(const PagedAttentionLaunch<T>& args, int multiprocessors, cudaStream_t stream);

}  // namespace genrt::kernels
