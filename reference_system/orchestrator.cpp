// The orchestrator's workflows (orchestrator.h).
#include "reference_system/orchestrator.h"

#include <algorithm>
#include "runtime/assert.h"
#include <charconv>
#include <cstring>
#include <string>

#include "reference_system/bus.h"

namespace faultline::reference_system {

namespace se = system_events;

using resilience::Observer;

namespace {

Topic topic_of(AgentId a) {
  switch (a) {
    case AgentId::ocr: return Topic::ocr;
    case AgentId::validation: return Topic::validation;
    case AgentId::matching: return Topic::matching;
    case AgentId::accounting: return Topic::accounting;
    case AgentId::archive: return Topic::archive;
  }
  return Topic::ocr;
}

// "wf/<id>", built without temporaries (small enough to stay inline in the string).
std::string workflow_key(std::uint64_t id) {
  char buf[32] = {'w', 'f', '/'};
  const auto [end, ec] = std::to_chars(buf + 3, buf + sizeof buf, id);
  (void)ec;
  return std::string(buf, end);
}

char* put_uint(char* out, char* limit, std::uint64_t v) {
  if (v < 10) {  // step numbers, flags and counts: most fields are one digit
    out[0] = static_cast<char>('0' + v);
    out[1] = ' ';
    return out + 2;
  }
  const auto [end, ec] = std::to_chars(out, limit, v);
  (void)ec;
  *end = ' ';
  return end + 1;
}

// "<next_step> <po> <degraded> <failed> <n> <suggestion>... \n<ocr text>"
std::string encode_state(std::size_t next_step, const WorkItem& work) {
  // Every number is at most 20 digits and a space.
  constexpr std::size_t kNumberBytes = 21;
  const std::size_t numbers = 5 + work.match.suggestions.size();
  const std::size_t text = work.extraction ? work.extraction->text.size() : 0;
  std::string out(numbers * kNumberBytes + 1 + text, '\0');
  char* p = out.data();
  char* const limit = p + numbers * kNumberBytes;
  p = put_uint(p, limit, next_step);
  p = put_uint(p, limit, work.match.po_number);
  p = put_uint(p, limit, work.match.degraded ? 1 : 0);
  p = put_uint(p, limit, work.match.failed ? 1 : 0);
  p = put_uint(p, limit, work.match.suggestions.size());
  for (const auto s : work.match.suggestions) p = put_uint(p, limit, s);
  *p++ = '\n';
  if (text != 0) {
    std::memcpy(p, work.extraction->text.data(), text);
    p += text;
  }
  out.resize(static_cast<std::size_t>(p - out.data()));
  return out;
}

bool decode_state(std::string_view state, std::size_t& next_step, WorkItem& work) {
  const auto newline = state.find('\n');
  if (newline == std::string_view::npos) return false;
  std::string_view head = state.substr(0, newline);
  std::vector<std::uint64_t> numbers;
  while (!head.empty()) {
    std::uint64_t v = 0;
    auto [end, ec] = std::from_chars(head.data(), head.data() + head.size(), v);
    if (ec != std::errc{}) return false;
    numbers.push_back(v);
    head.remove_prefix(static_cast<std::size_t>(end - head.data()));
    while (!head.empty() && head.front() == ' ') head.remove_prefix(1);
  }
  if (numbers.size() < 5 || numbers.size() != 5 + numbers[4]) return false;
  next_step = static_cast<std::size_t>(numbers[0]);
  work.match.po_number = numbers[1];
  work.match.degraded = numbers[2] != 0;
  work.match.failed = numbers[3] != 0;
  work.match.suggestions.assign(numbers.begin() + 5, numbers.end());
  const std::string_view text = state.substr(newline + 1);
  if (!text.empty()) {
    auto extraction = std::make_shared<Extraction>();
    extraction->text.assign(text);
    extraction->fields = parse_document(extraction->text);
    work.extraction = std::move(extraction);
  }
  return true;
}

}  // namespace

Orchestrator::Orchestrator(const AgentContext& ctx, MessageBus& bus, std::vector<AgentId> steps,
                           resilience::CheckpointStore* dlq_store)
    : ctx_(ctx),
      bus_(&bus),
      steps_(std::move(steps)),
      source_(ctx.rt->log().intern("orchestrator")),
      retry_rng_(ctx.rt->stream("retry/orchestrator")),
      dlq_(dlq_store != nullptr ? *dlq_store : fallback_dlq_store_, ctx.policy->dead_letter,
           ctx.observe_patterns ? Observer::named(ctx.rt->log(), "dlq") : Observer{}),
      room_(*ctx.rt) {
  for (std::size_t i = 0; i < kAgentCount; ++i) {
    agent_sources_[i] = ctx.rt->log().intern(to_string(static_cast<AgentId>(i)));
  }
  for (const auto agent : steps_) {
    step_retries_.push_back(std::make_unique<resilience::Retry>(
        ctx.policy->agent(agent).retry,
        ctx.observe_patterns ? Observer::named(ctx.rt->log(), "step/" + std::string(to_string(agent)))
                             : Observer{}));
  }
}

std::string_view to_string(SubmitResult r) noexcept {
  switch (r) {
    case SubmitResult::accepted: return "accepted";
    case SubmitResult::refused_duplicate: return "refused_duplicate";
    case SubmitResult::refused_overloaded: return "refused_overloaded";
  }
  return "?";
}

SubmitResult Orchestrator::submit(Invoice invoice) {
  const std::uint64_t id = invoice.id;
  const std::int64_t total = invoice.total_cents;
  const bool duplicate = inbox_.contains(id) || outcomes_.contains(id);
  ++ctx_.metrics->submitted;
  ctx_.rt->log().record(source_, id,
                        se::InvoiceSubmitted{total, duplicate, static_cast<std::uint16_t>(invoice.scan_quality * 100.0)});
  // A second invoice under an id already taken is refused at the door, so
  // the first one's workflow, checkpoints and ledger entry stay its own.
  // Past the in-flight bound, new work is refused rather than taken and dropped.
  SubmitResult refusal = SubmitResult::accepted;
  if (duplicate) {
    refusal = SubmitResult::refused_duplicate;
    ++ctx_.metrics->duplicates_refused;
  } else if (inbox_.size() >= ctx_.policy->max_in_flight) {
    refusal = SubmitResult::refused_overloaded;
    ++ctx_.metrics->shed;
  }
  if (refusal != SubmitResult::accepted) {
    ctx_.rt->log().record(source_, id, se::SubmissionRefused{inbox_.size(), refusal});
    return refusal;
  }
  // (A reference into the inbox lasts until its next insert or erase;
  // spawn() only registers the workflow, which starts later.)
  Workflow& wf = inbox_[id];
  wf.invoice = std::make_shared<const Invoice>(std::move(invoice));
  wf.submitted_at = ctx_.rt->now();
  if (running_) wf.task = ctx_.rt->spawn(run_workflow(id, false));
  return SubmitResult::accepted;
}

std::vector<std::uint64_t> Orchestrator::ids_in_order() const {
  std::vector<std::uint64_t> ids;
  ids.reserve(inbox_.size());
  for (const auto& e : inbox_.entries()) ids.push_back(e.key);
  std::sort(ids.begin(), ids.end());
  return ids;
}

void Orchestrator::start() {
  if (running_) return;
  running_ = true;
  bus_->reclaim(Topic::replies);
  dispatcher_ = ctx_.rt->spawn(dispatch_replies());
  // Resume every unfinished invoice, oldest first.
  for (const std::uint64_t id : ids_in_order()) inbox_.find(id)->task = ctx_.rt->spawn(run_workflow(id, true));
}

void Orchestrator::stop() {
  if (!running_) return;
  running_ = false;
  ctx_.rt->cancel(dispatcher_);
  for (const std::uint64_t id : ids_in_order()) ctx_.rt->cancel(inbox_.find(id)->task);
}

Task<void> Orchestrator::dispatch_replies() {
  for (;;) {
    std::optional<Message> m = co_await bus_->receive(Topic::replies);
    if (!m) co_return;
    Waiter* const* found = waiting_.find(m->invoice_id);
    if (found != nullptr && (*found)->request_id == m->request_id && !(*found)->reply) {
      (*found)->reply = m->reply;
      (*found)->signal.set();
    } else {
      ++ctx_.metrics->stale_replies;
      ctx_.rt->log().record(source_, m->invoice_id, se::StaleReply{m->step, m->request_id});
    }
    bus_->ack(Topic::replies, m->delivery_id);
  }
}

Message Orchestrator::new_request(StepAttempt& a, std::uint64_t id, std::size_t step, std::uint32_t attempt,
                                  std::shared_ptr<const WorkItem> work) {
  a.waiter.request_id = next_request_++;
  a.start = ctx_.rt->now();
  Message request;
  request.topic = topic_of(steps_[step]);
  request.invoice_id = id;
  request.request_id = a.waiter.request_id;
  request.step = static_cast<std::uint32_t>(step);
  request.attempt = attempt;
  request.work = std::move(work);
  return request;
}

std::optional<Failure> Orchestrator::start_attempt(StepAttempt& a, std::uint64_t id, std::size_t step,
                                                   std::uint32_t attempt,
                                                   const std::shared_ptr<const WorkItem>& work,
                                                   runtime::Instant workflow_end) {
  const AgentId agent = steps_[step];
  const AgentPolicy& policy = ctx_.policy->agent(agent);
  AgentMetrics& metrics = ctx_.metrics->agent(agent);
  ++metrics.step_attempts;
  if (attempt > 1) ++metrics.step_retries;
  ctx_.rt->log().record(agent_sources_[static_cast<std::size_t>(agent)], id, se::StepStarted{step, attempt});

  Message request = new_request(a, id, step, attempt, work);
  // workflow_end is Instant::max() when the policy sets no workflow deadline.
  a.cut_by_workflow = workflow_end < a.start + policy.timeout;
  a.deadline = a.cut_by_workflow ? workflow_end : a.start + policy.timeout;
  // The request's deadline is this attempt's: past it the orchestrator has
  // retried the step or given the invoice up, so an agent that receives it
  // late (it waited out a crash or a partition) must not act on it.
  request.deadline = a.deadline;

  if (a.deadline <= a.start) {
    // The workflow's time is spent: no request, and no retry can help.
    return Failure{ErrorClass::permanent, std::string(to_string(agent)) + ": workflow deadline passed"};
  }
  if (!bus_->publish(std::move(request))) {
    ++metrics.queue_rejected;
    return Failure{ErrorClass::transient, std::string(to_string(agent)) + ": queue full"};
  }
  waiting_[id] = &a.waiter;
  a.registered_as = id;
  return std::nullopt;
}

Outcome<std::shared_ptr<const StepReply>> Orchestrator::finish_attempt(StepAttempt& a, std::uint64_t id,
                                                                       std::size_t step, std::uint32_t attempt,
                                                                       std::optional<Failure> failure,
                                                                       bool replied) {
  const AgentId agent = steps_[step];
  AgentMetrics& metrics = ctx_.metrics->agent(agent);
  if (!failure && !replied) {
    // Not a timeout to retry when the workflow's deadline cut the wait: no
    // time is left for another attempt.
    failure = a.cut_by_workflow
                  ? Failure{ErrorClass::permanent, std::string(to_string(agent)) + ": no reply before the workflow deadline"}
                  : Failure{ErrorClass::timeout, std::string(to_string(agent)) + ": no reply in time"};
  }
  metrics.latency.record(ctx_.rt->now() - a.start);

  StepStatus status = StepStatus::failed;
  if (!failure) {
    status = a.waiter.reply->status;
    if (status == StepStatus::failed) failure = Failure{a.waiter.reply->error, std::string(to_string(agent)) + ": failed"};
  }
  ctx_.rt->log().record(agent_sources_[static_cast<std::size_t>(agent)], id, se::StepFinished{step, attempt, status});
  if (failure) {
    ++metrics.step_failures;
    ++metrics.errors_by_class[static_cast<std::size_t>(failure->error_class)];
    return std::move(*failure);
  }
  if (status == StepStatus::rejected) ++metrics.rejected;
  if (status == StepStatus::degraded) ++metrics.degraded;
  return std::move(a.waiter.reply);
}

bool Orchestrator::checkpoint_saved(std::uint64_t id, State& state, const Outcome<std::uint64_t>& saved,
                                    std::int64_t bytes) {
  if (saved.ok()) {
    state.version = saved.value();
    ++ctx_.metrics->checkpoint_saves;
    ctx_.rt->log().record(source_, id, se::CheckpointSaved{state.next_step, bytes});
    return false;
  }
  // The step's work is done either way; without this checkpoint a crash
  // repeats it, which the agents' idempotency absorbs.
  ++ctx_.metrics->checkpoint_failures;
  ctx_.rt->log().record(source_, id, se::CheckpointFailed{state.next_step, saved.error_class()});
  return saved.error_class() == ErrorClass::conflict;
}

Task<void> Orchestrator::relearn_version(State& state) {
  // Someone else saved since we loaded: learn the version so the next save can land.
  std::string key = state.checkpoint_key;
  auto loaded = co_await ctx_.checkpoints->load(std::move(key));
  if (loaded.ok() && loaded.value()) state.version = loaded.value()->version;
}

void Orchestrator::record_outcome(std::uint64_t id, InvoiceOutcome outcome, runtime::Instant submitted_at,
                                  std::int64_t total_cents) {
  const runtime::Duration latency = ctx_.rt->now() - submitted_at;
  ++ctx_.metrics->outcomes[static_cast<std::size_t>(outcome)];
  ctx_.metrics->end_to_end.record(latency);
  if (outcome == InvoiceOutcome::posted || outcome == InvoiceOutcome::posted_degraded) ctx_.metrics->end_to_end_success.record(latency);
  *outcomes_.try_emplace(id).first = outcome;
  ctx_.rt->log().record(source_, id, se::TerminalOutcome{outcome, latency, total_cents});
}

namespace {
// Counts a workflow as parked for as long as its frame waits (a crash
// destroys the frame, and the count with it).
class ParkedCount {
 public:
  explicit ParkedCount(std::size_t& n) noexcept : n_(&n) { ++*n_; }
  ParkedCount(const ParkedCount&) = delete;
  ParkedCount& operator=(const ParkedCount&) = delete;
  ~ParkedCount() { --*n_; }

