// Checkers that read the probes' call records: bounded_retries, timeouts,
// circuit_breaker, and degradation (what was posted given which calls failed).
#include <algorithm>
#include <map>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include <fmt/core.h>

#include "faults/injector.h"
#include "harness/checks/checkers.h"
#include "harness/checks/evidence.h"
#include "reference_system/agents.h"
#include "reference_system/events.h"
#include "resilience/events.h"

namespace faultline::harness::checks {

namespace {

// The shortest delay the policy's schedule allows before any retry.
Duration min_retry_delay(const resilience::RetryPolicy& p) {
  if (p.max_attempts <= 1) return Duration::max();
  const Duration first = std::min(p.base_delay, p.max_delay);
  switch (p.jitter) {
    case resilience::Jitter::none: return first;
    case resilience::Jitter::equal: return first / 2;
    case resilience::Jitter::full: return Duration::zero();
    case resilience::Jitter::decorrelated: return std::min(p.base_delay, p.max_delay);
  }
  return Duration::zero();
}

}  // namespace

reports::InvariantResult bounded_retries(const Evidence& ev, const Index& ix) {
  Result r("bounded_retries", "no call attempted more often than its policy allows; backoff never shorter");
  if (ev.policy == nullptr) return r.skip("no policy to hold the calls to");
  if (ix.calls.empty()) return r.skip("no external call was made");
  // (service, invoice, op) -> calls in order.
  std::map<std::tuple<std::string, std::uint64_t, rs::ServiceOp>, std::vector<std::size_t>> groups;
  for (std::size_t i = 0; i < ix.calls.size(); ++i) {
    const auto& c = ix.calls[i];
    groups[{std::string(ix.name(c.source)), c.subject, c.op}].push_back(i);
  }
  for (const auto& [key, list] : groups) {
    const auto& [service, invoice, op] = key;
    const auto* info = service_named(service);
    if (info == nullptr) continue;
    const auto& sp = ev.policy->service(info->id);
    const auto& ap = ev.policy->agent(info->agent);
    const auto inv_it = ix.invoices.find(invoice);
    std::uint64_t reruns = 1;
    if (auto it = ix.restarts_by_agent.find(std::string(rs::to_string(info->agent))); it != ix.restarts_by_agent.end()) {
      reruns += it->second;
    }
    if (inv_it != ix.invoices.end()) {
      reruns += inv_it->second.duplicates_delivered;
      if (inv_it->second.submissions > 1) reruns += inv_it->second.submissions - 1;
    }
    std::uint64_t allowed = std::uint64_t{sp.retry.max_attempts} * ap.retry.max_attempts * reruns;
    std::string why = fmt::format("{} per call x {} step attempts x {} run(s)", sp.retry.max_attempts,
                                  ap.retry.max_attempts, reruns);
    // A compensation runs once per aborted saga (at most one per step
    // attempt) and once per undo request, and is tried again on its own
    // schedule within each run.
    const bool compensation = op == rs::ServiceOp::ledger_reverse || op == rs::ServiceOp::budget_release;
    if (compensation) {
      const std::uint64_t runs =
          std::uint64_t{ap.retry.max_attempts} * reruns + (inv_it != ix.invoices.end() ? inv_it->second.undo_requests : 0);
      allowed = std::uint64_t{sp.retry.max_attempts} * rs::max_compensation_tries() * runs;
      why = fmt::format("{} per call x {} tries per compensation x {} compensation run(s)", sp.retry.max_attempts,
                        rs::max_compensation_tries(), runs);
    }
    if (list.size() > allowed) {
      std::vector<std::size_t> shown;
      for (std::size_t i : list) shown.push_back(ix.calls[i].begin_index);
      r.violate(ix,
                fmt::format("invoice {}: {} attempts of {} (op {}) where the policy allows {} ({})", invoice,
                            list.size(), service, static_cast<unsigned>(op), allowed, why),
                shown);
      continue;
    }
    // Backoff: a retry right after a failure must wait at least the
    // shortest delay either retry layer allows.
    Duration floor = std::min(min_retry_delay(sp.retry), min_retry_delay(ap.retry));
    if (compensation) floor = std::min(floor, rs::kCompensationRetryFirst);
    if (floor == Duration::max() || floor <= Duration::zero() || reruns > 1) continue;
    for (std::size_t j = 1; j < list.size(); ++j) {
      const auto& prev = ix.calls[list[j - 1]];
      const auto& next = ix.calls[list[j]];
      if (!prev.failed() || !prev.ended) continue;
      const Duration gap = next.began - *prev.ended;
      if (gap + kSlack < floor) {
        r.violate(ix,
                  fmt::format("invoice {}: {} retried {} after a failure, before the policy's shortest backoff {}",
                              invoice, service, runtime::format_duration(gap), runtime::format_duration(floor)),
                  {prev.begin_index, prev.end_index, next.begin_index});
        break;
      }
    }
  }
  r.note(fmt::format("{} calls in {} (service, invoice, operation) groups within their limits", ix.calls.size(),
                     groups.size()));
  return r.finish();
}

reports::InvariantResult timeouts(const Evidence& ev, const Index& ix) {
  Result r("timeouts", "no external call outlives its timeout");
  if (ev.policy == nullptr) return r.skip("no policy to hold the calls to");
  if (ix.calls.empty()) return r.skip("no external call was made");
  std::uint64_t checked = 0;
  for (const auto& c : ix.calls) {
    const auto* sp = service_policy(ev, ix.name(c.source));
    if (sp == nullptr) continue;
    ++checked;
    const bool limited = sp->timeout > Duration::zero();
    if (c.unfinished) {
      const Duration elapsed = ev.end - c.began;
      if (!limited || elapsed > sp->timeout + kSlack) {
        r.violate(ix,
                  fmt::format("call {} to {} for invoice {} began at {} and was still unanswered {} later{}", c.id,
                              ix.name(c.source), c.subject, ix.at(c.began), runtime::format_duration(elapsed),
                              limited ? fmt::format(" (timeout {})", runtime::format_duration(sp->timeout))
                                      : std::string(" (no timeout configured)")),
                  {c.begin_index, c.end_index});
      }
      continue;
    }
    if (!c.ended || !limited) continue;
    const Duration elapsed = *c.ended - c.began;
    if (elapsed > sp->timeout + kSlack) {
      r.violate(ix,
                fmt::format("call {} to {} for invoice {} lasted {}, past its timeout {}", c.id, ix.name(c.source),
                            c.subject, runtime::format_duration(elapsed), runtime::format_duration(sp->timeout)),
                {c.begin_index, c.end_index});
    }
  }
  r.note(fmt::format("{} calls ended within their timeouts", checked));
  return r.finish();
}

reports::InvariantResult circuit_breaker(const Evidence& ev, const Index& ix) {
  Result r("circuit_breaker", "an open breaker lets only half-open probes through, opens on faults, closes after");
  if (ev.policy == nullptr) return r.skip("no policy to hold the breakers to");
  const auto& events = ev.log->events();
  std::uint64_t transitions = 0;
  // Whether anything could have made a clause fail: a breaker changed
  // state, a run of failures reached a threshold, or a fault aimed to trip one.
  bool exercised = false;
  for (const auto& info : kServices) {
    const auto& sp = ev.policy->service(info.id);
    const std::uint32_t source = ev.log->find(info.name);
    // Faults that should trip this service's breaker.
    std::vector<const faults::FaultSpec*> tripping;
    for (std::size_t fi = 0; fi < ev.faults.size(); ++fi) {
      const auto& f = ev.faults[fi];
      // A fault that never struck a call cannot have tripped anything.
      if (fi < ev.fault_touches.size() && ev.fault_touches[fi] == 0) continue;
      // A permanent error is the service answering (a request it refuses),
      // not the service failing: a breaker need not count it.
      const bool failing = (f.kind == faults::FaultKind::error && f.error_class != resilience::ErrorClass::permanent) ||
                           f.kind == faults::FaultKind::outage ||
                           f.kind == faults::FaultKind::hang ||
                           (f.kind == faults::FaultKind::latency && f.delay >= sp.timeout);
      if (f.target == info.name && failing && f.probability >= 0.999) tripping.push_back(&f);
    }
    if (!tripping.empty()) exercised = true;
    if (!sp.breaker) {
      if (!tripping.empty()) {
        r.violate(ix,
                  fmt::format("{} fails during a scheduled {} fault but no circuit breaker guards it", info.name,
                              faults::to_string(tripping.front()->kind)),
                  {});
      }
      continue;
    }
    if (source == 0) continue;
    // Walk the log in order: the breaker's state and the calls that reach the service.
    auto state = resilience::BreakerState::closed;
    std::uint32_t probes = 0;
    // Consecutive-failure breakers: once `failure_threshold` results in a
    // row (of calls admitted since the last transition) have failed, the
    // next call must find the breaker open.
    const bool consecutive = sp.breaker->trip == resilience::TripMode::consecutive_failures;
    std::uint32_t in_a_row = 0;
    std::uint64_t transitions_here = 0;
    // The event index where the failures reached the threshold (kNotTripped:
    // not yet). A sentinel, not an optional: GCC 12 at -O2 warns falsely on it.
    constexpr std::size_t kNotTripped = SIZE_MAX;
    std::size_t tripped_at = kNotTripped;
    std::optional<Instant> first_open;
    std::vector<Instant> opened_at;
    std::size_t last_transition = 0;
    for (std::size_t i = 0; i < events.size(); ++i) {
      const Event& e = events[i];
      if (e.source != source) continue;
      if (consecutive && state == resilience::BreakerState::closed &&
          (is<he::CallEnd>(e) || is<he::CallAbandoned>(e))) {
        const auto it = ix.call_by_id.find(ended_call(e));
        if (it != ix.call_by_id.end() && (transitions_here == 0 || ix.calls[it->second].begin_index > last_transition)) {
          bool failed = is<he::CallAbandoned>(e);
          if (is<he::CallEnd>(e)) {
            const auto end = read<he::CallEnd>(e);
            if (end.failure) {
              failed = sp.breaker->failure_classes.contains(*end.failure);
            } else if (sp.breaker->slow_call_threshold > Duration::zero() &&
                       end.latency > sp.breaker->slow_call_threshold) {
              failed = true;
            }
          }
          in_a_row = failed ? in_a_row + 1 : 0;
          if (in_a_row >= sp.breaker->failure_threshold && tripped_at == kNotTripped) {
            tripped_at = i;
            exercised = true;
          }
        }
      }
      if (is<resilience::pattern_events::BreakerTransition>(e)) {
        state = read<resilience::pattern_events::BreakerTransition>(e).to;
        probes = 0;
        in_a_row = 0;
        tripped_at = kNotTripped;
        ++transitions_here;
        last_transition = i;
        ++transitions;
        exercised = true;
        if (state == resilience::BreakerState::open) opened_at.push_back(e.at);
      } else if (is<he::CallBegin>(e)) {
        const std::uint64_t call = read<he::CallBegin>(e).call_id;
        if (tripped_at != kNotTripped && state == resilience::BreakerState::closed) {
          r.violate(ix,
                    fmt::format("call {} reached {} for invoice {} at {} after {} failures in a row: its breaker "
                                "should have opened at its threshold",
                                call, info.name, e.subject, ix.at(e.at), sp.breaker->failure_threshold),
                    {tripped_at, i});
        }
        if (state == resilience::BreakerState::open) {
          r.violate(ix,
                    fmt::format("call {} reached {} for invoice {} at {} while its breaker was open", call, info.name,
                                e.subject, ix.at(e.at)),
                    {last_transition, i});
        } else if (state == resilience::BreakerState::half_open && ++probes > sp.breaker->half_open_probes) {
          r.violate(ix,
                    fmt::format("{} calls reached {} while half-open; the policy allows {} probe(s)", probes,
                                info.name, sp.breaker->half_open_probes),
                    {last_transition, i});
        }
      }
    }
    (void)first_open;
    for (const auto* f : tripping) {
      const Instant from = ev.start + f->start;
      const Instant to = ev.start + f->end();
      // Failures seen inside the window before the breaker opened.
      std::uint64_t failures = 0;
      for (const auto& c : ix.calls) {
        if (c.source != source || c.began < from || c.began >= to) continue;
        if (c.abandoned || c.unfinished) {
          ++failures;
        } else if (c.failure) {
          const auto error = *c.failure;
          failures += error == resilience::ErrorClass::transient || error == resilience::ErrorClass::timeout ||
                      error == resilience::ErrorClass::rate_limited;
        }
      }
      const bool opened = std::any_of(opened_at.begin(), opened_at.end(),
                                      [&](Instant t) { return t >= from && t <= to + sp.timeout; });
      const std::uint32_t threshold = sp.breaker->trip == resilience::TripMode::consecutive_failures
                                          ? sp.breaker->failure_threshold
                                          : sp.breaker->minimum_calls;
      if (!opened && failures >= threshold) {
        r.violate(ix,
                  fmt::format("{} failed {} times during the {} fault from {} but its breaker never opened "
                              "(threshold {})",
                              info.name, failures, faults::to_string(f->kind), ix.at(from), threshold),
                  {});
      }
    }
    // Closed again at the end, when the last fault left it time to recover
    // (any fault on the service: one that does not trip it may still keep
    // it open).
    Instant last_fault_end = ev.start;
    for (const auto& f : ev.faults) {
      if (f.target == info.name) last_fault_end = std::max(last_fault_end, ev.start + f.end());
    }
    const Duration settle = sp.breaker->open_duration + sp.timeout + std::chrono::minutes(1);
    // A breaker moves on from open only when a call asks it: one that no
    // call asked after its open duration had nothing to close on.
    const Instant asked_after = last_fault_end + sp.breaker->open_duration;
    const bool asked = std::any_of(events.begin(), events.end(), [&](const Event& e) {
      return e.source == source && e.at >= asked_after &&
             (is<rs::system_events::CallAttempt>(e) || is<resilience::pattern_events::BreakerRejected>(e));
    });
    if (!tripping.empty() && last_fault_end + settle <= ev.workload_end && asked &&
        state != resilience::BreakerState::closed) {
      r.violate(ix,
                fmt::format("{}'s breaker was still {} at the end, though its last fault ended at {}", info.name,
                            state == resilience::BreakerState::open ? "open" : "half-open", ix.at(last_fault_end)),
                {last_transition});
    }
  }
  if (!exercised && !r.failed()) {
    return r.skip("no breaker was exercised: none changed state, no run of failures reached a threshold, no "
                  "fault aimed to trip one");
  }
  r.note(fmt::format("{} breaker transitions, no call through an open breaker", transitions));
  return r.finish();
}

reports::InvariantResult degradation(const Evidence& ev, const Index& ix) {
  Result r("degradation", "non-critical failures degrade to neutral defaults; critical failures never post");
  std::unordered_map<std::uint64_t, std::uint64_t> po_of;
  for (const auto& l : ev.ledger) {
    if (!l.reversed) po_of[l.invoice_id] = l.po_number;
  }
  struct Seen {
    std::uint32_t ocr_calls = 0, ocr_ok = 0, po_calls = 0, po_ok = 0;
  };
  std::map<std::uint64_t, Seen> seen;
  for (const auto& c : ix.calls) {
    const auto name = ix.name(c.source);
    auto& s = seen[c.subject];
    if (name == "ocr_engine" || name == "backup_ocr") {
      ++s.ocr_calls;
      if (!c.failed()) ++s.ocr_ok;
    } else if (name == "po_database" && c.op == rs::ServiceOp::po_lookup) {
      ++s.po_calls;
      if (!c.failed()) ++s.po_ok;
    }
  }
  std::uint64_t posted = 0;
  for (const auto& [id, inv] : ix.invoices) {
    if (inv.outcomes == 0 || !is_success(inv.outcome)) continue;
    ++posted;
    const auto s = seen[id];
    if (s.ocr_calls > 0 && s.ocr_ok == 0) {
      r.violate(ix, fmt::format("invoice {}: posted although every OCR call for it failed (critical step)", id),
                events_of(ix, id));
    }
    if (inv.outcome == rs::InvoiceOutcome::posted_degraded && po_of[id] != 0) {
      r.violate(ix, fmt::format("invoice {}: degraded but posted against PO {} (an invented match)", id, po_of[id]),
                events_of(ix, id));
    }
    if (inv.outcome == rs::InvoiceOutcome::posted && s.po_calls > 0 && s.po_ok == 0) {
      r.violate(ix,
                fmt::format("invoice {}: posted as fully matched although every PO lookup for it failed (not "
                            "marked degraded)",
                            id),
                events_of(ix, id));
    }
  }
  if (posted == 0) return r.skip("no invoice was posted: nothing that could have been posted wrongly");
  r.note(fmt::format("{} posted invoices: degraded ones carry neutral defaults, none after a critical failure",
                     posted));
  return r.finish();
}
}  // namespace faultline::harness::checks
