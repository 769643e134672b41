// Time measures per fault window, from event timestamps at a resolution
// that does not depend on how long the scenario runs:
//   time to recover  from the fault's end to the first step t (every
//                    ev.recovery_step) at which the terminal outcomes over
//                    [t, t + ev.recovery_window) have a throughput and a
//                    success rate of at least ev.recovered_share of the
//                    fault-free baseline's over the same window; judged by
//                    the recovery_time invariant against recovery_time_max.
//   time to detect   from the fault's start to the system's first reaction
//                    attributable to it (see `reacts_to`), up to one
//                    recovery window after the fault's end; reported only.
#include <algorithm>
#include "runtime/assert.h"
#include <optional>
#include <unordered_set>

#include <fmt/core.h>

#include "faults/injector.h"
#include "harness/checks/checkers.h"
#include "harness/checks/evidence.h"
#include "reference_system/events.h"
#include "reference_system/orchestrator.h"
#include "resilience/events.h"

namespace faultline::harness {

using runtime::Duration;
using runtime::Instant;

std::vector<OutcomePoint> outcome_points(const runtime::EventLog& log, Instant start) {
  std::vector<OutcomePoint> out;
  for (const auto& e : log.events()) {
    if (!is<rs::system_events::TerminalOutcome>(e) || e.at < start) continue;
    out.push_back(OutcomePoint{e.at - start, checks::is_success(read<rs::system_events::TerminalOutcome>(e).outcome)});
  }
  // A log is in time order; a hand-built one (tests) need not be.
  std::stable_sort(out.begin(), out.end(), [](const OutcomePoint& a, const OutcomePoint& b) { return a.at < b.at; });
  return out;
}

namespace checks {

namespace {


// Outcomes in time order with a running count of successes, so any window's
// counts are two binary searches.
class OutcomeSeries {
 public:
  explicit OutcomeSeries(std::vector<OutcomePoint> points) : points_(std::move(points)) {
    std::stable_sort(points_.begin(), points_.end(),
                     [](const OutcomePoint& a, const OutcomePoint& b) { return a.at < b.at; });
    successes_before_.reserve(points_.size() + 1);
    successes_before_.push_back(0);
    for (const auto& p : points_) successes_before_.push_back(successes_before_.back() + (p.success ? 1 : 0));
  }

  struct Counts {
    std::uint64_t outcomes = 0;
    std::uint64_t successes = 0;
  };
  // Outcomes at or after `from` and before `to`.
  Counts in(Duration from, Duration to) const {
    const auto first = index_at(from);
    const auto last = index_at(to);
    return Counts{last - first, successes_before_[last] - successes_before_[first]};
  }
  double success_rate() const {
    return points_.empty() ? 0.0 : static_cast<double>(successes_before_.back()) / static_cast<double>(points_.size());
  }

 private:
  std::size_t index_at(Duration t) const {
    return static_cast<std::size_t>(
        std::lower_bound(points_.begin(), points_.end(), t, [](const OutcomePoint& p, Duration d) { return p.at < d; }) -
        points_.begin());
  }

