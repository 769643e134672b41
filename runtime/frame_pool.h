// Coroutine frames come and go at every awaited call. A per-thread free list
// per size class turns most of those allocations into a pointer pop, so a
// resilience pattern's happy path allocates nothing once warm. Each list is
// bounded (what it would keep beyond 256 KiB goes back to the heap), and
// sanitizer builds bypass the pool so AddressSanitizer still sees every frame.
#pragma once

#include <cstddef>

namespace faultline::runtime::detail {

class FramePool {
 public:
  static void* allocate(std::size_t bytes);
  static void deallocate(void* frame, std::size_t bytes) noexcept;
};

}  // namespace faultline::runtime::detail
