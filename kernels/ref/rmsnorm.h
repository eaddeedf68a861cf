#pragma once
#include "kernels/ref/norm_args.h"

namespace genrt::ref {

// out = x / sqrt(mean(x^2) + eps) * weight   (bias is ignored)
void rmsnorm(const NormArgs& args);

}  // namespace genrt::ref
