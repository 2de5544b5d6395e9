// augment.h — the fused skeleton augmentation: op catalogue, per-sample parameter sampling and
// per-element application, shared by the CPU loops (cpu/augment_cpu.cpp) and the CUDA kernels
// (cuda/augment_cuda.cu). One definition of every formula; DESIGN.md "Augmentation ops" is the spec.
//
// Data: x (N, C, T, V, M) float32 contiguous; channels [0, cc) are coordinates (cc = 2 or 3), the rest
// (e.g. OpenPose confidence) follow temporal ops and joint permutations only. lengths (N,) int64 in [1, T].
//
// A call executes a Program: up to kMaxOps ops in canonical stage order
//   temporal (frame maps) -> spatial (per-sample coordinate maps) -> pointwise (per element) -> filter.
// Every (sample, view) first samples one Record of kRecWords 32-bit words per op (phase 1); the output is
// then produced in one pass (phase 2): output frame t reads <= kMaxTaps input frames through the composed
// temporal map, the coordinates go through the spatial and pointwise ops in order, then are written once.
// A temporal filter (gaussian_blur) is an extra pass over the output of the same call.
//
// Records are also what `return_params` returns and what a replay passes back; record words:
//   w[0] applied (0/1)      w[1] length L entering the op      w[30] counter sample   w[31] counter stream
// and per op (see the table in python/mgclr/augment/_spec.py, which must stay in step with this file).
//
// Randomness: Philox4x32-10 with key = seed and counter (block, stream = op slot | view << 8,
// sample, offset); blocks [0, 0x10000) are phase-1 draws, [0x10000, 0x20000) per-joint / per-frame
// draws, [0x80000000, ...) per-element draws (gaussian noise).
#pragma once
#include <math.h>

#include "core/common.h"
#include "core/philox.h"

