// bindings_infonce.cpp — queue InfoNCE entry points. Pointers arrive as integers (torch data_ptr()),
// already validated, contiguous and allocated by python/mgclr/ops/infonce.py; `double_precision` selects
// the float64 kernels (gradcheck), otherwise float32. Each entry fills the launcher's argument struct
// (core/infonce.h) and calls the launcher of the same name.
//
//   infonce_fused_cpu(q, k, queue, N, K, D, tau, tie, loss, lse, rank, dq, double_precision)
//   infonce_fused_cuda(... same ..., ws_m, ws_l, ws_acc, ws_cnt, splits, double_precision, tf32, stream, device)
//   infonce_online_update_cpu(scores, N, C, ld, s0, m, l, rank, scale, tie, double_precision)
//   infonce_online_update_cuda(... same ..., stream, device)
//   infonce_launch() -> dict: the CUDA fused kernel's launch geometry and limits (core/infonce_launch.h),
//     read by python/mgclr/ops/infonce.py; constants, so a CPU-only build has it too
//   infonce_fused_shared_bytes(D, double_precision, tf32): shared memory per block of a fused CUDA launch at
//     width D as the launcher computes it (infonce::fused_shared_bytes), to test Python's arithmetic against
// tie: the tie tolerance of the rank (core/infonce.h), in logit units.
#include <pybind11/stl.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include "bindings.h"
#include "core/infonce_launch.h"
#include "cpu/infonce_cpu.h"
#if defined(MGCLR_WITH_CUDA)
#include "cuda/infonce_cuda.h"
#endif

namespace py = pybind11;

