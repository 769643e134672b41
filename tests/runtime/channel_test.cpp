#include <gtest/gtest.h>

#include <vector>

#include "runtime/sim_runtime.h"

namespace faultline::runtime {
namespace {

using namespace std::chrono_literals;

TEST(Channel, BoundedTrySendRefusesWhenFull) {
  SimRuntime rt(1);
  Channel<int> ch(rt, 2);
  EXPECT_TRUE(ch.try_send(1));
  EXPECT_TRUE(ch.try_send(2));
  EXPECT_FALSE(ch.try_send(3));
  EXPECT_EQ(ch.size(), 2u);
  EXPECT_EQ(ch.try_receive(), 1);
  EXPECT_TRUE(ch.try_send(3));
}

TEST(Channel, ReceiversGetValuesInFifoOrder) {
  SimRuntime rt(1);
  Channel<int> ch(rt, 4);
  std::vector<int> got;
  rt.spawn([](Channel<int>& ch, std::vector<int>& got) -> Task<void> {
    while (auto v = co_await ch.receive()) got.push_back(*v);
  }(ch, got));
  rt.spawn([](Runtime& rt, Channel<int>& ch) -> Task<void> {
    for (int i = 0; i < 10; ++i) {
      co_await rt.sleep(1ms);
      const bool queued = co_await ch.send(i);
      EXPECT_TRUE(queued);
    }
    ch.close();
  }(rt, ch));
  rt.run();
  EXPECT_EQ(got, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
}

TEST(Channel, SendWaitsForRoom) {
  SimRuntime rt(1);
  Channel<int> ch(rt, 1);
  std::vector<int> got;
  rt.spawn([](Channel<int>& ch) -> Task<void> {
    for (int i = 0; i < 3; ++i) (void)co_await ch.send(i);
  }(ch));
  rt.spawn([](Runtime& rt, Channel<int>& ch, std::vector<int>& got) -> Task<void> {
    co_await rt.sleep(10ms);
    for (int i = 0; i < 3; ++i) got.push_back(*co_await ch.receive());
  }(rt, ch, got));
  rt.run();
  EXPECT_EQ(got, (std::vector<int>{0, 1, 2}));
}

TEST(Channel, ACancelledReceiverLosesNothing) {
  SimRuntime rt(1);
  Channel<int> ch(rt, 4);
  std::vector<int> got;
  TaskId victim = rt.spawn([](Channel<int>& ch, std::vector<int>& got) -> Task<void> {
    auto v = co_await ch.receive();
    got.push_back(*v);  // never reached: cancelled after being handed the value
  }(ch, got));
  rt.run();  // the receiver is now waiting
  EXPECT_TRUE(ch.try_send(5));  // handed to the waiting receiver
  EXPECT_TRUE(rt.cancel(victim));
  EXPECT_EQ(ch.size(), 1u);  // put back
  EXPECT_EQ(ch.try_receive(), 5);
  EXPECT_TRUE(got.empty());
}

TEST(Channel, CloseWakesReceiversWithNothing) {
  SimRuntime rt(1);
  Channel<int> ch(rt, 1);
  bool ended = false;
  rt.spawn([](Channel<int>& ch, bool& ended) -> Task<void> {
    auto v = co_await ch.receive();
    ended = !v.has_value();
  }(ch, ended));
  rt.spawn([](Runtime& rt, Channel<int>& ch) -> Task<void> {
    co_await rt.sleep(1ms);
    ch.close();
  }(rt, ch));
  rt.run();
  EXPECT_TRUE(ended);
  EXPECT_FALSE(ch.try_send(1));
}

}  // namespace
}  // namespace faultline::runtime
