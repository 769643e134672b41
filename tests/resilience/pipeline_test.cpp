// The composed pipeline (fallback > bulkhead > retry > breaker > per-attempt
// timeout) in virtual time: each layer doing its part in the documented
// order, the overall deadline cutting attempts short, and byte-identical
// event logs for the same seed.
#include <gtest/gtest.h>

#include <vector>

#include "resilience/pipeline.h"
#include "test_util.h"

namespace faultline::resilience {
namespace {

using namespace std::chrono_literals;
using testing::at;
using testing::fail;
using testing::run_task;
using testing::ScriptedService;
using runtime::Rng;
using runtime::Runtime;
using runtime::SimRuntime;
using runtime::Task;

PipelineConfig config(std::uint32_t attempts, Duration per_attempt, Duration overall = 0s) {
  PipelineConfig c;
  c.retry.max_attempts = attempts;
  c.retry.base_delay = 1s;
  c.retry.multiplier = 2;
  c.retry.max_delay = 8s;
  c.retry.jitter = Jitter::none;
  c.timeout.per_attempt = per_attempt;
  c.timeout.overall = overall;
  return c;
}

Task<Outcome<int>> via(Runtime& rt, Pipeline& p, Rng& rng, ScriptedService& svc) {
  co_return co_await p.call(rt, rng, [&] { return svc.call(); }, 1);
}

TEST(Pipeline, RetriesTransientFailuresThenSucceeds) {
  SimRuntime rt(1);
  CircuitBreaker breaker(CircuitBreakerConfig{});
  Pipeline p(config(3, 5s), {.breaker = &breaker});
  ScriptedService svc(rt, {{0s, fail(ErrorClass::transient)}, {0s, fail(ErrorClass::transient)}, {0s, Outcome<int>(9)}});
  Rng rng(1);
  auto r = run_task(rt, via(rt, p, rng, svc));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value(), 9);
  EXPECT_EQ(svc.calls(), (std::vector<Instant>{at(0s), at(1s), at(3s)}));
  EXPECT_EQ(breaker.counters().failures, 2u);
  EXPECT_EQ(breaker.counters().successes, 1u);
}

TEST(Pipeline, AHungAttemptTimesOutCountsAgainstTheBreakerAndIsRetried) {
  SimRuntime rt(1);
  CircuitBreaker breaker(CircuitBreakerConfig{});
  Pipeline p(config(3, 5s), {.breaker = &breaker});
  ScriptedService svc(rt, {{1h, Outcome<int>(1)}, {2s, Outcome<int>(2)}});
  Rng rng(1);
  auto r = run_task(rt, via(rt, p, rng, svc));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value(), 2);
  EXPECT_EQ(svc.calls(), (std::vector<Instant>{at(0s), at(6s)}));  // 5 s limit + 1 s backoff
  EXPECT_EQ(rt.now(), at(8s));
  EXPECT_EQ(p.timeout().counters().timed_out, 1u);
  EXPECT_EQ(breaker.counters().failures, 1u);
}

TEST(Pipeline, AnOpenBreakerEndsTheRetriesAndTheFallbackAnswers) {
  SimRuntime rt(1);
  CircuitBreakerConfig bc;
  bc.failure_threshold = 2;
  CircuitBreaker breaker(bc);
  Pipeline p(config(5, 5s), {.breaker = &breaker}, Observer::named(rt.log(), "ocr"));
  ScriptedService primary(rt, {{0s, fail(ErrorClass::transient)}});
  ScriptedService backup(rt, {{0s, Outcome<int>(77)}});
  Rng rng(1);
  auto r = run_task(rt, [](Runtime& rt, Pipeline& p, Rng& rng, ScriptedService& primary,
                           ScriptedService& backup) -> Task<Outcome<int>> {
    co_return co_await p.call_or(
        rt, rng, [&] { return primary.call(); },
        [&](const Failure& f) -> Task<Outcome<int>> {
          EXPECT_EQ(f.error_class, ErrorClass::circuit_open);
          return backup.call();
        },
        1);
  }(rt, p, rng, primary, backup));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value(), 77);
  // Two failures open the breaker; the third attempt is refused without a call.
  EXPECT_EQ(primary.calls().size(), 2u);
  EXPECT_EQ(breaker.counters().rejected, 1u);
  EXPECT_EQ(p.retry().counters().attempts, 3u);
  EXPECT_EQ(p.retry().counters().not_retryable, 1u);
  EXPECT_EQ(p.counters().fallbacks, 1u);
}

