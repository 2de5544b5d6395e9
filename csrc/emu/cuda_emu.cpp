// cuda_emu.cpp — the block scheduler of the emulation build (see cuda_emu.h): one fiber per CUDA thread,
// run cooperatively on the launching thread; barriers open when every live thread of their scope arrived.
// The fibers switch with _setjmp/_longjmp (no signal-mask system call per switch, unlike swapcontext);
// ucontext only gives each fiber its stack and first entry. Fortified longjmp refuses to jump between
// stacks, so fortification is off for this file.
#undef _FORTIFY_SOURCE
#include "emu/cuda_emu.h"

#include <setjmp.h>
#include <ucontext.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace mgclr_emu {
namespace {

// Done: returned from the kernel for the current block (counts as arrived at every barrier).
enum class State { Ready, AtBlockBarrier, AtWarpBarrier, Done };

struct AsyncCopy {
  void* dst;
  const void* src;
  size_t bytes;
};

// One fiber per thread index, kept for the whole launch: it runs the kernel once per block.
struct Fiber {
  std::vector<std::vector<AsyncCopy>> batches{1};  // committed batches, then the open one (last)
  ucontext_t start;   // first entry only
  jmp_buf env;        // where it resumes
  bool started = false;
  State state = State::Ready;
  ThreadView view;
};

constexpr size_t kStackBytes = 128 * 1024;  // a kernel's locals plus the by-value Program (~1.7 KB)

struct Block {
  std::vector<Fiber> fibers;
  std::vector<std::unique_ptr<char[]>> stacks;
  std::vector<uint64_t> slots;  // one exchange slot per thread
  ucontext_t scheduler_start;
  jmp_buf scheduler;
  int current = -1;
  const std::function<void()>* body = nullptr;
  std::vector<unsigned char> shared;  // dynamic shared memory (128-byte aligned storage below)
  unsigned char* shared_aligned = nullptr;
  std::string error;                  // an exception in a thread, rethrown by the scheduler
};

Block* g_block = nullptr;        // the block being run (launches are serialised by g_launch_mutex)
std::mutex g_launch_mutex;
cudaError_t g_last_error = cudaSuccess;
std::string g_last_message;
std::map<const void*, int> g_max_dynamic_shared;
ThreadView g_host_view;          // what threadIdx reads outside a launch (never used by the kernels)

void yield_to_scheduler(Fiber& f) {
  if (_setjmp(f.env) == 0) _longjmp(g_block->scheduler, 1);
}

// Never returns: after the last block the launch abandons the suspended fibers and frees their stacks
// (kernel frames hold plain values only, nothing to destroy).
void fiber_main() {
  Block* b = g_block;
  for (;;) {
    try {
      (*b->body)();
    } catch (const std::exception& e) {  // an exception must not unwind past the fiber's own stack
      b->error = e.what();
    }
    Fiber& me = b->fibers[b->current];
    me.state = State::Done;
    yield_to_scheduler(me);  // resumed for the next block
  }
}

[[noreturn]] void deadlock(const char* what) {
  throw std::runtime_error(std::string("emulated CUDA: deadlock: ") + what);
}

Fiber& self() {
  if (g_block == nullptr || g_block->current < 0) throw std::logic_error("emulated CUDA: barrier outside a kernel");
  return g_block->fibers[g_block->current];
}

void wait(State s) {
  Fiber& f = self();
  f.state = s;
  yield_to_scheduler(f);
}

// Opens every barrier whose scope has all its live threads waiting; false when none could open.
bool release(Block& b, unsigned warp_size) {
  const size_t n = b.fibers.size();
  bool released = false;
  for (size_t w0 = 0; w0 < n; w0 += warp_size) {
    const size_t w1 = w0 + warp_size < n ? w0 + warp_size : n;
    bool any = false, all = true;
    for (size_t i = w0; i < w1; ++i) {
      const State s = b.fibers[i].state;
      if (s == State::AtWarpBarrier) any = true;
      else if (s != State::Done) all = false;
    }
    if (any && all) {
      for (size_t i = w0; i < w1; ++i)
        if (b.fibers[i].state == State::AtWarpBarrier) b.fibers[i].state = State::Ready;
      released = true;
    }
  }
  if (released) return true;
  bool any = false, all = true;
  for (const Fiber& f : b.fibers) {
    if (f.state == State::AtBlockBarrier) any = true;
    else if (f.state != State::Done) all = false;
  }
  if (any && all) {
    for (Fiber& f : b.fibers)
      if (f.state == State::AtBlockBarrier) f.state = State::Ready;
    return true;
  }
  return false;
}

void resume(Block& b, int i) {
  b.current = i;
  Fiber& f = b.fibers[i];
  if (_setjmp(b.scheduler) == 0) {
    if (f.started) _longjmp(f.env, 1);
    f.started = true;
    swapcontext(&b.scheduler_start, &f.start);  // first entry; a fiber only comes back by _longjmp
  }
  b.current = -1;
}

void perform(std::vector<AsyncCopy>& batch) {
  for (const AsyncCopy& c : batch) std::memcpy(c.dst, c.src, c.bytes);
  batch.clear();
}

void run_block(Block& b, bool reverse) {
  const int n = static_cast<int>(b.fibers.size());
  for (Fiber& f : b.fibers) f.state = State::Ready;
  struct Drain {  // copies a block never waited for still land before the next block (or the launch end)
    Block& b;
    ~Drain() {
      for (Fiber& f : b.fibers) {
        for (auto& batch : f.batches) perform(batch);
        f.batches.assign(1, {});
      }
    }
  } drain{b};
  for (;;) {
    bool ran = false;
    for (int step = 0; step < n; ++step) {
      const int i = reverse ? n - 1 - step : step;
      if (b.fibers[i].state != State::Ready) continue;
      resume(b, i);
      if (!b.error.empty()) throw std::runtime_error(b.error);
      ran = true;
    }
    if (ran) continue;
    bool done = true;
    for (const Fiber& f : b.fibers) done = done && f.state == State::Done;
    if (done) return;
    if (!release(b, 32))
      deadlock("a __syncthreads or a warp collective that not every live thread of its block / warp reaches");
  }
}

}  // namespace

