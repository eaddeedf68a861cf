#include "kernels/stream_hold.cuh"

namespace genrt::kernels {

namespace {

__device__ __forceinline__ uint64_t global_timer_ns() {
  uint64_t t = 0;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
  return t;
}

// Sleeps in steps of about a microsecond until the timer says `nanoseconds` have passed,
// and at most nanoseconds / 500 steps, so that a timer that stalls (under a debugger) still
// lets the stream go.
__global__ void stream_hold_kernel(uint64_t nanoseconds) {
  const uint64_t start = global_timer_ns();
  for (uint64_t step = 0; step < nanoseconds / 500 && global_timer_ns() - start < nanoseconds; ++step) {
    __nanosleep(1000);
  }
}

}  // namespace

cudaError_t launch_stream_hold(uint64_t nanoseconds, cudaStream_t stream) {
  stream_hold_kernel<<<1, 1, 0, stream>>>(nanoseconds);
  return cudaGetLastError();
}

}  // namespace genrt::kernels
