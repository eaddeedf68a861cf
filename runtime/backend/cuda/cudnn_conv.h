#pragma once
// The runtime's convolutions through cuDNN's graph API (driven by cudnn-frontend's headers):
// NHWC images, OHWI filters, bf16 or fp16 with fp32 accumulation, the bias added in the same
// fused graph where cuDNN has an engine for it (its fusion engines refuse some channel
// counts, such as SD's 3- and 4-channel ends; then the caller adds the bias). The plan for
// each shape is chosen once by cuDNN's heuristics and cached, so steady-state calls do no
// planning; a shape's first call cannot be inside a CUDA graph capture. libcudnn.so.9 is
// opened at the first convolution: a runtime that runs only language models never loads it.
// Not thread-safe: the runtime's steps run one at a time.

#include <cuda_runtime_api.h>

#include <cstdint>
#include <map>
#include <memory>
#include <tuple>

#include "kernels/ref/conv2d.h"
#include "runtime/core/dtype.h"

namespace genrt {

// Opens libcudnn.so.9 for cudnn-frontend (which genrt builds to call cuDNN through the
// handle it opens) on the first call; throws genrt::Error saying what to install when it is
// missing, or when genrt was built without cudnn-frontend's headers.
void load_cudnn();

class CudnnConv {
 public:
  // `workspace` (device memory, workspace_bytes long) is the runtime's GEMM workspace: a
  // convolution runs on the same stream as the GEMMs, so the two never use it at once, and
  // plans that need more are not chosen. Makes no cuDNN call.
  CudnnConv(void* workspace, size_t workspace_bytes);
  ~CudnnConv();
  CudnnConv(const CudnnConv&) = delete;
  CudnnConv& operator=(const CudnnConv&) = delete;

  // out [batch, out_height, out_width, out_channels] = conv2d(x [batch, height, width,
  // in_channels], w [out_channels, kernel, kernel, in_channels]) + bias [out_channels] (or
  // nullptr), see ref::conv2d; all on the device in `dtype` (bf16 or f16). Returns whether
  // the bias was added: false when cuDNN could not fuse it, and the caller adds it. Throws
  // genrt::Error naming the shape when cuDNN cannot run it.
  [[nodiscard]] bool conv2d(const void* x, const void* w, const void* bias, void* out, const ref::Conv2dShape& shape,
                            DType dtype, cudaStream_t stream);

  // Plans made so far (one per distinct shape, dtype, bias use and operand alignment).
  size_t cached_plans() const { return plans_.size(); }

 private:
  struct Plan;
  using Key =
      std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, DType, bool, int64_t>;
  Plan& plan_for(const ref::Conv2dShape& shape, DType dtype, bool bias, int64_t alignment, cudaStream_t stream);

  void* handle_ = nullptr;  // cudnnHandle_t, made at the first convolution
  void* workspace_;
  size_t workspace_bytes_;
  std::map<Key, std::unique_ptr<Plan>> plans_;
};

}  // namespace genrt
