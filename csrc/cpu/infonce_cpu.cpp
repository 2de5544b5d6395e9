// infonce_cpu.cpp — OpenMP CPU kernels of the queue InfoNCE loss; see infonce_cpu.h and core/infonce.h.
//
// Layout of the fused pass: each thread owns a contiguous range of q rows and walks the whole queue in
// tiles of kTile rows. A tile is transposed once per thread (D x kTile, ~32 KiB for D = 128, stays in
// L1) so the score micro-kernel vectorises over queue rows; the weighted sum of the tile rows into
// acc vectorises over D. The logits of one tile (kRows x kTile) are the only O(K)-shaped scratch.
#include "cpu/infonce_cpu.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/infonce.h"
#include "core/nvtx.h"

#if defined(MGCLR_WITH_OPENMP)
#include <omp.h>
#endif

#if (defined(__x86_64__) || defined(_M_X64)) && defined(__GNUC__)
#define MGCLR_INFONCE_AVX512 1
#include <immintrin.h>
#endif

namespace mgclr {
namespace {

constexpr int64_t kTile = 64;  // queue rows per tile (4 AVX-512 float vectors)
constexpr int kRows = 4;       // q rows per micro-kernel call

int num_threads() {
#if defined(MGCLR_WITH_OPENMP)
  return omp_get_max_threads();
#else
  return 1;
#endif
}

int thread_id() {
#if defined(MGCLR_WITH_OPENMP)
  return omp_get_thread_num();
#else
  return 0;
#endif
}

// Rows [lo, hi) of thread t out of n: contiguous, sizes differ by at most one.
void row_range(int64_t N, int t, int n, int64_t* lo, int64_t* hi) {
  int64_t base = N / n, extra = N % n;
  *lo = t * base + std::min<int64_t>(t, extra);
  *hi = *lo + base + (t < extra ? 1 : 0);
}

void transpose_tile(const float* src, int64_t rows, int64_t D, float* dst) {
  for (int64_t d = 0; d < D; ++d) {
    float* out = dst + d * kTile;
    for (int64_t j = 0; j < rows; ++j) out[j] = src[j * D + d];
    for (int64_t j = rows; j < kTile; ++j) out[j] = 0.f;
  }
}

template <typename T>
void transpose_tile_t(const T* src, int64_t rows, int64_t D, T* dst) {
  for (int64_t d = 0; d < D; ++d) {
    T* out = dst + d * kTile;
    for (int64_t j = 0; j < rows; ++j) out[j] = src[j * D + d];
    for (int64_t j = rows; j < kTile; ++j) out[j] = T(0);
  }
}

// Loss, lse, rank and dq of rows [lo, hi) from their final online states (dq holds acc on entry).
template <typename T>
void finish_rows(const T* k, int64_t D, T inv_tau, int64_t lo, int64_t hi, const infonce::RowState<T>* st,
                 const T* s0, const int64_t* cnt, const char* nan_seen, T* loss, T* lse, int64_t* rank, T* dq) {
  for (int64_t i = lo; i < hi; ++i) {
    const int64_t li = i - lo;
    rank[i] = cnt[li];
    if (nan_seen[li]) {
      infonce::finish_nan_row(lse + i, loss + i);
      for (int64_t d = 0; d < D; ++d) dq[i * D + d] = infonce::quiet_nan<T>();
      continue;
    }
    infonce::finish_loss(st[li], s0[li], lse + i, loss + i);
    for (int64_t d = 0; d < D; ++d) dq[i * D + d] = infonce::finish_dq(dq[i * D + d], st[li].l, k[i * D + d], inv_tau);
  }
}

// ---------------------------------------------------------------------------------------------------
// Portable path (any T, any CPU): plain loops the compiler vectorises; no FMA contraction, so each
// logit is exactly infonce::dot_seq(q_i, c_j) * inv_tau.
template <typename T>
void rows_portable(const T* q, const T* k, const T* queue, int64_t K, int64_t D, T inv_tau, T tie, int64_t lo,
                   int64_t hi, T* loss, T* lse, int64_t* rank, T* dq) {
  using infonce::RowState;
  const int64_t n = hi - lo;
  if (n <= 0) return;
  std::vector<T> tileT(static_cast<size_t>(D * kTile));
  std::vector<T> s(static_cast<size_t>(kRows * kTile));
  std::vector<RowState<T>> st(static_cast<size_t>(n));
  std::vector<T> s0(static_cast<size_t>(n)), threshold(static_cast<size_t>(n));
  std::vector<int64_t> cnt(static_cast<size_t>(n), 0);
  std::vector<char> nan_seen(static_cast<size_t>(n), 0);
  for (int64_t i = lo; i < hi; ++i) {
    s0[i - lo] = infonce::dot_seq(q + i * D, k + i * D, D) * inv_tau;
    threshold[i - lo] = s0[i - lo] + tie;
    nan_seen[i - lo] = s0[i - lo] != s0[i - lo];
    st[i - lo] = infonce::start_state(s0[i - lo]);
    for (int64_t d = 0; d < D; ++d) dq[i * D + d] = k[i * D + d];
  }
  for (int64_t t0 = 0; t0 < K; t0 += kTile) {
    const int64_t tk = std::min(kTile, K - t0);
    const T* tile = queue + t0 * D;
    transpose_tile_t(tile, tk, D, tileT.data());
    for (int64_t r0 = lo; r0 < hi; r0 += kRows) {
      const int64_t rb = std::min<int64_t>(kRows, hi - r0);
      for (int64_t r = 0; r < rb; ++r) {
        T* sr = s.data() + r * kTile;
        const T* qr = q + (r0 + r) * D;
        for (int64_t j = 0; j < kTile; ++j) sr[j] = T(0);
        for (int64_t d = 0; d < D; ++d) {
          const T qd = qr[d];
          const T* bt = tileT.data() + d * kTile;
          for (int64_t j = 0; j < kTile; ++j) sr[j] = sr[j] + qd * bt[j];
        }
        const int64_t li = r0 + r - lo;
        T tmax = -std::numeric_limits<T>::infinity();
        bool nan = false;
        for (int64_t j = 0; j < tk; ++j) {
          sr[j] = sr[j] * inv_tau;
          tmax = std::max(tmax, sr[j]);
          cnt[li] += sr[j] > threshold[li] ? 1 : 0;
          nan = nan | (sr[j] != sr[j]);
        }
        nan_seen[li] = nan_seen[li] || nan;
        const T scale = infonce::rescale_to(st[li], tmax);
        T sum = T(0);
        for (int64_t j = 0; j < tk; ++j) {
          sr[j] = infonce::exp_(sr[j] - st[li].m);
          sum += sr[j];
        }
        st[li].l += sum;
        T* acc = dq + (r0 + r) * D;
        for (int64_t d = 0; d < D; ++d) acc[d] *= scale;
        for (int64_t j = 0; j < tk; ++j) {
          const T p = sr[j];
          const T* c = tile + j * D;
          for (int64_t d = 0; d < D; ++d) acc[d] = acc[d] + p * c[d];
        }
      }
    }
  }
  finish_rows(k, D, inv_tau, lo, hi, st.data(), s0.data(), cnt.data(), nan_seen.data(), loss, lse, rank, dq);
}

#if defined(MGCLR_INFONCE_AVX512)
// ---------------------------------------------------------------------------------------------------
// AVX-512F float path. Each logit is a sequential FMA chain over d (lane j of the micro-kernel and the
// scalar positive use the same chain), so ranks compare like with like.
#define MGCLR_AVX512 __attribute__((target("avx512f")))

// exp(x) for x <= 0 (larger x are fine too up to ~88): Cody-Waite reduction x = n ln2 + r, |r| <= ln2/2,
// degree-7 Taylor polynomial (relative error ~2e-7), scalef applies 2^n with exact underflow to 0.
MGCLR_AVX512 inline __m512 exp512(__m512 x) {
  x = _mm512_max_ps(x, _mm512_set1_ps(-104.f));
  x = _mm512_min_ps(x, _mm512_set1_ps(88.f));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145751953125f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.428606765330187045e-06f), r);
  __m512 p = _mm512_set1_ps(1.f / 5040.f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f / 720.f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f / 120.f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f / 24.f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f / 6.f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f));
  return _mm512_scalef_ps(p, n);
}

