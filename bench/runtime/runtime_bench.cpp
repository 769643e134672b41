// Simulated events per second of the sim runtime. An "event" is one
// coroutine resumption by the run loop (SimRuntime::steps()): a task
// starting, a sleep ending, a timeout firing. The counter `events/s` is
// what bench/README.md reports.
#include <benchmark/benchmark.h>

#include "runtime/sim_runtime.h"

namespace faultline::runtime {
namespace {

using namespace std::chrono_literals;

Task<void> sleeper(Runtime& rt, int naps, Duration nap) {
  for (int i = 0; i < naps; ++i) co_await rt.sleep(nap);
}

// Many tasks, each sleeping repeatedly: the timer heap under load.
void BM_SleepResume(benchmark::State& state) {
  const int tasks = static_cast<int>(state.range(0));
  std::uint64_t events = 0;
  for (auto _ : state) {
    SimRuntime rt(1);
    Rng rng = rt.stream("bench");
    for (int i = 0; i < tasks; ++i) rt.spawn(sleeper(rt, 10, from_millis(1 + rng.uniform_int(0, 50))));
    rt.run();
    events += rt.steps();
  }
  state.counters["events/s"] = benchmark::Counter(static_cast<double>(events), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_SleepResume)->Arg(1000)->Arg(100000);

// Spawning short tasks: frame allocation, the task table, the ready queue.
void BM_Spawn(benchmark::State& state) {
  std::uint64_t events = 0;
  for (auto _ : state) {
    SimRuntime rt(1);
    rt.spawn([](Runtime& rt) -> Task<void> {
      for (int i = 0; i < 100000; ++i) {
        rt.spawn([](Runtime& rt) -> Task<void> { co_await rt.sleep(1ms); }(rt));
        if (i % 100 == 0) co_await rt.yield();
      }
    }(rt));
    rt.run();
    events += rt.steps();
  }
  state.counters["events/s"] = benchmark::Counter(static_cast<double>(events), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Spawn);

Task<int> answer_after(Runtime& rt, Duration d) {
  co_await rt.sleep(d);
  co_return 1;
}

// with_timeout, half the calls winning and half timing out.
void BM_Timeout(benchmark::State& state) {
  std::uint64_t events = 0;
  for (auto _ : state) {
    SimRuntime rt(1);
    rt.spawn([](Runtime& rt) -> Task<void> {
      for (int i = 0; i < 50000; ++i) {
        auto r = co_await rt.with_timeout(answer_after(rt, (i % 2) ? 1ms : 10ms), 5ms);
        benchmark::DoNotOptimize(r);
      }
    }(rt));
    rt.run();
    events += rt.steps();
  }
  state.counters["events/s"] = benchmark::Counter(static_cast<double>(events), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Timeout);

// The mix: spawn, sleep, resume and timeout together, as a workload does.
void BM_Mixed(benchmark::State& state) {
  std::uint64_t events = 0;
  for (auto _ : state) {
    SimRuntime rt(1);
    Rng rng = rt.stream("bench");
    rt.spawn([](Runtime& rt, Rng& rng) -> Task<void> {
      for (int i = 0; i < 20000; ++i) {
        co_await rt.sleep(from_millis(rng.exponential(1.0)));
        rt.spawn([](Runtime& rt, Rng& rng) -> Task<void> {
          co_await rt.sleep(from_millis(rng.uniform(0, 5)));
          auto r = co_await rt.with_timeout(answer_after(rt, from_millis(rng.exponential(0.2))), 8ms);
          benchmark::DoNotOptimize(r);
          co_await rt.sleep(1ms);
        }(rt, rng));
      }
    }(rt, rng));
    rt.run();
    events += rt.steps();
  }
  state.counters["events/s"] = benchmark::Counter(static_cast<double>(events), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Mixed);

}  // namespace
}  // namespace faultline::runtime

BENCHMARK_MAIN();
