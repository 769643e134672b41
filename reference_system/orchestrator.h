// The orchestrator: one workflow per invoice, step by step over the message
// bus (OCR -> validation -> matching -> accounting [-> archive]). For each
// step it publishes a request to the agent's topic and waits for the reply
// up to the agent's timeout; failed attempts are retried per the agent's
// retry policy; a critical step that exhausts its retries sends the invoice
// to the dead-letter queue; a non-critical one yields its neutral default
// (when the policy degrades). After every completed step the workflow's
// state is checkpointed under "wf/<id>" (when the policy keeps checkpoints),
// so a restarted orchestrator resumes each invoice at its next step.
//
// With a workflow deadline in the policy, each step's wait is cut to what is
// left of it, counted from submission (a restart does not reset it); a
// workflow whose deadline passes is dead-lettered before its next step.
//
// Every invoice the orchestrator accepts ends in exactly one terminal
// outcome, recorded as SystemEvent::outcome, and in exactly one store: posted,
// posted_degraded (matching gave no exact match) in the ledger;
// rejected_invalid in the rejection records (rejections()); dead_lettered
// (retries exhausted, or the workflow's deadline passed) in the dead-letter
// queue; manual_review (a human must look: matching failed on an amount above
// the policy's threshold, a compensation failed, or no engine could read the
// scan) in the review queue.
//
// What it cannot take, it refuses upstream: submit() returns a refusal to the
// caller, and records no outcome, when max_in_flight workflows are running
// (shed load) or the id is already taken. A refusal the caller was told about
// is the invoice's one outcome; nothing is ever "dead-lettered" that is not in
// the dead-letter queue.
//
// A full store never drops an invoice: when the dead-letter queue, the review
// queue or the rejection records refuse it, the workflow parks (SystemEvent::parked)
// and the invoice stays in the durable inbox, still counted in flight, so the
// in-flight bound refuses new work upstream while it waits. A parked workflow
// retries a push the store failed (an outage) with backoff, a bounded number
// of times; one refused for room waits for room, which nothing in the
// simulation makes: a queue too small for the run shows as invoices still in
// flight at the end, never as invoices lost.
//
// Unknown outcomes. A step with side effects (accounting, when the policy
// compensates) whose attempt got no reply may have taken effect anyway: its
// saga committed a moment after the deadline, or its worker died after
// posting. Before such an invoice is dead-lettered (its retries spent, or
// its workflow's deadline passed while it waited at that step after a
// restart), the orchestrator asks the agent to undo the step (an undo
// request, Message::undo) and waits for the answer, asking again with
// backoff for as long as no answer comes: the invoice stays in flight until
// its effects are known to be gone. An agent that cannot undo them sends
// the invoice to manual review instead. Without compensation in the policy
// nothing can be undone, and the invoice is dead-lettered as it stands.
//
// The submitted invoices themselves are the durable inbox: stop() (a crash)
// destroys every workflow coroutine but keeps the inbox, and start()
// resumes each unfinished invoice from its checkpoint, or from the first
// step when there is none.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "reference_system/agents.h"
#include "reference_system/events.h"
#include "reference_system/metrics.h"
#include "reference_system/policy.h"
#include "reference_system/ports.h"
#include "resilience/checkpoint.h"
#include "resilience/dead_letter.h"
#include "resilience/retry.h"
#include "runtime/flat_hash_map.h"
#include "runtime/runtime.h"

namespace faultline::reference_system {

struct ReviewItem {
  std::uint64_t invoice_id = 0;
  ReviewReason reason = ReviewReason::unreadable_document;
  std::vector<std::uint64_t> suggestions;  // candidate POs, when matching failed
  runtime::Instant at{};
};

// A rejected invoice, as the sender would be told about it.
struct RejectedInput {
  std::uint64_t invoice_id = 0;
  runtime::Instant at{};
};

// What submit() tells its caller.
enum class SubmitResult : std::uint8_t {
  accepted = 0,
  refused_duplicate = 1,   // an invoice under this id was already submitted
  refused_overloaded = 2,  // max_in_flight workflows are running (shed)
};
std::string_view to_string(SubmitResult r) noexcept;

class Orchestrator {
 public:
  // The rejection records' bound (a push beyond it parks, as a full queue does).
  static constexpr std::size_t kRejectionRecordsMax = 1'000'000;