MGCLR_AVX512 float dot_fma(const float* a, const float* b, int64_t D) {
  float acc = 0.f;
  for (int64_t d = 0; d < D; ++d) acc = std::fma(a[d], b[d], acc);
  return acc;
}

// s[r][0..kTile) = (q_r · tileT[:, j]) for kRows rows (rows past rb repeat the last valid row).
MGCLR_AVX512 void scores512(const float* const* qr, const float* tileT, int64_t D, float inv_tau, float* s) {
  __m512 a[kRows][4];
  for (int r = 0; r < kRows; ++r)
    for (int v = 0; v < 4; ++v) a[r][v] = _mm512_setzero_ps();
  for (int64_t d = 0; d < D; ++d) {
    const float* bt = tileT + d * kTile;
    const __m512 b0 = _mm512_loadu_ps(bt), b1 = _mm512_loadu_ps(bt + 16), b2 = _mm512_loadu_ps(bt + 32),
                 b3 = _mm512_loadu_ps(bt + 48);
    for (int r = 0; r < kRows; ++r) {
      const __m512 x = _mm512_set1_ps(qr[r][d]);
      a[r][0] = _mm512_fmadd_ps(x, b0, a[r][0]);
      a[r][1] = _mm512_fmadd_ps(x, b1, a[r][1]);
      a[r][2] = _mm512_fmadd_ps(x, b2, a[r][2]);
      a[r][3] = _mm512_fmadd_ps(x, b3, a[r][3]);
    }
  }
  const __m512 it = _mm512_set1_ps(inv_tau);
  for (int r = 0; r < kRows; ++r)
    for (int v = 0; v < 4; ++v) _mm512_storeu_ps(s + r * kTile + 16 * v, _mm512_mul_ps(a[r][v], it));
}

