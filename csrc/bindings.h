// bindings.h — each area of the extension registers its functions on the one module mgclr._C.
// The module itself (PYBIND11_MODULE) lives only in bindings.cpp.
#pragma once
#include <pybind11/pybind11.h>

namespace mgclr {
void bind_augment(pybind11::module_& m);   // bindings_augment.cpp
void bind_infonce(pybind11::module_& m);   // bindings_infonce.cpp
void bind_dropout(pybind11::module_& m);   // bindings_dropout.cpp

// Raw device pointers and CUDA streams cross the boundary as integers (torch's data_ptr(), cuda_stream).
template <typename T>
T* as_ptr(uintptr_t address) { return reinterpret_cast<T*>(address); }
}  // namespace mgclr
