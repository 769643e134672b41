#include "harness/checks/evidence.h"

#include <algorithm>

#include "faults/injector.h"
#include "resilience/events.h"

namespace faultline::harness {

namespace checks {

Index::Index(const Evidence& ev) : log(ev.log), start(ev.start) {
  const auto& events = log->events();
  for (std::size_t i = 0; i < events.size(); ++i) {
    const Event& e = events[i];
    switch (e.kind) {
      case k(HarnessEvent::submitted): {
        const auto s = read<he::Submitted>(e);
        auto& inv = invoices[e.subject];
        if (inv.submissions == 0) inv.submitted_at = e.at;
        if (inv.submissions == 0 || inv.truth_refused) {
          inv.true_total_cents = s.true_total_cents;
          inv.truth_refused = false;
          inv.truth_from = inv.submissions;
        }
        ++inv.submissions;
        inv.corruption = std::max(inv.corruption, s.corruption);  // none sorts first
        break;
      }
      case k(rs::SystemEvent::outcome): {
        const auto o = read<rs::system_events::TerminalOutcome>(e);
        auto& inv = invoices[e.subject];
        if (const auto n = static_cast<std::size_t>(o.outcome); n < inv.by_outcome.size()) ++inv.by_outcome[n];
        if (inv.outcomes++ == 0 || (is_success(o.outcome) && inv.successes() == 1)) {
          inv.outcome = o.outcome;
          inv.outcome_at = e.at;
          inv.outcome_total_cents = o.total_cents;
        }
        break;
      }
      case k(HarnessEvent::call_begin): {
        const auto begin = read<he::CallBegin>(e);
        Call c;
        c.id = begin.call_id;
        c.source = e.source;
        c.subject = e.subject;
        c.op = begin.op;
        c.began = e.at;
        c.begin_index = i;
        call_by_id[c.id] = calls.size();
        calls.push_back(c);
        break;
      }
      case k(HarnessEvent::call_end):
      case k(HarnessEvent::call_abandoned):
      case k(HarnessEvent::call_unfinished): {
        auto it = call_by_id.find(ended_call(e));
        if (it == call_by_id.end()) break;
        Call& c = calls[it->second];
        c.end_index = i;
        if (is<he::CallEnd>(e)) {
          c.ended = e.at;
          c.failure = read<he::CallEnd>(e).failure;
          if (!c.failure && log->name(e.source) == "notifier") ++invoices[e.subject].notified_ok;
        } else if (is<he::CallAbandoned>(e)) {
          c.ended = e.at;
          c.abandoned = true;
        } else {
          c.unfinished = true;
        }
        break;
      }
      case k(faults::FaultEvent::duplicated): ++invoices[e.subject].duplicates_delivered; break;
      case k(rs::SystemEvent::parked): invoices[e.subject].parked = i; break;
      case k(rs::SystemEvent::undo_started): ++invoices[e.subject].undo_requests; break;
      case k(HarnessEvent::refused): {
        auto& inv = invoices[e.subject];
        if (inv.refused++ == 0) inv.refused_first = i;
        // A refusal answers the submission just made (submit() answers at once).
        if (inv.truth_from + 1 == inv.submissions) inv.truth_refused = true;
        break;
      }
      case k(runtime::RuntimeEvent::task_failed): task_failures.push_back(i); break;
      case k(rs::SystemEvent::agent_stopped):
        crashes.push_back(i);
        ++restarts_by_agent[std::string(log->name(e.source))];
        break;
      default: break;
    }
  }
}

void Result::violate(const Index& ix, std::string message, std::vector<std::size_t> event_indices) {
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

std::string_view place_name(Place p) {
  switch (p) {
    case Place::none: return "nowhere";
    case Place::in_flight: return "the inbox (in flight)";
    case Place::ledger: return "the ledger";
    case Place::manual_review: return "the manual-review queue";
    case Place::dead_letter: return "the dead-letter queue";
    case Place::rejected: return "the rejection records";
  }
  return "?";
}

Placements place_invoices(const Evidence& ev, const Index& ix) {
  Placements out;
  auto mark = [&](std::uint64_t id, Place p) { out.by_id[id].in[static_cast<std::size_t>(p)] = true; };
  for (const auto& l : ev.ledger) {
    if (!l.reversed) mark(l.invoice_id, Place::ledger);
  }
  for (auto id : ev.in_flight_ids) mark(id, Place::in_flight);
  for (auto id : ev.manual_review_ids) mark(id, Place::manual_review);
  for (auto id : ev.dead_letter_ids) mark(id, Place::dead_letter);
  for (auto id : ev.rejected_ids) mark(id, Place::rejected);
  for (const auto& [id, inv] : ix.invoices) {
    if (inv.submissions > 0 || inv.refused > 0) (void)out.by_id[id];
  }
  auto& c = out.counts;
  for (auto& [id, p] : out.by_id) {
    const auto it = ix.invoices.find(id);
    const InvoiceFacts* inv = it != ix.invoices.end() ? &it->second : nullptr;
    p.submissions = inv != nullptr ? inv->submissions : 0;
    c.submitted += p.submissions;
    std::uint32_t left = p.submissions;
    p.refused = std::min(left, inv != nullptr ? inv->refused : 0u);
    left -= p.refused;
    c.refused += p.refused;
    // Precedence: an invoice still in the inbox is in flight whatever a
    // store already holds of it (posted, its notification still to come).
    constexpr std::array<Place, 5> kOrder = {Place::in_flight, Place::ledger, Place::manual_review,
                                             Place::dead_letter, Place::rejected};
    std::uint32_t held = 0;
    for (const Place q : kOrder) {
      if (!p.in[static_cast<std::size_t>(q)]) continue;
      ++held;
      if (p.place == Place::none) p.place = q;
    }
    if (p.place != Place::none && left > 0) {
      --left;
      switch (p.place) {
        case Place::in_flight: ++c.in_flight; break;
        case Place::ledger: {
          const bool degraded =
              inv != nullptr && inv->outcomes > 0 && inv->outcome == rs::InvoiceOutcome::posted_degraded;
          ++(degraded ? c.posted_degraded : c.posted);
          break;
        }
        case Place::manual_review: ++c.manual_review; break;
        case Place::dead_letter: ++c.dead_lettered; break;
        case Place::rejected: ++c.rejected_invalid; break;
        case Place::none: break;
      }
    }
    p.lost = left;
    c.lost += left;
    const std::uint32_t found = p.refused + held;
    if (p.place != Place::in_flight && found > p.submissions) p.excess = found - p.submissions;
  }
  return out;
}

std::vector<std::size_t> events_of(const Index& ix, std::uint64_t invoice) {
  std::vector<std::size_t> out;
  const auto& events = ix.log->events();
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (events[i].subject == invoice && events[i].kind >= 0x0200) out.push_back(i);
  }
  return out;
}

const rs::ServicePolicy* service_policy(const Evidence& ev, std::string_view name) {
  const auto* s = service_named(name);
  if (s == nullptr || ev.policy == nullptr) return nullptr;
  return &ev.policy->service(s->id);
}

}  // namespace checks

using checks::k;
using runtime::Event;
using runtime::Instant;

std::string kind_name(std::uint16_t kind) {
  switch (kind) {
    case k(runtime::RuntimeEvent::task_spawned): return "task_spawned";
    case k(runtime::RuntimeEvent::task_cancelled): return "task_cancelled";
    case k(runtime::RuntimeEvent::task_failed): return "task_failed";
    case k(resilience::PatternEvent::attempt): return "attempt";
    case k(resilience::PatternEvent::attempt_failed): return "attempt_failed";
    case k(resilience::PatternEvent::retry_scheduled): return "retry_scheduled";
    case k(resilience::PatternEvent::retries_exhausted): return "retries_exhausted";
    case k(resilience::PatternEvent::call_succeeded): return "call_succeeded";
    case k(resilience::PatternEvent::timeout): return "timeout";
    case k(resilience::PatternEvent::breaker_transition): return "breaker_transition";
    case k(resilience::PatternEvent::breaker_rejected): return "breaker_rejected";
    case k(resilience::PatternEvent::dead_lettered): return "dlq_add";
    case k(resilience::PatternEvent::degraded): return "pattern_degraded";
    case k(resilience::PatternEvent::compensation_started): return "compensation_started";
    case k(resilience::PatternEvent::compensation_failed): return "compensation_failed";
    case k(rs::SystemEvent::invoice_submitted): return "invoice_submitted";
    case k(rs::SystemEvent::step_started): return "step_started";
    case k(rs::SystemEvent::step_finished): return "step_finished";
    case k(rs::SystemEvent::call_attempt): return "call_attempt";
    case k(rs::SystemEvent::call_result): return "call_result";
    case k(rs::SystemEvent::outcome): return "outcome";
    case k(rs::SystemEvent::ledger_posted): return "ledger_posted";
    case k(rs::SystemEvent::ledger_duplicate): return "ledger_duplicate";
    case k(rs::SystemEvent::ledger_reversed): return "ledger_reversed";
    case k(rs::SystemEvent::budget_reserved): return "budget_reserved";
    case k(rs::SystemEvent::budget_released): return "budget_released";
    case k(rs::SystemEvent::notified): return "notified";
    case k(rs::SystemEvent::compensation): return "compensation";
    case k(rs::SystemEvent::checkpoint_saved): return "checkpoint_saved";
    case k(rs::SystemEvent::checkpoint_loaded): return "checkpoint_loaded";
    case k(rs::SystemEvent::checkpoint_failed): return "checkpoint_failed";
    case k(rs::SystemEvent::agent_stopped): return "agent_stopped";
    case k(rs::SystemEvent::agent_started): return "agent_started";
    case k(rs::SystemEvent::message_rejected): return "message_rejected";
    case k(rs::SystemEvent::message_redelivered): return "message_redelivered";
    case k(rs::SystemEvent::dead_lettered): return "dead_lettered";
    case k(rs::SystemEvent::manual_review): return "manual_review";
    case k(rs::SystemEvent::degraded): return "degraded";
    case k(rs::SystemEvent::ocr_fallback): return "ocr_fallback";
    case k(rs::SystemEvent::stale_reply): return "stale_reply";
    case k(rs::SystemEvent::request_expired): return "request_expired";
    case k(rs::SystemEvent::undo_started): return "undo_started";
    case k(rs::SystemEvent::undo_finished): return "undo_finished";
    case k(faults::FaultEvent::window_opened): return "fault_window_opened";
    case k(faults::FaultEvent::window_closed): return "fault_window_closed";
    case k(faults::FaultEvent::touched): return "fault_touched";
    case k(faults::FaultEvent::agent_crashed): return "fault_agent_crashed";
    case k(faults::FaultEvent::agent_restarted): return "fault_agent_restarted";
    case k(faults::FaultEvent::extra_arrival): return "fault_extra_arrival";
    case k(faults::FaultEvent::duplicated): return "fault_duplicated";
    case k(faults::FaultEvent::held_back): return "fault_held_back";
    case k(faults::FaultEvent::agent_paused): return "fault_agent_paused";
    case k(faults::FaultEvent::agent_resumed): return "fault_agent_resumed";
    case k(HarnessEvent::submitted): return "submitted";
    case k(HarnessEvent::call_begin): return "call_begin";
    case k(HarnessEvent::call_end): return "call_end";
    case k(HarnessEvent::call_abandoned): return "call_abandoned";
    case k(HarnessEvent::ledger_post_seen): return "ledger_post_seen";
    case k(HarnessEvent::checkpoint_write): return "checkpoint_write";
    case k(HarnessEvent::sample): return "sample";
    case k(HarnessEvent::queue_sample): return "queue_sample";
    case k(HarnessEvent::workload_stopped): return "workload_stopped";
    case k(HarnessEvent::drain_ended): return "drain_ended";
    case k(HarnessEvent::call_unfinished): return "call_unfinished";
    case k(HarnessEvent::refused): return "refused";
    case k(rs::SystemEvent::submission_refused): return "submission_refused";
    case k(rs::SystemEvent::parked): return "parked";
    default: return fmt::format("kind_{:#06x}", kind);
  }
}

std::string describe_event(const runtime::EventLog& log, const Event& e, Instant start) {
  return fmt::format("t={:.3f}s {} {} invoice={} a={} b={} d={}", runtime::to_seconds(e.at - start),
                     kind_name(e.kind), log.name(e.source), e.subject, e.word0, e.word1, e.narrow);
}

}  // namespace faultline::harness
