#pragma once
// What the C API's entry files share: the thread-local error message, the exception
// barrier, load-option parsing and the registries of live handles.

#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <unordered_set>

#include "genrt/genrt.h"
#include "genrt/genrt.hpp"

namespace genrt::c_api {

// Records `message` as genrt_last_error() and returns `status`.
genrt_status fail(genrt_status status, std::string message);
void clear_error();
const char* last_error();

genrt_status status_of(const api::Error& e);

// Runs `body` with every exception turned into a status and a message.
template <class F>
genrt_status guarded(F&& body) {
  try {
    clear_error();
    return body();
  } catch (const api::Error& e) {
    return fail(status_of(e), e.what());
  } catch (const std::bad_alloc&) {
    return fail(GENRT_ERROR_OUT_OF_MEMORY, "out of host memory");
  } catch (const std::exception& e) {
    return fail(GENRT_ERROR_INTERNAL, e.what());
  } catch (...) {
    return fail(GENRT_ERROR_INTERNAL, "unknown error");
  }
}

// options may be NULL (defaults); errors name `function`.
genrt_status read_load_options(const genrt_load_options* options, const char* function, api::LoadOptions& out);

// Fills a caller's genrt_memory_usage (checked for NULL and struct_size).
genrt_status write_memory_usage(const api::MemoryUsage& m, genrt_memory_usage* usage, const char* function);

// The live handles of one type: every entry checks membership, so a NULL, foreign or
// freed handle is an error instead of undefined behaviour (and a second free is caught).
template <class Handle>
class LiveHandles {
 public:
  explicit LiveHandles(const char* type) : type_(type) {}

  // The body of a genrt_*_load entry: checks the arguments, then *out = new Handle{load(path,
  // options)}, registered as live.
  template <class Load>
  genrt_status open(const char* function, const char* path, const genrt_load_options* options, Handle** out,
                    Load&& load) {
    if (out == nullptr) return fail(GENRT_ERROR_INVALID_ARGUMENT, std::string(function) + ": model output is NULL");
    *out = nullptr;
    if (path == nullptr) return fail(GENRT_ERROR_INVALID_ARGUMENT, std::string(function) + ": path is NULL");
    api::LoadOptions parsed;
    if (genrt_status s = read_load_options(options, function, parsed); s != GENRT_OK) return s;
    return guarded([&] {
      auto handle = std::make_unique<Handle>(Handle{load(path, parsed)});
      std::lock_guard lock(mutex_);
      live_.insert(handle.get());
      *out = handle.release();
      return GENRT_OK;
    });
  }
  // The body of a genrt_*_free entry: NULL is a no-op, a handle that is not live an error.
  genrt_status close(Handle* h, const char* function) {
    if (h == nullptr) return GENRT_OK;
    {
      std::lock_guard lock(mutex_);
      if (live_.erase(h) == 0) return not_live(function);
    }
    delete h;
    return GENRT_OK;
  }
  genrt_status check(const Handle* h, const char* function) const {
    if (h == nullptr) return fail(GENRT_ERROR_INVALID_ARGUMENT, std::string(function) + ": " + type_ + " is NULL");
    std::lock_guard lock(mutex_);
    return live_.count(h) != 0 ? GENRT_OK : not_live(function);
  }

 private:
  genrt_status not_live(const char* function) const {
    return fail(GENRT_ERROR_INVALID_ARGUMENT, std::string(function) + ": not a live " + type_ + " (freed already?)");
  }
  const char* type_;
  mutable std::mutex mutex_;
  std::unordered_set<const Handle*> live_;
};

}  // namespace genrt::c_api
