#include "runtime/diffusion/noise_schedule.h"

#include <algorithm>
#include <cmath>

#include "runtime/core/error.h"

namespace genrt {

namespace {

// betas_for_alpha_bar with the cosine alpha_bar of Nichol & Dhariwal (2021), capped at 0.999.
std::vector<float> cosine_betas(int64_t n) {
  auto alpha_bar = [](double t) {
    const double c = std::cos((t + 0.008) / 1.008 * M_PI / 2.0);
    return c * c;
  };
  std::vector<float> betas(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const double t1 = static_cast<double>(i) / n, t2 = static_cast<double>(i + 1) / n;
    betas[i] = static_cast<float>(std::min(1.0 - alpha_bar(t2) / alpha_bar(t1), 0.999));
  }
  return betas;
}

// torch.linspace in fp32: the first half counts up from start, the second down from end.
std::vector<float> torch_linspace_f32(double start, double end, int64_t n) {
  std::vector<float> out(static_cast<size_t>(n));
  const float a = static_cast<float>(start), b = static_cast<float>(end);
  const float step = (b - a) / static_cast<float>(n - 1);
  const int64_t half = n / 2;
  for (int64_t i = 0; i < n; ++i) {
    out[i] = i < half ? a + step * static_cast<float>(i) : b - step * static_cast<float>(n - 1 - i);
  }
  return out;
}

}  // namespace

std::vector<float> train_alphas_cumprod(const NoiseSchedulerConfig& c) {
  std::vector<float> betas;
  if (!c.trained_betas.empty()) {
    betas.assign(c.trained_betas.begin(), c.trained_betas.end());
  } else {
    switch (c.beta_schedule) {
      case BetaSchedule::linear:
        betas = torch_linspace_f32(c.beta_start, c.beta_end, c.num_train_timesteps);
        break;
      case BetaSchedule::scaled_linear:
        betas = torch_linspace_f32(std::sqrt(c.beta_start), std::sqrt(c.beta_end), c.num_train_timesteps);
        for (float& b : betas) b *= b;
        break;
      case BetaSchedule::squaredcos_cap_v2:
        betas = cosine_betas(c.num_train_timesteps);
        break;
    }
  }
  std::vector<float> cumprod(betas.size());
  float product = 1.0f;
  for (size_t i = 0; i < betas.size(); ++i) {
    GENRT_CHECK(betas[i] > 0.0f && betas[i] < 1.0f, "scheduler: beta {} = {} is outside (0, 1)", i,
                betas[i]);
    product *= 1.0f - betas[i];
    cumprod[i] = product;
  }
  return cumprod;
}

std::vector<float> train_sigmas(const std::vector<float>& alphas_cumprod) {
  std::vector<float> sigmas(alphas_cumprod.size());
  for (size_t i = 0; i < sigmas.size(); ++i) {
    sigmas[i] = std::sqrt((1.0f - alphas_cumprod[i]) / alphas_cumprod[i]);
  }
  return sigmas;
}

std::vector<double> np_linspace(double start, double stop, int64_t n) {
  std::vector<double> out(static_cast<size_t>(n));
  const double step = n > 1 ? (stop - start) / static_cast<double>(n - 1) : 0.0;
  for (int64_t i = 0; i < n; ++i) out[i] = start + static_cast<double>(i) * step;
  if (n > 1) out.back() = stop;
  return out;
}

std::vector<double> np_arange(double start, double stop, double step) {
  const auto n = static_cast<int64_t>(std::ceil((stop - start) / step));
  std::vector<double> out;
  for (int64_t i = 0; i < n; ++i) out.push_back(start + static_cast<double>(i) * step);
  return out;
}

double np_round(double x) { return std::nearbyint(x); }  // the default mode rounds half to even

std::vector<double> spaced_timesteps(const NoiseSchedulerConfig& c, int64_t steps, bool rounding) {
  const auto n = static_cast<double>(c.num_train_timesteps);
  std::vector<double> t;
  switch (c.timestep_spacing) {
    case TimestepSpacing::linspace:
      t = np_linspace(0.0, n - 1.0, steps);
      if (rounding) std::transform(t.begin(), t.end(), t.begin(), np_round);
      std::reverse(t.begin(), t.end());
      break;
    case TimestepSpacing::leading: {
      const int64_t ratio = c.num_train_timesteps / steps;
      const int64_t first = (steps - 1) * ratio + c.steps_offset;
      // diffusers indexes past its tables here (an IndexError, or a clamped sigma).
      GENRT_CHECK(first < c.num_train_timesteps,
                  "{} steps of leading spacing with steps_offset {} start at timestep {}, past the {} training "
                  "timesteps: use fewer steps",
                  steps, c.steps_offset, first, c.num_train_timesteps);
      for (int64_t i = steps - 1; i >= 0; --i) t.push_back(static_cast<double>(i * ratio + c.steps_offset));
      break;
    }
    case TimestepSpacing::trailing:
      t = np_arange(n, 0.0, -n / static_cast<double>(steps));
      for (double& v : t) v = np_round(v) - 1.0;
      break;
  }
  return t;
}

double interp_at(const std::vector<float>& table, double x) {
  if (x <= 0.0) return table.front();
  const auto last = static_cast<double>(table.size() - 1);
  if (x >= last) return table.back();
  const auto i = static_cast<size_t>(std::floor(x));
  const double w = x - static_cast<double>(i);
  // numpy's formula: slope * (x - xp[i]) + fp[i].
  return (static_cast<double>(table[i + 1]) - table[i]) * w + table[i];
}

std::vector<double> karras_sigmas(double sigma_min, double sigma_max, int64_t n) {
  constexpr double kRho = 7.0;
  const double min_inv = std::pow(sigma_min, 1.0 / kRho), max_inv = std::pow(sigma_max, 1.0 / kRho);
  std::vector<double> sigmas;
  for (double ramp : np_linspace(0.0, 1.0, n)) {
    sigmas.push_back(std::pow(max_inv + ramp * (min_inv - max_inv), kRho));
  }
  return sigmas;
}

double sigma_to_timestep(double sigma, const std::vector<float>& sigmas) {
  // log sigma of the table in fp32, like numpy on diffusers' fp32 array.
  const double log_sigma = std::log(std::max(sigma, 1e-10));
  const auto n = static_cast<int64_t>(sigmas.size());
  int64_t low = 0;  // the last index whose log sigma is <= log_sigma, within [0, n - 2]
  for (int64_t i = 0; i < n; ++i) {
    if (log_sigma - static_cast<double>(std::log(sigmas[i])) >= 0.0) low = i;
  }
  low = std::min(low, n - 2);
  const double lo = std::log(sigmas[low]), hi = std::log(sigmas[low + 1]);
  const double w = std::clamp((lo - log_sigma) / (lo - hi), 0.0, 1.0);
  return (1.0 - w) * static_cast<double>(low) + w * static_cast<double>(low + 1);
}

}  // namespace genrt
