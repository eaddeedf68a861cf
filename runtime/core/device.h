#pragma once
// Where a tensor's memory lives, and the few device queries the host code needs.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace genrt {

enum class Device : uint8_t { cpu, cuda };

std::string_view device_name(Device device);
Device parse_device(std::string_view name);  // "cpu" or "cuda"; throws otherwise

// Number of usable CUDA devices: 0 when genrt was built without CUDA, when there is no
// driver, or on any other CUDA error (never throws).
int cuda_device_count();
// One line describing why cuda_device_count() is 0, for skip messages and errors.
std::string cuda_unavailable_reason();

// Zero-filled allocation on `device`, freed when the last reference goes.
std::shared_ptr<void> device_alloc_zeroed(Device device, size_t bytes);

// How many buffers device_alloc_zeroed has handed out in this process, on any device: the
// hook with which tests prove that a decode or denoising loop allocates nothing.
uint64_t device_allocation_count();
// The same for one device.
uint64_t device_allocation_count(Device device);

}  // namespace genrt
