#include "runtime/backend/cuda/cuda_ops.h"

#include "kernels/activations.cuh"
#include "runtime/backend/cuda/cuda_context.h"
#include "runtime/backend/cuda/storage_type.h"

namespace genrt::cuda_ops {

void activation(ref::Activation op, const Tensor& x, const Tensor& up, Tensor& out) {
  with_storage_type(x.dtype(), [&]<class T>() {
    check_cuda(kernels::launch_activation(ops::activation_args<T>(op, x, up, out), current_stream()),
               "activation kernel");
  });
}

}  // namespace genrt::cuda_ops
