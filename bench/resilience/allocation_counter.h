// Heap allocations made by this process so far, counted by a replacement of
// the global operator new (allocation_counter.cpp): how the benchmarks prove
// a happy path allocates nothing.
#pragma once

#include <cstdint>

std::uint64_t allocations() noexcept;
// Bytes those allocations asked for.
std::uint64_t allocated_bytes() noexcept;