// acc_r = acc_r * scale_r + sum_j p[r][j] * tile_j for rb rows, 32 columns of D at a time.
MGCLR_AVX512 void accumulate512(float* const* acc, const float* scale, const float* p, const float* tile,
                                int64_t tk, int64_t D, int rb) {
  for (int64_t d0 = 0; d0 < D; d0 += 32) {
    const int64_t w = std::min<int64_t>(32, D - d0);
    const __mmask16 m0 = static_cast<__mmask16>(w >= 16 ? 0xFFFF : ((1u << w) - 1u));
    const __mmask16 m1 = static_cast<__mmask16>(w >= 32 ? 0xFFFF : (w > 16 ? ((1u << (w - 16)) - 1u) : 0u));
    __m512 a[kRows][2];
    for (int r = 0; r < rb; ++r) {
      const __m512 sc = _mm512_set1_ps(scale[r]);
      a[r][0] = _mm512_mul_ps(_mm512_maskz_loadu_ps(m0, acc[r] + d0), sc);
      a[r][1] = _mm512_mul_ps(_mm512_maskz_loadu_ps(m1, acc[r] + d0 + 16), sc);
    }
    for (int64_t j = 0; j < tk; ++j) {
      const float* c = tile + j * D + d0;
      const __m512 c0 = _mm512_maskz_loadu_ps(m0, c), c1 = _mm512_maskz_loadu_ps(m1, c + 16);
      for (int r = 0; r < rb; ++r) {
        const __m512 x = _mm512_set1_ps(p[r * kTile + j]);
        a[r][0] = _mm512_fmadd_ps(x, c0, a[r][0]);
        a[r][1] = _mm512_fmadd_ps(x, c1, a[r][1]);
      }
    }
    for (int r = 0; r < rb; ++r) {
      _mm512_mask_storeu_ps(acc[r] + d0, m0, a[r][0]);
      _mm512_mask_storeu_ps(acc[r] + d0 + 16, m1, a[r][1]);
    }
  }
}

