// bindings_infonce.cpp — queue InfoNCE entry points (filled in by the InfoNCE work).
#include "bindings.h"

namespace mgclr {
void bind_infonce(pybind11::module_& m) { (void)m; }
}  // namespace mgclr
