#include "runtime/backend/device_runtime.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include <spdlog/spdlog.h>

#ifdef GENRT_HAVE_CUDA
#include <cuda_runtime_api.h>

#include "kernels/attention_kernels.h"
#include "kernels/group_norm.cuh"
#include "runtime/backend/cuda/cublaslt_gemm.h"
#include "runtime/backend/cuda/cuda_context.h"
#include "runtime/backend/cuda/cudnn_conv.h"
#endif

namespace genrt {

void DeviceRuntime::expect_planned(const MemoryRequest& request) const {
  GENRT_CHECK(std::find(plan_.models.begin(), plan_.models.end(), request) != plan_.models.end(),
              "{} was not planned on this device runtime with these options (it needs weights {}, persistent {}, "
              "workspace {}): plan the runtime with the model's memory_request for the same options",
              request.name, format_bytes(request.weight_bytes), format_bytes(request.persistent_bytes),
              format_bytes(request.workspace_bytes));
}

std::optional<DeviceRuntime::Step> step_on(DeviceRuntime* runtime) {
  if (runtime == nullptr) return std::nullopt;
  return std::optional<DeviceRuntime::Step>(std::in_place, *runtime);
}

#ifdef GENRT_HAVE_CUDA

namespace {

// Pinned host memory: the source and target of every transfer, so copies run at full
// PCIe speed and asynchronously.
class PinnedBuffer {
 public:
  explicit PinnedBuffer(size_t bytes) : bytes_(bytes) {
    check_cuda(cudaHostAlloc(&data_, bytes, cudaHostAllocDefault), "pinned staging allocation");
  }
  ~PinnedBuffer() { cudaFreeHost(data_); }
  PinnedBuffer(const PinnedBuffer&) = delete;
  PinnedBuffer& operator=(const PinnedBuffer&) = delete;
  char* data() const { return static_cast<char*>(data_); }
  size_t size() const { return bytes_; }

 private:
  void* data_ = nullptr;
  size_t bytes_;
};

// Weights stream through 64 MiB chunks; a step's metadata takes what its plan says, at
// least 16 MiB.
constexpr size_t kWeightStagingBytes = size_t{64} << 20;
constexpr size_t kStepStagingBytes = size_t{16} << 20;
// A step's sampled ids and logprobs: 256 rows with 20 top logprobs each take 42 KiB.
constexpr size_t kReadBackBytes = size_t{1} << 20;

}  // namespace

struct DeviceRuntime::Impl {
  cudaStream_t stream = nullptr;
  std::unique_ptr<CublasLtGemm> gemm;
  std::unique_ptr<CudnnConv> conv;
  CudaContext context;
  PinnedBuffer weight_staging{kWeightStagingBytes};
  // Two of the plan's largest step's uploads (at least kStepStagingBytes each), one per
  // step in turn: a step launched before the previous one ran (asynchronous scheduling)
  // stages into the buffer whose copies, the step before's, are long done.
  std::unique_ptr<PinnedBuffer> step_staging[2];
  int staging = 0;  // the open step's
  size_t step_staging_used = 0;
  // Recorded after each metadata upload from a staging buffer: a step waits on its buffer's
  // before overwriting it, so reuse is safe however the step before last ended.
  cudaEvent_t staging_copied[2] = {nullptr, nullptr};
  PinnedBuffer read_back[2] = {PinnedBuffer(kReadBackBytes), PinnedBuffer(kReadBackBytes)};
  cudaEvent_t read_back_done[2] = {nullptr, nullptr};

  // `bytes` of the step's pinned staging, 256-aligned after what the step staged before.
  char* stage(size_t bytes) {
    const size_t offset = (step_staging_used + 255) / 256 * 256;
    PinnedBuffer& buffer = *step_staging[staging];
    GENRT_CHECK(offset + bytes <= buffer.size(), "upload: {} of step metadata exceed the {} staging",
                format_bytes(offset + bytes), format_bytes(buffer.size()));
    step_staging_used = offset + bytes;
    return buffer.data() + offset;
  }

