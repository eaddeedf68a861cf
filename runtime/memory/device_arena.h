#pragma once
// One allocation per memory region, sub-allocated by bumping an offset: tensors carved
// from an arena cost no cudaMalloc and are freed together with it. With the environment
// variable GENRT_NO_POOL=1 every tensor is its own allocation instead, so that
// compute-sanitizer sees each buffer's bounds.

#include <cstdint>
#include <memory>
#include <string>

#include "runtime/core/tensor.h"

namespace genrt {

class DeviceArena {
 public:
  // `name` appears in errors ("workspace arena: ...").
  DeviceArena(std::string name, uint64_t capacity, Device device);

  // A zero-filled (at arena creation) contiguous tensor; throws naming the arena, the
  // request and what is left when it does not fit.
  Tensor allocate(const Shape& shape, DType dtype);

  uint64_t capacity() const { return capacity_; }
  uint64_t used() const { return used_; }
  // Frees everything allocated after `used_bytes` (a value of used() taken earlier): the
  // per-step workspace resets to what outlives steps. Tensors from the freed range must
  // no longer be used.
  void reset_to(uint64_t used_bytes);
  // Takes everything up to `used_bytes` (at least used()) as allocated: the range of
  // tensors allocated in an earlier step at the same addresses (a CUDA graph's buffers).
  void claim_until(uint64_t used_bytes);
  bool pooled() const { return base_ != nullptr; }

  // Sub-allocations are aligned to this (cuBLASLt and 16-byte vector loads want 256).
  static constexpr uint64_t kAlignment = 256;
  // What a tensor of `bytes` takes from an arena: the size for memory plans.
  static constexpr uint64_t footprint(uint64_t bytes) { return (bytes + kAlignment - 1) / kAlignment * kAlignment; }
  static uint64_t footprint(const Shape& shape, DType dtype) {
    return footprint(static_cast<uint64_t>(shape_numel(shape)) * dtype_size(dtype));
  }

 private:
  std::string name_;
  uint64_t capacity_ = 0;
  uint64_t used_ = 0;
  Device device_;
  std::shared_ptr<void> base_;  // null when GENRT_NO_POOL=1
};

// An allocator that allocates nothing and adds up what the requests would take from an
// arena: pass it where the real allocator goes to size a plan from the same code that
// allocates, so the plan and the allocations cannot drift apart.
struct ArenaFootprint {
  uint64_t bytes = 0;
  Tensor operator()(const Shape& shape, DType dtype) {
    bytes += DeviceArena::footprint(shape, dtype);
    return Tensor();
  }
};

// Whether GENRT_NO_POOL=1 is set.
bool pooling_disabled();

}  // namespace genrt
