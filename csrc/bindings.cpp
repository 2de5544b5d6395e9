// bindings.cpp — the only PYBIND11_MODULE of mgclr. Functions take raw pointers (as integers), sizes,
// scalar parameters and a CUDA stream handle; allocation, validation and device selection belong to the
// Python layer (python/mgclr/ops). See DESIGN.md, Architecture.
#include "bindings.h"

#include <pybind11/stl.h>

#include "core/philox.h"

#if defined(MGCLR_WITH_CUDA)
#include <cuda_runtime.h>
#endif

#ifndef MGCLR_VERSION
#define MGCLR_VERSION "unknown"
#endif
// The architectures nvcc built (CMakeLists.txt, cmake/MgclrCudaArchs.cmake): real ones (SASS) and virtual
// ones (PTX), comma-separated numbers such as "75,80,90"; "?" when CMake could not tell.
#ifndef MGCLR_CUDA_SASS
#define MGCLR_CUDA_SASS ""
#endif
#ifndef MGCLR_CUDA_PTX
#define MGCLR_CUDA_PTX ""
#endif
// mgclr._C, or the test-only mgclr._C_emu: the same bindings over the emulation build of the CUDA sources.
#ifndef MGCLR_MODULE_NAME
#define MGCLR_MODULE_NAME _C
#endif

namespace py = pybind11;

namespace {

py::dict build_info() {
  py::dict info;
  info["version"] = MGCLR_VERSION;
#if defined(MGCLR_WITH_CUDA)
  info["cuda_compiled"] = true;
  info["cuda_archs"] = MGCLR_CUDA_ARCHS;
  info["cuda_sass"] = MGCLR_CUDA_SASS;
  info["cuda_ptx"] = MGCLR_CUDA_PTX;
#if defined(MGCLR_CUDA_EMULATION)
  info["cuda_emulated"] = true;
#else
  info["cuda_emulated"] = false;
#endif
  int runtime = 0;
  cudaRuntimeGetVersion(&runtime);
  info["cuda_runtime_version"] = runtime;
#else
  info["cuda_compiled"] = false;
  info["cuda_archs"] = "";
  info["cuda_sass"] = "";
  info["cuda_ptx"] = "";
  info["cuda_runtime_version"] = 0;
#endif
#if defined(MGCLR_WITH_OPENMP)
  info["openmp"] = true;
#else
  info["openmp"] = false;
#endif
#if defined(MGCLR_WITH_NVTX)
  info["nvtx"] = true;
#else
  info["nvtx"] = false;
#endif
  return info;
}

int cuda_device_count() {
#if defined(MGCLR_WITH_CUDA)
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // no driver or no device: clear the sticky error and report none
    return 0;
  }
  return count;
#else
  return 0;
#endif
}

}  // namespace

PYBIND11_MODULE(MGCLR_MODULE_NAME, m) {
  m.doc() = "mgclr native kernels (CPU, and CUDA when compiled with it)";
  m.def("build_info", &build_info);
  m.def("cuda_device_count", &cuda_device_count);
  m.def(
      "philox4x32_10",
      [](std::vector<uint32_t> counter, std::vector<uint32_t> key) {
        if (counter.size() != 4 || key.size() != 2) throw py::value_error("philox4x32_10: counter needs 4 words, key 2");
        mgclr::Philox4 c{{counter[0], counter[1], counter[2], counter[3]}};
        mgclr::Philox4 r = mgclr::philox4x32_10(c, key[0], key[1]);
        return std::vector<uint32_t>{r.v[0], r.v[1], r.v[2], r.v[3]};
      },
      "Philox4x32-10 of one counter block (for tests)");
  mgclr::bind_augment(m);
  mgclr::bind_infonce(m);
  mgclr::bind_dropout(m);
}