TEST(Pipeline, FallbackNeverHidesABusinessError) {
  SimRuntime rt(1);
  Pipeline p(config(3, 5s));
  ScriptedService svc(rt, {{0s, fail(ErrorClass::business, "negative total")}});
  Rng rng(1);
  bool fallback_ran = false;
  auto r = run_task(rt, [](Runtime& rt, Pipeline& p, Rng& rng, ScriptedService& svc,
                           bool& ran) -> Task<Outcome<int>> {
    co_return co_await p.call_or(
        rt, rng, [&] { return svc.call(); },
        [&](const Failure&) -> Task<Outcome<int>> {
          ran = true;
          return [](auto) -> Task<Outcome<int>> { co_return 0; }(0);
        });
  }(rt, p, rng, svc, fallback_ran));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error_class(), ErrorClass::business);
  EXPECT_FALSE(fallback_ran);
  EXPECT_EQ(svc.calls().size(), 1u);
}

TEST(Pipeline, TheOverallDeadlineCutsTheLastAttemptShort) {
  SimRuntime rt(1);
  Pipeline p(config(5, 10s, 15s));
  ScriptedService svc(rt, {{1h, Outcome<int>(1)}});
  Rng rng(1);
  auto r = run_task(rt, via(rt, p, rng, svc));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error_class(), ErrorClass::timeout);
  // 0..10 s timed out, 1 s backoff, 11..15 s cut to the 4 s left; the next
  // backoff (2 s) would end past the deadline.
  EXPECT_EQ(svc.calls(), (std::vector<Instant>{at(0s), at(11s)}));
  EXPECT_EQ(rt.now(), at(15s));
  EXPECT_EQ(p.retry().counters().deadline_exceeded, 1u);
}

TEST(Pipeline, TheBulkheadBoundsWholeCalls) {
  SimRuntime rt(1);
  Bulkhead bulkhead(rt, {.max_concurrent = 1, .max_queue = 0});
  Pipeline p(config(3, 5s), {.bulkhead = &bulkhead});
  ScriptedService svc(rt, {{2s, Outcome<int>(1)}});
  Rng rng(1);
  std::vector<ErrorClass> failures;
  std::size_t ok = 0;
  for (int i = 0; i < 3; ++i) {
    rt.spawn([](Runtime& rt, Pipeline& p, Rng& rng, ScriptedService& svc,
                std::vector<ErrorClass>& failures, std::size_t& ok) -> Task<void> {
      auto r = co_await via(rt, p, rng, svc);
      if (r.ok()) {
        ++ok;
      } else {
        failures.push_back(r.error_class());
      }
    }(rt, p, rng, svc, failures, ok));
  }
  rt.run();
  EXPECT_EQ(ok, 1u);
  EXPECT_EQ(failures, (std::vector<ErrorClass>{ErrorClass::bulkhead_full, ErrorClass::bulkhead_full}));
  EXPECT_EQ(bulkhead.counters().rejected, 2u);
}

std::uint64_t run_scenario(std::uint64_t seed) {
  SimRuntime rt(seed);
  CircuitBreakerConfig bc;
  bc.trip = TripMode::failure_rate;
  bc.window_calls = 10;
  bc.minimum_calls = 5;
  bc.open_duration = 5s;
  CircuitBreaker breaker(bc, Observer::named(rt.log(), "svc"));
  auto c = config(4, 2s);
  c.retry.jitter = Jitter::full;
  Pipeline p(c, {.breaker = &breaker}, Observer::named(rt.log(), "svc"));
  Rng service_rng = rt.stream("service");
  Rng retry_rng = rt.stream("retry");
  struct Flaky {
    Runtime& rt;
    Rng& rng;
    Task<Outcome<int>> call() {
      const double u = rng.uniform01();
      co_await rt.sleep(Duration(static_cast<std::int64_t>(rng.uniform(0, 3e9))));
      if (u < 0.4) co_return Failure{ErrorClass::transient, "flaky"};
      co_return 1;
    }
  } flaky{rt, service_rng};
  for (int i = 0; i < 50; ++i) {
    rt.spawn([](Runtime& rt, Pipeline& p, Rng& rng, Flaky& f, int i) -> Task<void> {
      co_await rt.sleep(std::chrono::milliseconds(300) * i);
      (void)co_await p.call(rt, rng, [&] { return f.call(); }, static_cast<std::uint64_t>(i));
    }(rt, p, retry_rng, flaky, i));
  }
  rt.run();
  EXPECT_GT(rt.log().appended(), 100u);
  return rt.log().digest();
}

TEST(Pipeline, SameSeedGivesAByteIdenticalEventLog) {
  EXPECT_EQ(run_scenario(5), run_scenario(5));
  EXPECT_NE(run_scenario(5), run_scenario(6));
}

TEST(PipelineConfigCheck, NamesTheNestedField) {
  auto c = config(0, 5s);
  EXPECT_EQ(check(c)->field, "retry.max_attempts");
  c = config(3, -1s);
  EXPECT_EQ(check(c)->field, "timeout.per_attempt");
}

}  // namespace
}  // namespace faultline::resilience
