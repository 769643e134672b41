// The ports: every way the reference system touches the world it runs in.
// The system receives each port at composition time (system.h) and never
// knows what stands behind it: a simulated service (world/service_models.h), a
// fault injector wrapping one, or (live) a real client. Expected failures are
// resilience::Outcome values, never exceptions.
//
//   Outcome<std::string> text = co_await ocr.recognize({id, doc, quality});
//   if (!text && text.error_class() == ErrorClass::timeout) ...
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "reference_system/invoice.h"
#include "resilience/outcome.h"
#include "runtime/task.h"
#include "runtime/time.h"

namespace faultline::reference_system {

using resilience::ErrorClass;
using resilience::Failure;
using resilience::Outcome;
using runtime::Task;

struct OcrRequest {
  std::uint64_t invoice_id = 0;
  std::string_view document;  // valid until the call completes
  double scan_quality = 1.0;
};

// An OCR engine turns a scanned document into text (ideally the document's
// own layout, see invoice.h).
class OcrEngine {
 public:
  virtual ~OcrEngine() = default;
  virtual Task<Outcome<std::string>> recognize(OcrRequest request) = 0;
};

class PoDatabase {
 public:
  virtual ~PoDatabase() = default;
  // The order with exactly this reference; nullopt if there is none.
  virtual Task<Outcome<std::optional<PurchaseOrder>>> lookup(std::uint64_t invoice_id, std::string reference) = 0;
  // Orders of `vendor` close to `amount_cents`, best first.
  virtual Task<Outcome<std::vector<std::uint64_t>>> candidates(std::uint64_t invoice_id, std::string vendor,
                                                               std::int64_t amount_cents) = 0;
};

class BudgetService {
 public:
  virtual ~BudgetService() = default;
  // Reserving twice for one invoice keeps one reservation.
  virtual Task<Outcome<>> reserve(std::uint64_t invoice_id, std::int64_t amount_cents) = 0;
  // Releasing what is not reserved succeeds and changes nothing.
  virtual Task<Outcome<>> release(std::uint64_t invoice_id) = 0;
};

struct LedgerPost {
  std::uint64_t invoice_id = 0;
  std::string idempotency_key;  // empty: none, every post makes an entry
  std::string vendor;
  std::uint64_t po_number = 0;  // 0: not matched
  std::int64_t amount_cents = 0;
};

struct LedgerReceipt {
  std::uint64_t sequence = 0;
  bool duplicate = false;  // the key was seen before: no new entry
};

class Ledger {
 public:
  virtual ~Ledger() = default;
  virtual Task<Outcome<LedgerReceipt>> post(LedgerPost entry) = 0;
  // Reverses the invoice's live entries (compensation).
  virtual Task<Outcome<>> reverse(std::uint64_t invoice_id) = 0;
};

struct Notice {
  std::uint64_t invoice_id = 0;
  std::int64_t amount_cents = 0;
  std::string idempotency_key;  // empty: none, every notice is delivered
};

// Accounts payable's notifier. A notice whose idempotency key was delivered
// before is not delivered again: the notifier answers it with a conflict
// ("already notified", like an HTTP 409), which the caller reads as done.
class Notifier {
 public:
  virtual ~Notifier() = default;
  virtual Task<Outcome<>> notify(Notice notice) = 0;
};

// ---------------------------------------------------------------------------
// The message bus between the orchestrator and the agents.

enum class Topic : std::uint8_t { ocr = 0, validation, matching, accounting, archive, replies };
inline constexpr std::size_t kTopicCount = 6;
std::string_view to_string(Topic t) noexcept;

enum class StepStatus : std::uint8_t {
  ok = 0,
  degraded = 1,      // non-critical step yielded a neutral default
  rejected = 2,      // business error: invalid document, never retried
  needs_review = 3,  // a human must look at it
  failed = 4,        // the step did not complete (error class says why)
};

struct MatchResult {
  std::uint64_t po_number = 0;  // 0: no match (the neutral default)
  std::vector<std::uint64_t> suggestions;
  bool degraded = false;
  bool failed = false;  // degraded because the PO database failed, not because nothing matched
  ErrorClass error = ErrorClass::transient;  // why, when failed
};

// What OCR read, and the fields parsed from it.
struct Extraction {
  std::string text;
  ExtractedInvoice fields;
};

// What a workflow carries from step to step. Shared and immutable once
// published: a step's result makes a new WorkItem.
struct WorkItem {
  std::shared_ptr<const Invoice> invoice;
  std::shared_ptr<const Extraction> extraction;  // null before OCR
  MatchResult match;

  const ExtractedInvoice& extracted() const noexcept {
    static const ExtractedInvoice kNothing{0, {}, {}, {}, {}, 0, kNoHeader};
    return extraction ? extraction->fields : kNothing;
  }
};

struct StepReply {
  StepStatus status = StepStatus::ok;
  ErrorClass error = ErrorClass::transient;  // for failed
  std::uint8_t review_reason = 0;            // for needs_review (ReviewReason)
  std::uint32_t problems = 0;                // for rejected: ExtractedInvoice problem bits, or kNotValid
  std::shared_ptr<const Extraction> extraction;  // OCR's result
  MatchResult match;                         // matching's result
};

struct Message {
  Topic topic = Topic::ocr;
  std::uint64_t delivery_id = 0;  // set by the bus
  std::uint64_t invoice_id = 0;
  std::uint64_t request_id = 0;   // a reply names the request it answers
  std::uint32_t step = 0;
  std::uint32_t attempt = 0;
  // Requests: undo whatever this step's earlier attempts did, rather than
  // do it (the orchestrator got none of their replies and gives the step
  // up; Agent::undo). `attempt` then counts the undo requests.
  bool undo = false;
  // Requests: when the orchestrator stops waiting for this attempt's reply
  // (the agent's timeout, cut by the workflow's deadline; max() when
  // neither applies). Past it the orchestrator has retried the step or
  // given the invoice up, so no agent acts on the request then: one that
  // receives it late (it waited out a crash or a partition) drops it.
  runtime::Instant deadline = runtime::Instant::max();
  std::shared_ptr<const WorkItem> work;    // requests
  std::shared_ptr<const StepReply> reply;  // replies
};

// Bounded topics with at-least-once delivery: a received message stays
// pending until acked; reclaim() puts a consumer's pending messages back at
// the head of its topic (what a consumer group does for a restarted worker).
class MessageBus {
 public:
  virtual ~MessageBus() = default;
  // False if the topic's queue is full (the message is dropped and counted).
  [[nodiscard]] virtual bool publish(Message message) = 0;
  // Waits for a message; nullopt once the bus is closed.
  virtual Task<std::optional<Message>> receive(Topic topic) = 0;
  virtual void ack(Topic topic, std::uint64_t delivery_id) = 0;
  // Pending (received, unacked) messages of `topic` go back to the head of
  // its queue, oldest first. Returns how many.
  virtual std::size_t reclaim(Topic topic) = 0;
  virtual std::size_t depth(Topic topic) const = 0;
  virtual std::size_t pending(Topic topic) const = 0;
  virtual void close() = 0;
};

}  // namespace faultline::reference_system
