#pragma once
// genrt's one error type. Every failure a user can cause (a malformed file, a bad
// option, a shape that does not match the config) throws genrt::Error with a message
// that names the file, tensor or field at fault.

#include <fmt/format.h>

#include <stdexcept>
#include <string>
#include <utility>

namespace genrt {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

template <class... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace genrt

// GENRT_CHECK(cond, "format {}", args...): throws genrt::Error with the formatted message.
#define GENRT_CHECK(cond, ...)     \
  do {                             \
    if (!(cond)) {                 \
      ::genrt::fail(__VA_ARGS__);  \
    }                              \
  } while (0)
