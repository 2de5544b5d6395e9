// philox.h — Philox4x32-10 counter-based RNG (Salmon et al., SC'11, "Parallel random numbers: as easy
// as 1, 2, 3"), usable on host and device.
//
//   philox4x32_10(counter[4], key[2]) -> 4 uint32 words
//   uint32_to_unit_float(u) -> float in [0, 1), exact: (u >> 8) * 2^-24 (every value representable)
//   uint32_to_symmetric_float(u) -> float in [-1, 1), exact: (u >> 8) * 2^-23 - 1
//   uint32_below(u, n) -> integer in [0, n): (u * n) >> 32 (integer maths, same bits everywhere)
//
// Counter layout used by mgclr (DESIGN.md, Randomness): word0 = draw block, word1 = stream (op slot and
// view), word2 = sample index, word3 = call offset; key = the 64-bit seed. The output therefore depends
// only on (seed, offset, sample, slot, draw), never on thread or launch shape.
#pragma once
#include "core/common.h"

namespace mgclr {

struct Philox4 {
  uint32_t v[4];
};

MGCLR_HD void philox_mulhilo(uint32_t a, uint32_t b, uint32_t& hi, uint32_t& lo) {
  const uint64_t product = static_cast<uint64_t>(a) * static_cast<uint64_t>(b);
  hi = static_cast<uint32_t>(product >> 32);
  lo = static_cast<uint32_t>(product);
}

MGCLR_HD Philox4 philox4x32_10(Philox4 ctr, uint32_t key0, uint32_t key1) {
  constexpr uint32_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;
  constexpr uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;
#if defined(__CUDACC__)
#pragma unroll
#elif defined(__GNUC__) && !defined(__clang__)
#pragma GCC unroll 10
#endif
  for (int round = 0; round < 10; ++round) {
    uint32_t hi0, lo0, hi1, lo1;
    philox_mulhilo(kMul0, ctr.v[0], hi0, lo0);
    philox_mulhilo(kMul1, ctr.v[2], hi1, lo1);
    Philox4 next;
    next.v[0] = hi1 ^ ctr.v[1] ^ key0;
    next.v[1] = lo1;
    next.v[2] = hi0 ^ ctr.v[3] ^ key1;
    next.v[3] = lo0;
    ctr = next;
    key0 += kWeyl0;
    key1 += kWeyl1;
  }
  return ctr;
}

MGCLR_HD float uint32_to_unit_float(uint32_t u) { return static_cast<float>(u >> 8) * 5.9604644775390625e-08f; }

MGCLR_HD float uint32_to_symmetric_float(uint32_t u) {
  return static_cast<float>(u >> 8) * 1.1920928955078125e-07f - 1.0f;
}

MGCLR_HD uint32_t uint32_below(uint32_t u, uint32_t n) {
  return static_cast<uint32_t>((static_cast<uint64_t>(u) * n) >> 32);
}

// A stream of draws for one (seed, offset, sample, stream id): block b gives words 4b..4b+3.
struct PhiloxStream {
  uint32_t key0, key1, stream, sample, offset;
  uint32_t block;
  uint32_t cache[4];
  int used;

  MGCLR_HD PhiloxStream(uint64_t seed, uint32_t offset_, uint32_t stream_, uint32_t sample_,
                        uint32_t first_block = 0)
      : key0(static_cast<uint32_t>(seed)), key1(static_cast<uint32_t>(seed >> 32)), stream(stream_),
        sample(sample_), offset(offset_), block(first_block), cache{0, 0, 0, 0}, used(4) {}

  MGCLR_HD Philox4 at(uint32_t b) const {
    Philox4 c{{b, stream, sample, offset}};
    return philox4x32_10(c, key0, key1);
  }
  MGCLR_HD uint32_t next_u32() {
    if (used == 4) {
      Philox4 r = at(block++);
      for (int i = 0; i < 4; ++i) cache[i] = r.v[i];
      used = 0;
    }
    return cache[used++];
  }
  MGCLR_HD float unit() { return uint32_to_unit_float(next_u32()); }
  // U[lo, hi): lo + (hi - lo) * u, written so that no compiler contracts it into an FMA differently.
  MGCLR_HD float uniform(float lo, float hi) {
    const float span = hi - lo;
    const float scaled = span * unit();
    return lo + scaled;
  }
  // U{lo..hi} inclusive (hi >= lo).
  MGCLR_HD int32_t integer(int32_t lo, int32_t hi) {
    return lo + static_cast<int32_t>(uint32_below(next_u32(), static_cast<uint32_t>(hi - lo + 1)));
  }
};

}  // namespace mgclr
