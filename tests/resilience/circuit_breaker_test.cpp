// The circuit breaker, step by step in virtual time: trips at exactly its
// threshold under consecutive counting and under both window kinds, the
// minimum-calls rule, slow calls, open duration, half-open probe limits, the
// probe timeout (a hung probe cannot keep it half-open), stale results, and
// the coroutine form's refusal as a value.
#include <gtest/gtest.h>

#include <stdexcept>

#include "resilience/circuit_breaker.h"
#include "test_util.h"

namespace faultline::resilience {
namespace {

using namespace std::chrono_literals;
using testing::at;
using testing::fail;
using testing::run_task;
using testing::ScriptedService;
using runtime::Runtime;
using runtime::SimRuntime;
using runtime::Task;

const Failure kTransient{ErrorClass::transient, "x"};

// One call at `t` that ends at `t` with the given result.
void call(CircuitBreaker& b, Instant t, bool failure) {
  auto permit = b.try_acquire(t);
  ASSERT_TRUE(permit) << "refused at " << runtime::seconds_since_epoch(t);
  b.on_result(permit, t, failure ? &kTransient : nullptr);
}

CircuitBreakerConfig consecutive(std::uint32_t threshold) {
  CircuitBreakerConfig c;
  c.trip = TripMode::consecutive_failures;
  c.failure_threshold = threshold;
  c.open_duration = 30s;
  c.half_open_probes = 2;
  c.probe_timeout = 5s;
  return c;
}

CircuitBreakerConfig rate_over_calls(double rate, std::uint32_t window, std::uint32_t minimum) {
  CircuitBreakerConfig c;
  c.trip = TripMode::failure_rate;
  c.failure_rate_threshold = rate;
  c.window = WindowKind::count_based;
  c.window_calls = window;
  c.minimum_calls = minimum;
  return c;
}

CircuitBreakerConfig rate_over_time(double rate, Duration window, std::uint32_t minimum) {
  CircuitBreakerConfig c;
  c.trip = TripMode::failure_rate;
  c.failure_rate_threshold = rate;
  c.window = WindowKind::time_based;
  c.window_duration = window;
  c.minimum_calls = minimum;
  return c;
}

TEST(CircuitBreaker, ConsecutiveFailuresTripAtExactlyTheThreshold) {
  CircuitBreaker b(consecutive(3));
  call(b, at(0s), true);
  call(b, at(1s), true);
  EXPECT_EQ(b.state(at(1s)), BreakerState::closed);
  call(b, at(2s), true);
  EXPECT_EQ(b.state(at(2s)), BreakerState::open);
  EXPECT_EQ(b.counters().opened, 1u);
}

TEST(CircuitBreaker, ASuccessResetsTheConsecutiveCount) {
  CircuitBreaker b(consecutive(3));
  call(b, at(0s), true);
  call(b, at(0s), true);
  call(b, at(0s), false);
  call(b, at(0s), true);
  call(b, at(0s), true);
  EXPECT_EQ(b.state(at(0s)), BreakerState::closed);
  call(b, at(0s), true);
  EXPECT_EQ(b.state(at(0s)), BreakerState::open);
}

TEST(CircuitBreaker, RefusalWhileOpenIsAValueAndIsCounted) {
  SimRuntime rt(1);
  CircuitBreaker b(consecutive(1), Observer::named(rt.log(), "svc"));
  call(b, at(0s), true);
  ScriptedService svc(rt, {{0ms, Outcome<int>(1)}});
  auto r = run_task(rt, [](Runtime& rt, CircuitBreaker& b, ScriptedService& svc) -> Task<Outcome<int>> {
    co_return co_await b.call(rt, [&] { return svc.call(); });
  }(rt, b, svc));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error_class(), ErrorClass::circuit_open);
  EXPECT_TRUE(svc.calls().empty()) << "an open breaker must not call the service";
  EXPECT_EQ(b.counters().rejected, 1u);
}

TEST(CircuitBreaker, CountWindowTripsAtExactlyTheRate) {
  // 50% of the last 10 calls, at least 10 calls.
  CircuitBreaker b(rate_over_calls(0.5, 10, 10));
  for (int i = 0; i < 5; ++i) call(b, at(0s), false);
  for (int i = 0; i < 4; ++i) call(b, at(0s), true);
  EXPECT_EQ(b.state(at(0s)), BreakerState::closed) << "9 calls: below the minimum";
  call(b, at(0s), true);  // 5 of 10
  EXPECT_EQ(b.state(at(0s)), BreakerState::open);
}

TEST(CircuitBreaker, CountWindowJustBelowTheRateStaysClosed) {
  CircuitBreaker b(rate_over_calls(0.7, 10, 10));
  for (int i = 0; i < 4; ++i) call(b, at(0s), false);
  for (int i = 0; i < 6; ++i) call(b, at(0s), true);  // 6 of 10 < 0.7
  EXPECT_EQ(b.state(at(0s)), BreakerState::closed);
  call(b, at(0s), true);  // slides out a success: 7 of 10 = 0.7
  EXPECT_EQ(b.state(at(0s)), BreakerState::open);
}

TEST(CircuitBreaker, CountWindowForgetsCallsThatSlideOut) {
  CircuitBreaker b(rate_over_calls(0.5, 4, 4));
  call(b, at(0s), true);
  call(b, at(0s), false);
  call(b, at(0s), false);
  call(b, at(0s), false);  // 1 of 4
  call(b, at(0s), false);  // the failure slides out: 0 of 4
  EXPECT_EQ(b.window_failures(at(0s)), 0u);
  EXPECT_EQ(b.window_calls(at(0s)), 4u);
  call(b, at(0s), true);
  EXPECT_EQ(b.state(at(0s)), BreakerState::closed);  // 1 of 4
  call(b, at(0s), true);                             // 2 of 4
  EXPECT_EQ(b.state(at(0s)), BreakerState::open);
}

TEST(CircuitBreaker, TimeWindowTripsAtExactlyTheRate) {
  // 50% over 10 s, at least 4 calls.
  CircuitBreaker b(rate_over_time(0.5, 10s, 4));
  call(b, at(0s), false);
  call(b, at(1s), false);
  call(b, at(2s), true);
  EXPECT_EQ(b.state(at(2s)), BreakerState::closed) << "3 calls: below the minimum";
  call(b, at(3s), true);  // 2 of 4
  EXPECT_EQ(b.state(at(3s)), BreakerState::open);
}

TEST(CircuitBreaker, TimeWindowAgesOutOldCalls) {
  CircuitBreaker b(rate_over_time(0.5, 10s, 4));
  call(b, at(0s), true);
  call(b, at(0s), true);
  call(b, at(0s), false);  // 2 of 3 failures, below the minimum
  EXPECT_EQ(b.window_calls(at(9s)), 3u);
  // At 10 s the first bucket (0..1 s) has left the window.
  EXPECT_EQ(b.window_calls(at(10s)), 0u);
  call(b, at(10s), true);
  EXPECT_EQ(b.state(at(10s)), BreakerState::closed) << "the old failures must not count";
  EXPECT_EQ(b.window_failures(at(10s)), 1u);
}

TEST(CircuitBreaker, SuccessThatCompletesTheMinimumCanTrip) {
  CircuitBreaker b(rate_over_calls(0.5, 10, 4));
  call(b, at(0s), true);
  call(b, at(0s), true);
  call(b, at(0s), true);
  EXPECT_EQ(b.state(at(0s)), BreakerState::closed);
  call(b, at(0s), false);  // 3 of 4 once the minimum is met
  EXPECT_EQ(b.state(at(0s)), BreakerState::open);
}

TEST(CircuitBreaker, SlowCallsCountAsFailures) {
  auto config = consecutive(2);
  config.slow_call_threshold = 2s;
  CircuitBreaker b(config);
  auto p1 = b.try_acquire(at(0s));
  b.on_success(p1, at(2s));  // exactly the threshold: not slow
  EXPECT_EQ(b.consecutive_failures(), 0u);
  auto p2 = b.try_acquire(at(2s));
  b.on_success(p2, at(5s));  // 3 s: slow
  auto p3 = b.try_acquire(at(5s));
  b.on_success(p3, at(8s));
  EXPECT_EQ(b.state(at(8s)), BreakerState::open);
  EXPECT_EQ(b.counters().slow_calls, 2u);
}

TEST(CircuitBreaker, BusinessErrorsDoNotCount) {
  CircuitBreaker b(consecutive(1));
  auto p = b.try_acquire(at(0s));
  const Failure business{ErrorClass::business, "bad invoice"};
  b.on_failure(p, at(0s), business);
  EXPECT_EQ(b.state(at(0s)), BreakerState::closed);
}

TEST(CircuitBreaker, OpenDurationThenHalfOpenWithLimitedProbes) {
  CircuitBreaker b(consecutive(1));  // 2 probes, open 30 s
  call(b, at(0s), true);
  EXPECT_FALSE(b.try_acquire(at(29s)));
  EXPECT_EQ(b.state(at(29s)), BreakerState::open);
  auto p1 = b.try_acquire(at(30s));
  ASSERT_TRUE(p1);
  EXPECT_TRUE(p1.probe);
  EXPECT_EQ(b.last_state(), BreakerState::half_open);
  auto p2 = b.try_acquire(at(30s));
  ASSERT_TRUE(p2);
  EXPECT_FALSE(b.try_acquire(at(30s))) << "only two probes may be out";
  b.on_success(p1, at(31s));
  EXPECT_EQ(b.state(at(31s)), BreakerState::half_open);
  EXPECT_FALSE(b.try_acquire(at(31s))) << "a finished probe does not free a new one";
  b.on_success(p2, at(31s));
  EXPECT_EQ(b.state(at(31s)), BreakerState::closed);
  EXPECT_EQ(b.counters().closed, 1u);
}

TEST(CircuitBreaker, AFailedProbeReopens) {
  CircuitBreaker b(consecutive(1));
  call(b, at(0s), true);
  auto p1 = b.try_acquire(at(30s));
  auto p2 = b.try_acquire(at(30s));
  b.on_failure(p1, at(31s), kTransient);
  EXPECT_EQ(b.state(at(31s)), BreakerState::open);
  EXPECT_EQ(b.open_until(), at(61s));
  b.on_success(p2, at(32s));  // late: its half-open period is over
  EXPECT_EQ(b.state(at(32s)), BreakerState::open);
  EXPECT_EQ(b.counters().stale_results, 1u);
}

TEST(CircuitBreaker, AProbeNeverReportedTimesOutAsAFailure) {
  CircuitBreaker b(consecutive(1));  // probe timeout 5 s
  call(b, at(0s), true);
  auto probe = b.try_acquire(at(30s));
  ASSERT_TRUE(probe);
  (void)b.try_acquire(at(30s));
  EXPECT_EQ(b.state(at(34s)), BreakerState::half_open);
  EXPECT_EQ(b.state(at(35s)), BreakerState::open) << "the probe timed out";
  EXPECT_EQ(b.counters().probe_timeouts, 1u);
  b.on_success(probe, at(36s));
  EXPECT_EQ(b.state(at(36s)), BreakerState::open) << "its late success must not close it";
}

TEST(CircuitBreaker, AHungProbeIsAbandonedAtTheProbeTimeout) {
  SimRuntime rt(1);
  CircuitBreaker b(consecutive(1), Observer::named(rt.log(), "svc"));
  call(b, at(0s), true);
  rt.run_until(at(30s));
  ScriptedService svc(rt, {{1h, Outcome<int>(1)}});  // hangs for an hour
  auto r = run_task(rt, [](Runtime& rt, CircuitBreaker& b, ScriptedService& svc) -> Task<Outcome<int>> {
    co_return co_await b.call(rt, [&] { return svc.call(); });
  }(rt, b, svc));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error_class(), ErrorClass::timeout);
  EXPECT_EQ(rt.now(), at(35s)) << "abandoned after the 5 s probe timeout, not after an hour";
  EXPECT_EQ(svc.finished(), 0u);
  EXPECT_EQ(b.state(rt.now()), BreakerState::open);
}

