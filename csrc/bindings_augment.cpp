// bindings_augment.cpp — fused augmentation entry points: augment_cpu / augment_cuda.
// Arguments: raw pointers (integers), sizes, the program (two flat lists, see core/augment_program.h),
// seed, offset, replay flag; CUDA also takes the stream handle, the device index and a scratch pointer
// (same size as out, needed when the program blurs, else 0).
#include <pybind11/stl.h>

#include "bindings.h"
#include "core/augment_program.h"
#include "core/nvtx.h"
#include "cpu/augment_cpu.h"
#if defined(MGCLR_WITH_CUDA)
#include "cuda/augment_cuda.h"
#endif

namespace py = pybind11;

namespace mgclr {

void bind_augment(py::module_& m) {
  m.def(
      "augment_cpu",
      [](uintptr_t x, uintptr_t lengths, std::vector<int64_t> shape, std::vector<int64_t> prog_i,
         std::vector<double> prog_f, int32_t n_views, uint64_t seed, uint32_t offset, bool replay,
         uintptr_t records, uintptr_t out_lengths, uintptr_t out) {
        if (shape.size() != 5) throw std::invalid_argument("augment_cpu: shape must have 5 entries");
        const aug::Program prog = aug::decode_program(prog_i, prog_f);
        const aug::Shape s{shape[0], shape[1], shape[2], shape[3], shape[4]};
        if (s.V != prog.n_joints) throw std::invalid_argument("augment_cpu: program was built for another V");
        NvtxRange range("mgclr::augment_cpu");
        py::gil_scoped_release release;
        augment_cpu(as_ptr<const float>(x), as_ptr<const int64_t>(lengths), s, prog, n_views, seed, offset, replay,
                    as_ptr<int32_t>(records), as_ptr<int64_t>(out_lengths), as_ptr<float>(out));
      },
      py::arg("x"), py::arg("lengths"), py::arg("shape"), py::arg("prog_i"), py::arg("prog_f"), py::arg("n_views"),
      py::arg("seed"), py::arg("offset"), py::arg("replay"), py::arg("records"), py::arg("out_lengths"),
      py::arg("out"));
#if defined(MGCLR_WITH_CUDA)
  m.def(
      "augment_cuda",
      [](uintptr_t x, uintptr_t lengths, std::vector<int64_t> shape, std::vector<int64_t> prog_i,
         std::vector<double> prog_f, int32_t n_views, uint64_t seed, uint32_t offset, bool replay,
         uintptr_t records, uintptr_t out_lengths, uintptr_t out, uintptr_t scratch, uintptr_t stream,
         int32_t device) {
        if (shape.size() != 5) throw std::invalid_argument("augment_cuda: shape must have 5 entries");
        const aug::Program prog = aug::decode_program(prog_i, prog_f);
        const aug::Shape s{shape[0], shape[1], shape[2], shape[3], shape[4]};
        if (s.V != prog.n_joints) throw std::invalid_argument("augment_cuda: program was built for another V");
        py::gil_scoped_release release;
        augment_cuda(as_ptr<const float>(x), as_ptr<const int64_t>(lengths), s, prog, n_views, seed, offset, replay,
                     as_ptr<int32_t>(records), as_ptr<int64_t>(out_lengths), as_ptr<float>(out),
                     as_ptr<float>(scratch), stream, device);
      },
      py::arg("x"), py::arg("lengths"), py::arg("shape"), py::arg("prog_i"), py::arg("prog_f"), py::arg("n_views"),
      py::arg("seed"), py::arg("offset"), py::arg("replay"), py::arg("records"), py::arg("out_lengths"),
      py::arg("out"), py::arg("scratch"), py::arg("stream"), py::arg("device"));
#endif
}

}  // namespace mgclr
