#pragma once
// Op entries of the token embedding gather, and of the gather of a step's input ids from
// its previous step's sampled ids.

#include "runtime/core/tensor.h"

namespace genrt::ops {

// out[i] = table[ids[i]]; every id must be inside the table.   table [vocab, dim], ids [n]
void embedding(const Tensor& table, const Tensor& ids, Tensor& out);

// ids[t] = sampled[from[t]] where from[t] >= 0 (see kernels/ref/sampled_ids.h): the input
// ids of an asynchronously scheduled step whose previous step sampled them on the device.
// All i32 on one device; from [n] inside [-1, rows) of sampled [rows], which the caller
// checks on the host before uploading a device one (the CPU entry checks it).
void take_sampled_ids(const Tensor& sampled, const Tensor& from, Tensor& ids);

}  // namespace genrt::ops
