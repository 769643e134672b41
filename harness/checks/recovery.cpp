// Time measures per fault window: recovery_time (throughput back to the
// fault-free baseline's level in time) and the time each fault was detected.
#include <algorithm>
#include <map>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include <fmt/core.h>

#include "faults/injector.h"
#include "harness/checks/checkers.h"
#include "harness/checks/evidence.h"
#include "reference_system/events.h"
#include "resilience/events.h"

namespace faultline::harness {

using runtime::Duration;
using runtime::Instant;

std::vector<std::uint64_t> succeeded_per_bucket(const runtime::EventLog& log, Instant start, Duration width,
                                                Instant end) {
  const auto buckets = static_cast<std::size_t>((end - start + width - Duration(1)) / width);
  std::vector<std::uint64_t> out(buckets, 0);
  for (const auto& e : log.events()) {
    if (e.kind != checks::k(rs::Kind::outcome) || !checks::is_success(e.detail) || e.at < start) continue;
    const auto b = static_cast<std::size_t>((e.at - start) / width);
    if (b < out.size()) ++out[b];
  }
  return out;
}

namespace checks {


reports::InvariantResult recovery_time(const Evidence& ev, const Index& ix, std::vector<FaultMeasure>& measures) {
  Result r("recovery_time", "after a fault clears, throughput returns to its fault-free level in time");
  const auto mine = succeeded_per_bucket(*ev.log, ev.start, ev.bucket_width, ev.end);
  const auto workload_buckets = static_cast<std::size_t>((ev.workload_end - ev.start) / ev.bucket_width);
  std::uint64_t measured = 0;
  for (std::size_t f = 0; f < ev.faults.size(); ++f) {
    const auto& spec = ev.faults[f];
    const Instant end = ev.start + spec.end();
    // Compare cumulative successes from the fault's end onwards: a system
    // that catches up on its backlog recovers, one that keeps losing does not.
    const auto first = static_cast<std::size_t>((end - ev.start + ev.bucket_width - Duration(1)) / ev.bucket_width);
    if (first >= workload_buckets || ev.baseline_succeeded.empty()) continue;
    std::optional<Duration> recovered;
    for (std::size_t b = first; b < workload_buckets && b < mine.size() && b < ev.baseline_succeeded.size(); ++b) {
      // A window of three buckets smooths single-bucket noise.
      std::uint64_t got = 0, want = 0;
      for (std::size_t w = b; w < b + 3 && w < mine.size() && w < ev.baseline_succeeded.size(); ++w) {
        got += mine[w];
        want += ev.baseline_succeeded[w];
      }
      if (static_cast<double>(got) >= ev.recovered_share * static_cast<double>(want)) {
        const Instant at = ev.start + ev.bucket_width * static_cast<std::int64_t>(b);
        recovered = std::max(Duration::zero(), at - end);
        break;
      }
    }
    ++measured;
    if (f < measures.size()) measures[f].time_to_recover = recovered;
    if (!recovered) {
      r.violate(ix,
                fmt::format("fault {} ({} on {}) ended at {} and throughput never returned to {:.0f}% of the "
                            "fault-free level",
                            f, faults::to_string(spec.kind), spec.target, ix.at(end), ev.recovered_share * 100),
                {});
    } else if (*recovered > ev.recovery_time_max) {
      r.violate(ix,
                fmt::format("fault {} ({} on {}) took {} to recover, the scenario allows {}", f,
                            faults::to_string(spec.kind), spec.target, runtime::format_duration(*recovered),
                            runtime::format_duration(ev.recovery_time_max)),
                {});
    }
  }
  r.note(fmt::format("{} fault window(s) measured, each recovered within {}", measured,
                     runtime::format_duration(ev.recovery_time_max)));
  return r.finish();
}

// When the system first noticed each fault: the first failed call on its
// target, the crash itself, or the first unsuccessful outcome after it began.
void detect_times(const Evidence& ev, const Index& ix, std::vector<FaultMeasure>& measures) {
  const auto& events = ev.log->events();
  for (std::size_t f = 0; f < ev.faults.size() && f < measures.size(); ++f) {
    const auto& spec = ev.faults[f];
    const Instant from = ev.start + spec.start;
    const std::uint32_t target = ev.log->find(spec.target);
    for (const auto& e : events) {
      if (e.at < from) continue;
      bool hit = false;
      if (e.kind == k(Kind::call_end) && e.detail != 0 && e.source == target) hit = true;
      if (e.kind == k(Kind::call_abandoned) && e.source == target) hit = true;
      if (e.kind == k(rs::Kind::agent_stopped) && e.source == target) hit = true;
      if (e.kind == k(resilience::Kind::breaker_transition) && e.source == target) hit = true;
      if (e.kind == k(rs::Kind::outcome) && !is_success(e.detail)) hit = true;
      if (e.kind == k(rs::Kind::checkpoint_failed) && spec.kind == faults::FaultKind::checkpoint_outage) hit = true;
      if (hit) {
        measures[f].time_to_detect = e.at - from;
        break;
      }
    }
  }
  (void)ix;
}
}  // namespace checks

}  // namespace faultline::harness
