// Percentiles and rates for the result model (summarize.h).
#include "reports/summarize.h"

#include <algorithm>

namespace faultline::reports {

namespace {
Duration nearest_rank(const std::vector<Duration>& sorted, std::uint64_t percent) {
  // ceil(p/100 * n), computed in integers so no rounding differs by platform.
  const std::uint64_t n = sorted.size();
  const std::uint64_t rank = (percent * n + 99) / 100;
  return sorted[static_cast<std::size_t>(std::max<std::uint64_t>(rank, 1) - 1)];
}
}  // namespace

LatencySummary summarize_latencies(std::vector<Duration> samples) {
  LatencySummary s;
  if (samples.empty()) return s;
  std::sort(samples.begin(), samples.end());
  s.count = samples.size();
  s.p50 = nearest_rank(samples, 50);
  s.p95 = nearest_rank(samples, 95);
  s.p99 = nearest_rank(samples, 99);
  s.max = samples.back();
  // Quotients and remainders summed apart: the mean of any number of
  // durations without overflowing a 64-bit sum.
  const auto n = static_cast<Duration::rep>(samples.size());
  Duration::rep quotients = 0;
  Duration::rep remainders = 0;
  for (const Duration d : samples) {
    quotients += d.count() / n;
    remainders += d.count() % n;
  }
  s.mean = Duration{quotients + remainders / n};
  return s;
}

double per_minute(std::uint64_t count, Duration over) {
  if (over <= Duration::zero()) return 0;
  return static_cast<double>(count) * 60.0 / runtime::to_seconds(over);
}

double per_second(std::uint64_t count, Duration over) {
  if (over <= Duration::zero()) return 0;
  return static_cast<double>(count) / runtime::to_seconds(over);
}

}  // namespace faultline::reports
