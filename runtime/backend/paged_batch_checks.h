#pragma once
// Checks of the paged KV cache and a step's PagedBatch, shared by the attention and
// cache-write op entries (runtime/backend only).

#include <cstdint>

#include "runtime/backend/op_checks.h"
#include "runtime/backend/paged_batch.h"

namespace genrt::ops {

// A layer's K and V block pools: equal [blocks, block_size, kv_heads, head_dim].
void expect_kv_cache(const Tensor& k_cache, const Tensor& v_cache, const Placement& where, const char* op);

// The step's metadata against the cache: i32 tensors on the op's device with matching
// lengths; on the CPU also their values (slots inside the pool, block tables covering every
// context and naming pool blocks wherever a new token reads: within `window` positions of
// it, or everywhere for 0; blocks older than that may have gone back to the pool). Device
// metadata is checked on the host before its upload (make_paged_batch).
void expect_paged_batch(const PagedBatch& batch, const Tensor& k_cache, int64_t tokens, Device device,
                        const char* op, int64_t window);

}  // namespace genrt::ops
