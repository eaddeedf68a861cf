#include "bench/harness/bench_device.h"

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <thread>

#include "runtime/core/device.h"
#include "runtime/core/error.h"

namespace genrt::bench {

namespace {

std::string cpu_model_name() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  }
  return "unknown CPU";
}

template <class T>
Tensor host_copy(const std::vector<T>& values, const Shape& shape) {
  Tensor t = Tensor::zeros(shape, dtype_of<T>());
  GENRT_CHECK(static_cast<int64_t>(values.size()) == t.numel(), "bench: {} values for shape {}", values.size(),
              shape_string(shape));
  std::memcpy(t.raw(), values.data(), t.nbytes());
  return t;
}

// The CPU reference backend: host fp32 tensors, wall-clock timing. Its last-level cache
// is not flushed: the CPU path benchmarks the harness and the reference, not a kernel.
class CpuBenchDevice final : public BenchDevice {
 public:
  Device device() const override { return Device::cpu; }
  std::string name() const override { return cpu_model_name(); }
  nlohmann::json properties() const override {
    const char* omp_threads = std::getenv("OMP_NUM_THREADS");
    return {{"hardware_threads", std::thread::hardware_concurrency()},
            {"OMP_NUM_THREADS", omp_threads != nullptr ? omp_threads : "unset"}};
  }
  DType run_dtype(DType) const override { return DType::f32; }

  Tensor upload(const std::vector<float>& values, const Shape& shape, DType) override {
    return host_copy(values, shape);
  }
  Tensor upload_ids(const std::vector<int32_t>& values, const Shape& shape) override {
    return host_copy(values, shape);
  }
  std::vector<float> download(const Tensor& t) override { return values_as_f32(t.raw(), t.dtype(), t.numel()); }
  void copy(const Tensor& src, Tensor& dst) override { std::memcpy(dst.raw(), src.raw(), src.nbytes()); }

  Timing time(const std::function<void()>& op, bool, const MeasureOptions& options) override {
    return measure(
        [&] {
          const double start = steady_seconds();
          op();
          return 1e3 * (steady_seconds() - start);
        },
        steady_seconds, options);
  }
};

}  // namespace

std::vector<float> values_as_f32(const void* data, DType dtype, int64_t n) {
  std::vector<float> out(static_cast<size_t>(n));
  if (dtype == DType::i32) {
    const auto* ids = static_cast<const int32_t*>(data);
    for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<float>(ids[i]);
  } else {
    convert_to_f32(data, dtype, out.data(), out.size());
  }
  return out;
}

std::unique_ptr<BenchDevice> open_bench_device(Device device) {
  if (device == Device::cpu) return std::make_unique<CpuBenchDevice>();
  GENRT_CHECK(cuda_device_count() > 0, "genrt bench needs a GPU (--device cuda): {}; pass --device cpu to "
              "benchmark the CPU reference ops", cuda_unavailable_reason());
#ifdef GENRT_HAVE_CUDA
  return open_cuda_bench_device();
#else
  fail("unreachable: no CUDA device without the CUDA backend");
#endif
}

}  // namespace genrt::bench