namespace mgclr {
namespace aug {

constexpr int kMaxOps = 16;
constexpr int kRecWords = 32;
constexpr int kMaxJoints = 256;
constexpr int kMaskWords = kMaxJoints / 32;
constexpr int kMaxTaps = 4;
constexpr int kMaxSegments = 8;
constexpr int kMaxBlurRadius = 32;
constexpr uint32_t kPerJointBlock = 0x10000u;
constexpr uint32_t kPerElementBlock = 0x80000000u;
constexpr uint32_t kGroupStreamBase = 0xF000u;

enum OpCode : int32_t {
  // temporal: output frame -> input frame(s)
  TEMPORAL_CROP = 1,
  CROP_RESIZE = 2,
  REPEAT_CLIP = 3,
  REVERSE_CLIP = 4,
  POSTERIZE_TIME = 5,
  TIME_FLIP = 6,
  DROP_FRAMES = 7,
  // spatial: per-sample (per-joint where needed) coordinate maps, constant over time
  COORDINATE_PERTURBATION = 16,
  VIEW_PERTURBATION = 17,
  STRETCH = 18,
  SHEAR = 19,
  RANDOM_ROTATE = 20,
  EULER_ROTATE = 21,
  AXIS_ROTATE = 22,
  FLIP = 23,
  JOINT_SHAKE = 24,
  // pointwise: depend on the output element
  JOINT_MASK = 32,
  GAUSSIAN_NOISE = 33,
  AXIS_MASK = 34,
  // filter: an extra pass over the output
  GAUSSIAN_BLUR = 48,
};

enum Stage : int32_t { STAGE_TEMPORAL = 0, STAGE_SPATIAL = 1, STAGE_POINTWISE = 2, STAGE_FILTER = 3 };

MGCLR_HD int32_t stage_of(int32_t code) {
  return code < 16 ? STAGE_TEMPORAL : (code < 32 ? STAGE_SPATIAL : (code < 48 ? STAGE_POINTWISE : STAGE_FILTER));
}

// One op of a program. i[] and f[] hold the op's arguments (table in _spec.py). group >= 0 puts the op in
// a "one of" group: per sample exactly one member of the group is chosen (then its own p applies).
struct OpSpec {
  int32_t code;
  int32_t same_on_batch;
  int32_t group;
  int32_t group_size;
  int32_t group_member;
  int32_t i[4];
  float p;
  float f[8];
};

struct Program {
  int32_t n_ops;
  int32_t coord_channels;
  int32_t n_joints;
  int32_t t_out;
  int32_t blur_op;  // index of the GAUSSIAN_BLUR op, or -1
  OpSpec ops[kMaxOps];
  int16_t perm[kMaxJoints];  // left/right joint permutation (an involution) for FLIP
};

struct Shape {
  int64_t N, C, T, V, M;
};

struct Record {
  int32_t w[kRecWords];
  MGCLR_HD float f(int k) const { return bits_to_float(w[k]); }
  MGCLR_HD void set_f(int k, float v) { w[k] = float_to_bits(v); }
  MGCLR_HD bool applied() const { return w[0] != 0; }
  MGCLR_HD bool joint_selected(int first_word, int v) const {
    return (static_cast<uint32_t>(w[first_word + (v >> 5)]) >> (v & 31)) & 1u;
  }
};

// ----------------------------------------------------------------------------------------------------
// Small maths (written out so that host and device round identically: no FMA contraction is allowed).

MGCLR_HD void mat3_mul(const float* a, const float* b, float* out) {  // out = a @ b, row-major
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 3; ++c) {
      float acc = a[r * 3 + 0] * b[0 * 3 + c];
      acc = acc + a[r * 3 + 1] * b[1 * 3 + c];
      acc = acc + a[r * 3 + 2] * b[2 * 3 + c];
      out[r * 3 + c] = acc;
    }
}

// R = Rz(az) @ Ry(ay) @ Rx(ax), right-handed (paper eqs. 4-6).
MGCLR_HD void euler_zyx(float ax, float ay, float az, float* R) {
  const float cx = cosf(ax), sx = sinf(ax), cy = cosf(ay), sy = sinf(ay), cz = cosf(az), sz = sinf(az);
  const float rx[9] = {1.f, 0.f, 0.f, 0.f, cx, -sx, 0.f, sx, cx};
  const float ry[9] = {cy, 0.f, sy, 0.f, 1.f, 0.f, -sy, 0.f, cy};
  const float rz[9] = {cz, -sz, 0.f, sz, cz, 0.f, 0.f, 0.f, 1.f};
  float zy[9];
  mat3_mul(rz, ry, zy);
  mat3_mul(zy, rx, R);
}

// p <- A @ p for a row-major 3x3 A.
MGCLR_HD void mat3_apply(const float* A, float* p) {
  const float x = p[0], y = p[1], z = p[2];
  for (int row = 0; row < 3; ++row) {
    float acc = A[row * 3 + 0] * x;
    acc = acc + A[row * 3 + 1] * y;
    acc = acc + A[row * 3 + 2] * z;
    p[row] = acc;
  }
}

MGCLR_HD void load_mat3(const Record& r, int first_word, float* A) {
  for (int k = 0; k < 9; ++k) A[k] = r.f(first_word + k);
}

MGCLR_HD void store_mat3(Record& r, int first_word, const float* A) {
  for (int k = 0; k < 9; ++k) r.set_f(first_word + k, A[k]);
}

// Linear resampling of `in` frames to `out` frames (align_corners=False, as F.interpolate): output frame t
// reads frames i0, i1 with weights (1 - w, w).
MGCLR_HD void linear_source(int32_t t, int32_t out, int32_t in, int32_t& i0, int32_t& i1, float& w) {
  const float scale = static_cast<float>(in) / static_cast<float>(out);
  const float centre = static_cast<float>(t) + 0.5f;
  float src = centre * scale;
  src = src - 0.5f;
  if (src < 0.f) src = 0.f;
  i0 = static_cast<int32_t>(src);
  if (i0 > in - 1) i0 = in - 1;
  i1 = i0 + 1 < in ? i0 + 1 : in - 1;
  w = i1 == i0 ? 0.f : src - static_cast<float>(i0);
}

// numpy-style 'reflect' padding index (the edge frame is not repeated).
MGCLR_HD int32_t reflect_index(int32_t i, int32_t L) {
  if (L == 1) return 0;
  const int32_t period = 2 * (L - 1);
  i %= period;
  if (i < 0) i += period;
  return i < L ? i : period - i;
}

// Draw m distinct joints of V (partial Fisher-Yates) into a bitmask of kMaskWords words at r.w[first_word].
MGCLR_HD void choose_joints(PhiloxStream& rng, int32_t m, int32_t V, Record& r, int first_word) {
  int16_t pool[kMaxJoints];
  for (int v = 0; v < V; ++v) pool[v] = static_cast<int16_t>(v);
  for (int k = 0; k < kMaskWords; ++k) r.w[first_word + k] = 0;
  for (int k = 0; k < m; ++k) {
    const int32_t pick = k + static_cast<int32_t>(uint32_below(rng.next_u32(), static_cast<uint32_t>(V - k)));
    const int16_t chosen = pool[pick];
    pool[pick] = pool[k];
    pool[k] = chosen;
    r.w[first_word + (chosen >> 5)] = static_cast<int32_t>(static_cast<uint32_t>(r.w[first_word + (chosen >> 5)]) |
                                                           (1u << (chosen & 31)));
  }
}

// Rotation ops record R = Rz Ry Rx (words 2..10), their angles (11..13) and main axis (14).
MGCLR_HD void store_rotation(Record& r, const float* angles, int32_t axis) {
  float R[9];
  euler_zyx(angles[0], angles[1], angles[2], R);
  store_mat3(r, 2, R);
  for (int a = 0; a < 3; ++a) r.set_f(11 + a, angles[a]);
  r.w[14] = axis;
}

// Identity plus the six off-diagonals drawn from U[lo, hi) (shear, stretch's tilt).
MGCLR_HD void draw_shear(PhiloxStream& rng, float lo, float hi, float* A) {
  for (int k = 0; k < 9; ++k) A[k] = k % 4 == 0 ? 1.f : rng.uniform(lo, hi);
}

// Integer range [ceil(lo*L), floor(hi*L)] clamped to [1, L].
MGCLR_HD void fraction_range(float lo, float hi, int32_t L, int32_t& a, int32_t& b) {
  const float fl = static_cast<float>(L);
  a = static_cast<int32_t>(ceilf(lo * fl));
  b = static_cast<int32_t>(floorf(hi * fl));
  a = clamp_value<int32_t>(a, 1, L);
  b = clamp_value<int32_t>(b, a, L);
}

// ----------------------------------------------------------------------------------------------------
// Gaussian draws. log and sin/cos are our own (Cephes single-precision polynomials, ~1 ulp): the same
// arithmetic on host and device, branch-free so that the CPU loop over points vectorises (libm calls do
// not), and no dependence on the platform's libm.

// ln(x) for normal x > 0 (max relative error 8e-8 on the (0, 1] that Box-Muller uses).
MGCLR_HD float portable_log(float x) {
  const int32_t bits = float_to_bits(x);
  const float f0 = bits_to_float((bits & 0x807fffff) | 0x3f000000);  // x = f0 * 2^(e + 1), f0 in [0.5, 1)
  const int32_t small = f0 < 0.707106781186547524f ? 1 : 0;
  const int32_t e = ((bits >> 23) & 0xff) - 126 - small;
  const float f = (f0 + f0 * static_cast<float>(small)) - 1.f;  // in [sqrt(1/2) - 1, sqrt(2) - 1)
  const float z = f * f;
  float y = 7.0376836292e-2f;
  y = y * f - 1.1514610310e-1f;
  y = y * f + 1.1676998740e-1f;
  y = y * f - 1.2420140846e-1f;
  y = y * f + 1.4249322787e-1f;
  y = y * f - 1.6668057665e-1f;
  y = y * f + 2.0000714765e-1f;
  y = y * f - 2.4999993993e-1f;
  y = y * f + 3.3333331174e-1f;
  y = y * f * z;
  const float fe = static_cast<float>(e);
  y = y + -2.12194440e-4f * fe;
  y = y - 0.5f * z;
  return (f + y) + 0.693359375f * fe;
}

// sin and cos of 2*pi*u for u in [0, 1) (max absolute error 5e-7): 2*pi*u = theta + pi with theta in
// [-pi, pi); the polynomials run at theta / 4 in [-pi/4, pi/4], then two angle doublings. No quadrant
// branches, so it vectorises.
MGCLR_HD void portable_sincos_turns(float u, float& sin_out, float& cos_out) {
  const float phi = (u - 0.5f) * 1.57079632679489662f;
  const float z = phi * phi;
  float s = -1.9515295891e-4f;
  s = s * z + 8.3321608736e-3f;
  s = s * z - 1.6666654611e-1f;
  s = s * z * phi + phi;
  float c = 2.443315711809948e-5f;
  c = c * z - 1.388731625493765e-3f;
  c = c * z + 4.166664568298827e-2f;
  c = c * z * z - 0.5f * z + 1.f;
  const float s2 = 2.f * s * c, c2 = c * c - s * s;
  sin_out = -(2.f * s2 * c2);
  cos_out = -(c2 * c2 - s2 * s2);
}

// Three standard normals of one output element from its Philox block (Box-Muller on two pairs; u1 in
// (0, 1] so that log never sees 0): (n0, n1) from words 0-1, n2 from words 2-3.
MGCLR_HD void element_normals(const Philox4& u, float* normal) {
  const float u1a = static_cast<float>((u.v[0] >> 8) + 1u) * 5.9604644775390625e-08f;
  const float u1b = static_cast<float>((u.v[2] >> 8) + 1u) * 5.9604644775390625e-08f;
  const float radius_a = sqrtf(-2.f * portable_log(u1a));
  const float radius_b = sqrtf(-2.f * portable_log(u1b));
  float sa, ca, sb, cb;
  portable_sincos_turns(uint32_to_unit_float(u.v[1]), sa, ca);
  portable_sincos_turns(uint32_to_unit_float(u.v[3]), sb, cb);
  normal[0] = radius_a * ca;
  normal[1] = radius_a * sa;
  normal[2] = radius_b * cb;
  normal[3] = radius_b * sb;
}

// ----------------------------------------------------------------------------------------------------
// Temporal ops: one output frame t (0 <= t < L_out of the op) -> one or two input frames with weights.

struct Taps {
  int32_t n;
  int32_t frame[kMaxTaps];
  float weight[kMaxTaps];
};

// Posterize: output length of middle segment i, rescaled so that the middle keeps its length.
MGCLR_HD float posterize_scale(const Record& r) {
  const int32_t k = clamp_value<int32_t>(r.w[3], 0, kMaxSegments);
  const int32_t middle = r.w[1] - 2 * r.w[2];
  float played = 0.f;
  for (int i = 0; i < k; ++i) played = played + static_cast<float>(r.w[4 + i]) / r.f(12 + i);
  return played > 0.f ? static_cast<float>(middle) / played : 0.f;
}

// Output frame t -> input frame. Segment i (m_i input frames at rate r_i) lasts out_len_i output frames,
// precomputed by phase 1 into words 20.. (derived from the lengths and rates: see posterize_scale).
MGCLR_HD int32_t posterize_source(const Record& r, int32_t t) {
  const int32_t L = r.w[1], head = r.w[2], k = clamp_value<int32_t>(r.w[3], 0, kMaxSegments);
  const int32_t middle = L - 2 * head;
  if (t < head || t >= head + middle) return t;
  const float u = static_cast<float>(t - head) + 0.5f;
  float out_start = 0.f;
  int32_t in_start = head;
  for (int i = 0; i < k; ++i) {
    const int32_t m = r.w[4 + i];
    if (m == 0) continue;
    const float out_len = r.f(20 + i);
    if (u < out_start + out_len) {
      const float local = (u - out_start) / out_len * static_cast<float>(m);
      return in_start + clamp_value<int32_t>(static_cast<int32_t>(local), 0, m - 1);
    }
    out_start = out_start + out_len;
    in_start += m;
  }
  return head + middle - 1;  // rounding at the very end of the middle part
}

MGCLR_HD int32_t drop_frames_kept(const Record& r, int32_t j, uint64_t seed, uint32_t offset) {
  const int32_t L = r.w[1], keep = r.w[2] > 0 ? r.w[2] : 1;
  const int32_t lo = static_cast<int32_t>(static_cast<int64_t>(j) * L / keep);
  const int32_t hi = static_cast<int32_t>(static_cast<int64_t>(j + 1) * L / keep);
  PhiloxStream rng(seed, offset, static_cast<uint32_t>(r.w[31]), static_cast<uint32_t>(r.w[30]),
                   kPerJointBlock + static_cast<uint32_t>(j));
  return lo + static_cast<int32_t>(uint32_below(rng.next_u32(), static_cast<uint32_t>(hi - lo)));
}

// Returns the number of source frames (1 or 2) for output frame t of one temporal op.
MGCLR_HD int temporal_source(const OpSpec& op, const Record& r, int32_t t, uint64_t seed, uint32_t offset,
                             int32_t* frame, float* weight) {
  const int32_t L = r.w[1];
  frame[0] = t;
  weight[0] = 1.f;
  switch (op.code) {
    case TEMPORAL_CROP:
      if (r.applied()) frame[0] = reflect_index(r.w[2] + t - r.w[3], L);
      return 1;
    case CROP_RESIZE: {  // always resamples to out_frames; p only decides whether the crop is random
      int32_t i0, i1;
      float w;
      linear_source(t, r.w[4], r.w[3], i0, i1, w);
      frame[0] = r.w[2] + i0;
      frame[1] = r.w[2] + i1;
      weight[0] = 1.f - w;
      weight[1] = w;
      return w == 0.f ? 1 : 2;
    }
    case REPEAT_CLIP: {
      if (!r.applied()) return 1;
      const int32_t start = r.w[2], len = r.w[3];
      int32_t e0, e1;
      float w;
      linear_source(t, L, L + len, e0, e1, w);
      frame[0] = e0 < start + len ? e0 : e0 - len;
      frame[1] = e1 < start + len ? e1 : e1 - len;
      weight[0] = 1.f - w;
      weight[1] = w;
      return w == 0.f ? 1 : 2;
    }
    case REVERSE_CLIP: {
      const int32_t start = r.w[2], len = r.w[3];
      if (r.applied() && t >= start && t < start + len) frame[0] = 2 * start + len - 1 - t;
      return 1;
    }
    case POSTERIZE_TIME:
      if (r.applied()) frame[0] = posterize_source(r, t);
      return 1;
    case TIME_FLIP:
      if (r.applied()) frame[0] = L - 1 - t;
      return 1;
    case DROP_FRAMES: {
      if (!r.applied()) return 1;
      int32_t j0, j1;
      float w;
      linear_source(t, L, r.w[2] > 0 ? r.w[2] : 1, j0, j1, w);
      frame[0] = drop_frames_kept(r, j0, seed, offset);
      weight[0] = 1.f - w;
      if (w == 0.f) {
        weight[0] = 1.f;
        return 1;
      }
      frame[1] = drop_frames_kept(r, j1, seed, offset);
      weight[1] = w;
      return 2;
    }
    default:
      return 1;
  }
}

// Compose the temporal ops backwards: output frame t of the whole temporal stage -> input taps.
MGCLR_HD void temporal_taps(const Program& prog, const Record* recs, int32_t t, uint64_t seed, uint32_t offset,
                            Taps& taps) {
  taps.n = 1;
  taps.frame[0] = t;
  taps.weight[0] = 1.f;
  for (int j = prog.n_ops - 1; j >= 0; --j) {
    if (stage_of(prog.ops[j].code) != STAGE_TEMPORAL) continue;
    // Built in scalars and copied field by field: a struct copy here stalls on store forwarding and was
    // a visible share of the CPU time.
    int32_t next_frame[kMaxTaps];
    float next_weight[kMaxTaps];
    int next_n = 0;
    for (int k = 0; k < taps.n; ++k) {
      int32_t frame[2];
      float weight[2];
      const int n = temporal_source(prog.ops[j], recs[j], taps.frame[k], seed, offset, frame, weight);
      for (int s = 0; s < n && next_n < kMaxTaps; ++s) {
        next_frame[next_n] = frame[s];
        next_weight[next_n] = taps.weight[k] * weight[s];
        ++next_n;
      }
    }
    taps.n = next_n;
    for (int k = 0; k < next_n; ++k) {
      taps.frame[k] = next_frame[k];
      taps.weight[k] = next_weight[k];
    }
  }
}

// Keeps every tap inside the input's T frames. Records from phase 1 never need it; replayed records come
// from the caller and must not make a kernel read outside x.
MGCLR_HD void clamp_taps(Taps& taps, int64_t T) {
  for (int k = 0; k < taps.n; ++k) taps.frame[k] = clamp_value<int32_t>(taps.frame[k], 0, static_cast<int32_t>(T - 1));
}

// Joint read at the start of the spatial stage for output joint v, considering ops [0, stop).
MGCLR_HD int32_t source_joint(const Program& prog, const Record* recs, int stop, int32_t v) {
  for (int j = stop - 1; j >= 0; --j)
    if (prog.ops[j].code == FLIP && recs[j].applied()) v = prog.perm[v];
  return v;
}

// ----------------------------------------------------------------------------------------------------
// Spatial and pointwise ops on one point. p holds 3 coordinates (z = 0 for 2-D data, dropped afterwards);
// v is the joint index at this op's position in the chain, t and v_out locate the output element.

MGCLR_HD bool point_is_missing(const float* p, int cc) {
  return p[0] == 0.f && p[1] == 0.f && (cc == 2 || p[2] == 0.f);
}

// Offset lambda * R_v of joint v for coordinate_perturbation (R_v ~ U[-1, 1]^3, one Philox block per joint).
MGCLR_HD void perturbation_offset(const Record& r, int32_t v, uint64_t seed, uint32_t offset, float* d) {
  PhiloxStream rng(seed, offset, static_cast<uint32_t>(r.w[31]), static_cast<uint32_t>(r.w[30]));
  const Philox4 u = rng.at(kPerJointBlock + static_cast<uint32_t>(v));
  const float lambda = r.f(2);
  for (int c = 0; c < 3; ++c) d[c] = lambda * uint32_to_symmetric_float(u.v[c]);
}

MGCLR_HD bool is_matrix_op(int32_t code) {
  return code == VIEW_PERTURBATION || code == STRETCH || code == SHEAR || code == RANDOM_ROTATE ||
         code == EULER_ROTATE || code == AXIS_ROTATE;
}

MGCLR_HD void apply_point(const Program& prog, int j, const Record& r, float* p, int32_t& v, int32_t t,
                          int32_t v_out, int32_t m, const Shape& s, uint64_t seed, uint32_t offset) {
  const OpSpec& op = prog.ops[j];
  const int cc = prog.coord_channels;
  if (op.code == FLIP) {
    if (!r.applied()) return;
    v = prog.perm[v];
    if (op.i[0]) p[0] = -p[0];
    return;
  }
  if (!r.applied()) return;
  switch (op.code) {
    case COORDINATE_PERTURBATION: {
      // Missing points (all coordinates exactly zero: an absent person, an untracked joint) stay missing.
      if (!r.joint_selected(4, v) || point_is_missing(p, cc)) return;
      float d[3];
      perturbation_offset(r, v, seed, offset, d);
      for (int c = 0; c < cc; ++c) p[c] = p[c] + d[c];
      return;
    }
    case VIEW_PERTURBATION:  // is_matrix_op
    case STRETCH:
    case SHEAR:
    case RANDOM_ROTATE:
    case EULER_ROTATE:
    case AXIS_ROTATE:
    {
      float A[9];
      load_mat3(r, 2, A);
      mat3_apply(A, p);
      if (cc == 2) p[2] = 0.f;
      return;
    }
    case JOINT_SHAKE:
      if (!r.joint_selected(12, v)) return;
      if (r.w[2] == 0) {
        p[0] = p[1] = p[2] = 0.f;
      } else {
        float A[9];
        load_mat3(r, 3, A);
        mat3_apply(A, p);
        if (cc == 2) p[2] = 0.f;
      }
      return;
    case JOINT_MASK:
      if (r.joint_selected(4, v_out) && t >= r.w[2] && t < r.w[3]) p[0] = p[1] = p[2] = 0.f;
      return;
    case GAUSSIAN_NOISE: {
      if (point_is_missing(p, cc)) return;
      const uint32_t element = static_cast<uint32_t>((static_cast<int64_t>(t) * s.V + v_out) * s.M + m);
      PhiloxStream rng(seed, offset, static_cast<uint32_t>(r.w[31]), static_cast<uint32_t>(r.w[30]));
      float normal[4];
      element_normals(rng.at(kPerElementBlock | element), normal);
      for (int c = 0; c < cc; ++c) p[c] = p[c] + op.f[0] * normal[c];
      return;
    }
    case AXIS_MASK:
      p[clamp_value<int32_t>(r.w[2], 0, 2)] = 0.f;
      return;
    default:
      return;
  }
}

// Coordinates of output element (t, v_out, m) after the temporal stage and ops [first_spatial, stop).
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
  const float ratio = sqrtf(fin_mid) / (sqrtf(mid_sta) + op.f[2]);
  return clamp_value<float>(ratio, 0.f, op.f[1]) / op.f[0];
}

