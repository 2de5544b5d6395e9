// infonce_cuda.h — CUDA launchers of the queue InfoNCE loss (declared without CUDA types so that the
// bindings compile with the host compiler).
//
// infonce_fused: grid (ceil(N/16) row blocks) x (splits slices of the queue). Each block keeps the online
// state of core/infonce.h for 16 rows over its slice and writes a partial (m, l, acc, count) to the
// workspace: ws_m, ws_l (splits, N), ws_acc (splits, N, D), ws_cnt (splits, N) int64. A second kernel
// merges the partials of a row in split order 0, 1, ... (fixed, so the result has the same bits every
// run for a given `splits`) starting from the positive, and writes loss, lse, rank (N,) and dq (N, D).
// q, k (N, D) and queue (K, D) are contiguous device pointers of one dtype (float, or double when
// double_precision). tf32 (float only): the logits come from TF32 tensor cores (wmma m16n16k8, fp32
// accumulate); the positive is still an fp32 dot, so near-ties may rank differently than in fp32.
//
// infonce_online_update: the per-chunk step of the chunked implementation (see cpu/infonce_cpu.h), one
// block per row with fixed-order block reductions.
//
// Both set `device`, launch on `stream` (a cudaStream_t as an integer) and throw std::runtime_error with
// the CUDA error string if a launch fails.
#pragma once
#include <cstdint>

namespace mgclr {
namespace cuda {

struct InfonceArgs {
  uintptr_t q, k, queue;
  int64_t N, K, D;
  double tau;
  uintptr_t loss, lse, rank, dq;
  uintptr_t ws_m, ws_l, ws_acc, ws_cnt;
  int64_t splits;
};

void infonce_fused(const InfonceArgs& a, bool double_precision, bool tf32, uintptr_t stream, int device);

void infonce_online_update(uintptr_t scores, int64_t N, int64_t C, int64_t ld, uintptr_t s0, uintptr_t m,
                           uintptr_t l, uintptr_t rank, uintptr_t scale, bool double_precision,
                           uintptr_t stream, int device);

}  // namespace cuda
}  // namespace mgclr
