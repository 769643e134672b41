// Happy-path cost of the resilience patterns: time per call and heap
// allocations per call (counted by the replaced global operator new in
// allocation_counter.cpp).
// Two families, reported separately because they measure different things:
//
//   Sync/...  the plain state machines a caller drives itself
//             (CircuitBreaker::try_acquire/on_result, RetryBudget, Backoff).
//   Co/...    the coroutine forms on the sim runtime, awaited from one driver
//             coroutine per batch of calls. Each call awaits an operation that
//             is itself a Task (one frame allocation); Co/baseline measures
//             exactly that, so a pattern's own cost is its figure minus
//             baseline's.
//
// Co/... comes in two flavours. In the plain one the operation answers
// without suspending, so a timeout never needs its timer (the guarded call
// runs the operation to its first suspension before arming one). In
// Co/.../suspending the operation yields to the runtime once before
// answering, as a real service call does, so the timer is armed and
// cancelled every call; cancelled timers stay in the sim runtime's heap until
// virtual time passes their deadline, so each batch runs the runtime until
// it is idle, inside the timed region.
#include <benchmark/benchmark.h>

#include <cstdint>

#include "resilience/resilience.h"
#include "runtime/sim_runtime.h"

#include "bench/resilience/allocation_counter.h"

namespace {

using namespace std::chrono_literals;
using namespace faultline;
using namespace faultline::resilience;
using runtime::Instant;
using runtime::Rng;
using runtime::SimRuntime;
using runtime::Task;

constexpr std::int64_t kBatch = 1000;

struct AllocationMark {
  std::uint64_t count = allocations();
  std::uint64_t bytes = allocated_bytes();
};

void report_allocations(benchmark::State& state, const AllocationMark& before) {
  state.counters["allocs/call"] = benchmark::Counter(
      static_cast<double>(allocations() - before.count), benchmark::Counter::kAvgIterations);
  state.counters["bytes/call"] = benchmark::Counter(
      static_cast<double>(allocated_bytes() - before.bytes), benchmark::Counter::kAvgIterations);
}

// ---------------------------------------------------------------------------
// Plain state machines.

CircuitBreakerConfig breaker_config(int kind) {
  CircuitBreakerConfig c;
  if (kind == 1) {
    c.trip = TripMode::failure_rate;
    c.window = WindowKind::count_based;
    c.window_calls = 100;
  } else if (kind == 2) {
    c.trip = TripMode::failure_rate;
    c.window = WindowKind::time_based;
    c.window_duration = 10s;
  }
  return c;
}

void Sync_breaker(benchmark::State& state) {
  CircuitBreaker breaker(breaker_config(static_cast<int>(state.range(0))));
  Instant now{};
  const AllocationMark before;
  for (auto _ : state) {
    now += 1us;  // time moves, so the time window rolls buckets as it would
    auto permit = breaker.try_acquire(now);
    benchmark::DoNotOptimize(permit);
    breaker.on_success(permit, now);
  }
  report_allocations(state, before);
  if (breaker.counters().successes != static_cast<std::uint64_t>(state.iterations())) {
    state.SkipWithError("breaker did not count every call");
  }
}
BENCHMARK(Sync_breaker)->Arg(0)->Arg(1)->Arg(2)->ArgName("consecutive0_count1_time2");

void Sync_retry_budget(benchmark::State& state) {
  // The retry's happy-path bookkeeping when a budget is configured.
  RetryBudget budget({});
  Instant now{};
  const AllocationMark before;
  for (auto _ : state) {
    now += 1us;
    budget.record_call(now);
  }
  report_allocations(state, before);
  benchmark::DoNotOptimize(budget.calls_in_window(now));
}
BENCHMARK(Sync_retry_budget);

void Sync_backoff_delay(benchmark::State& state) {
  // The failure path's delay computation, for reference (not a happy path).
  RetryPolicy policy;
  policy.max_attempts = 6;
  policy.jitter = static_cast<Jitter>(state.range(0));
  Rng rng(1);
  const AllocationMark before;
  for (auto _ : state) {
    Backoff backoff(policy);
    benchmark::DoNotOptimize(backoff.next(rng));
    benchmark::DoNotOptimize(backoff.next(rng));
    benchmark::DoNotOptimize(backoff.next(rng));
  }
  report_allocations(state, before);
  state.SetItemsProcessed(state.iterations() * 3);
}
BENCHMARK(Sync_backoff_delay)->DenseRange(0, 3)->ArgName("none0_full1_equal2_decorrelated3");

void Sync_composed(benchmark::State& state) {
  // What the pipeline's happy path does, driven by hand: budget bookkeeping,
  // breaker admission, a deadline check standing in for the timer, breaker
  // result.
  CircuitBreaker breaker(breaker_config(1));
  RetryBudget budget({});
  Instant now{};
  const runtime::Duration limit = 5s;
  const AllocationMark before;
  std::int64_t sink = 0;
  for (auto _ : state) {
    now += 1us;
    budget.record_call(now);
    auto permit = breaker.try_acquire(now);
    if (!permit) continue;
    const Instant deadline = now + limit;
    sink += 1;  // the call
    benchmark::DoNotOptimize(sink);
    if (now >= deadline) {
      const Failure f{ErrorClass::timeout, "t"};
      breaker.on_failure(permit, now, f);
    } else {
      breaker.on_success(permit, now);
    }
  }
  report_allocations(state, before);
}
BENCHMARK(Sync_composed);

void Sync_event_record(benchmark::State& state) {
  // One resilience event into the runtime's log (not kept, only counted and
  // digested): what an Observer costs per event when a log is attached.
  SimRuntime rt(1);
  rt.log().set_retain(false);
  const Observer observer = Observer::named(rt.log(), "svc");
  const AllocationMark before;
  std::uint64_t subject = 0;
  for (auto _ : state) observer.record(++subject, pattern_events::Attempt{1});
  report_allocations(state, before);
  benchmark::DoNotOptimize(rt.log().digest());
}
BENCHMARK(Sync_event_record);

// ---------------------------------------------------------------------------
// Coroutine forms.

Task<Outcome<int>> answer() { co_return 1; }

template <class Body>
Task<void> drive(std::int64_t n, Body& body, std::int64_t& sink) {
  for (std::int64_t i = 0; i < n; ++i) {
    auto r = co_await body();
    sink += r.ok() ? r.value() : -1000;
  }
}

// Runs `body` kBatch times per batch on a sim runtime, then drains timers.
template <class Body>
void run_batches(benchmark::State& state, SimRuntime& rt, Body body) {
  std::int64_t sink = 0;
  const AllocationMark before;
  while (state.KeepRunningBatch(kBatch)) {
    (void)run_now(drive(kBatch, body, sink));
    rt.run_for(1h);  // pops the batch's cancelled timers
  }
  report_allocations(state, before);
  if (sink != state.iterations()) state.SkipWithError("a call failed");
}

Task<Outcome<int>> answer_after_yield(runtime::Runtime& rt) {
  co_await rt.yield();
  co_return 1;
}

// As run_batches, for operations that suspend: the driver runs on the runtime.
template <class Body>
void run_batches_on_runtime(benchmark::State& state, SimRuntime& rt, Body body) {
  std::int64_t sink = 0;
  const AllocationMark before;
  while (state.KeepRunningBatch(kBatch)) {
    rt.spawn(drive(kBatch, body, sink));
    rt.run();
  }
  report_allocations(state, before);
  if (sink != state.iterations()) state.SkipWithError("a call failed");
}

void Co_baseline_suspending(benchmark::State& state) {
  SimRuntime rt(1);
  run_batches_on_runtime(state, rt, [&] { return answer_after_yield(rt); });
}
BENCHMARK(Co_baseline_suspending);

void Co_breaker_suspending(benchmark::State& state) {
  SimRuntime rt(1);
  CircuitBreaker breaker(breaker_config(1));
  run_batches_on_runtime(state, rt,
                         [&] { return breaker.call(rt, [&] { return answer_after_yield(rt); }); });
}
BENCHMARK(Co_breaker_suspending);

void Co_timeout_suspending(benchmark::State& state) {
  SimRuntime rt(1);
  Timeout timeout(5s);
  run_batches_on_runtime(state, rt,
                         [&] { return timeout.call(rt, [&] { return answer_after_yield(rt); }); });
}
BENCHMARK(Co_timeout_suspending);

void Co_retry_suspending(benchmark::State& state) {
  SimRuntime rt(1);
  RetryPolicy policy;
  policy.jitter = Jitter::full;
  Retry retry(policy);
  Rng rng(1);
  run_batches_on_runtime(state, rt, [&] {
    return retry.run(rt, rng, [&] { return answer_after_yield(rt); });
  });
}
BENCHMARK(Co_retry_suspending);

PipelineConfig pipeline_config();

void Co_pipeline_suspending(benchmark::State& state) {
  SimRuntime rt(1);
  CircuitBreaker breaker(breaker_config(1));
  RetryBudget budget({});
  Pipeline pipeline(pipeline_config(), {.breaker = &breaker, .budget = &budget});
  Rng rng(1);
  run_batches_on_runtime(state, rt, [&] {
    return pipeline.call(rt, rng, [&] { return answer_after_yield(rt); });
  });
}
BENCHMARK(Co_pipeline_suspending);

void Co_baseline(benchmark::State& state) {
  SimRuntime rt(1);
  run_batches(state, rt, [] { return answer(); });
}
BENCHMARK(Co_baseline);

void Co_breaker(benchmark::State& state) {
  SimRuntime rt(1);
  CircuitBreaker breaker(breaker_config(1));
  run_batches(state, rt, [&] { return breaker.call(rt, [] { return answer(); }); });
}
BENCHMARK(Co_breaker);

void Co_timeout(benchmark::State& state) {
  SimRuntime rt(1);
  Timeout timeout(5s);
  run_batches(state, rt, [&] { return timeout.call(rt, [] { return answer(); }); });
}
BENCHMARK(Co_timeout);

void Co_retry(benchmark::State& state) {
  SimRuntime rt(1);
  RetryPolicy policy;
  policy.jitter = Jitter::full;
  Retry retry(policy);
  Rng rng(1);
  run_batches(state, rt, [&] { return retry.run(rt, rng, [] { return answer(); }); });
}
BENCHMARK(Co_retry);

PipelineConfig pipeline_config() {
  PipelineConfig c;
  c.retry.max_attempts = 3;
  c.retry.jitter = Jitter::full;
  c.timeout.per_attempt = 5s;
  c.timeout.overall = 20s;
  return c;
}

void Co_pipeline(benchmark::State& state) {
  // retry + breaker + per-attempt timeout + overall deadline + retry budget.
  SimRuntime rt(1);
  CircuitBreaker breaker(breaker_config(1));
  RetryBudget budget({});
  Pipeline pipeline(pipeline_config(), {.breaker = &breaker, .budget = &budget});
  Rng rng(1);
  run_batches(state, rt, [&] { return pipeline.call(rt, rng, [] { return answer(); }); });
}
BENCHMARK(Co_pipeline);

void Co_pipeline_with_fallback(benchmark::State& state) {
  // Five strategies: fallback + retry + breaker + timeout + budget.
  SimRuntime rt(1);
  CircuitBreaker breaker(breaker_config(1));
  RetryBudget budget({});
  Pipeline pipeline(pipeline_config(), {.breaker = &breaker, .budget = &budget});
  Rng rng(1);
  run_batches(state, rt, [&] {
    return pipeline.call_or(rt, rng, [] { return answer(); },
                            [](const Failure&) { return answer(); });
  });
}
BENCHMARK(Co_pipeline_with_fallback);

void Co_pipeline_logged(benchmark::State& state) {
  // As Co_pipeline, recording its events (attempt, call_succeeded) to the
  // runtime's event log; events are digested and counted but not kept, so
  // memory stays flat over millions of calls.
  SimRuntime rt(1);
  rt.log().set_retain(false);
  CircuitBreaker breaker(breaker_config(1), Observer::named(rt.log(), "svc"));
  RetryBudget budget({});
  Pipeline pipeline(pipeline_config(), {.breaker = &breaker, .budget = &budget},
                    Observer::named(rt.log(), "svc"));
  Rng rng(1);
  run_batches(state, rt, [&] { return pipeline.call(rt, rng, [] { return answer(); }); });
}
BENCHMARK(Co_pipeline_logged);

void Co_bulkhead(benchmark::State& state) {
  SimRuntime rt(1);
  Bulkhead bulkhead(rt, {.max_concurrent = 8, .max_queue = 8});
  run_batches(state, rt, [&] { return bulkhead.call([] { return answer(); }); });
}
BENCHMARK(Co_bulkhead);

}  // namespace

BENCHMARK_MAIN();
