// augment_point.h — the spatial and pointwise ops: their parameter sampling and their maths on one point.
//
//   sample_point_op(op, applied, rng, L, V, cc, r)   draws one spatial / pointwise op's record
//   <op>_point(...)                                  one op on one point p[3]; the CPU's plane loops and the
//                                                    CUDA per-point kernel both call these, so an op's
//                                                    maths lives here only
//   apply_point(prog, j, r, p, v, t, v_out, m, ...)  op j of a program on one point (dispatch on the code)
//   lambda_frames / lambda_accumulate / lambda_finish coordinate_perturbation's data-dependent scale
//   eval_coords, write_point                         the whole chain for one output element (t, v_out, m)
//
// A point p holds 3 coordinates; 2-D data (coord_channels = 2) is rotated as points with z = 0 and
// projected back, so every op leaves p[2] = 0 for 2-D data. v is the joint index at the op's position in
// the chain (a flip before it relabels joints), v_out and t locate the output element. Points whose
// coordinates are all exactly zero are missing (an absent person, an untracked joint): ops that add
// offsets or noise leave them at zero.
#pragma once
#include "core/augment_temporal.h"

namespace mgclr {
namespace augment {

MGCLR_HD bool point_is_missing(const float* p, int cc) {
  return p[0] == 0.f && p[1] == 0.f && (cc == 2 || p[2] == 0.f);
}

MGCLR_HD bool is_matrix_op(int32_t code) {
  return code == VIEW_PERTURBATION || code == STRETCH || code == SHEAR || code == RANDOM_ROTATE ||
         code == EULER_ROTATE || code == AXIS_ROTATE;
}

// ----------------------------------------------------------------------------------------------------
// Sampling.

// Rotation ops record R = Rz Ry Rx, their angles and the main axis (-1 for none); clockwise rotations
// build R from the negated angles.
MGCLR_HD void store_rotation(Record& r, const float* angles, int32_t axis, bool clockwise = false) {
  float R[9];
  if (clockwise)
    euler_zyx(-angles[0], -angles[1], -angles[2], R);
  else
    euler_zyx(angles[0], angles[1], angles[2], R);
  store_mat3(r, RotationWords::matrix, R);
  for (int a = 0; a < 3; ++a) r.set_f(RotationWords::angles + a, angles[a]);
  r.w[RotationWords::axis] = axis;
}

// The record of one spatial or pointwise op. L: valid frames after the temporal stage; V joints; cc
// coordinate channels. rng is the op's phase-1 stream, positioned after the p (and one-of) decision.
MGCLR_HD void sample_point_op(const OpSpec& op, PhiloxStream& rng, int32_t L, int32_t V, int cc, Record& r) {
  switch (op.code) {
    case COORDINATE_PERTURBATION: {
      using W = CoordinatePerturbation::Word;
      const int32_t m = op.i[CoordinatePerturbation::IntArg::m] < V ? op.i[CoordinatePerturbation::IntArg::m] : V;
      r.w[W::num_joints] = m;
      choose_joints(rng, m, V, r, W::joints);
      // lambda reads the data as it stands at this op; the launchers compute it after phase 1 (CPU: in
      // phase 2 from the planes in cache; CUDA: lambda_kernel).
      return;
    }
    case VIEW_PERTURBATION: {
      using A = ViewPerturbation::FloatArg;
      const int32_t fixed_axis = op.i[ViewPerturbation::IntArg::axis];
      const int32_t axis = fixed_axis >= 0 ? fixed_axis : rng.integer(0, 2);
      float angles[3];
      for (int a = 0; a < 3; ++a) {
        const float limit = a == axis ? op.f[A::a_main] : op.f[A::a_other];
        angles[a] = rng.uniform(-limit, limit);
      }
      store_rotation(r, angles, axis);
      return;
    }
    case STRETCH: {
      using A = Stretch::FloatArg;
      float M[9] = {1.f, 0.f, 0.f, 0.f, 1.f, 0.f, 0.f, 0.f, 1.f};
      const int32_t tilt = rng.next_u32() >> 31;
      if (tilt) {
        draw_shear(rng, -op.f[A::t], op.f[A::t], M);
      } else {
        for (int k = 0; k < 3; ++k) M[k * 4] = rng.uniform(op.f[A::s_lo], op.f[A::s_hi]);
      }
      store_mat3(r, Stretch::Word::matrix, M);
      r.w[Stretch::Word::tilt] = tilt;
      return;
    }
    case SHEAR: {
      float M[9];
      draw_shear(rng, -op.f[Shear::FloatArg::r], op.f[Shear::FloatArg::r], M);
      store_mat3(r, Shear::Word::matrix, M);
      return;
    }
    case RANDOM_ROTATE: {
      using A = RandomRotate::FloatArg;
      const int32_t axis = rng.integer(0, 2);
      float angles[3];
      for (int a = 0; a < 3; ++a) angles[a] = rng.uniform(0.f, a == axis ? op.f[A::main] : op.f[A::other]);
      store_rotation(r, angles, axis, op.i[RotationArgs::clockwise] != 0);
      return;
    }
    case EULER_ROTATE: {
      const float theta = op.f[EulerRotate::FloatArg::theta];
      float angles[3];
      for (int a = 0; a < 3; ++a) angles[a] = rng.uniform(-theta, theta);
      store_rotation(r, angles, -1, op.i[RotationArgs::clockwise] != 0);
      return;
    }
    case AXIS_ROTATE: {
      const int32_t axis = rng.integer(0, 2);
      float angles[3] = {0.f, 0.f, 0.f};
      angles[axis] = rng.uniform(0.f, op.f[AxisRotate::FloatArg::max_angle]);
      store_rotation(r, angles, axis, op.i[RotationArgs::clockwise] != 0);
      return;
    }
    case JOINT_SHAKE: {
      using W = JointShake::Word;
      const int32_t count = op.i[JointShake::IntArg::num_joints] < V ? op.i[JointShake::IntArg::num_joints] : V;
      r.w[W::matrix_mode] = static_cast<int32_t>(rng.next_u32() >> 31);
      float M[9];
      for (int k = 0; k < 9; ++k) M[k] = rng.uniform(-1.f, 1.f);
      store_mat3(r, W::matrix, M);
      r.w[W::num_joints] = count;
      choose_joints(rng, count, V, r, W::joints);
      return;
    }
    case JOINT_MASK: {
      using I = JointMask::IntArg;
      using A = JointMask::FloatArg;
      using W = JointMask::Word;
      const int32_t lo = op.i[I::joints_lo] < V ? op.i[I::joints_lo] : V;
      const int32_t hi = op.i[I::joints_hi] < V ? op.i[I::joints_hi] : V;
      const int32_t count = rng.integer(lo, hi);
      int32_t wlo, whi;
      fraction_range(op.f[A::window_lo], op.f[A::window_hi], L, wlo, whi);
      const int32_t window = rng.integer(wlo, whi);
      r.w[W::start] = rng.integer(0, L - window);
      r.w[W::stop] = r.w[W::start] + window;
      r.w[W::num_joints] = count;
      choose_joints(rng, count, V, r, W::joints);
      return;
    }
    case AXIS_MASK:
      r.w[AxisMask::Word::axis] = rng.integer(0, cc - 1);
      return;
    default:  // FLIP, GAUSSIAN_NOISE: nothing beyond the decision
      return;
  }
}

// ----------------------------------------------------------------------------------------------------
// One op on one point.

// coordinate_perturbation: the offset lambda * R_v of joint v (R_v ~ U[-1, 1]^3, one Philox block per joint).
MGCLR_HD void perturbation_offset(const Record& r, int32_t v, uint64_t seed, uint32_t offset, float* d) {
  PhiloxStream rng(seed, offset, static_cast<uint32_t>(r.w[kCounterStream]), static_cast<uint32_t>(r.w[kCounterSample]));
  const Philox4 u = rng.at(kPerJointBlock + static_cast<uint32_t>(v));
  const float lambda = r.f(CoordinatePerturbation::Word::lambda);
  for (int c = 0; c < 3; ++c) d[c] = lambda * uint32_to_symmetric_float(u.v[c]);
}

// coordinate_perturbation on a point of a chosen joint.
MGCLR_HD void perturb_point(const float* d, int cc, float* p) {
  if (point_is_missing(p, cc)) return;
  for (int c = 0; c < cc; ++c) p[c] = p[c] + d[c];
}

// joint_shake: chosen joints are zeroed (zero mode) or mapped by the record's matrix A. Written as a blend
// with 0/1 weights, keep (1 for joints not chosen) and take (1 for chosen ones), so that the CPU loop over
// a plane has no branch per point and vectorises.
MGCLR_HD void joint_shake_weights(const Record& r, int32_t v, float& keep, float& take) {
  const bool chosen = r.joint_selected(JointShake::Word::joints, v);
  keep = chosen ? 0.f : 1.f;
  take = chosen ? 1.f : 0.f;
}

MGCLR_HD void joint_shake_point(const float* A, bool matrix_mode, float keep, float take, float* p) {
  if (!matrix_mode) {
    for (int c = 0; c < 3; ++c) p[c] = keep * p[c];
    return;
  }
  float q[3] = {p[0], p[1], p[2]};
  mat3_apply(A, q);
  for (int c = 0; c < 3; ++c) p[c] = keep * p[c] + take * q[c];
}

// joint_mask: the chosen joints are zero in output frames [start, stop).
MGCLR_HD bool joint_mask_hides(const Record& r, int32_t v_out, int32_t t) {
  using W = JointMask::Word;
  return r.joint_selected(W::joints, v_out) && t >= r.w[W::start] && t < r.w[W::stop];
}

// gaussian_noise: three standard normals for output element `element` (index (t * V + v) * M + m of the
// output plane) from the record's counter words; key = the 64-bit seed split in two.
MGCLR_HD void noise_normals(uint32_t key0, uint32_t key1, uint32_t stream, uint32_t sample, uint32_t offset,
                            uint32_t element, float* normal) {
  const Philox4 counter{{kPerElementBlock | element, stream, sample, offset}};
  element_normals(philox4x32_10(counter, key0, key1), normal);
}

// gaussian_noise on one point (z = 0 for 2-D data): the missing test is a select on the scale, so the
// CPU loop stays branch-free. skip_missing false: missing points get noise too.
MGCLR_HD void gaussian_noise_point(const float* normal, float sigma, bool skip_missing, float* p) {
  const float scale = (skip_missing && p[0] == 0.f && p[1] == 0.f && p[2] == 0.f) ? 0.f : sigma;
  for (int c = 0; c < 3; ++c) p[c] = p[c] + scale * normal[c];
}

// Joint read at the start of the spatial stage for output joint v, considering ops [0, stop).
MGCLR_HD int32_t source_joint(const Program& prog, const Record* recs, int stop, int32_t v) {
  for (int j = stop - 1; j >= 0; --j)
    if (prog.ops[j].code == FLIP && recs[j].applied()) v = prog.perm[v];
  return v;
}

// Op j of the program on point p. v is advanced by a flip.
MGCLR_HD void apply_point(const Program& prog, int j, const Record& r, float* p, int32_t& v, int32_t t,
                          int32_t v_out, int32_t m, const Shape& s, uint64_t seed, uint32_t offset) {
  const OpSpec& op = prog.ops[j];
  const int cc = prog.coord_channels;
  if (!r.applied()) return;
  if (is_matrix_op(op.code)) {
    float A[9];
    load_mat3(r, MatrixWords::matrix, A);
    mat3_apply(A, p);
    if (cc == 2) p[2] = 0.f;
    return;
  }
  switch (op.code) {
    case FLIP:
      v = prog.perm[v];
      if (op.i[Flip::IntArg::mirror_x]) p[0] = -p[0];
      return;
    case COORDINATE_PERTURBATION: {
      if (!r.joint_selected(CoordinatePerturbation::Word::joints, v)) return;
      float d[3];
      perturbation_offset(r, v, seed, offset, d);
      perturb_point(d, cc, p);
      return;
    }
    case JOINT_SHAKE: {
      float A[9], keep, take;
      load_mat3(r, JointShake::Word::matrix, A);
      joint_shake_weights(r, v, keep, take);
      joint_shake_point(A, r.w[JointShake::Word::matrix_mode] != 0, keep, take, p);
      if (cc == 2) p[2] = 0.f;
      return;
    }
    case JOINT_MASK:
      if (joint_mask_hides(r, v_out, t)) p[0] = p[1] = p[2] = 0.f;
      return;
    case GAUSSIAN_NOISE: {
      const uint32_t element = static_cast<uint32_t>((static_cast<int64_t>(t) * s.V + v_out) * s.M + m);
      float normal[4];
      noise_normals(static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32),
                    static_cast<uint32_t>(r.w[kCounterStream]), static_cast<uint32_t>(r.w[kCounterSample]), offset,
                    element, normal);
      gaussian_noise_point(normal, op.f[GaussianNoise::FloatArg::sigma], op.i[GaussianNoise::IntArg::skip_missing] != 0,
                           p);
      if (cc == 2) p[2] = 0.f;
      return;
    }
    case AXIS_MASK:
      p[clamp_value<int32_t>(r.w[AxisMask::Word::axis], 0, 2)] = 0.f;
      return;
    default:
      return;
  }
}

// ----------------------------------------------------------------------------------------------------
// coordinate_perturbation's lambda = (1/tau) * clip(|L_fin - L_mid| / (|L_mid - L_sta| + eps), 0, r_max),
// Frobenius norms over joints and persons of the data as it stands at the op. Accumulate every point with
// lambda_accumulate, then lambda_finish. The CPU sums points in (v, m) order; the CUDA kernel sums per
// thread and reduces in a fixed tree, so lambda agrees across devices to rounding, not to the bit.

MGCLR_HD void lambda_accumulate(const float* sta, const float* mid, const float* fin, int cc, float& fin_mid,
                                float& mid_sta) {
  for (int c = 0; c < cc; ++c) {
    const float a = fin[c] - mid[c];
    const float b = mid[c] - sta[c];
    fin_mid = fin_mid + a * a;
    mid_sta = mid_sta + b * b;
  }
}

MGCLR_HD float lambda_finish(const OpSpec& op, float fin_mid, float mid_sta) {
  using A = CoordinatePerturbation::FloatArg;
  const float ratio = sqrtf(fin_mid) / (sqrtf(mid_sta) + op.f[A::eps]);
  return clamp_value<float>(ratio, 0.f, op.f[A::r_max]) / op.f[A::tau];
}

// The three frames lambda reads, for a clip of L valid frames.
MGCLR_HD void lambda_frames(int32_t L, int32_t* frames) {
  frames[0] = 0;
  frames[1] = (L - 1) / 2;
  frames[2] = L - 1;
}

// ----------------------------------------------------------------------------------------------------
// The chain for one output element.

// Coordinates of output element (t, v_out, m) after the temporal stage and ops [0, stop).
MGCLR_HD void eval_coords(const Program& prog, const Record* recs, int stop, const Shape& s, const float* x,
                          int64_t n, const Taps& taps, int32_t t, int32_t v_out, int32_t m, uint64_t seed,
                          uint32_t offset, float* p) {
  int32_t v = source_joint(prog, recs, stop, v_out);
  const int64_t plane = s.T * s.V * s.M;
  const float* base = x + n * s.C * plane + static_cast<int64_t>(v) * s.M + m;
  for (int c = 0; c < 3; ++c) {  // z = 0 for 2-D data
    float acc = 0.f;
    if (c < prog.coord_channels)
      for (int k = 0; k < taps.n; ++k) acc = acc + taps.weight[k] * base[c * plane + taps.frame[k] * s.V * s.M];
    p[c] = acc;
  }
  for (int j = 0; j < stop; ++j)
    if (stage_of(prog.ops[j].code) != STAGE_TEMPORAL) apply_point(prog, j, recs[j], p, v, t, v_out, m, s, seed, offset);
}

// Writes all channels of output element (t, v_out, m) of sample n into out_sample (C, t_out, V, M): the
// coordinates through the whole chain, further channels (confidence) through the taps and the joint map.
MGCLR_HD void write_point(const Program& prog, const Record* recs, const Shape& s, const float* x, int64_t n,
                          const Taps& taps, int32_t t, int32_t v_out, int32_t m, uint64_t seed, uint32_t offset,
                          float* out_sample) {
  const int64_t out_plane = static_cast<int64_t>(prog.t_out) * s.V * s.M;
  const int64_t out_index = (static_cast<int64_t>(t) * s.V + v_out) * s.M + m;
  float p[3];
  eval_coords(prog, recs, prog.n_ops, s, x, n, taps, t, v_out, m, seed, offset, p);
  for (int c = 0; c < prog.coord_channels; ++c) out_sample[c * out_plane + out_index] = p[c];
  if (s.C > prog.coord_channels) {
    const int32_t v = source_joint(prog, recs, prog.n_ops, v_out);
    const int64_t plane = s.T * s.V * s.M;
    const float* xs = x + n * s.C * plane;
    for (int64_t c = prog.coord_channels; c < s.C; ++c) {
      float acc = 0.f;
      for (int k = 0; k < taps.n; ++k)
        acc = acc + taps.weight[k] * xs[c * plane + (static_cast<int64_t>(taps.frame[k]) * s.V + v) * s.M + m];
      out_sample[c * out_plane + out_index] = acc;
    }
  }
}

}  // namespace augment
}  // namespace mgclr
