// augment_sample.h — phase 1: the parameter records of one (view, sample).
//
//   sample_records(prog, shape, n, view, L0, seed, offset, recs)
//     L0         valid frames of sample n
//     recs       prog.n_ops records, written
//     returns    the valid length after the temporal stage
//
// For each op it decides whether the op applies (p, and the member of a one-of group), fills the record
// header (applied, input length, counter words) and hands the op's own draws to its stage's sampler
// (augment_temporal.h, augment_point.h, augment_blur.h). Every draw of op j comes from the Philox stream
// (seed, offset, stream = j | view << 8, sample = n, or 0 with same_on_batch), so a record depends on
// nothing but these: not on the thread, the launch shape or the device.
#pragma once
#include "core/augment_blur.h"
#include "core/augment_point.h"
#include "core/augment_temporal.h"

namespace mgclr {
namespace augment {

MGCLR_HD int32_t sample_records(const Program& prog, const Shape& s, int64_t n, int32_t view, int32_t L0,
                                uint64_t seed, uint32_t offset, Record* recs) {
  int32_t L = L0;
  const int32_t V = static_cast<int32_t>(s.V);
  for (int j = 0; j < prog.n_ops; ++j) {
    const OpSpec& op = prog.ops[j];
    Record& r = recs[j];
    for (int k = 0; k < kRecordWords; ++k) r.w[k] = 0;
    const uint32_t stream = static_cast<uint32_t>(j) | (static_cast<uint32_t>(view) << 8);
    const uint32_t sample = op.same_on_batch ? 0u : static_cast<uint32_t>(n);
    r.w[kInputLength] = L;
    r.w[kCounterSample] = static_cast<int32_t>(sample);
    r.w[kCounterStream] = static_cast<int32_t>(stream);
    PhiloxStream rng(seed, offset, stream, sample);
    bool applied = rng.unit() < op.p;
    if (op.group >= 0) {
      PhiloxStream group_rng(seed, offset, (kGroupStreamBase + static_cast<uint32_t>(op.group)) |
                                               (static_cast<uint32_t>(view) << 8), sample);
      const uint32_t chosen = uint32_below(group_rng.next_u32(), static_cast<uint32_t>(op.group_size));
      applied = applied && static_cast<int32_t>(chosen) == op.group_member;
    }
    r.w[kApplied] = applied ? 1 : 0;
    switch (stage_of(op.code)) {
      case STAGE_TEMPORAL:
        L = sample_temporal(op, applied, rng, L, r);
        break;
      case STAGE_FILTER:
        sample_blur(op, rng, r);
        break;
      default:
        sample_point_op(op, rng, L, V, prog.coord_channels, r);
        break;
    }
  }
  return L;
}

}  // namespace augment
}  // namespace mgclr
