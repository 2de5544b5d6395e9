// infonce_launch.h — the launch geometry and limits of the CUDA fused InfoNCE kernel, defined once.
//
//   kFusedBlockRows, kFusedTileRows, kFusedTileBuffers, kFusedThreads, kMaxSplits   the grid and tile sizes
//   kTf32ColumnTile, kTf32LdPad, kScalarLdPad    the leading dimension of the shared tiles (fused_tile_ld)
//   kSharedBytesWithoutOptin                     past it a launch must opt in (cudaFuncSetAttribute)
//   kLaunchConstants                             those constants by their exported names
//   FusedRowShared<T>                            the kernel's static shared memory (per-row online state)
//   fused_dynamic_shared_bytes / fused_shared_bytes   what a launch at width D needs
//
// cuda/infonce_cuda.cu launches with these; bindings_infonce.cpp exports them as mgclr._C.infonce_launch()
// (a CPU-only build too: plain constants, no CUDA), and python/mgclr/ops/infonce.py computes
// cuda_fused_shared_bytes and the split count from that export, never restating a number.
#pragma once
#include <cstddef>
#include <cstdint>

#include "core/common.h"

namespace mgclr {
namespace infonce {

constexpr int kFusedBlockRows = 16;    // q rows per block (the grid's x: ceil(N / 16) row blocks)
constexpr int kFusedTileRows = 32;     // queue rows per shared tile (one warp lane each in the row update)
constexpr int kFusedTileBuffers = 2;   // queue tiles in shared memory: the one in use and the next (cp.async)
constexpr int kFusedThreads = 256;     // threads per block (8 warps), the fused and the online-update kernels
constexpr int kMaxSplits = 64;         // K slices per row block at most (the combine's per-split shared arrays)
constexpr int kTf32ColumnTile = 16;    // TF32: D rounded up to the column width of the MMA tiles (zero padding)
constexpr int kTf32LdPad = 4;          // TF32: leading dimension = padded D + 4 (a multiple of 4 floats)
constexpr int kScalarLdPad = 1;        // scalar dots: leading dimension = D + 1 (breaks bank conflicts)
constexpr int kSharedBytesWithoutOptin = 48 * 1024;  // shared memory per block a launch gets without opting in

// The constants above by the names mgclr._C.infonce_launch() exports them under.
struct LaunchConstant {
  const char* name;
  int value;
};
constexpr LaunchConstant kLaunchConstants[] = {
    {"block_rows", kFusedBlockRows},
    {"tile_rows", kFusedTileRows},
    {"tile_buffers", kFusedTileBuffers},
    {"threads", kFusedThreads},
    {"max_splits", kMaxSplits},
    {"tf32_column_tile", kTf32ColumnTile},
    {"tf32_ld_pad", kTf32LdPad},
    {"scalar_ld_pad", kScalarLdPad},
    {"shared_bytes_without_optin", kSharedBytesWithoutOptin},
};

// The fused kernel's static shared memory: per block row its running max, sum, rescale factor, rank
// threshold and rank count. The kernel declares exactly one of these, so its size is the static part.
template <typename T>
struct FusedRowShared {
  T m[kFusedBlockRows];
  T l[kFusedBlockRows];
  T scale[kFusedBlockRows];
  T threshold[kFusedBlockRows];
  long long count[kFusedBlockRows];
};

// The columns of a shared tile that the products read: D, rounded up to the MMA tiles' width for TF32.
MGCLR_HD constexpr int fused_padded_width(int D, bool tf32) {
  return tf32 ? ((D + kTf32ColumnTile - 1) / kTf32ColumnTile) * kTf32ColumnTile : D;
}

// Leading dimension (in values) of the shared tiles at width D.
MGCLR_HD constexpr int fused_tile_ld(int D, bool tf32) {
  return fused_padded_width(D, tf32) + (tf32 ? kTf32LdPad : kScalarLdPad);
}

// Dynamic shared memory of one block: the query rows, the queue tiles and the accumulator rows (ld values
// each), then the block rows x tile rows logits.
constexpr size_t fused_dynamic_shared_bytes(int D, size_t value_bytes, bool tf32) {
  return value_bytes * (static_cast<size_t>(2 * kFusedBlockRows + kFusedTileBuffers * kFusedTileRows) *
                            static_cast<size_t>(fused_tile_ld(D, tf32)) +
                        static_cast<size_t>(kFusedBlockRows) * kFusedTileRows);
}

// Static + dynamic: what the launcher checks against the device's opt-in limit.
template <typename T>
constexpr size_t fused_shared_bytes(int D, bool tf32) {
  return fused_dynamic_shared_bytes(D, sizeof(T), tf32) + sizeof(FusedRowShared<T>);
}

}  // namespace infonce
}  // namespace mgclr
