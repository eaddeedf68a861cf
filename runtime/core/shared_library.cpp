#include "runtime/core/shared_library.h"

#include <dlfcn.h>

#include "runtime/core/error.h"

namespace genrt {

SharedLibrary::SharedLibrary(std::string soname) : soname_(std::move(soname)) {
  handle_ = dlopen(soname_.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle_ == nullptr) {
    const char* why = dlerror();
    fail("cannot load {}: {} (is the CUDA toolkit's library directory on LD_LIBRARY_PATH?)", soname_,
         why != nullptr ? why : "unknown reason");
  }
}

void* SharedLibrary::symbol(const char* name) const {
  dlerror();
  void* address = dlsym(handle_, name);
  GENRT_CHECK(address != nullptr, "{} has no symbol {}", soname_, name);
  return address;
}

}  // namespace genrt
