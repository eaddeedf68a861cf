#pragma once
// The CUDA side of the op entries: each function takes tensors the entry (runtime/backend/
// *_ops.cpp) has already checked (device, dtype, shapes), checks the shapes only the kernels
// limit (gpu_limits.h), picks the kernel instance for their dtype and launches it on the
// current CudaContext's stream. Only the op entries call these; each family's functions are
// defined in the file of its name beside this header.

#include <cstdint>

#include "kernels/ref/channel_affine.h"
#include "kernels/ref/conv2d.h"
#include "kernels/ref/guidance.h"
#include "kernels/ref/patchify.h"
#include "kernels/ref/relative_position.h"
#include "kernels/ref/rope.h"
#include "kernels/ref/scheduler_step.h"
#include "kernels/ref/upsample.h"
#include "runtime/backend/kernel_args.h"
#include "runtime/backend/paged_batch.h"
#include "runtime/core/tensor.h"

namespace genrt::cuda_ops {

// embedding_ops.cpp
void embedding(const Tensor& table, const Tensor& ids, Tensor& out);
void take_sampled_ids(const Tensor& sampled, const Tensor& from, Tensor& ids);

// norm_ops.cpp: any row normalization (see kernels/ref/norm.h); `op` names the entry in
// errors.
void norm(const char* op, const ops::NormOperands& operands);

// activation_ops.cpp: up undefined except for add; a gated op's x is [rows, 2 cols].
void activation(ref::Activation op, const Tensor& x, const Tensor& up, Tensor& out);

// linear_ops.cpp: out = x @ weight^T + bias (bias may be undefined); out may be f32 for
// bf16/f16 operands.
void linear(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& out);
// linear_ops.cpp: out [parts, m, n], each part of weight [parts n, k] over x.
void linear_parts(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& out);

// rope_ops.cpp: inv_freq undefined: no rotation (queries and keys copied).
void qkv_cache_write(const Tensor& qkv, const PagedBatch& batch, const Tensor& inv_freq, ref::RopeLayout layout,
                     Tensor& q, Tensor& k_cache, Tensor& v_cache);
// kv [tokens, 2 kv_heads * head_dim]: keys then values, written at the batch's slots.
void kv_cache_write(const Tensor& kv, const PagedBatch& batch, Tensor& k_cache, Tensor& v_cache);

// attention_ops.cpp
void paged_attention(const Tensor& q, const Tensor& k_cache, const Tensor& v_cache, const PagedBatch& batch,
                     float scale, int64_t window, Tensor& out, const ref::RelativePositionBias& bias);
// q, out [batch, tokens, heads, head_dim]; k, v [batch, tokens, kv_heads, head_dim].
void dense_attention(const Tensor& q, const Tensor& k, const Tensor& v, float scale, Tensor& out,
                     const ref::RelativePositionBias& bias);

// diffusion_ops.cpp: the denoising loop (see runtime/backend/diffusion_ops.h). Images and
// latents are f32; tokens are in the model's storage type. The ref argument structs come
// with their device pointers filled.
void patchify(const Tensor& image, const ref::PatchShape& shape, Tensor& tokens);
void unpatchify(const Tensor& tokens, const ref::PatchShape& shape, Tensor& image);
void guidance_input(const Tensor& latents, float scale, Tensor& out);
void guidance_combine(const ref::GuidanceArgs& args);
void scheduler_step(const ref::SchedulerStepArgs& args);
void channel_affine(const ref::ChannelAffineArgs& args);
void gaussian_noise(uint64_t seed, uint64_t stream_id, Tensor& out);
// Waits for the stream: the count is needed on the host. counter: one i32 of scratch.
int64_t count_nonfinite(const Tensor& x, Tensor& counter);

// image_ops.cpp: the convolutional models' ops over NHWC images (see
// runtime/backend/image_ops.h); conv2d runs through cuDNN (cudnn_conv.cpp), the rest
// through genrt's kernels and stream-ordered copies.
void conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const ref::Conv2dShape& shape, Tensor& out);
void group_norm(const ops::GroupNormOperands& operands);
void upsample_nearest2x(const Tensor& x, const ref::UpsampleShape& shape, Tensor& out);
void concat_channels(const Tensor& a, const Tensor& b, Tensor& out);

}  // namespace genrt::cuda_ops