  ~Impl() {
    conv.reset();
    gemm.reset();
    for (cudaEvent_t event : staging_copied) {
      if (event != nullptr) cudaEventDestroy(event);
    }
    for (cudaEvent_t event : read_back_done) {
      if (event != nullptr) cudaEventDestroy(event);
    }
    if (stream != nullptr) cudaStreamDestroy(stream);
  }
};

struct DeviceRuntime::Step::Scope {
  explicit Scope(const CudaContext& context) : cuda(context) {}
  CudaScope cuda;
};

DeviceMemoryInfo query_device_memory() {
  GENRT_CHECK(cuda_device_count() > 0, "--device cuda: {}", cuda_unavailable_reason());
  size_t free_bytes = 0, total_bytes = 0;
  check_cuda(cudaMemGetInfo(&free_bytes, &total_bytes), "querying device memory");
  return {free_bytes, total_bytes};
}

DeviceRuntime::DeviceRuntime(std::span<const MemoryRequest> models, double gpu_memory) {
  const uint64_t sampled_ids_bytes = DeviceArena::footprint(Shape{kMaxSampledRows}, DType::i32);
  plan_ = plan_device_memory(query_device_memory(), gpu_memory, models,
                             CublasLtGemm::kWorkspaceBytes + kernels::kSplitWorkspaceBytes +
                                 kernels::kGroupNormWorkspaceBytes + sampled_ids_bytes);
  spdlog::info("{}", plan_.table());
  weights_ = std::make_unique<DeviceArena>("weights", plan_.weight_bytes, Device::cuda);
  persistent_ = std::make_unique<DeviceArena>("persistent buffers", plan_.persistent_bytes, Device::cuda);
  workspace_ = std::make_unique<DeviceArena>("workspace", plan_.workspace_bytes, Device::cuda);
  kv_ = std::make_unique<DeviceArena>("KV cache", plan_.kv_bytes, Device::cuda);
  impl_ = std::make_unique<Impl>();
  for (auto& staging : impl_->step_staging) {
    staging = std::make_unique<PinnedBuffer>(std::max<size_t>(kStepStagingBytes, plan_.step_staging_bytes));
  }
  check_cuda(cudaStreamCreateWithFlags(&impl_->stream, cudaStreamNonBlocking), "creating a stream");
  for (cudaEvent_t& event : impl_->staging_copied) {
    check_cuda(cudaEventCreateWithFlags(&event, cudaEventDisableTiming), "creating an event");
  }
  for (cudaEvent_t& event : impl_->read_back_done) {
    check_cuda(cudaEventCreateWithFlags(&event, cudaEventDisableTiming), "creating an event");
  }
  const Tensor gemm_workspace =
      workspace_->allocate({static_cast<int64_t>(CublasLtGemm::kWorkspaceBytes / sizeof(float))}, DType::f32);
  const Tensor attention_workspace =
      workspace_->allocate({kernels::kSplitWorkspaceBytes / static_cast<int64_t>(sizeof(float))}, DType::f32);
  const Tensor group_norm_workspace = workspace_->allocate(
      {static_cast<int64_t>(kernels::kGroupNormWorkspaceBytes / sizeof(float))}, DType::f32);
  sampled_ids_ = workspace_->allocate({kMaxSampledRows}, DType::i32);
  workspace_fixed_ = workspace_->used();
  impl_->gemm = std::make_unique<CublasLtGemm>(gemm_workspace.raw(), CublasLtGemm::kWorkspaceBytes);
  // Opens cuDNN at the first convolution, not here.
  impl_->conv = std::make_unique<CudnnConv>(gemm_workspace.raw(), CublasLtGemm::kWorkspaceBytes);
  impl_->context = {.stream = impl_->stream,
                    .gemm = impl_->gemm.get(),
                    .conv = impl_->conv.get(),
                    .attention_workspace = attention_workspace.raw(),
                    .attention_workspace_bytes = static_cast<size_t>(kernels::kSplitWorkspaceBytes),
                    .group_norm_workspace = group_norm_workspace.raw(),
                    .group_norm_workspace_bytes = kernels::kGroupNormWorkspaceBytes};
}

DeviceRuntime::~DeviceRuntime() = default;

Tensor DeviceRuntime::upload_weight(const Tensor& host, DType dtype) {
  Tensor device = weights_->allocate(host.shape(), dtype);
  copy_in(host, device);
  return device;
}

void DeviceRuntime::copy_in(const Tensor& host, const Tensor& device) {
  GENRT_CHECK(host.device() == Device::cpu && host.is_contiguous(), "upload: expected a contiguous host tensor");
  GENRT_CHECK(device.device() == Device::cuda && device.shape() == host.shape(),
              "upload: target {} on {} does not match the host tensor {}", shape_string(device.shape()),
              device_name(device.device()), shape_string(host.shape()));
  const DType dtype = device.dtype();
  GENRT_CHECK((dtype == DType::i32) == (host.dtype() == DType::i32), "upload: {} cannot become {}",
              dtype_name(host.dtype()), dtype_name(dtype));
  const size_t in_size = dtype_size(host.dtype()), out_size = dtype_size(dtype);
  const size_t chunk = impl_->weight_staging.size() / std::max(in_size, out_size);
  std::vector<float> f32(std::min(chunk, static_cast<size_t>(host.numel())));
  for (size_t begin = 0; begin < static_cast<size_t>(host.numel()); begin += chunk) {
    const size_t n = std::min(chunk, static_cast<size_t>(host.numel()) - begin);
    const char* src = static_cast<const char*>(host.raw()) + begin * in_size;
    if (host.dtype() == dtype) {
      std::memcpy(impl_->weight_staging.data(), src, n * in_size);
    } else {
      convert_to_f32(src, host.dtype(), f32.data(), n);
      convert_from_f32(f32.data(), impl_->weight_staging.data(), dtype, n);
    }
    check_cuda(cudaMemcpyAsync(static_cast<char*>(device.raw()) + begin * out_size, impl_->weight_staging.data(),
                               n * out_size, cudaMemcpyHostToDevice, impl_->stream),
               "upload");
    check_cuda(cudaStreamSynchronize(impl_->stream), "upload");  // the staging buffer is reused next
  }
}

Tensor DeviceRuntime::persistent(const Shape& shape, DType dtype) { return persistent_->allocate(shape, dtype); }

DeviceRuntime::PersistentScope::PersistentScope(DeviceRuntime& runtime)
    : runtime_(runtime), depth_(runtime.persistent_marks_.size()) {
  runtime.persistent_marks_.push_back(runtime.persistent_->used());
}

DeviceRuntime::PersistentScope::~PersistentScope() {
  auto& marks = runtime_.persistent_marks_;
  if (marks.size() != depth_ + 1) {
    // Closing out of order would free buffers an inner scope still uses; leak them instead.
    spdlog::error("persistent buffer scopes closed out of order: {} open, this one opened at depth {}", marks.size(),
                  depth_);
    return;
  }
  runtime_.persistent_->reset_to(marks.back());
  marks.pop_back();
}

DeviceRuntime::Step::Step(DeviceRuntime& runtime) : runtime_(runtime) {
  GENRT_CHECK(!runtime.step_open_, "a step is already open on this device runtime: models sharing a device run one "
              "step at a time");
  scope_ = std::make_unique<Scope>(runtime.impl_->context);
  runtime.workspace_->reset_to(runtime.workspace_fixed_);
  // This step's staging buffer was the step before last's: done with, once any step since
  // ended with a read-back, as every decode step does.
  Impl& impl = *runtime.impl_;
  impl.staging = 1 - impl.staging;
  if (cudaEventQuery(impl.staging_copied[impl.staging]) != cudaSuccess) {
    ++runtime.host_syncs_;
    check_cuda(cudaEventSynchronize(impl.staging_copied[impl.staging]), "the uploads of the step before last");
  }
  impl.step_staging_used = 0;
  runtime.step_open_ = true;  // last: a constructor that throws leaves no step open
}

DeviceRuntime::Step::~Step() { runtime_.step_open_ = false; }

Tensor DeviceRuntime::scratch(const Shape& shape, DType dtype) { return workspace_->allocate(shape, dtype); }

uint64_t DeviceRuntime::workspace_mark() const { return workspace_->used(); }

void DeviceRuntime::restore_workspace(uint64_t mark) {
  GENRT_CHECK(step_open_ && mark >= workspace_fixed_, "restore_workspace: needs an open step and a mark of one");
  if (mark <= workspace_->used()) {
    workspace_->reset_to(mark);
  } else {
    workspace_->claim_until(mark);
  }
}

class DeviceRuntime::Graph {
 public:
  // `live_bytes`: the runtime's count of its graphs' device memory, which this graph's
  // `bytes` leave when it is destroyed (shared: a graph may outlive its runtime).
  Graph(cudaGraphExec_t exec, size_t nodes, std::shared_ptr<std::atomic<uint64_t>> live_bytes)
      : exec_(exec), nodes_(nodes), live_bytes_(std::move(live_bytes)) {}
  ~Graph() {
    cudaGraphExecDestroy(exec_);
    *live_bytes_ -= bytes_;
  }
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;
  cudaGraphExec_t exec() const { return exec_; }
  size_t nodes() const { return nodes_; }
  void count_bytes(uint64_t bytes) {
    bytes_ = bytes;
    *live_bytes_ += bytes;
  }