MGCLR_AVX512 void rows_avx512(const float* q, const float* k, const float* queue, int64_t K, int64_t D,
                              float inv_tau, float tie, int64_t lo, int64_t hi, float* loss, float* lse,
                              int64_t* rank, float* dq) {
  using infonce::RowState;
  const int64_t n = hi - lo;
  if (n <= 0) return;
  std::vector<float> tileT(static_cast<size_t>(D * kTile));
  alignas(64) float s[kRows * kTile];
  std::vector<RowState<float>> st(static_cast<size_t>(n));
  std::vector<float> s0(static_cast<size_t>(n));
  std::vector<int64_t> cnt(static_cast<size_t>(n), 0);
  std::vector<char> nan_seen(static_cast<size_t>(n), 0);
  for (int64_t i = lo; i < hi; ++i) {
    s0[i - lo] = dot_fma(q + i * D, k + i * D, D) * inv_tau;
    nan_seen[i - lo] = s0[i - lo] != s0[i - lo];
    st[i - lo] = infonce::start_state(s0[i - lo]);
    for (int64_t d = 0; d < D; ++d) dq[i * D + d] = k[i * D + d];
  }
  for (int64_t t0 = 0; t0 < K; t0 += kTile) {
    const int64_t tk = std::min(kTile, K - t0);
    const float* tile = queue + t0 * D;
    transpose_tile(tile, tk, D, tileT.data());
    const __mmask16 valid[4] = {
        static_cast<__mmask16>(tk >= 16 ? 0xFFFF : ((1u << tk) - 1u)),
        static_cast<__mmask16>(tk >= 32 ? 0xFFFF : (tk > 16 ? ((1u << (tk - 16)) - 1u) : 0u)),
        static_cast<__mmask16>(tk >= 48 ? 0xFFFF : (tk > 32 ? ((1u << (tk - 32)) - 1u) : 0u)),
        static_cast<__mmask16>(tk >= 64 ? 0xFFFF : (tk > 48 ? ((1u << (tk - 48)) - 1u) : 0u))};
    for (int64_t r0 = lo; r0 < hi; r0 += kRows) {
      const int rb = static_cast<int>(std::min<int64_t>(kRows, hi - r0));
      const float* qr[kRows];
      float* acc[kRows];
      float scale[kRows];
      for (int r = 0; r < kRows; ++r) {
        const int64_t i = r0 + std::min(r, rb - 1);
        qr[r] = q + i * D;
        acc[r] = dq + i * D;
      }
      scores512(qr, tileT.data(), D, inv_tau, s);
      for (int r = 0; r < rb; ++r) {
        const int64_t li = r0 + r - lo;
        const __m512 ninf = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
        const __m512 threshold = _mm512_set1_ps(s0[li] + tie);
        __m512 v[4];
        __m512 mx = ninf;
        int64_t c = 0;
        __mmask16 nan = 0;
        for (int u = 0; u < 4; ++u) {
          v[u] = _mm512_mask_loadu_ps(ninf, valid[u], s + r * kTile + 16 * u);
          mx = _mm512_max_ps(mx, v[u]);
          c += __builtin_popcount(
              static_cast<unsigned>(_mm512_mask_cmp_ps_mask(valid[u], v[u], threshold, _CMP_GT_OQ)));
          nan = nan | _mm512_mask_cmp_ps_mask(valid[u], v[u], v[u], _CMP_UNORD_Q);
        }
        cnt[li] += c;
        nan_seen[li] = nan_seen[li] || nan != 0;
        scale[r] = infonce::rescale_to(st[li], _mm512_reduce_max_ps(mx));
        const __m512 m = _mm512_set1_ps(st[li].m);
        __m512 sum = _mm512_setzero_ps();
        for (int u = 0; u < 4; ++u) {
          const __m512 p = _mm512_maskz_mov_ps(valid[u], exp512(_mm512_sub_ps(v[u], m)));
          _mm512_storeu_ps(s + r * kTile + 16 * u, p);
          sum = _mm512_add_ps(sum, p);
        }
        st[li].l += _mm512_reduce_add_ps(sum);
      }
      accumulate512(acc, scale, s, tile, tk, D, rb);
    }
  }
  finish_rows(k, D, inv_tau, lo, hi, st.data(), s0.data(), cnt.data(), nan_seen.data(), loss, lse, rank, dq);
}

