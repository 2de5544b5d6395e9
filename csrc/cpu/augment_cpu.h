// augment_cpu.h — CPU execution of an augmentation Program (see core/augment.h).
//
//   x          (N, C, T, V, M) float32, contiguous
//   lengths    (N,) int64 in [1, T], or nullptr for "all T frames valid"
//   records    (n_views, N, n_ops, 32) int32: written (replay = false) or read (replay = true)
//   out_lengths(n_views, N) int64: valid frames of each output
//   out        (n_views, N, C, t_out, V, M) float32; frames at or past out_lengths are zero
#pragma once
#include <cstdint>

#include "core/augment.h"

namespace mgclr {

void augment_cpu(const float* x, const int64_t* lengths, const aug::Shape& shape, const aug::Program& prog,
                 int32_t n_views, uint64_t seed, uint32_t offset, bool replay, int32_t* records,
                 int64_t* out_lengths, float* out);

}  // namespace mgclr
