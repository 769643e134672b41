// Checkers that read the stores' side effects: exactly_once (the ledger and
// budget stores against the posted invoices) and resumption (no completed,
// checkpointed step repeated its side effect after a crash).
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

reports::InvariantResult exactly_once(const Evidence& ev, const Index& ix) {
  Result r("exactly_once", "at most one ledger entry per invoice; sagas fully committed or compensated");
  if (ev.ledger.empty() && ev.budget_held.empty() &&
      std::none_of(ix.invoices.begin(), ix.invoices.end(), [](const auto& kv) { return kv.second.outcomes > 0; })) {
    return r.skip("no invoice reached an outcome and the ledger and budget stores are empty");
  }
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
                              id, rs::to_string(inv.outcome)),
                  events_of(ix, id));
      }
      if (held.contains(id)) {
        r.violate(ix,
                  fmt::format("invoice {}: ended {} but still holds a budget reservation (saga not compensated)", id,
                              rs::to_string(inv.outcome)),
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

reports::InvariantResult resumption(const Evidence& ev, const Index& ix) {
  Result r("resumption", "after a crash no completed step runs again with a second side effect");
  if (ix.calls.empty() && ix.crashes.empty()) return r.skip("no external call was made and nothing crashed");
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
    if (is<he::CheckpointWrite>(e) && read<he::CheckpointWrite>(e).step_code > 0) {
      auto& c = checkpointed[e.subject];
      c = std::max(c, read<he::CheckpointWrite>(e).step_code);
    } else if (is<he::CallBegin>(e)) {
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
    std::map<std::tuple<std::uint64_t, std::uint32_t, rs::ServiceOp>, std::size_t> succeeded;  // -> end index
    std::size_t crash = 0;
    std::optional<std::size_t> last_crash;
    for (std::size_t i = 0; i < events.size(); ++i) {
      while (crash < ix.crashes.size() && ix.crashes[crash] <= i) last_crash = ix.crashes[crash++];
      const Event& e = events[i];
      if (is<he::CallEnd>(e) && !read<he::CallEnd>(e).failure) {
        const auto& c = ix.calls[ix.call_by_id.at(read<he::CallEnd>(e).call_id)];
        succeeded.emplace(std::make_tuple(c.subject, c.source, c.op), i);
      } else if (is<he::CallBegin>(e) && last_crash) {
        const auto it = succeeded.find({e.subject, e.source, read<he::CallBegin>(e).op});
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
}  // namespace faultline::harness::checks
