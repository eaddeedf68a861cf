#pragma once
// The pieces every noise scheduler builds on, computed as diffusers computes them (fp32
// training schedules, numpy's spacing and rounding) so that timesteps and sigmas match it
// exactly, not just closely.

#include <cstdint>
#include <vector>

#include "runtime/diffusion/noise_scheduler_config.h"

namespace genrt {

// alphas_cumprod of the training schedule, one per training timestep: cumprod(1 - beta)
// in fp32 like torch, from the configured betas.
std::vector<float> train_alphas_cumprod(const NoiseSchedulerConfig& config);

// sigma = sqrt((1 - alphas_cumprod) / alphas_cumprod) per training timestep, in fp32.
std::vector<float> train_sigmas(const std::vector<float>& alphas_cumprod);

// numpy helpers with numpy's arithmetic: linspace(start, stop, n), arange(start, stop,
// step) (step may be negative) and round (half to even).
std::vector<double> np_linspace(double start, double stop, int64_t n);
std::vector<double> np_arange(double start, double stop, double step);
double np_round(double x);

// The inference timesteps of DDPM and DDIM (and of Euler with rounding = false):
// descending, in the configured spacing.
std::vector<double> spaced_timesteps(const NoiseSchedulerConfig& config, int64_t steps, bool rounding);

// np.interp(x, [0, 1, ..], table): linear interpolation in a table indexed by timestep.
double interp_at(const std::vector<float>& table, double x);

// Karras et al. (2022) noise levels: n sigmas from sigma_max down to sigma_min, evenly
// spaced in sigma^(1/7).
std::vector<double> karras_sigmas(double sigma_min, double sigma_max, int64_t n);

// The (fractional) training timestep whose sigma is `sigma`, by interpolation in log sigma
// (diffusers' _sigma_to_t).
double sigma_to_timestep(double sigma, const std::vector<float>& sigmas);

}  // namespace genrt
