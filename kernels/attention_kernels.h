#pragma once
// Which attention kernel runs a shape, and the tile shapes of the tensor-core ones, in plain
// C++ so that the op entries, the bench and the CPU schedule model read the same numbers the
// kernels are compiled with.
//
// Tile choices (see kernels/attention_notes.md for registers, spills and shared memory per
// instantiation): 4 warps of 16 query rows each (64 rows a block, FlashAttention-2's shape
// for sm_80/sm_90 mma.sync); 64 keys a tile up to head dim 128, 32 at 256 so that two K/V
// stages still fit beside the Q tile; Q kept in registers up to 128 (32 registers a thread
// at 128), re-read from shared memory at 256, where it would take 64 more registers beside
// the 128 of the output accumulator. Shared-memory rows are padded by 8 elements (16 bytes):
// the 8 row addresses of an ldmatrix then fall 4 banks apart, conflict-free for every head
// dim here, without a swizzle to get wrong. At 160 (Stable Diffusion 1.x's inner UNet
// levels) the output accumulator takes 80 registers a thread, Q is re-read from shared
// memory and K/V tiles are of 32 keys as at 256, so that the tiles fit the 99 KiB of sm_86
// and sm_89; its speed is unmeasured.

#include <cstdint>

#include "kernels/ref/host_device.h"

namespace genrt::kernels {

struct FlashTile {
  int64_t head_dim = 0;
  int query_rows = 0;      // a block's query tile (prefill)
  int key_rows = 0;        // a K/V tile
  int warps = 0;
  bool q_in_registers = false;

  GENRT_HOST_DEVICE constexpr int64_t smem_row() const { return head_dim + 8; }  // elements, padded
  // Q tile plus two stages of K and V tiles.
  GENRT_HOST_DEVICE constexpr int64_t prefill_smem_bytes() const { return (query_rows + 4 * key_rows) * smem_row() * 2; }
};

// Prefill (and any query tile of many rows): the tile for each supported head dim.
GENRT_HOST_DEVICE constexpr FlashTile flash_prefill_tile(int64_t head_dim) {
  switch (head_dim) {
    case 64: return {64, 64, 64, 4, true};
    case 80: return {80, 64, 64, 4, true};
    case 96: return {96, 64, 64, 4, true};
    case 128: return {128, 64, 64, 4, true};
    case 160: return {160, 64, 32, 4, false};
    case 256: return {256, 64, 32, 4, false};
    default: return {};
  }
}

// The tile width a head dim runs at: its own where a tile has it, else the next wider one,
// whose extra features are zero-filled in shared memory (they add nothing to Q.K and give
// output columns that are never stored). Rows move in 16-byte pieces, so head dims that are
// multiples of 8; 0 for the others. Stable Diffusion 1.x's 40 runs at 64, DiT-XL's 72 at 80.
GENRT_HOST_DEVICE constexpr int64_t flash_tile_width(int64_t head_dim) {
  if (head_dim < 8 || head_dim % 8 != 0) return 0;
  if (head_dim <= 64) return 64;
  if (head_dim <= 80) return 80;
  if (head_dim <= 96) return 96;
  if (head_dim <= 128) return 128;
  if (head_dim <= 160) return 160;
  if (head_dim <= 256) return 256;
  return 0;
}

// Split-KV decode: one 16-row tile (the query heads of a GQA group, or of a chunk of a
// larger group, times the new tokens) and each warp a 16-key slice of every K/V tile; two
// warps at 256 to keep two stages of 32-key tiles within 75 KB.
inline constexpr int kDecodeRows = 16;
GENRT_HOST_DEVICE constexpr FlashTile flash_decode_tile(int64_t head_dim) {
  FlashTile tile = flash_prefill_tile(head_dim);
  if (tile.head_dim == 0) return tile;
  tile.query_rows = kDecodeRows;
  tile.warps = head_dim == 256 ? 2 : 4;
  tile.key_rows = 16 * tile.warps;
  tile.q_in_registers = true;
  return tile;
}

// Query tiles on Hopper (flash_prefill_sm90.cu): two warpgroups of 64 rows, K/V tiles of
// 128 keys (64 at head dim 256, where the output takes 128 registers a thread), all tiles in
// 64-column panels of 128-byte rows for TMA's and wgmma's 128-byte swizzle: head dims that
// are multiples of 64 only. The warp-specialized schedule adds a producer warpgroup and
// keeps `stages` K/V tiles in flight: three where they fit the 227 KiB of shared memory a
// block may have, two at head dim 256; the unspecialized one keeps two.
inline constexpr int kSm90Threads = 256;
inline constexpr int kSm90WarpSpecializedThreads = 384;
enum class Sm90Schedule {
  warp_specialized,  // a producer warp loads, two consumer warpgroups take turns (FlashAttention-3)
  unspecialized,     // every warp computes, thread 0 also loads: the first data path, kept to compare
};
struct Sm90Tile {
  int64_t head_dim = 0;
  int query_rows = 0;
  int key_rows = 0;
  int stages = 0;  // of the warp-specialized schedule