  Orchestrator(const AgentContext& ctx, MessageBus& bus, std::vector<AgentId> steps,
               resilience::CheckpointStore* dlq_store);
  ~Orchestrator() { stop(); }
  Orchestrator(const Orchestrator&) = delete;
  Orchestrator& operator=(const Orchestrator&) = delete;

  // Hands an invoice to the system; a refusal is the invoice's one outcome
  // (no workflow, no outcome event), and the caller must keep it.
  [[nodiscard]] SubmitResult submit(Invoice invoice);

  void start();
  // A crash: every workflow and the reply dispatcher stop where they are.
  void stop();
  bool running() const noexcept { return running_; }

  std::size_t in_flight() const noexcept { return inbox_.size(); }
  // The ids in the durable inbox (accepted, no terminal outcome yet), ascending.
  std::vector<std::uint64_t> in_flight_ids() const { return ids_in_order(); }
  // Workflows waiting for room in a full store (or for a store that failed).
  std::size_t parked() const noexcept { return parked_; }
  const std::deque<RejectedInput>& rejections() const noexcept { return rejections_; }
  const std::vector<AgentId>& steps() const noexcept { return steps_; }
  const std::deque<ReviewItem>& manual_review() const noexcept { return review_; }
  std::uint64_t manual_review_refused() const noexcept { return review_refused_; }
  const resilience::DeadLetterQueue& dead_letters() const noexcept { return dlq_; }
  // The terminal outcome of invoice `id`; nullopt while it has none.
  std::optional<InvoiceOutcome> outcome(std::uint64_t id) const {
    const InvoiceOutcome* o = outcomes_.find(id);
    return o != nullptr ? std::optional<InvoiceOutcome>(*o) : std::nullopt;
  }
  std::size_t outcome_count() const noexcept { return outcomes_.size(); }

  // For a process of a live deployment (world/live/live_role.h):
  // request ids start at `first` (unique across restarts of the process),
  // `listener` hears every terminal outcome once it is recorded (to write
  // it where other processes read it and to ack the invoice's intake
  // entry), and open_dead_letters() loads the entries an earlier run left
  // in the store, so new entries continue their sequence.
  void set_first_request_id(std::uint64_t first) noexcept { next_request_ = first; }
  using OutcomeListener = std::function<void(std::uint64_t id, InvoiceOutcome outcome)>;
  void set_outcome_listener(OutcomeListener listener) { listener_ = std::move(listener); }
  Task<Outcome<>> open_dead_letters() { return dlq_.open(); }

 private:
  struct Waiter {
    explicit Waiter(runtime::Runtime& rt) : signal(rt) {}
    runtime::Signal signal;
    std::uint64_t request_id = 0;
    std::shared_ptr<const StepReply> reply;
  };
  struct Workflow {
    std::shared_ptr<const Invoice> invoice;
    runtime::Instant submitted_at{};
    runtime::TaskId task;
  };
  struct State {
    std::size_t next_step = 0;
    std::uint64_t version = 0;  // of the checkpoint
    std::shared_ptr<WorkItem> work;
    std::string checkpoint_key;  // "wf/<id>", built once per workflow (with a store)
  };

  // One attempt at a step, kept in the workflow's own frame rather than a
  // coroutine of its own. While registered, its waiter is in waiting_
  // under the invoice's id; destroying the attempt (the reply came, the
  // wait timed out, or the workflow was cancelled) takes it out.
  struct StepAttempt {
    StepAttempt(runtime::Runtime& rt, runtime::FlatHashMap<std::uint64_t, Waiter*>& waiting)
        : waiter(rt), waiting(&waiting) {}
    StepAttempt(const StepAttempt&) = delete;
    StepAttempt& operator=(const StepAttempt&) = delete;
    ~StepAttempt() {
      if (!registered_as) return;
      if (Waiter* const* w = waiting->find(*registered_as); w != nullptr && *w == &waiter) waiting->erase(*registered_as);
    }
    Waiter waiter;
    runtime::FlatHashMap<std::uint64_t, Waiter*>* waiting;
    std::optional<std::uint64_t> registered_as;
    runtime::Instant start{};
    runtime::Instant deadline{};
    bool cut_by_workflow = false;
  };