bool cpu_has_avx512() {
  static const bool has = __builtin_cpu_supports("avx512f");
  return has;
}
#endif  // MGCLR_INFONCE_AVX512

template <typename T>
void rows_dispatch(const infonce::InfonceArgs<T>& a, int64_t lo, int64_t hi) {
  rows_portable(a.q, a.k, a.queue, a.K, a.D, a.inv_tau, a.tie_tolerance, lo, hi, a.loss, a.lse, a.rank, a.dq);
}

template <>
void rows_dispatch<float>(const infonce::InfonceArgs<float>& a, int64_t lo, int64_t hi) {
#if defined(MGCLR_INFONCE_AVX512)
  if (cpu_has_avx512()) {
    rows_avx512(a.q, a.k, a.queue, a.K, a.D, a.inv_tau, a.tie_tolerance, lo, hi, a.loss, a.lse, a.rank, a.dq);
    return;
  }
#endif
  rows_portable(a.q, a.k, a.queue, a.K, a.D, a.inv_tau, a.tie_tolerance, lo, hi, a.loss, a.lse, a.rank, a.dq);
}

}  // namespace

template <typename T>
void infonce_fused_cpu(const infonce::InfonceArgs<T>& a) {
  NvtxRange range("mgclr::infonce_fused_cpu");
  // A thread needs a few micro-kernel rows to amortise its tile transposes; tiny batches run on fewer.
  const int threads = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(num_threads(), a.N / kRows)));
#if defined(MGCLR_WITH_OPENMP)
#pragma omp parallel num_threads(threads)
#endif
  {
    int64_t lo, hi;
    row_range(a.N, thread_id(), threads, &lo, &hi);
    rows_dispatch<T>(a, lo, hi);
  }
}

template <typename T>
void infonce_online_update_cpu(const infonce::OnlineUpdateArgs<T>& a) {
  NvtxRange range("mgclr::infonce_online_update_cpu");
#if defined(MGCLR_WITH_OPENMP)
#pragma omp parallel for schedule(static)
#endif
  for (int64_t i = 0; i < a.N; ++i) {
    T* s = a.scores + i * a.ld;
    T tmax = -std::numeric_limits<T>::infinity();
    const T threshold = a.s0[i] + a.tie_tolerance;
    int64_t c = 0;
    for (int64_t j = 0; j < a.C; ++j) {
      tmax = std::max(tmax, s[j]);
      c += s[j] > threshold ? 1 : 0;
    }
    infonce::RowState<T> st{a.m[i], a.l[i]};
    a.scale[i] = infonce::rescale_to(st, tmax);
    T sum = T(0);
    for (int64_t j = 0; j < a.C; ++j) {
      s[j] = infonce::exp_(s[j] - st.m);
      sum += s[j];
    }
    a.m[i] = st.m;
    a.l[i] = st.l + sum;
    a.rank[i] += c;
  }
}

bool infonce_fused_cpu_fast() {
#if defined(MGCLR_INFONCE_AVX512)
  return cpu_has_avx512();
#else
  return false;
#endif
}

template void infonce_fused_cpu<float>(const infonce::InfonceArgs<float>&);
template void infonce_fused_cpu<double>(const infonce::InfonceArgs<double>&);
template void infonce_online_update_cpu<float>(const infonce::OnlineUpdateArgs<float>&);
template void infonce_online_update_cpu<double>(const infonce::OnlineUpdateArgs<double>&);

}  // namespace mgclr
