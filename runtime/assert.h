// FAULTLINE_ASSERT(cond): an assertion that stays on in every build. The
// release preset compiles with -DNDEBUG, which turns the standard `assert`
// into nothing; a broken invariant of the program itself must stop it there
// too, before it turns into a wrong report. On failure it prints
// "file:line: assertion failed: cond" to stderr and aborts.
//
//   FAULTLINE_ASSERT(index < timers_.size());
//   FAULTLINE_ASSERT(ok() && "value() of a failed Outcome");
//
// The condition is evaluated exactly once. The check costs a compare and a
// branch predicted taken; the failure path is out of line.
// tests/runtime/source_scan_test.cpp bans the bare `assert(` in the layers
// that use this.
#pragma once

namespace faultline::runtime::internal {

[[noreturn, gnu::cold]] void assertion_failed(const char* expression, const char* file, int line) noexcept;

}  // namespace faultline::runtime::internal

#define FAULTLINE_ASSERT(cond)                          \
  (__builtin_expect(static_cast<bool>(cond), 1)         \
       ? static_cast<void>(0)                           \
       : ::faultline::runtime::internal::assertion_failed(#cond, __FILE__, __LINE__))
