// infonce.h — online-softmax maths of the queue InfoNCE loss, shared by cpu/ and cuda/.
//
// Arguments (row-major, contiguous, one dtype T = float or double for accumulation):
//   q      (N, D)  queries, L2-normalised; the only input that gets a gradient
//   k      (N, D)  positive keys, L2-normalised, treated as constants
//   queue  (K, D)  negatives, treated as constants, K >= 1
//   tau            temperature > 0 (callers pass inv_tau = 1 / tau)
//
// Per row i, with candidates c = [k_i; queue_0 .. queue_{K-1}] and logits s_ij = (q_i · c_j) / tau
// (s_i0 = the positive), the kernels return
//   lse_i  = logsumexp_j s_ij                       (N,)
//   loss_i = lse_i - s_i0                           (N,)   the per-sample InfoNCE loss
//   rank_i = #{ j >= 1 : s_ij > s_i0 + tie }        (N,)   int64; the positive is top-k iff rank_i < k
//   dq_i   = (sum_j p_ij c_j - k_i) / tau           (N, D) d loss_i / d q_i, p_i = softmax_j s_ij
//
// Ties count for the positive. Each implementation computes its logits in its own order, so logits equal
// in exact arithmetic may differ by their rounding: a negative outranks the positive only by more than
// `tie_tolerance` (the caller's, python/mgclr/ops/infonce.py: the worst rounding of two D-term dots of
// unit vectors), so every implementation ranks alike wherever the difference is not within rounding.
//
// NaN in, NaN out: a row that meets a NaN logit (a NaN in q_i, k_i or any queue row) gets loss, lse and
// dq all NaN; kernels track it explicitly (row_has_nan), because max and the clamped exp would drop it.
//
// The logits are never stored: a row keeps the online state (m, l, acc) with m = running max,
// l = sum_j exp(s_ij - m) and acc = sum_j exp(s_ij - m) c_j over the candidates seen so far. Starting
// from the positive (m = s_i0, l = 1, acc = k_i) keeps every state finite, so no -inf arithmetic is
// needed, and exp() only ever sees arguments <= 0: no overflow for any finite input or tiny tau.
// Two partial states over disjoint candidate sets merge exactly like a new tile (merge_state), which is
// what the CUDA split over K uses; the merge order is fixed by the caller, so results are deterministic.
//
// InfonceArgs / OnlineUpdateArgs are the launchers' argument structs (cpu/infonce_cpu.h, cuda/infonce_cuda.h).
#pragma once
#include <cmath>
#include <cstdint>

#include "common.h"

namespace mgclr {
namespace infonce {

// The fused forward: q, k (N, D), queue (K, D) in; loss, lse, rank (N,) and dq (N, D) out.
template <typename T>
struct InfonceArgs {
  const T* q;
  const T* k;
  const T* queue;
  int64_t N, K, D;
  T inv_tau;        // 1 / tau, rounded to T once by the caller
  T tie_tolerance;  // a negative outranks the positive only when s_ij > s_i0 + tie_tolerance
  T* loss;
  T* lse;
  int64_t* rank;
  T* dq;
  // CUDA only: the split over K (splits partial states of every row: m, l (splits, N), acc (splits, N, D),
  // count (splits, N)), and TF32 tensor cores for the float logits.
  T* ws_m;
  T* ws_l;
  T* ws_acc;
  int64_t* ws_count;
  int64_t splits;
  bool tf32;
};

// One chunk of the online logsumexp (the "chunked" implementation): scores (N, C) with row stride ld hold
// logits s_ij; per row, m, l and rank are updated against s0, scores become exp(s - m_new) and
// scale = exp(m_old - m_new), so the caller can do acc = acc * scale + p @ chunk with a matmul.
template <typename T>
struct OnlineUpdateArgs {
  T* scores;
  int64_t N, C, ld;
  const T* s0;
  T* m;
  T* l;
  int64_t* rank;
  T* scale;
  T tie_tolerance;
};

MGCLR_HD float exp_(float x) { return ::expf(x); }
MGCLR_HD double exp_(double x) { return ::exp(x); }
MGCLR_HD float log_(float x) { return ::logf(x); }
MGCLR_HD double log_(double x) { return ::log(x); }

// Sequential dot product (d = 0, 1, ...). Built without FMA contraction, so every backend that uses it
// rounds identically; the positive and the negatives go through the same routine, so a negative equal
// to the positive ties instead of winning by an ulp.
template <typename T>
MGCLR_HD T dot_seq(const T* a, const T* b, int64_t D) {
  T acc = T(0);
  for (int64_t d = 0; d < D; ++d) acc = acc + a[d] * b[d];
  return acc;
}

// Online-softmax state of one row: m = running max, l = sum exp(s - m). acc lives beside it (D values).
template <typename T>
struct RowState {
  T m;
  T l;
};

// Starts a row from its positive logit s0 (acc must be set to k_i by the caller).
template <typename T>
MGCLR_HD RowState<T> start_state(T s0) { return RowState<T>{s0, T(1)}; }

// Folds a tile whose maximum logit is tile_max into the state. Returns the factor the old l and acc were
// multiplied by (exp(m_old - m_new) <= 1); the caller then adds exp(s - state.m) for each tile logit to l
// and exp(s - state.m) * c_j to acc.
template <typename T>
MGCLR_HD T rescale_to(RowState<T>& st, T tile_max) {
  if (!(tile_max > st.m)) return T(1);
  T scale = exp_(st.m - tile_max);
  st.m = tile_max;
  st.l = st.l * scale;
  return scale;
}

// Merges partial state b (scale_b applies to b's l and acc) into a (scale_a applies to a's); a partial
// over an empty candidate range has l == 0 and contributes nothing whatever its m.
template <typename T>
MGCLR_HD void merge_state(RowState<T>& a, const RowState<T>& b, T* scale_a, T* scale_b) {
  if (!(b.l > T(0))) {
    *scale_a = T(1);
    *scale_b = T(0);
    return;
  }
  T m = a.m > b.m ? a.m : b.m;
  *scale_a = exp_(a.m - m);
  *scale_b = exp_(b.m - m);
  a.l = a.l * (*scale_a) + b.l * (*scale_b);
  a.m = m;
}

// lse and the per-sample loss from the final state.
template <typename T>
MGCLR_HD void finish_loss(const RowState<T>& st, T s0, T* lse, T* loss) {
  T v = st.m + log_(st.l);
  *lse = v;
  *loss = v - s0;
}

// dq_i[d] = (acc[d] / l - k_i[d]) / tau.
template <typename T>
MGCLR_HD T finish_dq(T acc_d, T l, T k_d, T inv_tau) { return (acc_d / l - k_d) * inv_tau; }

template <typename T>
MGCLR_HD T quiet_nan() { return T(NAN); }

// A row that met a NaN: loss and lse NaN (dq is set NaN by the caller).
template <typename T>
MGCLR_HD void finish_nan_row(T* lse, T* loss) {
  *lse = quiet_nan<T>();
  *loss = quiet_nan<T>();
}

}  // namespace infonce
}  // namespace mgclr
