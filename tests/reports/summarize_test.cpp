// Nearest-rank percentiles and rates.
#include <gtest/gtest.h>

#include <chrono>

#include "reports/summarize.h"

namespace faultline::reports {
namespace {

using namespace std::chrono_literals;

TEST(Summarize, NearestRankPercentiles) {
  std::vector<Duration> samples;
  for (int i = 100; i >= 1; --i) samples.push_back(std::chrono::milliseconds(i));  // unsorted on purpose
  const LatencySummary s = summarize_latencies(samples);
  EXPECT_EQ(s.count, 100u);
  EXPECT_EQ(s.p50, 50ms);
  EXPECT_EQ(s.p95, 95ms);
  EXPECT_EQ(s.p99, 99ms);
  EXPECT_EQ(s.max, 100ms);
  EXPECT_EQ(s.mean, 50500us);
}

TEST(Summarize, SmallAndEmptySamples) {
  EXPECT_EQ(summarize_latencies({}), LatencySummary{});
  const LatencySummary one = summarize_latencies({7ms});
  EXPECT_EQ(one.p50, 7ms);
  EXPECT_EQ(one.p99, 7ms);
  const LatencySummary three = summarize_latencies({1ms, 2ms, 30s});
  EXPECT_EQ(three.p50, 2ms);
  EXPECT_EQ(three.p95, 30s) << "one slow call in three is the p95";
  EXPECT_EQ(three.mean, Duration{(1'000'000 + 2'000'000 + 30'000'000'000LL) / 3});
}

TEST(Summarize, Rates) {
  EXPECT_DOUBLE_EQ(per_minute(46, 15min), 46.0 / 15.0);
  EXPECT_DOUBLE_EQ(per_second(900, 15min), 1.0);
  EXPECT_EQ(per_minute(5, Duration::zero()), 0.0);
}

}  // namespace
}  // namespace faultline::reports
