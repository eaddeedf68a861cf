#pragma once
// A shared library opened at run time. genrt opens the CUDA math libraries this way, when
// a GPU is first used: linked at build time, libcublasLt alone costs every run ~210 MB of
// resident memory at start-up, GPU or not (an empty program linked to libcublasLt.so.13
// measured 213 MB against 1.2 MB without it).

#include <string>

namespace genrt {

class SharedLibrary {
 public:
  // dlopen()s `soname`, searched like a linked library (LD_LIBRARY_PATH, the runpath, the
  // system cache), then in `fallback_dir` when given (the toolkit genrt was built with);
  // the error names it and says why it did not load. The library stays loaded for the life
  // of the process: CUDA libraries are not safe to unload.
  explicit SharedLibrary(std::string soname, const std::string& fallback_dir = "");

  // The address of `symbol`; the error names the library and the symbol.
  void* symbol(const char* name) const;

 private:
  std::string soname_;
  void* handle_ = nullptr;
};

}  // namespace genrt