TEST(CircuitBreaker, TransitionsAreRecordedAsEvents) {
  SimRuntime rt(1);
  CircuitBreaker b(consecutive(1), Observer::named(rt.log(), "svc"));
  call(b, at(0s), true);
  auto p = b.try_acquire(at(30s));
  b.on_success(p, at(30s));
  auto p2 = b.try_acquire(at(30s));
  b.on_success(p2, at(30s));
  using S = BreakerState;
  std::vector<std::pair<S, S>> transitions;
  for (const auto& e : rt.log().events()) {
    if (is<pattern_events::BreakerTransition>(e)) {
      const auto t = read<pattern_events::BreakerTransition>(e);
      transitions.emplace_back(t.from, t.to);
    }
  }
  EXPECT_EQ(transitions, (std::vector<std::pair<S, S>>{{S::closed, S::open}, {S::open, S::half_open},
                                                       {S::half_open, S::closed}}));
}

TEST(CircuitBreaker, AnOperationThatThrowsCountsAsAFailureAndTheExceptionGoesOn) {
  SimRuntime rt(1);
  CircuitBreaker b(consecutive(1));
  bool caught = false;
  rt.spawn([](Runtime& rt, CircuitBreaker& b, bool& caught) -> Task<void> {
    try {
      (void)co_await b.call(rt, []() -> Task<Outcome<int>> {
        throw std::runtime_error("bug");
        co_return 0;
      });
    } catch (const std::runtime_error&) {
      caught = true;
    }
  }(rt, b, caught));
  rt.run();
  EXPECT_TRUE(caught);
  EXPECT_EQ(b.state(rt.now()), BreakerState::open);
}

