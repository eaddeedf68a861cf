#pragma once
// The denoising loop that every diffusion pipeline runs, whatever its denoiser: seeded or
// given initial noise scaled by the scheduler, then per step the model input (both halves
// of classifier-free guidance), the denoiser, the guided prediction, the scheduler's update
// and a NaN check, with progress reported after each step. Pipelines (dit_pipeline.h,
// sd_pipeline.h) supply the denoiser call and the conditioning it closes over.

#include <chrono>
#include <functional>
#include <span>

#include "runtime/core/tensor.h"
#include "runtime/diffusion/noise_scheduler.h"
#include "runtime/memory/memory_plan.h"

namespace genrt {

class DeviceRuntime;

// Where a pipeline runs: the CPU reference, or the GPU with memory planned at load for up
// to max_images images per run (twice as many denoiser samples with guidance).
struct DiffusionDevice {
  Device device = Device::cpu;
  DType dtype = DType::bf16;  // the GPU's weights and activations; latents stay f32
  double gpu_memory = 0.9;
  int64_t max_images = 8;
  // Stable Diffusion: decode the VAE in overlapping tiles of its sample_size (diffusers'
  // enable_tiling), so that its activations are planned for one tile whatever the image.
  bool vae_tiling = false;
  // The denoiser's steps (a DiT's, a UNet's) replay a CUDA graph of its forward, captured
  // on each run's first step (StepGraph).
  bool cuda_graphs = true;
};

// The clock of the loop's and the pipelines' timings.
using LoopClock = std::chrono::steady_clock;
double seconds_since(LoopClock::time_point start);

struct DiffusionProgress {
  int64_t step = 0;  // 1-based: steps done
  int64_t steps = 0;
  double timestep = 0.0;
  double step_seconds = 0.0;
  double elapsed_seconds = 0.0;
};

// Called after every step; returning false stops the loop (the result says cancelled).
using DiffusionCallback = std::function<bool(const DiffusionProgress&)>;

// The loop's buffers besides the denoiser's workspace, all f32: latents, noise, eps and the
// x0 history [images, channels, h, w]; the denoiser's input and output [samples, ...]
// (samples = 2 images when guided); the NaN counter.
struct LoopBuffers {
  Tensor latents, noise, eps, x0_history, model_input, model_output, nonfinite_counter;
};

// latent_shape [images, channels, h, w]; the denoiser outputs out_channels (twice channels
// for a learned-sigma DiT, whose variance half guidance drops).
template <class Alloc>
LoopBuffers allocate_loop_buffers(const Shape& latent_shape, int64_t out_channels, bool guided, bool x0_history,
                                  Alloc& alloc) {
  const int64_t samples = (guided ? 2 : 1) * latent_shape[0];
  LoopBuffers b;
  for (Tensor* t : {&b.latents, &b.noise, &b.eps}) *t = alloc(latent_shape, DType::f32);
  if (x0_history) b.x0_history = alloc(latent_shape, DType::f32);
  b.model_input = alloc({samples, latent_shape[1], latent_shape[2], latent_shape[3]}, DType::f32);
  b.model_output = alloc({samples, out_channels, latent_shape[2], latent_shape[3]}, DType::f32);
  b.nonfinite_counter = alloc({1}, DType::i32);
  return b;
}

// The loop's share of a device for up to `latent_shape`, guided, with the x0 history.
MemoryRequest loop_memory_request(const Shape& latent_shape, int64_t out_channels);

struct LoopSettings {
  const NoiseScheduler& scheduler;
  double guidance = 1.0;  // the guided prediction is uncond + guidance * (cond - uncond)
  bool guided = false;    // model_output holds the conditional half, then the unconditional
  uint64_t seed = 0;      // the initial noise (unless given) and the steps' noise
  DeviceRuntime* runtime = nullptr;  // the GPU's, or null on the CPU
};

// The denoiser for one step: model_output from model_input at `timestep`.
using DenoiserCall = std::function<void(const Tensor& model_input, float timestep, Tensor& model_output)>;

struct LoopResult {
  int64_t steps_done = 0;
  bool cancelled = false;
  double seconds = 0.0;
};

// Fills b.latents with the initial sample: `init_noise` (standard normal on the host, of
// the latents' shape; undefined for the seeded Philox noise of the loop's device) times
// the scheduler's initial sigma.
void start_latents(const LoopSettings& settings, const Tensor& init_noise, LoopBuffers& b);

// Image-to-image: b.latents holds clean latents; noises them to the level of the
// scheduler's first step (signal * x0 + noise * eps, diffusers' add_noise), eps being
// `init_noise` or the seeded noise as for start_latents.
void noise_clean_latents(const LoopSettings& settings, const Tensor& init_noise, LoopBuffers& b);

// Runs the scheduler's steps from its first_step() on b.latents. A NaN or infinity in the latents stops the run
// with an error naming the step.
LoopResult denoise(const LoopSettings& settings, const DenoiserCall& denoiser, LoopBuffers& b,
                   const DiffusionCallback& on_step);

}  // namespace genrt
