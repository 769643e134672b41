#include "harness/checks/slo.h"

#include <algorithm>
#include <map>
#include <set>

#include <fmt/core.h>

#include "reference_system/events.h"
#include "reference_system/ids.h"
#include "resilience/events.h"

namespace faultline::harness {

namespace rs = reference_system;

namespace {

reports::SloResult slo(std::string name, reports::Comparison cmp, double threshold, double observed,
                       std::string unit, std::string what) {
  reports::SloResult r;
  r.name = std::move(name);
  r.comparison = cmp;
  r.threshold = threshold;
  r.observed = observed;
  r.unit = std::move(unit);
  r.passed = cmp == reports::Comparison::kAtMost ? observed <= threshold : observed >= threshold;
  r.message = fmt::format("{} {:.4g} {} {} {:.4g}", what, observed, r.passed ? "within" : "breaks",
                          cmp == reports::Comparison::kAtMost ? "at most" : "at least", threshold);
  return r;
}

}  // namespace

std::uint64_t peak_open_circuits(const runtime::EventLog& log) {
  std::set<std::uint32_t> services;
  for (const auto service : rs::kServices) {
    if (auto id = log.find(rs::to_string(service))) services.insert(id);
  }
  std::set<std::uint32_t> open;
  std::uint64_t peak = 0;
  for (const auto& e : log.events()) {
    if (!is<resilience::pattern_events::BreakerTransition>(e) || !services.contains(e.source)) continue;
    if (read<resilience::pattern_events::BreakerTransition>(e).to == resilience::BreakerState::open) {
      open.insert(e.source);
    }
    else open.erase(e.source);
    peak = std::max<std::uint64_t>(peak, open.size());
  }
  return peak;
}

std::uint64_t peak_retries_per_minute(const runtime::EventLog& log, runtime::Instant start) {
  std::map<std::int64_t, std::uint64_t> per_minute;
  std::uint64_t peak = 0;
  for (const auto& e : log.events()) {
    if (!is<resilience::pattern_events::RetryScheduled>(e) || e.at < start) continue;
    const auto minute = std::chrono::duration_cast<std::chrono::minutes>(e.at - start).count();
    peak = std::max(peak, ++per_minute[minute]);
  }
  return peak;
}

std::uint64_t peak_dead_letter_size(const runtime::EventLog& log) {
  std::uint64_t peak = 0;
  for (const auto& e : log.events()) {
    if (is<rs::system_events::DeadLettered>(e)) peak = std::max(peak, read<rs::system_events::DeadLettered>(e).queue_size);
  }
  return peak;
}

std::vector<reports::SloResult> check_slos(const Expectations& expect, const SloInputs& in) {
  std::vector<reports::SloResult> out;
  const auto& spec = expect.slo;
  if (spec.enabled && in.metrics != nullptr && in.log != nullptr) {
    for (std::size_t a = 0; a < rs::kAgentCount; ++a) {
      const auto& m = in.metrics->agents[a];
      if (m.step_attempts == 0) continue;
      const double rate = static_cast<double>(m.step_failures) / static_cast<double>(m.step_attempts);
      const auto name = rs::to_string(static_cast<rs::AgentId>(a));
      out.push_back(slo("error_rate." + std::string(name), reports::Comparison::kAtMost, spec.agent_error_rate_max,
                        rate, "ratio", fmt::format("{} step error rate", name)));
    }
    if (in.baseline && in.baseline->p99 > runtime::Duration::zero()) {
      const double ratio = runtime::to_seconds(in.metrics->end_to_end.percentile(0.99)) /
                           runtime::to_seconds(in.baseline->p99);
      out.push_back(slo("p99_vs_baseline", reports::Comparison::kAtMost, spec.p99_ratio_max, ratio, "ratio",
                        fmt::format("end-to-end P99 {} vs fault-free {}: ratio",
                                    runtime::format_duration(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        in.metrics->end_to_end.percentile(0.99))),
                                    runtime::format_duration(
                                        std::chrono::duration_cast<std::chrono::milliseconds>(in.baseline->p99)))));
    }
    out.push_back(slo("open_circuits", reports::Comparison::kAtMost, spec.open_circuits_max,
                      static_cast<double>(peak_open_circuits(*in.log)), "count", "circuits open at once:"));
    const auto dlq = std::max(peak_dead_letter_size(*in.log), in.metrics->dead_letter_size);
    out.push_back(slo("dlq_size", reports::Comparison::kAtMost, static_cast<double>(spec.dlq_max),
                      static_cast<double>(dlq), "count", "dead-letter queue peak"));
    out.push_back(slo("retries_per_minute", reports::Comparison::kAtMost, spec.retries_per_minute_max,
                      static_cast<double>(peak_retries_per_minute(*in.log, in.start)), "per_minute",
                      "retries in the busiest minute:"));
  }
  // A rate over no invoice measures nothing: left out, so a workload that
  // submitted nothing is INCONCLUSIVE (the verdict says so), not a FAIL.
  if (expect.success_rate_min > 0 && in.submitted > 0) {
    out.push_back(slo("success_rate", reports::Comparison::kAtLeast, expect.success_rate_min, in.success_rate,
                      "ratio", "success rate"));
  }
  return out;
}

}  // namespace faultline::harness
