// Retry with exponential backoff, jitter, an optional overall deadline and a
// retry budget. The delay schedule is a pure function of the policy, the
// retry number, the previous delay and an Rng the caller passes, so a seed
// pins every delay; the coroutine loop around it only sleeps on the runtime.
//
//   RetryPolicy policy;                       // or load_retry_policy(json)
//   policy.max_attempts = 3;                  // counts the first attempt
//   policy.base_delay = 1s; policy.multiplier = 2; policy.max_delay = 4s;
//   policy.jitter = Jitter::full;
//   RetryBudget budget({.retry_ratio = 0.2, .min_retries_per_window = 10, .window = 10s});
//   Retry retry(policy, Observer::named(rt.log(), "ocr"), &budget);
//   Rng rng = rt.stream("retry/ocr");
//   Outcome<Fields> r = co_await retry.run(rt, rng, [&] { return ocr.extract(doc); }, invoice_id);
//
// Fast path without a coroutine: `Backoff b(policy); Duration d = b.next(rng);`
// gives the delay before each retry, and `retryable(policy, failure)` says
// whether to retry at all.
//
// Semantics (what a Polly or resilience4j user expects):
// - max_attempts counts the first call: 3 means one call and at most two retries.
// - the k-th retry waits min(max_delay, base_delay * multiplier^(k-1)), then
//   jitter is applied to that capped value, so no delay exceeds max_delay:
//     none          d
//     full          uniform [0, d]
//     equal         d/2 + uniform [0, d/2]
//     decorrelated  uniform [base_delay, min(max_delay, 3 * previous delay)]
//                   (previous delay starts at base_delay)
//   That order is the default (JitterOrder::after_cap). A retry library that
//   jitters the uncapped delay and caps afterwards (JitterOrder::before_cap)
//   is described too, because teams run such libraries: once the schedule
//   passes the cap most draws land on the cap itself, so callers that failed
//   together retry together again. The policy linter flags it.
// - a rate_limited failure that carries retry_after waits at least that long.
// - only classes in retry_on are retried; permanent and business never are,
//   whatever retry_on says.
// - with a deadline, no retry is started whose delay would end at or after
//   start + deadline. The deadline does not cut an attempt in flight: that is
//   the timeout's job (see resilience/pipeline.h).
// - when retries stop, the caller gets the last failure itself; the counters
//   and a retries_exhausted event say why they stopped.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <type_traits>
#include <utility>

#include "resilience/config_problem.h"
#include "resilience/events.h"
#include "resilience/internal/time_window.h"
#include "resilience/outcome.h"
#include "runtime/random.h"
#include "runtime/runtime.h"
#include "runtime/task.h"

namespace faultline::resilience {

enum class Jitter : std::uint8_t { none, full, equal, decorrelated };
std::string_view to_string(Jitter j) noexcept;
[[nodiscard]] bool parse_jitter(std::string_view text, Jitter& out) noexcept;

// Whether jitter is drawn on the capped delay or on the uncapped one.
enum class JitterOrder : std::uint8_t { after_cap, before_cap };
std::string_view to_string(JitterOrder o) noexcept;
[[nodiscard]] bool parse_jitter_order(std::string_view text, JitterOrder& out) noexcept;

struct RetryPolicy {
  std::uint32_t max_attempts = 3;  // counting the first; at least 1
  Duration base_delay = std::chrono::seconds(1);
  double multiplier = 2.0;  // at least 1
  Duration max_delay = std::chrono::seconds(30);  // at least base_delay
  Jitter jitter = Jitter::none;
  JitterOrder jitter_order = JitterOrder::after_cap;
  ErrorClassSet retry_on = kRetryableByDefault;
  Duration deadline = Duration::zero();  // overall, from the first attempt; zero: none
};

// Refuses: max_attempts 0, negative delays, max_delay below base_delay,
// multiplier below 1, a deadline below zero.
std::optional<ConfigProblem> check(const RetryPolicy& policy);

// Whether the policy retries this failure (ignoring attempts left).
inline bool retryable(const RetryPolicy& policy, ErrorClass c) noexcept {
  return policy.retry_on.contains(c) && !kNeverRetried.contains(c);
}

// The delay before retry number `retry` (1 = the first retry, after the
// first attempt failed). `previous` is the delay before the retry before it
// (only decorrelated jitter reads it; pass base_delay for the first).
Duration backoff_delay(const RetryPolicy& policy, std::uint32_t retry, Duration previous,
                       runtime::Rng& rng) noexcept;

// The delay sequence of one call, step by step. No allocation.
class Backoff {
 public:
  explicit Backoff(const RetryPolicy& policy) noexcept
      : policy_(&policy), previous_(policy.base_delay) {}
  // The delay before the next retry; advances the sequence.
  Duration next(runtime::Rng& rng) noexcept {
    previous_ = backoff_delay(*policy_, ++retries_, previous_, rng);
    return previous_;
  }
  std::uint32_t retries() const noexcept { return retries_; }

