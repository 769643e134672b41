// The patterns' event payloads: each written into the log's record and read
// back gives the same named fields, at the extremes of every field; reading
// an event as another kind stops the program.
#include <gtest/gtest.h>

#include "resilience/circuit_breaker.h"
#include "resilience/events.h"
#include "tests/support/payload_round_trip.h"

namespace faultline::resilience {
namespace {

namespace pe = pattern_events;

TEST(PatternEvents, EveryPayloadRoundTripsFieldForField) {
  test_support::expect_payloads_round_trip<
      pe::Attempt, pe::AttemptFailed, pe::RetryScheduled, pe::RetriesExhausted, pe::CallSucceeded, pe::Timeout,
      pe::BreakerTransition, pe::BreakerRejected, pe::BreakerProbeTimeout, pe::BulkheadRejected,
      pe::RetryBudgetExhausted, pe::CompensationStarted, pe::CompensationSucceeded, pe::CompensationFailed,
      pe::SagaAborted, pe::SagaCommitted, pe::DeadLettered, pe::DeadLetterRejected, pe::DeadLetterAlert,
      pe::Degraded, pe::CriticalFailure, pe::FallbackUsed, pe::CheckpointSaved, pe::CheckpointConflict>();
}

TEST(PatternEvents, AnObserverRecordsThePayloadUnderItsName) {
  runtime::EventLog log;
  const Observer obs = Observer::named(log, "ocr");
  obs.record(7, pe::RetryScheduled{3, std::chrono::seconds(2), ErrorClass::rate_limited});
  Observer{}.record(8, pe::Attempt{1});  // no log: nothing recorded
  ASSERT_EQ(log.events().size(), 1u);
  const auto& e = log.events()[0];
  EXPECT_EQ(log.name(e.source), "ocr");
  EXPECT_EQ(e.subject, 7u);
  const auto r = read<pe::RetryScheduled>(e);
  EXPECT_EQ(r.next_attempt, 3u);
  EXPECT_EQ(r.delay, std::chrono::seconds(2));
  EXPECT_EQ(r.cause, ErrorClass::rate_limited);
}

TEST(PatternEventsDeathTest, ReadingAnotherKindStops) {
  const auto e = runtime::make_event(runtime::kEpoch, 0, 0, pe::Attempt{1});
  EXPECT_DEATH((void)read<pe::AttemptFailed>(e), "assertion failed: is<P>\\(e\\)");
}

}  // namespace
}  // namespace faultline::resilience
