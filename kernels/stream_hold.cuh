#pragma once
// A kernel that holds its stream for a while: what is launched behind it queues up, so the
// queued work then runs back to back however slowly the host launched it (the op profile
// holds the stream before the ops it times, so that their spans are device time).

#include <cuda_runtime_api.h>

#include <cstdint>

namespace genrt::kernels {

// One thread that sleeps on the global timer for `nanoseconds` (coarse: the timer ticks
// about every microsecond).
cudaError_t launch_stream_hold(uint64_t nanoseconds, cudaStream_t stream);

}  // namespace genrt::kernels