 private:
  const RetryPolicy* policy_;
  Duration previous_;
  std::uint32_t retries_ = 0;
};

// ---------------------------------------------------------------------------
// Retry budget: retries may be at most `retry_ratio` of the calls seen over
// the sliding window, plus a floor of `min_retries_per_window`, so that
// during an outage retries cannot multiply the load on a failing service
// (Finagle's and gRPC's retry budget). The window is kept in 10 buckets;
// calls age out a bucket (window/10) at a time.
struct RetryBudgetConfig {
  double retry_ratio = 0.2;                   // 0..1
  std::uint32_t min_retries_per_window = 10;  // the floor, so a quiet service can still retry
  Duration window = std::chrono::seconds(10);  // above zero
};
std::optional<ConfigProblem> check(const RetryBudgetConfig& config);

class RetryBudget {
 public:
  static constexpr std::size_t kBuckets = internal::TimeWindow<std::uint64_t>::kBuckets;

  explicit RetryBudget(RetryBudgetConfig config) noexcept;

  // A first attempt was made.
  void record_call(Instant now) noexcept {
    window_.add(now, 1, 0);
  }
  // A retry is due: true (and counted) if the budget allows it.
  [[nodiscard]] bool try_spend_retry(Instant now) noexcept;

  std::uint64_t calls_in_window(Instant now) noexcept;
  std::uint64_t retries_in_window(Instant now) noexcept;
  // Retries refused so far.
  std::uint64_t refused() const noexcept { return refused_; }
  const RetryBudgetConfig& config() const noexcept { return config_; }

 private:
  RetryBudgetConfig config_;
  internal::TimeWindow<std::uint64_t> window_;  // calls and retries
  std::uint64_t refused_ = 0;
};

// ---------------------------------------------------------------------------

struct RetryCounters {
  std::uint64_t calls = 0;      // run() invocations
  std::uint64_t attempts = 0;   // first attempts and retries
  std::uint64_t retries = 0;    // attempts after the first
  std::uint64_t succeeded = 0;  // calls that ended in a value
  std::uint64_t failed = 0;     // calls that ended in a failure, for any of the reasons below
  std::uint64_t not_retryable = 0;       // stopped: the failure's class is not retried
  std::uint64_t attempts_exhausted = 0;  // stopped: max_attempts reached
  std::uint64_t budget_exhausted = 0;    // stopped: the retry budget refused
  std::uint64_t deadline_exceeded = 0;   // stopped: the next retry would end past the deadline
};


class Retry {
 public:
  explicit Retry(RetryPolicy policy, Observer observer = {}, RetryBudget* budget = nullptr) noexcept
      : policy_(policy), observer_(observer), budget_(budget) {}

  const RetryPolicy& policy() const noexcept { return policy_; }
  const RetryCounters& counters() const noexcept { return counters_; }
  RetryBudget* budget() const noexcept { return budget_; }

  // Calls `op()` (which returns a Task<Outcome<T>> or any awaitable of one)
  // until it succeeds or the policy says stop. `op` and `rng` must outlive
  // the returned task.
  template <class Op>
  runtime::Task<detail::OpOutcome<Op>> run(runtime::Runtime& rt, runtime::Rng& rng, Op op,
                                           std::uint64_t subject = 0) {
    return run_until(rt, rng, std::move(op), subject, Instant::max());
  }

  // As run(), with an extra deadline of the caller's (the pipeline's overall
  // timeout): the earlier of it and the policy's own deadline applies.
  // An `op` that takes no argument is called as op(); one that takes a
  // Duration is called with the time left before the deadline
  // (Duration::max() when there is none).
  template <class Op>
  runtime::Task<detail::OpOutcome<Op>> run_until(runtime::Runtime& rt, runtime::Rng& rng, Op op,
                                                 std::uint64_t subject, Instant outer_deadline);

