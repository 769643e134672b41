// The in-process bus: bounded topics, at-least-once delivery, reclaim.
#include <gtest/gtest.h>

#include "reference_system/bus.h"
#include "runtime/sim_runtime.h"

namespace faultline::reference_system {
namespace {

Message on(Topic t, std::uint64_t invoice) {
  Message m;
  m.topic = t;
  m.invoice_id = invoice;
  return m;
}

TEST(Bus, FullTopicRefusesAndCounts) {
  runtime::SimRuntime rt(1);
  InProcessBus bus(rt, {2, 2, 2, 2, 2, 2});
  EXPECT_TRUE(bus.publish(on(Topic::ocr, 1)));
  EXPECT_TRUE(bus.publish(on(Topic::ocr, 2)));
  EXPECT_FALSE(bus.publish(on(Topic::ocr, 3)));
  EXPECT_TRUE(bus.publish(on(Topic::matching, 3)));  // topics are separate
  EXPECT_EQ(bus.depth(Topic::ocr), 2u);
  EXPECT_EQ(bus.rejected(), 1u);
}

TEST(Bus, UnackedMessagesAreReclaimedOldestFirst) {
  runtime::SimRuntime rt(1);
  InProcessBus bus(rt, {8, 8, 8, 8, 8, 8});
  for (std::uint64_t i = 1; i <= 3; ++i) ASSERT_TRUE(bus.publish(on(Topic::ocr, i)));
  std::vector<std::uint64_t> got;
  rt.spawn([](InProcessBus& bus, std::vector<std::uint64_t>& got) -> Task<void> {
    for (int i = 0; i < 3; ++i) {
      auto m = co_await bus.receive(Topic::ocr);
      got.push_back(m->invoice_id);
      if (m->invoice_id == 2) bus.ack(Topic::ocr, m->delivery_id);  // only 2 is done
    }
  }(bus, got));
  rt.run();
  EXPECT_EQ(got, (std::vector<std::uint64_t>{1, 2, 3}));
  EXPECT_EQ(bus.pending(Topic::ocr), 2u);
  EXPECT_EQ(bus.reclaim(Topic::ocr), 2u);
  EXPECT_EQ(bus.pending(Topic::ocr), 0u);
  got.clear();
  rt.spawn([](InProcessBus& bus, std::vector<std::uint64_t>& got) -> Task<void> {
    for (int i = 0; i < 2; ++i) got.push_back((co_await bus.receive(Topic::ocr))->invoice_id);
  }(bus, got));
  rt.run();
  EXPECT_EQ(got, (std::vector<std::uint64_t>{1, 3}));
  EXPECT_EQ(bus.redelivered(), 2u);
}

}  // namespace
}  // namespace faultline::reference_system

namespace faultline::reference_system {
namespace {

// A message already waiting is handed over by a task that is finished when
// receive() returns: no coroutine frame, on the path every consumer takes.
TEST(Bus, AWaitingMessageIsReceivedWithoutWaiting) {
  runtime::SimRuntime rt(1);
  InProcessBus bus(rt, {8, 8, 8, 8, 8, 8});
  ASSERT_TRUE(bus.publish(on(Topic::ocr, 4)));
  auto ready = bus.receive(Topic::ocr);
  ASSERT_TRUE(ready.done());
  const std::optional<Message> m = ready.result();
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->invoice_id, 4u);
  EXPECT_EQ(bus.pending(Topic::ocr), 1u);  // pending until acked, as on the waiting path
  auto waits = bus.receive(Topic::ocr);
  EXPECT_FALSE(waits.done());  // nothing queued: this one has to wait
}

TEST(Bus, AClosedTopicAnswersAtOnceWithNothing) {
  runtime::SimRuntime rt(1);
  InProcessBus bus(rt, {8, 8, 8, 8, 8, 8});
  bus.close();
  auto closed = bus.receive(Topic::replies);
  ASSERT_TRUE(closed.done());
  EXPECT_FALSE(closed.result().has_value());
}

}  // namespace
}  // namespace faultline::reference_system
