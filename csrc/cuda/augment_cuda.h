// augment_cuda.h — CUDA execution of an augmentation Program (see core/augment.h); same arguments as
// augment_cpu plus:
//   scratch  float32 buffer with as many elements as out, used when the program blurs (else may be null)
//   stream   cudaStream_t as an integer (torch.cuda.current_stream().cuda_stream)
//   device   CUDA device index of all pointers
// Launches: one thread per (view, sample) for parameters, one thread per output point for the data
// (and one thread per blurred line). Errors are thrown as std::runtime_error.
#pragma once
#include <cstdint>

#include "core/augment.h"

namespace mgclr {

void augment_cuda(const float* x, const int64_t* lengths, const aug::Shape& shape, const aug::Program& prog,
                  int32_t n_views, uint64_t seed, uint32_t offset, bool replay, int32_t* records,
                  int64_t* out_lengths, float* out, float* scratch, uintptr_t stream, int32_t device);

}  // namespace mgclr
