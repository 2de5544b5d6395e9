// dropout.h — dropout whose mask is a function of (seed, offset, element index): Philox4x32-10, the
// augmentations' counter RNG (core/philox.h), so that the mask is never stored — the backward pass
// regenerates it — and costs one pass over the tensor instead of torch's bernoulli_ draw plus a multiply.
//
//   out[e] = x[e] * (keep(e) ? scale : 0),   keep(e) = element_bits(e, key, offset) >= threshold
//
// (a multiply by 0, not a 0: a dropped NaN or inf stays NaN, as in torch's dropout)
//
// threshold = round(p * 2^32) (P(keep) = 1 - threshold / 2^32: exactly 1 - p for p = k / 2^32, p = 0.5
// included), scale = 1 / (1 - p) as torch's dropout. The same call on the gradient with the same (seed,
// offset) is the backward pass.
//
// Element layout (the same on every CPU path, CUDA and the pure-torch reference): elements come in blocks
// of kBlock = 64; element e = 64 B + 16 j + l (j < 4, l < 16) takes word j of the Philox block with counter
// (g mod 2^32, kStream, g div 2^32, offset), g = 16 B + l, and key (seed mod 2^32, seed div 2^32). One
// Philox call therefore gives 16 lanes x 4 words = one block, which is what the vector CPU path computes.
#pragma once
#include "core/common.h"
#include "core/philox.h"

namespace mgclr {
namespace dropout {

constexpr int64_t kBlock = 64;      // elements per block
constexpr int64_t kLanes = 16;      // Philox counters per block (each gives 4 words)
constexpr uint32_t kStream = 0x44524F50u;  // counter word 1 ("DROP"): apart from every augmentation stream

template <typename T>
struct DropoutArgs {
  const T* x;          // n values (may equal out)
  T* out;              // n values
  int64_t n;
  uint32_t threshold;  // keep when the element's word >= threshold (> 0: p = 0 never reaches a kernel)
  T scale;             // 1 / (1 - p)
  uint32_t key0, key1, offset;
};

// The uint32 word that decides element e.
MGCLR_HD uint32_t element_bits(int64_t e, uint32_t key0, uint32_t key1, uint32_t offset) {
  const int64_t block = e / kBlock, within = e % kBlock;
  const uint64_t g = static_cast<uint64_t>(block) * kLanes + static_cast<uint64_t>(within % kLanes);
  const Philox4 ctr{{static_cast<uint32_t>(g), kStream, static_cast<uint32_t>(g >> 32), offset}};
  return philox4x32_10(ctr, key0, key1).v[within / kLanes];
}

template <typename T>
MGCLR_HD T apply(T x, uint32_t bits, uint32_t threshold, T scale) {
  return x * (bits >= threshold ? scale : T(0));
}

}  // namespace dropout
}  // namespace mgclr
