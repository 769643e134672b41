// The agents, their service clients and the agent host (agents.h).
#include "reference_system/agents.h"

#include <algorithm>
#include "runtime/assert.h"
#include <charconv>
#include <string>

#include "reference_system/bus.h"
#include "resilience/saga.h"

namespace faultline::reference_system {

namespace se = system_events;

using resilience::Observer;

namespace {

Observer observer_for(const AgentContext& ctx, std::string_view name) {
  return ctx.observe_patterns ? Observer::named(ctx.rt->log(), name) : Observer{};
}

StepReply failed(ErrorClass error) {
  StepReply r;
  r.status = StepStatus::failed;
  r.error = error;
  return r;
}

StepReply needs_review(ReviewReason reason) {
  StepReply r;
  r.status = StepStatus::needs_review;
  r.review_reason = static_cast<std::uint8_t>(reason);
  return r;
}

// A request dropped unhandled because the orchestrator's wait for its reply
// is over (the attempt's deadline).
void record_expired(runtime::Runtime& rt, AgentMetrics& metrics, std::uint32_t source, const Message& request) {
  ++metrics.expired;
  rt.log().record(source, request.invoice_id, se::RequestExpired{request.step, request.request_id});
}

// The step name of every accounting saga checkpoint.
constexpr std::string_view kSagaStep = "accounting";

// "<prefix><id>" ("saga/42", "inv-42"), built without temporaries (small
// enough to stay inline in the string).
std::string prefixed_id(std::string_view prefix, std::uint64_t id) {
  char buf[32];
  prefix.copy(buf, prefix.size());
  const auto [end, ec] = std::to_chars(buf + prefix.size(), buf + sizeof buf, id);
  (void)ec;
  return std::string(buf, end);
}
std::string saga_key(std::uint64_t id) { return prefixed_id("saga/", id); }
// The ledger's and the notifier's idempotency key.
std::string ledger_key(std::uint64_t id) { return prefixed_id("inv-", id); }

}  // namespace

// ---------------------------------------------------------------------------

ServiceClient::ServiceClient(const AgentContext& ctx, ServiceId id)
    : rt_(ctx.rt),
      id_(id),
      source_(ctx.rt->log().intern(to_string(id))),
      limit_(ctx.policy->service(id).timeout),
      timeout_(ctx.policy->service(id).timeout, observer_for(ctx, to_string(id))),
      budget_(ctx.policy->service(id).retry_budget),
      retry_(ctx.policy->service(id).retry, observer_for(ctx, to_string(id)), budget_ ? &*budget_ : nullptr),
      rng_(ctx.rt->stream("retry/" + std::string(to_string(id)))),
      metrics_(&ctx.metrics->service(id)) {
  if (const auto& b = ctx.policy->service(id).breaker) breaker_.emplace(*b, observer_for(ctx, to_string(id)));
}

void ServiceClient::started(std::uint64_t invoice_id, ServiceOp op, std::uint32_t number) {
  ++metrics_->attempts;
  if (number > 1) ++metrics_->retries;
  rt_->log().record(source_, invoice_id, se::CallAttempt{number, op});
}

void ServiceClient::finished(std::uint64_t invoice_id, ServiceOp op, runtime::Duration latency,
                             const Failure* failure) {
  metrics_->latency.record(latency);
  std::optional<ErrorClass> failed;
  if (failure != nullptr) {
    ++metrics_->errors;
    ++metrics_->errors_by_class[static_cast<std::size_t>(failure->error_class)];
    failed = failure->error_class;
  }
  if (breaker_) {
    metrics_->breaker_state = breaker_->last_state();
    metrics_->breaker_opened = breaker_->counters().opened;
  }
  rt_->log().record(source_, invoice_id, se::CallResult{latency, op, failed});
}

ServiceClients make_service_clients(const AgentContext& ctx) {
  ServiceClients c;
  c.ocr_engine = std::make_unique<ServiceClient>(ctx, ServiceId::ocr_engine);
  c.backup_ocr = std::make_unique<ServiceClient>(ctx, ServiceId::backup_ocr);
  c.po_database = std::make_unique<ServiceClient>(ctx, ServiceId::po_database);
  c.budget_service = std::make_unique<ServiceClient>(ctx, ServiceId::budget_service);
  c.ledger = std::make_unique<ServiceClient>(ctx, ServiceId::ledger);
  c.notifier = std::make_unique<ServiceClient>(ctx, ServiceId::notifier);
  return c;
}

// ---------------------------------------------------------------------------

OcrAgent::OcrAgent(const AgentContext& ctx, ServiceClient& primary_client, ServiceClient& backup_client,
                   std::shared_ptr<OcrEngine> primary, std::shared_ptr<OcrEngine> backup)
    : ctx_(ctx),
      primary_client_(&primary_client),
      backup_client_(&backup_client),
      primary_(std::move(primary)),
      backup_(std::move(backup)),
      source_(ctx.rt->log().intern("ocr")) {}

Task<Outcome<std::string>> OcrAgent::recognize_checked(OcrEngine& engine, const Invoice& invoice) {
  auto text = co_await engine.recognize(OcrRequest{invoice.id, invoice.document, invoice.scan_quality});
  if (text.ok() && !looks_like_document(text.value())) {
    co_return Failure{ErrorClass::permanent, "ocr: output is not a document"};
  }
  co_return text;
}

Task<StepReply> OcrAgent::handle(const Message& request) {
  const std::shared_ptr<const Invoice> invoice = request.work->invoice;
  const std::uint64_t id = invoice->id;
  auto primary = [&] { return recognize_checked(*primary_, *invoice); };
  auto text = co_await primary_client_->call(id, ServiceOp::recognize, primary);
  if (!text.ok() && ctx_.policy->agent(AgentId::ocr).fallback) {
    ++ctx_.metrics->ocr_fallbacks;
    ctx_.rt->log().record(source_, id, se::OcrFallback{text.error_class()});
    auto backup = [&] { return backup_->recognize(OcrRequest{id, invoice->document, invoice->scan_quality}); };
    auto second = co_await backup_client_->call(id, ServiceOp::recognize, backup);
    if (!second.ok()) co_return failed(second.error_class());
    // The sturdier engine could not make a document of it either: a person must read it.
    if (!looks_like_document(second.value())) co_return needs_review(ReviewReason::unreadable_document);
    text = std::move(second);
  }
  if (!text.ok()) co_return failed(text.error_class());
  StepReply reply;
  auto extraction = std::make_shared<Extraction>();
  extraction->text = std::move(text).value();
  extraction->fields = parse_document(extraction->text);
  reply.extraction = std::move(extraction);
  co_return reply;
}

// ---------------------------------------------------------------------------

Task<StepReply> ValidationAgent::handle(const Message& request) {
  // No service to wait for: the reply is ready at once, without a frame.
  StepReply reply;
  reply.problems = validate(request.work->extracted(), request.invoice_id);
  if (reply.problems != 0) reply.status = StepStatus::rejected;
  return Task<StepReply>::ready(std::move(reply));
}

// ---------------------------------------------------------------------------

MatchingAgent::MatchingAgent(const AgentContext& ctx, ServiceClient& client, std::shared_ptr<PoDatabase> po)
    : ctx_(ctx), client_(&client), po_(std::move(po)) {}

Task<std::vector<std::uint64_t>> MatchingAgent::suggest(const Invoice& invoice, const ExtractedInvoice& extracted) {
  auto make = [&] { return po_->candidates(invoice.id, extracted.vendor, extracted.total_cents); };
  auto found = co_await client_->call(invoice.id, ServiceOp::po_candidates, make);
  if (!found.ok()) co_return std::vector<std::uint64_t>{};
  co_return std::move(found).value();
}

Task<StepReply> MatchingAgent::handle(const Message& request) {
  const std::shared_ptr<const WorkItem> work = request.work;
  const ExtractedInvoice& ex = work->extracted();
  const std::uint64_t id = request.invoice_id;
  StepReply reply;
  auto lookup = [&] { return po_->lookup(id, ex.po_reference); };
  auto found = co_await client_->call(id, ServiceOp::po_lookup, lookup);
  if (found.ok()) {
    const auto& order = found.value();
    if (order && order->vendor == ex.vendor) {
      reply.match.po_number = order->number;
      co_return reply;
    }
  } else if (!ctx_.policy->agent(AgentId::matching).degrade) {
    co_return failed(found.error_class());
  }
  // No exact match, or the database failed and the policy degrades: the
  // neutral default (no match) with candidates for a person to confirm.
  reply.status = StepStatus::degraded;
  reply.match.degraded = true;
  reply.match.failed = !found.ok();
  if (!found.ok()) reply.match.error = found.error_class();
  reply.match.suggestions = co_await suggest(*work->invoice, ex);
  co_return reply;
}

// ---------------------------------------------------------------------------

AccountingAgent::AccountingAgent(const AgentContext& ctx, ServiceClients& clients,
                                 std::shared_ptr<BudgetService> budget, std::shared_ptr<Ledger> ledger,
                                 std::shared_ptr<Notifier> notifier)
    : ctx_(ctx),
      budget_client_(clients.budget_service.get()),
      ledger_client_(clients.ledger.get()),
      notifier_client_(clients.notifier.get()),
      budget_(std::move(budget)),
      ledger_(std::move(ledger)),
      notifier_(std::move(notifier)),
      source_(ctx.rt->log().intern("accounting")),
      saga_observer_(observer_for(ctx, "accounting")) {}

Task<Outcome<>> AccountingAgent::release(std::uint64_t id) {
  auto make = [&] { return budget_->release(id); };
  auto r = co_await budget_client_->call(id, ServiceOp::budget_release, make);
  ++ctx_.metrics->compensations;
  if (!r.ok()) ++ctx_.metrics->compensation_failures;
  ctx_.rt->log().record(source_, id, se::Compensation{CompensationStep::budget_release, !r.ok()});
  co_return r;
}

Task<Outcome<>> AccountingAgent::post(std::uint64_t id, std::int64_t amount, std::uint64_t po_number) {
  LedgerPost entry;
  entry.invoice_id = id;
  if (ctx_.policy->agent(AgentId::accounting).idempotency_key) entry.idempotency_key = ledger_key(id);
  entry.po_number = po_number;
  entry.amount_cents = amount;
  auto make = [&] { return ledger_->post(entry); };
  auto r = co_await ledger_client_->call(id, ServiceOp::ledger_post, make);
  if (!r.ok()) co_return std::move(r).failure();
  co_return resilience::ok();
}

template <class Make>
Task<Outcome<>> AccountingAgent::notify(std::uint64_t id, Make& make) {
  auto r = co_await notifier_client_->call(id, ServiceOp::notify, make);
  // A conflict is the notifier saying it delivered this key's notice
  // before (an earlier run of the saga whose progress was not saved): the
  // step is done.
  if (!r.ok() && r.error_class() == ErrorClass::conflict) co_return resilience::ok();
  co_return r;
}

Task<Outcome<>> AccountingAgent::reverse(std::uint64_t id) {
  auto make = [&] { return ledger_->reverse(id); };
  auto r = co_await ledger_client_->call(id, ServiceOp::ledger_reverse, make);
  ++ctx_.metrics->compensations;
  if (!r.ok()) ++ctx_.metrics->compensation_failures;
  ctx_.rt->log().record(source_, id, se::Compensation{CompensationStep::ledger_reverse, !r.ok()});
  co_return r;
}

Task<Outcome<>> AccountingAgent::save_progress(const std::string& key, std::uint64_t id, ProgressRecord& record,
                                               std::size_t completed) {
  // After the last step the checkpoint says "committed" and is kept: a
  // request delivered again (a redelivery after a crash, a duplicate) finds
  // it and redoes nothing. Where that record is missing (the store was
  // down), the budget's, ledger's and notifier's idempotency absorb the redo.
  if (ctx_.checkpoints == nullptr) return Task<Outcome<>>::ready(resilience::ok());
  // The state is the number of steps completed (one digit: there are three).
  std::string state = completed < 10 ? std::string(1, static_cast<char>('0' + completed)) : std::to_string(completed);
  const auto bytes = static_cast<std::int64_t>(state.size());
  Task<Outcome<std::uint64_t>> saving =
      ctx_.checkpoints->save(key, record.version, std::string(kSagaStep), std::move(state));
  // A store that answered at once (in memory) costs no frame here either.
  if (saving.done()) {
    progress_saved(id, record, completed, bytes, saving.result());
    return Task<Outcome<>>::ready(resilience::ok());
  }
  return await_progress(std::move(saving), id, record, completed, bytes);
}

Task<Outcome<>> AccountingAgent::await_progress(Task<Outcome<std::uint64_t>> saving, std::uint64_t id,
                                                ProgressRecord& record, std::size_t completed, std::int64_t bytes) {
  auto saved = co_await std::move(saving);
  progress_saved(id, record, completed, bytes, saved);
  co_return resilience::ok();
}

void AccountingAgent::progress_saved(std::uint64_t id, ProgressRecord& record, std::size_t completed,
                                     std::int64_t bytes, const Outcome<std::uint64_t>& saved) {
  if (saved.ok()) {
    record.version = saved.value();
    ++ctx_.metrics->checkpoint_saves;
    ctx_.rt->log().record(source_, id, se::CheckpointSaved{completed, bytes});
    return;
  }
  // Progress not saved: a crash now would redo completed steps, which the
  // budget's and ledger's idempotency absorb. The step itself succeeded.
  // A save whose reply was lost (timeout: a networked store went away after
  // the statement did) may have landed, and a conflict says the record moved
  // past the version this run knows (such a save of its own had landed):
  // either way the record's version is unknown from here on.
  if (saved.error_class() == ErrorClass::timeout || saved.error_class() == ErrorClass::conflict) {
    record.version_unknown = true;
  }
  ++ctx_.metrics->checkpoint_failures;
  ctx_.rt->log().record(source_, id, se::CheckpointFailed{completed, saved.error_class()});
}

// The saga's three steps, built once per prepared saga rather than once per
// invoice; every action reads the run's inputs from `run`, which handle()
// fills in before each run. The service calls' factories are members too:
// a call keeps a reference to its factory until it ends.
struct AccountingAgent::PreparedSaga {
  struct Run {
    std::uint64_t id = 0;
    std::int64_t amount = 0;
    std::uint64_t po_number = 0;
    ProgressRecord progress;     // the saga's checkpoint
    std::string checkpoint_key;  // "saga/<id>" (with a store)
    std::string notice_key;      // "inv-<id>" (when the policy sends idempotency keys)
  };
  struct Reserve {
    const PreparedSaga* s;
    auto operator()() const { return s->agent->budget_->reserve(s->run.id, s->run.amount); }
  };
  struct Notify {
    const PreparedSaga* s;
    auto operator()() const { return s->agent->notifier_->notify(Notice{s->run.id, s->run.amount, s->run.notice_key}); }
  };

