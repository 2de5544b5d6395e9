// cuda_check.h — CUDA error checks and the device guard every CUDA launcher holds.
//
//   MGCLR_CUDA_CHECK(call)   throws std::runtime_error naming the failing call and CUDA's error string
//   cuda_error_text(err)     CUDA's error string, except "no kernel image is available": that one becomes
//                            the GPU's compute capability, the architectures built and how to rebuild
//                            (Python checks coverage before any launch; this is the backstop)
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
      throw std::runtime_error(std::string("CUDA error in ") + #call + ": " +                          \
                               mgclr::cuda_error_text(mgclr_err_));                                     \
  } while (0)

namespace mgclr {

inline std::string cuda_error_text(cudaError_t err) {
#if !defined(MGCLR_CUDA_EMULATION) && defined(MGCLR_CUDA_SASS) && defined(MGCLR_CUDA_PTX)
  if (err == cudaErrorNoKernelImageForDevice) {
    int device = 0, major = 0, minor = 0;
    cudaGetDevice(&device);
    cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device);
    cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device);
    const std::string cc = std::to_string(major) + std::to_string(minor);
    return "mgclr's CUDA kernels do not cover this GPU (compute capability " + std::to_string(major) + "." +
           std::to_string(minor) + "): built for SASS " MGCLR_CUDA_SASS " and PTX " MGCLR_CUDA_PTX
           "; rebuild with MGCLR_CUDA_ARCHITECTURES=" + cc + " pip install --no-build-isolation .";
  }
#endif
  return cudaGetErrorString(err);
}

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
