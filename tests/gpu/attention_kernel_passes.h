#pragma once
// The kernels an attention GPU test runs each case through: the device's own; on a Hopper
// also its wgmma kernel without warp specialization, so that a fault tells the data path
// from the FlashAttention-3 schedule; and the sm_80 tensor-core kernels.

#include "kernels/attention_kernels.h"

namespace genrt::test {

struct AttentionKernelPass {
  const char* name;
  int max_compute_capability;  // 0: the device's
  kernels::Sm90Schedule hopper_schedule;
};

inline constexpr AttentionKernelPass kAttentionKernelPasses[] = {
    {"kernels of the device", 0, kernels::Sm90Schedule::warp_specialized},
    {"the device's kernels, the Hopper one unspecialized", 0, kernels::Sm90Schedule::unspecialized},
    {"kernels of compute capability 8.0", 80, kernels::Sm90Schedule::warp_specialized},
};

}  // namespace genrt::test
