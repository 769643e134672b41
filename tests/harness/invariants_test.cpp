// Every checker is proven able to fail: each test hands it a doctored event
// log (or store) of a broken system and expects the violation, with the
// offending invoice named; a clean history passes them all.
#include <gtest/gtest.h>

#include <fmt/core.h>

#include "harness/invariants.h"
#include "harness/probe.h"
#include "harness/scenario.h"
#include "reference_system/agents.h"
#include "reference_system/events.h"
#include "reference_system/orchestrator.h"
#include "resilience/events.h"
#include "tests/harness/history.h"

namespace faultline::harness {
namespace {

namespace rs = reference_system;
namespace he = harness_events;
namespace se = reference_system::system_events;
namespace pe = resilience::pattern_events;
using S = resilience::BreakerState;
using namespace std::chrono_literals;
using test_history::History;
using test_history::at;

TEST(Invariants, ACleanHistoryPassesEveryChecker) {
  History h;
  for (std::uint64_t id = 1; id <= 5; ++id) h.clean_invoice(id, std::chrono::minutes(id));
  const auto report = check_invariants(h.evidence(), {});
  EXPECT_EQ(report.results.size(), invariant_ids().size());
  for (const auto& r : report.results) EXPECT_FALSE(r.failed()) << r.id << ": " << r.message;
  // With no faults and no breaker, two checkers had nothing to examine: they
  // say so instead of passing.
  std::vector<std::string> skipped;
  for (const auto& r : report.results) {
    if (r.skipped) skipped.push_back(r.id);
    else EXPECT_TRUE(r.passed) << r.id;
  }
  EXPECT_EQ(skipped, (std::vector<std::string>{"circuit_breaker", "recovery_time"}));
}

TEST(Invariants, ConservationCatchesALostInvoice) {
  History h;
  h.clean_invoice(1, 1min);
  h.add(2min, "", 2, he::Submitted{500});  // never reaches an outcome
  const auto r = h.check("conservation");
  EXPECT_FALSE(r.passed);
  EXPECT_NE(r.message.find("invoice 2"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("found nowhere"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find(": lost"), std::string::npos) << r.message;
  ASSERT_FALSE(r.evidence.empty());
  EXPECT_NE(r.evidence.front().find("submitted"), std::string::npos);
  EXPECT_EQ(reconcile_outcomes(h.evidence()).lost, 1u);
}

// The system's word is not evidence: an invoice it calls dead-lettered must
// be in the dead-letter queue's store (a full queue that refused the push,
// or one that drops, leaves it nowhere).
TEST(Invariants, ConservationLooksForADeadLetteredInvoiceInTheQueuesStore) {
  History h;
  h.clean_invoice(1, 1min);
  h.dead_lettered_invoice(2, 2min);
  h.dead_lettered_invoice(3, 3min, /*in_store=*/false);
  const auto r = h.check("conservation");
  EXPECT_FALSE(r.passed);
  EXPECT_NE(r.message.find("invoice 3: "), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("reported dead_lettered but no store holds it"), std::string::npos) << r.message;
  const auto counts = reconcile_outcomes(h.evidence());
  EXPECT_EQ(counts.submitted, 3u);
  EXPECT_EQ(counts.posted, 1u);
  EXPECT_EQ(counts.dead_lettered, 1u);  // what the store holds, not the two the system claims
  EXPECT_EQ(counts.lost, 1u);

  History g;  // the same history with the queue holding both
  g.clean_invoice(1, 1min);
  g.dead_lettered_invoice(2, 2min);
  g.dead_lettered_invoice(3, 3min);
  EXPECT_TRUE(g.check("conservation").passed) << g.check("conservation").message;
  EXPECT_EQ(reconcile_outcomes(g.evidence()).dead_lettered, 2u);
}

TEST(Invariants, ConservationCountsARefusalTheSubmitterWasToldAboutAndNothingElse) {
  History h;
  h.clean_invoice(1, 1min);
  h.add(2min, "", 2, he::Submitted{500});
  h.add(2min, "", 2, he::Refused{rs::SubmitResult::refused_overloaded});
  auto r = h.check("conservation");
  EXPECT_TRUE(r.passed) << r.message;
  EXPECT_NE(r.message.find("1 refused at submission"), std::string::npos) << r.message;
  auto counts = reconcile_outcomes(h.evidence());
  EXPECT_EQ(counts.refused, 1u);
  EXPECT_EQ(counts.lost, 0u);

  // Refused to the submitter, yet processed all the same: in two places.
  h.evidence().rejected_ids.push_back(2);
  r = h.check("conservation");
  EXPECT_FALSE(r.passed);
  EXPECT_NE(r.message.find("invoice 2: submitted 1 time(s) but found in 2 place(s)"), std::string::npos)
      << r.message;

  // A second submission under a taken id: the first posted, the second refused.
  History g;
  g.clean_invoice(1, 1min);
  g.add(2min, "", 1, he::Submitted{10'000});
  g.add(2min, "", 1, he::Refused{rs::SubmitResult::refused_duplicate});
  EXPECT_TRUE(g.check("conservation").passed) << g.check("conservation").message;
  counts = reconcile_outcomes(g.evidence());
  EXPECT_EQ(counts.submitted, 2u);
  EXPECT_EQ(counts.posted + counts.refused, 2u);
}

TEST(Invariants, ConservationCatchesAnInvoiceStillInFlightAndOneInTwoStores) {
  History h;
  h.clean_invoice(1, 1min);
  h.add(2min, "", 2, he::Submitted{500});
  h.evidence().in_flight_ids.push_back(2);  // parked in the inbox after the drain
  auto r = h.check("conservation");
  EXPECT_FALSE(r.passed);
  EXPECT_NE(r.message.find("invoice 2: submitted at t=120.000s, still in flight after the drain"), std::string::npos)
      << r.message;
  auto counts = reconcile_outcomes(h.evidence());
  EXPECT_EQ(counts.in_flight, 1u);
  EXPECT_EQ(counts.lost, 0u);
  // Parked by a full dead-letter queue: the message says where and why.
  h.add(3min, "orchestrator", 2,
        se::Parked{rs::InvoiceOutcome::dead_lettered, resilience::ErrorClass::capacity_exceeded});
  r = h.check("conservation");
  EXPECT_NE(r.message.find("parked since t=180.000s, the dead-letter queue refused it (capacity_exceeded)"),
            std::string::npos)
      << r.message;

  History g;
  g.clean_invoice(1, 1min);
  g.dead_lettered_invoice(2, 2min);
  g.evidence().manual_review_ids.push_back(2);
  r = g.check("conservation");
  EXPECT_FALSE(r.passed);
  EXPECT_NE(r.message.find("the manual-review queue, the dead-letter queue"), std::string::npos) << r.message;
  counts = reconcile_outcomes(g.evidence());
  EXPECT_EQ(counts.posted + counts.manual_review + counts.dead_lettered + counts.lost, counts.submitted);
}

TEST(Invariants, ConservationFailsWhenTheStoresCannotBeRead) {
  History h;
  h.clean_invoice(1, 1min);
  h.evidence().stores_unreadable = "listing the dead-letter queue's store failed: down";
  const auto r = h.check("conservation");
  EXPECT_FALSE(r.passed);
  EXPECT_NE(r.message.find("could not be read"), std::string::npos) << r.message;
}

TEST(Invariants, ConservationCatchesTwoOutcomesAndAPostingMissingFromTheLedger) {
  History h;
  h.clean_invoice(1, 1min);
  h.add(3min, "orchestrator", 1, se::TerminalOutcome{rs::InvoiceOutcome::dead_lettered, 0s, 10'000});  // a second outcome
  EXPECT_FALSE(h.check("conservation").passed);

  History g;
  g.clean_invoice(1, 1min);
  g.evidence().ledger.clear();  // reported posted, but the ledger has nothing
  const auto r = g.check("conservation");
  EXPECT_FALSE(r.passed);
  EXPECT_NE(r.message.find("no live entry"), std::string::npos) << r.message;
}

TEST(Invariants, ExactlyOnceCatchesALedgerThatPostsTwice) {
  History h;
  h.clean_invoice(1, 1min);
  h.clean_invoice(2, 2min);
  h.evidence().ledger.push_back(LedgerRecord{2, 10'000, 7, false});
  const auto r = h.check("exactly_once");
  EXPECT_FALSE(r.passed);
  EXPECT_NE(r.message.find("invoice 2: 2 live ledger entries"), std::string::npos) << r.message;
}

TEST(Invariants, ExactlyOnceCatchesASagaLeftHalfDone) {
  History h;
  h.add(1min, "", 9, he::Submitted{700});
  h.add(2min, "orchestrator", 9, se::TerminalOutcome{rs::InvoiceOutcome::dead_lettered, 0s, 700});  // dead-lettered ...
  h.evidence().ledger.push_back(LedgerRecord{9, 700, 0, false});  // ... yet still in the ledger
  ++h.metrics().outcomes[3];
  const auto r = h.check("exactly_once");
  EXPECT_FALSE(r.passed);
  EXPECT_NE(r.message.find("never reversed"), std::string::npos) << r.message;
}

TEST(Invariants, BoundedRetriesCatchesAnAgentThatRetriesTenTimes) {
  History h;
  h.add(1min, "", 4, he::Submitted{100});
  for (int i = 0; i < 10; ++i) {
    h.call(1min + std::chrono::seconds(3 * i), "ocr_engine", 4, rs::ServiceOp::recognize, 1s, resilience::ErrorClass::transient);
  }
  h.add(3min, "orchestrator", 4, se::TerminalOutcome{rs::InvoiceOutcome::dead_lettered, 0s, 100});
  ++h.metrics().outcomes[3];
  const auto r = h.check("bounded_retries");
  EXPECT_FALSE(r.passed);
  EXPECT_NE(r.message.find("invoice 4: 10 attempts of ocr_engine"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("allows 1"), std::string::npos) << r.message;
}

TEST(Invariants, BoundedRetriesHoldsACompensationToItsScheduleAndItsRuns) {
  // A reversal tried again on the compensation schedule, within one run: allowed.
  const std::uint64_t tries = rs::max_compensation_tries();
  History h;
  h.add(1min, "", 4, he::Submitted{100});
  for (std::uint64_t i = 0; i < tries; ++i) {
    h.call(1min + std::chrono::seconds(2 * i), "ledger", 4, rs::ServiceOp::ledger_reverse, 1s,
           resilience::ErrorClass::transient);
  }
  h.add(3h, "orchestrator", 4, se::TerminalOutcome{rs::InvoiceOutcome::dead_lettered, 0s, 100});
  auto r = h.check("bounded_retries");
  EXPECT_TRUE(r.passed) << r.message;

  // One try more than one run allows...
  h.call(1min + std::chrono::seconds(2 * tries), "ledger", 4, rs::ServiceOp::ledger_reverse, 1s);
  r = h.check("bounded_retries");
  EXPECT_FALSE(r.passed);
  EXPECT_NE(r.message.find(fmt::format("invoice 4: {} attempts of ledger", tries + 1)), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("x 1 compensation run(s)"), std::string::npos) << r.message;

  // ...is within two, when the orchestrator asked the agent to undo the step.
  h.add(2h, "accounting", 4, se::UndoStarted{3, 1});
  r = h.check("bounded_retries");
  EXPECT_TRUE(r.passed) << r.message;
}

TEST(Invariants, BoundedRetriesCatchesABackoffShorterThanThePolicy) {
  History h;
  auto& retry = h.policy().service(rs::ServiceId::ocr_engine).retry;
  retry.max_attempts = 3;
  retry.base_delay = 1s;
  retry.jitter = resilience::Jitter::none;
  h.add(1min, "", 4, he::Submitted{100});
  h.call(1min, "ocr_engine", 4, rs::ServiceOp::recognize, 1s, resilience::ErrorClass::transient);
  h.call(1min + 1100ms, "ocr_engine", 4, rs::ServiceOp::recognize, 1s, resilience::ErrorClass::transient);  // 100 ms after the failure
  h.add(3min, "orchestrator", 4, se::TerminalOutcome{rs::InvoiceOutcome::dead_lettered, 0s, 100});
  const auto r = h.check("bounded_retries");
  EXPECT_FALSE(r.passed);
  EXPECT_NE(r.message.find("before the policy's shortest backoff 1s"), std::string::npos) << r.message;
}

TEST(Invariants, TimeoutsCatchACallThatOutlivesItsTimeout) {
  History h;
  h.clean_invoice(1, 1min);
  h.call(2min, "ledger", 1, rs::ServiceOp::ledger_reverse, 45s);  // naive timeout: 30 s
  const auto r = h.check("timeouts");
  EXPECT_FALSE(r.passed);
  EXPECT_NE(r.message.find("lasted 45s, past its timeout 30s"), std::string::npos) << r.message;
}

TEST(Invariants, TimeoutsCatchACallThatNeverEnded) {
  History h;
  h.add(1min, "po_database", 3, he::CallBegin{99, rs::ServiceOp::po_lookup});
  h.add(15min, "po_database", 3, he::CallUnfinished{99, 14min});
  const auto r = h.check("timeouts");
  EXPECT_FALSE(r.passed);
  EXPECT_NE(r.message.find("still unanswered"), std::string::npos) << r.message;
}

TEST(Invariants, CircuitBreakerCatchesABreakerThatLetsCallsThroughWhileOpen) {
  History h;
  resilience::CircuitBreakerConfig breaker;
  breaker.half_open_probes = 1;
  h.policy().service(rs::ServiceId::ocr_engine).breaker = breaker;
  h.clean_invoice(1, 1min);
  h.add(2min, "ocr_engine", 0, pe::BreakerTransition{S::closed, S::open});
  h.call(2min + 5s, "ocr_engine", 2, rs::ServiceOp::recognize, 1s);             // got through anyway
  const auto r = h.check("circuit_breaker");
  EXPECT_FALSE(r.passed);
  EXPECT_NE(r.message.find("while its breaker was open"), std::string::npos) << r.message;
  EXPECT_EQ(r.evidence.size(), 2u);
}

TEST(Invariants, CircuitBreakerCatchesABreakerThatDoesNotOpenAtItsThreshold) {
  History h;
  resilience::CircuitBreakerConfig breaker;
  breaker.trip = resilience::TripMode::consecutive_failures;
  breaker.failure_threshold = 3;
  h.policy().service(rs::ServiceId::ledger).breaker = breaker;
  for (int i = 0; i < 3; ++i) h.call(std::chrono::seconds(10 * (i + 1)), "ledger", 5, rs::ServiceOp::ledger_post, 1s, resilience::ErrorClass::transient);
  auto clean = h.check("circuit_breaker");
  EXPECT_TRUE(clean.passed) << clean.message;
  h.call(1min, "ledger", 6, rs::ServiceOp::ledger_post, 1s, resilience::ErrorClass::transient);  // a fourth call, breaker still closed
  const auto r = h.check("circuit_breaker");
  EXPECT_FALSE(r.passed);
  EXPECT_NE(r.message.find("after 3 failures in a row"), std::string::npos) << r.message;
}

TEST(Invariants, CircuitBreakerCatchesTooManyHalfOpenProbesAndAMissingBreaker) {
  History h;
  resilience::CircuitBreakerConfig breaker;
  breaker.half_open_probes = 1;
  h.policy().service(rs::ServiceId::ocr_engine).breaker = breaker;
  h.add(2min, "ocr_engine", 0, pe::BreakerTransition{S::open, S::half_open});
  h.call(2min + 1s, "ocr_engine", 2, rs::ServiceOp::recognize, 1s);
  h.call(2min + 2s, "ocr_engine", 3, rs::ServiceOp::recognize, 1s);
  EXPECT_FALSE(h.check("circuit_breaker").passed);

  History g;  // naive: no breaker anywhere, and an outage of the OCR engine
  faults::FaultSpec outage;
  outage.kind = faults::FaultKind::outage;
  outage.target = "ocr_engine";
  outage.start = 1min;
  outage.duration = 5min;
  g.evidence().faults.push_back(outage);
  const auto r = g.check("circuit_breaker");
  EXPECT_FALSE(r.passed);
  EXPECT_NE(r.message.find("no circuit breaker guards it"), std::string::npos) << r.message;
}

TEST(Invariants, ResumptionCatchesASecondNotificationAndARerunCheckpointedStep) {
  History h;
  h.clean_invoice(1, 1min);
  h.call(5min, "notifier", 1, rs::ServiceOp::notify, 40ms);  // the saga ran again after a crash
  const auto r = h.check("resumption");
  EXPECT_FALSE(r.passed);
  EXPECT_NE(r.message.find("invoice 1: accounts payable notified 2 times"), std::string::npos) << r.message;

  History g;
  g.add(1min, "", 2, he::Submitted{100});
  g.call(1min, "ocr_engine", 2, rs::ServiceOp::recognize, 1s);
  g.add(1min + 2s, "checkpoint_store", 2, he::CheckpointWrite{1, step_code("ocr")});
  g.add(2min, "ocr", 0, se::AgentStopped{1});
  g.call(3min, "ocr_engine", 2, rs::ServiceOp::recognize, 1s);  // OCR again, though checkpointed
  EXPECT_FALSE(g.check("resumption").passed);
}

TEST(Invariants, ResumptionCatchesWorkStartedOverWithoutCheckpoints) {
  History h;  // naive: no checkpoint store
  h.add(1min, "", 2, he::Submitted{100});
  h.call(1min, "ocr_engine", 2, rs::ServiceOp::recognize, 1s);
  h.add(2min, "orchestrator", 0, se::AgentStopped{1});
  h.call(3min, "ocr_engine", 2, rs::ServiceOp::recognize, 1s);
  const auto r = h.check("resumption");
  EXPECT_FALSE(r.passed);
  EXPECT_NE(r.message.find("the work started over"), std::string::npos) << r.message;
}

TEST(Invariants, DegradationCatchesAnInventedMatchAndAPostedCriticalFailure) {
  History h;
  h.add(1min, "", 1, he::Submitted{100});
  h.add(1min, "orchestrator", 1, se::TerminalOutcome{rs::InvoiceOutcome::posted_degraded, 0s, 100});  // posted_degraded ...
  h.evidence().ledger.push_back(LedgerRecord{1, 100, 42, false});  // ... against PO 42
  auto r = h.check("degradation");
  EXPECT_FALSE(r.passed);
  EXPECT_NE(r.message.find("an invented match"), std::string::npos) << r.message;

  History g;
  g.add(1min, "", 1, he::Submitted{100});
  g.call(1min, "ocr_engine", 1, rs::ServiceOp::recognize, 1s, resilience::ErrorClass::timeout);
  g.call(2min, "backup_ocr", 1, rs::ServiceOp::recognize, 1s, resilience::ErrorClass::timeout);
  g.add(3min, "orchestrator", 1, se::TerminalOutcome{rs::InvoiceOutcome::posted, 0s, 100});
  r = g.check("degradation");
  EXPECT_FALSE(r.passed);
  EXPECT_NE(r.message.find("every OCR call for it failed"), std::string::npos) << r.message;
}

TEST(Invariants, ValidationCatchesCorruptedInputPostedAndACrashedTask) {
  History h;
  h.add(1min, "", 1, he::Submitted{100, faults::Corruption::markup});
  h.add(2min, "orchestrator", 1, se::TerminalOutcome{rs::InvoiceOutcome::posted, 0s, 100});
  h.evidence().ledger.push_back(LedgerRecord{1, 100, 3, false});
  auto r = h.check("validation");
  EXPECT_FALSE(r.passed);
  EXPECT_NE(r.message.find("markup input was posted"), std::string::npos) << r.message;

  History g;
  g.add(1min, "", 0, runtime::runtime_events::TaskFailed{});
  EXPECT_FALSE(g.check("validation").passed);
}

TEST(Invariants, VisibilityCatchesASilentFailure) {
  History h;
  h.clean_invoice(1, 1min);
  h.add(2min, "", 2, he::Submitted{100});
  h.add(3min, "orchestrator", 2, se::TerminalOutcome{rs::InvoiceOutcome::dead_lettered, 0s, 100});  // dead-lettered, never counted
  auto r = h.check("visibility");
  EXPECT_FALSE(r.passed);
  EXPECT_NE(r.message.find("ended dead_lettered but the metrics count 0"), std::string::npos) << r.message;

  History g;  // a failed answer the metrics never counted
  g.clean_invoice(1, 1min);
  g.call(2min, "po_database", 1, rs::ServiceOp::po_lookup, 1s, resilience::ErrorClass::transient);
  g.metrics().services[2].errors = 0;
  r = g.check("visibility");
  EXPECT_FALSE(r.passed);
  EXPECT_NE(r.message.find("po_database"), std::string::npos) << r.message;
}

TEST(Invariants, VisibilityComparesTheDeadLetterQueueWithWhatItsStoreHolds) {
  History h;
  h.dead_lettered_invoice(1, 1min);
  h.dead_lettered_invoice(2, 2min, /*in_store=*/false);
  auto r = h.check("visibility");
  EXPECT_FALSE(r.passed);
  EXPECT_NE(r.message.find("the system reports 2 invoices dead-lettered, the dead-letter queue's store holds 1 "
                           "(invoice 2 is not in it)"),
            std::string::npos)
      << r.message;

  History g;  // a gauge that says more than the store holds
  g.dead_lettered_invoice(1, 1min);
  g.metrics().dead_letter_size = 5;
  r = g.check("visibility");
  EXPECT_FALSE(r.passed);
  EXPECT_NE(r.message.find("the dead-letter queue's store holds 1 invoices, the metrics say 5"), std::string::npos)
      << r.message;

  History f;
  f.dead_lettered_invoice(1, 1min);
  EXPECT_TRUE(f.check("visibility").passed) << f.check("visibility").message;
}

TEST(Invariants, SaturationCountsTheRefusalsTheHarnessReceived) {
  History h;
  for (std::uint64_t id = 1; id <= 3; ++id) {
    h.add(std::chrono::minutes(id), "", id, he::Submitted{500});
    h.add(std::chrono::minutes(id), "", id, he::Refused{rs::SubmitResult::refused_overloaded});
  }
  auto r = h.check("saturation");
  EXPECT_FALSE(r.passed);
  EXPECT_NE(r.message.find("3 submissions were refused to the harness over the in-flight bound, the metrics count 0 "
                           "shed"),
            std::string::npos)
      << r.message;
  h.metrics().shed = 3;
  r = h.check("saturation");
  EXPECT_TRUE(r.passed) << r.message;
  EXPECT_NE(r.message.find("3 submission(s) refused over the in-flight bound"), std::string::npos) << r.message;
}

TEST(Invariants, SaturationCatchesUnboundedWorkAndUncountedShedding) {
  History h;
  h.policy().max_in_flight = 100;
  h.add(1min, "", 0, he::Sample{250, 1000});
  auto r = h.check("saturation");
  EXPECT_FALSE(r.passed);
  EXPECT_NE(r.message.find("above the policy's bound 100"), std::string::npos) << r.message;

  History g;
  g.add(1min, "ocr", 5, se::MessageRejected{10'000});
  r = g.check("saturation");
  EXPECT_FALSE(r.passed);
  EXPECT_NE(r.message.find("shed load not counted"), std::string::npos) << r.message;
}

TEST(Invariants, SaturationLeavesTheFaultInjectorsOwnRefusedPublishesOut) {
  // Two refusals in the log, one of them a duplicate copy the bus fault
  // published itself: the system's metrics count the one it made.
  History h;
  h.add(1min, "ocr", 5, se::MessageRejected{10'000});
  h.add(1min, "ocr", 5, se::MessageRejected{10'000});
  h.metrics().agent(rs::AgentId::ocr).queue_rejected = 1;
  EXPECT_FALSE(h.check("saturation").passed);
  h.evidence().injected_refusals = 1;
  const auto r = h.check("saturation");
  EXPECT_TRUE(r.passed) << r.message;
}

}  // namespace
}  // namespace faultline::harness
