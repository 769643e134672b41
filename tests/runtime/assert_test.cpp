// FAULTLINE_ASSERT stays on where the standard assert is compiled out: this
// file defines NDEBUG itself, so it holds in every build, not only in the
// release preset's.
#ifndef NDEBUG
#define NDEBUG
#endif
#include "runtime/assert.h"

#include <gtest/gtest.h>

namespace faultline::runtime {
namespace {

int evaluations = 0;
bool counted(bool value) {
  ++evaluations;
  return value;
}

TEST(AssertDeathTest, AFailedAssertionNamesFileLineAndExpressionThenAborts) {
  const int size = 0;
  EXPECT_DEATH(FAULTLINE_ASSERT(size > 0 && "a queue of no room"),
               R"(assert_test\.cpp:[0-9]+: assertion failed: size > 0 && "a queue of no room")");
}

TEST(Assert, AHoldingAssertionGoesOnAndEvaluatesItsConditionOnce) {
  evaluations = 0;
  FAULTLINE_ASSERT(counted(true));
  EXPECT_EQ(evaluations, 1);
}

}  // namespace
}  // namespace faultline::runtime
