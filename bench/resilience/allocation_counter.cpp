// The replaced global operator new/delete that count allocations. Kept in a
// translation unit of its own so that the compiler never inlines the
// malloc/free pair into a caller and mistakes it for a mismatched pair.
#include "bench/resilience/allocation_counter.h"

#include <cstdlib>
#include <new>

namespace {
std::uint64_t g_allocations = 0;
std::uint64_t g_bytes = 0;

void* counted(std::size_t n) {
  ++g_allocations;
  g_bytes += n;
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
}  // namespace

std::uint64_t allocations() noexcept { return g_allocations; }
std::uint64_t allocated_bytes() noexcept { return g_bytes; }

void* operator new(std::size_t n) { return counted(n); }
void* operator new[](std::size_t n) { return counted(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  ++g_allocations;
  g_bytes += n;
  return std::malloc(n == 0 ? 1 : n);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
