#include "bench/harness/cudnn_sdpa_peer.h"

#include <cudnn_frontend.h>

#include <unordered_map>

#include "runtime/backend/cuda/cuda_context.h"
#include "runtime/backend/cuda/cudnn_conv.h"
#include "runtime/core/error.h"

// With NV_CUDNN_FRONTEND_USE_DYNAMIC_LOADING the frontend calls cuDNN through
// cudnn_frontend::cudnn_dlhandle, which the runtime defines and opens (load_cudnn).

namespace genrt::bench {

namespace fe = cudnn_frontend;

namespace {

enum Uid : int64_t { kQ = 1, kK, kV, kO };

void check_fe(fe::error_t status, const char* what) {
  GENRT_CHECK(status.is_good(), "cuDNN SDPA peer: {}: {}", what, status.get_message());
}

}  // namespace

// Members go in reverse order of declaration: the graph's execution plans are destroyed
// while the handle they were built on still exists.
struct CudnnHandle {
  cudnnHandle_t handle = nullptr;
  CudnnHandle() = default;
  CudnnHandle(const CudnnHandle&) = delete;
  CudnnHandle& operator=(const CudnnHandle&) = delete;
  ~CudnnHandle() {
    if (handle != nullptr) fe::detail::destroy_handle(handle);
  }
};

struct CudnnSdpa::Impl {
  CudnnHandle cudnn;
  fe::graph::Graph graph;
  void* workspace = nullptr;

  ~Impl() { cudaFree(workspace); }
};

CudnnSdpa::CudnnSdpa(const SdpaShape& s, DType dtype) : impl_(std::make_unique<Impl>()) {
  GENRT_CHECK(dtype == DType::bf16 || dtype == DType::f16, "cuDNN SDPA peer: {} is not a 16-bit dtype",
              dtype_name(dtype));
  load_cudnn();
  GENRT_CHECK(fe::detail::create_handle(&impl_->cudnn.handle) == CUDNN_STATUS_SUCCESS,
              "cuDNN SDPA peer: cudnnCreate failed (no GPU, or a cuDNN that does not match the driver)");
  fe::graph::Graph& g = impl_->graph;
  g.set_io_data_type(dtype == DType::bf16 ? fe::DataType_t::BFLOAT16 : fe::DataType_t::HALF)
      .set_intermediate_data_type(fe::DataType_t::FLOAT)
      .set_compute_data_type(fe::DataType_t::FLOAT);
  const std::vector<int64_t> q_dim = {s.batch, s.heads, s.seq, s.head_dim};
  const std::vector<int64_t> kv_dim = {s.batch, s.kv_heads, s.seq, s.head_dim};
  const std::vector<int64_t> q_stride(s.q_stride.begin(), s.q_stride.end());
  const std::vector<int64_t> kv_stride(s.kv_stride.begin(), s.kv_stride.end());
  auto tensor = [&](const char* name, Uid uid, const std::vector<int64_t>& dim, const std::vector<int64_t>& stride) {
    return g.tensor(fe::graph::Tensor_attributes().set_name(name).set_uid(uid).set_dim(dim).set_stride(stride));
  };
  auto q = tensor("Q", kQ, q_dim, q_stride);
  auto k = tensor("K", kK, kv_dim, kv_stride);
  auto v = tensor("V", kV, kv_dim, kv_stride);
  auto options = fe::graph::SDPA_attributes()
                     .set_name("flash_attention")
                     .set_generate_stats(false)
                     .set_causal_mask(s.causal)
                     .set_attn_scale(s.scale);
  auto [o, stats] = g.sdpa(q, k, v, options);
  o->set_output(true).set_uid(kO).set_dim(q_dim).set_stride(q_stride);
  check_fe(g.build(impl_->cudnn.handle, {fe::HeurMode_t::A}), "building the graph for this shape");
  const int64_t workspace_bytes = g.get_workspace_size();
  if (workspace_bytes > 0) check_cuda(cudaMalloc(&impl_->workspace, workspace_bytes), "cuDNN SDPA workspace");
}

CudnnSdpa::~CudnnSdpa() = default;

void CudnnSdpa::run(const void* q, const void* k, const void* v, void* out) {
  GENRT_CHECK(fe::detail::set_stream(impl_->cudnn.handle, current_cuda_context().stream) == CUDNN_STATUS_SUCCESS,
              "cuDNN SDPA peer: cudnnSetStream failed");
  std::unordered_map<int64_t, void*> pointers = {
      {kQ, const_cast<void*>(q)}, {kK, const_cast<void*>(k)}, {kV, const_cast<void*>(v)}, {kO, out}};
  check_fe(impl_->graph.execute(impl_->cudnn.handle, pointers, impl_->workspace), "execute");
}

}  // namespace genrt::bench
