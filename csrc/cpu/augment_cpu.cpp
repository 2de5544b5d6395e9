// augment_cpu.cpp — OpenMP loops over the shared maths of core/augment.h.
#include "cpu/augment_cpu.h"

#include <algorithm>
#include <vector>

namespace mgclr {

using namespace aug;

void augment_cpu(const float* x, const int64_t* lengths, const Shape& s, const Program& prog, int32_t n_views,
                 uint64_t seed, uint32_t offset, bool replay, int32_t* records, int64_t* out_lengths,
                 float* out) {
  const int64_t jobs = static_cast<int64_t>(n_views) * s.N;
  Record* recs = reinterpret_cast<Record*>(records);

  // Phase 1: per (view, sample) parameters and output length.
#pragma omp parallel for schedule(static)
  for (int64_t job = 0; job < jobs; ++job) {
    const int32_t view = static_cast<int32_t>(job / s.N);
    const int64_t n = job % s.N;
    const int32_t L0 = lengths ? static_cast<int32_t>(lengths[n]) : static_cast<int32_t>(s.T);
    Record* r = recs + job * prog.n_ops;
    out_lengths[job] = replay ? replayed_length(prog, r, L0)
                              : sample_records(prog, s, x, n, view, L0, seed, offset, r);
  }

  // Phase 2: one read of x, one write of each output element. A row is one output frame of one
  // (view, sample): its taps are computed once, then each op runs over the row's V*M points (the op's
  // switch is hoisted out of the point loop), which lets the compiler vectorise the common cases.
  const int64_t VM = s.V * s.M;
  const int64_t out_sample = s.C * prog.t_out * VM;
  const int64_t rows = jobs * prog.t_out;
  const int64_t in_plane = s.T * VM;
  const int64_t out_plane = static_cast<int64_t>(prog.t_out) * VM;
  const int cc = prog.coord_channels;
#pragma omp parallel
  {
    std::vector<float> px(VM), py(VM), pz(VM);
    std::vector<int32_t> joint(VM), src(s.V);
    int64_t cached_job = -1;
    bool identity_joints = true;
#pragma omp for schedule(static)
    for (int64_t row = 0; row < rows; ++row) {
      const int64_t job = row / prog.t_out;
      const int32_t t = static_cast<int32_t>(row % prog.t_out);
      const int64_t n = job % s.N;
      float* o = out + job * out_sample + static_cast<int64_t>(t) * VM;
      if (t >= out_lengths[job]) {
        for (int64_t c = 0; c < s.C; ++c) std::fill(o + c * out_plane, o + c * out_plane + VM, 0.f);
        continue;
      }
      const Record* r = recs + job * prog.n_ops;
      if (job != cached_job) {
        identity_joints = true;
        for (int32_t v = 0; v < s.V; ++v) {
          src[v] = source_joint(prog, r, prog.n_ops, v);
          identity_joints = identity_joints && src[v] == v;
        }
        cached_job = job;
      }
      Taps taps;
      temporal_taps(prog, r, t, seed, offset, taps);
      const float* xs = x + n * s.C * in_plane;
      // Gather: every channel through the taps, from the source joint of each output joint. Without a
      // joint permutation a frame row is contiguous, and the loop over it vectorises.
      for (int64_t c = 0; c < s.C; ++c) {
        float* dst = c == 0 ? px.data() : c == 1 ? py.data() : c == 2 && cc == 3 ? pz.data() : o + c * out_plane;
        const float* plane = xs + c * in_plane;
        if (identity_joints) {
          const float* a = plane + taps.frame[0] * VM;
          const float w0 = taps.weight[0];
          for (int64_t k = 0; k < VM; ++k) dst[k] = w0 * a[k];
          for (int tap = 1; tap < taps.n; ++tap) {
            const float* b = plane + taps.frame[tap] * VM;
            const float w = taps.weight[tap];
            for (int64_t k = 0; k < VM; ++k) dst[k] = dst[k] + w * b[k];
          }
          continue;
        }
        for (int32_t v = 0; v < s.V; ++v) {
          const float* line = plane + static_cast<int64_t>(src[v]) * s.M;
          for (int32_t m = 0; m < s.M; ++m) {
            float acc = 0.f;
            for (int k = 0; k < taps.n; ++k) acc = acc + taps.weight[k] * line[taps.frame[k] * VM + m];
            dst[v * s.M + m] = acc;
          }
        }
      }
      if (cc == 2) std::fill(pz.begin(), pz.end(), 0.f);
      for (int64_t k = 0; k < VM; ++k) joint[k] = src[k / s.M];
      for (int j = 0; j < prog.n_ops; ++j) {
        const int32_t code = prog.ops[j].code;
        if (stage_of(code) == STAGE_TEMPORAL || !r[j].applied()) continue;
        if (is_matrix_op(code)) {  // the hot case: a 3x3 map of every point, vectorised
          float A[9];
          load_mat3(r[j], 2, A);
          for (int64_t k = 0; k < VM; ++k) {
            float p[3] = {px[k], py[k], pz[k]};
            mat3_apply(A, p);
            px[k] = p[0];
            py[k] = p[1];
            pz[k] = cc == 2 ? 0.f : p[2];
          }
          continue;
        }
        if (code == COORDINATE_PERTURBATION) {  // offsets per joint, computed once per row
          for (int32_t v = 0; v < s.V; ++v) {
            if (!r[j].joint_selected(4, v)) continue;
            float d[3];
            perturbation_offset(r[j], v, seed, offset, d);
            for (int32_t m = 0; m < s.M; ++m) {
              const int64_t k = static_cast<int64_t>(v) * s.M + m;
              float p[3] = {px[k], py[k], pz[k]};
              if (joint[k] != v || point_is_missing(p, cc)) continue;
              px[k] = p[0] + d[0];
              py[k] = p[1] + d[1];
              if (cc == 3) pz[k] = p[2] + d[2];
            }
          }
          // Points whose joint index differs from their slot (after a flip) take the generic path.
          for (int64_t k = 0; k < VM; ++k) {
            if (joint[k] == static_cast<int32_t>(k / s.M)) continue;
            float p[3] = {px[k], py[k], pz[k]};
            apply_point(prog, j, r[j], p, joint[k], t, static_cast<int32_t>(k / s.M), static_cast<int32_t>(k % s.M),
                        s, seed, offset);
            px[k] = p[0];
            py[k] = p[1];
            pz[k] = p[2];
          }
          continue;
        }
        for (int64_t k = 0; k < VM; ++k) {
          float p[3] = {px[k], py[k], pz[k]};
          apply_point(prog, j, r[j], p, joint[k], t, static_cast<int32_t>(k / s.M), static_cast<int32_t>(k % s.M),
                      s, seed, offset);
          px[k] = p[0];
          py[k] = p[1];
          pz[k] = p[2];
        }
      }
      std::copy(px.begin(), px.end(), o);
      std::copy(py.begin(), py.end(), o + out_plane);
      if (cc == 3) std::copy(pz.begin(), pz.end(), o + 2 * out_plane);
    }
  }

  // Optional temporal filter: an extra pass over each blurred (view, sample).
  if (prog.blur_op < 0) return;
  // Whole frame rows at a time: the same weights apply to all V*M points of a row, so the inner loop runs
  // over contiguous memory. norm(t) is blur_at's renormalisation, taken from the same weights.
  const int64_t planes = jobs * prog.coord_channels;
#pragma omp parallel
  {
    std::vector<float> plane(static_cast<size_t>(prog.t_out * VM));
    float weights[2 * kMaxBlurRadius + 1];
#pragma omp for schedule(static)
    for (int64_t pi = 0; pi < planes; ++pi) {
      const int64_t job = pi / prog.coord_channels;
      const int64_t c = pi % prog.coord_channels;
      const Record& r = recs[job * prog.n_ops + prog.blur_op];
      if (!r.applied()) continue;
      const int32_t radius = r.w[3];
      blur_weights(r.f(2), radius, weights);
      const int32_t L = static_cast<int32_t>(out_lengths[job]);
      float* base = out + job * out_sample + c * prog.t_out * VM;
      std::copy(base, base + static_cast<int64_t>(L) * VM, plane.begin());
      for (int32_t t = 0; t < L; ++t) {
        float* dst = base + static_cast<int64_t>(t) * VM;
        std::fill(dst, dst + VM, 0.f);
        float norm = 0.f;
        for (int32_t k = -radius; k <= radius; ++k) {
          const int32_t f = t + k;
          if (f < 0 || f >= L) continue;
          const float w = weights[k + radius];
          const float* row = plane.data() + static_cast<int64_t>(f) * VM;
          for (int64_t q = 0; q < VM; ++q) dst[q] = dst[q] + w * row[q];
          norm = norm + w;
        }
        for (int64_t q = 0; q < VM; ++q) dst[q] = dst[q] / norm;
      }
    }
  }
}

}  // namespace mgclr
