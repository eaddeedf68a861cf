#pragma once
// Op entry of the token embedding gather.

#include "runtime/core/tensor.h"

namespace genrt::ops {

// out[i] = table[ids[i]]; every id must be inside the table.   table [vocab, dim], ids [n]
void embedding(const Tensor& table, const Tensor& ids, Tensor& out);

}  // namespace genrt::ops
