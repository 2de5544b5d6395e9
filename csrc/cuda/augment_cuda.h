// augment_cuda.h — CUDA execution of an augmentation Program (core/augment.h); the arguments of
// augment_cpu (cpu/augment_cpu.h), all device pointers on launch.device, plus
//   args.scratch  float32 buffer with as many elements as out when the program blurs (else nullptr)
//   launch        the caller's current stream and the device (held by a DeviceGuard for the call)
// Launches: one thread per (view, sample) for the records, one block per (view, sample) for
// coordinate_perturbation's lambda, one thread per output point for the data (and one thread per blurred
// line). Errors are thrown as std::runtime_error (std::invalid_argument for a bad argument).
#pragma once
#include "core/augment_abi.h"

namespace mgclr {

void augment_cuda(const augment::AugmentArgs& args, const augment::Program& prog, CudaLaunch launch);

}  // namespace mgclr
