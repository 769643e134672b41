// Timeouts: a call that has not answered within its limit is abandoned (its
// coroutine frames are destroyed at once, so it never resumes) and counted,
// and the caller gets Failure{timeout}. A per-attempt limit guards each call;
// an overall limit bounds a whole retried call (see resilience/pipeline.h,
// which turns it into a deadline that shortens each attempt's limit).
//
//   Timeout timeout(2s, Observer::named(rt.log(), "ocr"));
//   Outcome<Fields> r = co_await timeout.call(rt, [&] { return ocr.extract(doc); }, invoice_id);
//   if (!r && r.error_class() == ErrorClass::timeout) ...
//   timeout.counters().timed_out;             // how many were abandoned
//
//   // An overall limit around a whole retried call (the pipeline does this
//   // for you, as a deadline that also shortens each attempt):
//   Timeout overall(2min);
//   auto r2 = co_await overall.call(rt, [&] { return retry.run(rt, rng, op, id); }, id);
//
// call() returns an awaiter, not a Task: guarding a call costs no coroutine
// frame of its own. The operation's Task is created only when the awaiter is
// awaited, and runs at once up to its first suspension; the runtime timer is
// set only if it does suspend, so an answer that needs no waiting costs no
// timer at all.
#pragma once

#include <coroutine>
#include <cstdint>
#include <optional>
#include <type_traits>
#include <utility>

#include "resilience/config_problem.h"
#include "resilience/events.h"
#include "resilience/outcome.h"
#include "runtime/assert.h"
#include "runtime/runtime.h"
#include "runtime/task.h"

namespace faultline::resilience {

struct TimeoutPolicy {
  Duration per_attempt = Duration::zero();  // zero: no per-attempt limit
  Duration overall = Duration::zero();      // zero: no overall limit
};
// Refuses negative limits, and an overall limit below the per-attempt one.
std::optional<ConfigProblem> check(const TimeoutPolicy& policy);

struct TimeoutCounters {
  std::uint64_t calls = 0;
  std::uint64_t timed_out = 0;
};

class Timeout;

namespace detail {

// The breaker seam of a guarded call, for calls without a breaker.
struct NoBreaker {
  struct Permit {
    explicit operator bool() const noexcept { return true; }
    bool probe = false;
  };
  Permit try_acquire(Instant, std::uint64_t) noexcept { return {}; }
  Duration probe_timeout() const noexcept { return Duration::zero(); }
  void on_result(const Permit&, Instant, const Failure*) noexcept {}
};

// Records a timeout on `timeout` (may be null) and builds the failure.
Failure timed_out(Timeout* timeout, Duration limit, std::uint64_t subject);

// One attempt: ask the breaker (if any), start the operation, race it
// against a timer, tell the breaker how it went. Lives in the awaiting
// coroutine's frame; allocates nothing itself.
template <class Op, class Breaker>
class [[nodiscard]] GuardedCall {
 public:
  using TaskType = std::invoke_result_t<Op&>;
  using Result = typename TaskType::value_type;
  static_assert(IsOutcome<Result>::value, "a guarded operation must return Task<Outcome<T>>");

  GuardedCall(runtime::Runtime& rt, Op op, Breaker* breaker, Timeout* timeout, Duration limit,
              std::uint64_t subject) noexcept(std::is_nothrow_move_constructible_v<Op>)
      : rt_(&rt), op_(std::move(op)), breaker_(breaker), timeout_(timeout), limit_(limit),
        subject_(subject) {}
  GuardedCall(const GuardedCall&) = delete;
  GuardedCall& operator=(const GuardedCall&) = delete;
  GuardedCall(GuardedCall&& other) noexcept(std::is_nothrow_move_constructible_v<Op>)
      : rt_(other.rt_), op_(std::move(other.op_)), breaker_(other.breaker_),
        timeout_(other.timeout_), limit_(other.limit_), subject_(other.subject_) {
    // Only a GuardedCall that has not been awaited may move.
    FAULTLINE_ASSERT(!other.task_.valid() && !other.timer_);
  }
  ~GuardedCall() {
    if (timer_) rt_->cancel_wake(timer_);
  }

