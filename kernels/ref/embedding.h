#pragma once
#include <cstdint>

namespace genrt::ref {

// out[i, :] = table[ids[i], :]. ids are checked against the vocabulary by the caller.
void embedding(const float* table,   // [vocab, dim]
               const int32_t* ids,   // [n]
               float* out,           // [n, dim]
               int64_t n, int64_t dim);

}  // namespace genrt::ref
