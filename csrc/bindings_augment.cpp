// bindings_augment.cpp — fused augmentation entry points.
#include "bindings.h"

namespace mgclr {
void bind_augment(pybind11::module_& m) { (void)m; }
}  // namespace mgclr
