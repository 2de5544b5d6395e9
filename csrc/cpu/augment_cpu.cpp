// augment_cpu.cpp — OpenMP loops over the shared maths of core/augment.h.
#include "cpu/augment_cpu.h"

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

  // Phase 2: one read of x, one write of each output element.
  const int64_t VM = s.V * s.M;
  const int64_t out_sample = s.C * prog.t_out * VM;
  const int64_t rows = jobs * prog.t_out;
#pragma omp parallel for schedule(static)
  for (int64_t row = 0; row < rows; ++row) {
    const int64_t job = row / prog.t_out;
    const int32_t t = static_cast<int32_t>(row % prog.t_out);
    const int64_t n = job % s.N;
    float* o = out + job * out_sample;
    if (t >= out_lengths[job]) {
      for (int64_t c = 0; c < s.C; ++c)
        for (int64_t k = 0; k < VM; ++k) o[(c * prog.t_out + t) * VM + k] = 0.f;
      continue;
    }
    const Record* r = recs + job * prog.n_ops;
    Taps taps;
    temporal_taps(prog, r, t, seed, offset, taps);
    for (int32_t v = 0; v < s.V; ++v)
      for (int32_t m = 0; m < s.M; ++m) write_point(prog, r, s, x, n, taps, t, v, m, seed, offset, o);
  }

  // Optional temporal filter: an extra pass over each blurred (view, sample).
  if (prog.blur_op < 0) return;
  const int64_t lines = jobs * prog.coord_channels * VM;
#pragma omp parallel
  {
    std::vector<float> line(static_cast<size_t>(prog.t_out));
#pragma omp for schedule(static)
    for (int64_t li = 0; li < lines; ++li) {
      const int64_t job = li / (prog.coord_channels * VM);
      const int64_t c = (li / VM) % prog.coord_channels;
      const int64_t k = li % VM;
      const Record& r = recs[job * prog.n_ops + prog.blur_op];
      if (!r.applied()) continue;
      const int32_t L = static_cast<int32_t>(out_lengths[job]);
      float* base = out + job * out_sample + c * prog.t_out * VM + k;
      for (int32_t t = 0; t < L; ++t) line[t] = base[t * VM];
      for (int32_t t = 0; t < L; ++t) base[t * VM] = blur_at(line.data(), 1, L, t, r.f(2), r.w[3]);
    }
  }
}

}  // namespace mgclr
