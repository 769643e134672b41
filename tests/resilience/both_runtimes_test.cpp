// The patterns behave the same on both runtimes: the composed pipeline with a
// hung first attempt, a breaker refusal and a bulkhead refusal give the same
// outcomes and counters on the sim runtime and on the live runtime (at a
// time scale of 100, so scenario seconds cost tens of wall milliseconds).
// Nothing here asserts on wall-clock time.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "resilience/pipeline.h"
#include "runtime/live_runtime.h"
#include "runtime/sim_runtime.h"
#include "tests/support/both_runtimes.h"

namespace faultline::resilience {
namespace {

using namespace std::chrono_literals;
using runtime::Duration;
using runtime::Rng;
using runtime::Runtime;
using runtime::Task;

template <class Kind>
class BothRuntimes : public test_support::OnBothRuntimes<Kind> {
 protected:
  BothRuntimes() : test_support::OnBothRuntimes<Kind>(3, 100.0) {}
};
TYPED_TEST_SUITE(BothRuntimes, test_support::BothRuntimes, test_support::RuntimeNames);

// Hangs (for an hour) on its first call, answers after 100 ms afterwards.
struct HangsOnce {
  Runtime& rt;
  int calls = 0;
  Task<Outcome<int>> call() {
    const bool hang = calls++ == 0;
    co_await rt.sleep(hang ? Duration(1h) : Duration(100ms));
    co_return 5;
  }
};

TYPED_TEST(BothRuntimes, PipelineAbandonsAHungAttemptAndRetries) {
  Runtime& rt = *this->rt;
  CircuitBreaker breaker(CircuitBreakerConfig{});
  PipelineConfig config;
  config.retry.max_attempts = 3;
  config.retry.base_delay = 500ms;
  config.retry.max_delay = 500ms;
  config.timeout.per_attempt = 2s;
  Pipeline pipeline(config, {.breaker = &breaker});
  HangsOnce svc{rt};
  Rng rng(1);
  std::optional<Outcome<int>> result;
  rt.spawn([](Runtime& rt, Pipeline& p, Rng& rng, HangsOnce& svc,
              std::optional<Outcome<int>>& out) -> Task<void> {
    out.emplace(co_await p.call(rt, rng, [&] { return svc.call(); }));
  }(rt, pipeline, rng, svc, result));
  rt.run();
  ASSERT_TRUE(result.has_value());
  ASSERT_TRUE(result->ok());
  EXPECT_EQ(result->value(), 5);
  EXPECT_EQ(svc.calls, 2);
  EXPECT_EQ(pipeline.timeout().counters().timed_out, 1u);
  EXPECT_EQ(breaker.counters().failures, 1u);
  EXPECT_EQ(breaker.counters().successes, 1u);
  EXPECT_EQ(rt.live_tasks(), 0u);
}

TYPED_TEST(BothRuntimes, BulkheadQueuesAndRefusesTheSame) {
  Runtime& rt = *this->rt;
  Bulkhead bulkhead(rt, {.max_concurrent = 1, .max_queue = 1});
  int ok = 0;
  int refused = 0;
  for (int i = 0; i < 3; ++i) {
    rt.spawn([](Runtime& rt, Bulkhead& b, int& ok, int& refused) -> Task<void> {
      auto r = co_await b.call([&]() -> Task<Outcome<int>> {
        co_await rt.sleep(200ms);
        co_return 1;
      });
      (r.ok() ? ok : refused) += 1;
    }(rt, bulkhead, ok, refused));
  }
  rt.run();
  EXPECT_EQ(ok, 2);
  EXPECT_EQ(refused, 1);
  EXPECT_EQ(bulkhead.counters().queued, 1u);
}

}  // namespace
}  // namespace faultline::resilience