  bool await_ready() {
    started_ = rt_->now();
    if (breaker_ != nullptr) {
      permit_ = breaker_->try_acquire(started_, subject_);
      if (!permit_) return true;  // refused: resume at once with circuit_open
      if (permit_.probe) {
        const Duration probe = breaker_->probe_timeout();
        if (probe > Duration::zero() && (limit_ <= Duration::zero() || probe < limit_)) {
          limit_ = probe;
        }
      }
    }
    task_ = op_();
    // A ready task (Task::ready) has answered already: no timer, no suspension.
    answered_at_start_ = task_.done();
    return answered_at_start_;
  }

  bool await_suspend(std::coroutine_handle<> parent) {
    // Run the operation up to its first suspension right here. If it
    // finishes without suspending, the caller continues at once and no
    // timer is ever set; otherwise its continuation becomes the caller and
    // the timer races it. (An operation finishing exactly at the limit wins:
    // its own wake-up was registered before the timer.)
    task_.start(std::noop_coroutine()).resume();
    if (task_.done()) {
      answered_at_start_ = true;
      return false;
    }
    (void)task_.start(parent);
    if (limit_ > Duration::zero()) timer_ = rt_->wake_at(started_ + limit_, parent);
    return true;
  }

  Result await_resume() {
    if (!task_.valid()) return refused();
    if (task_.done()) {
      if (timer_) rt_->cancel_wake(std::exchange(timer_, {}));
      if (breaker_ == nullptr) return task_.result();
      Result result = take_reporting_throw();
      // No time passes while an operation runs without suspending.
      const Instant end = answered_at_start_ ? started_ : rt_->now();
      breaker_->on_result(permit_, end, result.ok() ? nullptr : &result.failure());
      return result;
    }
    // The timer won: abandon the operation now; its frames and pending
    // wake-ups go with it.
    timer_ = {};
    task_.reset();
    rt_->count_timeout();
    Failure failure = timed_out(timeout_, limit_, subject_);
    if (breaker_ != nullptr) breaker_->on_result(permit_, rt_->now(), &failure);
    return Result(std::move(failure));
  }

 private:
  Result refused();
  Result take_reporting_throw() {
    try {
      return task_.result();
    } catch (...) {
      // An operation that throws broke its contract (failures are values);
      // the breaker still counts it before the exception goes on.
      const Failure thrown{ErrorClass::permanent, "the operation threw"};
      breaker_->on_result(permit_, rt_->now(), &thrown);
      throw;
    }
  }

  runtime::Runtime* rt_;
  Op op_;
  Breaker* breaker_;
  Timeout* timeout_;
  Duration limit_;
  std::uint64_t subject_;
  Instant started_{};
  typename Breaker::Permit permit_{};
  TaskType task_;
  runtime::WakeId timer_;
  bool answered_at_start_ = false;
};

}  // namespace detail

class Timeout {
 public:
  explicit Timeout(Duration limit, Observer observer = {}) noexcept
      : limit_(limit), observer_(observer) {}

  Duration limit() const noexcept { return limit_; }
  const TimeoutCounters& counters() const noexcept { return counters_; }
  const Observer& observer() const noexcept { return observer_; }

  // Guards `op()` (a Task<Outcome<T>>) with this timeout's limit.
  template <class Op>
  detail::GuardedCall<Op, detail::NoBreaker> call(runtime::Runtime& rt, Op op,
                                                  std::uint64_t subject = 0) {
    ++counters_.calls;
    return detail::GuardedCall<Op, detail::NoBreaker>(rt, std::move(op), nullptr, this, limit_,
                                                      subject);
  }
  // The same with a limit of the caller's (an attempt's share of an overall deadline).
  template <class Op>
  detail::GuardedCall<Op, detail::NoBreaker> call_within(runtime::Runtime& rt, Op op,
                                                         Duration limit,
                                                         std::uint64_t subject = 0) {
    ++counters_.calls;
    return detail::GuardedCall<Op, detail::NoBreaker>(rt, std::move(op), nullptr, this, limit,
                                                      subject);
  }

  // Counting seam for guarded calls made elsewhere (the pipeline).
  void count_call() noexcept { ++counters_.calls; }
  void count_timeout(Duration limit, std::uint64_t subject) {
    ++counters_.timed_out;
    observer_.record(subject, pattern_events::Timeout{limit});
  }

 private:
  Duration limit_;
  Observer observer_;
  TimeoutCounters counters_;
};

namespace detail {
template <class Op, class Breaker>
typename GuardedCall<Op, Breaker>::Result GuardedCall<Op, Breaker>::refused() {
  return Result(Failure{ErrorClass::circuit_open, "circuit open"});
}
}  // namespace detail

}  // namespace faultline::resilience
