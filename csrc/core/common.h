// common.h — portability macros shared by the host (cpu/) and device (cuda/) code.
//
// MGCLR_HD marks functions compiled for both host and device. Everything in core/ is header-only and
// framework-free (no torch, no pybind11) so that the same formula is compiled once for each side.
// CudaLaunch is where a CUDA launcher runs (declared here so that the launchers' headers need no CUDA types).
#pragma once
#include <cstdint>
#include <cstring>

#if defined(__CUDACC__)
#define MGCLR_HD __host__ __device__ __forceinline__
#else
#define MGCLR_HD inline
#endif

namespace mgclr {

MGCLR_HD float bits_to_float(int32_t b) {
#if defined(__CUDA_ARCH__)
  return __int_as_float(b);
#else
  float f;
  std::memcpy(&f, &b, sizeof f);
  return f;
#endif
}

MGCLR_HD int32_t float_to_bits(float f) {
#if defined(__CUDA_ARCH__)
  return __float_as_int(f);
#else
  int32_t b;
  std::memcpy(&b, &f, sizeof b);
  return b;
#endif
}

template <typename T>
MGCLR_HD T clamp_value(T v, T lo, T hi) { return v < lo ? lo : (v > hi ? hi : v); }

// The caller's current CUDA stream (a cudaStream_t as an integer) and the device of all the pointers.
struct CudaLaunch {
  uintptr_t stream;
  int32_t device;
};

}  // namespace mgclr
