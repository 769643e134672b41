// The evidence index: one pass over a run's event log that every checker
// shares (per-invoice facts, the probes' calls, crashes, task failures), and
// the small helpers the checkers have in common (a result that keeps the
// first violation's evidence lines, the services and terminal outcomes of the
// reference system). Internal to harness/checks/: the public entry point is
// harness/invariants.h.
#pragma once

#include <array>
#include "runtime/assert.h"
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <fmt/core.h>

#include "faults/injector.h"
#include "harness/invariants.h"
#include "harness/probe.h"
#include "reference_system/events.h"
#include "reference_system/policy.h"
#include "resilience/events.h"

namespace faultline::harness::checks {

namespace rs = reference_system;
namespace pe = resilience::pattern_events;
namespace se = reference_system::system_events;
namespace fe = faults::fault_events;
namespace he = harness_events;
using runtime::Duration;
using runtime::Event;
using runtime::Instant;

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

inline const ServiceInfo* service_named(std::string_view name) {
  for (const auto& s : kServices) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

inline bool is_success(rs::InvoiceOutcome outcome) {
  return outcome == rs::InvoiceOutcome::posted || outcome == rs::InvoiceOutcome::posted_degraded;
}

struct Call {
  std::uint64_t id = 0;
  std::uint32_t source = 0;
  std::uint64_t subject = 0;
  rs::ServiceOp op{};
  Instant began{};
  std::size_t begin_index = 0;
  std::optional<Instant> ended;  // answered or abandoned
  std::size_t end_index = 0;
  std::optional<resilience::ErrorClass> failure;  // of an answered call
  bool abandoned = false;
  bool unfinished = false;
  bool failed() const { return abandoned || unfinished || failure.has_value(); }
};

// The call a CallEnd, CallAbandoned or CallUnfinished event ends.
inline std::uint64_t ended_call(const Event& e) {
  if (is<he::CallEnd>(e)) return read<he::CallEnd>(e).call_id;
  if (is<he::CallAbandoned>(e)) return read<he::CallAbandoned>(e).call_id;
  return read<he::CallUnfinished>(e).call_id;
}

struct InvoiceFacts {
  std::uint32_t submissions = 0;
  // The true total of the first submission submit() accepted (an id whose
  // first submission was refused is free: a later one under it is the
  // invoice); until one is accepted, the last submission's.
  std::int64_t true_total_cents = 0;
  bool truth_refused = false;     // the submission true_total_cents is from was refused
  std::uint32_t truth_from = 0;   // which submission it is from (0-based)
  std::optional<faults::Corruption> corruption;
  Instant submitted_at{};
  std::uint32_t outcomes = 0;
  std::array<std::uint32_t, rs::kOutcomeCount> by_outcome{};  // indexed by rs::InvoiceOutcome
  // The outcome that speaks for the invoice: its success if it had one
  // (a resubmitted id's refusal does not undo the original's posting).
  rs::InvoiceOutcome outcome{};
  Instant outcome_at{};
  std::int64_t outcome_total_cents = 0;
  std::uint32_t successes() const { return by_outcome[0] + by_outcome[1]; }
  std::uint32_t duplicates_delivered = 0;
  std::uint32_t notified_ok = 0;
  std::uint32_t undo_requests = 0;  // SystemEvent::undo_started
  std::uint32_t refused = 0;  // submissions submit() refused, as the harness was told
  std::size_t refused_first = 0;  // event index of the first refusal
  std::optional<std::size_t> parked;  // event index of its last SystemEvent::parked (a full or failing store)
};

// One pass over the log: everything the checkers look up.
struct Index {
  const runtime::EventLog* log;
  Instant start;
  std::map<std::uint64_t, InvoiceFacts> invoices;
  std::vector<Call> calls;
  std::unordered_map<std::uint64_t, std::size_t> call_by_id;
  std::vector<std::size_t> task_failures;
  std::vector<std::size_t> crashes;  // faults::FaultEvent::agent_crashed or rs agent_stopped
  std::map<std::string, std::uint32_t> restarts_by_agent;

  explicit Index(const Evidence& ev);

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
  void violate(const Index& ix, std::string message, std::vector<std::size_t> event_indices);
  void note(std::string message) {
    if (r_.passed) r_.message = std::move(message);
  }
  // Nothing in the run could have made this check fail: it is reported as
  // skipped (not applicable), not as passed. Only before any violation.
  reports::InvariantResult skip(std::string why) {
    FAULTLINE_ASSERT(violations_ == 0);
    r_.passed = false;
    r_.skipped = true;
    r_.message = std::move(why);
    return std::move(r_);
  }
  reports::InvariantResult finish() {
    if (violations_ > 1) r_.message += fmt::format(" ({} violations in all)", violations_);
    return std::move(r_);
  }

 private:
  reports::InvariantResult r_;
  std::uint64_t violations_ = 0;
};

// Where one invoice's submissions were found at the end (see
// harness::reconcile_outcomes): each submission is matched with a refusal,
// the inbox, or one store; what is matched with nothing is lost.
enum class Place : std::uint8_t { none, in_flight, ledger, manual_review, dead_letter, rejected };
struct Placement {
  std::uint32_t submissions = 0;
  std::uint32_t refused = 0;   // submissions matched with a refusal
  Place place = Place::none;   // where one more submission was found
  std::uint32_t lost = 0;      // submissions found nowhere
  // Stores holding the invoice beyond the submissions (found twice), when it
  // is not in flight; and which they are.
  std::uint32_t excess = 0;
  std::array<bool, 6> in{};    // indexed by Place
};
struct Placements {
  std::map<std::uint64_t, Placement> by_id;
  reports::OutcomeCounts counts;
};
Placements place_invoices(const Evidence& ev, const Index& ix);
std::string_view place_name(Place p);

// Event indices that concern one invoice, all of them: Result::violate keeps
// the first kEvidenceLines and counts the rest in evidence_dropped.
std::vector<std::size_t> events_of(const Index& ix, std::uint64_t invoice);

const rs::ServicePolicy* service_policy(const Evidence& ev, std::string_view name);

}  // namespace faultline::harness::checks