const ThreadView& view() {
  if (g_block == nullptr || g_block->current < 0) return g_host_view;
  return g_block->fibers[g_block->current].view;
}

unsigned char* dynamic_shared() { return g_block->shared_aligned; }

void sync_block() { wait(State::AtBlockBarrier); }

void async_copy(void* dst, const void* src, size_t bytes) {
  if (bytes != 4 && bytes != 8 && bytes != 16) throw std::runtime_error("emulated CUDA: cp.async of 4, 8 or 16 bytes only");
  if (reinterpret_cast<uintptr_t>(dst) % bytes || reinterpret_cast<uintptr_t>(src) % bytes)
    throw std::runtime_error("emulated CUDA: cp.async addresses must be aligned to the copy size");
  self().batches.back().push_back({dst, src, bytes});
}

void async_commit() { self().batches.emplace_back(); }

void async_wait_prior(size_t prior) {
  Fiber& f = self();
  const size_t committed = f.batches.size() - 1;  // the last one is still open
  if (committed <= prior) return;
  const size_t done = committed - prior;
  for (size_t i = 0; i < done; ++i) perform(f.batches[i]);
  f.batches.erase(f.batches.begin(), f.batches.begin() + static_cast<std::ptrdiff_t>(done));
}
void sync_warp() { wait(State::AtWarpBarrier); }

uint64_t exchange(uint64_t bits, int src_lane) {
  Block& b = *g_block;
  const int me = b.current;
  const int warp0 = me & ~31;
  b.slots[me] = bits;
  sync_warp();
  const int src = warp0 + src_lane;
  if (src_lane < 0 || src_lane > 31 || src >= static_cast<int>(b.fibers.size()) || b.fibers[src].state == State::Done)
    throw std::runtime_error("emulated CUDA: shuffle from lane " + std::to_string(src_lane) +
                             ", which does not exist or has returned");
  const uint64_t out = b.slots[src];
  sync_warp();  // nobody overwrites a slot before every lane has read
  return out;
}