  std::vector<OutcomePoint> points_;
  std::vector<std::uint64_t> successes_before_;
};

// Whether one window of the run is within tolerance of the baseline's same
// window: throughput (terminal outcomes) and success rate each at least
// `share` of the baseline's. A baseline window with no outcomes compares the
// success rate with the baseline's whole-run rate.
bool within_tolerance(OutcomeSeries::Counts run, OutcomeSeries::Counts base, double base_rate_overall, double share) {
  if (static_cast<double>(run.outcomes) < share * static_cast<double>(base.outcomes)) return false;
  if (run.outcomes == 0) return true;
  const double base_rate = base.outcomes == 0 ? base_rate_overall
                                              : static_cast<double>(base.successes) / static_cast<double>(base.outcomes);
  const double rate = static_cast<double>(run.successes) / static_cast<double>(run.outcomes);
  return rate >= share * base_rate;
}

}  // namespace

reports::InvariantResult recovery_time(const Evidence& ev, const Index& ix, std::vector<FaultMeasure>& measures) {
  Result r("recovery_time", "after a fault clears, throughput and success rate return to the fault-free level in time");
  if (ev.faults.empty()) return r.skip("no faults scheduled: nothing to recover from");
  if (ev.baseline_outcomes.empty()) {
    return r.skip("the fault-free baseline completed no invoice: no level to recover to");
  }
  FAULTLINE_ASSERT(ev.recovery_step > Duration::zero() && ev.recovery_window > Duration::zero());
  const OutcomeSeries run(outcome_points(*ev.log, ev.start));
  const OutcomeSeries base(ev.baseline_outcomes);
  const double base_rate = base.success_rate();
  const Duration run_length = ev.end - ev.start;
  std::uint64_t measured = 0;
  Duration slowest{};
  for (std::size_t f = 0; f < ev.faults.size(); ++f) {
    const auto& spec = ev.faults[f];
    std::optional<Duration> recovered;
    for (Duration t = spec.end(); t + ev.recovery_window <= run_length; t += ev.recovery_step) {
      const auto got = run.in(t, t + ev.recovery_window);
      const auto want = base.in(t, t + ev.recovery_window);
      if (within_tolerance(got, want, base_rate, ev.recovered_share)) {
        recovered = t - spec.end();
        break;
      }
    }
    ++measured;
    if (f < measures.size()) measures[f].time_to_recover = recovered;
    if (!recovered) {
      r.violate(ix,
                fmt::format("fault {} ({} on {}) ended at {} and throughput and success rate over {} never returned "
                            "to {:.0f}% of the fault-free level before the run ended",
                            f, faults::to_string(spec.kind), spec.target, ix.at(ev.start + spec.end()),
                            runtime::format_duration(ev.recovery_window), ev.recovered_share * 100),
                {});
    } else if (*recovered > ev.recovery_time_max) {
      r.violate(ix,
                fmt::format("fault {} ({} on {}) took {} to recover, the scenario allows {}", f,
                            faults::to_string(spec.kind), spec.target, runtime::format_duration(*recovered),
                            runtime::format_duration(ev.recovery_time_max)),
                {});
    } else {
      slowest = std::max(slowest, *recovered);
    }
  }
  r.note(fmt::format("{} fault window(s) measured, the slowest recovered in {} (allowed {})", measured,
                     runtime::format_duration(slowest), runtime::format_duration(ev.recovery_time_max)));
  return r.finish();
}

namespace {

// The system's reactions that can be laid at one fault's door. `target` is
// the fault's target's interned name (0 when the log never saw it).
struct Reactions {
  std::uint32_t target = 0;
  std::uint32_t step_of_target = 0;  // "step/<agent>": the orchestrator's retry of the crashed agent's step
  std::uint32_t owner_agent = 0;     // the agent calling a faulted service (fallbacks, degradation)
  std::uint32_t orchestrator = 0;
  // Invoices the fault touched (its `touched` records): a reaction to a
  // bus or workload fault counts only on one of them, so an overlapping
  // fault's reaction is not taken for this one's.
  std::unordered_set<std::uint64_t> touched;
};

bool step_reaction(const Event& e) { return is<pe::RetryScheduled>(e) || is<pe::RetriesExhausted>(e); }

// Whether `e` is the system reacting to `spec`:
//   service faults     the target's breaker opening; a timeout, retry or
//                      give-up on the target; the OCR fallback (OCR
//                      engines) or the matching default after a failed
//                      lookup (PO database)
//   crash              the orchestrator retrying or giving up the crashed
//                      agent's step; the agent's restart
//   pause              the orchestrator retrying or giving up the paused
//                      agent's step; the agent dropping a request it woke
//                      up to find past its deadline
//   checkpoint_outage  a checkpoint the system could not write or read
//   corrupted_input    an invoice it corrupted rejected or sent to review
//   duplicate_delivery a duplicate caught (stale reply, ledger idempotency)
//   reordering         a stale reply noticed
//   bus_partition      a stale reply, a step retried or given up, a request
//                      dropped past its deadline
// (the last four only on an invoice the fault touched, so that an
// overlapping fault's reaction is not taken for this one's)
//   saturation         load shed: a submission refused at intake over the
//                      in-flight bound, a queue refusing, a bulkhead
//                      refusing, an invoice dead-lettered for capacity
bool reacts_to(const faults::FaultSpec& spec, const Reactions& who, const Index& ix, const Event& e,
               std::string_view source_name) {
  using faults::FaultKind;
  switch (spec.kind) {
    case FaultKind::latency:
    case FaultKind::hang:
    case FaultKind::error:
    case FaultKind::outage:
    case FaultKind::invalid_output:
      if (e.source == who.target && who.target != 0) {
        if (is<pe::BreakerTransition>(e)) return read<pe::BreakerTransition>(e).to == resilience::BreakerState::open;
        return is<pe::Timeout>(e) || is<pe::RetryScheduled>(e) || is<pe::RetriesExhausted>(e);
      }
      if (e.source == who.owner_agent && who.owner_agent != 0) {
        if (e.kind == k(rs::SystemEvent::ocr_fallback)) return spec.target == "ocr_engine";
        if (is<se::Degraded>(e)) return spec.target == "po_database" && read<se::Degraded>(e).lookup_failure;
      }
      return false;
    case FaultKind::crash:
      if (who.step_of_target != 0 && e.source == who.step_of_target) return step_reaction(e);
      return e.kind == k(rs::SystemEvent::agent_started) && e.source == who.target && who.target != 0;
    case FaultKind::pause:
      if (who.step_of_target != 0 && e.source == who.step_of_target) return step_reaction(e);
      return e.kind == k(rs::SystemEvent::request_expired) && e.source == who.target && who.target != 0;
    case FaultKind::checkpoint_outage: return e.kind == k(rs::SystemEvent::checkpoint_failed);
    case FaultKind::corrupted_input: {
      if (!is<se::TerminalOutcome>(e) || !who.touched.contains(e.subject)) return false;
      const auto outcome = read<se::TerminalOutcome>(e).outcome;
      if (outcome != rs::InvoiceOutcome::rejected_invalid && outcome != rs::InvoiceOutcome::manual_review) return false;
      const auto it = ix.invoices.find(e.subject);
      return it != ix.invoices.end() && it->second.corruption.has_value();
    }
    case FaultKind::duplicate_delivery:
      return (e.kind == k(rs::SystemEvent::stale_reply) || e.kind == k(rs::SystemEvent::ledger_duplicate)) &&
             who.touched.contains(e.subject);
    case FaultKind::reordering: return e.kind == k(rs::SystemEvent::stale_reply) && who.touched.contains(e.subject);
    case FaultKind::bus_partition:
      if (!who.touched.contains(e.subject)) return false;
      if (e.kind == k(rs::SystemEvent::stale_reply) || e.kind == k(rs::SystemEvent::request_expired)) return true;
      return step_reaction(e) && source_name.starts_with("step/");
    case FaultKind::saturation:
      if (e.kind == k(rs::SystemEvent::message_rejected) || is<pe::BulkheadRejected>(e)) return true;
      if (is<he::Refused>(e)) return read<he::Refused>(e).result == rs::SubmitResult::refused_overloaded;
      return is<se::DeadLettered>(e) && e.source == who.orchestrator && who.orchestrator != 0 &&
             read<se::DeadLettered>(e).cause == resilience::ErrorClass::capacity_exceeded;
    case FaultKind::network: return false;  // live only: the simulator refuses it (check_sim_scenario)
  }
  return false;
}

}  // namespace

void detect_times(const Evidence& ev, const Index& ix, std::vector<FaultMeasure>& measures) {
  const auto& events = ev.log->events();
  for (std::size_t f = 0; f < ev.faults.size() && f < measures.size(); ++f) {
    const auto& spec = ev.faults[f];
    const Instant from = ev.start + spec.start;
    const Instant until = ev.start + spec.end() + ev.recovery_window;
    Reactions who;
    who.target = ev.log->find(spec.target);
    who.step_of_target = ev.log->find("step/" + spec.target);
    who.orchestrator = ev.log->find("orchestrator");
    if (const auto* s = service_named(spec.target)) who.owner_agent = ev.log->find(rs::to_string(s->agent));
    for (const auto& e : events) {
      if (is<fe::Touched>(e) && read<fe::Touched>(e).fault_index == f) {
        who.touched.insert(e.subject);
      }
    }
    std::optional<Instant> first;
    for (const auto& e : events) {
      if (e.at < from || e.at > until || (first && e.at >= *first)) continue;
      if (reacts_to(spec, who, ix, e, ev.log->name(e.source))) first = e.at;
    }
    if (first) measures[f].time_to_detect = *first - from;
  }
}

}  // namespace checks

}  // namespace faultline::harness
