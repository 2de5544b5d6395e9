// mma.h — nvcuda::wmma for the emulation build: the m16n16k8 TF32 fragments infonce_cuda.cu uses.
//
// A fragment here holds its whole tile in every lane (the hardware spreads it over the warp's lanes);
// the kernels only touch fragments through load / store / fill / mma and element-wise loops over
// x[0 .. num_elements), which mean the same under either layout. store_matrix_sync writes from lane 0.
#pragma once
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "emu/cuda_emu.h"

namespace nvcuda {
namespace wmma {

struct matrix_a {};
struct matrix_b {};
struct accumulator {};
struct row_major {};
struct col_major {};
namespace precision {
struct tf32 {};
}  // namespace precision
enum layout_t { mem_row_major, mem_col_major };

template <typename Use, int M, int N, int K, typename T, typename Layout = void>
struct fragment;

template <typename Layout>
struct fragment<matrix_a, 16, 16, 8, precision::tf32, Layout> {
  static constexpr int rows = 16, cols = 8, num_elements = 16 * 8;
  float x[num_elements];
};
template <typename Layout>
struct fragment<matrix_b, 16, 16, 8, precision::tf32, Layout> {
  static constexpr int rows = 8, cols = 16, num_elements = 8 * 16;
  float x[num_elements];
};
template <>
struct fragment<accumulator, 16, 16, 8, float, void> {
  static constexpr int rows = 16, cols = 16, num_elements = 16 * 16;
  float x[num_elements];
};

// Rounds to TF32 (10 explicit mantissa bits), to nearest with ties away from zero (cvt.rna.tf32.f32).
inline float __float_to_tf32(float f) {
  uint32_t b;
  std::memcpy(&b, &f, sizeof b);
  if ((b & 0x7f800000u) != 0x7f800000u) b = (b + 0x1000u) & 0xffffe000u;  // finite: round the 13 low bits
  std::memcpy(&f, &b, sizeof f);
  return f;
}

template <typename F>
inline void fill_fragment(F& f, float v) {
  for (int i = 0; i < F::num_elements; ++i) f.x[i] = v;
}

// Element (r, c) of the logical rows x cols tile is x[r * cols + c].
template <typename Layout>
inline void load_matrix_sync(fragment<matrix_a, 16, 16, 8, precision::tf32, Layout>& f, const float* p, unsigned ldm) {
  for (int r = 0; r < 16; ++r)
    for (int c = 0; c < 8; ++c)
      f.x[r * 8 + c] = std::is_same<Layout, row_major>::value ? p[r * ldm + c] : p[c * ldm + r];
}
template <typename Layout>
inline void load_matrix_sync(fragment<matrix_b, 16, 16, 8, precision::tf32, Layout>& f, const float* p, unsigned ldm) {
  for (int r = 0; r < 8; ++r)
    for (int c = 0; c < 16; ++c)
      f.x[r * 16 + c] = std::is_same<Layout, row_major>::value ? p[r * ldm + c] : p[c * ldm + r];
}

inline void load_matrix_sync(fragment<accumulator, 16, 16, 8, float>& f, const float* p, unsigned ldm, layout_t layout) {
  for (int m = 0; m < 16; ++m)
    for (int n = 0; n < 16; ++n) f.x[m * 16 + n] = layout == mem_row_major ? p[m * ldm + n] : p[n * ldm + m];
}

template <typename LA, typename LB>
inline void mma_sync(fragment<accumulator, 16, 16, 8, float>& d, const fragment<matrix_a, 16, 16, 8, precision::tf32, LA>& a,
                     const fragment<matrix_b, 16, 16, 8, precision::tf32, LB>& b,
                     const fragment<accumulator, 16, 16, 8, float>& c) {
  float out[16 * 16];
  for (int m = 0; m < 16; ++m)
    for (int n = 0; n < 16; ++n) {
      float acc = c.x[m * 16 + n];
      for (int k = 0; k < 8; ++k) acc += a.x[m * 8 + k] * b.x[k * 16 + n];
      out[m * 16 + n] = acc;
    }
  std::memcpy(d.x, out, sizeof out);
}

inline void store_matrix_sync(float* p, const fragment<accumulator, 16, 16, 8, float>& f, unsigned ldm, layout_t layout) {
  if ((mgclr_emu::view().thread.x & 31u) != 0) return;
  for (int m = 0; m < 16; ++m)
    for (int n = 0; n < 16; ++n)
      (layout == mem_row_major ? p[m * ldm + n] : p[n * ldm + m]) = f.x[m * 16 + n];
}

}  // namespace wmma
}  // namespace nvcuda
