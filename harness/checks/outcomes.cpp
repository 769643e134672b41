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
#include "reference_system/orchestrator.h"
#include "resilience/events.h"

namespace faultline::harness::checks {

reports::InvariantResult conservation(const Evidence& ev, const Index& ix) {
  Result r("conservation", "every submitted invoice is found in exactly one place: a store or a refusal");
  if (ev.stores_unreadable) {
    r.violate(ix, "the stores could not be read at the end: " + *ev.stores_unreadable, {});
    return r.finish();
  }
  const Placements placed = place_invoices(ev, ix);
  for (const auto& [id, p] : placed.by_id) {
    const auto it = ix.invoices.find(id);
    const InvoiceFacts none{};
    const InvoiceFacts& inv = it != ix.invoices.end() ? it->second : none;
    const bool said = inv.outcomes > 0;
    const auto accepted = inv.submissions - std::min(inv.submissions, inv.refused);
    if (inv.submissions == 0) {
      r.violate(ix,
                fmt::format("invoice {}: {} for an invoice the workload never submitted",
                            id, said ? "an outcome" : fmt::format("held in {}", place_name(p.place))),
                events_of(ix, id));
    } else if (p.lost > 0) {
      // Say what the system claimed, and that no store bears it out.
      std::string claim;
      if (said && is_success(inv.outcome)) {
        claim = fmt::format("reported {} but the ledger holds no live entry for it", rs::to_string(inv.outcome));
      } else if (said) {
        claim = fmt::format("reported {} but no store holds it", rs::to_string(inv.outcome));
      } else {
        claim = "no outcome, no refusal, and no store holds it";
      }
      r.violate(ix,
                fmt::format("invoice {}: submitted {} time(s) at {}, {} submission(s) found nowhere: {}: lost", id,
                            inv.submissions, ix.at(inv.submitted_at), p.lost, claim),
                events_of(ix, id));
    } else if (p.place == Place::in_flight) {
      std::string why = " (unfinished)";
      if (inv.parked) {
        const Event& e = ix.log->events()[*inv.parked];
        const auto parked = read<rs::system_events::Parked>(e);
        why = fmt::format(": parked since {}, {} refused it ({})", ix.at(e.at),
                          parked.bound_for == rs::InvoiceOutcome::dead_lettered   ? "the dead-letter queue"
                          : parked.bound_for == rs::InvoiceOutcome::manual_review ? "the manual-review queue"
                                                                                   : "the rejection records",
                          resilience::to_string(parked.refusal));
      }
      std::vector<std::size_t> shown = events_of(ix, id);
      if (inv.parked && std::find(shown.begin(), shown.end(), *inv.parked) == shown.end()) {
        if (shown.size() >= kEvidenceLines) shown.pop_back();
        shown.push_back(*inv.parked);
      }
      r.violate(ix,
                fmt::format("invoice {}: submitted at {}, still in flight after the drain{}", id,
                            ix.at(inv.submitted_at), why),
                shown);
    } else if (p.excess > 0) {
      std::string where;
      for (std::size_t q = 1; q < p.in.size(); ++q) {
        if (p.in[q]) where += (where.empty() ? "" : ", ") + std::string(place_name(static_cast<Place>(q)));
      }
      r.violate(ix,
                fmt::format("invoice {}: submitted {} time(s) but found in {} place(s): {}{}", id, inv.submissions,
                            p.submissions + p.excess, where,
                            p.refused > 0 ? fmt::format(" and {} refusal(s)", p.refused) : std::string()),
                events_of(ix, id));
    } else if (inv.outcomes > accepted) {
      r.violate(ix, fmt::format("invoice {}: {} terminal outcomes for {} accepted submission(s)", id, inv.outcomes,
                                accepted),
                events_of(ix, id));
    } else if (said && is_success(inv.outcome) && p.place != Place::ledger) {
      r.violate(ix,
                fmt::format("invoice {}: reported {} but the ledger holds no live entry for it (it is in {})", id,
                            rs::to_string(inv.outcome), place_name(p.place)),
                events_of(ix, id));
    }
  }
  const auto& c = placed.counts;
  r.note(fmt::format("{} submissions, each found in one place: {} in the ledger, {} in the dead-letter queue, {} in "
                     "manual review, {} rejected, {} refused at submission; none lost",
                     c.submitted, c.processed(), c.dead_lettered, c.manual_review, c.rejected_invalid, c.refused));
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
    if (!inv.corruption) continue;
    ++corrupted;
    if (inv.outcomes == 0 || !is_success(inv.outcome)) continue;
    const auto mode = *inv.corruption;
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
      if (c.source == source && c.ended && !c.abandoned && c.failure) ++answered_failures;
    }
    if (counted < answered_failures) {
      r.violate(ix,
                fmt::format("{}: the probes saw {} failed answers, the metrics count {} errors", info.name,
                            answered_failures, counted),
                {first});
    }
  }
  // Outcomes: every failed invoice must be counted under its outcome.
  std::array<std::uint64_t, rs::kOutcomeCount> seen{};
  std::map<std::uint16_t, std::uint64_t> example;
  for (const auto& [id, inv] : ix.invoices) {
    for (std::size_t o = 0; o < rs::kOutcomeCount; ++o) {
      if (inv.by_outcome[o] == 0) continue;
      seen[o] += inv.by_outcome[o];
      example.emplace(static_cast<std::uint16_t>(o), id);
    }
  }
  for (std::size_t o = 0; o < rs::kOutcomeCount; ++o) {
    const auto counted = m.outcomes[o];
    if (counted < seen[o]) {
      const auto id = example[static_cast<std::uint16_t>(o)];
      r.violate(ix,
                fmt::format("{} invoices ended {} but the metrics count {} (e.g. invoice {})", seen[o],
                            rs::to_string(static_cast<rs::InvoiceOutcome>(o)), counted, id),
                events_of(ix, id));
    }
  }
  // The dead-letter queue as the system reports it (its outcome events and
  // its gauge) against what its store holds.
  const std::unordered_set<std::uint64_t> held(ev.dead_letter_ids.begin(), ev.dead_letter_ids.end());
  std::uint64_t reported = 0;
  std::optional<std::uint64_t> missing;
  for (const auto& [id, inv] : ix.invoices) {
    const auto n = inv.by_outcome[static_cast<std::size_t>(rs::InvoiceOutcome::dead_lettered)];
    if (n == 0) continue;
    reported += n;
    if (!held.contains(id) && !missing) missing = id;
  }
  if (missing) {
    r.violate(ix,
              fmt::format("the system reports {} invoices dead-lettered, the dead-letter queue's store holds {} "
                          "(invoice {} is not in it)",
                          reported, held.size(), *missing),
              events_of(ix, *missing));
  }
  if (m.dead_letter_size != ev.dead_letter_ids.size()) {
    r.violate(ix,
              fmt::format("the dead-letter queue's store holds {} invoices, the metrics say {}",
                          ev.dead_letter_ids.size(), m.dead_letter_size),
              {});
  }
  if (m.manual_review_size != ev.manual_review_ids.size()) {
    r.violate(ix,
              fmt::format("the manual-review queue holds {} invoices, the metrics say {}", ev.manual_review_ids.size(),
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
  // The deepest agent queue the harness sampled, against its bound.
  std::uint64_t deepest = 0;
  std::uint64_t deepest_bound = 0;
  std::string deepest_topic;
  std::uint64_t tasks_bound = ev.live_tasks_bound;
  if (tasks_bound == 0 && ev.policy != nullptr) {
    std::uint64_t workers = 0;
    for (const auto& a : ev.policy->agents) workers += a.workers;
    tasks_bound = 2 * ev.policy->max_in_flight + 4 * workers + 10'000;
  }
  if (tasks_bound == 0) tasks_bound = UINT64_MAX;
  for (std::size_t i = 0; i < events.size(); ++i) {
    const Event& e = events[i];
    if (is<he::Sample>(e)) {
      const auto sample = read<he::Sample>(e);
      max_in_flight = std::max(max_in_flight, sample.in_flight);
      max_tasks = std::max(max_tasks, sample.live_tasks);
      if (sample.in_flight > bound_in_flight) {
        r.violate(ix, fmt::format("{} invoices in flight at {}, above the policy's bound {}", sample.in_flight,
                                  ix.at(e.at), bound_in_flight),
                  {i});
      }
      if (sample.live_tasks > tasks_bound) {
        r.violate(ix, fmt::format("{} live tasks at {}: memory is not bounded (bound {})", sample.live_tasks,
                                  ix.at(e.at), tasks_bound),
                  {i});
      }
    } else if (is<he::QueueSample>(e) && ev.policy != nullptr) {
      const auto topic = ix.name(e.source);
      const auto depth = read<he::QueueSample>(e).depth;
      if (const auto agent = rs::agent_from(topic)) {
        const auto bound = ev.policy->agent(*agent).queue_bound;
        if (depth > deepest) {
          deepest = depth;
          deepest_bound = bound;
          deepest_topic = topic;
        }
        if (depth > bound) {
          r.violate(ix, fmt::format("topic {} held {} messages at {}, above its bound {}", topic, depth, ix.at(e.at),
                                    bound),
                    {i});
        }
      }
    } else if (e.kind == k(rs::SystemEvent::message_rejected)) {
      if (rejected++ == 0) rejected_first = i;
    }
  }
  // Submissions refused to the harness (its own record of what submit()
  // returned), by reason.
  std::uint64_t shed = 0, duplicates = 0;
  std::size_t shed_first = 0;
  for (const auto& [id, inv] : ix.invoices) {
    (void)id;
    if (inv.refused == 0) continue;
    if (read<he::Refused>(events[inv.refused_first]).result == rs::SubmitResult::refused_overloaded) {
      if (shed == 0 || inv.refused_first < shed_first) shed_first = inv.refused_first;
      shed += inv.refused;
    } else {
      duplicates += inv.refused;
    }
  }
  if (ev.metrics != nullptr) {
    std::uint64_t counted = 0;
    for (const auto& a : ev.metrics->agents) counted += a.queue_rejected;
    // The injector's own publishes refused are not the system's to count.
    rejected -= std::min(rejected, ev.injected_refusals);
    if (counted < rejected && ev.metrics->shed < rejected) {
      r.violate(ix, fmt::format("{} messages were refused by full queues, the metrics count {} (shed load not "
                                "counted)",
                                rejected, std::max(counted, ev.metrics->shed)),
                {rejected_first});
    }
    if (ev.metrics->shed < shed) {
      r.violate(ix,
                fmt::format("{} submissions were refused to the harness over the in-flight bound, the metrics count "
                            "{} shed (shed load not counted)",
                            shed, ev.metrics->shed),
                {shed_first});
    }
    if (ev.metrics->duplicates_refused < duplicates) {
      r.violate(ix,
                fmt::format("{} submissions were refused to the harness as duplicates, the metrics count {}",
                            duplicates, ev.metrics->duplicates_refused),
                {});
    }
  }
  std::string queues;
  if (!deepest_topic.empty()) {
    queues = fmt::format("; deepest queue {}: {} of its bound {}", deepest_topic, deepest, deepest_bound);
  }
  r.note(fmt::format("at most {} invoices in flight and {} live tasks; {} submission(s) refused over the in-flight "
                     "bound and {} publish(es) refused by full queues, all counted{}",
                     max_in_flight, max_tasks, shed, rejected, queues));
  return r.finish();
}
}  // namespace faultline::harness::checks
