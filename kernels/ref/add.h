#pragma once
#include <cstdint>

namespace genrt::ref {

// out = a + b elementwise; out may alias a or b.
void add(const float* a, const float* b, float* out, int64_t n);

}  // namespace genrt::ref
