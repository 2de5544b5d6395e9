// cuda_pipeline.h — the asynchronous-copy primitives for the emulation build (sm_80's cp.async).
//
// Copies are deferred, as on the hardware: __pipeline_memcpy_async records the copy in the calling
// thread's open batch, __pipeline_commit closes the batch, __pipeline_wait_prior(n) performs every batch
// but the newest n. A kernel that reads shared memory before waiting therefore reads the poisoned or
// previous tile in emulation too. Batches left at the end of a block are performed then.
#pragma once
#include <cstddef>

#include "emu/cuda_emu.h"

namespace mgclr_emu {
void async_copy(void* dst, const void* src, size_t bytes);
void async_commit();
void async_wait_prior(size_t prior);
}  // namespace mgclr_emu

inline void __pipeline_memcpy_async(void* dst, const void* src, size_t size_and_align, size_t zfill = 0) {
  (void)zfill;
  ::mgclr_emu::async_copy(dst, src, size_and_align);
}
inline void __pipeline_commit() { ::mgclr_emu::async_commit(); }
inline void __pipeline_wait_prior(size_t prior) { ::mgclr_emu::async_wait_prior(prior); }
