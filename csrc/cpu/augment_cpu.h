// augment_cpu.h — CPU execution of an augmentation Program (core/augment.h), OpenMP over (view, sample).
//
//   augment_cpu(args, prog)
//     args.x            (N, C, T, V, M) float32, contiguous
//     args.lengths      (N,) int64 in [1, T], or nullptr for "all T frames valid"
//     args.records      (n_views, N, n_ops, 32) int32: written (args.replay = false) or read (replay)
//     args.out_lengths  (n_views, N) int64: valid frames of each output
//     args.out          (n_views, N, C, t_out, V, M) float32; frames at or past out_lengths are zero
//   args.scratch is not used (per-thread buffers).
#pragma once
#include "core/augment_abi.h"

namespace mgclr {

void augment_cpu(const augment::AugmentArgs& args, const augment::Program& prog);

}  // namespace mgclr
