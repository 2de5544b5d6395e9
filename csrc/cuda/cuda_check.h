// cuda_check.h — CUDA error checks and the device guard every CUDA launcher holds.
//
//   MGCLR_CUDA_CHECK(call)   throws std::runtime_error naming the failing call and CUDA's error string
//   DeviceGuard guard(d)     makes d the current device and restores the caller's on scope exit, so a
//                            launcher never leaves the calling thread on another device
#pragma once
#include <cuda_runtime.h>

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
