// dropout_cpu.h — the counter-RNG dropout on CPU (maths and element layout in core/dropout.h).
//
//   dropout_cpu(args)   out = x * (keep ? scale : 0), OpenMP over 64-element blocks; T = float or double.
//                       On x86-64 CPUs with AVX2 the float path computes a block's 16 Philox counters in two
//                       8-lane vectors; every path gives the same bits (integer maths, one multiply).
#pragma once
#include "core/dropout.h"

namespace mgclr {

template <typename T>
void dropout_cpu(const dropout::DropoutArgs<T>& args);

// Whether dropout_cpu<float> runs its vector path on this CPU (AVX2).
bool dropout_cpu_fast();

}  // namespace mgclr
