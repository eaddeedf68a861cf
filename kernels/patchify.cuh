#pragma once
// Patch layouts on the GPU (see kernels/ref/patchify.h). The latents stay fp32 through the
// denoising loop; these kernels are where they meet the model's storage type: patchify
// reads the fp32 image and writes T tokens, unpatchify reads T tokens and writes fp32.

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime_api.h>

#include "kernels/ref/patchify.h"

namespace genrt::kernels {

template <class T>
struct PatchifyLaunch {
  ref::PatchShape shape;
  float* image = nullptr;  // [batch, channels, height, width]
  T* tokens = nullptr;     // [batch, patches, channels * patch^2]
};

// tokens (Conv2d column order) from the image.
template <class T>
cudaError_t launch_patchify(const PatchifyLaunch<T>& args, cudaStream_t stream);

// The image from tokens in DiT's (patch, patch, channels) order.
template <class T>
cudaError_t launch_unpatchify(const PatchifyLaunch<T>& args, cudaStream_t stream);

}  // namespace genrt::kernels
