#include "kernels/attention_kernels.h"

#include "kernels/attention_schedule.h"
#include "kernels/limits.h"

namespace genrt::kernels {

AttentionKernel select_attention_kernel(const AttentionShape& s) {
  if (s.head_dim < 1 || s.head_dim > kMaxWarpAttentionHeadDim || s.q_heads < 1 || s.kv_heads < 1 ||
      s.q_heads % s.kv_heads != 0) {
    return AttentionKernel::unsupported;
  }
  // The prefill grid puts query heads on its y axis; cp.async and the output stores move 16
  // bytes at a time.
  const bool tensor_cores = s.tensor_core_dtype && s.compute_capability >= 80 && s.vectors_aligned &&
                            flash_tile_width(s.head_dim) != 0 && s.q_heads <= 65535;
  if (!tensor_cores) {
    return s.q_heads <= kMaxWarpAttentionHeads ? AttentionKernel::warp : AttentionKernel::unsupported;
  }
  // The decode and Hopper kernels take head dims their tiles have exactly; the query-tile
  // kernel also takes narrower ones, zero-padded. A few new tokens a sequence go to the
  // decode kernel whatever the GQA group (decode_heads): its blocks read a page for up to 16
  // query rows, where a query tile reads it for each query head. Its grid takes at most
  // 65535 sequences. A batch that starts with one-token decodes and whose longer chunks
  // would cut every sequence's group into more chunks than a decode needs goes to the
  // prefill kernels, which hand those decodes to the decode kernel (launch_paged_attention).
  const int64_t group = s.q_heads / s.kv_heads;
  const bool exact = flash_tile_width(s.head_dim) == s.head_dim;
  const bool few_tokens = s.max_query_len > 0 && s.max_query_len <= kDecodeRows && s.seqs <= 65535;
  const bool decodes_better_cut = s.leading_decodes > 0 && s.leading_decodes < s.seqs && few_tokens &&
                                  decode_heads(group, s.max_query_len, kDecodeRows).chunks >
                                      decode_heads(group, 1, kDecodeRows).chunks;
  if (exact && s.paged && few_tokens && !decodes_better_cut) return AttentionKernel::flash_decode;
  // wgmma and TMA exist on sm_90 (the build's sm_90a image) only, not on later majors. A
  // page lands in shared memory as whole 1024-byte swizzle atoms of 8 rows.
  const Sm90Tile hopper = sm90_prefill_tile(s.head_dim);
  const bool pages_fit = !s.paged || (s.cache_extent_known && s.block_size >= 8 && s.block_size % 8 == 0 &&
                                      s.block_size <= 256 && hopper.key_rows % s.block_size == 0);
  if (s.compute_capability == 90 && s.sm90a_built && hopper.head_dim != 0 && pages_fit) {
    return AttentionKernel::flash_prefill_sm90;
  }
  return AttentionKernel::flash_prefill;
}

const char* attention_kernel_name(AttentionKernel kernel) {
  switch (kernel) {
    case AttentionKernel::unsupported: return "unsupported";
    case AttentionKernel::warp: return "warp";
    case AttentionKernel::flash_prefill: return "flash-prefill";
    case AttentionKernel::flash_prefill_sm90: return "flash-prefill-sm90";
    case AttentionKernel::flash_decode: return "flash-decode";
  }
  return "?";
}

}  // namespace genrt::kernels
