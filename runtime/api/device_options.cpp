#include "runtime/api/device_options.h"

#include "runtime/core/device.h"

namespace genrt::api {

genrt::DeviceOptions to_device_options(const LoadOptions& options) {
  if (options.device == Device::cuda && genrt::cuda_device_count() == 0) {
    throw Error(Error::Kind::unsupported, "device cuda: " + genrt::cuda_unavailable_reason());
  }
  if (!(options.gpu_memory > 0 && options.gpu_memory <= 1)) {
    throw Error(Error::Kind::invalid_argument, "gpu_memory must be in (0, 1]");
  }
  if (options.device == Device::cuda && options.dtype == DType::f32) {
    throw Error(Error::Kind::unsupported, "device cuda runs models in bf16 or f16, not f32");
  }
  return {.device = options.device == Device::cuda ? genrt::Device::cuda : genrt::Device::cpu,
          .dtype = options.dtype == DType::f16 ? genrt::DType::f16 : genrt::DType::bf16,
          .gpu_memory = options.gpu_memory,
          .cuda_graphs = options.cuda_graphs};
}

}  // namespace genrt::api
