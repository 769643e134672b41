// The SLO checks: the article's alert table, with the scenario's thresholds,
// against the run's metrics and event log and its fault-free baseline.
//   error rate per agent over 5%       error_rate.<agent>
//   P99 over 2x the baseline           p99_vs_baseline
//   more than 1 open circuit           open_circuits (at any one time)
//   DLQ over 100 messages              dlq_size (its largest)
//   more than 50 retries per minute    retries_per_minute (the busiest minute)
//   the scenario's success-rate target success_rate
#pragma once

#include <cstdint>
#include <vector>

#include "harness/scenario.h"
#include "reference_system/metrics.h"
#include "reports/result.h"
#include "runtime/event_log.h"

namespace faultline::harness {

struct SloInputs {
  const reference_system::SystemMetrics* metrics = nullptr;
  const runtime::EventLog* log = nullptr;
  runtime::Instant start{};
  runtime::Instant end{};
  double success_rate = 0;
  std::uint64_t submitted = 0;  // no submission: the success rate is not measured
  std::optional<reports::Baseline> baseline;
};

// Measures from the event log, shared with the report.
std::uint64_t peak_open_circuits(const runtime::EventLog& log);
std::uint64_t peak_retries_per_minute(const runtime::EventLog& log, runtime::Instant start);
std::uint64_t peak_dead_letter_size(const runtime::EventLog& log);

[[nodiscard]] std::vector<reports::SloResult> check_slos(const Expectations& expect, const SloInputs& in);

}  // namespace faultline::harness
