#include "harness/invariants.h"

#include <algorithm>
#include <array>
#include <unordered_map>
#include <unordered_set>

#include <fmt/core.h>

#include "faults/injector.h"
#include "harness/probe.h"
#include "harness/scenario.h"
#include "reference_system/events.h"
#include "resilience/events.h"

namespace faultline::harness {

namespace rs = reference_system;
using runtime::Duration;
using runtime::Event;
using runtime::Instant;

namespace {

template <class K>
constexpr std::uint16_t k(K kind) {
  return static_cast<std::uint16_t>(kind);
}

constexpr Duration kSlack = std::chrono::milliseconds(1);

struct ServiceInfo {
  rs::ServiceId id;
  rs::AgentId agent;
  std::string_view name;
};
constexpr std::array<ServiceInfo, rs::kServiceCount> kServices = {{
    {rs::ServiceId::ocr_engine, rs::AgentId::ocr, "ocr_engine"},
    {rs::ServiceId::backup_ocr, rs::AgentId::ocr, "backup_ocr"},
    {rs::ServiceId::po_database, rs::AgentId::matching, "po_database"},
    {rs::ServiceId::budget_service, rs::AgentId::accounting, "budget_service"},
    {rs::ServiceId::ledger, rs::AgentId::accounting, "ledger"},
    {rs::ServiceId::notifier, rs::AgentId::accounting, "notifier"},
}};

const ServiceInfo* service_named(std::string_view name) {
  for (const auto& s : kServices) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

// Terminal outcomes as the outcome event's detail (reference_system/events.h).
enum class Terminal : std::uint16_t { posted = 0, posted_degraded, rejected_invalid, dead_lettered, manual_review };
constexpr std::size_t kTerminalCount = 5;
constexpr std::array<std::string_view, kTerminalCount> kTerminalNames = {"posted", "posted_degraded",
                                                                         "rejected_invalid", "dead_lettered",
                                                                         "manual_review"};
std::string_view outcome_name(std::uint16_t detail) {
  return detail < kTerminalCount ? kTerminalNames[detail] : std::string_view("unknown");
}

bool is_success(std::uint16_t outcome_detail) {
  return outcome_detail == k(Terminal::posted) || outcome_detail == k(Terminal::posted_degraded);
}

struct Call {
  std::uint64_t id = 0;
  std::uint32_t source = 0;
  std::uint64_t subject = 0;
  std::uint16_t op = 0;
  Instant began{};
  std::size_t begin_index = 0;
  std::optional<Instant> ended;  // answered or abandoned
  std::size_t end_index = 0;
  std::uint16_t detail = 0;  // 0 ok, 1 + ErrorClass
  bool abandoned = false;
  bool unfinished = false;
  bool failed() const { return abandoned || unfinished || detail != 0; }
};

struct InvoiceFacts {
  std::uint32_t submissions = 0;
  std::int64_t true_total_cents = 0;
  std::uint16_t corruption = 0;  // 1 + faults::Corruption
  Instant submitted_at{};
  std::uint32_t outcomes = 0;
  std::array<std::uint32_t, 5> by_outcome{};
  // The outcome that speaks for the invoice: its success if it had one
  // (a resubmitted id's refusal does not undo the original's posting).
  std::uint16_t outcome = 0;
  Instant outcome_at{};
  std::int64_t outcome_total_cents = 0;
  std::uint32_t successes() const { return by_outcome[0] + by_outcome[1]; }
  std::uint32_t duplicates_delivered = 0;
  std::uint32_t notified_ok = 0;
};

// One pass over the log: everything the checkers look up.
struct Index {
  const runtime::EventLog* log;
  Instant start;
  std::map<std::uint64_t, InvoiceFacts> invoices;
  std::vector<Call> calls;
  std::unordered_map<std::uint64_t, std::size_t> call_by_id;
  std::vector<std::size_t> task_failures;
  std::vector<std::size_t> crashes;  // faults::Kind::agent_crashed or rs agent_stopped
  std::map<std::string, std::uint32_t> restarts_by_agent;

  explicit Index(const Evidence& ev) : log(ev.log), start(ev.start) {
    const auto& events = log->events();
    for (std::size_t i = 0; i < events.size(); ++i) {
      const Event& e = events[i];
      switch (e.kind) {
        case k(Kind::submitted): {
          auto& inv = invoices[e.subject];
          if (inv.submissions++ == 0) {
            inv.true_total_cents = e.a;
            inv.submitted_at = e.at;
          }
          inv.corruption = std::max<std::uint16_t>(inv.corruption, static_cast<std::uint16_t>(e.b));
          break;
        }
        case k(rs::Kind::outcome): {
          auto& inv = invoices[e.subject];
          if (e.detail < inv.by_outcome.size()) ++inv.by_outcome[e.detail];
          const bool success = e.detail <= 1;
          if (inv.outcomes++ == 0 || (success && inv.successes() == 1)) {
            inv.outcome = e.detail;
            inv.outcome_at = e.at;
            inv.outcome_total_cents = e.b;
          }
          break;
        }
        case k(Kind::call_begin): {
          Call c;
          c.id = static_cast<std::uint64_t>(e.a);
          c.source = e.source;
          c.subject = e.subject;
          c.op = static_cast<std::uint16_t>(e.b);
          c.began = e.at;
          c.begin_index = i;
          call_by_id[c.id] = calls.size();
          calls.push_back(c);
          break;
        }
        case k(Kind::call_end):
        case k(Kind::call_abandoned):
        case k(Kind::call_unfinished): {
          auto it = call_by_id.find(static_cast<std::uint64_t>(e.a));
          if (it == call_by_id.end()) break;
          Call& c = calls[it->second];
          c.end_index = i;
          if (e.kind == k(Kind::call_end)) {
            c.ended = e.at;
            c.detail = e.detail;
            if (e.detail == 0 && log->name(e.source) == "notifier") ++invoices[e.subject].notified_ok;
          } else if (e.kind == k(Kind::call_abandoned)) {
            c.ended = e.at;
            c.abandoned = true;
          } else {
            c.unfinished = true;
          }
          break;
        }
        case k(faults::Kind::duplicated): ++invoices[e.subject].duplicates_delivered; break;
        case k(runtime::RuntimeEventKind::task_failed): task_failures.push_back(i); break;
        case k(rs::Kind::agent_stopped):
          crashes.push_back(i);
          ++restarts_by_agent[std::string(log->name(e.source))];
          break;
        default: break;
      }
    }
  }

  std::string_view name(std::uint32_t source) const { return log->name(source); }
  std::string at(Instant t) const { return fmt::format("t={:.3f}s", runtime::to_seconds(t - start)); }
};

class Result {
 public:
  Result(std::string id, std::string name) {
    r_.id = std::move(id);
    r_.name = std::move(name);
    r_.passed = true;
  }
  bool failed() const { return !r_.passed; }
  // The first violation decides the message; later ones are counted.
  void violate(const Index& ix, std::string message, std::vector<std::size_t> event_indices) {
    ++violations_;
    if (!r_.passed) return;
    r_.passed = false;
    r_.message = std::move(message);
    for (std::size_t i : event_indices) {
      if (r_.evidence.size() >= kEvidenceLines) {
        ++r_.evidence_dropped;
        continue;
      }
      r_.evidence.push_back(describe_event(*ix.log, ix.log->events()[i], ix.start));
    }
  }
  void note(std::string message) {
    if (r_.passed) r_.message = std::move(message);
  }
  reports::InvariantResult finish() {
    if (violations_ > 1) r_.message += fmt::format(" ({} violations in all)", violations_);
    return std::move(r_);
  }

 private:
  reports::InvariantResult r_;
  std::uint64_t violations_ = 0;
};

// Event indices that concern one invoice (bounded).
std::vector<std::size_t> events_of(const Index& ix, std::uint64_t invoice, std::size_t limit = kEvidenceLines) {
  std::vector<std::size_t> out;
  const auto& events = ix.log->events();
  for (std::size_t i = 0; i < events.size() && out.size() < limit; ++i) {
    if (events[i].subject == invoice && events[i].kind >= 0x0200) out.push_back(i);
  }
  return out;
}

const rs::ServicePolicy* service_policy(const Evidence& ev, std::string_view name) {
  const auto* s = service_named(name);
  if (s == nullptr || ev.policy == nullptr) return nullptr;
  return &ev.policy->service(s->id);
}

// ---------------------------------------------------------------------------

reports::InvariantResult conservation(const Evidence& ev, const Index& ix) {
  Result r("conservation", "every submitted invoice reaches exactly one terminal outcome");
  std::unordered_map<std::uint64_t, std::uint32_t> live_entries;
  for (const auto& l : ev.ledger) {
    if (!l.reversed) ++live_entries[l.invoice_id];
  }
  std::uint64_t submitted = 0;
  for (const auto& [id, inv] : ix.invoices) {
    submitted += inv.submissions;
    if (inv.submissions == 0 && inv.outcomes > 0) {
      r.violate(ix, fmt::format("invoice {}: an outcome for an invoice the workload never submitted", id),
                events_of(ix, id));
    } else if (inv.outcomes < inv.submissions) {
      r.violate(ix,
                fmt::format("invoice {}: submitted {} time(s) at {}, {} terminal outcome(s) after the drain: lost or "
                            "still in flight",
                            id, inv.submissions, ix.at(inv.submitted_at), inv.outcomes),
                events_of(ix, id));
    } else if (inv.outcomes > inv.submissions) {
      r.violate(ix, fmt::format("invoice {}: {} terminal outcomes for {} submission(s)", id, inv.outcomes,
                                inv.submissions),
                events_of(ix, id));
    } else if (is_success(inv.outcome) && live_entries[id] == 0) {
      r.violate(ix, fmt::format("invoice {}: reported {} but the ledger holds no live entry for it", id,
                                outcome_name(inv.outcome)),
                events_of(ix, id));
    }
  }
  r.note(fmt::format("{} submissions, each with exactly one terminal outcome", submitted));
  return r.finish();
}

reports::InvariantResult exactly_once(const Evidence& ev, const Index& ix) {
  Result r("exactly_once", "at most one ledger entry per invoice; sagas fully committed or compensated");
  std::map<std::uint64_t, std::pair<std::uint32_t, std::int64_t>> live;  // invoice -> (entries, cents)
  std::int64_t ledger_total = 0;
  for (const auto& l : ev.ledger) {
    if (l.reversed) continue;
    auto& [n, cents] = live[l.invoice_id];
    ++n;
    cents += l.amount_cents;
    ledger_total += l.amount_cents;
  }
  for (const auto& [id, entry] : live) {
    if (entry.first > 1) {
      r.violate(ix, fmt::format("invoice {}: {} live ledger entries (at most one allowed)", id, entry.first),
                events_of(ix, id));
    }
  }
  std::int64_t posted_total = 0;
  const std::unordered_set<std::uint64_t> held(ev.budget_held.begin(), ev.budget_held.end());
  for (const auto& [id, inv] : ix.invoices) {
    if (inv.outcomes == 0) continue;
    const bool success = is_success(inv.outcome);
    if (inv.successes() > 1) {
      r.violate(ix, fmt::format("invoice {}: posted {} times", id, inv.successes()), events_of(ix, id));
    }
    const auto it = live.find(id);
    const bool in_ledger = it != live.end();
    if (success) {
      posted_total += inv.outcome_total_cents;
      if (in_ledger && it->second.second != inv.outcome_total_cents) {
        r.violate(ix, fmt::format("invoice {}: posted {} cents but the ledger holds {}", id, inv.outcome_total_cents,
                                  it->second.second),
                  events_of(ix, id));
      }
      if (!held.contains(id)) {
        r.violate(ix, fmt::format("invoice {}: posted without a budget reservation (saga not fully committed)", id),
                  events_of(ix, id));
      }
    } else {
      if (in_ledger) {
        r.violate(ix,
                  fmt::format("invoice {}: ended {} but its ledger entry was never reversed (saga not compensated)",
                              id, outcome_name(inv.outcome)),
                  events_of(ix, id));
      }
      if (held.contains(id)) {
        r.violate(ix,
                  fmt::format("invoice {}: ended {} but still holds a budget reservation (saga not compensated)", id,
                              outcome_name(inv.outcome)),
                  events_of(ix, id));
      }
    }
  }
  if (!r.failed() && ledger_total != posted_total) {
    r.violate(ix, fmt::format("the ledger's live total is {} cents, the posted invoices sum to {}", ledger_total,
                              posted_total),
              {});
  }
  r.note(fmt::format("{} live ledger entries, total {} cents, matching the posted invoices", live.size(), ledger_total));
  return r.finish();
}

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

reports::InvariantResult bounded_retries(const Evidence& ev, const Index& ix) {
  Result r("bounded_retries", "no call attempted more often than its policy allows; backoff never shorter");
  if (ev.policy == nullptr) {
    r.note("no policy: not checked");
    return r.finish();
  }
  // (service, invoice, op) -> calls in order.
  std::map<std::tuple<std::string, std::uint64_t, std::uint16_t>, std::vector<std::size_t>> groups;
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
    const std::uint64_t allowed = std::uint64_t{sp.retry.max_attempts} * ap.retry.max_attempts * reruns;
    if (list.size() > allowed) {
      std::vector<std::size_t> shown;
      for (std::size_t i : list) shown.push_back(ix.calls[i].begin_index);
      r.violate(ix,
                fmt::format("invoice {}: {} attempts of {} (op {}) where the policy allows {} ({} per call x {} step "
                            "attempts x {} run(s))",
                            invoice, list.size(), service, op, allowed, sp.retry.max_attempts,
                            ap.retry.max_attempts, reruns),
                shown);
      continue;
    }
    // Backoff: a retry right after a failure must wait at least the
    // shortest delay either retry layer allows.
    const Duration floor = std::min(min_retry_delay(sp.retry), min_retry_delay(ap.retry));
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
  if (ev.policy == nullptr) {
    r.note("no policy: not checked");
    return r.finish();
  }
  const auto& events = ev.log->events();
  std::uint64_t transitions = 0;
  for (const auto& info : kServices) {
    const auto& sp = ev.policy->service(info.id);
    const std::uint32_t source = ev.log->find(info.name);
    // Faults that should trip this service's breaker.
    std::vector<const faults::FaultSpec*> tripping;
    for (std::size_t fi = 0; fi < ev.faults.size(); ++fi) {
      const auto& f = ev.faults[fi];
      // A fault that never struck a call cannot have tripped anything.
      if (fi < ev.fault_touches.size() && ev.fault_touches[fi] == 0) continue;
      const bool failing = f.kind == faults::FaultKind::error || f.kind == faults::FaultKind::outage ||
                           f.kind == faults::FaultKind::hang ||
                           (f.kind == faults::FaultKind::latency && f.delay >= sp.timeout);
      if (f.target == info.name && failing && f.probability >= 0.999) tripping.push_back(&f);
    }
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
          (e.kind == k(Kind::call_end) || e.kind == k(Kind::call_abandoned))) {
        const auto it = ix.call_by_id.find(static_cast<std::uint64_t>(e.a));
        if (it != ix.call_by_id.end() && (transitions_here == 0 || ix.calls[it->second].begin_index > last_transition)) {
          bool failed = e.kind == k(Kind::call_abandoned);
          if (e.kind == k(Kind::call_end) && e.detail != 0) {
            failed = sp.breaker->failure_classes.contains(static_cast<resilience::ErrorClass>(e.detail - 1));
          }
          if (e.kind == k(Kind::call_end) && e.detail == 0 && sp.breaker->slow_call_threshold > Duration::zero() &&
              Duration(e.b) > sp.breaker->slow_call_threshold) {
            failed = true;
          }
          in_a_row = failed ? in_a_row + 1 : 0;
          if (in_a_row >= sp.breaker->failure_threshold && tripped_at == kNotTripped) tripped_at = i;
        }
      }
      if (e.kind == k(resilience::Kind::breaker_transition)) {
        state = static_cast<resilience::BreakerState>(e.b);
        probes = 0;
        in_a_row = 0;
        tripped_at = kNotTripped;
        ++transitions_here;
        last_transition = i;
        ++transitions;
        if (state == resilience::BreakerState::open) opened_at.push_back(e.at);
      } else if (e.kind == k(Kind::call_begin)) {
        if (tripped_at != kNotTripped && state == resilience::BreakerState::closed) {
          r.violate(ix,
                    fmt::format("call {} reached {} for invoice {} at {} after {} failures in a row: its breaker "
                                "should have opened at its threshold",
                                e.a, info.name, e.subject, ix.at(e.at), sp.breaker->failure_threshold),
                    {tripped_at, i});
        }
        if (state == resilience::BreakerState::open) {
          r.violate(ix,
                    fmt::format("call {} reached {} for invoice {} at {} while its breaker was open", e.a, info.name,
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
        if (c.failed()) ++failures;
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
    // Closed again at the end, when the last fault left it time to recover.
    Instant last_fault_end = ev.start;
    for (const auto* f : tripping) last_fault_end = std::max(last_fault_end, ev.start + f->end());
    const Duration settle = sp.breaker->open_duration + sp.timeout + std::chrono::minutes(1);
    if (!tripping.empty() && last_fault_end + settle <= ev.workload_end && state != resilience::BreakerState::closed) {
      r.violate(ix,
                fmt::format("{}'s breaker was still {} at the end, though its last fault ended at {}", info.name,
                            state == resilience::BreakerState::open ? "open" : "half-open", ix.at(last_fault_end)),
                {last_transition});
    }
  }
  r.note(fmt::format("{} breaker transitions, no call through an open breaker", transitions));
  return r.finish();
}

reports::InvariantResult resumption(const Evidence& ev, const Index& ix) {
  Result r("resumption", "after a crash no completed step runs again with a second side effect");
  // A second side effect: two ledger entries for one invoice where the first
  // was never reversed, or a notification delivered twice.
  for (const auto& [id, inv] : ix.invoices) {
    if (inv.notified_ok > 1) {
      std::vector<std::size_t> shown;
      for (const auto& c : ix.calls) {
        if (c.subject != id || ix.name(c.source) != "notifier") continue;
        shown.push_back(c.begin_index);
        if (c.ended) shown.push_back(c.end_index);
      }
      for (std::size_t crash : ix.crashes) shown.push_back(crash);
      std::sort(shown.begin(), shown.end());
      r.violate(ix, fmt::format("invoice {}: accounts payable notified {} times", id, inv.notified_ok), shown);
    }
  }
  // A step that completed and was checkpointed must not call its service again.
  const auto& events = ev.log->events();
  std::unordered_map<std::uint64_t, std::uint32_t> checkpointed;  // invoice -> highest step code
  for (std::size_t i = 0; i < events.size(); ++i) {
    const Event& e = events[i];
    if (e.kind == k(Kind::checkpoint_write) && e.b > 0) {
      auto& c = checkpointed[e.subject];
      c = std::max<std::uint32_t>(c, static_cast<std::uint32_t>(e.b));
    } else if (e.kind == k(Kind::call_begin)) {
      const auto it = checkpointed.find(e.subject);
      if (it == checkpointed.end()) continue;
      const auto* info = service_named(ix.name(e.source));
      if (info == nullptr) continue;
      const std::uint32_t step = static_cast<std::uint32_t>(info->agent) + 1;
      if (step <= it->second) {
        r.violate(ix,
                  fmt::format("invoice {}: {} called again at {} after the {} step was checkpointed as complete",
                              e.subject, ix.name(e.source), ix.at(e.at), rs::to_string(info->agent)),
                  events_of(ix, e.subject));
      }
    }
  }
  // Without any checkpoint store nothing can resume: a call that had
  // already succeeded before a crash and runs again after it is work
  // started over instead of resumed.
  if (ev.policy != nullptr && ev.policy->checkpoints == rs::CheckpointStoreKind::none && !ix.crashes.empty()) {
    std::map<std::tuple<std::uint64_t, std::uint32_t, std::uint16_t>, std::size_t> succeeded;  // -> end index
    std::size_t crash = 0;
    std::optional<std::size_t> last_crash;
    for (std::size_t i = 0; i < events.size(); ++i) {
      while (crash < ix.crashes.size() && ix.crashes[crash] <= i) last_crash = ix.crashes[crash++];
      const Event& e = events[i];
      if (e.kind == k(Kind::call_end) && e.detail == 0) {
        const auto& c = ix.calls[ix.call_by_id.at(static_cast<std::uint64_t>(e.a))];
        succeeded.emplace(std::make_tuple(c.subject, c.source, c.op), i);
      } else if (e.kind == k(Kind::call_begin) && last_crash) {
        const auto it = succeeded.find({e.subject, e.source, static_cast<std::uint16_t>(e.b)});
        if (it != succeeded.end() && it->second < *last_crash) {
          r.violate(ix,
                    fmt::format("invoice {}: {} answered before the {} crash at {} and was called again at {}: no "
                                "checkpoint to resume from, the work started over",
                                e.subject, ix.name(e.source), ix.name(events[*last_crash].source),
                                ix.at(events[*last_crash].at), ix.at(e.at)),
                    {it->second, *last_crash, i});
        }
      }
    }
  }
  r.note(fmt::format("{} crash(es); no completed step repeated its side effects", ix.crashes.size()));
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
    } else if (name == "po_database" && c.op == k(rs::ServiceOp::po_lookup)) {
      ++s.po_calls;
      if (!c.failed()) ++s.po_ok;
    }
  }
  for (const auto& [id, inv] : ix.invoices) {
    if (inv.outcomes == 0 || !is_success(inv.outcome)) continue;
    const auto s = seen[id];
    if (s.ocr_calls > 0 && s.ocr_ok == 0) {
      r.violate(ix, fmt::format("invoice {}: posted although every OCR call for it failed (critical step)", id),
                events_of(ix, id));
    }
    if (inv.outcome == k(Terminal::posted_degraded) && po_of[id] != 0) {
      r.violate(ix, fmt::format("invoice {}: degraded but posted against PO {} (an invented match)", id, po_of[id]),
                events_of(ix, id));
    }
    if (inv.outcome == k(Terminal::posted) && s.po_calls > 0 && s.po_ok == 0) {
      r.violate(ix,
                fmt::format("invoice {}: posted as fully matched although every PO lookup for it failed (not "
                            "marked degraded)",
                            id),
                events_of(ix, id));
    }
  }
  r.note("degraded results carry neutral defaults; no critical failure was posted");
  return r.finish();
}

reports::InvariantResult validation(const Evidence& ev, const Index& ix) {
  Result r("validation", "corrupted input is rejected without crashing anything");
  if (ev.harness_failure) r.violate(ix, "the run itself failed: " + *ev.harness_failure, {});
  if (!ix.task_failures.empty()) {
    r.violate(ix, "a task of the system failed with an exception (an agent crashed on its input)",
              {ix.task_failures.front()});
  }
  std::uint64_t corrupted = 0;
  std::unordered_map<std::uint64_t, std::int64_t> live_amount;
  for (const auto& l : ev.ledger) {
    if (!l.reversed) live_amount[l.invoice_id] += l.amount_cents;
  }
  for (const auto& [id, inv] : ix.invoices) {
    if (inv.corruption == 0) continue;
    ++corrupted;
    if (inv.outcomes == 0 || !is_success(inv.outcome)) continue;
    const auto mode = static_cast<faults::Corruption>(inv.corruption - 1);
    // Bit flips and injection strings may leave a readable, truthful
    // document (the flip hit a description; the string is just a name):
    // posting it is right if the amount is the true one.
    const bool may_post = mode == faults::Corruption::bit_flips || mode == faults::Corruption::injection ||
                          mode == faults::Corruption::duplicate_id;
    if (!may_post) {
      r.violate(ix, fmt::format("invoice {}: {} input was posted instead of rejected", id, faults::to_string(mode)),
                events_of(ix, id));
    } else if (live_amount[id] != inv.true_total_cents) {
      r.violate(ix,
                fmt::format("invoice {}: {} input posted {} cents, its true total is {}", id, faults::to_string(mode),
                            live_amount[id], inv.true_total_cents),
                events_of(ix, id));
    }
  }
  r.note(fmt::format("{} corrupted invoices, none accepted wrongly, nothing crashed", corrupted));
  return r.finish();
}

reports::InvariantResult visibility(const Evidence& ev, const Index& ix) {
  Result r("visibility", "every failure shows in the metrics (no silent failure)");
  if (ev.metrics == nullptr) {
    r.violate(ix, "the system exposes no metrics", {});
    return r.finish();
  }
  const auto& m = *ev.metrics;
  // Failed answers the probes saw, per service, against the service's error count.
  for (const auto& info : kServices) {
    const std::uint32_t source = ev.log->find(info.name);
    if (source == 0) continue;
    std::uint64_t failed = 0;
    std::size_t first = 0;
    for (const auto& c : ix.calls) {
      if (c.source == source && c.ended && c.failed()) {
        if (failed++ == 0) first = c.end_index;
      }
    }
    const auto counted = m.service(info.id).errors;
    // Abandoned calls of a crashed agent die with their caller and cannot be
    // counted by it; only answered failures must all be counted.
    std::uint64_t answered_failures = 0;
    for (const auto& c : ix.calls) {
      if (c.source == source && c.ended && !c.abandoned && c.detail != 0) ++answered_failures;
    }
    if (counted < answered_failures) {
      r.violate(ix,
                fmt::format("{}: the probes saw {} failed answers, the metrics count {} errors", info.name,
                            answered_failures, counted),
                {first});
    }
  }
  // Outcomes: every failed invoice must be counted under its outcome.
  std::array<std::uint64_t, kTerminalCount> seen{};
  std::map<std::uint16_t, std::uint64_t> example;
  for (const auto& [id, inv] : ix.invoices) {
    for (std::size_t o = 0; o < kTerminalCount; ++o) {
      if (inv.by_outcome[o] == 0) continue;
      seen[o] += inv.by_outcome[o];
      example.emplace(static_cast<std::uint16_t>(o), id);
    }
  }
  for (std::size_t o = 0; o < kTerminalCount; ++o) {
    const auto counted = m.outcomes[o];
    if (counted < seen[o]) {
      const auto id = example[static_cast<std::uint16_t>(o)];
      r.violate(ix,
                fmt::format("{} invoices ended {} but the metrics count {} (e.g. invoice {})", seen[o],
                            kTerminalNames[o], counted, id),
                events_of(ix, id));
    }
  }
  if (ev.dead_letter_size && m.dead_letter_size != *ev.dead_letter_size) {
    r.violate(ix,
              fmt::format("the dead-letter queue holds {} invoices, the metrics say {}", *ev.dead_letter_size,
                          m.dead_letter_size),
              {});
  }
  if (ev.manual_review_size && m.manual_review_size != *ev.manual_review_size) {
    r.violate(ix,
              fmt::format("the manual-review queue holds {} invoices, the metrics say {}", *ev.manual_review_size,
                          m.manual_review_size),
              {});
  }
  r.note("every failed call and failed invoice is counted in the metrics");
  return r.finish();
}

reports::InvariantResult saturation(const Evidence& ev, const Index& ix) {
  Result r("saturation", "under load, queues and memory stay bounded and shed load is counted");
  if (!ix.task_failures.empty()) {
    r.violate(ix, "a task of the system failed with an exception under load", {ix.task_failures.front()});
  }
  if (ev.harness_failure) r.violate(ix, "the run itself failed: " + *ev.harness_failure, {});
  const auto& events = ev.log->events();
  std::uint64_t max_in_flight = 0;
  std::uint64_t max_tasks = 0;
  std::uint64_t rejected = 0;
  std::size_t rejected_first = 0;
  std::uint64_t bound_in_flight = ev.policy ? ev.policy->max_in_flight : UINT64_MAX;
  std::uint64_t tasks_bound = ev.live_tasks_bound;
  if (tasks_bound == 0 && ev.policy != nullptr) {
    std::uint64_t workers = 0;
    for (const auto& a : ev.policy->agents) workers += a.workers;
    tasks_bound = 2 * ev.policy->max_in_flight + 4 * workers + 10'000;
  }
  if (tasks_bound == 0) tasks_bound = UINT64_MAX;
  for (std::size_t i = 0; i < events.size(); ++i) {
    const Event& e = events[i];
    if (e.kind == k(Kind::sample)) {
      max_in_flight = std::max<std::uint64_t>(max_in_flight, static_cast<std::uint64_t>(e.a));
      max_tasks = std::max<std::uint64_t>(max_tasks, static_cast<std::uint64_t>(e.b));
      if (static_cast<std::uint64_t>(e.a) > bound_in_flight) {
        r.violate(ix, fmt::format("{} invoices in flight at {}, above the policy's bound {}", e.a, ix.at(e.at),
                                  bound_in_flight),
                  {i});
      }
      if (static_cast<std::uint64_t>(e.b) > tasks_bound) {
        r.violate(ix, fmt::format("{} live tasks at {}: memory is not bounded (bound {})", e.b, ix.at(e.at),
                                  tasks_bound),
                  {i});
      }
    } else if (e.kind == k(Kind::queue_sample) && ev.policy != nullptr) {
      const auto topic = ix.name(e.source);
      if (const auto agent = rs::agent_from(topic)) {
        const auto bound = ev.policy->agent(*agent).queue_bound;
        if (static_cast<std::uint64_t>(e.a) > bound) {
          r.violate(ix, fmt::format("topic {} held {} messages at {}, above its bound {}", topic, e.a, ix.at(e.at),
                                    bound),
                    {i});
        }
      }
    } else if (e.kind == k(rs::Kind::message_rejected)) {
      if (rejected++ == 0) rejected_first = i;
    }
  }
  if (ev.metrics != nullptr) {
    std::uint64_t counted = 0;
    for (const auto& a : ev.metrics->agents) counted += a.queue_rejected;
    if (counted < rejected && ev.metrics->shed < rejected) {
      r.violate(ix, fmt::format("{} messages were refused by full queues, the metrics count {} (shed load not "
                                "counted)",
                                rejected, std::max(counted, ev.metrics->shed)),
                {rejected_first});
    }
  }
  r.note(fmt::format("at most {} invoices in flight and {} live tasks; {} refused messages counted", max_in_flight,
                     max_tasks, rejected));
  return r.finish();
}

}  // namespace

std::vector<std::uint64_t> succeeded_per_bucket(const runtime::EventLog& log, Instant start, Duration width,
                                                Instant end) {
  const auto buckets = static_cast<std::size_t>((end - start + width - Duration(1)) / width);
  std::vector<std::uint64_t> out(buckets, 0);
  for (const auto& e : log.events()) {
    if (e.kind != k(rs::Kind::outcome) || !is_success(e.detail) || e.at < start) continue;
    const auto b = static_cast<std::size_t>((e.at - start) / width);
    if (b < out.size()) ++out[b];
  }
  return out;
}

namespace {

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

}  // namespace

InvariantReport check_invariants(const Evidence& ev, const std::vector<std::string>& ids) {
  assert(ev.log != nullptr);
  const Index ix(ev);
  InvariantReport report;
  report.faults.resize(ev.faults.size());
  detect_times(ev, ix, report.faults);
  auto wanted = [&](std::string_view id) {
    return ids.empty() || std::find(ids.begin(), ids.end(), id) != ids.end();
  };
  if (wanted("conservation")) report.results.push_back(conservation(ev, ix));
  if (wanted("exactly_once")) report.results.push_back(exactly_once(ev, ix));
  if (wanted("bounded_retries")) report.results.push_back(bounded_retries(ev, ix));
  if (wanted("timeouts")) report.results.push_back(timeouts(ev, ix));
  if (wanted("circuit_breaker")) report.results.push_back(circuit_breaker(ev, ix));
  if (wanted("resumption")) report.results.push_back(resumption(ev, ix));
  if (wanted("degradation")) report.results.push_back(degradation(ev, ix));
  if (wanted("validation")) report.results.push_back(validation(ev, ix));
  if (wanted("visibility")) report.results.push_back(visibility(ev, ix));
  if (wanted("saturation")) report.results.push_back(saturation(ev, ix));
  if (wanted("recovery_time")) report.results.push_back(recovery_time(ev, ix, report.faults));
  return report;
}

std::string kind_name(std::uint16_t kind) {
  switch (kind) {
    case k(runtime::RuntimeEventKind::task_spawned): return "task_spawned";
    case k(runtime::RuntimeEventKind::task_cancelled): return "task_cancelled";
    case k(runtime::RuntimeEventKind::task_failed): return "task_failed";
    case k(resilience::Kind::attempt): return "attempt";
    case k(resilience::Kind::attempt_failed): return "attempt_failed";
    case k(resilience::Kind::retry_scheduled): return "retry_scheduled";
    case k(resilience::Kind::retries_exhausted): return "retries_exhausted";
    case k(resilience::Kind::call_succeeded): return "call_succeeded";
    case k(resilience::Kind::timeout): return "timeout";
    case k(resilience::Kind::breaker_transition): return "breaker_transition";
    case k(resilience::Kind::breaker_rejected): return "breaker_rejected";
    case k(resilience::Kind::dead_lettered): return "dlq_add";
    case k(resilience::Kind::degraded): return "pattern_degraded";
    case k(resilience::Kind::compensation_started): return "compensation_started";
    case k(resilience::Kind::compensation_failed): return "compensation_failed";
    case k(rs::Kind::invoice_submitted): return "invoice_submitted";
    case k(rs::Kind::step_started): return "step_started";
    case k(rs::Kind::step_finished): return "step_finished";
    case k(rs::Kind::call_attempt): return "call_attempt";
    case k(rs::Kind::call_result): return "call_result";
    case k(rs::Kind::outcome): return "outcome";
    case k(rs::Kind::ledger_posted): return "ledger_posted";
    case k(rs::Kind::ledger_duplicate): return "ledger_duplicate";
    case k(rs::Kind::ledger_reversed): return "ledger_reversed";
    case k(rs::Kind::budget_reserved): return "budget_reserved";
    case k(rs::Kind::budget_released): return "budget_released";
    case k(rs::Kind::notified): return "notified";
    case k(rs::Kind::compensation): return "compensation";
    case k(rs::Kind::checkpoint_saved): return "checkpoint_saved";
    case k(rs::Kind::checkpoint_loaded): return "checkpoint_loaded";
    case k(rs::Kind::checkpoint_failed): return "checkpoint_failed";
    case k(rs::Kind::agent_stopped): return "agent_stopped";
    case k(rs::Kind::agent_started): return "agent_started";
    case k(rs::Kind::message_rejected): return "message_rejected";
    case k(rs::Kind::message_redelivered): return "message_redelivered";
    case k(rs::Kind::dead_lettered): return "dead_lettered";
    case k(rs::Kind::manual_review): return "manual_review";
    case k(rs::Kind::degraded): return "degraded";
    case k(rs::Kind::ocr_fallback): return "ocr_fallback";
    case k(rs::Kind::stale_reply): return "stale_reply";
    case k(rs::Kind::request_expired): return "request_expired";
    case k(faults::Kind::window_opened): return "fault_window_opened";
    case k(faults::Kind::window_closed): return "fault_window_closed";
    case k(faults::Kind::touched): return "fault_touched";
    case k(faults::Kind::agent_crashed): return "fault_agent_crashed";
    case k(faults::Kind::agent_restarted): return "fault_agent_restarted";
    case k(faults::Kind::extra_arrival): return "fault_extra_arrival";
    case k(faults::Kind::duplicated): return "fault_duplicated";
    case k(faults::Kind::held_back): return "fault_held_back";
    case k(Kind::submitted): return "submitted";
    case k(Kind::call_begin): return "call_begin";
    case k(Kind::call_end): return "call_end";
    case k(Kind::call_abandoned): return "call_abandoned";
    case k(Kind::ledger_post_seen): return "ledger_post_seen";
    case k(Kind::checkpoint_write): return "checkpoint_write";
    case k(Kind::sample): return "sample";
    case k(Kind::queue_sample): return "queue_sample";
    case k(Kind::workload_stopped): return "workload_stopped";
    case k(Kind::drain_ended): return "drain_ended";
    case k(Kind::call_unfinished): return "call_unfinished";
    default: return fmt::format("kind_{:#06x}", kind);
  }
}

std::string describe_event(const runtime::EventLog& log, const Event& e, Instant start) {
  return fmt::format("t={:.3f}s {} {} invoice={} a={} b={} d={}", runtime::to_seconds(e.at - start),
                     kind_name(e.kind), log.name(e.source), e.subject, e.a, e.b, e.detail);
}

}  // namespace faultline::harness
