#pragma once
// Op entries: the one layer that sees both tensors and kernels. Each entry checks the
// shapes, dtypes and devices of its tensors, then runs the CPU reference (and, with the
// CUDA backend, the kernel launcher; its side is runtime/backend/cuda/cuda_ops.h). Models
// call only these. One header and source per op family; this header gathers them (the
// diffusion loop's ops are in diffusion_ops.h).

#include "runtime/backend/activation_ops.h"
#include "runtime/backend/attention_ops.h"
#include "runtime/backend/embedding_ops.h"
#include "runtime/backend/image_ops.h"
#include "runtime/backend/linear_ops.h"
#include "runtime/backend/norm_ops.h"
#include "runtime/backend/rope_ops.h"