// The three frames lambda reads, for a clip of L valid frames.
MGCLR_HD void lambda_frames(int32_t L, int32_t* frames) {
  frames[0] = 0;
  frames[1] = (L - 1) / 2;
  frames[2] = L - 1;
}

// ----------------------------------------------------------------------------------------------------
// Phase 1: sample the records of one (sample, view). L0 = the sample's valid length. Returns the length
// after the temporal stage. Parameters only: coordinate_perturbation's data-dependent lambda is left to
// the launchers.

MGCLR_HD int32_t sample_records(const Program& prog, const Shape& s, int64_t n, int32_t view, int32_t L0,
                                uint64_t seed, uint32_t offset, Record* recs) {
  int32_t L = L0;
  const int32_t V = static_cast<int32_t>(s.V);
  const int cc = prog.coord_channels;
  for (int j = 0; j < prog.n_ops; ++j) {
    const OpSpec& op = prog.ops[j];
    Record& r = recs[j];
    for (int k = 0; k < kRecWords; ++k) r.w[k] = 0;
    const uint32_t stream = static_cast<uint32_t>(j) | (static_cast<uint32_t>(view) << 8);
    const uint32_t sample = op.same_on_batch ? 0u : static_cast<uint32_t>(n);
    r.w[1] = L;
    r.w[30] = static_cast<int32_t>(sample);
    r.w[31] = static_cast<int32_t>(stream);
    PhiloxStream rng(seed, offset, stream, sample);
    bool applied = rng.unit() < op.p;
    if (op.group >= 0) {
      PhiloxStream group_rng(seed, offset, (kGroupStreamBase + static_cast<uint32_t>(op.group)) |
                                               (static_cast<uint32_t>(view) << 8), sample);
      const uint32_t chosen = uint32_below(group_rng.next_u32(), static_cast<uint32_t>(op.group_size));
      applied = applied && static_cast<int32_t>(chosen) == op.group_member;
    }
    r.w[0] = applied ? 1 : 0;
    switch (op.code) {
      case TEMPORAL_CROP: {
        const int32_t pad = L / op.i[0];
        r.w[3] = pad;
        r.w[2] = rng.integer(0, 2 * pad);
        break;
      }
      case CROP_RESIZE: {
        int32_t crop = L, start = 0;
        if (op.f[2] > 0.f) {  // evaluation: deterministic centre crop of ratio f[2]
          const int32_t bias = static_cast<int32_t>((1.f - op.f[2]) * static_cast<float>(L) / 2.f);
          start = bias;
          crop = L - 2 * bias;
        } else if (applied) {
          const float scale = rng.uniform(op.f[0], op.f[1]);
          crop = static_cast<int32_t>(floorf(static_cast<float>(L) * scale));
          const int32_t min_len = op.i[0] < L ? op.i[0] : L;
          crop = clamp_value<int32_t>(crop, min_len > 1 ? min_len : 1, L);
          start = rng.integer(0, L - crop);
        } else {
          (void)rng.next_u32();
        }
        r.w[2] = start;
        r.w[3] = crop > 0 ? crop : 1;
        r.w[4] = op.i[1];
        L = op.i[1];
        break;
      }
      case REPEAT_CLIP: {
        const int32_t start_hi = clamp_value<int32_t>(static_cast<int32_t>(floorf(op.f[0] * static_cast<float>(L))), 0, L - 1);
        const int32_t start = rng.integer(0, start_hi);
        int32_t lo, hi;
        fraction_range(op.f[1], op.f[2], L, lo, hi);
        int32_t len = rng.integer(lo, hi);
        if (len > L - start) len = L - start;
        r.w[2] = start;
        r.w[3] = len;
        break;
      }
      case REVERSE_CLIP: {
        int32_t lo, hi;
        fraction_range(op.f[0], op.f[1], L, lo, hi);
        const int32_t len = rng.integer(lo, hi);
        r.w[3] = len;
        r.w[2] = rng.integer(0, L - len);
        break;
      }
      case POSTERIZE_TIME: {
        const int32_t head = clamp_value<int32_t>(static_cast<int32_t>(floorf(op.f[0] * static_cast<float>(L))), 0,
                                                  (L - 1) / 2);
        const int32_t k = op.i[0];
        const int32_t middle = L - 2 * head;
        r.w[2] = head;
        r.w[3] = k;
        // k random segment lengths: k - 1 sorted cut points in [0, middle].
        int32_t cuts[kMaxSegments + 1];
        cuts[0] = 0;
        for (int i = 1; i < k; ++i) {
          const int32_t c = rng.integer(0, middle);
          int pos = i;
          while (pos > 1 && cuts[pos - 1] > c) {
            cuts[pos] = cuts[pos - 1];
            --pos;
          }
          cuts[pos] = c;
        }
        cuts[k] = middle;
        for (int i = 0; i < k; ++i) {
          r.w[4 + i] = cuts[i + 1] - cuts[i];
          r.set_f(12 + i, rng.uniform(op.f[1], op.f[2]));
        }
        const float scale = posterize_scale(r);
        for (int i = 0; i < k; ++i) r.set_f(20 + i, static_cast<float>(r.w[4 + i]) / r.f(12 + i) * scale);
        break;
      }
      case DROP_FRAMES: {
        const float fraction = rng.uniform(op.f[0], op.f[1]);
        int32_t drop = static_cast<int32_t>(floorf(fraction * static_cast<float>(L)));
        drop = clamp_value<int32_t>(drop, 0, L - 1);
        r.w[2] = L - drop;
        break;
      }
      case COORDINATE_PERTURBATION: {
        const int32_t m = op.i[0] < V ? op.i[0] : V;
        r.w[3] = m;
        choose_joints(rng, m, V, r, 4);
        // lambda reads the data as it stands at this op; the launchers compute it after phase 1 (CPU:
        // in phase 2 from the planes in cache; CUDA: lambda_kernel).
        break;
      }
      case VIEW_PERTURBATION: {
        const int32_t axis = op.i[0] >= 0 ? op.i[0] : rng.integer(0, 2);
        float angles[3];
        for (int a = 0; a < 3; ++a) {
          const float limit = a == axis ? op.f[0] : op.f[1];
          angles[a] = rng.uniform(-limit, limit);
        }
        store_rotation(r, angles, axis);
        break;
      }
      case STRETCH: {
        float A[9] = {1.f, 0.f, 0.f, 0.f, 1.f, 0.f, 0.f, 0.f, 1.f};
        const int32_t tilt = rng.next_u32() >> 31;
        if (tilt) {
          draw_shear(rng, -op.f[2], op.f[2], A);
        } else {
          for (int k = 0; k < 3; ++k) A[k * 4] = rng.uniform(op.f[0], op.f[1]);
        }
        store_mat3(r, 2, A);
        r.w[11] = tilt;
        break;
      }
      case SHEAR: {
        float A[9];
        draw_shear(rng, -op.f[0], op.f[0], A);
        store_mat3(r, 2, A);
        break;
      }
      case RANDOM_ROTATE: {
        const int32_t axis = rng.integer(0, 2);
        float angles[3];
        for (int a = 0; a < 3; ++a) angles[a] = rng.uniform(0.f, a == axis ? op.f[0] : op.f[1]);
        store_rotation(r, angles, axis);
        break;
      }
      case EULER_ROTATE: {
        float angles[3];
        for (int a = 0; a < 3; ++a) angles[a] = rng.uniform(-op.f[0], op.f[0]);
        store_rotation(r, angles, -1);
        break;
      }
      case AXIS_ROTATE: {
        const int32_t axis = rng.integer(0, 2);
        float angles[3] = {0.f, 0.f, 0.f};
        angles[axis] = rng.uniform(0.f, op.f[0]);
        store_rotation(r, angles, axis);
        break;
      }
      case JOINT_SHAKE: {
        const int32_t count = op.i[0] < V ? op.i[0] : V;
        r.w[2] = static_cast<int32_t>(rng.next_u32() >> 31);
        float A[9];
        for (int k = 0; k < 9; ++k) A[k] = rng.uniform(-1.f, 1.f);
        store_mat3(r, 3, A);
        r.w[20] = count;
        choose_joints(rng, count, V, r, 12);
        break;
      }
      case JOINT_MASK: {
        const int32_t lo = op.i[0] < V ? op.i[0] : V;
        const int32_t hi = op.i[1] < V ? op.i[1] : V;
        const int32_t count = rng.integer(lo, hi);
        int32_t wlo, whi;
        fraction_range(op.f[0], op.f[1], L, wlo, whi);
        const int32_t window = rng.integer(wlo, whi);
        r.w[2] = rng.integer(0, L - window);
        r.w[3] = r.w[2] + window;
        r.w[12] = count;
        choose_joints(rng, count, V, r, 4);
        break;
      }
      case AXIS_MASK:
        r.w[2] = rng.integer(0, cc - 1);
        break;
      case GAUSSIAN_BLUR: {
        r.set_f(2, rng.uniform(op.f[0], op.f[1]));
        r.w[3] = op.i[0] / 2;
        break;
      }
      default:  // TIME_FLIP, FLIP, GAUSSIAN_NOISE: nothing beyond the decision
        break;
    }
  }
  return L;
}

