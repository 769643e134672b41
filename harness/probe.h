// Probes: the harness's own eyes on the system. A probe wraps a port on the
// system's side of any fault injector (system -> probe -> fault -> service),
// so it sees every call the system makes as the system experiences it: when
// it began, when it ended or was abandoned (a caller's timeout destroys the
// call's frame, which the probe notices), and how it ended. The invariant
// checkers work from these records and from the stores, never from what the
// agents say about themselves. A probe shares ownership of the port it
// wraps, and every probe is built the same way: (tracker, name, inner), the
// name being the source its events carry.
//
// Harness events, range 0x0400-0x04ff (source = service or topic name,
// subject = invoice id):
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "reference_system/events.h"
#include "reference_system/ports.h"
#include "resilience/checkpoint.h"
#include "runtime/runtime.h"

namespace faultline::harness {

namespace rs = reference_system;

enum class HarnessEvent : std::uint16_t {
  // The workload handed an invoice to the system; a = its true total in
  // cents (before any corruption), b = 1 + Corruption applied (0: none);
  // detail = 1 for an extra arrival of a saturation fault.
  submitted = 0x0400,
  // A call reached the port; a = call id, b = ServiceOp.
  call_begin = 0x0401,
  // It returned; a = call id, b = latency in ns; detail = 0 ok, 1 + ErrorClass.
  call_end = 0x0402,
  // Its caller gave up on it (frame destroyed unanswered); a = call id, b = elapsed ns.
  call_abandoned = 0x0403,
  // A ledger post answered; a = amount in cents, b = po number; detail = 1 if duplicate.
  ledger_post_seen = 0x0404,
  // A checkpoint save succeeded; a = version; b = step code (StepCode).
  checkpoint_write = 0x0405,
  // Periodic sample (subject 0): a = invoices in flight, b = live runtime tasks.
  sample = 0x0406,
  // Periodic sample of a topic (source = topic): a = depth, b = pending.
  queue_sample = 0x0407,
  // The workload stopped / the drain ended (subject 0).
  workload_stopped = 0x0408,
  drain_ended = 0x0409,
  // A call still unanswered at the end of the run; a = call id, b = elapsed ns.
  call_unfinished = 0x040a,
  // The system refused a submission and told the harness so (its submit()
  // returned a refusal); detail = reference_system::SubmitResult. A refusal
  // the submitter was told about is the invoice's outcome; a silent drop is loss.
  refused = 0x040b,
};

// Checkpoint step names as codes: the probe does not parse the system's
// state, only the step label the store is given.
std::uint32_t step_code(std::string_view step);

// Counts calls and gives each an id; shared by every probe of a run.
class CallTracker {
 public:
  explicit CallTracker(runtime::Runtime& rt) : rt_(&rt) {}
  runtime::Runtime& rt() noexcept { return *rt_; }

  struct Open {
    std::uint64_t id;
    std::uint32_t source;
    std::uint64_t subject;
    runtime::Instant began;
  };
  // Begins a call; the returned guard records call_end or call_abandoned.
  class Guard {
   public:
    Guard(CallTracker& t, std::uint32_t source, std::uint64_t subject, rs::ServiceOp op);
    Guard(const Guard&) = delete;
    Guard& operator=(const Guard&) = delete;
    ~Guard();
    void finish(const resilience::Failure* failure);

   private:
    CallTracker* t_;
    std::uint64_t id_;
    std::uint32_t source_;
    std::uint64_t subject_;
    runtime::Instant began_;
    bool done_ = false;
  };

  // Records call_unfinished for calls still open (at the end of a run).
  void close_open_calls();
  std::uint64_t calls() const noexcept { return next_id_ - 1; }

 private:
  friend class Guard;
  runtime::Runtime* rt_;
  std::uint64_t next_id_ = 1;
  std::vector<Open> open_;  // bounded by calls in flight
};

class ProbeOcrEngine final : public rs::OcrEngine {
 public:
  ProbeOcrEngine(CallTracker& t, std::string_view name, std::shared_ptr<rs::OcrEngine> inner);
  rs::Task<rs::Outcome<std::string>> recognize(rs::OcrRequest request) override;

 private:
  CallTracker* t_;
  std::uint32_t source_;
  std::shared_ptr<rs::OcrEngine> inner_;
};

class ProbePoDatabase final : public rs::PoDatabase {
 public:
  ProbePoDatabase(CallTracker& t, std::string_view name, std::shared_ptr<rs::PoDatabase> inner);
  rs::Task<rs::Outcome<std::optional<rs::PurchaseOrder>>> lookup(std::uint64_t invoice_id,
                                                                 std::string reference) override;
  rs::Task<rs::Outcome<std::vector<std::uint64_t>>> candidates(std::uint64_t invoice_id, std::string vendor,
                                                               std::int64_t amount_cents) override;

 private:
  CallTracker* t_;
  std::uint32_t source_;
  std::shared_ptr<rs::PoDatabase> inner_;
};

class ProbeBudgetService final : public rs::BudgetService {
 public:
  ProbeBudgetService(CallTracker& t, std::string_view name, std::shared_ptr<rs::BudgetService> inner);
  rs::Task<rs::Outcome<>> reserve(std::uint64_t invoice_id, std::int64_t amount_cents) override;
  rs::Task<rs::Outcome<>> release(std::uint64_t invoice_id) override;

 private:
  CallTracker* t_;
  std::uint32_t source_;
  std::shared_ptr<rs::BudgetService> inner_;
};

class ProbeLedger final : public rs::Ledger {
 public:
  ProbeLedger(CallTracker& t, std::string_view name, std::shared_ptr<rs::Ledger> inner);
  rs::Task<rs::Outcome<rs::LedgerReceipt>> post(rs::LedgerPost entry) override;
  rs::Task<rs::Outcome<>> reverse(std::uint64_t invoice_id) override;

 private:
  CallTracker* t_;
  std::uint32_t source_;
  std::shared_ptr<rs::Ledger> inner_;
};

class ProbeNotifier final : public rs::Notifier {
 public:
  ProbeNotifier(CallTracker& t, std::string_view name, std::shared_ptr<rs::Notifier> inner);
  rs::Task<rs::Outcome<>> notify(rs::Notice notice) override;

 private:
  CallTracker* t_;
  std::uint32_t source_;
  std::shared_ptr<rs::Notifier> inner_;
};

class ProbeCheckpointStore final : public resilience::CheckpointStore {
 public:
  ProbeCheckpointStore(CallTracker& t, std::string_view name, std::shared_ptr<resilience::CheckpointStore> inner);
  std::string_view kind() const noexcept override { return inner_->kind(); }
  rs::Task<rs::Outcome<std::uint64_t>> save(std::string workflow_id, std::uint64_t expected_version,
                                            std::string step, std::string state) override;
  rs::Task<rs::Outcome<std::optional<resilience::Checkpoint>>> load(std::string workflow_id) override;
  rs::Task<rs::Outcome<>> remove(std::string workflow_id, std::uint64_t expected_version) override;
  rs::Task<rs::Outcome<std::vector<resilience::Checkpoint>>> list(std::string prefix, std::size_t limit) override;

 private:
  runtime::Runtime* rt_;
  std::uint32_t source_;
  std::shared_ptr<resilience::CheckpointStore> inner_;
};

// The invoice id a workflow id ends with ("inv-42" -> 42; 0 if none).
std::uint64_t invoice_of_workflow(std::string_view workflow_id);

}  // namespace faultline::harness