  // Q plus `stages` stages of K and V, and slack to align the tiles to 1024-byte swizzle atoms.
  GENRT_HOST_DEVICE constexpr int64_t smem_bytes(int kv_stages) const {
    return head_dim / 64 * (query_rows + 2 * kv_stages * key_rows) * 128 + 1024;
  }
};

GENRT_HOST_DEVICE constexpr Sm90Tile sm90_prefill_tile(int64_t head_dim) {
  switch (head_dim) {
    case 64: return {64, 128, 128, 3};
    case 128: return {128, 128, 128, 3};
    case 256: return {256, 128, 64, 2};
    default: return {};
  }
}

// At most this many splits of one sequence's keys (the launcher aims at one wave of blocks
// at the kernel's occupancy).
inline constexpr int64_t kMaxDecodeSplits = 64;
// The split-KV partial results a runtime reserves (kernels::split_workspace_bytes): splits
// are only chosen while (sequence, KV head, head chunk) blocks number fewer than the
// target, so splits x blocks stays under twice the target, 528 on an H200, and each block's
// 16 rows of head dim 256 take 16 KiB: 8.3 MiB at most. A smaller reserve would only mean
// fewer splits.
inline constexpr int64_t kSplitWorkspaceBytes = int64_t{16} << 20;

enum class AttentionKernel {
  unsupported,    // no kernel takes the shape: the op entry says why
  warp,           // the CUDA-core baseline (fp32, head dims the tensor-core kernels lack)
  flash_prefill,  // mma.sync query tiles
  flash_prefill_sm90,  // wgmma + TMA query tiles (Hopper)
  flash_decode,   // split-KV over the paged cache, a GQA group (or a chunk of one) per block
};

struct AttentionShape {
  bool tensor_core_dtype = false;  // fp16 or bf16 (fp32 has no mma.sync path)
  int compute_capability = 0;      // major * 10 + minor of the device, 0 if unknown
  int64_t head_dim = 0;
  int64_t q_heads = 0;
  int64_t kv_heads = 0;
  bool vectors_aligned = true;  // q, out, K and V 16-byte aligned
  bool paged = false;           // causal over the paged cache, else dense (non-causal)
  int64_t max_query_len = 0;    // paged: the most new tokens of one sequence, 0 if unknown
  int64_t seqs = 0;             // paged: sequences in the batch, 0 if unknown
  int64_t leading_decodes = 0;  // paged: how many of the first sequences bring one new token
  int64_t block_size = 0;       // paged: tokens a cache block
  bool cache_extent_known = false;  // paged: the pool's size, which a TMA descriptor needs
  bool sm90a_built = false;         // the build has an sm_90a image (wgmma, TMA)
};

// The one answer to "is this shape supported?" and "which kernel runs it?".
AttentionKernel select_attention_kernel(const AttentionShape& shape);
const char* attention_kernel_name(AttentionKernel kernel);

}  // namespace genrt::kernels
