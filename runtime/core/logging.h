#pragma once
// Logging goes through spdlog to stderr, so stdout carries only generated text or JSON.

#include <spdlog/spdlog.h>

#include <string_view>

namespace genrt {

// Sets the global level from a name: trace, debug, info, warn, error, critical, off.
void set_log_level(std::string_view level);

}  // namespace genrt
