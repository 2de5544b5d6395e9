#include "cuda/dropout_cuda.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <stdexcept>
#include <string>

#include "core/dropout.h"
#include "core/nvtx.h"
#include "cuda/cuda_check.h"

namespace mgclr {
namespace {

constexpr int kThreads = 256;
constexpr int64_t kMaxBlocks = 4096;  // grid-stride beyond: enough to fill any GPU several times

template <typename T>
__global__ void dropout_kernel(dropout::DropoutArgs<T> a, int64_t counters) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t g = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; g < counters; g += stride) {
    const int64_t block = g / dropout::kLanes, lane = g % dropout::kLanes;
    const Philox4 ctr{{static_cast<uint32_t>(g), dropout::kStream, static_cast<uint32_t>(static_cast<uint64_t>(g) >> 32),
                       a.offset}};
    const Philox4 words = philox4x32_10(ctr, a.key0, a.key1);
    for (int j = 0; j < 4; ++j) {
      const int64_t e = block * dropout::kBlock + 16 * j + lane;
      if (e < a.n) a.out[e] = dropout::apply(a.x[e], words.v[j], a.threshold, a.scale);
    }
  }
}

}  // namespace

template <typename T>
void dropout_cuda(const dropout::DropoutArgs<T>& a, CudaLaunch launch) {
  NvtxRange range("mgclr::dropout_cuda");
  DeviceGuard guard(launch.device);
  auto stream = reinterpret_cast<cudaStream_t>(launch.stream);
  const int64_t counters = (a.n + dropout::kBlock - 1) / dropout::kBlock * dropout::kLanes;
  const int64_t blocks = std::min<int64_t>(kMaxBlocks, (counters + kThreads - 1) / kThreads);
  MGCLR_LAUNCH(dropout_kernel<T>, static_cast<unsigned>(blocks), kThreads, 0, stream, a, counters);
  const cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess) throw std::runtime_error(std::string("dropout_kernel: ") + cuda_error_text(err));
}

template void dropout_cuda<float>(const dropout::DropoutArgs<float>&, CudaLaunch);
template void dropout_cuda<double>(const dropout::DropoutArgs<double>&, CudaLaunch);

}  // namespace mgclr