 private:
  cudaGraphExec_t exec_;
  size_t nodes_;
  std::shared_ptr<std::atomic<uint64_t>> live_bytes_;
  uint64_t bytes_ = 0;
};

std::shared_ptr<const DeviceRuntime::Graph> DeviceRuntime::capture_graph(const std::function<void()>& enqueue,
                                                                         const std::string& what) {
  GENRT_CHECK(step_open_, "capture_graph: {} must be captured inside an open step", what);
  cudaStream_t stream = impl_->stream;
  // What the stream still runs is not part of the graph; waiting for it also lets the
  // driver's free memory below measure the graph alone.
  check_cuda(cudaStreamSynchronize(stream), "before capturing a CUDA graph");
  size_t free_before = 0, free_after = 0, total = 0;
  check_cuda(cudaMemGetInfo(&free_before, &total), "querying device memory");
  // Thread-local: another thread's CUDA calls (a second model's loading) do not invalidate it.
  check_cuda(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal), "beginning a CUDA graph capture");
  cudaGraph_t graph = nullptr;
  try {
    enqueue();
  } catch (...) {
    // Leave the stream out of capture mode, and the failed capture's errors behind.
    cudaStreamEndCapture(stream, &graph);
    if (graph != nullptr) cudaGraphDestroy(graph);
    cudaGetLastError();
    throw;
  }
  const std::string context = "the CUDA graph of " + what;
  check_cuda(cudaStreamEndCapture(stream, &graph), context.c_str());
  size_t nodes = 0;
  cudaGraphGetNodes(graph, nullptr, &nodes);
  if (nodes == 0) {  // its work went to another stream, and a replay would do nothing
    cudaGraphDestroy(graph);
    fail("{} recorded no work on the runtime's stream", context);
  }
  cudaGraphExec_t exec = nullptr;
  const cudaError_t instantiated = cudaGraphInstantiate(&exec, graph, 0);
  cudaGraphDestroy(graph);
  check_cuda(instantiated, context.c_str());
  auto captured = std::make_shared<Graph>(exec, nodes, graph_bytes_);
  check_cuda(cudaGraphUpload(exec, stream), context.c_str());
  check_cuda(cudaStreamSynchronize(stream), context.c_str());
  check_cuda(cudaMemGetInfo(&free_after, &total), "querying device memory");
  const uint64_t bytes = free_before > free_after ? free_before - free_after : 0;
  captured->count_bytes(bytes);
  spdlog::info("captured {} as a CUDA graph: {} nodes, {} of device memory ({} for all live graphs, {} planned)",
               what, nodes, format_bytes(bytes), format_bytes(graph_bytes_->load()), format_bytes(plan_.graph_bytes));
  if (*graph_bytes_ > plan_.graph_bytes) {
    spdlog::warn("the CUDA graphs take {}, more than the {} planned for them", format_bytes(graph_bytes_->load()),
                 format_bytes(plan_.graph_bytes));
  }
  ++graph_captures_;
  return captured;
}

