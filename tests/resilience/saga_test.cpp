// Sagas: compensation runs in reverse over the completed steps (and a step
// that timed out, which may have taken effect); a
// failing compensation is recorded and the rest still run; resumption after
// a crash; the after-step hook (checkpointing) aborting the saga.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "resilience/saga.h"
#include "test_util.h"

namespace faultline::resilience {
namespace {

using testing::run_task;
using runtime::SimRuntime;
using runtime::Task;

struct Journal {
  std::vector<std::string> entries;
  SagaAction ok(std::string what) {
    return [this, what]() -> Task<Outcome<>> {
      entries.push_back(what);
      co_return resilience::ok();
    };
  }
  SagaAction failing(std::string what, ErrorClass c) {
    return [this, what, c]() -> Task<Outcome<>> {
      entries.push_back(what);
      co_return Failure{c, what + " failed"};
    };
  }
};

TEST(Saga, AllStepsSucceedAndNothingIsCompensated) {
  SimRuntime rt(1);
  Journal j;
  Saga saga("accounting", Observer::named(rt.log(), "accounting"));
  saga.step("reserve", j.ok("reserve"), j.ok("release"))
      .step("post", j.ok("post"), j.ok("reverse"))
      .step("notify", j.ok("notify"), nullptr);
  const SagaOutcome out = run_task(rt, saga.run(rt, 5));
  EXPECT_TRUE(out.committed);
  EXPECT_EQ(out.steps_completed, 3u);
  EXPECT_EQ(j.entries, (std::vector<std::string>{"reserve", "post", "notify"}));
  EXPECT_TRUE(out.compensated.empty());
}

TEST(Saga, AStepThatTimedOutIsUndoneTooForItMayHaveTakenEffect) {
  // A post whose reply was lost (a timeout) may have booked the entry: it
  // is reversed with the reservation before it. A step that failed outright
  // (transient) did nothing and is not.
  SimRuntime rt(1);
  Journal j;
  Saga saga("accounting", Observer::named(rt.log(), "accounting"));
  saga.step("reserve", j.ok("reserve"), j.ok("release"))
      .step("post", j.failing("post", ErrorClass::timeout), j.ok("reverse"))
      .step("notify", j.ok("notify"), nullptr);
  const SagaOutcome out = run_task(rt, saga.run(rt, 5));
  EXPECT_FALSE(out.committed);
  EXPECT_EQ(out.steps_completed, 1u);
  EXPECT_EQ(j.entries, (std::vector<std::string>{"reserve", "post", "reverse", "release"}));
  EXPECT_EQ(out.compensated, (std::vector<std::string>{"post", "reserve"}));

  Journal k;
  Saga plain("accounting", Observer::named(rt.log(), "accounting"));
  plain.step("reserve", k.ok("reserve"), k.ok("release"))
      .step("post", k.failing("post", ErrorClass::transient), k.ok("reverse"));
  (void)run_task(rt, plain.run(rt, 6));
  EXPECT_EQ(k.entries, (std::vector<std::string>{"reserve", "post", "release"}));

  // Its last try met an open breaker, but an earlier one timed out (the
  // service client says effects_unknown): reversed too.
  Journal u;
  Saga unknown("accounting", Observer::named(rt.log(), "accounting"));
  unknown.step("reserve", u.ok("reserve"), u.ok("release"))
      .step("post",
            [&u]() -> Task<Outcome<>> {
              u.entries.push_back("post");
              co_return Failure{ErrorClass::circuit_open, "ledger breaker open", {}, true};
            },
            u.ok("reverse"));
  (void)run_task(rt, unknown.run(rt, 7));
  EXPECT_EQ(u.entries, (std::vector<std::string>{"reserve", "post", "reverse", "release"}));
}

TEST(Saga, CompensatesCompletedStepsInReverseAndRecordsAFailingCompensation) {
  SimRuntime rt(1);
  Journal j;
  Saga saga("accounting", Observer::named(rt.log(), "accounting"));
  saga.step("a", j.ok("a"), j.ok("undo a"))
      .step("b", j.ok("b"), j.failing("undo b", ErrorClass::transient))
      .step("c", j.ok("c"), j.ok("undo c"))
      .step("d", j.failing("d", ErrorClass::permanent), j.ok("undo d"));
  const SagaOutcome out = run_task(rt, saga.run(rt, 5));
  EXPECT_FALSE(out.committed);
  EXPECT_EQ(out.failed_step, "d");
  ASSERT_TRUE(out.failure.has_value());
  EXPECT_EQ(out.failure->error_class, ErrorClass::permanent);
  EXPECT_EQ(out.steps_completed, 3u);
  // d never completed, so it is not compensated; b's compensation fails and
  // a's still runs after it.
  EXPECT_EQ(j.entries, (std::vector<std::string>{"a", "b", "c", "d", "undo c", "undo b", "undo a"}));
  EXPECT_EQ(out.compensated, (std::vector<std::string>{"c", "a"}));
  ASSERT_EQ(out.not_compensated.size(), 1u);
  EXPECT_EQ(out.not_compensated[0].step, "b");
  EXPECT_EQ(out.not_compensated[0].failure.error_class, ErrorClass::transient);
  EXPECT_FALSE(out.fully_compensated());

  namespace pe = pattern_events;
  auto step_of = [](const runtime::Event& e) -> std::uint64_t {
    if (is<pe::SagaAborted>(e)) return read<pe::SagaAborted>(e).failed_step;
    if (is<pe::CompensationStarted>(e)) return read<pe::CompensationStarted>(e).step;
    if (is<pe::CompensationSucceeded>(e)) return read<pe::CompensationSucceeded>(e).step;
    return read<pe::CompensationFailed>(e).step;
  };
  std::vector<std::pair<std::uint16_t, std::uint64_t>> events;
  for (const auto& e : rt.log().events()) events.emplace_back(e.kind, step_of(e));
  auto k = [](PatternEvent kind) { return static_cast<std::uint16_t>(kind); };
  EXPECT_EQ(events, (std::vector<std::pair<std::uint16_t, std::uint64_t>>{
                        {k(PatternEvent::saga_aborted), 3},
                        {k(PatternEvent::compensation_started), 2},
                        {k(PatternEvent::compensation_succeeded), 2},
                        {k(PatternEvent::compensation_started), 1},
                        {k(PatternEvent::compensation_failed), 1},
                        {k(PatternEvent::compensation_started), 0},
                        {k(PatternEvent::compensation_succeeded), 0}}));
  for (const auto& e : rt.log().events()) {
    if (is<pe::CompensationFailed>(e)) {
      EXPECT_EQ(read<pe::CompensationFailed>(e).cause, ErrorClass::transient);
    }
    if (is<pe::SagaAborted>(e)) {
      EXPECT_EQ(read<pe::SagaAborted>(e).cause, ErrorClass::permanent);
    }
  }
}

// Fails its first `failures` tries with `c`, then succeeds; notes when each try ran.
struct Flaky {
  SimRuntime* rt;
  int failures;
  ErrorClass c;
  std::vector<runtime::Duration> tries;
  SagaAction action() {
    return [this]() -> Task<Outcome<>> {
      tries.push_back(rt->now().time_since_epoch());
      if (static_cast<int>(tries.size()) <= failures) co_return Failure{c, "not now"};
      co_return resilience::ok();
    };
  }
};

TEST(Saga, RetriedCompensationsAreTriedAgainWithBackoffUntilTheyLand) {
  using namespace std::chrono_literals;
  SimRuntime rt(1);
  Journal j;
  Flaky reverse{&rt, 3, ErrorClass::timeout, {}};
  Saga saga("accounting", Observer::named(rt.log(), "accounting"));
  saga.step("reserve", j.ok("reserve"), j.ok("release"))
      .step("post", j.ok("post"), reverse.action())
      .step("notify", j.failing("notify", ErrorClass::transient), nullptr)
      .retry_compensations(rt, 1s, 3s, 1h);
  const SagaOutcome out = run_task(rt, saga.run(rt, 5));
  EXPECT_TRUE(out.fully_compensated());
  EXPECT_EQ(out.compensated, (std::vector<std::string>{"post", "reserve"}));
  // Three failures, then the fourth try lands: 1 s, 2 s, then 3 s (the cap) apart.
  ASSERT_EQ(reverse.tries.size(), 4u);
  EXPECT_EQ(reverse.tries[1] - reverse.tries[0], 1s);
  EXPECT_EQ(reverse.tries[2] - reverse.tries[1], 2s);
  EXPECT_EQ(reverse.tries[3] - reverse.tries[2], 3s);
  std::size_t failed_tries = 0;
  for (const auto& e : rt.log().events()) failed_tries += is<pattern_events::CompensationFailed>(e);
  EXPECT_EQ(failed_tries, 3u);
}

TEST(Saga, RetriedCompensationsStopAtTheHorizonAndOnAPermanentFailure) {
  using namespace std::chrono_literals;
  SimRuntime rt(1);
  Flaky never{&rt, 1'000, ErrorClass::transient, {}};
  Flaky refused{&rt, 1'000, ErrorClass::permanent, {}};
  Journal j;
  Saga saga("s");
  saga.step("a", j.ok("a"), refused.action())
      .step("b", j.ok("b"), never.action())
      .step("c", j.failing("c", ErrorClass::transient), nullptr)
      .retry_compensations(rt, 1s, 10s, 1min);
  const SagaOutcome out = run_task(rt, saga.run(rt, 1));
  EXPECT_FALSE(out.fully_compensated());
  ASSERT_EQ(out.not_compensated.size(), 2u);
  EXPECT_EQ(out.not_compensated[0].step, "b");
  EXPECT_EQ(out.not_compensated[0].failure.error_class, ErrorClass::transient);
  EXPECT_EQ(out.not_compensated[1].step, "a");
  // b: tries at 0, 1, 3, 7, 17, 27, 37, 47, 57 s; the next (67 s) is past the minute.
  ASSERT_FALSE(never.tries.empty());
  EXPECT_LE(never.tries.back() - never.tries.front(), 1min);
  EXPECT_EQ(never.tries.size(), 9u);
  // a: a permanent failure is not tried again.
  EXPECT_EQ(refused.tries.size(), 1u);
}

TEST(Saga, AThrowingCompensationIsRecordedAndTheRestStillRun) {
  SimRuntime rt(1);
  Journal j;
  Saga saga("s");
  saga.step("a", j.ok("a"), j.ok("undo a"))
      .step("b", j.ok("b"),
            []() -> Task<Outcome<>> {
              throw std::runtime_error("bug");
              co_return ok();
            })
      .step("c", j.failing("c", ErrorClass::transient), nullptr);
  const SagaOutcome out = run_task(rt, saga.run(rt));
  EXPECT_EQ(out.compensated, (std::vector<std::string>{"a"}));
  ASSERT_EQ(out.not_compensated.size(), 1u);
  EXPECT_EQ(out.not_compensated[0].failure.message, "threw: bug");
}

TEST(Saga, StepsWithoutCompensationAreListed) {
  SimRuntime rt(1);
  Journal j;
  Saga saga("s");
  saga.step("a", j.ok("a"), nullptr).step("b", j.failing("b", ErrorClass::transient), nullptr);
  const SagaOutcome out = run_task(rt, saga.run(rt));
  EXPECT_EQ(out.without_compensation, (std::vector<std::string>{"a"}));
  EXPECT_TRUE(out.fully_compensated());
}

TEST(Saga, ResumedSagaSkipsDoneStepsButCompensatesThem) {
  SimRuntime rt(1);
  Journal j;
  Saga saga("s");
  saga.step("a", j.ok("a"), j.ok("undo a"))
      .step("b", j.ok("b"), j.ok("undo b"))
      .step("c", j.failing("c", ErrorClass::transient), j.ok("undo c"));
  const SagaOutcome out = run_task(rt, saga.run(rt, 0, /*already_completed=*/2));
  EXPECT_EQ(j.entries, (std::vector<std::string>{"c", "undo b", "undo a"}));
  EXPECT_EQ(out.compensated, (std::vector<std::string>{"b", "a"}));
}

TEST(Saga, AFailingAfterStepHookAbortsAndCompensatesThatStepToo) {
  SimRuntime rt(1);
  Journal j;
  Saga saga("s");
  saga.step("a", j.ok("a"), j.ok("undo a")).step("b", j.ok("b"), j.ok("undo b"));
  std::vector<std::size_t> hooked;
  saga.after_step([&](std::size_t completed) -> Task<Outcome<>> {
    hooked.push_back(completed);
    if (completed == 2) co_return Failure{ErrorClass::transient, "checkpoint store down"};
    co_return ok();
  });
  const SagaOutcome out = run_task(rt, saga.run(rt));
  EXPECT_FALSE(out.committed);
  EXPECT_EQ(out.failed_step, "b");
  EXPECT_EQ(hooked, (std::vector<std::size_t>{1, 2}));
  EXPECT_EQ(out.compensated, (std::vector<std::string>{"b", "a"}));
}

TEST(Saga, CompensateUndoesTheFirstStepsWithoutRunningAnything) {
  SimRuntime rt(1);
  Journal j;
  Saga saga("s");
  saga.step("a", j.ok("a"), j.ok("undo a")).step("b", j.ok("b"), j.ok("undo b"));
  const SagaOutcome out = run_task(rt, saga.compensate(rt, 0, 1));
  EXPECT_EQ(j.entries, (std::vector<std::string>{"undo a"}));
  EXPECT_EQ(out.compensated, (std::vector<std::string>{"a"}));
}

}  // namespace
}  // namespace faultline::resilience