  // The bookkeeping of one retried call, for a caller that runs the loop in
  // its own coroutine: one frame for the whole call instead of one for the
  // retry plus one per attempt. run_until() is this loop too, so both count
  // and record the same events in the same order.
  //
  //   Retry::Loop loop(retry, rt, subject);
  //   for (;;) {
  //     loop.begin_attempt();
  //     auto r = co_await attempt();
  //     if (r.ok()) { loop.succeeded(); co_return r; }
  //     const auto delay = loop.failed(rng, r.failure());
  //     if (!delay) co_return r;
  //     co_await rt.sleep(*delay);
  //   }
  class Loop {
   public:
    Loop(Retry& retry, runtime::Runtime& rt, std::uint64_t subject,
         Instant outer_deadline = Instant::max()) noexcept
        : retry_(&retry), rt_(&rt), subject_(subject), start_(rt.now()), deadline_(outer_deadline),
          backoff_(retry.policy_) {
      const RetryPolicy& policy = retry.policy_;
      if (policy.deadline > Duration::zero() && start_ + policy.deadline < deadline_) {
        deadline_ = start_ + policy.deadline;
      }
      ++retry.counters_.calls;
      if (retry.budget_ != nullptr) retry.budget_->record_call(start_);
    }

    // Counts and records the next attempt; returns its number (1 for the first).
    std::uint32_t begin_attempt() {
      ++attempt_;
      ++retry_->counters_.attempts;
      if (attempt_ > 1) ++retry_->counters_.retries;
      retry_->observer_.record(subject_, pattern_events::Attempt{attempt_});
      attempt_start_ = attempt_ == 1 ? start_ : rt_->now();
      return attempt_;
    }
    // Time left before the deadline for the attempt begun last
    // (Duration::max() when there is none).
    Duration left() const noexcept {
      return deadline_ == Instant::max() ? Duration::max() : deadline_ - attempt_start_;
    }
    void succeeded() {
      ++retry_->counters_.succeeded;
      if (retry_->observer_.enabled()) {
        retry_->observer_.record(subject_, pattern_events::CallSucceeded{attempt_, rt_->now() - start_});
      }
    }
    // The attempt failed: the delay before the next one, or nullopt when the
    // policy says stop (the call has failed then).
    std::optional<Duration> failed(runtime::Rng& rng, const Failure& failure) {
      retry_->observer_.record(subject_,
                               pattern_events::AttemptFailed{attempt_, rt_->now() - attempt_start_, failure.error_class});
      std::optional<Duration> delay =
          retry_->after_failure(*rt_, rng, backoff_, attempt_, failure, deadline_, subject_);
      if (!delay) ++retry_->counters_.failed;
      return delay;
    }

   private:
    Retry* retry_;
    runtime::Runtime* rt_;
    std::uint64_t subject_;
    Instant start_;
    Instant deadline_;
    Instant attempt_start_{};
    Backoff backoff_;
    std::uint32_t attempt_ = 0;
  };

 private:
  // What to do after attempt `attempt` failed with `failure`: the delay
  // before the next attempt, or nothing to stop.
  std::optional<Duration> after_failure(runtime::Runtime& rt, runtime::Rng& rng, Backoff& backoff,
                                        std::uint32_t attempt, const Failure& failure,
                                        Instant deadline, std::uint64_t subject);

  RetryPolicy policy_;
  Observer observer_;
  RetryBudget* budget_;
  RetryCounters counters_;
};

template <class Op>
runtime::Task<detail::OpOutcome<Op>> Retry::run_until(runtime::Runtime& rt, runtime::Rng& rng,
                                                      Op op, std::uint64_t subject,
                                                      Instant outer_deadline) {
  using Result = detail::OpOutcome<Op>;
  static_assert(IsOutcome<Result>::value, "a retried operation must yield an Outcome<T>");
  Loop loop(*this, rt, subject, outer_deadline);
  for (;;) {
    loop.begin_attempt();
    std::optional<Result> result;
    if constexpr (std::is_invocable_v<Op&>) {
      result.emplace(co_await op());
    } else {
      result.emplace(co_await op(loop.left()));
    }
    if (result->ok()) {
      loop.succeeded();
      co_return std::move(*result);
    }
    const std::optional<Duration> delay = loop.failed(rng, result->failure());
    if (!delay) co_return std::move(*result);
    co_await rt.sleep(*delay);
  }
}

}  // namespace faultline::resilience
