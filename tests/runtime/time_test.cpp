#include <gtest/gtest.h>

#include "runtime/time.h"

namespace faultline::runtime {
namespace {

using namespace std::chrono_literals;

TEST(Duration, ParsesTheScenarioForms) {
  Duration d{};
  ASSERT_TRUE(parse_duration("250ms", d));
  EXPECT_EQ(d, 250ms);
  ASSERT_TRUE(parse_duration("30s", d));
  EXPECT_EQ(d, 30s);
  ASSERT_TRUE(parse_duration("5m", d));
  EXPECT_EQ(d, 5min);
  ASSERT_TRUE(parse_duration("2h", d));
  EXPECT_EQ(d, 2h);
  ASSERT_TRUE(parse_duration("1.5s", d));
  EXPECT_EQ(d, 1500ms);
  ASSERT_TRUE(parse_duration("0", d));
  EXPECT_EQ(d, 0s);
}

TEST(Duration, RefusesWhatIsNotADuration) {
  Duration d = 7s;
  for (const char* bad : {"", "5", "-5s", "5 s", "s", "5x", "1e3s", "abc", "5.s.", "99999999999h"}) {
    EXPECT_FALSE(parse_duration(bad, d)) << bad;
  }
  EXPECT_EQ(d, 7s);
}

TEST(Duration, FormatsTheShortestExactForm) {
  EXPECT_EQ(format_duration(1500ms), "1500ms");
  EXPECT_EQ(format_duration(30s), "30s");
  EXPECT_EQ(format_duration(5min), "5m");
  EXPECT_EQ(format_duration(0s), "0");
  Duration back{};
  ASSERT_TRUE(parse_duration(format_duration(90s), back));
  EXPECT_EQ(back, 90s);
}

}  // namespace
}  // namespace faultline::runtime
