#include "runtime/backend/cuda/cuda_ops.h"

#include "kernels/activations.cuh"
#include "kernels/dense_attention.cuh"
#include "kernels/denoise_step.cuh"
#include "kernels/embedding.cuh"
#include "kernels/norm.cuh"
#include "kernels/paged_attention.cuh"
#include "kernels/patchify.cuh"
#include "kernels/rope_kv_write.cuh"
#include "runtime/backend/cuda/cublaslt_gemm.h"
#include "runtime/backend/cuda/cuda_context.h"
#include "runtime/backend/cuda/storage_type.h"

namespace genrt::cuda_ops {

namespace {

template <class T>
T* ptr(const Tensor& t) {
  return t.defined() ? static_cast<T*>(t.raw()) : nullptr;
}

cudaStream_t stream() { return current_cuda_context().stream; }

}  // namespace

void embedding(const Tensor& table, const Tensor& ids, Tensor& out) {
  with_storage_type(table.dtype(), [&]<class T>() {
    check_cuda(kernels::launch_embedding(ptr<T>(table), ptr<int32_t>(ids), ptr<T>(out), ids.numel(), table.dim(1),
                                         table.dim(0), stream()),
               "embedding kernel");
  });
}

void norm(const ops::NormOperands& operands) {
  with_storage_type(operands.residual->dtype(), [&]<class T>() {
    check_cuda(kernels::launch_norm(ops::norm_args<T>(operands), stream()), "norm kernel");
  });
}

void linear(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& out) {
  CublasLtGemm* gemm = current_cuda_context().gemm;
  GENRT_CHECK(gemm != nullptr, "linear: the CUDA context has no GEMM handle");
  gemm->linear(x.raw(), weight.raw(), bias.defined() ? bias.raw() : nullptr, out.raw(), x.dim(0), weight.dim(0),
               x.dim(1), x.dtype(), out.dtype(), stream());
}

void rope_kv_write(Tensor* q, const Tensor& k, const Tensor& v, const PagedBatch& batch, const Tensor& inv_freq,
                   ref::RopeLayout layout, Tensor& k_cache, Tensor& v_cache) {
  with_storage_type(k.dtype(), [&]<class T>() {
    const kernels::RopeKvLaunch<T> launch{.q = q != nullptr ? ptr<T>(*q) : nullptr,
                                          .k = ptr<T>(k),
                                          .v = ptr<T>(v),
                                          .k_cache = ptr<T>(k_cache),
                                          .v_cache = ptr<T>(v_cache),
                                          .positions = ptr<int32_t>(batch.positions),
                                          .slots = ptr<int32_t>(batch.slots),
                                          .inv_freq = ptr<float>(inv_freq),
                                          .tokens = k.dim(0),
                                          .q_heads = q != nullptr ? q->dim(1) : k.dim(1),
                                          .kv_heads = k.dim(1),
                                          .head_dim = k.dim(2),
                                          .layout = layout};
    check_cuda(kernels::launch_rope_kv_write(launch, stream()), "rope/KV-cache kernel");
  });
}

void paged_attention(const Tensor& q, const Tensor& k_cache, const Tensor& v_cache, const PagedBatch& batch,
                     float scale, Tensor& out) {
  with_storage_type(q.dtype(), [&]<class T>() {
    const kernels::PagedAttentionLaunch<T> launch{.q = ptr<T>(q),
                                                  .out = ptr<T>(out),
                                                  .k_cache = ptr<T>(k_cache),
                                                  .v_cache = ptr<T>(v_cache),
                                                  .block_tables = ptr<int32_t>(batch.block_tables),
                                                  .query_start = ptr<int32_t>(batch.query_start),
                                                  .context_lens = ptr<int32_t>(batch.context_lens),
                                                  .seqs = batch.seqs(),
                                                  .tokens = q.dim(0),
                                                  .q_heads = q.dim(1),
                                                  .kv_heads = k_cache.dim(2),
                                                  .head_dim = q.dim(2),
                                                  .block_size = batch.block_size,
                                                  .max_blocks_per_seq = batch.block_tables.dim(1),
                                                  .scale = scale};
    check_cuda(kernels::launch_paged_attention(launch, stream()), "paged attention kernel");
  });
}

void dense_attention(const Tensor& q, const Tensor& k, const Tensor& v, float scale, Tensor& out) {
  with_storage_type(q.dtype(), [&]<class T>() {
    const kernels::DenseAttentionLaunch<T> launch{.q = ptr<T>(q),
                                                  .k = ptr<T>(k),
                                                  .v = ptr<T>(v),
                                                  .out = ptr<T>(out),
                                                  .batch = q.dim(0),
                                                  .tokens = q.dim(1),
                                                  .q_heads = q.dim(2),
                                                  .kv_heads = k.dim(2),
                                                  .head_dim = q.dim(3),
                                                  .scale = scale};
    check_cuda(kernels::launch_dense_attention(launch, stream()), "dense attention kernel");
  });
}

void activation(ref::Activation op, const Tensor& x, const Tensor& up, Tensor& out) {
  with_storage_type(x.dtype(), [&]<class T>() {
    check_cuda(kernels::launch_activation(ops::activation_args<T>(op, x, up, out), stream()), "activation kernel");
  });
}

void patchify(const Tensor& image, const ref::PatchShape& shape, Tensor& tokens) {
  with_storage_type(tokens.dtype(), [&]<class T>() {
    check_cuda(kernels::launch_patchify<T>({.shape = shape, .image = ptr<float>(image), .tokens = ptr<T>(tokens)},
                                           stream()),
               "patchify kernel");
  });
}

void unpatchify(const Tensor& tokens, const ref::PatchShape& shape, Tensor& image) {
  with_storage_type(tokens.dtype(), [&]<class T>() {
    check_cuda(kernels::launch_unpatchify<T>({.shape = shape, .image = ptr<float>(image), .tokens = ptr<T>(tokens)},
                                             stream()),
               "unpatchify kernel");
  });
}

void guidance_input(const Tensor& latents, float scale, Tensor& out) {
  if (latents.numel() == 0) return;  // nothing to copy, and no copies-per-latent ratio
  check_cuda(kernels::launch_guidance_input(ptr<float>(latents), scale, ptr<float>(out), latents.numel(),
                                            out.numel() / latents.numel(), stream()),
             "guidance input kernel");
}

void guidance_combine(const ref::GuidanceArgs& args) {
  check_cuda(kernels::launch_guidance_combine(args, stream()), "guidance kernel");
}

void scheduler_step(const ref::SchedulerStepArgs& args) {
  check_cuda(kernels::launch_scheduler_step(args, stream()), "scheduler step kernel");
}

void gaussian_noise(uint64_t seed, uint64_t stream_id, Tensor& out) {
  check_cuda(kernels::launch_gaussian_noise(seed, stream_id, ptr<float>(out), out.numel(), stream()),
             "gaussian noise kernel");
}

int64_t count_nonfinite(const Tensor& x, Tensor& counter) {
  auto* count = static_cast<unsigned*>(counter.raw());
  check_cuda(cudaMemsetAsync(count, 0, sizeof(unsigned), stream()), "zeroing the NaN counter");
  check_cuda(kernels::launch_count_nonfinite(ptr<float>(x), x.numel(), count, stream()), "NaN check kernel");
  unsigned host = 0;
  check_cuda(cudaMemcpyAsync(&host, count, sizeof(unsigned), cudaMemcpyDeviceToHost, stream()), "NaN count copy");
  check_cuda(cudaStreamSynchronize(stream()), "denoising step");
  return host;
}

}  // namespace genrt::cuda_ops