unsigned ballot(bool pred) {
  Block& b = *g_block;
  const int me = b.current;
  const int warp0 = me & ~31;
  b.slots[me] = pred ? 1u : 0u;
  sync_warp();
  unsigned bits = 0;
  for (int l = 0; l < 32 && warp0 + l < static_cast<int>(b.fibers.size()); ++l)
    if (b.fibers[warp0 + l].state != State::Done && b.slots[warp0 + l]) bits |= 1u << l;
  sync_warp();
  return bits;
}

void check_full_mask(unsigned mask) {
  if (mask != 0xffffffffu) throw std::runtime_error("emulated CUDA: only full-warp masks are emulated");
}

int shared_optin() {
  const char* env = std::getenv("MGCLR_EMU_SHARED_OPTIN");
  return env ? std::atoi(env) : 232448;
}

void set_max_dynamic_shared(const void* kernel, int bytes) {
  std::lock_guard<std::mutex> lock(g_launch_mutex);
  g_max_dynamic_shared[kernel] = bytes;
}

cudaError_t get_last_error() {
  std::lock_guard<std::mutex> lock(g_launch_mutex);
  const cudaError_t e = g_last_error;
  g_last_error = cudaSuccess;
  return e;
}

const char* error_string(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    default: return g_last_message.empty() ? "unspecified launch failure" : g_last_message.c_str();
  }
}

void launch(const void* kernel, dim3 grid, dim3 block, size_t shared_bytes, const std::function<void()>& body) {
  std::lock_guard<std::mutex> lock(g_launch_mutex);
  const size_t threads = static_cast<size_t>(block.x) * block.y * block.z;
  if (threads == 0 || threads > 1024 || grid.x == 0 || grid.y == 0 || grid.z == 0 || grid.y > 65535 ||
      grid.z > 65535) {
    g_last_error = cudaErrorInvalidConfiguration;
    return;
  }
  auto limit = g_max_dynamic_shared.find(kernel);
  const size_t allowed = limit == g_max_dynamic_shared.end() ? 48 * 1024 : static_cast<size_t>(limit->second);
  if (shared_bytes > allowed || shared_bytes > static_cast<size_t>(shared_optin())) {
    g_last_error = cudaErrorInvalidValue;  // what a real launch reports for too much dynamic shared memory
    return;
  }
  const char* order = std::getenv("MGCLR_EMU_ORDER");
  const bool reverse = order != nullptr && std::string(order) == "reverse";
  Block b;
  b.fibers.resize(threads);
  b.slots.assign(threads, 0);
  for (size_t i = 0; i < threads; ++i) b.stacks.emplace_back(new char[kStackBytes]);
  b.shared.assign(shared_bytes + 128, 0xff);  // poisoned: a read before a write sees NaN-like bytes
  b.shared_aligned = b.shared.data() + (128 - reinterpret_cast<uintptr_t>(b.shared.data()) % 128) % 128;
  b.body = &body;
  for (size_t i = 0; i < threads; ++i) {
    Fiber& f = b.fibers[i];
    getcontext(&f.start);
    f.start.uc_stack.ss_sp = b.stacks[i].get();
    f.start.uc_stack.ss_size = kStackBytes;
    f.start.uc_link = nullptr;
    makecontext(&f.start, fiber_main, 0);
  }
  g_block = &b;
  try {
    for (unsigned bz = 0; bz < grid.z; ++bz)
      for (unsigned by = 0; by < grid.y; ++by)
        for (unsigned bx = 0; bx < grid.x; ++bx) {
          std::fill(b.shared.begin(), b.shared.end(), 0xff);
          for (size_t i = 0; i < threads; ++i) {
            ThreadView& v = b.fibers[i].view;
            v.thread = dim3(static_cast<unsigned>(i % block.x), static_cast<unsigned>(i / block.x % block.y),
                            static_cast<unsigned>(i / (static_cast<size_t>(block.x) * block.y)));
            v.block = dim3(bx, by, bz);
            v.block_dim = block;
            v.grid_dim = grid;
          }
          run_block(b, reverse);
        }
  } catch (const std::exception& e) {
    g_last_error = cudaErrorLaunchFailure;
    g_last_message = e.what();
  }
  g_block = nullptr;
}

}  // namespace mgclr_emu
