// The four agents of the invoice pipeline (and the optional fifth stage),
// and the host that runs an agent's workers on the message bus.
//
//   OCR extraction    critical. Calls the OCR engine through its service
//                     pipeline (timeout, retry, breaker per policy); output
//                     that is not a document counts as a permanent failure
//                     (an LLM-style refusal or garbage is not fixed by
//                     asking again). With "fallback" it then asks the backup
//                     engine; a scan the backup cannot read either needs a
//                     human (manual review).
//   amount validation critical, no external service: an invalid document is
//                     a business error, rejected, never retried.
//   PO matching       exact lookup of the PO reference. No exact match (or a
//                     PO database failure, when the policy degrades) gives
//                     the neutral default "no match" with suggested
//                     candidate orders, marked degraded; never an invented match.
//   accounting        saga reserve budget -> post entry -> notify, compensated
//                     in reverse (when the policy says so); idempotent by
//                     invoice id: the saga's progress is checkpointed under
//                     "saga/<id>" and the ledger post carries the key
//                     "inv-<id>" (when the policy says so). A committed
//                     saga's checkpoint stays as its marker until the
//                     workflow is past its deadline (for good without one).
//   archive           the optional fifth stage: records that the invoice's
//                     processing is complete; no external service.
//
// Agents are stateless between requests apart from what they checkpoint, so
// a crash (AgentHost::stop) loses only the work in flight. No agent acts on
// a request whose workflow is past its deadline (Message::deadline):
// AgentHost drops it unhandled (AgentMetrics::expired, SystemEvent::request_expired).
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "reference_system/events.h"
#include "reference_system/metrics.h"
#include "reference_system/policy.h"
#include "reference_system/ports.h"
#include "resilience/checkpoint.h"
#include "resilience/circuit_breaker.h"
#include "resilience/retry.h"
#include "resilience/timeout.h"
#include "runtime/flat_hash_map.h"
#include "runtime/runtime.h"

namespace faultline::reference_system {

// How the accounting saga tries a failed compensation again
// (resilience::Saga::retry_compensations): after 1 s, doubling up to 1 min
// between tries, for up to an hour after the first.
inline constexpr runtime::Duration kCompensationRetryFirst = std::chrono::seconds(1);
inline constexpr runtime::Duration kCompensationRetryMax = std::chrono::minutes(1);
inline constexpr runtime::Duration kCompensationRetryFor = std::chrono::hours(1);
// The most tries one compensation can make on that schedule (were every try instant).
constexpr std::uint64_t max_compensation_tries() {
  std::uint64_t tries = 1;
  runtime::Duration at{};
  for (runtime::Duration backoff = kCompensationRetryFirst; at + backoff <= kCompensationRetryFor;
       backoff = std::min(backoff * 2, kCompensationRetryMax)) {
    at += backoff;
    ++tries;
  }
  return tries;
}

class Agent {
 public:
  virtual ~Agent() = default;
  virtual AgentId id() const noexcept = 0;
  virtual Task<StepReply> handle(const Message& request) = 0;
  // An undo request (Message::undo): undo whatever handling this step's
  // requests for the invoice did, whether or not it happened; ok when
  // undone or nothing was done, needs_review when it cannot be. A step
  // without side effects has nothing to undo.
  virtual Task<StepReply> undo(const Message& request) {
    (void)request;
    return Task<StepReply>::ready(StepReply{});
  }
};

struct AgentContext {
  runtime::Runtime* rt = nullptr;
  const Policy* policy = nullptr;
  SystemMetrics* metrics = nullptr;
  resilience::CheckpointStore* checkpoints = nullptr;  // null: the policy keeps none
  bool observe_patterns = true;  // patterns record their resilience events
};

// Calls one external service under its policy: per-attempt timeout, circuit
// breaker and retry, recording call_attempt / call_result events and the
// service's metrics. One per service, shared by every agent calling it, as a
// breaker belongs to the dependency.
class ServiceClient {
 public:
  ServiceClient(const AgentContext& ctx, ServiceId id);

