#pragma once
// GENRT_ON_CUDA(where, call): in an op entry, after the checks, runs `call` and returns
// when the op's placement is the GPU. Without the CUDA backend it runs nothing (and
// placement_of has already refused device tensors). On both devices it also times the rest
// of the entry, named after the entry function, when an op profile is open (op_profile.h);
// GENRT_ON_CUDA_OP(name, where, call) names it for helpers that several ops share.

#include "runtime/backend/op_profile.h"

#ifdef GENRT_HAVE_CUDA
#include "runtime/backend/cuda/cuda_ops.h"
#define GENRT_ON_CUDA_OP(name, where, ...)                     \
  const ::genrt::OpTimer genrt_op_timer((name), (where).device); \
  if ((where).device == Device::cuda) {                        \
    __VA_ARGS__;                                               \
    return;                                                    \
  }
#else
#define GENRT_ON_CUDA_OP(name, where, ...) const ::genrt::OpTimer genrt_op_timer((name), (where).device)
#endif
#define GENRT_ON_CUDA(where, ...) GENRT_ON_CUDA_OP(__func__, where, __VA_ARGS__)
