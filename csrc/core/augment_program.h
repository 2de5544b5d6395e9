// augment_program.h — decoding and checking a Program sent from Python (host only).
//
//   prog_i: [kProgramHeader = (n_ops, coord_channels, n_joints, t_out),
//            n_ops x kIntsPerOp = (code, same_on_batch, group, group_size, group_member, i[0 .. kIntArgs)),
//            optional n_joints entries of the left/right permutation used by FLIP]
//   prog_f: n_ops x kFloatsPerOp = (p, f[0 .. kFloatArgs))
// Throws std::invalid_argument (ValueError in Python) naming what is wrong. Python builds these lists from
// the sizes exported with the ABI (mgclr._C.augment_abi()).
#pragma once
#include <stdexcept>
#include <string>
#include <vector>

#include "core/augment_abi.h"

namespace mgclr {
namespace augment {

constexpr int kProgramHeader = 4;
constexpr int kIntsPerOp = 5 + kIntArgs;
constexpr int kFloatsPerOp = 1 + kFloatArgs;

inline Program decode_program(const std::vector<int64_t>& pi, const std::vector<double>& pf) {
  auto fail = [](const std::string& what) { throw std::invalid_argument("augment program: " + what); };
  if (pi.size() < kProgramHeader) fail("integer header is missing");
  Program prog;
  std::memset(&prog, 0, sizeof prog);
  prog.n_ops = static_cast<int32_t>(pi[0]);
  prog.coord_channels = static_cast<int32_t>(pi[1]);
  prog.n_joints = static_cast<int32_t>(pi[2]);
  prog.t_out = static_cast<int32_t>(pi[3]);
  prog.blur_op = -1;
  if (prog.n_ops < 0 || prog.n_ops > kMaxOps)
    fail("expected 0.." + std::to_string(kMaxOps) + " ops, got " + std::to_string(prog.n_ops));
  if (prog.coord_channels != 2 && prog.coord_channels != 3)
    fail("coord_channels must be 2 or 3, got " + std::to_string(prog.coord_channels));
  if (prog.n_joints < 1 || prog.n_joints > kMaxJoints)
    fail("expected 1.." + std::to_string(kMaxJoints) + " joints, got " + std::to_string(prog.n_joints));
  if (prog.t_out < 1) fail("t_out must be >= 1");
  const size_t ints = kProgramHeader + static_cast<size_t>(prog.n_ops) * kIntsPerOp;
  if (pi.size() != ints && pi.size() != ints + static_cast<size_t>(prog.n_joints))
    fail("integer program has " + std::to_string(pi.size()) + " entries, expected " + std::to_string(ints) +
         " (+ n_joints for a permutation)");
  if (pf.size() != static_cast<size_t>(prog.n_ops) * kFloatsPerOp)
    fail("float program has " + std::to_string(pf.size()) + " entries, expected " +
         std::to_string(prog.n_ops * kFloatsPerOp));
  int32_t last_stage = STAGE_TEMPORAL;
  int resampling = 0;
  for (int j = 0; j < prog.n_ops; ++j) {
    OpSpec& op = prog.ops[j];
    const int64_t* in = pi.data() + kProgramHeader + j * kIntsPerOp;
    op.code = static_cast<int32_t>(in[0]);
    op.same_on_batch = static_cast<int32_t>(in[1]);
    op.group = static_cast<int32_t>(in[2]);
    op.group_size = static_cast<int32_t>(in[3]);
    op.group_member = static_cast<int32_t>(in[4]);
    for (int k = 0; k < kIntArgs; ++k) op.i[k] = static_cast<int32_t>(in[5 + k]);
    op.p = static_cast<float>(pf[j * kFloatsPerOp]);
    for (int k = 0; k < kFloatArgs; ++k) op.f[k] = static_cast<float>(pf[j * kFloatsPerOp + 1 + k]);
    const int32_t stage = stage_of(op.code);
    if (stage < last_stage) fail("ops are not in canonical stage order (temporal, spatial, pointwise, filter)");
    last_stage = stage;
    if (resamples(op.code)) ++resampling;
    if (op.code == GAUSSIAN_BLUR) {
      if (prog.blur_op >= 0) fail("at most one gaussian_blur per program");
      if (op.i[GaussianBlur::IntArg::kernel_size] / 2 > kMaxBlurRadius) fail("gaussian_blur kernel too large");
      prog.blur_op = j;
    }
    const int32_t segments = op.i[PosterizeTime::IntArg::k];
    if (op.code == POSTERIZE_TIME && (segments < 1 || segments > kMaxSegments))
      fail("posterize_time needs 1.." + std::to_string(kMaxSegments) + " segments");
    if (op.code == TEMPORAL_CROP && op.i[TemporalCrop::IntArg::ratio] < 1) fail("temporal_crop ratio must be >= 1");
    if (op.group >= 0 && (op.group_member < 0 || op.group_member >= op.group_size))
      fail("bad one-of group member");
  }
  if (resampling > kMaxResamplingOps)
    fail("at most " + std::to_string(kMaxResamplingOps) +
         " resampling ops (crop_resize, repeat_clip, drop_frames) per pipeline");
  for (int v = 0; v < prog.n_joints; ++v) prog.perm[v] = static_cast<int16_t>(v);
  if (pi.size() == ints + static_cast<size_t>(prog.n_joints)) {
    for (int v = 0; v < prog.n_joints; ++v) {
      const int64_t target = pi[ints + v];
      if (target < 0 || target >= prog.n_joints) fail("permutation index out of range");
      prog.perm[v] = static_cast<int16_t>(target);
    }
    for (int v = 0; v < prog.n_joints; ++v)
      if (prog.perm[prog.perm[v]] != v) fail("the left/right permutation must be an involution");
  }
  return prog;
}

}  // namespace augment
}  // namespace mgclr