  Task<void> run_workflow(std::uint64_t id, bool resume);
  // A request for the step to the step's agent, under a new request id
  // (the attempt's), its start now; the caller sets its deadline.
  Message new_request(StepAttempt& a, std::uint64_t id, std::size_t step, std::uint32_t attempt,
                      std::shared_ptr<const WorkItem> work);
  // Whether a step run by `agent` can leave effects an undo must take back.
  bool may_have_effects(AgentId agent) const noexcept;
  // Asks the step's agent to undo it until it answers: true when undone,
  // false when it could not be (a person must look).
  Task<bool> undo_step(std::uint64_t id, std::size_t step, std::shared_ptr<const WorkItem> work);
  // The saga's compensation before an invoice is dead-lettered at step
  // `failed`: undoes `failed` itself when its effects are unknown, then each
  // completed step before it that may have had effects, latest first (an
  // invoice posted to the ledger whose archive step then failed must not
  // end both posted and dead-lettered). False when one could not be undone.
  Task<bool> compensate(std::uint64_t id, std::size_t failed, bool failed_effects_unknown,
                        std::shared_ptr<const WorkItem> work);
  Task<void> dispatch_replies();
  // Counts and records the attempt and publishes its request; the failure
  // when no request could go out. `workflow_end`: when the workflow's
  // deadline passes (Instant::max() without one).
  std::optional<Failure> start_attempt(StepAttempt& a, std::uint64_t id, std::size_t step, std::uint32_t attempt,
                                       const std::shared_ptr<const WorkItem>& work, runtime::Instant workflow_end);
  // The attempt's result once the wait is over (`replied`: the reply came).
  Outcome<std::shared_ptr<const StepReply>> finish_attempt(StepAttempt& a, std::uint64_t id, std::size_t step,
                                                           std::uint32_t attempt, std::optional<Failure> failure,
                                                           bool replied);
  // Counts and records a step's checkpoint save; true if it met a conflict.
  bool checkpoint_saved(std::uint64_t id, State& state, const Outcome<std::uint64_t>& saved, std::int64_t bytes);
  Task<void> relearn_version(State& state);
  Task<void> finish(std::uint64_t id, InvoiceOutcome outcome, const State& state, std::optional<ReviewReason> reason = {},
                    ErrorClass error = ErrorClass::transient);
  Task<void> finish_dead_lettered(std::uint64_t id, const State& state, ErrorClass error);
  // The review queue or the rejection records are full: waits for room, then finishes.
  Task<void> finish_parked(std::uint64_t id, InvoiceOutcome outcome, const State& state,
                           std::optional<ReviewReason> reason);
  bool has_room(InvoiceOutcome outcome) const noexcept;
  void store(std::uint64_t id, InvoiceOutcome outcome, const State& state, std::optional<ReviewReason> reason);
  void note_parked(std::uint64_t id, InvoiceOutcome outcome, ErrorClass error);
  Task<void> remove_checkpoint_and_end(std::uint64_t id, const State& state, InvoiceOutcome outcome);
  Task<void> end_after(Task<Outcome<>> removing, std::uint64_t id, InvoiceOutcome outcome);
  // Records the outcome and takes the invoice out of the inbox.
  void end_workflow(std::uint64_t id, InvoiceOutcome outcome);
  void record_outcome(std::uint64_t id, InvoiceOutcome outcome, runtime::Instant submitted_at, std::int64_t total_cents);
  std::vector<std::uint64_t> ids_in_order() const;

  AgentContext ctx_;
  MessageBus* bus_;
  std::vector<AgentId> steps_;
  std::uint32_t source_;
  std::array<std::uint32_t, kAgentCount> agent_sources_{};
  std::vector<std::unique_ptr<resilience::Retry>> step_retries_;  // per step
  runtime::Rng retry_rng_;
  resilience::InMemoryCheckpointStore fallback_dlq_store_;
  resilience::DeadLetterQueue dlq_;
  std::deque<ReviewItem> review_;
  std::uint64_t review_refused_ = 0;
  std::deque<RejectedInput> rejections_;
  std::size_t parked_ = 0;
  // Set by nothing in the reference system: a parked workflow waiting for
  // room waits until the process restarts (stop/start resumes it).
  runtime::Signal room_;

  // Open-addressing tables: an invoice's entry costs no node of its own. A
  // restart walks the inbox in id order (ids_in_order()).
  runtime::FlatHashMap<std::uint64_t, Workflow> inbox_;
  runtime::FlatHashMap<std::uint64_t, Waiter*> waiting_;  // by invoice
  runtime::FlatHashMap<std::uint64_t, InvoiceOutcome> outcomes_;
  std::uint64_t next_request_ = 1;
  OutcomeListener listener_;
  runtime::TaskId dispatcher_;
  bool running_ = false;
};

}  // namespace faultline::reference_system