void DeviceRuntime::launch_graph(const Graph& graph) {
  GENRT_CHECK(step_open_, "launch_graph: a CUDA graph replays inside an open step");
  check_cuda(cudaGraphLaunch(graph.exec(), impl_->stream), "replaying a CUDA graph");
  ++graph_replays_;
}

Tensor DeviceRuntime::upload(const Tensor& host) { return upload(host, host.dtype()); }

Tensor DeviceRuntime::upload(const Tensor& host, DType dtype) {
  Tensor device = workspace_->allocate(host.shape(), dtype);
  upload(host, device);
  return device;
}

void DeviceRuntime::wait(const char* what) {
  ++host_syncs_;
  check_cuda(cudaStreamSynchronize(impl_->stream), what);
}

DeviceRuntime::ReadBack DeviceRuntime::read_back_async(std::span<const Tensor> tensors, const char* what) {
  // The layout first: a refused read-back leaves the buffers' turn as it was.
  std::vector<size_t> offsets(tensors.size());
  size_t used = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    if (!t.defined()) continue;
    GENRT_CHECK(t.device() == Device::cuda && t.is_contiguous(), "read_back: expected contiguous device tensors");
    offsets[i] = (used + 255) / 256 * 256;
    used = offsets[i] + t.nbytes();
  }
  GENRT_CHECK(used <= kReadBackBytes, "read_back: {} exceed the {} read-back buffer", format_bytes(used),
              format_bytes(kReadBackBytes));
  ReadBack result{.host = std::vector<Tensor>(tensors.size()), .buffer = next_read_back_};
  next_read_back_ = 1 - next_read_back_;
  char* buffer = impl_->read_back[result.buffer].data();
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    if (!t.defined()) continue;
    check_cuda(cudaMemcpyAsync(buffer + offsets[i], t.raw(), t.nbytes(), cudaMemcpyDeviceToHost, impl_->stream), what);
    result.host[i] = Tensor::view_of(buffer + offsets[i], t.shape(), t.dtype(), nullptr);
  }
  check_cuda(cudaEventRecord(impl_->read_back_done[result.buffer], impl_->stream), what);
  return result;
}

