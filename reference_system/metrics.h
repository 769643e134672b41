// What the reference system counts about itself, per agent and per service:
// calls, errors by class, retries, breaker state, queue depth, dead-letter
// and manual-review sizes, latency histograms with percentiles, and
// end-to-end latency per invoice. These are the system's own metrics (what a
// dashboard would show); the invariant checkers verify them against the
// event log, never the other way round.
#pragma once

#include <array>
#include <cstdint>

#include "reference_system/events.h"
#include "reference_system/policy.h"
#include "resilience/circuit_breaker.h"
#include "resilience/outcome.h"
#include "runtime/time.h"

namespace faultline::reference_system {

// Latencies in logarithmic buckets: four per doubling from 1 microsecond
// to about 9 days, so a percentile is exact within 19%. Bounded: values past
// the last bucket land in it and are counted in `overflow`.
class LatencyHistogram {
 public:
  static constexpr std::size_t kBuckets = 160;

  void record(runtime::Duration d) noexcept;
  std::uint64_t count() const noexcept { return count_; }
  std::uint64_t overflow() const noexcept { return overflow_; }
  runtime::Duration mean() const noexcept;
  runtime::Duration max() const noexcept { return max_; }
  // The upper bound of the bucket holding the q-quantile (q in [0, 1]).
  runtime::Duration percentile(double q) const noexcept;
  const std::array<std::uint64_t, kBuckets>& buckets() const noexcept { return buckets_; }
  static runtime::Duration bucket_upper_bound(std::size_t i) noexcept;
  void merge(const LatencyHistogram& other) noexcept;

 private:
  std::array<std::uint64_t, kBuckets> buckets_{};
  std::uint64_t count_ = 0;
  std::uint64_t overflow_ = 0;
  long double sum_ns_ = 0;
  runtime::Duration max_{};
};

struct CallMetrics {
  std::uint64_t calls = 0;     // logical calls (a retried call counts once)
  std::uint64_t attempts = 0;  // every attempt
  std::uint64_t retries = 0;   // attempts after the first
  std::uint64_t errors = 0;    // attempts that failed
  std::array<std::uint64_t, resilience::kErrorClassCount> errors_by_class{};
  LatencyHistogram latency;    // per attempt
};

struct ServiceMetrics : CallMetrics {
  resilience::BreakerState breaker_state = resilience::BreakerState::closed;
  std::uint64_t breaker_opened = 0;
};

struct AgentMetrics {
  std::uint64_t handled = 0;   // requests processed to a reply
  std::uint64_t step_attempts = 0;
  std::uint64_t step_retries = 0;
  std::uint64_t step_failures = 0;  // attempts that failed (any class)
  std::array<std::uint64_t, resilience::kErrorClassCount> errors_by_class{};
  std::uint64_t rejected = 0;
  std::uint64_t degraded = 0;
  std::uint64_t queue_depth_max = 0;
  std::uint64_t queue_rejected = 0;
  std::uint64_t restarts = 0;
  std::uint64_t expired = 0;  // requests dropped unhandled: their workflow was past its deadline
  std::uint64_t duplicates = 0;  // deliveries dropped: their request was handled already
  std::uint64_t handled_forgotten = 0;  // handled requests forgotten early (record at its bound)
  LatencyHistogram latency;  // request published -> reply received
};

struct SystemMetrics {
  std::array<AgentMetrics, kAgentCount> agents{};
  std::array<ServiceMetrics, kServiceCount> services{};
  std::array<std::uint64_t, kOutcomeCount> outcomes{};
  std::uint64_t submitted = 0;
  std::uint64_t shed = 0;  // refused at intake (in-flight bound): dead-lettered
  std::uint64_t dead_letter_size = 0;
  std::uint64_t manual_review_size = 0;
  std::uint64_t checkpoint_saves = 0;
  std::uint64_t checkpoint_failures = 0;
  std::uint64_t stale_replies = 0;
  std::uint64_t ocr_fallbacks = 0;
  std::uint64_t compensations = 0;
  std::uint64_t compensation_failures = 0;
  LatencyHistogram end_to_end;          // every terminal outcome
  LatencyHistogram end_to_end_success;  // posted and posted_degraded

  AgentMetrics& agent(AgentId a) { return agents[static_cast<std::size_t>(a)]; }
  const AgentMetrics& agent(AgentId a) const { return agents[static_cast<std::size_t>(a)]; }
  ServiceMetrics& service(ServiceId s) { return services[static_cast<std::size_t>(s)]; }
  const ServiceMetrics& service(ServiceId s) const { return services[static_cast<std::size_t>(s)]; }
  std::uint64_t outcome(InvoiceOutcome o) const { return outcomes[static_cast<std::size_t>(o)]; }
  std::uint64_t terminal() const;
  std::uint64_t succeeded() const { return outcome(InvoiceOutcome::posted) + outcome(InvoiceOutcome::posted_degraded); }
};

}  // namespace faultline::reference_system
