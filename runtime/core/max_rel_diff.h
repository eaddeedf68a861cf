#pragma once
// The relative error that the tests and the bench's pre-timing check hold results to.

#include <cstddef>

namespace genrt {

// Largest |got - want| / (1 + |want|) over two ranges of n floats: a relative error that
// stays meaningful near zero. NaN anywhere gives infinity, which fails every tolerance.
double max_rel_diff(const float* got, const float* want, size_t n);

}  // namespace genrt
