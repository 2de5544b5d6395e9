// infonce_cpu.h — CPU kernels of the queue InfoNCE loss (OpenMP over rows of q); maths in core/infonce.h.
//
//   infonce_fused_cpu(args)            one pass over the queue in tiles of 64 rows; per row of q it keeps the
//                                      online state of core/infonce.h and writes loss, lse, rank (N,) int64
//                                      (negatives scoring strictly above the positive) and dq (N, D)
//   infonce_online_update_cpu(args)    the per-chunk step of the "chunked" implementation
//
// Inputs are contiguous row-major host pointers; K >= 1, N >= 1, D >= 1; T = float or double. Every row is
// computed by the same sequence of operations whatever the thread count, so the output is bit-identical
// run to run on a given CPU. On x86-64 CPUs with AVX-512F the float path uses an FMA micro-kernel (dots
// and the exp differ from the portable path by rounding, not by formula). The CUDA-only fields of
// InfonceArgs are not read.
#pragma once
#include "core/infonce.h"

namespace mgclr {

template <typename T>
void infonce_fused_cpu(const infonce::InfonceArgs<T>& args);

template <typename T>
void infonce_online_update_cpu(const infonce::OnlineUpdateArgs<T>& args);

// Whether infonce_fused_cpu<float> runs its vectorised micro-kernel on this CPU (AVX-512F). Without it the
// portable path is slower than matmul-based chunks, and queue_infonce(impl="auto") picks "chunked".
bool infonce_fused_cpu_fast();

}  // namespace mgclr
