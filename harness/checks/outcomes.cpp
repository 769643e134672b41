// Checkers that read what became of each submitted invoice: conservation,
// validation (corrupted input), visibility (failures counted in the metrics)
// and saturation (bounds held under load).
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

namespace faultline::harness::checks {

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
}  // namespace faultline::harness::checks
