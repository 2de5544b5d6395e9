// nvtx.h — scoped NVTX3 range for the launchers. Compiles to nothing when the NVTX3 headers are absent
// (NVTX_DISABLE), and costs one branch inside NVTX when no profiler is attached.
#pragma once
#if defined(MGCLR_WITH_NVTX) && !defined(NVTX_DISABLE)
#include <nvtx3/nvToolsExt.h>
namespace mgclr {
struct NvtxRange {
  explicit NvtxRange(const char* name) { nvtxRangePushA(name); }
  ~NvtxRange() { nvtxRangePop(); }
  NvtxRange(const NvtxRange&) = delete;
  NvtxRange& operator=(const NvtxRange&) = delete;
};
}  // namespace mgclr
#else
namespace mgclr {
struct NvtxRange {
  explicit NvtxRange(const char*) {}
};
}  // namespace mgclr
#endif
