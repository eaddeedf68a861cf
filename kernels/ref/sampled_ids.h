#pragma once
// A step's input ids that its previous step sampled on the device (asynchronous
// scheduling plans step n + 1 before step n's ids reach the host): ids[t] takes
// sampled[from[t]] where from[t] >= 0, and keeps its own value where from[t] < 0. The CPU
// reference and the CUDA kernel (kernels/sampled_ids.cuh) share the per-token rule.

#include <cstdint>

#include "kernels/ref/host_device.h"

namespace genrt::ref {

GENRT_HOST_DEVICE inline int32_t taken_id(const int32_t* sampled, int32_t from, int32_t own) {
  return from >= 0 ? sampled[from] : own;
}

inline void take_sampled_ids(const int32_t* sampled, const int32_t* from, int32_t* ids, int64_t n) {
  for (int64_t t = 0; t < n; ++t) ids[t] = taken_id(sampled, from[t], ids[t]);
}

}  // namespace genrt::ref
