// dropout_cuda.h — the counter-RNG dropout on CUDA (maths and element layout in core/dropout.h). Declared
// without CUDA types so that the bindings compile with the host compiler.
//
//   dropout_cuda(args, launch)   one thread per Philox counter g = 16 b + l (4 elements: 64 b + 16 j + l),
//                                grid-stride; T = float or double. Same bits as dropout_cpu.
//
// Pointers are device pointers on launch.device (held by a DeviceGuard for the call), launched on
// launch.stream. A failed launch throws std::runtime_error with CUDA's error string.
#pragma once
#include "core/common.h"
#include "core/dropout.h"

namespace mgclr {

template <typename T>
void dropout_cuda(const dropout::DropoutArgs<T>& args, CudaLaunch launch);

}  // namespace mgclr
