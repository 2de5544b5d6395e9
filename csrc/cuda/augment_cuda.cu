// augment_cuda.cu — CUDA kernels over the shared maths of core/augment.h.
#include "cuda/augment_cuda.h"

#include "core/augment.h"
#include "core/nvtx.h"
#include "cuda/cuda_check.h"

namespace mgclr {

using namespace augment;

namespace {

// The Program (~1.7 KB) is a __grid_constant__ parameter: read in place from the constant bank, never
// copied to each thread's local memory although the maths takes it by reference.
__global__ void sample_kernel(const int64_t* __restrict__ lengths, Shape s,
                              const __grid_constant__ Program prog, int32_t n_views, uint64_t seed, uint32_t offset, bool replay,
                              Record* recs, int64_t* out_lengths) {
  const int64_t job = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (job >= n_views * s.N) return;
  const int32_t view = static_cast<int32_t>(job / s.N);
  const int64_t n = job % s.N;
  const int32_t L0 = valid_length(lengths, n, s.T);
  Record* r = recs + job * prog.n_ops;
  out_lengths[job] = replay ? replayed_length(prog, r, L0) : sample_records(prog, s, n, view, L0, seed, offset, r);
}

// coordinate_perturbation's lambda: one block per (view, sample), its threads over the V*M points, then a
// fixed-order tree reduction (the same bits every run). One thread per sample would serialise ~10^3
// dependent global loads per sample; here they are spread over the block. Ops are taken in order, so a
// later perturbation sees the offsets of an earlier one (its lambda is in the record after the barrier).
constexpr int kLambdaThreads = 128;

__global__ void lambda_kernel(const float* __restrict__ x, Shape s, const __grid_constant__ Program prog,
                              int32_t n_views, uint64_t seed, uint32_t offset, Record* recs) {
  const int64_t job = blockIdx.x;
  const int64_t n = job % s.N;
  Record* r = recs + job * prog.n_ops;
  __shared__ float fin_mid_part[kLambdaThreads], mid_sta_part[kLambdaThreads];
  __shared__ Taps taps[3];
  __shared__ int32_t frames[3];
  for (int j = 0; j < prog.n_ops; ++j) {
    if (prog.ops[j].code != COORDINATE_PERTURBATION || !r[j].applied()) continue;
    if (threadIdx.x == 0) {
      lambda_frames(r[j].input_length(), frames);
      for (int f = 0; f < 3; ++f) temporal_taps(prog, r, frames[f], seed, offset, taps[f]);
    }
    __syncthreads();
    float fin_mid = 0.f, mid_sta = 0.f;
    for (int64_t k = threadIdx.x; k < s.V * s.M; k += blockDim.x) {
      float pts[3][3];
      for (int f = 0; f < 3; ++f)
        eval_coords(prog, r, j, s, x, n, taps[f], frames[f], static_cast<int32_t>(k / s.M),
                    static_cast<int32_t>(k % s.M), seed, offset, pts[f]);
      lambda_accumulate(pts[0], pts[1], pts[2], prog.coord_channels, fin_mid, mid_sta);
    }
    fin_mid_part[threadIdx.x] = fin_mid;
    mid_sta_part[threadIdx.x] = mid_sta;
    __syncthreads();
    for (int stride = kLambdaThreads / 2; stride > 0; stride /= 2) {
      if (threadIdx.x < stride) {
        fin_mid_part[threadIdx.x] = fin_mid_part[threadIdx.x] + fin_mid_part[threadIdx.x + stride];
        mid_sta_part[threadIdx.x] = mid_sta_part[threadIdx.x] + mid_sta_part[threadIdx.x + stride];
      }
      __syncthreads();
    }
    if (threadIdx.x == 0)
      r[j].set_f(CoordinatePerturbation::Word::lambda, lambda_finish(prog.ops[j], fin_mid_part[0], mid_sta_part[0]));
    __syncthreads();
  }
}

// One thread per output point (view, n, t, v, m); consecutive threads walk (v, m), the contiguous axis.
__global__ void apply_kernel(const float* __restrict__ x, Shape s, const __grid_constant__ Program prog, int32_t n_views, uint64_t seed,
                             uint32_t offset, const Record* __restrict__ recs,
                             const int64_t* __restrict__ out_lengths, float* __restrict__ out) {
  const int64_t VM = s.V * s.M;
  const int64_t points = n_views * s.N * prog.t_out * VM;
  const int64_t idx = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (idx >= points) return;
  // Sample-major (sample, view, frame, point): both views of a sample read its frames close in time, so
  // the second read hits L2.
  const int64_t k = idx % VM;
  const int32_t t = static_cast<int32_t>((idx / VM) % prog.t_out);
  const int64_t sample_view = idx / (VM * prog.t_out);
  const int64_t job = (sample_view % n_views) * s.N + sample_view / n_views;
  const int64_t n = job % s.N;
  float* o = out + job * s.C * prog.t_out * VM;
  if (t >= out_lengths[job]) {
    for (int64_t c = 0; c < s.C; ++c) o[(c * prog.t_out + t) * VM + k] = 0.f;
    return;
  }
  const Record* r = recs + job * prog.n_ops;
  Taps taps;
  temporal_taps(prog, r, t, seed, offset, taps);
  clamp_taps(taps, s.T);
  write_point(prog, r, s, x, n, taps, t, static_cast<int32_t>(k / s.M), static_cast<int32_t>(k % s.M), seed,
              offset, o);
}

// One thread per (view, n, coordinate channel, v, m) line: reads the unblurred output from `src`.
__global__ void blur_kernel(const float* __restrict__ src, Shape s, const __grid_constant__ Program prog, int32_t n_views,
                            const Record* __restrict__ recs, const int64_t* __restrict__ out_lengths,
                            float* __restrict__ out) {
  const int64_t VM = s.V * s.M;
  const int64_t lines = n_views * s.N * prog.coord_channels * VM;
  const int64_t li = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (li >= lines) return;
  const int64_t job = li / (prog.coord_channels * VM);
  const int64_t c = (li / VM) % prog.coord_channels;
  const int64_t k = li % VM;
  const Record& r = recs[job * prog.n_ops + prog.blur_op];
  const int64_t base = job * s.C * prog.t_out * VM + c * prog.t_out * VM + k;
  const int32_t L = static_cast<int32_t>(out_lengths[job]);
  if (!r.applied()) return;  // out already holds the unblurred copy
  float weights[2 * kMaxBlurRadius + 1];
  const int32_t radius = blur_radius(r);
  blur_weights(r.f(GaussianBlur::Word::sigma), radius, weights);
  const bool normalized = prog.ops[prog.blur_op].i[GaussianBlur::IntArg::normalized] != 0;
  for (int32_t t = 0; t < L; ++t) {
    float value;  // one line: width 1, accumulated in a register
    blur_frame(src + base, VM, 1, L, t, weights, radius, normalized, &value);
    out[base + t * VM] = value;
  }
}

unsigned blocks_for(int64_t work, int threads) { return static_cast<unsigned>((work + threads - 1) / threads); }

}  // namespace

void augment_cuda(const AugmentArgs& args, const Program& prog, CudaLaunch launch) {
  NvtxRange range("mgclr::augment_cuda");
  DeviceGuard guard(launch.device);
  cudaStream_t stream = reinterpret_cast<cudaStream_t>(launch.stream);
  const Shape& s = args.shape;
  const int32_t n_views = args.n_views;
  Record* recs = reinterpret_cast<Record*>(args.records);
  const int64_t jobs = static_cast<int64_t>(n_views) * s.N;
  if (jobs == 0) return;
  constexpr int kSampleThreads = 64, kApplyThreads = 256;
  MGCLR_LAUNCH(sample_kernel, blocks_for(jobs, kSampleThreads), kSampleThreads, 0, stream,
      args.lengths, s, prog, n_views, args.seed, args.offset, args.replay, recs, args.out_lengths);
  MGCLR_CUDA_CHECK(cudaGetLastError());
  bool perturbs = false;
  for (int j = 0; j < prog.n_ops; ++j) perturbs = perturbs || prog.ops[j].code == COORDINATE_PERTURBATION;
  if (perturbs && !args.replay) {
    MGCLR_LAUNCH(lambda_kernel, static_cast<unsigned>(jobs), kLambdaThreads, 0, stream, args.x, s, prog, n_views,
                 args.seed, args.offset, recs);
    MGCLR_CUDA_CHECK(cudaGetLastError());
  }
  const bool blur = prog.blur_op >= 0;
  if (blur && args.scratch == nullptr) throw std::invalid_argument("augment_cuda: a blurring program needs scratch");
  float* target = blur ? args.scratch : args.out;
  const int64_t points = jobs * prog.t_out * s.V * s.M;
  if (points == 0) return;  // V or M of 0 through the raw op: nothing to write
  MGCLR_LAUNCH(apply_kernel, blocks_for(points, kApplyThreads), kApplyThreads, 0, stream,
      args.x, s, prog, n_views, args.seed, args.offset, recs, args.out_lengths, target);
  MGCLR_CUDA_CHECK(cudaGetLastError());
  if (!blur) return;
  // Channels that are not blurred (extra channels, padding frames) are copied as they are.
  MGCLR_CUDA_CHECK(cudaMemcpyAsync(args.out, args.scratch, sizeof(float) * jobs * s.C * prog.t_out * s.V * s.M,
                                   cudaMemcpyDeviceToDevice, stream));
  const int64_t lines = jobs * prog.coord_channels * s.V * s.M;
  MGCLR_LAUNCH(blur_kernel, blocks_for(lines, kApplyThreads), kApplyThreads, 0, stream, args.scratch, s, prog,
               n_views, recs, args.out_lengths, args.out);
  MGCLR_CUDA_CHECK(cudaGetLastError());
}

}  // namespace mgclr
