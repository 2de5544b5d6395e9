// augment_math.h — float-exact maths of the augmentation ops, and the Philox draws built on it.
//
//   mat3_mul, mat3_apply, euler_zyx, load_mat3, store_mat3   3x3 row-major maps of one point p[3]
//   linear_source, reflect_index, symmetric_index, fraction_range   frame index maps (resampling, padding)
//   portable_log, portable_sincos_turns, element_normals     Box-Muller normals from one Philox block
//   choose_joints, draw_shear                                draws written into a record
//
// Everything is written out so that host and device round identically: the build forbids FMA contraction
// (-ffp-contract=off, --fmad=false) and no function here calls libm except the sinf/cosf of euler_zyx
// and the floorf/ceilf/sqrtf that round exactly.
#pragma once
#include <math.h>

#include "core/augment_abi.h"
#include "core/philox.h"

namespace mgclr {
namespace augment {

// ----------------------------------------------------------------------------------------------------
// 3x3 maps.

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

// ----------------------------------------------------------------------------------------------------
// Frame index maps.

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
// Symmetric padding (numpy's "symmetric"): the edge frames repeat, -k -> k - 1 and L - 1 + k -> L - k.
MGCLR_HD int32_t symmetric_index(int32_t i, int32_t L) {
  const int32_t period = 2 * L;
  i %= period;
  if (i < 0) i += period;
  return i < L ? i : period - 1 - i;
}

MGCLR_HD int32_t reflect_index(int32_t i, int32_t L) {
  if (L == 1) return 0;
  const int32_t period = 2 * (L - 1);
  i %= period;
  if (i < 0) i += period;
  return i < L ? i : period - i;
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

// Four standard normals from one Philox block (Box-Muller on two pairs; u1 in (0, 1] so that log never
// sees 0): (n0, n1) from words 0-1, (n2, n3) from words 2-3.
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
// Draws written into a record.

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

// Identity plus the six off-diagonals drawn from U[lo, hi) (shear, stretch's tilt).
MGCLR_HD void draw_shear(PhiloxStream& rng, float lo, float hi, float* A) {
  for (int k = 0; k < 9; ++k) A[k] = k % 4 == 0 ? 1.f : rng.uniform(lo, hi);
}

}  // namespace augment
}  // namespace mgclr
