// What the reference system tells the event log, in its own range
// 0x0200-0x02ff of runtime::EventLog. The harness's invariant checkers read
// these (with the resilience layer's 0x01xx events) instead of trusting the
// system's own counters, so every fact a checker needs is here. Each kind's
// fields are the payload struct of the same name in `system_events`;
// `source` is always an interned name: the agent ("ocr", "validation",
// "matching", "accounting", "archive", "orchestrator"), the service
// ("ocr_engine", "backup_ocr", "po_database", "budget_service", "ledger",
// "notifier"), "bus" or "checkpoint_store". `subject` is the invoice id
// unless said otherwise.
//
//   namespace se = system_events;
//   log.record(source, invoice_id, se::LedgerPosted{amount_cents, sequence, /*idempotency_key=*/true});
//   if (is<se::TerminalOutcome>(e)) latency += read<se::TerminalOutcome>(e).latency;
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "resilience/outcome.h"
#include "runtime/event_log.h"

namespace faultline::reference_system {

enum class SystemEvent : std::uint16_t {
  invoice_submitted = 0x0200,
  step_started = 0x0201,
  step_finished = 0x0202,
  call_attempt = 0x0203,
  call_result = 0x0204,
  outcome = 0x0205,
  ledger_posted = 0x0206,
  ledger_duplicate = 0x0207,
  ledger_reversed = 0x0208,
  budget_reserved = 0x0209,
  budget_released = 0x020a,
  notified = 0x020b,
  compensation = 0x020c,
  checkpoint_saved = 0x020d,
  checkpoint_loaded = 0x020e,
  checkpoint_failed = 0x020f,
  agent_stopped = 0x0210,
  agent_started = 0x0211,
  // 0x0212 is unused: publishes are not logged one by one, to keep the hot
  // path cheap; the bus counts them and its depth is in the metrics.
  message_rejected = 0x0213,
  message_redelivered = 0x0214,
  dead_lettered = 0x0215,
  manual_review = 0x0216,
  degraded = 0x0217,
  ocr_fallback = 0x0218,
  stale_reply = 0x0219,
  request_expired = 0x021a,
  notify_duplicate = 0x0220,
  request_duplicate = 0x0221,
  // The live bus (reference_system/live/redis_stream_bus.h).
  bus_failure = 0x0222,
  message_dead = 0x0223,
  // The orchestrator asking an agent to undo a step whose outcome it does
  // not know (orchestrator.h, "Unknown outcomes").
  undo_started = 0x0224,
  undo_finished = 0x0225,
  // 0x0230-0x023f: intake and the terminal stores.
  submission_refused = 0x0230,
  parked = 0x0231,
};

// What a failed command of the live bus was doing.
enum class BusOp : std::uint8_t { publish = 0, ack = 1, read = 2, reread = 3, claim = 4, bury = 5, maintain = 6 };

// Why the live bus moved an entry to a dead stream.
enum class DeadReason : std::uint8_t { undecodable = 1, delivery_limit = 2 };

// Terminal outcomes.
enum class InvoiceOutcome : std::uint8_t {
  posted = 0,
  posted_degraded = 1,
  rejected_invalid = 2,
  dead_lettered = 3,
  manual_review = 4,
};
inline constexpr std::size_t kOutcomeCount = 5;
std::string_view to_string(InvoiceOutcome o) noexcept;

// Why an invoice needs a human.
enum class ReviewReason : std::uint8_t {
  matching_failed_large_amount = 0,
  compensation_failed = 1,
  unreadable_document = 2,
};
std::string_view to_string(ReviewReason r) noexcept;

// Operations of the service ports.
enum class ServiceOp : std::uint8_t {
  recognize = 0,
  po_lookup = 1,
  po_candidates = 2,
  budget_reserve = 3,
  budget_release = 4,
  ledger_post = 5,
  ledger_reverse = 6,
  notify = 7,
};

// What a saga compensation undid.
enum class CompensationStep : std::uint8_t {
  budget_release = 0,
  ledger_reverse = 1,
};

// Defined with the ports and the orchestrator, which record through this header.
enum class StepStatus : std::uint8_t;
enum class SubmitResult : std::uint8_t;

namespace system_events {

using resilience::ErrorClass;
using runtime::Duration;
using runtime::plus_one;

// The workload handed an invoice to the orchestrator.
struct InvoiceSubmitted {
  static constexpr SystemEvent kind = SystemEvent::invoice_submitted;
  std::int64_t total_cents = 0;
  bool id_taken = false;  // an invoice under this id was submitted before
  std::uint16_t scan_quality_percent = 0;
  constexpr void slots(auto& s) { s.word0(total_cents).word1(id_taken).narrow(scan_quality_percent); }
};

// The orchestrator began a workflow step (source = agent).
struct StepStarted {
  static constexpr SystemEvent kind = SystemEvent::step_started;
  std::uint64_t step = 0;
  std::uint32_t attempt = 0;  // 1-based
  constexpr void slots(auto& s) { s.word0(step).word1(attempt); }
};

struct StepFinished {
  static constexpr SystemEvent kind = SystemEvent::step_finished;
  std::uint64_t step = 0;
  std::uint32_t attempt = 0;
  StepStatus status{};
  constexpr void slots(auto& s) { s.word0(step).word1(attempt).narrow(status); }
};

// The orchestrator asked the step's agent to undo whatever the step's
// attempts did, because none of their replies came (source = agent).
struct UndoStarted {
  static constexpr SystemEvent kind = SystemEvent::undo_started;
  std::uint64_t step = 0;
  std::uint32_t attempt = 0;  // of the undo request, 1-based
  constexpr void slots(auto& s) { s.word0(step).word1(attempt); }
};

// Its answer: ok (undone, or nothing to undo) or needs_review (could not be
// undone); failed when no reply came in time (the undo is asked again).
struct UndoFinished {
  static constexpr SystemEvent kind = SystemEvent::undo_finished;
  std::uint64_t step = 0;
  std::uint32_t attempt = 0;
  StepStatus status{};
  constexpr void slots(auto& s) { s.word0(step).word1(attempt).narrow(status); }
};

// An external call is about to be made (source = service).
struct CallAttempt {
  static constexpr SystemEvent kind = SystemEvent::call_attempt;
  std::uint32_t attempt = 0;  // within this call, 1-based
  ServiceOp op{};
  constexpr void slots(auto& s) { s.word0(attempt).word1(op); }
};

// An external call ended (source = service).
struct CallResult {
  static constexpr SystemEvent kind = SystemEvent::call_result;
  Duration latency{};
  ServiceOp op{};
  std::optional<ErrorClass> failure{};
  constexpr void slots(auto& s) { s.word0(latency).word1(op).narrow(failure); }
};

// Exactly one per accepted submission. A second submission under an id
// already taken is refused at once (SubmissionRefused, no outcome), and the
// first one's workflow goes on unaffected.
struct TerminalOutcome {
  static constexpr SystemEvent kind = SystemEvent::outcome;
  InvoiceOutcome outcome{};
  Duration latency{};  // end to end
  std::int64_t total_cents = 0;
  constexpr void slots(auto& s) { s.word0(latency).word1(total_cents).narrow(outcome); }
};

// The ledger applied an entry (source = "ledger").
struct LedgerPosted {
  static constexpr SystemEvent kind = SystemEvent::ledger_posted;
  std::int64_t amount_cents = 0;
  std::uint64_t sequence = 0;
  bool idempotency_key = false;  // the entry carried one
  constexpr void slots(auto& s) { s.word0(amount_cents).word1(sequence).narrow(idempotency_key); }
};

// The ledger refused a second entry with the same idempotency key.
struct LedgerDuplicate {
  static constexpr SystemEvent kind = SystemEvent::ledger_duplicate;
  std::uint64_t first_sequence = 0;
  constexpr void slots(auto& s) { s.word0(first_sequence); }
};

// The ledger reversed an entry (compensation).
struct LedgerReversed {
  static constexpr SystemEvent kind = SystemEvent::ledger_reversed;
  std::int64_t amount_cents = 0;
  std::uint64_t sequence = 0;
  constexpr void slots(auto& s) { s.word0(amount_cents).word1(sequence); }
};

struct BudgetReserved {
  static constexpr SystemEvent kind = SystemEvent::budget_reserved;
  std::int64_t amount_cents = 0;
  constexpr void slots(auto& s) { s.word0(amount_cents); }
};

struct BudgetReleased {
  static constexpr SystemEvent kind = SystemEvent::budget_released;
  std::int64_t change_cents = 0;  // minus the amount released
  constexpr void slots(auto& s) { s.word0(change_cents); }
};

// The AP notifier delivered a notification.
struct Notified {
  static constexpr SystemEvent kind = SystemEvent::notified;
};

// The AP notifier refused a notice whose idempotency key it had delivered.
struct NotifyDuplicate {
  static constexpr SystemEvent kind = SystemEvent::notify_duplicate;
};

// A saga compensation ran (source = agent).
struct Compensation {
  static constexpr SystemEvent kind = SystemEvent::compensation;
  CompensationStep undone{};
  bool failed = false;
  constexpr void slots(auto& s) { s.word0(undone).narrow(failed); }
};

// A checkpoint was written (source = agent or orchestrator).
struct CheckpointSaved {
  static constexpr SystemEvent kind = SystemEvent::checkpoint_saved;
  std::uint64_t steps_completed = 0;
  std::int64_t bytes = 0;
  constexpr void slots(auto& s) { s.word0(steps_completed).word1(bytes); }
};

// A checkpoint was read back to resume work.
struct CheckpointLoaded {
  static constexpr SystemEvent kind = SystemEvent::checkpoint_loaded;
  std::uint64_t steps_completed = 0;
  constexpr void slots(auto& s) { s.word0(steps_completed); }
};

// A checkpoint could not be written (steps_completed: what it was to hold)
// or read (0).
struct CheckpointFailed {
  static constexpr SystemEvent kind = SystemEvent::checkpoint_failed;
  std::uint64_t steps_completed = 0;
  ErrorClass cause{};
  constexpr void slots(auto& s) { s.word0(steps_completed).narrow(plus_one(cause)); }
};

// The supervisor stopped (crashed) an agent (source = agent, subject = 0).
struct AgentStopped {
  static constexpr SystemEvent kind = SystemEvent::agent_stopped;
  std::uint64_t in_flight_lost = 0;  // messages
  constexpr void slots(auto& s) { s.word0(in_flight_lost); }
};

// The supervisor started an agent again (source = agent, subject = 0).
struct AgentStarted {
  static constexpr SystemEvent kind = SystemEvent::agent_started;
  std::uint64_t reclaimed = 0;  // messages
  constexpr void slots(auto& s) { s.word0(reclaimed); }
};

// A publish was refused because the topic's queue was full.
struct MessageRejected {
  static constexpr SystemEvent kind = SystemEvent::message_rejected;
  std::uint64_t capacity = 0;
  bool by_server = false;  // the live bus's atomic check in Redis refused it
  constexpr void slots(auto& s) { s.word0(capacity).word1(by_server); }
};

// A message was redelivered after a consumer restart.
struct MessageRedelivered {
  static constexpr SystemEvent kind = SystemEvent::message_redelivered;
  std::uint64_t delivery_id = 0;
  constexpr void slots(auto& s) { s.word1(delivery_id); }
};

struct DeadLettered {
  static constexpr SystemEvent kind = SystemEvent::dead_lettered;
  std::uint64_t queue_size = 0;  // after this one
  ErrorClass cause{};
  constexpr void slots(auto& s) { s.word0(queue_size).narrow(plus_one(cause)); }
};

struct ManualReview {
  static constexpr SystemEvent kind = SystemEvent::manual_review;
  std::uint64_t queue_size = 0;  // after this one
  ReviewReason reason{};
  constexpr void slots(auto& s) { s.word0(queue_size).narrow(reason); }
};

// Matching yielded its neutral default "no match" (source = agent); none
// matched, or the lookup failed.
struct Degraded {
  static constexpr SystemEvent kind = SystemEvent::degraded;
  std::uint64_t step = 0;
  std::optional<ErrorClass> lookup_failure{};
  constexpr void slots(auto& s) { s.word0(step).narrow(lookup_failure); }
};

// The OCR agent fell back to the backup engine.
struct OcrFallback {
  static constexpr SystemEvent kind = SystemEvent::ocr_fallback;
  ErrorClass primary_failure{};
  constexpr void slots(auto& s) { s.narrow(plus_one(primary_failure)); }
};

// A step's request or reply set aside.
template <SystemEvent K>
struct StepRequest {
  static constexpr SystemEvent kind = K;
  std::uint64_t step = 0;
  std::uint64_t request_id = 0;
  constexpr void slots(auto& s) { s.word0(step).word1(request_id); }
};
// A reply arrived for a request the workflow no longer waits for (stale or duplicate).
using StaleReply = StepRequest<SystemEvent::stale_reply>;
// An agent dropped a request unhandled because its workflow was past its
// deadline (source = agent).
using RequestExpired = StepRequest<SystemEvent::request_expired>;
// An agent's host dropped a delivery of a request it had already handled
// or was handling (source = agent).
using RequestDuplicate = StepRequest<SystemEvent::request_duplicate>;

// submit() refused an invoice (source = "orchestrator"). No outcome follows.
struct SubmissionRefused {
  static constexpr SystemEvent kind = SystemEvent::submission_refused;
  std::uint64_t in_flight = 0;
  SubmitResult refusal{};
  constexpr void slots(auto& s) { s.word0(in_flight).narrow(refusal); }
};

// A terminal store refused an invoice and its workflow parked, keeping it
// in the inbox (once per workflow run).
struct Parked {
  static constexpr SystemEvent kind = SystemEvent::parked;
  InvoiceOutcome bound_for{};  // the outcome whose store refused it
  ErrorClass refusal{};
  constexpr void slots(auto& s) { s.word0(bound_for).narrow(plus_one(refusal)); }
};

// The live bus (source = topic) had a Redis command fail; subject = the
// invoice a publish was for, else 0. A refused or lost connection is
// transient, no reply in time a timeout, an error reply of the server permanent.
struct BusFailure {
  static constexpr SystemEvent kind = SystemEvent::bus_failure;
  BusOp op{};
  ErrorClass cause{};
  constexpr void slots(auto& s) { s.word0(op).narrow(plus_one(cause)); }
};

// The live bus moved an entry to its topic's dead stream and acked it
// (source = topic); subject = the invoice when the entry decoded, else 0.
struct MessageDead {
  static constexpr SystemEvent kind = SystemEvent::message_dead;
  std::uint64_t deliveries = 0;
  std::uint64_t delivery_id = 0;  // 0 when the entry id maps to none
  DeadReason reason{};
  constexpr void slots(auto& s) { s.word0(deliveries).word1(delivery_id).narrow(reason); }
};

}  // namespace system_events

}  // namespace faultline::reference_system