// Valid frames of sample n. Python validates lengths; clamping here keeps every read inside x even when a
// caller skipped that check (check_lengths=False) and passed a bad value.
MGCLR_HD int32_t valid_length(const int64_t* lengths, int64_t n, int64_t T) {
  const int64_t L = lengths ? lengths[n] : T;
  return static_cast<int32_t>(L < 1 ? 1 : (L > T ? T : L));
}

// Length after the temporal stage for replayed records (phase 1 skipped).
MGCLR_HD int32_t replayed_length(const Program& prog, const Record* recs, int32_t L0) {
  int32_t L = L0;
  for (int j = 0; j < prog.n_ops; ++j)
    if (prog.ops[j].code == CROP_RESIZE) L = recs[j].w[4];
  return clamp_value<int32_t>(L, 1, prog.t_out);  // replayed records come from the caller: stay in bounds
}

// ----------------------------------------------------------------------------------------------------
// Phase 2 for one output frame: writes all (c, v, m) of frame t of sample n into out (C, T_out, V, M).

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

// Gaussian blur over the valid frames of one (channel, joint, person) line: weights exp(-k^2 / 2 sigma^2)
// renormalised over the taps that fall inside [0, L) (zero padding would pull the clip ends to the origin).
// weights[k + radius] for k in [-radius, radius] come from blur_weights, once per sample.
MGCLR_HD void blur_weights(float sigma, int32_t radius, float* weights) {  // radius <= kMaxBlurRadius
  const float inv = 1.f / (2.f * sigma * sigma);
  for (int32_t k = -radius; k <= radius; ++k) weights[k + radius] = expf(-static_cast<float>(k * k) * inv);
}

MGCLR_HD float blur_at(const float* line, int64_t stride, int32_t L, int32_t t, const float* weights,
                       int32_t radius) {
  float acc = 0.f, norm = 0.f;
  for (int32_t k = -radius; k <= radius; ++k) {
    const int32_t f = t + k;
    if (f < 0 || f >= L) continue;
    const float w = weights[k + radius];
    acc = acc + w * line[f * stride];
    norm = norm + w;
  }
  return acc / norm;
}

}  // namespace aug
}  // namespace mgclr