  PreparedSaga(AccountingAgent& a, bool compensate) : agent(&a), saga("accounting", a.saga_observer_) {
    // Each action captures one pointer, so std::function keeps it inline.
    PreparedSaga* const p = this;
    saga.step(
        "reserve", [p] { return p->agent->budget_client_->call(p->run.id, ServiceOp::budget_reserve, p->reserve); },
        compensate ? resilience::SagaAction([p] { return p->agent->release(p->run.id); }) : resilience::SagaAction{});
    saga.step("post", [p] { return p->agent->post(p->run.id, p->run.amount, p->run.po_number); },
              compensate ? resilience::SagaAction([p] { return p->agent->reverse(p->run.id); })
                         : resilience::SagaAction{});
    saga.step("notify", [p] { return p->agent->notify(p->run.id, p->notify); }, resilience::SagaAction{});
    // A compensation meets the same fault as the step it undoes (a ledger
    // slow enough to time the post out is slow for the reversal too):
    // tried again past the fault rather than left for a person.
    if (compensate) saga.retry_compensations(*a.ctx_.rt, kCompensationRetryFirst, kCompensationRetryMax, kCompensationRetryFor);
    saga.after_step([p](std::size_t done) {
      return p->agent->save_progress(p->run.checkpoint_key, p->run.id, p->run.progress, done);
    });
  }
  PreparedSaga(const PreparedSaga&) = delete;
  PreparedSaga& operator=(const PreparedSaga&) = delete;

