// One test per clause of the ledger, call and validation checkers that
// invariants_test.cpp does not already break: each hands the checker a
// history broken in exactly that way and expects that clause's message.
// Also: a checker with nothing to examine is skipped, never passed, and a
// violation's evidence says how much of it was cut.
#include <gtest/gtest.h>

#include "harness/invariants.h"
#include "reference_system/orchestrator.h"
#include "tests/harness/history.h"

namespace faultline::harness {
namespace {

namespace rs = reference_system;
namespace he = harness_events;
namespace se = reference_system::system_events;
namespace pe = resilience::pattern_events;
using S = resilience::BreakerState;
using namespace std::chrono_literals;
using test_history::expect_clause;
using test_history::History;


// ---- exactly_once ----

TEST(ExactlyOnceClauses, AnInvoicePostedTwice) {
  History h;
  h.clean_invoice(1, 1min);
  h.add(2min, "orchestrator", 1, se::TerminalOutcome{rs::InvoiceOutcome::posted, 0s, 10'000});  // a second posting
  expect_clause(h.check("exactly_once"), "invoice 1: posted 2 times");
}

TEST(ExactlyOnceClauses, ALedgerAmountThatIsNotThePostedOne) {
  History h;
  h.clean_invoice(1, 1min, 10'000);
  h.evidence().ledger.front().amount_cents = 9'000;
  expect_clause(h.check("exactly_once"), "invoice 1: posted 10000 cents but the ledger holds 9000");
}

TEST(ExactlyOnceClauses, APostingWithoutABudgetReservation) {
  History h;
  h.clean_invoice(1, 1min);
  h.evidence().budget_held.clear();
  expect_clause(h.check("exactly_once"), "invoice 1: posted without a budget reservation");
}

TEST(ExactlyOnceClauses, AFailedInvoiceStillHoldingItsReservation) {
  History h;
  h.add(1min, "", 9, he::Submitted{700});
  h.add(2min, "orchestrator", 9, se::TerminalOutcome{rs::InvoiceOutcome::dead_lettered, 0s, 700});  // dead-lettered
  h.evidence().budget_held.push_back(9);                         // reservation never released
  expect_clause(h.check("exactly_once"), "invoice 9: ended dead_lettered but still holds a budget reservation");
}

TEST(ExactlyOnceClauses, ALedgerTotalThatIsNotThePostedTotal) {
  History h;
  h.clean_invoice(1, 1min, 10'000);
  h.evidence().ledger.push_back(LedgerRecord{99, 10'000, 0, false});  // an entry no outcome speaks for
  expect_clause(h.check("exactly_once"), "the ledger's live total is 20000 cents, the posted invoices sum to 10000");
}

// ---- circuit_breaker ----

// A failure-rate breaker on the OCR engine (so the consecutive-failure
// clause stays out of the way) and an outage of it from 1 to 3 minutes.
void ocr_outage_with_rate_breaker(History& h) {
  resilience::CircuitBreakerConfig breaker;
  breaker.trip = resilience::TripMode::failure_rate;
  breaker.minimum_calls = 3;
  breaker.window_calls = 5;
  h.policy().service(rs::ServiceId::ocr_engine).breaker = breaker;
  h.fault(faults::FaultKind::outage, "ocr_engine", 1min, 2min);
}

TEST(CircuitBreakerClauses, ABreakerThatNeverOpenedUnderAFault) {
  History h;
  ocr_outage_with_rate_breaker(h);
  for (int i = 0; i < 5; ++i) {
    h.call(1min + std::chrono::seconds(10 * i), "ocr_engine", 1 + i, rs::ServiceOp::recognize, 1s, resilience::ErrorClass::transient);
  }
  expect_clause(h.check("circuit_breaker"), "ocr_engine failed 5 times during the outage fault from t=60.000s but "
                                            "its breaker never opened (threshold 3)");
}

TEST(CircuitBreakerClauses, PermanentErrorsAreAnswersNotFailuresOfTheService) {
  // A breaker counting only transient errors, timeouts and rate limits need
  // not open on a fault that answers every call with a permanent error...
  History h;
  resilience::CircuitBreakerConfig breaker;
  breaker.trip = resilience::TripMode::failure_rate;
  breaker.minimum_calls = 3;
  breaker.window_calls = 5;
  h.policy().service(rs::ServiceId::po_database).breaker = breaker;
  h.fault(faults::FaultKind::error, "po_database", 1min, 2min).error_class = resilience::ErrorClass::permanent;
  for (int i = 0; i < 5; ++i) {
    h.call(1min + std::chrono::seconds(10 * i), "po_database", 1 + i, rs::ServiceOp::po_lookup, 1s,
           resilience::ErrorClass::permanent);
  }
  const auto r = h.check("circuit_breaker");
  EXPECT_FALSE(r.failed()) << r.message;

  // ...but must on transient ones.
  History g;
  g.policy().service(rs::ServiceId::po_database).breaker = breaker;
  g.fault(faults::FaultKind::error, "po_database", 1min, 2min);
  for (int i = 0; i < 5; ++i) {
    g.call(1min + std::chrono::seconds(10 * i), "po_database", 1 + i, rs::ServiceOp::po_lookup, 1s,
           resilience::ErrorClass::transient);
  }
  expect_clause(g.check("circuit_breaker"), "po_database failed 5 times during the error fault from t=60.000s but its "
                                            "breaker never opened (threshold 3)");
}

TEST(CircuitBreakerClauses, ABreakerStillOpenLongAfterItsFaultEnded) {
  History h;
  ocr_outage_with_rate_breaker(h);
  h.add(1min + 10s, "ocr_engine", 0, pe::BreakerTransition{S::closed, S::open});  // never closes
  // A call asked it long after the fault and its open duration: it should have let a probe through.
  h.add(5min, "ocr_engine", 9, pe::BreakerRejected{S::open});
  expect_clause(h.check("circuit_breaker"), "ocr_engine's breaker was still open at the end, though its last fault "
                                            "ended at t=180.000s");

  History quiet;  // still open, but no call asked it after the fault: it had nothing to close on
  ocr_outage_with_rate_breaker(quiet);
  quiet.add(1min + 10s, "ocr_engine", 0, pe::BreakerTransition{S::closed, S::open});
  const auto q = quiet.check("circuit_breaker");
  EXPECT_TRUE(q.passed) << q.message;

  History g;  // the same breaker, closed again in time: passes
  ocr_outage_with_rate_breaker(g);
  g.add(1min + 10s, "ocr_engine", 0, pe::BreakerTransition{S::closed, S::open});
  g.add(3min + 40s, "ocr_engine", 0, pe::BreakerTransition{S::open, S::half_open});
  g.add(3min + 41s, "ocr_engine", 0, pe::BreakerTransition{S::half_open, S::closed});
  const auto r = g.check("circuit_breaker");
  EXPECT_TRUE(r.passed) << r.message;
}

// ---- degradation ----

TEST(DegradationClauses, PostedAsMatchedThoughEveryLookupFailed) {
  History h;
  h.add(1min, "", 1, he::Submitted{100});
  h.call(1min + 1s, "ocr_engine", 1, rs::ServiceOp::recognize, 1s);
  h.call(1min + 3s, "po_database", 1, rs::ServiceOp::po_lookup, 1s, resilience::ErrorClass::transient);
  h.call(1min + 5s, "po_database", 1, rs::ServiceOp::po_lookup, 1s, resilience::ErrorClass::transient);
  h.add(1min + 9s, "orchestrator", 1, se::TerminalOutcome{rs::InvoiceOutcome::posted, 0s, 100});  // posted, not posted_degraded
  expect_clause(h.check("degradation"),
                "invoice 1: posted as fully matched although every PO lookup for it failed (not marked degraded)");
}

// ---- validation ----

TEST(ValidationClauses, CorruptedInputPostedAtTheWrongAmount) {
  History h;
  h.add(1min, "", 1, he::Submitted{100, faults::Corruption::bit_flips});
  h.add(2min, "orchestrator", 1, se::TerminalOutcome{rs::InvoiceOutcome::posted, 0s, 150});
  h.evidence().ledger.push_back(LedgerRecord{1, 150, 3, false});
  expect_clause(h.check("validation"), "invoice 1: bit_flips input posted 150 cents, its true total is 100");

  History g;  // the same flip, posted at its true amount: right
  g.add(1min, "", 1, he::Submitted{100, faults::Corruption::bit_flips});
  g.add(2min, "orchestrator", 1, se::TerminalOutcome{rs::InvoiceOutcome::posted, 0s, 100});
  g.evidence().ledger.push_back(LedgerRecord{1, 100, 3, false});
  EXPECT_TRUE(g.check("validation").passed);
}

TEST(ValidationClauses, AnIdReusedAfterItsFirstSubmissionWasRefusedIsTheSecondsInvoice) {
  // The first submission of id 1 was refused at the door, so the id was
  // free: the duplicate_id submission under it is the invoice, and its own
  // total is the true one.
  History h;
  h.add(1min, "", 1, he::Submitted{100});
  h.add(1min, "", 1, he::Refused{rs::SubmitResult::refused_overloaded});
  h.add(2min, "", 1, he::Submitted{250, faults::Corruption::duplicate_id});
  h.add(3min, "orchestrator", 1, se::TerminalOutcome{rs::InvoiceOutcome::posted, 0s, 250});
  h.evidence().ledger.push_back(LedgerRecord{1, 250, 3, false});
  const auto r = h.check("validation");
  EXPECT_TRUE(r.passed) << r.message;

  // Posted at the refused first submission's amount: wrong.
  h.evidence().ledger.back().amount_cents = 100;
  expect_clause(h.check("validation"), "invoice 1: duplicate_id input posted 100 cents, its true total is 250");

  // The first accepted, the reuse refused: the first's total stays the truth.
  History g;
  g.add(1min, "", 1, he::Submitted{100});
  g.add(2min, "", 1, he::Submitted{250, faults::Corruption::duplicate_id});
  g.add(2min, "", 1, he::Refused{rs::SubmitResult::refused_duplicate});
  g.add(3min, "orchestrator", 1, se::TerminalOutcome{rs::InvoiceOutcome::posted, 0s, 100});
  g.evidence().ledger.push_back(LedgerRecord{1, 100, 3, false});
  const auto q = g.check("validation");
  EXPECT_TRUE(q.passed) << q.message;
  g.evidence().ledger.back().amount_cents = 250;
  expect_clause(g.check("validation"), "invoice 1: duplicate_id input posted 250 cents, its true total is 100");
}

TEST(ValidationClauses, ARunThatItselfFailed) {
  History h;
  h.clean_invoice(1, 1min);
  h.evidence().harness_failure = "the run hit its safety limit";
  expect_clause(h.check("validation"), "the run itself failed: the run hit its safety limit");
}

// ---- skipped, not passed ----

TEST(SkippedCheckers, ACheckerWithNothingToExamineIsSkippedNotPassed) {
  History h;  // nothing happened at all
  for (const auto* id : {"bounded_retries", "timeouts", "circuit_breaker", "resumption", "degradation",
                         "exactly_once", "recovery_time"}) {
    const auto r = h.check(id);
    EXPECT_TRUE(r.skipped) << id << ": " << r.message;
    EXPECT_FALSE(r.passed) << id;
    EXPECT_FALSE(r.failed()) << id;
    EXPECT_FALSE(r.message.empty()) << id;
  }
  h.evidence().policy = nullptr;
  EXPECT_TRUE(h.check("bounded_retries").skipped);
  EXPECT_TRUE(h.check("circuit_breaker").skipped);
}

TEST(SkippedCheckers, ABreakerThatWasExercisedIsChecked) {
  History h;
  resilience::CircuitBreakerConfig breaker;
  h.policy().service(rs::ServiceId::ocr_engine).breaker = breaker;
  h.clean_invoice(1, 1min);
  EXPECT_TRUE(h.check("circuit_breaker").skipped);  // calls, but no transition, no run of failures, no fault
  h.add(2min, "ocr_engine", 0, pe::BreakerTransition{S::closed, S::open});
  h.add(2min + 30s, "ocr_engine", 0, pe::BreakerTransition{S::open, S::half_open});
  h.add(2min + 31s, "ocr_engine", 0, pe::BreakerTransition{S::half_open, S::closed});
  const auto r = h.check("circuit_breaker");
  EXPECT_FALSE(r.skipped);
  EXPECT_TRUE(r.passed) << r.message;
}

// ---- evidence says when it was cut ----

TEST(EvidenceLines, AViolationKeepsTheFirstLinesAndCountsTheRest) {
  History h;
  h.clean_invoice(1, 1min);
  for (int i = 0; i < 10; ++i) h.call(2min + std::chrono::seconds(i), "notifier", 1, rs::ServiceOp::notify, 40ms);
  h.add(3min, "orchestrator", 1, se::TerminalOutcome{rs::InvoiceOutcome::posted, 0s, 10'000});  // posted twice
  std::uint64_t lines = 0;
  for (const auto& e : h.log().events()) lines += e.subject == 1 && e.kind >= 0x0200 ? 1 : 0;
  ASSERT_GT(lines, kEvidenceLines);
  const auto r = h.check("exactly_once");
  ASSERT_TRUE(r.failed());
  EXPECT_EQ(r.evidence.size(), kEvidenceLines);
  EXPECT_EQ(r.evidence_dropped, lines - kEvidenceLines);
}

}  // namespace
}  // namespace faultline::harness
