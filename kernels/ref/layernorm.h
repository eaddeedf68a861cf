#pragma once
#include "kernels/ref/norm_args.h"

namespace genrt::ref {

// out = (x - mean) / sqrt(var + eps) * weight + bias   (biased variance, like PyTorch)
void layernorm(const NormArgs& args);

}  // namespace genrt::ref
