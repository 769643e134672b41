#include "runtime/frame_pool.h"

#include <cstdint>
#include <new>

namespace faultline::runtime::detail {

namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kPooling = false;
#else
constexpr bool kPooling = true;
#endif

constexpr std::size_t kGranule = 64;
constexpr std::size_t kClasses = 32;  // frames up to 2 KiB are pooled
constexpr std::size_t kBytesKeptPerClass = 256 * 1024;

struct FreeBlock {
  FreeBlock* next;
};

enum class CacheState : std::uint8_t { unused, active, gone };

// The lists themselves are plain data, constant-initialised: reaching them
// costs no thread_local guard on the hot path. Only the first block a thread
// keeps touches `t_releaser`, whose destructor hands the lists back to the
// heap when the thread ends.
struct Lists {
  FreeBlock* heads[kClasses];
  std::uint32_t counts[kClasses];
  CacheState state;
};
constinit thread_local Lists t_lists{};

struct Releaser {
  ~Releaser() {
    for (std::size_t c = 0; c < kClasses; ++c) {
      while (t_lists.heads[c] != nullptr) {
        FreeBlock* block = t_lists.heads[c];
        t_lists.heads[c] = block->next;
        ::operator delete(block);
      }
      t_lists.counts[c] = 0;
    }
    // Frames freed after this (static objects destroyed at exit) go
    // straight back to the heap.
    t_lists.state = CacheState::gone;
  }
  void arm() noexcept {}
};
thread_local Releaser t_releaser;

constexpr std::size_t class_of(std::size_t bytes) { return (bytes + kGranule - 1) / kGranule - 1; }

}  // namespace

void* FramePool::allocate(std::size_t bytes) {
  const std::size_t c = class_of(bytes);
  if (!kPooling || c >= kClasses) return ::operator new(bytes);
  // A non-empty list implies an active cache.
  if (FreeBlock* block = t_lists.heads[c]) {
    t_lists.heads[c] = block->next;
    --t_lists.counts[c];
    return block;
  }
  // Blocks of a pooled class are always of the full class size, so one freed
  // while the cache is gone or full goes back to the heap whatever its origin.
  return ::operator new((c + 1) * kGranule);
}

void FramePool::deallocate(void* frame, std::size_t bytes) noexcept {
  const std::size_t c = class_of(bytes);
  if (!kPooling || c >= kClasses) {
    ::operator delete(frame);
    return;
  }
  if (t_lists.state != CacheState::active) [[unlikely]] {
    if (t_lists.state == CacheState::gone) {
      ::operator delete(frame);
      return;
    }
    t_releaser.arm();  // constructs it, so its destructor runs at thread exit
    t_lists.state = CacheState::active;
  }
  if (static_cast<std::size_t>(t_lists.counts[c]) * (c + 1) * kGranule >= kBytesKeptPerClass) {
    ::operator delete(frame);
    return;
  }
  auto* block = static_cast<FreeBlock*>(frame);
  block->next = t_lists.heads[c];
  t_lists.heads[c] = block;
  ++t_lists.counts[c];
}

}  // namespace faultline::runtime::detail