  AccountingAgent* agent;
  Run run;
  Reserve reserve{this};
  Notify notify{this};
  resilience::Saga saga;
};

AccountingAgent::~AccountingAgent() = default;

std::unique_ptr<AccountingAgent::PreparedSaga> AccountingAgent::borrow_saga() {
  if (idle_sagas_.empty()) {
    return std::make_unique<PreparedSaga>(*this, ctx_.policy->agent(AgentId::accounting).compensation);
  }
  std::unique_ptr<PreparedSaga> prepared = std::move(idle_sagas_.back());
  idle_sagas_.pop_back();
  return prepared;
}

bool AccountingAgent::marker_expired() const noexcept {
  return !committed_.empty() && committed_.front().expires <= ctx_.rt->now();
}

// Held for a handler's whole run; released when the handler ends or is
// destroyed with a stopped agent, so a crash never leaves it held. The
// prepared saga goes back to the idle ones then too (a saga's run never
// outlives its handler: it is awaited in the handler's frame).
struct AccountingAgent::Turn {
  AccountingAgent* agent;
  std::uint64_t id;
  std::shared_ptr<runtime::Signal> done;
  std::unique_ptr<PreparedSaga> prepared;
  Turn(AccountingAgent& a, std::uint64_t invoice)
      : agent(&a), id(invoice), done(std::make_shared<runtime::Signal>(*a.ctx_.rt)), prepared(a.borrow_saga()) {
    *agent->in_flight_.try_emplace(id).first = done;
  }
  Turn(const Turn&) = delete;
  Turn& operator=(const Turn&) = delete;
  ~Turn() {
    agent->in_flight_.erase(id);
    done->set();
    agent->idle_sagas_.push_back(std::move(prepared));
  }
};

Task<bool> AccountingAgent::wait_turn(const Message& request) {
  const std::uint64_t id = request.invoice_id;
  for (auto* busy = in_flight_.find(id); busy != nullptr; busy = in_flight_.find(id)) {
    const std::shared_ptr<runtime::Signal> done = *busy;
    if (!co_await done->wait_until(request.deadline)) break;
  }
  if (request.deadline <= ctx_.rt->now()) {
    // Waiting for an earlier delivery of this invoice took the request past
    // its deadline: nobody waits for this reply, and its marker may be gone.
    record_expired(*ctx_.rt, ctx_.metrics->agent(AgentId::accounting), source_, request);
    co_return false;
  }
  co_return true;
}

Task<StepReply> AccountingAgent::handle(const Message& request) {
  const std::shared_ptr<const WorkItem> work = request.work;
  const std::uint64_t id = request.invoice_id;
  const runtime::Instant deadline = request.deadline;

  if (!co_await wait_turn(request)) co_return failed(ErrorClass::timeout);
  const Turn in_flight(*this, id);
  // A committed saga's marker ("saga/<id>", state 3) answers a second
  // delivery of its request. Once the workflow is past its deadline no
  // delivery is acted on any more (AgentHost drops such requests, and the
  // check above catches one that waited here), so the marker has nothing
  // left to answer and goes: the store keeps about a deadline's worth of
  // markers instead of one for every invoice ever posted. A marker whose
  // invoice a handler holds stays until that handler ends (its load must
  // still find it); a removal that fails leaves the marker where it was.
  while (marker_expired()) {
    const CommittedMarker m = committed_.front();
    if (in_flight_.contains(m.id)) break;
    committed_.pop_front();
    Task<Outcome<>> removing = ctx_.checkpoints->remove(saga_key(m.id), m.version);
    if (!removing.done()) (void)co_await std::move(removing);
  }
  PreparedSaga::Run& run = in_flight.prepared->run;
  run.id = id;
  run.amount = work->extracted().total_cents;
  run.po_number = work->match.po_number;
  run.progress = {};
  run.checkpoint_key.clear();
  run.notice_key.clear();
  if (ctx_.policy->agent(AgentId::accounting).idempotency_key) run.notice_key = ledger_key(id);

  std::size_t completed = 0;
  if (ctx_.checkpoints != nullptr) {
    // "saga/<id>", built once: the load, every save and the remove copy it.
    run.checkpoint_key = saga_key(id);
    std::string key = run.checkpoint_key;
    auto loaded = co_await ctx_.checkpoints->load(std::move(key));
    if (loaded.ok() && loaded.value()) {
      const auto& cp = *loaded.value();
      run.progress.version = cp.version;
      // A state that does not parse (a damaged store) counts as no progress:
      // the steps are idempotent, so redoing them is safe.
      const auto [end, ec] = std::from_chars(cp.state.data(), cp.state.data() + cp.state.size(), completed);
      if (ec != std::errc{} || end != cp.state.data() + cp.state.size()) completed = 0;
      ctx_.rt->log().record(source_, id, se::CheckpointLoaded{completed});
      if (completed >= 3) co_return StepReply{};  // committed before: nothing to redo
    } else if (!loaded.ok()) {
      ++ctx_.metrics->checkpoint_failures;
      ctx_.rt->log().record(source_, id, se::CheckpointFailed{0, loaded.error_class()});
    }
  }

  resilience::Saga& saga = in_flight.prepared->saga;
  const resilience::SagaOutcome out = co_await saga.run(*ctx_.rt, id, std::min<std::size_t>(completed, saga.size()));
  if (ctx_.checkpoints != nullptr && (run.progress.version != 0 || run.progress.version_unknown) && !out.committed &&
      out.not_compensated.empty()) {
    // Fully undone: the next delivery starts afresh, which the ledger's
    // idempotency key makes harmless. A record that cannot be removed would
    // tell the next delivery that steps just undone are done (it would post
    // without a reservation): the invoice goes to a person instead. A record
    // whose version is unknown (a save's reply was lost: it may have landed
    // all the same) is looked up first, and removed at the version it holds.
    if (run.progress.version_unknown) {
      std::string key = run.checkpoint_key;
      auto loaded = co_await ctx_.checkpoints->load(std::move(key));
      if (!loaded.ok()) co_return needs_review(ReviewReason::compensation_failed);
      run.progress.version = loaded.value() ? loaded.value()->version : 0;
    }
    if (run.progress.version != 0) {
      std::string key = run.checkpoint_key;
      const auto removed = co_await ctx_.checkpoints->remove(std::move(key), run.progress.version);
      if (!removed.ok()) co_return needs_review(ReviewReason::compensation_failed);
    }
  }
  if (out.committed) {
    // Without a workflow deadline the marker is kept for good. One whose
    // version is unknown is left where it is (it says "committed", which
    // is true): a removal at a guessed version would only conflict.
    if (ctx_.checkpoints != nullptr && run.progress.version != 0 && !run.progress.version_unknown &&
        deadline != runtime::Instant::max()) {
      committed_.push_back(CommittedMarker{deadline, id, run.progress.version});
    }
    co_return StepReply{};
  }
  if (!out.not_compensated.empty()) co_return needs_review(ReviewReason::compensation_failed);
  co_return failed(out.failure ? out.failure->error_class : ErrorClass::transient);
}

Task<StepReply> AccountingAgent::undo(const Message& request) {
  const std::uint64_t id = request.invoice_id;
  if (!co_await wait_turn(request)) co_return failed(ErrorClass::timeout);
  const Turn turn(*this, id);
  PreparedSaga::Run& run = turn.prepared->run;
  run.id = id;
  resilience::Saga& saga = turn.prepared->saga;
  // Every step, done or not: each compensation is safe on what never happened.
  const resilience::SagaOutcome out = co_await saga.compensate(*ctx_.rt, id, saga.size());
  if (!out.not_compensated.empty()) co_return needs_review(ReviewReason::compensation_failed);
  if (ctx_.checkpoints != nullptr) {
    // The progress record goes too: left behind, it would tell a later run
    // of this step (the orchestrator restarted and tried it again) that
    // the undone steps are done.
    std::string key = saga_key(id);
    auto loaded = co_await ctx_.checkpoints->load(std::move(key));
    if (!loaded.ok()) co_return needs_review(ReviewReason::compensation_failed);
    if (loaded.value()) {
      const std::uint64_t version = loaded.value()->version;
      std::string cp_key = saga_key(id);
      const auto removed = co_await ctx_.checkpoints->remove(std::move(cp_key), version);
      if (!removed.ok()) co_return needs_review(ReviewReason::compensation_failed);
    }
  }
  co_return StepReply{};
}

// ---------------------------------------------------------------------------

Task<StepReply> ArchiveAgent::handle(const Message&) {
  ++archived_;
  return Task<StepReply>::ready(StepReply{});
}

// ---------------------------------------------------------------------------

AgentHost::AgentHost(runtime::Runtime& rt, MessageBus& bus, Topic topic, std::shared_ptr<Agent> agent,
                     std::uint32_t workers, AgentMetrics& metrics)
    : rt_(&rt), bus_(&bus), topic_(topic), agent_(std::move(agent)), workers_(workers), metrics_(&metrics) {}

std::size_t AgentHost::start() {
  if (running_) return 0;
  running_ = true;
  const std::size_t reclaimed = bus_->reclaim(topic_);
  tasks_.clear();
  for (std::uint32_t i = 0; i < workers_; ++i) tasks_.push_back(rt_->spawn(worker()));
  return reclaimed;
}

std::size_t AgentHost::stop() {
  if (!running_) return 0;
  running_ = false;
  for (const auto id : tasks_) rt_->cancel(id);
  tasks_.clear();
  return std::exchange(in_flight_, 0);
}

Task<void> AgentHost::worker() {
  for (;;) {
    std::optional<Message> request = co_await bus_->receive(topic_);
    if (!request) co_return;
    if (request->deadline <= rt_->now()) {
      // The orchestrator waits for no reply to it any more (it retried the
      // step, or gave the invoice up). Acting now could only add a side
      // effect (a ledger entry) to an invoice it dead-letters, or call a
      // service for a step already checkpointed complete.
      // (The name is interned here, on this rare path, so that a run
      // without expired requests numbers its sources as before.)
      record_expired(*rt_, *metrics_, rt_->log().intern(to_string(agent_->id())), *request);
      bus_->ack(topic_, request->delivery_id);
      continue;
    }
    // A delivery for an invoice being handled waits for that handler; then
    // (or at once) a request already answered is a duplicate.
    bool duplicate = false;
    bool waited = false;
    for (;;) {
      Handled* h = handled_.find(request->invoice_id);
      if (h == nullptr) break;
      if (h->answered(request->request_id)) {
        duplicate = true;
        break;
      }
      if (h->busy == 0) break;
      if (!h->idle) h->idle = std::make_shared<runtime::Signal>(*rt_);
      const std::shared_ptr<runtime::Signal> idle = h->idle;
      waited = true;
      // No longer than the request's deadline: past it, it is dropped.
      if (!co_await idle->wait_until(request->deadline)) break;
    }
    if (!duplicate && waited && request->deadline <= rt_->now()) {
      record_expired(*rt_, *metrics_, rt_->log().intern(to_string(agent_->id())), *request);
      bus_->ack(topic_, request->delivery_id);
      continue;
    }
    if (duplicate) {
      ++metrics_->duplicates;
      rt_->log().record(rt_->log().intern(to_string(agent_->id())), request->invoice_id,
                        se::RequestDuplicate{request->step, request->request_id});
      bus_->ack(topic_, request->delivery_id);
      continue;
    }
    ++handled_.try_emplace(request->invoice_id).first->busy;
    const Hold hold{this, request->invoice_id};
    ++in_flight_;
    const std::size_t depth = bus_->depth(topic_);
    if (depth > metrics_->queue_depth_max) metrics_->queue_depth_max = depth;
    Task<StepReply> handling = request->undo ? agent_->undo(*request) : agent_->handle(*request);
    StepReply reply = co_await std::move(handling);
    ++metrics_->handled;
    Message out;
    out.topic = Topic::replies;
    out.invoice_id = request->invoice_id;
    out.request_id = request->request_id;
    out.step = request->step;
    out.attempt = request->attempt;
    out.reply = std::make_shared<const StepReply>(std::move(reply));
    // A refused reply is lost like a crashed worker's: the orchestrator's
    // wait for it times out and its retry policy decides.
    (void)bus_->publish(std::move(out));
    bus_->ack(topic_, request->delivery_id);
    --in_flight_;
    answered(*request);
  }
}

AgentHost::Hold::~Hold() {
  Handled* h = host->handled_.find(invoice_id);
  FAULTLINE_ASSERT(h != nullptr && h->busy > 0);
  if (--h->busy != 0) return;
  if (h->idle) {
    h->idle->set();
    h->idle.reset();
  }
  // Nothing answered (a crash destroyed the handler) is nothing to remember.
  if (h->request_ids[0] == 0 || h->forget_at <= host->rt_->now()) host->handled_.erase(invoice_id);
}

void AgentHost::answered(const Message& request) {
  Handled* h = handled_.find(request.invoice_id);
  FAULTLINE_ASSERT(h != nullptr);
  std::copy_backward(h->request_ids.begin(), h->request_ids.end() - 1, h->request_ids.end());
  h->request_ids[0] = request.request_id;
  if (request.deadline > h->forget_at) {
    h->forget_at = request.deadline;
    forget_order_.emplace_back(request.deadline, request.invoice_id);
  }
  forget_old();
}

void AgentHost::forget_old() {
  const runtime::Instant now = rt_->now();
  while (!forget_order_.empty()) {
    const auto [at, invoice_id] = forget_order_.front();
    const bool over = handled_.size() > kHandledMax;
    if (at > now && !over) return;
    forget_order_.pop_front();
    Handled* h = handled_.find(invoice_id);
    // A busy entry is its handler's to forget (Hold); one kept for a later
    // deadline has a later place in the order.
    if (h == nullptr || h->busy != 0) continue;
    if (h->forget_at > now) {
      if (!over) continue;
      ++metrics_->handled_forgotten;
    }
    handled_.erase(invoice_id);
  }
}

}  // namespace faultline::reference_system
