// augment_temporal.h — the temporal ops: their parameter sampling and their frame maps.
//
//   sample_temporal(op, applied, rng, L, r)   draws one temporal op's record for a clip of L valid frames and
//                                              returns the valid length after it
//   temporal_source(op, r, t, ...)            output frame t of one op -> 1 or 2 input frames with weights
//   temporal_taps(prog, recs, t, ...)         the whole temporal stage composed backwards: output frame t ->
//                                              at most kMaxTaps input frames with weights (Taps)
//   valid_length, replayed_length, clamp_taps  lengths and bounds, so that no read leaves x
//
// Frames are indices into the sample's valid frames [0, L); L is the op's input length (record kInputLength).
#pragma once
#include "core/augment_math.h"

namespace mgclr {
namespace augment {

struct Taps {
  int32_t n;
  int32_t frame[kMaxTaps];
  float weight[kMaxTaps];
};

// ----------------------------------------------------------------------------------------------------
// posterize_time and drop_frames helpers.

// Posterize: output length of middle segment i, rescaled so that the middle keeps its length.
MGCLR_HD float posterize_scale(const Record& r) {
  using W = PosterizeTime::Word;
  const int32_t k = clamp_value<int32_t>(r.w[W::segments], 0, kMaxSegments);
  const int32_t middle = r.input_length() - 2 * r.w[W::head];
  float played = 0.f;
  for (int i = 0; i < k; ++i) played = played + static_cast<float>(r.w[W::segment_lengths + i]) / r.f(W::rates + i);
  return played > 0.f ? static_cast<float>(middle) / played : 0.f;
}

// Output frame t -> input frame. Segment i (m_i input frames at rate r_i) lasts out_len_i output frames,
// precomputed when sampling (derived from the lengths and rates: see posterize_scale).
MGCLR_HD int32_t posterize_source(const Record& r, int32_t t) {
  using W = PosterizeTime::Word;
  const int32_t L = r.input_length(), head = r.w[W::head], k = clamp_value<int32_t>(r.w[W::segments], 0, kMaxSegments);
  const int32_t middle = L - 2 * head;
  if (t < head || t >= head + middle) return t;
  const float u = static_cast<float>(t - head) + 0.5f;
  float out_start = 0.f;
  int32_t in_start = head;
  for (int i = 0; i < k; ++i) {
    const int32_t m = r.w[W::segment_lengths + i];
    if (m == 0) continue;
    const float out_len = r.f(W::output_lengths + i);
    if (u < out_start + out_len) {
      const float local = (u - out_start) / out_len * static_cast<float>(m);
      return in_start + clamp_value<int32_t>(static_cast<int32_t>(local), 0, m - 1);
    }
    out_start = out_start + out_len;
    in_start += m;
  }
  return head + middle - 1;  // rounding at the very end of the middle part
}

// drop_frames keeps one random frame in each of `kept` equal strata of [0, L): the frame kept in stratum
// j, drawn from its own Philox block so that any output frame can find it without the others.
MGCLR_HD int32_t drop_frames_kept(const Record& r, int32_t j, uint64_t seed, uint32_t offset) {
  const int32_t L = r.input_length(), keep = r.w[DropFrames::Word::kept] > 0 ? r.w[DropFrames::Word::kept] : 1;
  const int32_t lo = static_cast<int32_t>(static_cast<int64_t>(j) * L / keep);
  const int32_t hi = static_cast<int32_t>(static_cast<int64_t>(j + 1) * L / keep);
  PhiloxStream rng(seed, offset, static_cast<uint32_t>(r.w[kCounterStream]), static_cast<uint32_t>(r.w[kCounterSample]),
                   kPerJointBlock + static_cast<uint32_t>(j));
  return lo + static_cast<int32_t>(uint32_below(rng.next_u32(), static_cast<uint32_t>(hi - lo)));
}

// ----------------------------------------------------------------------------------------------------
// Sampling: the record of one temporal op for a clip of L valid frames. Returns the length after the op.
// rng is the op's phase-1 stream, positioned after the p (and one-of) decision.

MGCLR_HD int32_t sample_temporal(const OpSpec& op, bool applied, PhiloxStream& rng, int32_t L, Record& r) {
  switch (op.code) {
    case TEMPORAL_CROP: {
      using W = TemporalCrop::Word;
      const int32_t pad = L / op.i[TemporalCrop::IntArg::ratio];
      r.w[W::pad] = pad;
      r.w[W::start] = rng.integer(0, 2 * pad);
      return L;
    }
    case CROP_RESIZE: {  // always resamples to out_frames; p only decides whether the crop is random
      using A = CropResize::FloatArg;
      using W = CropResize::Word;
      int32_t crop = L, start = 0;
      if (op.f[A::eval_ratio] > 0.f) {  // evaluation: deterministic centre crop of ratio eval_ratio
        const int32_t bias = static_cast<int32_t>((1.f - op.f[A::eval_ratio]) * static_cast<float>(L) / 2.f);
        start = bias;
        crop = L - 2 * bias;
      } else if (applied) {
        const float scale = rng.uniform(op.f[A::scale_lo], op.f[A::scale_hi]);
        crop = static_cast<int32_t>(floorf(static_cast<float>(L) * scale));
        const int32_t min_len = op.i[CropResize::IntArg::min_len] < L ? op.i[CropResize::IntArg::min_len] : L;
        crop = clamp_value<int32_t>(crop, min_len > 1 ? min_len : 1, L);
        start = rng.integer(0, L - crop);
      } else {
        (void)rng.next_u32();
      }
      r.w[W::start] = start;
      r.w[W::crop_length] = crop > 0 ? crop : 1;
      r.w[W::out_frames] = op.i[CropResize::IntArg::out_frames];
      return op.i[CropResize::IntArg::out_frames];
    }
    case REPEAT_CLIP: {
      using A = RepeatClip::FloatArg;
      using W = RepeatClip::Word;
      const int32_t start_hi = clamp_value<int32_t>(static_cast<int32_t>(floorf(op.f[A::s] * static_cast<float>(L))), 0,
                                                    L - 1);
      const int32_t start = rng.integer(0, start_hi);
      int32_t lo, hi;
      fraction_range(op.f[A::clip_lo], op.f[A::clip_hi], L, lo, hi);
      int32_t len = rng.integer(lo, hi);
      if (len > L - start) len = L - start;
      r.w[W::start] = start;
      r.w[W::clip_length] = len;
      return L;
    }
    case REVERSE_CLIP: {
      using A = ReverseClip::FloatArg;
      using W = ReverseClip::Word;
      int32_t lo, hi;
      fraction_range(op.f[A::clip_lo], op.f[A::clip_hi], L, lo, hi);
      const int32_t len = rng.integer(lo, hi);
      r.w[W::clip_length] = len;
      r.w[W::start] = rng.integer(0, L - len);
      return L;
    }
    case POSTERIZE_TIME: {
      using A = PosterizeTime::FloatArg;
      using W = PosterizeTime::Word;
      const int32_t head = clamp_value<int32_t>(static_cast<int32_t>(floorf(op.f[A::h] * static_cast<float>(L))), 0,
                                                (L - 1) / 2);
      const int32_t k = op.i[PosterizeTime::IntArg::k];
      const int32_t middle = L - 2 * head;
      r.w[W::head] = head;
      r.w[W::segments] = k;
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
        r.w[W::segment_lengths + i] = cuts[i + 1] - cuts[i];
        r.set_f(W::rates + i, rng.uniform(op.f[A::rate_lo], op.f[A::rate_hi]));
      }
      const float scale = posterize_scale(r);
      for (int i = 0; i < k; ++i)
        r.set_f(W::output_lengths + i, static_cast<float>(r.w[W::segment_lengths + i]) / r.f(W::rates + i) * scale);
      return L;
    }
    case DROP_FRAMES: {
      using A = DropFrames::FloatArg;
      const float fraction = rng.uniform(op.f[A::fraction_lo], op.f[A::fraction_hi]);
      int32_t drop = static_cast<int32_t>(floorf(fraction * static_cast<float>(L)));
      drop = clamp_value<int32_t>(drop, 0, L - 1);
      r.w[DropFrames::Word::kept] = L - drop;
      return L;
    }
    default:  // TIME_FLIP: nothing beyond the decision
      return L;
  }
}

// ----------------------------------------------------------------------------------------------------
// Frame maps: one output frame t (0 <= t < the op's output length) -> one or two input frames with weights.

// Returns the number of source frames (1 or 2) for output frame t of one temporal op.
MGCLR_HD int temporal_source(const OpSpec& op, const Record& r, int32_t t, uint64_t seed, uint32_t offset,
                             int32_t* frame, float* weight) {
  const int32_t L = r.input_length();
  frame[0] = t;
  weight[0] = 1.f;
  switch (op.code) {
    case TEMPORAL_CROP:
      if (r.applied()) {
        const int32_t source = r.w[TemporalCrop::Word::start] + t - r.w[TemporalCrop::Word::pad];
        frame[0] = op.i[TemporalCrop::IntArg::symmetric] ? symmetric_index(source, L) : reflect_index(source, L);
      }
      return 1;
    case CROP_RESIZE: {
      using W = CropResize::Word;
      int32_t i0, i1;
      float w;
      linear_source(t, r.w[W::out_frames], r.w[W::crop_length], i0, i1, w);
      frame[0] = r.w[W::start] + i0;
      frame[1] = r.w[W::start] + i1;
      weight[0] = 1.f - w;
      weight[1] = w;
      return w == 0.f ? 1 : 2;
    }
    case REPEAT_CLIP: {
      if (!r.applied()) return 1;
      const int32_t start = r.w[RepeatClip::Word::start], len = r.w[RepeatClip::Word::clip_length];
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
      const int32_t start = r.w[ReverseClip::Word::start], len = r.w[ReverseClip::Word::clip_length];
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
      const int32_t kept = r.w[DropFrames::Word::kept];
      int32_t j0, j1;
      float w;
      linear_source(t, L, kept > 0 ? kept : 1, j0, j1, w);
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

// ----------------------------------------------------------------------------------------------------
// Lengths and bounds.

// Keeps every tap inside the input's T frames. Records from phase 1 never need it; replayed records come
// from the caller and must not make a kernel read outside x.
MGCLR_HD void clamp_taps(Taps& taps, int64_t T) {
  for (int k = 0; k < taps.n; ++k) taps.frame[k] = clamp_value<int32_t>(taps.frame[k], 0, static_cast<int32_t>(T - 1));
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
    if (prog.ops[j].code == CROP_RESIZE) L = recs[j].w[CropResize::Word::out_frames];
  return clamp_value<int32_t>(L, 1, prog.t_out);  // replayed records come from the caller: stay in bounds
}

}  // namespace augment
}  // namespace mgclr