  // `make()` returns the service's Task<Outcome<T>>; it must outlive the call.
  template <class Make>
  auto call(std::uint64_t invoice_id, ServiceOp op, Make& make)
      -> Task<resilience::detail::OpOutcome<Make>>;

  ServiceId id() const noexcept { return id_; }
  const resilience::CircuitBreaker* breaker() const noexcept { return breaker_ ? &*breaker_ : nullptr; }

 private:
  void started(std::uint64_t invoice_id, ServiceOp op, std::uint32_t number);
  void finished(std::uint64_t invoice_id, ServiceOp op, runtime::Duration latency, const Failure* failure);

  runtime::Runtime* rt_;
  ServiceId id_;
  std::uint32_t source_;
  runtime::Duration limit_;
  std::optional<resilience::CircuitBreaker> breaker_;
  resilience::Timeout timeout_;
  std::optional<resilience::RetryBudget> budget_;  // "retry.budget": caps this client's retries
  resilience::Retry retry_;
  runtime::Rng rng_;
  ServiceMetrics* metrics_;
};

struct ServiceClients {
  std::unique_ptr<ServiceClient> ocr_engine, backup_ocr, po_database, budget_service, ledger, notifier;
};
ServiceClients make_service_clients(const AgentContext& ctx);

class OcrAgent final : public Agent {
 public:
  OcrAgent(const AgentContext& ctx, ServiceClient& primary_client, ServiceClient& backup_client,
           std::shared_ptr<OcrEngine> primary, std::shared_ptr<OcrEngine> backup);
  AgentId id() const noexcept override { return AgentId::ocr; }
  Task<StepReply> handle(const Message& request) override;

 private:
  Task<Outcome<std::string>> recognize_checked(OcrEngine& engine, const Invoice& invoice);
  AgentContext ctx_;
  ServiceClient* primary_client_;
  ServiceClient* backup_client_;
  std::shared_ptr<OcrEngine> primary_;
  std::shared_ptr<OcrEngine> backup_;
  std::uint32_t source_;
};

class ValidationAgent final : public Agent {
 public:
  explicit ValidationAgent(const AgentContext& ctx) : ctx_(ctx) {}
  AgentId id() const noexcept override { return AgentId::validation; }
  Task<StepReply> handle(const Message& request) override;

 private:
  AgentContext ctx_;
};

class MatchingAgent final : public Agent {
 public:
  MatchingAgent(const AgentContext& ctx, ServiceClient& client, std::shared_ptr<PoDatabase> po);
  AgentId id() const noexcept override { return AgentId::matching; }
  Task<StepReply> handle(const Message& request) override;

 private:
  Task<std::vector<std::uint64_t>> suggest(const Invoice& invoice, const ExtractedInvoice& extracted);
  AgentContext ctx_;
  ServiceClient* client_;
  std::shared_ptr<PoDatabase> po_;
};

class AccountingAgent final : public Agent {
 public:
  AccountingAgent(const AgentContext& ctx, ServiceClients& clients, std::shared_ptr<BudgetService> budget,
                  std::shared_ptr<Ledger> ledger, std::shared_ptr<Notifier> notifier);
  ~AccountingAgent() override;  // out of line: PreparedSaga is complete only there
  AgentId id() const noexcept override { return AgentId::accounting; }
  Task<StepReply> handle(const Message& request) override;
  // Releases the reservation, reverses the entry and drops the saga's
  // progress record, each compensation retried as the saga retries them.
  Task<StepReply> undo(const Message& request) override;

