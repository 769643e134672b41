// Determinism: a randomized workload of 100,000+ coroutines, run twice with
// one seed, gives the same event log; another seed gives a different one.
#include <gtest/gtest.h>

#include "runtime/sim_runtime.h"

namespace faultline::runtime {
namespace {

using namespace std::chrono_literals;

enum class TestEvent : std::uint16_t { started = 0x00f0, slept, timed_out, finished };
struct Started {
  static constexpr TestEvent kind = TestEvent::started;
};
struct Slept {
  static constexpr TestEvent kind = TestEvent::slept;
  Duration nap{};
  constexpr void slots(auto& s) { s.word0(nap); }
};
struct TimedOut {
  static constexpr TestEvent kind = TestEvent::timed_out;
};
struct Finished {
  static constexpr TestEvent kind = TestEvent::finished;
  int result = 0;
  constexpr void slots(auto& s) { s.word0(result); }
};

Task<int> work(Runtime& rt, Rng& rng, std::uint32_t source, std::uint64_t id) {
  const auto nap = from_millis(rng.exponential(1.0 / 20.0));
  co_await rt.sleep(nap);
  rt.log().record(source, id, Slept{nap});
  co_return static_cast<int>(rng.uniform_int(0, 100));
}

Task<void> worker(Runtime& rt, Rng& rng, std::uint32_t source, std::uint64_t id) {
  rt.log().record(source, id, Started{});
  auto r = co_await rt.with_timeout(work(rt, rng, source, id), from_millis(rng.uniform(5, 60)));
  if (!r) {
    rt.log().record(source, id, TimedOut{});
    co_return;
  }
  if (*r < 10) {
    // A few spawn children of their own.
    rt.spawn(worker(rt, rng, source, id * 1000 + 1));
  }
  rt.log().record(source, id, Finished{*r});
}

struct RunSummary {
  std::uint64_t digest;
  std::uint64_t events;
  std::uint64_t tasks;
};

RunSummary run_workload(std::uint64_t seed, int coroutines) {
  SimRuntime rt(seed);
  Rng arrivals = rt.stream("workload/arrivals");
  Rng service = rt.stream("workload/service");
  const auto source = rt.log().intern("worker");
  rt.spawn([](Runtime& rt, Rng& arrivals, Rng& service, std::uint32_t source, int n) -> Task<void> {
    for (int i = 0; i < n; ++i) {
      co_await rt.sleep(from_millis(arrivals.exponential(1.0)));
      rt.spawn(worker(rt, service, source, static_cast<std::uint64_t>(i)));
    }
  }(rt, arrivals, service, source, coroutines));
  rt.run();
  return {rt.log().digest(), rt.log().appended(), rt.tasks_spawned()};
}

TEST(Determinism, SameSeedSameLogDifferentSeedDifferentLog) {
  constexpr int kCoroutines = 100'000;
  const RunSummary a = run_workload(1234, kCoroutines);
  const RunSummary b = run_workload(1234, kCoroutines);
  const RunSummary c = run_workload(1235, kCoroutines);
  EXPECT_GE(a.tasks, static_cast<std::uint64_t>(kCoroutines));
  EXPECT_GT(a.events, 2u * kCoroutines);
  EXPECT_EQ(a.digest, b.digest);
  EXPECT_EQ(a.events, b.events);
  EXPECT_NE(a.digest, c.digest);
}

TEST(Determinism, VirtualTimeCostsNoWallTime) {
  SimRuntime rt(1);
  rt.spawn([](Runtime& rt) -> Task<void> { co_await rt.sleep(std::chrono::hours(24)); }(rt));
  rt.run();
  EXPECT_EQ(rt.now(), kEpoch + std::chrono::hours(24));
}

TEST(Determinism, RunUntilStopsAtTheDeadline) {
  SimRuntime rt(1);
  int ticks = 0;
  rt.spawn([](Runtime& rt, int& ticks) -> Task<void> {
    for (;;) {
      co_await rt.sleep(1s);
      ++ticks;
    }
  }(rt, ticks));
  rt.run_until(kEpoch + 10500ms);
  EXPECT_EQ(ticks, 10);
  EXPECT_EQ(rt.now(), kEpoch + 10500ms);
  rt.run_for(1s);
  EXPECT_EQ(ticks, 11);
}

TEST(Determinism, StepBudgetEndsARunawayLoop) {
  SimRuntime rt(1);
  rt.set_step_budget(1000);
  rt.spawn([](Runtime& rt) -> Task<void> {
    for (;;) co_await rt.yield();
  }(rt));
  rt.run();
  EXPECT_TRUE(rt.step_budget_exhausted());
  EXPECT_EQ(rt.steps(), 1000u);
}

}  // namespace
}  // namespace faultline::runtime
