#include "kernels/ref/kv_cache_write.h"

#include <algorithm>

namespace genrt::ref {

void kv_cache_write(const KvCacheWriteArgs& a) {
  for (int64_t t = 0; t < a.tokens; ++t) {
    const int64_t pos = a.start + t;
    const int64_t slot = a.block_table[pos / a.block_size] * a.block_size + pos % a.block_size;
    std::copy_n(a.k + t * a.row, a.row, a.k_cache + slot * a.row);
    std::copy_n(a.v + t * a.row, a.row, a.v_cache + slot * a.row);
  }
}

}  // namespace genrt::ref
