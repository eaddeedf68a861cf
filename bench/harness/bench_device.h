#pragma once
// The device a benchmark runs on: where its tensors live, how a run is timed (CUDA events
// on the GPU, the steady clock on the CPU), the L2 flush between runs of memory-bound
// kernels, and what each result line records about the hardware.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/harness/measure.h"
#include "runtime/core/tensor.h"

namespace genrt::bench {

class BenchDevice {
 public:
  virtual ~BenchDevice() = default;

  virtual Device device() const = 0;
  // "NVIDIA H100 80GB HBM3", or the CPU's model name.
  virtual std::string name() const = 0;
  // Clock rates and the like, recorded with every result line.
  virtual nlohmann::json properties() const = 0;
  // The dtype a case runs in: the requested one on the GPU, f32 on the CPU (the reference
  // computes in fp32).
  virtual DType run_dtype(DType requested) const = 0;

  // A tensor on this device holding `values` (fp32, i32 for DType::i32) in `dtype`.
  virtual Tensor upload(const std::vector<float>& values, const Shape& shape, DType dtype) = 0;
  virtual Tensor upload_ids(const std::vector<int32_t>& values, const Shape& shape) = 0;
  // A tensor's values as fp32 on the host (waits for the device); i32 ids too.
  virtual std::vector<float> download(const Tensor& t) = 0;
  // dst = src, bytes for bytes (the copy-bandwidth peak).
  virtual void copy(const Tensor& src, Tensor& dst) = 0;

  // Times op() per MeasureOptions; with flush_l2 the last-level cache is evicted before
  // each run, so memory-bound kernels read from DRAM as they would in a model.
  virtual Timing time(const std::function<void()>& op, bool flush_l2, const MeasureOptions& options) = 0;
};

// n values of `dtype` (any, i32 included) at `data` as fp32.
std::vector<float> values_as_f32(const void* data, DType dtype, int64_t n);

// The CPU, or the first CUDA device (an error naming why when there is none).
std::unique_ptr<BenchDevice> open_bench_device(Device device);

#ifdef GENRT_HAVE_CUDA
// The first CUDA device (present: open_bench_device checks).
std::unique_ptr<BenchDevice> open_cuda_bench_device();
#endif

}  // namespace genrt::bench
