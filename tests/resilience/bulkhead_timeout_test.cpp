// Bulkhead and timeout in virtual time: bounded concurrency, a bounded FIFO
// queue, refusals counted, slots returned on cancellation; a timed-out call
// abandoned at its limit and counted.
#include <gtest/gtest.h>

#include <vector>

#include "resilience/bulkhead.h"
#include "resilience/retry.h"
#include "resilience/timeout.h"
#include "test_util.h"

namespace faultline::resilience {
namespace {

using namespace std::chrono_literals;
using testing::at;
using testing::run_task;
using testing::ScriptedService;
using runtime::Runtime;
using runtime::SimRuntime;
using runtime::Task;

TEST(Bulkhead, BoundsConcurrencyAndQueueAndCountsRefusals) {
  SimRuntime rt(1);
  Bulkhead bulkhead(rt, {.max_concurrent = 2, .max_queue = 1}, Observer::named(rt.log(), "b"));
  ScriptedService svc(rt, {{10s, Outcome<int>(1)}});
  std::vector<std::pair<Instant, ErrorClass>> failures;
  std::vector<Instant> done;
  auto client = [](Runtime& rt, Bulkhead& b, ScriptedService& svc,
                   std::vector<std::pair<Instant, ErrorClass>>& failures,
                   std::vector<Instant>& done) -> Task<void> {
    auto r = co_await b.call([&] { return svc.call(); });
    if (r.ok()) {
      done.push_back(rt.now());
    } else {
      failures.emplace_back(rt.now(), r.error_class());
    }
  };
  for (int i = 0; i < 5; ++i) rt.spawn(client(rt, bulkhead, svc, failures, done));
  rt.run();
  // Two run at once, one waits, two are refused at once.
  EXPECT_EQ(done, (std::vector<Instant>{at(10s), at(10s), at(20s)}));
  ASSERT_EQ(failures.size(), 2u);
  EXPECT_EQ(failures[0], std::make_pair(at(0s), ErrorClass::bulkhead_full));
  EXPECT_EQ(bulkhead.counters().rejected, 2u);
  EXPECT_EQ(bulkhead.counters().queued, 1u);
  EXPECT_EQ(bulkhead.counters().peak_in_flight, 2u);
  EXPECT_EQ(bulkhead.in_flight(), 0u);
}

TEST(Bulkhead, TryEnterHandsOutSlotsThatReturnThemselves) {
  SimRuntime rt(1);
  Bulkhead bulkhead(rt, {.max_concurrent = 1});
  {
    auto slot = bulkhead.try_enter();
    EXPECT_TRUE(slot);
    EXPECT_FALSE(bulkhead.try_enter());
    EXPECT_EQ(bulkhead.counters().rejected, 1u);
  }
  EXPECT_TRUE(bulkhead.try_enter());
}

TEST(Bulkhead, ACancelledCallGivesItsSlotBack) {
  SimRuntime rt(1);
  Bulkhead bulkhead(rt, {.max_concurrent = 1});
  ScriptedService svc(rt, {{1h, Outcome<int>(1)}});
  auto id = rt.spawn([](Bulkhead& b, ScriptedService& svc) -> Task<void> {
    (void)co_await b.call([&] { return svc.call(); });
  }(bulkhead, svc));
  rt.run_until(at(1s));
  EXPECT_EQ(bulkhead.in_flight(), 1u);
  EXPECT_TRUE(rt.cancel(id));
  EXPECT_EQ(bulkhead.in_flight(), 0u);
  EXPECT_TRUE(bulkhead.try_enter());
}

TEST(Timeout, AbandonsTheCallAtItsLimitAndCountsIt) {
  SimRuntime rt(1);
  Timeout timeout(2s, Observer::named(rt.log(), "svc"));
  ScriptedService svc(rt, {{30s, Outcome<int>(1)}, {1s, Outcome<int>(2)}});
  auto slow = run_task(rt, [](Runtime& rt, Timeout& t, ScriptedService& svc) -> Task<Outcome<int>> {
    co_return co_await t.call(rt, [&] { return svc.call(); }, 3);
  }(rt, timeout, svc));
  ASSERT_FALSE(slow.ok());
  EXPECT_EQ(slow.error_class(), ErrorClass::timeout);
  EXPECT_EQ(rt.now(), at(2s));
  EXPECT_EQ(svc.finished(), 0u) << "the abandoned call never resumed";
  auto fast = run_task(rt, [](Runtime& rt, Timeout& t, ScriptedService& svc) -> Task<Outcome<int>> {
    co_return co_await t.call(rt, [&] { return svc.call(); }, 4);
  }(rt, timeout, svc));
  ASSERT_TRUE(fast.ok());
  EXPECT_EQ(fast.value(), 2);
  EXPECT_EQ(timeout.counters().calls, 2u);
  EXPECT_EQ(timeout.counters().timed_out, 1u);
  EXPECT_EQ(rt.timeouts_fired(), 1u);
  std::size_t events = 0;
  for (const auto& e : rt.log().events()) {
    if (is<pattern_events::Timeout>(e)) {
      ++events;
      EXPECT_EQ(e.subject, 3u);
      EXPECT_EQ(read<pattern_events::Timeout>(e).limit, 2s);
    }
  }
  EXPECT_EQ(events, 1u);
  EXPECT_EQ(rt.pending_timers(), 0u) << "the winning call's timer was cancelled";
}

TEST(Timeout, AnAnswerThatNeedsNoWaitingArmsNoTimer) {
  SimRuntime rt(1);
  Timeout timeout(2s);
  ScriptedService svc(rt, {{0s, Outcome<int>(3)}});
  auto r = run_task(rt, [](SimRuntime& rt, Timeout& t, ScriptedService& svc) -> Task<Outcome<int>> {
    auto result = co_await t.call(rt, [&] { return svc.call(); });
    EXPECT_EQ(rt.pending_timers(), 0u);  // checked before the runtime could drain anything
    co_return result;
  }(rt, timeout, svc));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value(), 3);
}

TEST(Timeout, AnAnswerExactlyAtTheLimitIsInTime) {
  SimRuntime rt(1);
  Timeout timeout(2s);
  ScriptedService svc(rt, {{2s, Outcome<int>(4)}});
  auto r = run_task(rt, [](Runtime& rt, Timeout& t, ScriptedService& svc) -> Task<Outcome<int>> {
    co_return co_await t.call(rt, [&] { return svc.call(); });
  }(rt, timeout, svc));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(timeout.counters().timed_out, 0u);
}

TEST(Timeout, AnOverallLimitAbandonsAWholeRetriedCall) {
  SimRuntime rt(1);
  ScriptedService svc(rt, {{3s, Failure{ErrorClass::transient, "x"}}});
  RetryPolicy policy;
  policy.max_attempts = 10;
  policy.base_delay = 1s;
  policy.max_delay = 1s;
  Retry retry(policy);
  runtime::Rng rng(1);
  Timeout overall(10s);
  auto r = run_task(rt, [](Runtime& rt, Timeout& t, Retry& retry, runtime::Rng& rng,
                           ScriptedService& svc) -> Task<Outcome<int>> {
    co_return co_await t.call(rt, [&] { return retry.run(rt, rng, [&] { return svc.call(); }); });
  }(rt, overall, retry, rng, svc));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error_class(), ErrorClass::timeout);
  EXPECT_EQ(rt.now(), at(10s));
  // Attempts at 0, 4 and 8 s; the third was cut off mid-call.
  EXPECT_EQ(svc.calls(), (std::vector<Instant>{at(0s), at(4s), at(8s)}));
  EXPECT_EQ(svc.finished(), 2u);
}

TEST(TimeoutPolicyCheck, RefusesEachInvalidValue) {
  EXPECT_EQ(check(TimeoutPolicy{.per_attempt = -1s})->field, "per_attempt");
  EXPECT_EQ(check(TimeoutPolicy{.overall = -1s})->field, "overall");
  EXPECT_EQ(check(TimeoutPolicy{.per_attempt = 10s, .overall = 5s})->field, "overall");
  EXPECT_FALSE(check(TimeoutPolicy{.per_attempt = 5s, .overall = 0s}));
  EXPECT_EQ(check(BulkheadConfig{.max_concurrent = 0})->field, "max_concurrent");
}

}  // namespace
}  // namespace faultline::resilience
