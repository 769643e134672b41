// The harness's own event payloads: each written into the log's record and
// read back gives the same named fields, at the extremes of every field; a
// corruption and a failure class keep "none" apart from their first value;
// reading an event as another kind stops the program.
#include <gtest/gtest.h>

#include "harness/probe.h"
#include "reference_system/orchestrator.h"
#include "tests/support/payload_round_trip.h"

namespace faultline::harness {
namespace {

namespace he = harness_events;
using namespace std::chrono_literals;

TEST(HarnessEvents, EveryPayloadRoundTripsFieldForField) {
  test_support::expect_payloads_round_trip<he::Submitted, he::Refused, he::CallBegin, he::CallEnd, he::CallAbandoned,
                                           he::CallUnfinished, he::LedgerPostSeen, he::CheckpointWrite, he::Sample,
                                           he::QueueSample, he::WorkloadStopped, he::DrainEnded>();
}

TEST(HarnessEvents, NoneIsKeptApartFromTheFirstValue) {
  const auto clean = read<he::Submitted>(runtime::make_event(runtime::kEpoch, 0, 1, he::Submitted{-5}));
  EXPECT_EQ(clean.true_total_cents, -5);
  EXPECT_FALSE(clean.corruption.has_value());
  const auto first_mode = static_cast<faults::Corruption>(0);
  const auto corrupted =
      read<he::Submitted>(runtime::make_event(runtime::kEpoch, 0, 1, he::Submitted{7, first_mode, true}));
  EXPECT_EQ(corrupted.corruption, first_mode);
  EXPECT_TRUE(corrupted.extra_arrival);
  const auto ok = read<he::CallEnd>(runtime::make_event(runtime::kEpoch, 0, 1, he::CallEnd{9, 2s, std::nullopt}));
  EXPECT_EQ(ok.call_id, 9u);
  EXPECT_EQ(ok.latency, 2s);
  EXPECT_FALSE(ok.failure.has_value());
  const auto failed = read<he::CallEnd>(
      runtime::make_event(runtime::kEpoch, 0, 1, he::CallEnd{9, 2s, resilience::ErrorClass::transient}));
  EXPECT_EQ(failed.failure, resilience::ErrorClass::transient);
}

TEST(HarnessEventsDeathTest, ReadingAnotherKindStops) {
  const auto e = runtime::make_event(runtime::kEpoch, 0, 0, he::CallBegin{1, reference_system::ServiceOp::notify});
  EXPECT_DEATH((void)read<he::CallEnd>(e), "assertion failed: is<P>\\(e\\)");
}

}  // namespace
}  // namespace faultline::harness
