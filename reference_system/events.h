// What the reference system tells the event log, in its own range
// 0x0200-0x02ff of runtime::EventLog. The harness's invariant checkers read
// these (with the resilience layer's 0x01xx events) instead of trusting the
// system's own counters, so every fact a checker needs is here. Field use per
// kind is beside it; `source` is always an interned name: the agent
// ("ocr", "validation", "matching", "accounting", "archive", "orchestrator"),
// the service ("ocr_engine", "backup_ocr", "po_database", "budget_service",
// "ledger", "notifier"), "bus" or "checkpoint_store". `subject` is the invoice
// id unless said otherwise.
#pragma once

#include <cstdint>
#include <string_view>

namespace faultline::reference_system {

enum class Kind : std::uint16_t {
  // The workload handed an invoice to the orchestrator; a = total in cents,
  // b = 1 if its id was already submitted; detail = scan quality in percent.
  invoice_submitted = 0x0200,
  // The orchestrator began a workflow step; a = step index, b = attempt (1-based).
  step_started = 0x0201,
  // A step ended; a = step index, b = attempt; detail = StepStatus.
  step_finished = 0x0202,
  // An external call is about to be made (source = service);
  // a = attempt number within this call (1-based), b = operation (ServiceOp).
  call_attempt = 0x0203,
  // An external call ended (source = service); a = latency in ns, b = operation;
  // detail = 0 ok, otherwise 1 + resilience::ErrorClass.
  call_result = 0x0204,
  // Terminal outcome, exactly one per accepted submission; detail =
  // InvoiceOutcome, a = end-to-end latency in ns, b = total in cents. A
  // second submission under an id already taken (invoice_submitted with
  // b = 1) is refused at once (submission_refused, no outcome), and the first
  // one's workflow goes on unaffected.
  outcome = 0x0205,
  // The ledger applied an entry (source = "ledger"); a = amount in cents,
  // b = ledger entry sequence; detail = 1 if it carried an idempotency key.
  ledger_posted = 0x0206,
  // The ledger refused a second entry with the same idempotency key; a = sequence of the first.
  ledger_duplicate = 0x0207,
  // The ledger reversed an entry (compensation); a = amount in cents.
  ledger_reversed = 0x0208,
  // The budget service reserved (a = amount in cents) or released (a = -amount).
  budget_reserved = 0x0209,
  budget_released = 0x020a,
  // The AP notifier delivered a notification.
  notified = 0x020b,
  // A saga compensation ran (source = agent); a = SagaStage undone; detail = 0 ok, 1 failed.
  compensation = 0x020c,
  // A checkpoint was written (source = agent or orchestrator); a = step index reached, b = bytes.
  checkpoint_saved = 0x020d,
  // A checkpoint was read back to resume work; a = step index resumed from.
  checkpoint_loaded = 0x020e,
  // A checkpoint could not be written or read; detail = 1 + resilience::ErrorClass.
  checkpoint_failed = 0x020f,
  // The supervisor stopped (crashed) or started an agent (source = agent);
  // subject = 0, a = in-flight messages lost on stop / reclaimed on start.
  agent_stopped = 0x0210,
  agent_started = 0x0211,
  // (0x0212 is unused: publishes are not logged one by one, to keep the
  // hot path cheap; the bus counts them and its depth is in the metrics.)
  // A publish was refused because the topic's queue was full; a = capacity.
  message_rejected = 0x0213,
  // A message was redelivered after a consumer restart; b = delivery id.
  message_redelivered = 0x0214,
  // An invoice went to the dead-letter queue; a = DLQ size after; detail = 1 + ErrorClass.
  dead_lettered = 0x0215,
  // An invoice went to the manual-review queue; a = queue size after; detail = ReviewReason.
  manual_review = 0x0216,
  // Matching yielded its neutral default "no match" (source = agent); a = step
  // index; detail = 0 when nothing matched, 1 + ErrorClass when the lookup failed.
  degraded = 0x0217,
  // The OCR agent fell back to the backup engine; detail = 1 + ErrorClass of the primary's failure.
  ocr_fallback = 0x0218,
  // A reply arrived for a request the workflow no longer waits for (stale or duplicate);
  // a = step index, b = request id.
  stale_reply = 0x0219,
  // An agent dropped a request unhandled because its workflow was past its
  // deadline (source = agent); a = step index, b = request id.
  request_expired = 0x021a,
  // (0x0230-0x023f: intake and the terminal stores.)
  // submit() refused an invoice (source = "orchestrator"); a = invoices in
  // flight, detail = SubmitResult (1 duplicate id, 2 overloaded). No outcome follows.
  submission_refused = 0x0230,
  // A terminal store refused an invoice and its workflow parked, keeping it
  // in the inbox (once per workflow run); a = InvoiceOutcome it was to end
  // in, detail = 1 + ErrorClass of the refusal.
  parked = 0x0231,
  // The AP notifier refused a notice whose idempotency key it had delivered.
  notify_duplicate = 0x0220,
  // An agent's host dropped a delivery of a request it had already handled
  // or was handling (a duplicate; source = agent); a = step index, b = request id.
  request_duplicate = 0x0221,
  // The live bus (source = topic) had a Redis command fail; subject = the
  // invoice a publish was for, else 0; a = BusOp; detail = 1 + ErrorClass
  // (a refused or lost connection is transient, no reply in time timeout,
  // an error reply of the server permanent).
  bus_failure = 0x0222,
  // The live bus moved an entry to its topic's dead stream and acked it
  // (source = topic); subject = the invoice when it decoded, else 0;
  // a = deliveries; b = delivery id (0 when the entry id has none);
  // detail = DeadReason.
  message_dead = 0x0223,
};

// What a failed command of the live bus was doing (Kind::bus_failure's a).
enum class BusOp : std::uint8_t { publish = 0, ack = 1, read = 2, reread = 3, claim = 4, bury = 5, maintain = 6 };

// Why the live bus moved an entry to a dead stream (Kind::message_dead's detail).
enum class DeadReason : std::uint8_t { undecodable = 1, delivery_limit = 2 };

// Terminal outcomes (Kind::outcome's detail).
enum class InvoiceOutcome : std::uint8_t {
  posted = 0,
  posted_degraded = 1,
  rejected_invalid = 2,
  dead_lettered = 3,
  manual_review = 4,
};
inline constexpr std::size_t kOutcomeCount = 5;
std::string_view to_string(InvoiceOutcome o) noexcept;

// Why an invoice needs a human (Kind::manual_review's detail).
enum class ReviewReason : std::uint8_t {
  matching_failed_large_amount = 0,
  compensation_failed = 1,
  unreadable_document = 2,
};
std::string_view to_string(ReviewReason r) noexcept;

// Operations of the service ports (Kind::call_attempt's b).
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

}  // namespace faultline::reference_system
