// What the reference system counts about itself, per agent and per service:
// calls, errors by class, retries, breaker state, queue depth, dead-letter
// and manual-review sizes, latency histograms with percentiles, and
// end-to-end latency per invoice. These are the system's own metrics (what a
// dashboard would show); the invariant checkers verify them against the
// event log, never the other way round.
#pragma once

#include <array>
#include <bit>
#include <cstdint>
#include <vector>

#include "reference_system/events.h"
#include "reference_system/policy.h"
#include "resilience/circuit_breaker.h"
#include "resilience/outcome.h"
#include "runtime/time.h"

namespace faultline::reference_system {

// Latencies with bounded relative error, as HdrHistogram counts them: below
// 256 ns every nanosecond has its own bucket; above, each doubling
// [2^k, 2^(k+1)) ns is cut into 128 linear sub-buckets 2^(k-7) ns wide, so a
// bucket is never wider than 1/128 of a value in it. A quantile is reported
// as the midpoint of the bucket holding the sample of that rank (nearest
// rank), clamped to [min, max]: within 1/256 (0.4%) of the recorded value,
// and exact for the first and the last rank.
// min, max and mean are exact. Bounded: 5,632 counters, allocated on the
// first sample, covering 0 to 2^50 ns (13 days); a longer latency is counted
// in the last bucket and in `overflow`, and max still reports it.
class LatencyHistogram {
 public:
  static constexpr int kSubBucketBits = 7;
  static constexpr std::uint64_t kSubBuckets = std::uint64_t{1} << kSubBucketBits;  // per doubling
  static constexpr int kRangeBits = 50;  // latencies below 2^50 ns have a bucket of their own
  static constexpr std::size_t kBuckets = (kRangeBits - kSubBucketBits + 1) * kSubBuckets;

  void record(runtime::Duration d) noexcept {
    if (d.count() < 0) d = runtime::Duration{};
    const auto ns = static_cast<std::uint64_t>(d.count());
    std::size_t i = bucket_index(ns);
    if (i >= kBuckets) [[unlikely]] {
      i = kBuckets - 1;
      ++overflow_;
    }
    if (counts_.empty()) [[unlikely]] counts_.resize(kBuckets);
    ++counts_[i];
    ++count_;
    sum_ns_ += static_cast<long double>(ns);
    if (d > max_) max_ = d;
    if (d < min_) min_ = d;
  }
  std::uint64_t count() const noexcept { return count_; }
  std::uint64_t overflow() const noexcept { return overflow_; }
  runtime::Duration mean() const noexcept;
  runtime::Duration max() const noexcept { return max_; }
  runtime::Duration min() const noexcept { return count_ == 0 ? runtime::Duration{} : min_; }
  // The q-quantile (q in [0, 1]) by nearest rank, within 0.4%; 0 when empty.
  runtime::Duration percentile(double q) const noexcept;
  void merge(const LatencyHistogram& other);

  // The bucket of a latency in ns (kBuckets or more: past the range), and a
  // bucket's first value and width in ns.
  static constexpr std::size_t bucket_index(std::uint64_t ns) noexcept {
    if (ns < 2 * kSubBuckets) return static_cast<std::size_t>(ns);
    const int shift = std::bit_width(ns) - 1 - kSubBucketBits;  // >= 1
    return static_cast<std::size_t>(shift) * kSubBuckets + static_cast<std::size_t>(ns >> shift);
  }
  static constexpr std::uint64_t bucket_lowest_ns(std::size_t i) noexcept {
    if (i < 2 * kSubBuckets) return i;
    const std::size_t shift = i / kSubBuckets - 1;
    return static_cast<std::uint64_t>(i - shift * kSubBuckets) << shift;
  }
  static constexpr std::uint64_t bucket_width_ns(std::size_t i) noexcept {
    return i < 2 * kSubBuckets ? 1 : std::uint64_t{1} << (i / kSubBuckets - 1);
  }
  // Samples counted in bucket i.
  std::uint64_t bucket_count(std::size_t i) const noexcept { return counts_.empty() ? 0 : counts_[i]; }

 private:
  std::vector<std::uint64_t> counts_;  // kBuckets once a sample arrives
  std::uint64_t count_ = 0;
  std::uint64_t overflow_ = 0;
  long double sum_ns_ = 0;
  runtime::Duration max_{};
  runtime::Duration min_ = runtime::Duration::max();
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
  std::uint64_t shed = 0;                // refused at intake: max_in_flight workflows running
  std::uint64_t duplicates_refused = 0;  // refused at intake: the id was already submitted
  std::uint64_t parked = 0;              // workflows a full or failing terminal store made wait
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
  std::uint64_t refused() const { return shed + duplicates_refused; }
  std::uint64_t succeeded() const { return outcome(InvoiceOutcome::posted) + outcome(InvoiceOutcome::posted_degraded); }
};

}  // namespace faultline::reference_system
