// Composition: the one way this layer composes its patterns, from the
// outside in: fallback around (optional bulkhead around) retry around
// circuit breaker around per-attempt timeout.
//
//   fallback ─ bulkhead ─ retry ─ breaker ─ timeout ─ op()
//
// Why this order: the timeout is innermost so that each attempt, not the
// whole call, is bounded and a hung attempt becomes a timeout failure the
// breaker can count; the breaker sits inside retry so that every attempt is
// seen by it and an open circuit refuses retries too (circuit_open is not
// retried by default, so an open breaker ends the retry loop at once instead
// of burning attempts); retry is outside both so its backoff sleeps hold no
// breaker permit; the bulkhead bounds whole calls, retries included; the
// fallback sees only what all of that could not fix. An overall timeout
// becomes a deadline: each attempt's limit is cut to the time left, and no
// retry starts whose backoff would end past it.
//
// Worked example (the OCR agent: 5 attempts, 1 s base backoff, 30 s per
// attempt, breaker over the last 20 calls, fall back to the backup engine):
//
//   CircuitBreakerConfig breaker_config;
//   breaker_config.trip = TripMode::failure_rate;
//   breaker_config.window_calls = 20;
//   breaker_config.minimum_calls = 10;
//   CircuitBreaker breaker(breaker_config, Observer::named(rt.log(), "ocr"));
//
//   PipelineConfig config;
//   config.retry.max_attempts = 5;
//   config.retry.base_delay = 1s;
//   config.retry.max_delay = 16s;
//   config.retry.jitter = Jitter::full;
//   config.timeout.per_attempt = 30s;
//   config.timeout.overall = 2min;
//   Pipeline ocr_calls(config, {.breaker = &breaker}, Observer::named(rt.log(), "ocr"));
//
//   Rng rng = rt.stream("retry/ocr");
//   Outcome<Fields> fields = co_await ocr_calls.call_or(
//       rt, rng,
//       [&] { return primary.extract(doc); },                        // Task<Outcome<Fields>>
//       [&](const Failure&) { return backup.extract(doc); },         // Task<Outcome<Fields>>
//       invoice_id);
//
// Cost: call() without a bulkhead is one coroutine frame (the retry loop's)
// plus the operation's own; the breaker and the timeout are awaiters inside
// it and allocate nothing. call_or() and a bulkhead add one frame each.
// Synchronous code can compose the plain state machines instead
// (CircuitBreaker::try_acquire/on_result, Backoff::next, retryable).
#pragma once

#include <cstdint>
#include <functional>
#include <utility>

#include "resilience/bulkhead.h"
#include "resilience/circuit_breaker.h"
#include "resilience/config_problem.h"
#include "resilience/events.h"
#include "resilience/outcome.h"
#include "resilience/retry.h"
#include "resilience/timeout.h"
#include "runtime/random.h"
#include "runtime/runtime.h"
#include "runtime/task.h"

namespace faultline::resilience {

// Every failure but a business error (the request was wrong: a fallback would hide that).
inline constexpr ErrorClassSet kFallbackOnByDefault{
    ErrorClass::transient,     ErrorClass::timeout,       ErrorClass::rate_limited,
    ErrorClass::permanent,     ErrorClass::circuit_open,  ErrorClass::bulkhead_full,
    ErrorClass::retry_budget_exhausted, ErrorClass::deadline_exceeded};

struct PipelineConfig {
  RetryPolicy retry;
  TimeoutPolicy timeout;
  ErrorClassSet fallback_on = kFallbackOnByDefault;
};
std::optional<ConfigProblem> check(const PipelineConfig& config);

// The shared pieces a pipeline uses; each may be null. A breaker, budget or
// bulkhead belongs to a dependency and is shared by every pipeline calling it.
struct PipelineParts {
  CircuitBreaker* breaker = nullptr;
  RetryBudget* budget = nullptr;
  Bulkhead* bulkhead = nullptr;
};

struct PipelineCounters {
  std::uint64_t calls = 0;
  std::uint64_t fallbacks = 0;
};

class Pipeline {
 public:
  // Asserts that check(config) finds nothing.
  Pipeline(PipelineConfig config, PipelineParts parts = {}, Observer observer = {});

