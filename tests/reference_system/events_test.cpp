// The reference system's event payloads: each written into the log's record
// and read back gives the same named fields, at the extremes of every field;
// the encodings the checkers and the digest depend on are pinned; reading an
// event as another kind stops the program.
#include <gtest/gtest.h>

#include "reference_system/events.h"
#include "reference_system/orchestrator.h"
#include "tests/support/payload_round_trip.h"

namespace faultline::reference_system {
namespace {

namespace se = system_events;
using resilience::ErrorClass;
using namespace std::chrono_literals;

TEST(SystemEvents, EveryPayloadRoundTripsFieldForField) {
  test_support::expect_payloads_round_trip<
      se::InvoiceSubmitted, se::StepStarted, se::StepFinished, se::CallAttempt, se::CallResult, se::TerminalOutcome,
      se::LedgerPosted, se::LedgerDuplicate, se::LedgerReversed, se::BudgetReserved, se::BudgetReleased, se::Notified,
      se::NotifyDuplicate, se::Compensation, se::CheckpointSaved, se::CheckpointLoaded, se::CheckpointFailed,
      se::AgentStopped, se::AgentStarted, se::MessageRejected, se::MessageRedelivered, se::DeadLettered,
      se::ManualReview, se::Degraded, se::OcrFallback, se::StaleReply, se::RequestExpired, se::RequestDuplicate,
      se::SubmissionRefused, se::Parked, se::UndoStarted, se::UndoFinished>();
}

// A failure class is stored as 1 + its value, so that 0 can say "none"
// where the kind allows it (a call that succeeded, a degradation with no
// failed lookup).
TEST(SystemEvents, FailureClassesAreStoredOneUp) {
  const auto at = runtime::kEpoch;
  const auto failed = runtime::make_event(at, 0, 0, se::CallResult{5ms, ServiceOp::ledger_post, ErrorClass::timeout});
  EXPECT_EQ(failed.narrow, 1 + static_cast<int>(ErrorClass::timeout));
  EXPECT_EQ(failed.word0, std::chrono::nanoseconds(5ms).count());
  EXPECT_EQ(failed.word1, static_cast<int>(ServiceOp::ledger_post));
  EXPECT_EQ(runtime::make_event(at, 0, 0, se::CallResult{}).narrow, 0);
  EXPECT_EQ(runtime::make_event(at, 0, 0, se::Degraded{2, std::nullopt}).narrow, 0);
  EXPECT_EQ(runtime::make_event(at, 0, 0, se::DeadLettered{4, ErrorClass::transient}).narrow, 1);
  const auto parked = runtime::make_event(at, 0, 0, se::Parked{InvoiceOutcome::manual_review, ErrorClass::conflict});
  EXPECT_EQ(parked.word0, static_cast<int>(InvoiceOutcome::manual_review));
  EXPECT_EQ(parked.narrow, 1 + static_cast<int>(ErrorClass::conflict));
  EXPECT_EQ(read<se::Parked>(parked).refusal, ErrorClass::conflict);
}

TEST(SystemEvents, ANegativeAmountComesBackNegative) {
  const auto e = runtime::make_event(runtime::kEpoch, 0, 9, se::BudgetReleased{-12'345});
  EXPECT_EQ(read<se::BudgetReleased>(e).change_cents, -12'345);
  const auto posted = read<se::LedgerPosted>(runtime::make_event(runtime::kEpoch, 0, 9, se::LedgerPosted{-1, 7, true}));
  EXPECT_EQ(posted.amount_cents, -1);
  EXPECT_EQ(posted.sequence, 7u);
  EXPECT_TRUE(posted.idempotency_key);
}

TEST(SystemEventsDeathTest, ReadingAnotherKindStops) {
  const auto e = runtime::make_event(runtime::kEpoch, 0, 0, se::LedgerPosted{100, 1, false});
  EXPECT_DEATH((void)read<se::LedgerReversed>(e), "assertion failed: is<P>\\(e\\)");
}

}  // namespace
}  // namespace faultline::reference_system
