// augment_blur.h — gaussian_blur, the filter stage: its parameter sampling and the temporal filter.
//
//   sample_blur(op, rng, r)              sigma ~ U[sigma_lo, sigma_hi] and the radius kernel_size / 2
//   blur_weights(sigma, radius, w)       w[k + radius] = exp(-k^2 / (2 sigma^2)), k in [-radius, radius]
//   blur_frame(in, stride, width, L, t, w, radius, normalized, out)
//                                        frame t of `width` adjacent lines whose frames are `stride` apart:
//                                        out[q] = sum_k w_k in[(t + k) * stride + q] / sum_k w_k over the taps
//                                        inside [0, L). The CPU filters whole frame rows (width = V * M),
//                                        the CUDA kernel one line per thread (width = 1): one definition.
//
// The weights are renormalised over the taps inside the clip instead of zero padding, which would pull the
// first and last frames towards the origin. normalized = false is AimCLR's GaussianBlurConv: the raw weights
// (a gain of sum_k w_k) and zero padding. It runs as an extra pass over the output of the same call.
#pragma once
#include "core/augment_math.h"

namespace mgclr {
namespace augment {

MGCLR_HD void sample_blur(const OpSpec& op, PhiloxStream& rng, Record& r) {
  using A = GaussianBlur::FloatArg;
  r.set_f(GaussianBlur::Word::sigma, rng.uniform(op.f[A::sigma_lo], op.f[A::sigma_hi]));
  r.w[GaussianBlur::Word::radius] = op.i[GaussianBlur::IntArg::kernel_size] / 2;
}

// The radius of a record, kept inside the weights buffer even for a tampered replay.
MGCLR_HD int32_t blur_radius(const Record& r) {
  return clamp_value<int32_t>(r.w[GaussianBlur::Word::radius], 0, kMaxBlurRadius);
}

MGCLR_HD void blur_weights(float sigma, int32_t radius, float* weights) {  // radius <= kMaxBlurRadius
  const float inv = 1.f / (2.f * sigma * sigma);
  for (int32_t k = -radius; k <= radius; ++k) weights[k + radius] = expf(-static_cast<float>(k * k) * inv);
}

// `out` must not alias `in`. normalized false: no division (zero padding, the raw weights' gain).
MGCLR_HD void blur_frame(const float* in, int64_t stride, int64_t width, int32_t L, int32_t t, const float* weights,
                         int32_t radius, bool normalized, float* out) {
  for (int64_t q = 0; q < width; ++q) out[q] = 0.f;
  float norm = 0.f;
  for (int32_t k = -radius; k <= radius; ++k) {
    const int32_t f = t + k;
    if (f < 0 || f >= L) continue;
    const float w = weights[k + radius];
    const float* row = in + static_cast<int64_t>(f) * stride;
    for (int64_t q = 0; q < width; ++q) out[q] = out[q] + w * row[q];
    norm = norm + w;
  }
  if (normalized)
    for (int64_t q = 0; q < width; ++q) out[q] = out[q] / norm;
}

}  // namespace augment
}  // namespace mgclr