 private:
  std::size_t* n_;
};

// A parked dead-letter push that the store failed (not a full queue) is
// retried with this backoff, at most kParkStoreRetries times.
constexpr runtime::Duration kParkRetryFirst = std::chrono::seconds(1);
constexpr runtime::Duration kParkRetryMax = std::chrono::minutes(5);
constexpr std::uint32_t kParkStoreRetries = 20;
}  // namespace

bool Orchestrator::has_room(InvoiceOutcome outcome) const noexcept {
  switch (outcome) {
    case InvoiceOutcome::manual_review: return review_.size() < ctx_.policy->manual_review_capacity;
    case InvoiceOutcome::rejected_invalid: return rejections_.size() < kRejectionRecordsMax;
    default: return true;
  }
}

void Orchestrator::store(std::uint64_t id, InvoiceOutcome outcome, const State& state,
                         std::optional<ReviewReason> reason) {
  if (outcome == InvoiceOutcome::manual_review) {
    FAULTLINE_ASSERT(reason.has_value());
    review_.push_back(ReviewItem{id, *reason, state.work->match.suggestions, ctx_.rt->now()});
    ctx_.metrics->manual_review_size = review_.size();
    ctx_.rt->log().record(source_, id, se::ManualReview{review_.size(), *reason});
  } else if (outcome == InvoiceOutcome::rejected_invalid) {
    rejections_.push_back(RejectedInput{id, ctx_.rt->now()});
  }
}

void Orchestrator::note_parked(std::uint64_t id, InvoiceOutcome outcome, ErrorClass error) {
  ++ctx_.metrics->parked;
  ctx_.rt->log().record(source_, id, se::Parked{outcome, error});
}

Task<void> Orchestrator::finish(std::uint64_t id, InvoiceOutcome outcome, const State& state,
                                std::optional<ReviewReason> reason, ErrorClass error) {
  if (outcome == InvoiceOutcome::dead_lettered) return finish_dead_lettered(id, state, error);
  if (!has_room(outcome)) return finish_parked(id, outcome, state, reason);
  store(id, outcome, state, reason);
  // With nothing to push to the dead-letter queue and a store that answers
  // at once (in memory), the workflow ends here, without a frame of its own.
  if (ctx_.checkpoints != nullptr && state.version != 0) {
    Task<Outcome<>> removing = ctx_.checkpoints->remove(state.checkpoint_key, state.version);
    if (!removing.done()) return end_after(std::move(removing), id, outcome);
    (void)removing.result();
  }
  end_workflow(id, outcome);
  return Task<void>::ready();
}

Task<void> Orchestrator::finish_parked(std::uint64_t id, InvoiceOutcome outcome, const State& state,
                                       std::optional<ReviewReason> reason) {
  if (outcome == InvoiceOutcome::manual_review) ++review_refused_;
  note_parked(id, outcome, ErrorClass::capacity_exceeded);
  {
    const ParkedCount counted(parked_);
    while (!has_room(outcome)) co_await room_.wait();
  }
  store(id, outcome, state, reason);
  co_await remove_checkpoint_and_end(id, state, outcome);
}

Task<void> Orchestrator::remove_checkpoint_and_end(std::uint64_t id, const State& state, InvoiceOutcome outcome) {
  if (ctx_.checkpoints != nullptr && state.version != 0) {
    std::string cp_key = state.checkpoint_key;
    (void)co_await ctx_.checkpoints->remove(std::move(cp_key), state.version);
  }
  end_workflow(id, outcome);
}


Task<void> Orchestrator::finish_dead_lettered(std::uint64_t id, const State& state, ErrorClass error) {
  std::optional<ParkedCount> parked;
  runtime::Duration backoff = kParkRetryFirst;
  std::uint32_t store_retries = 0;
  for (;;) {
    std::string key = std::to_string(id);
    std::string payload = encode_state(state.next_step, *state.work);
    Failure reason{error, "retries exhausted", runtime::Duration::zero()};
    auto pushed = co_await dlq_.push(std::move(key), std::move(payload), std::move(reason), 0, ctx_.rt->now(), id);
    if (pushed.ok()) break;
    // Refused (full) or not stored (the store failed): the invoice stays in
    // the inbox, never reported dead-lettered while the queue does not hold it.
    if (!parked) {
      parked.emplace(parked_);
      note_parked(id, InvoiceOutcome::dead_lettered, pushed.error_class());
    }
    if (pushed.error_class() != ErrorClass::capacity_exceeded && store_retries < kParkStoreRetries) {
      ++store_retries;
      co_await ctx_.rt->sleep(backoff);
      backoff = std::min(backoff * 2, kParkRetryMax);
    } else {
      co_await room_.wait();
    }
  }
  parked.reset();
  ctx_.metrics->dead_letter_size = dlq_.size();
  ctx_.rt->log().record(source_, id, se::DeadLettered{dlq_.size(), error});
  co_await remove_checkpoint_and_end(id, state, InvoiceOutcome::dead_lettered);
}

Task<void> Orchestrator::end_after(Task<Outcome<>> removing, std::uint64_t id, InvoiceOutcome outcome) {
  (void)co_await std::move(removing);
  end_workflow(id, outcome);
}

void Orchestrator::end_workflow(std::uint64_t id, InvoiceOutcome outcome) {
  const Workflow* wf = inbox_.find(id);
  FAULTLINE_ASSERT(wf != nullptr);
  record_outcome(id, outcome, wf->submitted_at, wf->invoice->total_cents);
  inbox_.erase(id);
  if (listener_) listener_(id, outcome);
}

bool Orchestrator::may_have_effects(AgentId agent) const noexcept {
  return agent == AgentId::accounting && ctx_.policy->agent(agent).compensation;
}

namespace {
// An undo request that gets no answer is sent again after this backoff.
constexpr runtime::Duration kUndoRetryFirst = std::chrono::seconds(1);
constexpr runtime::Duration kUndoRetryMax = std::chrono::minutes(5);
}  // namespace

Task<bool> Orchestrator::undo_step(std::uint64_t id, std::size_t step, std::shared_ptr<const WorkItem> work) {
  const AgentId agent = steps_[step];
  const std::uint32_t source = agent_sources_[static_cast<std::size_t>(agent)];
  const runtime::Duration timeout = ctx_.policy->agent(agent).timeout;
  runtime::Duration backoff = kUndoRetryFirst;
  for (std::uint32_t attempt = 1;; ++attempt) {
    ctx_.rt->log().record(source, id, se::UndoStarted{step, attempt});
    std::optional<StepStatus> answer;
    {
      StepAttempt a(*ctx_.rt, waiting_);
      Message request = new_request(a, id, step, attempt, work);
      request.undo = true;
      a.deadline = a.start + timeout;
      request.deadline = a.deadline;
      if (bus_->publish(std::move(request))) {
        waiting_[id] = &a.waiter;
        a.registered_as = id;
        if (co_await a.waiter.signal.wait_until(a.deadline)) answer = a.waiter.reply->status;
      }
    }
    ctx_.rt->log().record(source, id, se::UndoFinished{step, attempt, answer.value_or(StepStatus::failed)});
    // A failed answer is the agent's own timeout (it waited past the
    // request's deadline for a handler of the invoice): asked again.
    if (answer && *answer != StepStatus::failed) co_return *answer == StepStatus::ok;
    co_await ctx_.rt->sleep(backoff);
    backoff = std::min(backoff * 2, kUndoRetryMax);
  }
}

Task<bool> Orchestrator::compensate(std::uint64_t id, std::size_t failed, bool failed_effects_unknown,
                                     std::shared_ptr<const WorkItem> work) {
  if (failed_effects_unknown && !co_await undo_step(id, failed, work)) co_return false;
  for (std::size_t step = failed; step-- > 0;) {
    if (!may_have_effects(steps_[step])) continue;
    if (!co_await undo_step(id, step, work)) co_return false;
  }
  co_return true;
}

Task<void> Orchestrator::run_workflow(std::uint64_t id, bool resume) {
  State state;
  {
    auto work = std::make_shared<WorkItem>();
    work->invoice = inbox_.find(id)->invoice;
    state.work = std::move(work);
  }
  if (ctx_.checkpoints != nullptr) state.checkpoint_key = workflow_key(id);
  if (resume && ctx_.checkpoints != nullptr) {
    std::string key = state.checkpoint_key;
    auto loaded = co_await ctx_.checkpoints->load(std::move(key));
    if (loaded.ok() && loaded.value()) {
      auto work = std::make_shared<WorkItem>(*state.work);
      std::size_t next = 0;
      if (decode_state(loaded.value()->state, next, *work) && next <= steps_.size()) {
        state.next_step = next;
        state.version = loaded.value()->version;
        state.work = std::move(work);
        ctx_.rt->log().record(source_, id, se::CheckpointLoaded{next});
      }
    } else if (!loaded.ok()) {
      ++ctx_.metrics->checkpoint_failures;
      ctx_.rt->log().record(source_, id, se::CheckpointFailed{0, loaded.error_class()});
    }
  }

  const runtime::Duration workflow_deadline = ctx_.policy->workflow_deadline;
  // Looked up once: the inbox entry and its submission time stay until finish().
  const runtime::Instant workflow_end = workflow_deadline > runtime::Duration::zero()
                                            ? inbox_.find(id)->submitted_at + workflow_deadline
                                            : runtime::Instant::max();
  // Resumed at a step with effects, that step may have run before the crash.
  bool effects_unknown = resume && state.next_step < steps_.size() && may_have_effects(steps_[state.next_step]);
  while (state.next_step < steps_.size()) {
    if (ctx_.rt->now() >= workflow_end) {
      if (!co_await compensate(id, state.next_step, effects_unknown, state.work)) {
        co_await finish(id, InvoiceOutcome::manual_review, state, ReviewReason::compensation_failed);
        co_return;
      }
      co_await finish(id, InvoiceOutcome::dead_lettered, state, {}, ErrorClass::timeout);
      co_return;
    }
    const std::size_t step = state.next_step;
    const AgentId agent = steps_[step];
    const AgentPolicy& policy = ctx_.policy->agent(agent);
    std::uint32_t attempt = 0;
    const std::shared_ptr<const WorkItem> work = state.work;
    // The step's retry loop runs in this frame (Retry::Loop), not in a
    // retry coroutine of its own; a single-attempt step records no retry events.
    std::optional<Outcome<std::shared_ptr<const StepReply>>> outcome;
    std::optional<resilience::Retry::Loop> loop;
    if (policy.retry.max_attempts > 1) loop.emplace(*step_retries_[step], *ctx_.rt, id);
    for (;;) {
      if (loop) loop->begin_attempt();
      {
        // One attempt, in this frame: publish the request, wait for the
        // reply up to the step's deadline. However the wait ends (reply,
        // timeout, crash), `a` takes the waiter out of waiting_.
        StepAttempt a(*ctx_.rt, waiting_);
        std::optional<Failure> refused = start_attempt(a, id, step, ++attempt, work, workflow_end);
        bool replied = false;
        if (!refused) replied = co_await a.waiter.signal.wait_until(a.deadline);
        if (!refused && !replied && may_have_effects(agent)) effects_unknown = true;
        outcome.emplace(finish_attempt(a, id, step, attempt, std::move(refused), replied));
      }
      if (!loop) break;
      if (outcome->ok()) {
        loop->succeeded();
        break;
      }
      const std::optional<runtime::Duration> delay = loop->failed(retry_rng_, outcome->failure());
      if (!delay) break;
      co_await ctx_.rt->sleep(*delay);
    }
    auto& result = *outcome;
    if (!result.ok()) {
      if (policy.criticality == resilience::Criticality::critical) {
        if (!co_await compensate(id, step, effects_unknown, work)) {
          co_await finish(id, InvoiceOutcome::manual_review, state, ReviewReason::compensation_failed);
          co_return;
        }
        co_await finish(id, InvoiceOutcome::dead_lettered, state, {}, result.error_class());
        co_return;
      }
      // A non-critical step that could not complete: its neutral default.
      auto next = std::make_shared<WorkItem>(*state.work);
      if (agent == AgentId::matching) next->match = MatchResult{0, {}, true, true, result.error_class()};
      state.work = std::move(next);
      ++ctx_.metrics->agent(agent).degraded;
      ctx_.rt->log().record(agent_sources_[static_cast<std::size_t>(agent)], id,
                            se::Degraded{step, result.error_class()});
    } else {
      const StepReply& reply = *result.value();
      if (reply.status == StepStatus::rejected) {
        co_await finish(id, InvoiceOutcome::rejected_invalid, state);
        co_return;
      }
      if (reply.status == StepStatus::needs_review) {
        co_await finish(id, InvoiceOutcome::manual_review, state, static_cast<ReviewReason>(reply.review_reason));
        co_return;
      }
      if (agent == AgentId::ocr) {
        auto next = std::make_shared<WorkItem>();
        next->invoice = state.work->invoice;
        next->extraction = reply.extraction;
        state.work = std::move(next);
      } else if (agent == AgentId::matching) {
        auto next = std::make_shared<WorkItem>(*state.work);
        next->match = reply.match;
        if (next->match.degraded) {
          const auto failure = next->match.failed ? std::optional(next->match.error) : std::nullopt;
          ctx_.rt->log().record(agent_sources_[static_cast<std::size_t>(agent)], id, se::Degraded{step, failure});
        }
        state.work = std::move(next);
      }
    }
    if (agent == AgentId::matching && state.work->match.failed && policy.manual_review_above_cents > 0 &&
        state.work->extracted().total_cents > policy.manual_review_above_cents) {
      co_await finish(id, InvoiceOutcome::manual_review, state, ReviewReason::matching_failed_large_amount);
      co_return;
    }
    ++state.next_step;
    effects_unknown = false;
    if (ctx_.checkpoints != nullptr) {
      // Saved from this frame rather than a helper coroutine: one frame
      // less per step. The call is a statement of its own, outside any
      // co_await (GCC 12 may destroy temporaries in a co_await operand
      // twice), so the key's copy and the step name are built straight
      // into its parameters. A store that answered at once does not suspend.
      std::string encoded = encode_state(state.next_step, *state.work);
      const auto bytes = static_cast<std::int64_t>(encoded.size());
      Task<Outcome<std::uint64_t>> saving = ctx_.checkpoints->save(
          state.checkpoint_key, state.version, std::string(to_string(agent)), std::move(encoded));
      auto saved = co_await std::move(saving);
      if (checkpoint_saved(id, state, saved, bytes)) co_await relearn_version(state);
    }
  }
  co_await finish(id, state.work->match.degraded ? InvoiceOutcome::posted_degraded : InvoiceOutcome::posted, state);
}

}  // namespace faultline::reference_system
