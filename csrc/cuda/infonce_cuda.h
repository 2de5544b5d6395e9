// infonce_cuda.h — CUDA launchers of the queue InfoNCE loss; maths in core/infonce.h. Declared without
// CUDA types so that the bindings compile with the host compiler.
//
//   infonce_fused_cuda(args, launch)  grid (ceil(N/16) row blocks) x (args.splits slices of the queue). Each
//                                     block keeps the online state of 16 rows over its slice and writes a
//                                     partial (m, l, acc, count) to the workspace args.ws_*; a second kernel
//                                     merges the partials of a row in split order 0, 1, ... (fixed, so the
//                                     result has the same bits every run for a given `splits`) starting from
//                                     the positive, and writes loss, lse, rank (N,) and dq (N, D).
//                                     Queue tiles of 32 rows are double-buffered: the next one streams into
//                                     shared memory by cp.async while the current one is used.
//                                     args.tf32 (float only): both products on TF32 tensor cores (wmma
//                                     m16n16k8, fp32 accumulate): the logits q·tileᵀ and the probability-
//                                     weighted accumulate acc·scale + P·tile; the positive is still an fp32
//                                     dot, so near-ties may rank differently than in fp32. Shared memory:
//                                     (2·16 + 2·32) rows of ld values + 16·32, plus the per-row state
//                                     (core/infonce_launch.h: fused_shared_bytes, exported to Python as
//                                     mgclr._C.infonce_launch()); past 48 KiB the launcher opts in, past the
//                                     device's opt-in limit it throws (auto never gets there).
//   infonce_online_update_cuda(args, launch)
//                                     the per-chunk step of the chunked implementation, one block per row
//                                     with fixed-order block reductions
//
// All pointers are device pointers on launch.device (held by a DeviceGuard for the call), launched on
// launch.stream; T = float or double. A failed launch throws std::runtime_error with CUDA's error string.
#pragma once
#include "core/common.h"
#include "core/infonce.h"

namespace mgclr {

template <typename T>
void infonce_fused_cuda(const infonce::InfonceArgs<T>& args, CudaLaunch launch);

template <typename T>
void infonce_online_update_cuda(const infonce::OnlineUpdateArgs<T>& args, CudaLaunch launch);

}  // namespace mgclr
