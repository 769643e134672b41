// Event payloads: a payload written into the 40-byte record and read back
// gives the same named fields, at the edges of each slot's range; reading
// an event as another kind, or overflowing the narrow slot, is a program bug
// that stops the program.
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <limits>

#include "runtime/event_log.h"
#include "tests/support/payload_round_trip.h"

namespace faultline::runtime {
namespace {

enum class TestEvent : std::uint16_t { wide = 0x00f0, small, empty, forgotten, shared };
enum class Colour : std::uint8_t { red = 0, green = 1, blue = 255 };

struct Wide {
  static constexpr TestEvent kind = TestEvent::wide;
  std::int64_t signed_value = 0;
  std::uint64_t unsigned_value = 0;
  std::optional<Colour> colour{};
  constexpr void slots(auto& s) { s.word0(signed_value).word1(unsigned_value).narrow(colour); }
};

struct Small {
  static constexpr TestEvent kind = TestEvent::small;
  Duration delay{};
  bool flag = false;
  Colour colour{};
  constexpr void slots(auto& s) { s.word0(delay).word1(flag).narrow(plus_one(colour)); }
};

struct Empty {
  static constexpr TestEvent kind = TestEvent::empty;
};

struct TooWide {
  static constexpr TestEvent kind = TestEvent::small;
  std::int32_t value = 0;
  constexpr void slots(auto& s) { s.narrow(value); }
};

// Two payloads with a mistake each, for the round-trip helper to find.
struct Forgotten {
  static constexpr TestEvent kind = TestEvent::forgotten;
  std::int64_t kept = 0;
  std::int64_t forgotten = 0;
  constexpr void slots(auto& s) { s.word0(kept); }
};
struct Shared {
  static constexpr TestEvent kind = TestEvent::shared;
  std::int64_t first = 0;
  std::int64_t second = 0;
  constexpr void slots(auto& s) { s.word0(first).word0(second); }
};

constexpr Instant kAt = Instant{} + std::chrono::seconds(3);

TEST(EventPayload, ExtremeValuesComeBackFieldForField) {
  constexpr auto kMin = std::numeric_limits<std::int64_t>::min();
  constexpr auto kMax = std::numeric_limits<std::int64_t>::max();
  constexpr auto kUMax = std::numeric_limits<std::uint64_t>::max();
  for (const Wide w : {Wide{kMin, kUMax, Colour::blue}, Wide{kMax, 0, std::nullopt}, Wide{-1, 1, Colour::red}}) {
    const Event e = make_event(kAt, 7, 42, w);
    EXPECT_EQ(e.at, kAt);
    EXPECT_EQ(e.source, 7u);
    EXPECT_EQ(e.subject, 42u);
    EXPECT_TRUE(is<Wide>(e));
    EXPECT_FALSE(is<Small>(e));
    const Wide back = read<Wide>(e);
    EXPECT_EQ(back.signed_value, w.signed_value);
    EXPECT_EQ(back.unsigned_value, w.unsigned_value);
    EXPECT_EQ(back.colour, w.colour);
  }
  for (const Small s : {Small{Duration(-5), true, Colour::blue}, Small{Duration::max(), false, Colour::red},
                        Small{Duration::min(), true, Colour::green}}) {
    const Small back = read<Small>(make_event(kAt, 0, 0, s));
    EXPECT_EQ(back.delay, s.delay);
    EXPECT_EQ(back.flag, s.flag);
    EXPECT_EQ(back.colour, s.colour);
  }
}

// The encoding is part of the log's digest, so it is pinned: an optional
// and plus_one store 1 + the value, 0 meaning none; a Duration its count.
TEST(EventPayload, SlotEncodingIsPinned) {
  static_assert(make_event(kAt, 0, 0, Wide{-3, 9, Colour::blue}).word0 == -3);
  static_assert(make_event(kAt, 0, 0, Wide{-3, 9, Colour::blue}).word1 == 9);
  static_assert(make_event(kAt, 0, 0, Wide{-3, 9, Colour::blue}).narrow == 256);
  static_assert(make_event(kAt, 0, 0, Wide{-3, 9, std::nullopt}).narrow == 0);
  static_assert(make_event(kAt, 0, 0, Small{Duration(1500), true, Colour::red}).word0 == 1500);
  static_assert(make_event(kAt, 0, 0, Small{Duration(1500), true, Colour::red}).word1 == 1);
  static_assert(make_event(kAt, 0, 0, Small{Duration(1500), true, Colour::red}).narrow == 1);
  static_assert(make_event(kAt, 0, 0, Empty{}).kind == 0x00f2);
  SUCCEED();
}

TEST(EventPayload, TheRoundTripHelperChecksEveryField) {
  test_support::expect_payloads_round_trip<Wide, Small, Empty, runtime_events::TaskSpawned,
                                           runtime_events::TaskCancelled, runtime_events::TaskFailed>();
}

TEST(EventPayload, TheRoundTripHelperFindsAForgottenFieldAndASharedSlot) {
  EXPECT_NONFATAL_FAILURE(test_support::expect_payloads_round_trip<Forgotten>(), "payload of kind");
  EXPECT_NONFATAL_FAILURE(test_support::expect_payloads_round_trip<Shared>(), "payload of kind");
  EXPECT_NONFATAL_FAILURE((test_support::expect_payloads_round_trip<Empty, runtime_events::TaskFailed, Empty>()),
                          "two payloads share a kind");
}

TEST(EventPayload, RecordingEqualsAppendingTheMadeEvent) {
  EventLog recorded;
  EventLog appended;
  const Wide w{-9, 11, Colour::green};
  recorded.record(3, 4, w);
  recorded.record(3, 0, Empty{});
  appended.append(make_event(kEpoch, 3, 4, w));
  appended.append(make_event(kEpoch, 3, 0, Empty{}));
  EXPECT_EQ(recorded.digest(), appended.digest());
  ASSERT_EQ(recorded.events().size(), 2u);
  EXPECT_EQ(read<Wide>(recorded.events()[0]).colour, Colour::green);
  EXPECT_TRUE(is<Empty>(recorded.events()[1]));
}

TEST(EventPayloadDeathTest, ReadingAnotherKindStops) {
  const Event e = make_event(kAt, 0, 0, Wide{1, 2, Colour::red});
  EXPECT_DEATH((void)read<Small>(e), "assertion failed: is<P>\\(e\\)");
}

TEST(EventPayloadDeathTest, ANarrowFieldOutOfRangeStops) {
  EXPECT_DEATH((void)make_event(kAt, 0, 0, TooWide{70'000}), "narrow payload field out of 0..65535");
  EXPECT_DEATH((void)make_event(kAt, 0, 0, TooWide{-1}), "narrow payload field out of 0..65535");
}

}  // namespace
}  // namespace faultline::runtime
