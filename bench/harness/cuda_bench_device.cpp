// The CUDA bench device: tensors in device memory, CUDA-event timing on its own stream,
// and an L2 flush (a memset over twice the L2 size) before each run that asks for one.

#include <cuda_runtime_api.h>

#include <cstdio>
#include <memory>

#include "bench/harness/bench_device.h"
#include "runtime/backend/cuda/cublaslt_gemm.h"
#include "runtime/backend/cuda/cuda_context.h"
#include "runtime/core/error.h"

namespace genrt::bench {

namespace {

// The SM and memory clocks right now, in MHz, as nvidia-smi reports them (null when it
// is not there): the attributes give only the peak clocks, and a throttled GPU is the
// first thing to rule out when a number looks wrong.
nlohmann::json current_clocks_mhz() {
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(
      ::popen("nvidia-smi --query-gpu=clocks.sm,clocks.mem --format=csv,noheader,nounits -i 0 2>/dev/null", "r"),
      ::pclose);
  if (!pipe) return nullptr;
  int sm = 0, mem = 0;
  if (std::fscanf(pipe.get(), "%d, %d", &sm, &mem) != 2) return nullptr;
  return {{"sm", sm}, {"mem", mem}};
}

class DeviceMemory {
 public:
  explicit DeviceMemory(size_t bytes) { check_cuda(cudaMalloc(&ptr_, bytes), "bench allocation"); }
  ~DeviceMemory() { cudaFree(ptr_); }
  DeviceMemory(const DeviceMemory&) = delete;
  DeviceMemory& operator=(const DeviceMemory&) = delete;
  void* get() const { return ptr_; }

 private:
  void* ptr_ = nullptr;
};

class CudaEvent {
 public:
  CudaEvent() { check_cuda(cudaEventCreate(&event_), "creating a CUDA event"); }
  ~CudaEvent() { cudaEventDestroy(event_); }
  CudaEvent(const CudaEvent&) = delete;
  CudaEvent& operator=(const CudaEvent&) = delete;
  cudaEvent_t get() const { return event_; }

 private:
  cudaEvent_t event_ = nullptr;
};

class CudaBenchDevice final : public BenchDevice {
 public:
  CudaBenchDevice() {
    check_cuda(cudaGetDeviceProperties(&props_, 0), "querying the GPU");
    check_cuda(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "creating a stream");
    l2_flush_bytes_ = 2 * static_cast<size_t>(props_.l2CacheSize);
    l2_flush_ = std::make_unique<DeviceMemory>(l2_flush_bytes_);
    gemm_workspace_ = std::make_unique<DeviceMemory>(CublasLtGemm::kWorkspaceBytes);
    gemm_ = std::make_unique<CublasLtGemm>(gemm_workspace_->get(), CublasLtGemm::kWorkspaceBytes);
    context_ = {.stream = stream_, .gemm = gemm_.get()};
    scope_ = std::make_unique<CudaScope>(context_);
  }
  ~CudaBenchDevice() override {
    scope_.reset();
    gemm_.reset();
    cudaStreamDestroy(stream_);
  }

  Device device() const override { return Device::cuda; }
  std::string name() const override { return props_.name; }
  nlohmann::json properties() const override {
    int sm_khz = 0, mem_khz = 0, driver = 0;
    cudaDeviceGetAttribute(&sm_khz, cudaDevAttrClockRate, 0);
    cudaDeviceGetAttribute(&mem_khz, cudaDevAttrMemoryClockRate, 0);
    cudaDriverGetVersion(&driver);
    return {{"compute_capability", std::to_string(props_.major) + "." + std::to_string(props_.minor)},
            {"sms", props_.multiProcessorCount},
            {"memory_gib", static_cast<double>(props_.totalGlobalMem) / (1 << 30)},
            {"l2_bytes", props_.l2CacheSize},
            {"peak_clock_mhz", {{"sm", sm_khz / 1000}, {"mem", mem_khz / 1000}}},
            {"clock_mhz", current_clocks_mhz()},
            {"driver", driver}};
  }
  DType run_dtype(DType requested) const override { return requested; }

  Tensor upload(const std::vector<float>& values, const Shape& shape, DType dtype) override {
    Tensor t = Tensor::zeros(shape, dtype, Device::cuda);
    GENRT_CHECK(static_cast<int64_t>(values.size()) == t.numel(), "bench: {} values for shape {}", values.size(),
                shape_string(shape));
    std::vector<char> bytes(t.nbytes());
    convert_from_f32(values.data(), bytes.data(), dtype, values.size());
    upload_bytes(t, bytes.data());
    return t;
  }
  Tensor upload_ids(const std::vector<int32_t>& values, const Shape& shape) override {
    Tensor t = Tensor::zeros(shape, DType::i32, Device::cuda);
    GENRT_CHECK(static_cast<int64_t>(values.size()) == t.numel(), "bench: {} ids for shape {}", values.size(),
                shape_string(shape));
    upload_bytes(t, values.data());
    return t;
  }
  std::vector<float> download(const Tensor& t) override {
    std::vector<char> bytes(t.nbytes());
    // On the kernels' stream, so the copy waits for them.
    check_cuda(cudaMemcpyAsync(bytes.data(), t.raw(), bytes.size(), cudaMemcpyDeviceToHost, stream_), "bench download");
    check_cuda(cudaStreamSynchronize(stream_), "bench kernels and download");
    return values_as_f32(bytes.data(), t.dtype(), t.numel());
  }
  void copy(const Tensor& src, Tensor& dst) override {
    check_cuda(cudaMemcpyAsync(dst.raw(), src.raw(), src.nbytes(), cudaMemcpyDeviceToDevice, stream_), "bench copy");
  }

  Timing time(const std::function<void()>& op, bool flush_l2, const MeasureOptions& options) override {
    CudaEvent start, stop;
    return measure(
        [&] {
          if (flush_l2) check_cuda(cudaMemsetAsync(l2_flush_->get(), 0, l2_flush_bytes_, stream_), "L2 flush");
          check_cuda(cudaEventRecord(start.get(), stream_), "timing");
          op();
          check_cuda(cudaEventRecord(stop.get(), stream_), "timing");
          check_cuda(cudaEventSynchronize(stop.get()), "benchmarked kernel");
          float ms = 0;
          check_cuda(cudaEventElapsedTime(&ms, start.get(), stop.get()), "timing");
          return static_cast<double>(ms);
        },
        steady_seconds, options);
  }

 private:
  // Pageable uploads on the bench's own stream, waited for: a plain cudaMemcpy runs on the
  // legacy stream, which does not order the non-blocking stream the kernels run on.
  void upload_bytes(Tensor& t, const void* bytes) {
    check_cuda(cudaMemcpyAsync(t.raw(), bytes, t.nbytes(), cudaMemcpyHostToDevice, stream_), "bench upload");
    check_cuda(cudaStreamSynchronize(stream_), "bench upload");
  }

  cudaDeviceProp props_{};
  cudaStream_t stream_ = nullptr;
  size_t l2_flush_bytes_ = 0;
  std::unique_ptr<DeviceMemory> l2_flush_, gemm_workspace_;
  std::unique_ptr<CublasLtGemm> gemm_;
  CudaContext context_;
  std::unique_ptr<CudaScope> scope_;
};

}  // namespace

std::unique_ptr<BenchDevice> open_cuda_bench_device() { return std::make_unique<CudaBenchDevice>(); }

}  // namespace genrt::bench
