// The fault events' payloads: each written into the log's record and read
// back gives the same named fields, at the extremes of every field; a held
// message that was dropped keeps its marker; reading an event as another
// kind stops the program.
#include <gtest/gtest.h>

#include "faults/injector.h"
#include "tests/support/payload_round_trip.h"

namespace faultline::faults {
namespace {

namespace fe = fault_events;

TEST(FaultEvents, EveryPayloadRoundTripsFieldForField) {
  test_support::expect_payloads_round_trip<fe::WindowOpened, fe::WindowClosed, fe::Touched, fe::AgentCrashed,
                                           fe::AgentRestarted, fe::ExtraArrival, fe::Duplicated, fe::HeldBack,
                                           fe::AgentPaused, fe::AgentResumed>();
}

TEST(FaultEvents, ATouchKeepsANegativeEffectAndTheDroppedMarker) {
  const auto touched = read<fe::Touched>(
      runtime::make_event(runtime::kEpoch, 0, 0, fe::Touched{3, -42, FaultKind::corrupted_input}));
  EXPECT_EQ(touched.fault_index, 3u);
  EXPECT_EQ(touched.effect, -42);
  EXPECT_EQ(touched.fault, FaultKind::corrupted_input);
  const auto dropped = runtime::make_event(runtime::kEpoch, 0, 0, fe::HeldBack{1, fe::kHeldAndDropped});
  EXPECT_EQ(dropped.word1, -1);
  EXPECT_EQ(read<fe::HeldBack>(dropped).hold_back, fe::kHeldAndDropped);
}

TEST(FaultEventsDeathTest, ReadingAnotherKindStops) {
  const auto e = runtime::make_event(runtime::kEpoch, 0, 0, fe::WindowOpened{0, FaultKind::outage});
  EXPECT_DEATH((void)read<fe::WindowClosed>(e), "assertion failed: is<P>\\(e\\)");
}

}  // namespace
}  // namespace faultline::faults
