// infonce_cpu.h — CPU kernels of the queue InfoNCE loss (OpenMP over rows of q).
//
// infonce_fused: one pass over the queue in tiles of 64 rows; per row of q it keeps the online state of
// core/infonce.h and writes
//   loss (N,), lse (N,), rank (N,) int64 (negatives scoring strictly above the positive), dq (N, D).
// Inputs q, k (N, D), queue (K, D) are contiguous row-major; K >= 1, N >= 1, D >= 1. T = float or double.
// Every row is computed by the same sequence of operations whatever the thread count, so the output is
// bit-identical run to run on a given CPU. On x86-64 CPUs with AVX-512F the float path uses an FMA
// micro-kernel (dots and the exp differ from the portable path by rounding, not by formula).
//
// infonce_online_update: the per-chunk step of the "chunked" implementation. scores (N, C) holds one
// chunk of logits s_ij (row stride ld); per row it updates m, l and rank against s0, overwrites scores
// with exp(s - m_new) and writes scale = exp(m_old - m_new) so the caller can do
// acc = acc * scale + p @ chunk with a matmul.
#pragma once
#include <cstdint>

namespace mgclr {
namespace cpu {

template <typename T>
void infonce_fused(const T* q, const T* k, const T* queue, int64_t N, int64_t K, int64_t D, T inv_tau,
                   T* loss, T* lse, int64_t* rank, T* dq);

template <typename T>
void infonce_online_update(T* scores, int64_t N, int64_t C, int64_t ld, const T* s0, T* m, T* l,
                           int64_t* rank, T* scale);

}  // namespace cpu
}  // namespace mgclr
