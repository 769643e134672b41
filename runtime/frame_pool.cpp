#include "runtime/frame_pool.h"

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

struct ThreadCache {
  FreeBlock* heads[kClasses] = {};
  std::size_t counts[kClasses] = {};
  ~ThreadCache();
};

// Frames freed after this thread's cache is gone (static objects destroyed
// at exit) go straight back to the heap.
thread_local bool t_cache_gone = false;
thread_local ThreadCache t_cache;

ThreadCache::~ThreadCache() {
  for (std::size_t c = 0; c < kClasses; ++c) {
    while (heads[c] != nullptr) {
      FreeBlock* block = heads[c];
      heads[c] = block->next;
      ::operator delete(block);
    }
  }
  t_cache_gone = true;
}

constexpr std::size_t class_of(std::size_t bytes) { return (bytes + kGranule - 1) / kGranule - 1; }

}  // namespace

void* FramePool::allocate(std::size_t bytes) {
  const std::size_t c = class_of(bytes);
  if (!kPooling || c >= kClasses || t_cache_gone) return ::operator new(bytes);
  if (FreeBlock* block = t_cache.heads[c]) {
    t_cache.heads[c] = block->next;
    --t_cache.counts[c];
    return block;
  }
  return ::operator new((c + 1) * kGranule);
}

void FramePool::deallocate(void* frame, std::size_t bytes) noexcept {
  const std::size_t c = class_of(bytes);
  if (!kPooling || c >= kClasses || t_cache_gone ||
      t_cache.counts[c] * (c + 1) * kGranule >= kBytesKeptPerClass) {
    ::operator delete(frame);
    return;
  }
  auto* block = static_cast<FreeBlock*>(frame);
  block->next = t_cache.heads[c];
  t_cache.heads[c] = block;
  ++t_cache.counts[c];
}

}  // namespace faultline::runtime::detail
