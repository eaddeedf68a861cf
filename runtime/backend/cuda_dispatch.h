#pragma once
// GENRT_ON_CUDA(where, call): in an op entry, after the checks, runs `call` and returns
// when the op's placement is the GPU. Without the CUDA backend it expands to nothing (and
// placement_of has already refused device tensors).

#ifdef GENRT_HAVE_CUDA
#include "runtime/backend/cuda/cuda_ops.h"
#define GENRT_ON_CUDA(where, ...)          \
  if ((where).device == Device::cuda) {    \
    __VA_ARGS__;                           \
    return;                                \
  }
#else
#define GENRT_ON_CUDA(where, ...)
#endif
