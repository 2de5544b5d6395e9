// cuda_check.h — CUDA error checks and the device guard every CUDA launcher holds.
//
//   MGCLR_CUDA_CHECK(call)   throws std::runtime_error naming the failing call and CUDA's error string
//   DeviceGuard guard(d)     makes d the current device and restores the caller's on scope exit, so a
//                            launcher never leaves the calling thread on another device
//   MGCLR_LAUNCH(kernel, grid, block, shared_bytes, stream, args...)   every launch: <<< >>> under nvcc,
//                            the fiber scheduler of csrc/emu in the emulation build (MGCLR_CUDA_EMULATION)
//   MGCLR_DYNAMIC_SHARED(type, name, align)   the block's dynamic shared memory as `type* name`
#pragma once
#include <cuda_runtime.h>

#if !defined(MGCLR_CUDA_EMULATION)
#define MGCLR_LAUNCH(kernel, grid, block, shared_bytes, stream, ...) \
  kernel<<<(grid), (block), (shared_bytes), (stream)>>>(__VA_ARGS__)
#define MGCLR_DYNAMIC_SHARED(type, name, align) \
  extern __shared__ __align__(align) type name##_storage_[];  \
  type* name = name##_storage_
#endif

#include <stdexcept>
#include <string>

#define MGCLR_CUDA_CHECK(call)                                                                          \
  do {                                                                                                  \
    const cudaError_t mgclr_err_ = (call);                                                              \
    if (mgclr_err_ != cudaSuccess)                                                                      \
      throw std::runtime_error(std::string("CUDA error in ") + #call + ": " + cudaGetErrorString(mgclr_err_)); \
  } while (0)

namespace mgclr {

class DeviceGuard {
 public:
  explicit DeviceGuard(int device) {
    MGCLR_CUDA_CHECK(cudaGetDevice(&previous_));
    if (device != previous_) MGCLR_CUDA_CHECK(cudaSetDevice(device));
  }
  ~DeviceGuard() { cudaSetDevice(previous_); }  // no throw from a destructor; the next CUDA call reports
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int previous_ = 0;
};

}  // namespace mgclr
