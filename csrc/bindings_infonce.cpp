// bindings_infonce.cpp — queue InfoNCE entry points. Pointers arrive as integers (torch data_ptr()),
// already validated, contiguous and allocated by python/mgclr/ops/infonce.py; `double_precision`
// selects the float64 kernels (gradcheck), otherwise float32.
#include <cstdint>
#include <stdexcept>

#include "bindings.h"
#include "cpu/infonce_cpu.h"
#if defined(MGCLR_WITH_CUDA)
#include "cuda/infonce_cuda.h"
#endif

namespace py = pybind11;

namespace mgclr {
namespace {

void check_sizes(const char* fn, int64_t N, int64_t K, int64_t D, double tau) {
  if (N < 1 || K < 1 || D < 1)
    throw std::invalid_argument(std::string(fn) + ": N, K and D must be >= 1");
  if (!(tau > 0.0)) throw std::invalid_argument(std::string(fn) + ": tau must be > 0");
}

void fused_cpu(uintptr_t q, uintptr_t k, uintptr_t queue, int64_t N, int64_t K, int64_t D, double tau,
               uintptr_t loss, uintptr_t lse, uintptr_t rank, uintptr_t dq, bool double_precision) {
  check_sizes("infonce_fused_cpu", N, K, D, tau);
  py::gil_scoped_release nogil;
  if (double_precision) {
    cpu::infonce_fused<double>(as_ptr<const double>(q), as_ptr<const double>(k), as_ptr<const double>(queue), N,
                               K, D, 1.0 / tau, as_ptr<double>(loss), as_ptr<double>(lse),
                               as_ptr<int64_t>(rank), as_ptr<double>(dq));
  } else {
    cpu::infonce_fused<float>(as_ptr<const float>(q), as_ptr<const float>(k), as_ptr<const float>(queue), N, K,
                              D, static_cast<float>(1.0 / tau), as_ptr<float>(loss), as_ptr<float>(lse),
                              as_ptr<int64_t>(rank), as_ptr<float>(dq));
  }
}

void online_update_cpu(uintptr_t scores, int64_t N, int64_t C, int64_t ld, uintptr_t s0, uintptr_t m,
                       uintptr_t l, uintptr_t rank, uintptr_t scale, bool double_precision) {
  if (N < 1 || C < 1 || ld < C) throw std::invalid_argument("infonce_online_update_cpu: bad sizes");
  py::gil_scoped_release nogil;
  if (double_precision) {
    cpu::infonce_online_update<double>(as_ptr<double>(scores), N, C, ld, as_ptr<const double>(s0),
                                       as_ptr<double>(m), as_ptr<double>(l), as_ptr<int64_t>(rank),
                                       as_ptr<double>(scale));
  } else {
    cpu::infonce_online_update<float>(as_ptr<float>(scores), N, C, ld, as_ptr<const float>(s0),
                                      as_ptr<float>(m), as_ptr<float>(l), as_ptr<int64_t>(rank),
                                      as_ptr<float>(scale));
  }
}

}  // namespace

void bind_infonce(py::module_& m) {
  m.def("infonce_fused_cpu", &fused_cpu, py::arg("q"), py::arg("k"), py::arg("queue"), py::arg("N"),
        py::arg("K"), py::arg("D"), py::arg("tau"), py::arg("loss"), py::arg("lse"), py::arg("rank"),
        py::arg("dq"), py::arg("double_precision"),
        "Fused queue InfoNCE forward on CPU: writes loss, lse, rank (N,) and dq (N, D)");
  m.def("infonce_online_update_cpu", &online_update_cpu, py::arg("scores"), py::arg("N"), py::arg("C"),
        py::arg("ld"), py::arg("s0"), py::arg("m"), py::arg("l"), py::arg("rank"), py::arg("scale"),
        py::arg("double_precision"),
        "One chunk of the online logsumexp: updates m, l, rank; scores -> exp(s - m); writes scale");
#if defined(MGCLR_WITH_CUDA)
  m.def(
      "infonce_fused_cuda",
      [](uintptr_t q, uintptr_t k, uintptr_t queue, int64_t N, int64_t K, int64_t D, double tau, uintptr_t loss,
         uintptr_t lse, uintptr_t rank, uintptr_t dq, uintptr_t ws_m, uintptr_t ws_l, uintptr_t ws_acc,
         uintptr_t ws_cnt, int64_t splits, bool double_precision, bool tf32, uintptr_t stream, int device) {
        check_sizes("infonce_fused_cuda", N, K, D, tau);
        py::gil_scoped_release nogil;
        cuda::InfonceArgs a{q, k, queue, N, K, D, tau, loss, lse, rank, dq, ws_m, ws_l, ws_acc, ws_cnt, splits};
        cuda::infonce_fused(a, double_precision, tf32, stream, device);
      },
      py::arg("q"), py::arg("k"), py::arg("queue"), py::arg("N"), py::arg("K"), py::arg("D"), py::arg("tau"),
      py::arg("loss"), py::arg("lse"), py::arg("rank"), py::arg("dq"), py::arg("ws_m"), py::arg("ws_l"),
      py::arg("ws_acc"), py::arg("ws_cnt"), py::arg("splits"), py::arg("double_precision"), py::arg("tf32"),
      py::arg("stream"), py::arg("device"),
      "Fused queue InfoNCE forward on CUDA (split over K, deterministic combine)");
  m.def(
      "infonce_online_update_cuda",
      [](uintptr_t scores, int64_t N, int64_t C, int64_t ld, uintptr_t s0, uintptr_t mm, uintptr_t l,
         uintptr_t rank, uintptr_t scale, bool double_precision, uintptr_t stream, int device) {
        if (N < 1 || C < 1 || ld < C) throw std::invalid_argument("infonce_online_update_cuda: bad sizes");
        py::gil_scoped_release nogil;
        cuda::infonce_online_update(scores, N, C, ld, s0, mm, l, rank, scale, double_precision, stream, device);
      },
      py::arg("scores"), py::arg("N"), py::arg("C"), py::arg("ld"), py::arg("s0"), py::arg("m"), py::arg("l"),
      py::arg("rank"), py::arg("scale"), py::arg("double_precision"), py::arg("stream"), py::arg("device"),
      "One chunk of the online logsumexp on CUDA");
#endif
}

}  // namespace mgclr
