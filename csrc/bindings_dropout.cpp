// bindings_dropout.cpp — the counter-RNG dropout (core/dropout.h). Pointers arrive as integers (torch
// data_ptr()), already validated, contiguous and allocated by python/mgclr/ops/dropout.py; p = 0 and p = 1
// never get here (the Python layer returns x and x * 0).
//
//   dropout_cpu(x, out, n, threshold, scale, seed, offset, double_precision)
//   dropout_cuda(... same ..., stream, device)
//   dropout_layout() -> {"block", "lanes", "stream"}: core/dropout.h's element layout, for the reference
#include <cstdint>
#include <stdexcept>

#include "bindings.h"
#include "cpu/dropout_cpu.h"
#if defined(MGCLR_WITH_CUDA)
#include "cuda/dropout_cuda.h"
#endif

namespace py = pybind11;

namespace mgclr {
namespace {

using dropout::DropoutArgs;

template <typename T>
DropoutArgs<T> dropout_args(uintptr_t x, uintptr_t out, int64_t n, uint32_t threshold, double scale, uint64_t seed,
                            uint32_t offset) {
  if (n < 1) throw std::invalid_argument("dropout: n must be >= 1");
  if (threshold == 0) throw std::invalid_argument("dropout: threshold must be > 0 (p = 0 is the identity)");
  DropoutArgs<T> a{};
  a.x = as_ptr<const T>(x);
  a.out = as_ptr<T>(out);
  a.n = n;
  a.threshold = threshold;
  a.scale = static_cast<T>(scale);
  a.key0 = static_cast<uint32_t>(seed);
  a.key1 = static_cast<uint32_t>(seed >> 32);
  a.offset = offset;
  return a;
}

void run_cpu(uintptr_t x, uintptr_t out, int64_t n, uint32_t threshold, double scale, uint64_t seed, uint32_t offset,
             bool double_precision) {
  if (double_precision) {
    const auto a = dropout_args<double>(x, out, n, threshold, scale, seed, offset);
    py::gil_scoped_release nogil;
    dropout_cpu(a);
  } else {
    const auto a = dropout_args<float>(x, out, n, threshold, scale, seed, offset);
    py::gil_scoped_release nogil;
    dropout_cpu(a);
  }
}

#if defined(MGCLR_WITH_CUDA)
void run_cuda(uintptr_t x, uintptr_t out, int64_t n, uint32_t threshold, double scale, uint64_t seed, uint32_t offset,
              bool double_precision, uintptr_t stream, int32_t device) {
  const CudaLaunch launch{stream, device};
  if (double_precision) {
    const auto a = dropout_args<double>(x, out, n, threshold, scale, seed, offset);
    py::gil_scoped_release nogil;
    dropout_cuda(a, launch);
  } else {
    const auto a = dropout_args<float>(x, out, n, threshold, scale, seed, offset);
    py::gil_scoped_release nogil;
    dropout_cuda(a, launch);
  }
}
#endif

py::dict layout() {
  py::dict d;
  d["block"] = dropout::kBlock;
  d["lanes"] = dropout::kLanes;
  d["stream"] = dropout::kStream;
  return d;
}

}  // namespace

void bind_dropout(py::module_& m) {
  m.def("dropout_layout", &layout, "core/dropout.h's element layout: block, lanes, stream (counter word 1)");
  m.def("dropout_cpu_fast", &dropout_cpu_fast, "Whether the float CPU dropout has its vector path here (AVX2)");
  m.def("dropout_cpu", &run_cpu, py::arg("x"), py::arg("out"), py::arg("n"), py::arg("threshold"), py::arg("scale"),
        py::arg("seed"), py::arg("offset"), py::arg("double_precision"),
        "Counter-RNG dropout on CPU: out = x * (keep ? scale : 0)");
#if defined(MGCLR_WITH_CUDA)
  m.def("dropout_cuda", &run_cuda, py::arg("x"), py::arg("out"), py::arg("n"), py::arg("threshold"),
        py::arg("scale"), py::arg("seed"), py::arg("offset"), py::arg("double_precision"), py::arg("stream"),
        py::arg("device"), "Counter-RNG dropout on CUDA: out = x * (keep ? scale : 0)");
#endif
}

}  // namespace mgclr
