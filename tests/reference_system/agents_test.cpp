// Each agent alone, on simulated services, under the policy switches that
// change its behaviour.
#include <gtest/gtest.h>

#include <optional>

#include "reference_system/agents.h"
#include "reference_system/bus.h"
#include "runtime/sim_runtime.h"
#include "tests/support/lost_reply_checkpoint_store.h"
#include "tests/support/run_task.h"
#include "world/service_models.h"

namespace faultline::reference_system {
namespace {

using namespace world;  // the simulated world the system runs against

using namespace std::chrono_literals;

using test_support::run_task;

struct Fixture {
  runtime::SimRuntime rt{5};
  Policy policy = naive_policy();
  SystemMetrics metrics;
  resilience::InMemoryCheckpointStore store;
  PoCatalogue catalogue;
  AgentContext ctx() { return AgentContext{&rt, &policy, &metrics, &store, true}; }

  Message request(std::uint64_t id = 1, std::int64_t total = 10'000, std::string po = "PO-000001") {
    Invoice inv;
    inv.id = id;
    inv.vendor = "V1";
    inv.po_reference = std::move(po);
    inv.currency = "EUR";
    inv.lines = {{"Freight", 1, total}};
    inv.total_cents = total;
    inv.scan_quality = 0.9;
    inv.document = render_document(inv);
    auto work = std::make_shared<WorkItem>();
    auto extraction = std::make_shared<Extraction>();
    extraction->text = inv.document;
    extraction->fields = parse_document(inv.document);
    work->extraction = std::move(extraction);
    work->invoice = std::make_shared<const Invoice>(std::move(inv));
    Message m;
    m.invoice_id = id;
    m.work = std::move(work);
    return m;
  }
};

TEST(OcrAgent, InvalidOutputIsNotRetriedAndFallsBackToTheBackupEngine) {
  Fixture f;
  f.policy.service(ServiceId::ocr_engine).retry.max_attempts = 5;
  f.policy.agent(AgentId::ocr).fallback = true;
  OcrEngineModel refusing;
  refusing.invalid_output_probability = 1.0;
  auto primary = std::make_shared<SimOcrEngine>(f.rt, "ocr_engine", refusing);
  auto backup = std::make_shared<SimOcrEngine>(f.rt, "backup_ocr", OcrEngineModel{});
  auto clients = make_service_clients(f.ctx());
  OcrAgent agent(f.ctx(), *clients.ocr_engine, *clients.backup_ocr, primary, backup);
  const StepReply reply = run_task(f.rt, agent.handle(f.request()));
  EXPECT_EQ(reply.status, StepStatus::ok);
  ASSERT_TRUE(reply.extraction);
  EXPECT_EQ(reply.extraction->fields.total_cents, 10'000);
  EXPECT_EQ(f.metrics.service(ServiceId::ocr_engine).attempts, 1u);  // permanent: never retried
  EXPECT_EQ(f.metrics.service(ServiceId::backup_ocr).attempts, 1u);
  EXPECT_EQ(f.metrics.ocr_fallbacks, 1u);

  f.policy.agent(AgentId::ocr).fallback = false;
  const StepReply alone = run_task(f.rt, agent.handle(f.request()));
  EXPECT_EQ(alone.status, StepStatus::failed);
  EXPECT_EQ(alone.error, ErrorClass::permanent);
}

TEST(OcrAgent, HangingEngineIsTimedOutRetriedThenReplacedByTheBackup) {
  Fixture f;
  f.policy.service(ServiceId::ocr_engine).timeout = 10s;
  f.policy.service(ServiceId::ocr_engine).retry.max_attempts = 5;
  f.policy.service(ServiceId::ocr_engine).retry.base_delay = 1s;
  f.policy.service(ServiceId::ocr_engine).retry.max_delay = 8s;
  f.policy.agent(AgentId::ocr).fallback = true;
  OcrEngineModel hanging;
  hanging.no_answer_below_quality = 1.0;
  hanging.no_answer_probability_at_zero = 1.0;
  auto primary = std::make_shared<SimOcrEngine>(f.rt, "ocr_engine", hanging);
  auto backup = std::make_shared<SimOcrEngine>(f.rt, "backup_ocr", OcrEngineModel{});
  auto clients = make_service_clients(f.ctx());
  OcrAgent agent(f.ctx(), *clients.ocr_engine, *clients.backup_ocr, primary, backup);
  Message m = f.request();
  auto work = std::make_shared<WorkItem>(*m.work);
  auto scan = std::make_shared<Invoice>(*work->invoice);
  scan->scan_quality = 0.0;  // below the threshold with probability 1: never answers
  work->invoice = std::move(scan);
  m.work = std::move(work);
  const auto start = f.rt.now();
  const StepReply reply = run_task(f.rt, agent.handle(m));
  EXPECT_EQ(reply.status, StepStatus::ok);
  const auto& ocr = f.metrics.service(ServiceId::ocr_engine);
  EXPECT_EQ(ocr.attempts, 5u);
  EXPECT_EQ(ocr.errors_by_class[static_cast<std::size_t>(ErrorClass::timeout)], 5u);
  // 5 timeouts of 10 s and backoff 1 + 2 + 4 + 8 s before the backup answered.
  EXPECT_GE(f.rt.now() - start, 65s);
}

TEST(ValidationAgent, RejectsInvalidDocumentsAsBusinessErrors) {
  Fixture f;
  ValidationAgent agent(f.ctx());
  EXPECT_EQ(run_task(f.rt, agent.handle(f.request())).status, StepStatus::ok);
  Message bad = f.request();
  auto work = std::make_shared<WorkItem>(*bad.work);
  auto extraction = std::make_shared<Extraction>(*work->extraction);
  extraction->fields.total_cents += 1;
  work->extraction = std::move(extraction);
  bad.work = std::move(work);
  const StepReply reply = run_task(f.rt, agent.handle(bad));
  EXPECT_EQ(reply.status, StepStatus::rejected);
  EXPECT_EQ(reply.problems, static_cast<std::uint32_t>(kTotalMismatch));
}

class DownPoDatabase final : public PoDatabase {
 public:
  Task<Outcome<std::optional<PurchaseOrder>>> lookup(std::uint64_t, std::string) override {
    co_return Failure{ErrorClass::transient, "down"};
  }
  Task<Outcome<std::vector<std::uint64_t>>> candidates(std::uint64_t, std::string, std::int64_t) override {
    co_return std::vector<std::uint64_t>{42};
  }
};

TEST(MatchingAgent, ExactMatchNoMatchAndDegradedFailure) {
  Fixture f;
  f.catalogue.add({1, "V1", 10'000});
  f.catalogue.add({2, "V1", 10'100});
  auto clients = make_service_clients(f.ctx());
  MatchingAgent agent(f.ctx(), *clients.po_database,
                      std::make_shared<SimPoDatabase>(f.rt, PoDatabaseModel{}, f.catalogue));
  const StepReply exact = run_task(f.rt, agent.handle(f.request(1, 10'000, "PO-000001")));
  EXPECT_EQ(exact.status, StepStatus::ok);
  EXPECT_EQ(exact.match.po_number, 1u);

  const StepReply none = run_task(f.rt, agent.handle(f.request(1, 10'000, "PO 000001")));
  EXPECT_EQ(none.status, StepStatus::degraded);
  EXPECT_EQ(none.match.po_number, 0u);  // never an invented match
  EXPECT_FALSE(none.match.failed);
  EXPECT_EQ(none.match.suggestions, (std::vector<std::uint64_t>{1, 2}));

  MatchingAgent broken(f.ctx(), *clients.po_database, std::make_shared<DownPoDatabase>());
  const StepReply strict = run_task(f.rt, broken.handle(f.request()));
  EXPECT_EQ(strict.status, StepStatus::failed);
  f.policy.agent(AgentId::matching).criticality = resilience::Criticality::non_critical;
  f.policy.agent(AgentId::matching).degrade = true;
  const StepReply degraded = run_task(f.rt, broken.handle(f.request()));
  EXPECT_EQ(degraded.status, StepStatus::degraded);
  EXPECT_TRUE(degraded.match.failed);
  EXPECT_EQ(degraded.match.suggestions, (std::vector<std::uint64_t>{42}));
}

class ToggleNotifier final : public Notifier {
 public:
  bool up = true;
  int calls = 0;
  Task<Outcome<>> notify(Notice) override {
    ++calls;
    if (up) co_return resilience::ok();
    co_return Failure{ErrorClass::transient, "down"};
  }
};

class ReverseFailsLedger final : public Ledger {
 public:
  explicit ReverseFailsLedger(std::shared_ptr<SimLedger> inner) : inner_(std::move(inner)) {}
  Task<Outcome<LedgerReceipt>> post(LedgerPost e) override { return inner_->post(std::move(e)); }
  Task<Outcome<>> reverse(std::uint64_t) override { co_return Failure{ErrorClass::transient, "down"}; }

 private:
  std::shared_ptr<SimLedger> inner_;
};

// Books the first post and then never answers it (its reply is lost: the
// client's timeout ends the wait); every later post fails at once.
class LostReplyThenDownLedger final : public Ledger {
 public:
  LostReplyThenDownLedger(runtime::SimRuntime& rt, std::shared_ptr<SimLedger> inner)
      : rt_(&rt), inner_(std::move(inner)) {}
  Task<Outcome<LedgerReceipt>> post(LedgerPost e) override {
    if (posts_++ == 0) {
      (void)co_await inner_->post(std::move(e));
      co_await rt_->sleep(std::chrono::hours(1));
      co_return Failure{ErrorClass::transient, "never seen"};
    }
    co_return Failure{ErrorClass::transient, "down"};
  }
  Task<Outcome<>> reverse(std::uint64_t id) override { return inner_->reverse(id); }

 private:
  runtime::SimRuntime* rt_;
  std::shared_ptr<SimLedger> inner_;
  int posts_ = 0;
};

struct AccountingRig {
  Fixture f;
  std::shared_ptr<SimBudgetService> budget = std::make_shared<SimBudgetService>(f.rt, ServiceModel{});
  std::shared_ptr<SimLedger> ledger = std::make_shared<SimLedger>(f.rt, ServiceModel{});
  std::shared_ptr<ToggleNotifier> notifier = std::make_shared<ToggleNotifier>();
  ServiceClients clients;
  std::unique_ptr<AccountingAgent> agent;
  void build(std::shared_ptr<Ledger> ledger_port = nullptr) {
    clients = make_service_clients(f.ctx());
    agent = std::make_unique<AccountingAgent>(f.ctx(), clients, budget, ledger_port ? ledger_port : ledger, notifier);
  }
};

TEST(AccountingAgent, SagaPostsOnceAndIsIdempotentByInvoice) {
  AccountingRig r;
  r.f.policy.agent(AgentId::accounting).idempotency_key = true;
  r.build();
  EXPECT_EQ(run_task(r.f.rt, r.agent->handle(r.f.request(9))).status, StepStatus::ok);
  EXPECT_EQ(run_task(r.f.rt, r.agent->handle(r.f.request(9))).status, StepStatus::ok);  // a duplicate delivery
  EXPECT_EQ(r.ledger->entries().size(), 1u);
  // The duplicate finds the saga's committed checkpoint and redoes nothing:
  // it never reaches the ledger, and accounts payable hears of it once.
  EXPECT_EQ(r.ledger->duplicates_refused(), 0u);
  EXPECT_EQ(r.notifier->calls, 1);
  EXPECT_EQ(r.budget->reserved_cents(), 10'000);
}

TEST(AccountingAgent, FailedNotifyIsCompensatedInReverse) {
  AccountingRig r;
  r.f.policy.agent(AgentId::accounting).compensation = true;
  r.f.policy.agent(AgentId::accounting).idempotency_key = true;
  r.build();
  r.notifier->up = false;
  const StepReply reply = run_task(r.f.rt, r.agent->handle(r.f.request(9)));
  EXPECT_EQ(reply.status, StepStatus::failed);
  EXPECT_EQ(r.ledger->live_entries(9), 0u);
  EXPECT_EQ(r.ledger->entries().size(), 1u);
  EXPECT_TRUE(r.ledger->entries()[0].reversed);
  EXPECT_FALSE(r.budget->has_reservation(9));
  // A retried saga posts afresh under the same key.
  r.notifier->up = true;
  EXPECT_EQ(run_task(r.f.rt, r.agent->handle(r.f.request(9))).status, StepStatus::ok);
  EXPECT_EQ(r.ledger->live_entries(9), 1u);
}

// A post whose first try timed out (booked, its reply lost) and whose last
// try failed otherwise: its effects are unknown, so the saga reverses it
// with the reservation, as it does a post whose last try timed out.
TEST(AccountingAgent, APostWhoseEarlierTryTimedOutIsReversedWhateverItsLastFailure) {
  AccountingRig r;
  r.f.policy.agent(AgentId::accounting).compensation = true;
  r.f.policy.agent(AgentId::accounting).idempotency_key = true;
  r.f.policy.service(ServiceId::ledger).timeout = std::chrono::seconds(5);
  r.f.policy.service(ServiceId::ledger).retry.max_attempts = 2;
  r.build(std::make_shared<LostReplyThenDownLedger>(r.f.rt, r.ledger));
  const StepReply reply = run_task(r.f.rt, r.agent->handle(r.f.request(9)));
  EXPECT_EQ(reply.status, StepStatus::failed);
  ASSERT_EQ(r.ledger->entries().size(), 1u) << "the first try booked the entry";
  EXPECT_EQ(r.ledger->live_entries(9), 0u) << "booked by a try whose reply was lost: reversed";
  EXPECT_FALSE(r.budget->has_reservation(9));
}

TEST(AccountingAgent, WithoutCompensationAFailedSagaLeavesItsEffects) {
  AccountingRig r;
  r.build();
  r.notifier->up = false;
  EXPECT_EQ(run_task(r.f.rt, r.agent->handle(r.f.request(9))).status, StepStatus::failed);
  EXPECT_EQ(r.ledger->live_entries(9), 1u);
  EXPECT_TRUE(r.budget->has_reservation(9));
}

TEST(AccountingAgent, FailedCompensationNeedsAHuman) {
  AccountingRig r;
  r.f.policy.agent(AgentId::accounting).compensation = true;
  r.build(std::make_shared<ReverseFailsLedger>(r.ledger));
  r.notifier->up = false;
  const StepReply reply = run_task(r.f.rt, r.agent->handle(r.f.request(9)));
  EXPECT_EQ(reply.status, StepStatus::needs_review);
  EXPECT_EQ(reply.review_reason, static_cast<std::uint8_t>(ReviewReason::compensation_failed));
}

// The reserve's progress save lands but its reply is lost (PostgreSQL killed
// after the commit): the saga goes on without knowing the record's version.
// When a later step fails and the saga is undone, the record goes too, looked
// up at the version it holds: left behind, it would tell the next delivery
// that the reserve (just released) is done, and that one would post without
// a reservation.
TEST(AccountingAgent, AnUndoneSagaRemovesAProgressRecordWhoseSaveLostItsReply) {
  AccountingRig r;
  r.f.policy.agent(AgentId::accounting).compensation = true;
  r.f.policy.agent(AgentId::accounting).idempotency_key = true;
  test_support::LostReplyCheckpointStore lossy(r.f.store, "saga/", 1);
  AgentContext ctx = r.f.ctx();
  ctx.checkpoints = &lossy;
  r.clients = make_service_clients(ctx);
  AccountingAgent agent(ctx, r.clients, r.budget, r.ledger, r.notifier);
  r.notifier->up = false;
  EXPECT_EQ(run_task(r.f.rt, agent.handle(r.f.request(9))).status, StepStatus::failed);
  EXPECT_EQ(lossy.replies_lost(), 1);
  EXPECT_FALSE(r.budget->has_reservation(9));
  EXPECT_EQ(r.ledger->live_entries(9), 0u);
  EXPECT_EQ(r.f.store.size(), 0u) << "the undone saga's progress record is gone";

  r.notifier->up = true;
  EXPECT_EQ(run_task(r.f.rt, agent.handle(r.f.request(9))).status, StepStatus::ok);
  EXPECT_EQ(r.ledger->live_entries(9), 1u);
  EXPECT_TRUE(r.budget->has_reservation(9)) << "posted with its reservation";
}

TEST(AccountingAgent, UndoTakesBackACommittedSagaAndItsProgressRecord) {
  AccountingRig r;
  r.f.policy.agent(AgentId::accounting).compensation = true;
  r.f.policy.agent(AgentId::accounting).idempotency_key = true;
  r.build();
  EXPECT_EQ(run_task(r.f.rt, r.agent->handle(r.f.request(9))).status, StepStatus::ok);
  ASSERT_EQ(r.ledger->live_entries(9), 1u);
  ASSERT_EQ(r.f.store.size(), 1u);  // "saga/9", committed

  Message undo = r.f.request(9);
  undo.undo = true;
  EXPECT_EQ(run_task(r.f.rt, r.agent->undo(undo)).status, StepStatus::ok);
  EXPECT_EQ(r.ledger->live_entries(9), 0u);
  EXPECT_FALSE(r.budget->has_reservation(9));
  EXPECT_EQ(r.f.store.size(), 0u);  // a later run of the step starts afresh
  EXPECT_EQ(r.notifier->calls, 1);  // a notice is not taken back

  // Asked again (its answer was lost): nothing left to undo, still ok.
  EXPECT_EQ(run_task(r.f.rt, r.agent->undo(undo)).status, StepStatus::ok);
  EXPECT_EQ(r.ledger->entries().size(), 1u);
  // And a later run of the step posts afresh under the same key.
  EXPECT_EQ(run_task(r.f.rt, r.agent->handle(r.f.request(9))).status, StepStatus::ok);
  EXPECT_EQ(r.ledger->live_entries(9), 1u);
}

TEST(AccountingAgent, UndoOfAStepThatNeverRanChangesNothing) {
  AccountingRig r;
  r.f.policy.agent(AgentId::accounting).compensation = true;
  r.build();
  Message undo = r.f.request(9);
  undo.undo = true;
  EXPECT_EQ(run_task(r.f.rt, r.agent->undo(undo)).status, StepStatus::ok);
  EXPECT_TRUE(r.ledger->entries().empty());
  EXPECT_FALSE(r.budget->has_reservation(9));
}

TEST(AccountingAgent, AnUndoThatCannotReverseTheEntryNeedsAHuman) {
  AccountingRig r;
  r.f.policy.agent(AgentId::accounting).compensation = true;
  r.build(std::make_shared<ReverseFailsLedger>(r.ledger));
  EXPECT_EQ(run_task(r.f.rt, r.agent->handle(r.f.request(9))).status, StepStatus::ok);
  Message undo = r.f.request(9);
  undo.undo = true;
  const StepReply reply = run_task(r.f.rt, r.agent->undo(undo));
  EXPECT_EQ(reply.status, StepStatus::needs_review);
  EXPECT_EQ(reply.review_reason, static_cast<std::uint8_t>(ReviewReason::compensation_failed));
}

TEST(Agent, AStepWithoutEffectsHasNothingToUndo) {
  AccountingRig r;  // for its fixture: runtime and context
  ArchiveAgent archive(r.f.ctx());
  Message undo = r.f.request(9);
  undo.undo = true;
  EXPECT_EQ(run_task(r.f.rt, archive.undo(undo)).status, StepStatus::ok);
  EXPECT_EQ(archive.archived(), 0u);
}

std::size_t count(const runtime::SimRuntime& rt, SystemEvent kind) {
  std::size_t n = 0;
  for (const auto& e : rt.log().events()) n += e.kind == static_cast<std::uint16_t>(kind) ? 1 : 0;
  return n;
}

TEST(AccountingAgent, CommittedMarkerAnswersDuplicatesUntilItsWorkflowDeadlineThenGoes) {
  AccountingRig r;
  r.f.policy.agent(AgentId::accounting).idempotency_key = true;
  r.build();
  auto with_deadline = [&](std::uint64_t id, runtime::Duration left) {
    Message m = r.f.request(id);
    m.deadline = r.f.rt.now() + left;
    return m;
  };
  const Message first = with_deadline(9, 30min);
  EXPECT_EQ(run_task(r.f.rt, r.agent->handle(first)).status, StepStatus::ok);
  EXPECT_EQ(run_task(r.f.rt, r.agent->handle(first)).status, StepStatus::ok);  // a duplicate, in time
  EXPECT_EQ(r.notifier->calls, 1);
  ASSERT_EQ(r.f.store.size(), 1u);  // "saga/9", committed

  // Past invoice 9's deadline, the next saga clears its marker: the store
  // does not grow with every invoice ever posted.
  r.f.rt.run_for(31min);
  EXPECT_EQ(run_task(r.f.rt, r.agent->handle(with_deadline(10, 30min))).status, StepStatus::ok);
  EXPECT_EQ(r.f.store.size(), 1u);  // "saga/10" only
  EXPECT_FALSE(run_task(r.f.rt, r.f.store.load("saga/9")).value().has_value());
  EXPECT_TRUE(run_task(r.f.rt, r.f.store.load("saga/10")).value().has_value());

  // A late copy of 9's request is not acted on: no second notification,
  // no second ledger entry.
  const StepReply late = run_task(r.f.rt, r.agent->handle(first));
  EXPECT_EQ(late.status, StepStatus::failed);
  EXPECT_EQ(r.notifier->calls, 2);  // 9 and 10
  EXPECT_EQ(r.ledger->entries().size(), 2u);
  EXPECT_EQ(r.f.metrics.agent(AgentId::accounting).expired, 1u);
  EXPECT_EQ(count(r.f.rt, SystemEvent::request_expired), 1u);
}

TEST(AccountingAgent, WithoutAWorkflowDeadlineTheMarkerStays) {
  AccountingRig r;
  r.build();
  EXPECT_EQ(run_task(r.f.rt, r.agent->handle(r.f.request(9))).status, StepStatus::ok);
  r.f.rt.run_for(24h);
  EXPECT_EQ(run_task(r.f.rt, r.agent->handle(r.f.request(10))).status, StepStatus::ok);
  EXPECT_EQ(r.f.store.size(), 2u);
  EXPECT_EQ(run_task(r.f.rt, r.agent->handle(r.f.request(9))).status, StepStatus::ok);  // a duplicate a day late
  EXPECT_EQ(r.notifier->calls, 2);
}

TEST(AccountingAgent, SagaRedoneWithoutItsProgressRecordNotifiesOnce) {
  // The store held no progress (it was down while the saga ran), so a
  // second delivery runs the saga again: the budget's, the ledger's and
  // the notifier's idempotency keys must absorb every step of it.
  Fixture f;
  f.policy.agent(AgentId::accounting).idempotency_key = true;
  AgentContext ctx = f.ctx();
  ctx.checkpoints = nullptr;
  auto budget = std::make_shared<SimBudgetService>(f.rt, ServiceModel{});
  auto ledger = std::make_shared<SimLedger>(f.rt, ServiceModel{});
  auto notifier = std::make_shared<SimNotifier>(f.rt, ServiceModel{});
  ServiceClients clients = make_service_clients(ctx);
  AccountingAgent agent(ctx, clients, budget, ledger, notifier);
  EXPECT_EQ(run_task(f.rt, agent.handle(f.request(271))).status, StepStatus::ok);
  EXPECT_EQ(run_task(f.rt, agent.handle(f.request(271))).status, StepStatus::ok);
  EXPECT_EQ(ledger->live_entries(271), 1u);
  EXPECT_EQ(notifier->delivered(), 1u);
  EXPECT_EQ(notifier->duplicates_refused(), 1u);
  EXPECT_EQ(count(f.rt, SystemEvent::notified), 1u);

  // Without keys (the naive policy) the redo notifies a second time.
  f.policy.agent(AgentId::accounting).idempotency_key = false;
  EXPECT_EQ(run_task(f.rt, agent.handle(f.request(272))).status, StepStatus::ok);
  EXPECT_EQ(run_task(f.rt, agent.handle(f.request(272))).status, StepStatus::ok);
  EXPECT_EQ(notifier->delivered(), 3u);
}

// A matching host on a PO database with latency, so handlers overlap.
struct MatchingHostRig {
  Fixture f;
  InProcessBus bus{f.rt, {8, 8, 8, 8, 8, 8}};
  std::unique_ptr<AgentHost> host;
  ServiceClients clients;
  explicit MatchingHostRig(std::uint32_t workers) {
    clients = make_service_clients(f.ctx());
    auto po = std::make_shared<SimPoDatabase>(f.rt, PoDatabaseModel{}, f.catalogue);
    host = std::make_unique<AgentHost>(f.rt, bus, Topic::matching,
                                       std::make_shared<MatchingAgent>(f.ctx(), *clients.po_database, po), workers,
                                       f.metrics.agent(AgentId::matching));
  }
  Message request(std::uint64_t id, std::uint64_t request_id) {
    Message m = f.request(id);
    m.topic = Topic::matching;
    m.step = 2;
    m.request_id = request_id;
    return m;
  }
  std::uint64_t po_calls() const { return f.metrics.service(ServiceId::po_database).calls; }
};

TEST(AgentHost, ActsOnceOnARequestDeliveredTwiceAtOnce) {
  MatchingHostRig r(2);
  r.host->start();
  // Two copies of one request, taken by two workers at the same instant:
  // the second waits for the first, then finds it answered.
  ASSERT_TRUE(r.bus.publish(r.request(5, 41)));
  ASSERT_TRUE(r.bus.publish(r.request(5, 41)));
  r.f.rt.run_for(10s);
  const AgentMetrics& m = r.f.metrics.agent(AgentId::matching);
  EXPECT_EQ(m.handled, 1u);
  EXPECT_EQ(m.duplicates, 1u);
  EXPECT_EQ(r.po_calls(), 2u);  // one lookup (no such order) and one candidate search
  EXPECT_EQ(r.bus.depth(Topic::replies), 1u);
  EXPECT_EQ(r.bus.pending(Topic::matching), 0u);
  EXPECT_EQ(count(r.f.rt, SystemEvent::request_duplicate), 1u);
  r.host->stop();
}

TEST(AgentHost, ACopyArrivingAfterTheAnswerIsDroppedButANewAttemptRuns) {
  MatchingHostRig r(1);
  r.host->start();
  ASSERT_TRUE(r.bus.publish(r.request(5, 41)));
  r.f.rt.run_for(10s);
  // The orchestrator has the reply and has checkpointed the step; a late
  // copy of the request must not reach the PO database again.
  ASSERT_TRUE(r.bus.publish(r.request(5, 41)));
  r.f.rt.run_for(10s);
  EXPECT_EQ(r.f.metrics.agent(AgentId::matching).handled, 1u);
  EXPECT_EQ(r.po_calls(), 2u);
  // A crash and restart does not make the host forget what it answered.
  r.host->stop();
  r.host->start();
  ASSERT_TRUE(r.bus.publish(r.request(5, 41)));
  r.f.rt.run_for(10s);
  EXPECT_EQ(r.f.metrics.agent(AgentId::matching).duplicates, 2u);
  // A new attempt at the step (another request id) is work to do.
  ASSERT_TRUE(r.bus.publish(r.request(5, 42)));
  r.f.rt.run_for(10s);
  EXPECT_EQ(r.f.metrics.agent(AgentId::matching).handled, 2u);
  EXPECT_EQ(r.po_calls(), 4u);
  r.host->stop();
}

TEST(AgentHost, ForgetsAnsweredRequestsAtTheirDeadline) {
  MatchingHostRig r(1);
  r.host->start();
  Message first = r.request(5, 41);
  first.deadline = r.f.rt.now() + 30min;
  ASSERT_TRUE(r.bus.publish(Message(first)));
  r.f.rt.run_for(10s);
  r.f.rt.run_for(31min);
  // The next answer clears entries past their deadline; 5's copy is then
  // expired, not a duplicate: it is dropped either way.
  Message other = r.request(6, 43);
  other.deadline = r.f.rt.now() + 30min;
  ASSERT_TRUE(r.bus.publish(std::move(other)));
  r.f.rt.run_for(10s);
  ASSERT_TRUE(r.bus.publish(std::move(first)));
  r.f.rt.run_for(10s);
  const AgentMetrics& m = r.f.metrics.agent(AgentId::matching);
  EXPECT_EQ(m.handled, 2u);
  EXPECT_EQ(m.expired, 1u);
  EXPECT_EQ(m.duplicates, 0u);
  EXPECT_EQ(m.handled_forgotten, 0u);
  EXPECT_EQ(r.host->remembered_invoices(), 1u);  // 6 only
  r.host->stop();
}

TEST(AgentHost, WithoutDeadlinesTheRecordIsBoundedAndWhatItForgetsIsCounted) {
  Fixture f;
  constexpr std::size_t kBig = AgentHost::kHandledMax + 100;
  InProcessBus bus(f.rt, {8, kBig, 8, 8, 8, kBig});
  AgentHost host(f.rt, bus, Topic::validation, std::make_shared<ValidationAgent>(f.ctx()), 1,
                 f.metrics.agent(AgentId::validation));
  const Message model = f.request(1);
  for (std::uint64_t id = 1; id <= kBig; ++id) {
    Message m = model;
    m.topic = Topic::validation;
    m.invoice_id = id;
    m.request_id = id;
    ASSERT_TRUE(bus.publish(std::move(m)));
  }
  host.start();
  f.rt.run_for(1s);
  const AgentMetrics& m = f.metrics.agent(AgentId::validation);
  EXPECT_EQ(m.handled, kBig);
  EXPECT_EQ(host.remembered_invoices(), AgentHost::kHandledMax);
  EXPECT_EQ(m.handled_forgotten, 100u);
  host.stop();
}

TEST(AgentHost, DropsRequestsWhoseWorkflowIsPastItsDeadline) {
  Fixture f;
  InProcessBus bus(f.rt, {8, 8, 8, 8, 8, 8});
  AgentHost host(f.rt, bus, Topic::validation, std::make_shared<ValidationAgent>(f.ctx()), 1,
                 f.metrics.agent(AgentId::validation));
  f.rt.run_for(1h);
  Message expired = f.request(1);
  expired.topic = Topic::validation;
  expired.deadline = f.rt.now() - 1min;
  Message live = f.request(2);
  live.topic = Topic::validation;
  live.deadline = f.rt.now() + 1min;
  Message unbounded = f.request(3);  // no deadline: always handled
  unbounded.topic = Topic::validation;
  ASSERT_TRUE(bus.publish(std::move(expired)));
  ASSERT_TRUE(bus.publish(std::move(live)));
  ASSERT_TRUE(bus.publish(std::move(unbounded)));
  host.start();
  f.rt.run_for(1s);
  const AgentMetrics& m = f.metrics.agent(AgentId::validation);
  EXPECT_EQ(m.expired, 1u);
  EXPECT_EQ(m.handled, 2u);
  EXPECT_EQ(bus.depth(Topic::replies), 2u);   // no reply for the expired one
  EXPECT_EQ(bus.pending(Topic::validation), 0u);  // all three acked
  EXPECT_EQ(count(f.rt, SystemEvent::request_expired), 1u);
  host.stop();
}

}  // namespace
}  // namespace faultline::reference_system
