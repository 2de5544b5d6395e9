// cuda_emu.h — a host build of mgclr's own CUDA sources, for tests (CMake MGCLR_CUDA_EMULATION=ON).
//
// csrc/cuda/*.cu compile as C++ against this header (reached through the shims cuda_runtime.h, mma.h
// and cuda_pipeline.h in this folder) into the test-only module mgclr._C_emu. It emulates exactly the CUDA features those
// kernels use, and nothing more:
//
//   threadIdx / blockIdx / blockDim / gridDim     the running emulated thread's, as dim3
//   __syncthreads, __syncwarp                      real barriers between the block's / warp's threads
//   __shfl_xor_sync, __ballot_sync (full masks)    through a per-warp exchange slot and two warp barriers
//   static __shared__ (function statics: blocks run one after another), dynamic shared memory
//   (MGCLR_DYNAMIC_SHARED), __grid_constant__, __launch_bounds__, __popc, __fmaf_rn / __fma_rn
//   nvcuda::wmma: the m16n16k8 TF32 fragments, fill / load / mma / store, __float_to_tf32 (RNA)
//   cp.async: __pipeline_memcpy_async / commit / wait_prior, deferred until the wait as on sm_80
//   cudaFuncSetAttribute / cudaFuncGetAttributes / cudaDeviceGetAttribute(max opt-in shared memory),
//   cudaGetLastError / cudaGetErrorString, cudaMemcpyAsync, cudaGetDevice / cudaSetDevice
//   launches: MGCLR_LAUNCH(kernel, grid, block, shared_bytes, stream, args...) (<<< >>> under nvcc)
//
// Each block runs its threads as cooperative fibers (ucontext) on the calling thread: a thread runs until
// it reaches a barrier or returns, then the next one runs; a barrier opens when every live thread of its
// scope has arrived (threads that returned count as arrived, as on the hardware). So a missing
// __syncthreads lets one thread read shared memory its neighbours have not written yet, and the emulated
// battery fails; a barrier that not every live thread reaches is reported as a deadlock (an exception
// from the launch, seen by cudaGetLastError). MGCLR_EMU_ORDER=reverse runs the threads of each phase in
// the opposite order (a second schedule for races). A launch with more dynamic shared memory than 48 KiB
// fails unless cudaFuncSetAttribute raised the kernel's limit first, and never exceeds the opt-in limit
// (MGCLR_EMU_SHARED_OPTIN bytes, default 232448 as on sm_90; 166912 for sm_80), as on a real device.
// It is not a CUDA runtime: streams are ignored (every launch finishes before it returns) and device
// pointers are host pointers.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>

struct dim3 {
  unsigned x, y, z;
  constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};

enum cudaError_t {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorLaunchFailure = 719,
};
enum cudaMemcpyKind { cudaMemcpyHostToHost, cudaMemcpyHostToDevice, cudaMemcpyDeviceToHost, cudaMemcpyDeviceToDevice };
enum cudaFuncAttribute { cudaFuncAttributeMaxDynamicSharedMemorySize = 8 };
enum cudaDeviceAttr { cudaDevAttrMaxSharedMemoryPerBlockOptin = 97 };
struct CUstream_st;
using cudaStream_t = CUstream_st*;
struct cudaFuncAttributes {
  size_t sharedSizeBytes = 0;  // static shared memory: function statics here, counted as 0
  int maxThreadsPerBlock = 1024;
};

namespace mgclr_emu {

struct ThreadView {
  dim3 thread, block, block_dim, grid_dim;
};
const ThreadView& view();
unsigned char* dynamic_shared();
void sync_block();
void sync_warp();
// Publishes `bits` (8 bytes) for the calling lane, waits for the warp, returns lane `src`'s, waits again.
uint64_t exchange(uint64_t bits, int src_lane);
template <typename F>
const void* kernel_id(F* kernel) {  // a kernel's name and a pointer to it name the same kernel
  return reinterpret_cast<const void*>(kernel);
}
void launch(const void* kernel, dim3 grid, dim3 block, size_t shared_bytes, const std::function<void()>& body);

cudaError_t get_last_error();
const char* error_string(cudaError_t e);
void set_max_dynamic_shared(const void* kernel, int bytes);
int shared_optin();

template <typename T>
T shfl_xor(T v, int offset) {
  static_assert(sizeof(T) <= 8, "emulated shuffle of at most 8 bytes");
  uint64_t bits = 0;
  std::memcpy(&bits, &v, sizeof(T));
  const int lane = static_cast<int>(view().thread.x & 31u);
  bits = exchange(bits, lane ^ offset);
  T out;
  std::memcpy(&out, &bits, sizeof(T));
  return out;
}
unsigned ballot(bool pred);
void check_full_mask(unsigned mask);

}  // namespace mgclr_emu

