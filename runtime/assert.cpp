// The out-of-line failure path of FAULTLINE_ASSERT (runtime/assert.h).
#include "runtime/assert.h"

#include <cstdio>
#include <cstdlib>

namespace faultline::runtime::internal {

void assertion_failed(const char* expression, const char* file, int line) noexcept {
  std::fprintf(stderr, "%s:%d: assertion failed: %s\n", file, line, expression);
  std::fflush(stderr);
  std::abort();
}

}  // namespace faultline::runtime::internal
