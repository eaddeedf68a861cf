#include "runtime/diffusion/noise_scheduler_config.h"

#include <array>
#include <utility>

#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "runtime/core/error.h"
#include "runtime/io/json_file.h"

namespace genrt {

namespace {

struct NamedScheduler {
  std::string_view name;
  std::string_view diffusers_class;
  SchedulerKind kind;
};

constexpr std::array<NamedScheduler, 7> kSchedulers = {{
    {"ddpm", "DDPMScheduler", SchedulerKind::ddpm},
    {"ddim", "DDIMScheduler", SchedulerKind::ddim},
    {"euler", "EulerDiscreteScheduler", SchedulerKind::euler},
    {"euler-a", "EulerAncestralDiscreteScheduler", SchedulerKind::euler_ancestral},
    {"dpm++2m", "DPMSolverMultistepScheduler", SchedulerKind::dpm_solver},
    {"dpm++2m-karras", "", SchedulerKind::dpm_solver},
    {"flow-euler", "FlowMatchEulerDiscreteScheduler", SchedulerKind::flow_euler},
}};

// Parses a string-valued setting through a table of (text, value) pairs.
template <class E, size_t N>
E parse_choice(const nlohmann::json& j, std::string_view field, E fallback,
               const std::array<std::pair<std::string_view, E>, N>& choices,
               const std::string& where) {
  if (!j.contains(field) || j[field].is_null()) return fallback;
  const auto text = json_required<std::string>(j, field, where);
  std::vector<std::string_view> names;
  for (const auto& [name, value] : choices) {
    if (name == text) return value;
    names.push_back(name);
  }
  fail("{}: {} '{}' is not supported ({})", where, field, text, fmt::join(names, ", "));
}

// A setting genrt does not implement must keep its default; anything else is an error.
template <class T>
void expect_default(const nlohmann::json& j, std::string_view field, const T& value,
                    const std::string& where) {
  if (!j.contains(field) || j[field].is_null()) return;
  GENRT_CHECK(j[field].get<T>() == value, "{}: {} = {} is not supported", where, field,
              j[field].dump());
}

void apply_json(const nlohmann::json& j, const std::string& where, NoiseSchedulerConfig& c) {
  c.num_train_timesteps = json_optional<int64_t>(j, "num_train_timesteps", c.num_train_timesteps, where);
  GENRT_CHECK(c.num_train_timesteps >= 2, "{}: num_train_timesteps {} must be at least 2", where,
              c.num_train_timesteps);
  c.beta_start = json_optional<double>(j, "beta_start", c.beta_start, where);
  c.beta_end = json_optional<double>(j, "beta_end", c.beta_end, where);
  c.beta_schedule = parse_choice<BetaSchedule, 3>(
      j, "beta_schedule", c.beta_schedule,
      {{{"linear", BetaSchedule::linear},
        {"scaled_linear", BetaSchedule::scaled_linear},
        {"squaredcos_cap_v2", BetaSchedule::squaredcos_cap_v2}}},
      where);
  if (j.contains("trained_betas") && !j["trained_betas"].is_null()) {
    c.trained_betas = j["trained_betas"].get<std::vector<double>>();
    GENRT_CHECK(std::ssize(c.trained_betas) == c.num_train_timesteps,
                "{}: {} trained_betas for {} train timesteps", where, c.trained_betas.size(),
                c.num_train_timesteps);
  }
  c.timestep_spacing = parse_choice<TimestepSpacing, 3>(
      j, "timestep_spacing", c.timestep_spacing,
      {{{"leading", TimestepSpacing::leading},
        {"trailing", TimestepSpacing::trailing},
        {"linspace", TimestepSpacing::linspace}}},
      where);
  c.steps_offset = json_optional<int64_t>(j, "steps_offset", c.steps_offset, where);
  if (c.kind != SchedulerKind::flow_euler) {
    c.prediction_type = parse_choice<PredictionType, 3>(
        j, "prediction_type", c.prediction_type,
        {{{"epsilon", PredictionType::epsilon},
          {"v_prediction", PredictionType::v_prediction},
          {"sample", PredictionType::sample}}},
        where);
  }
  c.clip_sample = json_optional<bool>(j, "clip_sample", c.clip_sample, where);
  c.clip_sample_range = json_optional<double>(j, "clip_sample_range", c.clip_sample_range, where);
  c.set_alpha_to_one = json_optional<bool>(j, "set_alpha_to_one", c.set_alpha_to_one, where);
  if (c.kind == SchedulerKind::ddpm) {
    c.variance_type = parse_choice<DdpmVariance, 3>(
        j, "variance_type", c.variance_type,
        {{{"fixed_small", DdpmVariance::fixed_small},
          {"fixed_small_log", DdpmVariance::fixed_small_log},
          {"fixed_large", DdpmVariance::fixed_large}}},
        where);
  }
  if (c.kind == SchedulerKind::euler || c.kind == SchedulerKind::dpm_solver) {
    c.use_karras_sigmas = json_optional<bool>(j, "use_karras_sigmas", c.use_karras_sigmas, where);
    c.final_sigma_zero = parse_choice<bool, 2>(j, "final_sigmas_type", c.final_sigma_zero,
                                               {{{"zero", true}, {"sigma_min", false}}}, where);
  }
  if (c.kind == SchedulerKind::dpm_solver) {
    c.solver_order = static_cast<int>(json_optional<int64_t>(j, "solver_order", c.solver_order, where));
    GENRT_CHECK(c.solver_order == 1 || c.solver_order == 2,
                "{}: solver_order {} is not supported (1 or 2)", where, c.solver_order);
    c.solver_heun = parse_choice<bool, 2>(j, "solver_type", c.solver_heun,
                                          {{{"midpoint", false}, {"heun", true}}}, where);
    c.lower_order_final = json_optional<bool>(j, "lower_order_final", c.lower_order_final, where);
    c.euler_at_final = json_optional<bool>(j, "euler_at_final", c.euler_at_final, where);
    expect_default<std::string>(j, "algorithm_type", "dpmsolver++", where);
    expect_default<bool>(j, "use_lu_lambdas", false, where);
    expect_default<bool>(j, "use_flow_sigmas", false, where);
    const auto variance = json_optional<std::string>(j, "variance_type", "", where);
    GENRT_CHECK(variance != "learned" && variance != "learned_range",
                "{}: variance_type {} is not supported by dpm++2m", where, variance);
  }
  if (c.kind == SchedulerKind::flow_euler) {
    c.shift = json_optional<double>(j, "shift", c.shift, where);
    GENRT_CHECK(c.shift > 0.0, "{}: shift {} must be positive", where, c.shift);
    expect_default<bool>(j, "use_dynamic_shifting", false, where);
    expect_default<bool>(j, "use_karras_sigmas", false, where);
    expect_default<bool>(j, "invert_sigmas", false, where);
    expect_default<bool>(j, "stochastic_sampling", false, where);
    GENRT_CHECK(!j.contains("shift_terminal") || j["shift_terminal"].is_null(),
                "{}: shift_terminal is not supported", where);
  }
  if (c.kind == SchedulerKind::euler) {
    expect_default<std::string>(j, "interpolation_type", "linear", where);
    expect_default<std::string>(j, "timestep_type", "discrete", where);
  }
  expect_default<bool>(j, "thresholding", false, where);
  expect_default<bool>(j, "rescale_betas_zero_snr", false, where);
  expect_default<bool>(j, "use_exponential_sigmas", false, where);
  expect_default<bool>(j, "use_beta_sigmas", false, where);
}

}  // namespace

std::vector<std::string> scheduler_names() {
  std::vector<std::string> names;
  for (const auto& s : kSchedulers) names.emplace_back(s.name);
  return names;
}

std::string_view scheduler_name(SchedulerKind kind) {
  for (const auto& s : kSchedulers) {
    if (s.kind == kind) return s.name;
  }
  return "?";
}

NoiseSchedulerConfig scheduler_defaults(std::string_view name) {
  NoiseSchedulerConfig c;
  for (const auto& s : kSchedulers) {
    if (s.name != name) continue;
    c.kind = s.kind;
    switch (s.kind) {
      case SchedulerKind::ddpm:
      case SchedulerKind::ddim:
        break;  // leading spacing, clip_sample on: NoiseSchedulerConfig's own defaults
      case SchedulerKind::euler:
      case SchedulerKind::euler_ancestral:
      case SchedulerKind::dpm_solver:
      case SchedulerKind::flow_euler:
        c.timestep_spacing = TimestepSpacing::linspace;
        c.clip_sample = false;
        break;
    }
    c.use_karras_sigmas = name == "dpm++2m-karras";
    return c;
  }
  fail("unknown scheduler '{}' (one of {})", name, fmt::join(scheduler_names(), ", "));
}

NoiseSchedulerConfig scheduler_config_from_json(const nlohmann::json& j, const std::string& where,
                                           std::optional<std::string_view> name) {
  try {
    GENRT_CHECK(j.is_object(), "{}: expected a JSON object", where);
    std::string_view chosen = name.value_or("");
    const auto class_name = json_optional<std::string>(j, "_class_name", "", where);
    if (!name) {
      for (const auto& s : kSchedulers) {
        if (!s.diffusers_class.empty() && s.diffusers_class == class_name) chosen = s.name;
      }
      GENRT_CHECK(!chosen.empty(), "{}: scheduler class '{}' is not supported; pick one with --scheduler ({})",
                  where, class_name, fmt::join(scheduler_names(), ", "));
    }
    NoiseSchedulerConfig c = scheduler_defaults(chosen);
    const bool forced_karras = chosen == "dpm++2m-karras";
    apply_json(j, where, c);
    if (forced_karras) c.use_karras_sigmas = true;
    return c;
  } catch (const nlohmann::json::exception& e) {
    fail("{}: malformed scheduler config: {}", where, e.what());
  }
}

}  // namespace genrt