#define threadIdx (::mgclr_emu::view().thread)
#define blockIdx (::mgclr_emu::view().block)
#define blockDim (::mgclr_emu::view().block_dim)
#define gridDim (::mgclr_emu::view().grid_dim)

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __grid_constant__
#define __shared__ static
#define __align__(n) alignas(n)

#define MGCLR_DYNAMIC_SHARED(type, name, align) type* name = reinterpret_cast<type*>(::mgclr_emu::dynamic_shared())
#define MGCLR_LAUNCH(kernel, grid, block, shared_bytes, stream, ...)                                   \
  ::mgclr_emu::launch(::mgclr_emu::kernel_id(kernel), dim3(grid), dim3(block), (shared_bytes), \
                      [&]() { (kernel)(__VA_ARGS__); })

inline void __syncthreads() { ::mgclr_emu::sync_block(); }
inline void __syncwarp(unsigned mask = 0xffffffffu) {
  ::mgclr_emu::check_full_mask(mask);
  ::mgclr_emu::sync_warp();
}
template <typename T>
inline T __shfl_xor_sync(unsigned mask, T v, int offset) {
  ::mgclr_emu::check_full_mask(mask);
  return ::mgclr_emu::shfl_xor(v, offset);
}
inline unsigned __ballot_sync(unsigned mask, int pred) {
  ::mgclr_emu::check_full_mask(mask);
  return ::mgclr_emu::ballot(pred != 0);
}
inline int __popc(unsigned v) { return __builtin_popcount(v); }
inline float __fmaf_rn(float a, float b, float c) { return std::fma(a, b, c); }
inline double __fma_rn(double a, double b, double c) { return std::fma(a, b, c); }

inline cudaError_t cudaGetLastError() { return ::mgclr_emu::get_last_error(); }
inline const char* cudaGetErrorString(cudaError_t e) { return ::mgclr_emu::error_string(e); }
inline cudaError_t cudaGetDevice(int* d) {
  *d = 0;
  return cudaSuccess;
}
inline cudaError_t cudaSetDevice(int d) { return d == 0 ? cudaSuccess : cudaErrorInvalidValue; }
inline cudaError_t cudaGetDeviceCount(int* n) {
  *n = 1;
  return cudaSuccess;
}
inline cudaError_t cudaRuntimeGetVersion(int* v) {
  *v = 0;
  return cudaSuccess;
}
inline cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind, cudaStream_t = nullptr) {
  std::memmove(dst, src, bytes);
  return cudaSuccess;
}
template <typename F>
inline cudaError_t cudaFuncGetAttributes(cudaFuncAttributes* a, F*) {
  *a = cudaFuncAttributes{};
  return cudaSuccess;
}
template <typename F>
inline cudaError_t cudaFuncSetAttribute(F* kernel, cudaFuncAttribute attr, int value) {
  if (attr != cudaFuncAttributeMaxDynamicSharedMemorySize || value < 0 || value > ::mgclr_emu::shared_optin())
    return cudaErrorInvalidValue;
  ::mgclr_emu::set_max_dynamic_shared(reinterpret_cast<const void*>(kernel), value);
  return cudaSuccess;
}
inline cudaError_t cudaDeviceGetAttribute(int* v, cudaDeviceAttr attr, int) {
  if (attr != cudaDevAttrMaxSharedMemoryPerBlockOptin) return cudaErrorInvalidValue;
  *v = ::mgclr_emu::shared_optin();
  return cudaSuccess;
}
