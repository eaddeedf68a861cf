#include "runtime/backend/cuda/cuda_ops.h"

#include "kernels/channel_bias.cuh"
#include "kernels/group_norm.cuh"
#include "kernels/upsample.cuh"
#include "runtime/backend/cuda/cuda_context.h"
#include "runtime/backend/cuda/cudnn_conv.h"
#include "runtime/backend/cuda/storage_type.h"

namespace genrt::cuda_ops {

void conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const ref::Conv2dShape& shape, Tensor& out) {
  CudnnConv* conv = current_cuda_context().conv;
  GENRT_CHECK(conv != nullptr, "conv2d: the CUDA context has no cuDNN convolution handle");
  if (conv->conv2d(x.raw(), weight.raw(), bias.defined() ? bias.raw() : nullptr, out.raw(), shape, x.dtype(),
                   current_stream())) {
    return;
  }
  with_storage_type(out.dtype(), [&]<class T>() {
    check_cuda(kernels::launch_add_channel_bias(static_cast<T*>(out.raw()), static_cast<const T*>(bias.raw()),
                                                out.numel() / shape.out_channels, shape.out_channels, current_stream()),
               "conv2d bias kernel");
  });
}

void group_norm(const ops::GroupNormOperands& operands) {
  const CudaContext& context = current_cuda_context();
  const int64_t pairs = operands.batch * operands.params.groups;
  GENRT_CHECK(pairs * static_cast<int64_t>(sizeof(kernels::Moments)) <=
                  static_cast<int64_t>(context.group_norm_workspace_bytes),
              "group_norm on the GPU: {} samples of {} groups need {} bytes of statistics workspace, the CUDA context "
              "has {}",
              operands.batch, operands.params.groups, pairs * sizeof(kernels::Moments),
              context.group_norm_workspace_bytes);
  with_storage_type(operands.x->dtype(), [&]<class T>() {
    check_cuda(kernels::launch_group_norm(ops::group_norm_args<T>(operands), context.group_norm_workspace,
                                          context.group_norm_workspace_bytes, context.stream),
               "group_norm kernel");
  });
}

void upsample_nearest2x(const Tensor& x, const ref::UpsampleShape& shape, Tensor& out) {
  with_storage_type(x.dtype(), [&]<class T>() {
    check_cuda(kernels::launch_upsample_nearest2x(shape, static_cast<const T*>(x.raw()), static_cast<T*>(out.raw()),
                                                  current_stream()),
               "upsample_nearest2x kernel");
  });
}

// Two strided copies into out's rows: a's channels, then b's after them.
void concat_channels(const Tensor& a, const Tensor& b, Tensor& out) {
  size_t rows = 1;
  for (int64_t d = 0; d + 1 < a.rank(); ++d) rows *= static_cast<size_t>(a.dim(d));
  if (rows == 0) return;
  const size_t element = dtype_size(a.dtype());
  const size_t a_row = static_cast<size_t>(a.dim(-1)) * element, b_row = static_cast<size_t>(b.dim(-1)) * element;
  char* target = static_cast<char*>(out.raw());
  if (a_row > 0) {
    check_cuda(cudaMemcpy2DAsync(target, a_row + b_row, a.raw(), a_row, a_row, rows, cudaMemcpyDeviceToDevice,
                                 current_stream()),
               "concat_channels: copying a");
  }
  if (b_row > 0) {
    check_cuda(cudaMemcpy2DAsync(target + a_row, a_row + b_row, b.raw(), b_row, b_row, rows, cudaMemcpyDeviceToDevice,
                                 current_stream()),
               "concat_channels: copying b");
  }
}

}  // namespace genrt::cuda_ops
