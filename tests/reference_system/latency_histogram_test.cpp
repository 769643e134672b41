// The latency histogram's promise (metrics.h): quantiles of known
// distributions within 1% of the exact nearest-rank value, min and max
// exact, buckets that tile the range with bounded relative width, merging
// equal to recording everything in one, and the range's end counted.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "reference_system/metrics.h"
#include "runtime/random.h"

namespace faultline::reference_system {
namespace {

using runtime::Duration;

// The q-quantile by nearest rank of the samples themselves.
std::int64_t exact_quantile_ns(std::vector<std::int64_t> samples, double q) {
  std::sort(samples.begin(), samples.end());
  const auto rank = std::max<std::size_t>(1, static_cast<std::size_t>(std::ceil(q * static_cast<double>(samples.size()))));
  return samples[rank - 1];
}

void expect_quantiles_within_one_percent(const std::vector<std::int64_t>& samples, const char* what) {
  LatencyHistogram h;
  for (const auto ns : samples) h.record(Duration(ns));
  for (const double q : {0.0, 0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0}) {
    const auto exact = static_cast<double>(exact_quantile_ns(samples, q));
    const auto measured = static_cast<double>(h.percentile(q).count());
    EXPECT_LE(std::fabs(measured - exact), 0.01 * exact) << what << " q=" << q << ": " << measured << " ns against "
                                                         << exact << " ns";
  }
}

TEST(LatencyHistogram, QuantilesOfKnownDistributionsAreWithinOnePercent) {
  std::vector<std::int64_t> uniform;
  for (std::int64_t ms = 1; ms <= 1000; ++ms) uniform.push_back(ms * 1'000'000);
  expect_quantiles_within_one_percent(uniform, "1..1000 ms");

  runtime::Rng rng(20261129);
  std::vector<std::int64_t> lognormal;  // median 800 ms, a long right tail
  std::vector<std::int64_t> exponential;  // mean 2 s
  std::vector<std::int64_t> nanoseconds;  // 0..2000 ns, where the exact buckets end
  for (int i = 0; i < 50'000; ++i) {
    lognormal.push_back(static_cast<std::int64_t>(rng.lognormal(std::log(8e8), 1.2)));
    exponential.push_back(static_cast<std::int64_t>(rng.exponential(1.0 / 2e9)));
    nanoseconds.push_back(static_cast<std::int64_t>(rng.uniform_int(0, 2000)));
  }
  expect_quantiles_within_one_percent(lognormal, "lognormal");
  expect_quantiles_within_one_percent(exponential, "exponential");
  expect_quantiles_within_one_percent(nanoseconds, "0..2000 ns");
}

TEST(LatencyHistogram, P99IsAMeasurementNotABucketEdge) {
  // 990 invoices at 1.2 s and 10 at 300 s: the 99th percentile is 1.2 s,
  // the 99.9th 300 s, to within the histogram's resolution.
  LatencyHistogram h;
  for (int i = 0; i < 990; ++i) h.record(std::chrono::milliseconds(1200));
  for (int i = 0; i < 10; ++i) h.record(std::chrono::seconds(300));
  EXPECT_NEAR(runtime::to_millis(h.percentile(0.99)), 1200.0, 1200.0 * 0.004);
  EXPECT_NEAR(runtime::to_millis(h.percentile(0.999)), 300'000.0, 300'000.0 * 0.004);
  EXPECT_EQ(h.percentile(1.0), std::chrono::seconds(300)) << "the largest sample is the exact maximum";
  EXPECT_NEAR(runtime::to_millis(h.percentile(0.5)), 1200.0, 1200.0 * 0.004);
  EXPECT_EQ(h.percentile(0.0), std::chrono::milliseconds(1200)) << "the smallest sample is the exact minimum";
}

TEST(LatencyHistogram, MinMaxAndMeanAreExact) {
  LatencyHistogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.min(), Duration{});
  EXPECT_EQ(h.max(), Duration{});
  EXPECT_EQ(h.percentile(0.99), Duration{});
  EXPECT_EQ(h.mean(), Duration{});
  for (const std::int64_t ns : {987'654'321LL, 1'234'567LL, 55'555'555LL}) h.record(Duration(ns));
  EXPECT_EQ(h.min(), Duration(1'234'567));
  EXPECT_EQ(h.max(), Duration(987'654'321));
  EXPECT_EQ(h.percentile(0), h.min());
  EXPECT_EQ(h.percentile(1), h.max());
  EXPECT_EQ(h.mean(), Duration((987'654'321LL + 1'234'567LL + 55'555'555LL) / 3));
}

TEST(LatencyHistogram, BucketsTileTheRangeWithBoundedRelativeWidth) {
  for (std::size_t i = 0; i < LatencyHistogram::kBuckets; ++i) {
    const std::uint64_t lowest = LatencyHistogram::bucket_lowest_ns(i);
    const std::uint64_t width = LatencyHistogram::bucket_width_ns(i);
    ASSERT_EQ(LatencyHistogram::bucket_index(lowest), i);
    ASSERT_EQ(LatencyHistogram::bucket_index(lowest + width - 1), i);
    if (i + 1 < LatencyHistogram::kBuckets) {
      ASSERT_EQ(LatencyHistogram::bucket_lowest_ns(i + 1), lowest + width);
    }
    if (width > 1) {
      ASSERT_LE(width * 128, lowest) << "bucket " << i << " wider than 1/128 of its values";
    }
  }
  EXPECT_EQ(LatencyHistogram::bucket_lowest_ns(0), 0u);
  EXPECT_EQ(LatencyHistogram::bucket_lowest_ns(LatencyHistogram::kBuckets - 1) +
                LatencyHistogram::bucket_width_ns(LatencyHistogram::kBuckets - 1),
            std::uint64_t{1} << LatencyHistogram::kRangeBits);
}

TEST(LatencyHistogram, MergingEqualsRecordingEverythingInOne) {
  runtime::Rng rng(7);
  LatencyHistogram all;
  LatencyHistogram first;
  LatencyHistogram second;
  LatencyHistogram empty;
  for (int i = 0; i < 10'000; ++i) {
    const Duration d(static_cast<std::int64_t>(rng.lognormal(std::log(5e7), 2.0)));
    all.record(d);
    (i % 3 == 0 ? first : second).record(d);
  }
  first.merge(second);
  first.merge(empty);
  empty.merge(first);
  for (const LatencyHistogram* h : {&first, &empty}) {
    EXPECT_EQ(h->count(), all.count());
    EXPECT_EQ(h->min(), all.min());
    EXPECT_EQ(h->max(), all.max());
    EXPECT_EQ(h->mean(), all.mean());
    for (const double q : {0.5, 0.95, 0.99}) EXPECT_EQ(h->percentile(q), all.percentile(q)) << q;
    for (std::size_t i = 0; i < LatencyHistogram::kBuckets; ++i) ASSERT_EQ(h->bucket_count(i), all.bucket_count(i));
  }
}

TEST(LatencyHistogram, PastTheRangeIsCountedAndNegativeIsZero) {
  LatencyHistogram h;
  const Duration beyond((std::int64_t{1} << LatencyHistogram::kRangeBits) + 12345);
  h.record(beyond);
  h.record(Duration(-5));
  EXPECT_EQ(h.count(), 2u);
  EXPECT_EQ(h.overflow(), 1u);
  EXPECT_EQ(h.bucket_count(LatencyHistogram::kBuckets - 1), 1u);
  EXPECT_EQ(h.bucket_count(0), 1u);
  EXPECT_EQ(h.max(), beyond) << "the maximum stays exact past the range";
  EXPECT_EQ(h.min(), Duration{});
  EXPECT_LE(h.percentile(0.99), beyond);
}

}  // namespace
}  // namespace faultline::reference_system