void DeviceRuntime::wait(const ReadBack& read_back, const char* what) {
  ++host_syncs_;
  check_cuda(cudaEventSynchronize(impl_->read_back_done[read_back.buffer]), what);
}

Tensor DeviceRuntime::sampled_ids(int64_t rows) {
  GENRT_CHECK(rows >= 0 && rows <= kMaxSampledRows, "sampled_ids: {} rows, at most {}", rows, kMaxSampledRows);
  return sampled_ids_.slice(0, rows);
}

void DeviceRuntime::upload(const Tensor& host, const Tensor& device) {
  const DType dtype = device.dtype();
  GENRT_CHECK(host.device() == Device::cpu && host.is_contiguous(), "upload: expected a contiguous host tensor");
  GENRT_CHECK(dtype == host.dtype() || host.dtype() == DType::f32, "upload: {} cannot become {}",
              dtype_name(host.dtype()), dtype_name(dtype));
  GENRT_CHECK(device.device() == Device::cuda && device.is_contiguous() && device.shape() == host.shape(),
              "upload: target {} does not match the host tensor {}", shape_string(device.shape()),
              shape_string(host.shape()));
  char* staged = impl_->stage(device.nbytes());
  if (dtype == host.dtype()) {
    std::memcpy(staged, host.raw(), device.nbytes());
  } else {
    convert_from_f32(host.data<float>(), staged, dtype, static_cast<size_t>(host.numel()));
  }
  check_cuda(cudaMemcpyAsync(device.raw(), staged, device.nbytes(), cudaMemcpyHostToDevice, impl_->stream),
             "metadata upload");
  check_cuda(cudaEventRecord(impl_->staging_copied[impl_->staging], impl_->stream), "metadata upload");
}

void DeviceRuntime::upload_columns(const Tensor& host, const Tensor& device) {
  GENRT_CHECK(host.device() == Device::cpu && host.is_contiguous() && host.rank() == 2,
              "upload_columns: expected a contiguous 2-D host tensor");
  GENRT_CHECK(device.device() == Device::cuda && device.is_contiguous() && device.rank() == 2 &&
                  device.dtype() == host.dtype() && device.dim(0) == host.dim(0) && device.dim(1) >= host.dim(1),
              "upload_columns: target {} {} cannot take the columns of {} {}", dtype_name(device.dtype()),
              shape_string(device.shape()), dtype_name(host.dtype()), shape_string(host.shape()));
  char* staged = impl_->stage(host.nbytes());
  std::memcpy(staged, host.raw(), host.nbytes());
  const size_t row = static_cast<size_t>(host.dim(1)) * dtype_size(host.dtype());
  check_cuda(cudaMemcpy2DAsync(device.raw(), static_cast<size_t>(device.dim(1)) * dtype_size(device.dtype()), staged,
                               row, row, static_cast<size_t>(host.dim(0)), cudaMemcpyHostToDevice, impl_->stream),
             "metadata upload");
  check_cuda(cudaEventRecord(impl_->staging_copied[impl_->staging], impl_->stream), "metadata upload");
}

Tensor DeviceRuntime::download_f32(const Tensor& device) {
  GENRT_CHECK(device.dtype() == DType::f32, "download: expected f32, got {}", dtype_name(device.dtype()));
  Tensor host = Tensor::zeros(device.shape(), DType::f32);
  // Straight into pageable memory: logits are small next to a step's compute.
  check_cuda(cudaMemcpyAsync(host.raw(), device.raw(), host.nbytes(), cudaMemcpyDeviceToHost, impl_->stream),
             "logits download");
  ++host_syncs_;
  check_cuda(cudaStreamSynchronize(impl_->stream), "forward step");
  return host;
}

