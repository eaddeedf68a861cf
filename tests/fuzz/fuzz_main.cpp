// The libFuzzer entry of every fuzz_* program: the target named by its build
// (GENRT_FUZZ_TARGET, tests/fuzz/CMakeLists.txt).
#include <cstdio>
#include <cstdlib>

#include "tests/fuzz/fuzz_targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const genrt::fuzz::Target* const target = genrt::fuzz::find_target(GENRT_FUZZ_TARGET);
  if (target == nullptr) {
    std::fprintf(stderr, "no fuzz target is named %s (tests/fuzz/fuzz_targets.cpp)\n", GENRT_FUZZ_TARGET);
    std::abort();
  }
  target->run(data, size);
  return 0;
}
