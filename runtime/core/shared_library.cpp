#include "runtime/core/shared_library.h"

#include <dlfcn.h>

#include "runtime/core/error.h"

namespace genrt {

SharedLibrary::SharedLibrary(std::string soname, const std::string& fallback_dir) : soname_(std::move(soname)) {
  handle_ = dlopen(soname_.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle_ != nullptr) return;
  const char* error = dlerror();
  const std::string why = error != nullptr ? error : "unknown reason";
  if (!fallback_dir.empty()) handle_ = dlopen((fallback_dir + "/" + soname_).c_str(), RTLD_NOW | RTLD_LOCAL);
  GENRT_CHECK(handle_ != nullptr, "cannot load {}: {} (nor from {}; is the CUDA toolkit's library directory on "
              "LD_LIBRARY_PATH?)", soname_, why, fallback_dir.empty() ? "anywhere else" : fallback_dir);
}

void* SharedLibrary::symbol(const char* name) const {
  dlerror();
  void* address = dlsym(handle_, name);
  GENRT_CHECK(address != nullptr, "{} has no symbol {}", soname_, name);
  return address;
}

}  // namespace genrt
