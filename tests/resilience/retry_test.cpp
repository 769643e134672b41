// Retry, step by step in virtual time: the exact delay schedule for a seed
// under each jitter kind, which failures are retried, the deadline, the
// retry budget, and the events the loop records.
#include <gtest/gtest.h>

#include <vector>

#include "resilience/retry.h"
#include "test_util.h"

namespace faultline::resilience {
namespace {

using namespace std::chrono_literals;
using testing::at;
using testing::fail;
using testing::run_task;
using testing::ScriptedService;
using runtime::Rng;
using runtime::SimRuntime;

RetryPolicy policy_with(Jitter jitter) {
  RetryPolicy p;
  p.max_attempts = 6;
  p.base_delay = 1s;
  p.multiplier = 2.0;
  p.max_delay = 8s;
  p.jitter = jitter;
  return p;
}

std::vector<Duration> schedule(const RetryPolicy& p, std::uint64_t seed, int n) {
  Rng rng(seed);
  Backoff backoff(p);
  std::vector<Duration> out;
  for (int i = 0; i < n; ++i) out.push_back(backoff.next(rng));
  return out;
}

TEST(Backoff, NoJitterDoublesUpToTheCap) {
  EXPECT_EQ(schedule(policy_with(Jitter::none), 1, 6),
            (std::vector<Duration>{1s, 2s, 4s, 8s, 8s, 8s}));
}

TEST(Backoff, ArticleScheduleOneTwoFourSeconds) {
  RetryPolicy p;
  p.max_attempts = 4;
  p.base_delay = 1s;
  p.max_delay = 30s;
  EXPECT_EQ(schedule(p, 1, 3), (std::vector<Duration>{1s, 2s, 4s}));
}

TEST(Backoff, FullJitterDrawsUniformlyBelowTheCappedDelay) {
  const auto p = policy_with(Jitter::full);
  const auto got = schedule(p, 42, 6);
  Rng rng(42);
  const std::int64_t capped[] = {1'000'000'000, 2'000'000'000, 4'000'000'000, 8'000'000'000,
                                 8'000'000'000, 8'000'000'000};
  for (int i = 0; i < 6; ++i) {
    const auto expected = static_cast<std::int64_t>(
        rng.uniform_int(0, static_cast<std::uint64_t>(capped[i])));
    EXPECT_EQ(got[i].count(), expected) << "retry " << i + 1;
    EXPECT_LE(got[i].count(), capped[i]);
  }
}

TEST(Backoff, EqualJitterKeepsAtLeastHalf) {
  const auto p = policy_with(Jitter::equal);
  const auto got = schedule(p, 42, 6);
  Rng rng(42);
  const std::int64_t capped[] = {1'000'000'000, 2'000'000'000, 4'000'000'000, 8'000'000'000,
                                 8'000'000'000, 8'000'000'000};
  for (int i = 0; i < 6; ++i) {
    const std::int64_t half = capped[i] / 2;
    const auto expected =
        half + static_cast<std::int64_t>(rng.uniform_int(0, static_cast<std::uint64_t>(half)));
    EXPECT_EQ(got[i].count(), expected) << "retry " << i + 1;
    EXPECT_GE(got[i].count(), half);
    EXPECT_LE(got[i].count(), capped[i]);
  }
}

TEST(Backoff, DecorrelatedJitterDrawsFromBaseToThreeTimesThePreviousCapped) {
  const auto p = policy_with(Jitter::decorrelated);
  const auto got = schedule(p, 42, 6);
  Rng rng(42);
  std::int64_t previous = 1'000'000'000;
  for (int i = 0; i < 6; ++i) {
    const std::int64_t upper = std::min<std::int64_t>(8'000'000'000, previous * 3);
    const auto expected = static_cast<std::int64_t>(
        rng.uniform_int(1'000'000'000, static_cast<std::uint64_t>(upper)));
    EXPECT_EQ(got[i].count(), expected) << "retry " << i + 1;
    EXPECT_GE(got[i], 1s);
    EXPECT_LE(got[i], 8s);
    previous = expected;
  }
}

TEST(Backoff, JitterBeforeTheCapPilesDelaysOnTheCap) {
  // Retry 6: the uncapped delay is 32 s against an 8 s cap. Jittered after
  // the cap, full jitter spreads retries over [0, 8 s]; jittered before it,
  // three draws in four exceed 8 s and are clamped to exactly 8 s.
  auto p = policy_with(Jitter::full);
  Rng rng(7);
  int at_cap_after = 0;
  int at_cap_before = 0;
  constexpr int kDraws = 4000;
  for (int i = 0; i < kDraws; ++i) {
    p.jitter_order = JitterOrder::after_cap;
    const auto after = backoff_delay(p, 6, 1s, rng);
    p.jitter_order = JitterOrder::before_cap;
    const auto before = backoff_delay(p, 6, 1s, rng);
    EXPECT_LE(after, 8s);
    EXPECT_LE(before, 8s);
    at_cap_after += after == 8s ? 1 : 0;
    at_cap_before += before == 8s ? 1 : 0;
  }
  EXPECT_LE(at_cap_after, 2);
  EXPECT_NEAR(static_cast<double>(at_cap_before) / kDraws, 0.75, 0.03);

  // Below the cap the two orders draw from the same range.
  p.jitter_order = JitterOrder::before_cap;
  Rng a(42);
  Rng b(42);
  auto q = p;
  q.jitter_order = JitterOrder::after_cap;
  EXPECT_EQ(backoff_delay(p, 2, 1s, a), backoff_delay(q, 2, 1s, b));

  // Decorrelated and equal jitter clamp the same way, and stay within [0, cap].
  for (auto kind : {Jitter::equal, Jitter::decorrelated}) {
    p.jitter = kind;
    Backoff backoff(p);
    for (int i = 0; i < 8; ++i) {
      const auto d = backoff.next(rng);
      EXPECT_GE(d, Duration::zero());
      EXPECT_LE(d, 8s);
    }
  }
}

TEST(Backoff, ASeedPinsTheScheduleForEachJitterKind) {
  // Golden values for seed 42 (base 1 s, x2, cap 8 s), in nanoseconds. A
  // change here changes the replay of every scenario that retries.
  auto ns = [](std::initializer_list<std::int64_t> v) {
    std::vector<Duration> out;
    for (auto x : v) out.emplace_back(x);
    return out;
  };
  EXPECT_EQ(schedule(policy_with(Jitter::none), 42, 4),
            ns({1000000000, 2000000000, 4000000000, 8000000000}));
  EXPECT_EQ(schedule(policy_with(Jitter::full), 42, 4),
            ns({83862971, 757960501, 2720173644, 7397543563}));
  EXPECT_EQ(schedule(policy_with(Jitter::equal), 42, 4),
            ns({541931485, 1378980251, 3360086822, 7698771782}));
  EXPECT_EQ(schedule(policy_with(Jitter::decorrelated), 42, 4),
            ns({1167725942, 1948654960, 4295466487, 7472850618}));
  EXPECT_NE(schedule(policy_with(Jitter::full), 43, 4), schedule(policy_with(Jitter::full), 42, 4));
}

TEST(Backoff, JitterKindsSpreadAsDocumented) {
  // 20,000 first retries (base 1 s): full jitter averages d/2, equal jitter
  // 3d/4, decorrelated (base to 3 x base) 2 s; every draw stays in range.
  auto mean_of_first = [](Jitter jitter) {
    RetryPolicy p = policy_with(jitter);
    Rng rng(99);
    double sum_s = 0;
    for (int i = 0; i < 20'000; ++i) {
      Backoff b(p);
      const Duration d = b.next(rng);
      EXPECT_GE(d, jitter == Jitter::decorrelated ? Duration(1s) : Duration::zero());
      EXPECT_LE(d, jitter == Jitter::decorrelated ? Duration(3s) : Duration(1s));
      sum_s += runtime::to_seconds(d);
    }
    return sum_s / 20'000;
  };
  EXPECT_NEAR(mean_of_first(Jitter::full), 0.5, 0.01);
  EXPECT_NEAR(mean_of_first(Jitter::equal), 0.75, 0.01);
  EXPECT_NEAR(mean_of_first(Jitter::decorrelated), 2.0, 0.02);
}

TEST(Backoff, HugeMultipliersSaturateAtTheCapWithoutOverflow) {
  RetryPolicy p;
  p.max_attempts = 100;
  p.base_delay = 1s;
  p.multiplier = 1e6;
  p.max_delay = 1h;
  EXPECT_EQ(schedule(p, 1, 50).back(), 1h);
}

TEST(Retry, WaitsTheScheduleBetweenAttemptsInVirtualTime) {
  SimRuntime rt(1);
  ScriptedService svc(rt, {{0ms, fail(ErrorClass::transient)},
                           {0ms, fail(ErrorClass::timeout)},
                           {0ms, fail(ErrorClass::rate_limited)},
                           {0ms, Outcome<int>(7)}});
  RetryPolicy p = policy_with(Jitter::none);
  Retry retry(p, Observer::named(rt.log(), "svc"));
  Rng rng(1);
  auto r = run_task(rt, retry.run(rt, rng, [&] { return svc.call(); }, 99));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value(), 7);
  EXPECT_EQ(svc.calls(), (std::vector<Instant>{at(0s), at(1s), at(3s), at(7s)}));
  EXPECT_EQ(retry.counters().attempts, 4u);
  EXPECT_EQ(retry.counters().retries, 3u);
  EXPECT_EQ(retry.counters().succeeded, 1u);

  std::vector<Duration> scheduled;
  std::vector<std::uint32_t> next_attempts;
  for (const auto& e : rt.log().events()) {
    if (is<pattern_events::RetryScheduled>(e)) {
      EXPECT_EQ(e.subject, 99u);
      const auto r = read<pattern_events::RetryScheduled>(e);
      scheduled.push_back(r.delay);
      next_attempts.push_back(r.next_attempt);
    }
  }
  EXPECT_EQ(scheduled, (std::vector<Duration>{1s, 2s, 4s}));
  EXPECT_EQ(next_attempts, (std::vector<std::uint32_t>{2, 3, 4}));
}

TEST(Retry, MaxAttemptsCountsTheFirstAttempt) {
  SimRuntime rt(1);
  ScriptedService svc(rt, {{0ms, fail(ErrorClass::transient, "last")}});
  RetryPolicy p = policy_with(Jitter::none);
  p.max_attempts = 3;
  Retry retry(p);
  Rng rng(1);
  auto r = run_task(rt, retry.run(rt, rng, [&] { return svc.call(); }));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.failure().message, "last");
  EXPECT_EQ(svc.calls().size(), 3u);
  EXPECT_EQ(retry.counters().attempts_exhausted, 1u);
}

TEST(Retry, NeverRetriesPermanentOrBusinessErrorsEvenIfAskedTo) {
  for (ErrorClass c : {ErrorClass::permanent, ErrorClass::business}) {
    SimRuntime rt(1);
    ScriptedService svc(rt, {{0ms, fail(c)}});
    RetryPolicy p = policy_with(Jitter::none);
    p.retry_on.insert(c);
    Retry retry(p);
    Rng rng(1);
    auto r = run_task(rt, retry.run(rt, rng, [&] { return svc.call(); }));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error_class(), c);
    EXPECT_EQ(svc.calls().size(), 1u) << to_string(c);
    EXPECT_EQ(retry.counters().not_retryable, 1u);
  }
}

TEST(Retry, RetriesOnlyTheConfiguredClasses) {
  SimRuntime rt(1);
  ScriptedService svc(rt, {{0ms, fail(ErrorClass::timeout)}});
  RetryPolicy p = policy_with(Jitter::none);
  p.retry_on = {ErrorClass::transient};
  Retry retry(p);
  Rng rng(1);
  auto r = run_task(rt, retry.run(rt, rng, [&] { return svc.call(); }));
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(svc.calls().size(), 1u);
}

TEST(Retry, RateLimitedWaitsAtLeastRetryAfter) {
  SimRuntime rt(1);
  ScriptedService svc(rt, {{0ms, Failure{ErrorClass::rate_limited, "429", 5s}}, {0ms, Outcome<int>(1)}});
  Retry retry(policy_with(Jitter::none));
  Rng rng(1);
  auto r = run_task(rt, retry.run(rt, rng, [&] { return svc.call(); }));
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(svc.calls(), (std::vector<Instant>{at(0s), at(5s)}));
}

TEST(Retry, DeadlineStopsARetryThatWouldEndPastIt) {
  SimRuntime rt(1);
  ScriptedService svc(rt, {{0ms, fail(ErrorClass::transient)}});
  RetryPolicy p = policy_with(Jitter::none);
  p.deadline = 5s;  // attempts at 0 s, 1 s, 3 s; the next would start at 7 s
  Retry retry(p);
  Rng rng(1);
  auto r = run_task(rt, retry.run(rt, rng, [&] { return svc.call(); }));
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.error_class(), ErrorClass::transient);
  EXPECT_EQ(svc.calls(), (std::vector<Instant>{at(0s), at(1s), at(3s)}));
  EXPECT_EQ(retry.counters().deadline_exceeded, 1u);
}

TEST(Retry, ADelayEndingExactlyAtTheDeadlineIsNotStarted) {
  SimRuntime rt(1);
  ScriptedService svc(rt, {{0ms, fail(ErrorClass::transient)}});
  RetryPolicy p = policy_with(Jitter::none);
  p.deadline = 3s;  // 0 s, 1 s; the retry after 2 s more would start at 3 s: refused
  Retry retry(p);
  Rng rng(1);
  (void)run_task(rt, retry.run(rt, rng, [&] { return svc.call(); }));
  EXPECT_EQ(svc.calls(), (std::vector<Instant>{at(0s), at(1s)}));
}

TEST(RetryBudget, FloorThenRatioOfCallsInTheWindow) {
  RetryBudget budget({.retry_ratio = 0.2, .min_retries_per_window = 2, .window = 10s});
  const Instant t = at(0s);
  // No calls yet: the floor allows two retries.
  EXPECT_TRUE(budget.try_spend_retry(t));
  EXPECT_TRUE(budget.try_spend_retry(t));
  EXPECT_FALSE(budget.try_spend_retry(t));
  EXPECT_EQ(budget.refused(), 1u);
  // Ten calls add 0.2 * 10 = 2 more.
  for (int i = 0; i < 10; ++i) budget.record_call(t);
  EXPECT_TRUE(budget.try_spend_retry(t));
  EXPECT_TRUE(budget.try_spend_retry(t));
  EXPECT_FALSE(budget.try_spend_retry(t));
  EXPECT_EQ(budget.retries_in_window(t), 4u);
  EXPECT_EQ(budget.calls_in_window(t), 10u);
  // After the window has passed, all of it has aged out.
  EXPECT_EQ(budget.calls_in_window(at(10s)), 0u);
  EXPECT_TRUE(budget.try_spend_retry(at(10s)));
}

TEST(RetryBudget, ExhaustionStopsRetriesDuringAnOutage) {
  SimRuntime rt(1);
  ScriptedService svc(rt, {{0ms, fail(ErrorClass::transient)}});
  RetryPolicy p = policy_with(Jitter::none);
  p.max_attempts = 5;
  p.base_delay = 1ms;
  p.max_delay = 1ms;
  RetryBudget budget({.retry_ratio = 0.1, .min_retries_per_window = 3, .window = 60s});
  Retry retry(p, Observer::named(rt.log(), "svc"), &budget);
  Rng rng(1);
  for (int i = 0; i < 10; ++i) {
    (void)run_task(rt, retry.run(rt, rng, [&] { return svc.call(); }));
  }
  // Without the budget: 10 calls x 4 retries = 40. With it: floor 3 + 10% of
  // 10 calls = 4 (three in the first call, the fourth once the tenth call
  // lifts the allowance to 4), and every call ends on the budget.
  EXPECT_EQ(retry.counters().retries, 4u);
  EXPECT_EQ(svc.calls().size(), 14u);
  EXPECT_EQ(retry.counters().budget_exhausted, 10u);
  EXPECT_EQ(retry.counters().attempts_exhausted, 0u);
  std::size_t budget_events = 0;
  for (const auto& e : rt.log().events()) {
    if (e.kind == static_cast<std::uint16_t>(PatternEvent::retry_budget_exhausted)) ++budget_events;
  }
  EXPECT_EQ(budget_events, retry.counters().budget_exhausted);
}

TEST(RetryPolicyCheck, RefusesEachInvalidValue) {
  RetryPolicy p;
  EXPECT_FALSE(check(p));
  p.max_attempts = 0;
  EXPECT_EQ(check(p)->field, "max_attempts");
  p = {};
  p.base_delay = -1s;
  EXPECT_EQ(check(p)->field, "base_delay");
  p = {};
  p.base_delay = 10s;
  p.max_delay = 5s;
  EXPECT_EQ(check(p)->field, "max_delay");
  p = {};
  p.multiplier = 0.5;
  EXPECT_EQ(check(p)->field, "multiplier");
  p = {};
  p.deadline = -1s;
  EXPECT_EQ(check(p)->field, "deadline");
  EXPECT_EQ(check(RetryBudgetConfig{.retry_ratio = 1.5})->field, "ratio");
  EXPECT_EQ(check(RetryBudgetConfig{.window = 0s})->field, "window");
}

}  // namespace
}  // namespace faultline::resilience
