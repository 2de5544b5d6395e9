// augment.h — the fused skeleton augmentation, for the launchers (cpu/augment_cpu.cpp, cuda/augment_cuda.cu).
// DESIGN.md "Augmentation ops" is the spec; the maths is split by job:
//
//   augment_abi.h       op codes and stages, limits, Program / Record, every op's argument slots and
//                       record words (the ABI Python reads through mgclr._C.augment_abi()), AugmentArgs
//   augment_math.h      float-exact maths (3x3 maps, resampling indices, Box-Muller) and record draws
//   augment_temporal.h  temporal ops: sampling, frame maps, their composition into taps
//   augment_point.h     spatial and pointwise ops: sampling and their maths on one point; lambda
//   augment_blur.h      gaussian_blur: sampling and the filter
//   augment_sample.h    phase 1: the records of one (view, sample)
//   augment_program.h   host only: decoding and checking a Program sent from Python
//
// Data: x (N, C, T, V, M) float32 contiguous; channels [0, cc) are coordinates (cc = 2 or 3), the rest
// (e.g. OpenPose confidence) follow temporal ops and joint permutations only. lengths (N,) int64 in [1, T].
//
// A call executes a Program: up to kMaxOps ops in canonical stage order
//   temporal (frame maps) -> spatial (per-sample coordinate maps) -> pointwise (per element) -> filter.
// Every (view, sample) first samples one Record per op (phase 1, augment_sample.h); the output is then
// produced in one pass (phase 2): output frame t reads <= kMaxTaps input frames through the composed
// temporal map, the coordinates go through the spatial and pointwise ops in order, then are written once.
// The temporal filter (gaussian_blur) is an extra pass over the output of the same call. Records are what
// `return_params` returns and what a replay passes back (phase 1 is then skipped).
#pragma once
#include "core/augment_abi.h"
#include "core/augment_blur.h"
#include "core/augment_math.h"
#include "core/augment_point.h"
#include "core/augment_sample.h"
#include "core/augment_temporal.h"
