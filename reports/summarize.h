// Small, deterministic computations the harness needs to fill the result
// model the same way everywhere: latency percentiles by nearest rank, and
// per-minute / per-second rates over scenario time.
//
//   std::vector<Duration> e2e = ...;   // one sample per completed invoice
//   s.end_to_end = reports::summarize_latencies(e2e);
//   s.retries_per_minute = reports::per_minute(s.retries, s.duration);
#pragma once

#include <cstdint>
#include <vector>

#include "reports/result.h"

namespace faultline::reports {

// p50/p95/p99 by nearest rank (the smallest sample with at least p% of the
// samples at or below it), max, and the mean rounded down to a nanosecond.
// All zero for no samples. Takes the samples by value: it sorts them.
LatencySummary summarize_latencies(std::vector<Duration> samples);

// count per minute / per second of `over`; 0 when `over` is not positive.
double per_minute(std::uint64_t count, Duration over);
double per_second(std::uint64_t count, Duration over);

}  // namespace faultline::reports