 private:
  Task<Outcome<>> release(std::uint64_t id);
  Task<Outcome<>> post(std::uint64_t id, std::int64_t amount, std::uint64_t po_number);
  Task<Outcome<>> reverse(std::uint64_t id);
  template <class Make>
  Task<Outcome<>> notify(std::uint64_t id, Make& make);
  // Where a saga's progress record ("saga/<id>") stands for one run: the
  // version this run last saved or loaded (0: none), and whether a save's
  // outcome is unknown (its reply was lost, or it met a version it did not
  // expect): the record may then hold a state at a version this run never
  // learnt, which it must look up before it can remove it.
  struct ProgressRecord {
    std::uint64_t version = 0;
    bool version_unknown = false;
  };
  Task<Outcome<>> save_progress(const std::string& key, std::uint64_t id, ProgressRecord& record,
                                std::size_t completed);
  // A saga built once, its actions bound to the inputs of the run that
  // borrows it (handle() fills them in): building the steps' names and
  // actions anew for every invoice cost more than running them.
  struct PreparedSaga;
  std::unique_ptr<PreparedSaga> borrow_saga();
  // Holds the invoice (in_flight_) and a prepared saga for one handler.
  struct Turn;
  // Waits until no handler holds the invoice, or the deadline passes
  // (false: the request expired and was recorded so).
  Task<bool> wait_turn(const Message& request);
  Task<Outcome<>> await_progress(Task<Outcome<std::uint64_t>> saving, std::uint64_t id, ProgressRecord& record,
                                 std::size_t completed, std::int64_t bytes);
  void progress_saved(std::uint64_t id, ProgressRecord& record, std::size_t completed, std::int64_t bytes,
                      const Outcome<std::uint64_t>& saved);

  AgentContext ctx_;
  ServiceClient* budget_client_;
  ServiceClient* ledger_client_;
  ServiceClient* notifier_client_;
  std::shared_ptr<BudgetService> budget_;
  std::shared_ptr<Ledger> ledger_;
  std::shared_ptr<Notifier> notifier_;
  std::uint32_t source_;
  resilience::Observer saga_observer_;
  // Invoices whose saga a worker is running now. A second delivery of the
  // same request (a duplicate, or a redelivery racing the orchestrator's
  // retry) waits for the first to finish and then finds its checkpoint,
  // instead of running the saga beside it and notifying twice.
  runtime::FlatHashMap<std::uint64_t, std::shared_ptr<runtime::Signal>> in_flight_;
  // Prepared sagas no run is using: at most one per worker that has run one.
  std::vector<std::unique_ptr<PreparedSaga>> idle_sagas_;
  // Committed sagas whose "saga/<id>" marker goes once their workflow is
  // past its deadline, oldest commit first (handle() removes them).
  struct CommittedMarker {
    runtime::Instant expires;  // the workflow's deadline
    std::uint64_t id;
    std::uint64_t version;
  };
  std::deque<CommittedMarker> committed_;
  bool marker_expired() const noexcept;
};

class ArchiveAgent final : public Agent {
 public:
  explicit ArchiveAgent(const AgentContext&) {}
  AgentId id() const noexcept override { return AgentId::archive; }
  Task<StepReply> handle(const Message& request) override;
  std::uint64_t archived() const noexcept { return archived_; }

 private:
  std::uint64_t archived_ = 0;
};

// Runs an agent's workers on its topic: receive, handle, publish the reply,
// ack. stop() is a crash: the workers' frames are destroyed at once, their
// in-flight messages stay pending on the bus; start() reclaims them.
//
// An idempotent consumer: a request is acted on once however often the bus
// delivers it. The host serves one step of each workflow, so it keeps, per
// invoice, the ids of the requests it has answered; a delivery of one of
// them is acked and dropped (AgentMetrics::duplicates, SystemEvent::request_duplicate),
// and a delivery for an invoice it is handling now waits for that handler
// first (then either is a duplicate, or a newer attempt that runs). So a
// step the orchestrator has checkpointed after its reply is never redone by
// a copy of its request. The record outlives stop(), as a consumer group's
// record of processed messages lives beside the stream, not in a worker; an
// invoice's entry goes at its workflow's deadline (past it no request is
// acted on anyway), or, oldest first, once kHandledMax invoices are kept
// (counted in AgentMetrics::handled_forgotten).
class AgentHost {
 public:
  AgentHost(runtime::Runtime& rt, MessageBus& bus, Topic topic, std::shared_ptr<Agent> agent, std::uint32_t workers,
            AgentMetrics& metrics);
  ~AgentHost() { stop(); }
  AgentHost(const AgentHost&) = delete;
  AgentHost& operator=(const AgentHost&) = delete;

