#include "runtime/backend/cuda/cuda_ops.h"

#include "kernels/norm.cuh"
#include "runtime/backend/cuda/cuda_context.h"
#include "runtime/backend/cuda/storage_type.h"
#include "runtime/backend/gpu_limits.h"

namespace genrt::cuda_ops {

void norm(const char* op, const ops::NormOperands& operands) {
  ops::expect_gpu_norm_dim(op, operands.residual->dim(1));
  with_storage_type(operands.residual->dtype(), [&]<class T>() {
    check_cuda(kernels::launch_norm(ops::norm_args<T>(operands), current_stream()), "norm kernel");
  });
}

}  // namespace genrt::cuda_ops
