// augment_cpu.cpp — OpenMP loops over the shared maths of core/augment.h. Phase 2 runs each op over whole
// output planes (long contiguous loops that vectorise), calling core's definition of the op on each point.
#include "cpu/augment_cpu.h"

#include <algorithm>
#if defined(__SSE2__)
#include <immintrin.h>
#endif
#include <vector>

#include "core/augment.h"
#include "core/nvtx.h"

namespace mgclr {

using namespace augment;

namespace {

// dst <- src with non-temporal stores where SSE is there (dst is written once and not read back here).
void stream_store(float* dst, const float* src, int64_t n) {
#if defined(__SSE2__)
  int64_t i = 0;
  for (; i < n && (reinterpret_cast<uintptr_t>(dst + i) & 15) != 0; ++i) dst[i] = src[i];
  for (; i + 4 <= n; i += 4) _mm_stream_ps(dst + i, _mm_loadu_ps(src + i));
  for (; i < n; ++i) dst[i] = src[i];
#else
  std::copy(src, src + n, dst);
#endif
}

// Per-thread buffers of phase 2.
struct JobScratch {
  std::vector<int32_t> joint, src;
  std::vector<float> zeros, slot_storage, work;
  std::vector<Taps> taps;
  float* slot[3];
  JobScratch(const Shape& s, const Program& prog)
      : joint(s.V * s.M), src(s.V), zeros(prog.coord_channels == 2 ? prog.t_out * s.V * s.M : 0, 0.f),
        slot_storage(3 * s.V * s.M), work(s.C * prog.t_out * s.V * s.M), taps(prog.t_out) {
    for (int c = 0; c < 3; ++c) slot[c] = slot_storage.data() + c * s.V * s.M;
  }
};

// Wheels are built for baseline x86-64 (SSE2); on GCC the hot loop is also compiled for AVX-512 and AVX2,
// picked at load time. No FMA contraction in any (-ffp-contract=off), so all clones give the same bits.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define MGCLR_CPU_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define MGCLR_CPU_CLONES
#endif

// Phase 2 of one (view, sample) job: gather the output planes through the taps, then each op in place.
MGCLR_CPU_CLONES void run_job(const AugmentArgs& args, const Program& prog, int64_t job, Record* recs,
                              JobScratch& scratch, bool stream) {
  const Shape& s = args.shape;
  const uint64_t seed = args.seed;
  const uint32_t offset = args.offset;
  const int64_t VM = s.V * s.M;
  const int64_t out_sample = s.C * prog.t_out * VM;
  const int64_t in_plane = s.T * VM;
  const int64_t out_plane = static_cast<int64_t>(prog.t_out) * VM;
  const int cc = prog.coord_channels;
  std::vector<int32_t>& joint = scratch.joint;
  std::vector<int32_t>& src = scratch.src;
  std::vector<float>& zeros = scratch.zeros;
  std::vector<Taps>& taps = scratch.taps;
  float* const* slot = scratch.slot;
  const int64_t n = job % s.N;
  const int32_t L = static_cast<int32_t>(args.out_lengths[job]);
  Record* r = recs + job * prog.n_ops;
  // The job is built in a per-thread buffer that stays in L1/L2 while the ops run over it, then leaves in
  // one pass; for large outputs that pass uses streaming stores (no read-for-ownership of the output).
  float* o = scratch.work.data();
  const float* xs = args.x + n * s.C * in_plane;
  bool identity_joints = true;
  for (int32_t v = 0; v < s.V; ++v) {
    src[v] = source_joint(prog, r, prog.n_ops, v);
    identity_joints = identity_joints && src[v] == v;
    for (int32_t m = 0; m < s.M; ++m) joint[v * s.M + m] = src[v];
  }
  for (int32_t t = 0; t < L; ++t) {
    temporal_taps(prog, r, t, seed, offset, taps[t]);
    clamp_taps(taps[t], s.T);
  }
  // Gather every channel through the taps, from the source joint of each output joint. Frame-major with
  // the channels inside: the C input planes are read as C concurrent streams, which the hardware
  // prefetcher follows together.
  for (int32_t t = 0; t < L; ++t) {
    const Taps& tp = taps[t];
    for (int64_t c = 0; c < s.C; ++c) {
      const float* plane = xs + c * in_plane;
      float* dst = o + c * out_plane + static_cast<int64_t>(t) * VM;
      if (identity_joints) {
        const float* a = plane + static_cast<int64_t>(tp.frame[0]) * VM;
        const float w0 = tp.weight[0];
        for (int64_t k = 0; k < VM; ++k) dst[k] = w0 * a[k];
        for (int tap = 1; tap < tp.n; ++tap) {
          const float* b = plane + static_cast<int64_t>(tp.frame[tap]) * VM;
          const float w = tp.weight[tap];
          for (int64_t k = 0; k < VM; ++k) dst[k] = dst[k] + w * b[k];
        }
        continue;
      }
      for (int32_t v = 0; v < s.V; ++v) {
        const float* line = plane + static_cast<int64_t>(src[v]) * s.M;
        for (int32_t m = 0; m < s.M; ++m) {
          float acc = 0.f;
          for (int k = 0; k < tp.n; ++k) acc = acc + tp.weight[k] * line[static_cast<int64_t>(tp.frame[k]) * VM + m];
          dst[v * s.M + m] = acc;
        }
      }
    }
  }
  for (int64_t c = 0; c < s.C; ++c)  // padding frames
    std::fill(o + c * out_plane + static_cast<int64_t>(L) * VM, o + (c + 1) * out_plane, 0.f);

  float* X = o;
  float* Y = o + out_plane;
  // 2-D data: z lives in a scratch plane that is kept at 0 between ops (projected back, DESIGN.md).
  float* Z = cc == 3 ? o + 2 * out_plane : zeros.data();
  const int64_t valid = static_cast<int64_t>(L) * VM;
  // Whether every point sits at its own output joint at the current op (joint[k] == k / M): the per-joint
  // shortcuts below pick joints and Philox streams by the joint a point has *at that op*. The gather's
  // identity_joints says only that the composed map is the identity; between two flips it is not.
  bool joints_at_identity = identity_joints;
  for (int j = 0; j < prog.n_ops; ++j) {
    const int32_t code = prog.ops[j].code;
    if (stage_of(code) == STAGE_TEMPORAL || stage_of(code) == STAGE_FILTER || !r[j].applied()) continue;
    if (code == FLIP) {  // the permutation is already in src; mirror x and advance the joint indices
      if (prog.ops[j].i[Flip::IntArg::mirror_x])
        for (int64_t i = 0; i < valid; ++i) X[i] = -X[i];
      joints_at_identity = true;
      for (int64_t k = 0; k < VM; ++k) {
        joint[k] = prog.perm[joint[k]];
        joints_at_identity = joints_at_identity && joint[k] == k / s.M;
      }
      continue;
    }
    if (is_matrix_op(code)) {  // the hot case: a 3x3 map of every point
      float A[9];
      load_mat3(r[j], MatrixWords::matrix, A);
      float* __restrict x0 = X;
      float* __restrict y0 = Y;
      float* __restrict z0 = Z;
      for (int64_t i = 0; i < valid; ++i) {
        float p[3] = {x0[i], y0[i], z0[i]};
        mat3_apply(A, p);
        x0[i] = p[0];
        y0[i] = p[1];
        z0[i] = p[2];
      }
      if (cc == 2) std::fill(Z, Z + valid, 0.f);
      continue;
    }
    if (code == COORDINATE_PERTURBATION && !args.replay) {
      // lambda from the planes as they stand at this op (phase 1 left it: the data is in cache now).
      int32_t frames[3];
      lambda_frames(L, frames);
      float fin_mid = 0.f, mid_sta = 0.f;
      for (int64_t k = 0; k < VM; ++k) {
        float pts[3][3];
        for (int f = 0; f < 3; ++f) {
          const int64_t i = static_cast<int64_t>(frames[f]) * VM + k;
          pts[f][0] = X[i];
          pts[f][1] = Y[i];
          pts[f][2] = Z[i];
        }
        lambda_accumulate(pts[0], pts[1], pts[2], cc, fin_mid, mid_sta);
      }
      r[j].set_f(CoordinatePerturbation::Word::lambda, lambda_finish(prog.ops[j], fin_mid, mid_sta));
    }
    if (code == COORDINATE_PERTURBATION && joints_at_identity) {
      // Only the m chosen joints move: one offset per joint, the same in every frame; missing points stay.
      for (int32_t v = 0; v < s.V; ++v) {
        if (!r[j].joint_selected(CoordinatePerturbation::Word::joints, v)) continue;
        float d[3];
        perturbation_offset(r[j], v, seed, offset, d);
        for (int32_t t = 0; t < L; ++t)
          for (int32_t m = 0; m < s.M; ++m) {
            const int64_t i = static_cast<int64_t>(t) * VM + static_cast<int64_t>(v) * s.M + m;
            float p[3] = {X[i], Y[i], Z[i]};
            perturb_point(d, cc, p);
            X[i] = p[0];
            Y[i] = p[1];
            if (cc == 3) Z[i] = p[2];
          }
      }
      continue;
    }
    if (code == JOINT_SHAKE && joints_at_identity) {  // chosen joints: zero, or one 3x3 map
      float A[9];
      load_mat3(r[j], JointShake::Word::matrix, A);
      const bool matrix_mode = r[j].w[JointShake::Word::matrix_mode] != 0;
      for (int32_t v = 0; v < s.V; ++v) {
        float keep, take;
        joint_shake_weights(r[j], v, keep, take);
        for (int32_t m = 0; m < s.M; ++m) {
          slot[0][v * s.M + m] = keep;
          slot[1][v * s.M + m] = take;
        }
      }
      const float* __restrict keep = slot[0];
      const float* __restrict take = slot[1];
      for (int32_t t = 0; t < L; ++t) {
        float* __restrict x0 = X + static_cast<int64_t>(t) * VM;
        float* __restrict y0 = Y + static_cast<int64_t>(t) * VM;
        float* __restrict z0 = Z + static_cast<int64_t>(t) * VM;
        for (int64_t k = 0; k < VM; ++k) {
          float p[3] = {x0[k], y0[k], z0[k]};
          joint_shake_point(A, matrix_mode, keep[k], take[k], p);
          x0[k] = p[0];
          y0[k] = p[1];
          z0[k] = p[2];
        }
      }
      if (cc == 2) std::fill(Z, Z + valid, 0.f);
      continue;
    }
    if (code == GAUSSIAN_NOISE) {  // one Philox block per point: a long independent loop that vectorises
      const uint32_t stream = static_cast<uint32_t>(r[j].w[kCounterStream]);
      const uint32_t sample = static_cast<uint32_t>(r[j].w[kCounterSample]);
      const uint32_t key0 = static_cast<uint32_t>(seed), key1 = static_cast<uint32_t>(seed >> 32);
      const float sigma = prog.ops[j].f[GaussianNoise::FloatArg::sigma];
      const bool skip_missing = prog.ops[j].i[GaussianNoise::IntArg::skip_missing] != 0;
      float* __restrict x0 = X;
      float* __restrict y0 = Y;
      float* __restrict z0 = Z;
      for (int64_t i = 0; i < valid; ++i) {  // i is the output element (t * V + v) * M + m
        float normal[4];
        noise_normals(key0, key1, stream, sample, offset, static_cast<uint32_t>(i), normal);
        float p[3] = {x0[i], y0[i], z0[i]};
        gaussian_noise_point(normal, sigma, skip_missing, p);
        x0[i] = p[0];
        y0[i] = p[1];
        z0[i] = p[2];
      }
      if (cc == 2) std::fill(Z, Z + valid, 0.f);
      continue;
    }
    // Everything else, one point at a time through core's apply_point.
    for (int32_t t = 0; t < L; ++t)
      for (int32_t v = 0; v < s.V; ++v)
        for (int32_t m = 0; m < s.M; ++m) {
          const int64_t k = static_cast<int64_t>(v) * s.M + m;
          const int64_t i = static_cast<int64_t>(t) * VM + k;
          float p[3] = {X[i], Y[i], Z[i]};
          int32_t jv = joint[k];
          apply_point(prog, j, r[j], p, jv, t, v, m, s, seed, offset);
          X[i] = p[0];
          Y[i] = p[1];
          if (cc == 3) Z[i] = p[2];
        }
    // apply_point advances the joint index only for FLIP, handled above.
  }
  float* dst = args.out + job * out_sample;
  if (stream)
    stream_store(dst, o, out_sample);
  else
    std::copy(o, o + out_sample, dst);
}

}  // namespace


void augment_cpu(const AugmentArgs& args, const Program& prog) {
  NvtxRange range("mgclr::augment_cpu");
  const Shape& s = args.shape;
  const int32_t n_views = args.n_views;
  const int64_t jobs = static_cast<int64_t>(n_views) * s.N;
  Record* recs = reinterpret_cast<Record*>(args.records);

  // Phase 1: per (view, sample) parameters and output length.
#pragma omp parallel for schedule(static)
  for (int64_t job = 0; job < jobs; ++job) {
    const int32_t view = static_cast<int32_t>(job / s.N);
    const int64_t n = job % s.N;
    const int32_t L0 = valid_length(args.lengths, n, s.T);
    Record* r = recs + job * prog.n_ops;
    args.out_lengths[job] = args.replay ? replayed_length(prog, r, L0)
                                        : sample_records(prog, s, n, view, L0, args.seed, args.offset, r);
  }

  // Phase 2: one read of x, one write of each output element. Work is split by (sample, view), run
  // sample-major so that both views of a sample are made while its frames are in cache. Within a job the
  // output planes (one per channel, t_out x V*M contiguous) are gathered through the taps, then each op
  // runs over whole planes in place (hot in L1/L2): long contiguous loops that the compiler vectorises.
  const bool stream = jobs * s.C * prog.t_out * s.V * s.M * 4 >= (int64_t{16} << 20);  // outgrows the caches
#pragma omp parallel
  {
    JobScratch scratch(s, prog);
#pragma omp for schedule(static)
    for (int64_t sample_view = 0; sample_view < jobs; ++sample_view) {
      const int64_t job = (sample_view % n_views) * s.N + sample_view / n_views;
      run_job(args, prog, job, recs, scratch, stream);
    }
#if defined(__SSE2__)
    _mm_sfence();  // order the streaming stores before the results are used
#endif
  }

  // Optional temporal filter: an extra pass over each blurred (view, sample), whole frame rows at a time
  // (the same weights apply to all V*M points of a row, so the inner loop runs over contiguous memory).
  if (prog.blur_op < 0) return;
  const int64_t VM = s.V * s.M;
  const int64_t out_sample = s.C * prog.t_out * VM;
  const int64_t planes = jobs * prog.coord_channels;
  const bool normalized = prog.ops[prog.blur_op].i[GaussianBlur::IntArg::normalized] != 0;
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
      const int32_t radius = blur_radius(r);
      blur_weights(r.f(GaussianBlur::Word::sigma), radius, weights);
      const int32_t L = static_cast<int32_t>(args.out_lengths[job]);
      float* base = args.out + job * out_sample + c * prog.t_out * VM;
      std::copy(base, base + static_cast<int64_t>(L) * VM, plane.begin());
      for (int32_t t = 0; t < L; ++t)
        blur_frame(plane.data(), VM, VM, L, t, weights, radius, normalized, base + static_cast<int64_t>(t) * VM);
    }
  }
}

}  // namespace mgclr