  // Returns how many pending messages were reclaimed.
  std::size_t start();
  // Returns how many messages were in flight (lost).
  std::size_t stop();
  bool running() const noexcept { return running_; }
  // Invoices whose answered requests the host remembers now.
  std::size_t remembered_invoices() const noexcept { return handled_.size(); }
  Agent& agent() noexcept { return *agent_; }
  Topic topic() const noexcept { return topic_; }

 private:
  Task<void> worker();

  runtime::Runtime* rt_;
  MessageBus* bus_;
  Topic topic_;
  std::shared_ptr<Agent> agent_;
  std::uint32_t workers_;
  AgentMetrics* metrics_;
  std::vector<runtime::TaskId> tasks_;
  bool running_ = false;
  std::size_t in_flight_ = 0;

 public:
  static constexpr std::size_t kHandledMax = 1 << 16;

 private:
  struct Handled {
    std::array<std::uint64_t, 4> request_ids{};  // answered, most recent first (0: none)
    runtime::Instant forget_at{};  // the latest deadline of its answered requests
    std::uint32_t busy = 0;                 // deliveries of the invoice being handled now
    std::shared_ptr<runtime::Signal> idle;  // made by the first delivery that waits for them
    bool answered(std::uint64_t request_id) const noexcept {
      for (const auto r : request_ids) {
        if (r == request_id) return true;
      }
      return false;
    }
  };
  // Ends a handler's hold on its invoice (also when a crash destroys it).
  struct Hold {
    AgentHost* host;
    std::uint64_t invoice_id;
    ~Hold();
  };
  void answered(const Message& request);
  void forget_old();
  runtime::FlatHashMap<std::uint64_t, Handled> handled_;
  std::deque<std::pair<runtime::Instant, std::uint64_t>> forget_order_;  // (forget at, invoice)
};

// ---------------------------------------------------------------------------

template <class Make>
auto ServiceClient::call(std::uint64_t invoice_id, ServiceOp op, Make& make)
    -> Task<resilience::detail::OpOutcome<Make>> {
  // One frame for the whole call, retries included: the retry loop runs
  // here (Retry::Loop) rather than in a retry coroutine over an attempt
  // coroutine. A single-attempt policy records no retry events.
  using Result = resilience::detail::OpOutcome<Make>;
  ++metrics_->calls;
  const bool retrying = retry_.policy().max_attempts > 1;
  std::optional<resilience::Retry::Loop> loop;
  if (retrying) loop.emplace(retry_, *rt_, invoice_id);
  bool timed_out = false;  // an attempt timed out: it may have taken effect
  for (std::uint32_t number = 1;; ++number) {
    if (retrying) loop->begin_attempt();
    started(invoice_id, op, number);
    const runtime::Instant start = rt_->now();
    // (No co_await inside ?: here: GCC 12 destroys such temporaries twice.)
    std::optional<Result> result;
    if (breaker_) {
      result.emplace(co_await breaker_->call_within(*rt_, std::ref(make), limit_, &timeout_, invoice_id));
    } else {
      result.emplace(co_await timeout_.call_within(*rt_, std::ref(make), limit_, invoice_id));
    }
    finished(invoice_id, op, rt_->now() - start, result->ok() ? nullptr : &result->failure());
    if (!retrying) co_return std::move(*result);
    if (result->ok()) {
      loop->succeeded();
      co_return std::move(*result);
    }
    const std::optional<runtime::Duration> delay = loop->failed(rng_, result->failure());
    if (!delay) {
      if (!timed_out || result->failure().error_class == ErrorClass::timeout) co_return std::move(*result);
      Failure last = std::move(*result).failure();
      last.effects_unknown = true;
      co_return Result(std::move(last));
    }
    timed_out = timed_out || result->failure().error_class == ErrorClass::timeout;
    co_await rt_->sleep(*delay);
  }
}

}  // namespace faultline::reference_system
