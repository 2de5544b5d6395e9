// infonce_cuda.cu — CUDA kernels of the queue InfoNCE loss; see infonce_cuda.h and core/infonce.h.
//
// Every reduction has a fixed order (sequential dots and tile sums, xor-shuffle trees, split merge in
// index order) and no atomics, so results do not depend on scheduling. Dots use explicit fma so the
// positive and the negatives round identically whatever the file's --fmad setting.
#include "cuda/infonce_cuda.h"

#include <cuda_pipeline.h>
#include <cuda_runtime.h>
#include <mma.h>

#include <cmath>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "core/infonce.h"
#include "core/infonce_launch.h"
#include "core/nvtx.h"
#include "cuda/cuda_check.h"

namespace mgclr {
namespace {

// The launch geometry lives in core/infonce_launch.h (exported to Python by mgclr._C.infonce_launch()).
constexpr int kBM = infonce::kFusedBlockRows;   // q rows per block
constexpr int kBN = infonce::kFusedTileRows;    // queue rows per tile (one warp lane each in the row update)
constexpr int kThreads = infonce::kFusedThreads;
constexpr int kWarps = kThreads / 32;
constexpr int kMaxSplits = infonce::kMaxSplits;
static_assert(infonce::kFusedTileBuffers == 2, "the fused kernel double-buffers its queue tiles");
static_assert(infonce::kTf32ColumnTile == 16, "the TF32 paths pad D to the 16 columns of wmma m16n16k8 tiles");

__device__ __forceinline__ float fma_(float a, float b, float c) { return __fmaf_rn(a, b, c); }
__device__ __forceinline__ double fma_(double a, double b, double c) { return __fma_rn(a, b, c); }

template <typename T>
__device__ __forceinline__ T dot_fma(const T* a, const T* b, int D) {
  T acc = T(0);
  for (int d = 0; d < D; ++d) acc = fma_(a[d], b[d], acc);
  return acc;
}

template <typename T>
__device__ __forceinline__ T warp_max(T v) {
  for (int o = 16; o > 0; o >>= 1) v = fmax(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

template <typename T>
__device__ __forceinline__ T warp_sum(T v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// Leading dimension of the shared tiles (infonce::fused_tile_ld): +1 breaks bank conflicts of the scalar
// dots; the TF32 path needs a multiple of 4 floats and D rounded up to 16, the column width of the
// accumulate's MMA tiles (padding columns are zero).
__host__ __device__ inline int tile_ld(int D, bool tf32) { return infonce::fused_tile_ld(D, tf32); }

// Issues the copies of queue rows [t0, t0 + kBN) ∩ [t0, ke) into a shared tile (zeros past the slice and
// past D) as one asynchronous batch: cp.async on sm_80+, so the next tile streams in while this one is
// being used (double buffering). The caller waits with __pipeline_wait_prior and a barrier.
template <typename T>
__device__ __forceinline__ void issue_tile(const T* __restrict__ queue, int64_t t0, int64_t ke, int D, int ld, T* dst,
                                           int tid) {
  const int tk = static_cast<int>(ke - t0 < kBN ? ke - t0 : kBN);
  for (int e = tid; e < kBN * ld; e += kThreads) {
    const int j = e / ld, d = e % ld;
    if (j < tk && d < D) __pipeline_memcpy_async(dst + e, queue + (t0 + j) * D + d, sizeof(T));
    else dst[e] = T(0);
  }
  __pipeline_commit();
}

#if (defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800) || defined(MGCLR_CUDA_EMULATION)
// wmma loads fp32 values into a TF32 fragment as they are; the MMA expects them rounded to TF32 first.
template <typename Fragment>
__device__ __forceinline__ void round_to_tf32(Fragment& f) {
  for (int t = 0; t < f.num_elements; ++t) f.x[t] = nvcuda::wmma::__float_to_tf32(f.x[t]);
}
#endif

template <typename T, bool TF32>
__global__ void __launch_bounds__(kThreads) fused_partial_kernel(const T* __restrict__ q, const T* __restrict__ k,
                                                                 const T* __restrict__ queue, int64_t N, int64_t K,
                                                                 int D, T inv_tau, T tie, int64_t slice, T* ws_m,
                                                                 T* ws_l, T* ws_acc, int64_t* ws_cnt) {
  MGCLR_DYNAMIC_SHARED(unsigned char, smem_raw, 128);  // wmma needs 32-byte aligned tiles
  const int ld = tile_ld(D, TF32);
  const int dpad = infonce::fused_padded_width(D, TF32);
  T* sq = reinterpret_cast<T*>(smem_raw);  // kBM x ld
  T* st = sq + kBM * ld;                    // 2 x kBN x ld: the tile in use and the next one
  T* sacc = st + 2 * kBN * ld;              // kBM x ld
  T* ss = sacc + kBM * ld;                  // kBM x kBN logits, then p
  __shared__ infonce::FusedRowShared<T> rows;  // the static shared memory (infonce::fused_shared_bytes)
  T* const s_m = rows.m;
  T* const s_l = rows.l;
  T* const s_scale = rows.scale;
  T* const s_threshold = rows.threshold;
  long long* const s_cnt = rows.count;

  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int64_t row0 = static_cast<int64_t>(blockIdx.x) * kBM;
  const int64_t split = blockIdx.y;
  const int64_t kb = split * slice;
  const int64_t ke = kb + slice < K ? kb + slice : K;

  if (kb < ke) issue_tile(queue, kb, ke, D, ld, st, tid);  // the first tile streams in during the setup
  for (int e = tid; e < kBM * ld; e += kThreads) {
    const int r = e / ld, d = e % ld;
    const int64_t i = row0 + r;
    sq[e] = (i < N && d < D) ? q[i * D + d] : T(0);
    sacc[e] = T(0);
  }
  __syncthreads();
  if (tid < kBM) {
    const int64_t i = row0 + tid;
    s_threshold[tid] = (i < N ? dot_fma(sq + tid * ld, k + i * D, D) * inv_tau : T(0)) + tie;
    s_m[tid] = -INFINITY;
    s_l[tid] = T(0);
    s_cnt[tid] = 0;
  }

  int buf = 0;
  for (int64_t t0 = kb; t0 < ke; t0 += kBN, buf ^= 1) {
    const int tk = static_cast<int>(ke - t0 < kBN ? ke - t0 : kBN);
    T* cur = st + buf * kBN * ld;
    __syncthreads();  // the previous tile fully consumed: its buffer may be refilled
    if (t0 + kBN < ke) issue_tile(queue, t0 + kBN, ke, D, ld, st + (buf ^ 1) * kBN * ld, tid);
    else __pipeline_commit();  // an empty batch, so that "all but the newest" below is this tile
    __pipeline_wait_prior(1);  // this thread's copies of the current tile have landed
    __syncthreads();           // and everybody's

    bool scaled = true;
#if (defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800) || defined(MGCLR_CUDA_EMULATION)
    if constexpr (TF32) {
      using namespace nvcuda;
      scaled = false;
      if (warp < kBN / 16) {
        wmma::fragment<wmma::matrix_a, 16, 16, 8, wmma::precision::tf32, wmma::row_major> fa;
        wmma::fragment<wmma::matrix_b, 16, 16, 8, wmma::precision::tf32, wmma::col_major> fb;
        wmma::fragment<wmma::accumulator, 16, 16, 8, float> fc;
        wmma::fill_fragment(fc, 0.f);
        for (int kk = 0; kk < dpad; kk += 8) {
          wmma::load_matrix_sync(fa, reinterpret_cast<const float*>(sq) + kk, ld);
          wmma::load_matrix_sync(fb, reinterpret_cast<const float*>(cur) + warp * 16 * ld + kk, ld);
          round_to_tf32(fa);
          round_to_tf32(fb);
          wmma::mma_sync(fc, fa, fb, fc);
        }
        wmma::store_matrix_sync(reinterpret_cast<float*>(ss) + warp * 16, fc, kBN, wmma::mem_row_major);
      }
    } else
#endif
    {
      (void)dpad;
      for (int e = tid; e < kBM * kBN; e += kThreads) {
        const int r = e / kBN, j = e % kBN;
        ss[e] = dot_fma(sq + r * ld, cur + j * ld, D) * inv_tau;
      }
    }
    __syncthreads();

    // Online-softmax update: warp w owns rows w and w + 8, lane j owns logit j of the tile.
    for (int r = warp; r < kBM; r += kWarps) {
      const bool valid = lane < tk;
      T s = ss[r * kBN + lane];
      if (!scaled) s = s * inv_tau;
      s = valid ? s : T(-INFINITY);
      const T mx = warp_max(s);
      const unsigned above = __ballot_sync(0xffffffffu, valid && s > s_threshold[r]);
      const T m_old = s_m[r];
      const T m_new = mx > m_old ? mx : m_old;
      const T scale = infonce::exp_(m_old - m_new);  // m_old = -inf on the first tile: scale 0
      const T p = valid ? infonce::exp_(s - m_new) : T(0);
      const T sum = warp_sum(p);
      ss[r * kBN + lane] = p;
      __syncwarp();
      if (lane == 0) {
        s_m[r] = m_new;
        s_l[r] = s_l[r] * scale + sum;
        s_scale[r] = scale;
        s_cnt[r] += __popc(above);
      }
    }
    __syncthreads();

#if (defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800) || defined(MGCLR_CUDA_EMULATION)
    if constexpr (TF32) {
      // acc = acc * scale + P · tile on the tensor cores: rows rescaled in place first, then each warp
      // takes 16-column slabs of acc (16 x 32 probabilities times 32 x 16 queue values, 4 k-steps).
      using namespace nvcuda;
      for (int e = tid; e < kBM * dpad; e += kThreads) sacc[(e / dpad) * ld + e % dpad] *= s_scale[e / dpad];
      __syncthreads();
      for (int c = warp; c < dpad / 16; c += kWarps) {
        wmma::fragment<wmma::matrix_a, 16, 16, 8, wmma::precision::tf32, wmma::row_major> fp;
        wmma::fragment<wmma::matrix_b, 16, 16, 8, wmma::precision::tf32, wmma::row_major> fv;
        wmma::fragment<wmma::accumulator, 16, 16, 8, float> facc;
        wmma::load_matrix_sync(facc, reinterpret_cast<const float*>(sacc) + c * 16, ld, wmma::mem_row_major);
        for (int kk = 0; kk < kBN; kk += 8) {
          wmma::load_matrix_sync(fp, reinterpret_cast<const float*>(ss) + kk, kBN);
          wmma::load_matrix_sync(fv, reinterpret_cast<const float*>(cur) + kk * ld + c * 16, ld);
          round_to_tf32(fp);
          round_to_tf32(fv);
          wmma::mma_sync(facc, fp, fv, facc);
        }
        wmma::store_matrix_sync(reinterpret_cast<float*>(sacc) + c * 16, facc, ld, wmma::mem_row_major);
      }
    } else
#endif
    {
      for (int e = tid; e < kBM * D; e += kThreads) {
        const int r = e / D, d = e % D;
        T a = sacc[r * ld + d] * s_scale[r];
        for (int j = 0; j < tk; ++j) a = fma_(ss[r * kBN + j], cur[j * ld + d], a);
        sacc[r * ld + d] = a;
      }
    }
  }
  __syncthreads();

  for (int e = tid; e < kBM * D; e += kThreads) {
    const int r = e / D, d = e % D;
    const int64_t i = row0 + r;
    if (i < N) ws_acc[(split * N + i) * D + d] = sacc[r * ld + d];
  }
  if (tid < kBM && row0 + tid < N) {
    const int64_t i = row0 + tid;
    ws_m[split * N + i] = s_m[tid];
    ws_l[split * N + i] = s_l[tid];
    ws_cnt[split * N + i] = s_cnt[tid];
  }
}

template <typename T>
__global__ void fused_combine_kernel(const T* __restrict__ q, const T* __restrict__ k, int64_t N, int D, T inv_tau,
                                     int splits, const T* ws_m, const T* ws_l, const T* ws_acc,
                                     const int64_t* ws_cnt, T* loss, T* lse, int64_t* rank, T* dq) {
  __shared__ T s_scale_acc[kMaxSplits + 1];  // [0]: factor of the positive's start state after all merges
  __shared__ T s_scale_part[kMaxSplits];
  __shared__ T s_l;
  __shared__ bool s_nan;
  const int64_t i = blockIdx.x;
  if (threadIdx.x == 0) {
    const T s0 = dot_fma(q + i * D, k + i * D, D) * inv_tau;
    infonce::RowState<T> st = infonce::start_state(s0);
    int64_t cnt = 0;
    // A NaN logit makes its partial's l NaN (exp(NaN) enters the sum); merge_state would take that
    // partial for an empty one, so NaN is caught here, with a NaN positive.
    bool nan = s0 != s0;
    // Running product form: acc = (((k * a_0 + p_0 * b_0) * a_1 + p_1 * b_1) ...), applied below in order.
    for (int s = 0; s < splits; ++s) {
      infonce::RowState<T> part{ws_m[s * N + i], ws_l[s * N + i]};
      nan = nan || part.l != part.l;
      T sa, sb;
      infonce::merge_state(st, part, &sa, &sb);
      s_scale_acc[s] = sa;
      s_scale_part[s] = sb;
      cnt += ws_cnt[s * N + i];
    }
    T v, lo;
    infonce::finish_loss(st, s0, &v, &lo);
    if (nan) infonce::finish_nan_row(&v, &lo);
    lse[i] = v;
    loss[i] = lo;
    rank[i] = cnt;
    s_l = st.l;
    s_nan = nan;
  }
  __syncthreads();
  if (s_nan) {
    for (int d = threadIdx.x; d < D; d += blockDim.x) dq[i * D + d] = infonce::quiet_nan<T>();
    return;
  }
  for (int d = threadIdx.x; d < D; d += blockDim.x) {
    T a = k[i * D + d];
    for (int s = 0; s < splits; ++s) {
      const T part = s_scale_part[s] == T(0) ? T(0) : ws_acc[(s * N + i) * D + d] * s_scale_part[s];
      a = a * s_scale_acc[s] + part;
    }
    dq[i * D + d] = infonce::finish_dq(a, s_l, k[i * D + d], inv_tau);
  }
}

// Fixed-order block reduction over kThreads values (tree over warps, then over warp results).
template <typename T, typename Op>
__device__ T block_reduce(T v, Op op, T* scratch) {
  for (int o = 16; o > 0; o >>= 1) v = op(v, __shfl_xor_sync(0xffffffffu, v, o));
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  T r = scratch[0];
  for (int w = 1; w < kWarps; ++w) r = op(r, scratch[w]);
  return r;
}

template <typename T>
__global__ void __launch_bounds__(kThreads) online_update_kernel(T* scores, int64_t C, int64_t ld, const T* s0,
                                                                 T* m, T* l, int64_t* rank, T* scale, T tie) {
  __shared__ T scratch[kWarps];
  __shared__ long long cscratch[kWarps];
  const int64_t i = blockIdx.x;
  T* s = scores + i * ld;
  const T threshold = s0[i] + tie;
  T mx = -INFINITY;
  long long c = 0;
  for (int64_t j = threadIdx.x; j < C; j += kThreads) {
    mx = fmax(mx, s[j]);
    c += s[j] > threshold ? 1 : 0;
  }
  mx = block_reduce(mx, [](T a, T b) { return fmax(a, b); }, scratch);
  c = block_reduce(c, [](long long a, long long b) { return a + b; }, cscratch);
  infonce::RowState<T> st{m[i], l[i]};
  const T sc = infonce::rescale_to(st, mx);
  T sum = T(0);
  for (int64_t j = threadIdx.x; j < C; j += kThreads) {
    const T p = infonce::exp_(s[j] - st.m);
    s[j] = p;
    sum += p;
  }
  sum = block_reduce(sum, [](T a, T b) { return a + b; }, scratch);
  if (threadIdx.x == 0) {
    m[i] = st.m;
    l[i] = st.l + sum;
    rank[i] += c;
    scale[i] = sc;
  }
}

void check_launch(const char* what) {
  cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cuda_error_text(err));
}

template <typename T, bool TF32>
void launch_fused(const infonce::InfonceArgs<T>& a, cudaStream_t stream, int device) {
  const int D = static_cast<int>(a.D);
  const size_t smem = infonce::fused_dynamic_shared_bytes(D, sizeof(T), TF32);
  // Limits apply to static + dynamic shared memory; the kernel's static arrays (infonce::FusedRowShared)
  // count too.
  auto kernel = fused_partial_kernel<T, TF32>;
  cudaFuncAttributes attributes{};
  MGCLR_CUDA_CHECK(cudaFuncGetAttributes(&attributes, kernel));
  const size_t total = smem + attributes.sharedSizeBytes;
  int optin = 0;
  MGCLR_CUDA_CHECK(cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
  if (total > static_cast<size_t>(optin))
    throw std::runtime_error("infonce_fused_cuda: D = " + std::to_string(D) + " needs " + std::to_string(total) +
                             " bytes of shared memory per block, the device allows " + std::to_string(optin) +
                             "; use impl='chunked' for this D");
  if (total > static_cast<size_t>(infonce::kSharedBytesWithoutOptin))
    MGCLR_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem)));
  const int64_t S = a.splits;
  const int64_t slice = (a.K + S - 1) / S;
  dim3 grid(static_cast<unsigned>((a.N + kBM - 1) / kBM), static_cast<unsigned>(S));
  MGCLR_LAUNCH(kernel, grid, kThreads, smem, stream, a.q, a.k, a.queue, a.N, a.K, D, a.inv_tau, a.tie_tolerance,
               slice, a.ws_m, a.ws_l, a.ws_acc, a.ws_count);
  check_launch("infonce fused_partial_kernel");
  MGCLR_LAUNCH(fused_combine_kernel<T>, static_cast<unsigned>(a.N), 128, 0, stream,
      a.q, a.k, a.N, D, a.inv_tau, static_cast<int>(S), a.ws_m, a.ws_l, a.ws_acc, a.ws_count, a.loss, a.lse,
      a.rank, a.dq);
  check_launch("infonce fused_combine_kernel");
}

}  // namespace

template <typename T>
void infonce_fused_cuda(const infonce::InfonceArgs<T>& args, CudaLaunch launch) {
  NvtxRange range("mgclr::infonce_fused_cuda");
  if (args.splits < 1 || args.splits > kMaxSplits)
    throw std::invalid_argument("infonce_fused_cuda: splits must be in [1, " + std::to_string(kMaxSplits) + "]");
  DeviceGuard guard(launch.device);
  auto stream = reinterpret_cast<cudaStream_t>(launch.stream);
  if constexpr (std::is_same<T, float>::value) {
    if (args.tf32) {
      launch_fused<float, true>(args, stream, launch.device);
      return;
    }
  }
  launch_fused<T, false>(args, stream, launch.device);
}

template <typename T>
void infonce_online_update_cuda(const infonce::OnlineUpdateArgs<T>& a, CudaLaunch launch) {
  NvtxRange range("mgclr::infonce_online_update_cuda");
  DeviceGuard guard(launch.device);
  auto stream = reinterpret_cast<cudaStream_t>(launch.stream);
  MGCLR_LAUNCH(online_update_kernel<T>, static_cast<unsigned>(a.N), kThreads, 0, stream, a.scores, a.C, a.ld, a.s0,
               a.m, a.l, a.rank, a.scale, a.tie_tolerance);
  check_launch("infonce online_update_kernel");
}

template void infonce_fused_cuda<float>(const infonce::InfonceArgs<float>&, CudaLaunch);
template void infonce_fused_cuda<double>(const infonce::InfonceArgs<double>&, CudaLaunch);
template void infonce_online_update_cuda<float>(const infonce::OnlineUpdateArgs<float>&, CudaLaunch);
template void infonce_online_update_cuda<double>(const infonce::OnlineUpdateArgs<double>&, CudaLaunch);

}  // namespace mgclr
