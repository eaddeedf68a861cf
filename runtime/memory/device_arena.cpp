#include "runtime/memory/device_arena.h"

#include <cstdlib>
#include <cstring>

#include "runtime/memory/memory_plan.h"

namespace genrt {

bool pooling_disabled() {
  const char* value = std::getenv("GENRT_NO_POOL");
  return value != nullptr && std::strcmp(value, "1") == 0;
}

DeviceArena::DeviceArena(std::string name, uint64_t capacity, Device device)
    : name_(std::move(name)), capacity_(capacity), device_(device) {
  if (!pooling_disabled()) base_ = device_alloc_zeroed(device, capacity);
}

Tensor DeviceArena::allocate(const Shape& shape, DType dtype) {
  const auto bytes = static_cast<uint64_t>(shape_numel(shape)) * dtype_size(dtype);
  const uint64_t aligned = footprint(shape, dtype);
  GENRT_CHECK(aligned <= capacity_ - used_, "{} arena: {} {} ({}) does not fit, {} of {} left", name_,
              shape_string(shape), dtype_name(dtype), format_bytes(bytes), format_bytes(capacity_ - used_),
              format_bytes(capacity_));
  const uint64_t offset = used_;
  used_ += aligned;
  if (!pooled()) return Tensor::zeros(shape, dtype, device_);
  return Tensor::view_of(static_cast<char*>(base_.get()) + offset, shape, dtype, base_, device_);
}

void DeviceArena::reset_to(uint64_t used_bytes) {
  GENRT_CHECK(used_bytes <= used_, "{} arena: cannot reset to {} bytes, {} are in use", name_, used_bytes, used_);
  used_ = used_bytes;
}

void DeviceArena::claim_until(uint64_t used_bytes) {
  GENRT_CHECK(used_bytes >= used_ && used_bytes <= capacity_,
              "{} arena: cannot claim up to {} bytes ({} in use, {} in all)", name_, used_bytes, used_, capacity_);
  used_ = used_bytes;
}

}  // namespace genrt
