// One suite of runtime behaviour, run against both runtimes: what agent code
// may rely on must hold in simulation and in real time alike. The live
// runtime runs with a large time scale so that its sleeps stay short.
#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "runtime/live_runtime.h"
#include "runtime/sim_runtime.h"
#include "tests/support/both_runtimes.h"

namespace faultline::runtime {
namespace {

using namespace std::chrono_literals;

template <class Kind>
class RuntimeBehaviour : public test_support::OnBothRuntimes<Kind> {
 protected:
  // 10x: a 100 ms scenario sleep takes 10 ms of wall time.
  RuntimeBehaviour() : test_support::OnBothRuntimes<Kind>(7, 10.0) {}
};
TYPED_TEST_SUITE(RuntimeBehaviour, test_support::BothRuntimes, test_support::RuntimeNames);

Task<void> sleeper(Runtime& rt, Duration d, std::vector<int>& order, int tag) {
  co_await rt.sleep(d);
  order.push_back(tag);
}

TYPED_TEST(RuntimeBehaviour, SleepsWakeInDeadlineOrder) {
  std::vector<int> order;
  this->rt->spawn(sleeper(*this->rt, 300ms, order, 3));
  this->rt->spawn(sleeper(*this->rt, 100ms, order, 1));
  this->rt->spawn(sleeper(*this->rt, 200ms, order, 2));
  this->rt->run();
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
  EXPECT_GE(this->rt->now(), kEpoch + 300ms);
  EXPECT_EQ(this->rt->live_tasks(), 0u);
}

TYPED_TEST(RuntimeBehaviour, SpawnedTasksStartInSpawnOrder) {
  std::vector<int> order;
  for (int i = 0; i < 5; ++i) this->rt->spawn(sleeper(*this->rt, 0ms, order, i));
  this->rt->run();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
}

Task<int> value_after(Runtime& rt, Duration d, int v) {
  co_await rt.sleep(d);
  co_return v;
}

TYPED_TEST(RuntimeBehaviour, TimeoutWonByTheTask) {
  std::optional<int> got;
  bool finished = false;
  this->rt->spawn([](Runtime& rt, std::optional<int>& got, bool& finished) -> Task<void> {
    auto r = co_await rt.with_timeout(value_after(rt, 5ms, 42), 50ms);
    got = r;
    finished = true;
  }(*this->rt, got, finished));
  this->rt->run();
  ASSERT_TRUE(finished);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, 42);
  EXPECT_EQ(this->rt->timeouts_fired(), 0u);
  // The losing timer was cancelled: the run ended when the task did, not at 50 ms.
  if (this->rt->kind() == "sim") {
    EXPECT_EQ(this->rt->now(), kEpoch + 5ms);
  }
}

TYPED_TEST(RuntimeBehaviour, TimeoutWonByTheTimerAbandonsTheTask) {
  bool timed_out = false;
  bool inner_resumed = false;
  this->rt->spawn([](Runtime& rt, bool& timed_out, bool& inner_resumed) -> Task<void> {
    auto slow = [](Runtime& rt, bool& resumed) -> Task<int> {
      co_await rt.sleep(1s);
      resumed = true;  // must never happen: the task was abandoned
      co_return 1;
    };
    auto r = co_await rt.with_timeout(slow(rt, inner_resumed), 10ms);
    timed_out = !r.has_value();
  }(*this->rt, timed_out, inner_resumed));
  this->rt->run();
  EXPECT_TRUE(timed_out);
  EXPECT_FALSE(inner_resumed);
  EXPECT_EQ(this->rt->timeouts_fired(), 1u);
  if (this->rt->kind() == "sim") {
    EXPECT_EQ(this->rt->now(), kEpoch + 10ms);
  }
}

TYPED_TEST(RuntimeBehaviour, TimeoutOfAVoidTask) {
  int completed = 0;
  this->rt->spawn([](Runtime& rt, int& completed) -> Task<void> {
    auto quick = [](Runtime& rt) -> Task<void> { co_await rt.sleep(1ms); };
    auto r = co_await rt.with_timeout(quick(rt), 1s);
    if (r) ++completed;
  }(*this->rt, completed));
  this->rt->run();
  EXPECT_EQ(completed, 1);
}

TYPED_TEST(RuntimeBehaviour, CancelledTaskNeverResumes) {
  bool resumed = false;
  TaskId id = this->rt->spawn([](Runtime& rt, bool& resumed) -> Task<void> {
    co_await rt.sleep(100ms);
    resumed = true;
  }(*this->rt, resumed));
  this->rt->spawn([](Runtime& rt, TaskId victim, bool& resumed) -> Task<void> {
    co_await rt.sleep(10ms);
    EXPECT_TRUE(rt.cancel(victim));
    EXPECT_FALSE(rt.cancel(victim));  // already gone
    EXPECT_FALSE(resumed);
  }(*this->rt, id, resumed));
  this->rt->run();
  EXPECT_FALSE(resumed);
  EXPECT_EQ(this->rt->live_tasks(), 0u);
}

TYPED_TEST(RuntimeBehaviour, CancelBeforeStart) {
  bool ran = false;
  TaskId id = this->rt->spawn([](bool& ran) -> Task<void> {
    ran = true;
    co_return;
  }(ran));
  EXPECT_TRUE(this->rt->cancel(id));
  this->rt->run();
  EXPECT_FALSE(ran);
}

TYPED_TEST(RuntimeBehaviour, NestedSpawnRunsChildrenToo) {
  std::vector<int> order;
  this->rt->spawn([](Runtime& rt, std::vector<int>& order) -> Task<void> {
    order.push_back(0);
    rt.spawn([](Runtime& rt, std::vector<int>& order) -> Task<void> {
      co_await rt.sleep(2ms);
      order.push_back(2);
      rt.spawn(sleeper(rt, 1ms, order, 3));
    }(rt, order));
    co_await rt.sleep(1ms);
    order.push_back(1);
  }(*this->rt, order));
  this->rt->run();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(this->rt->tasks_spawned(), 3u);
}

Task<int> thrower(Runtime& rt) {
  co_await rt.sleep(1ms);
  throw std::runtime_error("boom");
}

TYPED_TEST(RuntimeBehaviour, ExceptionsReachTheAwaiter) {
  std::string caught;
  this->rt->spawn([](Runtime& rt, std::string& caught) -> Task<void> {
    try {
      (void)co_await thrower(rt);
    } catch (const std::runtime_error& e) {
      caught = e.what();
    }
  }(*this->rt, caught));
  this->rt->run();
  EXPECT_EQ(caught, "boom");
}

TYPED_TEST(RuntimeBehaviour, ExceptionsThroughATimeoutReachTheAwaiter) {
  std::string caught;
  this->rt->spawn([](Runtime& rt, std::string& caught) -> Task<void> {
    try {
      (void)co_await rt.with_timeout(thrower(rt), 1s);
    } catch (const std::runtime_error& e) {
      caught = e.what();
    }
  }(*this->rt, caught));
  this->rt->run();
  EXPECT_EQ(caught, "boom");
}

TYPED_TEST(RuntimeBehaviour, AnEscapedExceptionStopsTheRun) {
  this->rt->spawn([](Runtime& rt) -> Task<void> { (void)co_await thrower(rt); }(*this->rt));
  EXPECT_THROW(this->rt->run(), std::runtime_error);
}

TYPED_TEST(RuntimeBehaviour, SignalReleasesAllWaiters) {
  Signal ev(*this->rt);
  int woke = 0;
  for (int i = 0; i < 3; ++i) {
    this->rt->spawn([](Signal& ev, int& woke) -> Task<void> {
      co_await ev.wait();
      ++woke;
    }(ev, woke));
  }
  this->rt->spawn([](Runtime& rt, Signal& ev) -> Task<void> {
    co_await rt.sleep(5ms);
    ev.set();
  }(*this->rt, ev));
  this->rt->run();
  EXPECT_EQ(woke, 3);
}

TYPED_TEST(RuntimeBehaviour, TimedSignalWaitWokenBySet) {
  Signal ev(*this->rt);
  std::vector<int> got;
  this->rt->spawn([](Runtime& rt, Signal& ev, std::vector<int>& got) -> Task<void> {
    const bool set = co_await ev.wait_until(rt.now() + 1s);
    got.push_back(set ? 1 : 0);
  }(*this->rt, ev, got));
  this->rt->spawn([](Runtime& rt, Signal& ev) -> Task<void> {
    co_await rt.sleep(5ms);
    ev.set();
  }(*this->rt, ev));
  this->rt->run();
  EXPECT_EQ(got, (std::vector<int>{1}));
  EXPECT_EQ(this->rt->timeouts_fired(), 0u);
  EXPECT_LT(this->rt->now(), kEpoch + 1s);  // the cancelled timer did not hold the run
}

TYPED_TEST(RuntimeBehaviour, TimedSignalWaitTimesOut) {
  Signal ev(*this->rt);
  std::vector<int> got;
  this->rt->spawn([](Runtime& rt, Signal& ev, std::vector<int>& got) -> Task<void> {
    const bool set = co_await ev.wait_until(rt.now() + 20ms);
    got.push_back(set ? 1 : 0);
    // A set signal does not wait at all.
    ev.set();
    const bool again = co_await ev.wait_until(rt.now() + 20ms);
    got.push_back(again ? 1 : 0);
  }(*this->rt, ev, got));
  this->rt->run();
  EXPECT_EQ(got, (std::vector<int>{0, 1}));
  EXPECT_EQ(this->rt->timeouts_fired(), 1u);
}

TYPED_TEST(RuntimeBehaviour, CancelledTimedSignalWaitNeverResumes) {
  Signal ev(*this->rt);
  int resumed = 0;
  const TaskId id = this->rt->spawn([](Runtime& rt, Signal& ev, int& resumed) -> Task<void> {
    // The deadline is far beyond the cancel (1 ms), so that on the live
    // runtime a loaded machine cannot let it fire first.
    (void)co_await ev.wait_until(rt.now() + 5s);
    ++resumed;
  }(*this->rt, ev, resumed));
  this->rt->spawn([](Runtime& rt, Signal& ev, TaskId id) -> Task<void> {
    co_await rt.sleep(1ms);
    EXPECT_TRUE(rt.cancel(id));
    ev.set();  // nobody waits any more
    co_await rt.sleep(50ms);
  }(*this->rt, ev, id));
  this->rt->run();
  EXPECT_EQ(resumed, 0);
  EXPECT_EQ(this->rt->timeouts_fired(), 0u);
}

TYPED_TEST(RuntimeBehaviour, SemaphoreBoundsConcurrency) {
  Semaphore sem(*this->rt, 2);
  int inside = 0;
  int max_inside = 0;
  for (int i = 0; i < 6; ++i) {
    this->rt->spawn([](Runtime& rt, Semaphore& sem, int& inside, int& max_inside) -> Task<void> {
      co_await sem.acquire();
      ++inside;
      max_inside = std::max(max_inside, inside);
      co_await rt.sleep(1ms);
      --inside;
      sem.release();
    }(*this->rt, sem, inside, max_inside));
  }
  this->rt->run();
  EXPECT_EQ(max_inside, 2);
  EXPECT_EQ(sem.available(), 2u);
}

TYPED_TEST(RuntimeBehaviour, TasksLeftSuspendedAreDestroyedWithTheRuntime) {
  // A task blocked forever (a hang) must not leak when the run ends:
  // the sanitizer build checks this.
  auto ev = std::make_unique<Signal>(*this->rt);
  this->rt->spawn([](Signal& ev) -> Task<void> { co_await ev.wait(); }(*ev));
  this->rt->run();
  EXPECT_EQ(this->rt->live_tasks(), 1u);
  this->rt.reset();
}

}  // namespace
}  // namespace faultline::runtime