namespace mgclr {
namespace {

using infonce::InfonceArgs;
using infonce::OnlineUpdateArgs;

void check_sizes(const char* fn, int64_t N, int64_t K, int64_t D, double tau, double tie) {
  if (N < 1 || K < 1 || D < 1) throw std::invalid_argument(std::string(fn) + ": N, K and D must be >= 1");
  if (!(tau > 0.0)) throw std::invalid_argument(std::string(fn) + ": tau must be > 0");
  if (!(tie >= 0.0)) throw std::invalid_argument(std::string(fn) + ": the tie tolerance must be >= 0");
}

template <typename T>
InfonceArgs<T> fused_args(uintptr_t q, uintptr_t k, uintptr_t queue, int64_t N, int64_t K, int64_t D, double tau,
                          double tie, uintptr_t loss, uintptr_t lse, uintptr_t rank, uintptr_t dq) {
  InfonceArgs<T> a{};
  a.q = as_ptr<const T>(q);
  a.k = as_ptr<const T>(k);
  a.queue = as_ptr<const T>(queue);
  a.N = N;
  a.K = K;
  a.D = D;
  a.inv_tau = static_cast<T>(1.0 / tau);
  a.tie_tolerance = static_cast<T>(tie);
  a.loss = as_ptr<T>(loss);
  a.lse = as_ptr<T>(lse);
  a.rank = as_ptr<int64_t>(rank);
  a.dq = as_ptr<T>(dq);
  return a;
}

template <typename T>
OnlineUpdateArgs<T> update_args(uintptr_t scores, int64_t N, int64_t C, int64_t ld, uintptr_t s0, uintptr_t m,
                                uintptr_t l, uintptr_t rank, uintptr_t scale, double tie) {
  OnlineUpdateArgs<T> a{};
  a.scores = as_ptr<T>(scores);
  a.N = N;
  a.C = C;
  a.ld = ld;
  a.s0 = as_ptr<const T>(s0);
  a.m = as_ptr<T>(m);
  a.l = as_ptr<T>(l);
  a.rank = as_ptr<int64_t>(rank);
  a.scale = as_ptr<T>(scale);
  a.tie_tolerance = static_cast<T>(tie);
  return a;
}

py::dict infonce_launch() {
  py::dict d;
  for (const auto& c : infonce::kLaunchConstants) d[c.name] = c.value;
  py::dict row_state;  // the kernel's static shared memory, sizeof(FusedRowShared<T>)
  row_state["float32"] = sizeof(infonce::FusedRowShared<float>);
  row_state["float64"] = sizeof(infonce::FusedRowShared<double>);
  d["row_state_bytes"] = row_state;
  return d;
}

size_t fused_shared_bytes(int64_t D, bool double_precision, bool tf32) {
  if (D < 1 || D > (int64_t{1} << 24))
    throw std::invalid_argument("infonce_fused_shared_bytes: D must be in [1, 2^24]");
  const int d = static_cast<int>(D);
  return double_precision ? infonce::fused_shared_bytes<double>(d, false) : infonce::fused_shared_bytes<float>(d, tf32);
}

void check_update_sizes(const char* fn, int64_t N, int64_t C, int64_t ld) {
  if (N < 1 || C < 1 || ld < C) throw std::invalid_argument(std::string(fn) + ": bad sizes");
}

void fused_cpu(uintptr_t q, uintptr_t k, uintptr_t queue, int64_t N, int64_t K, int64_t D, double tau, double tie,
               uintptr_t loss, uintptr_t lse, uintptr_t rank, uintptr_t dq, bool double_precision) {
  check_sizes("infonce_fused_cpu", N, K, D, tau, tie);
  py::gil_scoped_release nogil;
  if (double_precision)
    infonce_fused_cpu(fused_args<double>(q, k, queue, N, K, D, tau, tie, loss, lse, rank, dq));
  else
    infonce_fused_cpu(fused_args<float>(q, k, queue, N, K, D, tau, tie, loss, lse, rank, dq));
}

void online_update_cpu(uintptr_t scores, int64_t N, int64_t C, int64_t ld, uintptr_t s0, uintptr_t m,
                       uintptr_t l, uintptr_t rank, uintptr_t scale, double tie, bool double_precision) {
  check_update_sizes("infonce_online_update_cpu", N, C, ld);
  py::gil_scoped_release nogil;
  if (double_precision)
    infonce_online_update_cpu(update_args<double>(scores, N, C, ld, s0, m, l, rank, scale, tie));
  else
    infonce_online_update_cpu(update_args<float>(scores, N, C, ld, s0, m, l, rank, scale, tie));
}

#if defined(MGCLR_WITH_CUDA)
template <typename T>
void fused_cuda_typed(InfonceArgs<T> a, uintptr_t ws_m, uintptr_t ws_l, uintptr_t ws_acc, uintptr_t ws_cnt,
                      int64_t splits, bool tf32, CudaLaunch launch) {
  a.ws_m = as_ptr<T>(ws_m);
  a.ws_l = as_ptr<T>(ws_l);
  a.ws_acc = as_ptr<T>(ws_acc);
  a.ws_count = as_ptr<int64_t>(ws_cnt);
  a.splits = splits;
  a.tf32 = tf32;
  infonce_fused_cuda(a, launch);
}

void fused_cuda(uintptr_t q, uintptr_t k, uintptr_t queue, int64_t N, int64_t K, int64_t D, double tau, double tie,
                uintptr_t loss, uintptr_t lse, uintptr_t rank, uintptr_t dq, uintptr_t ws_m, uintptr_t ws_l,
                uintptr_t ws_acc, uintptr_t ws_cnt, int64_t splits, bool double_precision, bool tf32,
                uintptr_t stream, int32_t device) {
  check_sizes("infonce_fused_cuda", N, K, D, tau, tie);
  py::gil_scoped_release nogil;
  const CudaLaunch launch{stream, device};
  if (double_precision)
    fused_cuda_typed(fused_args<double>(q, k, queue, N, K, D, tau, tie, loss, lse, rank, dq), ws_m, ws_l, ws_acc,
                     ws_cnt, splits, false, launch);
  else
    fused_cuda_typed(fused_args<float>(q, k, queue, N, K, D, tau, tie, loss, lse, rank, dq), ws_m, ws_l, ws_acc,
                     ws_cnt, splits, tf32, launch);
}

void online_update_cuda(uintptr_t scores, int64_t N, int64_t C, int64_t ld, uintptr_t s0, uintptr_t m, uintptr_t l,
                        uintptr_t rank, uintptr_t scale, double tie, bool double_precision, uintptr_t stream,
                        int32_t device) {
  check_update_sizes("infonce_online_update_cuda", N, C, ld);
  py::gil_scoped_release nogil;
  const CudaLaunch launch{stream, device};
  if (double_precision)
    infonce_online_update_cuda(update_args<double>(scores, N, C, ld, s0, m, l, rank, scale, tie), launch);
  else
    infonce_online_update_cuda(update_args<float>(scores, N, C, ld, s0, m, l, rank, scale, tie), launch);
}
#endif

}  // namespace

void bind_infonce(py::module_& m) {
  m.def("infonce_launch", &infonce_launch,
        "The CUDA fused InfoNCE kernel's launch geometry and limits (core/infonce_launch.h), as a dict");
  m.def("infonce_fused_shared_bytes", &fused_shared_bytes, py::arg("D"), py::arg("double_precision"),
        py::arg("tf32"), "Shared memory per block a fused CUDA launch at width D needs (static + dynamic)");
  m.def("infonce_fused_cpu_fast", &infonce_fused_cpu_fast,
        "Whether the fused CPU kernel has its vectorised path on this CPU (AVX-512F)");
  m.def("infonce_fused_cpu", &fused_cpu, py::arg("q"), py::arg("k"), py::arg("queue"), py::arg("N"),
        py::arg("K"), py::arg("D"), py::arg("tau"), py::arg("tie"), py::arg("loss"), py::arg("lse"), py::arg("rank"),
        py::arg("dq"), py::arg("double_precision"),
        "Fused queue InfoNCE forward on CPU: writes loss, lse, rank (N,) and dq (N, D)");
  m.def("infonce_online_update_cpu", &online_update_cpu, py::arg("scores"), py::arg("N"), py::arg("C"),
        py::arg("ld"), py::arg("s0"), py::arg("m"), py::arg("l"), py::arg("rank"), py::arg("scale"), py::arg("tie"),
        py::arg("double_precision"),
        "One chunk of the online logsumexp: updates m, l, rank; scores -> exp(s - m); writes scale");
#if defined(MGCLR_WITH_CUDA)
  m.def("infonce_fused_cuda", &fused_cuda, py::arg("q"), py::arg("k"), py::arg("queue"), py::arg("N"), py::arg("K"),
        py::arg("D"), py::arg("tau"), py::arg("tie"), py::arg("loss"), py::arg("lse"), py::arg("rank"), py::arg("dq"),
        py::arg("ws_m"), py::arg("ws_l"), py::arg("ws_acc"), py::arg("ws_cnt"), py::arg("splits"),
        py::arg("double_precision"), py::arg("tf32"), py::arg("stream"), py::arg("device"),
        "Fused queue InfoNCE forward on CUDA (split over K, deterministic combine)");
  m.def("infonce_online_update_cuda", &online_update_cuda, py::arg("scores"), py::arg("N"), py::arg("C"),
        py::arg("ld"), py::arg("s0"), py::arg("m"), py::arg("l"), py::arg("rank"), py::arg("scale"), py::arg("tie"),
        py::arg("double_precision"), py::arg("stream"), py::arg("device"), "One chunk of the online logsumexp on CUDA");
#endif
}

}  // namespace mgclr
