#include "kernels/ref/kv_cache_write.h"

#include <algorithm>

namespace genrt::ref {

void kv_cache_write(const KvCacheWriteArgs& a) {
  for (int64_t t = 0; t < a.tokens; ++t) {
    std::copy_n(a.k + t * a.row, a.row, a.k_cache + a.slots[t] * a.row);
    std::copy_n(a.v + t * a.row, a.row, a.v_cache + a.slots[t] * a.row);
  }
}

}  // namespace genrt::ref
