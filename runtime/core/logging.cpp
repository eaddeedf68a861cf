#include "runtime/core/logging.h"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <string>

#include "runtime/core/error.h"

namespace genrt {

void set_log_level(std::string_view level) {
  const spdlog::level::level_enum parsed = spdlog::level::from_str(std::string(level));
  // from_str maps unknown names to "off"; only accept "off" when it was asked for.
  GENRT_CHECK(parsed != spdlog::level::off || level == "off",
              "unknown log level '{}': expected trace, debug, info, warn, error, critical or off",
              level);
  static auto stderr_logger = [] {
    auto logger = spdlog::stderr_color_mt("genrt");
    logger->set_pattern("[%H:%M:%S.%e] [%^%l%$] %v");
    spdlog::set_default_logger(logger);
    return logger;
  }();
  stderr_logger->set_level(parsed);
}

}  // namespace genrt