  // op() returns Task<Outcome<T>>. The pipeline, `rng` and the parts must
  // outlive the returned task; `op` is moved into it.
  template <class Op>
  runtime::Task<detail::OpOutcome<Op>> call(runtime::Runtime& rt, runtime::Rng& rng, Op op,
                                            std::uint64_t subject = 0);

  // As call(); a failure in config.fallback_on is replaced by what
  // fallback(failure) (a Task<Outcome<T>>) gives.
  template <class Op, class Fallback>
  runtime::Task<detail::OpOutcome<Op>> call_or(runtime::Runtime& rt, runtime::Rng& rng, Op op,
                                               Fallback fallback, std::uint64_t subject = 0);

  const PipelineConfig& config() const noexcept { return config_; }
  const PipelineParts& parts() const noexcept { return parts_; }
  const Retry& retry() const noexcept { return retry_; }
  const Timeout& timeout() const noexcept { return timeout_; }
  const PipelineCounters& counters() const noexcept { return counters_; }

 private:
  // One attempt: breaker and per-attempt timeout, as an awaiter.
  template <class Op>
  struct Attempt {
    Pipeline* pipeline;
    runtime::Runtime* rt;
    Op op;
    std::uint64_t subject;
    detail::GuardedCall<std::reference_wrapper<Op>, CircuitBreaker> operator()(Duration left) {
      return detail::GuardedCall<std::reference_wrapper<Op>, CircuitBreaker>(
          *rt, std::ref(op), pipeline->parts_.breaker, &pipeline->timeout_,
          pipeline->attempt_limit(left), subject);
    }
  };
  Duration attempt_limit(Duration left) noexcept;
  Instant deadline(runtime::Runtime& rt) const noexcept;

  template <class Op>
  runtime::Task<detail::OpOutcome<Op>> call_in_bulkhead(runtime::Runtime& rt, runtime::Rng& rng,
                                                        Op op, std::uint64_t subject);

  PipelineConfig config_;
  PipelineParts parts_;
  Observer observer_;
  Retry retry_;
  Timeout timeout_;
  PipelineCounters counters_;
};

template <class Op>
runtime::Task<detail::OpOutcome<Op>> Pipeline::call(runtime::Runtime& rt, runtime::Rng& rng,
                                                    Op op, std::uint64_t subject) {
  ++counters_.calls;
  if (parts_.bulkhead != nullptr) return call_in_bulkhead(rt, rng, std::move(op), subject);
  return retry_.run_until(rt, rng, Attempt<Op>{this, &rt, std::move(op), subject}, subject,
                          deadline(rt));
}

template <class Op>
runtime::Task<detail::OpOutcome<Op>> Pipeline::call_in_bulkhead(runtime::Runtime& rt,
                                                                runtime::Rng& rng, Op op,
                                                                std::uint64_t subject) {
  using Result = detail::OpOutcome<Op>;
  // The deadline starts when the call arrives, so time queued in the
  // bulkhead counts against the overall timeout.
  const Instant until = deadline(rt);
  Result result = co_await parts_.bulkhead->call(
      [&] {
        return retry_.run_until(rt, rng, Attempt<Op>{this, &rt, std::move(op), subject}, subject,
                                until);
      },
      subject);
  co_return result;
}

template <class Op, class Fallback>
runtime::Task<detail::OpOutcome<Op>> Pipeline::call_or(runtime::Runtime& rt, runtime::Rng& rng,
                                                       Op op, Fallback fallback,
                                                       std::uint64_t subject) {
  auto result = co_await call(rt, rng, std::move(op), subject);
  if (result.ok() || !config_.fallback_on.contains(result.failure().error_class)) {
    co_return result;
  }
  ++counters_.fallbacks;
  observer_.record(subject, pattern_events::FallbackUsed{result.failure().error_class});
  co_return co_await fallback(result.failure());
}

}  // namespace faultline::resilience
