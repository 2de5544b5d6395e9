// cuda_check.h — turn CUDA runtime errors into std::runtime_error with the failing call named.
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
