#include "cpu/dropout_cpu.h"

#include <algorithm>

#include "core/nvtx.h"

#if (defined(__x86_64__) || defined(_M_X64)) && defined(__GNUC__)
#define MGCLR_DROPOUT_AVX2 1
#include <immintrin.h>
#endif

namespace mgclr {
namespace {

using dropout::DropoutArgs;
using dropout::kBlock;
using dropout::kLanes;

// Blocks per OpenMP chunk: ~16 KiB of floats, enough to amortise scheduling, small enough to balance.
constexpr int64_t kChunkBlocks = 64;

template <typename T>
void blocks_portable(const DropoutArgs<T>& a, int64_t first_block, int64_t end_block) {
  for (int64_t b = first_block; b < end_block; ++b) {
    const int64_t lo = b * kBlock, hi = std::min(a.n, lo + kBlock);
    for (int64_t e = lo; e < hi; ++e)
      a.out[e] = dropout::apply(a.x[e], dropout::element_bits(e, a.key0, a.key1, a.offset), a.threshold, a.scale);
  }
}

#if defined(MGCLR_DROPOUT_AVX2)
#define MGCLR_AVX2 __attribute__((target("avx2")))

// 8 lanes of a * m -> the high and low 32-bit halves (philox_mulhilo in core/philox.h, vectorised).
MGCLR_AVX2 inline void mulhilo8(__m256i a, __m256i m, __m256i& hi, __m256i& lo) {
  const __m256i even = _mm256_mul_epu32(a, m), odd = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), m);
  lo = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
  hi = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
}

// Whole blocks only: 16 counters g = 16 b + l in two halves of 8 lanes; word j of lane l is element
// 64 b + 16 j + l (core/dropout.h).
MGCLR_AVX2 void blocks_avx2(const DropoutArgs<float>& a, int64_t first_block, int64_t end_block) {
  const __m256i lane = _mm256_set_epi32(7, 6, 5, 4, 3, 2, 1, 0);
  const __m256i mul0 = _mm256_set1_epi32(static_cast<int>(0xD2511F53u));
  const __m256i mul1 = _mm256_set1_epi32(static_cast<int>(0xCD9E8D57u));
  const __m256i threshold = _mm256_set1_epi32(static_cast<int>(a.threshold));
  const __m256 scale = _mm256_set1_ps(a.scale);
  for (int64_t b = first_block; b < end_block; ++b) {
    for (int64_t half = 0; half < 2; ++half) {
      const uint64_t g0 = static_cast<uint64_t>(b) * kLanes + 8 * half;  // a multiple of 8: lanes add no carry
      __m256i c0 = _mm256_add_epi32(_mm256_set1_epi32(static_cast<int>(static_cast<uint32_t>(g0))), lane);
      __m256i c1 = _mm256_set1_epi32(static_cast<int>(dropout::kStream));
      __m256i c2 = _mm256_set1_epi32(static_cast<int>(static_cast<uint32_t>(g0 >> 32)));
      __m256i c3 = _mm256_set1_epi32(static_cast<int>(a.offset));
      uint32_t k0 = a.key0, k1 = a.key1;
      for (int round = 0; round < 10; ++round) {
        __m256i hi0, lo0, hi1, lo1;
        mulhilo8(c0, mul0, hi0, lo0);
        mulhilo8(c2, mul1, hi1, lo1);
        c0 = _mm256_xor_si256(_mm256_xor_si256(hi1, c1), _mm256_set1_epi32(static_cast<int>(k0)));
        c1 = lo1;
        c2 = _mm256_xor_si256(_mm256_xor_si256(hi0, c3), _mm256_set1_epi32(static_cast<int>(k1)));
        c3 = lo0;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
      }
      const __m256i words[4] = {c0, c1, c2, c3};
      for (int j = 0; j < 4; ++j) {
        const int64_t e = b * kBlock + 16 * j + 8 * half;
        // word >= threshold (unsigned) <=> max(word, threshold) == word
        const __m256 keep = _mm256_castsi256_ps(_mm256_cmpeq_epi32(_mm256_max_epu32(words[j], threshold), words[j]));
        _mm256_storeu_ps(a.out + e, _mm256_mul_ps(_mm256_loadu_ps(a.x + e), _mm256_and_ps(keep, scale)));
      }
    }
  }
}

bool cpu_has_avx2() {
  static const bool has = __builtin_cpu_supports("avx2");
  return has;
}
#endif  // MGCLR_DROPOUT_AVX2

template <typename T>
void blocks_dispatch(const DropoutArgs<T>& a, int64_t first_block, int64_t end_block) {
  blocks_portable(a, first_block, end_block);
}

template <>
void blocks_dispatch<float>(const DropoutArgs<float>& a, int64_t first_block, int64_t end_block) {
#if defined(MGCLR_DROPOUT_AVX2)
  if (cpu_has_avx2()) {
    const int64_t whole = std::min(end_block, a.n / kBlock);  // the last, partial block goes the portable way
    if (whole > first_block) blocks_avx2(a, first_block, whole);
    if (end_block > std::max(whole, first_block)) blocks_portable(a, std::max(whole, first_block), end_block);
    return;
  }
#endif
  blocks_portable(a, first_block, end_block);
}

}  // namespace

template <typename T>
void dropout_cpu(const DropoutArgs<T>& a) {
  NvtxRange range("mgclr::dropout_cpu");
  const int64_t blocks = (a.n + kBlock - 1) / kBlock;
  const int64_t chunks = (blocks + kChunkBlocks - 1) / kChunkBlocks;
#if defined(MGCLR_WITH_OPENMP)
#pragma omp parallel for schedule(static) if (chunks > 1)
#endif
  for (int64_t c = 0; c < chunks; ++c)
    blocks_dispatch<T>(a, c * kChunkBlocks, std::min(blocks, (c + 1) * kChunkBlocks));
}

bool dropout_cpu_fast() {
#if defined(MGCLR_DROPOUT_AVX2)
  return cpu_has_avx2();
#else
  return false;
#endif
}

template void dropout_cpu<float>(const DropoutArgs<float>&);
template void dropout_cpu<double>(const DropoutArgs<double>&);

}  // namespace mgclr