struct DeviceRuntime::ContextScope::Scope {
  explicit Scope(const CudaContext& context) : cuda(context) {}
  CudaScope cuda;
};

DeviceRuntime::ContextScope::ContextScope(DeviceRuntime& runtime) : runtime_(runtime) {
  // A Step opened inside would reset the workspace under the tensors this scope works on.
  GENRT_CHECK(!runtime.step_open_, "a step is already open on this device runtime: models sharing a device run one "
              "step at a time");
  scope_ = std::make_unique<Scope>(runtime.impl_->context);
  runtime.step_open_ = true;
}

DeviceRuntime::ContextScope::~ContextScope() { runtime_.step_open_ = false; }

Tensor DeviceRuntime::download(const Tensor& device) {
  GENRT_CHECK(device.device() == Device::cuda && device.is_contiguous(),
              "download: expected a contiguous device tensor");
  Tensor host = Tensor::zeros(device.shape(), device.dtype());
  check_cuda(cudaMemcpyAsync(host.raw(), device.raw(), host.nbytes(), cudaMemcpyDeviceToHost, impl_->stream),
             "download");
  ++host_syncs_;
  check_cuda(cudaStreamSynchronize(impl_->stream), "download");
  return host;
}

#else  // no CUDA backend in this build

struct DeviceRuntime::Impl {};
struct DeviceRuntime::Step::Scope {};

DeviceMemoryInfo query_device_memory() { fail("--device cuda: {}", cuda_unavailable_reason()); }

DeviceRuntime::DeviceRuntime(std::span<const MemoryRequest>, double) { query_device_memory(); }
DeviceRuntime::~DeviceRuntime() = default;
Tensor DeviceRuntime::upload_weight(const Tensor&, DType) { fail("no CUDA backend"); }
void DeviceRuntime::copy_in(const Tensor&, const Tensor&) { fail("no CUDA backend"); }
Tensor DeviceRuntime::persistent(const Shape&, DType) { fail("no CUDA backend"); }
DeviceRuntime::PersistentScope::PersistentScope(DeviceRuntime& runtime) : runtime_(runtime), depth_(0) {}
DeviceRuntime::PersistentScope::~PersistentScope() = default;
DeviceRuntime::Step::Step(DeviceRuntime& runtime) : runtime_(runtime) {}
DeviceRuntime::Step::~Step() = default;
Tensor DeviceRuntime::scratch(const Shape&, DType) { fail("no CUDA backend"); }
uint64_t DeviceRuntime::workspace_mark() const { fail("no CUDA backend"); }
void DeviceRuntime::restore_workspace(uint64_t) { fail("no CUDA backend"); }
class DeviceRuntime::Graph {};
std::shared_ptr<const DeviceRuntime::Graph> DeviceRuntime::capture_graph(const std::function<void()>&,
                                                                         const std::string&) {
  fail("no CUDA backend");
}
void DeviceRuntime::launch_graph(const Graph&) { fail("no CUDA backend"); }
Tensor DeviceRuntime::upload(const Tensor&) { fail("no CUDA backend"); }
Tensor DeviceRuntime::upload(const Tensor&, DType) { fail("no CUDA backend"); }
void DeviceRuntime::upload(const Tensor&, const Tensor&) { fail("no CUDA backend"); }
void DeviceRuntime::upload_columns(const Tensor&, const Tensor&) { fail("no CUDA backend"); }
Tensor DeviceRuntime::download_f32(const Tensor&) { fail("no CUDA backend"); }
struct DeviceRuntime::ContextScope::Scope {};
DeviceRuntime::ContextScope::ContextScope(DeviceRuntime& runtime) : runtime_(runtime) {}
DeviceRuntime::ContextScope::~ContextScope() = default;
Tensor DeviceRuntime::download(const Tensor&) { fail("no CUDA backend"); }
void DeviceRuntime::wait(const char*) { fail("no CUDA backend"); }
DeviceRuntime::ReadBack DeviceRuntime::read_back_async(std::span<const Tensor>, const char*) {
  fail("no CUDA backend");
}
void DeviceRuntime::wait(const ReadBack&, const char*) { fail("no CUDA backend"); }
Tensor DeviceRuntime::sampled_ids(int64_t) { fail("no CUDA backend"); }

#endif

}  // namespace genrt
