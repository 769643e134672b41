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
// Harness events, range 0x0400-0x04ff, each kind's fields the payload
// struct of the same name in `harness_events` (source = service or topic
// name, subject = invoice id).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "faults/fault.h"
#include "reference_system/events.h"
#include "reference_system/ports.h"
#include "resilience/checkpoint.h"
#include "runtime/runtime.h"

namespace faultline::harness {

namespace rs = reference_system;

enum class HarnessEvent : std::uint16_t {
  submitted = 0x0400,
  call_begin = 0x0401,
  call_end = 0x0402,
  call_abandoned = 0x0403,
  ledger_post_seen = 0x0404,
  checkpoint_write = 0x0405,
  sample = 0x0406,
  queue_sample = 0x0407,
  workload_stopped = 0x0408,
  drain_ended = 0x0409,
  call_unfinished = 0x040a,
  refused = 0x040b,
};

namespace harness_events {

using runtime::Duration;

// The workload handed an invoice to the system.
struct Submitted {
  static constexpr HarnessEvent kind = HarnessEvent::submitted;
  std::int64_t true_total_cents = 0;  // before any corruption
  std::optional<faults::Corruption> corruption{};
  bool extra_arrival = false;  // added by a saturation fault
  constexpr void slots(auto& s) { s.word0(true_total_cents).word1(corruption).narrow(extra_arrival); }
};

// The system refused a submission and told the harness so (its submit()
// returned a refusal). A refusal the submitter was told about is the
// invoice's outcome; a silent drop is loss.
struct Refused {
  static constexpr HarnessEvent kind = HarnessEvent::refused;
  rs::SubmitResult result{};
  constexpr void slots(auto& s) { s.narrow(result); }
};

// A call reached the port.
struct CallBegin {
  static constexpr HarnessEvent kind = HarnessEvent::call_begin;
  std::uint64_t call_id = 0;
  rs::ServiceOp op{};
  constexpr void slots(auto& s) { s.word0(call_id).word1(op); }
};

// It returned.
struct CallEnd {
  static constexpr HarnessEvent kind = HarnessEvent::call_end;
  std::uint64_t call_id = 0;
  Duration latency{};
  std::optional<resilience::ErrorClass> failure{};
  constexpr void slots(auto& s) { s.word0(call_id).word1(latency).narrow(failure); }
};

// A call that ended unanswered.
template <HarnessEvent K>
struct CallUnanswered {
  static constexpr HarnessEvent kind = K;
  std::uint64_t call_id = 0;
  Duration elapsed{};
  constexpr void slots(auto& s) { s.word0(call_id).word1(elapsed); }
};
// Its caller gave up on it (the frame was destroyed unanswered).
using CallAbandoned = CallUnanswered<HarnessEvent::call_abandoned>;
// Still unanswered at the end of the run.
using CallUnfinished = CallUnanswered<HarnessEvent::call_unfinished>;

// A ledger post answered.
struct LedgerPostSeen {
  static constexpr HarnessEvent kind = HarnessEvent::ledger_post_seen;
  std::int64_t amount_cents = 0;
  std::uint64_t po_number = 0;
  bool duplicate = false;
  constexpr void slots(auto& s) { s.word0(amount_cents).word1(po_number).narrow(duplicate); }
};

// A checkpoint save succeeded.
struct CheckpointWrite {
  static constexpr HarnessEvent kind = HarnessEvent::checkpoint_write;
  std::uint64_t version = 0;
  std::uint32_t step_code = 0;  // harness::step_code of the step label; 0 for other records
  constexpr void slots(auto& s) { s.word0(version).word1(step_code); }
};

// Periodic sample (subject 0).
struct Sample {
  static constexpr HarnessEvent kind = HarnessEvent::sample;
  std::uint64_t in_flight = 0;  // invoices
  std::uint64_t live_tasks = 0;
  constexpr void slots(auto& s) { s.word0(in_flight).word1(live_tasks); }
};

// Periodic sample of a topic (source = topic).
struct QueueSample {
  static constexpr HarnessEvent kind = HarnessEvent::queue_sample;
  std::uint64_t depth = 0;
  std::uint64_t pending = 0;
  constexpr void slots(auto& s) { s.word0(depth).word1(pending); }
};

// The workload stopped (subject 0).
struct WorkloadStopped {
  static constexpr HarnessEvent kind = HarnessEvent::workload_stopped;
};

// The drain ended (subject 0).
struct DrainEnded {
  static constexpr HarnessEvent kind = HarnessEvent::drain_ended;
};

}  // namespace harness_events

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
