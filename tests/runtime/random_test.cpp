#include <gtest/gtest.h>

#include <cmath>

#include "runtime/random.h"

namespace faultline::runtime {
namespace {

TEST(Random, NamedStreamsAreIndependentAndRepeatable) {
  RandomStreams streams(42);
  Rng a1 = streams.stream("fault/ocr");
  Rng a2 = streams.stream("fault/ocr");
  Rng b = streams.stream("fault/po-db");
  for (int i = 0; i < 100; ++i) {
    const auto x = a1.next_u64();
    EXPECT_EQ(x, a2.next_u64());
    EXPECT_NE(x, b.next_u64());
  }
  EXPECT_NE(RandomStreams(43).stream_seed("fault/ocr"), streams.stream_seed("fault/ocr"));
}

// Golden values: the first outputs of each distribution for seed 2026. They
// pin the generator and the distribution code, so a change that would alter
// every recorded replay fails here first. The first two were checked
// against an independent implementation of xoshiro256** seeded by SplitMix64.
TEST(Random, GoldenValuesForAFixedSeed) {
  Rng rng(2026);
  EXPECT_EQ(rng.next_u64(), 10583478199052185109ULL);
  EXPECT_NEAR(rng.uniform01(), 0.28367946027485791, 1e-15);
  EXPECT_EQ(rng.uniform_int(1, 6), 5u);
  EXPECT_EQ(rng.bernoulli(0.5), false);
  EXPECT_NEAR(rng.exponential(2.0), 0.8357505257506409, 1e-12);
  EXPECT_NEAR(rng.normal(10.0, 2.0), 11.770723587771078, 1e-12);
  EXPECT_NEAR(rng.lognormal(0.0, 0.5), 1.8284615510299296, 1e-12);
  EXPECT_NEAR(rng.pareto(1.0, 3.0), 1.094772633687398, 1e-12);
}

TEST(Random, DistributionMomentsMatchTheirDefinitions) {
  Rng rng(7);
  constexpr int n = 200'000;
  double sum_u = 0, sum_e = 0, sum_n = 0, sum_n2 = 0, sum_ln = 0;
  int heads = 0;
  for (int i = 0; i < n; ++i) {
    sum_u += rng.uniform01();
    sum_e += rng.exponential(4.0);
    const double x = rng.normal(3.0, 2.0);
    sum_n += x;
    sum_n2 += x * x;
    sum_ln += std::log(rng.lognormal(1.0, 0.25));
    heads += rng.bernoulli(0.3) ? 1 : 0;
  }
  // Tolerances are about 5 standard errors.
  EXPECT_NEAR(sum_u / n, 0.5, 5 * 0.2887 / std::sqrt(n));
  EXPECT_NEAR(sum_e / n, 0.25, 5 * 0.25 / std::sqrt(n));
  const double mean = sum_n / n;
  EXPECT_NEAR(mean, 3.0, 5 * 2.0 / std::sqrt(n));
  EXPECT_NEAR(std::sqrt(sum_n2 / n - mean * mean), 2.0, 0.03);
  EXPECT_NEAR(sum_ln / n, 1.0, 5 * 0.25 / std::sqrt(n));
  EXPECT_NEAR(static_cast<double>(heads) / n, 0.3, 5 * 0.4583 / std::sqrt(n));
}

TEST(Random, UniformIntStaysInRangeAndCoversIt) {
  Rng rng(9);
  int seen[5] = {};
  for (int i = 0; i < 10'000; ++i) {
    const auto v = rng.uniform_int(10, 14);
    ASSERT_GE(v, 10u);
    ASSERT_LE(v, 14u);
    ++seen[v - 10];
  }
  for (int count : seen) EXPECT_GT(count, 1800);
}

TEST(Random, ParetoNeverBelowItsScale) {
  Rng rng(11);
  for (int i = 0; i < 10'000; ++i) ASSERT_GE(rng.pareto(2.0, 1.5), 2.0);
}

TEST(Random, DerivedSeedsDiffer) {
  EXPECT_EQ(RandomStreams::derive_seed(5, 0), 5u);
  EXPECT_NE(RandomStreams::derive_seed(5, 1), RandomStreams::derive_seed(5, 2));
}

}  // namespace
}  // namespace faultline::runtime
