// Task::ready: a task finished from the start, without a frame. Awaited,
// raced against a timeout, spawned or moved, it gives its value at once,
// arms no timer and never suspends its awaiter.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "runtime/sim_runtime.h"

namespace faultline::runtime {
namespace {

using namespace std::chrono_literals;

Task<std::string> ready_text() { return Task<std::string>::ready(std::string("no frame")); }

TEST(ReadyTask, IsDoneAndValidFromTheStart) {
  Task<int> t = Task<int>::ready(7);
  EXPECT_TRUE(t.valid());
  EXPECT_TRUE(t.done());
  EXPECT_EQ(t.result(), 7);

  Task<void> v = Task<void>::ready();
  EXPECT_TRUE(v.valid());
  EXPECT_TRUE(v.done());

  Task<int> empty;
  EXPECT_FALSE(empty.valid());
  EXPECT_FALSE(empty.done());
}

TEST(ReadyTask, MovingCarriesTheValueAndEmptiesTheSource) {
  Task<std::unique_ptr<int>> a = Task<std::unique_ptr<int>>::ready(std::make_unique<int>(5));
  Task<std::unique_ptr<int>> b = std::move(a);
  EXPECT_FALSE(a.valid());  // NOLINT(bugprone-use-after-move): what a move leaves is the point
  ASSERT_TRUE(b.done());
  EXPECT_EQ(*b.result(), 5);

  Task<void> v = Task<void>::ready();
  Task<void> w;
  w = std::move(v);
  EXPECT_FALSE(v.valid());  // NOLINT(bugprone-use-after-move)
  EXPECT_TRUE(w.done());
}

TEST(ReadyTask, AwaitingItDoesNotSuspendTheAwaiter) {
  SimRuntime rt(1);
  std::string got;
  bool finished = false;
  auto body = [&]() -> Task<void> {
    got = co_await ready_text();
    co_await Task<void>::ready();
    finished = true;
  };
  rt.spawn(body());
  // Spawned tasks start on the loop's first step; a suspension would need a second.
  rt.run();
  EXPECT_TRUE(finished);
  EXPECT_EQ(got, "no frame");
  EXPECT_EQ(rt.steps(), 1u);
  EXPECT_EQ(rt.now(), kEpoch);
}

TEST(ReadyTask, ARaceAgainstATimeoutIsWonAtOnceWithoutATimer) {
  SimRuntime rt(2);
  std::optional<int> got;
  std::optional<Unit> got_void;
  auto body = [&]() -> Task<void> {
    got = co_await rt.with_timeout(Task<int>::ready(42), 1s);
    got_void = co_await rt.with_timeout(Task<void>::ready(), 1s);
  };
  rt.spawn(body());
  rt.run();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, 42);
  EXPECT_TRUE(got_void.has_value());
  EXPECT_EQ(rt.timeouts_fired(), 0u);
  EXPECT_EQ(rt.pending_timers(), 0u);
  EXPECT_EQ(rt.now(), kEpoch);  // no timer was left to advance the clock to
}

TEST(ReadyTask, ASpawnedReadyTaskFinishes) {
  SimRuntime rt(3);
  rt.spawn(Task<void>::ready());
  EXPECT_EQ(rt.live_tasks(), 1u);
  rt.run();
  EXPECT_EQ(rt.live_tasks(), 0u);
}

}  // namespace
}  // namespace faultline::runtime
