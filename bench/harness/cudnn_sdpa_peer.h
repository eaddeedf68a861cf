#pragma once
// cuDNN's fused scaled-dot-product attention as the attention-prefill peer, built through
// cudnn-frontend's graph API (third_party/cudnn_frontend, fetched by tools/setup.sh) with
// libcudnn loaded at run time: a genrt without cuDNN still runs, and says the peer is
// missing. Built with the CUDA backend when the frontend headers are there.

#include <array>
#include <cstdint>
#include <memory>

#include "runtime/core/dtype.h"

namespace genrt::bench {

struct SdpaShape {
  int64_t batch = 0, heads = 0, kv_heads = 0, seq = 0, head_dim = 0;
  bool causal = false;
  float scale = 1.0f;
  // Element strides of q/out and of k/v in [batch, heads, seq, head_dim] order: genrt's
  // [batch, seq, heads, head_dim] rows and its paged cache (one sequence's blocks in a row)
  // are both such views, so cuDNN reads genrt's own buffers.
  std::array<int64_t, 4> q_stride{}, kv_stride{};
};

class CudnnSdpa {
 public:
  // Builds and plans the graph (the workspace allocated here, not per run); throws
  // genrt::Error saying why when cuDNN is missing or does not support the case.
  CudnnSdpa(const SdpaShape& shape, DType dtype);
  ~CudnnSdpa();
  CudnnSdpa(const CudnnSdpa&) = delete;
  CudnnSdpa& operator=(const CudnnSdpa&) = delete;

  // out = softmax(q k^T * scale [+ causal mask]) v on the current CudaContext's stream.
  void run(const void* q, const void* k, const void* v, void* out);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace genrt::bench