TEST(CircuitBreakerCheck, RefusesEachInvalidValue) {
  auto c = consecutive(0);
  EXPECT_EQ(check(c)->field, "failure_threshold");
  EXPECT_EQ(check(rate_over_calls(1.5, 10, 10))->field, "failure_rate");
  EXPECT_EQ(check(rate_over_calls(0.0, 10, 10))->field, "failure_rate");
  EXPECT_EQ(check(rate_over_calls(0.5, 0, 10))->field, "window_calls");
  EXPECT_EQ(check(rate_over_calls(0.5, 10, 0))->field, "minimum_calls");
  EXPECT_EQ(check(rate_over_calls(0.5, 10, 11))->field, "minimum_calls");
  EXPECT_FALSE(check(rate_over_time(0.5, 10s, 1000))) << "a time window has no call limit";
  EXPECT_EQ(check(rate_over_time(0.5, 0s, 10))->field, "window_duration");
  c = consecutive(1);
  c.half_open_probes = 0;
  EXPECT_EQ(check(c)->field, "half_open_probes");
  c = consecutive(1);
  c.open_duration = -1s;
  EXPECT_EQ(check(c)->field, "open_duration");
  c = consecutive(1);
  c.probe_timeout = 0s;
  EXPECT_EQ(check(c)->field, "probe_timeout");
  c = consecutive(1);
  c.slow_call_threshold = -1s;
  EXPECT_EQ(check(c)->field, "slow_call_threshold");
}

}  // namespace
}  // namespace faultline::resilience
